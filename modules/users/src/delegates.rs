//! Delegates (署名/電子捺印操作代行ユーザー): users allowed to perform the signing operation on
//! a signer's behalf, chosen from already-registered users (seed §3.4), each under a
//! mandate (署名操作代行の委任).
//!
//! Rules: only signers have delegates; a delegate is an existing, active user of the
//! signer's own company whom the caller may pick (`scope::decide` keeps both the signer and
//! the pick inside the caller's company: the own group, or the whole company for the tenant
//! administrator), never the signer themself. `addDelegates` is
//! all-or-nothing: IDs that do not resolve to such a user are 422 naming each one
//! (`user_ids[i]`), repeated IDs in one request are 422 `duplicate`, and IDs that already are
//! delegates of the signer are 409 `conflict` (adding is not idempotent, so a stale dialog
//! learns that someone else added them). Taking the signer role away removes the delegates.
//!
//! A mandate may carry limits (valid until a day, an amount ceiling, document types). It is
//! `pending` until the signer confirms it with their certificate PIN: the confirmation is a
//! detached CMS signature by the signer's own key over the mandate's canonical JSON (keys
//! sorted, no spaces), kept with it, so the delegation itself is provable. The signer and the
//! delegate are mailed on every change.

use crate::error::UsersError;
use crate::mails;
use crate::scope::{self, Decision, Op, Target, require};
use jiff::civil::Date;
use keiyaku_kernel::FieldCode;
use keiyaku_kernel::clock::rfc3339;
use keiyaku_kernel::context::{Actor, Caller};
use keiyaku_kernel::directory::{self, Company, Role, User, UserStatus};
use keiyaku_kernel::doc_type::DocType;
use keiyaku_kernel::intent::{IntentError, SignedStatement};
use keiyaku_kernel::mail::NewMail;
use keiyaku_kernel::store::{Read, StoreError, Table, Tx};
use keiyaku_kernel::validate::{Invalid, Rule};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `tenant/signer/delegate` → the mandate.
pub const DELEGATES: Table<Mandate> = Table::new("users_delegates");
/// `tenant/delegate/signer` → (): for whom a user may sign.
pub const DELEGATE_OF: Table<()> = Table::new("users_delegate_of");

/// At most this many IDs per request, and delegates per signer.
pub const MAX_PER_REQUEST: usize = 50;
pub const MAX_PER_SIGNER: usize = 100;
/// The largest amount ceiling (as for contract amounts: 1 trillion yen).
pub const MAX_AMOUNT: i64 = 1_000_000_000_000;

/// What a mandate allows; an empty limit allows everything of its kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// The last day (Japan) the delegate may sign.
    #[serde(default)]
    pub valid_until: Option<Date>,
    /// The largest 取引金額 the delegate may sign.
    #[serde(default)]
    pub max_amount: Option<i64>,
    /// The document types the delegate may sign (empty: all).
    #[serde(default)]
    pub doc_types: Vec<DocType>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MandateState {
    /// Set by someone; the signer has not confirmed it with their PIN yet.
    #[default]
    Pending,
    /// Confirmed by the signer's own signature.
    Confirmed,
}

impl MandateState {
    pub const ALL: [MandateState; 2] = [MandateState::Pending, MandateState::Confirmed];

    pub fn as_str(self) -> &'static str {
        match self {
            MandateState::Pending => "pending",
            MandateState::Confirmed => "confirmed",
        }
    }
}

/// 署名操作代行の委任: a signer's delegate and what they may sign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mandate {
    pub added_at: String,
    pub added_by: String,
    /// `M` + a unique id; empty for links stored before mandates had one (never confirmed).
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub state: MandateState,
    #[serde(default)]
    pub confirmed_at: Option<String>,
    /// The canonical JSON the signer signed.
    #[serde(default)]
    pub statement: Option<String>,
    /// SHA-256 (hex) of `statement`.
    #[serde(default)]
    pub sha256: Option<String>,
    /// The signer's detached CMS signature over `statement`, base64 of DER.
    #[serde(default)]
    pub confirmation: Option<String>,
    /// The certificate that signed the confirmation.
    #[serde(default)]
    pub cert_serial: Option<String>,
}

