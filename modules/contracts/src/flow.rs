//! The contract flows as plain functions over one write transaction: registration,
//! 確認/承認, 差戻し, resubmission, 取消 and signing. Each checks who may act (through
//! [`policy`]), changes the contract, keeps the search index and the waiting list in step,
//! appends to the hash chain and queues the mails — all in the caller's transaction, so a
//! failure changes nothing.

use crate::config::ContractsConfig;
use crate::error::{Conflict, ContractsError, Forbidden};
use crate::mails;
use crate::model::{
    CONTRACTS, Contract, DocType, Document, Done, Event, EventAction, Field, INDEX, MandateRef, NUMBERS, Party, Status,
    Summary, Tax, Version, WAITING, key,
};
use crate::policy::Op;
use crate::route::{self, StepInput};
use crate::sign;
use crate::storage::{self, put_blob};
use crate::{Env, codes, policy};
use jiff::civil::Date;
use keiyaku_kernel::FieldCode;
use keiyaku_kernel::clock::tokyo;
use keiyaku_kernel::context::{Actor, Caller};
use keiyaku_kernel::directory::{self, Role};
use keiyaku_kernel::store::{Read, Tx};
use keiyaku_kernel::validate::{Rule, Validator};
use serde_json::json;

pub const NUMBER_MAX: usize = 40;
pub const TITLE_MAX: usize = 200;
pub const FIELD_NAME_MAX: usize = 40;
pub const FIELD_VALUE_MAX: usize = 400;
pub const FIELDS_MAX: usize = 20;
pub const COMMENT_MAX: usize = 1000;
pub const DOC_NAME_MAX: usize = 120;
/// 取引金額 is at most a trillion yen.
pub const AMOUNT_MAX: i64 = 1_000_000_000_000;

/// An uploaded document.
#[derive(Debug, Clone, Default)]
pub struct NewDocument {
    pub name: String,
    pub bytes: Vec<u8>,
    /// Page sizes from [`crate::Contracts`]' preflight, which runs before the write
    /// transaction; `None` (callers without the service) parses in [`check_document`].
    pub pages: Option<Vec<(f32, f32)>>,
}

/// A route step as given (strings, checked by [`parse`]).
#[derive(Debug, Clone, Default)]
pub struct RouteStepInput {
    pub party: String,
    pub role: String,
    pub users: Vec<String>,
}

/// 契約登録 as given.
#[derive(Debug, Clone, Default)]
pub struct NewContract {
    pub number: String,
    pub title: String,
    /// `purchase_order`, `order_acceptance`, …
    pub doc_type: String,
    /// The partner's company id or 業者コード.
    pub counterparty: String,
    /// `YYYY-MM-DD`.
    pub transaction_date: String,
    pub amount: Option<i64>,
    /// `included` (default) or `excluded`.
    pub tax: String,
    pub fields: Vec<Field>,
    pub documents: Vec<NewDocument>,
    /// None: the default route with every holder of each role.
    pub route: Option<Vec<RouteStepInput>>,
}

/// Parses `YYYY-MM-DD` (also `YYYY/MM/DD`).
pub fn parse_date(s: &str) -> Option<Date> {
    let s = s.trim().replace('/', "-");
    s.parse::<Date>().ok().filter(|d| d.year() >= 1900 && d.year() <= 2199)
}

fn custom(code: FieldCode, ja: &str, en: &str) -> Rule {
    Rule::Custom { code, ja: ja.into(), en: en.into() }
}

/// Checks a document: name, size, and that it is a PDF the signer can read.
pub fn check_document(v: &mut Validator, field: &str, d: &NewDocument, max: usize) -> Result<(), ContractsError> {
    v.text(&format!("{field}.name"), &d.name, DOC_NAME_MAX);
    if d.bytes.len() > max {
        return Err(ContractsError::TooLarge { max });
    }
    if d.bytes.is_empty() {
        v.fail(&format!("{field}.content"), Rule::Required);
        return Ok(());
    }
    if d.pages.is_none() {
        sign::page_sizes(&d.bytes).map_err(ContractsError::NotPdf)?;
    }
    // A PDF signed elsewhere is taken only with every signature intact and nothing but
    // signing, validation data, time-stamps or permitted form filling after it.
    if let Some(why) = crate::verify::refusal(&d.bytes, jiff::Timestamp::UNIX_EPOCH) {
        v.fail(
            &format!("{field}.content"),
            custom(
                FieldCode::SignedPdfModified,
                "このPDFの既存の署名が壊れているか、署名後に内容が変更されています。登録できません。",
                &format!("The PDF's existing signatures are broken or it was changed after signing: {why}"),
            ),
        );
    }
    Ok(())
}

/// The typed form of a [`NewContract`], every field checked.
struct Parsed {
    doc_type: DocType,
    date: Date,
    amount: i64,
    tax: Tax,
    route: Option<Vec<StepInput>>,
}

