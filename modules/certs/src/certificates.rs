//! The tenant CA on the store, issuance (ticket consumed exactly once), the certificate of a
//! signer, its test and its revocation, and the CRL.

use crate::Env;
use crate::authz::{self, Op};
use crate::ca::{self, LoadedCa, Subject};
use crate::config::CertsConfig;
use crate::error::{CertsError, Conflict, Unusable};
use crate::kek::Kek;
use crate::links;
use crate::mails;
use crate::model::{
    CAS, CERTIFICATES, CRLS, CaRecord, CertRecord, CertStatus, CrlRecord, Delivery, Details, KEY_FILES, KeyFile,
    LinkKind, REVOKED, RevokedEntry, TICKETS, TicketStatus, USER_CERTS, key,
};
use crate::orders::{issuer_name, link_ttl};
use crate::pkcs12;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use keiyaku_kernel::FieldCode;
use keiyaku_kernel::calendar::BusinessCalendar;
use keiyaku_kernel::clock::{rfc3339, tokyo};
use keiyaku_kernel::config::Config;
use keiyaku_kernel::context::{Actor, Caller};
use keiyaku_kernel::directory::{self, Role, Tenant, User};
use keiyaku_kernel::store::{Read, Tx};
use keiyaku_kernel::validate::{Rule, Validator};

/// How long a CRL is valid; `getCrl` signs a new one when it has run out.
pub const CRL_VALIDITY: SignedDuration = SignedDuration::from_hours(7 * 24);

pub(crate) fn ca_aad(tenant: &str) -> String {
    format!("{tenant}/ca")
}

pub(crate) fn cert_aad(tenant: &str, serial: &str) -> String {
    format!("{tenant}/cert/{serial}")
}

fn key_file_aad(tenant: &str, serial: &str) -> String {
    format!("{tenant}/keyfile/{serial}")
}

/// `{name} 電子契約 認証局`, within the 64 characters of a common name.
fn ca_common_name(tenant: &Tenant) -> String {
    let suffix = format!(" 電子契約 認証局 ({})", tenant.code);
    let room = 64usize.saturating_sub(suffix.chars().count());
    format!("{}{suffix}", tenant.name.chars().take(room).collect::<String>())
}

/// The tenant's CA, created (and audited) on first use.
pub fn ensure_ca(tx: &mut Tx, kek: &Kek, tenant: &Tenant) -> Result<CaRecord, CertsError> {
    if let Some(ca) = tx.get(&CAS, &tenant.code)? {
        return Ok(ca);
    }
    let organization: String = issuer_name(tx, tenant)?.chars().take(64).collect();
    let common_name = ca_common_name(tenant);
    let now = tx.now();
    let new = ca::create_ca(&common_name, &organization, now)?;
    let record = CaRecord {
        tenant: tenant.code.clone(),
        common_name,
        organization,
        cert_pem: new.pem,
        cert_der: B64.encode(&new.der),
        sealed_key: kek.seal(&ca_aad(&tenant.code), &new.key_pkcs8)?,
        not_before: new.not_before,
        not_after: new.not_after,
        created_at: now,
    };
    tx.put(&CAS, &tenant.code, &record)?;
    tx.audit(
        &Actor::system(),
        "certs.ca_create",
        &key(&tenant.code, "ca"),
        serde_json::json!({"subject": record.common_name, "not_after": rfc3339(record.not_after)}),
    )?;
    Ok(record)
}

pub fn load_ca(kek: &Kek, record: &CaRecord) -> Result<LoadedCa, CertsError> {
    let key = kek.open(&ca_aad(&record.tenant), &record.sealed_key)?;
    LoadedCa::new(record, &key)
}

/// Opened CA keys, per tenant, so issuing does not unseal and parse the CA key every time.
/// An entry is used only while it matches the stored CA certificate.
#[derive(Default)]
pub struct CaCache {
    loaded: std::sync::Mutex<std::collections::HashMap<String, (String, std::sync::Arc<LoadedCa>)>>,
}

