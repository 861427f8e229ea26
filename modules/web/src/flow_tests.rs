//! The pages end to end over the real services, on a temporary store with the demo data.

use crate::routes;
use crate::test_app::form_body;
use keiyaku_auth::{Auth, AuthModule};
use keiyaku_kernel::config::Config;
use keiyaku_kernel::context::Actor;
use keiyaku_kernel::directory;
use keiyaku_kernel::mail::{Attachment, NewMail};
use keiyaku_kernel::module::Module;
use keiyaku_kernel::store::StoreError;
use keiyaku_kernel::{Kernel, Store, SystemClock};
use poem::http::{HeaderMap, Method, StatusCode, header};
use poem::{Endpoint, Request, Route};
use std::collections::BTreeMap;
use std::sync::Arc;

struct App {
    route: Route,
    kernel: Kernel,
    auth: Auth,
    path: std::path::PathBuf,
    /// The browser's cookies: name → (value, path).
    jar: BTreeMap<String, (String, String)>,
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

struct Page {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Page {
    fn location(&self) -> &str {
        self.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    fn set_cookies(&self) -> Vec<String> {
        self.headers.get_all(header::SET_COOKIE).iter().filter_map(|v| v.to_str().ok().map(str::to_string)).collect()
    }

    /// The value of a hidden `csrf` field.
    fn csrf(&self) -> String {
        let marker = "name=\"csrf\" value=\"";
        let start = self.body.find(marker).map(|i| i + marker.len()).unwrap_or(0);
        self.body[start..].split('"').next().unwrap_or("").to_string()
    }
}

fn app_with(config: Config) -> App {
    let path = std::env::temp_dir().join(format!("keiyaku-web-{}.redb", keiyaku_kernel::ids::new_id()));
    let clock = Arc::new(SystemClock);
    let store = Store::open(&path, clock.clone(), &crate::test_app::all_modules()).unwrap();
    let kernel = Kernel::new(store.clone(), clock, Arc::new(config));
    store.write_blocking(|tx| AuthModule.seed_demo(&kernel, tx)).unwrap();
    let menus = crate::test_app::all_modules().iter().flat_map(|m| m.menu()).collect();
    let web = crate::Web::new(kernel.clone(), menus);
    let auth = web.auth.clone();
    let route = routes(web);
    App { route, kernel, auth, path, jar: BTreeMap::new() }
}

fn app() -> App {
    app_with(Config::default())
}

/// The password change form.
fn password_form<'a>(current: &'a str, new: &'a str, confirm: &'a str, csrf: &'a str) -> [(&'static str, &'a str); 4] {
    [("current_password", current), ("new_password", new), ("new_password_confirm", confirm), ("csrf", csrf)]
}

impl App {
    async fn send(&mut self, method: Method, uri: &str, form: Option<&[(&str, &str)]>, extra: &[(&str, &str)]) -> Page {
        let path = uri.split('?').next().unwrap_or("/").to_string();
        let cookie: Vec<String> = self
            .jar
            .iter()
            .filter(|(_, (_, p))| path.starts_with(p.as_str()))
            .map(|(k, (v, _))| format!("{k}={v}"))
            .collect();
        let mut b = Request::builder().method(method).uri(uri.parse().unwrap());
        if !cookie.is_empty() {
            b = b.header(header::COOKIE, cookie.join("; "));
        }
        for (k, v) in extra {
            b = b.header(*k, *v);
        }
        let req = match form {
            Some(f) => b.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded").body(form_body(f)),
            None => b.finish(),
        };
        let resp = match self.route.call(req).await {
            Ok(r) => r,
            Err(e) => e.into_response(),
        };
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.into_body().into_string().await.unwrap_or_default();
        let page = Page { status, headers, body };
        for c in page.set_cookies() {
            let mut parts = c.split(';');
            let (name, value) = parts.next().unwrap().split_once('=').unwrap();
            let attrs: Vec<&str> = parts.map(str::trim).collect();
            let cpath = attrs.iter().find_map(|a| a.strip_prefix("Path=")).unwrap_or("/").to_string();
            if attrs.contains(&"Max-Age=0") {
                self.jar.remove(name);
            } else {
                self.jar.insert(name.to_string(), (value.to_string(), cpath));
            }
        }
        page
    }

