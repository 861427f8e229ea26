#!/usr/bin/env bash
# Schemathesis against the served OpenAPI document, logged in as the owner's tenant
# administrator of the demo (and as the operator for the operator's operations): fails on any
# 5xx or any response that violates the schema.
# MAX_EXAMPLES (default 50) per operation; CI runs a short pass with MAX_EXAMPLES=5. The
# RFC 3161 endpoint (/tsa) and the OCSP POST (/ca/ocsp), DER bodies schemathesis cannot
# generate, are tested with openssl.
# Request rate limits are off here: one client sends thousands of requests a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v st >/dev/null 2>&1 || pip install -q schemathesis
BIN="${BENCH_KEIYAKU_BIN:-target/release/keiyaku}"
[ -x "$BIN" ] || cargo build --release --bin keiyaku
DATA=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
KEIYAKU_LOG=error KEIYAKU_OPERATOR_PASSWORD=schema-Operator-1 KEIYAKU_BACKUP__INTERVAL_HOURS=0 \
  KEIYAKU_LIMITS__REQUESTS_PER_MINUTE_PER_CLIENT=0 KEIYAKU_LIMITS__REQUESTS_PER_MINUTE_PER_ACCOUNT=0 \
  "$BIN" serve --demo --data "$DATA" --listen "127.0.0.1:$PORT" >/dev/null &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$DATA"' EXIT
BASE="https://127.0.0.1:$PORT"
for _ in $(seq 1 200); do curl -skf "$BASE/healthz" >/dev/null && break; sleep 0.05; done
TOKEN=$(curl -sk "$BASE/api/v1/t/HXOS2/auth/login" -H 'content-type: application/json' \
  -d '{"login":"HX000001","password":"keiyaku-demo"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
OPERATOR_TOKEN=$(curl -sk "$BASE/api/v1/operator/login" -H 'content-type: application/json' \
  -d '{"password":"schema-Operator-1"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
# The tenant in every path is the demo's, so requests reach the handlers behind the tenant
# check (a random code is refused there); user and contract ids are demo records (the
# partner's signer, who holds a certificate, and a contract in circulation), so those
# operations get past "not found"; the operator's operations get the operator's token.
CONFIG="$DATA/schemathesis.toml"
cat >"$CONFIG" <<TOML
headers = { Authorization = "Bearer $TOKEN" }

[parameters]
"path.tenant" = "HXOS2"
"path.user_id" = "A1533602"
"path.id" = "C00000001"

[[operations]]
include-path-regex = "^/api/v1/operator/"
headers = { Authorization = "Bearer $OPERATOR_TOKEN" }
TOML
st --config-file "$CONFIG" run "$BASE/api/openapi.json" --url "$BASE" --tls-verify false \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --max-examples "${MAX_EXAMPLES:-50}" --exclude-path-regex '/(auth/logout|auth/password|tsa|ca/ocsp)$' \
  --suppress-health-check all --no-color
