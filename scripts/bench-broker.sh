#!/usr/bin/env bash
# Broker throughput (`make bench-broker`): a librdkafka client (bench/rdkafka_bench.c) produces and consumes
# 100-byte and 1 KiB records against the release `eddy broker`, with acks=1 and acks=all, and the figures are
# printed next to this machine's disk bandwidth, measured in the same run on the same file system:
#   - write+fsync: dd of BENCH_DISK_MIB MiB with conv=fdatasync; this is fsync_mb_per_s. By default as many
#     bytes as the largest case writes: a virtual disk can take a short burst much faster than it sustains
#     (on the 2-CPU VM this was tuned on, 1 GiB at ~1.9 GB/s, 4 GiB at 1.1-1.3 GB/s), and the cases are
#     compared with what the disk sustains over the same volume. The 1 GiB burst is printed too (it was the
#     reference until 2026-11; BENCH lines carry it as fsync_burst_mb_per_s and burst_ratio, to compare with
#     older runs);
#   - write+fdatasync every 1 MiB (the client's fsync mode: what syncing every batch costs);
#   - plain sequential write (dd without fdatasync: into the page cache, what acks=1 pays);
#   - sequential read (dd iflag=direct, from the device, bypassing the page cache); consume ratios use it.
# The page cache is warmed first (see below), then each is measured before the broker starts and again after
# it stops, and the median of those runs is used: the figures swing from run to run on a VM.
# Each produce case writes to its own topic of 4 partitions from 4 producer instances (4 connections):
# librdkafka puts one partition in each ProduceRequest and the broker answers a connection's requests in
# order, so it takes several connections for acks=all requests to share an fsync (group commit). The
# consume cases read the acks=1 topic from the beginning. MB = 10^6 bytes of record values.
# Environment: BENCH_DIR (parent of the temporary directory; default $TMPDIR or /tmp), BENCH_SMALL_COUNT,
# BENCH_LARGE_COUNT, BENCH_DISK_MIB, BENCH_PARTITIONS, BENCH_PRODUCERS.
set -euo pipefail
cd "$(dirname "$0")/.."

small_count=${BENCH_SMALL_COUNT:-15000000}  # 100-byte records per case (1.5 GB of values)
large_count=${BENCH_LARGE_COUNT:-4000000}   # 1 KiB records per case (4 GB of values)
largest_mib=$(( (large_count * 1024 > small_count * 100 ? large_count * 1024 : small_count * 100) / 1048576 ))
disk_mib=${BENCH_DISK_MIB:-$(( largest_mib > 1024 ? largest_mib : 1024 ))}
burst_mib=$(( disk_mib < 1024 ? disk_mib : 1024 ))
partitions=${BENCH_PARTITIONS:-4}
producers=${BENCH_PRODUCERS:-4}

client=.build/bench/rdkafka_bench
eddy=.build/release/eddy

echo "== building the librdkafka client ($client) and the release broker"
mkdir -p .build/bench
gcc -O2 -Wall -Wextra -o "$client" bench/rdkafka_bench.c $(pkg-config --cflags --libs rdkafka) -lpthread
swift build -c release --product eddy >.build/bench/build.log 2>&1 || { cat .build/bench/build.log; exit 1; }
tail -1 .build/bench/build.log

