//! 合意締結証明書: the completion report of a contract as a PDF — parties, every step with
//! who and when (and for whom a delegate signed), the signatures as verified in the signed
//! documents, and the SHA-256 of every stored version. Issued once at completion
//! ([`issue`]): signed by the tenant's system certificate (システム証明書) with a signature
//! time-stamp, its validation data and a document time-stamp over it (B-LTA), stored, and
//! served as stored.

use crate::error::ContractsError;
use crate::mails::yen;
use crate::model::{Contract, EventAction, Party, StoredReport};
use crate::outside_tsa::OutsideTsa;
use crate::storage;
use keiyaku_certs::signing::Material;
use keiyaku_kernel::clock::tokyo;
use keiyaku_kernel::context::Actor;
use keiyaku_kernel::directory;
use keiyaku_kernel::error::Lang;
use keiyaku_kernel::pdf::{Document, Font, Page};
use keiyaku_kernel::store::{Read, Tx};
use serde_json::json;

const LEFT: f32 = 50.0;
const RIGHT: f32 = 545.0;
const BOTTOM: f32 = 800.0;

fn when(ts: jiff::Timestamp) -> String {
    ts.to_zoned_datetime(tokyo()).strftime("%Y/%m/%d %H:%M:%S").to_string()
}

/// A piece of text at a position on a page.
struct Item {
    x: f32,
    y: f32,
    size: f32,
    font: Font,
    text: String,
}

/// Lines of text flowing over as many A4 pages as needed.
struct Writer {
    doc: Document,
    lines: Vec<Vec<Item>>,
    y: f32,
}

impl Writer {
    fn new(title: &str) -> Self {
        Self { doc: Document::new().title(title), lines: vec![Vec::new()], y: 60.0 }
    }

    fn room(&mut self, h: f32) {
        if self.y + h > BOTTOM {
            self.lines.push(Vec::new());
            self.y = 60.0;
        }
    }

    fn put(&mut self, x: f32, size: f32, font: Font, s: &str) {
        if let Some(page) = self.lines.last_mut() {
            page.push(Item { x, y: self.y, size, font, text: s.to_string() });
        }
    }

    fn line(&mut self, size: f32, font: Font, s: &str) {
        for part in keiyaku_kernel::pdf::wrap_lines(s, size, RIGHT - LEFT) {
            self.room(size * 1.6);
            self.put(LEFT, size, font, &part);
            self.y += size * 1.6;
        }
    }

    fn pair(&mut self, label: &str, value: &str) {
        let size = 10.0;
        let lines = keiyaku_kernel::pdf::wrap_lines(value, size, RIGHT - LEFT - 110.0);
        self.room(size * 1.6 * lines.len().max(1) as f32);
        self.put(LEFT, size, Font::Gothic, label);
        for (i, part) in lines.iter().enumerate() {
            if i > 0 {
                self.y += size * 1.6;
            }
            if let Some(page) = self.lines.last_mut() {
                page.push(Item { x: LEFT + 110.0, y: self.y, size, font: Font::Mincho, text: part.clone() });
            }
        }
        self.y += size * 1.6;
    }

    fn heading(&mut self, s: &str) {
        self.y += 8.0;
        self.room(30.0);
        self.put(LEFT, 12.0, Font::Gothic, s);
        self.y += 18.0;
    }

    fn finish(mut self) -> Vec<u8> {
        let pages = std::mem::take(&mut self.lines);
        let total = pages.len();
        for (n, items) in pages.into_iter().enumerate() {
            let page: &mut Page = self.doc.add_page();
            for i in items {
                page.font(i.font).text(i.x, i.y, i.size, &i.text);
            }
            let w = page.width();
            page.font(Font::Mincho).text_center(w / 2.0, 820.0, 8.0, &format!("{} / {total}", n + 1));
        }
        self.doc.to_bytes()
    }
}