    async fn get(&mut self, uri: &str) -> Page {
        self.send(Method::GET, uri, None, &[]).await
    }

    async fn post(&mut self, uri: &str, form: &[(&str, &str)]) -> Page {
        self.send(Method::POST, uri, Some(form), &[]).await
    }

    async fn login(&mut self, user: &str, password: &str) -> Page {
        let page = self.get("/t/HXOS2/login").await;
        let csrf = page.csrf();
        self.post("/t/HXOS2/login", &[("login", user), ("password", password), ("csrf", &csrf)]).await
    }
}

#[tokio::test]
async fn landing_lists_tenants_only_when_configured() {
    // By default anonymous visitors type their enterprise code; no code or name is listed.
    let mut app = app();
    let p = app.get("/").await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(!p.body.contains("HXOS2") && !p.body.contains("オリエンタル白石"), "{}", p.body);
    assert!(p.body.contains("action=\"/login\""), "{}", p.body);
    let p = app.get("/login?code=hxos2").await;
    assert_eq!((p.status, p.location()), (StatusCode::SEE_OTHER, "/t/HXOS2/login"));
    let p = app.get("/login?code=../evil").await;
    assert_eq!((p.status, p.location()), (StatusCode::SEE_OTHER, "/"));
    let mut config = Config::default();
    config.server.list_tenants = true;
    let mut app = app_with(config);
    let p = app.get("/").await;
    assert!(p.body.contains("href=\"/t/HXOS2/login\""));
    assert!(p.body.contains("オリエンタル白石"));
    let css = app.get("/static/keiyaku.css").await;
    assert_eq!(css.status, StatusCode::OK);
}

#[tokio::test]
async fn login_page_and_unknown_tenants() {
    let mut app = app();
    let p = app.get("/t/HXOS2/login").await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.contains("<html lang=\"ja\">"));
    assert!(p.body.contains("placeholder=\"ユーザーIDまたはメールアドレス\""));
    assert!(p.body.contains("ログイン"));
    assert!(p.body.contains("オリエンタル白石"));
    assert!(p.body.contains("電子契約トライアル環境"));
    let set = p.set_cookies().join("\n");
    assert!(set.contains("keiyaku_csrf="), "{set}");
    assert!(set.contains("Secure; HttpOnly; SameSite=Strict"));
    assert!(!p.csrf().is_empty());

    for path in ["/t/NOPE/login", "/t/hxos2/login", "/t/%3Cx%3E/login"] {
        let p = app.get(path).await;
        assert_eq!(p.status, StatusCode::NOT_FOUND, "{path}");
        assert!(p.body.contains("お探しのページは見つかりませんでした。"));
    }
    let p = app.post("/t/NOPE/login", &[("login", "x")]).await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);

    let en = app.send(Method::GET, "/t/HXOS2/login", None, &[("accept-language", "en-US,en;q=0.9")]).await;
    assert!(en.body.contains("<html lang=\"en\">"));
    assert!(en.body.contains("User ID or e-mail address"));
    let toggled = app.get("/t/HXOS2/login?lang=en").await;
    assert!(toggled.set_cookies().iter().any(|c| c.starts_with("lang=en;")));
    let remembered = app.get("/t/HXOS2/login").await;
    assert!(remembered.body.contains("<html lang=\"en\">"));
}

#[tokio::test]
async fn login_checks_csrf_and_credentials() {
    let mut app = app();
    app.get("/t/HXOS2/login").await;
    // Missing or wrong token: refused, no login attempt, no session.
    let p = app.post("/t/HXOS2/login", &[("login", "HX000001"), ("password", "keiyaku-demo"), ("csrf", "wrong")]).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(p.body.contains("画面の有効期限が切れたか、不正な送信です。"));
    assert!(!app.jar.contains_key("keiyaku_session"));

    let p = app.login("HX000001", "nope-nope-1").await;
    assert_eq!(p.status, StatusCode::UNAUTHORIZED);
    assert!(p.body.contains("ユーザーID(メールアドレス)またはパスワードが正しくありません。"));
    assert!(p.body.contains("value=\"HX000001\""));
    assert!(!p.body.contains("nope-nope-1"));

    // Broken forms never panic.
    let req = app.send(Method::POST, "/t/HXOS2/login", None, &[("content-type", "text/plain")]).await;
    assert_eq!(req.status, StatusCode::BAD_REQUEST);

    // Log in with the e-mail address.
    let p = app.login("horii@hxos2.example.jp", "keiyaku-demo").await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(p.location(), "/t/HXOS2/");
    let session = p.set_cookies().into_iter().find(|c| c.starts_with("keiyaku_session=")).unwrap();
    assert!(session.ends_with("; Path=/t/HXOS2; Secure; HttpOnly; SameSite=Strict"), "{session}");

    // Logged in: the login page leads to the dashboard.
    let p = app.get("/t/HXOS2/login").await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(p.location(), "/t/HXOS2/");
}

