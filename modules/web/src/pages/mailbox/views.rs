use super::forms::encode_query_value;
use crate::form::code_form;
use crate::layout::{self, Msg, PageCtx};
use crate::linkify::linkify;
use crate::session::CSRF_FIELD;
use keiyaku_kernel::clock;
use keiyaku_kernel::mail::{Delivery, Mail};
use maud::{Markup, html};

/// Mails shown at most.
pub(super) const LIMIT: usize = 200;

/// Mails shown opened (the rest are collapsed).
const OPEN: usize = 10;

pub(super) const ADDRESS_MAX: usize = 254;

pub(super) fn sent_at(m: &Mail) -> String {
    m.created_at.parse::<jiff::Timestamp>().map(clock::display).unwrap_or_else(|_| m.created_at.clone())
}

fn delivery_label(pc: &PageCtx, d: Delivery) -> &'static str {
    match d {
        Delivery::Stored => pc.t("メールボックスのみ", "outbox only"),
        Delivery::Pending => pc.t("送信待ち", "queued"),
        Delivery::Sent => pc.t("送信済み", "sent"),
        Delivery::Failed => pc.t("送信失敗", "failed"),
    }
}

fn attachment_href(public: bool, mail_id: &str, index: usize) -> String {
    if public {
        format!("/api/v1/mailbox/{mail_id}/attachments/{index}")
    } else {
        // The API wants a bearer token; the operator's browser has the page's cookie.
        format!("/mailbox/{mail_id}/attachments/{index}")
    }
}

/// What the outbox page shows.
pub struct MailboxView<'a> {
    pub mails: &'a [Mail],
    /// Distinct recipients of recent mail, for the quick filter.
    pub recipients: &'a [String],
    pub filter: Option<&'a str>,
    pub public: bool,
    /// The double-submit token of the operator's logout button (operator access only).
    pub logout_csrf: Option<&'a str>,
    /// The last archive renewal run (operator access only).
    pub renewal: Option<RenewalSummary>,
}

/// The last archive renewal run as the operator's page shows it.
#[derive(Debug, Clone, Default)]
pub struct RenewalSummary {
    /// When it finished (Japan time), or that it is still running.
    pub finished: Option<String>,
    pub within_days: u32,
    pub checked: u64,
    pub renewed: u64,
    pub failed: u64,
    pub errors: Vec<String>,
}

fn renewal_card(pc: &PageCtx, r: Option<&RenewalSummary>) -> Markup {
    html! {
        section.card #archive-renewal {
            h2.card-title { (pc.t("長期署名の延長(アーカイブタイムスタンプ)", "Archive renewal (document time-stamps)")) }
            @match r {
                None => p { (pc.t("まだ実行されていません。", "It has not run yet.")) },
                Some(r) => {
                    p {
                        (pc.t("前回の実行: ", "Last run: "))
                        (r.finished.clone().unwrap_or_else(|| pc.t("実行中", "running").to_string()))
                        " — "
                        @match pc.lang {
                            keiyaku_kernel::Lang::Ja => {
                                "締結済み " (r.checked) "件を確認、" (r.renewed) "件を延長、失敗 " (r.failed) "件"
                                "(期限まで" (r.within_days) "日以内を延長)"
                            }
                            keiyaku_kernel::Lang::En => {
                                (r.checked) " completed contract(s) checked, " (r.renewed) " renewed, "
                                (r.failed) " failed (renewing those within " (r.within_days) " days of their end)"
                            }
                        }
                    }
                    @if !r.errors.is_empty() {
                        ul.errors { @for e in &r.errors { li { (e) } } }
                    }
                }
            }
        }
    }
}

fn mail_item(pc: &PageCtx, m: &Mail, open: bool, public: bool) -> Markup {
    html! {
        details.mail open[open] {
            summary {
                span.mail-time { (sent_at(m)) }
                span.mail-to title=(m.to) { (m.to) }
                span.mail-subject { (m.subject) }
                span.mail-status { (delivery_label(pc, m.delivery)) }
            }
            pre.mail-body { (linkify(&m.body)) }
            @if !m.attachments.is_empty() {
                div.attachments {
                    (pc.t("添付ファイル", "Attachments"))
                    ul {
                        @for (i, a) in m.attachments.iter().enumerate() {
                            li { a href=(attachment_href(public, &m.id, i)) { (a.name) } " (" (a.content_type) ")" }
                        }
                    }
                }
            }
        }
    }
}

