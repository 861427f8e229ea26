//! 契約検索 and 文書検索: by transaction date range, amount range and counterparty — alone or
//! combined, as the 電子帳簿保存法 asks — and by number, title, type, status, route step and
//! registrant; sorted, paged, and as CSV. Only what the caller may see is ever returned
//! ([`policy::can_see`]).
//!
//! The indexes ([`crate::index`]) order the contracts by date, by counterparty and date, by
//! amount and by status, with those fields in their keys: a query walks the narrowest and
//! reads the records of the page only.

use crate::error::ContractsError;
use crate::flow::parse_date;
use crate::index;
use crate::model::{DocType, INDEX, Status, Summary};
use crate::policy::{self, Sight, Visible};
use jiff::civil::Date;
use keiyaku_kernel::FieldCode;
use keiyaku_kernel::context::Caller;
use keiyaku_kernel::directory;
use keiyaku_kernel::error::Lang;
use keiyaku_kernel::paging::{Page, Paging};
use keiyaku_kernel::store::Read;
use keiyaku_kernel::validate::{Rule, Validator};
use keiyaku_kernel::waiting::WaitingLine;

/// The criteria as given (query strings).
#[derive(Debug, Clone, Default)]
pub struct SearchInput {
    pub date_from: Option<String>,
    pub date_to: Option<String>,
    pub amount_min: Option<i64>,
    pub amount_max: Option<i64>,
    /// Company id or 業者コード of the counterparty.
    pub counterparty: Option<String>,
    /// Part of the contract number.
    pub number: Option<String>,
    /// Part of the title (or, in 文書検索, of the document name too).
    pub title: Option<String>,
    pub doc_type: Option<String>,
    pub status: Option<String>,
    /// Waiting line key of the current step, e.g. `owner_signer`.
    pub step: Option<String>,
    pub registrant: Option<String>,
    /// `transaction_date` (default), `amount`, `number`, `created_at`.
    pub sort: Option<String>,
    /// `desc` (default) or `asc`.
    pub order: Option<String>,
}

impl SearchInput {
    /// The query parameter of each criterion, in the order the API and the pages list them.
    pub const FIELDS: [&'static str; 13] = [
        "date_from",
        "date_to",
        "amount_min",
        "amount_max",
        "counterparty",
        "number",
        "title",
        "doc_type",
        "status",
        "step",
        "registrant",
        "sort",
        "order",
    ];
}

/// The `sort` criterion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    TransactionDate,
    Amount,
    Number,
    CreatedAt,
}

impl SortKey {
    pub const ALL: [SortKey; 4] = [SortKey::TransactionDate, SortKey::Amount, SortKey::Number, SortKey::CreatedAt];

    pub fn as_str(self) -> &'static str {
        match self {
            SortKey::TransactionDate => "transaction_date",
            SortKey::Amount => "amount",
            SortKey::Number => "number",
            SortKey::CreatedAt => "created_at",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// The `order` criterion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Desc,
    Asc,
}

impl Order {
    pub const ALL: [Order; 2] = [Order::Desc, Order::Asc];

