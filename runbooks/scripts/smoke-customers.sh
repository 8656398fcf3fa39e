#!/usr/bin/env bash
# Reads and writes one canary customer through the customer API. Prints OK on success.
set -euo pipefail
# A CI replay on the simulated cloud (`run --cloud sim`) has no real service to reach:
# say so in the log rather than pretend a check ran.
if [ "${LIFEBOAT_CLOUD:-}" = sim ]; then
  echo "OK (simulated cloud: the customer API was not called; nothing was checked)"
  exit 0
fi
api="${CUSTOMERS_API_URL:-https://customers.internal}"
curl -fsS --max-time 10 "$api/healthz" >/dev/null
curl -fsS --max-time 10 "$api/v1/customers/canary" | jq -e '.id == "canary"' >/dev/null
curl -fsS --max-time 10 -X POST "$api/v1/customers/canary/touch" >/dev/null
echo OK
