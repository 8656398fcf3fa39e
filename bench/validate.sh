#!/usr/bin/env bash
# Benchmark: `lifeboat validate` over 1,000 generated runbooks (the five examples, each
# copied 200 times under new ids) plus their catalog. Target: under 1 s on 2 cores.
# Usage: bench/validate.sh [COUNT]   (needs hyperfine: apt-get install hyperfine)
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-1000}"
# LIFEBOAT=path runs another build instead (an older commit, for a same-day comparison).
bin="${LIFEBOAT:-target/release/lifeboat}"
[ -n "${LIFEBOAT:-}" ] || cargo build --release --quiet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp runbooks/datasets.yaml "$work/"
examples=(runbooks/*.yaml)
n=0
while [ "$n" -lt "$count" ]; do
  for f in "${examples[@]}"; do
    [ "$(basename "$f")" = datasets.yaml ] && continue
    [ "$n" -ge "$count" ] && break
    sed -E "s/^id: (.*)$/id: \1-$n/" "$f" > "$work/rb-$n.yaml"
    n=$((n + 1))
  done
done
echo "generated $n runbooks in $work ($(du -sh "$work" | cut -f1))"
"$bin" validate "$work" 2>&1 | tail -1
hyperfine --warmup 2 --runs 10 -N "$bin validate $work"
