#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# quota-bench.sh: aissd's durable reserve+settle throughput and latency at a
# fixed offered load, against PostgreSQL 15's pgbench (built-in TPC-B-like,
# synchronous_commit=on, same clients, same duration) measured in the same
# run; and aissd's resident memory with 10,000 grants and 1,000,000 journal
# entries. A benchmark, not a test: it prints numbers and ratios.
# The latency figure is open loop: pairs are due every 1/RATE s whatever
# the replies (aiss-quota-load run --rate: N connections, up to 64 pairs in
# flight on each), latency counted from the scheduled time, so a stall
# shows in full (no coordinated omission); once with even gaps, once with
# Poisson arrivals as pgbench -R schedules its transactions.
# With --depth D > 1 (default 8) it also runs aissd pipelined: N clients
# with D pairs in flight each, against pgbench with N x D clients (scale
# N x D): the ratio at an equal number of requests in flight, reported
# apart from the same-client-count ratio.
# The open-loop latency has a floor measured in the same run: the same
# load against aiss-fsync-floor (same protocol, one write + fdatasync per
# turn, no ledger), what this machine allows any durable service; ROUNDS
# runs alternate aissd and the floor, and medians are reported.
#
# usage: tests/bench/quota-bench.sh [--build DIR] [--conns N] [--rate PAIRS/S]
#            [--duration S] [--rounds N] [--grants N] [--rss-grants N] [--rss-entries N]
#            [--depth D] [--no-pg] [--no-rss] [--keep]
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=$ROOT/build CONNS=8 RATE=5000 DURATION=10 GRANTS=16 ROUNDS=3
RSS_GRANTS=10000 RSS_ENTRIES=1000000 DO_PG=1 DO_RSS=1 KEEP=0 DEPTH=8
while [ $# -gt 0 ]; do
	case $1 in
	--build) BUILD=$(cd "$2" && pwd); shift 2 ;;
	--conns) CONNS=$2; shift 2 ;;
	--rate) RATE=$2; shift 2 ;;
	--duration) DURATION=$2; shift 2 ;;
	--grants) GRANTS=$2; shift 2 ;;
	--rounds) ROUNDS=$2; shift 2 ;;
	--rss-grants) RSS_GRANTS=$2; shift 2 ;;
	--rss-entries) RSS_ENTRIES=$2; shift 2 ;;
	--depth) DEPTH=$2; shift 2 ;;
	--no-pg) DO_PG=0; shift ;;
	--no-rss) DO_RSS=0; shift ;;
	--keep) KEEP=1; shift ;;
	-h|--help) sed -n '3,24p' "$0"; exit 0 ;;
	*) echo "quota-bench: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done

AISSD=$BUILD/quota/aissd/aissd
AISSCTL=$BUILD/quota/aissctl/aissctl
LOAD=$BUILD/tests/bench/quota/aiss-quota-load
FLOOR=$BUILD/tests/bench/quota/aiss-fsync-floor
GEN=$BUILD/quota/ledger/gen_ledger
PGBIN=/usr/lib/postgresql/15/bin
for b in "$AISSD" "$AISSCTL" "$LOAD"; do
	[ -x "$b" ] || { echo "quota-bench: $b is not built (bash scripts/build.sh $BUILD)" >&2; exit 2; }
done

