use crate::layout::{self, Msg, PageCtx};
use keiyaku_contracts::verify::{Report, Revocation, SignatureKind, SignatureReport, Trust, Verdict};
use keiyaku_kernel::clock::display;
use maud::{Markup, html};

const TITLE: (&str, &str) = ("署名検証", "Signature verification");

/// What the form sent.
#[derive(Default)]
pub(super) struct Upload {
    pub(super) csrf: String,
    pub(super) file_name: String,
    pub(super) pdf: Vec<u8>,
    pub(super) trust: Vec<Vec<u8>>,
}

pub(super) fn view(pc: &PageCtx, csrf: &str, msg: Option<&Msg>, report: Option<(&str, &Report)>) -> Markup {
    let body = html! {
        section.card.card-wide {
            h1.card-title { (pc.t(TITLE.0, TITLE.1)) }
            (layout::messages(msg))
            p.lead {
                (pc.t(
                    "署名されたPDFを選択すると、署名ごとに署名者・署名時刻とその証明・PAdESレベル・改ざんの有無・証明書の信頼と失効・署名後の変更を表示します。ファイルは保存されません。",
                    "Choose a signed PDF to see, for each signature, the signer, the signing time and its proof, the PAdES level, integrity, the certificate's trust and revocation, and the changes made after it. Nothing is stored.",
                ))
            }
            form.form-grid method="post" action="/verify" enctype="multipart/form-data" {
                input type="hidden" name=(crate::session::CSRF_FIELD) value=(csrf);
                label for="file" { (pc.t("PDFファイル", "PDF file")) }
                input #file type="file" name="file" accept="application/pdf,.pdf" required;
                label for="trust" { (pc.t("信頼する証明書(任意)", "Certificates to trust (optional)")) }
                div {
                    input #trust type="file" name="trust" accept=".pem,.crt,.cer,.der" multiple;
                    p.hint { (pc.t("この電子契約サービスの認証局は常に信頼されます。他の認証局の証明書(PEM/DER)を追加できます。", "This appliance's certificate authorities are always trusted; add other CA certificates (PEM/DER) here.")) }
                }
                div.form-actions { button.button type="submit" { (pc.t("検証する", "Verify")) } }
            }
            @if let Some((name, r)) = report { (report_view(pc, name, r)) }
        }
    };
    layout::public_page(pc, pc.t(TITLE.0, TITLE.1), None, true, body)
}

pub(super) fn verdict_badge(pc: &PageCtx, v: Verdict) -> Markup {
    let (class, ja, en) = match v {
        Verdict::Valid => ("badge badge-ok", "有効", "valid"),
        Verdict::Indeterminate => ("badge badge-warn", "判定不能", "indeterminate"),
        Verdict::Invalid => ("badge um-suspended", "無効", "invalid"),
        Verdict::Unsigned => ("badge badge-muted", "署名なし", "unsigned"),
    };
    html! { span class=(class) data-verdict=(v.to_string()) { (pc.t(ja, en)) } }
}

fn trust_text(pc: &PageCtx, t: &Trust) -> String {
    match t {
        Trust::Trusted { chain, evaluated_at } => format!(
            "{} ({}: {}; {})",
            pc.t("信頼できる", "trusted"),
            pc.t("判定時刻", "judged at"),
            display(*evaluated_at),
            chain.join(" < ")
        ),
        Trust::Untrusted { reason, .. } => format!("{}: {reason}", pc.t("信頼できない", "not trusted")),
    }
}

fn revocation_text(pc: &PageCtx, r: &Revocation) -> String {
    match r {
        Revocation::Good { checked_at, .. } => {
            format!("{} ({} {})", pc.t("失効していない", "not revoked"), display(*checked_at), pc.t("時点", "as of"))
        }
        Revocation::Revoked { at, reason, revoked_before_signing, .. } => {
            let when = if *revoked_before_signing {
                pc.t("署名時刻より前に失効", "revoked before the proven signing time")
            } else {
                pc.t("署名の後に失効(署名は有効)", "revoked after signing (the signature holds)")
            };
            format!(
                "{}: {}{} — {when}",
                pc.t("失効", "revoked"),
                display(*at),
                reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default()
            )
        }
        Revocation::Unknown { reason } => format!("{}: {reason}", pc.t("失効情報なし", "no revocation information")),
    }
}

