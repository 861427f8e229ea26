//! The search indexes of 契約検索: one ordering per criterion of the 電子帳簿保存法 search
//! (transaction date, counterparty and date, amount) and one per status, each a key-only
//! table whose keys carry what search filters and sorts on — date, amount, counterparty,
//! status and id — so a query reads keys and decodes only the records of the page it shows.
//! Per-status counts answer "how many" without a walk. [`save`] keeps them in step with the
//! contract, inside the transaction that writes it.

use crate::model::{Contract, Status};
use keiyaku_kernel::store::{Read, StoreError, Table, Tx};

/// `tenant/date/id/amount/counterparty/status` (date and id order = the default sort).
pub const BY_DATE: Table<()> = Table::new("contracts_by_date");
/// `tenant/counterparty/date/id/amount/status`.
pub const BY_PARTY: Table<()> = Table::new("contracts_by_party");
/// `tenant/amount/id/date/counterparty/status` (amount and id order = the amount sort).
pub const BY_AMOUNT: Table<()> = Table::new("contracts_by_amount");
/// `tenant/status/date/id/amount/counterparty`.
pub const BY_STATUS: Table<()> = Table::new("contracts_by_status");
/// How many contracts fall in a bucket: `tenant/s/status`, `tenant/d/YYYY-MM`,
/// `tenant/a/amount bucket` ([`amount_bucket`]), `tenant/p/counterparty/YYYY-MM`. A range
/// query adds the buckets it covers and counts keys only in the two it cuts.
pub const COUNTS: Table<u64> = Table::new("contracts_counts");

pub const TABLES: [&str; 5] = [BY_DATE.name(), BY_PARTY.name(), BY_AMOUNT.name(), BY_STATUS.name(), COUNTS.name()];

/// Amounts are zero-padded to this width, so key order is numeric order (up to 1兆円).
const AMOUNT_WIDTH: usize = 13;

/// What an index key says of one contract. Dates stay `YYYY-MM-DD` text: their text order is
/// their calendar order, so ranges compare without parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<'a> {
    pub date: &'a str,
    pub id: &'a str,
    pub amount: i64,
    pub counterparty: &'a str,
    pub status: Status,
}

/// An [`Entry`] that outlives the key it was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owned {
    pub date: String,
    pub id: String,
    pub amount: i64,
    pub counterparty: String,
    pub status: Status,
}

impl Entry<'_> {
    pub fn to_owned(self) -> Owned {
        Owned {
            date: self.date.to_string(),
            id: self.id.to_string(),
            amount: self.amount,
            counterparty: self.counterparty.to_string(),
            status: self.status,
        }
    }
}

/// One of the orderings, with how its keys are written and read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ordering {
    Date,
    Party,
    Amount,
    Status,
}

impl Ordering {
    pub fn table(self) -> &'static Table<()> {
        match self {
            Ordering::Date => &BY_DATE,
            Ordering::Party => &BY_PARTY,
            Ordering::Amount => &BY_AMOUNT,
            Ordering::Status => &BY_STATUS,
        }
    }

    /// The key of `e` in this ordering.
    pub fn key(self, tenant: &str, e: &Entry<'_>) -> String {
        let amount = format!("{:0width$}", e.amount.max(0), width = AMOUNT_WIDTH);
        let (date, id, cp, st) = (e.date, e.id, e.counterparty, e.status.as_str());
        match self {
            Ordering::Date => format!("{tenant}/{date}/{id}/{amount}/{cp}/{st}"),
            Ordering::Party => format!("{tenant}/{cp}/{date}/{id}/{amount}/{st}"),
            Ordering::Amount => format!("{tenant}/{amount}/{id}/{date}/{cp}/{st}"),
            Ordering::Status => format!("{tenant}/{st}/{date}/{id}/{amount}/{cp}"),
        }
    }

    /// Reads a key of this ordering (`None` for a key not written by [`Ordering::key`]).
    pub fn parse(self, key: &str) -> Option<Entry<'_>> {
        let mut parts = key.split('/');
        let _tenant = parts.next()?;
        let (a, b, c, d, e) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let (date, id, amount, counterparty, status) = match self {
            Ordering::Date => (a, b, c, d, e),
            Ordering::Party => (b, c, d, a, e),
            Ordering::Amount => (c, b, a, d, e),
            Ordering::Status => (b, c, d, e, a),
        };
        Some(Entry { date, id, amount: amount.parse().ok()?, counterparty, status: Status::parse(status)? })
    }

    /// The key range `[start, end)` of `tenant`'s entries whose leading fields (after the
    /// tenant) are `prefix` and whose next field lies in `from..=to` (either open).
    pub fn range(tenant: &str, prefix: &[&str], from: Option<&str>, to: Option<&str>) -> (String, String) {
        let mut head = String::from(tenant);
        for p in prefix {
            head.push('/');
            head.push_str(p);
        }
        head.push('/');
        let start = match from {
            Some(f) => format!("{head}{f}/"),
            None => head.clone(),
        };
        // '0' follows '/': `{to}0` ends every key whose field equals `to`.
        let end = match to {
            Some(t) => format!("{head}{t}0"),
            None => format!("{}0", &head[..head.len() - 1]),
        };
        (start, end)
    }
}