work=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/eddy-bench.XXXXXX")
broker_pid=""
cleanup() {
  if [ -n "$broker_pid" ] && kill -0 "$broker_pid" 2>/dev/null; then kill -KILL "$broker_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# field NAME LINE: the value of NAME=value in a RESULT line.
field() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"; }
calc() { awk "BEGIN { printf \"$1\", ($2) }"; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "%.1f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# dd's byte count and seconds → MB/s (10^6 bytes), from its summary line on stderr. Allows 10 MB/s.
dd_timeout=$(( 60 + disk_mib / 10 ))
dd_mbps() {
  timeout "$dd_timeout" dd "$@" 2>&1 | awk '/copied/ { printf "%.1f", $1 / $(NF-3) / 1e6; ok = 1 } END { exit !ok }' ||
    { echo "bench-broker: dd $* failed or took more than $dd_timeout s" >&2; return 1; }
}

ddfile="$work/dd.bin"
fsync_runs=() burst_runs=() chunk_runs=() write_runs=() read_runs=()
measure_disk() { # two rounds of each measurement, appended to the *_runs arrays
  sync -f "$work"
  for _ in 1 2; do
    fsync_runs+=("$(dd_mbps if=/dev/zero of="$ddfile" bs=1M count="$disk_mib" conv=fdatasync)")
    rm -f "$ddfile"
    burst_runs+=("$(dd_mbps if=/dev/zero of="$ddfile" bs=1M count="$burst_mib" conv=fdatasync)")
    rm -f "$ddfile"
    chunk_runs+=("$(field mb_per_s "$(timeout "$dd_timeout" "$client" fsync "$ddfile" 1048576 $((burst_mib * 1048576)))")")
  done
  write_runs+=("$(dd_mbps if=/dev/zero of="$ddfile" bs=1M count="$disk_mib")")
  sync -f "$work"
  read_runs+=("$(dd_mbps if="$ddfile" of=/dev/null bs=1M iflag=direct)")
  rm -f "$ddfile"
}
# Warm-up: write and delete a file as large as the largest case. On a VM the first touch of guest memory
# the page cache has not held yet costs several times a later one (see size_case), and without this
# whichever case ran first on fresh memory paid for it (acks=all ran first and lost up to half its rate),
# and so did the first disk measurement (a 1 GiB dd ran at 300-600 MB/s cold, ~1.9 GB/s warm).
warm_mib=$((largest_mib + 64))
echo "== warming the page cache: writing and deleting $warm_mib MiB"
timeout 300 dd if=/dev/zero of="$work/warm.bin" bs=1M count="$warm_mib" status=none
rm -f "$work/warm.bin"
echo "== disk bandwidth on the file system of $work ($(df -P "$work" | awk 'NR == 2 { print $1 }')), before the broker runs"
measure_disk
echo "  write+fsync (dd $disk_mib MiB conv=fdatasync): ${fsync_runs[*]} MB/s; $burst_mib MiB burst: ${burst_runs[*]} MB/s;" \
  "write+fdatasync every 1 MiB: ${chunk_runs[*]} MB/s"
echo "  plain write (dd, page cache): ${write_runs[*]} MB/s; sequential read (dd iflag=direct): ${read_runs[*]} MB/s"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
brokers="127.0.0.1:$port"
mkdir "$work/data"
"$eddy" broker --data-dir "$work/data" --listen "$brokers" --num-partitions "$partitions" \
  --log-level warning >"$work/broker.log" 2>&1 &
broker_pid=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "the broker did not start:"; cat "$work/broker.log"; exit 1; }
echo "== eddy $("$eddy" --version) broker on $brokers (pid $broker_pid), $partitions partitions a topic, data in $work/data"

ticks=$(getconf CLK_TCK)
broker_cpu() { awk -v t="$ticks" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$broker_pid/stat"; }

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
declare -A rec mbs secs bcpu ccpu
run_case() { # NAME COMMAND...
  local name=$1; shift
  sync -f "$work"
  local before after out
  before=$(broker_cpu)
  if ! out=$(timeout 180 "$client" "$@"); then
    echo "$name failed:"; echo "$out"; echo "broker log:"; tail -20 "$work/broker.log"; exit 1
  fi
  after=$(broker_cpu)
  out=$(grep '^RESULT' <<<"$out")
  rec[$name]=$(field records_per_s "$out")
  mbs[$name]=$(field mb_per_s "$out")
  secs[$name]=$(field seconds "$out")
  ccpu[$name]=$(field client_cpu_s "$out")
  bcpu[$name]=$(calc "%.2f" "$after - $before")
  printf '  %-22s %10s records/s %9s MB/s  %7s s  broker CPU %6s s  client CPU %6s s\n' \
    "$name" "${rec[$name]}" "${mbs[$name]}" "${secs[$name]}" "${bcpu[$name]}" "${ccpu[$name]}"
}

echo "== cases: $producers producers (linger.ms=5, batch.size=1 MiB, no compression, round-robin over partitions)"
# size_case LABEL BYTES COUNT: acks=all into a fresh topic, which is then deleted; acks=1 into another,
# which is consumed and deleted. Deleting as soon as a topic is done keeps the page cache the run fills to
# one case's data, recycled from case to case: on a VM, writing into memory the guest has not touched lately
# can cost several times more than writing into memory it just freed (on the 2-CPU Firecracker VM this was
# written on, 2 GiB dd writes into the page cache ran at 350-550 MB/s into fresh memory, 1-3.6 GB/s after
# an rm), and the last case of a run that kept every topic paid for it.
size_case() {
  local label=$1 size=$2 count=$3
  timeout 60 "$client" create "$brokers" "all-$label" "$partitions" >/dev/null
  run_case "produce_${label}_acks_all" produce "$brokers" "all-$label" "$size" "$count" all producers="$producers"
  timeout 60 "$client" delete "$brokers" "all-$label" >/dev/null
  timeout 60 "$client" create "$brokers" "one-$label" "$partitions" >/dev/null
  run_case "produce_${label}_acks_1" produce "$brokers" "one-$label" "$size" "$count" 1 producers="$producers"
  run_case "consume_$label" consume "$brokers" "one-$label" "$count"
  timeout 60 "$client" delete "$brokers" "one-$label" >/dev/null
}
size_case 100B 100 "$small_count"
size_case 1KiB 1024 "$large_count"

rss_kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$broker_pid/status")
rss_mb=$(calc "%.1f" "$rss_kb / 1024")
kill -TERM "$broker_pid"
for _ in $(seq 600); do kill -0 "$broker_pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$broker_pid" 2>/dev/null; then echo "the broker did not stop within 60 s of SIGTERM"; exit 1; fi
wait "$broker_pid" || { echo "the broker exited with status $?:"; tail -20 "$work/broker.log"; exit 1; }
broker_pid=""
rm -rf "$work/data"

echo "== disk bandwidth again, after the broker ran"
measure_disk
echo "  write+fsync (dd $disk_mib MiB conv=fdatasync): ${fsync_runs[*]:2} MB/s; $burst_mib MiB burst: ${burst_runs[*]:2} MB/s;" \
  "write+fdatasync every 1 MiB: ${chunk_runs[*]:2} MB/s"
echo "  plain write (dd, page cache): ${write_runs[*]:1} MB/s; sequential read (dd iflag=direct): ${read_runs[*]:1} MB/s"
fsync_mbps=$(median "${fsync_runs[@]}")
chunk_mbps=$(median "${chunk_runs[@]}")
burst_mbps=$(median "${burst_runs[@]}")
write_mbps=$(median "${write_runs[@]}")
read_mbps=$(median "${read_runs[@]}")

echo
echo "| case | records/s | MB/s | vs disk | broker CPU s | client CPU s | seconds |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for name in produce_100B_acks_all produce_100B_acks_1 produce_1KiB_acks_all produce_1KiB_acks_1 consume_100B consume_1KiB; do
  case $name in
    produce*) basis=$fsync_mbps; label="of fsync" ;;
    *) basis=$read_mbps; label="of read" ;;
  esac
  printf '| %s | %s | %s | %s %s | %s | %s | %s |\n' "$name" "${rec[$name]}" "${mbs[$name]}" \
    "$(calc "%.2f" "${mbs[$name]} / $basis")" "$label" "${bcpu[$name]}" "${ccpu[$name]}" "${secs[$name]}"
