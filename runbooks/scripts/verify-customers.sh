#!/usr/bin/env bash
# Verifies a restored customer database: the schema is there, row counts are within 1%
# of the last nightly figures, and no KYC record lacks its customer. Prints OK.
set -euo pipefail
# A CI replay on the simulated cloud (`run --cloud sim`) has no real service to reach:
# say so in the log rather than pretend a check ran.
if [ "${LIFEBOAT_CLOUD:-}" = sim ]; then
  echo "OK (simulated cloud: no database was queried; nothing was checked)"
  exit 0
fi
endpoint="${1:?usage: verify-customers.sh ENDPOINT}"
export PGHOST="${endpoint%:*}" PGPORT="${endpoint##*:}" PGDATABASE="${PGDATABASE:-customers}"
expected=$(aws ssm get-parameter --name /customers/nightly-row-count --query Parameter.Value --output text)
actual=$(psql -Atc "select count(*) from customers")
awk -v a="$actual" -v e="$expected" 'BEGIN { d = (a - e) / e; if (d < -0.01 || d > 0.01) exit 1 }' \
  || { echo "row count $actual is not within 1% of $expected" >&2; exit 1; }
orphans=$(psql -Atc "select count(*) from kyc_records k left join customers c on c.id = k.customer_id where c.id is null")
[ "$orphans" = 0 ] || { echo "$orphans KYC records without a customer" >&2; exit 1; }
echo OK
