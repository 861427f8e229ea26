//! The 電子証明書 box of a signer: shown on the certificate page of the certs pages and on the
//! signer's detail page of the users pages.

use crate::Web;
use crate::form::hidden;
use crate::layout::PageCtx;
use crate::session::{CSRF_FIELD, Signed, tenant_path};
use keiyaku_certs::certificates::{self, State};
use keiyaku_certs::model::CertRecord;
use keiyaku_kernel::clock;
use maud::{Markup, html};

/// The stylesheet of the certs pages (served by them), which the box uses too.
pub const CSS_PATH: &str = "/static/certs.css";

/// The 電子証明書 box of a signer: subject, serial, validity, usable from, status, with
/// 証明書のテスト and 失効申請 when `manage`; `now` decides the status. For the signer detail page of the users pages.
pub fn certificate_section(
    pc: &PageCtx,
    s: &Signed,
    user_id: &str,
    cert: Option<&CertRecord>,
    manage: bool,
    now: jiff::Timestamp,
) -> Markup {
    let base = format!("certificates/users/{user_id}");
    html! {
        link rel="stylesheet" href=(CSS_PATH);
        section.cert-box aria-labelledby="cert-title" {
            h2 #cert-title { (pc.t("電子証明書", "Certificate")) }
            @match cert {
                None => {
                    p.empty { (pc.t("証明書は登録されていません。", "No certificate is registered.")) }
                    p { a href=(tenant_path(&s.tenant_code, "certificates/apply")) { (pc.t("JCAN証明書発行申請", "Apply for a certificate")) } }
                }
                Some(c) => {
                    @let state = certificates::state(c, now);
                    dl.review {
                        dt { (pc.t("表記名", "Subject")) } dd { (c.common_name) }
                        dt { (pc.t("組織名", "Organization")) } dd { (c.organization) }
                        dt { (pc.t("シリアル番号", "Serial number")) } dd.code { (c.serial) }
                        dt { (pc.t("有効期間", "Validity")) } dd { (clock::display(c.not_before)) " 〜 " (clock::display(c.not_after)) }
                        dt { (pc.t("利用開始日", "Usable from")) } dd { (certificates::date_display(c.usable_from)) }
                        dt { (pc.t("状態", "Status")) } dd { span class=(format!("status-{}", state.as_str())) id="cert-status" { (state_label(pc, state)) } }
                        @if let Some(r) = &c.revocation_reason { dt { (pc.t("失効理由", "Reason")) } dd { (r) } }
                    }
                    @if manage && state != State::Revoked {
                        div.cert-actions {
                            form.inline-form method="post" action=(tenant_path(&s.tenant_code, &format!("{base}/test"))) {
                                (hidden(CSRF_FIELD, s.csrf()))
                                button.button type="submit" id="cert-test" { (pc.t("証明書のテスト", "Test the certificate")) }
                            }
                            a.button.button-secondary href=(tenant_path(&s.tenant_code, &format!("{base}/revoke"))) id="cert-revoke" { (pc.t("失効申請", "Revoke")) }
                        }
                    }
                }
            }
        }
    }
}

pub fn state_label(pc: &PageCtx, s: State) -> &'static str {
    match s {
        State::NotYetUsable => pc.t("利用開始前", "Not usable yet"),
        State::Active => pc.t("有効", "Valid"),
        State::Expired => pc.t("期限切れ", "Expired"),
        State::Revoked => pc.t("失効", "Revoked"),
    }
}

/// Loads `user_id`'s certificate for the logged-in caller and renders [`certificate_section`];
/// empty when the caller may not see it.
pub async fn certificate_section_for(web: &Web, pc: &PageCtx, s: &Signed, user_id: &str) -> Markup {
    match web.certs.certificate(s.caller(), user_id).await {
        Ok((user, cert)) => {
            let manage =
                keiyaku_certs::authz::decide(s.caller(), keiyaku_certs::authz::Op::TestCertificate, Some(&user))
                    == keiyaku_users::scope::Decision::Allow;
            certificate_section(pc, s, user_id, cert.as_ref(), manage, web.kernel.now())
        }
        Err(_) => html! {},
    }
}
