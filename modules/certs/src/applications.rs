//! The issuance application (seed §2.2): start (applicant, ticket, e-mail) → mailed link →
//! details → submit (self: with the PIN, issued at once; proxy: the holder approves through
//! a mailed link, setting the PIN) → issuance.

use crate::Env;
use crate::certificates::{self, IssueRequest, not_released, not_signer};
use crate::config::CertsConfig;
use crate::documents::registration_text;
use crate::error::{CertsError, Conflict};
use crate::links;
use crate::mails;
use crate::model::{
    APPLICATIONS, AppStatus, ApplicantKind, Application, CertRecord, DOCUMENT_CONTENT, DOCUMENTS, Details,
    DocumentMeta, LinkKind, TICKETS, TicketStatus, key,
};
use crate::orders::{link_ttl, tenant};
use crate::rules;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use keiyaku_kernel::FieldCode;
use keiyaku_kernel::blob;
use keiyaku_kernel::context::Actor;
use keiyaku_kernel::directory::{self, Role, Tenant, User};
use keiyaku_kernel::ids::new_id;
use keiyaku_kernel::store::{Read, StoreError, Tx};
use keiyaku_kernel::validate::{Invalid, Rule, Validator, normalize_email};
use sha2::{Digest, Sha256};

/// `startApplication` input.
#[derive(Debug, Clone, Default)]
pub struct StartInput {
    pub applicant: String,
    pub enterprise_code: String,
    pub ticket: String,
    pub email: String,
    /// The e-mail typed a second time (pages; optional in the API).
    pub email_confirm: Option<String>,
    pub consent: bool,
}

/// Ticket numbers as people type them: trimmed, lower case, full-width folded.
pub fn normalize_ticket(s: &str) -> String {
    rules::ascii_digits(s).to_ascii_lowercase()
}

/// The form-level rules of the start (no store access): applicant, enterprise code, e-mail
/// twice, consent, ticket format.
pub fn check_start(tenant: &str, input: &StartInput) -> Result<(ApplicantKind, String, String), Vec<Invalid>> {
    let mut v = Validator::new();
    let kind = ApplicantKind::parse(input.applicant.trim());
    if kind.is_none() {
        v.fail(
            "applicant",
            Rule::Custom {
                code: FieldCode::Required,
                ja: "「本人」または「代理人」を選択してください。".into(),
                en: "Choose \"self\" or \"proxy\".".into(),
            },
        );
    }
    let code = input.enterprise_code.trim();
    if code.is_empty() {
        v.fail("enterprise_code", Rule::Required);
    } else if code.to_ascii_uppercase() != tenant {
        v.fail(
            "enterprise_code",
            Rule::Custom {
                code: FieldCode::WrongEnterpriseCode,
                ja: "企業コードが正しくありません。電子契約サービスから受領した企業コードを入力してください。".into(),
                en: "This is not the enterprise code of this service.".into(),
            },
        );
    }
    let ticket = normalize_ticket(&input.ticket);
    if ticket.is_empty() {
        v.fail("ticket", Rule::Required);
    } else if ticket.len() > 64 || !ticket.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
        v.fail("ticket", unknown_ticket());
    }
    let email = input.email.trim();
    v.email("email", email);
    if let Some(confirm) = &input.email_confirm
        && normalize_email(confirm) != normalize_email(email)
    {
        v.fail("email_confirm", Rule::Mismatch);
    }
    if !input.consent {
        v.fail(
            "consent",
            Rule::Custom {
                code: FieldCode::ConsentRequired,
                ja: "利用者の義務と個人情報の取扱いに同意してください。".into(),
                en: "Please agree to the subscriber obligations and the handling of personal data.".into(),
            },
        );
    }
    v.finish()?;
    Ok((kind.unwrap_or(ApplicantKind::Holder), ticket, normalize_email(email)))
}

