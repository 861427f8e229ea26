use super::forms::{
    ApplicantForm, CsrfForm, DetailsFields, EmailForm, OrderAction, OrderFormData, PinForm, RevokeForm, check_pin,
    errors_of, order_field, read_details, read_import, same,
};
use super::views::{
    APPLY_STEPS, CSS, ORDER_STEPS, Step, app_summary, applicant_confirm_view, applicant_view, approve_view,
    confirm_view, details_view, import_form, issued_block, obligations, order_confirm_view, order_email_view,
    order_form_view, page, revoke_view,
};
use crate::Web;
use crate::form::hidden;
use crate::layout::{self, Msg, PageCtx, Tab, app_page, expired_public_form, invalid_msg};
use crate::page::{PageResult, find_tenant};
use crate::session::{CSRF_FIELD, FormToken, Need, Signed, signed_in, tenant_path};
use crate::views::certificate::certificate_section;
use keiyaku_certs::applications::{Decided, Submitted};
use keiyaku_certs::captcha::CaptchaAnswer;
use keiyaku_certs::model::{ApplicantKind, Application, Delivery};
use keiyaku_certs::orders::{self};
use keiyaku_certs::{Certs, CertsError};
use keiyaku_kernel::FieldCode;
use keiyaku_kernel::clock;
use keiyaku_kernel::directory::Tenant;
use keiyaku_kernel::error::{ApiError, FieldError};
use keiyaku_kernel::validate::{Invalid, Rule};
use maud::html;
use poem::http::{StatusCode, header};
use poem::web::{Data, Form, Multipart, Path};
use poem::{Request, Response, handler};

#[handler]
pub(super) fn stylesheet() -> PageResult {
    Ok(Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/css; charset=utf-8")
        .header(header::CACHE_CONTROL, "public, max-age=3600")
        .body(CSS))
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
pub(super) async fn public(web: &Web, pc: &PageCtx, code: &str) -> Result<(Tenant, Certs), Response> {
    let t = find_tenant(web, pc, code).await?;
    Ok((t, web.certs.clone()))
}

#[handler]
pub(super) async fn order_start(req: &Request, Path(tenant): Path<String>, Data(web): Data<&Web>) -> PageResult {
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
pub(super) async fn order_send(
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
pub(super) async fn order_delivery(
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

#[handler]
pub(super) async fn order_form(
    req: &Request,
    Path((tenant, token)): Path<(String, String)>,
    Data(web): Data<&Web>,
) -> PageResult {
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

#[handler]
pub(super) async fn order_form_post(
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
    if d.action != OrderAction::Confirm {
        // 再計算 and 前へ: the form again, with the totals of what it holds.
        return Ok(again(StatusCode::OK, None, &[]));
    }
    let max = web.kernel.config.section::<keiyaku_certs::CertsConfig>().max_tickets_per_term;
    Ok(match orders::check_order(&d.input(&token), max) {
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
pub(super) async fn order_place(
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
pub(super) async fn order_done(req: &Request, Path(tenant): Path<String>, Data(web): Data<&Web>) -> PageResult {
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

#[handler]
pub(super) async fn apply_start(req: &Request, Path(tenant): Path<String>, Data(web): Data<&Web>) -> PageResult {
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

/// A fresh image captcha, when `certs.captcha` asks for one.
pub(super) async fn new_captcha(certs: &Certs) -> Option<(String, Vec<u8>)> {
    if certs.captcha_required() { certs.captcha().await.ok() } else { None }
}

#[handler]
pub(super) async fn applicant_form(req: &Request, Path(tenant): Path<String>, Data(web): Data<&Web>) -> PageResult {
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

#[handler]
pub(super) async fn applicant_post(
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
                vec![FieldError { field: "ticket".into(), code: FieldCode::Refused, message: p.title.clone() }]
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
pub(super) async fn apply_register(
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
                    code: FieldCode::ConsentRequired,
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
pub(super) async fn apply_registered(req: &Request, Path(tenant): Path<String>, Data(web): Data<&Web>) -> PageResult {
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

fn apply_restart(t: &Tenant) -> String {
    tenant_path(&t.code, "certificates/apply")
}

#[handler]
pub(super) async fn details_form(
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
pub(super) async fn details_post(
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

#[handler]
pub(super) async fn details_confirm(
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
pub(super) async fn details_download(
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

#[handler]
pub(super) async fn details_submit(
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

#[handler]
pub(super) async fn approve_review(
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
pub(super) async fn approve_download(
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
pub(super) async fn approve_confirm(
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
pub(super) async fn approve_decide(
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

#[handler]
pub(super) async fn keyfile_page(
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
pub(super) async fn keyfile_download(
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
pub(super) async fn certificate_page(
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
pub(super) async fn certificate_test(
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

#[handler]
pub(super) async fn import_post(
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

#[handler]
pub(super) async fn revoke_form(
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
pub(super) async fn revoke_post(
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