fn parse(new: &NewContract, env: &Env<'_>) -> Result<Parsed, ContractsError> {
    let mut v = Validator::new();
    v.text("number", &new.number, NUMBER_MAX);
    if new.number.chars().any(|c| c == '/') {
        v.fail("number", custom(FieldCode::InvalidCharacters, "「/」は使用できません。", "\"/\" cannot be used."));
    }
    v.text("title", &new.title, TITLE_MAX);
    let doc_type = DocType::parse(new.doc_type.trim());
    if doc_type.is_none() {
        v.fail(
            "doc_type",
            if new.doc_type.trim().is_empty() {
                Rule::Required
            } else {
                Rule::Unknown { value: new.doc_type.chars().take(40).collect() }
            },
        );
    }
    if new.counterparty.trim().is_empty() {
        v.fail("counterparty", Rule::Required);
    }
    let date = parse_date(&new.transaction_date);
    if date.is_none() {
        v.fail(
            "transaction_date",
            if new.transaction_date.trim().is_empty() {
                Rule::Required
            } else {
                custom(
                    FieldCode::InvalidDate,
                    "YYYY-MM-DDの形式で正しい日付を入力してください。",
                    "Enter a valid date as YYYY-MM-DD.",
                )
            },
        );
    }
    let amount = new.amount.unwrap_or(-1);
    if new.amount.is_none() {
        v.fail("amount", Rule::Required);
    } else if !(0..=AMOUNT_MAX).contains(&amount) {
        v.fail(
            "amount",
            custom(
                FieldCode::OutOfRange,
                "0〜1兆円の範囲で入力してください。",
                "Use an amount from 0 to 1 trillion yen.",
            ),
        );
    }
    let tax = if new.tax.trim().is_empty() { Some(Tax::Included) } else { Tax::parse(new.tax.trim()) };
    if tax.is_none() {
        v.fail("tax", Rule::Unknown { value: new.tax.chars().take(40).collect() });
    }
    if new.fields.len() > FIELDS_MAX {
        v.fail("fields", Rule::TooLong { max: FIELDS_MAX });
    }
    for (i, f) in new.fields.iter().take(FIELDS_MAX).enumerate() {
        v.text(&format!("fields[{i}].name"), &f.name, FIELD_NAME_MAX);
        v.optional_text(&format!("fields[{i}].value"), &f.value, FIELD_VALUE_MAX);
    }
    let cfg = env.config.section::<ContractsConfig>();
    if new.documents.is_empty() {
        v.fail(
            "documents",
            custom(FieldCode::Required, "PDF文書を1つ以上添付してください。", "Attach at least one PDF document."),
        );
    }
    if new.documents.len() > cfg.max_documents {
        v.fail("documents", Rule::TooLong { max: cfg.max_documents });
    }
    for (i, d) in new.documents.iter().take(cfg.max_documents).enumerate() {
        check_document(&mut v, &format!("documents[{i}]"), d, cfg.max_document_bytes)?;
    }
    let mut route = None;
    if let Some(steps) = &new.route {
        let mut parsed = Vec::new();
        for (i, s) in steps.iter().enumerate() {
            let party = Party::parse(s.party.trim());
            let role = Role::parse(s.role.trim());
            if party.is_none() {
                v.fail(&format!("route[{i}].party"), Rule::Unknown { value: s.party.chars().take(40).collect() });
            }
            if role.is_none() {
                v.fail(&format!("route[{i}].role"), Rule::Unknown { value: s.role.chars().take(40).collect() });
            }
            if let (Some(party), Some(role)) = (party, role) {
                parsed.push(StepInput { party, role, users: s.users.iter().map(|u| u.trim().to_string()).collect() });
            }
        }
        route = Some(parsed);
    }
    v.finish()?;
    match (doc_type, date, tax) {
        (Some(doc_type), Some(date), Some(tax)) => Ok(Parsed { doc_type, date, amount, tax, route }),
        _ => Err(ContractsError::invalid("contract", Rule::Required)),
    }
}

/// The partner company named by id or 業者コード (never the owner).
fn counterparty(tx: &impl Read, tenant: &str, id_or_code: &str) -> Result<directory::Company, ContractsError> {
    let s = id_or_code.trim();
    let company = match directory::get_company(tx, tenant, s)? {
        Some(c) => Some(c),
        None => directory::company_by_vendor_code(tx, tenant, &s.to_uppercase())?,
    };
    match company {
        Some(c) if !c.owner => Ok(c),
        _ => Err(ContractsError::invalid("counterparty", Rule::Unknown { value: s.chars().take(40).collect() })),
    }
}

fn owner_company(tx: &impl Read, tenant: &str) -> Result<(directory::Tenant, directory::Company), ContractsError> {
    let t = directory::get_tenant(tx, tenant)?.ok_or(ContractsError::NotFound("tenant"))?;
    let owner = directory::get_company(tx, tenant, &t.owner_company_id)?.ok_or(ContractsError::NotFound("company"))?;
    Ok((t, owner))
}

/// Loads a contract visible to the caller (404 otherwise).
pub fn load(tx: &impl Read, caller: &Caller, id: &str) -> Result<Contract, ContractsError> {
    let c = tx.get(&CONTRACTS, &key(&caller.tenant, id))?.ok_or(ContractsError::NotFound("contract"))?;
    policy::require_visible(caller, &c)?;
    Ok(c)
}

/// Loads a contract and decides `op` on it for the caller ([`policy::decide`]): the one
/// authorization every flow passes before it acts.
pub fn authorize(
    tx: &impl Read,
    caller: &Caller,
    id: &str,
    op: policy::Op<'_>,
) -> Result<(Contract, policy::Facts), ContractsError> {
    let c = load(tx, caller, id)?;
    let facts = policy::facts(tx, caller, &c, today(tx))?;
    policy::decide(caller, &c, &facts, op)?;
    Ok((c, facts))
}

fn waiting_key(tenant: &str, user: &str, id: &str) -> String {
    format!("{tenant}/{user}/{id}")
}

