#!/usr/bin/env bash
# Engine benchmarks on the release binary (needs hyperfine: apt-get install hyperfine).
#  1. overhead per step: a 1,000-step no-op runbook (`wait: 0s`) on the virtual clock,
#     every event appended and fdatasync'd, checkpoints signed. Target: under 1 ms a step.
#  2. parallel branches: four branches of `wait` steps whose longest chain (the critical
#     path) is 20 virtual minutes = 2.0 s at --speed 600. Target: wall ≤ 1.05 × 2.0 s.
set -euo pipefail
cd "$(dirname "$0")/.."
# LIFEBOAT=path runs another build instead (an older commit, for a same-day comparison).
bin="${LIFEBOAT:-$PWD/target/release/lifeboat}"
[ -n "${LIFEBOAT:-}" ] || cargo build --release --quiet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/datasets.yaml" <<'YAML'
apiVersion: lifeboat/v1
kind: DatasetCatalog
datasets:
  - { id: bench, title: Bench, classification: internal, rpo: 1h, rto: 3d, primary: { region: eu-central-1 } }
YAML
{
  printf 'apiVersion: lifeboat/v1\nkind: Runbook\nid: noop\ntitle: No-op\ndataset: bench\nscenario: other\nphases:\n'
  for p in $(seq 0 9); do
    printf '  - id: p%s\n    title: P%s\n    budget: 1h\n    steps:\n' "$p" "$p"
    for s in $(seq 0 99); do printf '      - { id: s%s-%s, title: S, wait: 0s }\n' "$p" "$s"; done
  done
} > "$work/noop.yaml"
{
  printf 'apiVersion: lifeboat/v1\nkind: Runbook\nid: par\ntitle: Parallel\ndataset: bench\nscenario: other\nphases:\n  - id: p\n    title: P\n    budget: 1h\n    steps:\n'
  # Branch b has (b+1)*5 one-minute... the longest: 20 steps of 1m.
  for b in 0 1 2 3; do
    n=$(( (b + 1) * 5 ))
    for s in $(seq 1 $n); do
      if [ "$s" = 1 ]; then needs='[]'; else needs="[b$b-$((s - 1))]"; fi
      printf '      - { id: b%s-%s, title: S, wait: 1m, needs: %s }\n' "$b" "$s" "$needs"
    done
  done
} > "$work/par.yaml"
"$bin" validate "$work" 2>&1 | tail -1
key="$work/key"; ssh-keygen -q -t ed25519 -N '' -f "$key"
echo "== 1,000 no-op steps, signed log on $(df --output=fstype "$work" | tail -1)"
hyperfine --warmup 1 --runs 5 -N --prepare "rm -f $work/noop.jsonl $work/noop.jsonl.sig" \
  "$bin run $work/noop.yaml --headless --cloud sim --speed 1000 --log $work/noop.jsonl --sign-key $key"
echo "events per run: $(wc -l < "$work/noop.jsonl")"
echo "== 4 parallel branches, critical path 20 virtual minutes = 2.000 s at 600x"
hyperfine --warmup 1 --runs 5 -N --prepare "rm -f $work/par.jsonl $work/par.jsonl.sig" \
  "$bin run $work/par.yaml --headless --cloud sim --speed 600 --log $work/par.jsonl --sign-key $key"
