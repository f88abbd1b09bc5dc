#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# e2e_lien.sh: aissctl lien list / lien expire against a real aissd: stale
# detection, roles, dry runs, expiry journalled, a late settle charged once,
# and aiss.conf's lien_expire sweep after a restart.
# usage: e2e_lien.sh AISSCTL AISSD
set -uo pipefail

. "$(dirname "$0")/e2e_lib.sh"
e2e_init lien "$@"
CONF=$T/aiss.conf

FIN_USER=
if [ "$(id -u)" = 0 ] && id daemon >/dev/null 2>&1; then
	FIN_USER=daemon
fi
: >"$CONF"
[ -n "$FIN_USER" ] && echo "finance_users = $FIN_USER" >>"$CONF"

AISSD_ARGS=(--config "$CONF")

# as USER RC DESCRIPTION -- COMMAND...: the same, run as another user.
as() {
	local user=$1 want=$2 what=$3; shift 4
	CHECKS=$((CHECKS + 1))
	runuser -u "$user" -- "$AISSCTL" --socket "$SOCK" "$@" >"$T/out" 2>"$T/err"
	local rc=$?
	OUT=$(cat "$T/out"); ERR=$(cat "$T/err")
	[ "$rc" = "$want" ] || fail "$what: exit $rc, wanted $want: $ERR"
}

G1=AISS-2025-0001
G2=AISS-2025-0002
NOW=$(date +%s)

# ---- usage errors need no daemon ----
expect 2 "lien list: two grants" -- lien list $G1 $G2
expect 2 "lien expire: unknown option" -- lien expire --force
has "usage line" "usage: aissctl lien expire"
expect 3 "unreachable" -- lien list

start_aissd
expect 0 "scheme" -- scheme init --commitment 3,000,000,000.00
expect 0 "institution" -- institution add HKU --type university
expect 0 "price" -- price set h100 30.00 --from 2025-01-01
expect 0 "grant 1" -- grant add $G1 --institution HKU --account hku-ml \
	--members alice --gpu-types h100 --gpu-hours 1000 --subsidy 10,000.00 \
	--start 2025-04-01 --end 2028-04-01
expect 0 "grant 2" -- grant add $G2 --institution HKU --account hku-cv \
	--members nobody --gpu-types h100 --gpu-hours 1000 --subsidy 10,000.00 \
	--start 2025-04-01 --end 2028-04-01
expect 0 "no liens yet" -- lien list
has "empty" "no open liens"

# A run that started long ago (its settle was lost), one running now, and
# one of the other grant that started an hour and a half ago for an hour.
OLD=(--cluster aisc --job 501 --start "2026-06-01 10:00")
expect 0 "reserve old" -- reserve "${OLD[@]}" --account hku-ml --user alice --gpus 8 --time 1:00:00
expect 0 "reserve running" -- reserve --cluster aisc --job 502 --start "@$NOW" \
	--account hku-ml --user alice --gpus 2 --time 10:00:00
expect 0 "reserve g2" -- reserve --cluster aisc --job 503 --start "@$((NOW - 5400))" \
	--account hku-cv --user nobody --gpus 1 --time 1:00:00
expect 0 "balance with liens" -- balance $G1 --json
jqt "held" '.held_subsidy_cents == 16800 + 42000 and .liens == 2'

# ---- listing ----
expect 0 "lien list" -- lien list --json
jqt "three open" 'length == 3 and (map(.job_id) == [501, 503, 502])'
jqt "old is stale" '.[0].stale and .[0].held_subsidy_cents == 16800 and .[0].grant == "'$G1'" and .[0].user == "alice" and .[0].account == "hku-ml" and .[0].gpus == 8 and .[0].time_limit == 3600'
jqt "g2 within grace" '(.[1].stale | not) and .[1].stale_at == '$((NOW - 5400 + 3600 + 3600))
jqt "running not stale" '(.[2].stale | not) and .[2].age >= 0'
expect 0 "lien list --stale" -- lien list --stale --json
jqt "one stale" 'length == 1 and .[0].job_id == 501'
expect 0 "lien list grant" -- lien list $G2 --json
jqt "grant filter" 'length == 1 and .[0].job_id == 503'
expect 0 "lien list table" -- lien list
has "table header" "HELD (HK\$)"
has "stale marked" "STALE"
has "summary" "3 open liens hold HK\$609.00; 1 stale (HK\$168.00)"
has "release hint" "aissctl lien expire"
expect 1 "unknown grant" -- lien list AISS-NOPE
has "names the fix" "aissctl grant list"