done
echo
echo "disk (median of the runs before and after): write+fsync $fsync_mbps MB/s (dd $disk_mib MiB conv=fdatasync; a $burst_mib MiB burst"
echo "      $burst_mbps MB/s), write+fdatasync per 1 MiB $chunk_mbps MB/s, plain write $write_mbps MB/s (page cache),"
echo "      sequential read $read_mbps MB/s (O_DIRECT)"
echo "broker peak RSS (VmHWM): $rss_mb MiB; $(nproc) CPUs shared by broker, client and"
echo "      whatever else runs (load average $load_before before the cases, $(cut -d' ' -f1-3 /proc/loadavg) after)"
verdict() { [ "$(calc "%d" "$1 >= $2")" = 1 ] && echo "met" || echo "MISSED"; }
echo "targets: 100-byte records >= 1 M records/s: acks=all $(verdict "${rec[produce_100B_acks_all]}" 1000000)," \
  "acks=1 $(verdict "${rec[produce_100B_acks_1]}" 1000000)"
echo "         acks=all produce (1 KiB records) >= half the write+fsync bandwidth:" \
  "$(verdict "${mbs[produce_1KiB_acks_all]}" "$fsync_mbps / 2") (ratio $(calc "%.2f" "${mbs[produce_1KiB_acks_all]} / $fsync_mbps"), target 0.50)"
# 100-byte records are bound by the client's per-record work, not by bytes: their target is records/s.
echo "         (100-byte acks=all: ratio $(calc "%.2f" "${mbs[produce_100B_acks_all]} / $fsync_mbps") of fsync, bound by the client's" \
  "per-record CPU: client ${ccpu[produce_100B_acks_all]} s vs broker ${bcpu[produce_100B_acks_all]} s; its target is records/s)"
echo
for name in produce_100B_acks_all produce_100B_acks_1 produce_1KiB_acks_all produce_1KiB_acks_1; do
  echo "BENCH $name records_per_s=${rec[$name]} mb_per_s=${mbs[$name]} fsync_mb_per_s=$fsync_mbps ratio=$(calc "%.3f" "${mbs[$name]} / $fsync_mbps")" \
    "fsync_burst_mb_per_s=$burst_mbps burst_ratio=$(calc "%.3f" "${mbs[$name]} / $burst_mbps")"
done
for name in consume_100B consume_1KiB; do
  echo "BENCH $name records_per_s=${rec[$name]} mb_per_s=${mbs[$name]} read_mb_per_s=$read_mbps ratio=$(calc "%.3f" "${mbs[$name]} / $read_mbps")"
done
echo "BENCH broker_peak_rss_mb=$rss_mb"
