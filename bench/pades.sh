#!/usr/bin/env bash
# Signing speed of keiyaku-pades vs pyHanko on the same ~1 MB and ~10 MB PDFs, same ECDSA
# P-256 key, both PAdES-B-T with an in-process time-stamper using the same TSA certificate
# (keiyaku: LocalTsa; pyHanko: a TimeStamper subclass signing the TSTInfo with pyHanko itself,
# since pyHanko's DummyTimeStamper is RSA-only). keiyaku also draws its visible stamp.
# Then the ~1 MB file at PAdES-B-LT + B-LTA: B-T signing, a DSS with the chain and an OCSP
# response for the signer and the TSA (certificates with the same keys naming an OCSP
# location; the responses made once by the Rust example with an OCSP responder of
# the same CA and given to pyHanko locally: ValidationContext(..., ocsps=..., allow_fetching=False),
# built once and reused across runs), then a document time-stamp from the same TSA.
# Times are in-process medians (no process start-up). Each B-LTA output is checked once by
# pyHanko's PAdES-LTA validation (tests/it/tools/pyhanko_lta.py). Exits non-zero when
# the B-LT+LTA ratio pyHanko/keiyaku is below 10.
# Needs: cargo, python3 with `pip install pyhanko pyhanko-cli`.
#   bench/pades.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-5}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
OUT="$(mktemp -d /tmp/pades-bench.XXXXXX)"
cargo build --quiet --release -p keiyaku-pades --example bench_sign
"$CARGO_TARGET_DIR/release/examples/bench_sign" "$OUT" "$RUNS" | tee "$OUT/keiyaku.txt"

python3 - "$OUT" "$RUNS" <<'PY' | tee "$OUT/pyhanko.txt"
import io, logging, os, secrets, statistics, sys, time
from datetime import datetime, timezone
from asn1crypto import cms, ocsp, tsp
from pyhanko.keys import load_cert_from_pemder, load_private_key_from_pemder
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

out, runs = sys.argv[1], int(sys.argv[2])
# Silences "Validation/revocation info will be embedded, but fetching is not allowed": the
# B-LT case gives pyHanko every OCSP response locally on purpose.
logging.getLogger("pyhanko").setLevel(logging.ERROR)
p = lambda n: os.path.join(out, n)
signer = signers.SimpleSigner.load(p("signer.key.pem"), p("signer.pem"), ca_chain_files=(p("ca.pem"),))
ca = load_cert_from_pemder(p("ca.pem"))


class EcdsaTimeStamper(TimeStamper):
    """In-process TSA (pyHanko's DummyTimeStamper is RSA-only): TSTInfo signed by pyHanko."""

    def __init__(self, first_time=None, cert="tsa.pem"):
        super().__init__()
        # When set, the first time-stamp of each signing (the signature's) is stamped at
        # this time, as keiyaku's side does; later ones (the document time-stamp) now.
        self.first_time, self.calls = first_time, 0
        self.tsa = signers.SimpleSigner(
            signing_cert=load_cert_from_pemder(p(cert)),
            signing_key=load_private_key_from_pemder(p("tsa.key.pem"), None),
            cert_registry=SimpleCertificateStore.from_certs([ca]),
        )

    async def async_request_tsa_response(self, req):
        tst = tsp.TSTInfo({
            "version": 1, "policy": "2.25.1", "message_imprint": req["message_imprint"],
            "serial_number": secrets.randbits(127), "gen_time": self.gen_time(),
            "accuracy": {"seconds": 1}, "nonce": req["nonce"],
        })
        eci = cms.EncapsulatedContentInfo({"content_type": "tst_info", "content": cms.ParsableOctetString(tst.dump())})
        token = await self.tsa.async_sign_general_data(eci, "sha256", detached=False)
        return tsp.TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": token})

    def gen_time(self):
        self.calls += 1
        if self.first_time is not None and self.calls == 1:
            return self.first_time
        return datetime.now(tz=timezone.utc)


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