/// Why a mandate does not cover a contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exceeded {
    /// After `valid_until`.
    Expired,
    /// The amount is above `max_amount`.
    Amount,
    /// The document type is not among `doc_types`.
    DocType,
}

impl Mandate {
    /// A new pending mandate with these limits.
    fn pending(tx: &Tx, added_by: &str, limits: Limits) -> Self {
        Mandate {
            added_at: rfc3339(tx.now()),
            added_by: added_by.to_string(),
            id: format!("M{}", keiyaku_kernel::ids::new_id()),
            limits,
            state: MandateState::Pending,
            confirmed_at: None,
            statement: None,
            sha256: None,
            confirmation: None,
            cert_serial: None,
        }
    }

    pub fn is_confirmed(&self) -> bool {
        self.state == MandateState::Confirmed && self.sha256.is_some()
    }

    /// Whether the limits allow signing a contract of `amount` yen and type `doc_type` on
    /// `today` (the state is judged separately, see [`Mandate::is_confirmed`]).
    pub fn covers(&self, amount: i64, doc_type: DocType, today: Date) -> Result<(), Exceeded> {
        if self.limits.valid_until.is_some_and(|d| today > d) {
            return Err(Exceeded::Expired);
        }
        if self.limits.max_amount.is_some_and(|max| amount > max) {
            return Err(Exceeded::Amount);
        }
        if !self.limits.doc_types.is_empty() && !self.limits.doc_types.contains(&doc_type) {
            return Err(Exceeded::DocType);
        }
        Ok(())
    }

    /// The SHA-256 of the confirmed statement, as bytes.
    pub fn sha256_bytes(&self) -> Option<[u8; 32]> {
        let hex = self.sha256.as_deref()?;
        hex::decode(hex).ok()?.try_into().ok()
    }
}

/// A delegate as listed.
#[derive(Debug, Clone)]
pub struct Delegate {
    pub user: User,
    pub company: Option<Company>,
    pub group_name: Option<String>,
    pub added_at: String,
    pub mandate: Mandate,
    /// Who set it (name), when known.
    pub added_by_name: Option<String>,
}

/// `addDelegates`' input besides the IDs.
#[derive(Debug, Clone, Default)]
pub struct AddInput {
    pub user_ids: Vec<String>,
    /// `YYYY-MM-DD`.
    pub valid_until: Option<String>,
    pub max_amount: Option<i64>,
    /// Document type codes (`purchase_order`, …).
    pub doc_types: Vec<String>,
}

fn prefix(tenant: &str, signer: &str) -> String {
    format!("{tenant}/{signer}/")
}

fn mandate_key(tenant: &str, signer: &str, delegate: &str) -> String {
    format!("{tenant}/{signer}/{delegate}")
}

/// The delegate IDs of a signer, in user-ID order (no authorization: for other modules).
pub fn delegate_ids(tx: &impl Read, tenant: &str, signer: &str) -> Result<Vec<String>, StoreError> {
    let p = prefix(tenant, signer);
    Ok(tx.scan(&DELEGATES, &p)?.into_iter().filter_map(|(k, _)| k.strip_prefix(&p).map(str::to_string)).collect())
}

/// The signers `user` may sign for (no authorization: for other modules).
pub fn signers_for(tx: &impl Read, tenant: &str, user: &str) -> Result<Vec<String>, StoreError> {
    let p = prefix(tenant, user);
    Ok(tx.scan(&DELEGATE_OF, &p)?.into_iter().filter_map(|(k, ())| k.strip_prefix(&p).map(str::to_string)).collect())
}

pub fn is_delegate(tx: &impl Read, tenant: &str, signer: &str, user: &str) -> Result<bool, StoreError> {
    Ok(tx.get(&DELEGATES, &mandate_key(tenant, signer, user))?.is_some())
}

/// The mandate under which `user` acts for `signer` (no authorization: for other modules).
pub fn mandate(tx: &impl Read, tenant: &str, signer: &str, user: &str) -> Result<Option<Mandate>, StoreError> {
    tx.get(&DELEGATES, &mandate_key(tenant, signer, user))
}

