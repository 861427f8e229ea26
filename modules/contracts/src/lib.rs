//! Contracts (契約) and their documents (文書): registration, circulation through both
//! companies, PAdES signing with the signer's certificate and seal (by the signer or a
//! delegate), 電子帳簿保存法 search, downloads and the completion report.
//!
//! - [`flow`]: the state changes, as plain functions over one transaction;
//! - [`route`]: the default route and the checks on a chosen one;
//! - [`policy`]: who may see and do what (the only place that looks at roles);
//! - [`search`]: 契約検索 / 文書検索 and CSV over the date-keyed index;
//! - [`storage`]: content-addressed documents and the hash-chained audit log;
//! - [`sign`]: the bridge to [`keiyaku_pades`] and the certs module's keys;
//! - [`report`]: 合意締結証明書 (PDF);
//! - [`Contracts`]: the service the API and the pages call (HTTP: `keiyaku_web::api::contracts`).

pub mod archive;
pub mod codes;
pub mod config;
pub mod demo;
pub mod error;
pub mod flow;
pub mod index;
pub mod mails;
pub mod model;
pub mod outside_tsa;
pub mod policy;
pub mod report;
pub mod route;
pub mod search;
pub mod sign;
pub mod storage;
pub mod verify;

pub use config::ContractsConfig;
pub use error::ContractsError;
pub use flow::{NewContract, NewDocument, Proof, RouteStepInput, SignInput};
pub use model::Contract;
pub use search::{Query, SearchInput};

use keiyaku_kernel::config::Config;
use keiyaku_kernel::context::Caller;
use keiyaku_kernel::error::Lang;
use keiyaku_kernel::module::{MenuItem, Module};
use keiyaku_kernel::paging::{Page, Paging};
use keiyaku_kernel::store::{Read, ReadTx, StoreError, Tx};
use keiyaku_kernel::waiting::{WaitingLine, WaitingSource};
use keiyaku_kernel::{Kernel, directory};
use model::{Document, Summary, Version};
use std::sync::Arc;

pub struct ContractsModule;

impl Module for ContractsModule {
    fn name(&self) -> &'static str {
        "contracts"
    }

    fn tables(&self) -> Vec<&'static str> {
        let mut t = model::TABLES.to_vec();
        t.extend(index::TABLES);
        t.push(codes::SIGN_CODES.name());
        t
    }

    /// 1: search by the date index only; 2: with the indexes by counterparty, amount and
    /// status and the per-status counts ([`index`]), built from the contracts.
    fn schema_version(&self) -> u32 {
        2
    }

    fn migrate(&self, tx: &mut Tx, from: u32) -> Result<(), StoreError> {
        if from == 1 {
            index::rebuild(tx)?;
        }
        Ok(())
    }

    fn seed_demo(&self, kernel: &Kernel, tx: &mut Tx) -> Result<(), StoreError> {
        demo::seed(kernel, tx)
    }

    fn verify(&self, tx: &ReadTx) -> Result<Vec<String>, StoreError> {
        let mut problems = storage::verify_chain(tx)?;
        problems.extend(storage::verify_anchors(tx)?);
        problems.extend(storage::verify_records(tx)?);
        problems.extend(storage::verify_blobs(tx)?);
        Ok(problems)
    }

    fn menu(&self) -> Vec<MenuItem> {
        vec![
            MenuItem {
                path: "contracts",
                label_ja: "契約検索",
                label_en: "Contract search",
                description_ja: "登録されている契約 (フォルダ) を検索します。",
                description_en: "Search the registered contracts (folders).",
                admin: false,
                order: 10,
            },
            MenuItem {
                path: "documents",
                label_ja: "文書検索",
                label_en: "Document search",
                description_ja: "登録されている文書 (契約書) を検索します。",
                description_en: "Search the registered documents (contracts).",
                admin: false,
                order: 20,
            },
            MenuItem {
                path: "contracts/new",
                label_ja: "契約登録",
                label_en: "New contract",
                description_ja: "新しい契約 (フォルダ) を登録します。",
                description_en: "Register a new contract (folder).",
                admin: false,
                order: 30,
            },
        ]
    }
}

