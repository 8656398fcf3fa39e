#!/usr/bin/env bash
# A command's output at volume (issue 29): a `run:` step that prints LINES short lines
# (`yes abcdefghij | head -n LINES`, 11 bytes each), run headless on the simulated cloud.
# Prints the real time, the log's size against the output's and how many events carried
# the output.
#   bench/output.sh [LINES]   (LIFEBOAT=path for another build; release by default)
set -euo pipefail
cd "$(dirname "$0")/.."
lines="${1:-500000}"
bin="${LIFEBOAT:-$PWD/target/release/lifeboat}"
[ -n "${LIFEBOAT:-}" ] || cargo build --quiet --release
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp runbooks/datasets.yaml "$work/"
cat > "$work/flood.yaml" <<YAML
apiVersion: lifeboat/v1
kind: Runbook
id: flood
title: Output at volume
dataset: orders-docs
scenario: other
phases:
  - id: p
    title: P
    budget: 30m
    steps:
      - { id: flood, title: Flood, run: "yes abcdefghij | head -n $lines", timeout: 30m }
YAML
cd "$work"
/usr/bin/time -f "%e" -o "$work/time" env LIFEBOAT_OPERATOR=bench \
  "$bin" run flood.yaml --headless --cloud sim --log "$work/run.jsonl" > /dev/null 2> "$work/stderr" || {
  cat "$work/stderr"; exit 1; }
events=$(grep -c '"type":"step_output"' "$work/run.jsonl" || true)
size=$(stat -c %s "$work/run.jsonl")
printf 'lines %s  output %s bytes  real %ss  log %s bytes (%.2fx the output)  output events %s\n' \
  "$lines" $((lines * 11)) "$(cat "$work/time")" "$size" "$(echo "$size / ($lines * 11)" | bc -l)" "$events"
