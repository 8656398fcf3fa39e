#!/usr/bin/env bash
# The terminal UI on the release binary, in tmux (120×40):
#  1. a 500-step runbook whose first step prints 100,000 lines (each one an event in the
#     log and a line in the event pane), then 498 no-op steps, then a manual step that
#     waits for the operator;
#  2. idle CPU over 10 s while it waits (every thread of the process, from schedstat);
#  3. peak memory of the whole run (VmHWM).
# Frame draw times come from `cargo bench --bench tui` (run last).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
work=$(mktemp -d)
session="lifeboat-bench-$$"
trap 'tmux kill-session -t "$session" 2>/dev/null || true; rm -rf "$work"' EXIT
bin="$PWD/target/release/lifeboat"
cat > "$work/datasets.yaml" <<'YAML'
apiVersion: lifeboat/v1
kind: DatasetCatalog
datasets:
  - { id: bench, title: Bench, classification: internal, rpo: 1h, rto: 3d, primary: { region: eu-central-1 } }
YAML
cat > "$work/print.sh" <<'SH'
#!/bin/sh
awk 'BEGIN { for (i = 1; i <= 100000; i++) print "object " i " of 100,000 restored to its version before the attack" }'
SH
chmod +x "$work/print.sh"
{
  printf 'apiVersion: lifeboat/v1\nkind: Runbook\nid: big\ntitle: Five hundred steps\ndataset: bench\nscenario: other\nphases:\n'
  for p in $(seq 0 9); do
    printf '  - id: p%s\n    title: Phase %s\n    budget: 1h\n    steps:\n' "$p" "$p"
    for s in $(seq 0 49); do
      case "$p-$s" in
        0-0) printf '      - { id: print, title: Print 100000 lines, run: ./print.sh }\n' ;;
        9-49) printf '      - { id: last, title: Wait for the operator, manual: Nothing to do. }\n' ;;
        *) printf '      - { id: s%s-%s, title: Step %s of phase %s, wait: 0s }\n' "$p" "$s" "$s" "$p" ;;
      esac
    done
  done
} > "$work/big.yaml"
"$bin" validate "$work" 2>&1 | tail -1

screen() { tmux capture-pane -p -t "$session"; }
wait_for() {
  for _ in $(seq 1 1200); do
    if screen | grep -qF "$1"; then return 0; fi
    sleep 0.1
  done
  echo "timed out waiting for: $1" >&2; screen >&2; exit 1
}
tmux new-session -d -s "$session" -x 120 -y 40 -c "$work" \
  "LIFEBOAT_OPERATOR=bench exec $bin run big.yaml --cloud sim --mode drill --speed 1 --log $work/big.jsonl"
pid=$(tmux display -p -t "$session" '#{pane_pid}')
wait_for "operator"
tmux send-keys -t "$session" Enter; sleep 0.2; tmux send-keys -t "$session" Enter
wait_for "start the run?"
start=$(date +%s.%N)
tmux send-keys -t "$session" y
wait_for "Wait for the operator · manual · waiting for you"
end=$(date +%s.%N)
echo "== 500 steps, $(($(wc -l < "$work/big.jsonl"))) log lines written and drawn in $(echo "$end - $start" | bc) s (every event fdatasync'd)"

cpu_ns() { cat /proc/"$pid"/task/*/schedstat | awk '{ s += $1 } END { printf "%.0f\n", s }'; }
sleep 1
a=$(cpu_ns); t0=$(date +%s.%N); sleep 10; b=$(cpu_ns); t1=$(date +%s.%N)
echo "== idle, waiting for the operator: $(echo "scale=2; ($b - $a) / 1000000" | bc) ms CPU in $(echo "scale=2; $t1 - $t0" | bc) s = $(echo "scale=3; ($b - $a) / ($t1 - $t0) / 10000000" | bc)% of one core"
echo "== peak memory of the run: $(awk '/VmHWM/ { printf "%.1f MiB", $2 / 1024 }' /proc/"$pid"/status)"
tmux send-keys -t "$session" q
while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done

echo "== frame draw (cargo bench --bench tui)"
cargo bench --quiet --bench tui 2>/dev/null | grep -v '^$'
