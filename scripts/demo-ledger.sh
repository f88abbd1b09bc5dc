#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# demo-ledger.sh: the quota service's lifecycle through aissctl against a
# throwaway aissd on SQLite in a temporary directory: scheme, institutions,
# grants, prices, quotes admitted and refused, reserve/settle/release,
# balance, statement and journal verify. Prints each command and its output;
# exits 0 when every step behaved as the accounting policy says.
# usage: scripts/demo-ledger.sh [BUILD_DIR]   (default: build/, built if absent)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
if [ ! -x "$BUILD/quota/aissd/aissd" ] || [ ! -x "$BUILD/quota/aissctl/aissctl" ]; then
	echo "demo-ledger: building aissd and aissctl into $BUILD"
	cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build "$BUILD" -j"$(nproc)" --target aissd aissctl >/dev/null
fi
AISSD=$BUILD/quota/aissd/aissd
AISSCTL=$BUILD/quota/aissctl/aissctl

T=$(mktemp -d /tmp/aiss-demo.XXXXXX)
export AISS_SOCKET=$T/aissd.sock
PID=
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

say() { printf '\n# %s\n' "$*"; }
# show ARGS...: prints the command line as one would type it.
show() {
	local a out='$ aissctl'
	for a in "$@"; do
		case $a in
		*[!A-Za-z0-9_.,:%@/=+-]*|'') out+=" '$a'" ;;
		*) out+=" $a" ;;
		esac
	done
	printf '%s\n' "$out"
}
# run ARGS...: show and run an aissctl command that must succeed.
run() {
	show "$@"
	"$AISSCTL" "$@"
}
# refused WANT ARGS...: show and run one that must fail with exit WANT
# (1: refused by policy; 2: invalid request).
refused() {
	local want=$1 rc=0
	shift
	show "$@"
	"$AISSCTL" "$@" || rc=$?
	if [ "$rc" != "$want" ]; then
		echo "demo-ledger: expected exit $want, got exit $rc" >&2
		exit 1
	fi
	case $rc in
	1) echo "(exit 1: refused by policy)" ;;
	2) echo "(exit 2: invalid request)" ;;
	esac
}

say "Start aissd on a fresh SQLite ledger in $T"
echo "\$ aissd --foreground --db $T/ledger.db --socket $AISS_SOCKET &"
"$AISSD" --foreground --db "$T/ledger.db" --socket "$AISS_SOCKET" 2>"$T/aissd.log" &
PID=$!
for _ in $(seq 1 100); do [ -S "$AISS_SOCKET" ] && break; sleep 0.1; done
[ -S "$AISS_SOCKET" ] || { cat "$T/aissd.log"; exit 1; }

say "The scheme: HK\$3 billion over three years, with an earmark set aside"
run scheme init --commitment 3,000,000,000.00 --name "AI Subsidy Scheme" \
	--start 2024-12-01 --end 2027-12-01
run earmark set "Reserve for expansion phase" 500,000,000.00

say "Institutions (the four eligible types)"
run institution add "University of Hong Kong" --type university
run institution add "Hong Kong Generative AI R&D Centre" --type rd-centre
run institution add "Lion Rock Robotics Ltd" --type enterprise
run institution list

say "List prices per GPU-hour, effective from 1 April 2025 (HKT)"
run price set h100 30.00 --from 2025-04-01
run price set h800 25.00 --from 2025-04-01
run price list

say "Grants approved by the committee: default 70%, exceptionally 90%"
run grant add AISS-2025-0001 --institution "University of Hong Kong" \
	--account hku-nlp --members alice,bob --gpu-types h100,h800 --rate 70% \
	--gpu-hours 2000 --subsidy 42,000.00 --start 2025-04-01 --end 2027-04-01 \
	--max-gpus 32
