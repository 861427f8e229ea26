#!/usr/bin/env bash
# The contracts benchmarks in one run (release builds): PAdES-B-T signing of a 1 MB and a
# 10 MB PDF, and B-LT + B-LTA of the 1 MB one, beside pyHanko doing the same on the same files
# with a key of the same type (target ≥ 10× faster at B-LT+LTA; fails below), then 契約検索
# over 100,000 contracts: p50/p99 of a date-range + amount-range + counterparty query beside
# the same query over the whole index, and the memory used; then `ltv renew` over 10,000
# completed contracts: contracts per second beside plain document time-stamps of the same PDF.
#   bench/contracts.sh [SIGN_RUNS] [CONTRACTS] [LTV_CONTRACTS]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
echo "== signing (keiyaku-pades vs pyHanko)"
bash bench/pades.sh "${1:-5}"
echo "== 契約検索"
cargo build --quiet --release -p keiyaku-contracts --example bench_search
# Both sizes by default (the 1,000,000 load takes about two minutes).
# shellcheck disable=SC2086
"$CARGO_TARGET_DIR/release/examples/bench_search" ${2:-100000 1000000}
echo "== ltv renew (archive renewal)"
cargo build --quiet --release -p keiyaku-contracts --example bench_ltv
"$CARGO_TARGET_DIR/release/examples/bench_ltv" "${3:-10000}"
