use super::views::*;
use crate::layout::PageCtx;
use keiyaku_kernel::Lang;
use keiyaku_kernel::directory::Tenant;
use keiyaku_support::sniff::Kind;
use keiyaku_support::{Category, Document, SupportPage};

fn doc(id: &str, category: Category, name: &str, kind: Kind) -> Document {
    Document {
        id: id.into(),
        tenant: "HXOS2".into(),
        category,
        file_name: name.into(),
        kind,
        size: 2048,
        sha256: String::new(),
        chunks: 1,
        uploaded_by: "HX000001".into(),
        uploaded_at: jiff::Timestamp::UNIX_EPOCH,
    }
}

#[test]
fn public_support_page_has_every_section_escaped_and_no_admin_form() {
    let page = SupportPage {
        tenant: Tenant {
            code: "HXOS2".into(),
            name: "オリエンタル白石".into(),
            owner_company_id: "c".into(),
            trial: true,
            created_at: String::new(),
        },
        sections: vec![
            (Category::Info, vec![doc("i1", Category::Info, "案内<b>.txt", Kind::Text)]),
            (Category::Manual, vec![doc("m1", Category::Manual, "ユーザーズマニュアル.pdf", Kind::Pdf)]),
            (Category::EbookLaw, Vec::new()),
            (Category::Faq, Vec::new()),
        ],
        inline: vec![("i1".into(), "窓口: https://example.jp/help <script>".into())],
    };
    let pc = PageCtx::new(Lang::Ja, None, "/t/HXOS2/support", "", None);
    let v = SupportView { page: &page, signed: None, msg: None, errors: &[], category: "" };
    let html = support_view(&pc, &v, 20 * 1024 * 1024).into_string();
    for s in [
        "サポートページ",
        "サポート情報",
        "JCAN証明書関連",
        "利用説明資料",
        "電子帳簿保存法関連資料は現在登録されておりません。",
        "よくあるご質問は現在登録されておりません。",
        "href=\"/api/v1/t/HXOS2/support/documents/m1\"",
        "ユーザーズマニュアル.pdf",
        "案内&lt;b&gt;.txt",
        "<a href=\"https://example.jp/help\" rel=\"noopener noreferrer\">",
        "&lt;script&gt;",
        "電子契約トライアル環境",
    ] {
        assert!(html.contains(s), "missing {s}: {html}");
    }
    assert!(!html.contains("<script"));
    assert!(!html.contains("資料のアップロード"));
    assert!(!html.contains("ダッシュボードへ戻る"));
    let certs_links =
        html.contains("href=\"/t/HXOS2/tickets/order\"") && html.contains("href=\"/t/HXOS2/certificates/apply\"");
    assert_eq!(certs_links, cfg!(feature = "certs"));
}

#[test]
fn sizes_and_done_codes() {
    assert_eq!(size_text(512), "512 B");
    assert_eq!(size_text(2048), "2.0 KB");
    assert_eq!(size_text(3 * 1024 * 1024), "3.0 MB");
    assert_eq!(done_text("uploaded", Lang::Ja), Some("資料をアップロードしました。"));
    assert_eq!(done_text("<script>", Lang::Ja), None);
    assert_eq!(notices_href("HXOS2", 1, false), "/t/HXOS2/notices");
    assert_eq!(notices_href("HXOS2", 3, true), "/t/HXOS2/notices?page=3&all=1");
}

/// The pages over the real services on a temporary store with the demo data.
mod flows {
    use crate::test_app::{Answer, Session, TestApp};
    use keiyaku_support::{Support, SupportModule};
    use poem::http::{Method, StatusCode};

    type App = TestApp<Support>;

    fn app() -> App {
        TestApp::new(
            "support",
            &SupportModule,
            |k| Support::new(k.clone()),
            |w, s| crate::Web { support: s.clone(), ..w },
        )
    }

