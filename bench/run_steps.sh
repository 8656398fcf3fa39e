#!/usr/bin/env bash
# What a `run:` step costs lifeboat itself: a runbook of N steps of `run: "true"` (default
# 200), headless on the simulated cloud, signed; one whole process, start to seal. Each
# step's command is spawned behind the gate, its output batched, its leftovers looked for.
#   bench/run_steps.sh [BINARY] [N]      (BINARY: target/release/lifeboat by default)
# Before/after: farm-bench -n 5 --vs 'bench/run_steps.sh OLD' -- bench/run_steps.sh NEW
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-$PWD/target/release/lifeboat}"
n="${2:-200}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp runbooks/datasets.yaml "$work/"
{
  printf 'apiVersion: lifeboat/v1\nkind: Runbook\nid: steps\ntitle: Run steps\ndataset: orders-docs\nscenario: other\nphases:\n  - id: p\n    title: P\n    budget: 30m\n    steps:\n'
  for i in $(seq 1 "$n"); do printf '      - { id: s%d, title: S%d, run: "true" }\n' "$i" "$i"; done
} > "$work/steps.yaml"
ssh-keygen -q -t ed25519 -N '' -f "$work/key"
cd "$work"
LIFEBOAT_OPERATOR=bench "$bin" run steps.yaml --headless --cloud sim --sign-key "$work/key" --log "$work/run.jsonl" > /dev/null 2>&1
