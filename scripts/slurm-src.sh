#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Fetches Debian's source of the installed Slurm, configures it once (cached)
# and prints its path; the plugins build against its internal headers.
#
# Usage: scripts/slurm-src.sh [CACHE_DIR]   (default /var/cache/aiss/slurm-src)
# Prints the configured source tree (e.g. .../slurm-wlm-22.05.8) on stdout;
# progress goes to stderr. Exit 1 when the source cannot be had.
set -euo pipefail

cache=${1:-${AISS_SLURM_SRC_CACHE:-/var/cache/aiss/slurm-src}}
log() { echo "slurm-src: $*" >&2; }

ver=$(slurmctld -V 2>/dev/null | awk '{print $2}') || true
if [ -z "${ver:-}" ]; then
	log "slurmctld is not installed; cannot tell which Slurm to fetch"
	exit 1
fi
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9

src=$(find "$cache" -maxdepth 1 -type d -name "slurm-wlm-${ver}*" | head -n1)
if [ -z "$src" ]; then
	if ! apt-get indextargets --format '$(IDENTIFIER)' 2>/dev/null | grep -qx Sources; then
		if [ "$(id -u)" != 0 ]; then
			log "no deb-src entry and not root: cannot add one"
			exit 1
		fi
		log "adding a deb-src entry for bookworm"
		cat >/etc/apt/sources.list.d/aiss-deb-src.sources <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
		apt-get update -qq >&2 || { log "apt-get update failed"; exit 1; }
	fi
	log "apt-get source slurm-wlm=$(dpkg-query -W -f='${Version}' slurmctld) into $cache"
	(cd "$cache" && apt-get source -qq --download-only \
		"slurm-wlm=$(dpkg-query -W -f='${Version}' slurmctld)" >&2 \
		&& dpkg-source --no-check -x slurm-wlm_*.dsc >&2) \
		|| { log "apt-get source slurm-wlm failed"; exit 1; }
	src=$(find "$cache" -maxdepth 1 -type d -name "slurm-wlm-${ver}*" | head -n1)
	[ -n "$src" ] || { log "source tree for $ver not found after download"; exit 1; }
fi
if [ ! -f "$src/config.h" ] || [ ! -f "$src/.aiss-configured" ]; then
	log "configuring $src (once)"
	(cd "$src" && ./configure --prefix=/usr --sysconfdir=/etc/slurm \
		--libdir=/usr/lib/x86_64-linux-gnu \
		--without-hdf5 --without-rrdtool --disable-debug \
		>"$cache/configure.log" 2>&1) \
		|| { log "configure failed; see $cache/configure.log"; exit 1; }
	touch "$src/.aiss-configured"
fi
echo "$src"
