#!/usr/bin/env bash
# A few seconds of tools/loadtest at a low rate, so that it cannot rot: its
# own broker (port 19292), `txscreen serve`, the driver; then the JSON
# result must have every field of the contract, and every transaction a
# decision. With two CPUs or more, pinned (--pin). Meanwhile, on ports
# 19294 and 19296 (their brokers beside the first, which must not stop
# them):
# - a long run is sent SIGTERM: its driver, engine and broker must stop;
# - --find-max against an engine whose decisions it never sees (it reads
#   the dead-letter topic): max_sustainable_tps must be 0, not missing.
# And first, without any broker: bad values make the driver and the script
# exit 2 with a message, before anything starts.
#
# Usage: tests/loadtest_smoke.sh REPO OUT
# Env: TXSCREEN_BUILD_DIR (default REPO/build), LOADTEST_SMOKE_PORT (the
#      first broker's port, default 19292; the others are +2 and +4).
set -euo pipefail
repo="$1"
out="$(realpath -m -- "$2")"
build="${TXSCREEN_BUILD_DIR:-$repo/build}"
export TXSCREEN_BUILD_DIR="$build"
port="${LOADTEST_SMOKE_PORT:-19292}"
victim_port=$((port + 2)) finder_port=$((port + 4))
rm -rf "$out"
mkdir -p "$out"
pin=()
if (($(nproc) >= 2)); then pin=(--pin); fi

