use super::forms::{Action, Criteria, RegisterForm};
use crate::layout::{self, Msg, PageCtx, Tab, app_page, field_errors, has_error, pager};
use crate::query::enc;
use crate::session::{CSRF_FIELD, Signed, tenant_path};
use keiyaku_contracts::model::{DocType, Status, Summary, Tax, Version};
use keiyaku_contracts::route::DEFAULT as DEFAULT_ROUTE;
use keiyaku_contracts::search::DocumentRow;
use keiyaku_contracts::{ContractView, ContractsError, RouteCandidates, StepUp, line_of};
use keiyaku_kernel::Lang;
use keiyaku_kernel::clock;
use keiyaku_kernel::directory::Company;
use keiyaku_kernel::error::{ApiError, FieldError};
use keiyaku_kernel::paging::Page;
use keiyaku_kernel::waiting::{WaitingLine, short_company_name};
use maud::{Markup, html};

/// Rows per page of the search results.
pub const PER_PAGE: usize = 20;

/// Free fields (自由項目) the registration form offers.
pub const FREE_FIELDS: usize = 3;

// ---------------------------------------------------------------------------------------
// Small helpers

/// `/t/{tenant}/contracts/{id}`.
pub fn contract_href(tenant: &str, id: &str) -> String {
    tenant_path(tenant, &format!("contracts/{}", enc(id)))
}

/// A document version's download URL (the latest without `version`).
pub fn document_href(tenant: &str, id: &str, doc: &str, version: Option<u32>) -> String {
    let base = format!("{}/documents/{}", contract_href(tenant, id), enc(doc));
    match version {
        Some(n) => format!("{base}?version={n}"),
        None => base,
    }
}

pub use keiyaku_kernel::numbers::yen;

fn date_text(d: jiff::civil::Date) -> String {
    d.strftime("%Y/%m/%d").to_string()
}

/// The first 12 hex digits of a SHA-256 (the full one in the title).
fn short_hash(h: &str) -> &str {
    h.get(..12).unwrap_or(h)
}

/// Messages a redirect may ask for with `?done=` (only these codes exist).
pub fn done_text(code: &str, lang: Lang) -> Option<&'static str> {
    Some(match code {
        "registered" => lang.pick("契約を登録しました。", "The contract has been registered."),
        "approved" => lang.pick("承認しました。", "Approved."),
        "sent_back" => lang.pick("差し戻しました。", "The contract has been sent back."),
        "signed" => lang.pick("署名しました。", "Signed."),
        "resubmitted" => lang.pick("再提出しました。", "The contract has been resubmitted."),
        "cancelled" => lang.pick("取り消しました。", "The contract has been cancelled."),
        "sign_code_sent" => lang.pick(
            "認証コードをメールで送信しました。10分以内に入力して署名してください。",
            "A signing code has been sent by e-mail; enter it within 10 minutes to sign.",
        ),
        _ => return None,
    })
}

/// The short name of the service owner (「オリ白」) for the step labels.
fn owner_short(s: &Signed) -> String {
    short_company_name(&s.owner_company_name)
}

/// The label of a waiting-line key (`owner_signer` → 「オリ白:署名者」).
fn step_label(lang: Lang, short: &str, key: Option<&str>) -> String {
    key.and_then(line_of).map(|l| l.label(lang, short)).unwrap_or_else(|| "—".to_string())
}

fn status_badge(lang: Lang, s: Status) -> Markup {
    let class = match s {
        Status::Circulating => "ct-status ct-circulating",
        Status::SentBack => "ct-status ct-sent-back",
        Status::Completed => "ct-status ct-completed",
        Status::Cancelled | Status::Deleted => "ct-status ct-cancelled",
    };
    html! { span class=(class) { (s.label(lang)) } }
}

pub(super) fn not_found_msg(pc: &PageCtx) -> Msg {
    Msg::error(
        pc.t("契約が見つかりません。", "The contract does not exist."),
        Some(pc.t("削除されたか、閲覧する権限がありません。", "It does not exist or you may not see it.").to_string()),
    )
}

fn company_name<'a>(list: &'a [Company], id: &str) -> &'a str {
    list.iter().find(|c| c.id == id).map(|c| c.name.as_str()).unwrap_or_default()
}

fn count_text(lang: Lang, total: usize) -> String {
    layout::count_text(lang, total, ("result", "results"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SearchKind {
    Contracts,
    Documents,
}

impl SearchKind {
    pub(super) fn path(self) -> &'static str {
        match self {
            SearchKind::Contracts => "contracts",
            SearchKind::Documents => "documents",
        }
    }

    pub(super) fn title(self, pc: &PageCtx) -> &'static str {
        match self {
            SearchKind::Contracts => pc.t("契約検索", "Contract search"),
            SearchKind::Documents => pc.t("文書検索", "Document search"),
        }
    }
}

pub(super) enum Results {
    Contracts(Page<Summary>),
    Documents(Page<DocumentRow>),
}

pub(super) struct SearchView<'a> {
    pub(super) kind: SearchKind,
    pub(super) criteria: &'a Criteria,
    /// The partner companies the caller may pick (a partner: its own company only); they
    /// also name the counterparties of the results.
    pub(super) partners: &'a [Company],
    pub(super) results: Option<Results>,
    pub(super) msg: Option<Msg>,
    pub(super) errors: &'a [FieldError],
}

fn crit_input(v: &SearchView<'_>, name: &str, id: &str, kind: &str, attrs: (&str, &str)) -> Markup {
    let invalid = has_error(v.errors, name);
    html! {
        input id=(id) type=(kind) name=(name) value=(v.criteria.get(name)) placeholder=(attrs.0) inputmode=[(!attrs.1.is_empty()).then_some(attrs.1)]
            class=[invalid.then_some("invalid")] aria-invalid=[invalid.then_some("true")] autocomplete="off";
    }
}

