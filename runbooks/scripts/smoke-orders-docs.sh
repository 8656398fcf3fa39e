#!/usr/bin/env bash
# Fetches the three newest invoices through the orders API and checks they are PDFs,
# not ciphertext. Prints OK on success (lifeboat's `expect` looks for it).
set -euo pipefail
bucket="${1:?usage: smoke-orders-docs.sh BUCKET}"
api="${ORDERS_API_URL:-https://orders.internal}"
ids=$(curl -fsS --max-time 10 "$api/v1/invoices?limit=3" | jq -r '.[].id')
[ -n "$ids" ] || { echo "no invoices returned by $api" >&2; exit 1; }
for id in $ids; do
  magic=$(curl -fsS --max-time 10 "$api/v1/invoices/$id/document" | head -c 4)
  [ "$magic" = "%PDF" ] || { echo "invoice $id in $bucket is not a PDF" >&2; exit 1; }
done
echo OK
