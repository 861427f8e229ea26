#!/usr/bin/env bash
# Crash-safety soak: 1,000 SIGKILL cycles of the real server during concurrent writes
# (tenants, users, contracts with a PDF)
# (CI runs the same test with 50). Prints cycles, acknowledged writes and the time taken.
set -euo pipefail
cd "$(dirname "$0")/.."
KEIYAKU_KILL_CYCLES="${KEIYAKU_KILL_CYCLES:-1000}" cargo test --release --test it crash -- --nocapture 2>&1 | grep -E "kill cycles|test result"