fn criteria_form(pc: &PageCtx, s: &Signed, v: &SearchView<'_>) -> Markup {
    let t = &s.tenant_code;
    let c = v.criteria;
    let short = owner_short(s);
    let title_label = match v.kind {
        SearchKind::Contracts => pc.t("件名", "Title"),
        SearchKind::Documents => pc.t("件名・文書名", "Title or document name"),
    };
    html! {
        form.ct-criteria method="get" action=(tenant_path(t, v.kind.path())) role="search" {
            div.ct-crit-grid {
                (range_criteria(pc, v))
                div.ct-crit {
                    label for="number" { (pc.t("契約番号", "Contract number")) }
                    (crit_input(v, "number", "number", "search", ("", "")))
                    (field_errors(v.errors, "number"))
                }
                div.ct-crit {
                    label for="title" { (title_label) }
                    (crit_input(v, "title", "title", "search", ("", "")))
                    (field_errors(v.errors, "title"))
                }
                (choice_criteria(pc, v, &short))
                div.ct-crit {
                    label for="registrant" { (pc.t("登録者(ユーザーID)", "Registrant (user ID)")) }
                    (crit_input(v, "registrant", "registrant", "search", ("", "")))
                    (field_errors(v.errors, "registrant"))
                }
            }
            @if !c.get("sort").is_empty() { input type="hidden" name="sort" value=(c.get("sort")); }
            @if !c.get("order").is_empty() { input type="hidden" name="order" value=(c.get("order")); }
            div.ct-crit-actions {
                button.button type="submit" { (pc.t("検索", "Search")) }
                a.small-link href=(tenant_path(t, v.kind.path())) { (pc.t("条件をクリア", "Clear")) }
            }
        }
    }
}

/// The date and amount ranges and the counterparty of the search criteria.
fn range_criteria(pc: &PageCtx, v: &SearchView<'_>) -> Markup {
    let c = v.criteria;
    html! {
        div.ct-crit {
            label for="date_from" { (pc.t("取引年月日", "Transaction date")) }
            div.ct-range {
                (crit_input(v, "date_from", "date_from", "date", ("", "")))
                span aria-hidden="true" { "〜" }
                label.visually-hidden for="date_to" { (pc.t("取引年月日(終了)", "Transaction date (to)")) }
                (crit_input(v, "date_to", "date_to", "date", ("", "")))
            }
            (field_errors(v.errors, "date_from"))
            (field_errors(v.errors, "date_to"))
        }
        div.ct-crit {
            label for="amount_min" { (pc.t("取引金額(円)", "Amount (yen)")) }
            div.ct-range {
                (crit_input(v, "amount_min", "amount_min", "text", (pc.t("下限", "min"), "numeric")))
                span aria-hidden="true" { "〜" }
                label.visually-hidden for="amount_max" { (pc.t("取引金額(上限)", "Amount (max)")) }
                (crit_input(v, "amount_max", "amount_max", "text", (pc.t("上限", "max"), "numeric")))
            }
            (field_errors(v.errors, "amount_min"))
            (field_errors(v.errors, "amount_max"))
        }
        div.ct-crit {
            label for="counterparty" { (pc.t("取引先", "Counterparty")) }
            select #counterparty name="counterparty" {
                option value="" { (pc.t("すべて", "All")) }
                @for p in v.partners {
                    option value=(p.id) selected[c.get("counterparty") == p.id || p.vendor_code.as_deref() == Some(c.get("counterparty"))] {
                        (p.name) @if let Some(code) = &p.vendor_code { " (" (code) ")" }
                    }
                }
            }
        }
    }
}

/// The document type, status and current step choices of the search criteria.
fn choice_criteria(pc: &PageCtx, v: &SearchView<'_>, short: &str) -> Markup {
    let c = v.criteria;
    html! {
        div.ct-crit {
            label for="doc_type" { (pc.t("文書種別", "Document type")) }
            select #doc_type name="doc_type" {
                option value="" { (pc.t("すべて", "All")) }
                @for d in DocType::ALL {
                    option value=(d.as_str()) selected[c.get("doc_type") == d.as_str()] { (d.label(pc.lang)) }
                }
            }
            (field_errors(v.errors, "doc_type"))
        }
        div.ct-crit {
            label for="status" { (pc.t("状態", "Status")) }
            select #status name="status" {
                option value="" { (pc.t("すべて", "All")) }
                @for st in Status::ALL {
                    option value=(st.as_str()) selected[c.get("status") == st.as_str()] { (st.label(pc.lang)) }
                }
            }
            (field_errors(v.errors, "status"))
        }
        div.ct-crit {
            label for="step" { (pc.t("現在のステップ", "Current step")) }
            select #step name="step" {
                option value="" { (pc.t("すべて", "All")) }
                @for (party, role) in DEFAULT_ROUTE {
                    @let line = WaitingLine { side: party.side(), role };
                    option value=(line.key()) selected[c.get("step") == line.key()] { (line.label(pc.lang, short)) }
                }
            }
            (field_errors(v.errors, "step"))
        }
    }
}

/// A column head that sorts by `key` (descending first, then toggling).
fn sort_head(pc: &PageCtx, s: &Signed, v: &SearchView<'_>, key: &str, label: &str) -> Markup {
    let current = match v.criteria.get("sort") {
        "" => "transaction_date",
        k => k,
    };
    let asc = v.criteria.get("order") == "asc";
    let active = current == key;
    let next = if active && !asc { "asc" } else { "desc" };
    let href = format!(
        "{}?{}",
        tenant_path(&s.tenant_code, v.kind.path()),
        v.criteria.query(&[("sort", key), ("order", next), ("page", "")])
    );
    let arrow = if !active {
        ""
    } else if asc {
        " ▲"
    } else {
        " ▼"
    };
    let sort = if !active {
        None
    } else if asc {
        Some("ascending")
    } else {
        Some("descending")
    };
    html! {
        th scope="col" aria-sort=[sort] {
            a.ct-sort href=(href) title=(pc.t("並べ替え", "Sort")) { (label) (arrow) }
        }
    }
}

