#!/usr/bin/env bash
# Benchmark: peak memory of a whole `run` whose log has N lines of command output (the
# end-of-run summary and verification stream the log), and of `verify` and `report` of
# that log. Target (issue 11): peak memory independent of the log's size.
# Usage: bench/end_of_run.sh [LINES...]   (PROFILE=debug to skip the release build;
# BIN=path to measure a given binary)
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${PROFILE:-release}"
if [ -z "${BIN:-}" ]; then
  if [ "$profile" = release ]; then cargo build --release --quiet; else cargo build --quiet; fi
  BIN="$PWD/target/$profile/lifeboat"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100000 1000000)
printf '%9s %9s %14s %14s %14s\n' lines log_MiB run_peak_MiB verify_peak_MiB report_peak_MiB
for n in "${sizes[@]}"; do
  dir="$work/$n"; mkdir -p "$dir"
  cp runbooks/datasets.yaml "$dir/"
  cat > "$dir/rb.yaml" <<YAML
apiVersion: lifeboat/v1
kind: Runbook
id: loud
title: Loud
dataset: orders-docs
scenario: other
phases:
  - id: p
    title: P
    budget: 30m
    steps:
      - { id: out, title: Out, run: "seq $n" }
YAML
  peak() { /usr/bin/time -f '%M' -o "$dir/t" "$@" >/dev/null 2>&1 || true; echo "scale=1; $(cat "$dir/t" | tail -1) / 1024" | bc; }
  (cd "$dir" && r=$(peak "$BIN" run rb.yaml --headless --cloud sim --log run.jsonl)
   v=$(peak "$BIN" verify run.jsonl); p=$(peak "$BIN" report run.jsonl)
   printf '%9s %9s %14s %14s %14s\n' "$n" "$(du -m run.jsonl | cut -f1)" "$r" "$v" "$p")
done