/// What the flows need besides the transaction.
pub struct Env<'a> {
    pub config: &'a Config,
    pub base_url: &'a str,
    /// The certs module's key-encryption key (signing needs the signer's key).
    pub kek: &'a keiyaku_certs::kek::Kek,
}

/// A contract with what the pages and the API show beside it.
#[derive(Debug, Clone)]
pub struct ContractView {
    pub contract: Contract,
    pub counterparty_name: String,
    pub vendor_code: Option<String>,
    /// user id → name, for everyone the contract mentions.
    pub names: Vec<(String, String)>,
    /// What the caller may do now.
    pub can_approve: bool,
    pub can_sign: bool,
    pub can_send_back: bool,
    pub can_resubmit: bool,
    pub can_cancel: bool,
    pub can_correct: bool,
    pub can_delete: bool,
    /// The signer the caller would sign for (themself or, as delegate, another).
    pub sign_for: Option<String>,
    /// Why a delegate holding a mandate for this step cannot sign now (pending, exceeded).
    pub sign_refusal: Option<error::Forbidden>,
    /// How a delegate confirms signing (None for one's own signature: the PIN).
    pub step_up: Option<StepUp>,
}

/// A delegate's step-up before signing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepUp {
    /// A code from their authenticator app.
    Totp,
    /// A code mailed by `requestSigningCode`; `sent` when one is waiting.
    Code { sent: bool },
}

impl ContractView {
    pub fn name_of(&self, id: &str) -> String {
        self.names.iter().find(|(u, _)| u == id).map(|(_, n)| n.clone()).unwrap_or_else(|| id.to_string())
    }
}

/// A document's content for download.
#[derive(Debug, Clone)]
pub struct Download {
    pub file_name: String,
    pub sha256: String,
    pub bytes: Vec<u8>,
}

/// The contracts service; cheap to clone.
#[derive(Clone)]
pub struct Contracts {
    pub kernel: Kernel,
    certs: keiyaku_certs::Certs,
}

impl Contracts {
    pub fn new(kernel: Kernel, certs: keiyaku_certs::Certs) -> Self {
        Self { kernel, certs }
    }

    fn kek(&self) -> Result<Arc<keiyaku_certs::kek::Kek>, ContractsError> {
        self.certs.kek().map_err(ContractsError::internal)
    }

