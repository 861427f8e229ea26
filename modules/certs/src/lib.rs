//! Certificates: the tenant CA, ticket purchase, issuance application, holder approval,
//! issuance, certificate test and revocation (seed §2.1, §2.2; SPEC §2.3, §2.4).
//!
//! - [`ca`], [`pkcs12`], [`kek`]: the cryptography (rcgen, aws-lc-rs), as pure functions.
//! - [`orders`], [`applications`], [`certificates`]: the business rules, as plain functions
//!   over one transaction (`&mut Tx`), each writing its audit record and mails.
//! - [`rules`]: the field validators; [`authz`]: who may do what; [`links`]: one-time links.
//! - [`Certs`]: runs the rules on the store (hashing PINs and drawing captchas outside the
//!   write transaction); its HTTP API is `keiyaku_web::api::certs`.

pub mod applications;
pub mod authz;
pub mod ca;
pub mod captcha;
pub mod certificates;
pub mod config;
pub mod demo;
pub mod documents;
pub mod error;
pub mod import;
/// The key-encryption key, kept by the kernel (shared with the auth module's TOTP secrets).
pub use keiyaku_kernel::kek;
pub mod links;
pub mod mails;
pub mod model;
pub mod orders;
pub mod pkcs12;
pub mod rules;
pub mod signing;

pub use config::{CertsConfig, ReleaseTickets};
pub use error::CertsError;

use applications::{Decided, DetailsInput, Pin, StartInput, Submitted};
use captcha::CaptchaAnswer;
use certificates::TestOutcome;
use keiyaku_kernel::FieldCode;
use keiyaku_kernel::Kernel;
use keiyaku_kernel::budget::Allowance;
use keiyaku_kernel::config::Config;
use keiyaku_kernel::context::{Actor, Caller};
use keiyaku_kernel::directory::User;
use keiyaku_kernel::module::Module;
use keiyaku_kernel::store::{Read, StoreError, Tx};
use keiyaku_kernel::validate::{Invalid, Rule, Validator};
use model::{Application, CertRecord, Order};
use orders::{OrderForm, OrderInput};
use std::sync::{Arc, Mutex};

/// The certs module's tables and demo data.
pub struct CertsModule;

impl Module for CertsModule {
    fn name(&self) -> &'static str {
        "certs"
    }

    fn tables(&self) -> Vec<&'static str> {
        model::TABLES.to_vec()
    }

    /// 1: identity documents as base64 in JSON (`certs_documents`); 2: identity documents in
    /// the kernel's content store by SHA-256 (`certs_document_blobs`, `certs_document_meta`).
    fn schema_version(&self) -> u32 {
        2
    }

    fn migrate(&self, tx: &mut Tx, from: u32) -> Result<(), StoreError> {
        if from == 1 {
            let (moved, kept) = applications::migrate_documents_to_content(tx)?;
            tracing::info!(moved, kept, "certs: identity documents moved to the content store");
        }
        Ok(())
    }

    fn seed_demo(&self, kernel: &Kernel, tx: &mut Tx) -> Result<(), StoreError> {
        demo::seed(kernel, tx)
    }
}

/// What the rules need besides the transaction: settings, the key-encryption key and the
/// base URL of links in mails.
pub struct Env<'a> {
    pub config: &'a Config,
    pub kek: &'a kek::Kek,
    pub cas: &'a certificates::CaCache,
    pub base_url: &'a str,
}

impl Env<'_> {
    /// Whether mail goes to the SMTP queue too.
    pub fn smtp(&self) -> bool {
        self.config.mail.smtp_enabled()
    }
}

/// The certificates service; cheap to clone.
#[derive(Clone)]
pub struct Certs {
    pub kernel: Kernel,
    kek: Arc<Mutex<Option<Arc<kek::Kek>>>>,
    cas: Arc<certificates::CaCache>,
    captchas: Arc<captcha::CaptchaStore>,
}

/// Tries per hour of `saveApplicationDetails` on one link.
pub const DETAILS_TRIES_PER_HOUR: u32 = 10;

/// The field error of a wrong captcha answer (the pages show the same).
pub fn captcha_failed() -> Invalid {
    Invalid::new(
        "captcha_answer",
        Rule::Custom {
            code: FieldCode::CaptchaMismatch,
            ja: "画像の文字が正しく入力されていません。新しい画像でもう一度入力してください。".into(),
            en: "The characters of the image do not match. Please try again with a new image.".into(),
        },
    )
}

impl Certs {
    pub fn new(kernel: Kernel) -> Self {
        Self { kernel, kek: Arc::default(), cas: Arc::default(), captchas: Arc::default() }
    }