fn load_signer(tx: &impl Read, caller: &Caller, signer_id: &str, op: Op) -> Result<User, UsersError> {
    let signer = directory::get_user(tx, &caller.tenant, signer_id)?.ok_or(UsersError::NotFound("user"))?;
    require(caller, op, &Target::user(&signer), "user")?;
    Ok(signer)
}

/// `listDelegates`: a signer's delegates with their mandates (empty for users who are not
/// signers).
pub fn list(tx: &impl Read, caller: &Caller, signer_id: &str) -> Result<Vec<Delegate>, UsersError> {
    let signer = load_signer(tx, caller, signer_id, Op::ReadDelegates)?;
    let tenant = &caller.tenant;
    let mut out = Vec::new();
    for (k, mandate) in tx.scan(&DELEGATES, &prefix(tenant, &signer.user_id))? {
        let Some(id) = k.rsplit('/').next() else { continue };
        let Some(user) = directory::get_user(tx, tenant, id)? else { continue };
        let company = directory::get_company(tx, tenant, &user.company_id)?;
        let group_name = directory::get_group(tx, tenant, &user.group_id)?.map(|g| g.name);
        let added_by_name = directory::get_user(tx, tenant, &mandate.added_by)?.map(|u| u.name);
        out.push(Delegate { user, company, group_name, added_at: mandate.added_at.clone(), mandate, added_by_name });
    }
    Ok(out)
}

/// The limits of `addDelegates`, checked.
fn limits_of(v: &mut Vec<Invalid>, input: &AddInput) -> Limits {
    let valid_until = match input.valid_until.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => {
            let parsed = s.replace('/', "-").parse::<Date>().ok();
            if parsed.is_none() {
                v.push(Invalid::new(
                    "valid_until",
                    Rule::Custom {
                        code: FieldCode::InvalidDate,
                        ja: "YYYY-MM-DDの形式で正しい日付を入力してください。".into(),
                        en: "Enter a valid date as YYYY-MM-DD.".into(),
                    },
                ));
            }
            parsed
        }
    };
    if input.max_amount.is_some_and(|a| !(0..=MAX_AMOUNT).contains(&a)) {
        v.push(Invalid::new(
            "max_amount",
            Rule::Custom {
                code: FieldCode::OutOfRange,
                ja: "0〜1兆円の範囲で入力してください。".into(),
                en: "Use an amount from 0 to 1 trillion yen.".into(),
            },
        ));
    }
    let mut doc_types = Vec::new();
    for (i, t) in input.doc_types.iter().enumerate() {
        match DocType::parse(t.trim()) {
            Some(d) if !doc_types.contains(&d) => doc_types.push(d),
            Some(_) => v.push(Invalid::new(format!("doc_types[{i}]"), Rule::Duplicate)),
            None => {
                v.push(Invalid::new(format!("doc_types[{i}]"), Rule::Unknown { value: t.chars().take(40).collect() }))
            }
        }
    }
    Limits { valid_until, max_amount: input.max_amount, doc_types }
}