    async fn write<R, F>(&self, f: F) -> Result<R, ContractsError>
    where
        F: FnOnce(&mut Tx, &Env<'_>) -> Result<R, ContractsError> + Send + 'static,
        R: Send + 'static,
    {
        let kek = self.kek()?;
        let kernel = self.kernel.clone();
        self.kernel
            .store
            .write(move |tx| {
                let base = kernel.public_url();
                let env = Env { config: &kernel.config, base_url: &base, kek: &kek };
                f(tx, &env)
            })
            .await
    }

    async fn read<R, F>(&self, f: F) -> Result<R, ContractsError>
    where
        F: FnOnce(&ReadTx) -> Result<R, ContractsError> + Send + 'static,
        R: Send + 'static,
    {
        self.kernel.store.read(f).await
    }

    /// Archive renewal over every completed contract (`keiyaku ltv renew`, the background
    /// task): see [`archive`]. `progress(done, total)` is called after each contract; each
    /// contract is renewed in its own transaction, and the run's result is stored for the
    /// operator's page.
    pub async fn renew_archives(
        &self,
        within_days: u32,
        progress: impl Fn(u64, u64) + Send + Sync + 'static,
    ) -> Result<archive::RenewalRun, ContractsError> {
        let margin = jiff::SignedDuration::from_hours(i64::from(within_days) * 24);
        let mut run = archive::RenewalRun { started_at: Some(self.kernel.now()), within_days, ..Default::default() };
        let keys = self.read(|tx| archive::completed(tx as &ReadTx)).await?;
        let total = keys.len() as u64;
        for k in keys {
            let key = k.clone();
            match self.write(move |tx, env| archive::renew(tx, env, &key, margin)).await {
                Ok(true) => run.renewed += 1,
                Ok(false) => {}
                Err(e) => {
                    run.failed += 1;
                    if run.errors.len() < 20 {
                        run.errors.push(format!("{k}: {e}"));
                    }
                }
            }
            run.checked += 1;
            progress(run.checked, total);
        }
        run.finished_at = Some(self.kernel.now());
        let stored = run.clone();
        self.write(move |tx, _| archive::save_run(tx, &stored)).await?;
        Ok(run)
    }

    /// Time-stamps the head of every tenant's contract chain that moved since its last
    /// anchor, with the tenant's own TSA (daily, by the server; see [`storage::anchor`]).
    /// How many were anchored.
    pub async fn anchor_chains(&self) -> Result<usize, ContractsError> {
        let due = self.read(|tx| Ok(storage::unanchored(tx as &ReadTx)?)).await?;
        let mut n = 0;
        for (tenant_code, head) in due {
            self.write(move |tx, env| {
                let tenant = directory::get_tenant(tx, &tenant_code)?.ok_or(ContractsError::NotFound("tenant"))?;
                let tsa = keiyaku_certs::signing::tsa_material(tx, env.kek, &tenant, env.base_url)?;
                let stamper = sign::stamper(None, &tsa, tx.now());
                let imprint = storage::anchor_imprint(&tenant_code, head.seq, &head.hash);
                let token = stamper
                    .timestamp(&imprint)
                    .map_err(|e| ContractsError::internal(format!("anchoring the chain: {e}")))?;
                Ok(storage::anchor(tx, &tenant_code, &head, &token)?)
            })
            .await?;
            n += 1;
        }
        Ok(n)
    }

    /// The last archive renewal run, if any.
    pub async fn last_renewal(&self) -> Result<Option<archive::RenewalRun>, ContractsError> {
        self.read(|tx| archive::last_run(tx as &ReadTx)).await
    }

    /// `verifyPdf`, the `/verify` page: the report on an uploaded PDF (see [`verify`]),
    /// trusting every tenant CA of this appliance and the `trust` roots given (PEM or DER
    /// files), judged at the appliance's time. Nothing is written.
    pub async fn verify_upload(
        &self,
        pdf: Vec<u8>,
        trust: Vec<Vec<u8>>,
    ) -> Result<keiyaku_pades::Report, ContractsError> {
        let mut roots: Vec<Vec<u8>> = trust.iter().flat_map(|t| verify::certificates(t)).collect();
        roots.extend(self.certs.trust_roots().await.map_err(ContractsError::internal)?);
        let cfg = self.kernel.config.section::<ContractsConfig>();
        if pdf.len() > cfg.max_document_bytes {
            return Err(ContractsError::TooLarge { max: cfg.max_document_bytes });
        }
        let limits = keiyaku_pades::InflateLimits {
            per_stream: cfg.max_inflated_stream_bytes,
            per_document: cfg.max_inflated_document_bytes,
        };
        // The same bounds as an upload for registration: a hostile file is refused by the
        // PDF check before the verifier reads it.
        let deadline = std::time::Duration::from_millis(cfg.pdf_check_millis.max(1) * 4);
        let now = self.kernel.now();
        let task = tokio::task::spawn_blocking(move || {
            keiyaku_pades::preflight(&pdf, limits).map_err(|e| e.to_string())?;
            verify::verify_pdf(&pdf, &roots, now)
        });
        match tokio::time::timeout(deadline, task).await {
            Ok(Ok(outcome)) => outcome.map_err(ContractsError::NotPdf),
            Ok(Err(e)) => Err(ContractsError::internal(format!("the verifier failed: {e}"))),
            Err(_) => Err(ContractsError::NotPdf("the PDF check took too long".into())),
        }
    }

    /// The largest document accepted (checked before reading an upload).
    pub fn max_document_bytes(&self) -> usize {
        self.kernel.config.section::<ContractsConfig>().max_document_bytes
    }

    pub async fn register(&self, caller: &Caller, mut new: NewContract) -> Result<Contract, ContractsError> {
        self.preflight(&mut new.documents).await?;
        let caller = caller.clone();
        self.write(move |tx, env| flow::register(tx, env, &caller, &new)).await
    }

    /// Checks uploaded PDFs before the write transaction, on a blocking thread, within
    /// `contracts.pdf_check_millis`, with their streams' expansion capped
    /// (`contracts.max_inflated_*`): a crafted file is refused without holding the single
    /// writer, so no other write waits for it. Sets each document's page sizes.
    pub async fn preflight(&self, docs: &mut [NewDocument]) -> Result<(), ContractsError> {
        let cfg = self.kernel.config.section::<ContractsConfig>();
        let limits = keiyaku_pades::InflateLimits {
            per_stream: cfg.max_inflated_stream_bytes,
            per_document: cfg.max_inflated_document_bytes,
        };
        let deadline = std::time::Duration::from_millis(cfg.pdf_check_millis.max(1));
        for d in docs.iter_mut().filter(|d| !d.bytes.is_empty() && d.bytes.len() <= cfg.max_document_bytes) {
            let bytes = std::sync::Arc::new(std::mem::take(&mut d.bytes));
            let task = {
                let bytes = bytes.clone();
                tokio::task::spawn_blocking(move || keiyaku_pades::preflight(&bytes, limits))
            };
            let outcome = tokio::time::timeout(deadline, task).await;
            d.bytes = std::sync::Arc::try_unwrap(bytes).unwrap_or_else(|shared| shared.as_ref().clone());
            match outcome {
                Ok(Ok(Ok(pages))) => d.pages = Some(pages),
                Ok(Ok(Err(e))) => return Err(ContractsError::NotPdf(e.to_string())),
                Ok(Err(e)) => return Err(ContractsError::internal(format!("the PDF check failed: {e}"))),
                Err(_) => return Err(ContractsError::NotPdf("the PDF check took too long".into())),
            }
        }
        Ok(())
    }

    pub async fn approve(&self, caller: &Caller, id: &str, comment: &str) -> Result<Contract, ContractsError> {
        let (caller, id, comment) = (caller.clone(), id.to_string(), comment.to_string());
        self.write(move |tx, env| flow::approve(tx, env, &caller, &id, &comment)).await
    }

    pub async fn send_back(&self, caller: &Caller, id: &str, comment: &str) -> Result<Contract, ContractsError> {
        let (caller, id, comment) = (caller.clone(), id.to_string(), comment.to_string());
        self.write(move |tx, env| flow::send_back(tx, env, &caller, &id, &comment)).await
    }

    pub async fn resubmit(
        &self,
        caller: &Caller,
        id: &str,
        mut replacements: Vec<(String, NewDocument)>,
        comment: &str,
    ) -> Result<Contract, ContractsError> {
        for (_, d) in &mut replacements {
            self.preflight(std::slice::from_mut(d)).await?;
        }
        let (caller, id, comment) = (caller.clone(), id.to_string(), comment.to_string());
        self.write(move |tx, env| flow::resubmit(tx, env, &caller, &id, &replacements, &comment)).await
    }

    pub async fn cancel(&self, caller: &Caller, id: &str, comment: &str) -> Result<Contract, ContractsError> {
        let (caller, id, comment) = (caller.clone(), id.to_string(), comment.to_string());
        self.write(move |tx, _| flow::cancel(tx, &caller, &id, &comment)).await
    }

    /// signContract: authority first (read), then the signer's PIN against its hash outside
    /// any transaction, then the signature in one write that records the PIN's or code's
    /// outcome (a wrong one is counted even though nothing is signed).
    pub async fn sign(&self, caller: &Caller, id: &str, input: SignInput) -> Result<Contract, ContractsError> {
        let plan = {
            let (caller, id, input) = (caller.clone(), id.to_string(), input.clone());
            self.read(move |tx| flow::plan_sign(tx, &caller, &id, &input)).await?
        };
        let given = |v: &Option<String>| v.as_deref().map(str::trim).filter(|x| !x.is_empty()).map(str::to_string);
        let proof = match (&plan.pin_hash, given(&input.otp), given(&input.code)) {
            (Some(hash), _, _) => {
                let pin = given(&input.pin).unwrap_or_default();
                Proof::Pin { correct: keiyaku_auth::password::verify_bounded(pin, hash.clone()).await }
            }
            (None, Some(otp), _) => Proof::Totp(otp),
            (None, None, Some(code)) => Proof::Code(code),
            (None, None, None) => return Err(ContractsError::Forbidden(error::Forbidden::StepUpRequired)),
        };
        let (caller, id) = (caller.clone(), id.to_string());
        self.write(move |tx, env| flow::sign_contract(tx, env, &caller, &id, &input, &proof)).await?
    }

    /// requestSigningCode: mails a delegate a 6-digit code for signing this contract.
    pub async fn request_signing_code(&self, caller: &Caller, id: &str) -> Result<codes::CodeSent, ContractsError> {
        let (caller, id) = (caller.clone(), id.to_string());
        self.write(move |tx, env| codes::request(tx, env, &caller, &id)).await
    }

    /// An RFC 3161 time-stamp response from the tenant's timestamp authority to a DER
    /// `TimeStampReq` (a malformed request gets a "rejection" response, not an error).
    pub async fn timestamp(&self, caller: &Caller, request_der: Vec<u8>) -> Result<Vec<u8>, ContractsError> {
        let tenant = caller.tenant.clone();
        self.write(move |tx, env| {
            let t = directory::get_tenant(tx, &tenant)?.ok_or(ContractsError::NotFound("tenant"))?;
            let m = keiyaku_certs::signing::tsa_material(tx, env.kek, &t, env.base_url)?;
            let mut tsa = keiyaku_pades::LocalTsa::new(m.cert_der, vec![m.ca_der], m.key_pkcs8);
            tsa.time = Some(tx.now());
            keiyaku_pades::tsa_response(&tsa, &request_der).map_err(|e| ContractsError::internal(e.to_string()))
        })
        .await
    }

    /// correctContract (訂正): the registrant while sent back, 管理部 / group administrators
    /// at any time; every old and new value is kept.
    pub async fn correct(
        &self,
        caller: &Caller,
        id: &str,
        input: flow::Correction,
    ) -> Result<Contract, ContractsError> {
        let (caller, id) = (caller.clone(), id.to_string());
        self.write(move |tx, env| flow::correct(tx, env, &caller, &id, &input)).await
    }

    /// deleteContract (削除): only after the retention period; the record stays.
    pub async fn delete(&self, caller: &Caller, id: &str, reason: &str) -> Result<Contract, ContractsError> {
        let (caller, id, reason) = (caller.clone(), id.to_string(), reason.to_string());
        self.write(move |tx, _| flow::delete(tx, &caller, &id, &reason)).await
    }

    /// getContract: the contract with names and what the caller may do.
    pub async fn get(&self, caller: &Caller, id: &str) -> Result<ContractView, ContractsError> {
        let (caller, id) = (caller.clone(), id.to_string());
        self.read(move |tx| view(tx, &caller, flow::load(tx, &caller, &id)?)).await
    }

    /// A document version's content (default the latest).
    pub async fn download(
        &self,
        caller: &Caller,
        id: &str,
        document: &str,
        version: Option<u32>,
    ) -> Result<Download, ContractsError> {
        let (caller, id, document) = (caller.clone(), id.to_string(), document.to_string());
        self.read(move |tx| {
            let c = flow::load(tx, &caller, &id)?;
            let d = c.documents.iter().find(|d| d.id == document).ok_or(ContractsError::NotFound("document"))?;
            let v = match version {
                Some(n) => d.versions.iter().find(|v| v.n == n),
                None => d.latest(),
            }
            .ok_or(ContractsError::NotFound("version"))?;
            if v.deleted_at.is_some() {
                return Err(ContractsError::NotFound("version"));
            }
            let bytes = storage::get_blob(tx, &caller.tenant, &v.sha256)?;
            Ok(Download { file_name: file_name(&c, d, v), sha256: v.sha256.clone(), bytes })
        })
        .await
    }

    /// 合意締結証明書 (any state; it says how far the contract got).
    pub async fn report(&self, caller: &Caller, id: &str) -> Result<Download, ContractsError> {
        let (caller, id) = (caller.clone(), id.to_string());
        self.read(move |tx| {
            let c = flow::load(tx, &caller, &id)?;
            // As issued at completion; built now for contracts completed before it was kept.
            let bytes = match &c.completion_report {
                Some(stored) => storage::get_blob(tx, &c.tenant, &stored.sha256)?,
                None => report::completion_report(tx, &c)?,
            };
            Ok(Download {
                file_name: format!("合意締結証明書_{}.pdf", c.number),
                sha256: storage::sha256_hex(&bytes),
                bytes,
            })
        })
        .await
    }

    pub async fn search(
        &self,
        caller: &Caller,
        input: SearchInput,
        paging: Paging,
    ) -> Result<Page<Summary>, ContractsError> {
        let caller = caller.clone();
        self.read(move |tx| {
            let q = search::parse(tx, &caller.tenant, &input)?;
            search::contracts(tx, &caller, &q, paging)
        })
        .await
    }

    pub async fn search_documents(
        &self,
        caller: &Caller,
        input: SearchInput,
        paging: Paging,
    ) -> Result<Page<search::DocumentRow>, ContractsError> {
        let caller = caller.clone();
        self.read(move |tx| {
            let q = search::parse(tx, &caller.tenant, &input)?;
            search::documents(tx, &caller, &q, paging)
        })
        .await
    }

    pub async fn csv(&self, caller: &Caller, input: SearchInput, lang: Lang) -> Result<Vec<u8>, ContractsError> {
        let caller = caller.clone();
        self.read(move |tx| {
            let q = search::parse(tx, &caller.tenant, &input)?;
            search::csv(tx, &caller, &q, lang)
        })
        .await
    }

    /// The contracts waiting for the caller (確認待ち文書), newest first.
    pub async fn waiting(&self, caller: &Caller) -> Result<Vec<Summary>, ContractsError> {
        let caller = caller.clone();
        self.read(move |tx| {
            let mut out = Vec::new();
            for (id, _) in flow::waiting_ids(tx, &caller)? {
                if let Some(c) = tx.get(&model::CONTRACTS, &model::key(&caller.tenant, &id))? {
                    out.push(Summary::of(&c));
                }
            }
            out.sort_by_key(|c| std::cmp::Reverse(c.created_at));
            Ok(out)
        })
        .await
    }

    /// The partner companies the caller deals with, in directory order: every partner for
    /// the owner side, the caller's own company for a partner's user. They name the
    /// counterparty of every contract the caller may see (a counterparty is never the
    /// owner, and a partner sees only its own contracts) and are the search form's choices.
    pub async fn partners(&self, caller: &Caller) -> Result<Vec<directory::Company>, ContractsError> {
        let caller = caller.clone();
        self.read(move |tx| {
            let all = directory::list_companies(tx, &caller.tenant)?;
            Ok(all.into_iter().filter(|c| !c.owner && (caller.owner_side || c.id == caller.company_id)).collect())
        })
        .await
    }

    /// For the registration form: the partner companies, and the users who can take each
    /// default step of a route with `counterparty`.
    pub async fn route_candidates(
        &self,
        caller: &Caller,
        counterparty: Option<String>,
    ) -> Result<RouteCandidates, ContractsError> {
        policy::require_register(caller)?;
        let caller = caller.clone();
        self.read(move |tx| {
            let tenant = directory::get_tenant(tx, &caller.tenant)?.ok_or(ContractsError::NotFound("tenant"))?;
            let partners: Vec<directory::Company> =
                directory::list_companies(tx, &caller.tenant)?.into_iter().filter(|c| !c.owner).collect();
            let partner = match counterparty.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                Some(p) => partners.iter().find(|c| c.id == p || c.vendor_code.as_deref() == Some(p)).cloned(),
                None => None,
            };
            let mut steps = Vec::new();
            for (party, role) in route::DEFAULT {
                let company = match party {
                    model::Party::Owner => Some(tenant.owner_company_id.clone()),
                    model::Party::Partner => partner.as_ref().map(|p| p.id.clone()),
                };
                let users = match company {
                    Some(id) => route::candidates(tx, &caller.tenant, &id, role)?,
                    None => Vec::new(),
                };
                steps.push((party, role, users));
            }
            Ok(RouteCandidates { partners, partner, steps })
        })
        .await
    }
}

