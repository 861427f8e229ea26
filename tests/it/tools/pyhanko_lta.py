"""pyHanko's ETSI AdES validation (EN 319 102-1) of every signature in a PDF at PAdES-LTA.

usage: pyhanko_lta.py FILE CA_PEM[,CA_PEM...] [VALIDATION_TIME]

Trusts only the CA_PEM files (comma-separated; each may be a PEM bundle), requires revocation information, fetches
nothing (the file must carry it), and validates at VALIDATION_TIME (RFC 3339; default now). Prints one JSON line per
signature: field, indication, subindication; exits 0 only when every signature passes.

pyHanko takes the present from the system clock in places (proofs of existence of what the
file carries are "now"), so a validation time in the future, as the tests that move the
appliance's clock forward ask for, runs with the clock set to it (freezegun).
"""

import asyncio
import json
import sys
from datetime import datetime, timezone

from pyhanko.keys import load_certs_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESPassed
from pyhanko.sign.validation import ades
from pyhanko.sign.validation.policy_decl import (
    PdfSignatureValidationSpec,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.ltv.types import ValidationTimingInfo
from pyhanko_certvalidator.policy_decl import REQUIRE_REVINFO, CertRevTrustPolicy
from pyhanko_certvalidator.registry import SimpleTrustManager

async def main():
    path, ca_path = sys.argv[1], sys.argv[2]
    when = (
        datetime.fromisoformat(sys.argv[3].replace("Z", "+00:00"))
        if len(sys.argv) > 3
        else datetime.now(timezone.utc)
    )
    # Each file may be a PEM bundle of several certificates.
    roots = [c for p in ca_path.split(",") for c in load_certs_from_pemder([p])]
    spec = PdfSignatureValidationSpec(
        SignatureValidationSpec(
            cert_validation_policy=CertValidationPolicySpec(
                trust_manager=SimpleTrustManager.build(trust_roots=roots),
                revinfo_policy=CertRevTrustPolicy(REQUIRE_REVINFO),
            ),
            revinfo_gathering_policy=RevocationInfoGatheringSpec(
                online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY,
            ),
        )
    )
    timing = ValidationTimingInfo(
        validation_time=when, best_signature_time=when, point_in_time_validation=True
    )
    ok = True
    with open(path, "rb") as f:
        reader = PdfFileReader(f)
        signatures = [s for s in reader.embedded_signatures if s.sig_object.get("/Type") != "/DocTimeStamp"]
        if not signatures:
            print(json.dumps({"error": "no signatures"}))
            sys.exit(1)
        for sig in signatures:
            result = await ades.ades_lta_validation(sig, spec, timing_info=timing)
            passed = result.ades_subindic == AdESPassed.OK
            ok = ok and passed
            print(
                json.dumps(
                    {
                        "field": sig.field_name,
                        "indication": str(result.ades_subindic.status) if result.ades_subindic else None,
                        "subindication": str(result.ades_subindic),
                        "passed": passed,
                    },
                    ensure_ascii=False,
                )
            )
    sys.exit(0 if ok else 1)


if len(sys.argv) > 3:
    from freezegun import freeze_time

    with freeze_time(sys.argv[3].replace("Z", "+00:00"), tick=True, real_asyncio=True):
        asyncio.run(main())
else:
    asyncio.run(main())
