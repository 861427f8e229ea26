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

use crate::Web;
use crate::form::hidden;
use crate::layout::{
    self, Msg, PageCtx, Tab, TenantHead, app_page, expired_public_form, field_errors, has_error, invalid_msg,
};
use crate::page::{PageResult, find_tenant};
use crate::session::{CSRF_FIELD, FormToken, Need, Signed, signed_in, tenant_path};
use crate::views::certificate::{CSS_PATH, certificate_section};
use base64::Engine;
use keiyaku_certs::applications::{Decided, DetailsInput, StartInput, Submitted, Upload};
use keiyaku_certs::captcha::CaptchaAnswer;
use keiyaku_certs::certificates::{self, REASONS};
use keiyaku_certs::documents::{TAX_PERCENT, totals, yen};
use keiyaku_certs::model::{ApplicantKind, Application, Billing, CertRecord, Delivery};
use keiyaku_certs::orders::{self, OrderInput};
use keiyaku_certs::{Certs, CertsError};
use keiyaku_kernel::clock;
use keiyaku_kernel::directory::Tenant;
use keiyaku_kernel::error::{ApiError, FieldError};
use keiyaku_kernel::validate::{Invalid, Rule, Validator};
use maud::{Markup, html};
use poem::http::{StatusCode, header};
use poem::web::{Data, Form, Multipart, Path};
use poem::{EndpointExt, Request, Response, Route, get, handler, post};
use serde::Deserialize;

