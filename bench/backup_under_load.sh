#!/usr/bin/env bash
# A backup taken while serving under load: starts the demo appliance, runs the load test
# against it (200 clients, 60 s, loopback), takes a backup through the operator API
# (POST /api/v1/operator/backup) in the middle of the load, then checks the archive,
# restores it into a new data directory and verifies that database. Prints the load figures,
# the backup's size and time, and the checks' results. Exits non-zero when a check fails.
#
# `keiyaku backup --to FILE` is for a stopped appliance: while the server holds the database
# it must refuse (checked here too); a running appliance is backed up through the API or by
# the scheduled backups.
set -euo pipefail
cd "$(dirname "$0")/.."
T="${CARGO_TARGET_DIR:-target}"
SECS="${SECS:-60}"
CLIENTS="${CLIENTS:-200}"
cargo build --release --bin keiyaku --example bench_http
BIN="$T/release/keiyaku"
work="$(mktemp -d "${TMPDIR:-/tmp}/keiyaku-backup-load.XXXXXX")"
data="$work/data"
restored="$work/restored"
archive="$work/backup.tar"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="https://127.0.0.1:$port"
password="bench-Operator-1"

KEIYAKU_OPERATOR_PASSWORD="$password" KEIYAKU_LOG=error KEIYAKU_BACKUP__INTERVAL_HOURS=0 \
  KEIYAKU_LIMITS__REQUESTS_PER_MINUTE_PER_CLIENT=100000000 \
  KEIYAKU_LIMITS__REQUESTS_PER_MINUTE_PER_ACCOUNT=100000000 \
  "$BIN" serve --demo --data "$data" --listen "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 300); do
  curl -ksf "$base/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done

BENCH_URL="$base" BENCH_PID="$server" "$T/release/examples/bench_http" --load "$SECS" "$CLIENTS" >"$work/load.txt" 2>"$work/load.err" &
load=$!
sleep $((SECS / 2))

# The offline backup command refuses the database the server holds.
if "$BIN" backup --data "$data" --to "$work/offline.tar" >"$work/offline.log" 2>&1; then
  cli="written (unexpected while serving)"
else
  cli="refused while serving: $(tail -n 1 "$work/offline.log")"
fi

# The backup through the operator API, in the middle of the load.
token="$(curl -ksf -X POST -H 'content-type: application/json' -d "{\"password\":\"$password\"}" \
  "$base/api/v1/operator/login" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')"
started=$(date +%s.%N)
curl -ksf -X POST -H "authorization: Bearer $token" -o "$archive" "$base/api/v1/operator/backup"
took=$(echo "$(date +%s.%N) - $started" | bc)
size=$(du -k "$archive" | cut -f1)
wait "$load"

echo "== load (backup taken at ${SECS}/2 s)"
cat "$work/load.txt"
if [ -s "$work/load.err" ]; then
  echo "load errors:"
  head -n 5 "$work/load.err"
fi
echo "== backup under load"
echo "keiyaku backup --to (offline command): $cli"
printf 'POST /api/v1/operator/backup: %s KiB in %.2f s\n' "$size" "$took"
"$BIN" verify --backup "$archive"
"$BIN" restore --from "$archive" --data "$restored"
"$BIN" verify --data "$restored" >"$work/verify.txt"
grep -E "auth_sessions|contracts|tenants|audit|OK" "$work/verify.txt" | head -n 12
echo "backup under load: archive verified, restored and verified OK"
