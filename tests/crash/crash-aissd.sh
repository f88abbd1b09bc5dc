#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# crash-aissd.sh: kill -9 aissd at random points under reserve+settle load,
# restart it, and check that every acknowledged settle is present exactly
# once, no acknowledged lien is lost, balances add up and the journal
# verifies (aiss-quota-load check, then aissctl journal verify).
# usage: crash-aissd.sh --aissd PATH --aissctl PATH --load PATH [--rounds N]
#                       [--conns N] [--grants N] [--seed N]
set -uo pipefail

AISSD= AISSCTL= LOAD= ROUNDS=20 CONNS=4 GRANTS=4 SEED=${AISS_CRASH_SEED:-$$}
while [ $# -gt 0 ]; do
	case $1 in
	--aissd) AISSD=$2; shift 2 ;;
	--aissctl) AISSCTL=$2; shift 2 ;;
	--load) LOAD=$2; shift 2 ;;
	--rounds) ROUNDS=$2; shift 2 ;;
	--conns) CONNS=$2; shift 2 ;;
	--grants) GRANTS=$2; shift 2 ;;
	--seed) SEED=$2; shift 2 ;;
	*) echo "crash-aissd: unknown argument $1" >&2; exit 2 ;;
	esac
done
for b in "$AISSD" "$AISSCTL" "$LOAD"; do
	if [ ! -x "$b" ]; then
		echo "SKIP: $b is not built"
		exit 77
	fi
done

T=$(mktemp -d /tmp/aiss-crash.XXXXXX)
SOCK=$T/aissd.sock
DB=$T/ledger.db
ACKS=$T/acks
mkdir -p "$ACKS"
PID= LPID=
cleanup() {
	[ -n "$LPID" ] && kill "$LPID" 2>/dev/null
	[ -n "$PID" ] && kill -9 "$PID" 2>/dev/null
	wait 2>/dev/null
	if [ "${KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
RANDOM=$SEED
echo "crash-aissd: seed $SEED, $ROUNDS rounds, $CONNS connections, $GRANTS grants, dir $T"

start_aissd() {
	rm -f "$SOCK"
	"$AISSD" --foreground --db "$DB" --socket "$SOCK" >>"$T/aissd.log" 2>&1 &
	PID=$!
	for _ in $(seq 1 200); do
		[ -S "$SOCK" ] && return 0
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "FAIL: aissd did not start"; tail -20 "$T/aissd.log"; exit 1
}

start_aissd
"$LOAD" --socket "$SOCK" --grants "$GRANTS" setup >/dev/null || {
	echo "FAIL: setup"; exit 1; }

recovery_kills=0
for r in $(seq 1 "$ROUNDS"); do
	# Load with job numbers unique to this round.
	"$LOAD" --socket "$SOCK" --grants "$GRANTS" --conns "$CONNS" \
		--ackdir "$ACKS" --job-base $((r * 100000000)) crash \
		>"$T/load.$r" 2>&1 &
	LPID=$!
	# A random point: 50..1500 ms into the load.
	delay_ms=$((50 + RANDOM % 1450))
	sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
	kill -9 "$PID"
	wait "$PID" 2>/dev/null
	PID=
	wait "$LPID"
	LPID=
	start_aissd
	# Now and then, crash it again while it recovers (opening the ledger,
	# replaying the WAL), before anything is checked.
	if [ $((RANDOM % 3)) = 0 ]; then
		sleep "0.0$((RANDOM % 4))"
		kill -9 "$PID"
		wait "$PID" 2>/dev/null
		recovery_kills=$((recovery_kills + 1))
		start_aissd
	fi
	if ! out=$("$LOAD" --socket "$SOCK" --grants "$GRANTS" \
		--ackdir "$ACKS" check 2>&1); then
		echo "FAIL: round $r (killed after ${delay_ms} ms): $out"
		exit 1
	fi
	if ! "$AISSCTL" --socket "$SOCK" journal verify >/dev/null; then
		echo "FAIL: round $r: aissctl journal verify"
		exit 1
	fi
	load_line=$(head -1 "$T/load.$r")
	echo "round $r: killed after ${delay_ms} ms; load: ${load_line%% first_error*}"
	echo "round $r: $out"
done

# The WAL started again all along (the ledger restarts it from 8000 frames,
# ledger_vfs.c): without that it would hold every round's frames.
page=$(od -An -tu1 -j8 -N4 "$DB-wal" | awk '{print $1*16777216+$2*65536+$3*256+$4}')
frames=$(( ($(stat -c %s "$DB-wal") - 32) / (24 + page) ))
if [ "$frames" -gt 10000 ]; then
	echo "FAIL: the WAL holds $frames frames of $page bytes (more than 10000): it was not started again"
	exit 1
fi
echo "crash-aissd: the WAL's file holds at most $frames frames of $page bytes"

# The checker itself must be able to fail: claim an acknowledged settle for a
# run that was never sent; check must report it lost.
printf 'A 99 0\nR 99 0 12\nS 99 0 12\n' >"$ACKS/ack.fake.0"
if "$LOAD" --socket "$SOCK" --grants "$GRANTS" --ackdir "$ACKS" check \
	>"$T/fake.out" 2>&1; then
	echo "FAIL: check passed with an acknowledged settle that never happened"
	exit 1
fi
grep -q "lost=1" "$T/fake.out" || { echo "FAIL: check did not count the lost settle: $(cat "$T/fake.out")"; exit 1; }
echo "crash-aissd: $ROUNDS kill -9 rounds under load (and $recovery_kills more during recovery) passed; the checker catches a lost settle"
