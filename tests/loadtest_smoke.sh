#!/usr/bin/env bash
# A few seconds of tools/loadtest at a low rate, so that it cannot rot: its
# own broker (port 19292), `txscreen serve`, the driver; then the JSON
# result must have every field of the contract, and every transaction a
# decision. With two CPUs or more, pinned (--pin).
set -euo pipefail
repo="$1"
out="$2"
rm -rf "$out"
pin=()
if (($(nproc) >= 2)); then pin=(--pin); fi
"$repo/tools/loadtest" --rate 300 --duration 2 --warmup 1 --prime 0 --port 19292 \
  --customers 1000 --results "$out" --json "$out/copy.json" "${pin[@]}"
json="$out/result.json"
cmp "$json" "$out/copy.json"
for key in offered_tps achieved_tps p50_ms p90_ms p99_ms p999_ms max_ms late \
           engine_cpu_us_per_tx sent decisions missing intervals; do
  grep -q "\"$key\":" "$json" || { echo "no $key in $json"; exit 1; }
done
grep -q '"offered_tps":300,' "$json" || { echo "offered_tps is not 300"; exit 1; }
grep -q '"missing":0,' "$json" || { echo "decisions missing"; cat "$json"; exit 1; }
grep -q '"sent":900,' "$json" || { echo "not 900 sent"; cat "$json"; exit 1; }
# The engine's CPU by thread: serve names its committer, so each group is
# found (one screening thread, one committer).
for group in screening committer librdkafka rocksdb other; do
  grep -q "\"engine_cpu_us_per_tx_by_thread\":{[^}]*\"$group\":" "$json" ||
    { echo "no $group in engine_cpu_us_per_tx_by_thread"; exit 1; }
done
grep -q '"engine_threads":{[^}]*"committer":1,' "$json" ||
  { echo "not one committer thread"; cat "$json"; exit 1; }
grep -q '"engine_threads":{[^}]*"screening":1' "$json" ||
  { echo "not one screening thread"; cat "$json"; exit 1; }
# At 300/s the screening thread sleeps between messages: its voluntary
# context switches per transaction are read from /proc and are not zero.
switches=$(grep -o '"engine_switches_per_tx_by_thread":{[^}]*}' "$json" |
  grep -o '"screening":[0-9.]*' | cut -d: -f2 || true)
awk -v v="${switches:-0}" 'BEGIN { exit !(v > 0) }' ||
  { echo "no context switches of the screening thread: '$switches'"; exit 1; }
grep -q '<svg' "$out/latency.svg" || { echo "no plot"; exit 1; }
grep -Eq '"measured_from":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z"' "$json" ||
  { echo "no measured_from"; exit 1; }
for m in txscreen_commit_ack_wait_seconds_count \
         txscreen_commit_hand_off_seconds_count \
         txscreen_commit_execute_seconds_count; do
  grep -q "^$m [1-9]" "$out/metrics.txt" || { echo "no $m in metrics"; exit 1; }
done
[[ -s "$out/rocksdb.LOG" ]] || { echo "no rocksdb.LOG"; exit 1; }
if ((${#pin[@]})); then
  grep -q 'pinned' "$json" || { echo "not noted as pinned"; exit 1; }
fi
grep -q 'offered/s' "$out/summary.txt" || { echo "no summary"; exit 1; }
echo "loadtest smoke: ok"