impl CaCache {
    pub fn get(&self, kek: &Kek, record: &CaRecord) -> Result<std::sync::Arc<LoadedCa>, CertsError> {
        let mut map = self.loaded.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((der, ca)) = map.get(&record.tenant)
            && *der == record.cert_der
        {
            return Ok(ca.clone());
        }
        let ca = std::sync::Arc::new(load_ca(kek, record)?);
        map.insert(record.tenant.clone(), (record.cert_der.clone(), ca.clone()));
        Ok(ca)
    }
}

/// The first day a certificate issued at `at` may be used.
pub fn usable_from(config: &Config, at: Timestamp) -> Date {
    BusinessCalendar::new(config.calendar.year_end_closed).add_business_days(
        at.to_zoned_datetime(tokyo()).date(),
        config.section::<CertsConfig>().activation_business_days,
    )
}

/// `2026/11/25`.
pub fn date_display(d: Date) -> String {
    d.strftime("%Y/%m/%d").to_string()
}

/// What issuance needs.
pub struct IssueRequest<'a> {
    pub tenant: &'a Tenant,
    pub holder: &'a User,
    pub details: &'a Details,
    pub ticket: &'a str,
    pub application_id: Option<&'a str>,
    /// The PIN in clear, to protect a key file (key-file delivery only).
    pub pin: Option<&'a str>,
    /// The PIN's argon2id hash, checked whenever the holder signs.
    pub pin_hash: Option<&'a str>,
    pub issued_at: Timestamp,
}