/// What `addDelegates` will add, checked without writing: the signer and the new delegates.
pub fn plan_add(
    tx: &impl Read,
    caller: &Caller,
    signer_id: &str,
    input: &AddInput,
) -> Result<(User, Vec<User>, Limits), UsersError> {
    let signer = load_signer(tx, caller, signer_id, Op::ManageDelegates)?;
    if !signer.has(Role::Signer) {
        return Err(UsersError::NotSigner);
    }
    let tenant = caller.tenant.clone();
    let user_ids = &input.user_ids;
    if user_ids.is_empty() {
        return Err(UsersError::invalid("user_ids", Rule::Required));
    }
    if user_ids.len() > MAX_PER_REQUEST {
        return Err(UsersError::invalid("user_ids", too_many(MAX_PER_REQUEST)));
    }
    let mut invalid = Vec::new();
    let limits = limits_of(&mut invalid, input);
    let mut conflicts = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    let mut adding: Vec<User> = Vec::new();
    for (i, raw) in user_ids.iter().enumerate() {
        let field = format!("user_ids[{i}]");
        let id = raw.trim();
        if seen.contains(&id) {
            invalid.push(Invalid::new(field, Rule::Duplicate));
            continue;
        }
        seen.push(id);
        let found = if id.is_empty() || id.len() > directory::USER_ID_MAX {
            None
        } else {
            directory::get_user(tx, &tenant, id)?
        };
        // Users the caller may not pick are reported exactly like unknown ones.
        let Some(user) =
            found.filter(|u| scope::decide(caller, Op::PickAsDelegate, &Target::user(u)) == Decision::Allow)
        else {
            invalid.push(Invalid::new(field, Rule::Unknown { value: id.chars().take(40).collect() }));
            continue;
        };
        if user.user_id == signer.user_id {
            invalid.push(Invalid::new(
                field,
                Rule::Custom {
                    code: FieldCode::SelfReference,
                    ja: "署名者本人は代行ユーザーにできません。".into(),
                    en: "A signer cannot be their own delegate.".into(),
                },
            ));
        } else if user.status != UserStatus::Active {
            invalid.push(Invalid::new(
                field,
                Rule::Custom {
                    code: FieldCode::Inactive,
                    ja: format!("{}は利用停止中のため代行ユーザーにできません。", user.user_id),
                    en: format!("{} is suspended and cannot be a delegate.", user.user_id),
                },
            ));
        } else if is_delegate(tx, &tenant, &signer.user_id, &user.user_id)? {
            conflicts.push(Invalid::new(field, Rule::Duplicate));
        } else {
            adding.push(user);
        }
    }
    if !invalid.is_empty() {
        return Err(UsersError::Invalid(invalid));
    }
    if !conflicts.is_empty() {
        return Err(UsersError::Conflict(conflicts));
    }
    let existing = tx.count(&DELEGATES, &prefix(&tenant, &signer.user_id))?;
    if existing + adding.len() > MAX_PER_SIGNER {
        return Err(UsersError::invalid("user_ids", too_many(MAX_PER_SIGNER)));
    }
    Ok((signer, adding, limits))
}

/// Signs a statement with the signer's key (the certs module through the kernel's
/// `SignerKeys`, or the demo's own access to it).
pub type SignStatement<'a> = dyn Fn(&Tx, &str, &str, &[u8]) -> Result<SignedStatement, IntentError> + 'a;

/// How a change is confirmed by the signer: not at all (pending), or with a PIN already
/// checked against its hash outside the transaction (`correct`), recorded through `record`.
pub struct Confirmation<'a> {
    pub correct: bool,
    pub keys: &'a dyn keiyaku_kernel::intent::SignerKeys,
}

/// `addDelegates`: adds several delegates at once (all or nothing), each with a `pending`
/// mandate — or, when the signer themself adds them with their PIN, a confirmed one. A wrong
/// PIN is counted (committed) and nothing is added: the outer `Ok(Err)`.
pub fn add(
    tx: &mut Tx,
    caller: &Caller,
    signer_id: &str,
    input: &AddInput,
    confirm: Option<&Confirmation<'_>>,
    base_url: &str,
    smtp: bool,
) -> Result<Result<Vec<Delegate>, UsersError>, UsersError> {
    let (signer, adding, limits) = plan_add(tx, caller, signer_id, input)?;
    let tenant = caller.tenant.clone();
    if let Some(c) = confirm {
        if caller.user_id != signer.user_id {
            return Err(UsersError::invalid("pin", only_the_signer()));
        }
        if let Err(refusal) = c.keys.record_pin(tx, &caller.actor(), &tenant, &signer.user_id, c.correct)? {
            return Ok(Err(UsersError::Pin(refusal)));
        }
    }
    let t = directory::get_tenant(tx, &tenant)?.ok_or(UsersError::NotFound("tenant"))?;
    let mut added = Vec::new();
    for user in &adding {
        let mut m = Mandate::pending(tx, &caller.user_id, limits.clone());
        if let Some(c) = confirm {
            let sign =
                |tx: &Tx, tenant: &str, user: &str, content: &[u8]| c.keys.sign_statement(tx, tenant, user, content);
            seal(tx, &tenant, &signer, user, &mut m, &sign)?;
        }
        tx.put(&DELEGATES, &mandate_key(&tenant, &signer.user_id, &user.user_id), &m)?;
        tx.put(&DELEGATE_OF, &mandate_key(&tenant, &user.user_id, &signer.user_id), &())?;
        let url = signer_url(base_url, &tenant, &signer.user_id);
        send(tx, mails::added(&t, &signer, user, &caller.name, &m, &url), smtp)?;
        added.push(serde_json::json!({"delegate": user.user_id, "mandate": m.id, "state": m.state.as_str()}));
    }
    tx.audit(
        &caller.actor(),
        "delegate.add",
        &format!("{tenant}/{}", signer.user_id),
        serde_json::json!({"delegates": added, "limits": limits_json(&limits)}),
    )?;
    Ok(Ok(list(tx, caller, &signer.user_id)?))
}