/// Writes the contract and keeps the index and the waiting list in step with it.
pub fn save(tx: &mut Tx, old: Option<&Contract>, new: &Contract) -> Result<(), ContractsError> {
    if let Some(old) = old {
        tx.remove(&INDEX, &Summary::index_key(&old.tenant, old.transaction_date, &old.id))?;
        if let Some(step) = old.current_step() {
            for u in &step.users {
                tx.remove(&WAITING, &waiting_key(&old.tenant, u, &old.id))?;
            }
        }
    }
    tx.put(&CONTRACTS, &key(&new.tenant, &new.id), new)?;
    tx.put(&INDEX, &Summary::index_key(&new.tenant, new.transaction_date, &new.id), &Summary::of(new))?;
    crate::index::save(tx, old, new)?;
    if new.status == Status::Circulating
        && let Some(step) = new.current_step()
    {
        for u in &step.users {
            tx.put(&WAITING, &waiting_key(&new.tenant, u, &new.id), &step.line().key())?;
        }
    }
    Ok(())
}

/// Version `n` of a document, `size` bytes stored as `sha`, added by `caller` now (unsigned:
/// set the signer and certificate with `..version(…)`).
fn version(tx: &Tx, caller: &Caller, n: u32, sha: String, size: usize) -> Version {
    Version {
        n,
        sha256: sha,
        size: size as u64,
        created_at: tx.now(),
        by: caller.user_id.clone(),
        signer: None,
        cert_serial: None,
        deleted_at: None,
        pages: Vec::new(),
    }
}

/// The page sizes of a checked document, as a version stores them.
fn pages_of(d: &NewDocument) -> Result<Vec<[u32; 2]>, ContractsError> {
    let sizes = match &d.pages {
        Some(sizes) => sizes.clone(),
        None => sign::page_sizes(&d.bytes).map_err(ContractsError::NotPdf)?,
    };
    Ok(Version::pages_of(&sizes))
}

fn today(tx: &impl Read) -> Date {
    tx.now().to_zoned_datetime(tokyo()).date()
}

/// 契約登録: checks everything, stores the documents, builds the route and starts the
/// circulation at its first step (whose users get 「確認依頼」).
pub fn register(tx: &mut Tx, env: &Env<'_>, caller: &Caller, new: &NewContract) -> Result<Contract, ContractsError> {
    policy::require_register(caller)?;
    let p = parse(new, env)?;
    let (_, owner) = owner_company(tx, &caller.tenant)?;
    let partner = counterparty(tx, &caller.tenant, &new.counterparty)?;
    let number = new.number.trim().to_string();
    if tx.get(&NUMBERS, &key(&caller.tenant, &number))?.is_some() {
        return Err(ContractsError::invalid("number", Rule::Duplicate));
    }
    let steps = route::build(tx, &caller.tenant, &owner, &partner, p.route)??;
    let seq = tx.next_seq(&format!("contracts/{}", caller.tenant))?;
    let id = format!("C{seq:08}");
    let now = tx.now();
    let mut documents = Vec::new();
    for (i, d) in new.documents.iter().enumerate() {
        let sha = put_blob(tx, &caller.tenant, &d.bytes)?;
        documents.push(Document {
            id: format!("D{}", i + 1),
            name: d.name.trim().to_string(),
            versions: vec![Version { pages: pages_of(d)?, ..version(tx, caller, 1, sha, d.bytes.len()) }],
        });
    }
    let retention_until = p
        .date
        .checked_add(jiff::Span::new().years(i64::from(env.config.section::<ContractsConfig>().retention_years)))
        .unwrap_or(p.date);
    let contract = Contract {
        id: id.clone(),
        tenant: caller.tenant.clone(),
        number: number.clone(),
        title: new.title.trim().to_string(),
        doc_type: p.doc_type,
        counterparty: partner.id.clone(),
        transaction_date: p.date,
        amount: p.amount,
        tax: p.tax,
        fields: new
            .fields
            .iter()
            .map(|f| Field { name: f.name.trim().to_string(), value: f.value.trim().to_string() })
            .collect(),
        registrant: caller.user_id.clone(),
        registrant_group: caller.group_id.clone(),
        documents,
        route: steps,
        status: Status::Circulating,
        current: Some(0),
        history: Vec::new(),
        retention_until,
        created_at: now,
        updated_at: now,
        completed_at: None,
        completion_report: None,
    };
    tx.put(&NUMBERS, &key(&caller.tenant, &number), &id)?;
    let docs: Vec<_> = contract
        .documents
        .iter()
        .map(|d| json!({"id": d.id, "name": d.name, "sha256": d.versions[0].sha256}))
        .collect();
    let detail = json!({"number": number, "counterparty": partner.id, "amount": contract.amount, "documents": docs});
    let entry = Entry::by(caller, event(tx, &caller.user_id, EventAction::Register), "document.register", detail);
    transition(tx, None, contract, vec![entry], Some(Mail::RequestStep(env)))
}

fn check_comment(field: &str, comment: &str, required: bool) -> Result<(), ContractsError> {
    let mut v = Validator::new();
    if required {
        v.text(field, comment, COMMENT_MAX);
    } else {
        v.optional_text(field, comment, COMMENT_MAX);
    }
    v.finish().map_err(ContractsError::Invalid)
}

