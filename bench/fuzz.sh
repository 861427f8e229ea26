#!/usr/bin/env bash
# Runs every cargo-fuzz target of fuzz/ for SECONDS each (default 60) and stops at the first
# crash (a panic, a sanitizer report, an out-of-memory or a timeout), naming the target, the
# reproducer file and how to replay it. Prints one summary line per target: executions, time,
# executions per second, coverage and corpus size. Exit code: 0 all clean, 1 a target crashed,
# 2 a build or setup failure.
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
#   bench/fuzz.sh [SECONDS] [TARGET...]
# Extra cargo-fuzz options (e.g. `--sanitizer none`, `-a` for debug assertions) in FUZZ_FLAGS.
set -uo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET="${1:-60}"
shift $(( $# > 0 ? 1 : 0 ))
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target/fuzz}"
read -r -a FLAGS <<< "${FUZZ_FLAGS:-}"

if ! [[ "$SECONDS_PER_TARGET" =~ ^[0-9]+$ ]] || [ "$SECONDS_PER_TARGET" -lt 1 ]; then
    echo "usage: bench/fuzz.sh [SECONDS] [TARGET...]" >&2
    exit 2
fi
if ! cargo +nightly fuzz --version > /dev/null 2>&1; then
    echo "fuzz.sh: needs the nightly toolchain and cargo-fuzz (cargo install cargo-fuzz)" >&2
    exit 2
fi

if [ $# -gt 0 ]; then
    TARGETS=("$@")
else
    mapfile -t TARGETS < <(cargo +nightly fuzz list)
fi

echo "building ${#TARGETS[@]} fuzz targets (${FUZZ_FLAGS:-default flags}) ..."
if ! cargo +nightly fuzz build "${FLAGS[@]}" > /tmp/keiyaku-fuzz-build.log 2>&1; then
    tail -n 40 /tmp/keiyaku-fuzz-build.log >&2
    echo "fuzz.sh: building the fuzz targets failed (log: /tmp/keiyaku-fuzz-build.log)" >&2
    exit 2
fi

LOGS="$(mktemp -d /tmp/keiyaku-fuzz.XXXXXX)"
SUMMARY=()
for t in "${TARGETS[@]}"; do
    mkdir -p "fuzz/corpus/$t"
    CORPORA=("fuzz/corpus/$t")
    [ -d "fuzz/seeds/$t" ] && CORPORA+=("fuzz/seeds/$t")
    log="$LOGS/$t.log"
    echo "== $t: ${SECONDS_PER_TARGET}s"
    start=$(date +%s.%N)
    cargo +nightly fuzz run "${FLAGS[@]}" "$t" "${CORPORA[@]}" -- \
        -max_total_time="$SECONDS_PER_TARGET" -timeout=30 -rss_limit_mb=2048 -print_final_stats=1 \
        > "$log" 2>&1
    rc=$?
    elapsed=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    [ -z "$execs" ] && execs=$(sed -n 's/^#\([0-9]*\).*/\1/p' "$log" | tail -n 1)
    cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1 | cut -d' ' -f2)
    corpus=$(grep -oE 'corp: [0-9]+' "$log" | tail -n 1 | cut -d' ' -f2)
    if [ "$rc" -ne 0 ]; then
        artifact=$(grep -oE 'fuzz/artifacts/[^ ]+' "$log" | tail -n 1)
        [ -z "$artifact" ] && artifact=$(grep -oE "Test unit written to [^ ]+" "$log" | tail -n 1 | cut -d' ' -f5)
        echo
        echo "CRASH in fuzz target '$t' (exit code $rc after ${execs:-?} executions, ${elapsed}s)."
        echo "---- what happened (from $log) ----"
        grep -E -A 2 "panicked at" "$log" | head -n 8
        grep -E "ERROR: |SUMMARY: |^Error" "$log" | head -n 6
        echo "-----------------------------------"
        if [ -n "$artifact" ]; then
            echo "reproducer: $artifact"
            echo "replay:     cargo +nightly fuzz run $t $artifact"
            echo "minimise:   cargo +nightly fuzz tmin $t $artifact"
        fi
        exit 1
    fi
    fuzz_secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n 1)
    rate=$(awk -v n="${execs:-0}" -v s="${fuzz_secs:-$elapsed}" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')
    line=$(printf '%-16s %12s execs in %4ss fuzzing (%6ss wall)  %8s exec/s  cov %6s  corpus %5s' "$t" \
        "${execs:-?}" "${fuzz_secs:-?}" "$elapsed" "$rate" "${cov:-?}" "${corpus:-?}")
    echo "$line"
    SUMMARY+=("$line")
done
echo
echo "== summary: ${#TARGETS[@]} targets, ${SECONDS_PER_TARGET}s each, no crash (logs: $LOGS)"
printf '%s\n' "${SUMMARY[@]}"
