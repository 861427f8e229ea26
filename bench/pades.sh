#!/usr/bin/env bash
# Signing speed of keiyaku-pades vs pyHanko on the same ~1 MB and ~10 MB PDFs, same ECDSA
# P-256 key, both PAdES-B-T with an in-process time-stamper using the same TSA certificate
# (keiyaku: LocalTsa; pyHanko: a TimeStamper subclass signing the TSTInfo with pyHanko itself,
# since pyHanko's DummyTimeStamper is RSA-only). keiyaku also draws its visible stamp.
# Times are in-process medians (no process start-up). Needs: cargo, python3 with `pip install pyhanko pyhanko-cli`.
#   bench/pades.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-5}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
OUT="$(mktemp -d /tmp/pades-bench.XXXXXX)"
cargo build --quiet --release -p keiyaku-pades --example bench_sign
"$CARGO_TARGET_DIR/release/examples/bench_sign" "$OUT" "$RUNS" | tee "$OUT/keiyaku.txt"

python3 - "$OUT" "$RUNS" <<'PY' | tee "$OUT/pyhanko.txt"
import io, os, secrets, statistics, sys, time
from datetime import datetime, timezone
from asn1crypto import cms, tsp
from pyhanko.keys import load_cert_from_pemder, load_private_key_from_pemder
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore

out, runs = sys.argv[1], int(sys.argv[2])
p = lambda n: os.path.join(out, n)
signer = signers.SimpleSigner.load(p("signer.key.pem"), p("signer.pem"), ca_chain_files=(p("ca.pem"),))
ca = load_cert_from_pemder(p("ca.pem"))


class EcdsaTimeStamper(TimeStamper):
    """In-process TSA (pyHanko's DummyTimeStamper is RSA-only): TSTInfo signed by pyHanko."""

    def __init__(self):
        super().__init__()
        self.tsa = signers.SimpleSigner(
            signing_cert=load_cert_from_pemder(p("tsa.pem")),
            signing_key=load_private_key_from_pemder(p("tsa.key.pem"), None),
            cert_registry=SimpleCertificateStore.from_certs([ca]),
        )

    async def async_request_tsa_response(self, req):
        tst = tsp.TSTInfo({
            "version": 1, "policy": "2.25.1", "message_imprint": req["message_imprint"],
            "serial_number": secrets.randbits(127), "gen_time": datetime.now(tz=timezone.utc),
            "accuracy": {"seconds": 1}, "nonce": req["nonce"],
        })
        eci = cms.EncapsulatedContentInfo({"content_type": "tst_info", "content": cms.ParsableOctetString(tst.dump())})
        token = await self.tsa.async_sign_general_data(eci, "sha256", detached=False)
        return tsp.TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": token})


tsa = EcdsaTimeStamper()
meta = signers.PdfSignatureMetadata(field_name="Signature1", md_algorithm="sha256",
                                    subfilter=fields.SigSeedSubFilter.PADES, reason="契約締結", location="Tokyo")
for name in ("1mb.pdf", "10mb.pdf"):
    data = open(p(name), "rb").read()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        w = IncrementalPdfFileWriter(io.BytesIO(data))
        res = signers.sign_pdf(w, meta, signer=signer, timestamper=tsa)
        times.append((time.perf_counter() - start) * 1000)
    signed = res.getvalue()
    open(p(name + ".pyhanko-signed.pdf"), "wb").write(signed)
    print(f"pyhanko {name} {statistics.median(times):.1f} {len(signed)}")
PY

echo
printf '%-10s %14s %14s %8s\n' file keiyaku_ms pyhanko_ms ratio
while read -r _ name k_ms _; do
  p_ms=$(awk -v n="$name" '$2 == n {print $3}' "$OUT/pyhanko.txt")
  awk -v n="$name" -v k="$k_ms" -v p="$p_ms" 'BEGIN { printf "%-10s %14s %14s %7.1fx\n", n, k, p, p / k }' 
done < "$OUT/keiyaku.txt"
echo "(ratio = pyHanko time / keiyaku time; files in $OUT)"
