use super::forms::*;
use super::views::*;
use crate::layout::{PageCtx, pager};
use crate::query::Pairs;
use keiyaku_kernel::FieldCode;
use keiyaku_kernel::Lang;
use keiyaku_kernel::directory::Group;
use keiyaku_kernel::directory::{Company, Role};
use keiyaku_kernel::error::FieldError;
use keiyaku_users::service::{CompanyNode, GroupNode, Paged};

fn group(id: &str, parent: Option<&str>, depth: usize, can_manage: bool) -> GroupNode {
    GroupNode {
        group: Group {
            id: id.into(),
            tenant: "HXOS2".into(),
            company_id: "c1".into(),
            parent_id: parent.map(str::to_string),
            name: format!("<{id}>"),
            created_at: String::new(),
        },
        depth,
        member_count: 2,
        can_manage,
    }
}

fn company(owner: bool, groups: Vec<GroupNode>) -> CompanyNode {
    CompanyNode {
        company: Company {
            id: "c1".into(),
            tenant: "HXOS2".into(),
            name: "アイテック<株>".into(),
            name_kana: String::new(),
            vendor_code: (!owner).then(|| "A15336".to_string()),
            owner,
            root_group_id: "root".into(),
            created_at: String::new(),
        },
        groups,
    }
}

fn pc(lang: Lang) -> PageCtx {
    PageCtx::new(lang, None, "/t/HXOS2/admin/users", "", None)
}

#[test]
fn query_strings_are_encoded_and_decoded() {
    assert_eq!(page_of(&Pairs::parse("page=3")), 3);
    for bad in ["page=0", "page=-1", "page=abc", "page=99999999999", ""] {
        assert_eq!(page_of(&Pairs::parse(bad)), 1, "{bad}");
    }
    assert_eq!(user_href("HXOS2", "A1533602"), "/t/HXOS2/admin/users/A1533602");
    assert_eq!(group_href("HXOS2", "g 1", 1), "/t/HXOS2/admin/users?group=g%201");
    assert_eq!(group_href("HXOS2", "g", 2), "/t/HXOS2/admin/users?group=g&page=2");
}

#[test]
fn groups_nest_by_depth() {
    let nodes = vec![
        group("root", None, 0, true),
        group("a", Some("root"), 1, true),
        group("a1", Some("a"), 2, false),
        group("b", Some("root"), 1, false),
    ];
    let tree = nest(&nodes);
    assert_eq!(tree.len(), 1);
    let kids: Vec<&str> = tree[0].children.iter().map(|t| t.node.group.id.as_str()).collect();
    assert_eq!(kids, ["a", "b"]);
    assert_eq!(tree[0].children[0].children[0].node.group.id, "a1");
    // A list starting deeper than 0 still shows every group.
    assert_eq!(nest(&nodes[1..]).len(), 2);
    let tree = vec![company(false, nodes)];
    assert_eq!(default_group(&tree, "b").as_deref(), Some("b"));
    assert_eq!(default_group(&tree, "elsewhere").as_deref(), Some("root"));
    assert_eq!(default_group(&[], "x"), None);
    assert!(find_group(&tree, "a1").is_some_and(|(c, g)| c.id == "c1" && g.depth == 2));
}

#[test]
fn the_tree_links_only_manageable_groups_and_escapes_names() {
    let nodes = vec![group("root", None, 0, false), group("a", Some("root"), 1, true)];
    let html = tree_pane(&pc(Lang::Ja), "HXOS2", &[company(false, nodes)], Some("a")).into_string();
    assert!(html.contains("アイテック&lt;株&gt;"), "{html}");
    assert!(html.contains("&lt;a&gt;"));
    assert!(html.contains("href=\"/t/HXOS2/admin/users?group=a\""));
    assert!(html.contains("aria-current=\"page\""));
    assert!(!html.contains("?group=root"), "the company links to its root group only when managed: {html}");
    assert!(html.contains("org-locked"));
    assert!(html.contains("A15336"));
}

