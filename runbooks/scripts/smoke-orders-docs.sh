#!/usr/bin/env bash
# Fetches the three newest invoices through the orders API and checks they are PDFs,
# not ciphertext. Prints OK on success (lifeboat's `expect` looks for it).
set -euo pipefail
# A CI replay on the simulated cloud (`run --cloud sim`) has no real service to reach:
# say so in the log rather than pretend a check ran.
if [ "${LIFEBOAT_CLOUD:-}" = sim ]; then
  echo "OK (simulated cloud: the orders API was not called; nothing was checked)"
  exit 0
fi
bucket="${1:?usage: smoke-orders-docs.sh BUCKET}"
api="${ORDERS_API_URL:-https://orders.internal}"
ids=$(curl -fsS --max-time 10 "$api/v1/invoices?limit=3" | jq -r '.[].id')
[ -n "$ids" ] || { echo "no invoices returned by $api" >&2; exit 1; }
for id in $ids; do
  magic=$(curl -fsS --max-time 10 "$api/v1/invoices/$id/document" | head -c 4)
  [ "$magic" = "%PDF" ] || { echo "invoice $id in $bucket is not a PDF" >&2; exit 1; }
done
echo OK
