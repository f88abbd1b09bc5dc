#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Helpers of the Slurm integration tests: assertions, waits, the scheme's
# sample grants, and the policy arithmetic the charges are checked against.
source "$(dirname "${BASH_SOURCE[0]}")/cluster.sh"

AISS_FAILS=0
ok() { echo "ok - $*"; }
fail() { echo "FAIL - $*"; AISS_FAILS=$((AISS_FAILS + 1)); }
# check DESCRIPTION COMMAND...: passes when the command succeeds.
check() { local d=$1; shift; if "$@"; then ok "$d"; else fail "$d"; fi; }
# contains DESCRIPTION HAYSTACK NEEDLE
contains() {
	if [[ "$2" == *"$3"* ]]; then ok "$1"; else fail "$1: '$3' not in: $2"; fi
}
# equals DESCRIPTION GOT WANT
equals() { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: got '$2', want '$3'"; fi; }
finish() {
	if [ "$AISS_FAILS" = 0 ]; then echo "all passed"; exit 0; fi
	echo "$AISS_FAILS check(s) failed"
	exit 1
}

# Submits; prints the job id, or "ERR: <stderr>" when sbatch refuses.
submit() {
	local out
	if out=$(sbatch --parsable -o /dev/null "$@" 2>&1); then
		echo "${out##*$'\n'}"
	else
		echo "ERR: $out"
	fi
}

job_field() { scontrol -o show job "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n1; }
job_state() { job_field "$1" JobState; }

# wait_state JOB STATE [SECONDS]
wait_state() {
	local j=$1 want=$2 t=${3:-60}
	for _ in $(seq 1 $((t * 5))); do
		[ "$(job_state "$j")" = "$want" ] && return 0
		sleep 0.2
	done
	echo "  (job $j is $(job_state "$j"), not $want after ${t}s)"
	return 1
}

# Charges (aissctl charges --json) of one job id, one JSON object a line.
charges_of() { aissctl --json charges | jq -c --argjson j "$1" '.[] | select(.job_id == $j)'; }
n_charges_of() { charges_of "$1" | grep -c . || true; }
# wait_charges JOB N [SECONDS]: waits until the job has N charged runs.
wait_charges() {
	local j=$1 n=$2 t=${3:-60}
	for _ in $(seq 1 $((t * 5))); do
		[ "$(n_charges_of "$j")" -ge "$n" ] && return 0
		sleep 0.2
	done
	echo "  (job $j has $(n_charges_of "$j") charges, not $n after ${t}s)"
	return 1
}

# round_half_up(a * b / c) for non-negative integers.
muldiv() { echo $(((($1 * $2) * 2 + $3) / (2 * $3))); }

# check_charge DESCRIPTION CHARGE_JSON GPUS PRICE_CENTS RATE_BP
# Checks one charge against the policy: gpu_seconds = gpus x (end - start),
# list = round_half_up(gpu_s x price / 3600), subsidy = round_half_up(list x
# rate / 10000) (window covers the run, cap not reached), copay = rest.
check_charge() {
	local d=$1 c=$2 gpus=$3 price=$4 rate=$5 s e gs list sub
	s=$(jq -r .start <<<"$c")
	e=$(jq -r .end <<<"$c")
	gs=$((gpus * (e - s)))
	list=$(muldiv "$gs" "$price" 3600)
	sub=$(muldiv "$list" "$rate" 10000)
	equals "$d: GPUs" "$(jq -r .gpus <<<"$c")" "$gpus"
	equals "$d: GPU-seconds = GPUs x elapsed" "$(jq -r .gpu_seconds <<<"$c")" "$gs"
	equals "$d: list cost" "$(jq -r .list_cost_cents <<<"$c")" "$list"
	equals "$d: subsidy" "$(jq -r .subsidy_cents <<<"$c")" "$sub"
	equals "$d: co-payment" "$(jq -r .copay_cents <<<"$c")" "$((list - sub))"
}

# Slurm's own record of a finished job: elapsed seconds (EndTime-StartTime).
slurm_elapsed() {
	local s e
	s=$(date -d "$(job_field "$1" StartTime)" +%s)
	e=$(date -d "$(job_field "$1" EndTime)" +%s)
	echo $((e - s))
}

# The scheme, prices (h100 HK$100/GPU-hour, h800 HK$80) and an institution.
setup_scheme() {
	aissctl scheme init --commitment 3000000000 --name "AI Subsidy Scheme" \
		--start 2024-12-01 --end 2027-12-01 >/dev/null &&
	aissctl institution add HKU --type university >/dev/null &&
	aissctl institution add "Cyberport Start-up" --type enterprise >/dev/null &&
	aissctl price set h100 100 --from 2024-01-01 >/dev/null &&
	aissctl price set h800 80 --from 2024-01-01 >/dev/null
}

# add_grant ID ACCOUNT SUBSIDY [extra aissctl grant add options...]
add_grant() {
	local id=$1 acct=$2 sub=$3
	shift 3
	aissctl grant add "$id" --institution HKU --account "$acct" \
		--members root --gpu-types h100,h800 --rate 70% --gpu-hours 100000 \
		--subsidy "$sub" --start 2025-01-01 --end 2028-01-01 "$@" >/dev/null
}
