#!/usr/bin/env bash
# Benchmark: `lifeboat validate` of one runbook with N steps in 10 phases (each phase a
# chain whose last step reads its first), peak memory and wall time per size.
# Targets (issue 11): 28k steps under 200 MB and under 2 s; memory linear in the steps.
# Usage: bench/validate_steps.sh [SIZES...]   (PROFILE=debug to skip the release build)
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${PROFILE:-release}"
if [ "$profile" = release ]; then cargo build --release --quiet; else cargo build --quiet; fi
bin="target/$profile/lifeboat"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(5000 10000 28000)
printf '%8s %12s %10s\n' steps peak_MiB wall_s
for n in "${sizes[@]}"; do
  dir="$work/$n"; mkdir -p "$dir"
  cp runbooks/datasets.yaml "$dir/"
  python3 - "$n" > "$dir/big.yaml" <<'PY'
import sys
# Compact, to fit the 1 MiB file limit: waits of one second, and in each phase the last
# step reads the first one's output through the whole chain of implied `needs`.
n = int(sys.argv[1]); phases = 10; per = n // phases
print("apiVersion: lifeboat/v1\nkind: Runbook\nid: big\ntitle: Big\ndataset: orders-docs\nscenario: other\nphases:")
for p in range(phases):
    print(f"- id: p{p}\n  title: P\n  budget: 1m\n  steps:")
    for i in range(per):
        k = p * per + i
        if i == 0:
            print(f"  - {{id: s{k}, title: T, run: x, outputs: [v]}}")
        elif i == per - 1:
            print(f"  - {{id: s{k}, title: T, run: 'echo ${{{{ steps.s{p*per}.outputs.v }}}}'}}")
        else:
            print(f"  - {{id: s{k}, title: T, wait: 1s}}")
PY
  /usr/bin/time -f '%M %e' -o "$dir/time" "$bin" validate "$dir/big.yaml" >/dev/null 2>"$dir/err" \
    || { cat "$dir/err" >&2; exit 1; }
  read -r kb secs < "$dir/time"
  printf '%8s %12.1f %10s\n' "$n" "$(echo "$kb / 1024" | bc -l)" "$secs"
done
