#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Integration: a real slurmd that sees the recorded HGX H100 topology (HWLOC_XMLFILE)
# accepts `aiss-topo gres`, and the aiss_bind SPANK plugin binds tasks near their GPUs.
set -euo pipefail
: "${AISS_SRC_DIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${AISS_BUILD_DIR:=$AISS_SRC_DIR/build}"
XML=$AISS_SRC_DIR/scheduler/data/hgx-h100.xml
TOPO=$AISS_BUILD_DIR/scheduler/topo/aiss-topo
BIND=$AISS_BUILD_DIR/plugin/spank/aiss_bind.so
HARNESS=$AISS_SRC_DIR/tests/slurm/cluster.sh

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
[ -f "$HARNESS" ] || skip "no Slurm harness (tests/slurm/cluster.sh)"
[ -x "$TOPO" ] || skip "aiss-topo not built in $AISS_BUILD_DIR"
[ -f "$BIND" ] || skip "aiss_bind.so not built in $AISS_BUILD_DIR"

command -v python3 >/dev/null || skip "python3 needed"

export AISS_BUILD_DIR AISS_SRC_DIR
export AISS_CLUSTER_PLUGINS=0 AISS_CLUSTER_AISSD=0 AISS_CLUSTER_NODES=1
export AISS_CLUSTER_PLUGSTACK="required $BIND"
# shellcheck source=../slurm/cluster.sh
source "$HARNESS"

# The harness writes a 16-core node with hand-written gres.conf lines:
# describe gn1 as the recorded node ($XML, $NODE_CPUS) instead, with
# aiss-topo's gres.conf lines.
declare -F _aiss_write_conf >/dev/null ||
	skip "harness has no _aiss_write_conf (interface changed)"
eval "$(declare -f _aiss_write_conf | sed '1s/_aiss_write_conf/_aiss_write_conf_harness/')"
_aiss_write_conf() {
	_aiss_write_conf_harness "$@"
	local T=$AISS_CLUSTER_DIR
	sed -i "s/^\(NodeName=gn1 .*\)CPUs=[0-9]* Boards=[0-9]* SocketsPerBoard=[0-9]* CoresPerSocket=[0-9]* ThreadsPerCore=[0-9]*/\1$NODE_CPUS/" "$T/etc/slurm.conf"
	grep -q "^NodeName=gn1 .*$NODE_CPUS.*Gres=gpu:h100:8" "$T/etc/slurm.conf" ||
		fail "could not describe gn1 as an HGX node in slurm.conf"
	{
		echo "AutoDetect=off"
		"$TOPO" --xml "$XML" --nodename gn1 --dev-prefix "$T/dev/gn1/nvidia" gres
	} >"$T/etc/gres.conf"
}

probe='echo "GPUS=${SLURM_STEP_GPUS:-$SLURM_JOB_GPUS}"; echo "CVD=$CUDA_VISIBLE_DEVICES";
echo "HCA=${NCCL_IB_HCA:-}"; echo "UCX=${UCX_NET_DEVICES:-}"; echo "CPUS=${AISS_BIND_CPUS:-}";
grep Cpus_allowed_list /proc/self/status'
val() { sed -n "s/^$1=//p" <<<"$2"; }