fn unknown_ticket() -> Rule {
    Rule::Custom {
        code: FieldCode::UnknownTicket,
        ja: "チケット番号が正しくありません。".into(),
        en: "This ticket number is not valid.".into(),
    }
}

/// The ticket if it can still be used: unknown → 422, not yet released → 422, consumed → 409.
pub fn usable_ticket(tx: &impl Read, code: &str, number: &str) -> Result<crate::model::Ticket, CertsError> {
    let ticket =
        tx.get(&TICKETS, &key(code, number))?.ok_or_else(|| CertsError::invalid("ticket", unknown_ticket()))?;
    match ticket.status {
        TicketStatus::Available => Ok(ticket),
        TicketStatus::Unreleased => Err(CertsError::invalid("ticket", not_released())),
        TicketStatus::Consumed => Err(CertsError::Conflict(Conflict::TicketConsumed)),
    }
}

/// `startApplication` (after the captcha): records the application and mails
/// 「申請登録のご案内」 with the one-time details link.
pub fn start(
    tx: &mut Tx,
    env: &Env<'_>,
    actor: &Actor,
    code: &str,
    input: &StartInput,
) -> Result<Application, CertsError> {
    let tenant = tenant(tx, code)?;
    let (applicant, number, email) = check_start(code, input)?;
    let ticket = usable_ticket(tx, code, &number)?;
    let app = Application {
        id: new_id(),
        tenant: code.to_string(),
        applicant,
        email,
        ticket: ticket.number,
        term_years: ticket.term_years,
        delivery: ticket.delivery,
        status: AppStatus::Registered,
        details: None,
        document: None,
        pin_hash: None,
        created_at: tx.now(),
        submitted_at: None,
        decided_at: None,
        serial: None,
    };
    tx.put(&APPLICATIONS, &key(code, &app.id), &app)?;
    let cfg = env.config.section::<CertsConfig>();
    let (token, _) = links::create(tx, code, LinkKind::Application, &app.id, link_ttl(cfg))?;
    let url = mails::tenant_url(env.base_url, code, &format!("certificates/apply/{token}"));
    tx.send_mail(
        mails::application_registered(&tenant, &app, &url, &links::ttl_text_ja(cfg.link_ttl_hours)),
        env.smtp(),
    )?;
    tx.audit(
        actor,
        "certs.application_start",
        &key(code, &app.id),
        serde_json::json!({"applicant": app.applicant.as_str(), "ticket": app.ticket, "email": app.email}),
    )?;
    Ok(app)
}

fn load(tx: &impl Read, code: &str, id: &str) -> Result<Application, CertsError> {
    tx.get(&APPLICATIONS, &key(code, id))?.ok_or(CertsError::NotFound("application"))
}

/// The application behind a details link (`getApplication`).
pub fn by_link(tx: &impl Read, code: &str, token: &str) -> Result<Application, CertsError> {
    let link = links::check(tx, code, LinkKind::Application, token)?;
    load(tx, code, &link.subject)
}

/// The application behind an approval link.
pub fn by_approval_link(tx: &impl Read, code: &str, token: &str) -> Result<Application, CertsError> {
    let link = links::check(tx, code, LinkKind::Approval, token)?;
    load(tx, code, &link.subject)
}

