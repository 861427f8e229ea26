//! Issue 6 in headless Chromium: the dashboard shows notices (with リフレッシュ), support
//! files, the waiting counts and 前回ログイン日時; the support page's links work, before and
//! after login, and administrators upload through it; the usage page and its CSV link; the
//! dashboard, support page, notices, usage page and mailbox have no horizontal scrolling on
//! a 375 px wide screen.

#![allow(clippy::expect_used)]

use crate::browser::{Browser, browser};
use crate::common::*;
use fantoccini::Locator;
use serde_json::json;

async fn click_link(b: &Browser, text: &str) {
    b.click_nav(Locator::LinkText(text)).await;
}

/// The `href`s of the links matched by a CSS selector.
async fn hrefs(b: &Browser, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    for el in b.client.find_all(Locator::Css(css)).await.expect("find") {
        if let Ok(Some(h)) = el.attr("href").await {
            out.push(h);
        }
    }
    out
}

#[tokio::test]
async fn dashboard_support_page_and_mobile_width() {
    let Some(b) = browser().await else { return };
    let app = TestApp::demo().await;
    // A first login (API) so that the browser's login has a previous one.
    app.demo_token("HX000001").await;
    app.clock.advance(jiff::SignedDuration::from_mins(30));

    b.login_demo(&app, "HX000001").await;
    let text = b.text().await;
    for s in [
        "オリエンタル白石株式会社",
        "前回ログイン日時：2026/11/25 10:00",
        "確認待ち文書",
        "オリ白:承認者",
        "取引先:担当",
        "オリ白:管理部",
        "オリ白:署名者",
        "0件",
        "お知らせ",
        "電子契約サービス(トライアル環境)へようこそ",
        "注文書・請書の回覧ルートについて",
        "サポート情報",
        "ユーザーズマニュアル.pdf",
        "FAQ.pdf",
        "利用状況照会",
    ] {
        assert!(text.contains(s), "dashboard lacks {s}: {text}");
    }
    assert!(!text.contains("JCAN証明書の購入と発行申請について"), "partner-only notice hidden from the owner");
    assert!(!text.contains("準備中\n利用状況照会"), "{text}");
    b.screenshot("support-dashboard").await;

    // A support file link downloads the file.
    let files = hrefs(&b, ".support-files a").await;
    assert!(files.len() >= 5, "{files:?}");
    let resp = app.client.get(app.url(&files[0])).send().await.expect("download");
    assert_eq!(resp.status(), 200);

    // リフレッシュ shows a notice published meanwhile.
    let admin = app.demo_token("HX000001").await;
    let (s, v) = app
        .post(
            "/api/v1/t/HXOS2/notices",
            Some(&admin),
            json!({"title": "メンテナンスのお知らせ", "body": "12/1 2:00〜4:00 https://example.jp/m"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert!(!b.text().await.contains("メンテナンスのお知らせ"));
    click_link(&b, "リフレッシュ").await;
    b.wait_text("メンテナンスのお知らせ").await;
    let links = hrefs(&b, ".notice-body a").await;
    assert!(links.contains(&"https://example.jp/m".to_string()), "{links:?}");

    // お知らせページ from the header.
    click_link(&b, "お知らせページ").await;
    b.wait_path("/t/HXOS2/notices").await;
    let text = b.wait_text("お知らせの登録").await;
    assert!(text.contains("メンテナンスのお知らせ") && text.contains("お知らせの登録"), "{text}");

    // 利用状況照会 from the menu, with its CSV link.
    b.client.goto(&app.url("/t/HXOS2/")).await.expect("goto");
    click_link(&b, "利用状況照会").await;
    b.wait_path("/t/HXOS2/usage").await;
    let text = b.wait_text("合計").await;
    assert!(text.contains("2026年11月") && text.contains("本社 管理部") && text.contains("合計"), "{text}");
    let csv = hrefs(&b, "a[href*='usage.csv']").await;
    assert_eq!(csv.len(), 1, "{csv:?}");
    b.screenshot("support-usage").await;

    // サポートページ from the header: every section, and the administrator's upload form.
    b.client.goto(&app.url("/t/HXOS2/")).await.expect("goto");
    click_link(&b, "サポートページ").await;
    b.wait_path("/t/HXOS2/support").await;
    let text = b.wait_text("よくあるご質問").await;
    for s in [
        "サポート情報",
        "JCAN証明書関連",
        "利用説明資料",
        "電子帳簿保存法関連資料",
        "よくあるご質問",
        "システム概要書.pdf",
        "Q1.",
        "資料のアップロード",
    ] {
        assert!(text.contains(s), "support page lacks {s}: {text}");
    }
    b.screenshot("support-page").await;
    // Every document link answers with the file.
    for href in hrefs(&b, ".doc-list a[download]").await {
        let resp = app.client.get(app.url(&href)).send().await.expect("download");
        assert_eq!(resp.status(), 200, "{href}");
    }
    // Upload through the form (a text file into よくあるご質問).
    let dir = tempdir("upload");
    let file = dir.join("追加FAQ.txt");
    std::fs::write(&file, "Q. 追加の質問\nA. 追加の回答です。\n").expect("write");
    let select = b.client.find(Locator::Css("select[name='category']")).await.expect("select");
    select.select_by_value("faq").await.expect("choose");
    b.client
        .find(Locator::Css("input[type='file']"))
        .await
        .expect("file input")
        .send_keys(&file.display().to_string())
        .await
        .expect("file");
    b.click_nav(Locator::Css("form[enctype] button[type='submit']")).await;
    assert_eq!(b.path().await, "/t/HXOS2/support");
    let text = b.text().await;
    assert!(
        text.contains("資料をアップロードしました。")
            && text.contains("追加FAQ.txt")
            && text.contains("A. 追加の回答です。"),
        "{text}"
    );

    // JCAN links lead to the certificate pages (public; not a 404).
    let jcan = hrefs(&b, ".jcan-links a").await;
    assert_eq!(jcan.len(), 2, "{jcan:?}");
    for href in &jcan {
        b.client.goto(&app.url(href)).await.expect("goto");
        let text = b.text().await;
        assert_eq!(&b.path().await, href, "{text}");
        assert!(!text.contains("ページが見つかりません"), "{href}: {text}");
    }

    // Before login (no cookies): the support page is public, without the upload form.
    b.client.goto(&app.url("/t/HXOS2/support")).await.expect("goto");
    b.client.delete_all_cookies().await.expect("cookies");
    b.client.goto(&app.url("/t/HXOS2/support")).await.expect("goto");
    assert_eq!(b.path().await, "/t/HXOS2/support");
    let text = b.text().await;
    assert!(text.contains("ユーザーズマニュアル.pdf") && !text.contains("資料のアップロード"), "{text}");
    // and it is linked from the login page.
    b.client.goto(&app.url("/t/HXOS2/login")).await.expect("goto");
    click_link(&b, "サポートページ").await;
    b.wait_path("/t/HXOS2/support").await;

    // 375 px: no horizontal scrolling on the phone-sized pages.
    b.client.set_window_size(375, 800).await.expect("resize");
    for path in ["/t/HXOS2/support", "/mailbox"] {
        b.client.goto(&app.url(path)).await.expect("goto");
        let (scroll, client) = b.scroll_width().await;
        assert!(scroll <= 375 && scroll <= client, "{path}: scrollWidth {scroll} clientWidth {client}");
    }
    b.login_demo(&app, "A1533601").await;
    for path in
        ["/t/HXOS2/", "/t/HXOS2/?tab=admin", "/t/HXOS2/support", "/t/HXOS2/notices", "/t/HXOS2/usage", "/mailbox"]
    {
        b.client.goto(&app.url(path)).await.expect("goto");
        let (scroll, client) = b.scroll_width().await;
        b.screenshot(&format!("mobile{}", path.replace(['/', '?', '='], "_"))).await;
        assert!(scroll <= 375 && scroll <= client, "{path}: scrollWidth {scroll} clientWidth {client}");
    }
    b.login_demo(&app, "HX000001").await;
    for path in ["/t/HXOS2/", "/t/HXOS2/support", "/t/HXOS2/notices", "/t/HXOS2/usage"] {
        b.client.goto(&app.url(path)).await.expect("goto");
        let (scroll, client) = b.scroll_width().await;
        b.screenshot(&format!("mobile-admin{}", path.replace(['/', '?', '='], "_"))).await;
        assert!(scroll <= 375 && scroll <= client, "admin {path}: scrollWidth {scroll} clientWidth {client}");
    }
    b.close().await;
    app.stop().await;
}