fn send(tx: &mut Tx, mails: Vec<NewMail>, smtp: bool) -> Result<(), StoreError> {
    for m in mails {
        tx.send_mail(m, smtp)?;
    }
    Ok(())
}

fn signer_url(base_url: &str, tenant: &str, signer: &str) -> String {
    format!("{base_url}/t/{tenant}/admin/users/{signer}")
}

pub(crate) fn only_the_signer() -> Rule {
    Rule::Custom {
        code: FieldCode::NotTheSigner,
        ja: "委任をPINコードで確認できるのは署名者本人だけです。".into(),
        en: "Only the signer confirms a mandate with their PIN.".into(),
    }
}

fn limits_json(l: &Limits) -> serde_json::Value {
    let types: Vec<&str> = l.doc_types.iter().map(|d| d.as_str()).collect();
    serde_json::json!({
        "valid_until": l.valid_until.map(|d| d.to_string()),
        "max_amount": l.max_amount,
        "doc_types": types,
    })
}

/// The canonical JSON of a mandate as the signer confirms it: objects with sorted keys, no
/// insignificant whitespace (serde_json's compact form of `BTreeMap`s).
pub fn statement(
    tenant: &str,
    signer: &User,
    company: Option<&Company>,
    delegate: &User,
    m: &Mandate,
    confirmed_at: &str,
) -> String {
    let party = |u: &User| {
        let mut o = BTreeMap::new();
        o.insert("user_id", serde_json::json!(u.user_id));
        o.insert("name", serde_json::json!(u.name));
        o
    };
    let mut signer_obj = party(signer);
    signer_obj.insert("company_id", serde_json::json!(signer.company_id));
    signer_obj.insert("company_name", serde_json::json!(company.map(|c| c.name.clone())));
    let delegate_obj = party(delegate);
    let mut limits = BTreeMap::new();
    limits.insert("valid_until", serde_json::json!(m.limits.valid_until.map(|d| d.to_string())));
    limits.insert("max_amount", serde_json::json!(m.limits.max_amount));
    limits.insert("doc_types", serde_json::json!(m.limits.doc_types.iter().map(|d| d.as_str()).collect::<Vec<_>>()));
    let mut o: BTreeMap<&str, serde_json::Value> = BTreeMap::new();
    o.insert("type", serde_json::json!("keiyaku.delegation-mandate/1"));
    o.insert("tenant", serde_json::json!(tenant));
    o.insert("mandate_id", serde_json::json!(m.id));
    o.insert("signer", serde_json::json!(signer_obj));
    o.insert("delegate", serde_json::json!(delegate_obj));
    o.insert("limits", serde_json::json!(limits));
    o.insert("added_by", serde_json::json!(m.added_by));
    o.insert("added_at", serde_json::json!(m.added_at));
    o.insert("confirmed_at", serde_json::json!(confirmed_at));
    serde_json::to_string(&o).unwrap_or_default()
}