/// Consumes the ticket (exactly once: a consumed ticket is a 409 and the transaction
/// aborts), issues the certificate for the ticket's term, registers it to the holder and,
/// for key-file delivery, prepares the PKCS#12 and mails its one-time link.
pub fn issue(tx: &mut Tx, env: &Env<'_>, actor: &Actor, req: &IssueRequest<'_>) -> Result<CertRecord, CertsError> {
    let code = &req.tenant.code;
    let ticket_key = key(code, req.ticket);
    let mut ticket = tx.get(&TICKETS, &ticket_key)?.ok_or(CertsError::NotFound("ticket"))?;
    match ticket.status {
        TicketStatus::Available => {}
        TicketStatus::Consumed => return Err(CertsError::Conflict(Conflict::TicketConsumed)),
        TicketStatus::Unreleased => return Err(CertsError::invalid("ticket", not_released())),
    }
    if !req.holder.has(Role::Signer) {
        return Err(CertsError::invalid("user_id", not_signer()));
    }
    let ca_record = ensure_ca(tx, env.kek, req.tenant)?;
    let ca = env.cas.get(env.kek, &ca_record)?;
    let mut serial = ca::random_serial()?;
    while tx.get(&CERTIFICATES, &key(code, &ca::serial_hex(&serial)))?.is_some() {
        serial = ca::random_serial()?;
    }
    let not_before = req.issued_at;
    let not_after = ca::add_years(not_before, i64::from(ticket.term_years)).min(ca_record.not_after);
    // O is the holder's company as registered in the directory, never what was typed.
    let company = directory::get_company(tx, code, &req.holder.company_id)?.ok_or(CertsError::NotFound("company"))?;
    // The holder's registered seal (made when they became a signer) belongs to the certificate.
    let seal = keiyaku_users::seal::get_seal(tx, code, &req.holder.user_id)?
        .map(|s| <[u8; 32]>::from(<sha2::Sha256 as sha2::Digest>::digest(s.svg.as_bytes())));
    let subject = Subject {
        common_name: req.details.certificate_name(),
        organization: company.name,
        email: req.details.email.clone(),
        seal_sha256: seal,
    };
    let issued = ca::issue(&ca, &subject, &serial, not_before, not_after, &ca::Endpoints::new(env.base_url, code))?;
    // The OCSP responder the certificate names answers from its issuance on.
    crate::signing::ocsp_material(tx, env.kek, req.tenant, env.base_url)?;
    let usable = usable_from(env.config, req.issued_at);
    let record = CertRecord {
        serial: issued.serial.clone(),
        tenant: code.clone(),
        user_id: req.holder.user_id.clone(),
        common_name: subject.common_name,
        organization: subject.organization,
        email: subject.email,
        not_before,
        not_after,
        usable_from: usable,
        issued_at: req.issued_at,
        status: CertStatus::Active,
        revoked_at: None,
        revocation_reason: None,
        cert_pem: issued.pem.clone(),
        sealed_key: env.kek.seal(&cert_aad(code, &issued.serial), &issued.key_pkcs8)?,
        ticket: ticket.number.clone(),
        term_years: ticket.term_years,
        delivery: ticket.delivery,
        application_id: req.application_id.map(str::to_string),
        pin_hash: req.pin_hash.map(str::to_string),
        pin_failures: 0,
        pin_locked_at: None,
        replaces: None,
        expiry_noticed_at: None,
        imported: None,
    };
    let mut record = record;
    // A holder's earlier certificate that can still be used is replaced, not dropped.
    if let Some(previous) = tx.get(&USER_CERTS, &key(code, &record.user_id))?
        && let Some(old) = tx.get(&CERTIFICATES, &key(code, &previous))?
        && matches!(state(&old, tx.now()), State::Active | State::NotYetUsable)
    {
        record.replaces = Some(old.serial);
    }
    ticket.status = TicketStatus::Consumed;
    ticket.consumed_by = req.application_id.map(str::to_string).or_else(|| Some(record.serial.clone()));
    ticket.consumed_at = Some(tx.now());
    tx.put(&TICKETS, &ticket_key, &ticket)?;
    tx.put(&CERTIFICATES, &key(code, &record.serial), &record)?;
    tx.put(&USER_CERTS, &key(code, &record.user_id), &record.serial)?;
    tx.audit(
        actor,
        "certs.issue",
        &key(code, &record.serial),
        serde_json::json!({
            "user_id": record.user_id, "subject": record.common_name, "ticket": record.ticket,
            "not_after": rfc3339(record.not_after), "usable_from": record.usable_from.to_string(),
        }),
    )?;
    if ticket.delivery == Delivery::KeyFile {
        let pin = req.pin.ok_or_else(|| CertsError::invalid("pin", Rule::Required))?;
        let p12 = pkcs12::build(&issued.der, Some(&ca.der), &issued.key_pkcs8, pin, &record.common_name)?;
        let file = KeyFile {
            sealed: env.kek.seal(&key_file_aad(code, &record.serial), &p12)?,
            file_name: format!("{}.p12", record.common_name),
            created_at: tx.now(),
            downloaded_at: None,
        };
        tx.put(&KEY_FILES, &key(code, &record.serial), &file)?;
        let (token, _) =
            links::create(tx, code, LinkKind::KeyFile, &record.serial, link_ttl(env.config.section::<CertsConfig>()))?;
        let url = mails::tenant_url(env.base_url, code, &format!("certificates/keyfile/{token}"));
        let ttl = links::ttl_text_ja(env.config.section::<CertsConfig>().link_ttl_hours);
        tx.send_mail(mails::key_file_ready(req.tenant, &record, &url, &ttl), env.smtp())?;
    }
    Ok(record)
}

pub fn not_released() -> Rule {
    Rule::Custom {
        code: FieldCode::TicketNotReleased,
        ja: "このチケット番号はまだ発行されていません(ご入金の確認後に発行されます)。".into(),
        en: "This ticket has not been released yet (it is released once payment is confirmed).".into(),
    }
}

pub fn not_signer() -> Rule {
    Rule::Custom {
        code: FieldCode::NotSigner,
        ja: "このユーザーIDには署名者の権限がありません。".into(),
        en: "This user is not a signer.".into(),
    }
}