/// An uploaded identity document.
#[derive(Debug, Clone, Default)]
pub struct Upload {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// `saveApplicationDetails` input, as received.
#[derive(Debug, Clone, Default)]
pub struct DetailsInput {
    pub company_name: String,
    pub company_name_kana: String,
    pub surname: String,
    pub given_name: String,
    pub surname_kana: String,
    pub given_name_kana: String,
    pub user_id: String,
    pub email: String,
    pub display_name: String,
    pub phone: String,
    /// Required unless one was uploaded before.
    pub document: Option<Upload>,
}

fn user_emails(u: &User) -> Vec<String> {
    std::iter::once(&u.email).chain(u.sub_emails.iter()).map(|e| normalize_email(e)).collect()
}

/// A newly uploaded identity document: its description and content.
pub type NewDocument = (DocumentMeta, Vec<u8>);

/// Checks the details against the rules and the directory: the holder exists in the tenant,
/// is a signer, is not the proxy applicant, and the holder e-mail is the holder's.
pub fn check_details(
    tx: &impl Read,
    app: &Application,
    input: &DetailsInput,
) -> Result<(Details, Option<NewDocument>), CertsError> {
    let mut v = Validator::new();
    rules::company_name(&mut v, "company_name", &input.company_name);
    rules::katakana(&mut v, "company_name_kana", &input.company_name_kana, rules::KANA_MAX, true);
    rules::name_kanji(&mut v, "surname", &input.surname);
    rules::name_kanji(&mut v, "given_name", &input.given_name);
    rules::katakana(&mut v, "surname_kana", &input.surname_kana, rules::NAME_PART_MAX * 2, false);
    rules::katakana(&mut v, "given_name_kana", &input.given_name_kana, rules::NAME_PART_MAX * 2, false);
    let user_id = input.user_id.trim();
    directory::check_user_id(&mut v, "user_id", user_id);
    let email = input.email.trim();
    v.email("email", email);
    let display_name = rules::display_name(&mut v, "display_name", &input.display_name);
    let phone = rules::phone(&mut v, "phone", &input.phone);
    let document = match &input.document {
        Some(up) => rules::document(&mut v, "id_document", &up.name, &up.bytes).map(|ct| (up, ct)),
        None => {
            if app.document.is_none() {
                v.fail("id_document", Rule::Required);
            }
            None
        }
    };
    if !user_id.is_empty() && !holder_matches(tx, app, user_id, input)? {
        v.fail("user_id", holder_mismatch());
    }
    v.finish()?;
    let details = Details {
        company_name: input.company_name.trim().to_string(),
        company_name_kana: input.company_name_kana.trim().to_string(),
        surname: input.surname.trim().to_string(),
        given_name: input.given_name.trim().to_string(),
        surname_kana: input.surname_kana.trim().to_string(),
        given_name_kana: input.given_name_kana.trim().to_string(),
        user_id: user_id.to_string(),
        email: email.to_string(),
        display_name: display_name.unwrap_or_default(),
        phone: phone.unwrap_or_default(),
    };
    let document = document.map(|(up, content_type)| {
        let name: String = std::path::Path::new(&up.name)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "document".into());
        let meta = DocumentMeta {
            name,
            content_type: content_type.to_string(),
            size: up.bytes.len(),
            sha256: hex::encode(Sha256::digest(&up.bytes)),
        };
        (meta, up.bytes.clone())
    });
    Ok((details, document))
}

/// Whether the holder fields match the directory: the user ID names a signer of the
/// tenant, the e-mail is one registered for them, a self application comes from that
/// e-mail and a proxy application from another, and the certificate's subject (company and
/// kanji name) is the holder's as registered, so a proxy applicant cannot choose it.
///
/// One answer for all of them: telling which one failed would let anyone holding a details
/// link confirm user IDs, signers and addresses of every company.
fn holder_matches(tx: &impl Read, app: &Application, user_id: &str, input: &DetailsInput) -> Result<bool, CertsError> {
    let Some(user) = directory::get_user(tx, &app.tenant, user_id)? else { return Ok(false) };
    let emails = user_emails(&user);
    let own = emails.contains(&app.email);
    let role = user.has(Role::Signer)
        && match app.applicant {
            ApplicantKind::Proxy => !own,
            ApplicantKind::Holder => own,
        };
    let email = emails.contains(&normalize_email(input.email.trim()));
    let squeeze = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    let company = directory::get_company(tx, &app.tenant, &user.company_id)?
        .is_none_or(|c| squeeze(&c.name) == squeeze(&input.company_name));
    let name = squeeze(&user.name) == squeeze(&format!("{}{}", input.surname.trim(), input.given_name.trim()));
    Ok(role && email && company && name)
}

