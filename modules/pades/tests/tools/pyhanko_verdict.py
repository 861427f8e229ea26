#!/usr/bin/env python3
"""pyHanko's judgement of every signature and document time-stamp of a PDF, as JSON.

Usage: pyhanko_verdict.py FILE.pdf TRUST_ROOT.pem MOMENT

MOMENT is the validation time (ISO 8601, e.g. 2026-06-10T00:00:00Z). Certificates, OCSP
responses and CRLs come from the file's DSS (nothing is fetched); revocation information is
required (`hard-fail`). Prints one flat JSON object per line (JSON Lines), one per signature
or document time-stamp in file order, with field, kind ("signature" or
"document_timestamp"), intact, valid, trusted, revoked, timestamp_ok, modification_level,
docmdp_ok, bottom_line and error (a validation exception, else null).
"""

import json
import sys
from datetime import datetime

from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko_certvalidator import ValidationContext


def context(reader, root, moment):
    kwargs = {
        "trust_roots": [root],
        "allow_fetching": False,
        "revocation_mode": "hard-fail",
        "moment": moment,
    }
    try:
        dss = DocumentSecurityStore.read_dss(reader)
    except Exception:  # no DSS
        return ValidationContext(ocsps=[], crls=[], **kwargs)
    return dss.as_validation_context(kwargs)


def level(status):
    lvl = getattr(status, "modification_level", None)
    return None if lvl is None else lvl.name


def main():
    path, root_path, moment = sys.argv[1], sys.argv[2], sys.argv[3]
    moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    root = load_cert_from_pemder(root_path)
    with open(path, "rb") as f:
        reader = PdfFileReader(f)
        for sig in reader.embedded_signatures:
            entry = {"field": sig.field_name}
            doc_ts = sig.sig_object.get("/Type") == "/DocTimeStamp"
            entry["kind"] = "document_timestamp" if doc_ts else "signature"
            try:
                if doc_ts:
                    status = validate_pdf_timestamp(sig, validation_context=context(reader, root, moment))
                else:
                    status = validate_pdf_signature(
                        sig,
                        signer_validation_context=context(reader, root, moment),
                        ts_validation_context=context(reader, root, moment),
                    )
            except Exception as e:  # a validation error: report it
                entry["error"] = f"{type(e).__name__}: {e}"
                print(json.dumps(entry))
                continue
            ts = getattr(status, "timestamp_validity", None)
            docmdp_ok = getattr(status, "docmdp_ok", None)
            if hasattr(status, "bottom_line"):
                bottom_line = bool(status.bottom_line)
            else:  # a document time-stamp: pyHanko's CLI judges it the same way
                bottom_line = bool(
                    status.intact
                    and status.valid
                    and status.trusted
                    and docmdp_ok is not False
                )
            entry.update(
                intact=bool(status.intact),
                valid=bool(status.valid),
                trusted=bool(status.trusted),
                revoked=bool(getattr(status, "revoked", False)),
                timestamp_ok=None if ts is None else bool(ts.intact and ts.valid and ts.trusted),
                modification_level=level(status),
                docmdp_ok=docmdp_ok,
                bottom_line=bottom_line,
                error=None,
            )
            print(json.dumps(entry))


if __name__ == "__main__":
    main()
