#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# import_bench.sh: runs/s of `aissctl usage import` against a real aissd on
# a temporary ledger, for each --window given (1 = one settle at a time,
# the baseline, measured in the same run). A benchmark, not a test.
# usage: import_bench.sh BUILD_DIR [RUNS=20000] [WINDOW...]
#   e.g. import_bench.sh build 20000 1 64
# A WINDOW of "-" passes no --window (an aissctl from before the option);
# $AISSCTL overrides BUILD_DIR's aissctl.
set -euo pipefail

B=${1:?usage: import_bench.sh BUILD_DIR [RUNS] [WINDOW...]}
N=${2:-20000}
shift $(($# >= 2 ? 2 : 1))
WINDOWS=("$@")
[ ${#WINDOWS[@]} -gt 0 ] || WINDOWS=(1 64)
CTL=${AISSCTL:-$B/quota/aissctl/aissctl}
AISSD=$B/quota/aissd/aissd
GEN=$B/tests/bench/finance/bench_finance
for x in "$CTL" "$AISSD" "$GEN"; do
	[ -x "$x" ] || { echo "not built: $x" >&2; exit 2; }
done

T=$(mktemp -d /tmp/aiss-import-bench.XXXXXX)
PID=
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

"$GEN" "$N" "$T" >/dev/null
echo "generated $(($(wc -l <"$T/sacct.txt") - 1)) sacct rows ($N runs)"

# One fresh ledger per window: 1,000 grants acct0..acct999 (bench_finance's
# accounts), price h100 HK$30/GPU-hour.
setup_ledger() {
	local db=$1 sock=$2
	"$AISSD" --foreground --db "$db" --socket "$sock" 2>>"$T/aissd.log" &
	PID=$!
	for _ in $(seq 1 100); do
		[ -S "$sock" ] && break
		sleep 0.1
	done
	local c=("$CTL" --socket "$sock")
	"${c[@]}" scheme init --commitment 3,000,000,000 --start 2024-04-01 \
		--end 2027-04-01 >/dev/null
	"${c[@]}" institution add Bench --type university >/dev/null
	"${c[@]}" price set h100 30 --from 2024-01-01 >/dev/null
	for i in $(seq 0 999); do
		"${c[@]}" grant add "AISS-$i" --institution Bench \
			--account "acct$i" --members "user$i" --gpu-types h100 \
			--gpu-hours 0 --subsidy 1,000,000 --start 2024-04-01 \
			--end 2027-04-01 >/dev/null
	done
}

for w in "${WINDOWS[@]}"; do
	setup_ledger "$T/ledger-$w.db" "$T/s-$w"
	t0=$(date +%s.%N)
	rc=0
	wopt=(--window "$w")
	[ "$w" != - ] || wopt=()
	"$CTL" --socket "$T/s-$w" --json usage import "$T/sacct.txt" \
		"${wopt[@]}" --progress 0 >"$T/out-$w" 2>"$T/err-$w" || rc=$?
	t1=$(date +%s.%N)
	imported=$(sed -n 's/.*"imported":\([0-9]*\).*/\1/p' "$T/out-$w")
	"$CTL" --socket "$T/s-$w" journal verify >/dev/null
	# what was charged, to compare between windows
	charged=$("$CTL" --socket "$T/s-$w" --json scheme show |
		sed -n 's/.*"charged_cents":\([0-9-]*\).*/\1/p')
	sum=$("$CTL" --socket "$T/s-$w" --json charges |
		jq -c 'map(del(.settled_at, .settled_at_hkt, .journal_seq))' |
		md5sum | cut -c1-12)
	kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
	awk -v w="$w" -v n="$imported" -v a="$t0" -v b="$t1" -v rc="$rc" \
		-v c="$charged" -v h="$sum" \
		'BEGIN { printf "window %3s: %d runs imported in %.2f s = %.0f runs/s (exit %d; charged %s cents, charges md5 %s)\n", w, n, b - a, n / (b - a), rc, c, h }'
done
