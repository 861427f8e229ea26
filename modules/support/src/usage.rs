//! The usage report (利用状況照会): for one month (Japan time), per company and group, the
//! logins, active users, certificates issued and revoked, tickets ordered and used, mails
//! sent and documents registered. Figures come from the audit log (every state change is
//! audited, see [`ACTIONS`]) and the mail outbox; nothing extra is recorded for the report.

use crate::SupportError;
use crate::policy::UsageScope;
use jiff::Timestamp;
use keiyaku_kernel::FieldCode;
use keiyaku_kernel::audit::{self, AuditRecord};
use keiyaku_kernel::clock::tokyo;
use keiyaku_kernel::context::ActorKind;
use keiyaku_kernel::directory::{self, Company, Group};
use keiyaku_kernel::error::Lang;
use keiyaku_kernel::mail;
use keiyaku_kernel::store::{Read, StoreError};
use keiyaku_kernel::validate::Rule;
use std::collections::{BTreeSet, HashMap};

/// A calendar month in Japan time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Month {
    pub year: i16,
    pub month: i8,
}

impl Month {
    /// `YYYY-MM` (2000–9999).
    pub fn parse(s: &str) -> Result<Month, SupportError> {
        let bad = || {
            SupportError::invalid(
                "month",
                Rule::Custom {
                    code: FieldCode::InvalidMonth,
                    ja: "年月は YYYY-MM の形式で指定してください(例: 2026-11)。".into(),
                    en: "Give the month as YYYY-MM (e.g. 2026-11).".into(),
                },
            )
        };
        let s = s.trim();
        let (y, m) = s.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 || !y.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let year: i16 = y.parse().map_err(|_| bad())?;
        let month: i8 = m.parse().map_err(|_| bad())?;
        if !(2000..=9999).contains(&year) || !(1..=12).contains(&month) {
            return Err(bad());
        }
        Ok(Month { year, month })
    }

    /// The month `ts` falls in, in Japan time.
    pub fn of(ts: Timestamp) -> Month {
        let d = ts.to_zoned_datetime(tokyo());
        Month { year: d.year(), month: d.month() }
    }

    pub fn contains(self, ts: Timestamp) -> bool {
        Month::of(ts) == self
    }

    pub fn previous(self) -> Month {
        if self.month == 1 { Month { year: self.year - 1, month: 12 } } else { Month { month: self.month - 1, ..self } }
    }

    pub fn next(self) -> Month {
        if self.month == 12 { Month { year: self.year + 1, month: 1 } } else { Month { month: self.month + 1, ..self } }
    }

    /// 2026年11月 / November 2026 style.
    pub fn label(self, lang: Lang) -> String {
        match lang {
            Lang::Ja => format!("{}年{}月", self.year, self.month),
            Lang::En => format!("{}-{:02}", self.year, self.month),
        }
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// What is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    Logins,
    CertificatesIssued,
    CertificatesRevoked,
    /// Tickets in an order: the sum of `detail.quantities` (1-, 2- and 3-year).
    TicketsOrdered,
    /// One ticket is consumed by each issuance.
    TicketsUsed,
    Documents,
}

/// The audit actions the report counts and what each adds to: auth's logins, the certs
/// module's issuance (a certificate and the ticket it consumes), revocation and ticket
/// orders, and (once the contracts module exists) registered documents.
pub const ACTIONS: [(&str, &[Metric]); 5] = [
    ("auth.login", &[Metric::Logins]),
    ("certs.issue", &[Metric::CertificatesIssued, Metric::TicketsUsed]),
    ("certs.revoke", &[Metric::CertificatesRevoked]),
    ("certs.order_place", &[Metric::TicketsOrdered]),
    ("document.register", &[Metric::Documents]),
];

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub logins: u64,
    /// Distinct users who logged in during the month.
    pub active_users: u64,
    pub certificates_issued: u64,
    pub certificates_revoked: u64,
    pub tickets_ordered: u64,
    pub tickets_used: u64,
    pub mails_sent: u64,
    pub documents: u64,
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        self.logins += o.logins;
        self.active_users += o.active_users;
        self.certificates_issued += o.certificates_issued;
        self.certificates_revoked += o.certificates_revoked;
        self.tickets_ordered += o.tickets_ordered;
        self.tickets_used += o.tickets_used;
        self.mails_sent += o.mails_sent;
        self.documents += o.documents;
    }

    pub fn is_zero(&self) -> bool {
        *self == Counts::default()
    }

    /// In the column order of the report.
    pub fn values(&self) -> [u64; 8] {
        [
            self.logins,
            self.active_users,
            self.certificates_issued,
            self.certificates_revoked,
            self.tickets_ordered,
            self.tickets_used,
            self.mails_sent,
            self.documents,
        ]
    }
}

