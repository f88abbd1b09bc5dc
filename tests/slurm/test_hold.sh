#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Lien at start and charge at end on a real Slurm cluster: a job held at
# start because another job drained its grant, released by a top-up (no
# requeue loop); requeue (each run charged once); cancel while pending (no
# charge); cancel while running and TIMEOUT (charged for elapsed).
set -u
source "$(dirname "$0")/testlib.sh"
aiss_cluster_start || exit 1
setup_scheme || { echo "scheme setup failed"; exit 1; }
add_grant AISS-2025-0001 proj-a 100000
add_grant AISS-2025-0101 proj-h 20
log=$AISS_CLUSTER_DIR/log/slurmctld.log

echo "# a job that times out (runs alongside the rest)"
jt=$(submit -A proj-a --gres=gpu:h800:1 -t 1 --wrap 'sleep 600')

echo "# held at start after another job drained the grant"
# one 1-GPU 10-minute h100 job's worst case is HK$11.67 of HK$20.00
jb=$(submit --hold -A proj-h --gres=gpu:h100:1 -t 10 --wrap 'sleep 1')
ja=$(submit -A proj-h --gres=gpu:h100:1 -t 10 --wrap 'sleep 600')
check "drainer running" wait_state "$ja" RUNNING 60
scontrol release "$jb"
reason=""
for _ in $(seq 1 150); do
	reason=$(squeue -h -j "$jb" -o '%r' 2>/dev/null)
	[[ "$reason" == aiss:* ]] && break
	sleep 0.2
done
equals "squeue shows why" "$reason" "aiss: AISS-2025-0101 has HK\$8.33 left; needs HK\$11.67 (1 h100 GPU x 00:10:00)"
equals "held job is pending" "$(job_state "$jb")" PENDING
sleep 4 # several release polls: still held, never restarted again
equals "still pending without a top-up" "$(job_state "$jb")" PENDING
equals "refused once (no requeue loop)" "$(grep -c "JobId=$jb not started" "$log")" 1
equals "no charge for the refused start" "$(n_charges_of "$jb")" 0
aissctl grant modify AISS-2025-0101 --subsidy 40 >/dev/null
check "released after the top-up and charged" wait_charges "$jb" 1 60
equals "one run charged" "$(n_charges_of "$jb")" 1
contains "release logged" "$(grep "releasing JobId=$jb" "$log")" "AISS-2025-0101"

echo "# cancel while running: charged for elapsed"
sleep 2
scancel "$ja"
check "cancelled job charged" wait_charges "$ja" 1 60
c=$(charges_of "$ja")
equals "end state" "$(jq -r .end_state <<<"$c")" CANCELLED
check_charge "cancelled while running" "$c" 1 10000 7000
equals "run seconds match Slurm's elapsed" "$(jq -r .run_seconds <<<"$c")" "$(slurm_elapsed "$ja")"

echo "# cancel while pending: no charge, no lien"
jd=$(submit --hold -A proj-a --gres=gpu:h100:4 -t 10 --wrap true)
scancel "$jd"
sleep 2
equals "no charge" "$(n_charges_of "$jd")" 0
equals "no liens left on proj-a" "$(aissctl --json balance AISS-2025-0001 | jq -r '.liens')" \
	"$(squeue -h -A proj-a -t R | wc -l)"

echo "# requeue: each run charged once"
jc=$(submit -A proj-a --gres=gpu:h100:2 -t 5 --wrap 'sleep 8')
check "running" wait_state "$jc" RUNNING 60
sleep 2
scontrol requeue "$jc"
check "first run charged" wait_charges "$jc" 1 60
check "second run charged" wait_charges "$jc" 2 90
runs=$(charges_of "$jc" | jq -s -c 'sort_by(.run_start)')
equals "two runs" "$(jq length <<<"$runs")" 2
equals "first run ended REQUEUED" "$(jq -r '.[0].end_state' <<<"$runs")" REQUEUED
equals "second run ended COMPLETED" "$(jq -r '.[1].end_state' <<<"$runs")" COMPLETED
check "distinct run starts" test "$(jq -r '.[0].run_start' <<<"$runs")" != "$(jq -r '.[1].run_start' <<<"$runs")"
check_charge "requeue, run 1" "$(jq -c '.[0]' <<<"$runs")" 2 10000 7000
check_charge "requeue, run 2" "$(jq -c '.[1]' <<<"$runs")" 2 10000 7000
sleep 2
equals "still two charges" "$(n_charges_of "$jc")" 2

echo "# TIMEOUT: charged for elapsed"
check "timed-out job charged" wait_charges "$jt" 1 180
c=$(charges_of "$jt")
equals "end state" "$(jq -r .end_state <<<"$c")" TIMEOUT
check_charge "timeout" "$c" 1 8000 7000
equals "run seconds match Slurm's elapsed" "$(jq -r .run_seconds <<<"$c")" "$(slurm_elapsed "$jt")"
check "ran at least its limit" test "$(jq -r .run_seconds <<<"$c")" -ge 60
echo "# NODE_FAIL: recorded, charged zero"
jn=$(submit -A proj-a -w gn2 --gres=gpu:h800:2 -t 5 --wrap 'sleep 300')
check "running on gn2" wait_state "$jn" RUNNING 60
sleep 2
scontrol update nodename=gn2 state=down reason=aiss-test
check "node-failed run recorded" wait_charges "$jn" 1 60
c=$(charges_of "$jn")
equals "end state" "$(jq -r .end_state <<<"$c")" NODE_FAIL
equals "GPUs recorded" "$(jq -r .gpus <<<"$c")" 2
equals "no subsidy charged" "$(jq -r .subsidy_cents <<<"$c")" 0
equals "no co-payment" "$(jq -r .copay_cents <<<"$c")" 0
scancel "$jn"
scontrol update nodename=gn2 state=resume 2>/dev/null || true # ReturnToService=2 may have done it
equals "journal verifies" "$(aissctl --json journal verify | jq -r .ok)" true
finish
