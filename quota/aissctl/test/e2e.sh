#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# e2e.sh: aissctl end to end against a real aissd on a temporary socket:
# scheme, grants, prices, quotes, reserve/settle/release idempotency, balance
# math, adjustments, journal verify, exit statuses and --json.
# usage: e2e.sh AISSCTL AISSD
set -uo pipefail

. "$(dirname "$0")/e2e_lib.sh"
e2e_init e2e "$@"

G=AISS-2025-0001
SHAPE=(--account hku-ml --user alice)
# Quotes say when the job would start, so the test does not depend on today.
QS=(--start "2026-06-10 09:00")

# ---- exit 3: nobody listening; exit 2: bad usage (no daemon needed) ----
expect 3 "unreachable" -- scheme show
has "unreachable names the socket" "$SOCK"
has "unreachable says how to start" "aissd --db"
AISS_SOCKET=$SOCK "$AISSCTL" balance >/dev/null 2>&1
[ $? = 3 ] || fail "AISS_SOCKET is not used"
expect 2 "no command" --
expect 2 "bad timeout" -- --timeout soon balance
expect 0 "help" -- --help
has "help lists commands" "journal verify"
expect 2 "unknown command" -- frobnicate
expect 2 "unknown option" -- grant list --bogus
expect 2 "missing --institution" -- grant add X --account a
has "usage line" "usage: aissctl grant add"
expect 2 "bad time limit" -- quote "${SHAPE[@]}" --gpus 8 --time 4h "${QS[@]}"
has "time limit fix" "H:MM:SS"
expect 2 "bad amount" -- adjust $G 12.345 --reason x
expect 2 "adjust without reason" -- adjust $G 10.00
expect 2 "bad instant" -- price set h100 30 --from yesterday

start_aissd

# ---- scheme, earmarks, institutions ----
expect 0 "scheme init" -- scheme init --commitment 3,000,000,000.00 \
	--name "AI Subsidy Scheme" --start 2024-12-01 --end 2027-12-01
expect 0 "scheme show json" -- scheme show --json
jqt "commitment cents" '.commitment_cents == 300000000000'
jqt "commitment text" '.commitment == "3,000,000,000.00"'
expect 0 "earmark" -- earmark set "Reserve for expansion" 1,000,000,000.00
expect 0 "scheme show" -- scheme show
has "grouped amounts" "3,000,000,000.00"
has "earmark listed" "Reserve for expansion"
expect 0 "institution add" -- institution add "University of Hong Kong" --type university
expect 0 "institution add 2" -- institution add "HK Generative AI R&D Centre" --type rd-centre
expect 2 "bad institution type" -- institution add X --type pirate
expect 0 "institution list json" -- institution list --json
jqt "two institutions" 'length == 2 and (map(.type) | sort) == ["rd-centre","university"]'

# ---- prices ----
expect 0 "price h100" -- price set h100 30.00 --from 2025-01-01
expect 0 "price h800" -- price set h800 25.00 --from 2025-01-01
expect 0 "price list json" -- --json price list
jqt "prices" 'map(select(.gpu_type=="h100"))[0].per_gpu_hour_cents == 3000'

# ---- grants ----
expect 0 "grant add" -- grant add $G --institution "University of Hong Kong" \
	--account hku-ml --members alice,bob --gpu-types h100 --rate 70% \
	--gpu-hours 1000 --subsidy 1,000.00 --start 2025-04-01 --end 2027-04-01 \
	--max-gpus 16
expect 0 "grant show json" -- grant show $G --json
jqt "grant terms" '.rate_bp == 7000 and .approved_subsidy_cents == 100000 and .approved_gpu_seconds == 3600000 and .max_concurrent_gpus == 16 and .state == "active"'
jqt "grant balance in show" '.balance.remaining_cents == 100000'
CHECKS=$((CHECKS + 1))
ctl grant add AISS-BAD-95 --institution "University of Hong Kong" --account x \
	--gpu-types h100 --rate 95% --gpu-hours 1 --subsidy 1.00 \
	--start 2025-04-01 --end 2026-04-01 >"$T/out" 2>"$T/err"
rc=$?
[ $rc = 1 ] || [ $rc = 2 ] || fail "95% rate: exit $rc"
grep -q "9000\|90%\|90.00%" "$T/err" || fail "95% rate message: $(cat "$T/err")"
expect 1 "grant over commitment" -- grant add AISS-BIG --institution "University of Hong Kong" \
	--account big --gpu-types h100 --gpu-hours 1 --subsidy 2,000,000,000.00 \
	--start 2025-04-01 --end 2026-04-01