/// An amount as its key field.
pub fn amount_field(amount: i64) -> String {
    format!("{:0width$}", amount.max(0), width = AMOUNT_WIDTH)
}

const ORDERINGS: [Ordering; 4] = [Ordering::Date, Ordering::Party, Ordering::Amount, Ordering::Status];

/// The contract's key in every ordering, and its count's key.
fn keys(c: &Contract) -> ([(&'static Table<()>, String); 4], [String; 4]) {
    let date = c.transaction_date.to_string();
    let e = Entry { date: &date, id: &c.id, amount: c.amount, counterparty: &c.counterparty, status: c.status };
    let t = &c.tenant;
    let month = month_of(&date);
    let counts = [
        format!("{t}/s/{}", c.status.as_str()),
        format!("{t}/d/{month}"),
        format!("{t}/a/{}", amount_field(amount_bucket(c.amount))),
        format!("{t}/p/{}/{month}", c.counterparty),
    ];
    (ORDERINGS.map(|o| (o.table(), o.key(t, &e))), counts)
}

fn remove(tx: &mut Tx, c: &Contract) -> Result<(), StoreError> {
    let (keys, counts) = keys(c);
    for (table, key) in keys {
        tx.remove(table, &key)?;
    }
    for key in counts {
        match tx.get(&COUNTS, &key)?.unwrap_or(0) {
            0 | 1 => tx.remove(&COUNTS, &key).map(drop)?,
            n => tx.put(&COUNTS, &key, &(n - 1))?,
        }
    }
    Ok(())
}

fn insert(tx: &mut Tx, c: &Contract) -> Result<(), StoreError> {
    let (keys, counts) = keys(c);
    for (table, key) in keys {
        tx.put(table, &key, &())?;
    }
    for key in counts {
        let n = tx.get(&COUNTS, &key)?.unwrap_or(0);
        tx.put(&COUNTS, &key, &n.saturating_add(1))?;
    }
    Ok(())
}

/// `YYYY-MM` of a `YYYY-MM-DD` date: the bucket of the date counts.
fn month_of(date: &str) -> &str {
    date.get(..7).unwrap_or(date)
}

/// The bucket of the amount counts: the amount with all but its two leading digits zeroed,
/// so a bucket spans 1–10% of its amounts whatever their scale.
pub fn amount_bucket(amount: i64) -> i64 {
    let unit = amount_unit(amount);
    amount.max(0) / unit * unit
}

fn amount_unit(amount: i64) -> i64 {
    let digits = amount.max(1).ilog10() + 1;
    10i64.pow(digits.saturating_sub(2))
}

/// Moves the contract's entries from `old` (none for a new contract) to `new`.
pub fn save(tx: &mut Tx, old: Option<&Contract>, new: &Contract) -> Result<(), StoreError> {
    if let Some(old) = old {
        remove(tx, old)?;
    }
    insert(tx, new)
}

/// How many of the tenant's contracts have `status`.
pub fn count(tx: &impl Read, tenant: &str, status: Status) -> Result<u64, StoreError> {
    Ok(tx.get(&COUNTS, &format!("{tenant}/s/{}", status.as_str()))?.unwrap_or(0))
}

/// Builds the indexes from the contracts (schema 1 → 2).
pub fn rebuild(tx: &mut Tx) -> Result<(), StoreError> {
    for (_, c) in tx.scan(&crate::model::CONTRACTS, "")? {
        insert(tx, &c)?;
    }
    Ok(())
}

/// The criteria the indexes answer: the 電子帳簿保存法 three (transaction date range, amount
/// range, counterparty) and the status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Criteria {
    /// `YYYY-MM-DD`, inclusive.
    pub date_from: Option<String>,
    pub date_to: Option<String>,
    pub amount_min: Option<i64>,
    pub amount_max: Option<i64>,
    /// Company id.
    pub counterparty: Option<String>,
    pub status: Option<Status>,
}

impl Criteria {
    pub fn matches(&self, e: &Entry<'_>) -> bool {
        self.date_from.as_deref().is_none_or(|d| e.date >= d)
            && self.date_to.as_deref().is_none_or(|d| e.date <= d)
            && self.amount_min.is_none_or(|m| e.amount >= m)
            && self.amount_max.is_none_or(|m| e.amount <= m)
            && self.counterparty.as_deref().is_none_or(|c| e.counterparty == c)
            && self.status.is_none_or(|s| e.status == s)
    }
}

/// The order of a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    /// Transaction date, then id.
    Date,
    /// Amount, then id.
    Amount,
}