/// The outbox page.
pub fn mailbox_view(pc: &PageCtx, v: &MailboxView<'_>) -> Markup {
    let title = pc.t("メールボックス", "Mailbox");
    let body = html! {
        section.card {
            h1.card-title { (title) }
            p.card-subtitle {
                (pc.t("このサービスが送信したメールです(新しい順)。", "The mail this service has sent, newest first."))
                @if v.public { " " (pc.t("(公開設定:デモ・トライアル用)", "(public: demo and trial use)")) }
            }
            div.toolbar {
                form.filter-form method="get" action="/mailbox" role="search" {
                    label.visually-hidden for="to" { (pc.t("宛先メールアドレス", "Recipient address")) }
                    input #to type="search" name="to" value=(v.filter.unwrap_or_default()) maxlength="254"
                        placeholder=(pc.t("宛先メールアドレスで絞り込み", "Filter by recipient address"));
                    button.button.button-small type="submit" { (pc.t("絞り込み", "Filter")) }
                    @if v.filter.is_some() { a href="/mailbox" { (pc.t("すべて表示", "Show all")) } }
                }
                @if let Some(csrf) = v.logout_csrf {
                    form.inline-form method="post" action="/mailbox/logout" {
                        input type="hidden" name=(CSRF_FIELD) value=(csrf);
                        button.button.button-small.button-secondary type="submit" { (pc.t("ログアウト", "Log out")) }
                    }
                }
            }
            @if !v.recipients.is_empty() {
                ul.chips aria-label=(pc.t("宛先", "Recipients")) {
                    @for r in v.recipients {
                        li {
                            a class=[(v.filter == Some(r.as_str())).then_some("active")]
                                href=(format!("/mailbox?to={}", encode_query_value(r))) { (r) }
                        }
                    }
                }
            }
            p.result-count {
                @match pc.lang {
                    keiyaku_kernel::Lang::Ja => { (v.mails.len()) "件" }
                    keiyaku_kernel::Lang::En => { (v.mails.len()) " mail(s)" }
                }
                @if v.mails.len() >= LIMIT {
                    " " (pc.t("(新しいものから表示しています)", "(showing the newest)"))
                }
            }
            @if v.mails.is_empty() {
                p.empty { (pc.t("メールはありません。", "There is no mail.")) }
            }
            @for (i, m) in v.mails.iter().enumerate() {
                (mail_item(pc, m, i < OPEN, v.public))
            }
        }
        @if v.logout_csrf.is_some() {
            (renewal_card(pc, v.renewal.as_ref()))
        }
    };
    layout::public_page(pc, title, None, true, body)
}

/// The operator's login form shown instead of the outbox.
pub fn operator_login_view(pc: &PageCtx, login: &str, csrf: &str, msg: Option<&Msg>) -> Markup {
    let title = pc.t("メールボックス", "Mailbox");
    let body = html! {
        section.card {
            h1.card-title { (title) }
            (layout::message(&Msg::info(pc.t(
                "メールボックスを表示するには、運用管理者としてログインしてください。",
                "Log in as the appliance operator to see the mailbox.",
            ))))
            (layout::messages(msg))
            form.form-grid method="post" action="/mailbox/login" {
                input type="hidden" name=(CSRF_FIELD) value=(csrf);
                label for="login" { (pc.t("ログインID", "Login")) }
                div.field {
                    input #login type="text" name="login" value=(login) required autocomplete="username" maxlength="64";
                }
                label for="password" { (pc.t("パスワード", "Password")) }
                div.field {
                    input #password type="password" name="password" required autofocus autocomplete="current-password" maxlength="1024";
                }
                div.actions-row {
                    button.button.button-wide type="submit" { (pc.t("ログイン", "Log in")) }
                }
            }
        }
    };
    layout::public_page(pc, title, None, false, body)
}

/// The operator's second login step (an authenticator is enrolled).
pub(super) fn operator_code_view(pc: &PageCtx, challenge: &str, csrf: &str, msg: Option<&Msg>) -> Markup {
    let title = pc.t("二要素認証", "Two-factor authentication");
    let body = html! {
        section.card {
            h1.card-title { (title) }
            (layout::messages(msg))
            (code_form(pc, "/mailbox/login/totp", challenge, csrf))
        }
    };
    layout::public_page(pc, title, None, false, body)
}
