#!/usr/bin/env bash
# Backups taken while serving under load: starts the demo appliance, runs the load test
# against it (200 clients, 60 s, loopback), and in the middle of the load takes one backup
# with `keiyaku backup --to FILE` (the server takes the snapshot, asked through its control
# socket) and one through the operator API (POST /api/v1/operator/backup). Both archives are
# checked; the command's is restored into a new data directory and that database verified.
# Prints the load figures, each backup's size and time, and the checks' results. Exits
# non-zero when a check fails.
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

# The backup command while the server holds the database.
started=$(date +%s.%N)
"$BIN" backup --data "$data" --to "$archive" >"$work/cli.log" 2>&1 || { cat "$work/cli.log" >&2; exit 1; }
cli_took=$(echo "$(date +%s.%N) - $started" | bc)
cli_size=$(du -k "$archive" | cut -f1)

# The backup through the operator API, in the middle of the load.
token="$(curl -ksf -X POST -H 'content-type: application/json' -d "{\"password\":\"$password\"}" \
  "$base/api/v1/operator/login" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')"
started=$(date +%s.%N)
curl -ksf -X POST -H "authorization: Bearer $token" -o "$work/api.tar" "$base/api/v1/operator/backup"
took=$(echo "$(date +%s.%N) - $started" | bc)
size=$(du -k "$work/api.tar" | cut -f1)
wait "$load"

echo "== load (backup taken at ${SECS}/2 s)"
cat "$work/load.txt"
if [ -s "$work/load.err" ]; then
  echo "load errors:"
  head -n 5 "$work/load.err"
fi
echo "== backup under load"
printf 'keiyaku backup --to FILE: %s KiB in %.2f s (%s)\n' "$cli_size" "$cli_took" "$(tail -n 1 "$work/cli.log")"
printf 'POST /api/v1/operator/backup: %s KiB in %.2f s\n' "$size" "$took"
"$BIN" verify --backup "$work/api.tar"
"$BIN" verify --backup "$archive"
"$BIN" restore --from "$archive" --data "$restored"
"$BIN" verify --data "$restored" >"$work/verify.txt"
grep -E "auth_sessions|contracts|tenants|audit|OK" "$work/verify.txt" | head -n 12
echo "backup under load: archive verified, restored and verified OK"