    pub fn as_str(self) -> &'static str {
        match self {
            Order::Desc => "desc",
            Order::Asc => "asc",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

/// Checked criteria.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub date_from: Option<Date>,
    pub date_to: Option<Date>,
    pub amount_min: Option<i64>,
    pub amount_max: Option<i64>,
    /// Company id.
    pub counterparty: Option<String>,
    pub number: Option<String>,
    pub title: Option<String>,
    pub doc_type: Option<DocType>,
    pub status: Option<Status>,
    pub step: Option<String>,
    pub registrant: Option<String>,
    pub sort: Option<SortKey>,
    pub ascending: bool,
}

fn some(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Checks the criteria; an unknown counterparty matches nothing (it is not an error: a
/// partner must not learn which vendor codes exist).
pub fn parse(tx: &impl Read, tenant: &str, input: &SearchInput) -> Result<Query, ContractsError> {
    let mut v = Validator::new();
    let mut q = Query::default();
    let bad_date = || Rule::Custom {
        code: FieldCode::InvalidDate,
        ja: "YYYY-MM-DDの形式で正しい日付を入力してください。".into(),
        en: "Enter a valid date as YYYY-MM-DD.".into(),
    };
    if let Some(s) = some(&input.date_from) {
        q.date_from = parse_date(s);
        if q.date_from.is_none() {
            v.fail("date_from", bad_date());
        }
    }
    if let Some(s) = some(&input.date_to) {
        q.date_to = parse_date(s);
        if q.date_to.is_none() {
            v.fail("date_to", bad_date());
        }
    }
    if let (Some(a), Some(b)) = (q.date_from, q.date_to)
        && a > b
    {
        v.fail(
            "date_to",
            Rule::Custom {
                code: FieldCode::InvalidRange,
                ja: "終了日は開始日以降の日付を入力してください。".into(),
                en: "The end date must not be before the start date.".into(),
            },
        );
    }
    for (field, value) in [("amount_min", input.amount_min), ("amount_max", input.amount_max)] {
        if value.is_some_and(|a| !(0..=crate::flow::AMOUNT_MAX).contains(&a)) {
            v.fail(
                field,
                Rule::Custom {
                    code: FieldCode::OutOfRange,
                    ja: "0〜1兆円の範囲で入力してください。".into(),
                    en: "Use an amount from 0 to 1 trillion yen.".into(),
                },
            );
        }
    }
    q.amount_min = input.amount_min;
    q.amount_max = input.amount_max;
    if let (Some(a), Some(b)) = (q.amount_min, q.amount_max)
        && a > b
    {
        v.fail(
            "amount_max",
            Rule::Custom {
                code: FieldCode::InvalidRange,
                ja: "上限は下限以上の金額を入力してください。".into(),
                en: "The maximum must not be below the minimum.".into(),
            },
        );
    }
    if let Some(s) = some(&input.counterparty) {
        let company = match directory::get_company(tx, tenant, s)? {
            Some(c) => Some(c),
            None => directory::company_by_vendor_code(tx, tenant, &s.to_uppercase())?,
        };
        q.counterparty = Some(company.map(|c| c.id).unwrap_or_else(|| format!("\u{0}{s}")));
    }
    for (field, value, target) in [
        ("number", &input.number, &mut q.number),
        ("title", &input.title, &mut q.title),
        ("registrant", &input.registrant, &mut q.registrant),
    ] {
        if let Some(s) = some(value) {
            v.optional_text(field, s, 200);
            *target = Some(s.to_string());
        }
    }
    if let Some(s) = some(&input.doc_type) {
        q.doc_type = DocType::parse(s);
        if q.doc_type.is_none() {
            v.fail("doc_type", Rule::Unknown { value: s.chars().take(40).collect() });
        }
    }
    if let Some(s) = some(&input.status) {
        q.status = Status::parse(s);
        if q.status.is_none() {
            v.fail("status", Rule::Unknown { value: s.chars().take(40).collect() });
        }
    }
    if let Some(s) = some(&input.step) {
        match WaitingLine::parse(s) {
            Some(line) => q.step = Some(line.key()),
            None => {
                v.fail("step", Rule::Unknown { value: s.chars().take(40).collect() });
            }
        }
    }
    q.sort = match some(&input.sort) {
        None => Some(SortKey::TransactionDate),
        Some(s) => SortKey::parse(s).or_else(|| {
            v.fail("sort", Rule::Unknown { value: s.chars().take(40).collect() });
            None
        }),
    };
    q.ascending = match some(&input.order) {
        None => false,
        Some(s) => match Order::parse(s) {
            Some(o) => o == Order::Asc,
            None => {
                v.fail("order", Rule::Unknown { value: s.chars().take(40).collect() });
                false
            }
        },
    };
    v.finish()?;
    Ok(q)
}

impl Query {
    /// Whether an index record meets every criterion except the date range (which the
    /// index scan applies).
    pub fn matches(&self, s: &Summary) -> bool {
        self.amount_min.is_none_or(|m| s.amount >= m)
            && self.amount_max.is_none_or(|m| s.amount <= m)
            && self.counterparty.as_ref().is_none_or(|c| s.counterparty == *c)
            && self.number.as_ref().is_none_or(|n| s.number.contains(n.as_str()))
            && self.title.as_ref().is_none_or(|t| s.title.contains(t.as_str()))
            && self.doc_type.is_none_or(|t| s.doc_type == t)
            && self.status.is_none_or(|t| s.status == t)
            && self.step.as_ref().is_none_or(|t| s.step.as_deref() == Some(t.as_str()))
            && self.registrant.as_ref().is_none_or(|r| s.registrant == *r)
    }
}

/// The indexed criteria of `q`, narrowed to the caller's own company for a partner's users;
/// `None` when nothing can match (an unknown counterparty, or another company's for a partner).
fn criteria(q: &Query, caller: &Caller) -> Option<index::Criteria> {
    let counterparty = match (policy::sight(caller), &q.counterparty) {
        (Sight::Counterparty(own), Some(c)) if c != own => return None,
        (Sight::Counterparty(own), _) => Some(own.to_string()),
        (_, c) => c.clone(),
    };
    if counterparty.as_deref().is_some_and(|c| c.starts_with('\u{0}')) {
        return None;
    }
    Some(index::Criteria {
        date_from: q.date_from.map(|d| d.to_string()),
        date_to: q.date_to.map(|d| d.to_string()),
        amount_min: q.amount_min,
        amount_max: q.amount_max,
        counterparty,
        status: q.status,
    })
}

/// The search record of an index entry.
fn summary(tx: &impl Read, tenant: &str, e: &index::Owned) -> Result<Option<Summary>, ContractsError> {
    let Ok(date) = e.date.parse::<Date>() else { return Ok(None) };
    Ok(tx.get(&INDEX, &Summary::index_key(tenant, date, &e.id))?)
}

fn sort(items: &mut [Summary], q: &Query) {
    match q.sort.unwrap_or(SortKey::TransactionDate) {
        SortKey::TransactionDate => {
            items.sort_by(|a, b| a.transaction_date.cmp(&b.transaction_date).then(a.id.cmp(&b.id)))
        }
        SortKey::Amount => items.sort_by(|a, b| a.amount.cmp(&b.amount).then(a.id.cmp(&b.id))),
        SortKey::Number => items.sort_by(|a, b| a.number.cmp(&b.number).then(a.id.cmp(&b.id))),
        SortKey::CreatedAt => items.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id))),
    }
    if !q.ascending {
        items.reverse();
    }
}

/// Every matching contract the caller may see, sorted.
pub fn all(tx: &impl Read, caller: &Caller, q: &Query) -> Result<Vec<Summary>, ContractsError> {
    let Some(c) = criteria(q, caller) else { return Ok(Vec::new()) };
    let mut items = Vec::new();
    for e in index::matching(tx, &caller.tenant, &c)? {
        if let Some(s) = summary(tx, &caller.tenant, &e)?
            && q.matches(&s)
            && policy::can_see(caller, &Visible::summary(&s))
        {
            items.push(s);
        }
    }
    sort(&mut items, q);
    Ok(items)
}

/// 契約検索: one page. When the indexes answer every criterion, the visibility and the sort,
/// only the page's records are read; otherwise the matches of the indexed criteria are read
/// and filtered.
pub fn contracts(tx: &impl Read, caller: &Caller, q: &Query, paging: Paging) -> Result<Page<Summary>, ContractsError> {
    let sort = match q.sort.unwrap_or(SortKey::TransactionDate) {
        SortKey::TransactionDate => Some(index::Sort::Date),
        SortKey::Amount => Some(index::Sort::Amount),
        SortKey::Number | SortKey::CreatedAt => None,
    };
    let indexed = q.number.is_none()
        && q.title.is_none()
        && q.doc_type.is_none()
        && q.step.is_none()
        && q.registrant.is_none()
        && policy::sight(caller) != Sight::Own;
    let Some(sort) = sort.filter(|_| indexed) else { return Ok(paging.take(all(tx, caller, q)?)) };
    let Some(c) = criteria(q, caller) else { return Ok(paging.take(Vec::new())) };
    let (total, entries) = index::page(tx, &caller.tenant, &c, sort, q.ascending, paging.skip(), paging.per_page)?;
    let mut items = Vec::with_capacity(entries.len());
    for e in &entries {
        items.extend(summary(tx, &caller.tenant, e)?);
    }
    Ok(Page { items, total, page: paging.page, per_page: paging.per_page })
}

/// A row of 文書検索: a document with its contract's index record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentRow {
    pub document_id: String,
    pub name: String,
    pub contract: Summary,
}

