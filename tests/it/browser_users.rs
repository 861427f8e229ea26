//! Issue 4 in headless Chromium: the partner's group administrator opens 管理メニュー →
//! ユーザー管理 (tree and members), creates a user through 新規ユーザー (suggested ID, errors
//! beside the fields, registration mail), opens the signer, sees the seal image, adds a
//! delegate through the search dialog and removes it; a group administrator of another group
//! of the same company sees no edit controls and is refused.

use crate::browser::{Browser, browser};
use crate::common::*;
use fantoccini::Locator;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn count(b: &Browser, css: &str) -> usize {
    b.client.find_all(Locator::Css(css)).await.map(|v| v.len()).unwrap_or(0)
}

async fn value_of(b: &Browser, css: &str) -> String {
    let el = b.client.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}"));
    el.prop("value").await.ok().flatten().unwrap_or_default()
}

/// The text of one element.
async fn text_of(b: &Browser, css: &str) -> String {
    let el = b.client.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}"));
    el.text().await.unwrap_or_default()
}

/// Waits until the seal image has loaded; returns its natural width.
async fn seal_width(b: &Browser) -> u64 {
    let js = "const i = document.querySelector('img.seal'); return i && i.complete ? i.naturalWidth : -1";
    for _ in 0..100 {
        let v = b.client.execute(js, vec![]).await.expect("js");
        if v.as_i64().is_some_and(|w| w >= 0) {
            return v.as_u64().unwrap_or(0);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    0
}

#[tokio::test]
async fn group_admin_manages_users_seal_and_delegates() {
    let Some(b) = browser().await else { return };
    let app = TestApp::demo().await;

    // 管理メニュー → ユーザー管理: the own company's tree and the members of the own group.
    b.login(&app, "A1533601", DEMO_PASSWORD).await;
    b.client.goto(&app.url("/t/HXOS2/?tab=admin")).await.expect("goto");
    b.client.find(Locator::LinkText("ユーザー管理")).await.expect("menu").click().await.expect("click");
    b.wait_path("/t/HXOS2/admin/users").await;
    let text = b.wait_text("全2件").await;
    assert!(text.contains("ツリー表示") && text.contains("アイテックコンサルタント株式会社"), "{text}");
    assert_eq!(count(&b, ".um-tree .org-company").await, 1, "{text}");
    for col in ["ユーザーID", "ユーザー名", "メールアドレス", "権限", "状態", "最終ログイン"]
    {
        assert!(text.contains(col), "column {col}: {text}");
    }
    assert!(text.contains("A1533601") && text.contains("A1533602") && text.contains("伊藤 誠"), "{text}");
    assert!(text.contains("グループ管理者") && text.contains("署名者") && text.contains("有効"), "{text}");
    b.screenshot("users-list").await;

    // 新規ユーザー: the suggested ID, required marks, errors beside the fields.
    b.click("#new-user").await;
    b.wait_path("/t/HXOS2/admin/users/new").await;
    b.wait_text("[ユーザーの作成]").await;
    assert_eq!(value_of(&b, "#user_id").await, "A1533603");
    assert!(count(&b, "label .req").await >= 3, "required marks");
    assert_eq!(count(&b, "#role_administration").await, 0, "管理部 is for the service owner only");
    b.fill("email", "not-an-address").await;
    b.click("#create-user").await;
    let text = b.wait_text("入力内容に誤りがあります。").await;
    assert_eq!(text_of(&b, "#name-error").await, "必須項目です。", "{text}");
    assert_eq!(text_of(&b, "#email-error").await, "メールアドレスの形式が正しくありません。", "{text}");
    b.screenshot("users-new-errors").await;
    // A taken e-mail address: 409 beside the field.
    b.fill("name", "田中 花子").await;
    b.fill("email", "ito@a15336.example.jp").await;
    b.click("#create-user").await;
    b.wait_text("このメールアドレスは既に登録されています。").await;
    assert_eq!(text_of(&b, "#email-error").await, "既に使用されています。");
    assert_eq!(value_of(&b, "#name").await, "田中 花子", "typed values are kept");
    b.fill("email", "tanaka@a15336.example.jp").await;
    b.click("#role_approver").await;
    b.screenshot("users-new").await;
    b.click("#create-user").await;
    b.wait_path("/t/HXOS2/admin/users/A1533603").await;
    let text = b.wait_text("ユーザーを登録しました。登録通知メールを送信しました。").await;
    assert!(text.contains("[田中 花子]"), "{text}");
    let roles = b
        .client
        .execute("return [...document.querySelectorAll('input[name=roles]:checked')].map(e => e.value)", vec![])
        .await
        .expect("js");
    assert_eq!(roles, json!(["person_in_charge", "approver"]));
    let mail = app.last_mail_to("tanaka@a15336.example.jp").await.expect("registration mail");
    assert!(mail["subject"].as_str().unwrap_or_default().contains("ユーザー登録"), "{mail}");
    b.screenshot("users-created").await;

    // パスワード再発行 asks first, then mails a new initial password.
    b.click("details.um-reset > summary").await;
    b.wait_text("よろしいですか").await;
    b.screenshot("users-password-reset").await;
    b.click("#reset-password").await;
    b.wait_text("パスワードを再発行しました。登録通知メールを送信しました。").await;
    assert_eq!(app.mails_to("tanaka@a15336.example.jp").await.len(), 2, "a second registration notice");

    // Back to the members: three now.
    b.click(".um-main .card-links a[href*='group=']").await;
    b.wait_text("全3件").await;

    // The signer: attributes, certificate section, seal image, delegates.
    b.client.find(Locator::LinkText("A1533602")).await.expect("signer link").click().await.expect("click");
    b.wait_path("/t/HXOS2/admin/users/A1533602").await;
    let text = b.wait_text("署名/電子捺印操作代行ユーザー").await;
    assert!(text.contains("署名者の属性") && text.contains("電子証明書") && text.contains("印影"), "{text}");
    assert!(text.contains("印影は固定で変更できません。"), "{text}");
    assert!(seal_width(&b).await > 0, "the seal image loads");
    assert_eq!(count(&b, "#delegate-table tbody tr").await, 1, "the demo delegate A1533601");
    assert!(text_of(&b, "#delegate-table").await.contains("A1533601"));
    b.screenshot("users-signer").await;
    b.client.execute("document.getElementById('delegates').scrollIntoView()", vec![]).await.expect("js");
    b.screenshot("users-signer-delegates").await;

    // 編集: the signer's attributes change through the form.
    b.click("#edit-user").await;
    b.wait_text("キャンセル").await;
    b.fill("title", "代表取締役社長").await;
    b.click("#update-user").await;
    b.wait_text("ユーザー情報を更新しました。").await;
    assert_eq!(text_of(&b, "#attr-title").await, "代表取締役社長");
    assert_eq!(count(&b, "#update-user").await, 0, "back to the detail");

    // 追加: the dialog searches by name, then by ID; the checked user is added.
    b.click("#add-delegates").await;
    b.wait_text("[署名操作代行ユーザー追加]").await;
    assert_eq!(count(&b, "#delegate-results").await, 0, "no results before 検索");
    b.fill("q_name", "田中").await;
    b.click("#delegate-search").await;
    let results = {
        b.wait_text("全1件").await;
        text_of(&b, "#delegate-results").await
    };
    assert!(results.contains("A1533603") && !results.contains("A1533601"), "{results}");
    b.fill("q_name", "").await;
    b.fill("q_user_id", "A15336").await;
    b.click("#delegate-search").await;
    b.wait_text("全3件").await;
    let results = text_of(&b, "#delegate-results").await;
    assert!(results.contains("登録済み") && results.contains("本人"), "{results}");
    let disabled = b
        .client
        .execute("return [document.getElementById('pick_A1533601').disabled, document.getElementById('pick_A1533602').disabled]", vec![])
        .await
        .expect("js");
    assert_eq!(disabled, json!([true, true]), "the current delegate and the signer cannot be picked");
    // 追加 with nothing checked: said in the dialog.
    b.click("#delegate-add").await;
    b.wait_text("追加するユーザーを選択してください。").await;
    b.click("#pick_A1533603").await;
    b.screenshot("users-delegate-dialog").await;
    b.click("#delegate-add").await;
    let text = b.wait_text("署名操作代行ユーザーを追加しました。").await;
    assert_eq!(b.path().await, "/t/HXOS2/admin/users/A1533602");
    assert!(!text.contains("[署名操作代行ユーザー追加]"), "the dialog is closed: {text}");
    assert_eq!(count(&b, "#delegate-table tbody tr").await, 2);
    assert!(text_of(&b, "#delegate-table").await.contains("田中 花子"));
    b.screenshot("users-delegate-added").await;

    // 削除 per row.
    b.click("form[action$='/delegates/A1533603/delete'] button").await;
    b.wait_text("署名操作代行ユーザーを削除しました。").await;
    assert_eq!(count(&b, "#delegate-table tbody tr").await, 1);
    assert!(!text_of(&b, "#delegate-table").await.contains("A1533603"));

    // 375 px: no horizontal scrolling; the dialog fits.
    b.client.set_window_size(375, 800).await.expect("resize");
    for path in [
        "/t/HXOS2/admin/users",
        "/t/HXOS2/admin/users/A1533603",
        "/t/HXOS2/admin/users/A1533602?add=1&search=1&q_user_id=A",
    ] {
        b.client.goto(&app.url(path)).await.expect("goto");
        b.wait_text("ユーザー管理").await;
        let v = b
            .client
            .execute("return [document.documentElement.scrollWidth, document.documentElement.clientWidth]", vec![])
            .await
            .expect("js");
        let (scroll, client) = (v[0].as_u64().unwrap_or(u64::MAX), v[1].as_u64().unwrap_or(0));
        assert!(scroll <= client, "{path}: scrollWidth {scroll} clientWidth {client}");
    }
    b.screenshot("users-mobile-dialog").await;
    b.client.set_window_size(1280, 900).await.expect("resize");
    b.client.goto(&app.url("/t/HXOS2/admin/users/A1533602")).await.expect("goto");

    // English through the toggle.
    b.client.find(Locator::Css("footer .lang-toggle")).await.expect("toggle").click().await.expect("click");
    let text = b.wait_text("Signing delegates").await;
    assert!(text.contains("User management") && text.contains("Seal"), "{text}");
    b.client.find(Locator::Css("footer .lang-toggle")).await.expect("toggle").click().await.expect("click");
    b.wait_text("署名/電子捺印操作代行ユーザー").await;

    b.close().await;
    app.stop().await;
}

/// A group administrator of another group of the same company: the tree shows the other
/// group without a link, its members and users are refused, and no edit control appears.
#[tokio::test]
async fn group_admin_of_another_group_sees_no_edit_controls() {
    let Some(b) = browser().await else { return };
    let app = TestApp::demo().await;

    // The tenant administrator adds 大阪支店 to the partner and its group administrator.
    let admin = app.demo_token("HX000001").await;
    let (s, org) = app.get("/api/v1/t/HXOS2/org", Some(&admin)).await;
    assert_eq!(s, StatusCode::OK, "{org}");
    let partner = org["companies"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["company"]["vendor_code"] == json!("A15336")))
        .cloned()
        .unwrap_or(Value::Null);
    let root = partner["company"]["root_group_id"].as_str().expect("root group").to_string();
    let (s, group) = app
        .post(
            "/api/v1/t/HXOS2/groups",
            Some(&admin),
            json!({"company_id": partner["company"]["id"], "parent_group_id": root, "name": "大阪支店"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{group}");
    let osaka = group["id"].as_str().expect("group id").to_string();
    let (s, v) = app
        .post(
            &format!("/api/v1/t/HXOS2/groups/{osaka}/users"),
            Some(&admin),
            json!({"user_id": "A1533604", "name": "大阪 管理", "email": "osaka@a15336.example.jp", "roles": ["group_admin"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let mail = app.last_mail_to("osaka@a15336.example.jp").await.expect("mail");
    let initial = initial_password(mail["body"].as_str().unwrap_or_default());
    app.login_ready("HXOS2", "A1533604", &initial, "Osaka-Pass-1234").await;

    b.login(&app, "A1533604", "Osaka-Pass-1234").await;
    b.client.goto(&app.url("/t/HXOS2/admin/users")).await.expect("goto");
    let text = b.wait_text("大阪支店").await;
    assert!(text.contains("全1件") && text.contains("A1533604"), "own group by default: {text}");
    assert_eq!(count(&b, "#new-user").await, 1, "may create users in the own group");
    assert_eq!(count(&b, ".org-locked").await, 1, "本社 is shown without a link: {text}");
    b.screenshot("users-other-group-list").await;

    // The other group's members: refused, no 新規ユーザー.
    b.client.goto(&app.url(&format!("/t/HXOS2/admin/users?group={root}"))).await.expect("goto");
    let text = b.wait_text("この操作を行う権限がありません。").await;
    assert!(text.contains("グループ管理者は、自分のグループのユーザーのみ管理できます。"), "{text}");
    assert_eq!(count(&b, "#new-user").await, 0);
    assert_eq!(count(&b, ".um-table").await, 0);
    b.client.goto(&app.url(&format!("/t/HXOS2/admin/users/new?group={root}"))).await.expect("goto");
    b.wait_text("この操作を行う権限がありません。").await;
    assert_eq!(count(&b, "#create-user").await, 0);

    // The other group's signer: refused, no edit control, no seal, no delegate controls.
    b.client.goto(&app.url("/t/HXOS2/admin/users/A1533602")).await.expect("goto");
    let text = b.wait_text("この操作を行う権限がありません。").await;
    assert!(!text.contains("伊藤 誠"), "nothing of the user is shown: {text}");
    for css in ["#update-user", "#add-delegates", "#reset-password", "img.seal", "form[action*='/delegates']"] {
        assert_eq!(count(&b, css).await, 0, "{css}");
    }
    // Only the logout form posts.
    assert_eq!(count(&b, "main form[method='post']").await, 0);
    b.screenshot("users-other-group-refused").await;
    // The seal image itself is refused too.
    b.client.goto(&app.url("/t/HXOS2/admin/users/A1533602/seal.svg")).await.expect("goto");
    assert!(!b.text_now().await.contains("伊藤"));

    // The own page: the own attributes can be edited, roles and status cannot.
    b.client.goto(&app.url("/t/HXOS2/admin/users/A1533604")).await.expect("goto");
    b.wait_text("ユーザーの属性").await;
    assert_eq!(count(&b, "#update-user").await, 1);
    assert_eq!(count(&b, "input[name='roles']").await, 0, "nobody changes their own roles");
    assert_eq!(count(&b, "#reset-password").await, 0);

    // The tenant administrator sees every company with its nested groups, in English too.
    b.login(&app, "HX000001", DEMO_PASSWORD).await;
    b.client.goto(&app.url("/t/HXOS2/admin/users?lang=en")).await.expect("goto");
    let text = b.wait_text("Companies and groups").await;
    assert_eq!(count(&b, ".um-tree .org-company").await, 2, "{text}");
    assert!(text.contains("本社 管理部") && text.contains("東京支店") && text.contains("大阪支店"), "{text}");
    assert!(count(&b, ".org-groups .org-groups a.org-group").await >= 3, "subgroups are nested");
    b.screenshot("users-owner-tree-en").await;
    b.client.goto(&app.url("/t/HXOS2/admin/users?lang=ja")).await.expect("goto");

    b.close().await;
    app.stop().await;
}

/// Delegation in the browser: the partner administrator sets a delegate with a limit
/// (pending), the signer confirms it with the certificate PIN, the delegate signs with a
/// mailed code; the owner's tenant administrator's page of the partner signer offers no way
/// to set, confirm or remove a delegate.
#[cfg(feature = "contracts")]
#[tokio::test]
async fn a_delegate_is_set_confirmed_with_the_pin_and_signs_with_a_mailed_code() {
    let Some(b) = browser().await else { return };
    let app = TestApp::demo().await;
    let a1 = app.demo_token("A1533601").await;
    let group =
        app.get("/api/v1/t/HXOS2/users/A1533601", Some(&a1)).await.1["group_id"].as_str().expect("group").to_string();
    let (s, v) = app
        .post(
            &format!("/api/v1/t/HXOS2/groups/{group}/users"),
            Some(&a1),
            json!({"name": "佐々木 三郎", "email": "sasaki@a15336.example.jp", "roles": ["approver"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let delegate = v["user_id"].as_str().expect("id").to_string();
    let mail = app.last_mail_to("sasaki@a15336.example.jp").await.expect("registration mail");
    let pw = initial_password(mail["body"].as_str().unwrap_or_default());
    let delegate_token = app.login_ready("HXOS2", &delegate, &pw, "NewPass-9876x").await;

    // The partner administrator adds the delegate with an amount ceiling: pending.
    b.login(&app, "A1533601", DEMO_PASSWORD).await;
    b.client.goto(&app.url("/t/HXOS2/admin/users/A1533602?add=1&search=1&q_user_id=A")).await.expect("goto");
    b.wait_text("[署名操作代行ユーザー追加]").await;
    b.click(&format!("#pick_{delegate}")).await;
    b.fill("max_amount", "5,000,000").await;
    assert_eq!(count(&b, "#mandate_pin").await, 0, "only the signer confirms with a PIN");
    b.click("#delegate-add").await;
    b.wait_text("署名操作代行ユーザーを追加しました。").await;
    let row = format!("#delegate-table tr[data-delegate='{delegate}']");
    let text = text_of(&b, &row).await;
    assert!(text.contains("署名者の確認待ち") && text.contains("上限 ¥5,000,000"), "{text}");
    assert_eq!(count(&b, &format!("{row} form.confirm-form")).await, 0, "the administrator cannot confirm");
    b.screenshot("users-mandate-pending").await;

    // The signer confirms with the certificate PIN.
    b.login(&app, "A1533602", DEMO_PASSWORD).await;
    b.client.goto(&app.url("/t/HXOS2/admin/users/A1533602")).await.expect("goto");
    b.wait_text("署名者の確認待ち").await;
    b.fill("pin", DEMO_PIN).await;
    b.click(&format!("{row} form.confirm-form button")).await;
    b.wait_text("署名操作代行の委任を確認しました。").await;
    let text = text_of(&b, &row).await;
    assert!(text.contains("確認済み"), "{text}");
    b.screenshot("users-mandate-confirmed").await;

    // The delegate signs a contract within the limit with a code sent by mail.
    let registrant = app.demo_token("HX000002").await;
    let pdf = keiyaku_contracts::demo::order_pdf(
        "WEB-MANDATE-1",
        "代行署名",
        "アイテックコンサルタント株式会社",
        1_100_000,
        "2026-11-25",
    );
    use base64::Engine;
    let (s, c) = app
        .post(
            "/api/v1/t/HXOS2/contracts",
            Some(&registrant),
            json!({"number": "WEB-MANDATE-1", "title": "代行署名", "doc_type": "purchase_order", "counterparty": "A15336",
                   "transaction_date": "2026-11-25", "amount": 1_100_000, "tax": "included",
                   "documents": [{"name": "注文書.pdf", "content_base64": base64::engine::general_purpose::STANDARD.encode(&pdf)}],
                   "route": [{"party": "partner", "role": "signer"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let path = format!("/t/HXOS2/contracts/{}", c["id"].as_str().expect("id"));
    let (_, detail) =
        app.get(&format!("/api/v1/t/HXOS2/contracts/{}", c["id"].as_str().expect("id")), Some(&delegate_token)).await;
    assert_eq!(
        (detail["permissions"]["sign"].as_bool(), detail["permissions"]["step_up"].as_str()),
        (Some(true), Some("code")),
        "{detail}"
    );
    b.login(&app, &delegate, "NewPass-9876x").await;
    b.client.goto(&app.url(&path)).await.expect("goto");
    let text = b.wait_text("伊藤 誠 の代理として署名します。").await;
    assert!(text.contains("メールで受け取った認証コード"), "{text}");
    b.click_nav(Locator::Css("form[action$='/sign-code'] button[type='submit']")).await;
    b.wait_text("認証コードをメールで送信しました").await;
    let code = signing_code_in(&app.last_mail_to("sasaki@a15336.example.jp").await.expect("code mail"));
    b.fill("code", &code).await;
    b.screenshot("contracts-delegate-code").await;
    b.click_nav(Locator::Css("form[action$='/sign'] button[type='submit']")).await;
    let text = b.wait_text("署名しました。").await;
    assert!(text.contains("代理: 佐々木 三郎") && text.contains("締結済"), "{text}");

    // The owner's tenant administrator sees the partner signer but cannot touch delegates.
    b.login(&app, "HX000001", DEMO_PASSWORD).await;
    b.client.goto(&app.url("/t/HXOS2/admin/users/A1533602")).await.expect("goto");
    let text = b.wait_text("署名/電子捺印操作代行ユーザー").await;
    assert!(text.contains(&delegate), "{text}");
    assert_eq!(count(&b, "#add-delegates").await, 0, "no 追加 for the owner side");
    assert_eq!(count(&b, "#delegate-table form").await, 0, "no 確認 or 削除 for the owner side");
    b.client.goto(&app.url("/t/HXOS2/admin/users/A1533602?add=1#delegate-dialog")).await.expect("goto");
    b.wait_text("署名/電子捺印操作代行ユーザー").await;
    assert_eq!(count(&b, "#delegate-dialog").await, 0, "the dialog does not open for the owner side");
    b.close().await;
    app.stop().await;
}
