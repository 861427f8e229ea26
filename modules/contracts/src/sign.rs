//! The bridge to [`keiyaku_pades`]: a signer's certificate and seal, the tenant's
//! timestamp authority, and where the stamp goes.

use crate::error::ContractsError;
use crate::outside_tsa::OutsideTsa;
use jiff::Timestamp;
use keiyaku_certs::signing::Material;
use keiyaku_kernel::FieldCode;
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
    pub contract: &'a str,
    /// Certify the document (DocMDP, P = 2) if this is its first signature, reserving a
    /// field for each of the `later_signers` on the page of the first stamp, clear of the
    /// page's content.
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

/// Signs `req.pdf` with `signer`'s key and certificate, the visible seal, and a timestamp
/// from the tenant's TSA.
///
/// Without a position from the caller, the stamp (and the fields reserved for later
/// signers) go where nothing is on the page yet, nearest its bottom-right corner
/// ([`pades::free_spots`]). A certified document has the later signers' fields reserved, so
/// their stamps go where the certification put them: a position given then is refused
/// (`position_fixed`).
pub fn sign(req: &Request<'_>, signer: &Material, tsa: &dyn pades::TimeStamper) -> Result<Vec<u8>, ContractsError> {
    let reserved = pades::has_open_signature_field(req.pdf);
    if (req.page.is_some() || req.x.is_some() || req.y.is_some()) && reserved {
        return Err(ContractsError::invalid(
            "x",
            keiyaku_kernel::validate::Rule::Custom {
                code: FieldCode::PositionFixed,
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
    let x = req.x.filter(|x| x.is_finite() && *x >= 0.0 && *x + STAMP_W <= w);
    let y = req.y.filter(|y| y.is_finite() && *y >= 0.0 && *y + STAMP_H <= h);
    // The stamp fills the field the certification reserved: nothing to place.
    let (rect, reserve) = if reserved {
        (None, Vec::new())
    } else {
        place(req.pdf, page - 1, x, y, req.later_signers).map(|(r, v)| (Some(r), v))?
    };
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
    request.reserve = reserve.into_iter().map(|rect| pades::Reserved { page: page - 1, rect }).collect();
    request.appearance = Some(pades::Appearance { page: page - 1, rect, seal, label_lines });
    pades::sign(&request, tsa).map_err(|e| stamp_error("signing failed", &e))
}

/// The stamp's rectangle on `page` (from 0) and those of the fields reserved for
/// `later_signers`: free spots clear of the page's content, earlier stamps and each other,
/// nearest the bottom-right corner first. A coordinate the caller gave (checked to keep the
/// stamp on the page) replaces the free spot's; the reserved fields then avoid the stamp.
fn place(
    pdf: &[u8],
    page: usize,
    x: Option<f32>,
    y: Option<f32>,
    later_signers: usize,
) -> Result<([f32; 4], Vec<[f32; 4]>), ContractsError> {
    let given = x.is_some() || y.is_some();
    // A stamp-sized rectangle overlaps at most four of the (disjoint, stamp-sized) spots.
    let count = 1 + later_signers + if given { 4 } else { 0 };
    let spots = pades::free_spots(pdf, page, (STAMP_W, STAMP_H), count, MARGIN)
        .map_err(|e| stamp_error("placing the stamp", &e))?;
    let Some(&[fx, fy, ..]) = spots.first() else {
        return Err(ContractsError::internal("placing the stamp: no spot"));
    };
    if !given {
        return Ok(([fx, fy, STAMP_W, STAMP_H], spots[1..].to_vec()));
    }
    let stamp = [x.unwrap_or(fx), y.unwrap_or(fy), STAMP_W, STAMP_H];
    let apart = |s: &[f32; 4]| {
        s[0] >= stamp[0] + stamp[2] || stamp[0] >= s[0] + s[2] || s[1] >= stamp[1] + stamp[3] || stamp[1] >= s[1] + s[3]
    };
    let (mut reserve, rest): (Vec<[f32; 4]>, Vec<[f32; 4]>) = spots.into_iter().partition(apart);
    reserve.extend(rest);
    reserve.truncate(later_signers);
    Ok((stamp, reserve))
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
pub(crate) fn stamp_error(what: &str, e: &pades::PadesError) -> ContractsError {
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

/// PAdES-B-LT for a revision just signed: `data`, joined — when the time-stamp came from an
/// outside TSA — by that TSA's certificate and the CRLs of its distribution points.
pub fn add_validation_for(
    signed: &[u8],
    data: &pades::ValidationData,
    outside: Option<&OutsideTsa>,
) -> Result<Vec<u8>, ContractsError> {
    let Some(o) = outside else { return add_validation(signed, data) };
    let extra = o.validation_data(signed).map_err(|e| ContractsError::TsaUnavailable(e.to_string()))?;
    let mut data = data.clone();
    data.certs.extend(extra.certs);
    data.crls.extend(extra.crls);
    add_validation(signed, &data)
}

/// PAdES-B-LTA: a document timestamp (`ETSI.RFC3161`) over the whole file.
pub fn archive_timestamp(pdf: &[u8], tsa: &dyn pades::TimeStamper) -> Result<Vec<u8>, ContractsError> {
    pades::timestamp_document(pdf, tsa).map_err(|e| stamp_error("document timestamp", &e))
}