fn summary_cells(pc: &PageCtx, s: &Signed, companies: &[Company], c: &Summary) -> Markup {
    let short = owner_short(s);
    html! {
        td { (company_name(companies, &c.counterparty)) }
        td.ct-nowrap { (date_text(c.transaction_date)) }
        td.num { (yen(c.amount)) }
        td.ct-nowrap { (status_badge(pc.lang, c.status)) }
        td.ct-nowrap { (step_label(pc.lang, &short, c.step.as_deref())) }
    }
}

fn results_view(pc: &PageCtx, s: &Signed, v: &SearchView<'_>, results: &Results) -> Markup {
    let t = &s.tenant_code;
    let (total, page, pages) = match results {
        Results::Contracts(p) => (p.total, p.page, p.pages()),
        Results::Documents(p) => (p.total, p.page, p.pages()),
    };
    let csv_href = format!("{}?{}", tenant_path(t, "contracts.csv"), v.criteria.query(&[]));
    let page_href = |n: usize| {
        let n = n.to_string();
        format!("{}?{}", tenant_path(t, v.kind.path()), v.criteria.query(&[("page", if n == "1" { "" } else { &n })]))
    };
    html! {
        div.ct-results-head {
            p.result-count { (count_text(pc.lang, total)) }
            a.button.button-small.button-secondary.ct-csv href=(csv_href) download { (pc.t("CSV出力", "Export CSV")) }
        }
        @if total == 0 {
            p.empty { (pc.t("条件に一致する契約はありません。", "No contracts match.")) }
        } @else {
            div.table-scroll {
                table.list.ct-table {
                    thead {
                        tr {
                            @if v.kind == SearchKind::Documents { th scope="col" { (pc.t("文書名", "Document")) } }
                            (sort_head(pc, s, v, "number", pc.t("契約番号", "Number")))
                            th scope="col" { (pc.t("件名", "Title")) }
                            th scope="col" { (pc.t("取引先", "Counterparty")) }
                            (sort_head(pc, s, v, "transaction_date", pc.t("取引年月日", "Date")))
                            (sort_head(pc, s, v, "amount", pc.t("取引金額", "Amount")))
                            th scope="col" { (pc.t("状態", "Status")) }
                            th scope="col" { (pc.t("現在のステップ", "Current step")) }
                        }
                    }
                    tbody {
                        @match results {
                            Results::Contracts(p) => {
                                @for c in &p.items {
                                    tr {
                                        td.code.ct-nowrap { a href=(contract_href(t, &c.id)) { (c.number) } }
                                        td { (c.title) }
                                        (summary_cells(pc, s, v.partners, c))
                                    }
                                }
                            }
                            Results::Documents(p) => {
                                @for r in &p.items {
                                    tr {
                                        td { a href=(document_href(t, &r.contract.id, &r.document_id, None)) download { (r.name) } }
                                        td.code.ct-nowrap { a href=(contract_href(t, &r.contract.id)) { (r.contract.number) } }
                                        td { (r.contract.title) }
                                        (summary_cells(pc, s, v.partners, &r.contract))
                                    }
                                }
                            }
                        }
                    }
                }
            }
            (pager(pc, page, pages, page_href))
        }
    }
}

pub(super) fn search_view(pc: &PageCtx, s: &Signed, v: &SearchView<'_>) -> Markup {
    let desc = match v.kind {
        SearchKind::Contracts => {
            pc.t("登録されている契約 (フォルダ) を検索します。", "Search the registered contracts (folders).")
        }
        SearchKind::Documents => {
            pc.t("登録されている文書 (契約書) を検索します。", "Search the registered documents (contracts).")
        }
    };
    let body = html! {
        p.lead { (desc) }
        (layout::messages(v.msg.as_ref()))
        section.box.ct-search {
            div.box-body { (criteria_form(pc, s, v)) }
        }
        @if let Some(r) = &v.results {
            section.ct-results aria-label=(pc.t("検索結果", "Results")) { (results_view(pc, s, v, r)) }
        }
    };
    app_page(pc, s, Tab::Normal, v.kind.title(pc), body)
}

// ---------------------------------------------------------------------------------------
// 確認待ち一覧

pub(super) fn waiting_view(
    pc: &PageCtx,
    s: &Signed,
    list: &[Summary],
    companies: &[Company],
    line: Option<&str>,
) -> Markup {
    let t = &s.tenant_code;
    let short = owner_short(s);
    let body = html! {
        p.lead { (pc.t("あなたの確認・承認・署名を待っている契約です。", "The contracts waiting for your confirmation, approval or signature.")) }
        @if let Some(l) = line {
            p.toolbar-links {
                (pc.t("絞り込み: ", "Filter: ")) strong { (step_label(pc.lang, &short, Some(l))) }
                " · " a href=(tenant_path(t, "contracts/waiting")) { (pc.t("すべて表示", "Show all")) }
            }
        }
        p.result-count { (count_text(pc.lang, list.len())) }
        @if list.is_empty() {
            p.empty { (pc.t("確認待ちの契約はありません。", "Nothing is waiting for you.")) }
        } @else {
            div.table-scroll {
                table.list.ct-table {
                    thead {
                        tr {
                            th scope="col" { (pc.t("契約番号", "Number")) }
                            th scope="col" { (pc.t("件名", "Title")) }
                            th scope="col" { (pc.t("取引先", "Counterparty")) }
                            th scope="col" { (pc.t("取引年月日", "Date")) }
                            th scope="col" { (pc.t("取引金額", "Amount")) }
                            th scope="col" { (pc.t("状態", "Status")) }
                            th scope="col" { (pc.t("現在のステップ", "Current step")) }
                        }
                    }
                    tbody {
                        @for c in list {
                            tr {
                                td.code.ct-nowrap { a href=(contract_href(t, &c.id)) { (c.number) } }
                                td { (c.title) }
                                (summary_cells(pc, s, companies, c))
                            }
                        }
                    }
                }
            }
        }
    };
    app_page(pc, s, Tab::Normal, pc.t("確認待ち一覧", "Waiting for you"), body)
}

