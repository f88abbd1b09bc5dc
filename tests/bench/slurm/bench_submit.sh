#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Submission throughput with the aiss plugins on vs off, same run, same
# cluster (tests/slurm/cluster.sh), and the job_submit plugin's time under
# slurmctld's locks (p50/p99/max, logged by the plugin). Root; not a ctest.
#
# Usage: tests/bench/slurm/bench_submit.sh [N] [ROUNDS] [PARALLEL]
#   N jobs per mode (default 2000), split into ROUNDS alternating rounds
#   (default 4), submitted by PARALLEL concurrent sbatch loops (default 4).
#   Each job: sbatch --hold -A proj-a --gres=gpu:h100:1 -t 10 --wrap true.
# Prints one line per round and a summary; exit 0 unless the cluster fails.
set -u
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../slurm/cluster.sh"
N=${1:-2000}
ROUNDS=${2:-4}
PAR=${3:-4}
per_round=$((N / ROUNDS))
per_loop=$((per_round / PAR))

AISS_CLUSTER_STATS_EVERY=$((per_loop * PAR)) # one latency line per "on" round
aiss_cluster_start || exit 1
aissctl scheme init --commitment 3000000000 --start 2024-12-01 --end 2027-12-01 >/dev/null
aissctl institution add HKU --type university >/dev/null
aissctl price set h100 100 --from 2024-01-01 >/dev/null
aissctl grant add AISS-2025-0001 --institution HKU --account proj-a --members root \
	--gpu-types h100,h800 --gpu-hours 1000000 --subsidy 10000000 \
	--start 2025-01-01 --end 2028-01-01 >/dev/null
conf=$SLURM_CONF
cp "$conf" "$conf.on"
grep -v '^JobSubmitPlugins=\|^PrEpPlugins=' "$conf.on" >"$conf.off"

use() { # use on|off: restart slurmctld with that configuration
	cp "$conf.$1" "$conf"
	aiss_ctld_restart || { echo "slurmctld did not restart"; exit 1; }
	scancel --state=PENDING >/dev/null 2>&1 || true
	sleep 1
}

loop() {
	for _ in $(seq 1 "$per_loop"); do
		sbatch --hold -o /dev/null -A proj-a --gres=gpu:h100:1 -t 10 \
			--wrap true >/dev/null 2>&1 || echo x
	done
}

round() { # round MODE -> prints "seconds failures"
	local t0 t1 fails
	t0=$(date +%s.%N)
	fails=$(for _ in $(seq 1 "$PAR"); do loop & done; wait)
	t1=$(date +%s.%N)
	echo "$(echo "$t1 - $t0" | bc -l) $(grep -c x <<<"$fails")"
}

tot_on=0 tot_off=0 n_on=0 n_off=0
for r in $(seq 1 "$ROUNDS"); do
	for mode in off on; do
		use "$mode"
		read -r secs fails < <(round "$mode")
		n=$((per_loop * PAR))
		queued=$(squeue -h -t PD | wc -l)
		echo "round $r plugins $mode: $n jobs in ${secs}s ($(echo "$n / $secs" | bc -l | xargs printf '%.1f') jobs/s), $fails failed, $queued queued"
		if [ "$mode" = on ]; then
			tot_on=$(echo "$tot_on + $secs" | bc -l); n_on=$((n_on + n))
		else
			tot_off=$(echo "$tot_off + $secs" | bc -l); n_off=$((n_off + n))
		fi
	done
done
rate_on=$(echo "$n_on / $tot_on" | bc -l)
rate_off=$(echo "$n_off / $tot_off" | bc -l)
printf 'plugins off: %d jobs, %.1f jobs/s\n' "$n_off" "$rate_off"
printf 'plugins on:  %d jobs, %.1f jobs/s\n' "$n_on" "$rate_on"
printf 'ratio on/off: %.3f (target >= 0.9)\n' "$(echo "$rate_on / $rate_off" | bc -l)"
echo "job_submit/aiss under slurmctld's locks, per 'on' round (microseconds):"
grep -o 'job_submit under slurmctld locks (periodic): .*' \
	"$AISS_CLUSTER_DIR/log/slurmctld.log" | sed 's/^/  /'