# Checks a probe's output ($1) against what the GPUs it got imply, with
# socket 0 CPUs $2 and socket 1 CPUs $3 (the recorded topology's).
check_env() {
	local out=$1 gpus want_cpus=$2 want_hca="" g
	gpus=$(val GPUS "$out")
	[ -n "$gpus" ] || fail "step saw no GPUs: $out"
	for g in ${gpus//,/ }; do
		[ "$g" -ge 4 ] && want_cpus=$3
		want_hca="$want_hca${want_hca:+,}mlx5_$g"
	done
	[ "$(val CPUS "$out")" = "$want_cpus" ] ||
		fail "AISS_BIND_CPUS=$(val CPUS "$out"), want $want_cpus for GPUs $gpus"
	[ "$(val HCA "$out")" = "=$want_hca" ] ||
		fail "NCCL_IB_HCA=$(val HCA "$out"), want =$want_hca for GPUs $gpus"
	[ "$(val CVD "$out")" = "$gpus" ] ||
		fail "CUDA_VISIBLE_DEVICES=$(val CVD "$out"), want $gpus (locality order)"
	grep -q "^UCX=mlx5_" <<<"$out" || fail "no UCX_NET_DEVICES"
}

# Phase A: the full HGX description (2 x 56 cores x 2 threads). slurmd must
# accept aiss-topo's gres.conf; the plugin must set the environment.
XML=$AISS_SRC_DIR/scheduler/data/hgx-h100.xml
NODE_CPUS="CPUs=224 Boards=1 SocketsPerBoard=2 CoresPerSocket=56 ThreadsPerCore=2"
export HWLOC_XMLFILE=$XML  # slurmd, slurmstepd and so the plugin see it
aiss_cluster_start
T=$AISS_CLUSTER_DIR
echo "--- gres.conf"
cat "$T/etc/gres.conf"
if grep -iE 'error.*gres|gres.*(invalid|error)|fatal' "$T/log/slurmd.gn1.log"; then
	fail "slurmd complained about gres.conf"
fi
scontrol show node gn1 | grep -q 'Gres=gpu:h100:8' || fail "gn1 has no gpu:h100:8"
# slurmd -G prints the GRES it loaded.
G=$(unshare --uts bash -c "hostname gn1 && slurmd -G -N gn1 -f '$SLURM_CONF'" 2>&1) || true
echo "--- slurmd -G"
echo "$G" | grep 'Gres Name=gpu'
[ "$(echo "$G" | grep -c 'Gres Name=gpu Type=h100 Count=1')" = 8 ] || fail "slurmd -G: not 8 h100"
echo "$G" | grep -q 'Index=3 .*Cores=0-55 CoreCnt=224 Links=18,18,18,-1,18,18,18,18' ||
	fail "slurmd -G: GPU 3 without socket 0 cores / links"
echo "$G" | grep -q 'Index=4 .*Cores=56-111 CoreCnt=224 Links=18,18,18,18,-1,18,18,18' ||
	fail "slurmd -G: GPU 4 without socket 1 cores / links"

out=$(srun -N1 -w gn1 --gres=gpu:h100:2 bash -c "$probe") || fail "srun failed"
echo "--- step with 2 GPUs"; echo "$out"
check_env "$out" "0-55,112-167" "56-111,168-223"
# A job holding 4 GPUs pushes the next step towards socket 1.
sbatch -N1 -w gn1 --gres=gpu:h100:4 --wrap 'sleep 60' >/dev/null
aiss_wait_for 30 bash -c '[ "$(squeue -h -t R | wc -l)" -ge 1 ]' || fail "holder job did not start"
out=$(srun -N1 -w gn1 --gres=gpu:h100:2 bash -c "$probe") || fail "srun failed"
echo "--- step with 2 GPUs next to a 4-GPU job"; echo "$out"
check_env "$out" "0-55,112-167" "56-111,168-223"
out=$(srun -N1 -w gn1 --gres=gpu:h100:1 --aiss-bind=none bash -c "$probe") || fail "srun failed"
echo "--- --aiss-bind=none"; echo "$out"
[ -z "$(val CPUS "$out")" ] || fail "--aiss-bind=none still bound"
[ -z "$(val HCA "$out")" ] || fail "--aiss-bind=none still set NCCL_IB_HCA"
scancel -u root || true
aiss_cluster_stop

# Phase B: the same node with one core per socket, so that this machine's
# CPUs 0 and 1 are the two sockets: the task's affinity must follow its GPUs.
if [ "$(grep -c ^processor /proc/cpuinfo)" -lt 2 ] ||
	! taskset -pc 0,1 $$ >/dev/null 2>&1; then
	echo "PASS (affinity phase skipped: needs CPUs 0 and 1)"
	exit 0
fi
XML=$(mktemp /tmp/aiss-hgx-tiny.XXXXXX.xml)
python3 "$AISS_SRC_DIR/scheduler/data/gen-hgx-h100.py" 1 1 >"$XML"
NODE_CPUS="CPUs=2 Boards=1 SocketsPerBoard=2 CoresPerSocket=1 ThreadsPerCore=1"
export HWLOC_XMLFILE=$XML
aiss_cluster_start
sbatch -N1 -w gn1 --gres=gpu:h100:4 --wrap 'sleep 60' >/dev/null
aiss_wait_for 30 bash -c '[ "$(squeue -h -t R | wc -l)" -ge 1 ]' || fail "holder job did not start"
out=$(srun -N1 -w gn1 --gres=gpu:h100:2 bash -c "$probe") || fail "srun failed"
echo "--- 1 core per socket: step with 2 GPUs next to a 4-GPU job"; echo "$out"
check_env "$out" "0" "1"
gpus=$(val GPUS "$out")
want=0
[ "${gpus%%,*}" -ge 4 ] && want=1
allowed=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' <<<"$out")
[ "$allowed" = "$want" ] || fail "task affinity $allowed, want CPU $want (socket of GPUs $gpus)"
out=$(srun -N1 -w gn1 --gres=gpu:h100:1 --aiss-bind=none bash -c "$probe") || fail "srun failed"
allowed=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' <<<"$out")
[ "$allowed" = "0-1" ] || fail "--aiss-bind=none: affinity $allowed, want 0-1 untouched"
scancel -u root || true
aiss_cluster_stop
rm -f "$XML"
echo "PASS"