/// The one error of holder fields that do not match the directory.
pub fn holder_mismatch() -> Rule {
    Rule::Custom {
        code: FieldCode::HolderMismatch,
        ja: "名義人の情報(ユーザーID・メールアドレス・会社名・氏名)が登録内容と一致しません。名義人の登録内容をご確認ください。"
            .into(),
        en: "The holder's details (user ID, e-mail, company and name) do not match the registration.".into(),
    }
}

/// `saveApplicationDetails`.
pub fn save_details(
    tx: &mut Tx,
    actor: &Actor,
    code: &str,
    token: &str,
    input: &DetailsInput,
) -> Result<Application, CertsError> {
    let mut app = by_link(tx, code, token)?;
    if app.status != AppStatus::Registered {
        return Err(CertsError::Conflict(Conflict::AlreadyDecided));
    }
    let (details, document) = check_details(tx, &app, input)?;
    app.details = Some(details);
    let mut previous = None;
    if let Some((meta, bytes)) = document {
        blob::put(tx, &DOCUMENT_CONTENT, code, &bytes)?;
        previous = app.document.replace(meta);
    }
    tx.put(&APPLICATIONS, &key(code, &app.id), &app)?;
    if let Some(old) = previous {
        release_document(tx, code, &old.sha256)?;
    }
    tx.audit(
        actor,
        "certs.application_details",
        &key(code, &app.id),
        serde_json::json!({"user_id": app.details.as_ref().map(|d| d.user_id.clone()), "document": app.document.as_ref().map(|d| d.sha256.clone())}),
    )?;
    Ok(app)
}

/// Removes an identity document's content once no application of the tenant names it.
fn release_document(tx: &mut Tx, code: &str, sha256: &str) -> Result<(), StoreError> {
    let named = tx
        .scan(&APPLICATIONS, &format!("{code}/"))?
        .iter()
        .any(|(_, a)| a.document.as_ref().is_some_and(|d| d.sha256 == sha256));
    if !named {
        blob::remove(tx, &DOCUMENT_CONTENT, code, sha256)?;
    }
    Ok(())
}

/// The identity document uploaded with an application, checked against its SHA-256
/// (`None`: the application has none). Missing or damaged content is an error.
pub fn identity_document(tx: &impl Read, app: &Application) -> Result<Option<Vec<u8>>, StoreError> {
    let Some(doc) = &app.document else {
        return Ok(None);
    };
    match blob::get(tx, &DOCUMENT_CONTENT, &app.tenant, &doc.sha256)? {
        Some(bytes) if bytes.len() == doc.size => Ok(Some(bytes)),
        _ => Err(StoreError::Corrupt {
            table: DOCUMENT_CONTENT.meta.name(),
            key: key(&app.tenant, &doc.sha256),
            reason: format!("identity document of application {} missing", app.id),
        }),
    }
}

/// Records of [`DOCUMENTS`] read per step of [`migrate_documents_to_content`].
const MIGRATE_BATCH: usize = 16;

/// Schema 1 → 2: moves every base64 identity document of [`DOCUMENTS`] into the content store
/// ([`DOCUMENT_CONTENT`]), where its application's [`DocumentMeta::sha256`] names it, and
/// removes the old record. A record is moved only when it decodes to exactly the content its
/// application describes (size and SHA-256); any other stays where it is, for whoever
/// investigates, so nothing is lost. Runs in the store's opening transaction.
/// Returns (documents moved, records left behind).
pub fn migrate_documents_to_content(tx: &mut Tx) -> Result<(usize, usize), StoreError> {
    let (mut moved, mut kept) = (0usize, 0usize);
    loop {
        // Moved records are gone, so the next page starts after the ones left behind.
        let page = tx.scan_page(&DOCUMENTS, "", kept, MIGRATE_BATCH)?;
        if page.is_empty() {
            break;
        }
        for (k, text) in page {
            let app = tx.get(&APPLICATIONS, &k)?;
            let described = app.as_ref().and_then(|a| a.document.as_ref().map(|d| (a.tenant.as_str(), d)));
            let bytes = B64.decode(text.as_bytes()).ok();
            match (described, bytes) {
                (Some((tenant, doc)), Some(bytes))
                    if bytes.len() == doc.size && blob::sha256_hex(&bytes) == doc.sha256 =>
                {
                    blob::put(tx, &DOCUMENT_CONTENT, tenant, &bytes)?;
                    tx.remove(&DOCUMENTS, &k)?;
                    moved += 1;
                }
                _ => {
                    tracing::error!(record = %k, "identity document does not match its application; left in place");
                    kept += 1;
                }
            }
        }
    }
    Ok((moved, kept))
}