/// The partner companies and each default step's candidates.
#[derive(Debug, Clone)]
pub struct RouteCandidates {
    pub partners: Vec<directory::Company>,
    pub partner: Option<directory::Company>,
    pub steps: Vec<(model::Party, directory::Role, Vec<directory::User>)>,
}

/// `{number}_{document name}[_v{n}].pdf`.
fn file_name(c: &Contract, d: &Document, v: &Version) -> String {
    let base = d.name.trim_end_matches(".pdf").trim_end_matches(".PDF");
    let latest = d.latest().map(|l| l.n) == Some(v.n);
    if latest { format!("{}_{base}.pdf", c.number) } else { format!("{}_{base}_v{}.pdf", c.number, v.n) }
}

fn view(tx: &impl Read, caller: &Caller, c: Contract) -> Result<ContractView, ContractsError> {
    let company = directory::get_company(tx, &c.tenant, &c.counterparty)?;
    let mut ids = c.participants();
    for e in &c.history {
        ids.push(e.by.clone());
        ids.extend(e.on_behalf_of.clone());
    }
    ids.sort();
    ids.dedup();
    let mut names = Vec::new();
    for id in ids {
        if let Some(u) = directory::get_user(tx, &c.tenant, &id)? {
            names.push((id, u.name));
        }
    }
    let facts = policy::facts(tx, caller, &c, flow::today_in_japan(tx))?;
    let may = |op: policy::Op<'_>| policy::decide(caller, &c, &facts, op).is_ok();
    let sign_for = policy::signing_for(caller, &c, &facts, None).ok();
    // A delegate who holds a mandate for this step but may not use it now learns why.
    let sign_refusal = match (&sign_for, policy::on_current_step(caller, &c)) {
        (None, false) if !facts.principals.is_empty() => match policy::signing_for(caller, &c, &facts, None) {
            Err(ContractsError::Forbidden(why)) => Some(why),
            _ => None,
        },
        _ => None,
    };
    let step_up = match &sign_for {
        Some(s) if *s != caller.user_id => {
            if keiyaku_auth::totp::enrolled(tx, &keiyaku_auth::totp::subject(Some(&caller.tenant), &caller.user_id))? {
                Some(StepUp::Totp)
            } else {
                Some(StepUp::Code { sent: codes::pending(tx, caller, &c)? })
            }
        }
        _ => None,
    };
    Ok(ContractView {
        counterparty_name: company.as_ref().map(|x| x.name.clone()).unwrap_or_default(),
        vendor_code: company.and_then(|x| x.vendor_code),
        names,
        can_approve: may(policy::Op::Approve),
        can_sign: sign_for.is_some(),
        can_send_back: may(policy::Op::SendBack),
        can_resubmit: may(policy::Op::Resubmit),
        can_cancel: may(policy::Op::Cancel),
        can_correct: may(policy::Op::Correct),
        can_delete: may(policy::Op::Delete),
        sign_for,
        sign_refusal,
        step_up,
        contract: c,
    })
}

/// Feeds the dashboard's 確認待ち文書 with the contracts waiting for the caller.
pub struct ContractsWaiting;

impl WaitingSource for ContractsWaiting {
    fn waiting(&self, tx: &ReadTx, caller: &Caller) -> Result<Vec<(WaitingLine, u64)>, StoreError> {
        let ids = flow::waiting_ids(tx, caller).map_err(|e| match e {
            ContractsError::Store(s) => s,
            other => StoreError::Task(other.to_string()),
        })?;
        let mut counts: Vec<(WaitingLine, u64)> = Vec::new();
        for (_, line) in ids {
            let Some(l) = line_of(&line) else { continue };
            match counts.iter_mut().find(|(x, _)| *x == l) {
                Some((_, n)) => *n += 1,
                None => counts.push((l, 1)),
            }
        }
        Ok(counts)
    }
}

/// The waiting line of a stored line key.
pub fn line_of(key: &str) -> Option<WaitingLine> {
    WaitingLine::parse(key)
}
