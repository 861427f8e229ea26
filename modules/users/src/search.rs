//! User search (`searchUsers`): by user-ID prefix or a part of the name, case-insensitive,
//! ignoring spaces and full-/half-width differences of letters and digits.
//!
//! Decoding every user record of a 10,000-user tenant takes ~25 ms, so searches run over a
//! compact per-tenant index kept in memory ([`IndexCache`]), built from a read snapshot and
//! tagged with the tenant's user *generation* and user count:
//! - every change of an existing user bumps the generation in its transaction (the directory
//!   does, in `update_user`); an index of another generation is rebuilt;
//! - the count (a key-only scan, ~1.5 ms at 10,000 users) is compared at most once per
//!   `recheck` (default 1 s): it catches users created without this module (the operator's
//!   tenant creation, demo data), which therefore show up in search within that time;
//! - users created or updated through [`crate::Users`] are patched into the cached index right
//!   after their transaction commits, so they are found at once.
//!
//! Creating a user does not bump the generation: one table less in the hottest write.

use crate::scope::SearchScope;
use keiyaku_kernel::directory::{self, User, UserStatus};
use keiyaku_kernel::store::{Read, StoreError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The tenant's user generation as of `tx`.
pub fn generation(tx: &impl Read, tenant: &str) -> Result<u64, StoreError> {
    directory::user_generation(tx, tenant)
}

/// Lower-case, no spaces, full-width ASCII folded to half width.
pub fn fold(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c as u32 {
            0xff01..=0xff5e => char::from_u32(c as u32 - 0xfee0).unwrap_or(c),
            _ => c,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub user_id: String,
    id_fold: String,
    name_fold: String,
    pub company_id: String,
    pub group_id: String,
    pub status: UserStatus,
}

impl Entry {
    pub fn of(u: &User) -> Self {
        Self {
            user_id: u.user_id.clone(),
            id_fold: fold(&u.user_id),
            name_fold: fold(&u.name),
            company_id: u.company_id.clone(),
            group_id: u.group_id.clone(),
            status: u.status,
        }
    }
}

/// Every user of one tenant, in user-ID order.
#[derive(Debug, Default, Clone)]
pub struct TenantIndex {
    generation: u64,
    count: usize,
    pub entries: Vec<Entry>,
}

/// What to look for.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// User-ID prefix or part of the name.
    pub q: Option<String>,
    /// User-ID prefix only (the dialog's ユーザーID field).
    pub user_id: Option<String>,
    /// Part of the name only (the dialog's ユーザー名 field).
    pub name: Option<String>,
    pub status: Option<UserStatus>,
}

struct Folded {
    q: Option<String>,
    user_id: Option<String>,
    name: Option<String>,
    status: Option<UserStatus>,
}

impl Query {
    fn folded(&self) -> Folded {
        let f = |o: &Option<String>| o.as_deref().map(fold).filter(|s| !s.is_empty());
        Folded { q: f(&self.q), user_id: f(&self.user_id), name: f(&self.name), status: self.status }
    }
}

impl Folded {
    fn matches(&self, e: &Entry) -> bool {
        self.q.as_ref().is_none_or(|q| e.id_fold.starts_with(q.as_str()) || e.name_fold.contains(q.as_str()))
            && self.user_id.as_ref().is_none_or(|p| e.id_fold.starts_with(p.as_str()))
            && self.name.as_ref().is_none_or(|n| e.name_fold.contains(n.as_str()))
            && self.status.is_none_or(|s| e.status == s)
    }
}

fn in_scope(scope: &SearchScope, e: &Entry) -> bool {
    match scope {
        SearchScope::Tenant => true,
        SearchScope::Group(g) => e.group_id == *g,
    }
}

impl TenantIndex {
    pub fn build(tx: &impl Read, tenant: &str) -> Result<Self, StoreError> {
        let generation = generation(tx, tenant)?;
        let entries: Vec<Entry> = directory::list_users(tx, tenant)?.iter().map(Entry::of).collect();
        Ok(Self { generation, count: entries.len(), entries })
    }

    /// The user IDs in `scope` matching `query`, in user-ID order: one page and the total.
    pub fn search(&self, scope: &SearchScope, query: &Query, skip: usize, limit: usize) -> (Vec<String>, usize) {
        let f = query.folded();
        let mut total = 0;
        let mut page = Vec::new();
        for e in self.entries.iter().filter(|e| in_scope(scope, e) && f.matches(e)) {
            if total >= skip && page.len() < limit {
                page.push(e.user_id.clone());
            }
            total += 1;
        }
        (page, total)
    }
}

impl TenantIndex {
    /// Inserts or replaces a user's entry (keeping user-ID order).
    fn upsert(&mut self, e: Entry) {
        match self.entries.binary_search_by(|x| x.user_id.as_str().cmp(e.user_id.as_str())) {
            Ok(i) => self.entries[i] = e,
            Err(i) => {
                self.entries.insert(i, e);
                self.count += 1;
            }
        }
    }
}

struct Slot {
    ix: Arc<TenantIndex>,
    checked: Instant,
}

/// Per-tenant indexes shared by every request; cheap to clone.
#[derive(Clone)]
pub struct IndexCache {
    inner: Arc<Mutex<HashMap<String, Slot>>>,
    recheck: Duration,
}

impl Default for IndexCache {
    fn default() -> Self {
        Self::with_recheck(Duration::from_secs(1))
    }
}

impl IndexCache {
    /// A cache comparing the user count at most once per `recheck` (zero: on every search).
    pub fn with_recheck(recheck: Duration) -> Self {
        Self { inner: Arc::default(), recheck }
    }

    /// The tenant's index for the snapshot `tx`, rebuilt when stale.
    pub fn get(&self, tx: &impl Read, tenant: &str) -> Result<Arc<TenantIndex>, StoreError> {
        let generation = generation(tx, tenant)?;
        let cached = self.lock().get(tenant).map(|s| (s.ix.clone(), s.checked));
        if let Some((ix, checked)) = cached
            && ix.generation == generation
        {
            if checked.elapsed() < self.recheck {
                return Ok(ix);
            }
            if directory::count_users(tx, tenant)? == ix.count {
                if let Some(slot) = self.lock().get_mut(tenant)
                    && Arc::ptr_eq(&slot.ix, &ix)
                {
                    slot.checked = Instant::now();
                }
                return Ok(ix);
            }
        }
        let ix = Arc::new(TenantIndex::build(tx, tenant)?);
        self.lock().insert(tenant.to_string(), Slot { ix: ix.clone(), checked: Instant::now() });
        Ok(ix)
    }

    /// Patches a user created or updated by a committed transaction into the cached index;
    /// `generation` is the tenant's generation as of that transaction. When the cached index
    /// is not exactly one step behind, it is dropped (and rebuilt by the next search).
    pub fn committed(&self, tenant: &str, user: &User, generation: u64) {
        let mut map = self.lock();
        let Some(slot) = map.get_mut(tenant) else {
            return;
        };
        let current = slot.ix.generation;
        if current != generation && current.wrapping_add(1) != generation {
            map.remove(tenant);
            return;
        }
        let ix = Arc::make_mut(&mut slot.ix);
        ix.generation = generation;
        ix.upsert(Entry::of(user));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Slot>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keiyaku_kernel::directory::Role;

    fn user(id: &str, name: &str, group: &str) -> User {
        User {
            tenant: "T".into(),
            user_id: id.into(),
            name: name.into(),
            email: format!("{id}@example.jp"),
            sub_emails: vec![],
            roles: vec![Role::PersonInCharge],
            status: UserStatus::Active,
            company_id: "c".into(),
            group_id: group.into(),
            title: None,
            created_at: String::new(),
        }
    }

    fn index() -> TenantIndex {
        let users = [
            user("A1533601", "鈴木 一郎", "g1"),
            user("A1533602", "伊藤 誠", "g1"),
            user("B0000101", "Suzuki Hanako", "g2"),
            user("HX000001", "堀井　裕蔵", "g3"),
        ];
        TenantIndex { generation: 0, count: users.len(), entries: users.iter().map(Entry::of).collect() }
    }

    #[test]
    fn upserts_keep_the_order_and_the_count() {
        let mut ix = index();
        ix.upsert(Entry::of(&user("A0", "新人 一", "g1")));
        ix.upsert(Entry::of(&user("A1533602", "伊藤 まこと", "g1")));
        let ids: Vec<&str> = ix.entries.iter().map(|e| e.user_id.as_str()).collect();
        assert_eq!(ids, ["A0", "A1533601", "A1533602", "B0000101", "HX000001"]);
        assert_eq!(ix.count, 5);
        assert_eq!(ix.search(&SearchScope::Tenant, &q("まこと"), 0, 10).0, ["A1533602"]);
    }

    fn ids(ix: &TenantIndex, scope: &SearchScope, q: Query) -> Vec<String> {
        ix.search(scope, &q, 0, 100).0
    }

    fn q(s: &str) -> Query {
        Query { q: Some(s.into()), ..Query::default() }
    }

    #[test]
    fn id_prefix_or_name_part_case_and_width_insensitive() {
        let ix = index();
        let all = SearchScope::Tenant;
        assert_eq!(ids(&ix, &all, q("a15336")), ["A1533601", "A1533602"]);
        assert_eq!(ids(&ix, &all, q("Ａ１５３３６０２")), ["A1533602"]);
        assert_eq!(ids(&ix, &all, q("鈴木")), ["A1533601"]);
        assert_eq!(ids(&ix, &all, q("suzuki")), ["B0000101"]);
        assert_eq!(ids(&ix, &all, q("堀井裕蔵")), ["HX000001"]);
        assert_eq!(ids(&ix, &all, q("堀井 裕")), ["HX000001"]);
        assert_eq!(ids(&ix, &all, q("533602")), Vec::<String>::new(), "IDs match by prefix only");
        assert_eq!(ids(&ix, &all, q("  ")).len(), 4);
        assert_eq!(ids(&ix, &SearchScope::Group("g1".into()), q("")).len(), 2);
        assert_eq!(ids(&ix, &SearchScope::Group("g2".into()), q("鈴木")), Vec::<String>::new());
        let both = Query { user_id: Some("A".into()), name: Some("伊藤".into()), ..Query::default() };
        assert_eq!(ids(&ix, &all, both), ["A1533602"]);
    }

    #[test]
    fn paging_counts_every_match() {
        let ix = index();
        let (page, total) = ix.search(&SearchScope::Tenant, &Query::default(), 1, 2);
        assert_eq!(total, 4);
        assert_eq!(page, ["A1533602", "B0000101"]);
        let (page, total) = ix.search(&SearchScope::Tenant, &Query::default(), 10, 2);
        assert_eq!((page.len(), total), (0, 4));
    }
}