/// 登録内容のダウンロード of a details link.
pub fn registration(tx: &impl Read, code: &str, token: &str) -> Result<String, CertsError> {
    let app = by_link(tx, code, token)?;
    Ok(registration_text(code, &app, None, tx.now()))
}

/// 登録内容のダウンロード of an approval link, with the PIN the holder typed.
pub fn approval_registration(tx: &impl Read, code: &str, token: &str, pin: &str) -> Result<String, CertsError> {
    let app = by_approval_link(tx, code, token)?;
    let mut v = Validator::new();
    rules::pin(&mut v, "pin", pin);
    v.finish()?;
    Ok(registration_text(code, &app, Some(pin), tx.now()))
}

/// A PIN checked and hashed (argon2id, outside the transaction).
#[derive(Debug, Clone)]
pub struct Pin {
    pub clear: String,
    pub hash: String,
}

/// What a submission led to.
#[derive(Debug, Clone)]
pub enum Submitted {
    /// Self application: issued at once.
    Issued(Box<CertRecord>),
    /// Proxy application: mailed to the holder for approval.
    AwaitingApproval { holder_email: String },
}

fn holder_of(tx: &impl Read, app: &Application) -> Result<(Details, User), CertsError> {
    let details = app.details.clone().ok_or_else(|| {
        CertsError::invalid(
            "details",
            Rule::Custom {
                code: FieldCode::DetailsMissing,
                ja: "申請情報が入力されていません。".into(),
                en: "The application details have not been entered.".into(),
            },
        )
    })?;
    if app.document.is_none() {
        return Err(CertsError::invalid("id_document", Rule::Required));
    }
    let user = directory::get_user(tx, &app.tenant, &details.user_id)?
        .ok_or_else(|| CertsError::invalid("user_id", not_signer()))?;
    Ok((details, user))
}

/// Issues the certificate of an approved application and sends 「発行申請受付のご案内」 and
/// 「発行完了のお知らせ」.
fn issue_for(
    tx: &mut Tx,
    env: &Env<'_>,
    actor: &Actor,
    tenant: &Tenant,
    app: &mut Application,
    pin: &Pin,
) -> Result<CertRecord, CertsError> {
    let (details, holder) = holder_of(tx, app)?;
    let cert = certificates::issue(
        tx,
        env,
        actor,
        &IssueRequest {
            tenant,
            holder: &holder,
            details: &details,
            ticket: &app.ticket,
            application_id: Some(&app.id),
            pin: Some(&pin.clear),
            pin_hash: Some(&pin.hash),
            issued_at: tx.now(),
        },
    )?;
    app.status = AppStatus::Issued;
    app.pin_hash = Some(pin.hash.clone());
    app.decided_at = Some(tx.now());
    app.serial = Some(cert.serial.clone());
    tx.put(&APPLICATIONS, &key(&tenant.code, &app.id), app)?;
    let usable = certificates::date_display(cert.usable_from);
    tx.send_mail(mails::application_accepted(tenant, &details.email), env.smtp())?;
    let mut to = vec![app.email.clone()];
    if normalize_email(&details.email) != app.email {
        to.push(details.email.clone());
    }
    for addr in to {
        tx.send_mail(mails::issued(tenant, app, &cert, &usable, &addr), env.smtp())?;
    }
    Ok(cert)
}

