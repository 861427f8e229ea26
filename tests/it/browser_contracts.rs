//! Issue 7 in headless Chromium: 契約登録 through the two-step form with a PDF, the whole
//! default route through the pages (owner approver, the partner's person in charge and
//! approver, the partner signer's delegate signing 「代理」, 管理部, the owner signer) until
//! 締結済; 契約検索 by 取引先 and 取引年月日, its CSV link, 文書検索, the signed PDF and the
//! 合意締結証明書 downloads, 確認待ち一覧, a refused registration, and no horizontal scrolling
//! at 375 px.

#![allow(clippy::expect_used)]

use crate::browser::{Browser, browser};
use crate::common::*;
use fantoccini::Locator;
use serde_json::{Value, json};

/// Sets an input's value by script (date inputs take typed digits in the locale's order).
async fn set_value(b: &Browser, name: &str, value: &str) {
    b.client
        .execute(
            "document.querySelector(`[name='${arguments[0]}']`).value = arguments[1];",
            vec![json!(name), json!(value)],
        )
        .await
        .expect("set value");
}

async fn select(b: &Browser, name: &str, value: &str) {
    let el = b.client.find(Locator::Css(&format!("select[name='{name}']"))).await.expect("select");
    el.select_by_value(value).await.expect("choose");
}

/// Fetches `href` with the browser's session; status, content type, the first bytes and
/// how often `/ByteRange` occurs.
async fn fetch(b: &Browser, href: &str) -> Value {
    b.client
        .execute(
            "return fetch(arguments[0]).then(r => r.arrayBuffer().then(buf => {
                const s = new TextDecoder('latin1').decode(buf);
                return {status: r.status, type: r.headers.get('content-type'),
                        disposition: r.headers.get('content-disposition'),
                        head: s.slice(0, 5), ranges: s.split('/ByteRange').length - 1, text: s.slice(0, 400)};
            }));",
            vec![json!(href)],
        )
        .await
        .expect("fetch")
}

async fn href_of(b: &Browser, css: &str) -> String {
    b.client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .attr("href")
        .await
        .expect("href")
        .unwrap_or_default()
}

/// Opens the contract page and uses one of its action forms.
async fn act(b: &Browser, app: &TestApp, contract: &str, action: &str, done: &str) -> String {
    b.client.goto(&app.url(contract)).await.expect("goto");
    b.click_nav(Locator::Css(&format!("form[action$='/{action}'] button[type='submit']"))).await;
    let text = b.wait_text(done).await;
    // Success redirects back to the contract; an error re-renders it at the form's URL.
    let path = b.path().await;
    assert!(path == contract || path == format!("{contract}/{action}"), "{path}");
    text
}

