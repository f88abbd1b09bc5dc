#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Quote at submit on a real Slurm cluster: admitted jobs charged exactly per
# policy (one node, two nodes, every way of asking for GPUs), each kind of
# refusal with its message, job arrays, and a raised time limit re-quoted.
set -u
source "$(dirname "$0")/testlib.sh"
AISS_CLUSTER_STATS_EVERY=10
aiss_cluster_start || exit 1
setup_scheme || { echo "scheme setup failed"; exit 1; }
add_grant AISS-2025-0001 proj-a 100000 --max-gpus 16
add_grant AISS-2025-0002 proj-small 10
add_grant AISS-2025-0003 proj-susp 1000
aissctl grant suspend AISS-2025-0003 --reason "progress report overdue" >/dev/null
aissctl grant add AISS-2024-0004 --institution HKU --account proj-old \
	--members root --gpu-types h100 --gpu-hours 100 --subsidy 1000 \
	--start 2024-12-01 --end 2025-06-01 >/dev/null
aissctl grant add AISS-2025-0005 --institution HKU --account proj-h100 \
	--members root --gpu-types h100 --gpu-hours 100 --subsidy 1000 \
	--start 2025-01-01 --end 2028-01-01 >/dev/null
add_grant AISS-2025-0006 proj-conc 1000 --max-gpus 4

echo "# admitted and charged exactly per policy"
j1=$(submit -A proj-a --gres=gpu:h100:2 -t 5 --wrap 'sleep 3')
j2=$(submit -A proj-a -N2 --gpus-per-node=4 -t 5 --wrap 'sleep 3')
j3=$(submit -A proj-a -N2 --ntasks-per-node=1 --gpus-per-task=3 -t 5 --wrap 'sleep 2')
j4=$(submit -A proj-a --gpus=h800:5 -t 5 --wrap 'sleep 2')
for j in "$j1" "$j2" "$j3" "$j4"; do
	check "job $j submitted" test "${j#ERR}" = "$j"
done
for j in "$j1" "$j2" "$j3" "$j4"; do
	check "job $j charged once" wait_charges "$j" 1 90
done
c=$(charges_of "$j1")
echo "  charges: $(aissctl --json charges | jq -c '[.[] | {job_id, gpus, gpu_seconds, list_cost_cents, subsidy_cents, copay_cents}]')"
check_charge "one node, --gres=gpu:h100:2" "$c" 2 10000 7000
equals "run seconds match Slurm's elapsed" "$(jq -r .run_seconds <<<"$c")" "$(slurm_elapsed "$j1")"
equals "end state" "$(jq -r .end_state <<<"$c")" COMPLETED
equals "grant" "$(jq -r .grant <<<"$c")" AISS-2025-0001
check_charge "two nodes, --gpus-per-node=4 (GPUs on every node)" "$(charges_of "$j2")" 8 \
	"$(jq -r .price_per_gpu_hour_cents <<<"$(charges_of "$j2")")" 7000
check_charge "two nodes, --gpus-per-task=3" "$(charges_of "$j3")" 6 \
	"$(jq -r .price_per_gpu_hour_cents <<<"$(charges_of "$j3")")" 7000
check_charge "--gpus=h800:5 at the h800 price" "$(charges_of "$j4")" 5 8000 7000
equals "two-node job's NodeList" "$(job_field "$j2" NodeList)" "gn[1-2]"
out=$(srun -A proj-a --gres=gpu:h100:3 -t 2 bash -c 'echo ran on $(hostname)' 2>&1)
contains "interactive srun admitted" "$out" "ran on gn1"
js=$(scontrol -o show jobs | grep 'Name=bash' | sed -n 's/^JobId=\([0-9]*\) .*/\1/p' | tail -n1)
check "interactive srun charged" wait_charges "$js" 1 60
equals "interactive srun: GPUs" "$(charges_of "$js" | jq -r .gpus)" 3