pub(super) fn new_title(pc: &PageCtx) -> &'static str {
    pc.t("契約登録", "New contract")
}

fn req_mark(pc: &PageCtx) -> Markup {
    html! { span.req title=(pc.t("必須", "required")) { "*" } }
}

fn steps_nav(pc: &PageCtx, current: usize) -> Markup {
    let steps = [pc.t("取引先の選択", "Counterparty"), pc.t("契約内容の入力", "Contract details")];
    html! {
        ol.ct-steps {
            @for (i, label) in steps.iter().enumerate() {
                li class=[(i + 1 == current).then_some("current")] aria-current=[(i + 1 == current).then_some("step")] {
                    (i + 1) ". " (label)
                }
            }
        }
    }
}

/// Step 1: choose the 取引先.
pub(super) fn choose_partner_view(
    pc: &PageCtx,
    s: &Signed,
    partners: &[Company],
    selected: &str,
    msg: Option<Msg>,
) -> Markup {
    let t = &s.tenant_code;
    let body = html! {
        p.lead { (pc.t("新しい契約 (フォルダ) を登録します。", "Register a new contract (folder).")) }
        (steps_nav(pc, 1))
        (layout::messages(msg.as_ref()))
        section.box {
            div.box-body {
                @if partners.is_empty() {
                    p.empty { (pc.t("取引先が登録されていません。先にユーザー管理で取引先を登録してください。", "No partner company is registered yet.")) }
                } @else {
                    form.form-grid.wide-labels method="get" action=(tenant_path(t, "contracts/new")) {
                        label for="counterparty" { (pc.t("取引先", "Counterparty")) (req_mark(pc)) }
                        div.field {
                            select #counterparty name="counterparty" required {
                                @for p in partners {
                                    option value=(p.id) selected[selected == p.id] {
                                        (p.name) @if let Some(code) = &p.vendor_code { " (" (code) ")" }
                                    }
                                }
                            }
                            p.hint { (pc.t("回覧ルートの取引先側の担当者・承認者・署名者は、選んだ取引先のユーザーから選びます。", "The partner-side steps of the route are taken by users of this company.")) }
                        }
                        div.actions-row {
                            button.button type="submit" { (pc.t("次へ", "Next")) }
                        }
                    }
                }
            }
        }
    };
    app_page(pc, s, Tab::Normal, new_title(pc), body)
}

/// Field errors of every field whose name starts with `prefix`.
fn errors_under(errors: &[FieldError], prefix: &str) -> Markup {
    html! {
        @for e in errors.iter().filter(|e| e.field == prefix || e.field.starts_with(&format!("{prefix}[")) || e.field.starts_with(&format!("{prefix}."))) {
            p.field-error { (e.message) }
        }
    }
}

fn text_input(
    errors: &[FieldError],
    name: &str,
    kind: &str,
    value: &str,
    max: Option<usize>,
    required: bool,
) -> Markup {
    let invalid = has_error(errors, name);
    html! {
        input id=(name) type=(kind) name=(name) value=(value) maxlength=[max]
            required[required] aria-required=[required.then_some("true")]
            class=[invalid.then_some("invalid")] aria-invalid=[invalid.then_some("true")]
            aria-describedby=[invalid.then(|| format!("{name}-error"))] autocomplete="off";
    }
}

/// Errors the form has no place for (shown under the message box).
fn other_errors(errors: &[FieldError]) -> Vec<&FieldError> {
    const PLACED: [&str; 8] =
        ["number", "title", "doc_type", "counterparty", "transaction_date", "amount", "tax", "comment"];
    errors
        .iter()
        .filter(|e| {
            !PLACED.contains(&e.field.as_str())
                && !e.field.starts_with("fields[")
                && !e.field.starts_with("documents")
                && !e.field.starts_with("route")
        })
        .collect()
}

pub struct RegisterView<'a> {
    pub rc: &'a RouteCandidates,
    pub form: &'a RegisterForm,
    pub msg: Option<Msg>,
    pub errors: &'a [FieldError],
    pub max_bytes: usize,
    pub max_documents: usize,
}

/// Step 2: the contract's fields, the documents and the route.
pub fn register_view(pc: &PageCtx, s: &Signed, v: &RegisterView<'_>) -> Markup {
    let t = &s.tenant_code;
    let f = v.form;
    let short = owner_short(s);
    let others = other_errors(v.errors);
    let body = html! {
        p.lead { (pc.t("新しい契約 (フォルダ) を登録します。", "Register a new contract (folder).")) }
        (steps_nav(pc, 2))
        (layout::messages(v.msg.as_ref()))
        @if !others.is_empty() {
            ul.ct-other-errors { @for e in others { li.field-error { (e.message) } } }
        }
        form.ct-register method="post" action=(tenant_path(t, "contracts/new")) enctype="multipart/form-data" novalidate {
            input type="hidden" name=(CSRF_FIELD) value=(s.csrf());
            input type="hidden" name="counterparty" value=(f.counterparty);
            (contract_box(pc, s, v))
            (route_form(pc, v, &short))
            div.ct-submit-row {
                button.button type="submit" { (pc.t("登録する", "Register")) }
                a.small-link href=(tenant_path(t, "")) { (pc.t("キャンセル", "Cancel")) }
            }
        }
    };
    app_page(pc, s, Tab::Normal, new_title(pc), body)
}

