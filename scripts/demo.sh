#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The README demo: installs what is needed, builds aissd, aissctl and the
# Slurm plugins, starts a loopback Slurm cluster (two 8-GPU nodes, fake
# GPUs) with aissd, approves sample grants, submits real jobs (admitted,
# refused with the reason, one held at start until a top-up), and shows the
# charges and a finance report. Tears everything down. Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
[ "$(id -u)" = 0 ] || { echo "demo: run as root (starts munged, slurmctld, slurmd)" >&2; exit 1; }

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
# Shows a command the way a user types it (sbatch output and errors).
try() { printf '$ %s\n' "$*"; "$@" 2>&1 || true; }

say "install dependencies"
bash scripts/install-deps.sh

say "build aissd, aissctl and the Slurm plugins (against this Slurm's source)"
build=${AISS_DEMO_BUILD:-$root/build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
targets=(aissd aissctl)
known=$(cmake --build "$build" --target help 2>/dev/null || true)
for t in job_submit_aiss prep_aiss; do
	if grep -qw "$t" <<<"$known"; then
		targets+=("$t")
	else
		echo "demo: the Slurm plugins are not configured (see the aiss plugins line of cmake's output)" >&2
		exit 1
	fi
done
cmake --build "$build" -j"$(nproc)" --target "${targets[@]}" >/dev/null
echo "built: ${targets[*]}"

say "start a Slurm cluster on 127.0.0.1: munged, slurmctld, gn1 (8 x h100), gn2 (8 x h800), aissd"
export AISS_BUILD_DIR=$build
# shellcheck source=../tests/slurm/cluster.sh
source tests/slurm/cluster.sh
aiss_cluster_start
run sinfo -N -o '%N %t %G'

say "the scheme administrators approve grants and set list prices"
run aissctl scheme init --commitment 3000000000 --name "AI Subsidy Scheme" --start 2024-12-01 --end 2027-12-01
run aissctl institution add "University of Hong Kong" --type university
run aissctl institution add "Harbour Vision Ltd" --type enterprise
run aissctl price set h100 100 --from 2024-01-01
run aissctl price set h800 80 --from 2024-01-01
run aissctl grant add AISS-2025-0007 --institution "University of Hong Kong" \
	--account hku-llm --members root --gpu-types h100,h800 --rate 70% \
	--gpu-hours 5000 --subsidy 250000 --start 2025-04-01 --end 2027-04-01 --max-gpus 16
run aissctl grant add AISS-2025-0012 --institution "Harbour Vision Ltd" \
	--account hv-vision --members root --gpu-types h100 --rate 70% \
	--gpu-hours 100 --subsidy 20 --start 2025-04-01 --end 2027-04-01

say "a research team asks what a job would cost"
run aissctl quote --account hku-llm --user root --gpus 16 --time 2:00:00

say "admitted: a two-node job (8 GPUs on each node)"
j1=$(sbatch --parsable -A hku-llm -N2 --gpus-per-node=8 -t 30 -o /dev/null --wrap 'srun hostname; sleep 4')
echo "Submitted batch job $j1"
j2=$(sbatch --parsable -A hku-llm --gpus=h800:4 -t 30 -o /dev/null --wrap 'sleep 3')
echo "Submitted batch job $j2"

say "refused at submit: the worst case is over the grant's remaining subsidy"
try sbatch -A hv-vision --gres=gpu:h100:8 -t 4:00:00 -o /dev/null --wrap 'sleep 1'
say "refused at submit: GPU type not approved, and no account"
try sbatch -A hv-vision --gres=gpu:h800:1 -t 10 -o /dev/null --wrap 'sleep 1'
try sbatch --gres=gpu:h100:1 -t 10 -o /dev/null --wrap 'sleep 1'

say "held at start: another job drained the grant before this one could start"
jb=$(sbatch --parsable --hold -A hv-vision --gres=gpu:h100:1 -t 10 -o /dev/null --wrap 'sleep 2')
ja=$(sbatch --parsable -A hv-vision --gres=gpu:h100:1 -t 10 -o /dev/null --wrap 'sleep 25')
echo "Submitted batch jobs $jb (held by its user for now) and $ja"
aiss_wait_for 60 bash -c "squeue -h -j $ja -t R | grep -q ."
run scontrol release "$jb"
aiss_wait_for 30 bash -c "squeue -h -j $jb -o %r | grep -q '^aiss:'" || true
run squeue -o '%.6i %.10a %.8T %r'
run aissctl balance AISS-2025-0012
say "operators: the money held for running jobs (stale ones would be flagged)"
run aissctl lien list

say "the administrators top the grant up; the held job starts by itself"
run aissctl grant modify AISS-2025-0012 --subsidy 60
aiss_wait_for 60 bash -c "squeue -h -j $jb -t R,CG | grep -q . || ! squeue -h -j $jb | grep -q ." || true
run squeue -o '%.6i %.10a %.8T %r'

say "waiting for the jobs to end (charged at the end, GPUs x elapsed)"
scancel "$ja"
aiss_wait_for 120 bash -c '[ -z "$(squeue -h)" ]' || true
sleep 2
run aissctl charges
run aissctl balance
run aissctl statement AISS-2025-0012

say "finance: the fiscal-year report"
fy=$(python3 -c 'import datetime as d; t=d.datetime.utcnow()+d.timedelta(hours=8); y=t.year if t.month>=4 else t.year-1; print(f"{y}-{str(y+1)[2:]}")' 2>/dev/null || echo 2025-26)
if aissctl report fy "$fy" >/dev/null 2>&1; then
	run aissctl report fy "$fy"
else
	echo "(aissctl report is not in this build; balances and statements above)"
fi
run aissctl journal verify

say "tear down"
aiss_cluster_stop
trap - EXIT
echo "demo: done"
