#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Installs every Debian 12 package aiss needs to build, test and run its demo.
# Idempotent: skips apt when everything is already present. Run as root.
set -euo pipefail

PKGS=(build-essential cmake pkg-config clang clang-format
      libsqlite3-dev sqlite3 libprotobuf-c-dev protobuf-c-compiler
      libhwloc-dev hwloc libmunge-dev munge
      slurmctld slurmd slurm-client libslurm-dev
      libcmocka-dev postgresql postgresql-contrib
      libssl-dev dpkg-dev chromium valgrind jq bc util-linux procps
      fonts-wqy-zenhei zlib1g-dev python3)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" \
		|| missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "install-deps: missing packages (${missing[*]}); run this as root" >&2
		exit 1
	fi
	echo "install-deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	# Package post-install scripts start daemons we start ourselves.
	for s in slurmctld slurmd munge postgresql; do
		service "$s" stop >/dev/null 2>&1 || true
	done
fi
echo "install-deps: all packages present"