    impl App {
        async fn upload(&self, s: &Session, csrf: &str, category: &str, name: &str, bytes: &[u8]) -> Answer {
            let mut body = Vec::new();
            for (k, v) in [("csrf", csrf), ("category", category)] {
                body.extend_from_slice(
                    format!("--XyZ\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes(),
                );
            }
            body.extend_from_slice(
                format!("--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n--XyZ--\r\n");
            self.send(
                Method::POST,
                "/t/HXOS2/support/documents",
                Some(s),
                Some(("multipart/form-data; boundary=XyZ", body)),
            )
            .await
        }

        async fn documents(&self) -> usize {
            let paging = keiyaku_support::Paging::default();
            self.service.list_documents("HXOS2", None, paging).await.map(|p| p.total).unwrap_or(0)
        }
    }

    #[tokio::test]
    async fn support_page_is_public_and_administrators_upload() {
        let app = app();
        let public = app.get("/t/HXOS2/support", None).await;
        assert_eq!(public.status, StatusCode::OK);
        assert!(public.text().contains("FAQ.txt") && !public.text().contains("資料のアップロード"));
        assert_eq!(app.get("/t/NOPE/support", None).await.status, StatusCode::NOT_FOUND);
        assert_eq!(app.get("/t/bad!/support", None).await.status, StatusCode::NOT_FOUND);

        let admin = app.login("HX000001").await;
        let page = app.get("/t/HXOS2/support", Some(&admin)).await;
        assert!(page.text().contains("資料のアップロード") && page.text().contains("ダッシュボードへ戻る"));
        let before = app.documents().await;
        let refused = app.upload(&admin, "wrong", "faq", "a.txt", "本文".as_bytes()).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        let refused = app.upload(&admin, &admin.csrf, "faq", "a.png", b"\x89PNG\r\n\x1a\n").await;
        assert_eq!(refused.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert!(refused.text().contains("このファイルの形式には対応していません。"), "{}", refused.text());
        let user = app.login("HX000002").await;
        let refused = app.upload(&user, &user.csrf, "faq", "a.txt", "本文".as_bytes()).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        let garbage = app
            .send(Method::POST, "/t/HXOS2/support/documents", Some(&admin), Some(("text/plain", b"x".to_vec())))
            .await;
        assert_eq!(garbage.status, StatusCode::BAD_REQUEST);
        assert_eq!(app.documents().await, before, "refused uploads store nothing");

        let ok = app.upload(&admin, &admin.csrf, "faq", "質問集.txt", "Q. 質問\nA. 回答".as_bytes()).await;
        assert_eq!(ok.status, StatusCode::SEE_OTHER);
        assert_eq!(ok.location, "/t/HXOS2/support?done=uploaded#support-faq");
        assert_eq!(app.documents().await, before + 1);
        let page = app.get("/t/HXOS2/support?done=uploaded", None).await;
        assert!(page.text().contains("質問集.txt") && page.text().contains("A. 回答"));
        assert!(page.text().contains("資料をアップロードしました。"));

        // Delete: CSRF checked, administrators only.
        let id = app
            .service
            .list_documents("HXOS2", Some("faq"), keiyaku_support::Paging::default())
            .await
            .ok()
            .and_then(|p| p.items.into_iter().find(|d| d.file_name == "質問集.txt"))
            .map(|d| d.id)
            .unwrap_or_default();
        let uri = format!("/t/HXOS2/support/documents/{id}/delete");
        assert_eq!(app.form(&uri, &admin, &[("csrf", "nope")]).await.status, StatusCode::FORBIDDEN);
        assert_eq!(app.form(&uri, &user, &[("csrf", &user.csrf)]).await.status, StatusCode::FORBIDDEN);
        let done = app.form(&uri, &admin, &[("csrf", &admin.csrf)]).await;
        assert_eq!(
            (done.status, done.location.as_str()),
            (StatusCode::SEE_OTHER, "/t/HXOS2/support?done=document_deleted")
        );
        assert_eq!(app.documents().await, before);
    }

    #[tokio::test]
    async fn notices_page_and_usage_page() {
        let app = app();
        assert_eq!(app.get("/t/HXOS2/notices", None).await.location, "/t/HXOS2/login");
        let partner = app.login("A1533601").await;
        let page = app.get("/t/HXOS2/notices", Some(&partner)).await;
        assert_eq!(page.status, StatusCode::OK);
        let text = page.text();
        assert!(
            text.contains("JCAN証明書の購入と発行申請について") && !text.contains("注文書・請書の回覧ルート"),
            "{text}"
        );
        assert!(!text.contains("お知らせの登録"));
        let refused =
            app.form("/t/HXOS2/notices", &partner, &[("csrf", &partner.csrf), ("title", "t"), ("body", "b")]).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);

        let admin = app.login("HX000001").await;
        let invalid = app
            .form(
                "/t/HXOS2/notices",
                &admin,
                &[("csrf", &admin.csrf), ("title", ""), ("body", "本文<b>"), ("audience", "all")],
            )
            .await;
        assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            invalid.text().contains("必須項目です。") && invalid.text().contains("本文&lt;b&gt;"),
            "the form keeps its values"
        );
        let fields = [
            ("csrf", admin.csrf.as_str()),
            ("title", "保守作業のお知らせ"),
            ("body", "詳細 https://example.jp/m"),
            ("audience", "partners"),
            ("publish_at", ""),
            ("expire_at", "2999-01-01T00:00"),
        ];
        let created = app.form("/t/HXOS2/notices", &admin, &fields).await;
        assert_eq!(
            (created.status, created.location.as_str()),
            (StatusCode::SEE_OTHER, "/t/HXOS2/notices?done=notice_created")
        );
        let page = app.get("/t/HXOS2/notices?done=notice_created", Some(&partner)).await;
        assert!(page.text().contains("保守作業のお知らせ"));
        assert!(page.text().contains("<a href=\"https://example.jp/m\""));
        let dash = app.get("/t/HXOS2/", Some(&partner)).await;
        assert!(dash.text().contains("保守作業のお知らせ") && dash.text().contains("FAQ.pdf"), "{}", dash.text());
        assert!(app.get("/t/HXOS2/notices?page=999&all=1", Some(&partner)).await.status.is_success());

        let usage = app.get("/t/HXOS2/usage", Some(&admin)).await;
        assert_eq!(usage.status, StatusCode::OK);
        assert!(usage.text().contains("アイテックコンサルタント株式会社") && usage.text().contains("合計"));
        let bad = app.get("/t/HXOS2/usage?month=2026-13", Some(&admin)).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.text().contains("YYYY-MM"));
        let csv = app.get("/t/HXOS2/usage.csv?month=2026-11", Some(&admin)).await;
        assert_eq!((csv.status, csv.content_type.as_str()), (StatusCode::OK, "text/csv; charset=utf-8"));
        assert!(csv.body.starts_with(b"\xEF\xBB\xBF\xE5\xB9\xB4\xE6\x9C\x88,"));
        assert_eq!(app.get("/t/HXOS2/usage.csv?month=x", Some(&admin)).await.status, StatusCode::UNPROCESSABLE_ENTITY);
        let partner_usage = app.get("/t/HXOS2/usage", Some(&partner)).await;
        assert!(!partner_usage.text().contains("本社 管理部"), "a partner sees its own company only");
    }
}