#[tokio::test]
async fn locked_accounts_show_the_minutes() {
    let mut app = app();
    let mut last = None;
    for _ in 0..6 {
        last = Some(app.login("HX000002", "wrong-wrong-1").await);
    }
    let p = last.unwrap();
    assert_eq!(p.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(p.body.contains("分後に再度お試しください。"), "{}", p.body);
    assert!(p.headers.get(header::RETRY_AFTER).is_some());
}

#[tokio::test]
async fn dashboard_for_a_group_admin() {
    let mut app = app();
    let p = app.get("/t/HXOS2/").await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(p.location(), "/t/HXOS2/login");

    app.login("HX000001", "keiyaku-demo").await;
    let p = app.get("/t/HXOS2/").await;
    assert_eq!(p.status, StatusCode::OK);
    let b = &p.body;
    assert!(b.contains("電子契約サービス</title>"));
    assert!(b.contains("オリエンタル白石株式会社"));
    assert!(b.contains("ログインユーザー：堀井 裕蔵(前回ログイン日時：初回ログイン)"), "{b}");
    for s in [
        "お知らせページ",
        "サポートページ",
        "モバイル版へ",
        "ログアウト",
        "通常メニュー",
        "管理メニュー",
        "操作メニュー",
        "確認待ち文書",
        "オリ白:承認者",
        "取引先:担当",
        "オリ白:管理部",
        "オリ白:署名者",
        "0件",
        "お知らせ情報は現在登録されておりません。",
        "リフレッシュ",
        "サポート情報",
        "電子契約トライアル環境",
        "href=\"/t/HXOS2/notices\"",
        "href=\"/t/HXOS2/support\"",
        "action=\"/t/HXOS2/logout\"",
    ] {
        assert!(b.contains(s), "missing {s}: {b}");
    }
    assert!(!b.contains("ユーザー管理"));
    // The normal tab lists exactly the compiled-in modules' own entries.
    let normal: Vec<_> = crate::test_app::all_modules().iter().flat_map(|m| m.menu()).filter(|m| !m.admin).collect();
    assert!(!normal.is_empty());
    for m in &normal {
        assert!(
            b.contains(&format!("href=\"/t/HXOS2/{}\"", m.path)) && b.contains(m.label_ja),
            "missing {}: {b}",
            m.path
        );
    }
    assert_eq!(b.matches("class=\"menu-label\"").count(), normal.len(), "{b}");
    let admin = app.get("/t/HXOS2/?tab=admin").await;
    assert!(admin.body.contains("href=\"/t/HXOS2/admin/users\""));
    assert!(admin.body.contains("ユーザー管理"));

    // Second login: the previous login time is shown.
    app.jar.clear();
    app.login("HX000001", "keiyaku-demo").await;
    let p = app.get("/t/HXOS2/").await;
    assert!(p.body.contains("(前回ログイン日時：20"), "{}", p.body);

    // The coming-soon fallback: a tenant path no compiled-in module serves.
    let p = app.get("/t/HXOS2/reports").await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.contains("準備中"), "{}", p.body);
    let p = app.get("/t/HXOS2/admin/users").await;
    assert_eq!(p.status, StatusCode::OK);
    let p = app.get("/t/HXOS2").await;
    assert_eq!(p.location(), "/t/HXOS2/");
}

