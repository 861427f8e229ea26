#!/usr/bin/env bash
# Bounded load test on loopback: 200 concurrent clients for 60 s mixing logins, reads,
# user and contract searches and writes (tenants, contracts with a PDF); prints req/s,
# p50/p99, errors and RSS before/after. The rate limits stay on but are set far above the
# load (one address and two accounts send thousands of requests per second).
set -euo pipefail
cd "$(dirname "$0")/.."
T="${CARGO_TARGET_DIR:-target}"
cargo build --release --bin keiyaku --example bench_http
BENCH_KEIYAKU_BIN="$T/release/keiyaku" "$T/release/examples/bench_http" --load "${SECS:-60}" "${CLIENTS:-200}"
