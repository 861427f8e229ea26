use super::forms::*;
use super::views::*;
use crate::layout::PageCtx;
use keiyaku_kernel::Lang;
use keiyaku_kernel::directory::Tenant;

fn tenant() -> Tenant {
    Tenant {
        code: "HXOS2".into(),
        name: "オリエンタル白石".into(),
        owner_company_id: "c".into(),
        trial: true,
        created_at: String::new(),
    }
}

#[test]
fn the_order_form_shows_recalculated_totals_escaped() {
    let pc = PageCtx::new(Lang::Ja, None, "/t/HXOS2/tickets/order/x/form", "", None);
    let d = OrderFormData {
        delivery: "service".into(),
        company: "<b>会社</b>".into(),
        q1: "1".into(),
        q2: "x".into(),
        q3: "２".into(),
        ..Default::default()
    };
    let html = order_form_view(&pc, &tenant(), Step { token: "tok", csrf: "csrf" }, [3000, 4500, 6000], &d, None, &[])
        .into_string();
    assert!(html.contains("&lt;b&gt;会社&lt;/b&gt;"));
    assert!(html.contains("id=\"total\">¥15,000"), "{html}");
    assert!(html.contains("電子契約サービスに直接送付"));
    assert!(!html.contains("<script"));
    assert_eq!(order_field("billing.postal_code"), "postal_code");
    assert_eq!(order_field("quantities.2"), "q2");
}
