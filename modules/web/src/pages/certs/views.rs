use super::forms::{ApplicantForm, DetailsFields, OrderFormData, form_totals};
use super::routes::new_captcha;
use crate::form::hidden;
use crate::layout::{self, Msg, PageCtx, Tab, TenantHead, app_page, field_errors, has_error};
use crate::session::{CSRF_FIELD, Signed, tenant_path};
use crate::views::certificate::CSS_PATH;
use base64::Engine;
use keiyaku_certs::Certs;
use keiyaku_certs::certificates::{self, REASONS};
use keiyaku_certs::documents::{TAX_PERCENT, yen};
use keiyaku_certs::model::{ApplicantKind, Application, CertRecord, Delivery};
use keiyaku_kernel::clock;
use keiyaku_kernel::directory::Tenant;
use keiyaku_kernel::error::FieldError;
use maud::{Markup, html};

/// The small stylesheet of these pages (steps, choices, amounts), served from /static.
pub(super) const CSS: &str = r#".cert-steps{display:flex;flex-wrap:wrap;gap:.25rem;list-style:none;padding:0;margin:0 0 1.25rem;font-size:.8rem}
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

// ---------------------------------------------------------------------------------------
// Shared pieces

pub(super) fn head(t: &Tenant) -> TenantHead<'_> {
    TenantHead { code: &t.code, name: &t.name, trial: t.trial }
}

/// A public page of these flows, with the steps of the procedure on top.
pub(super) fn page(pc: &PageCtx, t: &Tenant, title: &str, steps: Option<(&[&str], usize)>, content: Markup) -> Markup {
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

pub(super) const ORDER_STEPS: [&str; 6] =
    ["メールアドレス入力", "確認メール受信", "証明書送付種類選択", "注文情報入力", "確認", "完了"];

pub(super) const APPLY_STEPS: [&str; 7] =
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

/// The one-time link token of a page and its form's CSRF token.
#[derive(Debug, Clone, Copy)]
pub(super) struct Step<'a> {
    pub(super) token: &'a str,
    pub(super) csrf: &'a str,
}

pub(super) async fn order_email_view(
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

pub(super) fn order_form_view(
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

pub(super) fn order_confirm_view(
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

// ---------------------------------------------------------------------------------------
// Application: start

pub(super) fn obligations(pc: &PageCtx, t: &Tenant) -> Markup {
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

pub(super) async fn applicant_view(
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

pub(super) fn applicant_confirm_view(
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

pub(super) fn app_summary(pc: &PageCtx, app: &Application) -> Markup {
    html! {
        dl.review {
            dt { (pc.t("企業コード", "Enterprise code")) } dd { (app.tenant) }
            dt { (pc.t("チケット番号", "Ticket number")) } dd { (app.ticket) }
            dt { (pc.t("証明書の種類", "Term")) } dd { (format!("{}年物", app.term_years)) }
            dt { (pc.t("申請者", "Applicant")) } dd { (app.applicant.label_ja()) " (" (app.email) ")" }
        }
    }
}

pub(super) fn details_view(
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

pub(super) fn confirm_view(
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

pub(super) fn issued_block(pc: &PageCtx, t: &Tenant, cert: &CertRecord) -> Markup {
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

// ---------------------------------------------------------------------------------------
// Holder approval (proxy)

fn holder_name(app: &Application) -> String {
    app.details.as_ref().map(|d| format!("{}{}", d.surname, d.given_name)).unwrap_or_default()
}

pub(super) fn approve_view(
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

/// 証明書の取込み: a PKCS#12 file of an outside CA, its password, the PIN to set, and the
/// issuer certificates and CRLs the file or the distribution point cannot give.
pub(super) fn import_form(pc: &PageCtx, s: &Signed, user_id: &str) -> Markup {
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

pub(super) fn revoke_view(
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
