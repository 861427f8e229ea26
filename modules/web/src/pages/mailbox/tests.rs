use super::forms::*;
use super::views::*;
use crate::api::http::content_disposition;
use crate::layout::PageCtx;
use keiyaku_kernel::Lang;
use keiyaku_kernel::mail::Attachment;
use keiyaku_kernel::mail::{Delivery, Mail};
use poem::http::HeaderValue;

fn mail(id: &str, to: &str, subject: &str, body: &str) -> Mail {
    Mail {
        id: id.into(),
        tenant: Some("HXOS2".into()),
        to: to.into(),
        subject: subject.into(),
        body: body.into(),
        attachments: vec![Attachment::new("tickets<1>.csv", "text/csv", b"a,b\n")],
        created_at: "2021-01-07T13:22:00+09:00".into(),
        delivery: Delivery::Stored,
        attempts: 0,
        next_attempt_at: None,
        last_error: None,
        sent_at: None,
        secret: None,
    }
}

#[test]
fn outbox_shows_mail_escaped_with_links_and_attachments() {
    let pc = PageCtx::new(Lang::Ja, None, "/mailbox", "", None);
    let mails = vec![mail(
        "m1",
        "a+b@example.jp",
        "【電子契約サービス】 ユーザー登録通知",
        "<b>堀井 裕蔵様</b>\n下記URLよりログインしご利用下さい。 https://localhost:8443/t/HXOS2/login\n",
    )];
    let recipients = vec!["a+b@example.jp".to_string()];
    let view = MailboxView {
        mails: &mails,
        recipients: &recipients,
        filter: Some("a+b@example.jp"),
        public: true,
        logout_csrf: None,
        renewal: Some(RenewalSummary { checked: 3, renewed: 2, ..Default::default() }),
    };
    let html = mailbox_view(&pc, &view).into_string();
    assert!(!html.contains("archive-renewal"), "the public mailbox does not show the renewal");
    assert!(html.contains("<title>メールボックス | 電子契約サービス</title>"));
    assert!(html.contains("【電子契約サービス】 ユーザー登録通知"));
    assert!(html.contains("&lt;b&gt;堀井 裕蔵様&lt;/b&gt;"));
    assert!(html.contains("<a href=\"https://localhost:8443/t/HXOS2/login\""));
    assert!(html.contains("href=\"/api/v1/mailbox/m1/attachments/0\""));
    assert!(html.contains("tickets&lt;1&gt;.csv"));
    assert!(html.contains("2021/01/07 13:22"));
    assert!(html.contains("href=\"/mailbox?to=a%2Bb@example.jp\""));
    assert!(html.contains("1件"));
    assert!(!html.contains("/mailbox/logout"));

    let private = MailboxView { public: false, logout_csrf: Some("tok"), ..view };
    let html = mailbox_view(&pc, &private).into_string();
    assert!(html.contains("href=\"/mailbox/m1/attachments/0\""));
    assert!(html.contains("action=\"/mailbox/logout\""));
    assert!(html.contains("id=\"archive-renewal\"") && html.contains("3件を確認、2件を延長"), "{html}");
}

#[test]
fn operator_login_form_carries_the_token() {
    let pc = PageCtx::new(Lang::En, None, "/mailbox", "", None);
    let html = operator_login_view(&pc, "operator", "tok123", None).into_string();
    assert!(html.contains("name=\"csrf\" value=\"tok123\""));
    assert!(html.contains("action=\"/mailbox/login\""));
    assert!(html.contains("<html lang=\"en\">"));
}

#[test]
fn filters_and_headers_are_sanitised() {
    assert_eq!(address_filter(Some("  ")), None);
    assert_eq!(address_filter(Some(" a@b.jp ")), Some("a@b.jp".into()));
    assert_eq!(address_filter(Some(&"x".repeat(300))), None);
    assert_eq!(encode_query_value("a+b c@d&e"), "a%2Bb%20c@d%26e");
    let cd = content_disposition("チケット\"\r\n.csv");
    assert!(HeaderValue::from_str(&cd).is_ok());
    assert!(cd.starts_with("attachment; filename=\"download.csv\"; filename*=UTF-8''%E3%83%81"), "{cd}");
}