/// The small stylesheet of these pages (steps, choices, amounts), served from /static.
const CSS: &str = r#".cert-steps{display:flex;flex-wrap:wrap;gap:.25rem;list-style:none;padding:0;margin:0 0 1.25rem;font-size:.8rem}
.cert-steps li{padding:.3rem .6rem;border:1px solid #c9d3dd;border-radius:3px;background:#f5f7f9;color:#556}
.cert-steps li.current{background:#1d4f7c;border-color:#1d4f7c;color:#fff;font-weight:600}
.cert-steps li.done{background:#e3ecf5}
.choice-list{list-style:none;padding:0;margin:0 0 1rem}
.choice-list li{border:1px solid #d5dde5;border-radius:4px;padding:.75rem 1rem;margin-bottom:.5rem}
.choice-list label{font-weight:600;display:flex;gap:.5rem;align-items:center}
.choice-list p{margin:.35rem 0 0 1.6rem;color:#555;font-size:.9rem}
.radio-row{display:flex;gap:1.5rem;align-items:center}
table.amounts{width:100%;border-collapse:collapse;margin:.5rem 0 1rem}
table.amounts th,table.amounts td{padding:.45rem .6rem;border-bottom:1px solid #e2e6ea;text-align:left}
table.amounts td.num,table.amounts th.num{text-align:right;white-space:nowrap}
table.amounts input{width:5rem;text-align:right}
table.amounts tr.total td{font-weight:700;border-top:2px solid #1d4f7c}
dl.review{display:grid;grid-template-columns:max-content 1fr;gap:.4rem 1.5rem;margin:0 0 1.25rem}
dl.review dt{color:#556;font-weight:600}
dl.review dd{margin:0;word-break:break-all}
.obligations{border:1px solid #d5dde5;background:#fafbfc;padding:1rem 1.25rem;border-radius:4px;margin:1rem 0}
.obligations ol{margin:.5rem 0 0 1.2rem;padding:0}
.obligations li{margin:.35rem 0}
.captcha-image{display:block;border:1px solid #d5dde5;border-radius:3px;margin-bottom:.4rem}
.prefixed{display:flex;align-items:center;gap:.35rem}
.prefixed span{font-weight:600}
.cert-box{border:1px solid #d5dde5;border-radius:4px;padding:1rem 1.25rem;margin:1rem 0}
.cert-box h2{margin-top:0;font-size:1.05rem}
.cert-actions{display:flex;gap:.75rem;flex-wrap:wrap;align-items:center}
.status-active{color:#176b2c;font-weight:700}
.status-revoked,.status-expired{color:#a11d1d;font-weight:700}
.status-not_yet_usable{color:#8a5a00;font-weight:700}
.check-row{display:flex;gap:.5rem;align-items:flex-start;margin:1rem 0}
"#;

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

#[handler]
fn stylesheet() -> PageResult {
    Ok(Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/css; charset=utf-8")
        .header(header::CACHE_CONTROL, "public, max-age=3600")
        .body(CSS))
}

// ---------------------------------------------------------------------------------------
// Shared pieces

fn head(t: &Tenant) -> TenantHead<'_> {
    TenantHead { code: &t.code, name: &t.name, trial: t.trial }
}

/// A public page of these flows, with the steps of the procedure on top.
fn page(pc: &PageCtx, t: &Tenant, title: &str, steps: Option<(&[&str], usize)>, content: Markup) -> Markup {
    let body = html! {
        link rel="stylesheet" href=(CSS_PATH);
        section.card {
            p.card-subtitle { (pc.t("JCAN証明書オンライン発行システム", "JCAN certificate online issuance")) }
            h1.card-title { (title) }
            @if let Some((names, current)) = steps {
                ol.cert-steps aria-label=(pc.t("手続きの流れ", "Steps")) {
                    @for (i, n) in names.iter().enumerate() {
                        li class=(if i == current { "current" } else if i < current { "done" } else { "" })
                            aria-current=[(i == current).then_some("step")] { (n) }
                    }
                }
            }
            (content)
        }
    };
    layout::public_page(pc, title, Some(head(t)), true, body)
}

const ORDER_STEPS: [&str; 6] =
    ["メールアドレス入力", "確認メール受信", "証明書送付種類選択", "注文情報入力", "確認", "完了"];
const APPLY_STEPS: [&str; 7] =
    ["申請者情報入力", "確認", "確認メール受信", "発行申請情報入力", "確認", "完了", "証明書の自動登録"];

fn input_field(errors: &[FieldError], name: &str, label: &str, value: &str, kind: &str, hint: Option<&str>) -> Markup {
    let invalid = has_error(errors, name);
    html! {
        label for=(name) { (label) }
        div.field {
            input id=(name) type=(kind) name=(name) value=(value)
                class=[invalid.then_some("invalid")] aria-invalid=[invalid.then_some("true")]
                aria-describedby=[invalid.then(|| format!("{name}-error"))];
            @if let Some(h) = hint { p.hint { (h) } }
            (field_errors(errors, name))
        }
    }
}

/// The response for a failed service call: expired links explain how to start again.
fn failure(pc: &PageCtx, t: &Tenant, e: &CertsError, restart: &str) -> Response {
    match e {
        CertsError::LinkExpired => {
            let body = html! {
                (layout::message(&Msg::error(
                    pc.t("このURLは有効期限が切れているか、既に使用されています。", "This link has expired or has already been used."),
                    Some(pc.t("お手数ですが、最初から手続きをやり直してください。", "Please start the procedure again.").to_string()),
                )))
                p.card-links { a href=(restart) { (pc.t("最初から手続きを行う", "Start again")) } }
            };
            pc.respond(StatusCode::GONE, page(pc, t, pc.t("URLの有効期限切れ", "Link expired"), None, body))
        }
        CertsError::NotFound(_) => layout::not_found(pc),
        e if e.status() >= 500 => layout::server_error(pc, e),
        e => {
            let p = e.problem(pc.lang);
            let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::BAD_REQUEST);
            let body = html! {
                (layout::message(&Msg::from_problem(&p)))
                p.card-links { a href=(restart) { (pc.t("最初から手続きを行う", "Start again")) } }
            };
            pc.respond(status, page(pc, t, &p.title, None, body))
        }
    }
}

/// The tenant and the service of a public page, or the page to answer instead.
async fn public(web: &Web, pc: &PageCtx, code: &str) -> Result<(Tenant, Certs), Response> {
    let t = find_tenant(web, pc, code).await?;
    Ok((t, web.certs.clone()))
}

/// Field errors of a problem, renamed to the form's fields.
fn errors_of(e: &CertsError, pc: &PageCtx, rename: fn(&str) -> String) -> Option<Vec<FieldError>> {
    match e {
        CertsError::Invalid(list) => Some(
            list.iter()
                .map(|i| {
                    let mut f = i.to_field_error(pc.lang);
                    f.field = rename(&f.field);
                    f
                })
                .collect(),
        ),
        _ => None,
    }
}

/// The one-time link token of a page and its form's CSRF token.
#[derive(Debug, Clone, Copy)]
struct Step<'a> {
    token: &'a str,
    csrf: &'a str,
}

fn same(s: &str) -> String {
    s.to_string()
}

// ---------------------------------------------------------------------------------------
// Ticket purchase

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct EmailForm {
    csrf: String,
    email: String,
    captcha_id: String,
    captcha_answer: String,
}

async fn order_email_view(
    pc: &PageCtx,
    t: &Tenant,
    certs: &Certs,
    csrf: &str,
    email: &str,
    msg: Option<&Msg>,
    errors: &[FieldError],
) -> Markup {
    let captcha = new_captcha(certs).await;
    let body = html! {
        (layout::messages(msg))
        h2.section-title { (pc.t("メールアドレス情報の入力", "Your e-mail address")) }
        p.lead { (pc.t("登録いただいたメールアドレスにチケット購入のための案内メールを送信します。", "We send a link for buying tickets to this address.")) }
        form.form-grid.wide-labels method="post" action=(tenant_path(&t.code, "tickets/order")) novalidate {
            (hidden(CSRF_FIELD, csrf))
            (input_field(errors, "email", pc.t("担当者メールアドレス", "Your e-mail address"), email, "email", None))
            (captcha_field(pc, captcha.as_ref(), errors))
            div.actions-row { button.button.button-wide type="submit" { (pc.t("送信", "Send")) } }
        }
    };
    page(pc, t, pc.t("JCAN証明書発行チケットの購入", "Buy certificate tickets"), Some((&ORDER_STEPS, 0)), body)
}

#[handler]
async fn order_start(req: &Request, Path(tenant): Path<String>, Data(web): Data<&Web>) -> PageResult {
    let pc = PageCtx::of(req);
    let (t, certs) = public(web, &pc, &tenant).await?;
    let ft = FormToken::for_request(req);
    Ok(pc.respond_with(
        StatusCode::OK,
        order_email_view(&pc, &t, &certs, &ft.value, "", None, &[]).await,
        &ft.set_cookie(),
    ))
}

#[handler]
async fn order_send(
    req: &Request,
    Path(tenant): Path<String>,
    Data(web): Data<&Web>,
    form: poem::Result<Form<EmailForm>>,
) -> PageResult {
    let pc = PageCtx::of(req);
    let (t, certs) = public(web, &pc, &tenant).await?;
    let ft = FormToken::for_request(req);
    let Ok(Form(f)) = form else { return Ok(layout::bad_form(&pc)) };
    let again = async |status, msg: Msg, errors: &[FieldError]| {
        let view = order_email_view(&pc, &t, &certs, &ft.value, &f.email, Some(&msg), errors).await;
        pc.respond_with(status, view, &ft.set_cookie())
    };
    if !FormToken::verify(req, &f.csrf) {
        return Ok(again(StatusCode::FORBIDDEN, expired_public_form(&pc), &[]).await);
    }
    let captcha = CaptchaAnswer { id: f.captcha_id.clone(), answer: f.captcha_answer.clone() };
    Ok(match certs.request_order_link(&t.code, &f.email, &captcha, pc.client.clone()).await {
        Ok(()) => {
            let body = html! {
                (layout::message(&Msg::notice(pc.t("メールを送信しました。", "The mail has been sent."))))
                p { (pc.t("入力いただいたメールアドレスに、チケット購入用URLのご案内をお送りしました。", "We have sent the link for buying tickets to:")) }
                p { strong { (f.email.trim()) } }
                p.hint { (pc.t("メールに記載されたURLから手続きを進めてください。URLの有効期限は3日間です。", "Continue from the link in the mail; it is valid for 3 days.")) }
            };
            pc.respond(
                StatusCode::OK,
                page(
                    &pc,
                    &t,
                    pc.t("JCAN証明書発行チケットの購入", "Buy certificate tickets"),
                    Some((&ORDER_STEPS, 1)),
                    body,
                ),
            )
        }
        Err(e) => match errors_of(&e, &pc, same) {
            Some(errors) => again(StatusCode::UNPROCESSABLE_ENTITY, invalid_msg(&pc), &errors).await,
            None => failure(&pc, &t, &e, &tenant_path(&t.code, "tickets/order")),
        },
    })
}

#[handler]
async fn order_delivery(
    req: &Request,
    Path((tenant, token)): Path<(String, String)>,
    Data(web): Data<&Web>,
) -> PageResult {
    let pc = PageCtx::of(req);
    let (t, certs) = public(web, &pc, &tenant).await?;
    if let Err(e) = certs.open_order_link(&t.code, &token).await {
        return Ok(failure(&pc, &t, &e, &tenant_path(&t.code, "tickets/order")));
    }
    let body = html! {
        h2.section-title { (pc.t("証明書送付種類の選択", "How the certificate is delivered")) }
        form method="get" action=(tenant_path(&t.code, &format!("tickets/order/{token}/form"))) {
            ul.choice-list {
                li {
                    label { input type="radio" name="delivery" value="service" checked; (pc.t(Delivery::Service.label_ja(), Delivery::Service.label_en())) }
                    p { (pc.t("電子契約サービスにログインして署名される場合。発行申請後、電子証明書が署名者のユーザーIDに自動登録されます。", "For signing in the e-contract service: the certificate is registered to the signer's user automatically.")) }
                }
                li {
                    label { input type="radio" name="delivery" value="key_file"; (pc.t(Delivery::KeyFile.label_ja(), Delivery::KeyFile.label_en())) }
                    p { (pc.t("電子契約サービスの外で署名される場合。PINコードで保護された鍵ファイルをダウンロードできます(証明書はユーザーにも登録されます)。", "For signing outside the service: a key file protected by the PIN (the certificate is registered too).")) }
                }
            }
            div.actions-row { button.button.button-wide type="submit" { (pc.t("次へ", "Next")) } }
        }
    };
    Ok(pc.respond(
        StatusCode::OK,
        page(&pc, &t, pc.t("JCAN証明書発行チケットの購入", "Buy certificate tickets"), Some((&ORDER_STEPS, 2)), body),
    ))
}

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(default)]
struct OrderFormData {
    csrf: String,
    action: String,
    delivery: String,
    company: String,
    department: String,
    postal_code: String,
    address: String,
    phone: String,
    contact_name: String,
    q1: String,
    q2: String,
    q3: String,
}

impl OrderFormData {
    fn quantity(s: &str) -> Option<i64> {
        let s = keiyaku_certs::rules::ascii_digits(s);
        if s.is_empty() { Some(0) } else { s.parse::<i64>().ok() }
    }

    fn quantities(&self) -> [Option<i64>; 3] {
        [Self::quantity(&self.q1), Self::quantity(&self.q2), Self::quantity(&self.q3)]
    }

    fn input(&self, token: &str) -> OrderInput {
        let q = self.quantities().map(|q| q.unwrap_or(-1));
        OrderInput {
            token: token.to_string(),
            delivery: self.delivery.clone(),
            billing: Billing {
                company: self.company.clone(),
                department: self.department.clone(),
                postal_code: self.postal_code.clone(),
                address: self.address.clone(),
                phone: self.phone.clone(),
                contact_name: self.contact_name.clone(),
            },
            quantities: q,
        }
    }

    fn delivery(&self) -> Delivery {
        Delivery::parse(&self.delivery).unwrap_or_default()
    }

    fn hidden_fields(&self) -> Markup {
        html! {
            (hidden("delivery", &self.delivery)) (hidden("company", &self.company)) (hidden("department", &self.department))
            (hidden("postal_code", &self.postal_code)) (hidden("address", &self.address)) (hidden("phone", &self.phone))
            (hidden("contact_name", &self.contact_name)) (hidden("q1", &self.q1)) (hidden("q2", &self.q2)) (hidden("q3", &self.q3))
        }
    }
}

/// `billing.company` → `company`, `quantities.1` → `q1`.
fn order_field(api: &str) -> String {
    let f = api.strip_prefix("billing.").unwrap_or(api);
    match f.strip_prefix("quantities.") {
        Some(n) => format!("q{n}"),
        None => f.to_string(),
    }
}

/// Subtotals and total of what the form holds (unreadable quantities count as 0).
fn form_totals(prices: [u32; 3], d: &OrderFormData) -> ([u64; 3], u64, u64) {
    let q = d.quantities().map(|q| q.and_then(|n| u32::try_from(n).ok()).filter(|n| *n <= 999).unwrap_or(0));
    totals(prices, q)
}

fn amounts_table(pc: &PageCtx, prices: [u32; 3], d: &OrderFormData, editable: bool, errors: &[FieldError]) -> Markup {
    let (subtotals, total, _) = form_totals(prices, d);
    let values = [&d.q1, &d.q2, &d.q3];
    html! {
        table.amounts {
            thead { tr {
                th { (pc.t("購入枚数", "Quantity")) } th.num { (pc.t("単価", "Unit price")) } th.num { (pc.t("枚数", "Tickets")) } th.num { (pc.t("小計", "Subtotal")) }
            } }
            tbody {
                @for i in 0..3 {
                    @let name = format!("q{}", i + 1);
                    tr {
                        td { (format!("{}年物", i + 1)) }
                        td.num { (yen(u64::from(prices[i]))) " ×" }
                        td.num {
                            @if editable {
                                input id=(name) type="text" inputmode="numeric" name=(name) value=(values[i]) maxlength="4"
                                    class=[has_error(errors, &name).then_some("invalid")]
                                    aria-label=(format!("{}年物の枚数", i + 1));
                                " 枚"
                                (field_errors(errors, &name))
                            } @else {
                                (values[i].trim().parse::<u32>().unwrap_or(0)) " 枚"
                            }
                        }
                        td.num id=(format!("subtotal-{}", i + 1)) { (yen(subtotals[i])) }
                    }
                }
                tr.total {
                    td colspan="3" { (pc.t("合計金額(税別)", "Total (tax excluded)")) }
                    td.num id="total" { (yen(total)) }
                }
            }
        }
        (field_errors(errors, "quantities"))
    }
}

fn order_form_view(
    pc: &PageCtx,
    t: &Tenant,
    link: Step<'_>,
    prices: [u32; 3],
    d: &OrderFormData,
    msg: Option<&Msg>,
    errors: &[FieldError],
) -> Markup {
    let Step { token, csrf } = link;
    let delivery = d.delivery();
    let body = html! {
        (layout::messages(msg))
        h2.section-title { (pc.t("注文情報の入力", "Order")) }
        form method="post" action=(tenant_path(&t.code, &format!("tickets/order/{token}/form"))) novalidate {
            (hidden(CSRF_FIELD, csrf))
            (hidden("delivery", delivery.as_str()))
            dl.review {
                dt { (pc.t("企業コード", "Enterprise code")) } dd { (t.code) }
                dt { (pc.t("証明書送付種類", "Delivery")) } dd { (pc.t(delivery.label_ja(), delivery.label_en())) }
            }
            h3 { (pc.t("請求先情報", "Billing")) }
            div.form-grid.wide-labels {
                (input_field(errors, "company", pc.t("会社名", "Company"), &d.company, "text", None))
                (input_field(errors, "department", pc.t("部署名", "Department"), &d.department, "text", None))
                (input_field(errors, "postal_code", pc.t("郵便番号", "Postal code"), &d.postal_code, "text", Some(pc.t("例: 135-0061", "e.g. 135-0061"))))
                (input_field(errors, "address", pc.t("住所", "Address"), &d.address, "text", None))
                (input_field(errors, "phone", pc.t("電話番号", "Phone"), &d.phone, "text", Some(pc.t("例: 03-6220-0635", "e.g. 03-6220-0635"))))
                (input_field(errors, "contact_name", pc.t("担当者名", "Contact person"), &d.contact_name, "text", None))
            }
            h3 { (pc.t("購入枚数", "Quantities")) }
            p.hint { (pc.t("枚数を変更したら「再計算」で小計と合計金額を更新できます。金額は税別です。", "After changing quantities, 再計算 updates the subtotals and total. Prices exclude tax.")) }
            (amounts_table(pc, prices, d, true, errors))
            div.cert-actions {
                button.button.button-secondary type="submit" name="action" value="recalc" id="recalc" { (pc.t("再計算", "Recalculate")) }
                a.button.button-secondary href=(tenant_path(&t.code, &format!("tickets/order/{token}"))) { (pc.t("前へ", "Back")) }
                button.button type="submit" name="action" value="confirm" id="next" { (pc.t("次へ", "Next")) }
            }
        }
    };
    page(pc, t, pc.t("JCAN証明書発行チケットの購入", "Buy certificate tickets"), Some((&ORDER_STEPS, 3)), body)
}

#[handler]
async fn order_form(req: &Request, Path((tenant, token)): Path<(String, String)>, Data(web): Data<&Web>) -> PageResult {
    let pc = PageCtx::of(req);
    let (t, certs) = public(web, &pc, &tenant).await?;
    let form = match certs.open_order_link(&t.code, &token).await {
        Ok(f) => f,
        Err(e) => return Ok(failure(&pc, &t, &e, &tenant_path(&t.code, "tickets/order"))),
    };
    let delivery = crate::query::param(req, "delivery").as_deref().and_then(Delivery::parse).unwrap_or_default();
    let d = OrderFormData {
        delivery: delivery.as_str().into(),
        q1: "0".into(),
        q2: "0".into(),
        q3: "0".into(),
        ..Default::default()
    };
    let ft = FormToken::for_request(req);
    Ok(pc.respond_with(
        StatusCode::OK,
        order_form_view(&pc, &t, Step { token: &token, csrf: &ft.value }, form.prices, &d, None, &[]),
        &ft.set_cookie(),
    ))
}

fn order_confirm_view(
    pc: &PageCtx,
    t: &Tenant,
    token: &str,
    csrf: &str,
    prices: [u32; 3],
    d: &OrderFormData,
    email: &str,
) -> Markup {
    let delivery = d.delivery();
    let (_, total, tax) = form_totals(prices, d);
    let body = html! {
        h2.section-title { (pc.t("注文情報の確認", "Check your order")) }
        dl.review {
            dt { (pc.t("企業コード", "Enterprise code")) } dd { (t.code) }
            dt { (pc.t("証明書送付種類", "Delivery")) } dd { (pc.t(delivery.label_ja(), delivery.label_en())) }
        }
        h3 { (pc.t("請求先情報", "Billing")) }
        dl.review {
            dt { (pc.t("会社名", "Company")) } dd { (d.company) }
            dt { (pc.t("部署名", "Department")) } dd { (d.department) }
            dt { (pc.t("郵便番号", "Postal code")) } dd { (d.postal_code) }
            dt { (pc.t("住所", "Address")) } dd { (d.address) }
            dt { (pc.t("電話番号", "Phone")) } dd { (d.phone) }
            dt { (pc.t("担当者名", "Contact person")) } dd { (d.contact_name) }
            dt { (pc.t("担当者メールアドレス", "E-mail")) } dd { (email) }
        }
        h3 { (pc.t("購入枚数", "Quantities")) }
        (amounts_table(pc, prices, d, false, &[]))
        p.hint { (format!("消費税({TAX_PERCENT}%) {} ・ ご請求金額(税込) {}", yen(tax), yen(total + tax))) }
        div.cert-actions {
            form.inline-form method="post" action=(tenant_path(&t.code, &format!("tickets/order/{token}/form"))) {
                (hidden(CSRF_FIELD, csrf)) (d.hidden_fields()) (hidden("action", "back"))
                button.button.button-secondary type="submit" id="back" { (pc.t("前へ", "Back")) }
            }
            form.inline-form method="post" action=(tenant_path(&t.code, &format!("tickets/order/{token}/place"))) {
                (hidden(CSRF_FIELD, csrf)) (d.hidden_fields())
                button.button type="submit" id="purchase" { (pc.t("JCAN証明書発行チケットの購入", "Buy the tickets")) }
            }
        }
    };
    page(pc, t, pc.t("JCAN証明書発行チケットの購入", "Buy certificate tickets"), Some((&ORDER_STEPS, 4)), body)
}

#[handler]
async fn order_form_post(
    req: &Request,
    Path((tenant, token)): Path<(String, String)>,
    Data(web): Data<&Web>,
    form: poem::Result<Form<OrderFormData>>,
) -> PageResult {
    let pc = PageCtx::of(req);
    let (t, certs) = public(web, &pc, &tenant).await?;
    let info = match certs.open_order_link(&t.code, &token).await {
        Ok(f) => f,
        Err(e) => return Ok(failure(&pc, &t, &e, &tenant_path(&t.code, "tickets/order"))),
    };
    let Ok(Form(d)) = form else { return Ok(layout::bad_form(&pc)) };
    let ft = FormToken::for_request(req);
    let again = |status, msg: Option<&Msg>, errors: &[FieldError]| {
        pc.respond_with(
            status,
            order_form_view(&pc, &t, Step { token: &token, csrf: &ft.value }, info.prices, &d, msg, errors),
            &ft.set_cookie(),
        )
    };
    if !FormToken::verify(req, &d.csrf) {
        return Ok(again(StatusCode::FORBIDDEN, Some(&expired_public_form(&pc)), &[]));
    }
    if d.action != "confirm" {
        // 再計算 and 前へ: the form again, with the totals of what it holds.
        return Ok(again(StatusCode::OK, None, &[]));
    }
    Ok(match orders::check_order(&d.input(&token), web.kernel.config.certs.max_tickets_per_term) {
        Ok(_) => pc.respond_with(
            StatusCode::OK,
            order_confirm_view(&pc, &t, &token, &ft.value, info.prices, &d, &info.email),
            &ft.set_cookie(),
        ),
        Err(list) => {
            let errors: Vec<FieldError> = list
                .iter()
                .map(|i| {
                    let mut f = i.to_field_error(pc.lang);
                    f.field = order_field(&f.field);
                    f
                })
                .collect();
            again(StatusCode::UNPROCESSABLE_ENTITY, Some(&invalid_msg(&pc)), &errors)
        }
    })
}

#[handler]
async fn order_place(
    req: &Request,
    Path((tenant, token)): Path<(String, String)>,
    Data(web): Data<&Web>,
    form: poem::Result<Form<OrderFormData>>,
) -> PageResult {
    let pc = PageCtx::of(req);
    let (t, certs) = public(web, &pc, &tenant).await?;
    let Ok(Form(d)) = form else { return Ok(layout::bad_form(&pc)) };
    let restart = tenant_path(&t.code, "tickets/order");
    if !FormToken::verify(req, &d.csrf) {
        let body = html! { (layout::message(&expired_public_form(&pc))) p.card-links { a href=(tenant_path(&t.code, &format!("tickets/order/{token}"))) { (pc.t("注文情報の入力に戻る", "Back to the order")) } } };
        return Ok(pc.respond(
            StatusCode::FORBIDDEN,
            page(&pc, &t, pc.t("JCAN証明書発行チケットの購入", "Buy certificate tickets"), None, body),
        ));
    }
    Ok(match certs.place_order(&t.code, d.input(&token), pc.client.clone()).await {
        Ok(order) => {
            layout::see_other(&format!("{}?n={}", tenant_path(&t.code, "tickets/order/done"), order.number), &[])
        }
        Err(e @ CertsError::Invalid(_)) => {
            // Changed between confirmation and purchase: back to the form with the errors.
            let info = match certs.open_order_link(&t.code, &token).await {
                Ok(f) => f,
                Err(e) => return Ok(failure(&pc, &t, &e, &restart)),
            };
            let errors: Vec<FieldError> = errors_of(&e, &pc, order_field).unwrap_or_default();
            let ft = FormToken::for_request(req);
            pc.respond_with(
                StatusCode::UNPROCESSABLE_ENTITY,
                order_form_view(
                    &pc,
                    &t,
                    Step { token: &token, csrf: &ft.value },
                    info.prices,
                    &d,
                    Some(&invalid_msg(&pc)),
                    &errors,
                ),
                &ft.set_cookie(),
            )
        }
        Err(e) => failure(&pc, &t, &e, &restart),
    })
}

#[handler]
async fn order_done(req: &Request, Path(tenant): Path<String>, Data(web): Data<&Web>) -> PageResult {
    let pc = PageCtx::of(req);
    let (t, _) = public(web, &pc, &tenant).await?;
    // Only an order number of our own shape is echoed.
    let number = crate::query::param(req, "n")
        .filter(|n| n.len() == 7 && n.starts_with('T') && n[1..].bytes().all(|b| b.is_ascii_digit()));
    let body = html! {
        (layout::message(&Msg::notice(pc.t("JCAN証明書発行チケットのご注文を受付ました。", "Your ticket order has been received."))))
        p { (pc.t("ご注文ありがとうございました。", "Thank you for your order.")) }
        @if let Some(n) = number { p { (pc.t("注文番号", "Order number")) ": " strong { (n) } } }
        p { (pc.t("チケット発行まで、いましばらくお待ちください。注文受付のご案内と、チケット番号・請求書をメールでお送りします。", "The ticket numbers and the invoice will follow by mail.")) }
        p.card-links { a href=(tenant_path(&t.code, "certificates/apply")) { (pc.t("JCAN証明書発行申請へ", "Apply for a certificate")) } }
    };
    Ok(pc.respond(StatusCode::OK, page(&pc, &t, pc.t("注文受付", "Order received"), Some((&ORDER_STEPS, 5)), body)))
}

// ---------------------------------------------------------------------------------------
// Application: start

fn obligations(pc: &PageCtx, t: &Tenant) -> Markup {
    html! {
        div.obligations {
            h2.section-title { (pc.t("利用者の義務", "Subscriber obligations")) }
            ol {
                li { "申請時に入力する個人情報を、" (t.name) "の電子契約サービス(証明書発行窓口)および電子署名の検証者に利用・開示することを認める。" }
                li { "証明書ポリシの諸条件を承諾し、許可された用途(電子契約への電子署名)にのみ電子証明書を使用すること。" }
                li { "電子証明書を合理的な環境下で使用し、不正な操作から防御すること。また電子証明書が有効でなくなった場合は、使用をやめること。" }
                li { "電子証明書の秘密鍵、および秘密鍵を保護する暗証番号(PINコード)などは、第三者に知られることのないように利用者の責任において厳重に管理すること。万一、本電子証明書の信頼性が損なわれるような事由が生じた場合、速やかに失効申請を行うこと。" }
                li { "本電子証明書および秘密鍵について、紛失、盗難、暗証番号の漏えい、記載事項の変更、利用の終了などが生じた場合、速やかに失効申請を行うこと。" }
            }
        }
    }
}

#[handler]
async fn apply_start(req: &Request, Path(tenant): Path<String>, Data(web): Data<&Web>) -> PageResult {
    let pc = PageCtx::of(req);
    let (t, _) = public(web, &pc, &tenant).await?;
    let body = html! {
        div.box {
            div.box-head { h2.box-title { (pc.t("お知らせ", "Notice")) } }
            div.box-body {
                p { (pc.t("電子証明書の発行を申請される方は、以下「利用者の義務」をよく読み、同意された上で申請の手続きを行って下さい。", "Please read the subscriber obligations below and apply only if you agree.")) }
                p { "電子証明書の発行手続きは、" (t.name) " 電子契約サービスの証明書発行窓口が行います。発行された証明書は、署名者のユーザーに自動登録されます。" }
                p.hint { (pc.t("チケット番号は「JCAN証明書発行チケットの購入」でお送りしたCSVファイルに記載されています。", "The ticket number is in the CSV file sent after your ticket purchase.")) }
            }
        }
        (obligations(&pc, &t))
        div.cert-actions {
            a.button.button-wide href=(tenant_path(&t.code, "certificates/apply/applicant")) id="agree" { (pc.t("同意する", "I agree")) }
            a.small-link href=(tenant_path(&t.code, "tickets/order")) { (pc.t("チケットの購入はこちら", "Buy tickets")) }
        }
    };
    Ok(pc.respond(
        StatusCode::OK,
        page(&pc, &t, pc.t("JCAN証明書オンライン発行申請", "Certificate application"), None, body),
    ))
}

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(default)]
struct ApplicantForm {
    csrf: String,
    applicant: String,
    enterprise_code: String,
    ticket: String,
    email: String,
    email_confirm: String,
    captcha_id: String,
    captcha_answer: String,
    consent: String,
}

impl ApplicantForm {
    fn captcha(&self) -> CaptchaAnswer {
        CaptchaAnswer { id: self.captcha_id.clone(), answer: self.captcha_answer.clone() }
    }

    fn input(&self, consent: bool) -> StartInput {
        StartInput {
            applicant: self.applicant.clone(),
            enterprise_code: self.enterprise_code.clone(),
            ticket: self.ticket.clone(),
            email: self.email.clone(),
            email_confirm: Some(self.email_confirm.clone()),
            consent,
        }
    }
}

/// A fresh image captcha, when `certs.captcha` asks for one.
async fn new_captcha(certs: &Certs) -> Option<(String, Vec<u8>)> {
    if certs.captcha_required() { certs.captcha().await.ok() } else { None }
}

/// The 画像認証 row of a public form.
fn captcha_field(pc: &PageCtx, captcha: Option<&(String, Vec<u8>)>, errors: &[FieldError]) -> Markup {
    html! {
        @if let Some((id, png)) = captcha {
            label for="captcha_answer" { (pc.t("画像認証", "Image check")) }
            div.field {
                img.captcha-image src=(format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(png))) width="220" height="100" alt=(pc.t("認証用の文字画像", "Characters to type"));
                (hidden("captcha_id", id))
                input id="captcha_answer" type="text" name="captcha_answer" value="" autocomplete="off" autocapitalize="none" spellcheck="false"
                    class=[has_error(errors, "captcha_answer").then_some("invalid")];
                p.hint { (pc.t("上記の画像に表示された文字を入力してください。", "Type the characters shown in the image.")) }
                (field_errors(errors, "captcha_answer"))
            }
        }
    }
}

async fn applicant_view(
    pc: &PageCtx,
    t: &Tenant,
    certs: &Certs,
    csrf: &str,
    f: &ApplicantForm,
    msg: Option<&Msg>,
    errors: &[FieldError],
) -> Markup {
    let captcha = new_captcha(certs).await;
    let radio = |value: &str, label: &str| {
        html! { label { input type="radio" name="applicant" value=(value) checked[f.applicant == value]; " " (label) } }
    };
    let body = html! {
        (layout::messages(msg))
        h2.section-title { (pc.t("申請者確認情報の入力", "Applicant")) }
        form.form-grid.wide-labels method="post" action=(tenant_path(&t.code, "certificates/apply/applicant")) novalidate {
            (hidden(CSRF_FIELD, csrf))
            label { (pc.t("申請者", "Applicant")) }
            div.field {
                div.radio-row { (radio("self", pc.t("本人", "Self"))) (radio("proxy", pc.t("代理人", "Proxy"))) }
                p.hint { (pc.t("証明書の発行対象者本人が申請する場合は「本人」を、代理人が申請する場合は「代理人」を選択して下さい。", "Choose self if you are the certificate holder, proxy otherwise.")) }
                (field_errors(errors, "applicant"))
            }
            (input_field(errors, "enterprise_code", pc.t("企業コード", "Enterprise code"), &f.enterprise_code, "text", Some(pc.t("電子契約サービスから受領した企業コード、英数字のみ", "The enterprise code of the e-contract service"))))
            (input_field(errors, "ticket", pc.t("チケット番号", "Ticket number"), &f.ticket, "text", Some(pc.t("チケット購入でメールに添付されているCSVファイルのチケット番号", "From the CSV file of your ticket purchase"))))
            (input_field(errors, "email", pc.t("メールアドレス", "E-mail"), &f.email, "email", Some(pc.t("このメールアドレスに、申請のための情報を記載したメールを送信します。", "We send the next step to this address."))))
            (input_field(errors, "email_confirm", pc.t("(確認)メールアドレス", "E-mail (again)"), &f.email_confirm, "email", Some(pc.t("確認のためもう一度入力してください", "Type it again"))))
            (captcha_field(pc, captcha.as_ref(), errors))
            div.actions-row { button.button.button-wide type="submit" { (pc.t("次へ", "Next")) } }
        }
    };
    page(pc, t, pc.t("JCAN証明書オンライン発行申請", "Certificate application"), Some((&APPLY_STEPS, 0)), body)
}

#[handler]
async fn applicant_form(req: &Request, Path(tenant): Path<String>, Data(web): Data<&Web>) -> PageResult {
    let pc = PageCtx::of(req);
    let (t, certs) = public(web, &pc, &tenant).await?;
    let ft = FormToken::for_request(req);
    let f = ApplicantForm { applicant: "self".into(), ..Default::default() };
    Ok(pc.respond_with(
        StatusCode::OK,
        applicant_view(&pc, &t, &certs, &ft.value, &f, None, &[]).await,
        &ft.set_cookie(),
    ))
}

fn applicant_confirm_view(
    pc: &PageCtx,
    t: &Tenant,
    csrf: &str,
    f: &ApplicantForm,
    msg: Option<&Msg>,
    errors: &[FieldError],
) -> Markup {
    let kind = ApplicantKind::parse(&f.applicant).unwrap_or(ApplicantKind::Holder);
    let body = html! {
        (layout::messages(msg))
        h2.section-title { (pc.t("以下の内容で、申請を登録してもよろしいですか?", "Register the application with these details?")) }
        p { (pc.t("申請者情報を登録するとJCAN証明書発行申請手続き案内メールが届きます。", "After registering, you receive a mail with the link for the next step.")) }
        dl.review {
            dt { (pc.t("申請者", "Applicant")) } dd { (kind.label_ja()) }
            dt { (pc.t("企業コード", "Enterprise code")) } dd { (f.enterprise_code.trim().to_ascii_uppercase()) }
            dt { (pc.t("チケット番号", "Ticket number")) } dd { (f.ticket.trim()) }
            dt { (pc.t("メールアドレス", "E-mail")) } dd { (f.email.trim()) }
        }
        form method="post" action=(tenant_path(&t.code, "certificates/apply/register")) {
            (hidden(CSRF_FIELD, csrf)) (hidden("applicant", &f.applicant)) (hidden("enterprise_code", &f.enterprise_code))
            (hidden("ticket", &f.ticket)) (hidden("email", &f.email)) (hidden("email_confirm", &f.email_confirm))
            (hidden("captcha_id", &f.captcha_id)) (hidden("captcha_answer", &f.captcha_answer))
            div.check-row {
                input #consent type="checkbox" name="consent" value="on";
                label for="consent" { (pc.t("本システムの 利用者の義務 と 個人情報の取扱いについて に同意します。", "I agree to the subscriber obligations and the handling of personal data.")) }
            }
            (field_errors(errors, "consent"))
            div.cert-actions {
                a.button.button-secondary href=(tenant_path(&t.code, "certificates/apply/applicant")) { (pc.t("前へ", "Back")) }
                button.button type="submit" id="register" { (pc.t("申請登録", "Register")) }
            }
        }
    };
    page(pc, t, pc.t("JCAN証明書オンライン発行申請", "Certificate application"), Some((&APPLY_STEPS, 1)), body)
}

#[handler]
async fn applicant_post(
    req: &Request,
    Path(tenant): Path<String>,
    Data(web): Data<&Web>,
    form: poem::Result<Form<ApplicantForm>>,
) -> PageResult {
    let pc = PageCtx::of(req);
    let (t, certs) = public(web, &pc, &tenant).await?;
    let Ok(Form(f)) = form else { return Ok(layout::bad_form(&pc)) };
    let ft = FormToken::for_request(req);
    if !FormToken::verify(req, &f.csrf) {
        let view = applicant_view(&pc, &t, &certs, &ft.value, &f, Some(&expired_public_form(&pc)), &[]).await;
        return Ok(pc.respond_with(StatusCode::FORBIDDEN, view, &ft.set_cookie()));
    }
    let mut errors = match certs.check_start(&t.code, f.input(true)).await {
        Ok(()) => Vec::new(),
        Err(e) => match errors_of(&e, &pc, same) {
            Some(errs) => errs,
            None => {
                let p = e.problem(pc.lang);
                if p.status >= 500 {
                    return Ok(layout::server_error(&pc, &e));
                }
                vec![FieldError { field: "ticket".into(), code: p.code.clone(), message: p.title.clone() }]
            }
        },
    };
    if !certs.captcha_passes(&f.captcha()) {
        errors.push(keiyaku_certs::captcha_failed().to_field_error(pc.lang));
    }
    if !errors.is_empty() {
        let view = applicant_view(&pc, &t, &certs, &ft.value, &f, Some(&invalid_msg(&pc)), &errors).await;
        return Ok(pc.respond_with(StatusCode::UNPROCESSABLE_ENTITY, view, &ft.set_cookie()));
    }
    Ok(pc.respond_with(StatusCode::OK, applicant_confirm_view(&pc, &t, &ft.value, &f, None, &[]), &ft.set_cookie()))
}

#[handler]
async fn apply_register(
    req: &Request,
    Path(tenant): Path<String>,
    Data(web): Data<&Web>,
    form: poem::Result<Form<ApplicantForm>>,
) -> PageResult {
    let pc = PageCtx::of(req);
    let (t, certs) = public(web, &pc, &tenant).await?;
    let Ok(Form(f)) = form else { return Ok(layout::bad_form(&pc)) };
    let ft = FormToken::for_request(req);
    if !FormToken::verify(req, &f.csrf) {
        let view = applicant_view(&pc, &t, &certs, &ft.value, &f, Some(&expired_public_form(&pc)), &[]).await;
        return Ok(pc.respond_with(StatusCode::FORBIDDEN, view, &ft.set_cookie()));
    }
    if f.consent != "on" {
        let errors = vec![
            Invalid::new(
                "consent",
                Rule::Custom {
                    code: "consent_required",
                    ja: "利用者の義務と個人情報の取扱いに同意してください。".into(),
                    en: "Please agree to the obligations and the handling of personal data.".into(),
                },
            )
            .to_field_error(pc.lang),
        ];
        let view = applicant_confirm_view(&pc, &t, &ft.value, &f, Some(&invalid_msg(&pc)), &errors);
        return Ok(pc.respond_with(StatusCode::UNPROCESSABLE_ENTITY, view, &ft.set_cookie()));
    }
    Ok(match certs.start_application(&t.code, f.input(true), &f.captcha(), pc.client.clone()).await {
        Ok(_) => layout::see_other(&tenant_path(&t.code, "certificates/apply/registered"), &[]),
        Err(e) => match errors_of(&e, &pc, same) {
            Some(errors) => {
                let view = applicant_view(&pc, &t, &certs, &ft.value, &f, Some(&invalid_msg(&pc)), &errors).await;
                pc.respond_with(StatusCode::UNPROCESSABLE_ENTITY, view, &ft.set_cookie())
            }
            None => failure(&pc, &t, &e, &tenant_path(&t.code, "certificates/apply")),
        },
    })
}

#[handler]
async fn apply_registered(req: &Request, Path(tenant): Path<String>, Data(web): Data<&Web>) -> PageResult {
    let pc = PageCtx::of(req);
    let (t, _) = public(web, &pc, &tenant).await?;
    let body = html! {
        (layout::message(&Msg::notice(pc.t("申請者確認情報を登録いただきありがとうございました。", "Thank you: the applicant information is registered."))))
        p { (pc.t("申請手続きのご案内メールをお送りしました。メールに記載されたURLにアクセスして、発行申請の手続きを行って下さい。", "We have sent you a mail: continue from its link.")) }
        p { strong { (pc.t("この段階では、まだ申請は完了していません。", "The application is not complete yet.")) } }
        p.hint { (pc.t("URLの有効期限は3日間です。期限を過ぎた場合には、再度申請登録を行って下さい。", "The link is valid for 3 days.")) }
    };
    Ok(pc.respond(
        StatusCode::OK,
        page(&pc, &t, pc.t("JCAN証明書オンライン発行申請", "Certificate application"), Some((&APPLY_STEPS, 2)), body),
    ))
}

// ---------------------------------------------------------------------------------------
// Application: details

#[derive(Debug, Default, Clone)]
struct DetailsFields {
    csrf: String,
    company_name: String,
    company_name_kana: String,
    surname: String,
    given_name: String,
    surname_kana: String,
    given_name_kana: String,
    user_id: String,
    email: String,
    display_name: String,
    phone: String,
    file_name: String,
    bytes: Vec<u8>,
}

impl DetailsFields {
    fn of(app: &Application) -> Self {
        match &app.details {
            Some(d) => Self {
                company_name: d.company_name.clone(),
                company_name_kana: d.company_name_kana.clone(),
                surname: d.surname.clone(),
                given_name: d.given_name.clone(),
                surname_kana: d.surname_kana.clone(),
                given_name_kana: d.given_name_kana.clone(),
                user_id: d.user_id.clone(),
                email: d.email.clone(),
                display_name: d.display_name.clone(),
                phone: d.phone.clone(),
                ..Default::default()
            },
            None => Self::default(),
        }
    }

    fn input(self) -> DetailsInput {
        let document = (!self.bytes.is_empty()).then(|| Upload { name: self.file_name.clone(), bytes: self.bytes });
        DetailsInput {
            company_name: self.company_name,
            company_name_kana: self.company_name_kana,
            surname: self.surname,
            given_name: self.given_name,
            surname_kana: self.surname_kana,
            given_name_kana: self.given_name_kana,
            user_id: self.user_id,
            email: self.email,
            display_name: self.display_name,
            phone: self.phone,
            document,
        }
    }
}

async fn read_details(mut mp: Multipart) -> Option<DetailsFields> {
    let mut f = DetailsFields::default();
    while let Some(field) = mp.next_field().await.ok()? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "id_document" {
            f.file_name = field.file_name().unwrap_or_default().chars().take(200).collect();
            f.bytes = field.bytes().await.ok()?;
            continue;
        }
        let text: String = field.text().await.ok()?.chars().take(300).collect();
        match name.as_str() {
            "csrf" => f.csrf = text,
            "company_name" => f.company_name = text,
            "company_name_kana" => f.company_name_kana = text,
            "surname" => f.surname = text,
            "given_name" => f.given_name = text,
            "surname_kana" => f.surname_kana = text,
            "given_name_kana" => f.given_name_kana = text,
            "user_id" => f.user_id = text,
            "email" => f.email = text,
            "display_name" => f.display_name = text,
            "phone" => f.phone = text,
            _ => {}
        }
    }
    Some(f)
}

fn app_summary(pc: &PageCtx, app: &Application) -> Markup {
    html! {
        dl.review {
            dt { (pc.t("企業コード", "Enterprise code")) } dd { (app.tenant) }
            dt { (pc.t("チケット番号", "Ticket number")) } dd { (app.ticket) }
            dt { (pc.t("証明書の種類", "Term")) } dd { (format!("{}年物", app.term_years)) }
            dt { (pc.t("申請者", "Applicant")) } dd { (app.applicant.label_ja()) " (" (app.email) ")" }
        }
    }
}

fn details_view(
    pc: &PageCtx,
    t: &Tenant,
    link: Step<'_>,
    app: &Application,
    f: &DetailsFields,
    msg: Option<&Msg>,
    errors: &[FieldError],
) -> Markup {
    let Step { token, csrf } = link;
    let field = |name: &str, label: &str, value: &str, hint: Option<&str>| {
        input_field(errors, name, label, value, "text", hint)
    };
    let body = html! {
        (layout::messages(msg))
        (app_summary(pc, app))
        h2.section-title { (pc.t("申請情報の入力", "Application details")) }
        (layout::message(&Msg::info(pc.t("会社名は、支店名・営業所名の入力ができません。会社名のみになります。氏名は旧字体での入力ができません。標準字体となります。", "Company name only (no branch names); names in standard character forms."))))
        form.form-grid.wide-labels method="post" enctype="multipart/form-data" action=(tenant_path(&t.code, &format!("certificates/apply/{token}"))) novalidate {
            (hidden(CSRF_FIELD, csrf))
            (field("company_name", pc.t("会社名(漢字)", "Company name"), &f.company_name, Some(pc.t("例: アイテックコンサルタント株式会社", "e.g. アイテックコンサルタント株式会社"))))
            (field("company_name_kana", pc.t("会社名(フリガナ)", "Company name (katakana)"), &f.company_name_kana, Some(pc.t("全角カタカナ", "Full-width katakana"))))
            (field("surname", pc.t("名義人 姓(漢字)", "Holder surname"), &f.surname, None))
            (field("given_name", pc.t("名義人 名(漢字)", "Holder given name"), &f.given_name, None))
            (field("surname_kana", pc.t("名義人 姓(フリガナ)", "Holder surname (katakana)"), &f.surname_kana, None))
            (field("given_name_kana", pc.t("名義人 名(フリガナ)", "Holder given name (katakana)"), &f.given_name_kana, None))
            (field("user_id", pc.t("ユーザーID", "User ID"), &f.user_id, Some(pc.t("名義人のユーザーIDを入力してください。※代理申請者のユーザーIDや存在しないユーザーIDを入力しないようご注意ください。", "The holder's user ID (not the proxy's)."))))
            (input_field(errors, "email", pc.t("名義人 メールアドレス", "Holder e-mail"), &f.email, "email", Some(pc.t("名義人のメールアドレス(ユーザー登録されているもの)を入力してください。", "The holder's registered e-mail address."))))
            label for="display_name" { (pc.t("JCAN証明書上の表記名", "Name on the certificate")) }
            div.field {
                div.prefixed {
                    span { "BN-" }
                    input id="display_name" type="text" name="display_name" value=(f.display_name) maxlength="64"
                        class=[has_error(errors, "display_name").then_some("invalid")];
                }
                p.hint { (pc.t("名義人の表記名を姓・名の順で入力し、姓と名の最初の文字だけ大文字にしてください。使用できる文字は英数字とピリオド、括弧のみで最大61文字です。例:Yamada.Taroと入力すると表記名はBN-Yamada.Taroになります。", "Surname.Given with capital initials (letters, digits, '.', '(' and ')', at most 61), e.g. Yamada.Taro → BN-Yamada.Taro.")) }
                (field_errors(errors, "display_name"))
            }
            (field("phone", pc.t("お問い合わせさせていただく場合の電話番号", "Phone"), &f.phone, Some(pc.t("申請内容についてご連絡させていただく場合があります。※代理人の方の電話番号でも構いません。", "We may call about the application (the proxy's number is fine)."))))
            label for="id_document" { (pc.t("名義人 本人確認書類", "Identity document")) }
            div.field {
                input id="id_document" type="file" name="id_document" accept="image/jpeg,image/png,application/pdf";
                @if let Some(doc) = &app.document { p.hint { (pc.t("登録済み: ", "Uploaded: ")) (doc.name) (pc.t("(変更する場合のみ選択してください)", " (choose a file only to replace it)")) } }
                p.hint { (pc.t("入力した名義人の申請情報を確認できる書類(名刺、社員証、在職証明書など)をスキャンした画像ファイル(JPEG・PNG)またはPDFファイル(5MBまで)をアップロードしてください。", "A scan of a business card, staff card or employment certificate (JPEG, PNG or PDF, up to 5 MB).")) }
                (field_errors(errors, "id_document"))
            }
            div.actions-row { button.button.button-wide type="submit" { (pc.t("次へ", "Next")) } }
        }
    };
    page(pc, t, pc.t("JCAN証明書オンライン発行申請", "Certificate application"), Some((&APPLY_STEPS, 3)), body)
}

fn apply_restart(t: &Tenant) -> String {
    tenant_path(&t.code, "certificates/apply")
}

#[handler]
async fn details_form(
    req: &Request,
    Path((tenant, token)): Path<(String, String)>,
    Data(web): Data<&Web>,
) -> PageResult {
    let pc = PageCtx::of(req);
    let (t, certs) = public(web, &pc, &tenant).await?;
    let app = match certs.application(&t.code, &token).await {
        Ok(a) => a,
        Err(e) => return Ok(failure(&pc, &t, &e, &apply_restart(&t))),
    };
    let ft = FormToken::for_request(req);
    let f = DetailsFields::of(&app);
    Ok(pc.respond_with(
        StatusCode::OK,
        details_view(&pc, &t, Step { token: &token, csrf: &ft.value }, &app, &f, None, &[]),
        &ft.set_cookie(),
    ))
}

#[handler]
async fn details_post(
    req: &Request,
    Path((tenant, token)): Path<(String, String)>,
    Data(web): Data<&Web>,
    mp: poem::Result<Multipart>,
) -> PageResult {
    let pc = PageCtx::of(req);
    let (t, certs) = public(web, &pc, &tenant).await?;
    let app = match certs.application(&t.code, &token).await {
        Ok(a) => a,
        Err(e) => return Ok(failure(&pc, &t, &e, &apply_restart(&t))),
    };
    let Some(f) = (match mp {
        Ok(mp) => read_details(mp).await,
        Err(_) => None,
    }) else {
        return Ok(layout::bad_form(&pc));
    };
    let ft = FormToken::for_request(req);
    if !FormToken::verify(req, &f.csrf) {
        return Ok(pc.respond_with(
            StatusCode::FORBIDDEN,
            details_view(
                &pc,
                &t,
                Step { token: &token, csrf: &ft.value },
                &app,
                &f,
                Some(&expired_public_form(&pc)),
                &[],
            ),
            &ft.set_cookie(),
        ));
    }
    Ok(match certs.save_application_details(&t.code, &token, f.clone().input(), pc.client.clone()).await {
        Ok(_) => layout::see_other(&tenant_path(&t.code, &format!("certificates/apply/{token}/confirm")), &[]),
        Err(e) => match errors_of(&e, &pc, same) {
            Some(errors) => pc.respond_with(
                StatusCode::UNPROCESSABLE_ENTITY,
                details_view(
                    &pc,
                    &t,
                    Step { token: &token, csrf: &ft.value },
                    &app,
                    &f,
                    Some(&invalid_msg(&pc)),
                    &errors,
                ),
                &ft.set_cookie(),
            ),
            None => failure(&pc, &t, &e, &apply_restart(&t)),
        },
    })
}

fn details_review(pc: &PageCtx, app: &Application) -> Markup {
    let Some(d) = &app.details else { return html! {} };
    html! {
        dl.review {
            dt { (pc.t("会社名(漢字)", "Company name")) } dd { (d.company_name) }
            dt { (pc.t("会社名(フリガナ)", "Company name (katakana)")) } dd { (d.company_name_kana) }
            dt { (pc.t("名義人 姓(漢字)", "Holder surname")) } dd { (d.surname) }
            dt { (pc.t("名義人 名(漢字)", "Holder given name")) } dd { (d.given_name) }
            dt { (pc.t("名義人 姓(フリガナ)", "Holder surname (katakana)")) } dd { (d.surname_kana) }
            dt { (pc.t("名義人 名(フリガナ)", "Holder given name (katakana)")) } dd { (d.given_name_kana) }
            dt { (pc.t("ユーザーID", "User ID")) } dd { (d.user_id) }
            dt { (pc.t("名義人 メールアドレス", "Holder e-mail")) } dd { (d.email) }
            dt { (pc.t("JCAN証明書上の表記名", "Name on the certificate")) } dd { (d.certificate_name()) }
            dt { (pc.t("お問い合わせさせていただく場合の電話番号", "Phone")) } dd { (d.phone) }
            dt { (pc.t("名義人 本人確認書類", "Identity document")) } dd { @if let Some(doc) = &app.document { (doc.name) } }
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PinForm {
    csrf: String,
    pin: String,
    pin_confirm: String,
    decision: String,
}

fn pin_fields(pc: &PageCtx, errors: &[FieldError], confirm: bool) -> Markup {
    html! {
        div.form-grid.wide-labels {
            label for="pin" { (pc.t("JCAN証明書パスワード(PINコード)", "Certificate PIN")) }
            div.field {
                input id="pin" type="password" name="pin" inputmode="numeric" maxlength="12" autocomplete="new-password"
                    class=[has_error(errors, "pin").then_some("invalid")];
                p.hint { (pc.t("12桁の数字で任意に設定してください。証明書を新しく発行申請(新規・更新)する際に必要になります。", "Choose 12 digits; keep them safe.")) }
                (field_errors(errors, "pin"))
            }
            @if confirm {
                label for="pin_confirm" { (pc.t("PINコード(確認)", "PIN (again)")) }
                div.field {
                    input id="pin_confirm" type="password" name="pin_confirm" inputmode="numeric" maxlength="12" autocomplete="new-password"
                        class=[has_error(errors, "pin_confirm").then_some("invalid")];
                    (field_errors(errors, "pin_confirm"))
                }
            }
        }
    }
}

fn confirm_view(
    pc: &PageCtx,
    t: &Tenant,
    token: &str,
    csrf: &str,
    app: &Application,
    msg: Option<&Msg>,
    errors: &[FieldError],
) -> Markup {
    let is_self = app.applicant == ApplicantKind::Holder;
    let body = html! {
        (layout::messages(msg))
        h2.section-title { (pc.t("申請情報の確認", "Check the application")) }
        p { strong { (pc.t("*** 証明書の名義人の情報が入力されていることを、改めてご確認ください。 ***", "*** Please check that these are the holder's details. ***")) } }
        (details_review(pc, app))
        form method="post" action=(tenant_path(&t.code, &format!("certificates/apply/{token}/submit"))) novalidate {
            (hidden(CSRF_FIELD, csrf))
            @if is_self { (pin_fields(pc, errors, true)) }
            div.cert-actions {
                a.button.button-secondary href=(tenant_path(&t.code, &format!("certificates/apply/{token}"))) { (pc.t("前へ", "Back")) }
                a.button.button-secondary href=(tenant_path(&t.code, &format!("certificates/apply/{token}/registration.txt"))) id="download" { (pc.t("登録内容のダウンロード", "Download the details")) }
                button.button type="submit" id="submit" { (pc.t("発行申請", "Apply")) }
            }
        }
        p.hint { (pc.t("【登録内容のダウンロード】ボタンをクリックすると、登録する申請情報をテキストファイルとしてダウンロードします。", "登録内容のダウンロード saves the details as a text file.")) }
    };
    page(pc, t, pc.t("JCAN証明書オンライン発行申請", "Certificate application"), Some((&APPLY_STEPS, 4)), body)
}

#[handler]
async fn details_confirm(
    req: &Request,
    Path((tenant, token)): Path<(String, String)>,
    Data(web): Data<&Web>,
) -> PageResult {
    let pc = PageCtx::of(req);
    let (t, certs) = public(web, &pc, &tenant).await?;
    let app = match certs.application(&t.code, &token).await {
        Ok(a) => a,
        Err(e) => return Ok(failure(&pc, &t, &e, &apply_restart(&t))),
    };
    if app.details.is_none() {
        return Ok(layout::see_other(&tenant_path(&t.code, &format!("certificates/apply/{token}")), &[]));
    }
    let ft = FormToken::for_request(req);
    Ok(pc.respond_with(StatusCode::OK, confirm_view(&pc, &t, &token, &ft.value, &app, None, &[]), &ft.set_cookie()))
}

fn text_download(name: &str, text: String) -> Response {
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .header(header::CONTENT_DISPOSITION, crate::api::http::content_disposition(name))
        .header(header::CACHE_CONTROL, "no-store")
        .body(text)
}

#[handler]
async fn details_download(
    req: &Request,
    Path((tenant, token)): Path<(String, String)>,
    Data(web): Data<&Web>,
) -> PageResult {
    let pc = PageCtx::of(req);
    let (t, certs) = public(web, &pc, &tenant).await?;
    Ok(match certs.registration(&t.code, &token).await {
        Ok(text) => text_download("登録内容.txt", text),
        Err(e) => failure(&pc, &t, &e, &apply_restart(&t)),
    })
}

/// The PIN typed twice, checked before the service is asked.
fn check_pin(pc: &PageCtx, f: &PinForm, confirm: bool) -> Vec<FieldError> {
    let mut v = Validator::new();
    keiyaku_certs::rules::pin(&mut v, "pin", &f.pin);
    if confirm && v.is_ok() && f.pin != f.pin_confirm {
        v.fail("pin_confirm", Rule::Mismatch);
    }
    v.finish().err().unwrap_or_default().iter().map(|i| i.to_field_error(pc.lang)).collect()
}

fn issued_block(pc: &PageCtx, t: &Tenant, cert: &CertRecord) -> Markup {
    html! {
        dl.review {
            dt { (pc.t("証明書の表記名", "Certificate")) } dd { (cert.common_name) }
            dt { (pc.t("ユーザーID", "User ID")) } dd { (cert.user_id) }
            dt { (pc.t("シリアル番号", "Serial number")) } dd { (cert.serial) }
            dt { (pc.t("有効期間", "Validity")) } dd { (clock::display(cert.not_before)) " 〜 " (clock::display(cert.not_after)) }
            dt { (pc.t("利用開始日", "Usable from")) } dd { (certificates::date_display(cert.usable_from)) }
        }
        p { (pc.t("証明書は署名者のユーザーに自動登録されました。利用開始日以降に電子契約サービスにログインし、証明書のテストをお試しください。", "The certificate is registered to the signer. From the first usable day, log in and try 証明書のテスト.")) }
        @if cert.delivery == Delivery::KeyFile {
            p { (pc.t("鍵ファイル(PKCS#12)のダウンロード用URLを名義人のメールアドレスにお送りしました。", "The key-file download link has been mailed to the holder.")) }
        }
        p.card-links { a href=(tenant_path(&t.code, "login")) { (pc.t("電子契約サービスにログイン", "Log in")) } }
    }
}

#[handler]
async fn details_submit(
    req: &Request,
    Path((tenant, token)): Path<(String, String)>,
    Data(web): Data<&Web>,
    form: poem::Result<Form<PinForm>>,
) -> PageResult {
    let pc = PageCtx::of(req);
    let (t, certs) = public(web, &pc, &tenant).await?;
    let app = match certs.application(&t.code, &token).await {
        Ok(a) => a,
        Err(e) => return Ok(failure(&pc, &t, &e, &apply_restart(&t))),
    };
    let Ok(Form(f)) = form else { return Ok(layout::bad_form(&pc)) };
    let ft = FormToken::for_request(req);
    let again = |status, msg: &Msg, errors: &[FieldError]| {
        pc.respond_with(status, confirm_view(&pc, &t, &token, &ft.value, &app, Some(msg), errors), &ft.set_cookie())
    };
    if !FormToken::verify(req, &f.csrf) {
        return Ok(again(StatusCode::FORBIDDEN, &expired_public_form(&pc), &[]));
    }
    let is_self = app.applicant == ApplicantKind::Holder;
    if is_self {
        let errors = check_pin(&pc, &f, true);
        if !errors.is_empty() {
            return Ok(again(StatusCode::UNPROCESSABLE_ENTITY, &invalid_msg(&pc), &errors));
        }
    }
    let pin = is_self.then(|| f.pin.clone());
    Ok(match certs.submit_application(&t.code, &token, pin, pc.client.clone()).await {
        Ok(Submitted::Issued(cert)) => {
            let body = html! {
                (layout::message(&Msg::notice(pc.t("JCAN証明書の発行申請を受け付け、証明書を発行しました。", "The application was accepted and the certificate issued."))))
                p { (pc.t("JCAN証明書オンライン発行システムでの電子証明書発行申請をありがとうございました。発行完了のお知らせをメールでお送りしました。", "Thank you. The issuance notice has been mailed.")) }
                (issued_block(&pc, &t, &cert))
            };
            pc.respond(
                StatusCode::OK,
                page(&pc, &t, pc.t("発行申請の完了", "Application complete"), Some((&APPLY_STEPS, 6)), body),
            )
        }
        Ok(Submitted::AwaitingApproval { holder_email }) => {
            let body = html! {
                (layout::message(&Msg::notice(pc.t("JCAN証明書の発行申請を受け付けました。", "The application has been accepted."))))
                p { (pc.t("JCAN証明書オンライン発行システムをご利用頂きありがとうございます。", "Thank you for using the service.")) }
                p { (pc.t("現在、ご本人様に申請内容の確認をお願いするメールをお送りさせていただいております。", "We have asked the holder to confirm the application by mail:")) " <" (holder_email) ">" }
                p { (pc.t("ご本人様の承認が得られ次第、発行の手続きに入らせていただきます。", "The certificate is issued once the holder approves.")) }
            };
            pc.respond(
                StatusCode::OK,
                page(&pc, &t, pc.t("発行申請の完了", "Application complete"), Some((&APPLY_STEPS, 5)), body),
            )
        }
        Err(e) => match errors_of(&e, &pc, same) {
            Some(errors) => again(StatusCode::UNPROCESSABLE_ENTITY, &invalid_msg(&pc), &errors),
            None => failure(&pc, &t, &e, &apply_restart(&t)),
        },
    })
}

// ---------------------------------------------------------------------------------------
// Holder approval (proxy)

fn holder_name(app: &Application) -> String {
    app.details.as_ref().map(|d| format!("{}{}", d.surname, d.given_name)).unwrap_or_default()
}

fn approve_view(
    pc: &PageCtx,
    t: &Tenant,
    token: &str,
    csrf: &str,
    app: &Application,
    msg: Option<&Msg>,
    errors: &[FieldError],
) -> Markup {
    let body = html! {
        (layout::messages(msg))
        h2.section-title { (pc.t("申請情報の確認", "Check the application")) }
        p { (holder_name(app)) " 様のご利用になるJCAN証明書の発行申請が、<" (app.email) "> 様より行われました。" }
        p { (pc.t("以下の申請内容をご確認いただき、発行をご承認ください。ご承認が得られ次第、発行の手続きに入らせていただきます。", "Please review the application and approve it.")) }
        (app_summary(pc, app))
        (details_review(pc, app))
        form method="post" action=(tenant_path(&t.code, &format!("certificates/approve/{token}/confirm"))) novalidate {
            (hidden(CSRF_FIELD, csrf))
            (pin_fields(pc, errors, false))
            div.cert-actions {
                button.button.button-secondary type="submit" id="download"
                    formaction=(tenant_path(&t.code, &format!("certificates/approve/{token}/registration.txt"))) { (pc.t("登録内容のダウンロード", "Download the details")) }
                button.button type="submit" id="approve" { (pc.t("承認", "Approve")) }
            }
        }
        p.hint { (pc.t("【登録内容のダウンロード】ボタンでダウンロードされるテキストファイルには、PINコードを含む登録内容が記載されています。安全に保管して下さい。", "The downloaded text includes the PIN: keep it safe.")) }
    };
    page(pc, t, pc.t("JCAN証明書オンライン発行申請の承認", "Approve the application"), Some((&APPLY_STEPS, 5)), body)
}

#[handler]
async fn approve_review(
    req: &Request,
    Path((tenant, token)): Path<(String, String)>,
    Data(web): Data<&Web>,
) -> PageResult {
    let pc = PageCtx::of(req);
    let (t, certs) = public(web, &pc, &tenant).await?;
    let app = match certs.approval(&t.code, &token).await {
        Ok(a) => a,
        Err(e) => return Ok(failure(&pc, &t, &e, &apply_restart(&t))),
    };
    let ft = FormToken::for_request(req);
    Ok(pc.respond_with(StatusCode::OK, approve_view(&pc, &t, &token, &ft.value, &app, None, &[]), &ft.set_cookie()))
}

/// The approval page's POSTs share this start: tenant, application, form, CSRF, PIN format.
async fn approval_post(
    web: &Web,
    req: &Request,
    pc: &PageCtx,
    tenant: &str,
    token: &str,
    form: poem::Result<Form<PinForm>>,
    need_pin: bool,
) -> Result<(Tenant, Certs, Application, PinForm), Response> {
    let (t, certs) = public(web, pc, tenant).await?;
    let app = match certs.approval(&t.code, token).await {
        Ok(a) => a,
        Err(e) => return Err(failure(pc, &t, &e, &apply_restart(&t))),
    };
    let Ok(Form(f)) = form else { return Err(layout::bad_form(pc)) };
    let ft = FormToken::for_request(req);
    if !FormToken::verify(req, &f.csrf) {
        let view = approve_view(pc, &t, token, &ft.value, &app, Some(&expired_public_form(pc)), &[]);
        return Err(pc.respond_with(StatusCode::FORBIDDEN, view, &ft.set_cookie()));
    }
    if need_pin {
        let errors = check_pin(pc, &f, false);
        if !errors.is_empty() {
            let view = approve_view(pc, &t, token, &ft.value, &app, Some(&invalid_msg(pc)), &errors);
            return Err(pc.respond_with(StatusCode::UNPROCESSABLE_ENTITY, view, &ft.set_cookie()));
        }
    }
    Ok((t, certs, app, f))
}

#[handler]
async fn approve_download(
    req: &Request,
    Path((tenant, token)): Path<(String, String)>,
    Data(web): Data<&Web>,
    form: poem::Result<Form<PinForm>>,
) -> PageResult {
    let pc = PageCtx::of(req);
    let (t, certs, _, f) = approval_post(web, req, &pc, &tenant, &token, form, true).await?;
    Ok(match certs.approval_registration(&t.code, &token, &f.pin).await {
        Ok(text) => text_download("登録内容.txt", text),
        Err(e) => failure(&pc, &t, &e, &apply_restart(&t)),
    })
}

#[handler]
async fn approve_confirm(
    req: &Request,
    Path((tenant, token)): Path<(String, String)>,
    Data(web): Data<&Web>,
    form: poem::Result<Form<PinForm>>,
) -> PageResult {
    let pc = PageCtx::of(req);
    let (t, _, app, f) = approval_post(web, req, &pc, &tenant, &token, form, true).await?;
    let ft = FormToken::for_request(req);
    let body = html! {
        h2.section-title { (pc.t("発行申請を承認します。よろしいですか?", "Approve the application?")) }
        (app_summary(&pc, &app))
        dl.review {
            dt { (pc.t("ユーザーID", "User ID")) } dd { (app.details.as_ref().map(|d| d.user_id.as_str()).unwrap_or("")) }
            dt { (pc.t("JCAN証明書上の表記名", "Name on the certificate")) } dd { (app.details.as_ref().map(|d| d.certificate_name()).unwrap_or_default()) }
        }
        form method="post" action=(tenant_path(&t.code, &format!("certificates/approve/{token}/decide"))) {
            (hidden(CSRF_FIELD, &ft.value)) (hidden("pin", &f.pin))
            div.cert-actions {
                button.button type="submit" name="decision" value="approve" id="approve-yes" { (pc.t("承認する", "Approve")) }
                button.button.button-secondary type="submit" name="decision" value="reject" id="approve-no" { (pc.t("承認しない", "Decline")) }
            }
        }
    };
    Ok(pc.respond_with(
        StatusCode::OK,
        page(
            &pc,
            &t,
            pc.t("JCAN証明書オンライン発行申請の承認", "Approve the application"),
            Some((&APPLY_STEPS, 5)),
            body,
        ),
        &ft.set_cookie(),
    ))
}

#[handler]
async fn approve_decide(
    req: &Request,
    Path((tenant, token)): Path<(String, String)>,
    Data(web): Data<&Web>,
    form: poem::Result<Form<PinForm>>,
) -> PageResult {
    let pc = PageCtx::of(req);
    let approve = form.as_ref().is_ok_and(|f| f.0.decision == "approve");
    let (t, certs, _, f) = approval_post(web, req, &pc, &tenant, &token, form, approve).await?;
    let pin = approve.then(|| f.pin.clone());
    Ok(match certs.approve_application(&t.code, &token, approve, pin, pc.client.clone()).await {
        Ok(Decided::Issued(cert)) => {
            let body = html! {
                (layout::message(&Msg::notice(pc.t("JCAN証明書の発行申請を受け付けました。", "The application has been accepted."))))
                p { (pc.t("JCAN証明書オンライン発行システムでの電子証明書発行申請をありがとうございました。", "Thank you for your application.")) }
                (issued_block(&pc, &t, &cert))
            };
            pc.respond(StatusCode::OK, page(&pc, &t, pc.t("承認の完了", "Approved"), Some((&APPLY_STEPS, 6)), body))
        }
        Ok(Decided::Rejected) => {
            let body = html! {
                (layout::message(&Msg::notice(pc.t("発行申請を承認しませんでした。", "You declined the application."))))
                p { (pc.t("証明書は発行されません。申請者にお知らせしました。", "No certificate is issued; the applicant has been told.")) }
            };
            pc.respond(StatusCode::OK, page(&pc, &t, pc.t("承認しない", "Declined"), None, body))
        }
        Err(e) => failure(&pc, &t, &e, &apply_restart(&t)),
    })
}

// ---------------------------------------------------------------------------------------
// Key file

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CsrfForm {
    csrf: String,
}

#[handler]
async fn keyfile_page(
    req: &Request,
    Path((tenant, token)): Path<(String, String)>,
    Data(web): Data<&Web>,
) -> PageResult {
    let pc = PageCtx::of(req);
    let (t, _) = public(web, &pc, &tenant).await?;
    let ft = FormToken::for_request(req);
    let body = html! {
        p { (pc.t("証明書と秘密鍵を格納した鍵ファイル(PKCS#12)をダウンロードします。ダウンロードは一度だけできます。", "Download the key file (PKCS#12) with the certificate and its key. It can be downloaded once.")) }
        p.hint { (pc.t("鍵ファイルは承認時に設定したPINコード(12桁)で保護されています。", "The file is protected by the PIN set on approval.")) }
        form method="post" action=(tenant_path(&t.code, &format!("certificates/keyfile/{token}"))) {
            (hidden(CSRF_FIELD, &ft.value))
            button.button.button-wide type="submit" { (pc.t("鍵ファイルをダウンロード", "Download the key file")) }
        }
    };
    Ok(pc.respond_with(
        StatusCode::OK,
        page(&pc, &t, pc.t("鍵ファイルのダウンロード", "Key file"), None, body),
        &ft.set_cookie(),
    ))
}

#[handler]
async fn keyfile_download(
    req: &Request,
    Path((tenant, token)): Path<(String, String)>,
    Data(web): Data<&Web>,
    form: poem::Result<Form<CsrfForm>>,
) -> PageResult {
    let pc = PageCtx::of(req);
    let (t, certs) = public(web, &pc, &tenant).await?;
    let submitted = form.map(|f| f.0.csrf).unwrap_or_default();
    if !FormToken::verify(req, &submitted) {
        let body = html! { (layout::message(&expired_public_form(&pc))) };
        return Ok(
            pc.respond(StatusCode::FORBIDDEN, page(&pc, &t, pc.t("鍵ファイルのダウンロード", "Key file"), None, body))
        );
    }
    Ok(match certs.download_key_file(&t.code, &token, pc.client.clone()).await {
        Ok((name, bytes)) => Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "application/x-pkcs12")
            .header(header::CONTENT_DISPOSITION, crate::api::http::content_disposition(&name))
            .header(header::CACHE_CONTROL, "no-store")
            .body(bytes),
        Err(e) => failure(&pc, &t, &e, &tenant_path(&t.code, "login")),
    })
}

// ---------------------------------------------------------------------------------------
// The signer's certificate (logged in)

async fn signed_certs(web: &Web, pc: &PageCtx, req: &Request, tenant: &str) -> Result<(Signed, Certs), Response> {
    let s = signed_in(web, pc, req, tenant, Need::Ready).await?;
    Ok((s, web.certs.clone()))
}

fn signed_failure(pc: &PageCtx, e: &CertsError) -> Response {
    match e {
        CertsError::NotFound(_) => layout::not_found(pc),
        CertsError::Forbidden => layout::error_page(
            pc,
            StatusCode::FORBIDDEN,
            pc.t("この操作を行う権限がありません。", "You are not allowed to do this."),
            None,
            None,
        ),
        e if e.status() >= 500 => layout::server_error(pc, e),
        e => {
            let p = e.problem(pc.lang);
            layout::error_page(
                pc,
                StatusCode::from_u16(p.status).unwrap_or(StatusCode::BAD_REQUEST),
                &p.title,
                p.detail.as_deref(),
                None,
            )
        }
    }
}

async fn render_certificate_page(
    web: &Web,
    pc: &PageCtx,
    s: &Signed,
    certs: &Certs,
    user_id: &str,
    status: StatusCode,
    msg: Option<Msg>,
) -> Response {
    let (user, cert) = match certs.certificate(s.caller(), user_id).await {
        Ok(x) => x,
        Err(e) => return signed_failure(pc, &e),
    };
    let manage = keiyaku_certs::authz::decide(s.caller(), keiyaku_certs::authz::Op::TestCertificate, Some(&user))
        == keiyaku_users::scope::Decision::Allow;
    let import = keiyaku_certs::authz::decide(s.caller(), keiyaku_certs::authz::Op::Import, Some(&user))
        == keiyaku_users::scope::Decision::Allow;
    let body = html! {
        (layout::messages(msg.as_ref()))
        dl.review {
            dt { (pc.t("ユーザーID", "User ID")) } dd { (user.user_id) }
            dt { (pc.t("ユーザー名", "Name")) } dd { (user.name) }
        }
        (certificate_section(pc, s, &user.user_id, cert.as_ref(), manage, web.kernel.now()))
        @if import { (import_form(pc, s, &user.user_id)) }
        p.card-links { a href=(tenant_path(&s.tenant_code, "")) { (pc.t("ダッシュボードへ戻る", "Back to the dashboard")) } }
    };
    let tab = if s.is_group_admin() { Tab::Admin } else { Tab::Normal };
    pc.respond(status, app_page(pc, s, tab, pc.t("電子証明書の確認", "Certificate"), body))
}

#[handler]
async fn certificate_page(
    req: &Request,
    Path((tenant, user_id)): Path<(String, String)>,
    Data(web): Data<&Web>,
) -> PageResult {
    let pc = PageCtx::of(req);
    let (s, certs) = signed_certs(web, &pc, req, &tenant).await?;
    let msg = crate::query::param(req, "done").and_then(|d| match d.as_str() {
        "revoked" => Some(Msg::notice(pc.t("証明書を失効しました。", "The certificate has been revoked."))),
        "imported" => Some(Msg::notice(pc.t(
            "証明書を取り込みました。設定したPINコードで署名できます。",
            "The certificate has been imported: it signs with the PIN set.",
        ))),
        _ => None,
    });
    Ok(render_certificate_page(web, &pc, &s, &certs, &user_id, StatusCode::OK, msg).await)
}

#[handler]
async fn certificate_test(
    req: &Request,
    Path((tenant, user_id)): Path<(String, String)>,
    Data(web): Data<&Web>,
    form: poem::Result<Form<CsrfForm>>,
) -> PageResult {
    let pc = PageCtx::of(req);
    let (s, certs) = signed_certs(web, &pc, req, &tenant).await?;
    let submitted = form.map(|f| f.0.csrf).unwrap_or_default();
    if !s.check_csrf(&submitted) {
        return Ok(render_certificate_page(
            web,
            &pc,
            &s,
            &certs,
            &user_id,
            StatusCode::FORBIDDEN,
            Some(expired_public_form(&pc)),
        )
        .await);
    }
    let msg = match certs.test_certificate(s.caller(), &user_id).await {
        Ok(t) => Msg {
            kind: layout::MsgKind::Notice,
            title: pc.t("証明書のテストに成功しました。", "The certificate test succeeded.").to_string(),
            detail: Some(format!(
                "{} {} ({})",
                pc.t(
                    "テスト用データに署名し、証明書で検証しました。シリアル番号:",
                    "A test payload was signed and verified. Serial:"
                ),
                t.serial,
                clock::display(t.tested_at)
            )),
        },
        Err(e @ (CertsError::NotFound(_) | CertsError::Forbidden)) => return Ok(signed_failure(&pc, &e)),
        Err(e) if e.status() >= 500 => return Ok(layout::server_error(&pc, &e)),
        Err(e) => Msg::from_problem(&e.problem(pc.lang)),
    };
    Ok(render_certificate_page(web, &pc, &s, &certs, &user_id, StatusCode::OK, Some(msg)).await)
}

/// 証明書の取込み: a PKCS#12 file of an outside CA, its password, the PIN to set, and the
/// issuer certificates and CRLs the file or the distribution point cannot give.
fn import_form(pc: &PageCtx, s: &Signed, user_id: &str) -> Markup {
    html! {
        section.cert-box aria-labelledby="cert-import-title" {
            h2 #cert-import-title { (pc.t("証明書の取込み(外部認証局)", "Import a certificate (outside CA)")) }
            p.hint { (pc.t(
                "他の認証局が発行した証明書と秘密鍵(PKCS#12ファイル、ECDSA P-256)を、このユーザーの電子証明書として登録します。署名には、ここで設定するPINコードを使用します。",
                "Registers a certificate and key from another CA (PKCS#12, ECDSA P-256) as this user's certificate. Signing uses the PIN set here."
            )) }
            form.form-grid.wide-labels #cert-import method="post" enctype="multipart/form-data" action=(tenant_path(&s.tenant_code, &format!("certificates/users/{user_id}/import"))) novalidate {
                (hidden(CSRF_FIELD, s.csrf()))
                label for="import-file" { (pc.t("PKCS#12ファイル", "PKCS#12 file")) }
                div.field { input #import-file type="file" name="file" accept=".p12,.pfx,application/x-pkcs12" required; }
                label for="import-password" { (pc.t("PKCS#12のパスワード", "PKCS#12 password")) }
                div.field { input #import-password type="password" name="password" autocomplete="off" required; }
                label for="import-pin" { (pc.t("PINコード(12桁)", "PIN (12 digits)")) }
                div.field { input #import-pin type="password" name="pin" inputmode="numeric" autocomplete="new-password" maxlength="12" required; }
                label for="import-chain" { (pc.t("発行者の証明書(任意)", "Issuer certificates (optional)")) }
                div.field {
                    input #import-chain type="file" name="chain" multiple;
                    p.hint { (pc.t("PKCS#12ファイルに含まれない場合に指定します(PEMまたはDER)。", "When the file lacks them (PEM or DER).")) }
                }
                label for="import-revocation" { (pc.t("CRL(任意)", "CRLs (optional)")) }
                div.field {
                    input #import-revocation type="file" name="revocation" multiple;
                    p.hint { (pc.t("証明書のCRL配布点に接続できない場合に指定します(DER)。", "When the certificate's CRL distribution point cannot be reached (DER).")) }
                }
                div.actions-row { button.button type="submit" id="import" { (pc.t("取り込む", "Import")) } }
            }
        }
    }
}

/// What the import form sends.
#[derive(Default)]
struct ImportFields {
    csrf: String,
    input: keiyaku_certs::import::ImportInput,
}

async fn read_import(mut mp: Multipart) -> Option<ImportFields> {
    use keiyaku_certs::import::{MAX_CHAIN_FILES, MAX_CRL_FILES};
    let mut f = ImportFields::default();
    while let Some(field) = mp.next_field().await.ok()? {
        let name = field.name().unwrap_or_default().to_string();
        match name.as_str() {
            "file" => f.input.file = field.bytes().await.ok()?,
            "chain" | "revocation" => {
                let bytes = field.bytes().await.ok()?;
                let list = if name == "chain" { &mut f.input.chain } else { &mut f.input.revocation };
                // An empty file input sends one empty part; more than the service takes is
                // kept so that it refuses them.
                if !bytes.is_empty() && list.len() <= MAX_CHAIN_FILES.max(MAX_CRL_FILES) {
                    list.push(bytes);
                }
            }
            _ => {
                let text: String = field.text().await.ok()?.chars().take(300).collect();
                match name.as_str() {
                    "csrf" => f.csrf = text,
                    "password" => f.input.password = text,
                    "pin" => f.input.pin = text,
                    _ => {}
                }
            }
        }
    }
    Some(f)
}

#[handler]
async fn import_post(
    req: &Request,
    Path((tenant, user_id)): Path<(String, String)>,
    Data(web): Data<&Web>,
    mp: poem::Result<Multipart>,
) -> PageResult {
    let pc = PageCtx::of(req);
    let (s, certs) = signed_certs(web, &pc, req, &tenant).await?;
    let Some(f) = (match mp {
        Ok(mp) => read_import(mp).await,
        Err(_) => None,
    }) else {
        return Ok(layout::bad_form(&pc));
    };
    if !s.check_csrf(&f.csrf) {
        let msg = Some(expired_public_form(&pc));
        return Ok(render_certificate_page(web, &pc, &s, &certs, &user_id, StatusCode::FORBIDDEN, msg).await);
    }
    Ok(match certs.import_certificate(s.caller(), &user_id, f.input).await {
        Ok(_) => layout::see_other(
            &format!("{}?done=imported", tenant_path(&s.tenant_code, &format!("certificates/users/{user_id}"))),
            &[],
        ),
        Err(e @ (CertsError::NotFound(_) | CertsError::Forbidden)) => signed_failure(&pc, &e),
        Err(e) if e.status() >= 500 => layout::server_error(&pc, &e),
        Err(e) => {
            let msg = Some(Msg::from_problem(&e.problem(pc.lang)));
            render_certificate_page(web, &pc, &s, &certs, &user_id, StatusCode::UNPROCESSABLE_ENTITY, msg).await
        }
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RevokeForm {
    csrf: String,
    reason: String,
    confirm: String,
}

fn revoke_view(
    pc: &PageCtx,
    s: &Signed,
    user_id: &str,
    cert: &CertRecord,
    msg: Option<&Msg>,
    errors: &[FieldError],
) -> Markup {
    let body = html! {
        (layout::messages(msg))
        (layout::message(&Msg::info(pc.t("失効した証明書は元に戻せません。失効後は、この証明書で署名できなくなります。", "A revoked certificate cannot be restored or used for signing."))))
        dl.review {
            dt { (pc.t("表記名", "Subject")) } dd { (cert.common_name) }
            dt { (pc.t("シリアル番号", "Serial number")) } dd { (cert.serial) }
        }
        form.form-grid.wide-labels method="post" action=(tenant_path(&s.tenant_code, &format!("certificates/users/{user_id}/revoke"))) {
            (hidden(CSRF_FIELD, s.csrf()))
            label { (pc.t("失効理由", "Reason")) }
            div.field {
                ul.choice-list {
                    @for (value, _, ja, en) in REASONS {
                        li { label { input type="radio" name="reason" value=(value) checked[value == "cessation_of_operation"]; " " (pc.t(ja, en)) } }
                    }
                }
                (field_errors(errors, "reason"))
            }
            label { (pc.t("確認", "Confirm")) }
            div.field {
                div.check-row { input #confirm type="checkbox" name="confirm" value="on"; label for="confirm" { (pc.t("この証明書を失効します。", "Revoke this certificate.")) } }
                (field_errors(errors, "confirm"))
            }
            div.actions-row {
                button.button type="submit" id="revoke" { (pc.t("失効申請", "Revoke")) }
                " "
                a.button.button-secondary href=(tenant_path(&s.tenant_code, &format!("certificates/users/{user_id}"))) { (pc.t("キャンセル", "Cancel")) }
            }
        }
    };
    app_page(
        pc,
        s,
        if s.is_group_admin() { Tab::Admin } else { Tab::Normal },
        pc.t("失効申請", "Revoke the certificate"),
        body,
    )
}

#[handler]
async fn revoke_form(
    req: &Request,
    Path((tenant, user_id)): Path<(String, String)>,
    Data(web): Data<&Web>,
) -> PageResult {
    let pc = PageCtx::of(req);
    let (s, certs) = signed_certs(web, &pc, req, &tenant).await?;
    Ok(match certs.certificate(s.caller(), &user_id).await {
        Ok((_, Some(c))) => pc.respond(StatusCode::OK, revoke_view(&pc, &s, &user_id, &c, None, &[])),
        Ok((_, None)) => layout::not_found(&pc),
        Err(e) => signed_failure(&pc, &e),
    })
}

#[handler]
async fn revoke_post(
    req: &Request,
    Path((tenant, user_id)): Path<(String, String)>,
    Data(web): Data<&Web>,
    form: poem::Result<Form<RevokeForm>>,
) -> PageResult {
    let pc = PageCtx::of(req);
    let (s, certs) = signed_certs(web, &pc, req, &tenant).await?;
    let cert = match certs.certificate(s.caller(), &user_id).await {
        Ok((_, Some(c))) => c,
        Ok((_, None)) => return Ok(layout::not_found(&pc)),
        Err(e) => return Ok(signed_failure(&pc, &e)),
    };
    let Ok(Form(f)) = form else { return Ok(layout::bad_form(&pc)) };
    if !s.check_csrf(&f.csrf) {
        return Ok(pc.respond(
            StatusCode::FORBIDDEN,
            revoke_view(&pc, &s, &user_id, &cert, Some(&expired_public_form(&pc)), &[]),
        ));
    }
    if f.confirm != "on" {
        let errors = vec![Invalid::new("confirm", Rule::Required).to_field_error(pc.lang)];
        return Ok(pc.respond(
            StatusCode::UNPROCESSABLE_ENTITY,
            revoke_view(&pc, &s, &user_id, &cert, Some(&invalid_msg(&pc)), &errors),
        ));
    }
    Ok(match certs.revoke_certificate(s.caller(), &user_id, &f.reason).await {
        Ok(_) => layout::see_other(
            &format!("{}?done=revoked", tenant_path(&s.tenant_code, &format!("certificates/users/{user_id}"))),
            &[],
        ),
        Err(e) => match errors_of(&e, &pc, same) {
            Some(errors) => pc.respond(
                StatusCode::UNPROCESSABLE_ENTITY,
                revoke_view(&pc, &s, &user_id, &cert, Some(&invalid_msg(&pc)), &errors),
            ),
            None => signed_failure(&pc, &e),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use keiyaku_kernel::Lang;

    fn tenant() -> Tenant {
        Tenant {
            code: "HXOS2".into(),
            name: "オリエンタル白石".into(),
            owner_company_id: "c".into(),
            trial: true,
            created_at: String::new(),
        }
    }

    #[test]
    fn the_order_form_shows_recalculated_totals_escaped() {
        let pc = PageCtx::new(Lang::Ja, None, "/t/HXOS2/tickets/order/x/form", "", None);
        let d = OrderFormData {
            delivery: "service".into(),
            company: "<b>会社</b>".into(),
            q1: "1".into(),
            q2: "x".into(),
            q3: "２".into(),
            ..Default::default()
        };
        let html =
            order_form_view(&pc, &tenant(), Step { token: "tok", csrf: "csrf" }, [3000, 4500, 6000], &d, None, &[])
                .into_string();
        assert!(html.contains("&lt;b&gt;会社&lt;/b&gt;"));
        assert!(html.contains("id=\"total\">¥15,000"), "{html}");
        assert!(html.contains("電子契約サービスに直接送付"));
        assert!(!html.contains("<script"));
        assert_eq!(order_field("billing.postal_code"), "postal_code");
        assert_eq!(order_field("quantities.2"), "q2");
    }
}
