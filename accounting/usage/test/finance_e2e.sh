#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# finance_e2e.sh: aissctl usage import / reconcile / report against a real
# aissd on a temporary socket; every figure checked against hand-computed
# values (Hong Kong midnight quarter and year boundaries, a price change, a
# grant window edge, NODE_FAIL, a requeued job, a refused account).
# usage: finance_e2e.sh AISSCTL AISSD   (exit 77 = skipped: not built)
set -uo pipefail

AISSCTL=${1:?usage: finance_e2e.sh AISSCTL AISSD}
AISSD=${2:?usage: finance_e2e.sh AISSCTL AISSD}
for b in "$AISSCTL" "$AISSD"; do
	[ -x "$b" ] || { echo "SKIP: $b not built"; exit 77; }
done

T=$(mktemp -d /tmp/aiss-finance-e2e.XXXXXX)
SOCK=$T/aissd.sock
PID=
FAILS=0
CHECKS=0
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

"$AISSD" --foreground --db "$T/ledger.db" --socket "$SOCK" 2>>"$T/aissd.log" &
PID=$!
for _ in $(seq 1 100); do
	[ -S "$SOCK" ] && break
	sleep 0.1
done
[ -S "$SOCK" ] || { echo "FAIL: aissd did not start"; cat "$T/aissd.log"; exit 1; }

ctl() { "$AISSCTL" --socket "$SOCK" "$@"; }
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }

# run WANT_RC DESCRIPTION -- ARGS...: output in $OUT, stderr in $ERR
run() {
	local want=$1 what=$2; shift 3
	CHECKS=$((CHECKS + 1))
	ctl "$@" >"$T/out" 2>"$T/err"
	local rc=$?
	OUT=$(cat "$T/out"); ERR=$(cat "$T/err")
	if grep -q "Sanitizer\|runtime error:" "$T/err"; then
		fail "$what: sanitizer report"; head -30 "$T/err"; return 1
	fi
	[ "$rc" = "$want" ] || { fail "$what: exit $rc, wanted $want"; \
		echo "$OUT" | head -20; echo "$ERR" | head -20; return 1; }
}
# has DESCRIPTION STRING: $OUT contains STRING
has() {
	CHECKS=$((CHECKS + 1))
	case $OUT in *"$2"*) ;; *) fail "$1: no '$2' in: $(echo "$OUT" | head -c 600)";; esac
}

run 0 setup -- scheme init --commitment 3,000,000,000 --name AISS \
	--start 2024-04-01 --end 2027-04-01 || exit 1
run 0 setup -- institution add "HKU 香港大學" --type university
run 0 setup -- institution add "Startup Ltd" --type enterprise
run 0 setup -- price set h100 100 --from 2024-04-01
run 0 setup -- price set h100 120 --from 2026-01-01
run 0 setup -- grant add GU --institution "HKU 香港大學" --account proj-a \
	--members alice,bob --gpu-types h100 --rate 70% --gpu-hours 100000 \
	--subsidy 1,000,000 --start 2025-04-01 --end 2027-04-01
run 0 setup -- grant add GE --institution "Startup Ltd" --account proj-b \
	--members carol --gpu-types h100 --rate 90% --gpu-hours 100000 \
	--subsidy 500,000 --start 2025-04-01 --end 2025-11-01

H='JobID|JobIDRaw|Cluster|Account|User|Start|End|State|AllocTRES'
cat >"$T/clean.txt" <<EOT
$H
100|100|aisc|proj-a|alice|2025-03-31T23:00:00|2025-04-01T01:00:00|COMPLETED|cpu=8,gres/gpu:h100=1,gres/gpu=1,node=1
101|101|aisc|proj-a|alice|2025-06-30T22:00:00|2025-07-01T02:00:00|COMPLETED|cpu=64,gres/gpu:h100=8,gres/gpu=8,node=1
101.batch|101.batch|aisc|proj-a|alice|2025-06-30T22:00:00|2025-07-01T02:00:00|COMPLETED|cpu=64,gres/gpu=8
102|102|aisc|proj-a|bob|2025-09-30T23:00:00|2025-10-01T00:20:00|COMPLETED|gres/gpu=1
103|103|aisc|proj-a|bob|2026-03-31T23:00:00|2026-04-01T01:00:00|COMPLETED|gres/gpu=1
104|104|aisc|proj-b|carol|2025-10-31T23:00:00|2025-11-01T01:00:00|COMPLETED|gres/gpu=2
105|105|aisc|proj-b|carol|2025-08-01T10:00:00|2025-08-01T12:00:00|NODE_FAIL|gres/gpu=4
777|777|aisc|proj-a|alice|2025-05-01T10:00:00|2025-05-01T11:00:00|REQUEUED|gres/gpu=1
777|777|aisc|proj-a|alice|2025-05-01T12:00:00|2025-05-01T13:00:00|COMPLETED|gres/gpu=1
778|778|aisc|proj-a|alice|2025-05-02T12:00:00|Unknown|RUNNING|gres/gpu=1
EOT
cp "$T/clean.txt" "$T/sacct.txt"
cat >>"$T/sacct.txt" <<EOT
779|779|aisc|proj-x|alice|2025-05-02T12:00:00|2025-05-02T13:00:00|COMPLETED|gres/gpu=1
780|780|aisc|proj-a|alice|2025-05-02T12:00:00|2025-05-02T13:00|COMPLETED|gres/gpu=abc
EOT