/// A key-file download: uses the link, returns the file name and the PKCS#12 and deletes
/// the stored copy.
pub fn take_key_file(
    tx: &mut Tx,
    kek: &Kek,
    actor: &Actor,
    code: &str,
    token: &str,
) -> Result<(String, Vec<u8>), CertsError> {
    let link = links::consume(tx, code, LinkKind::KeyFile, token)?;
    let k = key(code, &link.subject);
    let file = tx.get(&KEY_FILES, &k)?.ok_or(CertsError::NotFound("key file"))?;
    let bytes = kek.open(&key_file_aad(code, &link.subject), &file.sealed)?;
    // Handed over once: the service keeps no copy of the key file.
    tx.remove(&KEY_FILES, &k)?;
    tx.audit(actor, "certs.key_file_download", &k, serde_json::json!({"file": file.file_name}))?;
    Ok((file.file_name, bytes))
}

/// The effective state of a certificate at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    NotYetUsable,
    Active,
    Expired,
    Revoked,
}

impl State {
    pub const ALL: [State; 4] = [State::NotYetUsable, State::Active, State::Expired, State::Revoked];

    pub fn as_str(self) -> &'static str {
        match self {
            State::NotYetUsable => "not_yet_usable",
            State::Active => "active",
            State::Expired => "expired",
            State::Revoked => "revoked",
        }
    }

    pub fn label_ja(self) -> &'static str {
        match self {
            State::NotYetUsable => "利用開始前",
            State::Active => "有効",
            State::Expired => "期限切れ",
            State::Revoked => "失効",
        }
    }
}

pub fn state(cert: &CertRecord, now: Timestamp) -> State {
    if cert.status == CertStatus::Revoked {
        State::Revoked
    } else if now >= cert.not_after {
        State::Expired
    } else if now.to_zoned_datetime(tokyo()).date() < cert.usable_from {
        State::NotYetUsable
    } else {
        State::Active
    }
}

/// The signer (visible to the caller for `op`) and their current certificate, if any.
pub fn find(tx: &impl Read, caller: &Caller, op: Op, user_id: &str) -> Result<(User, Option<CertRecord>), CertsError> {
    let user = directory::get_user(tx, &caller.tenant, user_id)?.ok_or(CertsError::NotFound("user"))?;
    authz::require(caller, op, Some(&user))?;
    let cert = match tx.get(&USER_CERTS, &key(&caller.tenant, user_id))? {
        Some(serial) => tx.get(&CERTIFICATES, &key(&caller.tenant, &serial))?,
        None => None,
    };
    Ok((user, cert))
}

/// The result of 証明書のテスト.
#[derive(Debug, Clone)]
pub struct TestOutcome {
    pub serial: String,
    pub payload: String,
    /// Base64 of the DER ECDSA signature.
    pub signature: String,
    pub tested_at: Timestamp,
}

/// `testCertificate`: signs a payload with the registered key and verifies it with the
/// certificate, and the certificate with the tenant CA.
pub fn test(tx: &impl Read, kek: &Kek, caller: &Caller, user_id: &str) -> Result<TestOutcome, CertsError> {
    let (_, cert) = find(tx, caller, Op::TestCertificate, user_id)?;
    let cert = cert.ok_or(CertsError::NotFound("certificate"))?;
    let now = tx.now();
    match state(&cert, now) {
        State::Revoked => return Err(CertsError::NotUsable(Unusable::Revoked)),
        State::Expired => return Err(CertsError::NotUsable(Unusable::Expired)),
        State::NotYetUsable => return Err(CertsError::NotUsable(Unusable::NotYet(date_display(cert.usable_from)))),
        State::Active => {}
    }
    let key_der = kek.open(&cert_aad(&caller.tenant, &cert.serial), &cert.sealed_key)?;
    let cert_der = pem_body(&cert.cert_pem)?;
    let payload = format!("keiyaku certificate test {}/{} {} {}", caller.tenant, user_id, cert.serial, rfc3339(now));
    let sig = match &cert.imported {
        Some(imported) => {
            let chain = crate::import::chain_of(imported);
            let issuer = chain.first().ok_or_else(|| CertsError::crypto("imported certificate without its issuer"))?;
            crate::import::test_signature(&cert_der, issuer, &key_der, payload.as_bytes())?
        }
        None => {
            let ca_record = tx.get(&CAS, &caller.tenant)?.ok_or(CertsError::NotFound("ca"))?;
            let ca = load_ca(kek, &ca_record)?;
            ca::sign_and_verify(&cert_der, &key_der, ca.public_key_raw(), payload.as_bytes())?
        }
    };
    Ok(TestOutcome { serial: cert.serial, payload, signature: B64.encode(sig), tested_at: now })
}