/// 契約情報: the counterparty, number, title, type, date, amount, free fields and PDFs.
fn contract_box(pc: &PageCtx, s: &Signed, v: &RegisterView<'_>) -> Markup {
    let t = &s.tenant_code;
    let f = v.form;
    let errors = v.errors;
    let partner = v.rc.partner.as_ref();
    html! {
    section.box {
        div.box-head { h2.box-title { (pc.t("契約情報", "Contract")) } }
        div.box-body.form-grid.wide-labels {
            span.form-label { (pc.t("取引先", "Counterparty")) }
            div.field.field-static {
                @if let Some(p) = partner {
                    strong { (p.name) } @if let Some(code) = &p.vendor_code { " (" (code) ")" }
                }
                " "
                a.small-link #change-partner href=(format!("{}?current={}", tenant_path(t, "contracts/new"), enc(&f.counterparty))) { (pc.t("取引先を変更", "Change")) }
                (field_errors(errors, "counterparty"))
            }
            label for="number" { (pc.t("契約番号", "Contract number")) (req_mark(pc)) }
            div.field {
                (text_input(errors, "number", "text", &f.number, Some(keiyaku_contracts::flow::NUMBER_MAX), true))
                (field_errors(errors, "number"))
            }
            label for="title" { (pc.t("件名", "Title")) (req_mark(pc)) }
            div.field {
                (text_input(errors, "title", "text", &f.title, Some(keiyaku_contracts::flow::TITLE_MAX), true))
                (field_errors(errors, "title"))
            }
            label for="doc_type" { (pc.t("文書種別", "Document type")) (req_mark(pc)) }
            div.field {
                select #doc_type name="doc_type" class=[has_error(errors, "doc_type").then_some("invalid")] {
                    @for d in DocType::ALL {
                        option value=(d.as_str()) selected[f.doc_type == d.as_str()] { (d.label(pc.lang)) }
                    }
                }
                (field_errors(errors, "doc_type"))
            }
            label for="transaction_date" { (pc.t("取引年月日", "Transaction date")) (req_mark(pc)) }
            div.field {
                (text_input(errors, "transaction_date", "date", &f.transaction_date, None, true))
                (field_errors(errors, "transaction_date"))
            }
            label for="amount" { (pc.t("取引金額", "Amount")) (req_mark(pc)) }
            div.field {
                div.ct-amount {
                    (text_input(errors, "amount", "text", &f.amount, Some(20), true))
                    span { (pc.t("円", "yen")) }
                    span.radio-row {
                        @for tax in [Tax::Included, Tax::Excluded] {
                            label.radio {
                                input type="radio" name="tax" value=(tax.as_str())
                                    checked[f.tax == tax.as_str() || (f.tax.is_empty() && tax == Tax::Included)];
                                " " (tax.label(pc.lang))
                            }
                        }
                    }
                }
                p.hint { (pc.t("例: 1980000", "e.g. 1980000")) }
                (field_errors(errors, "amount"))
                (field_errors(errors, "tax"))
            }
            (extra_fields(pc, v))
        }
    }
    }
}

/// The free fields and the PDF documents of the registration form.
fn extra_fields(pc: &PageCtx, v: &RegisterView<'_>) -> Markup {
    let f = v.form;
    let errors = v.errors;
    let mib = v.max_bytes / (1024 * 1024);
    html! {
    span.form-label { (pc.t("自由項目", "Free fields")) }
    div.field {
        @for (i, (name, value)) in f.fields.iter().enumerate() {
            @let n = format!("fields[{i}].name");
            @let val = format!("fields[{i}].value");
            div.ct-free {
                label.visually-hidden for=(n) { (pc.t("項目名", "Name")) " " (i + 1) }
                input id=(n) type="text" name=(n) value=(name) placeholder=(pc.t("項目名", "Name")) maxlength=(keiyaku_contracts::flow::FIELD_NAME_MAX) class=[has_error(errors, &n).then_some("invalid")] autocomplete="off";
                label.visually-hidden for=(val) { (pc.t("値", "Value")) " " (i + 1) }
                input id=(val) type="text" name=(val) value=(value) placeholder=(pc.t("値", "Value")) maxlength=(keiyaku_contracts::flow::FIELD_VALUE_MAX) class=[has_error(errors, &val).then_some("invalid")] autocomplete="off";
            }
            (field_errors(errors, &n))
            (field_errors(errors, &val))
        }
    }
    label for="documents" { (pc.t("PDF文書", "PDF documents")) (req_mark(pc)) }
    div.field {
        input #documents type="file" name="documents" accept=".pdf,application/pdf" multiple
            class=[errors.iter().any(|e| e.field.starts_with("documents")).then_some("invalid")];
        p.hint {
            (match pc.lang {
                Lang::Ja => format!("PDFファイル(1ファイル{mib}MBまで、{}ファイルまで)。複数のファイルを選択できます。", v.max_documents),
                Lang::En => format!("PDF files (up to {mib} MB each, at most {}). You can choose several files.", v.max_documents),
            })
        }
        @if v.msg.is_some() {
            p.hint.ct-reselect { (pc.t("エラーのため、PDFファイルをもう一度選択してください。", "Please choose the PDF files again.")) }
        }
        (errors_under(errors, "documents"))
    }
    }
}