/// What signs and time-stamps the 合意締結証明書.
pub struct Signing<'a> {
    /// The tenant's system certificate and key (`keiyaku_certs::signing::system_material`).
    pub system: &'a Material,
    /// The tenant's name, in the signature's `/Name`.
    pub tenant_name: &'a str,
    /// The chain and revocation data of the system certificate and, with the tenant's TSA,
    /// of the TSA certificate (`keiyaku_certs::signing::validation_data`).
    pub validation: &'a keiyaku_pades::ValidationData,
    /// The outside TSA when `contracts.tsa_url` is set: its certificate and CRLs join the
    /// validation data.
    pub outside: Option<&'a OutsideTsa>,
    /// The signature's and the document time-stamp's authority.
    pub stamper: &'a dyn keiyaku_pades::TimeStamper,
}

/// Issues the 合意締結証明書 of the just completed `c`, in its transaction: the report,
/// signed by the system certificate with a signature time-stamp (PAdES-B-T), the validation
/// data of the system and TSA certificates (B-LT) and a document time-stamp over it (B-LTA),
/// stored as a blob and named on the contract, with its link in the chain
/// (`contract.report_issued`). An outside TSA's failure is 503 `tsa_unavailable`.
pub fn issue(tx: &mut Tx, c: Contract, signing: &Signing<'_>) -> Result<Contract, ContractsError> {
    let pdf = completion_report(tx, &c)?;
    let pdf = sign_report(&pdf, signing, tx.now())?;
    let sha256 = storage::put_blob(tx, &c.tenant, &pdf)?;
    let mut done = c.clone();
    done.completion_report = Some(StoredReport { sha256: sha256.clone(), size: pdf.len() as u64, issued_at: tx.now() });
    crate::flow::save(tx, Some(&c), &done)?;
    storage::record(tx, &Actor::system(), &c.tenant, "contract.report_issued", &c.id, json!({"sha256": sha256}))?;
    Ok(done)
}

/// `pdf` signed by the system certificate (invisible, `/Name` "{tenant} 電子契約システム"),
/// its validation data and the document time-stamp (PAdES-B-LTA).
fn sign_report(pdf: &[u8], signing: &Signing<'_>, now: jiff::Timestamp) -> Result<Vec<u8>, ContractsError> {
    let m = signing.system;
    let mut request = keiyaku_pades::SignRequest::new(pdf, &m.cert_der, &m.chain, &m.key_pkcs8, now);
    request.name = Some(format!("{} 電子契約システム", signing.tenant_name));
    request.reason = Some("合意締結証明書の発行".into());
    let signed = keiyaku_pades::sign(&request, signing.stamper)
        .map_err(|e| crate::sign::stamp_error("signing the completion report", &e))?;
    let signed = crate::sign::add_validation_for(&signed, signing.validation, signing.outside)?;
    crate::sign::archive_timestamp(&signed, signing.stamper)
}