fn report_view(pc: &PageCtx, name: &str, r: &Report) -> Markup {
    html! {
        h2.section-title #report {
            (pc.t("検証結果", "Result")) " " (verdict_badge(pc, r.verdict))
        }
        @if !name.is_empty() { p { (name) } }
        @if r.signatures.is_empty() {
            p { (pc.t("このPDFには署名がありません。", "This PDF has no signature.")) }
        }
        @for (i, s) in r.signatures.iter().enumerate() { (signature_view(pc, i, s)) }
    }
}

fn signature_view(pc: &PageCtx, i: usize, s: &SignatureReport) -> Markup {
    let kind = match s.kind {
        SignatureKind::Signature => pc.t("署名", "Signature"),
        SignatureKind::DocumentTimestamp => pc.t("文書タイムスタンプ", "Document time-stamp"),
    };
    let yes_no = |b: bool, ja_yes: &'static str, en_yes: &'static str, ja_no: &'static str, en_no: &'static str| {
        if b { pc.t(ja_yes, en_yes) } else { pc.t(ja_no, en_no) }
    };
    html! {
        h3 { (i + 1) ". " (kind) " " (s.field.as_deref().unwrap_or("")) " " (verdict_badge(pc, s.verdict)) }
        dl.ct-facts {
            div { dt { (pc.t("署名者", "Signer")) } dd { (s.signer) } }
            @if let Some(p) = &s.on_behalf_of { div { dt { (pc.t("本人(代理元)", "On behalf of")) } dd { (p) } } }
            @if let Some(m) = &s.mandate_id { div { dt { (pc.t("委任状", "Mandate")) } dd { (m) } } }
            @if let Some(t) = s.signed_at { div { dt { (pc.t("署名時刻(申告)", "Claimed time")) } dd { (display(t)) } } }
            div {
                dt { (pc.t("時刻の証明", "Time proof")) }
                dd {
                    @match &s.time_proof {
                        Some(tp) => { (display(tp.at)) " — " (tp.by) " (" (trust_text(pc, &tp.trusted)) ")" }
                        None => { (pc.t("なし", "none")) }
                    }
                }
            }
            @if let Some(l) = s.level { div { dt { (pc.t("PAdESレベル", "PAdES level")) } dd { (l.to_string()) } } }
            div { dt { (pc.t("完全性", "Integrity")) } dd { (yes_no(s.intact, "改ざんなし", "intact", "署名と内容が一致しません", "the signature does not match")) } }
            div { dt { (pc.t("証明書の信頼", "Trust")) } dd { (trust_text(pc, &s.trusted)) } }
            div { dt { (pc.t("失効確認", "Revocation")) } dd { (revocation_text(pc, &s.revocation)) } }
            @if let Some(c) = &s.certificate {
                div {
                    dt { (pc.t("証明書", "Certificate")) }
                    dd {
                        (c.subject) " / " (pc.t("発行者", "issuer")) ": " (c.issuer) " / " (pc.t("シリアル番号", "serial")) ": " (c.serial)
                        @if let (Some(a), Some(b)) = (c.not_before, c.not_after) { " / " (display(a)) " – " (display(b)) }
                    }
                }
            }
            div {
                dt { (pc.t("署名後の変更", "Changes after")) }
                dd {
                    @if s.modifications_after.is_empty() && s.allowed_changes_after.is_empty() { (pc.t("なし", "none")) }
                    @if !s.allowed_changes_after.is_empty() {
                        (pc.t("許可された変更: ", "permitted: ")) (s.allowed_changes_after.join(", "))
                    }
                    @for m in &s.modifications_after { p.field-error { (pc.t("許可されていない変更: ", "not permitted: ")) (m) } }
                }
            }
            @if !s.reasons.is_empty() {
                div { dt { (pc.t("理由", "Reasons")) } dd { @for r in &s.reasons { p { (r) } } } }
            }
        }
    }
}
