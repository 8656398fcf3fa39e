#!/usr/bin/env bash
# Benchmark: `lifeboat watch` catching up on a finished, signed log — the time from
# start until its banner says the log is sealed and intact (every line through verify's
# chain and drawn), and the watcher's peak memory. Runs the watcher in tmux (it needs a
# terminal). Usage: bench/watch.sh LOG ALLOWED_SIGNERS DIR   (BIN=path to a given binary;
# DIR holds the log's runbook). Debug build unless BIN is given.
set -euo pipefail
log=$(realpath "$1"); allowed=$(realpath "$2"); dir=$(realpath "$3")
BIN="${BIN:-$(cd "$(dirname "$0")/.." && cargo build --quiet && pwd)/target/debug/lifeboat}"
out=$(mktemp); name="lifeboat-bench-watch-$$"
trap 'tmux kill-session -t "$name" 2>/dev/null || true; rm -f "$out"' EXIT
start=$(date +%s.%N)
tmux new-session -d -s "$name" -x 120 -y 40 \
  "/usr/bin/time -f %M -o $out $BIN watch $log --dir $dir --allowed-signers $allowed; sleep 60"
until tmux capture-pane -p -t "$name" | grep -q "sealed and intact"; do
  sleep 0.05
  [ "$(echo "$(date +%s) - ${start%.*} > 600" | bc)" = 0 ] || { echo "no verdict in 600 s:"; tmux capture-pane -p -t "$name"; exit 1; }
done
end=$(date +%s.%N)
tmux send-keys -t "$name" q
until [ -s "$out" ]; do sleep 0.05; done
printf 'lines %s  bytes %s  caught up in %.2f s  peak %.1f MiB\n' "$(wc -l < "$log")" "$(stat -c %s "$log")" \
  "$(echo "$end - $start" | bc)" "$(echo "scale=1; $(tail -1 "$out") / 1024" | bc)"
