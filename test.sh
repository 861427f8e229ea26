#!/usr/bin/env bash
# The whole test suite: unit, property, integration (real HTTPS) and browser tests, for the
# default build and for the auth,users-only build.
set -euo pipefail
cd "$(dirname "$0")"
export CHROMEDRIVER_PATH="${CHROMEDRIVER_PATH:-$(command -v chromedriver || true)}"
cargo test --workspace --all-targets
cargo test --no-default-features --features auth,users --all-targets