fn comment_of(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// `by` did `action` now; set the principal, step and comment with `..event(…)`.
fn event(tx: &Tx, by: &str, action: EventAction) -> Event {
    Event {
        at: tx.now(),
        by: by.to_string(),
        on_behalf_of: None,
        action: action.as_str().to_string(),
        step: None,
        comment: None,
        mandate: None,
    }
}

/// What a transition appends: an event to the contract's history and the link that records
/// it in the hash chain (and the kernel audit log).
struct Entry {
    event: Event,
    actor: Actor,
    /// The link's action: `contract.approve`, …
    action: &'static str,
    detail: serde_json::Value,
}

impl Entry {
    /// An entry recorded as done by `caller`.
    fn by(caller: &Caller, event: Event, action: &'static str, detail: serde_json::Value) -> Self {
        Self { event, actor: caller.actor(), action, detail }
    }
}

/// The mails a transition queues once the contract and its links are written.
enum Mail<'a> {
    /// 「確認依頼」 to the (new) current step's users.
    RequestStep(&'a Env<'a>),
    /// 「差戻しのお知らせ」 to the registrant: who sent it back, and why.
    SentBack(&'a Env<'a>, &'a Caller, &'a str),
    /// 「締結完了のお知らせ」 to everyone on the route.
    Completed(&'a Env<'a>),
}

/// The tail every transition shares, in the caller's transaction: appends the entries'
/// events to the history, stamps `updated_at`, writes the contract with its index and
/// waiting list ([`save`]; `old` None for a new contract), appends the entries' links to the
/// hash chain in order, then queues the mails (if any).
fn transition(
    tx: &mut Tx,
    old: Option<&Contract>,
    mut new: Contract,
    entries: Vec<Entry>,
    mail: Option<Mail<'_>>,
) -> Result<Contract, ContractsError> {
    new.updated_at = tx.now();
    let mut links = Vec::with_capacity(entries.len());
    for e in entries {
        new.history.push(e.event);
        links.push((e.actor, e.action, e.detail));
    }
    save(tx, old, &new)?;
    for (actor, action, detail) in links {
        storage::record(tx, &actor, &new.tenant, action, &new.id, detail)?;
    }
    let Some(mail) = mail else { return Ok(new) };
    let tenant = directory::get_tenant(tx, &new.tenant)?.ok_or(ContractsError::NotFound("tenant"))?;
    match mail {
        Mail::RequestStep(env) => mails::request_step(tx, env, &tenant, &new)?,
        Mail::SentBack(env, by, comment) => mails::sent_back(tx, env, &tenant, &new, by, comment)?,
        Mail::Completed(env) => mails::completed(tx, env, &tenant, &new)?,
    }
    Ok(new)
}

/// Marks the current step done and moves on: the next step's users get 「確認依頼」, or the
/// contract is completed (by the system, after `entry`) and every participant gets
/// 「締結完了のお知らせ」.
fn advance(
    tx: &mut Tx,
    env: &Env<'_>,
    old: &Contract,
    mut c: Contract,
    done: Done,
    entry: Entry,
) -> Result<Contract, ContractsError> {
    let i = c.current.ok_or(ContractsError::Conflict(Conflict::NotCirculating))?;
    if let Some(step) = c.route.get_mut(i) {
        step.done = Some(done);
    }
    if i + 1 < c.route.len() {
        c.current = Some(i + 1);
        return transition(tx, Some(old), c, vec![entry], Some(Mail::RequestStep(env)));
    }
    c.current = None;
    c.status = Status::Completed;
    c.completed_at = Some(tx.now());
    let complete = Entry {
        event: event(tx, "system", EventAction::Complete),
        actor: Actor::system(),
        action: "contract.complete",
        detail: json!({}),
    };
    transition(tx, Some(old), c, vec![entry, complete], Some(Mail::Completed(env)))
}

/// 確認/承認 of the current (non-signing) step by one of its users.
pub fn approve(
    tx: &mut Tx,
    env: &Env<'_>,
    caller: &Caller,
    id: &str,
    comment: &str,
) -> Result<Contract, ContractsError> {
    let (old, _) = authorize(tx, caller, id, Op::Approve)?;
    let step_index = old.current.unwrap_or(0);
    check_comment("comment", comment, false)?;
    let done = Done { by: caller.user_id.clone(), on_behalf_of: None, at: tx.now() };
    let event = Event {
        step: Some(step_index),
        comment: comment_of(comment),
        ..event(tx, &caller.user_id, EventAction::Approve)
    };
    let entry = Entry::by(caller, event, "contract.approve", json!({"step": step_index}));
    advance(tx, env, &old, old.clone(), done, entry)
}

/// 差戻し by one of the current step's users (a signer's delegate too), with a comment:
/// the contract goes back to the registrant.
pub fn send_back(
    tx: &mut Tx,
    env: &Env<'_>,
    caller: &Caller,
    id: &str,
    comment: &str,
) -> Result<Contract, ContractsError> {
    let (old, facts) = authorize(tx, caller, id, Op::SendBack)?;
    let acting_for = if policy::on_current_step(caller, &old) {
        None
    } else {
        facts.principals.iter().find(|p| p.mandate.is_confirmed()).map(|p| p.user.user_id.clone())
    };
    check_comment("comment", comment, true)?;
    let step_index = old.current.unwrap_or(0);
    let mut c = old.clone();
    c.status = Status::SentBack;
    c.current = None;
    let event = Event {
        on_behalf_of: acting_for,
        step: Some(step_index),
        comment: comment_of(comment),
        ..event(tx, &caller.user_id, EventAction::SendBack)
    };
    let entry = Entry::by(caller, event, "contract.send_back", json!({"step": step_index}));
    transition(tx, Some(&old), c, vec![entry], Some(Mail::SentBack(env, caller, comment.trim())))
}