# ---- roles ----
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1 && command -v runuser >/dev/null &&
	runuser -u nobody -- test -x "$AISSCTL"; then
	chmod 755 "$T"
	as nobody 0 "user sees own grant's liens" -- --json lien list
	jqt "only G2" 'length == 1 and .[0].grant == "'$G2'"'
	as nobody 1 "user may not list another grant" -- lien list $G1
	case "$ERR" in *"not a member"*) ;; *) fail "no member refusal: $ERR" ;; esac
	as nobody 1 "user may not expire" -- lien expire --dry-run
	case "$ERR" in *"administrator"*) ;; *) fail "no admin refusal: $ERR" ;; esac
	if [ -n "$FIN_USER" ]; then
		as "$FIN_USER" 0 "finance sees all" -- --json lien list
		jqt "three" 'length == 3'
		as "$FIN_USER" 1 "finance may not expire" -- lien expire
	fi
	chmod 700 "$T"
fi

# ---- expiry ----
expect 0 "dry run" -- lien expire --dry-run
has "would" "would release 1 stale liens, HK\$168.00"
expect 0 "dry run changed nothing" -- lien list --stale --json
jqt "still stale" 'length == 1'
expect 0 "expire" -- lien expire --json
jqt "expired one" 'length == 1 and .[0].job_id == 501 and .[0].state == "expired"'
expect 0 "expire again" -- lien expire
has "nothing left" "no stale liens"
expect 0 "balance after expiry" -- balance $G1 --json
jqt "hold released" '.held_subsidy_cents == 42000 and .liens == 1 and .charged_subsidy_cents == 0'
expect 0 "statement" -- statement $G1 --json
jqt "journalled" '.entries | map(select(.kind == "lien.expire")) | length == 1 and .[0].amount_cents == 16800'
expect 0 "release after expiry changes nothing" -- release "${OLD[@]}"
expect 0 "reserve repeat shows expired" -- reserve "${OLD[@]}" --account hku-ml --user alice --gpus 8 --time 1:00:00 --json
jqt "state expired" '.state == "expired"'

# ---- the late settle: charged once per policy ----
expect 0 "late settle" -- settle "${OLD[@]}" --end "2026-06-01 10:30" --gpus 8 --json
jqt "charged" '.list_cost_cents == 12000 and .subsidy_cents == 8400 and .copay_cents == 3600'
expect 0 "late settle again" -- settle "${OLD[@]}" --end "2026-06-01 10:59" --gpus 8 --json
jqt "first answer" '.subsidy_cents == 8400 and .list_cost_cents == 12000'
expect 0 "balance after late settle" -- balance $G1 --json
jqt "once" '.charged_subsidy_cents == 8400 and .runs == 1 and .held_subsidy_cents == 42000 and .remaining_cents == 1000000 - 8400 - 42000'
expect 0 "journal verify" -- journal verify --json
jqt "chain ok" '.ok'

# ---- aiss.conf: lien_expire = on with lien_grace = 0 sweeps at start ----
stop_aissd
printf 'lien_expire = on\nlien_grace = 0\n' >>"$CONF"
start_aissd
CHECKS=$((CHECKS + 1))
gone=
for _ in $(seq 1 100); do
	if [ "$(ctl lien list --json | jq length)" = 1 ]; then gone=1; break; fi
	sleep 0.1
done
[ -n "$gone" ] || fail "the sweep did not expire job 503: $(ctl lien list)"
expect 0 "after the sweep" -- lien list --json
jqt "only the running job" 'length == 1 and .[0].job_id == 502'
CHECKS=$((CHECKS + 1))
grep -q "expired stale lien of run aisc/503@" "$T/aissd.log" ||
	fail "no log line for the sweep: $(cat "$T/aissd.log")"
expect 0 "statement g2" -- statement $G2 --json
jqt "journalled by aissd" '.entries | map(select(.kind == "lien.expire" and .actor == "aissd")) | length == 1'
expect 0 "journal verify after restart" -- journal verify
stop_aissd
echo "lien_grace = 5x" >>"$CONF"
CHECKS=$((CHECKS + 1))
"$AISSD" --foreground --db "$DB" --socket "$SOCK" --config "$CONF" 2>"$T/err2"
rc=$?
[ $rc != 0 ] || fail "aissd started with lien_grace = 5x"
grep -q "lien_grace" "$T/err2" || fail "bad lien_grace not named: $(cat "$T/err2")"

echo "aissctl lien e2e: $CHECKS checks, $FAILS failed"
[ "$FAILS" = 0 ]
