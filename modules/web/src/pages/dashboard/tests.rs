use super::views::*;
use keiyaku_kernel::Lang;
use keiyaku_kernel::module::MenuItem;

fn item(path: &'static str, label: &'static str, admin: bool, order: u16) -> MenuItem {
    MenuItem { path, label_ja: label, label_en: label, description_ja: "", description_en: "", admin, order }
}

#[test]
fn seed_menu_fills_the_gaps_in_order() {
    let modules = vec![item("admin/users", "ユーザー管理", true, 40), item("contracts", "契約検索X", false, 10)];
    let normal = menu_entries(&modules, false, true);
    let labels: Vec<&str> = normal.iter().map(|e| e.item.label_ja).collect();
    assert_eq!(labels, ["契約検索X", "文書検索", "契約登録", "利用状況照会"]);
    assert!(!normal[0].coming_soon);
    assert!(normal[1].coming_soon);
    let admin = menu_entries(&modules, true, true);
    assert_eq!(admin.len(), 1);
    assert!(!admin[0].coming_soon);
    assert!(menu_entries(&[], true, false).is_empty());
    let admin_seed = menu_entries(&[], true, true);
    assert_eq!(admin_seed[0].item.label_ja, "ユーザー管理");
    assert!(admin_seed[0].coming_soon);
}

#[test]
fn company_names_shorten_like_the_seed() {
    assert_eq!(short_company_name("オリエンタル白石株式会社"), "オリ白");
    assert_eq!(short_company_name("オリエンタル白石"), "オリ白");
    assert_eq!(short_company_name("株式会社 東建"), "東建");
    assert_eq!(short_company_name("アイテックコンサルタント株式会社"), "アイテッ");
    assert_eq!(short_company_name("株式会社"), "株式会社");
}

#[test]
fn waiting_rows_are_the_seeds_four() {
    let rows = waiting_rows(Lang::Ja, "オリ白", [0, 0, 0, 0]);
    let labels: Vec<&str> = rows.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(labels, ["オリ白:承認者", "取引先:担当", "オリ白:管理部", "オリ白:署名者"]);
    assert_eq!(count_text(Lang::Ja, 0), "0件");
    assert_eq!(count_text(Lang::En, 1), "1 document");
}
