//! Issue 5 in headless Chromium: buying a ticket and applying for a certificate (self case)
//! through the pages, following the links of the mails from the /mailbox page.

#![allow(clippy::expect_used)]

use crate::browser::{Browser, browser};
use crate::common::*;
use fantoccini::Locator;

/// Opens /mailbox for `to` and follows the newest link whose URL contains `part` (mail links
/// carry the configured public URL; the path is followed on the test server).
async fn follow_mail_link(b: &Browser, app: &TestApp, to: &str, part: &str) {
    b.client.goto(&app.url(&format!("/mailbox?to={}", urlencode(to)))).await.expect("mailbox");
    let link = b
        .client
        .find(Locator::Css(&format!("a[href*='{part}']")))
        .await
        .unwrap_or_else(|e| panic!("no {part} link: {e}"));
    let href = link.attr("href").await.expect("href").expect("href value");
    let path = &href[href.find("/t/").expect("tenant path")..];
    b.client.goto(&app.url(path)).await.expect("follow link");
}

/// The text of `css` once it equals `want` (pages load after a click), or what it was.
async fn text_of(b: &Browser, css: &str, want: &str) -> String {
    let mut last = String::new();
    for _ in 0..50 {
        if let Ok(el) = b.client.find(Locator::Css(css)).await
            && let Ok(t) = el.text().await
        {
            if t == want {
                return t;
            }
            last = t;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    last
}

/// The page's text once it contains `needle` (pages load after a click), or what it was.
async fn page_with(b: &Browser, needle: &str) -> String {
    let mut last = String::new();
    for _ in 0..50 {
        if let Ok(el) = b.client.find(Locator::Css("body")).await
            && let Ok(t) = el.text().await
        {
            if t.contains(needle) {
                return t;
            }
            last = t;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    last
}

#[tokio::test]
async fn ticket_purchase_and_self_application_through_the_pages() {
    let Some(b) = browser().await else { return };
    let app = TestApp::start_with(|c| {
        keiyaku::registry::enable_demo(c);
        c.mail.mailbox_public = true;
        c.section_mut::<keiyaku_certs::CertsConfig>().captcha = false;
    })
    .await;
    let buyer = "horii@hxos2.example.jp";

    // --- JCAN証明書発行チケットの購入
    b.client.goto(&app.url("/t/HXOS2/tickets/order")).await.expect("goto");
    let text = page_with(&b, "JCAN証明書発行チケットの購入").await;
    assert!(text.contains("JCAN証明書発行チケットの購入"), "{text}");
    b.fill("email", buyer).await;
    b.submit().await;
    let text = page_with(&b, "メールを送信しました").await;
    assert!(text.contains("メールを送信しました"), "{text}");
    follow_mail_link(&b, &app, buyer, "/tickets/order/").await;
    let text = page_with(&b, "証明書送付種類の選択").await;
    assert!(text.contains("証明書送付種類の選択") && text.contains("電子契約サービスに直接送付"), "{text}");
    b.screenshot("certs-order-delivery").await;
    b.submit().await;
    let text = page_with(&b, "注文情報の入力").await;
    assert!(text.contains("HXOS2"), "{text}");
    assert!(b.path().await.ends_with("/form"), "{}", b.path().await);
    b.fill("company", "オリエンタル白石株式会社本社").await;
    b.fill("department", "土木事業本部工事部").await;
    b.fill("postal_code", "135-0061").await;
    b.fill("address", "東京都江東区豊洲五丁目6番52号").await;
    b.fill("phone", "03-6220-0635").await;
    b.fill("contact_name", "堀井 裕蔵").await;
    b.fill("q3", "1").await;
    b.click("#recalc").await;
    assert_eq!(text_of(&b, "#subtotal-3", "¥6,000").await, "¥6,000");
    assert_eq!(text_of(&b, "#total", "¥6,000").await, "¥6,000");
    b.fill("q1", "2").await;
    b.click("#recalc").await;
    assert_eq!(text_of(&b, "#total", "¥12,000").await, "¥12,000");
    b.fill("q1", "0").await;
    b.screenshot("certs-order-form").await;
    b.click("#next").await;
    let text = page_with(&b, "注文情報の確認").await;
    assert!(text.contains("注文情報の確認") && text.contains("¥6,000") && text.contains("堀井 裕蔵"), "{text}");
    b.screenshot("certs-order-confirm").await;
    b.click("#purchase").await;
    let text = page_with(&b, "JCAN証明書発行チケットのご注文を受付ました。").await;
    assert!(text.contains("JCAN証明書発行チケットのご注文を受付ました。"), "{text}");
    assert_eq!(b.path().await, "/t/HXOS2/tickets/order/done");
    b.screenshot("certs-order-done").await;
    let tickets_mail = app
        .mails_to(buyer)
        .await
        .into_iter()
        .find(|m| m["subject"].as_str().is_some_and(|s| s.contains("チケット番号と請求書のご送付")))
        .expect("tickets mail");
    let op = app.operator_token().await;
    let url = tickets_mail["attachments"][0]["url"].as_str().expect("csv");
    let csv = app.client.get(app.url(url)).bearer_auth(&op).send().await.expect("csv").text().await.expect("text");
    let ticket = csv.lines().nth(1).and_then(|l| l.split(',').next()).expect("ticket").to_string();
    assert!(csv.contains("3年物"), "{csv}");

    // --- 証明書発行申請 (本人)
    let ito = "ito@a15336.example.jp";
    b.client.goto(&app.url("/t/HXOS2/certificates/apply")).await.expect("goto");
    assert!(page_with(&b, "利用者の義務").await.contains("利用者の義務"));
    b.click("#agree").await;
    assert!(page_with(&b, "申請者確認情報の入力").await.contains("申請者確認情報の入力"));
    b.fill("enterprise_code", "HXOS2").await;
    b.fill("ticket", &ticket).await;
    b.fill("email", ito).await;
    b.fill("email_confirm", ito).await;
    b.submit().await;
    let text = page_with(&b, "以下の内容で、申請を登録してもよろしいですか?").await;
    assert!(text.contains("以下の内容で、申請を登録してもよろしいですか?"), "{text}");
    b.click("#register").await;
    let text = page_with(&b, "同意してください").await;
    assert!(text.contains("同意してください"), "consent is required: {text}");
    b.click("#consent").await;
    b.click("#register").await;
    let text = page_with(&b, "この段階では、まだ申請は完了していません。").await;
    assert!(text.contains("この段階では、まだ申請は完了していません。"), "{text}");
    assert_eq!(b.path().await, "/t/HXOS2/certificates/apply/registered");

    follow_mail_link(&b, &app, ito, "/certificates/apply/").await;
    let text = page_with(&b, "申請情報の入力").await;
    assert!(text.contains("申請情報の入力"), "{text}");
    // A variant kanji is refused with a message naming it.
    b.fill("company_name", "アイテックコンサルタント株式会社").await;
    b.fill("company_name_kana", "アイテックコンサルタントカブシキガイシャ").await;
    b.fill("surname", "髙橋").await;
    b.fill("given_name", "誠").await;
    b.fill("surname_kana", "イトウ").await;
    b.fill("given_name_kana", "マコト").await;
    b.fill("user_id", "A1533602").await;
    b.fill("email", ito).await;
    b.fill("display_name", "Ito.Makoto").await;
    b.fill("phone", "03-6220-0635").await;
    let card = app.dir.join("card.pdf");
    std::fs::write(&card, b"%PDF-1.4\n% business card\n").expect("card");
    b.fill("id_document", &card.to_string_lossy()).await;
    b.submit().await;
    let text = page_with(&b, "「髙」は使用できません").await;
    assert!(text.contains("「髙」は使用できません"), "{text}");
    b.screenshot("certs-apply-details-error").await;
    b.fill("surname", "伊藤").await;
    b.fill("id_document", &card.to_string_lossy()).await;
    b.submit().await;
    let text = page_with(&b, "申請情報の確認").await;
    assert!(b.path().await.ends_with("/confirm"), "{text}");
    assert!(text.contains("申請情報の確認") && text.contains("BN-Ito.Makoto") && text.contains("card.pdf"), "{text}");
    b.screenshot("certs-apply-confirm").await;
    b.fill("pin", "123456789012").await;
    b.fill("pin_confirm", "123456789012").await;
    b.click("#submit").await;
    let text = page_with(&b, "証明書を発行しました").await;
    assert!(text.contains("証明書を発行しました") && text.contains("BN-Ito.Makoto"), "{text}");
    b.screenshot("certs-apply-done").await;
    let issued = app
        .mails_to(ito)
        .await
        .into_iter()
        .find(|m| m["subject"].as_str().is_some_and(|s| s.contains("発行完了のお知らせ")))
        .expect("issued mail");
    assert!(issued["body"].as_str().unwrap_or_default().contains(&ticket));

    // The signer sees the certificate (usable from the second business day).
    b.client.goto(&app.url("/t/HXOS2/login")).await.expect("login");
    b.fill("login", "A1533602").await;
    b.fill("password", DEMO_PASSWORD).await;
    b.submit().await;
    page_with(&b, "ログインユーザー").await;
    b.client.goto(&app.url("/t/HXOS2/certificates/users/A1533602")).await.expect("certificate page");
    let text = page_with(&b, "BN-Ito.Makoto").await;
    assert!(text.contains("BN-Ito.Makoto") && text.contains("2026/11/27") && text.contains("利用開始前"), "{text}");
    b.click("#cert-test").await;
    let text = page_with(&b, "まだ利用できません").await;
    assert!(text.contains("まだ利用できません"), "{text}");
    b.screenshot("certs-certificate").await;
    b.close().await;
    app.stop().await;
}