/// The report of `c` as a PDF.
pub fn completion_report(tx: &impl Read, c: &Contract) -> Result<Vec<u8>, ContractsError> {
    let ja = Lang::Ja;
    let company = |id: &str| -> Result<String, ContractsError> {
        Ok(directory::get_company(tx, &c.tenant, id)?.map(|x| x.name).unwrap_or_else(|| id.to_string()))
    };
    let user = |id: &str| -> Result<String, ContractsError> {
        Ok(directory::get_user(tx, &c.tenant, id)?.map(|u| format!("{} ({id})", u.name)).unwrap_or_else(|| id.into()))
    };
    let tenant = directory::get_tenant(tx, &c.tenant)?.ok_or(ContractsError::NotFound("tenant"))?;
    let owner = company(&tenant.owner_company_id)?;
    let partner = company(&c.counterparty)?;
    // The verifier trusts the tenant CA (none yet: nothing is trusted, and the lines say so).
    let roots: Vec<Vec<u8>> = keiyaku_certs::signing::ca_pem(tx, &c.tenant)?
        .and_then(|pem| keiyaku_certs::certificates::pem_body(&pem).ok())
        .into_iter()
        .collect();

    let mut w = Writer::new("合意締結証明書");
    w.put(LEFT, 20.0, Font::Gothic, "合意締結証明書");
    w.y += 16.0;
    w.line(9.0, Font::Mincho, &format!("発行日時：{}　発行：{} 電子契約サービス", when(tx.now()), tenant.name));
    w.line(
        9.0,
        Font::Mincho,
        "本証明書は、下記の契約が電子契約サービス上で回覧・承認され、電子署名により締結されたことを証明します。",
    );

    w.heading("契約の内容");
    w.pair("契約番号", &c.number);
    w.pair("件名", &c.title);
    w.pair("文書種別", c.doc_type.label(ja));
    w.pair("取引年月日", &c.transaction_date.strftime("%Y年%m月%d日").to_string());
    w.pair("取引金額", &format!("{}円（{}）", yen(c.amount), c.tax.label(ja)));
    for f in &c.fields {
        w.pair(&f.name, &f.value);
    }
    w.pair("状態", c.status.label(ja));
    if let Some(at) = c.completed_at {
        w.pair("締結日時", &when(at));
    }
    w.pair("保存期限", &c.retention_until.strftime("%Y年%m月%d日").to_string());

    w.heading("当事者");
    w.pair("サービスオーナー", &owner);
    w.pair("取引先", &partner);
    w.pair("登録者", &user(&c.registrant)?);

    w.heading("回覧・承認の経過");
    for (i, s) in c.route.iter().enumerate() {
        let side = match s.party {
            Party::Owner => &owner,
            Party::Partner => &partner,
        };
        let state = match &s.done {
            Some(d) => {
                let by = user(&d.by)?;
                let action = if s.is_signing() { "署名" } else { "承認" };
                match &d.on_behalf_of {
                    Some(signer) => format!("{} {action}（{by} が {} の代理として実施）", when(d.at), user(signer)?),
                    None => format!("{} {action}（{by}）", when(d.at)),
                }
            }
            None => "未了".to_string(),
        };
        w.pair(&format!("{}. {}", i + 1, s.role.label(ja)), &format!("{side}　{state}"));
        let mandate = c
            .history
            .iter()
            .rev()
            .find(|e| e.kind() == Some(EventAction::Sign) && e.step == Some(i))
            .and_then(|e| e.mandate.as_ref());
        if let (Some(m), Some(_)) = (mandate, &s.done) {
            w.pair("　署名操作代行の委任", &m.id);
            w.pair("　委任内容のSHA-256", &m.sha256);
        }
    }
    for e in &c.history {
        // The route lists registration, approvals, signatures and completion above.
        let Some(action) = e.kind() else { continue };
        match action {
            EventAction::Register | EventAction::Approve | EventAction::Sign | EventAction::Complete => continue,
            EventAction::SendBack
            | EventAction::Resubmit
            | EventAction::Cancel
            | EventAction::Correct
            | EventAction::Delete => {}
        }
        let label = action.label(Lang::Ja);
        let comment = e.comment.as_deref().map(|c| format!("「{c}」")).unwrap_or_default();
        w.pair(label, &format!("{} {} {comment}", when(e.at), user(&e.by)?));
    }

    w.heading("文書と電子署名");
    for d in &c.documents {
        w.line(10.0, Font::Gothic, &format!("{}：{}", d.id, d.name));
        for v in &d.versions {
            let kind = match (&v.signer, v.n) {
                (Some(signer), _) if *signer != v.by => {
                    format!("署名済（{} が {} の代理として署名）", user(&v.by)?, user(signer)?)
                }
                (Some(signer), _) => format!("署名済（{}）", user(signer)?),
                (None, 1) => "原本".to_string(),
                (None, _) => "差替え".to_string(),
            };
            let deleted = v.deleted_at.map(|at| format!("（{} 削除）", when(at))).unwrap_or_default();
            w.line(8.5, Font::Mincho, &format!("版{} {} {} {}バイト{deleted}", v.n, when(v.created_at), kind, v.size));
            w.line(8.5, Font::Mincho, &format!("　SHA-256: {}", v.sha256));
        }
        // The latest version (after archive renewals, the system's) once the document is signed.
        let signed = d.versions.iter().any(|v| v.signer.is_some());
        if let Some(latest) = d.latest().filter(|v| signed && v.deleted_at.is_none()) {
            let pdf = storage::get_blob(tx, &c.tenant, &latest.sha256)?;
            for line in signature_lines(&pdf, &roots, tx.now()) {
                w.line(8.5, Font::Mincho, &format!("　{line}"));
            }
        }
    }
    Ok(w.finish())
}