# Import: 8 runs charged, job 779's account refused, line 13 bad -> exit 1
run 1 "import" -- --json usage import "$T/sacct.txt"
has import '"imported":8,'
has import '"refused":1,'
has import '"bad":1,'
has import '"running":1,'
has import '"steps":1,'
case $ERR in *"sacct.txt:13: bad row"*) ;; *) fail "bad row not named by line: $ERR";; esac
# Again: nothing charged twice
run 1 "re-import" -- --json usage import "$T/sacct.txt"
has re-import '"imported":0,'
has re-import '"already_charged":8,'

# Reconcile: the refused run has no charge -> exit 1, CSV names it
run 1 "reconcile" -- reconcile "$T/sacct.txt" --csv "$T/exc.csv"
has reconcile "no-charge"
CHECKS=$((CHECKS + 1))
grep -q "^no-charge,aisc,779,2025-05-02T12:00:00+08:00," "$T/exc.csv" ||
	fail "exceptions CSV lacks job 779: $(cat "$T/exc.csv")"
CHECKS=$((CHECKS + 1))
grep -q '^bad-row,,,,,,,,,,,,,,,13,"job 780: AllocTRES' "$T/exc.csv" ||
	fail "exceptions CSV lacks the bad row: $(cat "$T/exc.csv")"
run 0 "reconcile clean" -- --json reconcile "$T/clean.txt"
has "reconcile clean" '"matched":8'
has "reconcile clean" '"exceptions":0'

# The report, by hand (cents; price HK$100/GPU-h, HK$120 from 2026-01-01):
#  job 100: 1 GPU 2 h over 1 April HKT, window opens at midnight: list
#    20000, subsidy 7000 -> 3500 in 2024-25 Q4 and 3500 in 2025-26 Q1
#  job 101: 8 GPUs 4 h over 1 July HKT: subsidy 224000, 112000 Q1 + Q2
#  job 777: two runs of 1 GPU-h: 7000 each, Q1
#  job 102: 80 min over 1 October: list 13333, subsidy 9333 -> Q2 7000,
#    Q3 2333
#  job 104: 2 GPUs 2 h, window closes 1 November 00:00: in-window list
#    20000 at 90% -> 18000, Q3
#  job 105: NODE_FAIL: 0
#  job 103: 2 GPU-h at the new price: subsidy 16800 -> 8400 in Q4 and
#    8400 in 2026-27
#  Q1 129500, Q2 119000, Q3 20333, Q4 8400; year 277233; cumulative 3500
run 0 "report json" -- --json report fy 2025-26
has report '"cumulative_before_cents":3500,'
has report '"fy_expenditure_cents":277233,'
has report '"balance_cents":299999719267,'
has report '{"quarter":"Q1","expenditure_cents":129500,'
has report '{"quarter":"Q2","expenditure_cents":119000,'
has report '{"quarter":"Q3","expenditure_cents":20333,'
has report '{"quarter":"Q4","expenditure_cents":8400,'
run 0 "report Q3" -- report fy 2025-26 --quarter Q3 --by institution-type
has "report Q3" "203.33"
has "report Q3" "180.00"
run 0 "report csv" -- report fy 2025-26 --csv --by grant
has "report csv" "summary,balance,結餘 Balance,2999997192.67"
run 0 "report html" -- report fy 2025-26 --html "$T/r.html"
CHECKS=$((CHECKS + 1))
grep -q 'data-cents="277233">2,772.33' "$T/r.html" || fail "HTML lacks the year's expenditure"
run 2 "bad quarter" -- report fy 2025-26 --quarter Q5

# The published figure (Head 47 item 805), through the real ledger: a
# fresh ledger, one grant at 50%, HK$1,000 per GPU-hour, one run of 1,000
# GPUs for 1,810 hours in 2024-25 = HK$905,000,000.00 of subsidy.
kill "$PID"; wait "$PID" 2>/dev/null
"$AISSD" --foreground --db "$T/ledger2.db" --socket "$SOCK" 2>>"$T/aissd.log" &
PID=$!
for _ in $(seq 1 100); do
	[ -S "$SOCK" ] && ctl scheme show >/dev/null 2>&1 && break
	sleep 0.1
done
run 0 setup2 -- scheme init --commitment 3,000,000,000 --name AISS \
	--start 2024-04-01 --end 2027-04-01 || exit 1
run 0 setup2 -- institution add "HKUST 香港科技大學" --type university
run 0 setup2 -- price set h800 1000 --from 2024-04-01
run 0 setup2 -- grant add BIG --institution "HKUST 香港科技大學" \
	--account big --members dana --gpu-types h800 --rate 50% \
	--gpu-hours 2,000,000 --subsidy 1,000,000,000 --start 2024-04-01 \
	--end 2027-04-01
cat >"$T/big.txt" <<EOT
$H
9|9|aisc|big|dana|2024-12-01T00:00:00|2025-02-14T10:00:00|COMPLETED|gres/gpu:h800=1000,node=125
EOT
run 0 "import 905m" -- --json usage import "$T/big.txt"
has "import 905m" '"imported":1,'
run 0 "report 905m" -- --json report fy 2025-26
has "report 905m" '"cumulative_before_cents":90500000000,'
has "report 905m" '"fy_expenditure_cents":0,'
has "report 905m" '"balance_cents":209500000000,'
run 0 "report 905m table" -- report fy 2025-26
has "report 905m table" "905,000,000.00"
has "report 905m table" "2,095,000,000.00"
run 0 "report 2024-25" -- --json report fy 2024-25
has "report 2024-25" '"fy_expenditure_cents":90500000000,'
has "report 2024-25" '"balance_cents":209500000000,'

echo "finance_e2e: $CHECKS checks, $FAILS failed"
[ "$FAILS" = 0 ]
