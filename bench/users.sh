#!/usr/bin/env bash
# Issue 4 benchmark: searchUsers latency and createUser throughput at 10,000 users, against
# raw redb commits measured in the same run (service level, no HTTP). Prints numbers only.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --release -p keiyaku-users --example bench_users