/// 回覧ルート: who takes each step of the route.
fn route_form(pc: &PageCtx, v: &RegisterView<'_>, short: &str) -> Markup {
    let f = v.form;
    let errors = v.errors;
    html! {
    section.box {
        div.box-head { h2.box-title { (pc.t("回覧ルート", "Route")) } }
        div.box-body {
            p.hint { (pc.t("上から順に回覧します。各ステップの担当者を選ぶか、「全員」のままにすると該当する全員に確認依頼が届き、いずれか1名が対応します。", "The contract circulates from top to bottom. Choose who takes each step, or leave 「All」: every holder of the role is asked and any one of them completes the step.")) }
            (errors_under(errors, "route"))
            ol.ct-route-form {
                @for (i, (party, role, users)) in v.rc.steps.iter().enumerate() {
                    @let name = format!("route[{i}].users");
                    @let line = WaitingLine { side: party.side(), role: *role };
                    @let chosen = f.route.get(i).map(String::as_str).unwrap_or_default();
                    li {
                        label for=(name) { (line.label(pc.lang, short)) }
                        div.field {
                            select id=(name) name=(name) class=[(has_error(errors, &name) || users.is_empty()).then_some("invalid")] {
                                option value="" {
                                    (pc.t("全員", "All"))
                                    @if !users.is_empty() {
                                        " (" (users.iter().map(|u| u.name.as_str()).collect::<Vec<_>>().join(pc.t("、", ", "))) ")"
                                    }
                                }
                                @for u in users {
                                    option value=(u.user_id) selected[chosen == u.user_id] { (u.name) " (" (u.user_id) ")" }
                                }
                            }
                            @if users.is_empty() {
                                p.field-error { (pc.t("このステップを担当できるユーザーがいません。", "Nobody can take this step.")) }
                            }
                            (field_errors(errors, &name))
                            (field_errors(errors, &format!("route[{i}].role")))
                        }
                    }
                }
            }
        }
    }
    }
}

pub struct DetailView<'a> {
    pub view: &'a ContractView,
    pub msg: Option<Msg>,
    pub(super) errors: &'a [FieldError],
    /// The form that was sent (its comment is kept and its errors shown beside it).
    pub(super) action: Option<Action>,
    pub(super) comment: &'a str,
}

fn version_kind(pc: &PageCtx, v: &ContractView, ver: &Version) -> String {
    match &ver.signer {
        Some(signer) => {
            let mut s = format!("{} ({})", pc.t("署名済", "Signed"), v.name_of(signer));
            if ver.by != *signer {
                s = match pc.lang {
                    Lang::Ja => format!("署名済 ({}・代理: {})", v.name_of(signer), v.name_of(&ver.by)),
                    Lang::En => format!("Signed ({}, by delegate {})", v.name_of(signer), v.name_of(&ver.by)),
                };
            }
            s
        }
        None if ver.n == 1 => pc.t("原本", "Original").to_string(),
        None => pc.t("差替", "Replacement").to_string(),
    }
}

fn who(pc: &PageCtx, v: &ContractView, by: &str, on_behalf_of: Option<&str>) -> String {
    match on_behalf_of {
        Some(o) if o != by => match pc.lang {
            Lang::Ja => format!("{} ({}の代理)", v.name_of(by), v.name_of(o)),
            Lang::En => format!("{} (for {})", v.name_of(by), v.name_of(o)),
        },
        _ => v.name_of(by),
    }
}

fn facts(pc: &PageCtx, s: &Signed, v: &ContractView) -> Markup {
    let c = &v.contract;
    let short = owner_short(s);
    html! {
        dl.ct-facts {
            div { dt { (pc.t("契約番号", "Contract number")) } dd.code { (c.number) } }
            div { dt { (pc.t("件名", "Title")) } dd { (c.title) } }
            div { dt { (pc.t("文書種別", "Document type")) } dd { (c.doc_type.label(pc.lang)) } }
            div {
                dt { (pc.t("取引先", "Counterparty")) }
                dd { (v.counterparty_name) @if let Some(code) = &v.vendor_code { " (" (code) ")" } }
            }
            div { dt { (pc.t("取引年月日", "Transaction date")) } dd { (date_text(c.transaction_date)) } }
            div { dt { (pc.t("取引金額", "Amount")) } dd { (yen(c.amount)) " (" (c.tax.label(pc.lang)) ")" } }
            @for f in &c.fields {
                div { dt { (f.name) } dd { (f.value) } }
            }
            div { dt { (pc.t("状態", "Status")) } dd { (status_badge(pc.lang, c.status)) } }
            @if let Some(step) = c.current_step() {
                div { dt { (pc.t("現在のステップ", "Current step")) } dd { (step.line().label(pc.lang, &short)) } }
            }
            div { dt { (pc.t("登録者", "Registrant")) } dd { (v.name_of(&c.registrant)) } }
            div { dt { (pc.t("登録日時", "Registered")) } dd { (clock::display(c.created_at)) } }
            @if let Some(at) = c.completed_at {
                div { dt { (pc.t("締結日時", "Completed")) } dd { (clock::display(at)) } }
            }
            div { dt { (pc.t("保存期限", "Kept until")) } dd { (date_text(c.retention_until)) } }
        }
    }
}

