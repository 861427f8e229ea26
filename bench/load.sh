#!/usr/bin/env bash
# Bounded load test on loopback: 200 concurrent clients for 60 s mixing logins, reads,
# searches and writes; prints req/s, p50/p99, errors and RSS before/after.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bin keiyaku --example bench_http
BENCH_KEIYAKU_BIN=target/release/keiyaku target/release/examples/bench_http --load "${SECS:-60}" "${CLIENTS:-200}"