/// Makes `m` confirmed: the statement signed by the signer's key, kept with its hash.
fn seal(
    tx: &mut Tx,
    tenant: &str,
    signer: &User,
    delegate: &User,
    m: &mut Mandate,
    sign: &SignStatement<'_>,
) -> Result<(), UsersError> {
    use base64::Engine;
    use sha2::Digest;
    if m.id.is_empty() {
        m.id = format!("M{}", keiyaku_kernel::ids::new_id());
    }
    let company = directory::get_company(tx, tenant, &signer.company_id)?;
    let confirmed_at = rfc3339(tx.now());
    let text = statement(tenant, signer, company.as_ref(), delegate, m, &confirmed_at);
    let signed = sign(tx, tenant, &signer.user_id, text.as_bytes())?;
    m.sha256 = Some(hex::encode(sha2::Sha256::digest(text.as_bytes())));
    m.statement = Some(text);
    m.confirmation = Some(base64::engine::general_purpose::STANDARD.encode(&signed.cms));
    m.cert_serial = Some(signed.serial);
    m.confirmed_at = Some(confirmed_at);
    m.state = MandateState::Confirmed;
    Ok(())
}

/// `confirmDelegate`: the signer confirms a pending mandate with their PIN (checked outside
/// the transaction; a wrong one is counted and committed: the outer `Ok(Err)`).
pub fn confirm(
    tx: &mut Tx,
    caller: &Caller,
    signer_id: &str,
    delegate_id: &str,
    c: &Confirmation<'_>,
    smtp: bool,
) -> Result<Result<Mandate, UsersError>, UsersError> {
    let (signer, delegate, mut m) = plan_confirm(tx, caller, signer_id, delegate_id)?;
    let tenant = caller.tenant.clone();
    if let Err(refusal) = c.keys.record_pin(tx, &caller.actor(), &tenant, &signer.user_id, c.correct)? {
        return Ok(Err(UsersError::Pin(refusal)));
    }
    let sign = |tx: &Tx, tenant: &str, user: &str, content: &[u8]| c.keys.sign_statement(tx, tenant, user, content);
    seal(tx, &tenant, &signer, &delegate, &mut m, &sign)?;
    tx.put(&DELEGATES, &mandate_key(&tenant, &signer.user_id, &delegate.user_id), &m)?;
    tx.audit(
        &caller.actor(),
        "delegate.confirm",
        &format!("{tenant}/{}", signer.user_id),
        serde_json::json!({"delegate": delegate.user_id, "mandate": m.id, "sha256": m.sha256,
                           "certificate": m.cert_serial}),
    )?;
    let t = directory::get_tenant(tx, &tenant)?.ok_or(UsersError::NotFound("tenant"))?;
    send(tx, mails::confirmed(&t, &signer, &delegate, &m), smtp)?;
    Ok(Ok(m))
}

/// What `confirmDelegate` checks before the PIN: the caller is the signer, the mandate
/// exists and is pending, and the delegate is still an active user.
pub fn plan_confirm(
    tx: &impl Read,
    caller: &Caller,
    signer_id: &str,
    delegate_id: &str,
) -> Result<(User, User, Mandate), UsersError> {
    let signer = load_signer(tx, caller, signer_id, Op::ConfirmDelegate)?;
    let m = mandate(tx, &caller.tenant, &signer.user_id, delegate_id)?.ok_or(UsersError::NotFound("delegate"))?;
    if m.is_confirmed() {
        return Err(UsersError::AlreadyConfirmed);
    }
    let delegate = directory::get_user(tx, &caller.tenant, delegate_id)?.ok_or(UsersError::NotFound("delegate"))?;
    Ok((signer, delegate, m))
}

/// `getMandate`: a mandate with its statement and confirmation, for whoever may read the
/// signer's delegates and for the delegate themself.
pub fn get_mandate(
    tx: &impl Read,
    caller: &Caller,
    signer_id: &str,
    delegate_id: &str,
) -> Result<(User, User, Mandate), UsersError> {
    let signer = directory::get_user(tx, &caller.tenant, signer_id)?.ok_or(UsersError::NotFound("user"))?;
    if caller.user_id != delegate_id || signer.company_id != caller.company_id {
        require(caller, Op::ReadDelegates, &Target::user(&signer), "user")?;
    }
    let m = mandate(tx, &caller.tenant, &signer.user_id, delegate_id)?.ok_or(UsersError::NotFound("delegate"))?;
    let delegate = directory::get_user(tx, &caller.tenant, delegate_id)?.ok_or(UsersError::NotFound("delegate"))?;
    Ok((signer, delegate, m))
}