#[tokio::test]
async fn register_circulate_sign_and_search() {
    let Some(b) = browser().await else { return };
    let app = TestApp::demo().await;
    let dir = tempdir("contract-upload");
    let file = dir.join("注文書_ブラウザ.pdf");
    let pdf = keiyaku_contracts::demo::order_pdf(
        "WEB-2026-0001",
        "ブラウザ登録テスト 測量業務",
        "アイテックコンサルタント株式会社",
        1_650_000,
        "2026-11-24",
    );
    std::fs::write(&file, &pdf).expect("write pdf");

    // 契約登録 from the menu: step 1 chooses the partner.
    b.login_demo(&app, "HX000002").await;
    b.click_nav(Locator::LinkText("契約登録")).await;
    b.wait_path("/t/HXOS2/contracts/new").await;
    let text = b.wait_text("取引先の選択").await;
    assert!(text.contains("アイテックコンサルタント株式会社 (A15336)"), "{text}");
    b.screenshot("contracts-new-partner").await;
    b.submit().await;
    b.wait_path("/t/HXOS2/contracts/new").await;
    let text = b.wait_text("回覧ルート").await;
    for s in [
        "契約内容の入力",
        "オリ白:承認者",
        "取引先:担当",
        "取引先:承認者",
        "取引先:署名者",
        "オリ白:管理部",
        "オリ白:署名者",
        "全員 (伊藤 誠)",
        "取引先を変更",
    ] {
        assert!(text.contains(s), "form lacks {s}: {text}");
    }
    b.screenshot("contracts-new-form").await;

    // Sent empty: messages beside the fields, and the file must be chosen again.
    b.fill("title", "ブラウザ登録テスト 測量業務").await;
    b.fill("amount", "百万").await;
    b.click_nav(Locator::Css("form.ct-register button[type='submit']")).await;
    let text = b.wait_text("入力内容に誤りがあります。").await;
    assert!(text.contains("PDFファイルをもう一度選択してください"), "{text}");
    assert!(text.contains("半角数字で入力してください。"), "{text}");
    assert!(text.contains("PDF文書を1つ以上添付してください。"), "{text}");
    let kept = b.client.find(Locator::Css("[name='title']")).await.expect("title").prop("value").await.expect("v");
    assert_eq!(kept.as_deref(), Some("ブラウザ登録テスト 測量業務"), "entered values are kept");
    b.screenshot("contracts-new-errors").await;

    // The whole form with the PDF.
    b.fill("number", "WEB-2026-0001").await;
    b.fill("amount", "1650000").await;
    set_value(&b, "transaction_date", "2026-11-24").await;
    b.fill("fields[0].name", "工事番号").await;
    b.fill("fields[0].value", "K-777").await;
    select(&b, "route[5].users", "HX000003").await;
    b.client
        .find(Locator::Css("input[type='file'][name='documents']"))
        .await
        .expect("file input")
        .send_keys(&file.display().to_string())
        .await
        .expect("file");
    b.click_nav(Locator::Css("form.ct-register button[type='submit']")).await;
    let text = b.wait_text("契約を登録しました。").await;
    let contract = b.path().await;
    assert!(contract.starts_with("/t/HXOS2/contracts/C"), "{contract}");
    for s in ["回覧中", "WEB-2026-0001", "¥1,650,000", "税込", "K-777", "注文書_ブラウザ.pdf", "原本", "確認待ち"]
    {
        assert!(text.contains(s), "contract page lacks {s}: {text}");
    }
    let current = b.client.find(Locator::Css(".ct-route-list li.current")).await.expect("current step");
    assert!(current.text().await.expect("text").contains("オリ白:承認者"));
    b.screenshot("contracts-detail-registered").await;

    // HX000002 is also the owner approver.
    let text = act(&b, &app, &contract, "approve", "承認しました。").await;
    assert!(text.contains("完了: 佐藤 健一"), "{text}");

    // The partner: a send-back needs a comment; then 担当 and 承認者; then the delegate signs.
    b.login_demo(&app, "A1533601").await;
    let text = act(&b, &app, &contract, "send_back", "入力内容に誤りがあります。").await;
    assert!(text.contains("必須項目です。") || text.contains("入力してください"), "{text}");
    act(&b, &app, &contract, "approve", "承認しました。").await;
    act(&b, &app, &contract, "approve", "承認しました。").await;
    b.client.goto(&app.url(&contract)).await.expect("goto");
    let text = b.wait_text("署名する").await;
    assert!(text.contains("伊藤 誠 の代理として署名します。"), "{text}");
    b.screenshot("contracts-detail-delegate").await;
    // The delegate's step-up: a code by mail, typed into the signing form.
    b.click_nav(Locator::Css("form[action$='/sign-code'] button[type='submit']")).await;
    b.wait_text("認証コードをメールで送信しました").await;
    let code = signing_code_in(&app.last_mail_to("suzuki@a15336.example.jp").await.expect("code mail"));
    b.fill("code", &code).await;
    b.click_nav(Locator::Css("form[action$='/sign'] button[type='submit']")).await;
    let text = b.wait_text("署名しました。").await;
    assert!(text.contains("代理: 鈴木 一郎") && text.contains("鈴木 一郎 (伊藤 誠の代理)"), "{text}");

    // 管理部, then the owner signer.
    b.login_demo(&app, "HX000001").await;
    act(&b, &app, &contract, "approve", "承認しました。").await;
    b.login_demo(&app, "HX000003").await;
    b.client.goto(&app.url(&contract)).await.expect("goto");
    b.wait_text("証明書のPINコード").await;
    b.fill("pin", DEMO_PIN).await;
    b.click_nav(Locator::Css("form[action$='/sign'] button[type='submit']")).await;
    let text = b.wait_text("署名しました。").await;
    assert!(text.contains("締結済") && text.contains("締結完了") && text.contains("署名済 (白石 太郎)"), "{text}");
    assert!(b.client.find_all(Locator::Css("form.ct-action")).await.expect("forms").is_empty(), "no actions left");
    b.screenshot("contracts-detail-completed").await;

    // The signed PDF (latest version) and the completion report.
    let signed = href_of(&b, ".ct-doc-name a").await;
    let got = fetch(&b, &signed).await;
    assert_eq!(got["status"], 200, "{got}");
    assert_eq!(got["type"], "application/pdf", "{got}");
    assert_eq!(got["head"], "%PDF-", "{got}");
    assert_eq!(got["ranges"], 3, "two signatures and the document time-stamp: {got}");
    assert!(got["disposition"].as_str().is_some_and(|d| d.contains("filename*=UTF-8''WEB-2026-0001")), "{got}");
    let original = fetch(&b, &format!("{signed}?version=1")).await;
    assert_eq!((original["status"].clone(), original["ranges"].clone()), (json!(200), json!(0)), "{original}");
    let report = fetch(&b, &href_of(&b, "#report-link").await).await;
    assert_eq!((report["status"].clone(), report["type"].clone()), (json!(200), json!("application/pdf")), "{report}");
    assert_eq!(fetch(&b, &format!("{contract}/documents/D9")).await["status"], 404);

    // 契約検索 by 取引先 and 取引年月日.
    b.client.goto(&app.url("/t/HXOS2/")).await.expect("goto");
    b.click_nav(Locator::LinkText("契約検索")).await;
    b.wait_path("/t/HXOS2/contracts").await;
    let text = b.wait_text("CSV出力").await;
    assert!(text.contains("HX-2026-0101") && text.contains("WEB-2026-0001"), "everything listed first: {text}");
    let partner = b
        .client
        .find(Locator::Css("select[name='counterparty'] option:nth-child(2)"))
        .await
        .expect("partner option")
        .attr("value")
        .await
        .expect("value")
        .unwrap_or_default();
    select(&b, "counterparty", &partner).await;
    set_value(&b, "date_from", "2026-11-22").await;
    set_value(&b, "date_to", "2026-11-30").await;
    b.click_nav(Locator::Css("form.ct-criteria button[type='submit']")).await;
    let text = b.wait_text("全1件").await;
    assert!(text.contains("WEB-2026-0001") && text.contains("¥1,650,000") && text.contains("締結済"), "{text}");
    assert!(!text.contains("HX-2026-0101"), "2026-11-20 is outside the range: {text}");
    b.screenshot("contracts-search").await;
    let csv = fetch(&b, &href_of(&b, "a.ct-csv").await).await;
    assert_eq!(csv["status"], 200, "{csv}");
    assert!(csv["type"].as_str().is_some_and(|t| t.starts_with("text/csv")), "{csv}");
    // A sort link keeps the criteria.
    b.click_nav(Locator::LinkText("取引金額")).await;
    let text = b.wait_text("全1件").await;
    assert!(text.contains("WEB-2026-0001"), "{text}");
    // Bad criteria are explained, never a server error.
    b.client.goto(&app.url("/t/HXOS2/contracts?amount_min=abc&date_from=2026-13-40")).await.expect("goto");
    let text = b.wait_text("入力内容に誤りがあります。").await;
    assert!(text.contains("半角数字で入力してください。"), "{text}");

    // 文書検索 by the document's name.
    b.client.goto(&app.url("/t/HXOS2/")).await.expect("goto");
    b.click_nav(Locator::LinkText("文書検索")).await;
    b.wait_path("/t/HXOS2/documents").await;
    b.fill("title", "ブラウザ").await;
    b.click_nav(Locator::Css("form.ct-criteria button[type='submit']")).await;
    let text = b.wait_text("全1件").await;
    assert!(text.contains("注文書_ブラウザ.pdf") && text.contains("WEB-2026-0001"), "{text}");
    b.screenshot("contracts-documents").await;
    let doc = fetch(&b, &href_of(&b, ".ct-table a[download]").await).await;
    assert_eq!(
        (doc["status"].clone(), doc["ranges"].clone()),
        (json!(200), json!(3)),
        "two signatures and the document time-stamp: {doc}"
    );

    // 確認待ち一覧 from the dashboard's line: the demo contract waiting for the owner signer.
    b.client.goto(&app.url("/t/HXOS2/")).await.expect("goto");
    b.click_nav(Locator::LinkText("オリ白:署名者")).await;
    b.wait_path("/t/HXOS2/contracts/waiting").await;
    let text = b.wait_text("確認待ち一覧").await;
    assert!(text.contains("HX-2026-0105") && !text.contains("WEB-2026-0001"), "{text}");
    b.screenshot("contracts-waiting").await;

    // A signer may not register.
    b.client.goto(&app.url("/t/HXOS2/contracts/new")).await.expect("goto");
    let text = b.wait_text("契約を登録できるのは").await;
    assert!(text.contains("403") || text.contains("サービスオーナーの担当者"), "{text}");

    // 375 px: no horizontal scrolling.
    b.client.set_window_size(375, 800).await.expect("resize");
    let pages = [
        "/t/HXOS2/contracts".to_string(),
        "/t/HXOS2/documents".to_string(),
        "/t/HXOS2/contracts/waiting".to_string(),
        contract.clone(),
    ];
    for path in &pages {
        b.client.goto(&app.url(path)).await.expect("goto");
        let (scroll, client) = b.scroll_width().await;
        b.screenshot(&format!("contracts-mobile{}", path.replace('/', "_"))).await;
        assert!(scroll <= 375 && scroll <= client, "{path}: scrollWidth {scroll} clientWidth {client}");
    }
    b.login_demo(&app, "HX000002").await;
    b.client.goto(&app.url(&format!("/t/HXOS2/contracts/new?counterparty={partner}"))).await.expect("goto");
    b.wait_text("回覧ルート").await;
    let (scroll, client) = b.scroll_width().await;
    b.screenshot("contracts-mobile-new").await;
    assert!(scroll <= 375 && scroll <= client, "new: scrollWidth {scroll} clientWidth {client}");
    b.client.goto(&app.url("/t/HXOS2/contracts/new")).await.expect("goto");
    let (scroll, client) = b.scroll_width().await;
    assert!(scroll <= 375 && scroll <= client, "new step 1: scrollWidth {scroll} clientWidth {client}");

    b.close().await;
    app.stop().await;
}