fn documents_box(pc: &PageCtx, s: &Signed, v: &ContractView) -> Markup {
    let t = &s.tenant_code;
    let c = &v.contract;
    html! {
        section.box.ct-documents {
            div.box-head {
                h2.box-title { (pc.t("文書", "Documents")) }
                a.box-head-link #report-link href=(format!("{}/report", contract_href(t, &c.id))) download { (pc.t("合意締結証明書", "Completion report")) }
            }
            div.box-body {
                @for d in &c.documents {
                    h3.ct-doc-name {
                        a href=(document_href(t, &c.id, &d.id, None)) download { (d.name) }
                    }
                    div.table-scroll {
                        table.list.ct-versions {
                            thead {
                                tr {
                                    th scope="col" { (pc.t("版", "Version")) }
                                    th scope="col" { (pc.t("種別", "Kind")) }
                                    th scope="col" { (pc.t("日時", "When")) }
                                    th scope="col" { "SHA-256" }
                                    th scope="col" { span.visually-hidden { (pc.t("ダウンロード", "Download")) } }
                                }
                            }
                            tbody {
                                @for ver in &d.versions {
                                    tr {
                                        td.num { (ver.n) }
                                        td { (version_kind(pc, v, ver)) }
                                        td.ct-nowrap { (clock::display(ver.created_at)) }
                                        td.code title=(ver.sha256) { (short_hash(&ver.sha256)) "…" }
                                        td.actions {
                                            a href=(document_href(t, &c.id, &d.id, Some(ver.n))) download { (pc.t("ダウンロード", "Download")) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn route_box(pc: &PageCtx, s: &Signed, v: &ContractView) -> Markup {
    let c = &v.contract;
    let short = owner_short(s);
    html! {
        section.box.ct-route {
            div.box-head { h2.box-title { (pc.t("回覧ルート", "Route")) } }
            div.box-body {
                ol.ct-route-list {
                    @for (i, step) in c.route.iter().enumerate() {
                        @let current = c.status == Status::Circulating && c.current == Some(i);
                        @let class = if step.done.is_some() { "done" } else if current { "current" } else { "pending" };
                        li class=(class) aria-current=[current.then_some("step")] {
                            div.ct-step-head {
                                span.ct-step-label { (step.line().label(pc.lang, &short)) }
                                span.ct-step-state {
                                    @if let Some(d) = &step.done {
                                        (pc.t("完了", "Done")) ": " (who(pc, v, &d.by, d.on_behalf_of.as_deref())) " " (clock::display(d.at))
                                    } @else if current {
                                        (if step.is_signing() { pc.t("署名待ち", "Waiting for signature") } else { pc.t("確認待ち", "Waiting") })
                                    } @else {
                                        (pc.t("未着手", "Pending"))
                                    }
                                }
                            }
                            div.ct-step-users {
                                (step.users.iter().map(|u| v.name_of(u)).collect::<Vec<_>>().join(pc.t("、", ", ")))
                            }
                        }
                    }
                }
            }
        }
    }
}

fn history_box(pc: &PageCtx, s: &Signed, v: &ContractView) -> Markup {
    let c = &v.contract;
    let short = owner_short(s);
    html! {
        section.box.ct-history {
            div.box-head { h2.box-title { (pc.t("履歴", "History")) } }
            div.box-body {
                ol.ct-history-list {
                    @for e in &c.history {
                        li {
                            span.ct-when { (clock::display(e.at)) }
                            " "
                            strong { (e.kind().map_or(pc.t("その他", "Other"), |k| k.label(pc.lang))) }
                            @if let Some(step) = e.step.and_then(|i| c.route.get(i)) {
                                " " span.ct-hist-step { "(" (step.line().label(pc.lang, &short)) ")" }
                            }
                            @if e.by != "system" {
                                " " span.ct-hist-by { (who(pc, v, &e.by, e.on_behalf_of.as_deref())) }
                            }
                            @if let Some(comment) = &e.comment {
                                p.ct-comment { (comment) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn comment_field(pc: &PageCtx, v: &DetailView<'_>, action: Action, required: bool) -> Markup {
    let id = format!("{}-comment", action.path());
    let mine = v.action == Some(action);
    let errors: &[FieldError] = if mine { v.errors } else { &[] };
    let invalid = has_error(errors, "comment");
    html! {
        label for=(id) {
            (pc.t("コメント", "Comment"))
            @if required { (req_mark(pc)) } @else { " " span.hint { (pc.t("(任意)", "(optional)")) } }
        }
        textarea id=(id) name="comment" rows="3" maxlength=(keiyaku_contracts::flow::COMMENT_MAX)
            required[required] class=[invalid.then_some("invalid")] aria-invalid=[invalid.then_some("true")] {
            @if mine { (v.comment) }
        }
        (field_errors(errors, "comment"))
    }
}

fn actions_box(pc: &PageCtx, s: &Signed, v: &DetailView<'_>) -> Markup {
    let cv = v.view;
    let c = &cv.contract;
    let base = contract_href(&s.tenant_code, &c.id);
    let any = cv.can_approve
        || cv.can_sign
        || cv.can_send_back
        || cv.can_resubmit
        || cv.can_cancel
        || cv.sign_refusal.is_some();
    html! {
        @if any {
            section.box.ct-actions id="actions" {
                div.box-head { h2.box-title { (pc.t("操作", "Actions")) } }
                div.box-body {
                    @if cv.can_sign && let Some(signer) = &cv.sign_for {
                        (sign_forms(pc, s, v, signer, &base))
                    }
                    @if let Some(why) = cv.sign_refusal {
                        p.ct-sign-refusal.notice-warn #sign-refusal {
                            (ContractsError::Forbidden(why).problem(pc.lang).title)
                            @if let Some(d) = ContractsError::Forbidden(why).problem(pc.lang).detail { " " (d) }
                        }
                    }
                    @if cv.can_approve {
                        form.ct-action method="post" action=(format!("{base}/approve")) {
                            input type="hidden" name=(CSRF_FIELD) value=(s.csrf());
                            h3.ct-action-title { (pc.t("承認", "Approve")) }
                            (comment_field(pc, v, Action::Approve, false))
                            button.button type="submit" { (pc.t("承認する", "Approve")) }
                        }
                    }
                    @if cv.can_send_back {
                        form.ct-action method="post" action=(format!("{base}/send_back")) novalidate {
                            input type="hidden" name=(CSRF_FIELD) value=(s.csrf());
                            h3.ct-action-title { (pc.t("差戻し", "Send back")) }
                            p.hint { (pc.t("登録者に差し戻します。理由をコメントに記入してください。", "The contract goes back to the registrant; say why.")) }
                            (comment_field(pc, v, Action::SendBack, true))
                            button.button.button-secondary type="submit" { (pc.t("差し戻す", "Send back")) }
                        }
                    }
                    @if cv.can_resubmit {
                        form.ct-action method="post" action=(format!("{base}/resubmit")) enctype="multipart/form-data" {
                            input type="hidden" name=(CSRF_FIELD) value=(s.csrf());
                            h3.ct-action-title { (pc.t("再提出", "Resubmit")) }
                            p.hint { (pc.t("差し替える文書があればPDFを選択してください(任意)。回覧は最初のステップからやり直します。", "Optionally choose a corrected PDF per document; the route starts again from its first step.")) }
                            @for d in &c.documents {
                                @let name = format!("replace_{}", d.id);
                                label for=(name) { (d.name) }
                                input id=(name) type="file" name=(name) accept=".pdf,application/pdf";
                            }
                            @if v.action == Some(Action::Resubmit) { (errors_under(v.errors, "documents")) }
                            (comment_field(pc, v, Action::Resubmit, false))
                            button.button type="submit" { (pc.t("再提出する", "Resubmit")) }
                        }
                    }
                    @if cv.can_cancel {
                        form.ct-action method="post" action=(format!("{base}/cancel")) {
                            input type="hidden" name=(CSRF_FIELD) value=(s.csrf());
                            h3.ct-action-title { (pc.t("取消", "Cancel the contract")) }
                            p.hint { (pc.t("取り消した契約は元に戻せません。", "A cancelled contract cannot be restored.")) }
                            (comment_field(pc, v, Action::Cancel, false))
                            button.button.button-secondary.ct-danger type="submit" { (pc.t("取り消す", "Cancel the contract")) }
                        }
                    }
                }
            }
        }
    }
}

/// 署名: the signing form (PIN for oneself; the authenticator or e-mailed code for a
/// delegate) and the form asking for a signing code.
fn sign_forms(pc: &PageCtx, s: &Signed, v: &DetailView<'_>, signer: &str, base: &str) -> Markup {
    let cv = v.view;
    html! {
        form.ct-action method="post" action=(format!("{base}/sign")) {
            input type="hidden" name=(CSRF_FIELD) value=(s.csrf());
            input type="hidden" name="on_behalf_of" value=(signer);
            h3.ct-action-title { (pc.t("署名", "Sign")) }
            @if *signer == s.caller().user_id {
                p { (pc.t("あなたの電子証明書と印影で、すべての文書に署名します。", "All documents are signed with your certificate and seal.")) }
                label for="sign-pin" { (pc.t("証明書のPINコード(12桁)", "Certificate PIN (12 digits)")) }
                input #sign-pin type="password" name="pin" inputmode="numeric" autocomplete="off" maxlength="12" required;
                @if v.action == Some(Action::Sign) { (errors_under(v.errors, "pin")) }
            } @else {
                p.ct-delegate {
                    (match pc.lang {
                        Lang::Ja => format!("{} の代理として署名します。", cv.name_of(signer)),
                        Lang::En => format!("You sign on behalf of {}.", cv.name_of(signer)),
                    })
                }
                @match cv.step_up {
                    Some(StepUp::Totp) => {
                        label for="sign-otp" { (pc.t("認証アプリの認証コード(6桁)", "Authenticator code (6 digits)")) }
                        input #sign-otp type="text" name="otp" inputmode="numeric" autocomplete="one-time-code" maxlength="6" required;
                    }
                    _ => {
                        label for="sign-code" { (pc.t("メールで受け取った認証コード(6桁)", "Signing code from the e-mail (6 digits)")) }
                        input #sign-code type="text" name="code" inputmode="numeric" autocomplete="one-time-code" maxlength="6" required;
                        p.hint { (pc.t("認証コードは下の「認証コードを送信」でメールに届きます(10分間有効)。", "Get the code by e-mail with 「Send a signing code」 below (valid for 10 minutes).")) }
                    }
                }
            }
            button.button type="submit" #sign-submit { (pc.t("署名する", "Sign")) }
        }
        @if *signer != s.caller().user_id && matches!(cv.step_up, Some(StepUp::Code { .. })) {
            form.ct-action method="post" action=(format!("{base}/sign-code")) {
                input type="hidden" name=(CSRF_FIELD) value=(s.csrf());
                button.button.button-secondary.button-small type="submit" #sign-code-request {
                    @if matches!(cv.step_up, Some(StepUp::Code { sent: true })) {
                        (pc.t("認証コードを再送信", "Send a new signing code"))
                    } @else {
                        (pc.t("認証コードを送信", "Send a signing code"))
                    }
                }
            }
        }
    }
}

pub fn detail_view(pc: &PageCtx, s: &Signed, v: &DetailView<'_>) -> Markup {
    let c = &v.view.contract;
    let t = &s.tenant_code;
    let body = html! {
        p.toolbar-links {
            a href=(tenant_path(t, "contracts")) { (pc.t("契約検索", "Contract search")) }
            " · "
            a href=(tenant_path(t, "contracts/waiting")) { (pc.t("確認待ち一覧", "Waiting for you")) }
        }
        (layout::messages(v.msg.as_ref()))
        div.ct-detail {
            div.ct-detail-main {
                section.box.ct-summary {
                    div.box-head { h2.box-title { (c.number) " " (c.title) } }
                    div.box-body { (facts(pc, s, v.view)) }
                }
                (documents_box(pc, s, v.view))
                (history_box(pc, s, v.view))
            }
            div.ct-detail-side {
                (actions_box(pc, s, v))
                (route_box(pc, s, v.view))
            }
        }
    };
    app_page(pc, s, Tab::Normal, pc.t("契約詳細", "Contract"), body)
}