/// Resubmission of a sent-back contract by its registrant: optionally new versions of its
/// documents (`(document id, content)`), then the route starts again from its first step.
pub fn resubmit(
    tx: &mut Tx,
    env: &Env<'_>,
    caller: &Caller,
    id: &str,
    replacements: &[(String, NewDocument)],
    comment: &str,
) -> Result<Contract, ContractsError> {
    let (old, _) = authorize(tx, caller, id, Op::Resubmit)?;
    check_comment("comment", comment, false)?;
    let mut v = Validator::new();
    for (i, (doc_id, d)) in replacements.iter().enumerate() {
        if !old.documents.iter().any(|x| x.id == *doc_id) {
            v.fail(&format!("documents[{i}].id"), Rule::Unknown { value: doc_id.chars().take(40).collect() });
        }
        check_document(
            &mut v,
            &format!("documents[{i}]"),
            d,
            env.config.section::<ContractsConfig>().max_document_bytes,
        )?;
    }
    v.finish()?;
    let mut c = old.clone();
    for (doc_id, d) in replacements {
        let sha = put_blob(tx, &caller.tenant, &d.bytes)?;
        if let Some(doc) = c.documents.iter_mut().find(|x| x.id == *doc_id) {
            let n = doc.versions.len() as u32 + 1;
            doc.versions.push(Version { pages: pages_of(d)?, ..version(tx, caller, n, sha, d.bytes.len()) });
        }
    }
    for step in &mut c.route {
        step.done = None;
    }
    c.status = Status::Circulating;
    c.current = Some(0);
    let replaced: Vec<&String> = replacements.iter().map(|(d, _)| d).collect();
    let event = Event { comment: comment_of(comment), ..event(tx, &caller.user_id, EventAction::Resubmit) };
    let entry = Entry::by(caller, event, "contract.resubmit", json!({"replaced": replaced}));
    transition(tx, Some(&old), c, vec![entry], Some(Mail::RequestStep(env)))
}

/// 取消 by the registrant while the contract circulates or is sent back.
pub fn cancel(tx: &mut Tx, caller: &Caller, id: &str, comment: &str) -> Result<Contract, ContractsError> {
    let (old, _) = authorize(tx, caller, id, Op::Cancel)?;
    check_comment("comment", comment, false)?;
    let mut c = old.clone();
    c.status = Status::Cancelled;
    c.current = None;
    let event = Event { comment: comment_of(comment), ..event(tx, &caller.user_id, EventAction::Cancel) };
    transition(tx, Some(&old), c, vec![Entry::by(caller, event, "contract.cancel", json!({}))], None)
}

/// Where and for whom to sign, and the signer's proof of intent.
#[derive(Debug, Clone, Default)]
pub struct SignInput {
    /// The signer a delegate signs for (needed only when they are delegate of several of
    /// the step's signers).
    pub on_behalf_of: Option<String>,
    /// 1-based page of the visible seal; default the last page.
    pub page: Option<u32>,
    /// Top-left corner of the stamp in points from the page's top-left; default bottom right.
    pub x: Option<f32>,
    pub y: Option<f32>,
    /// Own signature: the certificate PIN.
    pub pin: Option<String>,
    /// A delegate: a TOTP code from their authenticator app.
    pub otp: Option<String>,
    /// A delegate: the code mailed by `requestSigningCode`.
    pub code: Option<String>,
}

/// How the person signing showed intent, checked where it must be: the PIN against its
/// hash outside the transaction (its outcome recorded inside), codes inside.
#[derive(Debug, Clone)]
pub enum Proof {
    /// Own signature: whether the PIN matched the certificate's hash.
    Pin { correct: bool },
    /// A delegate's TOTP code.
    Totp(String),
    /// A delegate's mailed signing code.
    Code(String),
    /// Demo data: the seeding signs with the demo PIN it set itself.
    Seeded,
}

/// What signing will take, decided before any PIN or code is looked at: for whom the
/// caller signs and, for their own signature, the PIN hash to check.
#[derive(Debug, Clone)]
pub struct SignPlan {
    pub signer: String,
    /// The argon2id hash of the signer's PIN (own signature only).
    pub pin_hash: Option<String>,
}

/// Checks authority (everything [`policy::decide`] asks), the certificate and that the
/// right kind of proof was given — so a refused attempt never consumes a code or counts as
/// a wrong PIN.
pub fn plan_sign(tx: &impl Read, caller: &Caller, id: &str, input: &SignInput) -> Result<SignPlan, ContractsError> {
    let c = load(tx, caller, id)?;
    let facts = policy::facts(tx, caller, &c, today(tx))?;
    let signer = policy::signing_for(caller, &c, &facts, input.on_behalf_of.as_deref())?;
    if signer == caller.user_id {
        let pin_hash = keiyaku_certs::signing::pin_hash(tx, &caller.tenant, &signer)?;
        if input.pin.as_deref().is_none_or(|p| p.trim().is_empty()) {
            return Err(ContractsError::invalid("pin", Rule::Required));
        }
        return Ok(SignPlan { signer, pin_hash: Some(pin_hash) });
    }
    // The principal's certificate must be usable before a code is spent.
    keiyaku_certs::signing::pin_hash(tx, &caller.tenant, &signer).map(|_| ()).or_else(|e| match e {
        keiyaku_certs::CertsError::Pin(_) => Ok(()),
        e => Err(e),
    })?;
    let given = |v: &Option<String>| v.as_deref().is_some_and(|x| !x.trim().is_empty());
    if !given(&input.otp) && !given(&input.code) {
        return Err(ContractsError::Forbidden(Forbidden::StepUpRequired));
    }
    Ok(SignPlan { signer, pin_hash: None })
}