has "commitment refusal" "refused (commitment)"
expect 0 "grant list json" -- grant list --json
jqt "one grant" 'length == 1 and .[0].id == "'$G'"'
expect 0 "grant list" -- grant list
has "table header" "SUBSIDY (HK$)"

# ---- quotes ----
expect 0 "quote admitted" -- quote "${SHAPE[@]}" --gpus 8 --time 4:00:00 --json "${QS[@]}"
jqt "quote numbers" '.admitted and .worst.list_cost_cents == 96000 and .worst.subsidy_cents == 67200 and .worst.copay_cents == 28800 and .grant == "'$G'"'
expect 0 "quote human" -- quote "${SHAPE[@]}" --gpus 8 --time 240 "${QS[@]}"
has "quote verdict" "admitted"
has "quote list cost" "960.00"
expect 1 "quote refused" -- quote "${SHAPE[@]}" --gpus 8 --time 8:00:00 --json "${QS[@]}"
jqt "refusal and fits" '(.admitted | not) and .verdict == "insufficient" and .fit_time_limit == 21420 and .fit_gpus == 5'
expect 1 "quote refused human" -- quote "${SHAPE[@]}" --gpus 8 --time 8:00:00 "${QS[@]}"
has "fit suggestion" "--time 05:57:00"
has "fit gpus" "--gpus 5"
expect 1 "not a member" -- quote --account hku-ml --user mallory --gpus 1 --time 60 "${QS[@]}"
expect 1 "unknown account" -- quote --account nobody --user alice --gpus 1 --time 60 "${QS[@]}"
expect 1 "gpu type not approved" -- quote "${SHAPE[@]}" --gpu-type h800 --gpus 1 --time 60 "${QS[@]}"
expect 1 "over max gpus" -- quote "${SHAPE[@]}" --gpus 32 --time 10 "${QS[@]}"
expect 1 "outside window" -- quote "${SHAPE[@]}" --gpus 1 --time 60 --start 2025-03-31
expect 0 "inside window edge" -- quote "${SHAPE[@]}" --gpus 1 --time 60 --start 2025-04-01

# ---- reserve / settle / release ----
K1=(--cluster aisc --job 101 --start "2026-06-01 10:00")
expect 0 "reserve" -- reserve "${K1[@]}" "${SHAPE[@]}" --gpus 8 --time 1:00:00 --json
jqt "lien" '.held_subsidy_cents == 16800 and .state == "held" and .grant == "'$G'"'
expect 0 "reserve again (idempotent)" -- reserve "${K1[@]}" "${SHAPE[@]}" --gpus 8 --time 1:00:00 --json
jqt "same lien" '.held_subsidy_cents == 16800'
expect 0 "balance with lien" -- balance $G --json
jqt "held" '.held_subsidy_cents == 16800 and .liens == 1 and .remaining_cents == 83200 and .held_gpus == 8'
CHECKS=$((CHECKS + 1))
ctl reserve "${K1[@]}" "${SHAPE[@]}" --gpus 4 --time 1:00:00 >/dev/null 2>"$T/err" \
	&& fail "reserve of the same run with another shape succeeded"
expect 0 "settle" -- settle "${K1[@]}" --end "2026-06-01 10:30" --gpus 8 --json
jqt "charge" '.list_cost_cents == 12000 and .subsidy_cents == 8400 and .copay_cents == 3600 and .gpu_seconds == 14400'
expect 0 "settle again (idempotent)" -- settle "${K1[@]}" --end "2026-06-01 11:00" --gpus 8 --json
jqt "first answer" '.subsidy_cents == 8400 and .list_cost_cents == 12000'
expect 0 "balance after settle" -- balance $G --json
jqt "charged once" '.charged_subsidy_cents == 8400 and .held_subsidy_cents == 0 and .runs == 1 and .liens == 0 and .remaining_cents == 91600 and .copay_cents == 3600'

K2=(--cluster aisc --job 102 --start "2026-06-02 10:00")
expect 0 "reserve 102" -- reserve "${K2[@]}" "${SHAPE[@]}" --gpus 2 --time 2:00:00
has "human lien" "holds HK\$84.00"
expect 0 "release" -- release "${K2[@]}"
expect 0 "release again (idempotent)" -- release "${K2[@]}"
expect 0 "balance after release" -- balance $G --json
jqt "released" '.held_subsidy_cents == 0 and .liens == 0 and .runs == 1'
CHECKS=$((CHECKS + 1))
ctl release --cluster aisc --job 999 --start "2026-06-02 10:00" >/dev/null 2>&1 \
	&& fail "release of an unknown run succeeded"

