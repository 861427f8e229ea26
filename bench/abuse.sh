#!/usr/bin/env bash
# Anonymous abuse on loopback for SECS (default 60) seconds: clients from 16 loopback
# addresses hammer every public write path (order links, orders, applications and their
# details, captchas, logins) of a `serve --demo` appliance while one signed-in user asks `me`
# ten times a second. Prints the database growth and the `me` latencies; fails when the
# database grows by 5 MB or more or `me`'s p99 reaches 50 ms.
set -euo pipefail
cd "$(dirname "$0")/.."
T="${CARGO_TARGET_DIR:-target}"
SECS="${SECS:-60}"
cargo build --release --bin keiyaku >/dev/null
dir="$(mktemp -d)"
port=$((20000 + RANDOM % 20000))
base="https://127.0.0.1:$port"
KEIYAKU_OPERATOR_PASSWORD="bench-Operator-2026" "$T/release/keiyaku" serve --demo --data "$dir" \
  --listen "127.0.0.1:$port" >"$dir/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do
  curl -sf --cacert "$dir/tls/ca.pem" "$base/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
ca=(--cacert "$dir/tls/ca.pem")
token=$(curl -s "${ca[@]}" -H 'content-type: application/json' \
  -d '{"login":"A1533601","password":"keiyaku-demo"}' "$base/api/v1/t/HXOS2/auth/login" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
size() { du -sb "$dir/keiyaku.redb" | cut -f1; }
before=$(size)

attacker() {
  local ip="127.0.0.$1" end=$((SECONDS + SECS)) i=0
  local c=(curl -s -o /dev/null --interface "$ip" "${ca[@]}" -H 'content-type: application/json')
  while [ $SECONDS -lt $end ]; do
    i=$((i + 1))
    "${c[@]}" -d "{\"email\":\"x$i@$ip.example.jp\",\"captcha_id\":\"x\",\"captcha_answer\":\"y\"}" \
      "$base/api/v1/t/HXOS2/ticket-orders/links"
    "${c[@]}" -d '{"token":"nope","delivery":"service","quantities":{"1":999,"2":999,"3":999}}' \
      "$base/api/v1/t/HXOS2/ticket-orders"
    "${c[@]}" -d "{\"applicant\":\"self\",\"enterprise_code\":\"HXOS2\",\"ticket\":\"t$i\",\"email\":\"a$i@x.jp\",\"consent\":true}" \
      "$base/api/v1/t/HXOS2/cert-applications"
    "${c[@]}" -X PUT -d '{"user_id":"HX000001","email":"a@x.jp"}' "$base/api/v1/t/HXOS2/cert-applications/nope"
    "${c[@]}" "$base/api/v1/captcha"
    "${c[@]}" -d "{\"login\":\"HX00$((i % 100))\",\"password\":\"wrong-$i\"}" "$base/api/v1/t/HXOS2/auth/login"
  done
  echo $((i * 6)) >"$dir/attacker.$1"
}
for n in $(seq 2 17); do attacker "$n" & done

times="$dir/me.txt"
# One kept-alive connection, as a browser or an API client holds it: the figure is the
# appliance's answer time, not TLS handshakes or process starts.
python3 - "$port" "$dir/tls/ca.pem" "$token" "$SECS" "$times" <<'PY'
import http.client, ssl, sys, time
port, ca, token, secs, out = int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5]
ctx = ssl.create_default_context(cafile=ca)
conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx)
end = time.monotonic() + secs
with open(out, "w") as f:
    while time.monotonic() < end:
        t0 = time.perf_counter()
        conn.request("GET", "/api/v1/t/HXOS2/me", headers={"authorization": f"Bearer {token}"})
        r = conn.getresponse(); r.read()
        f.write(f"{time.perf_counter() - t0}\n")
        time.sleep(0.1)
PY
wait $(jobs -p | grep -v "^$server$") 2>/dev/null || true
after=$(size)
echo "anonymous requests: $(cat "$dir"/attacker.* | awk '{s += $1} END {print s}') from 16 addresses in ${SECS} s"
echo "mails in the demo outbox: $(curl -s "${ca[@]}" "$base/api/v1/mailbox" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')"

python3 - "$before" "$after" "$times" <<'PY'
import sys
before, after, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
t = sorted(float(x) * 1000 for x in open(path) if x.strip())
p = lambda q: t[min(len(t) - 1, int(q * len(t)))]
growth = (after - before) / 1e6
print(f"database {before/1e6:.1f} MB -> {after/1e6:.1f} MB (+{growth:.2f} MB)")
print(f"me: {len(t)} requests, p50 {p(0.5):.1f} ms, p99 {p(0.99):.1f} ms, max {t[-1]:.1f} ms")
ok = growth < 5 and p(0.99) < 50
print("OK" if ok else "FAILED: growth must stay under 5 MB and me's p99 under 50 ms")
sys.exit(0 if ok else 1)
PY
