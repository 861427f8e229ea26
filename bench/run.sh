#!/usr/bin/env bash
# Builds the release binary and runs the HTTP benchmark (numbers are for this machine; the
# ratios compare against a bare poem server measured in the same run).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bin keiyaku --example bench_http
BENCH_KEIYAKU_BIN=target/release/keiyaku target/release/examples/bench_http
