"""pyHanko's ETSI AdES validation (EN 319 102-1) of every signature in a PDF at PAdES-LTA.

usage: pyhanko_lta.py FILE CA_PEM [VALIDATION_TIME]

Trusts only CA_PEM, requires revocation information, fetches nothing (the file must carry
it), and validates at VALIDATION_TIME (RFC 3339; default now). Prints one JSON line per
signature: field, indication, subindication; exits 0 only when every signature passes.
"""

import asyncio
import json
import sys
from datetime import datetime, timezone

from pyhanko.keys import load_cert_from_pemder
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
    ca = load_cert_from_pemder(ca_path)
    spec = PdfSignatureValidationSpec(
        SignatureValidationSpec(
            cert_validation_policy=CertValidationPolicySpec(
                trust_manager=SimpleTrustManager.build(trust_roots=[ca]),
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


asyncio.run(main())