/// `submitApplication`: uses the details link. Self: the PIN is required and the certificate
/// is issued; proxy: the holder is mailed 「発行申請のご案内」 with the approval link.
pub fn submit(
    tx: &mut Tx,
    env: &Env<'_>,
    actor: &Actor,
    code: &str,
    token: &str,
    pin: Option<&Pin>,
) -> Result<Submitted, CertsError> {
    let tenant = tenant(tx, code)?;
    let mut app = by_link(tx, code, token)?;
    if app.status != AppStatus::Registered {
        return Err(CertsError::Conflict(Conflict::AlreadyDecided));
    }
    let (details, _) = holder_of(tx, &app)?;
    usable_ticket(tx, code, &app.ticket)?;
    links::consume(tx, code, LinkKind::Application, token)?;
    app.submitted_at = Some(tx.now());
    tx.audit(
        actor,
        "certs.application_submit",
        &key(code, &app.id),
        serde_json::json!({"applicant": app.applicant.as_str()}),
    )?;
    match app.applicant {
        ApplicantKind::Holder => {
            let pin = pin.ok_or_else(|| CertsError::invalid("pin", Rule::Required))?;
            let cert = issue_for(tx, env, actor, &tenant, &mut app, pin)?;
            Ok(Submitted::Issued(Box::new(cert)))
        }
        ApplicantKind::Proxy => {
            app.status = AppStatus::AwaitingApproval;
            tx.put(&APPLICATIONS, &key(code, &app.id), &app)?;
            let cfg = env.config.section::<CertsConfig>();
            let (token, _) = links::create(tx, code, LinkKind::Approval, &app.id, link_ttl(cfg))?;
            let url = mails::tenant_url(env.base_url, code, &format!("certificates/approve/{token}"));
            let ttl = links::ttl_text_ja(cfg.link_ttl_hours);
            tx.send_mail(mails::approval_request(&tenant, &app, &details.email, &url, &ttl), env.smtp())?;
            Ok(Submitted::AwaitingApproval { holder_email: details.email })
        }
    }
}

/// What the holder decided.
#[derive(Debug, Clone)]
pub enum Decided {
    Issued(Box<CertRecord>),
    Rejected,
}