/// The DER inside a PEM certificate.
pub fn pem_body(pem: &str) -> Result<Vec<u8>, CertsError> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    B64.decode(body.trim()).map_err(|_| CertsError::crypto("stored PEM is not base64"))
}

/// Revocation reasons offered to people: (value, CRLReason code, label).
pub const REASONS: [(&str, u8, &str, &str); 5] = [
    ("cessation_of_operation", 5, "利用の終了", "No longer used"),
    ("affiliation_changed", 3, "所属・記載事項の変更", "Affiliation or details changed"),
    ("key_compromise", 1, "秘密鍵・PINの漏えい(またはそのおそれ)", "Key or PIN compromised"),
    ("superseded", 4, "証明書の再発行", "Superseded by a new certificate"),
    ("unspecified", 0, "その他", "Other"),
];

/// The CRLReason code and the text recorded for a reason given by value or in words.
pub fn reason_of(reason: &str) -> (u8, String) {
    let r = reason.trim();
    match REASONS.iter().find(|(value, ..)| *value == r) {
        Some((_, code, ja, _)) => (*code, (*ja).to_string()),
        None => (0, r.to_string()),
    }
}

/// `revokeCertificate`: marks it revoked, lists it in a newly signed CRL and tells the holder.
pub fn revoke(
    tx: &mut Tx,
    env: &Env<'_>,
    caller: &Caller,
    user_id: &str,
    reason: &str,
) -> Result<CertRecord, CertsError> {
    let mut v = Validator::new();
    v.text("reason", reason, 200);
    v.finish()?;
    let (_, cert) = find(tx, caller, Op::RevokeCertificate, user_id)?;
    let mut cert = cert.ok_or(CertsError::NotFound("certificate"))?;
    if cert.status == CertStatus::Revoked {
        return Err(CertsError::Conflict(Conflict::AlreadyRevoked));
    }
    let (code, text) = reason_of(reason);
    let now = tx.now();
    cert.status = CertStatus::Revoked;
    cert.revoked_at = Some(now);
    cert.revocation_reason = Some(text);
    let tenant = crate::orders::tenant(tx, &caller.tenant)?;
    tx.put(&CERTIFICATES, &key(&tenant.code, &cert.serial), &cert)?;
    // An outside CA's certificate is withdrawn here only (it no longer signs); the tenant
    // CA's CRL lists only what the tenant CA issued.
    if cert.imported.is_none() {
        tx.put(&REVOKED, &key(&tenant.code, &cert.serial), &RevokedEntry { revoked_at: now, reason_code: code })?;
    }
    let ca_record = ensure_ca(tx, env.kek, &tenant)?;
    let ca = env.cas.get(env.kek, &ca_record)?;
    refresh_crl(tx, &ca, &tenant.code)?;
    tx.send_mail(mails::revoked(&tenant, &cert), env.smtp())?;
    tx.audit(
        &caller.actor(),
        "certs.revoke",
        &key(&tenant.code, &cert.serial),
        serde_json::json!({"user_id": cert.user_id, "reason": cert.revocation_reason, "code": code}),
    )?;
    Ok(cert)
}

/// CRLReason superseded (RFC 5280).
const SUPERSEDED: u8 = 4;

