//! The bridge to [`keiyaku_pades`]: a signer's certificate and seal, the tenant's
//! timestamp authority, and where the stamp goes.

use crate::error::ContractsError;
use crate::outside_tsa::OutsideTsa;
use jiff::Timestamp;
use keiyaku_certs::signing::Material;
use keiyaku_kernel::clock::tokyo;
use keiyaku_pades as pades;

/// Stamp size in points (seal and label).
const STAMP_W: f32 = 150.0;
const STAMP_H: f32 = 64.0;
const MARGIN: f32 = 36.0;

/// What one signature needs besides the key material.
pub struct Request<'a> {
    pub pdf: &'a [u8],
    /// The page sizes stored with the version; `None` reads them from `pdf`.
    pub pages: Option<&'a [(f32, f32)]>,
    pub signer_name: &'a str,
    /// The delegate who performs the signing, when not the signer.
    pub delegate_name: Option<&'a str>,
    /// The delegation the signature names in its signed attributes.
    pub delegation: Option<pades::Delegation>,
    /// Trial tenants' seals show the date.
    pub trial: bool,
    pub now: Timestamp,
    /// 1-based; default the last page.
    pub page: Option<u32>,
    pub x: Option<f32>,
    pub y: Option<f32>,
    /// How many signatures the document has already: default stamps go side by side.
    pub slot: usize,
    pub contract: &'a str,
    /// Certify the document (DocMDP, P = 2) if this is its first signature, reserving a
    /// field for each of the `later_signers` beside the first stamp.
    pub certify: bool,
    pub later_signers: usize,
    /// The signer's registered seal: the stamp is drawn from it, and the signature names
    /// its SHA-256 (the certificate certifies the same seal).
    pub registered_seal: Option<&'a keiyaku_users::seal::Seal>,
}

/// Page sizes (points) of a PDF, or why it cannot be read.
pub fn page_sizes(pdf: &[u8]) -> Result<Vec<(f32, f32)>, String> {
    let sizes = pades::page_count_and_sizes(pdf).map_err(|e| e.to_string())?;
    if sizes.is_empty() {
        return Err("the PDF has no pages".into());
    }
    Ok(sizes)
}

/// The default stamp position (top-left, from the page's top-left): the bottom right
/// corner, moving left for each earlier signature, then up a row.
fn default_position(page_w: f32, page_h: f32, slot: usize) -> (f32, f32) {
    let per_row = (((page_w - 2.0 * MARGIN) / (STAMP_W + 8.0)).floor() as usize).max(1);
    let col = slot % per_row;
    let row = slot / per_row;
    let x = page_w - MARGIN - STAMP_W - col as f32 * (STAMP_W + 8.0);
    let y = page_h - MARGIN - STAMP_H - row as f32 * (STAMP_H + 8.0);
    (x.max(0.0), y.max(0.0))
}

