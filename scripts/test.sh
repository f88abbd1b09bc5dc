#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The whole test suite: installs what is needed, builds (plain and ASan/UBSan),
# runs every ctest test in both, and runs the fuzzers for a bounded time.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh

echo "== build (RelWithDebInfo)"
bash scripts/build.sh build
echo "== ctest: everything but the real-cluster tests (RelWithDebInfo)"
(cd build && ctest --output-on-failure -j2 --timeout 900 -LE integration)
echo "== ctest: integration tests against real Slurm, Chromium (one at a time)"
(cd build && ctest --output-on-failure -j1 --timeout 1200 -L integration)

echo "== build (ASan+UBSan)"
bash scripts/build.sh build-asan -DAISS_SANITIZE=ON -DAISS_COMPONENTS="accounting;quota;scheduler;cuda;plugin"
echo "== ctest unit tests (ASan+UBSan)"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j2 -L unit --timeout 900)

if [ -x scripts/fuzz.sh ]; then
	echo "== fuzz (bounded)"
	bash scripts/fuzz.sh
fi
echo "== all tests passed"