K3=(--cluster aisc --job 103 --start "2026-06-03 10:00")
expect 0 "reserve 103" -- reserve "${K3[@]}" "${SHAPE[@]}" --gpus 8 --time 1:00:00
expect 0 "settle NODE_FAIL" -- settle "${K3[@]}" --end "2026-06-03 10:20" --gpus 8 --state NODE_FAIL --json
jqt "node fail zero" '.subsidy_cents == 0 and .list_cost_cents == 0 and .end_state == "NODE_FAIL"'

# usage import: a settle with no lien, found by account
K4=(--cluster aisc --job 104 --start "2026-06-04 10:00")
expect 0 "settle without lien" -- settle "${K4[@]}" --end "2026-06-04 11:00" --gpus 1 "${SHAPE[@]}" --gpu-type h100 --json
jqt "import charge" '.subsidy_cents == 2100 and .grant == "'$G'"'

# ---- adjustments and balance math ----
expect 0 "adjust debit" -- adjust $G -50.00 --reason "over-credited correction"
has "debited" "debited HK\$50.00"
expect 0 "adjust credit" -- adjust $G 100.00 --reason "goodwill credit" --json
jqt "adjust json" '.amount_cents == 10000 and .reason == "goodwill credit"'
expect 0 "balance math" -- balance $G --json
jqt "remaining = approved - charged - held + adjustments" \
	'.adjustments_cents == 5000 and .charged_subsidy_cents == 10500 and .remaining_cents == (.approved_subsidy_cents - .charged_subsidy_cents - .held_subsidy_cents + .adjustments_cents) and .remaining_cents == 94500'
expect 0 "balance table" -- balance
has "balance row" "$G"
has "balance grouped" "1,000.00"

# ---- suspend / resume / top-up ----
expect 2 "suspend without reason" -- grant suspend $G
expect 0 "suspend" -- grant suspend $G --reason "progress report overdue"
expect 1 "quote while suspended" -- quote "${SHAPE[@]}" --gpus 1 --time 60 "${QS[@]}"
has "inactive names grant" "$G"
expect 1 "reserve while suspended" -- reserve --cluster aisc --job 105 --start "2026-06-05 10:00" "${SHAPE[@]}" --gpus 1 --time 60
expect 0 "resume" -- grant resume $G
expect 0 "quote after resume" -- quote "${SHAPE[@]}" --gpus 1 --time 60 "${QS[@]}"
expect 0 "top-up" -- grant modify $G --subsidy 2,000.00
has "top-up said" "topped up"
expect 0 "after top-up" -- quote "${SHAPE[@]}" --gpus 8 --time 8:00:00 --json "${QS[@]}"
jqt "now admitted" '.admitted'
expect 0 "balance after top-up" -- balance $G --json
jqt "approved raised" '.approved_subsidy_cents == 200000 and .remaining_cents == 194500'

# ---- job arrays: each element's worst case counts ----
expect 1 "array too big" -- quote "${SHAPE[@]}" --gpus 1 --time 1:00:00 --array 100 --json "${QS[@]}"
jqt "array fit" '.count == 100 and .worst.subsidy_cents == 2100 and .worst_subsidy_total_cents == 210000 and .fit_count == 92'
expect 1 "array human" -- quote "${SHAPE[@]}" --gpus 1 --time 1:00:00 --array 100 "${QS[@]}"
has "array suggestion" "--array 92"
expect 0 "array fits" -- quote "${SHAPE[@]}" --gpus 1 --time 1:00:00 --array 92 "${QS[@]}"

# ---- every read command's --json parses ----
for cmd in "scheme show" "earmark list" "institution list" "grant list" \
	"grant show $G" "price list" "balance" "balance $G" "statement $G" \
	"charges" "journal verify" "capacity"; do
	# shellcheck disable=SC2086
	expect 0 "json of $cmd" -- $cmd --json
	jqt "json of $cmd parses" 'type == "object" or type == "array"'
done
expect 0 "earmark list" -- earmark list --json
jqt "earmark json" '.[0].amount_cents == 100000000000 and .[0].name == "Reserve for expansion"'

