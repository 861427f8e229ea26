//! Support: notices (お知らせ), support documents, the dashboard and the usage report
//! (利用状況照会).
//!
//! - [`notices`]: announcements with a publication window and an audience;
//! - [`documents`] and [`sniff`]: uploaded manuals, FAQ and information files, content-checked
//!   and stored in redb with their SHA-256;
//! - [`usage`]: the monthly report derived from the audit log and the outbox;
//! - [`policy`]: who may do what (the only place that looks at roles);
//! - [`Support`]: the service every transport (API, web pages) calls;
//! - [`demo`]: this module's part of `serve --demo`.

pub mod config;
pub mod demo;
pub mod documents;
pub mod error;
pub mod notices;
pub mod policy;
pub mod sniff;
pub mod usage;

pub use config::SupportConfig;
pub use documents::{Category, Document, NewDocument};
pub use error::SupportError;
pub use keiyaku_kernel::paging::{PER_PAGE_DEFAULT, PER_PAGE_MAX, Page, Paging};
pub use notices::{Audience, Notice, NoticeInput};

use keiyaku_kernel::context::Caller;
use keiyaku_kernel::directory;
use keiyaku_kernel::module::{MenuItem, Module};
use keiyaku_kernel::store::{ReadTx, StoreError, Tx};
use keiyaku_kernel::validate::Rule;
use keiyaku_kernel::waiting::{Waiting, WaitingLine, WaitingSource};
use keiyaku_kernel::{Kernel, directory::Tenant};
use std::sync::Arc;

pub struct SupportModule;

impl Module for SupportModule {
    fn name(&self) -> &'static str {
        "support"
    }

    fn tables(&self) -> Vec<&'static str> {
        // `CHUNKS` (schema 1) and `BLOBS` (schema 2) stay declared so the migrations can read them.
        vec![
            notices::NOTICES.name(),
            documents::DOCUMENTS.name(),
            documents::CONTENT_CHUNKS.name(),
            documents::CONTENT_META.name(),
            documents::BLOBS.name(),
            documents::CHUNKS.name(),
        ]
    }

    /// 1: document chunks as base64 in JSON; 2: chunks as raw bytes by document id
    /// (`support_document_blobs`); 3: the kernel's content store by SHA-256
    /// (`support_content_blobs`, `support_content_meta`).
    fn schema_version(&self) -> u32 {
        3
    }

    fn migrate(&self, tx: &mut Tx, from: u32) -> Result<(), StoreError> {
        if from == 1 {
            let (moved, kept) = documents::migrate_chunks_to_blobs(tx)?;
            tracing::info!(moved, kept, "support documents: chunks moved to the raw-bytes table");
        }
        if from == 2 {
            let (moved, kept) = documents::migrate_blobs_to_content(tx)?;
            tracing::info!(moved, kept, "support documents: content moved to the content store");
        }
        Ok(())
    }

    /// Every stored content complete and matching its SHA-256.
    fn verify(&self, tx: &keiyaku_kernel::ReadTx) -> Result<Vec<String>, StoreError> {
        Ok(keiyaku_kernel::blob::verify(tx, &documents::CONTENT)?
            .into_iter()
            .map(|p| format!("support document {p}"))
            .collect())
    }

    fn seed_demo(&self, kernel: &Kernel, tx: &mut Tx) -> Result<(), StoreError> {
        demo::seed(kernel, tx)
    }

    fn menu(&self) -> Vec<MenuItem> {
        vec![MenuItem {
            path: "usage",
            label_ja: "利用状況照会",
            label_en: "Usage",
            description_ja: "毎月の電子契約サービスの利用状況を確認します。",
            description_en: "See the monthly use of the e-contract service.",
            admin: false,
            order: 50,
        }]
    }
}

/// How many notices the dashboard shows.
pub const DASHBOARD_NOTICES: usize = 5;

/// What the dashboard shows besides the caller's profile.
#[derive(Debug, Clone)]
pub struct Dashboard {
    /// The service owner's company name (the header, and the short form in the line labels).
    pub owner_company_name: String,
    /// 確認待ち文書: count per line.
    pub waiting: Vec<(WaitingLine, u64)>,
    /// The newest visible notices (at most [`DASHBOARD_NOTICES`]).
    pub notices: Vec<Notice>,
    /// How many notices are visible in all.
    pub notices_total: usize,
    /// サポート情報: every support document, support page order.
    pub documents: Vec<Document>,
}

/// The support page's content.
#[derive(Debug, Clone)]
pub struct SupportPage {
    pub tenant: Tenant,
    /// Documents per category, in the page's section order.
    pub sections: Vec<(Category, Vec<Document>)>,
    /// (document id, text) of the short text documents of サポート情報 and よくあるご質問,
    /// shown on the page itself.
    pub inline: Vec<(String, String)>,
}

/// Text documents up to this size in the inline sections are shown on the support page.
pub const INLINE_TEXT_MAX: u64 = 32 * 1024;