echo "# refused at submit, each with its message"
njobs=$(scontrol -o show jobs | grep -c JobId= || true)
r=$(submit --gres=gpu:h100:1 -t 5 --wrap true)
contains "no account: refused" "$r" "ERR:"
contains "no account: says what to add" "$r" "add --account="
r=$(cd /tmp && runuser -u nobody -- sbatch -o /dev/null -A proj-a --gres=gpu:h100:1 -t 5 --wrap true 2>&1)
contains "non-member: names the grant" "$r" "AISS-2025-0001"
contains "non-member: names the user" "$r" "nobody"
r=$(submit -A proj-nobody --gres=gpu:h100:1 -t 5 --wrap true)
contains "unknown account: names the account" "$r" "proj-nobody"
r=$(submit -A proj-susp --gres=gpu:h100:1 -t 5 --wrap true)
contains "suspended: names the grant" "$r" "AISS-2025-0003"
contains "suspended: says suspended" "$r" "suspended"
r=$(submit -A proj-old --gres=gpu:h100:1 -t 5 --wrap true)
contains "expired: names the grant" "$r" "AISS-2024-0004"
contains "expired: says the window ended" "$r" "2025-06-01"
r=$(submit -A proj-h100 --gres=gpu:h800:1 -t 5 --wrap true)
contains "GPU type: names the grant" "$r" "AISS-2025-0005"
contains "GPU type: names the type" "$r" "h800"
r=$(submit -A proj-conc -N2 --gpus-per-node=4 -t 5 --wrap true)
contains "concurrency: names the grant" "$r" "AISS-2025-0006"
contains "concurrency: names the maximum" "$r" "4"
r=$(submit -A proj-small --gres=gpu:h100:8 -t 60 --wrap true)
contains "worst case: refused" "$r" "ERR:"
contains "worst case: grant and remaining" "$r" "grant AISS-2025-0002 has HK\$10.00 of subsidy left"
contains "worst case: the numbers" "$r" "(8 h100 GPUs x 01:00:00, 70% subsidy) needs HK\$560.00"
contains "worst case: what would fit" "$r" "Would fit: --time=00:01:00 at 8 GPUs"
r=$(submit -A proj-small --gres=gpu:h100:1 -t 60 --wrap true)
contains "worst case: most GPUs / longest time" "$r" "--time=00:08:00 at 1 GPU"
r=$(submit -A proj-small --gres=gpu:h100:1 --wrap true)
contains "no --time: the partition default (10 min) is quoted" "$r" "x 00:10:00"
equals "refused jobs were never queued" "$(scontrol -o show jobs | grep -c JobId= || true)" "$njobs"

echo "# job arrays: each element its own run"
r=$(submit -A proj-small --array=0-9 --gres=gpu:h100:1 -t 1 --wrap true)
contains "array over the remaining: refused" "$r" "ERR:"
contains "array: says how many elements fit" "$r" "for 10 array elements; 8 elements fit"
ja=$(submit -A proj-a --array=0-2 --gres=gpu:h100:1 -t 2 --wrap 'sleep 1')
check "array submitted" test "${ja#ERR}" = "$ja"
for _ in $(seq 1 300); do
	n=$(aissctl --json charges | jq --arg a proj-a '[.[] | select(.account == $a and .gpus == 1)] | length')
	[ "$n" -ge 3 ] && break
	sleep 0.2
done
equals "three array elements, three charged runs" "$n" 3

echo "# raised time limit is quoted again"
jh=$(submit --hold -A proj-small --gres=gpu:h100:1 -t 1 --wrap true)
check "held job submitted" test "${jh#ERR}" = "$jh"
r=$(scontrol update jobid="$jh" timelimit=60 2>&1)
contains "raise over the remaining refused" "$r" "accounting/QOS policy"
equals "time limit unchanged" "$(job_field "$jh" TimeLimit)" "00:01:00"
check "raise within the remaining accepted" scontrol update jobid="$jh" timelimit=5
scancel "$jh"

echo "# plugin's time under slurmctld's locks is logged"
check "latency line logged" grep -q "aiss: job_submit under slurmctld locks" "$AISS_CLUSTER_DIR/log/slurmctld.log"
finish
