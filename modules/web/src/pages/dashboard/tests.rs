use super::views::*;
use keiyaku_kernel::Lang;
use keiyaku_kernel::module::MenuItem;

fn item(path: &'static str, label: &'static str, admin: bool, order: u16) -> MenuItem {
    MenuItem { path, label_ja: label, label_en: label, description_ja: "", description_en: "", admin, order }
}

#[test]
fn menus_are_the_modules_own_in_order() {
    let modules = vec![
        item("admin/users", "ユーザー管理", true, 40),
        item("documents", "文書検索", false, 20),
        item("contracts", "契約検索", false, 10),
    ];
    let labels = |v: Vec<MenuItem>| v.iter().map(|m| m.label_ja).collect::<Vec<_>>();
    assert_eq!(labels(menu_entries(&modules, false, true)), ["契約検索", "文書検索"]);
    assert_eq!(labels(menu_entries(&modules, false, false)), ["契約検索", "文書検索"]);
    assert_eq!(labels(menu_entries(&modules, true, true)), ["ユーザー管理"]);
    assert!(menu_entries(&modules, true, false).is_empty(), "the administration tab is for group administrators");
    assert!(menu_entries(&[], false, true).is_empty());
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