    /// The key-encryption key, loaded (or created) on first use.
    pub fn kek(&self) -> Result<Arc<kek::Kek>, CertsError> {
        let mut slot = self.kek.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(k) = slot.as_ref() {
            return Ok(k.clone());
        }
        let k = Arc::new(kek::Kek::for_data_dir(&self.kernel.config.storage.data_dir)?);
        *slot = Some(k.clone());
        Ok(k)
    }

    async fn read<R, F>(&self, f: F) -> Result<R, CertsError>
    where
        F: FnOnce(&keiyaku_kernel::ReadTx) -> Result<R, CertsError> + Send + 'static,
        R: Send + 'static,
    {
        self.kernel.store.read(f).await
    }

    /// Runs `f` in one write transaction with the environment of the rules.
    async fn write<R, F>(&self, f: F) -> Result<R, CertsError>
    where
        F: FnOnce(&mut Tx, &Env<'_>) -> Result<R, CertsError> + Send + 'static,
        R: Send + 'static,
    {
        let kek = self.kek()?;
        let config = self.kernel.config.clone();
        let base = self.kernel.public_url();
        let cas = self.cas.clone();
        self.kernel
            .store
            .write(move |tx| {
                let env = Env { config: &config, kek: &kek, cas: &cas, base_url: &base };
                f(tx, &env)
            })
            .await
    }

    /// Like [`Certs::write`], on the calling thread (benchmarks, blocking contexts).
    pub fn write_blocking<R>(
        &self,
        f: impl FnOnce(&mut Tx, &Env<'_>) -> Result<R, CertsError>,
    ) -> Result<R, CertsError> {
        let kek = self.kek()?;
        let base = self.kernel.public_url();
        let config = self.kernel.config.clone();
        self.kernel
            .store
            .write_blocking(|tx| f(tx, &Env { config: &config, kek: &kek, cas: &self.cas, base_url: &base }))
    }

    /// The anonymous actor of a public write, once the client's hourly budget of anonymous
    /// writes (`limits.anonymous_writes_per_hour`) allows one more.
    fn public(&self, tenant: &str, client: Option<String>) -> Result<Actor, CertsError> {
        self.spend(&[], client.as_deref())?;
        Ok(Actor::public(Some(tenant.to_string()), client))
    }

    /// Spends one anonymous write of `client`, and one of each extra budget with it.
    fn spend(&self, extra: &[(&str, &str, Allowance)], client: Option<&str>) -> Result<(), CertsError> {
        let per_client = Allowance::per_hour(self.kernel.config.limits.anonymous_writes_per_hour);
        let mut spends = vec![("anonymous_writes", client.unwrap_or("-"), per_client)];
        spends.extend_from_slice(extra);
        self.kernel.budgets.spend_all(&spends, self.kernel.now()).map_err(CertsError::Budget)
    }

    /// `requestOrderLink`.
    pub async fn request_order_link(
        &self,
        tenant: &str,
        email: &str,
        captcha: &CaptchaAnswer,
        client: Option<String>,
    ) -> Result<(), CertsError> {
        let (t, e) = (tenant.to_string(), email.to_string());
        let actor = self.public(tenant, client)?;
        let mut errors = orders::check_email(email).err().unwrap_or_default();
        errors.extend(self.take_captcha(captcha).err());
        if !errors.is_empty() {
            return Err(CertsError::Invalid(errors));
        }
        self.write(move |tx, env| orders::request_link(tx, env, &actor, &t, &e)).await
    }

    /// `openOrderLink`.
    pub async fn open_order_link(&self, tenant: &str, token: &str) -> Result<OrderForm, CertsError> {
        let (t, k, config) = (tenant.to_string(), token.to_string(), self.kernel.config.clone());
        self.read(move |tx| orders::open_link(tx, config.section::<CertsConfig>(), &t, &k)).await
    }

    /// `placeTicketOrder`.
    pub async fn place_order(
        &self,
        tenant: &str,
        input: OrderInput,
        client: Option<String>,
    ) -> Result<Order, CertsError> {
        let t = tenant.to_string();
        let actor = self.public(tenant, client)?;
        self.write(move |tx, env| orders::place(tx, env, &actor, &t, &input)).await
    }

    /// `markOrderPaid`.
    pub async fn mark_order_paid(&self, caller: &Caller, order_id: &str) -> Result<Order, CertsError> {
        let (c, id) = (caller.clone(), order_id.to_string());
        self.write(move |tx, env| orders::mark_paid(tx, env, &c, &id)).await
    }

    /// Whether applications ask for the captcha (`certs.captcha`).
    pub fn captcha_required(&self) -> bool {
        self.kernel.config.section::<CertsConfig>().captcha
    }

    /// `getCaptcha`: a new captcha id and its PNG.
    pub async fn captcha(&self) -> Result<(String, Vec<u8>), CertsError> {
        let store = self.captchas.clone();
        let now = self.kernel.now();
        tokio::task::spawn_blocking(move || store.issue(now))
            .await
            .map_err(CertsError::crypto)?
            .ok_or_else(|| CertsError::crypto("captcha image could not be drawn"))
    }

    /// Whether the answer solves the captcha. A wrong answer uses the captcha up; a right one
    /// keeps it for one more use with the same answer (the pages check the applicant step
    /// before the confirmation that registers).
    pub fn captcha_passes(&self, captcha: &CaptchaAnswer) -> bool {
        !self.captcha_required() || self.captchas.pass(&captcha.id, &captcha.answer, self.kernel.now())
    }

    /// Uses the captcha up; `captcha_mismatch` unless it was solved.
    fn take_captcha(&self, captcha: &CaptchaAnswer) -> Result<(), Invalid> {
        if self.captcha_required() && !self.captchas.take(&captcha.id, &captcha.answer, self.kernel.now()) {
            return Err(captcha_failed());
        }
        Ok(())
    }

    /// The checks of `startApplication` that need no captcha, for the confirmation step of
    /// the pages: the form rules and whether the ticket can be used.
    pub async fn check_start(&self, tenant: &str, input: StartInput) -> Result<(), CertsError> {
        let (_, ticket, _) = applications::check_start(tenant, &input)?;
        let t = tenant.to_string();
        self.read(move |tx| {
            orders::tenant(tx, &t)?;
            applications::usable_ticket(tx, &t, &ticket).map(|_| ())
        })
        .await
    }

    /// `startApplication`.
    pub async fn start_application(
        &self,
        tenant: &str,
        input: StartInput,
        captcha: &CaptchaAnswer,
        client: Option<String>,
    ) -> Result<Application, CertsError> {
        let actor = self.public(tenant, client)?;
        let mut errors = applications::check_start(tenant, &input).err().unwrap_or_default();
        errors.extend(self.take_captcha(captcha).err());
        if !errors.is_empty() {
            return Err(CertsError::Invalid(errors));
        }
        let t = tenant.to_string();
        self.write(move |tx, env| applications::start(tx, env, &actor, &t, &input)).await
    }

    /// `getApplication`.
    pub async fn application(&self, tenant: &str, token: &str) -> Result<Application, CertsError> {
        let (t, k) = (tenant.to_string(), token.to_string());
        self.read(move |tx| applications::by_link(tx, &t, &k)).await
    }

    /// `saveApplicationDetails`.
    pub async fn save_application_details(
        &self,
        tenant: &str,
        token: &str,
        input: DetailsInput,
        client: Option<String>,
    ) -> Result<Application, CertsError> {
        let (t, k) = (tenant.to_string(), token.to_string());
        // Each try spends from the client's budget and from the link's own.
        let link = [("application_details", token, Allowance::per_hour(DETAILS_TRIES_PER_HOUR))];
        self.spend(&link, client.as_deref())?;
        let actor = Actor::public(Some(tenant.to_string()), client);
        self.write(move |tx, _| applications::save_details(tx, &actor, &t, &k, &input)).await
    }

    /// `downloadRegistration`.
    pub async fn registration(&self, tenant: &str, token: &str) -> Result<String, CertsError> {
        let (t, k) = (tenant.to_string(), token.to_string());
        self.read(move |tx| applications::registration(tx, &t, &k)).await
    }

    /// Checks a PIN's format, then hashes it (argon2id) off the async threads, under the
    /// process-wide argon2 bound shared with login.
    async fn pin(pin: Option<String>) -> Result<Option<Pin>, CertsError> {
        let Some(clear) = pin else { return Ok(None) };
        let mut v = Validator::new();
        rules::pin(&mut v, "pin", &clear);
        v.finish()?;
        let hash = keiyaku_auth::password::hash_bounded(clear.clone()).await.map_err(CertsError::Crypto)?;
        Ok(Some(Pin { clear, hash }))
    }

    /// `submitApplication`.
    pub async fn submit_application(
        &self,
        tenant: &str,
        token: &str,
        pin: Option<String>,
        client: Option<String>,
    ) -> Result<Submitted, CertsError> {
        // A quick look first, so a bad link or a proxy submission costs no hashing.
        let app = self.application(tenant, token).await?;
        let pin = match app.applicant {
            model::ApplicantKind::Holder => {
                Some(Self::pin(Some(pin.unwrap_or_default())).await?.ok_or(CertsError::NotFound("pin"))?)
            }
            model::ApplicantKind::Proxy => None,
        };
        let (t, k) = (tenant.to_string(), token.to_string());
        let actor = self.public(tenant, client)?;
        self.write(move |tx, env| applications::submit(tx, env, &actor, &t, &k, pin.as_ref())).await
    }

    /// The application behind an approval link.
    pub async fn approval(&self, tenant: &str, token: &str) -> Result<Application, CertsError> {
        let (t, k) = (tenant.to_string(), token.to_string());
        self.read(move |tx| applications::by_approval_link(tx, &t, &k)).await
    }

    /// The registration text of an approval link, with the PIN.
    pub async fn approval_registration(&self, tenant: &str, token: &str, pin: &str) -> Result<String, CertsError> {
        let (t, k, p) = (tenant.to_string(), token.to_string(), pin.to_string());
        self.read(move |tx| applications::approval_registration(tx, &t, &k, &p)).await
    }

    /// `approveApplication`.
    pub async fn approve_application(
        &self,
        tenant: &str,
        token: &str,
        approve: bool,
        pin: Option<String>,
        client: Option<String>,
    ) -> Result<Decided, CertsError> {
        self.approval(tenant, token).await?;
        let pin = if approve { Self::pin(Some(pin.unwrap_or_default())).await? } else { None };
        let (t, k) = (tenant.to_string(), token.to_string());
        let actor = self.public(tenant, client)?;
        self.write(move |tx, env| applications::decide(tx, env, &actor, &t, &k, approve, pin.as_ref())).await
    }

    /// The one-time PKCS#12 download of a key-file delivery.
    pub async fn download_key_file(
        &self,
        tenant: &str,
        token: &str,
        client: Option<String>,
    ) -> Result<(String, Vec<u8>), CertsError> {
        let (t, k) = (tenant.to_string(), token.to_string());
        let actor = self.public(tenant, client)?;
        self.write(move |tx, env| certificates::take_key_file(tx, env.kek, &actor, &t, &k)).await
    }

    /// `getCertificate`: the signer and their certificate, if any.
    pub async fn certificate(&self, caller: &Caller, user_id: &str) -> Result<(User, Option<CertRecord>), CertsError> {
        let (c, u) = (caller.clone(), user_id.to_string());
        self.read(move |tx| certificates::find(tx, &c, authz::Op::ReadCertificate, &u)).await
    }

    /// `testCertificate`.
    pub async fn test_certificate(&self, caller: &Caller, user_id: &str) -> Result<TestOutcome, CertsError> {
        let kek = self.kek()?;
        let (c, u) = (caller.clone(), user_id.to_string());
        self.read(move |tx| certificates::test(tx, &kek, &c, &u)).await
    }

    /// `revokeCertificate`.
    pub async fn revoke_certificate(
        &self,
        caller: &Caller,
        user_id: &str,
        reason: &str,
    ) -> Result<CertRecord, CertsError> {
        let (c, u, r) = (caller.clone(), user_id.to_string(), reason.to_string());
        self.write(move |tx, env| certificates::revoke(tx, env, &c, &u, &r)).await
    }

    /// `importCertificate`: a certificate and key from an outside CA (PKCS#12) for signer
    /// `user_id`, by an administrator who may revoke the holder's certificate. Checked in
    /// order, nothing written on a refusal: who may (before anything is read or fetched),
    /// the form, the file (on a blocking thread), the revocation data (CRLs uploaded or
    /// fetched from the distribution point, before the write), the PIN hashed under the
    /// argon2 bound; then one write transaction with its audit record. See [`import`].
    pub async fn import_certificate(
        &self,
        caller: &Caller,
        user_id: &str,
        input: import::ImportInput,
    ) -> Result<CertRecord, CertsError> {
        let (c, u) = (caller.clone(), user_id.to_string());
        self.read(move |tx| certificates::find(tx, &c, authz::Op::Import, &u).map(|_| ())).await?;
        import::check_fields(&input)?;
        let now = self.kernel.now();
        let (candidate, input) = tokio::task::spawn_blocking(move || import::examine(&input, now).map(|c| (c, input)))
            .await
            .map_err(CertsError::crypto)??;
        let crls = import::revocation(&candidate, &input.revocation, now).await?;
        let pin = Self::pin(Some(input.pin)).await?.ok_or(CertsError::NotFound("pin"))?;
        let (c, u) = (caller.clone(), user_id.to_string());
        self.write(move |tx, env| import::register(tx, env, &c, &u, &candidate, &crls, &pin.hash)).await
    }

    /// Fetches newer CRLs for the imported certificates still usable from their
    /// distribution points (outside any transaction), keeping each newer one with its
    /// audit record (hourly, with the superseded revocations): how many changed.
    pub async fn refresh_imported_crls(&self) -> Result<usize, CertsError> {
        let due = self.read(import::due_for_refresh).await?;
        let mut changed = 0;
        for d in due {
            let Some(crl) = import::fetch_current(&d, self.kernel.now()).await else { continue };
            if self.write(move |tx, _| import::store_refreshed(tx, &d, &crl)).await? {
                changed += 1;
            }
        }
        Ok(changed)
    }

    /// Revokes certificates superseded by a replacement that became usable (the hourly
    /// background task; also `keiyaku` maintenance and tests).
    pub async fn revoke_superseded(&self) -> Result<usize, CertsError> {
        self.write(certificates::revoke_superseded).await
    }

    /// Tells holders whose certificates end within
    /// [`certificates::EXPIRY_NOTICE_DAYS`] days (once each).
    pub async fn notice_expiring(&self) -> Result<usize, CertsError> {
        self.write(certificates::notice_expiring).await
    }

    /// `unlockCertificatePin`: clears a PIN lock (the holder's group administrator).
    pub async fn unlock_pin(&self, caller: &Caller, user_id: &str) -> Result<CertRecord, CertsError> {
        let (c, u) = (caller.clone(), user_id.to_string());
        self.write(move |tx, _| signing::unlock_pin(tx, &c, &u)).await
    }

    /// `getCaCertificate` (PEM); the CA is created on first use.
    pub async fn ca_certificate(&self, tenant: &str) -> Result<String, CertsError> {
        let t = tenant.to_string();
        let found = self
            .read(move |tx| {
                orders::tenant(tx, &t)?;
                Ok(tx.get(&model::CAS, &t)?)
            })
            .await?;
        if let Some(ca) = found {
            return Ok(ca.cert_pem);
        }
        let t = tenant.to_string();
        self.write(move |tx, env| {
            let tenant = orders::tenant(tx, &t)?;
            certificates::ensure_ca(tx, env.kek, &tenant).map(|c| c.cert_pem)
        })
        .await
    }

    /// The DER certificates of every tenant CA on this appliance (none is created): what
    /// the public verifier trusts besides the roots a caller uploads.
    pub async fn trust_roots(&self) -> Result<Vec<Vec<u8>>, CertsError> {
        use base64::Engine as _;
        let cas = self.read(|tx| Ok(tx.scan(&model::CAS, "")?)).await?;
        Ok(cas
            .into_iter()
            .filter_map(|(_, ca)| base64::engine::general_purpose::STANDARD.decode(ca.cert_der).ok())
            .collect())
    }

    /// `getCrl` (DER): read-only; see [`certificates::crl`].
    pub async fn crl(&self, tenant: &str) -> Result<Vec<u8>, CertsError> {
        let (t, kek) = (tenant.to_string(), self.kek()?);
        self.read(move |tx| certificates::crl(tx, &kek, &t)).await
    }

    /// `ocsp` / `ocspGet`: the tenant CA's OCSP answer to a DER request (read-only; an OCSP
    /// error status, not an HTTP one, for a request it cannot answer).
    pub async fn ocsp(&self, tenant: &str, request_der: Vec<u8>) -> Result<Vec<u8>, CertsError> {
        let (t, kek) = (tenant.to_string(), self.kek()?);
        self.read(move |tx| {
            orders::tenant(tx, &t)?;
            signing::answer_ocsp(tx, &kek, &t, &request_der)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn pins_are_hashed_under_the_shared_argon2_bound() {
        // While every permit of the bound login uses is taken, PIN hashing waits.
        let held = keiyaku_auth::password::hold_every_permit().await;
        assert!(held.is_some());
        let mut pin = tokio::spawn(Certs::pin(Some("123456789012".into())));
        assert!(
            tokio::time::timeout(Duration::from_millis(200), &mut pin).await.is_err(),
            "the PIN was hashed outside the bound"
        );
        drop(held);
        let pin = pin.await.unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|e| panic!("{e}"));
        let pin = pin.unwrap_or_else(|| panic!("a PIN"));
        assert!(keiyaku_auth::password::verify("123456789012", &pin.hash));
    }
}
