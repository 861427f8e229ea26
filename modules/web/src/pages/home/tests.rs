use super::views::*;
use crate::layout::PageCtx;
use keiyaku_kernel::Lang;
use keiyaku_kernel::directory::Tenant;

#[test]
fn lists_tenants_escaped_with_login_links() {
    let pc = PageCtx::new(Lang::Ja, None, "/", "", None);
    let tenants = vec![Tenant {
        code: "HXOS2".into(),
        name: "オリエンタル白石<script>".into(),
        owner_company_id: "c".into(),
        trial: true,
        created_at: String::new(),
    }];
    let html = home_view(&pc, &tenants).into_string();
    assert!(html.contains("<title>電子契約サービス</title>"));
    assert!(html.contains("HXOS2"));
    assert!(html.contains("オリエンタル白石&lt;script&gt;"));
    assert!(html.contains("href=\"/api/docs\""));
    if cfg!(feature = "auth") {
        assert!(html.contains("href=\"/t/HXOS2/login\""));
        assert!(html.contains("href=\"/mailbox\""));
    }
    let empty = home_view(&pc, &[]).into_string();
    assert!(!empty.contains("企業コード一覧"), "no tenant is listed when none may be shown");
    assert!(!empty.contains("HXOS2"));
    if cfg!(feature = "auth") {
        assert!(empty.contains("action=\"/login\""), "the code field leads to the login page");
    }
}
