# SPDX-License-Identifier: GPL-2.0-or-later
# e2e_lib.sh: the harness the aissctl end-to-end scripts share (sourced).
# The sourcing script calls e2e_init NAME "$@" first, and sets AISSD_ARGS
# (extra aissd arguments, e.g. --config FILE) when it needs them.

# e2e_init NAME AISSCTL AISSD: takes the script's arguments, skips (exit 77)
# when aissd is not built or jq is missing, and makes a temporary folder T
# (SOCK and DB in it), removed on exit with aissd stopped.
e2e_init() {
	local name=$1
	AISSCTL=${2:?usage: $name.sh AISSCTL AISSD}
	AISSD=${3:?usage: $name.sh AISSCTL AISSD}
	if [ ! -x "$AISSD" ]; then
		echo "SKIP: aissd not built at $AISSD"
		exit 77
	fi
	command -v jq >/dev/null || { echo "SKIP: jq not installed"; exit 77; }
	T=$(mktemp -d "/tmp/aissctl-$name.XXXXXX")
	SOCK=$T/aissd.sock
	DB=$T/ledger.db
	PID=
	FAILS=0
	CHECKS=0
	trap e2e_cleanup EXIT
}
e2e_cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	rm -rf "$T"
}

start_aissd() {
	"$AISSD" --foreground --db "$DB" --socket "$SOCK" ${AISSD_ARGS[@]+"${AISSD_ARGS[@]}"} \
		2>>"$T/aissd.log" &
	PID=$!
	for _ in $(seq 1 100); do
		[ -S "$SOCK" ] && return 0
		sleep 0.1
	done
	echo "FAIL: aissd did not create $SOCK"; cat "$T/aissd.log"; exit 1
}
stop_aissd() {
	kill "$PID"; wait "$PID" 2>/dev/null; PID=
}

ctl() { "$AISSCTL" --socket "$SOCK" "$@"; }

fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }

# expect RC DESCRIPTION -- COMMAND...: runs aissctl, checks the exit status;
# output lands in $OUT, stderr in $ERR.
expect() {
	local want=$1 what=$2; shift 3
	CHECKS=$((CHECKS + 1))
	ctl "$@" >"$T/out" 2>"$T/err"
	local rc=$?
	OUT=$(cat "$T/out"); ERR=$(cat "$T/err")
	# Under ASan/UBSan a report must fail the test whatever the status.
	if grep -q "Sanitizer\|runtime error:" "$T/err"; then
		fail "$what: sanitizer report: aissctl $*"
		head -30 "$T/err"
		return 1
	fi
	if [ "$rc" != "$want" ]; then
		fail "$what: exit $rc, wanted $want: aissctl $*"
		sed 's/^/    out: /' "$T/out" | head -20
		sed 's/^/    err: /' "$T/err" | head -20
		return 1
	fi
	return 0
}

# jqt DESCRIPTION FILTER: the filter over $OUT must yield true.
jqt() {
	CHECKS=$((CHECKS + 1))
	if ! printf '%s' "$OUT" | jq -e "$2" >/dev/null 2>"$T/jqerr"; then
		fail "$1: jq '$2' on: $(printf '%s' "$OUT" | head -c 600) $(cat "$T/jqerr")"
	fi
}

# has DESCRIPTION TEXT: $OUT or $ERR contains TEXT.
has() {
	CHECKS=$((CHECKS + 1))
	case "$OUT$ERR" in
	*"$2"*) ;;
	*) fail "$1: no '$2' in: $OUT $ERR" ;;
	esac
}