# B-LT + B-LTA on the ~1 MB file with the OCSP responses the Rust example made.
ocsps = [ocsp.OCSPResponse.load(open(p(n), "rb").read()) for n in ("signer.ocsp.der", "tsa.ocsp.der")]
# The same keys, certified with an OCSP location (pyHanko looks for OCSP responses only then).
ltv_signer = signers.SimpleSigner.load(p("signer.key.pem"), p("ltv-signer.pem"), ca_chain_files=(p("ca.pem"),))
vc = ValidationContext(trust_roots=[ca], other_certs=[load_cert_from_pemder(p(n)) for n in ("ltv-tsa.pem", "ocsp.pem")],
                       ocsps=ocsps, allow_fetching=False)
meta_lta = signers.PdfSignatureMetadata(field_name="Signature1", md_algorithm="sha256",
                                        subfilter=fields.SigSeedSubFilter.PADES, reason="契約締結", location="Tokyo",
                                        embed_validation_info=True, use_pades_lta=True, validation_context=vc)
first = datetime.fromtimestamp(int(open(p("signature-time.txt")).read()), tz=timezone.utc)
lta_tsa = EcdsaTimeStamper(first_time=first, cert="ltv-tsa.pem")
data = open(p("1mb.pdf"), "rb").read()
times = []
for _ in range(runs):
    lta_tsa.calls = 0
    start = time.perf_counter()
    w = IncrementalPdfFileWriter(io.BytesIO(data))
    res = signers.sign_pdf(w, meta_lta, signer=ltv_signer, timestamper=lta_tsa)
    times.append((time.perf_counter() - start) * 1000)
signed = res.getvalue()
open(p("1mb.pdf.pyhanko-lta.pdf"), "wb").write(signed)
print(f"pyhanko 1mb.pdf+lt+lta {statistics.median(times):.1f} {len(signed)}")
PY

# Not timed: both B-LTA outputs pass pyHanko's PAdES-LTA validation, trusting only the test CA.
for who in keiyaku pyhanko; do
  if ! python3 tests/it/tools/pyhanko_lta.py "$OUT/1mb.pdf.$who-lta.pdf" "$OUT/ca.pem" >"$OUT/$who-lta-validation.txt" 2>&1; then
    echo "FAIL: pyHanko does not validate the $who B-LTA file as PAdES-LTA:" >&2
    cat "$OUT/$who-lta-validation.txt" >&2
    exit 1
  fi
  echo "pyHanko PAdES-LTA validation of the $who B-LTA file: $(paste -sd' ' "$OUT/$who-lta-validation.txt")"
done

echo
printf '%-22s %14s %14s %8s\n' case keiyaku_ms pyhanko_ms ratio
while read -r _ name k_ms _; do
  p_ms=$(awk -v n="$name" '$2 == n {print $3}' "$OUT/pyhanko.txt")
  awk -v n="$name" -v k="$k_ms" -v p="$p_ms" 'BEGIN { printf "%-22s %14s %14s %7.1fx\n", n, k, p, p / k }'
done < "$OUT/keiyaku.txt"
echo "(ratio = pyHanko time / keiyaku time, measured in this run; files in $OUT)"
k_lta=$(awk '$2 == "1mb.pdf+lt+lta" {print $3}' "$OUT/keiyaku.txt")
p_lta=$(awk '$2 == "1mb.pdf+lt+lta" {print $3}' "$OUT/pyhanko.txt")
if awk -v k="$k_lta" -v p="$p_lta" 'BEGIN { exit !(p / k >= 10) }'; then
  echo "OK: B-LT+LTA of the 1 MB file is ≥ 10× faster than pyHanko (target ≥ 10×)"
else
  echo "FAIL: B-LT+LTA of the 1 MB file is below the 10× target (pyHanko $p_lta ms / keiyaku $k_lta ms)" >&2
  exit 1
fi