/// Column headers of the figures, in [`Counts::values`] order.
pub fn columns(lang: Lang) -> [&'static str; 8] {
    [
        lang.pick("ログイン回数", "Logins"),
        lang.pick("利用ユーザー数", "Active users"),
        lang.pick("証明書発行", "Certificates issued"),
        lang.pick("証明書失効", "Certificates revoked"),
        lang.pick("チケット購入", "Tickets ordered"),
        lang.pick("チケット使用", "Tickets used"),
        lang.pick("メール送信", "Mails sent"),
        lang.pick("文書登録", "Documents"),
    ]
}

/// One line of the report: a group of a company, or (company and group none) what cannot be
/// attributed to a user of the tenant (public ticket orders, mail to outside addresses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub company_id: Option<String>,
    pub company_name: String,
    pub vendor_code: Option<String>,
    pub group_id: Option<String>,
    pub group_name: String,
    pub counts: Counts,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub tenant: String,
    pub month: Month,
    pub rows: Vec<Row>,
    pub total: Counts,
}

/// Per group: counts and the users seen logging in.
#[derive(Default)]
struct Tally {
    counts: Counts,
    users: BTreeSet<String>,
}

/// Builds the report of `tenant` for `month`, limited to `scope`.
pub fn report(tx: &impl Read, tenant: &str, month: Month, scope: &UsageScope) -> Result<Report, StoreError> {
    let users: HashMap<String, String> =
        directory::list_users(tx, tenant)?.into_iter().map(|u| (u.user_id, u.group_id)).collect();
    let mut by_email: HashMap<String, Option<String>> = HashMap::new();
    // Group id ("" = not attributable) → tally.
    let mut tally: HashMap<String, Tally> = HashMap::new();
    let prefix = format!("{tenant}/");

    for r in audit::all(tx)? {
        let Some((_, metrics)) = ACTIONS.iter().find(|(a, _)| *a == r.action) else { continue };
        let ours = r.actor.tenant.as_deref() == Some(tenant) || r.target.starts_with(&prefix);
        if !ours || !r.at.parse::<Timestamp>().is_ok_and(|t| month.contains(t)) {
            continue;
        }
        let user = match attributed_user(&r, tenant, &users) {
            Some(u) => Some(u),
            None => match r.detail.get("email").and_then(serde_json::Value::as_str) {
                Some(email) => user_by_email(tx, tenant, email, &mut by_email)?,
                None => None,
            },
        };
        let group = user.as_ref().and_then(|u| users.get(u)).cloned().unwrap_or_default();
        let t = tally.entry(group).or_default();
        for metric in *metrics {
            match metric {
                Metric::Logins => {
                    t.counts.logins += 1;
                    if let Some(u) = &user {
                        t.users.insert(u.clone());
                    }
                }
                Metric::CertificatesIssued => t.counts.certificates_issued += 1,
                Metric::CertificatesRevoked => t.counts.certificates_revoked += 1,
                Metric::TicketsOrdered => t.counts.tickets_ordered += ticket_count(&r),
                Metric::TicketsUsed => t.counts.tickets_used += 1,
                Metric::Documents => t.counts.documents += 1,
            }
        }
    }
    for m in mail::all_mails(tx)? {
        if m.tenant.as_deref() != Some(tenant) || !m.created_at.parse::<Timestamp>().is_ok_and(|t| month.contains(t)) {
            continue;
        }
        let group = user_by_email(tx, tenant, &m.to, &mut by_email)?.and_then(|u| users.get(&u).cloned());
        tally.entry(group.unwrap_or_default()).or_default().counts.mails_sent += 1;
    }
    for t in tally.values_mut() {
        t.counts.active_users = t.users.len() as u64;
    }

    let companies: Vec<Company> = directory::list_companies(tx, tenant)?
        .into_iter()
        .filter(|c| match scope {
            UsageScope::Tenant => true,
            UsageScope::Company(id) => &c.id == id,
        })
        .collect();
    let groups = directory::list_groups(tx, tenant)?;
    let mut rows = Vec::new();
    for c in &companies {
        for g in tree_order(c, &groups) {
            rows.push(Row {
                company_id: Some(c.id.clone()),
                company_name: c.name.clone(),
                vendor_code: c.vendor_code.clone(),
                group_id: Some(g.id.clone()),
                group_name: g.name.clone(),
                counts: tally.get(&g.id).map(|t| t.counts).unwrap_or_default(),
            });
        }
    }
    if *scope == UsageScope::Tenant
        && let Some(t) = tally.get("")
        && !t.counts.is_zero()
    {
        rows.push(Row {
            company_id: None,
            company_name: String::new(),
            vendor_code: None,
            group_id: None,
            group_name: String::new(),
            counts: t.counts,
        });
    }
    let mut total = Counts::default();
    for r in &rows {
        total.add(&r.counts);
    }
    Ok(Report { tenant: tenant.to_string(), month, rows, total })
}

