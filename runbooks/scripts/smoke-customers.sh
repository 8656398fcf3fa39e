#!/usr/bin/env bash
# Reads and writes one canary customer through the customer API. Prints OK on success.
set -euo pipefail
api="${CUSTOMERS_API_URL:-https://customers.internal}"
curl -fsS --max-time 10 "$api/healthz" >/dev/null
curl -fsS --max-time 10 "$api/v1/customers/canary" | jq -e '.id == "canary"' >/dev/null
curl -fsS --max-time 10 -X POST "$api/v1/customers/canary/touch" >/dev/null
echo OK