#[test]
fn forms_compact_sub_emails_and_offer_administration_to_the_owner_only() {
    let p = Pairs::parse("user_id=+A1+&name=x&sub_emails=&sub_emails=b%40x.jp&sub_emails=+&roles=signer&roles=bogus");
    let f = UserForm::of_pairs(&p);
    assert_eq!(f.user_id, "A1");
    assert_eq!(f.sub_emails, ["b@x.jp"]);
    assert_eq!(f.roles, ["signer", "bogus"]);
    assert!(f.has_role(Role::Signer) && !f.has_role(Role::Approver));
    assert!(!offered_roles(false).contains(&Role::Administration));
    assert_eq!(offered_roles(true).len(), Role::ALL.len());
    let errors =
        vec![FieldError { field: "sub_emails[0]".into(), code: FieldCode::InvalidEmail, message: "x<".into() }];
    let html = sub_email_fields(&pc(Lang::Ja), &errors, &f.sub_emails).into_string();
    assert!(html.contains("value=\"b@x.jp\""));
    assert!(html.contains("id=\"sub_emails[0]-error\""));
    assert!(html.contains("x&lt;"));
    assert_eq!(html.matches("name=\"sub_emails\"").count(), 2);
}

#[test]
fn locked_roles_are_kept_by_a_hidden_field() {
    let f = UserForm { roles: vec!["administration".into()], ..UserForm::default() };
    let html =
        role_checks(&pc(Lang::Ja), &[], &f, &offered_roles(true), false, |r| r == Role::Administration).into_string();
    assert!(html.contains("disabled"));
    assert!(html.contains("<input type=\"hidden\" name=\"roles\" value=\"administration\">"), "{html}");
}

#[test]
fn done_codes_are_fixed() {
    assert_eq!(done_text("created", Lang::Ja), Some("ユーザーを登録しました。登録通知メールを送信しました。"));
    assert!(done_text("delegates_added", Lang::En).is_some());
    assert_eq!(done_text("<script>", Lang::Ja), None);
    assert_eq!(count_text(Lang::Ja, 12), "全12件");
    assert_eq!(count_text(Lang::En, 1), "1 user");
    let page = |page, total| Paged::<()> { items: Vec::new(), total, page, per_page: 20 };
    let html = pager(&pc(Lang::Ja), 2, pages(&page(2, 45)), |p| format!("?page={p}")).into_string();
    assert!(html.contains("2 / 3") && html.contains("?page=1") && html.contains("?page=3"));
    assert!(pager(&pc(Lang::Ja), 1, pages(&page(1, 20)), |p| p.to_string()).into_string().is_empty());
    assert_eq!((pages(&page(1, 0)), pages(&page(1, 21))), (1, 2));
}

/// The pages over the real services on a temporary store with the demo data.
mod flows {
    use crate::test_app::TestApp;
    use keiyaku_auth::SessionKind;
    use keiyaku_kernel::directory;
    use keiyaku_kernel::store::StoreError;
    use keiyaku_users::{Users, UsersModule};
    use poem::http::{Method, StatusCode};

    type App = TestApp<Users>;

    fn app() -> App {
        TestApp::new("users", &UsersModule, |k| Users::new(k.clone()), |w, u| crate::Web { users: u.clone(), ..w })
    }

    impl App {
        async fn user(&self, id: &str) -> Option<directory::User> {
            let id = id.to_string();
            self.kernel
                .store
                .read(move |tx| directory::get_user(tx, "HXOS2", &id))
                .await
                .unwrap_or_else(|e: StoreError| panic!("{e}"))
        }

        async fn delegates(&self, signer: &str) -> Vec<String> {
            let signer = signer.to_string();
            self.kernel
                .store
                .read(move |tx| keiyaku_users::delegates::delegate_ids(tx, "HXOS2", &signer))
                .await
                .unwrap_or_else(|e: StoreError| panic!("{e}"))
        }

        async fn root_group(&self) -> String {
            let s = self.login("A1533601").await;
            let caller = self.auth.authenticate("HXOS2", s.cookie.trim_start_matches("keiyaku_session="), None, false);
            let caller = caller.await.unwrap_or_else(|e| panic!("{e}")).caller;
            caller.group_id
        }
    }