fn too_many(max: usize) -> Rule {
    Rule::Custom {
        code: FieldCode::TooMany,
        ja: format!("代行ユーザーは{max}人までです。"),
        en: format!("At most {max} delegates."),
    }
}

/// `removeDelegate`: the mandate ends at once; signer and delegate are mailed.
pub fn remove(tx: &mut Tx, caller: &Caller, signer_id: &str, delegate_id: &str, smtp: bool) -> Result<(), UsersError> {
    let signer = load_signer(tx, caller, signer_id, Op::ManageDelegates)?;
    let tenant = caller.tenant.clone();
    let k = mandate_key(&tenant, &signer.user_id, delegate_id);
    let m = tx.get(&DELEGATES, &k)?.ok_or(UsersError::NotFound("delegate"))?;
    tx.remove(&DELEGATES, &k)?;
    tx.remove(&DELEGATE_OF, &mandate_key(&tenant, delegate_id, &signer.user_id))?;
    tx.audit(
        &caller.actor(),
        "delegate.remove",
        &format!("{tenant}/{}", signer.user_id),
        serde_json::json!({"delegate": delegate_id, "mandate": m.id}),
    )?;
    if let (Some(t), Some(delegate)) =
        (directory::get_tenant(tx, &tenant)?, directory::get_user(tx, &tenant, delegate_id)?)
    {
        send(tx, mails::removed(&t, &signer, &delegate, &caller.name, &m), smtp)?;
    }
    Ok(())
}

/// Removes every delegate of a user who stopped being a signer (same transaction).
pub(crate) fn remove_all(tx: &mut Tx, actor: &Actor, tenant: &str, signer: &str) -> Result<(), StoreError> {
    let ids = delegate_ids(tx, tenant, signer)?;
    if ids.is_empty() {
        return Ok(());
    }
    for id in &ids {
        tx.remove(&DELEGATES, &mandate_key(tenant, signer, id))?;
        tx.remove(&DELEGATE_OF, &mandate_key(tenant, id, signer))?;
    }
    tx.audit(
        actor,
        "delegate.remove",
        &format!("{tenant}/{signer}"),
        serde_json::json!({"delegates": ids, "reason": "no longer a signer"}),
    )
}

/// Adds a delegate without a caller or any check (demo data and test fixtures), with a
/// pending mandate without limits.
pub fn link(tx: &mut Tx, actor: &Actor, tenant: &str, signer: &str, delegate: &str) -> Result<(), StoreError> {
    let m = Mandate::pending(tx, &actor.id, Limits::default());
    tx.put(&DELEGATES, &mandate_key(tenant, signer, delegate), &m)?;
    tx.put(&DELEGATE_OF, &mandate_key(tenant, delegate, signer), &())?;
    tx.audit(actor, "delegate.add", &format!("{tenant}/{signer}"), serde_json::json!({"delegates": [delegate]}))
}

/// Confirms a linked mandate without a caller or a PIN (demo data and test fixtures), signed
/// by `sign` with the signer's key as a real confirmation is.
pub fn confirm_unchecked(
    tx: &mut Tx,
    actor: &Actor,
    tenant: &str,
    signer_id: &str,
    delegate_id: &str,
    sign: &SignStatement<'_>,
) -> Result<(), UsersError> {
    let signer = directory::get_user(tx, tenant, signer_id)?.ok_or(UsersError::NotFound("user"))?;
    let delegate = directory::get_user(tx, tenant, delegate_id)?.ok_or(UsersError::NotFound("delegate"))?;
    let mut m = mandate(tx, tenant, signer_id, delegate_id)?.ok_or(UsersError::NotFound("delegate"))?;
    seal(tx, tenant, &signer, &delegate, &mut m, sign)?;
    tx.put(&DELEGATES, &mandate_key(tenant, signer_id, delegate_id), &m)?;
    tx.audit(
        actor,
        "delegate.confirm",
        &format!("{tenant}/{signer_id}"),
        serde_json::json!({"delegate": delegate_id, "mandate": m.id, "sha256": m.sha256}),
    )?;
    Ok(())
}
