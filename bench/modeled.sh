#!/usr/bin/env bash
# The same tabletop at several speeds: the example ransomware roll-back, headless with its
# answers, its bucket made N keys on the simulated cloud (`sim: { objects: N }`). Prints,
# per speed, each timed step's modeled duration, the verdict, the real time and the peak
# memory: the modeled figures must not move with the speed.
#   bench/modeled.sh [N] [SPEED...]   (LIFEBOAT=path for another build; release by default)
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-1000000}"
[ $# -gt 0 ] && shift
if [ $# -gt 0 ]; then speeds=("$@"); else speeds=(20 1000 10000); fi
bin="${LIFEBOAT:-$PWD/target/release/lifeboat}"
[ -n "${LIFEBOAT:-}" ] || cargo build --quiet --release
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r runbooks "$work/"
LIFEBOAT="$bin" bash scripts/demo-approvals "$work/runbooks" > /dev/null
bucket='{ kind: s3-bucket, id: orders-docs-prod,   role: production'
sed -i "s|$bucket }|$bucket, sim: { objects: $n } }|" "$work/runbooks/datasets.yaml"
grep -q "objects: $n" "$work/runbooks/datasets.yaml"
cd "$work/runbooks"
for speed in "${speeds[@]}"; do
  log="$work/run-$speed.jsonl"
  /usr/bin/time -f "%e %M" -o "$work/time" env LIFEBOAT_WORK_DIR="$work/plans-$speed" LIFEBOAT_OPERATOR=bench \
    "$bin" tabletop orders-docs-ransomware.yaml --headless --speed "$speed" \
    --answers answers/orders-docs-ransomware.yaml --log "$log" > /dev/null 2>&1 || true
  read -r real kb < "$work/time"
  python3 - "$log" "$speed" "$real" "$kb" <<'PY'
import json, sys
log, speed, real, kb = sys.argv[1:]
steps, end = [], {}
for line in open(log):
    r = json.loads(line)
    if r["type"] == "step_finished" and r["duration_ms"] >= 1000:
        steps.append(f'{r["step"]} {r["duration_ms"] / 1000:.1f} s')
    if r["type"] == "run_finished":
        end = r
print(f'{speed}×: {", ".join(steps)}; {end.get("status")}, RTO {end.get("rto_ms", 0) / 1000:.0f} s (met {end.get("rto_met")}); real {real} s, peak {int(kb) // 1024} MiB')
PY
done