/// Signs `req.pdf` with `signer`'s key and certificate, the visible seal, and a timestamp
/// from the tenant's TSA.
///
/// A certified document has the later signers' fields reserved, so their stamps go where
/// the certification put them: a position given then is refused (`position_fixed`).
pub fn sign(req: &Request<'_>, signer: &Material, tsa: &dyn pades::TimeStamper) -> Result<Vec<u8>, ContractsError> {
    if (req.page.is_some() || req.x.is_some() || req.y.is_some()) && pades::has_open_signature_field(req.pdf) {
        return Err(ContractsError::invalid(
            "x",
            keiyaku_kernel::validate::Rule::Custom {
                code: "position_fixed",
                ja: "この文書は最初の署名で認証されているため、押印位置は変更できません。".into(),
                en: "The document was certified by its first signature; the stamp goes in the field reserved then."
                    .into(),
            },
        ));
    }
    let sizes = match req.pages {
        Some(pages) if !pages.is_empty() => pages.to_vec(),
        _ => page_sizes(req.pdf).map_err(ContractsError::NotPdf)?,
    };
    let last = sizes.len();
    let page = req.page.map(|p| p as usize).filter(|p| (1..=last).contains(p)).unwrap_or(last);
    let (w, h) = sizes[page - 1];
    let (dx, dy) = default_position(w, h, req.slot);
    let x = req.x.filter(|x| x.is_finite() && *x >= 0.0 && *x + STAMP_W <= w).unwrap_or(dx);
    let y = req.y.filter(|y| y.is_finite() && *y >= 0.0 && *y + STAMP_H <= h).unwrap_or(dy);
    let day = req.now.to_zoned_datetime(tokyo()).date();
    let text = keiyaku_users::seal::seal_text(req.registered_seal.map_or(req.signer_name, |s| s.text.as_str()));
    let seal = pades::Seal {
        chars: text.chars.clone(),
        vertical: text.vertical,
        date: req.trial.then(|| keiyaku_users::seal::date_label(day)),
    };
    let mut label_lines = vec![req.signer_name.to_string()];
    if let Some(d) = req.delegate_name {
        label_lines.push(format!("代理: {d}"));
    }
    label_lines.push(format!("{:04}/{:02}/{:02}", day.year(), day.month(), day.day()));
    let reason = match req.delegate_name {
        Some(d) => format!("{d} が {} に代わり署名 (契約 {})", req.signer_name, req.contract),
        None => format!("{} による署名 (契約 {})", req.signer_name, req.contract),
    };
    let chain = signer.chain.clone();
    let mut request = pades::SignRequest::new(req.pdf, &signer.cert_der, &chain, &signer.key_pkcs8, req.now);
    request.name = Some(req.signer_name.to_string());
    request.reason = Some(reason);
    request.delegation = req.delegation.clone();
    request.seal_sha256 =
        req.registered_seal.map(|s| <[u8; 32]>::from(<sha2::Sha256 as sha2::Digest>::digest(s.svg.as_bytes())));
    request.certify = req.certify;
    request.reserve = (1..=req.later_signers)
        .map(|k| {
            let (x, y) = default_position(w, h, req.slot + k);
            pades::Reserved { page: page - 1, rect: [x, y, STAMP_W, STAMP_H] }
        })
        .collect();
    request.appearance =
        Some(pades::Appearance { page: page - 1, rect: Some([x, y, STAMP_W, STAMP_H]), seal, label_lines });
    pades::sign(&request, tsa).map_err(|e| stamp_error("signing failed", &e))
}

/// The time-stamping authority signatures and document time-stamps use: the outside one
/// when `contracts.tsa_url` is set, else the tenant's, stamping `now`.
pub fn stamper<'a>(
    outside: Option<&'a OutsideTsa>,
    tsa: &Material,
    now: Timestamp,
) -> Box<dyn pades::TimeStamper + 'a> {
    match outside {
        Some(o) => Box::new(o.clone()),
        None => {
            let mut local = pades::LocalTsa::new(tsa.cert_der.clone(), vec![tsa.ca_der.clone()], tsa.key_pkcs8.clone());
            local.time = Some(now);
            Box::new(local)
        }
    }
}

/// A signing library error as the caller sees it: an outside TSA's failure is 503
/// `tsa_unavailable`, anything else internal.
fn stamp_error(what: &str, e: &pades::PadesError) -> ContractsError {
    if crate::outside_tsa::is_outside_failure(e) {
        ContractsError::TsaUnavailable(e.to_string())
    } else {
        ContractsError::internal(format!("{what}: {e}"))
    }
}

/// PAdES-B-LT: the chain and revocation data of the newest signature, in a DSS revision.
pub fn add_validation(pdf: &[u8], data: &pades::ValidationData) -> Result<Vec<u8>, ContractsError> {
    pades::add_validation_data(pdf, data).map_err(|e| ContractsError::internal(format!("validation data: {e}")))
}

/// PAdES-B-LTA: a document timestamp (`ETSI.RFC3161`) over the whole file.
pub fn archive_timestamp(pdf: &[u8], tsa: &dyn pades::TimeStamper) -> Result<Vec<u8>, ContractsError> {
    pades::timestamp_document(pdf, tsa).map_err(|e| stamp_error("document timestamp", &e))
}