run grant add AISS-2025-0002 --institution "Lion Rock Robotics Ltd" \
	--account lionrock --members carol --gpu-types h800 --rate-bp 9000 \
	--gpu-hours 100 --subsidy 2,250.00 --start 2025-07-01 --end 2026-07-01 \
	--max-gpus 8
say "A 95% rate and an approval beyond the commitment are refused"
refused 2 grant add AISS-2025-0099 --institution "Lion Rock Robotics Ltd" \
	--account x --gpu-types h800 --rate 95% --gpu-hours 1 --subsidy 1.00 \
	--start 2025-07-01 --end 2026-07-01
refused 1 grant add AISS-2025-0100 --institution "University of Hong Kong" \
	--account huge --gpu-types h100 --gpu-hours 1 --subsidy 2,600,000,000.00 \
	--start 2025-04-01 --end 2026-04-01
run grant list

say "Quotes at submit: 16 x H100 for 12 hours is admitted"
run quote --account hku-nlp --user alice --gpus 16 --time 12:00:00 \
	--start "2026-01-05 09:00"
say "...8 x H800 for 2 days on the small grant is not; the answer says what fits"
refused 1 quote --account lionrock --user carol --gpus 8 --time 2-00:00:00 \
	--start "2026-01-05 09:00"
say "...nor is a user who is not a member, or a GPU type not approved"
refused 1 quote --account hku-nlp --user mallory --gpus 1 --time 60 \
	--start "2026-01-05 09:00"
refused 1 quote --account lionrock --user carol --gpu-type h100 --gpus 1 \
	--time 60 --start "2026-01-05 09:00"

say "A job starts: a lien holds its worst-case subsidy (repeating it changes nothing)"
run reserve --cluster aisc --job 4242 --start "2026-01-05 09:00" \
	--account hku-nlp --user alice --gpus 16 --time 12:00:00
run reserve --cluster aisc --job 4242 --start "2026-01-05 09:00" \
	--account hku-nlp --user alice --gpus 16 --time 12:00:00
run balance AISS-2025-0001

say "It ends after 7.5 hours: charged once, the lien released"
run settle --cluster aisc --job 4242 --start "2026-01-05 09:00" \
	--end "2026-01-05 16:30" --gpus 16
run settle --cluster aisc --job 4242 --start "2026-01-05 09:00" \
	--end "2026-01-05 16:30" --gpus 16

say "A job cancelled before it ran: its lien is released, nothing charged"
run reserve --cluster aisc --job 4243 --start "2026-01-06 10:00" \
	--account lionrock --user carol --gpus 8 --time 4:00:00
run release --cluster aisc --job 4243 --start "2026-01-06 10:00"

say "A run lost to a node failure is charged zero"
run reserve --cluster aisc --job 4244 --start "2026-01-07 10:00" \
	--account lionrock --user carol --gpus 8 --time 4:00:00
run settle --cluster aisc --job 4244 --start "2026-01-07 10:00" \
	--end "2026-01-07 11:00" --gpus 8 --state NODE_FAIL

say "A run crossing the end of its grant window is subsidised only inside it"
run settle --cluster aisc --job 4245 --start "2026-06-30 20:00" \
	--end "2026-07-01 04:00" --gpus 8 --account lionrock --user carol \
	--gpu-type h800

say "Corrections are new journal entries, with a reason"
run adjust AISS-2025-0001 -120.00 --reason "duplicate import of job 4100 reversed"
run grant suspend AISS-2025-0002 --reason "progress report overdue"
refused 1 quote --account lionrock --user carol --gpus 1 --time 60 \
	--start "2026-01-08 09:00"
run grant resume AISS-2025-0002
run grant modify AISS-2025-0002 --subsidy 3,000.00

say "Balances, the statement of a grant, the scheme and the journal"
run balance
run statement AISS-2025-0001
run scheme show
run journal verify
echo
echo "Machine-readable output for scripts (--json, amounts in *_cents):"
run --json balance AISS-2025-0001

say "Demo complete: every step behaved as the policy says"