/// Up to this many matches are collected and sorted; beyond, the page is read by walking the
/// ordering of the sort instead (the matches are then at least this dense). Small in unit
/// tests, so they take both ways.
#[cfg(not(test))]
const COLLECT: usize = 20_000;
#[cfg(test)]
const COLLECT: usize = 6;
/// The first cap of the race between the date and the amount range.
#[cfg(not(test))]
const FIRST_CAP: usize = 4_096;
#[cfg(test)]
const FIRST_CAP: usize = 2;

/// One ordering's key range for the criteria.
#[derive(Debug, Clone)]
struct Path {
    ordering: Ordering,
    start: String,
    end: String,
}

impl Path {
    fn of(tenant: &str, ordering: Ordering, c: &Criteria) -> Self {
        let (min, max) = (c.amount_min.map(amount_field), c.amount_max.map(amount_field));
        let (from, to) = (c.date_from.as_deref(), c.date_to.as_deref());
        let (start, end) = match ordering {
            Ordering::Date => Ordering::range(tenant, &[], from, to),
            Ordering::Amount => Ordering::range(tenant, &[], min.as_deref(), max.as_deref()),
            Ordering::Party => Ordering::range(tenant, &[c.counterparty.as_deref().unwrap_or_default()], from, to),
            Ordering::Status => Ordering::range(tenant, &[c.status.map(Status::as_str).unwrap_or_default()], from, to),
        };
        Self { ordering, start, end }
    }