#[tokio::test]
async fn no_admin_tab_for_other_users() {
    let mut app = app();
    app.login("HX000002", "keiyaku-demo").await;
    let p = app.get("/t/HXOS2/?tab=admin").await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.contains("佐藤 健一"));
    assert!(!p.body.contains("管理メニュー"));
    assert!(!p.body.contains("ユーザー管理"));
    // A partner user sees the service owner's name in the header.
    app.jar.clear();
    app.login("A1533601", "keiyaku-demo").await;
    let p = app.get("/t/HXOS2/").await;
    assert!(p.body.contains("オリエンタル白石株式会社"));
    assert!(p.body.contains("管理メニュー"));
}

#[tokio::test]
async fn voluntary_password_change() {
    let mut app = app();
    app.login("HX000001", "keiyaku-demo").await;
    let page = app.get("/t/HXOS2/password").await;
    assert_eq!(page.status, StatusCode::OK);
    for s in ["現在のパスワード", "新しいパスワード", "新しいパスワード(確認)", "8文字以上128文字以内"]
    {
        assert!(page.body.contains(s), "missing {s}");
    }
    assert!(!page.body.contains("初回ログインのため"));
    let csrf = page.csrf();

    let p = app.post("/t/HXOS2/password", &password_form("keiyaku-demo", "Neues-Pw1", "Neues-Pw1", "bad")).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);

    let p = app.post("/t/HXOS2/password", &password_form("keiyaku-demo", "Neues-Pw1", "Neues-Pw2", &csrf)).await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(p.body.contains("新しいパスワードと確認用のパスワードが一致しません。"));
    assert!(p.body.contains("id=\"new_password_confirm-error\""));

    let p = app.post("/t/HXOS2/password", &password_form("wrong-one-1", "Neues-Pw1", "Neues-Pw1", &csrf)).await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(p.body.contains("現在のパスワードが正しくありません。"));
    assert!(p.body.contains("id=\"current_password-error\""));

    let p = app.post("/t/HXOS2/password", &password_form("keiyaku-demo", "short1", "short1", &csrf)).await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(p.body.contains("id=\"new_password-error\""));

    let p = app.post("/t/HXOS2/password", &password_form("keiyaku-demo", "Neues-Pw1", "Neues-Pw1", &csrf)).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(p.location(), "/t/HXOS2/?notice=password_changed");
    let d = app.get(p.location()).await;
    assert!(d.body.contains("パスワードを変更しました。"));

    app.jar.clear();
    assert_eq!(app.login("HX000001", "Neues-Pw1").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn forced_password_change_at_first_login() {
    let mut app = app();
    let hash = keiyaku_auth::password::hash("Initial-Pw1").unwrap();
    app.kernel
        .store
        .write_blocking(|tx| {
            let tenant = directory::get_tenant(tx, "HXOS2")?.unwrap();
            let user = directory::get_user(tx, "HXOS2", "HX000003")?.unwrap();
            keiyaku_auth::register_credential(tx, &Actor::system(), &tenant, &user, hash, true)?;
            Ok::<_, StoreError>(())
        })
        .unwrap();
    let p = app.login("HX000003", "Initial-Pw1").await;
    assert_eq!(p.location(), "/t/HXOS2/password");
    let d = app.get("/t/HXOS2/").await;
    assert_eq!(d.status, StatusCode::SEE_OTHER);
    assert_eq!(d.location(), "/t/HXOS2/password");
    let soon = app.get("/t/HXOS2/contracts").await;
    assert_eq!(soon.location(), "/t/HXOS2/password");
    let page = app.get("/t/HXOS2/password").await;
    assert!(page.body.contains("初回ログインのため、パスワードの変更が必要です。"));
    // Browser tests press the first `form button[type='submit']`: the page's own form, not
    // the header's logout button.
    let first_submit = page.body.find("type=\"submit\"").unwrap();
    let form = page.body.find("action=\"/t/HXOS2/password\"").unwrap();
    assert!(form < first_submit);
    assert!(page.body.contains("action=\"/t/HXOS2/logout\""));
    assert!(!page.body.contains("通常メニュー"));
    let csrf = page.csrf();
    let p = app.post("/t/HXOS2/password", &password_form("Initial-Pw1", "Second-Pw2", "Second-Pw2", &csrf)).await;
    assert_eq!(p.location(), "/t/HXOS2/?notice=password_changed");
    assert_eq!(app.get("/t/HXOS2/").await.status, StatusCode::OK);
}

#[tokio::test]
async fn logout_needs_the_session_token() {
    let mut app = app();
    app.login("HX000001", "keiyaku-demo").await;
    let d = app.get("/t/HXOS2/").await;
    let csrf = d.csrf();
    let p = app.post("/t/HXOS2/logout", &[("csrf", "nope")]).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get("/t/HXOS2/").await.status, StatusCode::OK);
    let token = app.jar.get("keiyaku_session").unwrap().0.clone();

    let p = app.post("/t/HXOS2/logout", &[("csrf", &csrf)]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(p.location(), "/t/HXOS2/login?notice=logged_out");
    assert!(p.set_cookies().iter().any(|c| c.starts_with("keiyaku_session=;") && c.contains("Max-Age=0")));
    let login = app.get(p.location()).await;
    assert!(login.body.contains("ログアウトしました。"));
    // The token is revoked, not only forgotten by the browser.
    assert!(app.auth.authenticate("HXOS2", &token, None, true).await.is_err());
    app.jar.insert("keiyaku_session".into(), (token, "/t/HXOS2".into()));
    let p = app.get("/t/HXOS2/").await;
    assert_eq!(p.location(), "/t/HXOS2/login?notice=session_expired");
}

async fn put_mail(app: &App) {
    app.kernel
        .store
        .write(|tx| {
            tx.send_mail(
                NewMail {
                    tenant: Some("HXOS2".into()),
                    to: "horii@hxos2.example.jp".into(),
                    subject: "【電子契約サービス】 ユーザー登録通知".into(),
                    body: "<i>堀井 裕蔵様</i>\nhttps://localhost:8443/t/HXOS2/login\n".into(),
                    attachments: vec![Attachment::new("tickets.csv", "text/csv", b"a,b\n")],
                },
                false,
            )
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn mailbox_for_the_operator() {
    let mut app = app();
    put_mail(&app).await;
    app.auth.ensure_operator(Some("Operator-Pw1".into())).unwrap();
    let p = app.get("/mailbox").await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.contains("action=\"/mailbox/login\""));
    assert!(!p.body.contains("ユーザー登録通知"));
    let csrf = p.csrf();
    let bad = app.post("/mailbox/login", &[("login", "operator"), ("password", "Operator-Pw1"), ("csrf", "x")]).await;
    assert_eq!(bad.status, StatusCode::FORBIDDEN);
    let wrong = app.post("/mailbox/login", &[("login", "operator"), ("password", "nope"), ("csrf", &csrf)]).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let ok = app.post("/mailbox/login", &[("login", "operator"), ("password", "Operator-Pw1"), ("csrf", &csrf)]).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    assert!(
        ok.set_cookies()
            .iter()
            .any(|c| c.starts_with("keiyaku_operator=") && c.contains("Path=/; Secure; HttpOnly; SameSite=Strict"))
    );

    let p = app.get("/mailbox?to=HORII@hxos2.example.jp").await;
    assert!(p.body.contains("ユーザー登録通知"));
    assert!(p.body.contains("&lt;i&gt;堀井 裕蔵様&lt;/i&gt;"));
    assert!(p.body.contains("<a href=\"https://localhost:8443/t/HXOS2/login\""));
    let href_start = p.body.find("href=\"/mailbox/").unwrap() + 6;
    let href: String = p.body[href_start..].split('"').next().unwrap().to_string();
    let att = app.get(&href).await;
    assert_eq!(att.status, StatusCode::OK);
    assert_eq!(att.body, "a,b\n");
    let none = app.get("/mailbox?to=nobody@example.jp").await;
    assert!(!none.body.contains("ユーザー登録通知"));

    let csrf = p.csrf();
    let out = app.post("/mailbox/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    let p = app.get("/mailbox").await;
    assert!(p.body.contains("action=\"/mailbox/login\""));
    assert_eq!(app.get(&href).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn public_mailbox() {
    let mut config = Config::default();
    config.mail.mailbox_public = true;
    let mut app = app_with(config);
    put_mail(&app).await;
    let p = app.get("/mailbox").await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.contains("ユーザー登録通知"));
    assert!(p.body.contains("href=\"/api/v1/mailbox/"));
    assert!(!p.body.contains("/mailbox/logout"));
}