/// Revokes, with reason `superseded`, every certificate whose replacement has become usable
/// (run by the background task, hourly, and callable any time): returns how many.
pub fn revoke_superseded(tx: &mut Tx, env: &Env<'_>) -> Result<usize, CertsError> {
    let now = tx.now();
    let today = now.to_zoned_datetime(keiyaku_kernel::clock::tokyo()).date();
    let mut done = 0;
    let mut tenants = Vec::new();
    for (_, new) in tx.scan(&CERTIFICATES, "")? {
        let Some(old_serial) = &new.replaces else { continue };
        if new.status == CertStatus::Revoked || today < new.usable_from {
            continue;
        }
        let k = key(&new.tenant, old_serial);
        let Some(mut old) = tx.get(&CERTIFICATES, &k)? else { continue };
        if old.status == CertStatus::Revoked {
            continue;
        }
        old.status = CertStatus::Revoked;
        old.revoked_at = Some(now);
        old.revocation_reason = Some("新しい証明書への切替え (superseded)".into());
        tx.put(&CERTIFICATES, &k, &old)?;
        if old.imported.is_none() {
            tx.put(&REVOKED, &k, &RevokedEntry { revoked_at: now, reason_code: SUPERSEDED })?;
        }
        tx.audit(
            &keiyaku_kernel::context::Actor::system(),
            "certs.revoke",
            &k,
            serde_json::json!({"user_id": old.user_id, "reason": "superseded", "code": SUPERSEDED,
                               "by": new.serial}),
        )?;
        if !tenants.contains(&new.tenant) {
            tenants.push(new.tenant.clone());
        }
        done += 1;
    }
    for code in tenants {
        let tenant = crate::orders::tenant(tx, &code)?;
        let ca_record = ensure_ca(tx, env.kek, &tenant)?;
        let ca = env.cas.get(env.kek, &ca_record)?;
        refresh_crl(tx, &ca, &code)?;
    }
    Ok(done)
}

/// Days before a certificate's end its holder is told (mail 「有効期限のお知らせ」, audit
/// `certs.expiring`, which the integrations module publishes as `certificate.expiring`).
pub const EXPIRY_NOTICE_DAYS: i64 = 30;

/// Tells the holders of certificates that end within [`EXPIRY_NOTICE_DAYS`] days: once per
/// certificate, only for active ones that no newer certificate replaces. Returns how many
/// were told.
pub fn notice_expiring(tx: &mut Tx, env: &Env<'_>) -> Result<usize, CertsError> {
    let now = tx.now();
    let horizon = now.checked_add(jiff::SignedDuration::from_hours(24 * EXPIRY_NOTICE_DAYS)).unwrap_or(Timestamp::MAX);
    let all = tx.scan(&CERTIFICATES, "")?;
    let replaced: std::collections::HashSet<(String, String)> =
        all.iter().filter_map(|(_, c)| c.replaces.clone().map(|old| (c.tenant.clone(), old))).collect();
    let mut told = 0;
    for (k, mut cert) in all {
        let due = cert.status == CertStatus::Active
            && cert.expiry_noticed_at.is_none()
            && cert.not_after > now
            && cert.not_after <= horizon
            && !replaced.contains(&(cert.tenant.clone(), cert.serial.clone()));
        if !due {
            continue;
        }
        let tenant = crate::orders::tenant(tx, &cert.tenant)?;
        let ends = cert.not_after.to_zoned_datetime(keiyaku_kernel::clock::tokyo()).strftime("%Y/%m/%d").to_string();
        tx.send_mail(crate::mails::expiring(&tenant, &cert, &ends), env.smtp())?;
        cert.expiry_noticed_at = Some(now);
        tx.put(&CERTIFICATES, &k, &cert)?;
        tx.audit(
            &keiyaku_kernel::context::Actor::system(),
            "certs.expiring",
            &k,
            serde_json::json!({"user_id": cert.user_id, "serial": cert.serial,
                               "not_after": keiyaku_kernel::clock::rfc3339(cert.not_after)}),
        )?;
        told += 1;
    }
    Ok(told)
}