/// Documents in support-page order: by category section, then upload order.
fn page_order(mut docs: Vec<Document>) -> Vec<Document> {
    docs.sort_by_key(|d| Category::ALL.iter().position(|c| *c == d.category));
    docs
}

/// The support service; cheap to clone.
#[derive(Clone)]
pub struct Support {
    pub kernel: Kernel,
    waiting: Waiting,
}

impl Support {
    pub fn new(kernel: Kernel) -> Self {
        Self { kernel, waiting: Waiting::default() }
    }

    /// Adds a source of waiting-document counts (the contracts module) for the dashboard.
    pub fn with_waiting(mut self, source: Arc<dyn WaitingSource>) -> Self {
        self.waiting.register(source);
        self
    }

    fn max_document_bytes(&self) -> usize {
        self.kernel.config.section::<SupportConfig>().max_document_bytes
    }

    /// Checks an upload's size before it is read (413 when over the limit).
    pub fn check_size(&self, size: usize) -> Result<(), SupportError> {
        let max = self.max_document_bytes();
        if size > max { Err(SupportError::TooLarge { max }) } else { Ok(()) }
    }

    // -- notices ---------------------------------------------------------------------------

    /// createNotice: owner group administrators only.
    pub async fn create_notice(&self, caller: &Caller, input: NoticeInput) -> Result<Notice, SupportError> {
        policy::require_manager(caller)?;
        let (actor, tenant) = (caller.actor(), caller.tenant.clone());
        self.kernel.store.write(move |tx| notices::create(tx, &actor, &tenant, &input)).await
    }

    /// listNotices: the notices the caller may see, newest first. `include_hidden` adds the
    /// scheduled and expired ones for managers (ignored for anyone else).
    pub async fn list_notices(
        &self,
        caller: &Caller,
        paging: Paging,
        include_hidden: bool,
    ) -> Result<Page<Notice>, SupportError> {
        let caller = caller.clone();
        self.kernel
            .store
            .read(move |tx| {
                let now = keiyaku_kernel::store::Read::now(tx);
                let items: Vec<Notice> = notices::all(tx, &caller.tenant)?
                    .into_iter()
                    .filter(|n| policy::notice_listed(n, &caller, now, include_hidden))
                    .collect();
                Ok(paging.take(items))
            })
            .await
    }

    pub async fn delete_notice(&self, caller: &Caller, id: &str) -> Result<Notice, SupportError> {
        policy::require_manager(caller)?;
        let (actor, tenant, id) = (caller.actor(), caller.tenant.clone(), id.to_string());
        self.kernel.store.write(move |tx| notices::delete(tx, &actor, &tenant, &id)).await
    }

    // -- documents -------------------------------------------------------------------------

    /// uploadSupportDocument: owner group administrators only; size, content and name are
    /// checked before anything is written. Returns the stored document and the one it
    /// replaced (same category and file name).
    pub async fn upload_document(
        &self,
        caller: &Caller,
        new: NewDocument,
    ) -> Result<(Document, Option<Document>), SupportError> {
        policy::require_manager(caller)?;
        let max = self.max_document_bytes();
        documents::check(&new, max)?;
        let (actor, tenant) = (caller.actor(), caller.tenant.clone());
        self.kernel.store.write(move |tx| documents::store(tx, &actor, &tenant, max, &new)).await
    }

    /// listSupportDocuments: public (the support page is); optionally one category.
    pub async fn list_documents(
        &self,
        tenant: &str,
        category: Option<&str>,
        paging: Paging,
    ) -> Result<Page<Document>, SupportError> {
        let category = match category.map(str::trim).filter(|c| !c.is_empty()) {
            None => None,
            Some(c) => Some(Category::parse(c).ok_or_else(|| {
                SupportError::invalid("category", Rule::Unknown { value: c.chars().take(40).collect() })
            })?),
        };
        let tenant = tenant.to_string();
        self.kernel
            .store
            .read(move |tx| {
                require_tenant(tx, &tenant)?;
                let docs = page_order(documents::all(tx, &tenant)?)
                    .into_iter()
                    .filter(|d| category.is_none_or(|c| d.category == c))
                    .collect();
                Ok(paging.take(docs))
            })
            .await
    }

    /// downloadSupportDocument: public; the content is checked against its SHA-256.
    pub async fn download_document(&self, tenant: &str, id: &str) -> Result<(Document, Vec<u8>), SupportError> {
        let (tenant, id) = (tenant.to_string(), id.to_string());
        self.kernel
            .store
            .read(move |tx| {
                let doc = documents::get(tx, &tenant, &id)?.ok_or(SupportError::NotFound("document"))?;
                let bytes = documents::content(tx, &doc)?;
                Ok((doc, bytes))
            })
            .await
    }