fail() { echo "loadtest smoke: $*" >&2; exit 1; }
listening() { timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }
# The pid in "... $2 (pid N)" of file $1, waiting up to 180 s for it while
# process $3 lives.
pid_from() {
  local pid=""
  for _ in $(seq 1800); do
    pid="$(sed -n "s/.*$2 (pid \([0-9]*\)).*/\1/p" "$1" | head -n 1)"
    [[ -z "$pid" ]] || { echo "$pid"; return 0; }
    kill -0 "$3" 2>/dev/null || break
    sleep 0.1
  done
  cat "$1" >&2
  fail "no '$2' in $1"
}
# Background load tests still running when this script ends are sent
# SIGTERM (they stop what they started).
background=() engine=""
cleanup() {
  [[ -z "$engine" ]] || kill -CONT "$engine" 2>/dev/null || true
  for pid in "${background[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${background[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

# --- Bad values: exit 2 and a message, no broker started.
expect_refusal() {
  local want="$1" status=0
  shift
  "$@" >"$out/refused.out" 2>"$out/refused.err" || status=$?
  ((status == 2)) || { cat "$out/refused.err" >&2; fail "exit $status, not 2: $*"; }
  grep -qF -- "$want" "$out/refused.err" ||
    { cat "$out/refused.err" >&2; fail "no \"$want\" from: $*"; }
  ! grep -q 'broker at' "$out/refused.err" || fail "a broker was started for: $*"
}
driver=("$build/bench/txscreen_loadtest" --brokers 127.0.0.1:1)
expect_refusal "loadtest: --duration must be in (0, 3600] s, got 0" \
  "${driver[@]}" --rates 100 --duration 0
expect_refusal "loadtest: --duration must be in (0, 3600] s, got -5" \
  "${driver[@]}" --rates 100 --duration -5
expect_refusal "loadtest: --warmup must be in [0, 3600] s, got -1" \
  "${driver[@]}" --rates 100 --warmup -1
expect_refusal "loadtest: --drain must be in [0, 600] s, got -1" \
  "${driver[@]}" --rates 100 --drain -1
expect_refusal "loadtest: --customers must be in [1, 100000000], got -1" \
  "${driver[@]}" --rates 100 --customers -1
expect_refusal "loadtest: --customers must be in [1, 100000000], got 0" \
  "${driver[@]}" --rates 100 --customers 0
expect_refusal "loadtest: --rates must be rates in (0, 1000000] transactions/s, got '1e9'" \
  "${driver[@]}" --rates 1e9
expect_refusal "loadtest: --max_rate must be in (0, 1000000] transactions/s, got 2e+06" \
  "${driver[@]}" --find_max --max_rate 2e6
expect_refusal "at most 200000000 in one run" \
  "${driver[@]}" --rates 1000000 --duration 3000
loadtest=("$repo/tools/loadtest" --port "$port")
expect_refusal "tools/loadtest: --duration must be in (0, 3600] s, got '0'" \
  "${loadtest[@]}" --rate 100 --duration 0
expect_refusal "tools/loadtest: --duration must be in (0, 3600] s, got '-5'" \
  "${loadtest[@]}" --rate 100 --duration -5
expect_refusal "tools/loadtest: --warmup must be in [0, 3600] s, got '-1'" \
  "${loadtest[@]}" --rate 100 --warmup -1
expect_refusal "tools/loadtest: --customers must be in [1, 100000000], got '0'" \
  "${loadtest[@]}" --rate 100 --customers 0
expect_refusal "tools/loadtest: --customers must be in [1, 100000000], got '-1'" \
  "${loadtest[@]}" --rate 100 --customers -1
expect_refusal "tools/loadtest: --rate must be rates in (0, 1000000] transactions/s, got '1e9'" \
  "${loadtest[@]}" --rate 100,1e9

# --- The long run to be stopped with SIGTERM, and --find-max, each with
# its own broker.
victim="$out/sigterm"
mkdir -p "$victim"
"$repo/tools/loadtest" --rate 100 --duration 180 --warmup 0 --prime 0 \
  --port "$victim_port" --customers 1000 --results "$victim" \
  >/dev/null 2>"$victim/stderr" &
victim_pid=$!
background+=("$victim_pid")
finder="$out/find-max"
mkdir -p "$finder"
"$repo/tools/loadtest" --find-max --duration 0.5 --warmup 0 --prime 0 \
  --port "$finder_port" --customers 1000 --results "$finder" \
  --json "$finder/copy.json" -- --min_rate 1000 --find_max_rates= \
  --drain 0 --decisions_topic txscreen.dead-letter \
  >/dev/null 2>"$finder/stderr" &
finder_pid=$!
background+=("$finder_pid")
victim_driver="$(pid_from "$victim/stderr" "driver running" "$victim_pid")"
victim_engine="$(pid_from "$victim/stderr" "engine ready" "$victim_pid")"
# --find-max is over (its broker stopped) before the measured run starts:
# on two cores its load would be that run's latency.
status=0
wait "$finder_pid" || status=$?
((status == 0)) || { cat "$finder/stderr" >&2; fail "--find-max exited $status"; }
grep -q '"max_sustainable_tps":0,' "$finder/result.json" ||
  { cat "$finder/result.json"; fail "no max_sustainable_tps 0 from --find-max"; }
cmp "$finder/result.json" "$finder/copy.json"
! grep -Eqi '[:,\[](-?nan|-?inf)' "$finder/result.json" || fail "NaN or infinity in --find-max's JSON"
grep -q 'maximum sustainable throughput: 0/s' "$finder/summary.txt" ||
  fail "no maximum in --find-max's summary"

# --- The run whose result is checked, from the folder above $out with
# relative paths. Once it has its partitions, its engine is stopped for a
# second (in the warm-up, mostly): the backlog it answers in the measured
# window must not count as achieved.
log="$out/loadtest.stderr"
(cd "$(dirname "$out")" &&
  exec "$repo/tools/loadtest" --rate 300 --duration 2 --warmup 2 --prime 0 \
    --port "$port" --customers 1000 --results "$(basename "$out")" \
    --json "$(basename "$out")/copy.json" "${pin[@]}") 2>"$log" &
main_pid=$!
background+=("$main_pid")
engine="$(pid_from "$log" "engine ready" "$main_pid")"
pid_from "$log" "driver running" "$main_pid" >/dev/null
for _ in $(seq 300); do
  ! grep -qs 'assigned partitions' "$out/serve.log" || break
  kill -0 "$main_pid" 2>/dev/null || break
  sleep 0.1
done
kill -STOP "$engine" 2>/dev/null || true
sleep 1
kill -CONT "$engine" 2>/dev/null || true
status=0
wait "$main_pid" || status=$?
cat "$log" >&2
((status == 0)) || fail "tools/loadtest exited $status"

json="$out/result.json"
[[ -f "$json" ]] || fail "no $json (relative --results taken from the repo?)"
[[ -f "$out/copy.json" ]] || fail "no $out/copy.json (relative --json taken from the repo?)"
cmp "$json" "$out/copy.json"
for key in offered_tps achieved_tps p50_ms p90_ms p99_ms p999_ms max_ms late \
           engine_cpu_us_per_tx sent decisions missing intervals; do
  grep -q "\"$key\":" "$json" || fail "no $key in $json"
done
! grep -Eqi '[:,\[](-?nan|-?inf)' "$json" || fail "NaN or infinity in $json"
grep -q '"offered_tps":300,' "$json" || fail "offered_tps is not 300"
grep -q '"missing":0,' "$json" || { cat "$json"; fail "decisions missing"; }
grep -q '"sent":1200,' "$json" || { cat "$json"; fail "not 1200 sent"; }
achieved=$(grep -o '"achieved_tps":[0-9.]*' "$json" | head -n 1 | cut -d: -f2)
# Below 300 only when the engine falls behind (on a busy machine a commit
# can stall for seconds), so no lower bound.
awk -v v="$achieved" 'BEGIN { exit !(v > 0 && v <= 301) }' ||
  fail "achieved_tps $achieved at 300/s offered (the warm-up's backlog counted?)"
# The engine's CPU by thread: serve names its committer, so each group is
# found (one screening thread, one committer).
for group in screening committer librdkafka rocksdb other; do
  grep -q "\"engine_cpu_us_per_tx_by_thread\":{[^}]*\"$group\":" "$json" ||
    fail "no $group in engine_cpu_us_per_tx_by_thread"
done
grep -q '"engine_threads":{[^}]*"committer":1,' "$json" ||
  { cat "$json"; fail "not one committer thread"; }
grep -q '"engine_threads":{[^}]*"screening":1' "$json" ||
  { cat "$json"; fail "not one screening thread"; }
# At 300/s the screening thread sleeps between messages: its voluntary
# context switches per transaction are read from /proc and are not zero.
switches=$(grep -o '"engine_switches_per_tx_by_thread":{[^}]*}' "$json" |
  grep -o '"screening":[0-9.]*' | cut -d: -f2 || true)
awk -v v="${switches:-0}" 'BEGIN { exit !(v > 0) }' ||
  fail "no context switches of the screening thread: '$switches'"
grep -q '<svg' "$out/latency.svg" || fail "no plot"
grep -Eq '"measured_from":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z"' "$json" ||
  fail "no measured_from"
for m in txscreen_commit_ack_wait_seconds_count \
         txscreen_commit_hand_off_seconds_count \
         txscreen_commit_execute_seconds_count; do
  grep -q "^$m [1-9]" "$out/metrics.txt" || fail "no $m in metrics"
done
[[ -s "$out/rocksdb.LOG" ]] || fail "no rocksdb.LOG"
[[ -s "$out/broker.log" ]] || fail "no broker.log"
if ((${#pin[@]})); then
  grep -q 'pinned' "$json" || fail "not noted as pinned"
fi
grep -q 'offered/s' "$out/summary.txt" || fail "no summary"

# --- The long run kept its broker through the others' starts and stops;
# SIGTERM stops it, its driver, its engine and its broker.
kill -0 "$victim_pid" 2>/dev/null || { cat "$victim/stderr" >&2; fail "the long run ended early"; }
listening "$victim_port" || fail "the long run's broker was stopped by another load test"
kill -0 "$victim_driver" 2>/dev/null || fail "the long run's driver is gone before SIGTERM"
kill -TERM "$victim_pid"
for _ in $(seq 600); do kill -0 "$victim_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$victim_pid" 2>/dev/null && fail "tools/loadtest still runs 60 s after SIGTERM"
status=0
wait "$victim_pid" || status=$?
((status == 143)) || { cat "$victim/stderr" >&2; fail "exit $status after SIGTERM, not 143"; }
! kill -0 "$victim_driver" 2>/dev/null || fail "the driver (pid $victim_driver) outlived SIGTERM"
! kill -0 "$victim_engine" 2>/dev/null || fail "the engine (pid $victim_engine) outlived SIGTERM"
! listening "$victim_port" || fail "the broker on $victim_port outlived SIGTERM"

echo "loadtest smoke: ok"