T=$(mktemp -d /tmp/aiss-bench.XXXXXX)
chmod 755 "$T"
PID= PGUP=0 FPID=
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	[ -n "$FPID" ] && kill "$FPID" 2>/dev/null
	[ "$PGUP" = 1 ] && pg "$PGBIN/pg_ctl" -D "$T/pg" -m immediate stop >/dev/null 2>&1
	if [ "$KEEP" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT

# Runs a PostgreSQL command as the postgres user when we are root.
pg() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_aissd() { # DB
	rm -f "$T/aissd.sock"
	"$AISSD" --foreground --db "$1" --socket "$T/aissd.sock" 2>>"$T/aissd.log" &
	PID=$!
	for _ in $(seq 1 200); do
		[ -S "$T/aissd.sock" ] && return 0
		sleep 0.05
	done
	echo "quota-bench: aissd did not start"; tail "$T/aissd.log"; exit 1
}
stop_aissd() { kill "$PID"; wait "$PID" 2>/dev/null; PID=; }
field() { # KEY LINE
	printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -1
}

echo "== quota-bench: $(date -u +%FT%TZ) on $(nproc) CPUs, $(uname -r)"
echo "   clients $CONNS, offered $RATE pairs/s, $DURATION s per run, $ROUNDS alternating throughput rounds, $GRANTS grants"

# ---- PostgreSQL: a throwaway cluster on a Unix socket, pgbench -i ----
pg_ok=0
if [ "$DO_PG" = 1 ] && [ -x "$PGBIN/pgbench" ]; then
	mkdir -p "$T/pgsock" "$T/pg"
	[ "$(id -u)" = 0 ] && chown postgres "$T/pgsock" "$T/pg"
	if pg "$PGBIN/initdb" -D "$T/pg" -A trust -U postgres >"$T/initdb.log" 2>&1 &&
	   pg "$PGBIN/pg_ctl" -D "$T/pg" -l "$T/pgsock/pg.log" -w -o \
		"-k $T/pgsock -c listen_addresses= -c synchronous_commit=on -c fsync=on -c full_page_writes=on -c max_connections=$((CONNS * (DEPTH > 1 ? DEPTH : 1) + 20))" \
		start >/dev/null 2>&1 &&
	   pg "$PGBIN/pgbench" -h "$T/pgsock" -U postgres -i -q -s "$CONNS" postgres >"$T/pginit.log" 2>&1; then
		PGUP=1 pg_ok=1
	else
		echo "quota-bench: could not start PostgreSQL (see $T/initdb.log, $T/pgsock/pg.log); no baseline"
		tail -5 "$T/initdb.log"
	fi
fi
pgbench_run() { # EXTRA ARGS...: prints pgbench's report
	(cd "$T/pgsock" && pg "$PGBIN/pgbench" -h "$T/pgsock" -U postgres \
		-c "${PGCLIENTS:-$CONNS}" -j "${PGCLIENTS:-$CONNS}" -T "$DURATION" "$@" postgres 2>&1)
}
tps_of() { sed -n 's/^tps = \([0-9.]*\) (without initial.*/\1/p'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# ---- throughput: aissd and pgbench alternately, ROUNDS times each ----
# Alternating rounds share out the drift of a busy machine between both.
start_aissd "$T/bench.db"
"$LOAD" --socket "$T/aissd.sock" --grants "$GRANTS" setup >/dev/null || exit 1
: >"$T/aiss.rates"; : >"$T/pg.rates"
for r in $(seq 1 "$ROUNDS"); do
	max=$("$LOAD" --socket "$T/aissd.sock" --grants "$GRANTS" --conns "$CONNS" \
		--rate 0 --duration "$DURATION" --job-base $((r * 100000000)) run)
	echo "round $r aissd closed loop: $max"
	field pairs_per_s "$max" >>"$T/aiss.rates"
	if [ "$pg_ok" = 1 ]; then
		pgmax=$(pgbench_run)
		pg_tps=$(printf '%s\n' "$pgmax" | tps_of)
		pg_lat=$(printf '%s\n' "$pgmax" | sed -n 's/^latency average = \([0-9.]*\) ms/\1/p')
		echo "round $r pgbench closed loop: tps=$pg_tps latency_avg_ms=$pg_lat (TPC-B-like, scale $CONNS, $CONNS clients, synchronous_commit=on)"
		echo "$pg_tps" >>"$T/pg.rates"
	fi
done
aiss_pairs=$(median <"$T/aiss.rates")
[ "$pg_ok" = 1 ] && pg_tps=$(median <"$T/pg.rates")

# ---- pipelined: the same number of requests in flight on both sides ----
if [ "$DEPTH" -gt 1 ]; then
	INFLIGHT=$((CONNS * DEPTH))
	pipe=$("$LOAD" --socket "$T/aissd.sock" --grants "$GRANTS" --conns "$CONNS" \
		--depth "$DEPTH" --rate 0 --duration "$DURATION" --job-base 2000000000 run)
	echo "aissd pipelined closed loop ($CONNS clients x $DEPTH pairs in flight = $INFLIGHT): $pipe"
	pipe_pairs=$(field pairs_per_s "$pipe")
fi

# ---- latency at a fixed offered load (open loop), against the floor ----
# aiss-fsync-floor answers every request OK after one write + fdatasync per
# turn of its loop (about the bytes per request aissd's WAL takes): the
# latency of fsync, scheduling and sockets alone on this machine. Rounds
# alternate aissd and the floor under the same load; medians are reported.
if [ -x "$FLOOR" ]; then
	rm -f "$T/floor.sock"
	"$FLOOR" --socket "$T/floor.sock" --file "$T/floor.wal" >"$T/floor.log" 2>&1 &
	FPID=$!
	for _ in $(seq 1 200); do [ -S "$T/floor.sock" ] && break; sleep 0.05; done
fi
lat_fields() { # LINE: p50 p99 p99.9 lag req_p50 req_p99 req_p99.9 rate
	echo "$(field p50_us "$1") $(field p99_us "$1") $(field p999_us "$1")" \
		"$(field lag_p99_us "$1") $(field req_p50_us "$1")" \
		"$(field req_p99_us "$1") $(field req_p999_us "$1") $(field pairs_per_s "$1")"
}
col() { awk -v c="$2" '{ print $c }' "$1" | median; }   # FILE COLUMN: median
cols() { awk -v c="$2" '{ printf "%s%s", (NR > 1 ? " " : ""), $c }' "$1"; }
: >"$T/lat.aiss"; : >"$T/lat.floor"
for r in $(seq 1 "$ROUNDS"); do
	fixed=$("$LOAD" --socket "$T/aissd.sock" --grants "$GRANTS" --conns "$CONNS" \
		--rate "$RATE" --duration "$DURATION" --job-base $((1000000000 + r * 10000000)) run)
	echo "round $r aissd open loop, $RATE pairs/s, even gaps: $fixed"
	lat_fields "$fixed" >>"$T/lat.aiss"
	if [ -n "$FPID" ]; then
		floor=$("$LOAD" --socket "$T/floor.sock" --grants "$GRANTS" --conns "$CONNS" \
			--rate "$RATE" --duration "$DURATION" --job-base $((1000000000 + r * 10000000)) run)
		echo "round $r floor open loop, $RATE pairs/s, even gaps: $floor"
		lat_fields "$floor" >>"$T/lat.floor"
	fi
done
if [ -n "$FPID" ]; then
	kill "$FPID"; wait "$FPID" 2>/dev/null; FPID=
	echo "floor: $(cat "$T/floor.log")"
fi
poisson=$("$LOAD" --socket "$T/aissd.sock" --grants "$GRANTS" --conns "$CONNS" \
	--rate "$RATE" --poisson --duration "$DURATION" --job-base 1200000000 run)
echo "aissd open loop, $RATE pairs/s, Poisson:   $poisson"
# Latency where the box can keep up: a quarter of the closed-loop rate.
HALF=$(( ${aiss_pairs%.*} / 4 ))
[ "$HALF" -lt 1 ] && HALF=1
half=$("$LOAD" --socket "$T/aissd.sock" --grants "$GRANTS" --conns "$CONNS" \
	--rate "$HALF" --duration "$DURATION" --job-base 3000000000 run)
echo "aissd open loop, $HALF pairs/s:  $half"
"$AISSCTL" --socket "$T/aissd.sock" journal verify || echo "quota-bench: journal verify FAILED"
stop_aissd
aiss_p50=$(col "$T/lat.aiss" 1)
aiss_p99=$(col "$T/lat.aiss" 2)
aiss_fixed_rate=$(col "$T/lat.aiss" 8)
half_p50=$(field p50_us "$half")
half_p99=$(field p99_us "$half")
if [ "$pg_ok" = 1 ]; then
	# Same offered rate; latency from the schedule (time + lag) per transaction.
	pgbench_run -R "$RATE" -l --log-prefix="$T/pgsock/pglog" >"$T/pgfixed.log"
	pg_fixed_tps=$(tps_of <"$T/pgfixed.log")
	cat "$T"/pgsock/pglog* 2>/dev/null | awk '{ print $3 + ($7 == "" ? 0 : $7) }' | sort -n >"$T/pglat"
	n=$(wc -l <"$T/pglat")
	if [ "$n" -gt 0 ]; then
		pg_p50=$(sed -n "$(( (n * 50 + 99) / 100 ))p" "$T/pglat")
		pg_p99=$(sed -n "$(( (n * 99 + 99) / 100 ))p" "$T/pglat")
		echo "pgbench fixed load: offered $RATE tps, achieved $pg_fixed_tps tps, p50_us=$pg_p50 p99_us=$pg_p99 ($n transactions)"
	fi
	if [ -n "${pipe_pairs:-}" ]; then
		# The equal-in-flight baseline: N x D clients, scale N x D
		# (pgbench's own rule: at least one branch per client).
		pg "$PGBIN/pgbench" -h "$T/pgsock" -U postgres -i -q -s "$INFLIGHT" postgres >"$T/pginit2.log" 2>&1
		pgpipe=$(PGCLIENTS=$INFLIGHT pgbench_run)
		pg_pipe_tps=$(printf '%s\n' "$pgpipe" | tps_of)
		echo "pgbench closed loop ($INFLIGHT clients, scale $INFLIGHT): tps=$pg_pipe_tps"
	fi
	pg "$PGBIN/pg_ctl" -D "$T/pg" -m fast stop >/dev/null 2>&1
	PGUP=0
fi

# ---- aissd's resident memory with a large ledger ----
if [ "$DO_RSS" = 1 ]; then
	if [ -x "$GEN" ]; then
		t0=$(date +%s)
		"$GEN" "$T/rss.db" "$RSS_GRANTS" "$RSS_ENTRIES" | sed 's/^/   /'
		echo "   (generated in $(( $(date +%s) - t0 )) s)"
		start_aissd "$T/rss.db"
		rss_start=$(awk '/^VmRSS/ { print $2 }' /proc/$PID/status)
		# The generated grants use up the commitment: raise it (same
		# window) so that the load's own 16 grants can be approved.
		win=$("$AISSCTL" --socket "$T/aissd.sock" --json scheme show)
		"$AISSCTL" --socket "$T/aissd.sock" scheme init \
			--commitment 100,000,000,000.00 \
			--start "@$(printf '%s' "$win" | jq .start)" \
			--end "@$(printf '%s' "$win" | jq .end)" >/dev/null
		"$LOAD" --socket "$T/aissd.sock" --grants 16 --prefix RSS setup >/dev/null
		rssload=$("$LOAD" --socket "$T/aissd.sock" --grants 16 --prefix RSS --conns "$CONNS" \
			--rate 0 --duration 3 --job-base 4000000000 run)
		echo "aissd on the big ledger: $rssload"
		"$AISSCTL" --socket "$T/aissd.sock" --timeout 120000 balance --json | jq length >"$T/nbal"
		"$AISSCTL" --socket "$T/aissd.sock" --timeout 120000 grant list --json >/dev/null
		verify=$("$AISSCTL" --socket "$T/aissd.sock" --timeout 120000 journal verify)
		rss=$(awk '/^VmRSS/ { print $2 }' /proc/$PID/status)
		hwm=$(awk '/^VmHWM/ { print $2 }' /proc/$PID/status)
		echo "aissd memory: $(cat "$T/nbal") grants, $verify"
		echo "aissd memory: VmRSS at start ${rss_start} KiB; after load, balance list, grant list and journal verify VmRSS ${rss} KiB, peak VmHWM ${hwm} KiB ($(( hwm / 1024 )) MiB; target < 64 MiB)"
		stop_aissd
	else
		echo "quota-bench: $GEN not built; no memory figure"
	fi
fi

# ---- summary ----
echo "== summary"
echo "aissd: ${aiss_pairs} durable reserve+settle pairs/s closed loop (median of $ROUNDS, $CONNS clients)"
met() { [ "${1%.*}" -lt 2000 ] 2>/dev/null && echo met || echo NOT met; }
echo "aissd open loop at $RATE pairs/s offered (even gaps, $CONNS connections, latency from the scheduled time), medians of $ROUNDS runs: achieved ${aiss_fixed_rate}/s, p50 ${aiss_p50} us, p99 ${aiss_p99} us (runs: $(cols "$T/lat.aiss" 2)), p99.9 $(col "$T/lat.aiss" 3) us, generator send lag p99 $(col "$T/lat.aiss" 4) us (runs: $(cols "$T/lat.aiss" 4)) (target p99 < 2000 us: $(met "$aiss_p99"))"
aiss_rp99=$(col "$T/lat.aiss" 6)
echo "  the same runs per request (a reserve from its scheduled time, a settle from its send; a job's two requests come hours apart in a real cluster): p50 $(col "$T/lat.aiss" 5) us, p99 ${aiss_rp99} us (runs: $(cols "$T/lat.aiss" 6)), p99.9 $(col "$T/lat.aiss" 7) us (p99 < 2000 us: $(met "$aiss_rp99"))"
if [ -s "$T/lat.floor" ]; then
	fp99=$(col "$T/lat.floor" 2) frp99=$(col "$T/lat.floor" 6)
	echo "floor (aiss-fsync-floor: same protocol, load and generator, one write + fdatasync per turn, no ledger), medians of $ROUNDS runs alternating with aissd's: p50 $(col "$T/lat.floor" 1) us, p99 ${fp99} us per pair (runs: $(cols "$T/lat.floor" 2)); per request p50 $(col "$T/lat.floor" 5) us, p99 ${frp99} us (runs: $(cols "$T/lat.floor" 6)); generator lag p99 $(col "$T/lat.floor" 4) us"
	ratios=$(paste -d' ' "$T/lat.aiss" "$T/lat.floor" | awk '{ printf "%s%.2f", (NR > 1 ? " " : ""), ($10 > 0 ? $2 / $10 : 0) }')
	echo "  aissd / floor, p99 per pair: $(echo "scale=2; ${aiss_p99%.*} / ${fp99%.*}" | bc) of the medians (per round: $ratios); per request $(echo "scale=2; ${aiss_rp99%.*} / ${frp99%.*}" | bc)"
fi
echo "aissd open loop at $RATE pairs/s offered (Poisson): achieved $(field pairs_per_s "$poisson")/s, p50 $(field p50_us "$poisson") us, p99 $(field p99_us "$poisson") us, p99.9 $(field p999_us "$poisson") us"
echo "aissd open loop at ${HALF} pairs/s offered (a quarter of the closed-loop rate): p50 ${half_p50} us, p99 ${half_p99} us"
if [ -n "${pg_tps:-}" ]; then
	ratio=$(echo "scale=2; $aiss_pairs / $pg_tps" | bc)
	echo "pgbench: ${pg_tps} TPC-B-like tps (median of $ROUNDS, $CONNS clients, synchronous_commit=on); at offered $RATE tps achieved ${pg_fixed_tps:-?}, p50 ${pg_p50:-?} us, p99 ${pg_p99:-?} us"
	echo "ratio: aissd pairs/s / pgbench tps = ${ratio} (target >= 2: $(echo "$ratio >= 2" | bc | sed 's/1/met/;s/^0$/NOT met/'); same client count, $CONNS each, one request in flight per client)"
fi
if [ -n "${pipe_pairs:-}" ]; then
	echo "aissd pipelined: ${pipe_pairs} pairs/s with $CONNS clients x $DEPTH pairs in flight ($INFLIGHT requests in flight)"
	if [ -n "${pg_pipe_tps:-}" ]; then
		pratio=$(echo "scale=2; $pipe_pairs / $pg_pipe_tps" | bc)
		echo "pgbench: ${pg_pipe_tps} tps with $INFLIGHT clients (scale $INFLIGHT)"
		echo "ratio at equal requests in flight ($INFLIGHT): aissd pipelined pairs/s / pgbench tps = ${pratio} (not the same-client-count figure above)"
	fi
fi
[ -n "${rss:-}" ] && echo "aissd RSS: ${rss} KiB now, ${hwm} KiB peak with ${RSS_GRANTS} grants and ~${RSS_ENTRIES} journal entries"
exit 0