/// 文書検索: the documents of the matching contracts (a title criterion also matches the
/// document name).
pub fn documents(
    tx: &impl Read,
    caller: &Caller,
    q: &Query,
    paging: Paging,
) -> Result<Page<DocumentRow>, ContractsError> {
    let mut relaxed = q.clone();
    let name_part = relaxed.title.take();
    let mut rows = Vec::new();
    for s in all(tx, caller, &relaxed)? {
        for (i, name) in s.documents.iter().enumerate() {
            let hit = name_part.as_ref().is_none_or(|p| name.contains(p.as_str()) || s.title.contains(p.as_str()));
            if hit {
                rows.push(DocumentRow { document_id: format!("D{}", i + 1), name: name.clone(), contract: s.clone() });
            }
        }
    }
    Ok(paging.take(rows))
}

/// The matching contracts as CSV (UTF-8 with BOM, CRLF), for Excel.
pub fn csv(tx: &impl Read, caller: &Caller, q: &Query, lang: Lang) -> Result<Vec<u8>, ContractsError> {
    let items = all(tx, caller, q)?;
    let companies = directory::list_companies(tx, &caller.tenant)?;
    let header = match lang {
        Lang::Ja => "契約番号,件名,文書種別,取引先,業者コード,取引年月日,取引金額,状態,現在のステップ,登録者,登録日時",
        Lang::En => {
            "number,title,type,counterparty,vendor_code,transaction_date,amount,status,step,registrant,registered_at"
        }
    };
    let mut out = String::from(keiyaku_kernel::csv::BOM);
    out.push_str(header);
    out.push_str("\r\n");
    for s in items {
        let company = companies.iter().find(|c| c.id == s.counterparty);
        let row = [
            s.number.clone(),
            s.title.clone(),
            s.doc_type.label(lang).to_string(),
            company.map(|c| c.name.clone()).unwrap_or_default(),
            company.and_then(|c| c.vendor_code.clone()).unwrap_or_default(),
            s.transaction_date.to_string(),
            s.amount.to_string(),
            s.status.label(lang).to_string(),
            s.step.clone().unwrap_or_default(),
            s.registrant.clone(),
            keiyaku_kernel::clock::rfc3339(s.created_at),
        ];
        out.push_str(&keiyaku_kernel::csv::line(&row));
    }
    Ok(out.into_bytes())
}
