#!/usr/bin/env bash
# S3 roll-back benchmark: lifeboat vs s3-pit-restore vs a 32-thread boto3 script, on one
# local moto server (see bench/s3_restore.py). Usage: bench/s3_restore.sh
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet --disable-pip-version-check 'moto[server]==5.2.5' 's3-pit-restore==0.9' boto3
cargo build --release --quiet
LIFEBOAT=target/release/lifeboat python3 bench/s3_restore.py
