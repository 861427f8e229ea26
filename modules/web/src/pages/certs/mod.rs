//! Pages of the certs module (seed §2.1, §2.2), public unless noted:
//!
//! - JCAN証明書発行チケットの購入: `/t/:tenant/tickets/order` (担当者メールアドレス) → mailed link
//!   `/t/:tenant/tickets/order/:token` (証明書送付種類) → `…/:token/form` (注文情報の入力, with
//!   server-side 再計算 of subtotals and total — no script) → 注文情報の確認 → `…/:token/place` →
//!   `/t/:tenant/tickets/order/done` (注文受付).
//! - 証明書発行申請: `/t/:tenant/certificates/apply` (お知らせ, 利用者の義務, 同意する) →
//!   `…/apply/applicant` (申請者確認情報 with the image captcha) → 確認 (consent) →
//!   `…/apply/register` → `…/apply/registered`; mailed link `…/apply/:token` (申請情報の入力,
//!   multipart with the identity document) → `…/apply/:token/confirm` (確認, 登録内容の
//!   ダウンロード, the PIN for a self application) → `…/apply/:token/submit` (完了).
//! - Holder approval (proxy case): `/t/:tenant/certificates/approve/:token` (review, PIN,
//!   download with the PIN) → `…/confirm` (承認する／承認しない) → `…/decide` (完了).
//! - Key-file download: `/t/:tenant/certificates/keyfile/:token`.
//! - Logged in: `/t/:tenant/certificates/users/:user_id` (the signer's certificate with
//!   証明書のテスト and 失効申請, and for the administrators who may revoke it 証明書の取込み:
//!   a PKCS#12 file from an outside CA), `…/test`, `…/revoke`, `…/import`. The users pages embed the same box
//!   through [`certificate_section`] / [`certificate_section_for`].
//!
//! Public forms use the double-submit CSRF token; the one-time link in the URL is the
//! capability. Handlers extract, call [`keiyaku_certs::Certs`] and render.

pub mod forms;
pub mod routes;
#[cfg(test)]
mod tests;
pub mod views;

use crate::Web;
use crate::views::certificate::CSS_PATH;
use poem::{EndpointExt, Route, get, post};
use routes::{
    applicant_form, applicant_post, apply_register, apply_registered, apply_start, approve_confirm, approve_decide,
    approve_download, approve_review, certificate_page, certificate_test, details_confirm, details_download,
    details_form, details_post, details_submit, import_post, keyfile_download, keyfile_page, order_delivery,
    order_done, order_form, order_form_post, order_place, order_send, order_start, revoke_form, revoke_post,
    stylesheet,
};

pub fn mount(route: Route, web: &Web) -> Route {
    let w = || web.clone();
    route
        .at(CSS_PATH, get(stylesheet))
        .at("/t/:tenant/tickets/order", get(order_start).post(order_send).data(w()))
        .at("/t/:tenant/tickets/order/done", get(order_done).data(w()))
        .at("/t/:tenant/tickets/order/:token", get(order_delivery).data(w()))
        .at("/t/:tenant/tickets/order/:token/form", get(order_form).post(order_form_post).data(w()))
        .at("/t/:tenant/tickets/order/:token/place", post(order_place).data(w()))
        .at("/t/:tenant/certificates/apply", get(apply_start).data(w()))
        .at("/t/:tenant/certificates/apply/applicant", get(applicant_form).post(applicant_post).data(w()))
        .at("/t/:tenant/certificates/apply/register", post(apply_register).data(w()))
        .at("/t/:tenant/certificates/apply/registered", get(apply_registered).data(w()))
        .at("/t/:tenant/certificates/apply/:token", get(details_form).post(details_post).data(w()))
        .at("/t/:tenant/certificates/apply/:token/confirm", get(details_confirm).data(w()))
        .at("/t/:tenant/certificates/apply/:token/registration.txt", get(details_download).data(w()))
        .at("/t/:tenant/certificates/apply/:token/submit", post(details_submit).data(w()))
        .at("/t/:tenant/certificates/approve/:token", get(approve_review).data(w()))
        .at("/t/:tenant/certificates/approve/:token/registration.txt", post(approve_download).data(w()))
        .at("/t/:tenant/certificates/approve/:token/confirm", post(approve_confirm).data(w()))
        .at("/t/:tenant/certificates/approve/:token/decide", post(approve_decide).data(w()))
        .at("/t/:tenant/certificates/keyfile/:token", get(keyfile_page).post(keyfile_download).data(w()))
        .at("/t/:tenant/certificates/users/:user_id", get(certificate_page).data(w()))
        .at("/t/:tenant/certificates/users/:user_id/test", post(certificate_test).data(w()))
        .at("/t/:tenant/certificates/users/:user_id/revoke", get(revoke_form).post(revoke_post).data(w()))
        .at("/t/:tenant/certificates/users/:user_id/import", post(import_post).data(w()))
}