/// Signs every document of the contract at its current signing step with the signer's
/// certificate and seal (PAdES-B-T, the tenant's timestamp), by the signer (with their PIN)
/// or a delegate under a confirmed mandate (with a step-up code); the delegate's signature
/// names the delegation in its signed attributes, and the signer is mailed. A wrong PIN or
/// code is counted and committed: the outer `Ok(Err)`.
pub fn sign_contract(
    tx: &mut Tx,
    env: &Env<'_>,
    caller: &Caller,
    id: &str,
    input: &SignInput,
    proof: &Proof,
) -> Result<Result<Contract, ContractsError>, ContractsError> {
    let old = load(tx, caller, id)?;
    let facts = policy::facts(tx, caller, &old, today(tx))?;
    let signer_id = policy::signing_for(caller, &old, &facts, input.on_behalf_of.as_deref())?;
    let step_index = old.current.unwrap_or(0);
    let own = signer_id == caller.user_id;
    match (own, proof) {
        (_, Proof::Seeded) => {}
        (true, Proof::Pin { correct }) => {
            if let Err(refusal) =
                keiyaku_certs::signing::record_pin(tx, &caller.actor(), &caller.tenant, &signer_id, *correct)?
            {
                return Ok(Err(ContractsError::Forbidden(Forbidden::Pin(refusal))));
            }
        }
        (false, Proof::Code(code)) => {
            if !codes::consume(tx, caller, &old.id, code)? {
                return Ok(Err(ContractsError::Forbidden(Forbidden::CodeInvalid)));
            }
        }
        (false, Proof::Totp(code)) => {
            let kek = env.kek;
            let subject = keiyaku_auth::totp::subject(Some(&caller.tenant), &caller.user_id);
            let right = keiyaku_auth::totp::check_step_up(tx, kek, &subject, code).map_err(|e| match e {
                keiyaku_auth::AuthError::Store(s) => ContractsError::Store(s),
                other => ContractsError::internal(other),
            })?;
            if !right {
                return Ok(Err(ContractsError::Forbidden(Forbidden::CodeInvalid)));
            }
        }
        (true, _) => return Err(ContractsError::invalid("pin", Rule::Required)),
        (false, _) => return Err(ContractsError::Forbidden(Forbidden::StepUpRequired)),
    }
    let signer = directory::get_user(tx, &caller.tenant, &signer_id)?.ok_or(ContractsError::NotFound("user"))?;
    let mandate = if own { None } else { facts.principal(&signer_id).map(|p| p.mandate.clone()) };
    let kek = env.kek;
    let material = keiyaku_certs::signing::signer_material(tx, kek, &caller.tenant, &signer_id)?;
    let tenant = directory::get_tenant(tx, &caller.tenant)?.ok_or(ContractsError::NotFound("tenant"))?;
    let tsa = keiyaku_certs::signing::tsa_material(tx, kek, &tenant, env.base_url)?;
    let validation =
        keiyaku_certs::signing::validation_data(tx, kek, &tenant, env.base_url, &[&material.cert_der, &tsa.cert_der])?;
    let completing = step_index + 1 >= old.route.len();
    let delegate = (!own).then(|| caller.name.clone());
    let delegation = mandate.as_ref().map(|m| keiyaku_pades::Delegation {
        delegate_name: caller.name.clone(),
        delegate_id: caller.user_id.clone(),
        mandate_id: m.id.clone(),
        mandate_sha256: m.sha256_bytes().unwrap_or_default(),
    });
    let now = tx.now();
    let registered_seal = keiyaku_users::seal::get_seal(tx, &caller.tenant, &signer_id)?;
    let outside = crate::outside_tsa::OutsideTsa::from_config(env.config.section::<ContractsConfig>());
    let stamper = sign::stamper(outside.as_ref(), &tsa, now);
    let mut c = old.clone();
    let mut hashes = Vec::new();
    for doc in &mut c.documents {
        let Some(latest) = doc.latest().cloned() else { continue };
        let pdf = storage::get_blob(tx, &caller.tenant, &latest.sha256)?;
        let pages = latest.page_sizes();
        let req = sign::Request {
            pdf: &pdf,
            pages: pages.as_deref(),
            signer_name: &signer.name,
            delegate_name: delegate.as_deref(),
            delegation: delegation.clone(),
            trial: tenant.trial,
            now,
            page: input.page,
            x: input.x,
            y: input.y,
            contract: &c.number,
            certify: true,
            later_signers: old.route.iter().skip(step_index + 1).filter(|s| s.is_signing()).count(),
            registered_seal: registered_seal.as_ref(),
        };
        let signed = sign::sign(&req, &material, stamper.as_ref())?;
        let signed = sign::add_validation_for(&signed, &validation, outside.as_ref())?;
        let signed = if completing { sign::archive_timestamp(&signed, stamper.as_ref())? } else { signed };
        let sha = put_blob(tx, &caller.tenant, &signed)?;
        hashes.push(json!({"document": doc.id, "sha256": sha, "previous": latest.sha256}));
        let n = doc.versions.len() as u32 + 1;
        doc.versions.push(Version {
            signer: Some(signer_id.clone()),
            cert_serial: Some(material.serial.clone()),
            pages: latest.pages.clone(),
            ..version(tx, caller, n, sha, signed.len())
        });
    }
    let on_behalf_of = (!own).then(|| signer_id.clone());
    let intent = match proof {
        Proof::Pin { .. } => "pin",
        Proof::Totp(_) => "totp",
        Proof::Code(_) => "mailed_code",
        Proof::Seeded => "demo",
    };
    let detail = json!({"step": step_index, "signer": signer_id, "by": caller.user_id,
                        "delegate": on_behalf_of.is_some(), "certificate": material.serial, "documents": hashes,
                        "intent": intent, "mandate": mandate.as_ref().map(|m| &m.id),
                        "mandate_sha256": mandate.as_ref().and_then(|m| m.sha256.clone())});
    let done = Done { by: caller.user_id.clone(), on_behalf_of: on_behalf_of.clone(), at: now };
    let event = Event {
        on_behalf_of,
        step: Some(step_index),
        mandate: mandate
            .as_ref()
            .map(|m| MandateRef { id: m.id.clone(), sha256: m.sha256.clone().unwrap_or_default() }),
        ..event(tx, &caller.user_id, EventAction::Sign)
    };
    if let Some(m) = &mandate {
        mails::signed_on_behalf(tx, env, &tenant, &c, &signer, caller, &m.id)?;
    }
    let signed = advance(tx, env, &old, c, done, Entry::by(caller, event, "contract.sign", detail))?;
    if signed.status != Status::Completed {
        return Ok(Ok(signed));
    }
    // 合意締結証明書: made once, now, and kept; signed by the tenant's system certificate.
    let system = keiyaku_certs::signing::system_material(tx, kek, &tenant, env.base_url)?;
    let certs: Vec<&[u8]> = match &outside {
        Some(_) => vec![&system.cert_der],
        None => vec![&system.cert_der, &tsa.cert_der],
    };
    let report_data = keiyaku_certs::signing::validation_data(tx, kek, &tenant, env.base_url, &certs)?;
    let signing = crate::report::Signing {
        system: &system,
        tenant_name: &tenant.name,
        validation: &report_data,
        outside: outside.as_ref(),
        stamper: stamper.as_ref(),
    };
    crate::report::issue(tx, signed, &signing).map(Ok)
}

