#!/usr/bin/env bash
# What a roll-back's progress costs the log: the example ransomware tabletop (headless,
# its answers) with its bucket made N keys (`sim: { objects: N }`), every one rolled
# back; prints the wall time, the log's lines and bytes, and how many of them are
# progress counts. Each line of the log is fdatasync'd before anyone sees it.
#   bench/progress.sh [N]   (SPEED=k runs the clock k times faster; LIFEBOAT=path another build)
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-200000}"
bin="${LIFEBOAT:-$PWD/target/debug/lifeboat}"
[ -n "${LIFEBOAT:-}" ] || cargo build --quiet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r runbooks "$work/"
bucket='{ kind: s3-bucket, id: orders-docs-prod,   role: production'
sed -i "s|$bucket }|$bucket, sim: { objects: $n, prefixes: $(( (n + 99999) / 100000 )) } }|" "$work/runbooks/datasets.yaml"
grep -q "objects: $n" "$work/runbooks/datasets.yaml"
cd "$work/runbooks"
start=$(date +%s.%N)
LIFEBOAT_WORK_DIR="$work/plans" LIFEBOAT_OPERATOR=bench "$bin" tabletop orders-docs-ransomware.yaml --headless \
  --speed "${SPEED:-1}" --answers answers/orders-docs-ransomware.yaml --log run.jsonl > /dev/null 2>&1
end=$(date +%s.%N)
echo "keys $n: wall $(echo "$end - $start" | bc) s, log $(wc -l < run.jsonl) lines, $(wc -c < run.jsonl) bytes, $(grep -c '"type":"step_progress"' run.jsonl) progress counts"