    pub async fn delete_document(&self, caller: &Caller, id: &str) -> Result<Document, SupportError> {
        policy::require_manager(caller)?;
        let (actor, tenant, id) = (caller.actor(), caller.tenant.clone(), id.to_string());
        self.kernel.store.write(move |tx| documents::delete(tx, &actor, &tenant, &id)).await
    }

    /// The public support page of a tenant (404 for an unknown tenant).
    pub async fn support_page(&self, tenant: &str) -> Result<SupportPage, SupportError> {
        let tenant = tenant.to_string();
        self.kernel
            .store
            .read(move |tx| {
                let t = require_tenant(tx, &tenant)?;
                let docs = documents::all(tx, &tenant)?;
                let mut inline = Vec::new();
                for d in docs.iter().filter(|d| {
                    matches!(d.category, Category::Info | Category::Faq)
                        && d.kind == sniff::Kind::Text
                        && d.size <= INLINE_TEXT_MAX
                }) {
                    match documents::content(tx, d) {
                        Ok(bytes) => {
                            let text = String::from_utf8_lossy(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes));
                            inline.push((d.id.clone(), text.trim_end().to_string()));
                        }
                        // A damaged file is still listed; its download reports the damage.
                        Err(SupportError::Damaged(id)) => {
                            tracing::error!(document = %id, "support document is damaged")
                        }
                        Err(e) => return Err(e),
                    }
                }
                let sections = Category::ALL
                    .into_iter()
                    .map(|c| (c, docs.iter().filter(|d| d.category == c).cloned().collect()))
                    .collect();
                Ok(SupportPage { tenant: t, sections, inline })
            })
            .await
    }

    // -- dashboard and usage ---------------------------------------------------------------

    /// getDashboard: waiting counts, the newest visible notices and the support files, read
    /// in one snapshot.
    pub async fn dashboard(&self, caller: &Caller) -> Result<Dashboard, SupportError> {
        let caller = caller.clone();
        let waiting = self.waiting.clone();
        self.kernel.store.read(move |tx| dashboard_in(tx, &waiting, &caller)).await
    }

    /// getUsage: the month's report (default: this month, Japan time), limited to what the
    /// caller may see.
    pub async fn usage(&self, caller: &Caller, month: Option<&str>) -> Result<usage::Report, SupportError> {
        let month = match month.map(str::trim).filter(|m| !m.is_empty()) {
            Some(m) => usage::Month::parse(m)?,
            None => usage::Month::of(self.kernel.now()),
        };
        let scope = policy::usage_scope(caller);
        let tenant = caller.tenant.clone();
        self.kernel.store.read(move |tx| Ok(usage::report(tx, &tenant, month, &scope)?)).await
    }
}

fn require_tenant(tx: &impl keiyaku_kernel::store::Read, tenant: &str) -> Result<Tenant, SupportError> {
    if tenant.is_empty() || tenant.len() > 10 {
        return Err(SupportError::NotFound("tenant"));
    }
    directory::get_tenant(tx, tenant)?.ok_or(SupportError::NotFound("tenant"))
}

fn dashboard_in(tx: &ReadTx, waiting: &Waiting, caller: &Caller) -> Result<Dashboard, SupportError> {
    use keiyaku_kernel::store::Read;
    let tenant = require_tenant(tx, &caller.tenant)?;
    let owner_company_name = directory::get_company(tx, &tenant.code, &tenant.owner_company_id)?
        .map(|c| c.name)
        .unwrap_or_else(|| tenant.name.clone());
    let now = tx.now();
    let visible: Vec<Notice> =
        notices::all(tx, &caller.tenant)?.into_iter().filter(|n| policy::notice_visible(n, caller, now)).collect();
    Ok(Dashboard {
        owner_company_name,
        waiting: waiting.counts(tx, caller)?,
        notices_total: visible.len(),
        notices: visible.into_iter().take(DASHBOARD_NOTICES).collect(),
        documents: page_order(documents::all(tx, &caller.tenant)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lists page with the kernel's [`Paging`]; a bad `page`/`per_page` is a 422 on
    /// those fields.
    #[test]
    fn paging_checks_and_slices() {
        assert!(Paging::new(None, Some(201)).is_err());
        let bad = Paging::new(Some(0), Some(0)).map_err(SupportError::Invalid).err();
        assert_eq!(bad.as_ref().map(SupportError::status), Some(422));
        let fields: Vec<String> = match bad {
            Some(SupportError::Invalid(list)) => list.iter().map(|i| i.field.clone()).collect(),
            _ => Vec::new(),
        };
        assert_eq!(fields, ["page", "per_page"]);
        let p = Paging::new(Some(2), Some(2)).unwrap_or_default().take(vec![1, 2, 3, 4, 5]);
        assert_eq!((p.pages(), p.total, p.items), (3, 5, vec![3, 4]));
        let empty = Paging::default().take(Vec::<u8>::new());
        assert_eq!(empty.pages(), 1);
        let far = Paging::new(Some(1_000_000), Some(200)).unwrap_or_default().take(vec![1]);
        assert!(far.items.is_empty());
    }
}