    #[tokio::test]
    async fn the_list_is_for_group_administrators() {
        let app = app();
        let admin = app.login("A1533601").await;
        let page = app.get("/t/HXOS2/admin/users", &admin).await;
        assert_eq!(page.status, StatusCode::OK);
        let html = page.text();
        for s in [
            "ツリー表示",
            "アイテックコンサルタント株式会社",
            "全2件",
            "A1533601",
            "伊藤 誠",
            "新規ユーザー",
            "最終ログイン",
        ] {
            assert!(html.contains(s), "missing {s}: {html}");
        }
        assert!(!html.contains("オリエンタル白石株式会社</a>"), "another company's tree is not shown");
        // Junk parameters never fail.
        for q in ["?page=abc", "?page=999", "?group=", "?group=%FF%FE", "?group=nope&page=-3"] {
            let a = app.get(&format!("/t/HXOS2/admin/users{q}"), &admin).await;
            assert!(a.status == StatusCode::OK || a.status == StatusCode::NOT_FOUND, "{q}: {}", a.status);
        }
        assert_eq!(app.get("/t/HXOS2/admin/users?group=nope", &admin).await.status, StatusCode::NOT_FOUND);
        // The tenant administrator sees every company.
        let owner = app.login("HX000001").await;
        let html = app.get("/t/HXOS2/admin/users", &owner).await.text();
        assert!(html.contains("オリエンタル白石株式会社") && html.contains("アイテックコンサルタント株式会社"));
        // Others: 403 page, not logged in: to the login page.
        let plain = app.login("HX000002").await;
        let refused = app.get("/t/HXOS2/admin/users", &plain).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert!(refused.text().contains("この操作を行う権限がありません。"));
        let anon = app.send(Method::GET, "/t/HXOS2/admin/users", None, None).await;
        assert_eq!(anon.status, StatusCode::SEE_OTHER);
        assert_eq!(anon.location, "/t/HXOS2/login");
    }

