#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Builds the libFuzzer targets (clang, ASan) into build-fuzz/ and runs each
# for a bounded time from its seed corpus. FUZZ_SECONDS overrides the 60 s.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-60}
dir=build-fuzz

CC=clang cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DAISS_FUZZ=ON -DBUILD_TESTING=OFF \
	-DAISS_COMPONENTS="accounting;quota;tests" \
	-DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link,address -fno-omit-frame-pointer" \
	>/dev/null
cmake --build "$dir" -j"$(nproc)" --target fuzz_frame

# Findings go to a scratch corpus (gitignored); the seeds stay read-only.
run=tests/fuzz/corpus-run
mkdir -p "$run" "$dir/artifacts"
echo "fuzz_frame: ${secs}s from tests/fuzz/corpus"
"$dir/tests/fuzz/fuzz_frame" -max_total_time="$secs" -max_len=65536 \
	-rss_limit_mb=2048 -artifact_prefix="$dir/artifacts/" \
	-print_final_stats=1 "$run" tests/fuzz/corpus 2>&1 | tail -n 15
echo "fuzz_frame: no crash in ${secs}s"