/// The lines per signature and document time-stamp of a signed PDF, as the verifier
/// ([`keiyaku_pades::report`], trusting the tenant CA) judges them now: signer, time and its
/// proof, PAdES level, the certificate (serial, issuer, validity), its revocation status,
/// changes after signing, and the verdict — for a delegate's signature the delegation too.
fn signature_lines(pdf: &[u8], roots: &[Vec<u8>], now: jiff::Timestamp) -> Vec<String> {
    use keiyaku_pades::{Revocation, RevocationSource, SignatureKind, Verdict};
    let report = match keiyaku_pades::report(pdf, roots, now) {
        Ok(r) => r,
        Err(e) => return vec![format!("署名を検証できません：{e}")],
    };
    let verdict = |v: Verdict| match v {
        Verdict::Valid => "有効",
        Verdict::Indeterminate => "判定不能",
        Verdict::Invalid => "無効",
        Verdict::Unsigned => "署名なし",
    };
    let source = |s: &RevocationSource| match s {
        RevocationSource::Ocsp => "OCSP",
        RevocationSource::Crl => "CRL",
    };
    let mut lines = Vec::new();
    for (i, s) in report.signatures.iter().enumerate() {
        let proof = s
            .time_proof
            .as_ref()
            .map(|t| format!("タイムスタンプ {}（{}）", when(t.at), t.by))
            .unwrap_or_else(|| "タイムスタンプなし".into());
        match s.kind {
            SignatureKind::Signature => {
                lines.push(format!("署名{}：{}　{}", i + 1, s.signer, s.signed_at.map(when).unwrap_or_default()));
            }
            SignatureKind::DocumentTimestamp => lines.push(format!("文書タイムスタンプ{}", i + 1)),
        }
        lines.push(format!("　{proof}"));
        lines.push(match s.level {
            Some(l) => format!("　レベル {l}　検証結果：{}", verdict(s.verdict)),
            None => format!("　検証結果：{}", verdict(s.verdict)),
        });
        if let (Some(on_behalf), Some(id), Some(mandate)) = (&s.on_behalf_of, &s.delegate_id, &s.mandate_id) {
            lines.push(format!("　代行：{}（{}）が {} に代わり署名　委任 {}", s.signer, id, on_behalf, mandate));
            if let Some(sha) = &s.mandate_sha256 {
                lines.push(format!("　委任内容のSHA-256: {sha}"));
            }
        }
        if let Some(c) = &s.certificate {
            lines.push(format!("　証明書：シリアル {}", c.serial));
            lines.push(format!(
                "　発行者 {}　有効期間 {}〜{}",
                c.issuer,
                c.not_before.map(when).unwrap_or_default(),
                c.not_after.map(when).unwrap_or_default()
            ));
        }
        lines.push(match &s.revocation {
            Revocation::Good { checked_at, source: src } => {
                format!("　失効確認：失効していない（{} 時点、{}）", when(*checked_at), source(src))
            }
            Revocation::Revoked { at, revoked_before_signing, source: src, .. } => format!(
                "　失効確認：{} に失効（{}、{}）",
                when(*at),
                if *revoked_before_signing { "署名時刻より前" } else { "署名の後のため署名は有効" },
                source(src)
            ),
            Revocation::Unknown { reason } => format!("　失効確認：情報なし（{reason}）"),
        });
        lines.push(if !s.intact {
            "　完全性：署名と内容が一致しません（改ざんの可能性）".to_string()
        } else if !s.modifications_after.is_empty() {
            format!("　完全性：署名後に許可されていない変更があります（{}）", s.modifications_after.join("、"))
        } else {
            "　完全性：改ざんなし".to_string()
        });
    }
    lines
}
