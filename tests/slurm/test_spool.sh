#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Exactly once when aissd is away: 50 running jobs finish while aissd is
# stopped, their charges wait in the durable spool and are replayed once
# when it returns; aissd down at submit refuses (fail-closed) or, with
# FailOpen=yes, admits; a job starting while aissd is down waits for it.
set -u
source "$(dirname "$0")/testlib.sh"
AISS_CLUSTER_GPUS=32 AISS_CLUSTER_CPUS=32
aiss_cluster_start || exit 1
setup_scheme || { echo "scheme setup failed"; exit 1; }
add_grant AISS-2025-0001 proj-a 100000
spool=$AISS_CLUSTER_DIR/aiss-spool
N=50

echo "# $N jobs finish while aissd is stopped"
# each job runs until the test says go (no race with how fast they start)
go=$AISS_CLUSTER_DIR/go
jobs=()
for i in $(seq 1 $N); do
	jobs+=("$(submit -A proj-a --gres=gpu:1 -t 10 --wrap "while [ ! -e $go ]; do sleep 1; done")")
done
equals "all $N submitted" "$(printf '%s\n' "${jobs[@]}" | grep -c '^[0-9]')" $N
running() { [ "$(squeue -h -t R -A proj-a | wc -l)" -ge $N ]; }
check "all $N running (liens taken)" aiss_wait_for 120 running
equals "aissd holds $N liens" "$(aissctl --json balance AISS-2025-0001 | jq -r .liens)" $N
aiss_aissd_stop
touch "$go"
done_all() { [ "$(squeue -h -A proj-a | wc -l)" = 0 ]; }
check "all $N finished without aissd" aiss_wait_for 150 done_all
equals "$N charges in the spool" "$(find "$spool" -maxdepth 1 -name '*.rec' | wc -l)" $N
aiss_aissd_start
replayed() { [ "$(find "$spool" -maxdepth 1 -name '*.rec' | wc -l)" = 0 ]; }
check "spool replayed" aiss_wait_for 60 replayed
ids=$(aissctl --json charges | jq -c '[.[] | .job_id] | sort')
equals "$N charges" "$(jq length <<<"$ids")" $N
equals "each job charged exactly once" "$(jq -c 'group_by(.) | map(length) | unique' <<<"$ids")" "[1]"
equals "the right jobs" "$ids" "$(printf '%s\n' "${jobs[@]}" | jq -s -c 'sort')"
equals "no liens left" "$(aissctl --json balance AISS-2025-0001 | jq -r .liens)" 0
equals "nothing rejected" "$(find "$spool/failed" -type f | wc -l)" 0
c=$(charges_of "${jobs[0]}")
check_charge "replayed charge" "$c" 1 \
	"$(jq -r .price_per_gpu_hour_cents <<<"$c")" 7000
equals "run seconds match Slurm's elapsed" "$(jq -r .run_seconds <<<"$c")" "$(slurm_elapsed "${jobs[0]}")"
# settling the same run again changes nothing
aissctl settle --cluster aisstest --job "${jobs[0]}" --start "@$(jq -r .start <<<"$c")" \
	--end "@$(jq -r .end <<<"$c")" --gpus 1 --state COMPLETED >/dev/null
equals "re-settle is idempotent" "$(aissctl --json charges | jq length)" $N
aiss_aissd_stop
aiss_aissd_start
sleep 2
equals "still $N after an aissd restart" "$(aissctl --json charges | jq length)" $N

echo "# a job starting while aissd is down waits for it (fail-closed)"
jw=$(submit --hold -A proj-a --gres=gpu:h100:1 -t 5 --wrap 'sleep 1')
aiss_aissd_stop
scontrol release "$jw"
reason=""
for _ in $(seq 1 150); do
	reason=$(squeue -h -j "$jw" -o '%r' 2>/dev/null)
	[[ "$reason" == aiss:* ]] && break
	sleep 0.2
done
contains "held with a reason" "$reason" "aiss: quota service unavailable"

echo "# aissd down at submit: fail-closed"
r=$(submit -A proj-a --gres=gpu:h100:1 -t 5 --wrap true)
contains "refused" "$r" "ERR:"
contains "says why and what to do" "$r" "aiss: quota service unavailable, retry"
aiss_aissd_start
check "waiting job started and charged once aissd is back" wait_charges "$jw" 1 60

echo "# aissd down at submit: fail-open admits, charged later"
sed -i 's/^FailOpen=.*/FailOpen=yes/' "$AISS_PLUGIN_CONF"
aiss_ctld_restart
aiss_aissd_stop
jo=$(submit -A proj-a --gres=gpu:h100:1 -t 5 --wrap 'sleep 1')
check "admitted" test "${jo#ERR}" = "$jo"
spooled() { [ "$(find "$spool" -maxdepth 1 -name '*.rec' | wc -l)" = 1 ]; }
check "ran without a lien; charge spooled" aiss_wait_for 60 spooled
aiss_aissd_start
check "charged once aissd is back" wait_charges "$jo" 1 60

echo "# slurmctld restarts while a charge waits in the spool"
jr=$(submit -A proj-a --gres=gpu:h100:2 -t 5 --wrap 'sleep 3')
check "running" wait_state "$jr" RUNNING 60
aiss_aissd_stop
check "finished and spooled" aiss_wait_for 60 spooled
aiss_ctld_restart
contains "restarted plugin found it" "$(grep 'prep/aiss loaded' "$AISS_CLUSTER_DIR/log/slurmctld.log" | tail -n1)" "with 1 waiting"
aiss_aissd_start
check "charged after both restarts" wait_charges "$jr" 1 60
sleep 2
equals "exactly once" "$(n_charges_of "$jr")" 1
equals "GPUs" "$(charges_of "$jr" | jq -r .gpus)" 2
finish