# ---- statement, charges, journal, capacity ----
expect 0 "statement json" -- statement $G --json
jqt "statement" '(.entries | length) >= 8 and .balance.grant == "'$G'" and (.entries | map(.hash | length == 64) | all)'
expect 0 "statement human" -- statement $G
has "statement equation" "= remaining HK\$1,945.00"
expect 0 "charges json" -- charges --json
jqt "three charges" 'length == 3 and (map(.job_id) | sort) == [101,103,104]'
expect 0 "journal verify" -- journal verify --json
jqt "chain ok" '.ok and .entries > 10'
expect 0 "capacity empty" -- capacity --json
jqt "capacity target" '.target_pflops == 3000 and (.nodes | type) == "array"'
expect 2 "capacity record without verdict" -- capacity record hgx001 --gpus 8 --bf16-gflops 7000000
expect 0 "capacity record pass" -- capacity record hgx001 --gpus 8 --bf16-gflops 7200000 --pass --summary "8/8 GPUs within floor"
expect 0 "capacity record fail" -- capacity record hgx002 --gpus 8 --bf16-gflops 3100000 --fail --summary "GPU 3 at 41% of floor"
expect 0 "capacity" -- capacity --json
jqt "capacity sums passing nodes" '.nodes_checked == 2 and .nodes_passed == 1 and .measured_bf16_gflops == 7200000 and .measured_pflops_tenths == 72 and .gpus_passed == 8'
expect 0 "capacity human" -- capacity
has "capacity line" "measured 7.20 PFLOPS"
has "capacity target" "3000 PFLOPS"

# ---- finance commands dispatched to the finance part (when built in) ----
if "$AISSCTL" --help | grep -q "^  report fy"; then
	expect 0 "report fy json" -- report fy 2026-27 --json
	jqt "report parseable" 'type == "object"'
	expect 2 "report bad usage" -- report fy not-a-year
fi

# ---- roles: an ordinary user sees only its grants and may not administer ----
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1 && command -v runuser >/dev/null &&
	runuser -u nobody -- test -x "$AISSCTL"; then
	chmod 755 "$T"
	CHECKS=$((CHECKS + 1))
	runuser -u nobody -- "$AISSCTL" --socket "$SOCK" --json balance >"$T/out" 2>"$T/err"
	rc=$?
	if [ $rc = 0 ]; then
		OUT=$(cat "$T/out")
		jqt "nobody sees no grant" 'length == 0'
	elif [ $rc != 1 ]; then
		fail "balance as nobody: exit $rc: $(cat "$T/err")"
	fi
	CHECKS=$((CHECKS + 1))
	runuser -u nobody -- "$AISSCTL" --socket "$SOCK" grant suspend $G --reason x \
		>"$T/out" 2>"$T/err"
	rc=$?
	[ $rc = 1 ] || fail "grant suspend as nobody: exit $rc, wanted 1 (permission)"
	grep -q "permission" "$T/err" || fail "no permission refusal: $(cat "$T/err")"
	chmod 700 "$T"
fi

# ---- scheme init with the default window (three years from 2024-12-01 HKT) ----
expect 0 "scheme init default window" -- scheme init --commitment 3000000000.00
expect 0 "scheme show json" -- scheme show --json
jqt "default window" '.start == 1732982400 and .end == 1827590400 and .approved_cents == 200000 and .earmarked_cents == 100000000000'
jqt "scheme totals (expenditure net of adjustments)" '.charged_cents == 5500 and .held_cents == 0 and .balance_cents == 300000000000 - 5500'

# ---- durability across a restart ----
stop_aissd
start_aissd
expect 0 "balance after restart" -- balance $G --json
jqt "same balance" '.remaining_cents == 194500 and .runs == 3'
expect 0 "settle after restart (idempotent)" -- settle "${K1[@]}" --end "2026-06-01 10:30" --gpus 8 --json
jqt "still first answer" '.subsidy_cents == 8400'
expect 0 "journal verify after restart" -- journal verify

# ---- the daemon itself, for operators ----
expect 0 "server status" -- server status --json
jqt "server status" '.writes_ok and .writes_error == "" and .requests >= 3 and .group_commits >= 1 and .connections >= 1 and .protocol_errors == 0 and (.ledger | endswith(".db")) and .uptime_s >= 0'
expect 0 "server status human" -- server status
has "server status says changes are accepted" "changes      accepted"
expect 2 "server status takes no argument" -- server status now

# ---- closing: no new jobs, but runs that happened are still charged ----
expect 0 "close" -- grant close $G
expect 1 "reserve on a closed grant" -- reserve --cluster aisc --job 106 --start "2026-06-06 10:00" "${SHAPE[@]}" --gpus 1 --time 60
has "closed refusal names grant" "$G"
expect 0 "import settle on a closed grant" -- settle --cluster aisc --job 107 --start "2026-06-07 10:00" --end "2026-06-07 11:00" --gpus 1 "${SHAPE[@]}" --gpu-type h100 --json
jqt "charged though closed" '.subsidy_cents == 2100'
expect 0 "grant show closed" -- grant show $G --json
jqt "closed state" '.state == "closed" and .balance.runs == 4'

echo "aissctl e2e: $CHECKS checks, $FAILS failed"
[ "$FAILS" = 0 ]