/// 訂正: new values for a contract's attributes (None: unchanged). The signed documents are
/// never changed; only the registered attributes are, and each change is kept.
#[derive(Debug, Clone, Default)]
pub struct Correction {
    pub title: Option<String>,
    pub transaction_date: Option<String>,
    pub amount: Option<i64>,
    pub tax: Option<String>,
    pub fields: Option<Vec<Field>>,
    /// Why (required).
    pub reason: String,
}

/// 訂正 of a contract's attributes — by the registrant while it is sent back, or by the
/// owner's 管理部 / group administrators at any time — recorded with every old and new value
/// (訂正削除履歴) in the history and the hash chain.
pub fn correct(
    tx: &mut Tx,
    env: &Env<'_>,
    caller: &Caller,
    id: &str,
    input: &Correction,
) -> Result<Contract, ContractsError> {
    let (old, _) = authorize(tx, caller, id, Op::Correct)?;
    let mut v = Validator::new();
    v.text("reason", &input.reason, COMMENT_MAX);
    if let Some(t) = &input.title {
        v.text("title", t, TITLE_MAX);
    }
    let date = match &input.transaction_date {
        Some(d) => {
            let parsed = parse_date(d);
            if parsed.is_none() {
                v.fail(
                    "transaction_date",
                    custom(
                        FieldCode::InvalidDate,
                        "YYYY-MM-DDの形式で正しい日付を入力してください。",
                        "Enter a valid date as YYYY-MM-DD.",
                    ),
                );
            }
            parsed
        }
        None => None,
    };
    if input.amount.is_some_and(|a| !(0..=AMOUNT_MAX).contains(&a)) {
        v.fail(
            "amount",
            custom(
                FieldCode::OutOfRange,
                "0〜1兆円の範囲で入力してください。",
                "Use an amount from 0 to 1 trillion yen.",
            ),
        );
    }
    let tax = match input.tax.as_deref().map(str::trim) {
        Some(t) => {
            let parsed = Tax::parse(t);
            if parsed.is_none() {
                v.fail("tax", Rule::Unknown { value: t.chars().take(40).collect() });
            }
            parsed
        }
        None => None,
    };
    if let Some(fields) = &input.fields {
        if fields.len() > FIELDS_MAX {
            v.fail("fields", Rule::TooLong { max: FIELDS_MAX });
        }
        for (i, f) in fields.iter().take(FIELDS_MAX).enumerate() {
            v.text(&format!("fields[{i}].name"), &f.name, FIELD_NAME_MAX);
            v.optional_text(&format!("fields[{i}].value"), &f.value, FIELD_VALUE_MAX);
        }
    }
    v.finish()?;
    let mut c = old.clone();
    let mut changes = Vec::new();
    if let Some(t) = &input.title
        && t.trim() != c.title
    {
        changes.push(("title", json!(c.title), json!(t.trim())));
        c.title = t.trim().to_string();
    }
    if let Some(d) = date
        && d != c.transaction_date
    {
        changes.push(("transaction_date", json!(c.transaction_date.to_string()), json!(d.to_string())));
        c.transaction_date = d;
        // The retention period runs from the transaction date; a correction never shortens it.
        let years = jiff::Span::new().years(i64::from(env.config.section::<ContractsConfig>().retention_years));
        c.retention_until = c.retention_until.max(d.checked_add(years).unwrap_or(d));
    }
    if let Some(a) = input.amount
        && a != c.amount
    {
        changes.push(("amount", json!(c.amount), json!(a)));
        c.amount = a;
    }
    if let Some(t) = tax
        && t != c.tax
    {
        changes.push(("tax", json!(c.tax.as_str()), json!(t.as_str())));
        c.tax = t;
    }
    if let Some(fields) = &input.fields {
        let fields: Vec<Field> = fields
            .iter()
            .map(|f| Field { name: f.name.trim().to_string(), value: f.value.trim().to_string() })
            .collect();
        if fields != c.fields {
            let show =
                |fs: &[Field]| fs.iter().map(|f| format!("{}={}", f.name, f.value)).collect::<Vec<_>>().join(", ");
            changes.push(("fields", json!(show(&c.fields)), json!(show(&fields))));
            c.fields = fields;
        }
    }
    if changes.is_empty() {
        return Ok(old);
    }
    let summary: Vec<String> = changes.iter().map(|(f, a, b)| format!("{f}: {a} → {b}")).collect();
    let event = Event {
        comment: Some(format!("{}（{}）", input.reason.trim(), summary.join("; "))),
        ..event(tx, &caller.user_id, EventAction::Correct)
    };
    let detail: Vec<_> = changes.iter().map(|(f, a, b)| json!({"field": f, "old": a, "new": b})).collect();
    let detail = json!({"reason": input.reason.trim(), "changes": detail});
    transition(tx, Some(&old), c, vec![Entry::by(caller, event, "contract.correct", detail)], None)
}

