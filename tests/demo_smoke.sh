#!/usr/bin/env bash
# `txscreen demo` for a few seconds, from a directory that is not the
# repository (the shipped pack is found beside the binary): it starts with nothing but the binary
# (embedded Kafka), serves the teller console, decides generated traffic,
# and stops cleanly on Ctrl-C (SIGINT) with every decision read back and its
# temporary state removed.
set -euo pipefail
txscreen="$1"
work="$(mktemp -d)"
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
"$txscreen" demo --rate 40 --scenario-share 0.2 --http 127.0.0.1:0 --every 1 \
  > "$work/out.txt" 2> "$work/err.txt" &
pid=$!
url=""
for _ in $(seq 1 200); do
  url="$(sed -n 's|^teller console: \(http://[^ ]*\)/console .*|\1|p' "$work/out.txt")"
  [ -n "$url" ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
[ -n "$url" ] || { echo "no console URL"; cat "$work/out.txt" "$work/err.txt"; exit 1; }
curl -fsS "$url/console" -o "$work/console.html"
grep -qi '<html' "$work/console.html" || { echo "console page missing"; exit 1; }
ready=""
for _ in $(seq 1 200); do
  if curl -fsS "$url/readyz" > /dev/null 2>&1; then ready=1; break; fi
  sleep 0.1
done
[ -n "$ready" ] || { echo "engine never ready"; exit 1; }
# Decisions arrive in the live summary.
for _ in $(seq 1 200); do
  grep -Eq 'decided [1-9][0-9]{2,}' "$work/out.txt" && break
  sleep 0.1
done
grep -Eq 'decided [1-9][0-9]{2,}' "$work/out.txt" || { echo "no decisions"; cat "$work/out.txt"; exit 1; }
curl -fsS "$url/metrics" -o "$work/metrics.txt"
grep -q '^txscreen_decisions_total' "$work/metrics.txt" || { echo "no metrics"; exit 1; }
state="$(sed -n 's|^txscreen demo: starting (log: \(.*\)/demo.log)|\1|p' "$work/out.txt")"
[ -d "$state" ] || { echo "no state dir $state"; exit 1; }
kill -INT "$pid"
code=0
wait "$pid" || code=$?
[ "$code" -eq 0 ] || { echo "demo exited $code"; cat "$work/err.txt"; exit 1; }
grep -q 'txscreen demo: stopped.' "$work/out.txt" || { echo "no final summary"; exit 1; }
tail -n 8 "$work/out.txt" | grep -q 'awaiting 0$' || { echo "decisions left unread"; tail -n 8 "$work/out.txt"; exit 1; }
[ ! -e "$state" ] || { echo "state dir $state left behind"; exit 1; }
echo "demo smoke: ok"
