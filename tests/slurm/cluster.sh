#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A real Slurm 22.05 cluster on loopback for tests: munged, slurmctld, two
# slurmd nodes (gn1: 8 fake h100, gn2: 8 fake h800, each in its own UTS
# namespace with its own port), aissd on SQLite, and the aiss plugins.
# Interface (tests/slurm/README.md): source this file, set AISS_CLUSTER_*
# variables, call aiss_cluster_start, use $SLURM_CONF; aiss_cluster_stop
# (also run from the EXIT trap) tears everything down. Needs root.

: "${AISS_SRC_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${AISS_BUILD_DIR:=$AISS_SRC_DIR/build}"
: "${AISS_CLUSTER_PLUGINS:=1}"	  # 1: JobSubmitPlugins=aiss, PrEpPlugins=aiss
: "${AISS_CLUSTER_AISSD:=1}"	  # 1: start aissd
: "${AISS_CLUSTER_NODES:=2}"	  # slurmd nodes (gn1 h100, gn2 h800, gn3 h100...)
: "${AISS_CLUSTER_FAIL_OPEN:=no}" # aiss-plugins.conf FailOpen
: "${AISS_CLUSTER_EXTRA_CONF:=}"  # extra slurm.conf lines
: "${AISS_CLUSTER_PLUGSTACK:=}"	  # plugstack.conf lines (SPANK plugins)
: "${AISS_CLUSTER_EXTRA_PLUGIN_DIRS:=}" # prepended to PluginDir (colon list)
: "${AISS_CLUSTER_GPUS:=8}"	  # fake GPUs per node
: "${AISS_CLUSTER_CPUS:=16}"	  # CPUs per node (as configured, not real)
: "${AISS_CLUSTER_STATS_EVERY:=500}" # aiss-plugins.conf StatsEvery (latency log)
: "${AISS_CLUSTER_NODE_HW:=}"	  # node hardware words (default: CPUs=... from AISS_CLUSTER_CPUS)
: "${AISS_CLUSTER_KEEP:=0}"	  # 1: keep the temp dir after stop

AISS_SLURM_PLUGIN_DIR=${AISS_SLURM_PLUGIN_DIR:-/usr/lib/x86_64-linux-gnu/slurm-wlm}
AISS_CLUSTER_PIDS=()

aiss_log() { echo "cluster: $*" >&2; }

# Skips the calling test (ctest SKIP_RETURN_CODE 77) with a message.
aiss_skip() { echo "SKIP: $*"; exit 77; }

# Checks the prerequisites; skips the test when one is missing.
aiss_cluster_check() {
	[ "$(id -u)" = 0 ] || aiss_skip "needs root (runs munged, slurmctld, slurmd)"
	for b in munged slurmctld slurmd sbatch unshare mknod; do
		command -v "$b" >/dev/null || aiss_skip "$b not installed"
	done
	if [ "$AISS_CLUSTER_PLUGINS" = 1 ]; then
		[ -f "$AISS_BUILD_DIR/plugin/slurm/job_submit_aiss.so" ] &&
			[ -f "$AISS_BUILD_DIR/plugin/slurm/prep_aiss.so" ] ||
			aiss_skip "aiss Slurm plugins not built in $AISS_BUILD_DIR/plugin/slurm"
	fi
	if [ "$AISS_CLUSTER_AISSD" = 1 ]; then
		[ -x "$AISS_BUILD_DIR/quota/aissd/aissd" ] ||
			aiss_skip "aissd not built in $AISS_BUILD_DIR"
		[ -x "$AISS_BUILD_DIR/quota/aissctl/aissctl" ] ||
			aiss_skip "aissctl not built in $AISS_BUILD_DIR"
	fi
}

# Finds a base of 8 consecutive free TCP ports on 127.0.0.1.
_aiss_free_ports() {
	local base p ok
	for _ in $(seq 1 50); do
		base=$((20000 + (RANDOM % 4000) * 10))
		ok=1
		for p in $(seq "$base" $((base + 7))); do
			if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
				ok=0
				break
			fi
		done
		[ $ok = 1 ] && { echo "$base"; return 0; }
	done
	return 1
}