    #[tokio::test]
    async fn creating_a_user_checks_csrf_fields_and_conflicts() {
        let app = app();
        let admin = app.login("A1533601").await;
        let group = app.root_group().await;
        let page = app.get(&format!("/t/HXOS2/admin/users/new?group={group}"), &admin).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.text().contains("value=\"A1533603\""), "suggested ID");
        assert!(!page.text().contains("role_administration"));
        let uri = "/t/HXOS2/admin/users/new";
        let good = |csrf: &'static str| {
            vec![
                ("csrf", csrf),
                ("group", ""),
                ("user_id", "A1533603"),
                ("name", "田中 花子"),
                ("email", "tanaka@a15336.example.jp"),
                ("roles", "person_in_charge"),
                ("roles", "signer"),
            ]
        };
        let csrf: &'static str = Box::leak(admin.csrf.clone().into_boxed_str());
        let with_group = |mut f: Vec<(&'static str, &'static str)>, g: &'static str| {
            f[1].1 = g;
            f
        };
        let g: &'static str = Box::leak(group.clone().into_boxed_str());
        let refused = app.form(uri, &admin, &with_group(good("wrong"), g)).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert!(app.user("A1533603").await.is_none());
        let bad = app
            .form(
                uri,
                &admin,
                &[("csrf", csrf), ("group", g), ("user_id", "A 1"), ("name", ""), ("email", "x"), ("roles", "bogus")],
            )
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        for id in ["user_id-error", "name-error", "email-error", "roles-error"] {
            assert!(bad.text().contains(id), "missing {id}: {}", bad.text());
        }
        let owner_only = app
            .form(
                uri,
                &admin,
                &[("csrf", csrf), ("group", g), ("name", "x"), ("email", "y@x.jp"), ("roles", "administration")],
            )
            .await;
        assert_eq!(owner_only.status, StatusCode::UNPROCESSABLE_ENTITY);
        let ok = app.form(uri, &admin, &with_group(good(csrf), g)).await;
        assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.text());
        assert_eq!(ok.location, "/t/HXOS2/admin/users/A1533603?done=created");
        assert!(app.user("A1533603").await.is_some_and(|u| u.has(directory::Role::Signer)));
        let again = app.form(uri, &admin, &with_group(good(csrf), g)).await;
        assert_eq!(again.status, StatusCode::CONFLICT);
        assert!(again.text().contains("このユーザーIDは既に登録されています。"));
        let unknown = app.form(uri, &admin, &with_group(good(csrf), "nope")).await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND);
        let broken = app.send(Method::POST, uri, Some(&admin), Some(("application/json", "{}".into()))).await;
        assert_eq!(broken.status, StatusCode::BAD_REQUEST);
        // The new signer's page: seal and an empty delegate table.
        let page = app.get("/t/HXOS2/admin/users/A1533603?done=created", &admin).await;
        let html = page.text();
        assert!(html.contains("ユーザーを登録しました。登録通知メールを送信しました。"));
        assert!(html.contains("/t/HXOS2/admin/users/A1533603/seal.svg"));
        assert!(html.contains("署名操作代行ユーザーは登録されていません。"));
    }

    #[tokio::test]
    async fn the_signer_page_serves_the_seal() {
        let app = app();
        let admin = app.login("A1533601").await;
        let html = app.get("/t/HXOS2/admin/users/A1533602", &admin).await.text();
        for s in [
            "署名者の属性",
            "電子証明書",
            "印影",
            "img class=\"seal\"",
            "署名/電子捺印操作代行ユーザー",
            "A1533601",
            "id=\"edit-user\"",
        ] {
            assert!(html.contains(s), "missing {s}: {html}");
        }
        let seal = app.get("/t/HXOS2/admin/users/A1533602/seal.svg", &admin).await;
        assert_eq!(seal.status, StatusCode::OK);
        assert_eq!(seal.content_type, "image/svg+xml");
        let stored = app
            .service
            .seal(
                &app.auth
                    .authenticate("HXOS2", admin.cookie.trim_start_matches("keiyaku_session="), None, false)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"))
                    .caller,
                "A1533602".into(),
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(seal.text(), stored.svg);
        assert_eq!(app.get("/t/HXOS2/admin/users/A1533601/seal.svg", &admin).await.status, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn the_delegate_dialog_searches_and_refusals_change_nothing() {
        let app = app();
        let admin = app.login("A1533601").await;
        // The dialog: searched by name, the signer and current delegates cannot be picked.
        let dialog =
            app.get("/t/HXOS2/admin/users/A1533602?add=1&search=1&q_user_id=&q_name=%E9%88%B4%E6%9C%A8", &admin).await;
        let html = dialog.text();
        assert!(
            html.contains("[署名操作代行ユーザー追加]") && html.contains("全1件") && html.contains("登録済み"),
            "{html}"
        );
        let long = "x".repeat(200);
        let too_long = app.get(&format!("/t/HXOS2/admin/users/A1533602?add=1&search=1&q_name={long}"), &admin).await;
        assert_eq!(too_long.status, StatusCode::OK);
        assert!(too_long.text().contains("100文字以内"), "{}", too_long.text());

        let uri = "/t/HXOS2/admin/users/A1533602/delegates";
        let csrf = admin.csrf.clone();
        assert_eq!(
            app.form(uri, &admin, &[("csrf", "x"), ("user_ids", "HX000002")]).await.status,
            StatusCode::FORBIDDEN
        );
        let none = app.form(uri, &admin, &[("csrf", &csrf)]).await;
        assert_eq!(none.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(none.text().contains("追加するユーザーを選択してください。"));
        let own = app.form(uri, &admin, &[("csrf", &csrf), ("user_ids", "A1533602")]).await;
        assert_eq!(own.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(own.text().contains("A1533602: 署名者本人は代行ユーザーにできません。"), "{}", own.text());
        let foreign = app.form(uri, &admin, &[("csrf", &csrf), ("user_ids", "HX000002")]).await;
        assert_eq!(foreign.status, StatusCode::UNPROCESSABLE_ENTITY);
        let dup = app.form(uri, &admin, &[("csrf", &csrf), ("user_ids", "A1533601")]).await;
        assert_eq!(dup.status, StatusCode::CONFLICT);
        assert_eq!(app.delegates("A1533602").await, ["A1533601"], "refusals change nothing");
    }

    #[tokio::test]
    async fn delegates_are_removed_and_added_back() {
        let app = app();
        let admin = app.login("A1533601").await;
        let uri = "/t/HXOS2/admin/users/A1533602/delegates";
        let csrf = admin.csrf.clone();
        // Remove and add back.
        let del = "/t/HXOS2/admin/users/A1533602/delegates/A1533601/delete";
        assert_eq!(app.form(del, &admin, &[("csrf", "x")]).await.status, StatusCode::FORBIDDEN);
        let removed = app.form(del, &admin, &[("csrf", &csrf)]).await;
        assert_eq!(removed.status, StatusCode::SEE_OTHER);
        assert_eq!(removed.location, "/t/HXOS2/admin/users/A1533602?done=delegate_removed#delegates");
        assert!(app.delegates("A1533602").await.is_empty());
        assert_eq!(app.form(del, &admin, &[("csrf", &csrf)]).await.status, StatusCode::NOT_FOUND);
        let added = app.form(uri, &admin, &[("csrf", &csrf), ("user_ids", "A1533601")]).await;
        assert_eq!(added.status, StatusCode::SEE_OTHER);
        assert_eq!(app.delegates("A1533602").await, ["A1533601"]);

        // The signer manages their own delegates but edits nothing else.
        let signer = app.login("A1533602").await;
        let html = app.get("/t/HXOS2/admin/users/A1533602", &signer).await.text();
        assert!(html.contains("id=\"add-delegates\"") && !html.contains("id=\"edit-user\""), "{html}");
        assert!(!html.contains("id=\"reset-password\""));
        // Another company's user: not found; the partner's signer for an owner user too.
        let plain = app.login("HX000002").await;
        assert_eq!(app.get("/t/HXOS2/admin/users/A1533602", &plain).await.status, StatusCode::NOT_FOUND);
        assert_eq!(app.get("/t/HXOS2/admin/users/A1533602/seal.svg", &plain).await.status, StatusCode::NOT_FOUND);
        let refused = app.form(uri, &plain, &[("csrf", &plain.csrf), ("user_ids", "HX000001")]).await;
        assert_eq!(refused.status, StatusCode::NOT_FOUND);
        let junk = app.get("/t/HXOS2/admin/users/%FF%FE", &admin).await.status;
        assert!(junk.is_client_error(), "{junk}");
    }

    #[tokio::test]
    async fn updating_a_user_and_resetting_the_password() {
        let app = app();
        let admin = app.login("A1533601").await;
        let uri = "/t/HXOS2/admin/users/A1533602";
        let csrf = admin.csrf.clone();
        let edit = app.get(&format!("{uri}?edit=1"), &admin).await.text();
        assert!(edit.contains("id=\"update-user\"") && edit.contains("name=\"access\""));
        let fields = |email: &'static str, status: &'static str| {
            vec![
                ("name", "伊藤 誠"),
                ("email", email),
                ("sub_emails", ""),
                ("sub_emails", "ito2@a15336.example.jp"),
                ("title", ""),
                ("access", "1"),
                ("roles", "signer"),
                ("roles", "approver"),
                ("status", status),
            ]
        };
        let mut bad = fields("broken", "active");
        bad.push(("csrf", &csrf));
        let answer = app.form(uri, &admin, &bad).await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(answer.text().contains("email-error") && answer.text().contains("value=\"broken\""));
        let mut odd = fields("ito@a15336.example.jp", "gone");
        odd.push(("csrf", &csrf));
        assert_eq!(app.form(uri, &admin, &odd).await.status, StatusCode::UNPROCESSABLE_ENTITY);
        let mut good = fields("ito@a15336.example.jp", "suspended");
        good.push(("csrf", &csrf));
        let answer = app.form(uri, &admin, &good).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.text());
        let user = app.user("A1533602").await.unwrap_or_else(|| panic!("user"));
        assert_eq!(user.status, directory::UserStatus::Suspended);
        assert_eq!(user.sub_emails, ["ito2@a15336.example.jp"]);
        assert_eq!(user.title, None);
        assert!(user.has(directory::Role::Approver));
        // Without `access` roles and status stay; the own roles cannot be changed.
        let own = app
            .form(
                "/t/HXOS2/admin/users/A1533601",
                &admin,
                &[
                    ("csrf", &csrf),
                    ("name", "鈴木 一郎"),
                    ("email", "suzuki@a15336.example.jp"),
                    ("access", "1"),
                    ("status", "active"),
                ],
            )
            .await;
        assert_eq!(own.status, StatusCode::FORBIDDEN);
        let page = app.get("/t/HXOS2/admin/users/A1533601", &admin).await.text();
        assert!(
            page.contains("id=\"update-user\"")
                && !page.contains("name=\"access\"")
                && !page.contains("id=\"reset-password\"")
        );
        // Password reset.
        let reset = "/t/HXOS2/admin/users/A1533602/password-reset";
        assert_eq!(app.form(reset, &admin, &[("csrf", "x")]).await.status, StatusCode::FORBIDDEN);
        let done = app.form(reset, &admin, &[("csrf", &csrf)]).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER);
        assert_eq!(done.location, "/t/HXOS2/admin/users/A1533602?done=password_reset");
        let old = app.auth.login("HXOS2", "A1533602", "keiyaku-demo", None, SessionKind::Web).await;
        assert!(old.is_err(), "the old password no longer works");
        // An owner's plain user cannot reset a partner's password.
        let plain = app.login("HX000002").await;
        assert_eq!(app.form(reset, &plain, &[("csrf", &plain.csrf)]).await.status, StatusCode::NOT_FOUND);
    }
}