/// `approveApplication`: uses the approval link. 承認する (with the PIN) issues the
/// certificate; 承認しない tells the applicant and leaves the ticket unused.
pub fn decide(
    tx: &mut Tx,
    env: &Env<'_>,
    actor: &Actor,
    code: &str,
    token: &str,
    approve: bool,
    pin: Option<&Pin>,
) -> Result<Decided, CertsError> {
    let tenant = tenant(tx, code)?;
    let mut app = by_approval_link(tx, code, token)?;
    if app.status != AppStatus::AwaitingApproval {
        return Err(CertsError::Conflict(Conflict::AlreadyDecided));
    }
    links::consume(tx, code, LinkKind::Approval, token)?;
    tx.audit(actor, "certs.application_decide", &key(code, &app.id), serde_json::json!({"approve": approve}))?;
    if approve {
        let pin = pin.ok_or_else(|| CertsError::invalid("pin", Rule::Required))?;
        let cert = issue_for(tx, env, actor, &tenant, &mut app, pin)?;
        Ok(Decided::Issued(Box::new(cert)))
    } else {
        app.status = AppStatus::Rejected;
        app.decided_at = Some(tx.now());
        tx.put(&APPLICATIONS, &key(code, &app.id), &app)?;
        let holder = app.details.as_ref().map(|d| d.email.clone());
        tx.send_mail(mails::application_rejected(&tenant, &app, &app.email), env.smtp())?;
        if let Some(h) = holder.filter(|h| normalize_email(h) != app.email) {
            tx.send_mail(mails::application_rejected(&tenant, &app, &h), env.smtp())?;
        }
        Ok(Decided::Rejected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start_input() -> StartInput {
        StartInput {
            applicant: "proxy".into(),
            enterprise_code: "hxos2".into(),
            ticket: " 3F3091DD-A5B0-47F9-8C1E-1234567890AB ".into(),
            email: "Yuzo.Horii@example.jp".into(),
            email_confirm: Some("yuzo.horii@example.jp".into()),
            consent: true,
        }
    }

    #[test]
    fn start_is_checked_before_anything_is_stored() {
        let (kind, ticket, email) = check_start("HXOS2", &start_input()).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(kind, ApplicantKind::Proxy);
        assert_eq!(ticket, "3f3091dd-a5b0-47f9-8c1e-1234567890ab");
        assert_eq!(email, "yuzo.horii@example.jp");
        let bad = StartInput {
            applicant: "boss".into(),
            enterprise_code: "DMOEX".into(),
            ticket: "<script>".into(),
            email: "x".into(),
            email_confirm: Some("y@example.jp".into()),
            consent: false,
        };
        let fields: Vec<String> =
            check_start("HXOS2", &bad).err().unwrap_or_default().into_iter().map(|i| i.field).collect();
        assert_eq!(fields, ["applicant", "enterprise_code", "ticket", "email", "email_confirm", "consent"]);
    }

    /// Schema 1 of this module: the same tables but the content store's, identity documents
    /// as base64 text in `certs_documents`.
    struct CertsV1;
    impl keiyaku_kernel::module::Module for CertsV1 {
        fn name(&self) -> &'static str {
            "certs"
        }
        fn tables(&self) -> Vec<&'static str> {
            crate::model::TABLES
                .into_iter()
                .filter(|t| ![DOCUMENT_CONTENT.chunks.name(), DOCUMENT_CONTENT.meta.name()].contains(t))
                .collect()
        }
    }

    fn application(id: &str, document: Option<&[u8]>) -> Application {
        Application {
            id: id.into(),
            tenant: "T".into(),
            applicant: ApplicantKind::Proxy,
            email: "suzuki@example.jp".into(),
            ticket: format!("ticket-{id}"),
            term_years: 3,
            delivery: crate::model::Delivery::Service,
            status: AppStatus::AwaitingApproval,
            details: None,
            document: document.map(|bytes| DocumentMeta {
                name: format!("{id}.pdf"),
                content_type: "application/pdf".into(),
                size: bytes.len(),
                sha256: hex::encode(Sha256::digest(bytes)),
            }),
            pin_hash: None,
            created_at: jiff::Timestamp::UNIX_EPOCH,
            submitted_at: None,
            decided_at: None,
            serial: None,
        }
    }

    fn temp_path(tag: &str) -> (std::path::PathBuf, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("keiyaku-certs-{tag}-{}", new_id()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        let path = dir.join("k.redb");
        (dir, path)
    }

    #[test]
    fn schema_1_identity_documents_move_to_the_content_store_unchanged() {
        use keiyaku_kernel::Store;
        use keiyaku_kernel::module::{KernelModule, Module};
        use std::sync::Arc;

        let (dir, path) = temp_path("migrate");
        let clock = Arc::new(keiyaku_kernel::SystemClock);
        let card: Vec<u8> = (0..(1024 * 1024 + 99)).map(|i| (i % 251) as u8).collect();
        {
            let v1: [&dyn Module; 2] = [&KernelModule, &CertsV1];
            let store = Store::open(&path, clock.clone(), &v1).unwrap_or_else(|e| panic!("{e}"));
            let r: Result<(), StoreError> = store.write_blocking(|tx| {
                // Two applications with the same card, one whose record is not base64, one
                // whose record is not the content its application describes, one without.
                for id in ["a", "b"] {
                    tx.put(&APPLICATIONS, &format!("T/{id}"), &application(id, Some(&card)))?;
                    tx.put(&DOCUMENTS, &format!("T/{id}"), &B64.encode(&card))?;
                }
                tx.put(&APPLICATIONS, "T/garbled", &application("garbled", Some(b"x")))?;
                tx.put(&DOCUMENTS, "T/garbled", &"%%% not base64".to_string())?;
                tx.put(&APPLICATIONS, "T/other", &application("other", Some(b"described")))?;
                tx.put(&DOCUMENTS, "T/other", &B64.encode(b"something else"))?;
                tx.put(&APPLICATIONS, "T/none", &application("none", None))
            });
            r.unwrap_or_else(|e| panic!("{e}"));
        }
        let v2: [&dyn Module; 2] = [&KernelModule, &crate::CertsModule];
        let store = Store::open(&path, clock, &v2).unwrap_or_else(|e| panic!("{e}"));
        let (read, left, stored) = store
            .read_blocking(|tx| {
                let mut read = Vec::new();
                for id in ["a", "b", "garbled", "other", "none"] {
                    let app = tx.get(&APPLICATIONS, &format!("T/{id}"))?.unwrap_or_else(|| panic!("{id} kept"));
                    read.push(identity_document(tx, &app).ok());
                }
                let left: Vec<(String, String)> = tx.scan(&DOCUMENTS, "")?;
                let stored = (tx.count(&DOCUMENT_CONTENT.chunks, "")?, tx.count(&DOCUMENT_CONTENT.meta, "")?);
                Ok::<_, StoreError>((read, left, stored))
            })
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read, [Some(Some(card.clone())), Some(Some(card)), None, None, Some(None)]);
        assert_eq!(
            left,
            [
                ("T/garbled".to_string(), "%%% not base64".to_string()),
                ("T/other".to_string(), B64.encode(b"something else"))
            ],
            "what does not match its application stays where it was"
        );
        assert_eq!(stored, (2, 1), "the card is stored once, in two chunks");
        let copies = std::fs::read_dir(&dir)
            .map(|d| {
                d.filter_map(|e| e.ok()).filter(|e| e.file_name().to_string_lossy().contains(".pre-migration-")).count()
            })
            .unwrap_or(0);
        assert_eq!(copies, 1, "the store copied the file before migrating");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_replaced_identity_document_goes_when_no_application_names_it() {
        use keiyaku_kernel::Store;
        use keiyaku_kernel::module::{KernelModule, Module};
        use std::sync::Arc;

        let (dir, path) = temp_path("release");
        let modules: [&dyn Module; 2] = [&KernelModule, &crate::CertsModule];
        let store =
            Store::open(&path, Arc::new(keiyaku_kernel::SystemClock), &modules).unwrap_or_else(|e| panic!("{e}"));
        let count = |store: &Store| {
            store.read_blocking(|tx| tx.count(&DOCUMENT_CONTENT.meta, "T/")).unwrap_or_else(|e| panic!("{e}"))
        };
        let shared = b"shared card".as_slice();
        let r: Result<(), StoreError> = store.write_blocking(|tx| {
            for id in ["a", "b"] {
                blob::put(tx, &DOCUMENT_CONTENT, "T", shared)?;
                tx.put(&APPLICATIONS, &format!("T/{id}"), &application(id, Some(shared)))?;
            }
            Ok(())
        });
        r.unwrap_or_else(|e| panic!("{e}"));
        let sha = hex::encode(Sha256::digest(shared));
        // `a` now names another document: `b` still names the shared one, which stays.
        let r: Result<(), StoreError> = store.write_blocking(|tx| {
            blob::put(tx, &DOCUMENT_CONTENT, "T", b"new card")?;
            tx.put(&APPLICATIONS, "T/a", &application("a", Some(b"new card")))?;
            release_document(tx, "T", &sha)
        });
        r.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(count(&store), 2);
        let r: Result<(), StoreError> = store.write_blocking(|tx| {
            tx.put(&APPLICATIONS, "T/b", &application("b", Some(b"new card")))?;
            release_document(tx, "T", &sha)
        });
        r.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(count(&store), 1, "the shared card went with the last application naming it");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