# Waits up to $1 seconds for command "$2..." to succeed.
aiss_wait_for() {
	local t=$1
	shift
	for _ in $(seq 1 $((t * 5))); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	return 1
}

_aiss_node_gpu_type() { if [ $(($1 % 2)) = 1 ]; then echo h100; else echo h800; fi; }

_aiss_write_conf() {
	local T=$AISS_CLUSTER_DIR base=$1 i type nodes="" plugdir hw
	plugdir=$AISS_SLURM_PLUGIN_DIR
	[ "$AISS_CLUSTER_PLUGINS" = 1 ] && plugdir="$AISS_BUILD_DIR/plugin/slurm:$plugdir"
	[ -n "$AISS_CLUSTER_EXTRA_PLUGIN_DIRS" ] &&
		plugdir="$AISS_CLUSTER_EXTRA_PLUGIN_DIRS:$plugdir"
	AISS_CTLD_PORT=$base
	cat >"$T/etc/slurm.conf" <<CONF
ClusterName=aisstest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$base
SlurmdPort=$((base + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$T/munge/munge.socket.2,cred_expire=10
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool/%n
SlurmctldPidFile=$T/run/slurmctld.pid
SlurmdPidFile=$T/run/slurmd.%n.pid
SlurmctldLogFile=$T/log/slurmctld.log
SlurmdLogFile=$T/log/slurmd.%n.log
SlurmctldDebug=info
SlurmdDebug=info
PluginDir=$plugdir
PlugStackConfig=$T/etc/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
GresTypes=gpu
AccountingStorageType=accounting_storage/none
# gres/gpu in AccountingStorageTRES needs slurmdbd; the plugins read the GRES allocation
JobCompType=jobcomp/filetxt
JobCompLoc=$T/log/jobcomp.txt
JobAcctGatherType=jobacct_gather/none
SchedulerType=sched/builtin
MpiDefault=none
ReturnToService=2
MinJobAge=600
MaxJobCount=20000
KillWait=2
InactiveLimit=0
SlurmctldTimeout=30
SlurmdTimeout=60
MessageTimeout=20
TCPTimeout=5
CONF
	if [ "$AISS_CLUSTER_PLUGINS" = 1 ]; then
		echo "JobSubmitPlugins=aiss" >>"$T/etc/slurm.conf"
		echo "PrEpPlugins=aiss" >>"$T/etc/slurm.conf"
	fi
	[ -n "$AISS_CLUSTER_EXTRA_CONF" ] && printf '%s\n' "$AISS_CLUSTER_EXTRA_CONF" >>"$T/etc/slurm.conf"
	echo "AutoDetect=off" >"$T/etc/gres.conf"
	for i in $(seq 1 "$AISS_CLUSTER_NODES"); do
		type=$(_aiss_node_gpu_type "$i")
		mkdir -p "$T/dev/gn$i" "$T/spool/gn$i"
		for g in $(seq 0 $((AISS_CLUSTER_GPUS - 1))); do
			# a character device like /dev/null; a plain file where
			# the container forbids mknod (gres.conf only needs a path)
			[ -e "$T/dev/gn$i/nvidia$g" ] ||
				mknod "$T/dev/gn$i/nvidia$g" c 1 3 2>/dev/null ||
				touch "$T/dev/gn$i/nvidia$g"
		done
		hw=${AISS_CLUSTER_NODE_HW:-"CPUs=$AISS_CLUSTER_CPUS Boards=1 SocketsPerBoard=2 CoresPerSocket=$((AISS_CLUSTER_CPUS / 2)) ThreadsPerCore=1"}
		echo "NodeName=gn$i NodeAddr=127.0.0.1 NodeHostname=gn$i Port=$((base + 1 + i)) $hw RealMemory=16000 Gres=gpu:$type:$AISS_CLUSTER_GPUS State=UNKNOWN" >>"$T/etc/slurm.conf"
		echo "NodeName=gn$i Name=gpu Type=$type File=$T/dev/gn$i/nvidia[0-$((AISS_CLUSTER_GPUS - 1))]" >>"$T/etc/gres.conf"
		nodes="$nodes${nodes:+,}gn$i"
	done
	echo "PartitionName=gpu Nodes=$nodes Default=YES DefaultTime=00:10:00 MaxTime=1-00:00:00 State=UP" >>"$T/etc/slurm.conf"
	printf '%s\n' "$AISS_CLUSTER_PLUGSTACK" >"$T/etc/plugstack.conf"
	cat >"$T/etc/aiss-plugins.conf" <<CONF
# aiss Slurm plugins (docs/admin-guide.md)
AissdSocket=$T/run/aissd.sock
TimeoutMs=200
SettleTimeoutMs=1000
FailOpen=$AISS_CLUSTER_FAIL_OPEN
SpoolDir=$T/aiss-spool
PollInterval=1
StatsEvery=$AISS_CLUSTER_STATS_EVERY
CONF
}

# Starts aissd (again, after aiss_aissd_stop) on the cluster's database.
aiss_aissd_start() {
	local T=$AISS_CLUSTER_DIR
	"$AISS_BUILD_DIR/quota/aissd/aissd" --db "$T/aiss.db" \
		--socket "$T/run/aissd.sock" --foreground >>"$T/log/aissd.log" 2>&1 &
	AISS_AISSD_PID=$!
	AISS_CLUSTER_PIDS+=("$AISS_AISSD_PID")
	aiss_wait_for 30 aissctl balance >/dev/null ||
		aiss_wait_for 5 test -S "$T/run/aissd.sock" ||
		{ aiss_log "aissd did not start; see $T/log/aissd.log"; return 1; }
}

# Stops aissd (SIGTERM, then waits for it).
aiss_aissd_stop() {
	[ -n "${AISS_AISSD_PID:-}" ] || return 0
	kill "$AISS_AISSD_PID" 2>/dev/null || true
	wait "$AISS_AISSD_PID" 2>/dev/null || true
	AISS_AISSD_PID=
}

# aissctl against the cluster's aissd.
aissctl() { "$AISS_BUILD_DIR/quota/aissctl/aissctl" --socket "$AISS_CLUSTER_DIR/run/aissd.sock" "$@"; }

_aiss_nodes_idle() {
	local n
	n=$(sinfo -h -N -o '%N %t' 2>/dev/null | awk '$2 == "idle" {c++} END {print c+0}')
	[ "$n" -ge "$AISS_CLUSTER_NODES" ]
}

# Starts the whole cluster in a new temp dir; exports SLURM_CONF and
# AISS_CLUSTER_DIR. Installs an EXIT trap that tears it down.
aiss_cluster_start() {
	aiss_cluster_check
	AISS_CLUSTER_DIR=$(mktemp -d /tmp/aiss-slurm.XXXXXX)
	chmod 755 "$AISS_CLUSTER_DIR"
	export AISS_CLUSTER_DIR
	local T=$AISS_CLUSTER_DIR base i
	mkdir -p "$T"/{etc,state,spool,run,log,munge,munge-key,dev,aiss-spool}
	chmod 700 "$T/munge-key"
	trap aiss_cluster_stop EXIT
	base=$(_aiss_free_ports) || { aiss_log "no free ports"; return 1; }
	_aiss_write_conf "$base"
	# A test may adjust the files before anything starts (README.md).
	if declare -F aiss_cluster_conf_hook >/dev/null; then
		aiss_cluster_conf_hook "$T" || { aiss_log "aiss_cluster_conf_hook failed"; return 1; }
	fi
	export SLURM_CONF=$T/etc/slurm.conf
	export AISS_PLUGIN_CONF=$T/etc/aiss-plugins.conf
	export AISS_SOCKET=$T/run/aissd.sock

	dd if=/dev/urandom of="$T/munge-key/munge.key" bs=1024 count=1 status=none
	chmod 400 "$T/munge-key/munge.key"
	munged --force -F --key-file="$T/munge-key/munge.key" \
		--socket="$T/munge/munge.socket.2" --pid-file="$T/run/munged.pid" \
		--log-file="$T/log/munged.log" --seed-file="$T/munge-key/seed" \
		>>"$T/log/munged.out" 2>&1 &
	AISS_CLUSTER_PIDS+=($!)
	aiss_wait_for 10 test -S "$T/munge/munge.socket.2" ||
		{ aiss_log "munged did not start"; return 1; }

	if [ "$AISS_CLUSTER_AISSD" = 1 ]; then
		aiss_aissd_start || return 1
	fi

	slurmctld -D -i -f "$SLURM_CONF" >>"$T/log/slurmctld.out" 2>&1 &
	AISS_CTLD_PID=$!
	AISS_CLUSTER_PIDS+=("$AISS_CTLD_PID")
	aiss_wait_for 30 scontrol ping ||
		{ aiss_log "slurmctld did not answer; see $T/log/slurmctld.log"; return 1; }
	local uts=1
	unshare --uts true 2>/dev/null || {
		uts=0
		aiss_log "no UTS namespaces here (unshare --uts failed): slurmds run with -N only"
	}
	for i in $(seq 1 "$AISS_CLUSTER_NODES"); do
		if [ $uts = 1 ]; then
			unshare --uts bash -c "hostname gn$i && exec slurmd -D -N gn$i -f '$SLURM_CONF'" \
				>>"$T/log/slurmd.gn$i.out" 2>&1 &
		else
			slurmd -D -N "gn$i" -f "$SLURM_CONF" >>"$T/log/slurmd.gn$i.out" 2>&1 &
		fi
		AISS_CLUSTER_PIDS+=($!)
	done
	aiss_wait_for 60 _aiss_nodes_idle ||
		{ aiss_log "nodes not idle: $(sinfo -h -N -o '%N %t %E' | tr '\n' ' ')"; return 1; }
	aiss_log "up in $T (slurmctld port $AISS_CTLD_PORT, $AISS_CLUSTER_NODES nodes)"
}

# Restarts slurmctld (state kept), e.g. after editing aiss-plugins.conf.
aiss_ctld_restart() {
	local T=$AISS_CLUSTER_DIR
	kill "$AISS_CTLD_PID" 2>/dev/null || true
	wait "$AISS_CTLD_PID" 2>/dev/null || true
	slurmctld -D -f "$SLURM_CONF" >>"$T/log/slurmctld.out" 2>&1 &
	AISS_CTLD_PID=$!
	AISS_CLUSTER_PIDS+=("$AISS_CTLD_PID")
	aiss_wait_for 30 scontrol ping
}

aiss_cluster_stop() {
	local rc=$? p
	[ -n "${AISS_CLUSTER_DIR:-}" ] || return $rc
	for ((p = ${#AISS_CLUSTER_PIDS[@]} - 1; p >= 0; p--)); do
		kill "${AISS_CLUSTER_PIDS[$p]}" 2>/dev/null || true
	done
	for p in "${AISS_CLUSTER_PIDS[@]}"; do
		for _ in $(seq 1 50); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	# job steps left by slurmd (processes whose parent was a slurmstepd)
	for p in $(pgrep -f "slurmstepd: \[" 2>/dev/null); do
		grep -qs "$AISS_CLUSTER_DIR" "/proc/$p/environ" && kill -9 "$p" 2>/dev/null
	done
	if [ "$rc" != 0 ] && [ "$rc" != 77 ]; then
		aiss_log "failed (rc $rc); last slurmctld log lines:"
		tail -n 30 "$AISS_CLUSTER_DIR/log/slurmctld.log" >&2 2>/dev/null || true
	fi
	if [ "$AISS_CLUSTER_KEEP" = 1 ] || { [ "$rc" != 0 ] && [ "$rc" != 77 ] && [ -n "${AISS_CLUSTER_KEEP_ON_FAIL:-}" ]; }; then
		aiss_log "kept $AISS_CLUSTER_DIR"
	else
		rm -rf "$AISS_CLUSTER_DIR"
	fi
	AISS_CLUSTER_DIR=
	AISS_CLUSTER_PIDS=()
	return $rc
}

# CLI: cluster.sh up  -> starts, prints the env to use, waits until killed.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -euo pipefail
	case "${1:-}" in
	up)
		aiss_cluster_start
		echo "export SLURM_CONF=$SLURM_CONF AISS_SOCKET=$AISS_SOCKET"
		echo "cluster up; Ctrl-C tears it down"
		while :; do sleep 3600; done
		;;
	*)
		echo "usage: $0 up   (or source it: see tests/slurm/README.md)" >&2
		exit 2
		;;
	esac
fi
