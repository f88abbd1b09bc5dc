#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# gpu-acceptance.sh: on a GPU machine, measures every kernel, checks the issue's targets, plants each fault.
#
# usage: gpu-acceptance.sh AISS_GPUCHECK [OUTDIR]
# Prints a markdown table for docs/gpucheck.md ("Measured figures") and
# the target checks. Exit: 0 all verified and every planted fault caught,
# 1 a wrong result or a planted fault missed, 77 no GPU (ctest: skipped).
# Performance targets are reported (MET/MISSED), not enforced.
set -uo pipefail

bin=${1:?usage: gpu-acceptance.sh AISS_GPUCHECK [OUTDIR]}
out=${2:-$(mktemp -d /tmp/gpucheck-acceptance.XXXXXX)}
mkdir -p "$out"

"$bin" --quick --no-drain --json >"$out/quick.json" 2>"$out/quick.err"
rc=$?
if [ $rc -eq 3 ]; then
	echo "gpu-acceptance: no GPU here ($(tail -1 "$out/quick.err")); skipped"
	exit 77
fi
command -v jq >/dev/null && command -v bc >/dev/null ||
	{ echo "gpu-acceptance: needs jq and bc" >&2; exit 1; }
bad=0

start=$(date +%s.%N)
"$bin" --full --no-drain --json >"$out/full.json" 2>"$out/full.err"
full_rc=$?
end=$(date +%s.%N)
full_s=$(echo "$end - $start" | bc)
echo "full check: exit $full_rc, $(printf '%.1f' "$full_s") s wall (target < 60 s)"
jq -r '.reason' "$out/full.json"

echo
echo "| GPU | model | kernel | figure | unit | ratio to baseline | checked | mismatches |"
echo "|---|---|---|---|---|---|---|---|"
jq -r '.gpus[] as $g | $g.metrics | to_entries[] |
	"| \($g.index) | \($g.model // $g.name) | \(.key)\(if .key == "gemm_bf16" or .key == "gemm_fp16" then " (" + ($g.gemm_kernel // "?") + ")" else "" end) | \(.value.value) | \(.value.unit) | \(.value.ratio_to_baseline // "-") | \(.value.checked) | \(.value.mismatches) |"' \
	"$out/full.json"
echo
echo "| src | dst | peer access | GB/s | mismatches |"
echo "|---|---|---|---|---|"
jq -r '.p2p[] | "| \(.src) | \(.dst) | \(.peer_access) | \(.gbs) | \(.mismatches) |"' \
	"$out/full.json"
echo

wrong=$(jq '[.gpus[].metrics[].mismatches] + [.p2p[].mismatches] | add // 0' \
	"$out/full.json")
if [ "$wrong" != 0 ]; then
	echo "WRONG RESULTS on a supposedly good node: $wrong mismatches"
	bad=1
fi

# The issue's targets.
target() { # name, jq expression giving the worst value, comparison
	local v
	v=$(jq -r "$2" "$out/full.json")
	if [ "$v" = null ] || [ -z "$v" ]; then
		echo "target $1: not measured"
	elif [ "$(echo "$v $3" | bc -l)" = 1 ]; then
		echo "target $1: MET ($v)"
	else
		echo "target $1: MISSED ($v)"
	fi
}
for k in hbm_read hbm_write hbm_copy hbm_triad; do
	target "$k >= 0.90 x cudaMemcpy D2D" \
		"[.gpus[].metrics.$k.ratio_to_baseline] | min" ">= 0.90"
done
target "BF16 GEMM >= 0.70 x cuBLAS (8192^3)" \
	"[.gpus[].metrics.gemm_bf16.ratio_to_baseline] | min" ">= 0.70"
target "full node check < 60 s" "$full_s" "< 60"

# The portable mma.sync kernel too (the default on Hopper is wgmma + TMA):
# its figure is reported, and it must verify as well.
if jq -e '[.gpus[].gemm_kernel == "wgmma+tma"] | any' "$out/full.json" \
	>/dev/null; then
	"$bin" --quick --no-drain --mma-sync --json >"$out/mma-sync.json" \
		2>"$out/mma-sync.err"
	mrc=$?
	echo "mma.sync GEMM (--mma-sync): exit $mrc, $(jq -r '[.gpus[] | "GPU\(.index) \(.gemm_kernel) bf16 \(.metrics.gemm_bf16.value) TFLOPS x\(.metrics.gemm_bf16.ratio_to_baseline), fp16 \(.metrics.gemm_fp16.value) TFLOPS x\(.metrics.gemm_fp16.ratio_to_baseline), mismatches \(.metrics.gemm_bf16.mismatches + .metrics.gemm_fp16.mismatches)"] | join("; ")' "$out/mma-sync.json")"
	mm=$(jq '[.gpus[].metrics.gemm_bf16.mismatches, .gpus[].metrics.gemm_fp16.mismatches] | add // 0' "$out/mma-sync.json")
	if [ "$mm" != 0 ]; then
		echo "WRONG RESULTS from the mma.sync kernel: $mm mismatches"
		bad=1
	fi
fi

# Every planted fault must be caught (exit 1, "wrong result").
ngpus=$(jq '.gpu_count' "$out/quick.json")
for k in hbm_write hbm_copy hbm_triad gemm_bf16 gemm_fp16 fma_fp32 fma_fp64 h2d p2p; do
	if [ "$k" = p2p ] && [ "$ngpus" -lt 2 ]; then
		echo "planted $k: skipped (one GPU)"
		continue
	fi
	"$bin" --quick --no-drain --plant-fault "$k:0" --json \
		>"$out/plant-$k.json" 2>"$out/plant-$k.err"
	prc=$?
	reason=$(jq -r '.reason' "$out/plant-$k.json" 2>/dev/null)
	# The corrupted element must be counted against that very kernel.
	if [ "$k" = p2p ]; then
		q='[.p2p[] | select(.src == 0 and .dst == 1) | .mismatches] | add // 0'
	else
		q=".gpus[0].metrics.$k.mismatches // 0"
	fi
	caught=$(jq -r "$q" "$out/plant-$k.json" 2>/dev/null)
	if [ $prc -eq 1 ] && [ "${caught:-0}" -gt 0 ] 2>/dev/null; then
		echo "planted $k: caught, $caught mismatch(es) ($reason)"
	else
		echo "planted $k: MISSED (exit $prc, reason: $reason)"
		bad=1
	fi
done
echo "outputs in $out"
exit $bad