/// The user a record is about: the target when it names a user of the tenant (a login),
/// else `detail.user_id` (the holder of an issued or revoked certificate), else the acting
/// user.
fn attributed_user(r: &AuditRecord, tenant: &str, users: &HashMap<String, String>) -> Option<String> {
    let known = |u: &str| users.contains_key(u).then(|| u.to_string());
    let target = r.target.strip_prefix(tenant).and_then(|t| t.strip_prefix('/')).and_then(known);
    let holder = || r.detail.get("user_id").and_then(serde_json::Value::as_str).and_then(known);
    let actor = || {
        (r.actor.kind == ActorKind::User && r.actor.tenant.as_deref() == Some(tenant))
            .then(|| known(&r.actor.id))
            .flatten()
    };
    target.or_else(holder).or_else(actor)
}

/// The user with this e-mail address in the tenant (cached), e.g. a mail's recipient or
/// a ticket order's contact.
fn user_by_email(
    tx: &impl Read,
    tenant: &str,
    email: &str,
    cache: &mut HashMap<String, Option<String>>,
) -> Result<Option<String>, StoreError> {
    let key = email.trim().to_ascii_lowercase();
    if let Some(found) = cache.get(&key) {
        return Ok(found.clone());
    }
    let found = if key.contains('@') { directory::find_by_login(tx, tenant, &key)?.map(|u| u.user_id) } else { None };
    cache.insert(key, found.clone());
    Ok(found)
}

/// Tickets in an order: the sum of its quantities per term.
fn ticket_count(r: &AuditRecord) -> u64 {
    match r.detail.get("quantities") {
        Some(serde_json::Value::Array(q)) => q.iter().filter_map(serde_json::Value::as_u64).sum(),
        Some(serde_json::Value::Object(q)) => q.values().filter_map(serde_json::Value::as_u64).sum(),
        _ => 0,
    }
}

/// A company's groups, depth first from its root group.
fn tree_order<'a>(c: &Company, groups: &'a [Group]) -> Vec<&'a Group> {
    fn walk<'a>(id: &str, groups: &'a [Group], out: &mut Vec<&'a Group>, depth: usize) {
        if depth > 64 {
            return;
        }
        for g in groups.iter().filter(|g| g.parent_id.as_deref() == Some(id)) {
            out.push(g);
            walk(&g.id, groups, out, depth + 1);
        }
    }
    let mut out = Vec::new();
    if let Some(root) = groups.iter().find(|g| g.id == c.root_group_id) {
        out.push(root);
        walk(&root.id, groups, &mut out, 0);
    }
    out
}

/// The label of a row's company and group columns ("—" lines are not attributable).
pub fn row_labels(r: &Row, lang: Lang) -> (String, String) {
    if r.company_id.is_none() {
        return (lang.pick("(利用者以外)", "(not a user)").to_string(), String::new());
    }
    (r.company_name.clone(), r.group_name.clone())
}

