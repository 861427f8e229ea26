use super::views::*;
use crate::layout::PageCtx;
use keiyaku_contracts::verify::{Report, Verdict};
use keiyaku_kernel::Lang;

#[test]
fn an_unsigned_report_says_so_and_verdicts_are_labelled() {
    let pc = PageCtx::new(Lang::Ja, None, "/verify", "", None);
    let r = Report { signatures: vec![], verdict: Verdict::Unsigned, reasons: vec![] };
    let html = view(&pc, "tok", None, Some(("a<b>.pdf", &r))).into_string();
    assert!(html.contains("このPDFには署名がありません。"), "{html}");
    assert!(html.contains("a&lt;b&gt;.pdf") && html.contains(r#"data-verdict="unsigned""#), "{html}");
    assert!(html.contains(r#"name="csrf" value="tok""#), "{html}");
    let pc = PageCtx::new(Lang::En, None, "/verify", "", None);
    assert!(verdict_badge(&pc, Verdict::Invalid).into_string().contains("invalid"));
}