/// Signs a new CRL listing every revoked certificate of the tenant and stores it.
pub fn refresh_crl(tx: &mut Tx, ca: &LoadedCa, code: &str) -> Result<CrlRecord, CertsError> {
    let record = sign_crl_now(tx, ca, code)?;
    tx.put(&CRLS, code, &record)?;
    Ok(record)
}

/// A CRL of the tenant's revocations signed now. Its number is the later of the stored
/// one plus one and the Unix time, so lists signed on the fly (not stored) still rise.
fn sign_crl_now(tx: &impl Read, ca: &LoadedCa, code: &str) -> Result<CrlRecord, CertsError> {
    let now = tx.now();
    let stored = tx.get(&CRLS, code)?.map(|c| c.number).unwrap_or(0).saturating_add(1);
    let number = stored.max(u64::try_from(now.as_second()).unwrap_or(0));
    let revoked = tx.scan(&REVOKED, &format!("{code}/"))?;
    let prefix_len = code.len() + 1;
    let next = now.checked_add(CRL_VALIDITY).unwrap_or(now);
    let der = ca::sign_crl(ca, number, revoked.iter().map(|(k, e)| (k.get(prefix_len..).unwrap_or(""), e)), now, next)?;
    Ok(CrlRecord { number, der: B64.encode(der), this_update: now, next_update: next, entries: revoked.len() })
}

/// The stored CRL when it is still valid.
pub fn current_crl(tx: &impl Read, code: &str) -> Result<Option<Vec<u8>>, CertsError> {
    match tx.get(&CRLS, code)? {
        Some(c) if c.next_update > tx.now() => Ok(B64.decode(&c.der).ok()),
        _ => Ok(None),
    }
}

/// A valid CRL (`getCrl`): the stored one, or — when it ran out — one signed now and not
/// stored, so asking (anonymously) writes nothing. A tenant without a CA has issued
/// nothing and has no list.
pub fn crl(tx: &impl Read, kek: &Kek, code: &str) -> Result<Vec<u8>, CertsError> {
    crate::orders::tenant(tx, code)?;
    if let Some(der) = current_crl(tx, code)? {
        return Ok(der);
    }
    let ca_record = tx.get(&CAS, code)?.ok_or(CertsError::NotFound("crl"))?;
    let record = sign_crl_now(tx, &load_ca(kek, &ca_record)?, code)?;
    B64.decode(&record.der).map_err(|_| CertsError::crypto("stored CRL is not base64"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usable_from_counts_japanese_business_days() {
        let config = Config::default();
        // Friday 2026-11-20 (JST); Monday 11-23 is 勤労感謝の日: +1 = Tue 24, +2 = Wed 25.
        let friday: Timestamp = "2026-11-20T10:00:00+09:00".parse().unwrap_or(Timestamp::UNIX_EPOCH);
        assert_eq!(usable_from(&config, friday).to_string(), "2026-11-25");
        // Friday 2026-01-09; Monday 01-12 is 成人の日.
        let friday: Timestamp = "2026-01-09T18:00:00+09:00".parse().unwrap_or(Timestamp::UNIX_EPOCH);
        assert_eq!(usable_from(&config, friday).to_string(), "2026-01-14");
        // Late evening UTC is already the next day in Japan.
        let late: Timestamp = "2026-11-19T16:00:00Z".parse().unwrap_or(Timestamp::UNIX_EPOCH);
        assert_eq!(usable_from(&config, late).to_string(), "2026-11-25");
    }

    #[test]
    fn reasons_map_to_crl_codes() {
        assert_eq!(reason_of("key_compromise").0, 1);
        assert_eq!(reason_of("退職のため"), (0, "退職のため".to_string()));
        let long = Tenant {
            code: "HXOS2".into(),
            name: "あ".repeat(100),
            owner_company_id: String::new(),
            trial: false,
            created_at: String::new(),
        };
        assert_eq!(ca_common_name(&long).chars().count(), 64);
    }
}