/// The report as CSV for Excel: UTF-8 with a BOM, CRLF line ends, a header line, one line
/// per row and a total line.
pub fn csv(report: &Report, lang: Lang) -> Vec<u8> {
    let mut lines: Vec<Vec<String>> = Vec::new();
    let mut head =
        vec![lang.pick("年月", "Month"), lang.pick("会社名", "Company"), lang.pick("業者コード", "Vendor code")];
    head.push(lang.pick("グループ", "Group"));
    head.extend(columns(lang));
    lines.push(head.iter().map(|h| h.to_string()).collect());
    let month = report.month.to_string();
    for r in &report.rows {
        let (company, group) = row_labels(r, lang);
        let mut cells = vec![month.clone(), company, r.vendor_code.clone().unwrap_or_default(), group];
        cells.extend(r.counts.values().iter().map(u64::to_string));
        lines.push(cells);
    }
    let mut total = vec![month, lang.pick("合計", "Total").to_string(), String::new(), String::new()];
    total.extend(report.total.values().iter().map(u64::to_string));
    lines.push(total);
    keiyaku_kernel::csv::file(lines)
}

/// The CSV's file name, e.g. `usage-HXOS2-2026-11.csv`.
pub fn csv_file_name(report: &Report) -> String {
    format!("usage-{}-{}.csv", report.tenant, report.month)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn months_parse_strictly() {
        assert_eq!(Month::parse("2026-11").ok(), Some(Month { year: 2026, month: 11 }));
        for bad in ["", "2026-13", "2026-00", "26-11", "2026/11", "2026-1", "１２３４-11", "1999-12", "2026-11-01"]
        {
            assert!(Month::parse(bad).is_err(), "{bad}");
        }
        let m = Month { year: 2026, month: 1 };
        assert_eq!(m.previous().to_string(), "2025-12");
        assert_eq!(m.previous().next(), m);
        assert_eq!(m.label(Lang::Ja), "2026年1月");
    }

    #[test]
    fn months_are_japan_time() {
        let m = Month { year: 2026, month: 12 };
        let ts = |s: &str| s.parse::<Timestamp>().unwrap_or(Timestamp::UNIX_EPOCH);
        assert!(m.contains(ts("2026-11-30T15:00:00Z")));
        assert!(!m.contains(ts("2026-11-30T14:59:59Z")));
        assert!(!m.contains(ts("2026-12-31T15:00:00Z")));
    }

    #[test]
    fn csv_has_bom_crlf_and_defused_cells() {
        let counts = Counts { logins: 3, active_users: 2, mails_sent: 1, ..Default::default() };
        let report = Report {
            tenant: "HXOS2".into(),
            month: Month { year: 2026, month: 11 },
            rows: vec![Row {
                company_id: Some("c".into()),
                company_name: "=HYPERLINK(\"x\")".into(),
                vendor_code: Some("A15336".into()),
                group_id: Some("g".into()),
                group_name: "本社, 管理部".into(),
                counts,
            }],
            total: counts,
        };
        let bytes = csv(&report, Lang::Ja);
        assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
        let text = String::from_utf8_lossy(&bytes[3..]).to_string();
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(
            lines[0],
            "年月,会社名,業者コード,グループ,ログイン回数,利用ユーザー数,証明書発行,証明書失効,チケット購入,チケット使用,メール送信,文書登録"
        );
        assert_eq!(lines[1], "2026-11,\"'=HYPERLINK(\"\"x\"\")\",A15336,\"本社, 管理部\",3,2,0,0,0,0,1,0");
        assert_eq!(lines[2], "2026-11,合計,,,3,2,0,0,0,0,1,0");
        assert_eq!(lines[3], "");
        assert_eq!(csv_file_name(&report), "usage-HXOS2-2026-11.csv");
    }

    #[test]
    fn figures_are_attributed_to_the_users_groups() {
        use keiyaku_kernel::context::Actor;
        use keiyaku_kernel::directory::{NewCompany, NewTenant, NewUser, Role};
        use keiyaku_kernel::mail::NewMail;
        use keiyaku_kernel::module::{KernelModule, Module};
        use keiyaku_kernel::{ManualClock, Store};
        use std::sync::Arc;

        let path = std::env::temp_dir().join(format!("keiyaku-usage-{}.redb", keiyaku_kernel::ids::new_id()));
        let clock = Arc::new(ManualClock::new("2026-11-25T01:00:00Z".parse().unwrap_or(Timestamp::UNIX_EPOCH)));
        let modules: [&dyn Module; 1] = [&KernelModule];
        let store = Store::open(&path, clock.clone(), &modules).unwrap_or_else(|e| panic!("{e}"));
        let sys = Actor::system();
        let r: Result<(), keiyaku_kernel::directory::DirectoryError> = store.write_blocking(|tx| {
            let nt = NewTenant {
                code: "HXOS2".into(),
                name: "x".into(),
                trial: false,
                owner_name: "オーナー株式会社".into(),
                owner_name_kana: String::new(),
            };
            let (_, _, root) = directory::create_tenant(tx, &sys, nt)?;
            let nc =
                NewCompany { name: "取引先株式会社".into(), name_kana: String::new(), vendor_code: "A1".into() };
            let (_, proot) = directory::create_partner_company(tx, &sys, "HXOS2", nc)?;
            for (id, group) in [("O1", &root.id), ("P1", &proot.id)] {
                let nu = NewUser {
                    user_id: id.into(),
                    name: id.into(),
                    email: format!("{id}@example.jp"),
                    roles: vec![Role::Signer],
                    group_id: group.clone(),
                    ..Default::default()
                };
                directory::create_user(tx, &sys, "HXOS2", nu)?;
            }
            let user =
                |id: &str| Actor { kind: ActorKind::User, tenant: Some("HXOS2".into()), id: id.into(), client: None };
            tx.audit(&user("O1"), "auth.login", "HXOS2/O1", serde_json::json!({}))?;
            tx.audit(&user("O1"), "auth.login", "HXOS2/O1", serde_json::json!({}))?;
            tx.audit(&user("P1"), "auth.login", "HXOS2/P1", serde_json::json!({}))?;
            tx.audit(&user("O1"), "certs.revoke", "HXOS2/99", serde_json::json!({"user_id": "P1"}))?;
            tx.audit(
                &sys,
                "certs.order_place",
                "HXOS2/o",
                serde_json::json!({"quantities": [1, 2, 3], "email": "p1@EXAMPLE.jp"}),
            )?;
            tx.audit(&sys, "auth.login", "OTHER/O1", serde_json::json!({}))?;
            tx.send_mail(
                NewMail { tenant: Some("HXOS2".into()), to: "O1@example.jp".into(), ..Default::default() },
                false,
            )?;
            tx.send_mail(
                NewMail { tenant: Some("HXOS2".into()), to: "outside@example.com".into(), ..Default::default() },
                false,
            )?;
            tx.send_mail(NewMail { tenant: None, to: "O1@example.jp".into(), ..Default::default() }, false)?;
            Ok(())
        });
        assert!(r.is_ok(), "{r:?}");
        let nov = Month { year: 2026, month: 11 };
        let rep =
            store.read_blocking(|tx| report(tx, "HXOS2", nov, &UsageScope::Tenant)).unwrap_or_else(|e| panic!("{e}"));
        let _ = std::fs::remove_file(&path);
        let find = |company: &str| rep.rows.iter().find(|r| r.company_name == company).map(|r| r.counts);
        let owner = find("オーナー株式会社").unwrap_or_default();
        let partner = find("取引先株式会社").unwrap_or_default();
        let outside = rep.rows.iter().find(|r| r.company_id.is_none()).map(|r| r.counts).unwrap_or_default();
        assert_eq!((owner.logins, owner.active_users, owner.mails_sent), (2, 1, 1));
        assert_eq!((partner.logins, partner.certificates_revoked, partner.tickets_ordered), (1, 1, 6));
        assert_eq!(outside.mails_sent, 1);
        assert_eq!(rep.total.logins, 3);
        assert_eq!(rep.rows.len(), 3);
        let dec = store.read_blocking(|tx| report_for(tx, nov.next())).unwrap_or_else(|e| panic!("{e}"));
        assert!(dec.total.is_zero());
        let scoped = store
            .read_blocking(|tx| {
                let pid = rep.rows.iter().find(|r| r.vendor_code.is_some()).and_then(|r| r.company_id.clone());
                report(tx, "HXOS2", nov, &UsageScope::Company(pid.unwrap_or_default()))
            })
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(scoped.rows.len(), 1);
        assert_eq!(scoped.total, partner);

        fn report_for(tx: &keiyaku_kernel::ReadTx, m: Month) -> Result<Report, StoreError> {
            report(tx, "HXOS2", m, &UsageScope::Tenant)
        }
    }

    proptest! {
        #[test]
        fn month_parse_never_panics(s in "\\PC{0,12}") {
            let _ = Month::parse(&s);
        }
    }
}