/// 削除 after the retention period, by the owner's 管理部 / group administrators: the
/// documents' contents are removed (their hashes stay), the contract stays as a record with
/// its history, and the deletion is recorded in the hash chain. Refused during retention.
pub fn delete(tx: &mut Tx, caller: &Caller, id: &str, reason: &str) -> Result<Contract, ContractsError> {
    let (old, _) = authorize(tx, caller, id, Op::Delete)?;
    check_comment("reason", reason, true)?;
    let now = tx.now();
    let mut c = old.clone();
    let mut removed = Vec::new();
    for doc in &mut c.documents {
        for v in &mut doc.versions {
            if v.deleted_at.is_none() {
                v.deleted_at = Some(now);
                removed.push(v.sha256.clone());
            }
        }
    }
    c.status = Status::Deleted;
    c.current = None;
    let event = Event { comment: comment_of(reason), ..event(tx, &caller.user_id, EventAction::Delete) };
    let detail =
        json!({"reason": reason.trim(), "documents": removed, "retention_until": old.retention_until.to_string()});
    let c = transition(tx, Some(&old), c, vec![Entry::by(caller, event, "contract.delete", detail)], None)?;
    // Content shared with another contract's live version stays.
    let mut in_use = std::collections::HashSet::new();
    for (_, other) in tx.scan(&CONTRACTS, &format!("{}/", caller.tenant))? {
        for d in &other.documents {
            for v in d.versions.iter().filter(|v| v.deleted_at.is_none()) {
                in_use.insert(v.sha256.clone());
            }
        }
    }
    for sha in removed.iter().filter(|s| !in_use.contains(*s)) {
        storage::remove_blob(tx, &caller.tenant, sha)?;
    }
    Ok(c)
}

/// The contracts waiting for `caller`: theirs, and — for signing steps — those of the
/// signers whose mandate lets the caller sign that contract now. Each goes through
/// [`policy::decide`], as `getContract` and the action buttons do.
pub fn waiting_ids(tx: &impl Read, caller: &Caller) -> Result<Vec<(String, String)>, ContractsError> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut users = vec![caller.user_id.clone()];
    users.extend(keiyaku_users::delegates::signers_for(tx, &caller.tenant, &caller.user_id)?);
    let today = today(tx);
    for (n, user) in users.iter().enumerate() {
        let prefix = format!("{}/{user}/", caller.tenant);
        for (k, line) in tx.scan(&WAITING, &prefix)? {
            if n > 0 && !line.ends_with("_signer") {
                continue;
            }
            let id = k.rsplit('/').next().unwrap_or_default().to_string();
            if out.iter().any(|(i, _)| *i == id) {
                continue;
            }
            let Some(c) = tx.get(&CONTRACTS, &key(&caller.tenant, &id))? else { continue };
            let facts = policy::facts(tx, caller, &c, today)?;
            let op = if n == 0 {
                if c.current_step().is_some_and(|s| s.is_signing()) { Op::Sign } else { Op::Approve }
            } else {
                Op::SignOnBehalf(user)
            };
            if policy::decide(caller, &c, &facts, op).is_ok() {
                out.push((id, line));
            }
        }
    }
    Ok(out)
}

/// Today's date in Japan (for demo data and defaults).
pub fn today_in_japan(tx: &impl Read) -> Date {
    today(tx)
}

#[cfg(test)]
mod tests {
    use super::parse_date;
    use proptest::prelude::*;

    #[test]
    fn dates_in_both_forms() {
        assert_eq!(parse_date("2026-11-25").map(|d| d.to_string()), Some("2026-11-25".into()));
        assert_eq!(parse_date(" 2026/11/25 ").map(|d| d.to_string()), Some("2026-11-25".into()));
        assert_eq!(parse_date("2026-02-29"), None);
        assert_eq!(parse_date("1899-12-31"), None);
        assert_eq!(parse_date("令和8年"), None);
    }

    proptest! {
        #[test]
        fn any_text_parses_or_not_without_panicking(s in "\\PC{0,30}") {
            let _ = parse_date(&s);
        }

        #[test]
        fn valid_dates_round_trip(y in 1900i16..2199, m in 1i8..=12, d in 1i8..=28) {
            let text = format!("{y:04}-{m:02}-{d:02}");
            prop_assert_eq!(parse_date(&text).map(|x| x.to_string()), Some(text));
        }
    }
}
