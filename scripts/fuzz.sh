#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Builds the libFuzzer targets (clang, ASan) into build-fuzz/ and runs each
# for a bounded time from its seed corpus: the wire frame decoder, the sacct
# parser, the scheduler's text parsers and the plugins' parsers (spool
# records, TRES lists, array specs). FUZZ_SECONDS (per target) overrides the
# default of 40 s.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-40}
dir=build-fuzz

# target  binary (relative to $dir)  seed corpus
targets=(
	"fuzz_frame tests/fuzz/fuzz_frame tests/fuzz/corpus"
	"fuzz_sacct accounting/usage/fuzz_sacct accounting/usage/fuzz/corpus"
	"fuzz_sched_text scheduler/fuzz/fuzz_sched_text scheduler/fuzz/corpus"
	"fuzz_plugin_text plugin/fuzz/fuzz_plugin_text plugin/fuzz/corpus"
)

CC=clang cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DAISS_FUZZ=ON -DBUILD_TESTING=OFF \
	-DAISS_COMPONENTS="accounting;quota;scheduler;plugin;tests" \
	-DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link,address -fno-omit-frame-pointer" \
	>/dev/null
names=()
for t in "${targets[@]}"; do
	read -r name _ _ <<<"$t"
	names+=("$name")
done
cmake --build "$dir" -j"$(nproc)" --target "${names[@]}"

mkdir -p "$dir/artifacts"
for t in "${targets[@]}"; do
	read -r name bin seeds <<<"$t"
	# Findings go to a scratch corpus; the checked-in seeds stay read-only.
	run=$dir/corpus-run/$name
	mkdir -p "$run"
	echo "$name: ${secs}s from $seeds"
	"$dir/$bin" -max_total_time="$secs" -max_len=65536 \
		-rss_limit_mb=2048 -artifact_prefix="$dir/artifacts/$name-" \
		-print_final_stats=1 "$run" "$seeds" 2>&1 | tail -n 6
	echo "$name: no crash in ${secs}s"
done