    /// Calls `visit` with each matching entry, in this path's order, until it returns false.
    fn walk(
        &self,
        tx: &impl Read,
        c: &Criteria,
        reverse: bool,
        visit: &mut dyn FnMut(Entry<'_>) -> bool,
    ) -> Result<(), StoreError> {
        let ordering = self.ordering;
        tx.visit_keys(ordering.table(), &self.start, &self.end, reverse, &mut |key| match ordering.parse(key) {
            Some(e) if c.matches(&e) => visit(e),
            _ => true,
        })
    }

    /// Whether the path's range is exactly the criteria (its keys need no filtering).
    fn is_exact(&self, c: &Criteria) -> bool {
        let dated = c.date_from.is_some() || c.date_to.is_some();
        let priced = c.amount_min.is_some() || c.amount_max.is_some();
        let (party, status) = (c.counterparty.is_some(), c.status.is_some());
        match self.ordering {
            Ordering::Date => !priced && !party && !status,
            Ordering::Amount => !dated && !party && !status,
            Ordering::Party => party && !priced && !status,
            Ordering::Status => status && !dated && !priced && !party,
        }
    }

    /// How many entries meet criteria this path's range is exactly: the counts of the buckets
    /// the range covers, and the keys of the (at most two) buckets it cuts.
    fn count_exact(&self, tx: &impl Read, tenant: &str, c: &Criteria) -> Result<usize, StoreError> {
        let (head, first, last) = match self.ordering {
            Ordering::Status => {
                let n = match c.status {
                    Some(status) => count(tx, tenant, status)?,
                    None => 0,
                };
                return Ok(usize::try_from(n).unwrap_or(usize::MAX));
            }
            Ordering::Date => (
                format!("{tenant}/d/"),
                c.date_from.as_deref().map(|d| month_of(d).to_string()),
                c.date_to.as_deref().map(|d| month_of(d).to_string()),
            ),
            Ordering::Party => (
                format!("{tenant}/p/{}/", c.counterparty.as_deref().unwrap_or_default()),
                c.date_from.as_deref().map(|d| month_of(d).to_string()),
                c.date_to.as_deref().map(|d| month_of(d).to_string()),
            ),
            Ordering::Amount => (
                format!("{tenant}/a/"),
                c.amount_min.map(|a| amount_field(amount_bucket(a))),
                c.amount_max.map(|a| amount_field(amount_bucket(a))),
            ),
        };
        let start = format!("{head}{}", first.unwrap_or_default());
        let end = match last {
            Some(l) => format!("{head}{l}0"),
            None => format!("{}0", &head[..head.len() - 1]),
        };
        let mut total = 0usize;
        for (key, n) in tx.scan_range(&COUNTS, &start, &end)? {
            let bucket = &key[head.len()..];
            // The bucket's part of the criteria: all of it, or a cut to count key by key.
            let mut cut = c.clone();
            let whole = match self.ordering {
                Ordering::Amount => {
                    let Ok(lo) = bucket.parse::<i64>() else { continue };
                    let hi = lo + amount_unit(lo) - 1;
                    cut.amount_min = Some(c.amount_min.map_or(lo, |m| m.max(lo)));
                    cut.amount_max = Some(c.amount_max.map_or(hi, |m| m.min(hi)));
                    c.amount_min.is_none_or(|m| m <= lo) && c.amount_max.is_none_or(|m| m >= hi)
                }
                _ => {
                    let (lo, hi) = (format!("{bucket}-01"), format!("{bucket}-31"));
                    let whole = c.date_from.as_deref().is_none_or(|d| d <= lo.as_str())
                        && c.date_to.as_deref().is_none_or(|d| d >= hi.as_str());
                    cut.date_from = Some(c.date_from.clone().filter(|d| *d > lo).unwrap_or(lo));
                    cut.date_to = Some(c.date_to.clone().filter(|d| *d < hi).unwrap_or(hi));
                    whole
                }
            };
            total = total.saturating_add(if whole {
                usize::try_from(n).unwrap_or(usize::MAX)
            } else {
                Path::of(tenant, self.ordering, &cut).count(tx)?
            });
        }
        Ok(total)
    }

    /// How many keys the path holds (none read but counted).
    fn count(&self, tx: &impl Read) -> Result<usize, StoreError> {
        let mut n = 0usize;
        tx.visit_keys(self.ordering.table(), &self.start, &self.end, false, &mut |_| {
            n += 1;
            true
        })?;
        Ok(n)
    }

    /// Whether the path holds at most `cap` keys.
    fn at_most(&self, tx: &impl Read, cap: usize) -> Result<bool, StoreError> {
        let mut n = 0;
        tx.visit_keys(self.ordering.table(), &self.start, &self.end, false, &mut |_| {
            n += 1;
            n <= cap
        })?;
        Ok(n <= cap)
    }
}

/// The narrowest ordering for the criteria: a counterparty's own (its dates in order), else
/// the smaller of the date and amount ranges (found by counting both up to a growing cap, so
/// the cost follows the smaller), else the status's, else all by date.
fn narrowest(tx: &impl Read, tenant: &str, c: &Criteria) -> Result<Path, StoreError> {
    if c.counterparty.is_some() {
        return Ok(Path::of(tenant, Ordering::Party, c));
    }
    let dated = c.date_from.is_some() || c.date_to.is_some();
    let priced = c.amount_min.is_some() || c.amount_max.is_some();
    match (dated, priced) {
        (true, true) => {
            let (by_date, by_amount) = (Path::of(tenant, Ordering::Date, c), Path::of(tenant, Ordering::Amount, c));
            let mut cap = FIRST_CAP;
            loop {
                if by_date.at_most(tx, cap)? {
                    return Ok(by_date);
                }
                if by_amount.at_most(tx, cap)? {
                    return Ok(by_amount);
                }
                cap = cap.saturating_mul(4);
            }
        }
        (true, false) => Ok(Path::of(tenant, Ordering::Date, c)),
        (false, true) => Ok(Path::of(tenant, Ordering::Amount, c)),
        (false, false) if c.status.is_some() => Ok(Path::of(tenant, Ordering::Status, c)),
        (false, false) => Ok(Path::of(tenant, Ordering::Date, c)),
    }
}

fn sort_entries(items: &mut [Owned], sort: Sort) {
    match sort {
        Sort::Date => items.sort_by(|a, b| a.date.cmp(&b.date).then_with(|| a.id.cmp(&b.id))),
        Sort::Amount => items.sort_by(|a, b| a.amount.cmp(&b.amount).then_with(|| a.id.cmp(&b.id))),
    }
}

/// Every entry meeting the criteria, in no particular order.
pub fn matching(tx: &impl Read, tenant: &str, c: &Criteria) -> Result<Vec<Owned>, StoreError> {
    let path = narrowest(tx, tenant, c)?;
    let mut out = Vec::new();
    path.walk(tx, c, false, &mut |e| {
        out.push(e.to_owned());
        true
    })?;
    Ok(out)
}

/// How many entries meet the criteria, and those of the page `skip..skip + take` in `sort`
/// order (descending unless `ascending`).
pub fn page(
    tx: &impl Read,
    tenant: &str,
    c: &Criteria,
    sort: Sort,
    ascending: bool,
    skip: usize,
    take: usize,
) -> Result<(usize, Vec<Owned>), StoreError> {
    let path = narrowest(tx, tenant, c)?;
    // A range that is the criteria is counted from the bucket counts; few are collected below.
    let counted = if path.is_exact(c) { Some(path.count_exact(tx, tenant, c)?).filter(|&n| n > COLLECT) } else { None };
    let total = match counted {
        Some(n) => n,
        None => {
            // Collect while few; past COLLECT only count.
            let mut n = 0usize;
            let mut kept = Vec::new();
            path.walk(tx, c, false, &mut |e| {
                n += 1;
                if n <= COLLECT {
                    kept.push(e.to_owned());
                } else if n == COLLECT + 1 {
                    kept = Vec::new();
                }
                true
            })?;
            if n <= COLLECT {
                sort_entries(&mut kept, sort);
                if !ascending {
                    kept.reverse();
                }
                let items = kept.into_iter().skip(skip).take(take).collect();
                return Ok((n, items));
            }
            n
        }
    };
    // Many matches: walk an ordering that is already in the sort's order.
    let ordered = match (sort, path.ordering) {
        (Sort::Date, Ordering::Date | Ordering::Party | Ordering::Status) => path,
        (Sort::Date, Ordering::Amount) => Path::of(tenant, Ordering::Date, c),
        (Sort::Amount, Ordering::Amount) => path,
        (Sort::Amount, _) => Path::of(tenant, Ordering::Amount, c),
    };
    let mut seen = 0usize;
    let mut items = Vec::new();
    ordered.walk(tx, c, !ascending, &mut |e| {
        seen += 1;
        if seen > skip {
            items.push(e.to_owned());
        }
        items.len() < take
    })?;
    Ok((total, items))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_ordering_reads_back_what_it_writes() {
        let e = Entry {
            date: "2026-04-01",
            id: "C00000042",
            amount: 1_234_000,
            counterparty: "K0000007",
            status: Status::SentBack,
        };
        for o in ORDERINGS {
            let key = o.key("T1", &e);
            assert_eq!(o.parse(&key), Some(e), "{o:?}: {key}");
        }
        assert_eq!(Ordering::Date.parse("T1/2026-04-01/C1"), None);
        assert_eq!(Ordering::Date.parse("T1/2026-04-01/C1/x/K1/completed"), None);
    }

    #[test]
    fn amount_keys_sort_numerically() {
        let key = |amount| {
            Ordering::Amount
                .key("T", &Entry { date: "2026-01-01", id: "C1", amount, counterparty: "K", status: Status::Completed })
        };
        assert!(key(9_000) < key(10_000));
        assert!(key(999_999_999_999) < key(1_000_000_000_000));
        assert_eq!(amount_field(5), "0000000000005");
        for (amount, bucket, unit) in
            [(0, 0, 1), (5, 5, 1), (99, 99, 1), (123, 120, 10), (1_234_000, 1_200_000, 100_000)]
        {
            assert_eq!((amount_bucket(amount), amount_unit(amount)), (bucket, unit), "{amount}");
        }
        assert_eq!(amount_bucket(1_000_000_000_000), 1_000_000_000_000);
    }

    #[test]
    fn a_range_holds_exactly_the_keys_between_its_bounds() {
        let (start, end) = Ordering::range("T1", &["K1"], Some("2026-04-01"), Some("2026-04-30"));
        let key = |date, cp| {
            Ordering::Party.key("T1", &Entry { date, id: "C9", amount: 1, counterparty: cp, status: Status::Completed })
        };
        let inside = |k: String| start <= k && k < end;
        assert!(inside(key("2026-04-01", "K1")));
        assert!(inside(key("2026-04-30", "K1")));
        assert!(!inside(key("2026-03-31", "K1")));
        assert!(!inside(key("2026-05-01", "K1")));
        assert!(!inside(key("2026-04-10", "K10")));
        assert!(!inside(key("2026-04-10", "K")));
        // Open at both ends: the whole counterparty, and no other.
        let (start, end) = Ordering::range("T1", &["K1"], None, None);
        let inside = |k: String| start <= k && k < end;
        assert!(inside(key("1999-01-01", "K1")) && inside(key("2099-12-31", "K1")));
        assert!(!inside(key("2026-04-10", "K10")));
        // The whole tenant: not T10's.
        let (start, end) = Ordering::range("T1", &[], None, None);
        assert!(start.as_str() <= "T1/2026" && "T1/2026" < end.as_str());
        assert!(!("T10/2026" >= start.as_str() && "T10/2026" < end.as_str()));
    }

    /// The indexed search answers exactly what reading every record would: every criterion
    /// combination, both sorts and orders, several pages, for each kind of caller — on data
    /// that makes it both collect-and-sort and walk an ordering, and after changes.
    mod against_a_full_read {
        #![allow(clippy::unwrap_used, clippy::expect_used)]
        use super::super::*;
        use crate::model::{Contract, DocType, INDEX, Party, Step, Summary, Tax};
        use crate::policy::{self, Visible};
        use crate::search::{self, Query, SortKey};
        use jiff::ToSpan;
        use jiff::civil::Date;
        use keiyaku_kernel::Store;
        use keiyaku_kernel::context::Caller;
        use keiyaku_kernel::directory::Role;
        use keiyaku_kernel::module::{KernelModule, Module};
        use keiyaku_kernel::paging::Paging;
        use std::sync::Arc;

        fn store() -> (Store, std::path::PathBuf) {
            let dir = std::env::temp_dir().join(format!("keiyaku-contracts-index-{}", keiyaku_kernel::ids::new_id()));
            std::fs::create_dir_all(&dir).unwrap();
            let modules: Vec<Box<dyn Module>> = vec![Box::new(KernelModule), Box::new(crate::ContractsModule)];
            let refs: Vec<&dyn Module> = modules.iter().map(|m| m.as_ref()).collect();
            let s = Store::open(&dir.join("t.redb"), Arc::new(keiyaku_kernel::SystemClock), &refs).unwrap();
            (s, dir)
        }

        struct Rng(u64);
        impl Rng {
            fn below(&mut self, n: u64) -> u64 {
                self.0 ^= self.0 << 13;
                self.0 ^= self.0 >> 7;
                self.0 ^= self.0 << 17;
                self.0 % n
            }
        }

        fn day(n: u64) -> Date {
            Date::new(2026, 1, 1).unwrap().checked_add((n as i64).days()).unwrap()
        }

        fn contract(tenant: &str, i: u64, rng: &mut Rng) -> Contract {
            let now = jiff::Timestamp::now();
            let date = day(rng.below(40));
            Contract {
                id: format!("C{i:04}"),
                tenant: tenant.into(),
                number: format!("N-{i}"),
                title: format!("工事 {i}"),
                doc_type: DocType::PurchaseOrder,
                counterparty: format!("K{}", rng.below(4)),
                transaction_date: date,
                amount: (rng.below(12) as i64) * 100_000,
                tax: Tax::Included,
                fields: Vec::new(),
                registrant: format!("U{}", rng.below(3)),
                registrant_group: format!("G{}", rng.below(2)),
                documents: Vec::new(),
                route: vec![Step {
                    party: Party::Owner,
                    role: Role::Signer,
                    company_id: "OWNER".into(),
                    users: vec![format!("U{}", 3 + rng.below(3))],
                    done: None,
                }],
                status: Status::ALL[rng.below(5) as usize],
                current: None,
                history: Vec::new(),
                retention_until: date,
                created_at: now,
                updated_at: now,
                completed_at: None,
                completion_report: None,
            }
        }

        fn caller(owner_side: bool, roles: Vec<Role>, company: &str, user: &str, group: &str) -> Caller {
            Caller {
                tenant: "T1".into(),
                user_id: user.into(),
                name: String::new(),
                company_id: company.into(),
                group_id: group.into(),
                owner_side,
                roles,
                client: None,
            }
        }

        /// What 契約検索 returned before the indexes: every record read, filtered and sorted.
        fn expected(tx: &impl Read, c: &Caller, q: &Query) -> Vec<Summary> {
            let mut items: Vec<Summary> = tx
                .scan(&INDEX, &format!("{}/", c.tenant))
                .unwrap()
                .into_iter()
                .map(|(_, s)| s)
                .filter(|s| {
                    q.date_from.is_none_or(|d| s.transaction_date >= d)
                        && q.date_to.is_none_or(|d| s.transaction_date <= d)
                        && q.matches(s)
                        && policy::can_see(c, &Visible::summary(s))
                })
                .collect();
            match q.sort {
                Some(SortKey::Amount) => items.sort_by(|a, b| a.amount.cmp(&b.amount).then(a.id.cmp(&b.id))),
                _ => items.sort_by(|a, b| a.transaction_date.cmp(&b.transaction_date).then(a.id.cmp(&b.id))),
            }
            if !q.ascending {
                items.reverse();
            }
            items
        }

        fn check(store: &Store, rng: &mut Rng) {
            let callers = [
                caller(true, vec![Role::Administration], "OWNER", "U9", "G9"),
                caller(false, vec![Role::Signer], "K1", "P1", "PG"),
                caller(true, vec![Role::PersonInCharge], "OWNER", "U4", "G1"),
            ];
            let mut checked = 0;
            for combo in 0..32u32 {
                for _ in 0..3 {
                    let has = |bit: u32| combo & (1 << bit) != 0;
                    let from = rng.below(40);
                    let q = Query {
                        date_from: has(0).then(|| day(from)),
                        date_to: has(1).then(|| day(from + rng.below(15))),
                        amount_min: has(2).then(|| rng.below(6) as i64 * 100_000),
                        amount_max: has(3).then(|| (5 + rng.below(7)) as i64 * 100_000),
                        counterparty: has(4).then(|| format!("K{}", rng.below(5))),
                        status: (rng.below(3) == 0).then(|| Status::ALL[rng.below(5) as usize]),
                        sort: Some([SortKey::TransactionDate, SortKey::Amount][rng.below(2) as usize]),
                        ascending: rng.below(2) == 0,
                        ..Query::default()
                    };
                    for c in &callers {
                        let want = store.read_blocking(|tx| Ok::<_, StoreError>(expected(tx, c, &q))).unwrap();
                        for paging in
                            [Paging { page: 1, per_page: 5 }, Paging { page: 3, per_page: 4 }, Paging::default()]
                        {
                            let got = store.read_blocking(|tx| search::contracts(tx, c, &q, paging)).unwrap();
                            let ids = |v: &[Summary]| v.iter().map(|s| s.id.clone()).collect::<Vec<_>>();
                            let page: Vec<Summary> =
                                want.iter().skip(paging.skip()).take(paging.per_page).cloned().collect();
                            assert_eq!(got.total, want.len(), "total of {q:?} for {}", c.user_id);
                            assert_eq!(ids(&got.items), ids(&page), "page {paging:?} of {q:?} for {}", c.user_id);
                            checked += 1;
                        }
                        let all = store.read_blocking(|tx| search::all(tx, c, &q)).unwrap();
                        assert_eq!(all, want, "all of {q:?}");
                    }
                }
            }
            assert_eq!(checked, 32 * 3 * 3 * 3);
        }

        #[test]
        fn indexed_search_equals_reading_every_record() {
            let (store, dir) = store();
            let mut rng = Rng(0x2545_f491_4f6c_dd1d);
            let mut contracts = Vec::new();
            store
                .write_blocking(|tx| {
                    for i in 0..240 {
                        let tenant = if i % 7 == 0 { "T10" } else { "T1" };
                        let c = contract(tenant, i, &mut rng);
                        crate::flow::save(tx, None, &c).unwrap();
                        contracts.push(c);
                    }
                    Ok::<_, StoreError>(())
                })
                .unwrap();
            check(&store, &mut rng);

            // Changes move the entries: new dates, amounts, counterparties and statuses.
            store
                .write_blocking(|tx| {
                    for c in contracts.iter_mut().step_by(3) {
                        let old = c.clone();
                        let fresh = contract(&c.tenant, 0, &mut rng);
                        c.transaction_date = fresh.transaction_date;
                        c.amount = fresh.amount;
                        c.counterparty = fresh.counterparty;
                        c.status = fresh.status;
                        crate::flow::save(tx, Some(&old), c).unwrap();
                    }
                    Ok::<_, StoreError>(())
                })
                .unwrap();
            check(&store, &mut rng);
            let counted: u64 = store
                .read_blocking(|tx| {
                    Status::ALL.into_iter().map(|s| count(tx, "T1", s)).sum::<Result<u64, StoreError>>()
                })
                .unwrap();
            assert_eq!(counted as usize, contracts.iter().filter(|c| c.tenant == "T1").count());

            // A database of schema 1 gets the same indexes from its contracts.
            let keys = || -> Vec<Vec<String>> {
                store
                    .read_blocking(|tx| {
                        ORDERINGS
                            .iter()
                            .map(|o| tx.scan(o.table(), "").map(|v| v.into_iter().map(|(k, _)| k).collect()))
                            .collect::<Result<Vec<_>, StoreError>>()
                    })
                    .unwrap()
            };
            let before = keys();
            store
                .write_blocking(|tx| {
                    for o in ORDERINGS {
                        for (k, _) in tx.scan(o.table(), "")? {
                            tx.remove(o.table(), &k)?;
                        }
                    }
                    for (k, _) in tx.scan(&COUNTS, "")? {
                        tx.remove(&COUNTS, &k)?;
                    }
                    crate::ContractsModule.migrate(tx, 1)
                })
                .unwrap();
            let after = keys();
            assert_eq!(before, after);
            assert!(before[0].len() == contracts.len());
            check(&store, &mut rng);
            drop(store);
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
