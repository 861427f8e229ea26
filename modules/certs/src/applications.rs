//! The issuance application (seed §2.2): start (applicant, ticket, e-mail) → mailed link →
//! details → submit (self: with the PIN, issued at once; proxy: the holder approves through
//! a mailed link, setting the PIN) → issuance.

use crate::Env;
use crate::certificates::{self, IssueRequest, not_released, not_signer};
use crate::documents::registration_text;
use crate::error::{CertsError, Conflict};
use crate::links;
use crate::mails;
use crate::model::{
    APPLICATIONS, AppStatus, ApplicantKind, Application, CertRecord, DOCUMENTS, Details, DocumentMeta, LinkKind,
    TICKETS, TicketStatus, key,
};
use crate::orders::{link_ttl, tenant};
use crate::rules;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use keiyaku_kernel::context::Actor;
use keiyaku_kernel::directory::{self, Role, Tenant, User};
use keiyaku_kernel::ids::new_id;
use keiyaku_kernel::store::{Read, Tx};
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
                code: "required",
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
                code: "wrong_enterprise_code",
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
                code: "consent_required",
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
        code: "unknown_ticket",
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
    let cfg = &env.config.certs;
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
        code: "holder_mismatch",
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
    if let Some((meta, bytes)) = document {
        tx.put(&DOCUMENTS, &key(code, &app.id), &B64.encode(bytes))?;
        app.document = Some(meta);
    }
    tx.put(&APPLICATIONS, &key(code, &app.id), &app)?;
    tx.audit(
        actor,
        "certs.application_details",
        &key(code, &app.id),
        serde_json::json!({"user_id": app.details.as_ref().map(|d| d.user_id.clone()), "document": app.document.as_ref().map(|d| d.sha256.clone())}),
    )?;
    Ok(app)
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
                code: "details_missing",
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
            let cfg = &env.config.certs;
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
}
