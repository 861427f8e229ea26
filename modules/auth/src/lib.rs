//! Authentication: password login by user ID or e-mail, the password policy and forced
//! change, login throttling, sessions (API bearer tokens and web cookies), the operator
//! account, and tenant creation by the operator.

pub mod config;
pub mod demo;
pub mod mails;
pub mod password;
pub mod throttle;
pub mod totp;

pub use config::AuthConfig;

use jiff::{SignedDuration, Timestamp};
use keiyaku_kernel::FieldCode;
use keiyaku_kernel::context::{Actor, Caller};
use keiyaku_kernel::directory::{self, DirectoryError, NewTenant, NewUser, Role, Tenant, User, UserStatus};
use keiyaku_kernel::error::{ApiError, Code, Lang, Problem};
use keiyaku_kernel::ids::{digest, secret_token};
use keiyaku_kernel::kek::Kek;
use keiyaku_kernel::module::{MenuItem, Module};
use keiyaku_kernel::read_cache::ReadCache;
use keiyaku_kernel::store::{Read, StoreError, Table, Tx};
use keiyaku_kernel::validate::Invalid;
use keiyaku_kernel::{Kernel, mail};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use throttle::{Limits, Throttle};

/// `tenant/user id` → credential.
pub const CREDENTIALS: Table<Credential> = Table::new("auth_credentials");
/// SHA-256 of the token → session.
pub const SESSIONS: Table<Session> = Table::new("auth_sessions");
/// `tenant/user id/SHA-256 of the token` (the operator: `-/operator/…`) → (): a user's
/// sessions without scanning every session of the appliance.
pub const SESSIONS_BY_USER: Table<()> = Table::new("auth_sessions_by_user");
/// `operator` → the operator's credential.
pub const OPERATOR: Table<Credential> = Table::new("auth_operator");

pub const OPERATOR_ID: &str = "operator";

/// How stale `last_seen_at` may get before a request refreshes it (saves a write per request).
const TOUCH_EVERY: SignedDuration = SignedDuration::from_secs(60);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credential {
    pub hash: String,
    /// The next login must change the password first.
    pub must_change: bool,
    #[serde(default)]
    pub last_login_at: Option<Timestamp>,
    /// The login before the last one: what the dashboard shows as 前回ログイン日時.
    #[serde(default)]
    pub previous_login_at: Option<Timestamp>,
    pub changed_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionKind {
    Api,
    Web,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// None for the operator.
    pub tenant: Option<String>,
    pub user_id: String,
    pub kind: SessionKind,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    /// Anti-forgery token of web forms.
    pub csrf: String,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("locked for {retry_after} s")]
    Locked { retry_after: u64 },
    #[error("password change required")]
    PasswordChangeRequired,
    #[error("not authenticated")]
    Unauthenticated,
    #[error("forbidden")]
    Forbidden,
    #[error("tenant not found")]
    UnknownTenant,
    #[error("password policy")]
    Policy(Invalid),
    #[error("current password is wrong")]
    WrongCurrentPassword,
    #[error("hashing failed: {0}")]
    Hash(String),
    /// 401 `code_invalid`: a wrong, used or expired TOTP or recovery code.
    #[error("code invalid")]
    CodeInvalid,
    /// 401 `challenge_invalid`: the login's second step came too late or too often.
    #[error("challenge invalid")]
    ChallengeInvalid,
    /// 403 `totp_enrollment_required`: the tenant requires an authenticator for this role.
    #[error("totp enrollment required")]
    TotpEnrollmentRequired,
    /// 409 `conflict`: an authenticator is enrolled already (remove it first).
    #[error("totp already enrolled")]
    TotpAlreadyEnrolled,
    /// 409 `totp_not_enrolled`.
    #[error("totp not enrolled")]
    TotpNotEnrolled,
}

impl From<Vec<Invalid>> for AuthError {
    fn from(v: Vec<Invalid>) -> Self {
        AuthError::Directory(DirectoryError::Invalid(v))
    }
}

impl ApiError for AuthError {
    fn problem(&self, lang: Lang) -> Problem {
        match self {
            AuthError::Store(e) => {
                tracing::error!(error = %e, "storage failure");
                Problem::for_status(500, lang)
            }
            AuthError::Hash(e) => {
                tracing::error!(error = %e, "password hashing failure");
                Problem::for_status(500, lang)
            }
            AuthError::Directory(e) => e.problem(lang),
            AuthError::InvalidCredentials => Problem::new(
                401,
                Code::InvalidCredentials,
                lang.pick(
                    "ユーザーID(メールアドレス)またはパスワードが正しくありません。",
                    "The user ID (e-mail) or password is incorrect.",
                ),
            ),
            AuthError::Locked { retry_after } => {
                let mins = retry_after.div_ceil(60);
                let mut p = Problem::new(
                    429,
                    Code::RateLimited,
                    lang.pick(
                        "ログインの失敗が続いたため、一時的にログインできません。しばらくしてから再度お試しください。",
                        "Too many failed logins. Please try again later.",
                    ),
                )
                .with_detail(match lang {
                    Lang::Ja => format!("約{mins}分後に再度お試しください。"),
                    Lang::En => format!("Try again in about {mins} minutes."),
                });
                p.retry_after = Some(*retry_after);
                p
            }
            AuthError::PasswordChangeRequired => Problem::new(
                403,
                Code::PasswordChangeRequired,
                lang.pick(
                    "初回ログインのため、パスワードの変更が必要です。",
                    "You must change your password before continuing.",
                ),
            ),
            AuthError::Unauthenticated => Problem::new(
                401,
                Code::Unauthorized,
                lang.pick("ログインが必要です。ログインし直してください。", "Please log in (again)."),
            ),
            AuthError::Forbidden => Problem::for_status(403, lang),
            AuthError::CodeInvalid => Problem::new(
                401,
                Code::CodeInvalid,
                lang.pick(
                    "認証コードが正しくないか、既に使用されています。",
                    "The code is wrong or has been used already.",
                ),
            ),
            AuthError::ChallengeInvalid => Problem::new(
                401,
                Code::ChallengeInvalid,
                lang.pick(
                    "認証の有効期限が切れました。もう一度ログインしてください。",
                    "The login has expired. Please log in again.",
                ),
            ),
            AuthError::TotpEnrollmentRequired => Problem::new(
                403,
                Code::TotpEnrollmentRequired,
                lang.pick(
                    "二要素認証の設定が必要です。認証アプリを登録してください。",
                    "Two-factor authentication is required: enroll an authenticator app.",
                ),
            ),
            AuthError::TotpAlreadyEnrolled => Problem::new(
                409,
                Code::Conflict,
                lang.pick(
                    "二要素認証は既に設定されています。設定し直す場合は、先に解除してください。",
                    "Two-factor authentication is already set up; remove it first to set it up again.",
                ),
            ),
            AuthError::TotpNotEnrolled => Problem::new(
                409,
                Code::TotpNotEnrolled,
                lang.pick("二要素認証は設定されていません。", "Two-factor authentication is not set up."),
            ),
            AuthError::UnknownTenant => Problem::for_status(404, lang),
            AuthError::Policy(invalid) => directory::invalid_problem(std::slice::from_ref(invalid), lang),
            AuthError::WrongCurrentPassword => {
                let inv = Invalid::new(
                    "current_password",
                    keiyaku_kernel::validate::Rule::Custom {
                        code: FieldCode::WrongPassword,
                        ja: "現在のパスワードが正しくありません。".into(),
                        en: "The current password is incorrect.".into(),
                    },
                );
                directory::invalid_problem(&[inv], lang)
            }
        }
    }
}

/// The auth module's tables and menu.
pub struct AuthModule;

impl Module for AuthModule {
    fn name(&self) -> &'static str {
        "auth"
    }

    fn tables(&self) -> Vec<&'static str> {
        vec![
            CREDENTIALS.name(),
            SESSIONS.name(),
            SESSIONS_BY_USER.name(),
            OPERATOR.name(),
            totp::TOTP_RECORDS.name(),
            totp::CHALLENGES.name(),
        ]
    }

    /// 1: sessions by token only; 2: with the index by user (`auth_sessions_by_user`).
    fn schema_version(&self) -> u32 {
        2
    }

    fn migrate(&self, tx: &mut Tx, from: u32) -> Result<(), StoreError> {
        if from == 1 {
            for (key, session) in tx.scan(&SESSIONS, "")? {
                tx.put(&SESSIONS_BY_USER, &session_index_key(&session, &key), &())?;
            }
        }
        Ok(())
    }

    fn seed_demo(&self, kernel: &Kernel, tx: &mut Tx) -> Result<(), StoreError> {
        demo::seed(kernel, tx)
    }
}

/// Result of a successful login.
#[derive(Debug, Clone)]
pub struct LoginOk {
    pub token: String,
    pub csrf: String,
    pub password_change_required: bool,
    /// The tenant requires an authenticator for the user's roles and none is enrolled: the
    /// session serves only enrolling (and the password change) until it is.
    pub totp_enrollment_required: bool,
    pub user: User,
}

/// What a correct password leads to.
#[derive(Debug, Clone)]
pub enum Login {
    /// A session.
    Session(LoginOk),
    /// An enrolled user: the second step (`loginTotp`) with this challenge.
    TotpRequired { challenge: String, user: User },
}

/// An authenticated session with the caller it stands for.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub caller: Caller,
    pub session: Session,
    pub must_change: bool,
    /// The tenant requires an authenticator for the caller's roles and none is enrolled.
    pub must_enroll: bool,
    /// The records the caller was made from, as read in the same transaction, so that
    /// [`Auth::me_of`] does not read them again.
    pub user: User,
    pub company: directory::Company,
    /// The login before the current one (前回ログイン日時).
    pub last_login_at: Option<Timestamp>,
}

/// What `me` and the dashboard header show.
#[derive(Debug, Clone)]
pub struct Me {
    pub user: User,
    pub company: directory::Company,
    pub group: directory::Group,
    pub tenant: Tenant,
    pub last_login_at: Option<Timestamp>,
    pub menus: Vec<MenuItem>,
}

/// A tenant creation request (operator).
#[derive(Debug, Clone)]
pub struct NewTenantRequest {
    pub code: String,
    pub name: String,
    pub trial: bool,
    pub owner_name: String,
    pub owner_name_kana: String,
    pub admin_user_id: String,
    pub admin_name: String,
    pub admin_email: String,
}

/// The authentication service; cheap to clone.
#[derive(Clone)]
pub struct Auth {
    kernel: Kernel,
    throttle: Arc<Throttle>,
    /// Verified against when the login name is unknown, so both cases take the same time.
    dummy_hash: Arc<tokio::sync::OnceCell<String>>,
    menus: Arc<Vec<MenuItem>>,
    /// Seals TOTP secrets; loaded on first use.
    kek: Arc<std::sync::Mutex<Option<Arc<Kek>>>>,
    /// [`Auth::me_of`]'s group and tenant records by `(tenant, group)`, until the next write.
    headers: Arc<ReadCache<(String, String), (directory::Group, Tenant)>>,
}

impl Auth {
    pub fn new(kernel: Kernel, menus: Vec<MenuItem>) -> Self {
        Self {
            kernel,
            throttle: Arc::new(Throttle::default()),
            dummy_hash: Arc::default(),
            menus: Arc::new(menus),
            kek: Arc::default(),
            headers: Arc::new(ReadCache::new(TOKEN_CACHE_MAX)),
        }
    }

    fn kek(&self) -> Result<Arc<Kek>, AuthError> {
        let mut slot = self.kek.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(k) = slot.as_ref() {
            return Ok(k.clone());
        }
        let k = Arc::new(Kek::for_data_dir(&self.kernel.config.storage.data_dir).map_err(|e| AuthError::Hash(e.0))?);
        *slot = Some(k.clone());
        Ok(k)
    }

    /// Runs argon2 work on the blocking pool under the process-wide bound shared with every
    /// module that hashes ([`password::run_bounded`]: one run per core, callers queue); None
    /// when the task failed.
    async fn argon2<R: Send + 'static>(&self, work: impl FnOnce() -> R + Send + 'static) -> Option<R> {
        password::run_bounded(work).await.ok()
    }

    pub fn kernel(&self) -> &Kernel {
        &self.kernel
    }

    /// A hash of a random password, made on first need (not at start-up: it costs one
    /// argon2 run) and kept.
    async fn dummy_hash(&self) -> String {
        let make = || async { password::hash_bounded(secret_token(16)).await.unwrap_or_default() };
        self.dummy_hash.get_or_init(make).await.clone()
    }

    fn limits(&self) -> Limits {
        let cfg = self.kernel.config.section::<AuthConfig>();
        Limits {
            threshold: cfg.lockout_threshold,
            client_threshold: cfg.client_lockout_threshold,
            lock: SignedDuration::from_mins(i64::from(cfg.lockout_minutes)),
        }
    }

    /// Logs a tenant user in by user ID or e-mail.
    pub async fn login(
        &self,
        tenant: &str,
        login: &str,
        password: &str,
        client: Option<String>,
        kind: SessionKind,
    ) -> Result<Login, AuthError> {
        if login.len() > 254 || password.len() > 1024 {
            // Nothing this long is a real login; refuse before hashing megabytes.
            return Err(AuthError::InvalidCredentials);
        }
        let tenant = tenant.to_string();
        let login_norm = login.trim().to_lowercase();
        let client_key = client.clone().unwrap_or_default();
        let found = {
            let (tenant, login) = (tenant.clone(), login.to_string());
            self.kernel
                .store
                .read(move |tx| {
                    if directory::get_tenant(tx, &tenant)?.is_none() {
                        return Err(AuthError::UnknownTenant);
                    }
                    let user = directory::find_by_login(tx, &tenant, &login)?;
                    let cred = match &user {
                        Some(u) => tx.get(&CREDENTIALS, &format!("{tenant}/{}", u.user_id))?,
                        None => None,
                    };
                    Ok((user, cred))
                })
                .await?
        };
        // Throttle on the account when the name resolves, on the name otherwise.
        let subject = match &found.0 {
            Some(u) => format!("{tenant}/{}", u.user_id),
            None => format!("{tenant}/?{}", login_norm.chars().take(254).collect::<String>()),
        };
        let now = self.kernel.now();
        if let Some(retry_after) = self.throttle.locked(&subject, &client_key, now) {
            return Err(AuthError::Locked { retry_after });
        }
        let hash = match found.1.as_ref() {
            Some(c) => c.hash.clone(),
            None => self.dummy_hash().await,
        };
        let pw = password.to_string();
        let ok = self.argon2(move || password::verify(&pw, &hash)).await.unwrap_or(false);
        let active = found.0.as_ref().is_some_and(|u| u.status == UserStatus::Active);
        let (Some(user), Some(cred), true, true) = (found.0, found.1, ok, active) else {
            let locked = self.throttle.fail(&subject, &client_key, now, &self.limits());
            let actor = Actor::public(Some(tenant.clone()), client.clone());
            let target = subject.clone();
            self.kernel
                .store
                .write(move |tx| tx.audit(&actor, "auth.login_failed", &target, serde_json::json!({})))
                .await?;
            return Err(match locked {
                Some(retry_after) => AuthError::Locked { retry_after },
                None => AuthError::InvalidCredentials,
            });
        };
        self.throttle.succeed(&subject, &client_key);
        self.finish_login(&tenant, &user.user_id, &cred.hash, client, kind).await
    }

    /// The write half of [`login`](Self::login), for a password verified against `verified`
    /// (the credential's hash as read before argon2 ran). The user and the credential are read
    /// again inside the write transaction: a password reset or change, a suspension or a
    /// deletion made while argon2 ran refuses the login instead of being undone or ignored.
    pub async fn finish_login(
        &self,
        tenant: &str,
        user_id: &str,
        verified: &str,
        client: Option<String>,
        kind: SessionKind,
    ) -> Result<Login, AuthError> {
        let actor = user_actor(tenant, user_id, client);
        let this = self.clone();
        let (tenant, user_id, verified) = (tenant.to_string(), user_id.to_string(), verified.to_string());
        self.kernel
            .store
            .write(move |tx| {
                let user = directory::get_user(tx, &tenant, &user_id)?.filter(|u| u.status == UserStatus::Active);
                let cred = tx.get(&CREDENTIALS, &format!("{tenant}/{user_id}"))?;
                let (Some(user), Some(cred)) = (user, cred) else { return Err(AuthError::InvalidCredentials) };
                if cred.hash != verified {
                    return Err(AuthError::InvalidCredentials);
                }
                let totp_subject = totp::subject(Some(&tenant), &user.user_id);
                if totp::enrolled(tx, &totp_subject)? {
                    let challenge = totp::new_challenge(tx, Some(&tenant), &user.user_id, kind)?;
                    tx.audit(&actor, "auth.login_password", &totp_subject, serde_json::json!({"second_step": "totp"}))?;
                    return Ok(Login::TotpRequired { challenge, user });
                }
                let must_enroll = must_enroll(&this.kernel, tx, &tenant, &user.user_id, &user.roles)?;
                this.open_session(tx, &actor, &tenant, user, kind, must_enroll).map(Login::Session)
            })
            .await
    }

    /// Opens a session for a user who proved who they are (in the caller's transaction).
    fn open_session(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        tenant: &str,
        user: User,
        kind: SessionKind,
        must_enroll: bool,
    ) -> Result<LoginOk, AuthError> {
        let now = tx.now();
        let token = secret_token(32);
        let csrf = secret_token(24);
        let session = Session {
            tenant: Some(tenant.to_string()),
            user_id: user.user_id.clone(),
            kind,
            created_at: now,
            last_seen_at: now,
            csrf: csrf.clone(),
        };
        let cred_key = format!("{tenant}/{}", user.user_id);
        let mut cred = tx.get(&CREDENTIALS, &cred_key)?.ok_or(AuthError::InvalidCredentials)?;
        cred.previous_login_at = cred.last_login_at.take();
        cred.last_login_at = Some(now);
        tx.put(&CREDENTIALS, &cred_key, &cred)?;
        put_session(tx, &digest(&token), &session)?;
        // The user has their password: the copy in the registration mail goes.
        mail::scrub_for(tx, &cred_key)?;
        tx.audit(actor, "auth.login", &cred_key, serde_json::json!({"kind": session.kind}))?;
        Ok(LoginOk {
            token,
            csrf,
            password_change_required: cred.must_change,
            totp_enrollment_required: must_enroll,
            user,
        })
    }

    /// `loginTotp`: the second step of an enrolled user's login — the challenge and a TOTP
    /// or recovery code. Wrong codes are throttled like wrong passwords.
    pub async fn login_totp(
        &self,
        tenant: &str,
        challenge: &str,
        code: &str,
        client: Option<String>,
    ) -> Result<LoginOk, AuthError> {
        let (t, ch) = (tenant.to_string(), challenge.to_string());
        let pending = self.kernel.store.read(move |tx| totp::challenge(tx, &ch)).await?;
        let Some(pending) = pending.filter(|c| c.tenant.as_deref() == Some(t.as_str())) else {
            return Err(AuthError::ChallengeInvalid);
        };
        let subject = pending.subject();
        let client_key = client.clone().unwrap_or_default();
        let now = self.kernel.now();
        if let Some(retry_after) = self.throttle.locked(&subject, &client_key, now) {
            return Err(AuthError::Locked { retry_after });
        }
        let kek = self.kek()?;
        let this = self.clone();
        let (ch, code, t) = (challenge.to_string(), code.to_string(), tenant.to_string());
        let actor = user_actor(tenant, &pending.user_id, client);
        let outcome = self
            .kernel
            .store
            .write(move |tx| {
                if !totp::check(tx, &kek, &subject, &code)? {
                    totp::fail_challenge(tx, &ch)?;
                    tx.audit(&actor, "auth.totp_failed", &subject, serde_json::json!({}))?;
                    return Ok(Err(AuthError::CodeInvalid));
                }
                totp::end_challenge(tx, &ch)?;
                let user = directory::get_user(tx, &t, &pending.user_id)?.ok_or(AuthError::InvalidCredentials)?;
                if user.status != UserStatus::Active {
                    return Ok(Err(AuthError::InvalidCredentials));
                }
                this.open_session(tx, &actor, &t, user, pending.kind, false).map(Ok)
            })
            .await?;
        let subject =
            totp::subject(Some(tenant), &outcome.as_ref().map(|o| o.user.user_id.clone()).unwrap_or_default());
        match outcome {
            Ok(ok) => {
                self.throttle.succeed(&subject, &client_key);
                Ok(ok)
            }
            Err(e) => {
                if let Some(retry_after) = self.throttle.fail(&subject, &client_key, now, &self.limits()) {
                    return Err(AuthError::Locked { retry_after });
                }
                Err(e)
            }
        }
    }

    /// `enrollTotp` for a tenant user or (tenant None) the operator.
    pub async fn enroll_totp(
        &self,
        tenant: Option<&str>,
        user_id: &str,
        actor: Actor,
    ) -> Result<totp::Enrollment, AuthError> {
        let kek = self.kek()?;
        let subject = totp::subject(tenant, user_id);
        let issuer = match tenant {
            Some(t) => format!("keiyaku {t}"),
            None => "keiyaku operator".to_string(),
        };
        let account = user_id.to_string();
        self.kernel
            .store
            .write(move |tx| {
                let e = totp::enroll(tx, &kek, &subject, &issuer, &account)?;
                tx.audit(&actor, "auth.totp_enroll", &subject, serde_json::json!({}))?;
                Ok(e)
            })
            .await
    }

    /// `confirmTotp`: returns the 10 recovery codes (shown once).
    pub async fn confirm_totp(
        &self,
        tenant: Option<&str>,
        user_id: &str,
        code: &str,
        actor: Actor,
    ) -> Result<Vec<String>, AuthError> {
        self.totp_change(tenant, user_id, actor, code, "auth.totp_confirm", totp::confirm).await
    }

    /// `removeTotp`: with a current or a recovery code.
    pub async fn remove_totp(
        &self,
        tenant: Option<&str>,
        user_id: &str,
        code: &str,
        actor: Actor,
    ) -> Result<(), AuthError> {
        self.totp_change(tenant, user_id, actor, code, "auth.totp_remove", totp::remove).await
    }

    /// A code-checked change of the own authenticator, throttled like logins and audited.
    async fn totp_change<R: Send + 'static>(
        &self,
        tenant: Option<&str>,
        user_id: &str,
        actor: Actor,
        code: &str,
        action: &'static str,
        f: fn(&mut Tx, &Kek, &str, &str) -> Result<R, AuthError>,
    ) -> Result<R, AuthError> {
        let kek = self.kek()?;
        let subject = totp::subject(tenant, user_id);
        let client_key = actor.client.clone().unwrap_or_default();
        let now = self.kernel.now();
        if let Some(retry_after) = self.throttle.locked(&subject, &client_key, now) {
            return Err(AuthError::Locked { retry_after });
        }
        let (s, code) = (subject.clone(), code.to_string());
        let result = self
            .kernel
            .store
            .write(move |tx| {
                let r = f(tx, &kek, &s, &code)?;
                tx.audit(&actor, action, &s, serde_json::json!({}))?;
                Ok::<_, AuthError>(r)
            })
            .await;
        match result {
            Err(AuthError::CodeInvalid) => {
                if let Some(retry_after) = self.throttle.fail(&subject, &client_key, now, &self.limits()) {
                    return Err(AuthError::Locked { retry_after });
                }
                Err(AuthError::CodeInvalid)
            }
            other => {
                if other.is_ok() {
                    self.throttle.succeed(&subject, &client_key);
                }
                other
            }
        }
    }

    /// Whether a tenant user or the operator has a confirmed authenticator.
    pub async fn totp_enrolled(&self, tenant: Option<&str>, user_id: &str) -> Result<bool, AuthError> {
        let subject = totp::subject(tenant, user_id);
        Ok(self.kernel.store.read(move |tx| totp::enrolled(tx, &subject)).await?)
    }

    /// Removes every expired session (run hourly); returns how many.
    pub async fn sweep_sessions(&self) -> Result<usize, AuthError> {
        let this = self.clone();
        self.kernel
            .store
            .write(move |tx| {
                let now = tx.now();
                let expired: Vec<String> = tx
                    .scan(&SESSIONS, "")?
                    .into_iter()
                    .filter(|(_, s)| session_expired(&this.kernel, s, now))
                    .map(|(k, _)| k)
                    .collect();
                for key in &expired {
                    remove_session(tx, key)?;
                }
                Ok::<_, AuthError>(expired.len())
            })
            .await
    }

    /// Resolves a tenant user's token. With `allow_must_change` false, a session whose
    /// password must still be changed is refused with `PasswordChangeRequired`.
    pub async fn authenticate(
        &self,
        tenant: &str,
        token: &str,
        client: Option<String>,
        allow_must_change: bool,
    ) -> Result<Authenticated, AuthError> {
        self.authenticate_resolved(None, tenant, token, client, allow_must_change).await
    }

    /// [`Auth::authenticate`], using what the request's middleware read for the token
    /// ([`resolve_token`]) instead of reading again when it is that token's and fresh (at most
    /// [`RESOLVED_FRESH`] old; a handler reached after a long upload reads again). Every check
    /// is the same: tenant match and expiry (judged now), user status, password change,
    /// enrollment; and `last_seen_at` is refreshed the same way.
    pub async fn authenticate_resolved(
        &self,
        resolved: Option<&ResolvedToken>,
        tenant: &str,
        token: &str,
        client: Option<String>,
        allow_must_change: bool,
    ) -> Result<Authenticated, AuthError> {
        if token.is_empty() || token.len() > 200 {
            return Err(AuthError::Unauthenticated);
        }
        let key = digest(token);
        let outcome = match resolved.and_then(|r| r.take(&key)) {
            Some(pre) => {
                let session = pre.session.ok_or(AuthError::Unauthenticated)?;
                if session.tenant.as_deref() != Some(tenant)
                    || session_expired(&self.kernel, &session, self.kernel.now())
                {
                    return Err(AuthError::Unauthenticated);
                }
                pre.outcome.ok_or(AuthError::Unauthenticated)?
            }
            // A handful of point reads: done on this thread (a hand-off to the blocking pool
            // would cost more than the reads), as every authenticated request starts here.
            None => self.kernel.store.read_blocking(|tx| {
                let session = tx.get(&SESSIONS, &key)?.ok_or(AuthError::Unauthenticated)?;
                if session.tenant.as_deref() != Some(tenant) || session_expired(&self.kernel, &session, tx.now()) {
                    return Err(AuthError::Unauthenticated);
                }
                read_authenticated(&self.kernel, tx, tenant, session)
            }),
        };
        let (mut auth, touch) = outcome?;
        auth.caller.client = client;
        if touch {
            self.kernel
                .store
                .write(move |tx| {
                    if let Some(mut s) = tx.get(&SESSIONS, &key)? {
                        s.last_seen_at = tx.now();
                        tx.put(&SESSIONS, &key, &s)?;
                    }
                    Ok::<_, StoreError>(())
                })
                .await?;
        }
        if auth.must_change && !allow_must_change {
            return Err(AuthError::PasswordChangeRequired);
        }
        if auth.must_enroll && !allow_must_change {
            return Err(AuthError::TotpEnrollmentRequired);
        }
        Ok(auth)
    }

    /// Changes the caller's password after checking the current one and the policy, and ends
    /// the user's other sessions (`token` is the session that asked, which stays).
    pub async fn change_password(
        &self,
        caller: &Caller,
        token: &str,
        current: &str,
        new: &str,
    ) -> Result<(), AuthError> {
        let keep = digest(token);
        let cfg = self.kernel.config.section::<AuthConfig>().clone();
        let key = format!("{}/{}", caller.tenant, caller.user_id);
        let cred = {
            let key = key.clone();
            self.kernel.store.read(move |tx| tx.get(&CREDENTIALS, &key)).await?.ok_or(AuthError::Unauthenticated)?
        };
        let (cur, old_hash) = (current.to_string(), cred.hash.clone());
        let current_ok = self.argon2(move || password::verify(&cur, &old_hash)).await.unwrap_or(false);
        if !current_ok {
            return Err(AuthError::WrongCurrentPassword);
        }
        password::check_policy(&cfg, &caller.user_id, Some(current), new).map_err(AuthError::Policy)?;
        let new_pw = new.to_string();
        let hash = self
            .argon2(move || password::hash(&new_pw))
            .await
            .ok_or_else(|| AuthError::Hash("the hashing task failed".into()))?
            .map_err(AuthError::Hash)?;
        let actor = caller.actor();
        let actor_tenant = caller.tenant.clone();
        self.kernel
            .store
            .write(move |tx| {
                let mut cred = tx.get(&CREDENTIALS, &key)?.ok_or(AuthError::Unauthenticated)?;
                cred.hash = hash;
                cred.must_change = false;
                cred.changed_at = tx.now();
                tx.put(&CREDENTIALS, &key, &cred)?;
                let ended = revoke_sessions_except(tx, &actor_tenant, &actor.id, Some(&keep))?;
                tx.audit(&actor, "auth.password_change", &key, serde_json::json!({"other_sessions_ended": ended}))?;
                Ok(())
            })
            .await
    }

    /// Ends a session (tenant user or operator).
    pub async fn logout(&self, token: &str, actor: Actor) -> Result<(), AuthError> {
        let key = digest(token);
        self.kernel
            .store
            .write(move |tx| {
                if remove_session(tx, &key)? {
                    let target = match &actor.tenant {
                        Some(t) => format!("{t}/{}", actor.id),
                        None => actor.id.clone(),
                    };
                    tx.audit(&actor, "auth.logout", &target, serde_json::json!({}))?;
                }
                Ok(())
            })
            .await
    }

    /// The caller's profile, previous login time and allowed menus, for an authentication of
    /// this request: the user, company and previous login it read already are used as they
    /// are; the group and tenant are read (and kept until the next write).
    pub async fn me_of(&self, auth: &Authenticated) -> Result<Me, AuthError> {
        let caller = &auth.caller;
        let is_admin = caller.has(Role::GroupAdmin);
        let menus: Vec<MenuItem> = self.menus.iter().filter(|m| !m.admin || is_admin).cloned().collect();
        let key = (caller.tenant.clone(), auth.user.group_id.clone());
        let changes = self.kernel.store.changes();
        let (group, tenant) = match self.headers.get(changes, &key) {
            Some(found) => found,
            // Point reads, on this thread (see `authenticate`).
            None => {
                let found = self.kernel.store.read_blocking(|tx| {
                    let group = directory::get_group(tx, &key.0, &key.1)?.ok_or(AuthError::Unauthenticated)?;
                    let tenant = directory::get_tenant(tx, &key.0)?.ok_or(AuthError::UnknownTenant)?;
                    Ok::<_, AuthError>((group, tenant))
                })?;
                self.headers.put(changes, key, found.clone());
                found
            }
        };
        Ok(Me {
            user: auth.user.clone(),
            company: auth.company.clone(),
            group,
            tenant,
            last_login_at: auth.last_login_at,
            menus,
        })
    }

    /// Makes sure the operator account exists. Returns the password to print when it was
    /// just created with a generated password.
    pub fn ensure_operator(&self, password: Option<String>) -> Result<Option<String>, AuthError> {
        let exists = self.kernel.store.read_blocking(|tx| tx.get(&OPERATOR, OPERATOR_ID))?.is_some();
        if exists {
            return Ok(None);
        }
        let (pw, generated) = match password.filter(|p| !p.is_empty()) {
            Some(p) => (p, false),
            None => (password::generate(), true),
        };
        let hash = password::hash(&pw).map_err(AuthError::Hash)?;
        self.kernel.store.write_blocking(|tx| {
            let cred = Credential {
                hash,
                must_change: false,
                last_login_at: None,
                previous_login_at: None,
                changed_at: tx.now(),
            };
            tx.put(&OPERATOR, OPERATOR_ID, &cred)?;
            tx.audit(&Actor::system(), "operator.create", OPERATOR_ID, serde_json::json!({"generated": generated}))?;
            Ok::<_, AuthError>(())
        })?;
        Ok(generated.then_some(pw))
    }

    /// Logs the operator in: a bearer token, or (with an authenticator) a challenge for
    /// [`Auth::operator_login_totp`].
    pub async fn operator_login(
        &self,
        login: &str,
        password: &str,
        client: Option<String>,
    ) -> Result<OperatorLogin, AuthError> {
        let client_key = client.clone().unwrap_or_default();
        let now = self.kernel.now();
        let subject = "operator";
        if let Some(retry_after) = self.throttle.locked(subject, &client_key, now) {
            return Err(AuthError::Locked { retry_after });
        }
        let cred = self.kernel.store.read(|tx| tx.get(&OPERATOR, OPERATOR_ID)).await?;
        let hash = match cred.as_ref() {
            Some(c) => c.hash.clone(),
            None => self.dummy_hash().await,
        };
        let pw = password.to_string();
        let ok = self.argon2(move || password::verify(&pw, &hash)).await.unwrap_or(false);
        let actor = Actor::operator(client);
        if !ok || login != OPERATOR_ID {
            let locked = self.throttle.fail(subject, &client_key, now, &self.limits());
            self.kernel
                .store
                .write(move |tx| tx.audit(&actor, "operator.login_failed", OPERATOR_ID, serde_json::json!({})))
                .await?;
            return Err(match locked {
                Some(retry_after) => AuthError::Locked { retry_after },
                None => AuthError::InvalidCredentials,
            });
        }
        self.throttle.succeed(subject, &client_key);
        self.kernel
            .store
            .write(move |tx| {
                if totp::enrolled(tx, OPERATOR_ID)? {
                    let challenge = totp::new_challenge(tx, None, OPERATOR_ID, SessionKind::Api)?;
                    tx.audit(
                        &actor,
                        "operator.login_password",
                        OPERATOR_ID,
                        serde_json::json!({"second_step": "totp"}),
                    )?;
                    return Ok(OperatorLogin::TotpRequired { challenge });
                }
                Ok(OperatorLogin::Token(operator_session(tx, &actor)?))
            })
            .await
    }

    /// The operator's second login step: the challenge and a TOTP or recovery code.
    pub async fn operator_login_totp(
        &self,
        challenge: &str,
        code: &str,
        client: Option<String>,
    ) -> Result<String, AuthError> {
        let ch = challenge.to_string();
        let pending = self.kernel.store.read(move |tx| totp::challenge(tx, &ch)).await?;
        if pending.is_none_or(|c| c.tenant.is_some() || c.user_id != OPERATOR_ID) {
            return Err(AuthError::ChallengeInvalid);
        }
        let client_key = client.clone().unwrap_or_default();
        let now = self.kernel.now();
        if let Some(retry_after) = self.throttle.locked(OPERATOR_ID, &client_key, now) {
            return Err(AuthError::Locked { retry_after });
        }
        let kek = self.kek()?;
        let (ch, code) = (challenge.to_string(), code.to_string());
        let actor = Actor::operator(client);
        let outcome = self
            .kernel
            .store
            .write(move |tx| {
                if !totp::check(tx, &kek, OPERATOR_ID, &code)? {
                    totp::fail_challenge(tx, &ch)?;
                    tx.audit(&actor, "operator.totp_failed", OPERATOR_ID, serde_json::json!({}))?;
                    return Ok(Err(AuthError::CodeInvalid));
                }
                totp::end_challenge(tx, &ch)?;
                operator_session(tx, &actor).map(Ok)
            })
            .await?;
        match outcome {
            Ok(token) => {
                self.throttle.succeed(OPERATOR_ID, &client_key);
                Ok(token)
            }
            Err(e) => {
                if let Some(retry_after) = self.throttle.fail(OPERATOR_ID, &client_key, now, &self.limits()) {
                    return Err(AuthError::Locked { retry_after });
                }
                Err(e)
            }
        }
    }

    /// Resolves an operator token.
    pub async fn operator(&self, token: &str, client: Option<String>) -> Result<Actor, AuthError> {
        if token.is_empty() || token.len() > 200 {
            return Err(AuthError::Unauthenticated);
        }
        let key = digest(token);
        let session =
            self.kernel.store.read(move |tx| tx.get(&SESSIONS, &key)).await?.ok_or(AuthError::Unauthenticated)?;
        if session.tenant.is_some()
            || session.user_id != OPERATOR_ID
            || session_expired(&self.kernel, &session, self.kernel.now())
        {
            return Err(AuthError::Unauthenticated);
        }
        Ok(Actor::operator(client))
    }

    /// Creates a tenant with its owner company, root group and first group administrator,
    /// who receives the registration mail — all in one transaction.
    pub async fn create_tenant(&self, actor: Actor, req: NewTenantRequest) -> Result<(Tenant, User), AuthError> {
        let initial = password::generate();
        let hash = {
            let pw = initial.clone();
            self.argon2(move || password::hash(&pw))
                .await
                .ok_or_else(|| AuthError::Hash("the hashing task failed".into()))?
                .map_err(AuthError::Hash)?
        };
        let base_url = self.kernel.public_url();
        let smtp = self.kernel.config.mail.smtp_enabled();
        self.kernel
            .store
            .write(move |tx| {
                // Check the admin's fields before anything is written, so that one request
                // reports every invalid field at once.
                let mut v = keiyaku_kernel::validate::Validator::new();
                directory::check_user_id(&mut v, "admin.user_id", &req.admin_user_id);
                v.text("admin.name", &req.admin_name, directory::NAME_MAX);
                v.email("admin.email", &req.admin_email);
                let admin_invalid = v.finish().err().unwrap_or_default();
                let (tenant, _company, root) = match directory::create_tenant(
                    tx,
                    &actor,
                    NewTenant {
                        code: req.code.clone(),
                        name: req.name.clone(),
                        trial: req.trial,
                        owner_name: req.owner_name.clone(),
                        owner_name_kana: req.owner_name_kana.clone(),
                    },
                ) {
                    Ok(t) => t,
                    Err(DirectoryError::Invalid(mut list)) => {
                        list.extend(admin_invalid);
                        return Err(DirectoryError::Invalid(list).into());
                    }
                    Err(e) => return Err(e.into()),
                };
                if !admin_invalid.is_empty() {
                    return Err(DirectoryError::Invalid(admin_invalid).into());
                }
                let user = directory::create_user(
                    tx,
                    &actor,
                    &tenant.code,
                    NewUser {
                        user_id: req.admin_user_id.clone(),
                        name: req.admin_name.clone(),
                        email: req.admin_email.clone(),
                        roles: vec![Role::GroupAdmin, Role::Administration],
                        group_id: root.id.clone(),
                        ..Default::default()
                    },
                )
                .map_err(|e| prefix_fields(e, "admin."))?;
                register_credential(tx, &actor, &tenant, &user, hash, true)?;
                let owner = format!("{}/{}", tenant.code, user.user_id);
                tx.send_secret_mail(mails::registration(&tenant, &user, &initial, &base_url), smtp, &owner, &initial)?;
                Ok((tenant, user))
            })
            .await
    }

    pub async fn list_tenants(&self) -> Result<Vec<Tenant>, AuthError> {
        Ok(self.kernel.store.read(directory::list_tenants).await?)
    }
}

/// Field names of a nested object, e.g. `admin.email`.
fn prefix_fields(e: DirectoryError, prefix: &str) -> DirectoryError {
    match e {
        DirectoryError::Invalid(list) => DirectoryError::Invalid(
            list.into_iter()
                .map(|mut i| {
                    i.field = format!("{prefix}{}", i.field);
                    i
                })
                .collect(),
        ),
        other => other,
    }
}

/// Loads a user as a [`Caller`]; suspended or missing users are not authenticated.
pub fn load_caller(tx: &impl Read, tenant: &str, user_id: &str, client: Option<String>) -> Result<Caller, AuthError> {
    let (user, company) = load_active(tx, tenant, user_id)?;
    Ok(caller_of(tenant, &user, &company, client))
}

/// An active user and their company.
fn load_active(tx: &impl Read, tenant: &str, user_id: &str) -> Result<(User, directory::Company), AuthError> {
    let user = directory::get_user(tx, tenant, user_id)?.ok_or(AuthError::Unauthenticated)?;
    if user.status != UserStatus::Active {
        return Err(AuthError::Unauthenticated);
    }
    let company = directory::get_company(tx, tenant, &user.company_id)?.ok_or(AuthError::Unauthenticated)?;
    Ok((user, company))
}

fn caller_of(tenant: &str, user: &User, company: &directory::Company, client: Option<String>) -> Caller {
    Caller {
        tenant: tenant.to_string(),
        user_id: user.user_id.clone(),
        name: user.name.clone(),
        company_id: user.company_id.clone(),
        group_id: user.group_id.clone(),
        owner_side: company.owner,
        roles: user.roles.clone(),
        client,
    }
}

/// How old a [`ResolvedToken`] may be and still stand for the request's authentication.
pub const RESOLVED_FRESH: std::time::Duration = std::time::Duration::from_secs(1);

/// What one read transaction at the start of a request found for the bearer token or session
/// cookie it carries (put in the request's extensions by the rate-limit middleware): the
/// session, and for a tenant user's session everything [`Auth::authenticate`] reads, so the
/// session is read once per request. Used once: the first `authenticate` of the request
/// takes it; a later one reads again.
#[derive(Debug)]
pub struct ResolvedToken {
    key: String,
    at: std::time::Instant,
    /// `tenant/user` (the operator: `operator`) owning the session, expired or not.
    pub account: Option<String>,
    pending: std::sync::Mutex<Option<Preread>>,
}

#[derive(Debug)]
struct Preread {
    session: Option<Session>,
    /// For a tenant user's session: the caller (without client address) and whether
    /// `last_seen_at` is due, or why the session does not authenticate.
    outcome: Option<Result<(Authenticated, bool), AuthError>>,
}

impl ResolvedToken {
    /// The pre-read outcome, when it is `key`'s, fresh, and not used yet.
    fn take(&self, key: &str) -> Option<Preread> {
        if self.key != key || self.at.elapsed() > RESOLVED_FRESH {
            return None;
        }
        self.pending.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

/// Reads what [`Auth::authenticate`] needs for a token, in one read transaction on this
/// thread: the session, and for a tenant user's session the caller, credential and
/// enrollment state. None for a malformed token or when the store cannot be read (the
/// handler then reads itself).
pub fn resolve_token(kernel: &Kernel, token: &str) -> Option<ResolvedToken> {
    if token.is_empty() || token.len() > 200 {
        return None;
    }
    resolve_key(kernel, digest(token))
}

fn resolve_key(kernel: &Kernel, key: String) -> Option<ResolvedToken> {
    let pre = kernel.store.read_blocking(|tx| {
        let Some(session) = tx.get(&SESSIONS, &key)? else {
            return Ok::<_, StoreError>(Preread { session: None, outcome: None });
        };
        let outcome = match session.tenant.clone() {
            Some(tenant) if !session_expired(kernel, &session, tx.now()) => {
                Some(read_authenticated(kernel, tx, &tenant, session.clone()))
            }
            _ => None,
        };
        Ok(Preread { session: Some(session), outcome })
    });
    pre.ok().map(|pre| ResolvedToken::new(key, pre))
}

impl ResolvedToken {
    fn new(key: String, pre: Preread) -> Self {
        let account = pre.session.as_ref().map(|s| match &s.tenant {
            Some(tenant) => format!("{tenant}/{}", s.user_id),
            None => s.user_id.clone(),
        });
        ResolvedToken { key, at: std::time::Instant::now(), account, pending: std::sync::Mutex::new(Some(pre)) }
    }
}

/// Tokens a [`TokenCache`] remembers at most; when full it starts over.
pub const TOKEN_CACHE_MAX: usize = 10_000;

/// [`resolve_token`] with memory: a tenant user's live session and the caller it stands for,
/// by token digest, as read while the store's [`changes`](keiyaku_kernel::Store::changes)
/// counter had the value it still has. Any write transaction (a logout, a suspension, a
/// password change, a session touch) moves the counter and so forgets every entry; what
/// depends on the time (expiry, whether `last_seen_at` is due) is decided afresh each use.
#[derive(Debug)]
pub struct TokenCache {
    /// A live session and what it authenticates, by token digest.
    entries: ReadCache<String, (Session, Authenticated)>,
}

impl Default for TokenCache {
    fn default() -> Self {
        Self { entries: ReadCache::new(TOKEN_CACHE_MAX) }
    }
}

impl TokenCache {
    pub fn resolve(&self, kernel: &Kernel, token: &str) -> Option<ResolvedToken> {
        if token.is_empty() || token.len() > 200 {
            return None;
        }
        let key = digest(token);
        // Taken before the read begins (see `Store::changes`).
        let changes = kernel.store.changes();
        if let Some((session, auth)) = self.entries.get(changes, &key) {
            let outcome = if session_expired(kernel, &session, kernel.now()) {
                None
            } else {
                let touch = kernel.now().duration_since(session.last_seen_at) > TOUCH_EVERY;
                Some(Ok((auth, touch)))
            };
            return Some(ResolvedToken::new(key, Preread { session: Some(session), outcome }));
        }
        let resolved = resolve_key(kernel, key)?;
        if let Some(Preread { session: Some(session), outcome: Some(Ok((auth, _))) }) =
            &*resolved.pending.lock().unwrap_or_else(|p| p.into_inner())
        {
            self.entries.put(changes, resolved.key.clone(), (session.clone(), auth.clone()));
        }
        Some(resolved)
    }
}

/// The caller a live session of `tenant` stands for, and whether its `last_seen_at` is due
/// for a refresh. The client address is left empty.
fn read_authenticated(
    kernel: &Kernel,
    tx: &impl Read,
    tenant: &str,
    session: Session,
) -> Result<(Authenticated, bool), AuthError> {
    let (user, company) = load_active(tx, tenant, &session.user_id)?;
    let caller = caller_of(tenant, &user, &company, None);
    let cred = tx.get(&CREDENTIALS, &format!("{tenant}/{}", session.user_id))?.ok_or(AuthError::Unauthenticated)?;
    let touch = tx.now().duration_since(session.last_seen_at) > TOUCH_EVERY;
    let must_enroll = must_enroll(kernel, tx, tenant, &caller.user_id, &caller.roles)?;
    let auth = Authenticated {
        caller,
        session,
        must_change: cred.must_change,
        must_enroll,
        user,
        company,
        last_login_at: cred.previous_login_at,
    };
    Ok((auth, touch))
}

/// Seconds a new session lasts without use (`expires_in` of a login): the idle limit, or
/// the absolute one when that is shorter. Each use starts the idle limit again, up to
/// `auth.session_absolute_hours` after the login.
pub fn session_expires_in(config: &AuthConfig) -> u64 {
    let idle = u64::from(config.session_idle_minutes) * 60;
    let absolute = u64::from(config.session_absolute_hours) * 3600;
    idle.min(absolute)
}

fn session_expired(kernel: &Kernel, s: &Session, now: Timestamp) -> bool {
    let cfg = kernel.config.section::<AuthConfig>();
    let idle = SignedDuration::from_mins(i64::from(cfg.session_idle_minutes));
    let absolute = SignedDuration::from_hours(i64::from(cfg.session_absolute_hours));
    now.duration_since(s.last_seen_at) > idle || now.duration_since(s.created_at) > absolute
}

/// Whether the tenant's policy requires an authenticator of a user with `roles` (and none is
/// enrolled).
fn must_enroll(
    kernel: &Kernel,
    tx: &impl Read,
    tenant: &str,
    user_id: &str,
    roles: &[Role],
) -> Result<bool, StoreError> {
    if !kernel.config.section::<AuthConfig>().require_totp_for.iter().any(|r| roles.contains(r)) {
        return Ok(false);
    }
    Ok(!totp::enrolled(tx, &totp::subject(Some(tenant), user_id))?)
}

/// A user's credential record (password state and logins), if the user has one.
pub fn credential(tx: &impl Read, tenant: &str, user_id: &str) -> Result<Option<Credential>, StoreError> {
    tx.get(&CREDENTIALS, &format!("{tenant}/{user_id}"))
}

/// The session a token's digest (`ids::digest`) names, if any (expiry not checked).
pub fn session_of(tx: &impl Read, token_digest: &str) -> Result<Option<Session>, StoreError> {
    tx.get(&SESSIONS, token_digest)
}

/// Stores a user's password hash (in the caller's transaction). `must_change` forces a
/// change at the next login.
pub fn register_credential(
    tx: &mut Tx,
    actor: &Actor,
    tenant: &Tenant,
    user: &User,
    hash: String,
    must_change: bool,
) -> Result<(), StoreError> {
    let key = format!("{}/{}", tenant.code, user.user_id);
    let previous = tx.get(&CREDENTIALS, &key)?;
    let cred = Credential {
        hash,
        must_change,
        last_login_at: previous.as_ref().and_then(|c| c.last_login_at),
        previous_login_at: previous.as_ref().and_then(|c| c.previous_login_at),
        changed_at: tx.now(),
    };
    tx.put(&CREDENTIALS, &key, &cred)?;
    tx.audit(actor, "auth.password_set", &key, serde_json::json!({"must_change": must_change}))
}

fn user_prefix(tenant: Option<&str>, user_id: &str) -> String {
    format!("{}/{user_id}/", tenant.unwrap_or("-"))
}

fn session_index_key(session: &Session, key: &str) -> String {
    format!("{}{key}", user_prefix(session.tenant.as_deref(), &session.user_id))
}

/// Stores a new session under `key` (the token's digest), with its index entry.
fn put_session(tx: &mut Tx, key: &str, session: &Session) -> Result<(), StoreError> {
    tx.put(&SESSIONS, key, session)?;
    tx.put(&SESSIONS_BY_USER, &session_index_key(session, key), &())
}

/// Removes the session under `key` and its index entry; whether there was one.
fn remove_session(tx: &mut Tx, key: &str) -> Result<bool, StoreError> {
    let Some(session) = tx.get(&SESSIONS, key)? else { return Ok(false) };
    tx.remove(&SESSIONS_BY_USER, &session_index_key(&session, key))?;
    tx.remove(&SESSIONS, key)
}

/// Ends every session of a user (after a password reset or suspension), but `keep` (the
/// digest of the session that changed its own password). Reads the user's index only.
pub fn revoke_sessions_except(
    tx: &mut Tx,
    tenant: &str,
    user_id: &str,
    keep: Option<&str>,
) -> Result<usize, StoreError> {
    let prefix = user_prefix(Some(tenant), user_id);
    let keys: Vec<String> = tx.scan(&SESSIONS_BY_USER, &prefix)?.into_iter().map(|(k, ())| k).collect();
    let mut ended = 0;
    for index_key in keys {
        let key = index_key[prefix.len()..].to_string();
        if Some(key.as_str()) == keep {
            continue;
        }
        tx.remove(&SESSIONS_BY_USER, &index_key)?;
        if tx.remove(&SESSIONS, &key)? {
            ended += 1;
        }
    }
    Ok(ended)
}

/// Ends every session of a user (after a password reset or suspension).
pub fn revoke_sessions(tx: &mut Tx, tenant: &str, user_id: &str) -> Result<usize, StoreError> {
    revoke_sessions_except(tx, tenant, user_id, None)
}

/// Puts the registration mail in the outbox (for modules that create users).
pub fn send_registration_mail(
    tx: &mut Tx,
    kernel: &Kernel,
    tenant: &Tenant,
    user: &User,
    initial_password: &str,
) -> Result<String, StoreError> {
    tx.send_secret_mail(
        mails::registration(tenant, user, initial_password, &kernel.public_url()),
        kernel.config.mail.smtp_enabled(),
        &format!("{}/{}", tenant.code, user.user_id),
        initial_password,
    )
}

pub use mail::NewMail;

fn user_actor(tenant: &str, user_id: &str, client: Option<String>) -> Actor {
    Actor {
        kind: keiyaku_kernel::context::ActorKind::User,
        tenant: Some(tenant.to_string()),
        id: user_id.to_string(),
        client,
    }
}

/// What the operator's password leads to.
#[derive(Debug, Clone)]
pub enum OperatorLogin {
    Token(String),
    TotpRequired { challenge: String },
}

/// Opens an operator session (in the caller's transaction); returns its bearer token.
fn operator_session(tx: &mut Tx, actor: &Actor) -> Result<String, AuthError> {
    let now = tx.now();
    let token = secret_token(32);
    let session = Session {
        tenant: None,
        user_id: OPERATOR_ID.into(),
        kind: SessionKind::Api,
        created_at: now,
        last_seen_at: now,
        csrf: secret_token(24),
    };
    put_session(tx, &digest(&token), &session)?;
    tx.audit(actor, "operator.login", OPERATOR_ID, serde_json::json!({}))?;
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use keiyaku_kernel::module::KernelModule;
    use keiyaku_kernel::{Config, Store, SystemClock};

    fn auth() -> (Auth, std::path::PathBuf) {
        let path = std::env::temp_dir().join(format!("keiyaku-auth-{}.redb", keiyaku_kernel::ids::new_id()));
        let clock = Arc::new(SystemClock);
        let modules: [&dyn Module; 2] = [&KernelModule, &AuthModule];
        let store = Store::open(&path, clock.clone(), &modules).unwrap();
        let kernel = Kernel::new(store.clone(), clock, Arc::new(Config::default()));
        store.write_blocking(|tx| AuthModule.seed_demo(&kernel, tx)).unwrap();
        (Auth::new(kernel, Vec::new()), path)
    }

    /// A web session of `user` in the demo tenant; its token.
    fn session(auth: &Auth, user: &str) -> String {
        let token = secret_token(32);
        let key = digest(&token);
        auth.kernel
            .store
            .write_blocking(|tx| {
                let now = tx.now();
                let s = Session {
                    tenant: Some(demo::DEMO_TENANT.into()),
                    user_id: user.into(),
                    kind: SessionKind::Web,
                    created_at: now,
                    last_seen_at: now,
                    csrf: secret_token(24),
                };
                put_session(tx, &key, &s)
            })
            .unwrap();
        token
    }

    #[tokio::test]
    async fn the_request_s_one_read_stands_for_its_authentication() {
        let (auth, path) = auth();
        let token = session(&auth, "A1533601");
        let resolved = resolve_token(&auth.kernel, &token).unwrap();
        assert_eq!(resolved.account.as_deref(), Some("HXOS2/A1533601"));
        // Ended after the middleware's read: the request uses what that read found, so it
        // does not read the session again; the next request (or a second authenticate) does.
        auth.logout(&token, user_actor(demo::DEMO_TENANT, "A1533601", None)).await.unwrap();
        let a = auth.authenticate_resolved(Some(&resolved), "HXOS2", &token, Some("10.0.0.1".into()), true).await;
        let a = a.unwrap();
        assert_eq!(a.caller.user_id, "A1533601");
        assert_eq!(a.caller.client.as_deref(), Some("10.0.0.1"));
        let again = auth.authenticate_resolved(Some(&resolved), "HXOS2", &token, None, true).await;
        assert!(matches!(again, Err(AuthError::Unauthenticated)), "used once");
        let next = resolve_token(&auth.kernel, &token).unwrap();
        assert_eq!(next.account, None);
        let refused = auth.authenticate_resolved(Some(&next), "HXOS2", &token, None, true).await;
        assert!(matches!(refused, Err(AuthError::Unauthenticated)), "a revoked token stays refused");
        let _ = std::fs::remove_file(path);
    }

    #[tokio::test]
    async fn a_pre_read_keeps_every_check() {
        let (auth, path) = auth();
        let token = session(&auth, "A1533601");
        // Another tenant's path.
        let r = resolve_token(&auth.kernel, &token).unwrap();
        assert!(matches!(
            auth.authenticate_resolved(Some(&r), "OTHER", &token, None, true).await,
            Err(AuthError::Unauthenticated)
        ));
        // Another token than the one read: read again (and unknown).
        let r = resolve_token(&auth.kernel, &token).unwrap();
        let other = secret_token(32);
        assert!(matches!(
            auth.authenticate_resolved(Some(&r), "HXOS2", &other, None, true).await,
            Err(AuthError::Unauthenticated)
        ));
        // A forced password change is still enforced.
        force_password_change(&auth, "A1533601");
        let r = resolve_token(&auth.kernel, &token).unwrap();
        assert!(matches!(
            auth.authenticate_resolved(Some(&r), "HXOS2", &token, None, false).await,
            Err(AuthError::PasswordChangeRequired)
        ));
        // A suspended user is refused although the session is there.
        suspend(&auth, "A1533601");
        let r = resolve_token(&auth.kernel, &token).unwrap();
        assert_eq!(r.account.as_deref(), Some("HXOS2/A1533601"), "still limited as the account");
        assert!(matches!(
            auth.authenticate_resolved(Some(&r), "HXOS2", &token, None, true).await,
            Err(AuthError::Unauthenticated)
        ));
        let _ = std::fs::remove_file(path);
    }

    fn force_password_change(auth: &Auth, user: &str) {
        let key = format!("{}/{user}", demo::DEMO_TENANT);
        auth.kernel
            .store
            .write_blocking(|tx| {
                let mut c = tx.get(&CREDENTIALS, &key)?.ok_or(AuthError::Unauthenticated)?;
                c.must_change = true;
                tx.put(&CREDENTIALS, &key, &c)?;
                Ok::<_, AuthError>(())
            })
            .unwrap();
    }

    fn suspend(auth: &Auth, user: &str) {
        auth.kernel
            .store
            .write_blocking(|tx| {
                let patch = directory::UserPatch { status: Some(UserStatus::Suspended), ..Default::default() };
                directory::update_user(tx, &Actor::system(), demo::DEMO_TENANT, user, patch).map(|_| ())
            })
            .unwrap();
    }

    fn cached(cache: &TokenCache) -> usize {
        cache.entries.len()
    }

    #[tokio::test]
    async fn the_token_cache_forgets_at_every_write_and_decides_time_afresh() {
        let path = std::env::temp_dir().join(format!("keiyaku-auth-{}.redb", keiyaku_kernel::ids::new_id()));
        let clock =
            Arc::new(keiyaku_kernel::ManualClock::new(Timestamp::UNIX_EPOCH + SignedDuration::from_hours(500_000)));
        let modules: [&dyn Module; 2] = [&KernelModule, &AuthModule];
        let store = Store::open(&path, clock.clone(), &modules).unwrap();
        let kernel = Kernel::new(store.clone(), clock.clone(), Arc::new(Config::default()));
        store.write_blocking(|tx| AuthModule.seed_demo(&kernel, tx)).unwrap();
        let auth = Auth::new(kernel, Vec::new());
        let cache = TokenCache::default();
        let authenticate = async |token: &str| {
            let r = cache.resolve(&auth.kernel, token).unwrap();
            auth.authenticate_resolved(Some(&r), "HXOS2", token, None, false).await
        };
        let token = session(&auth, "A1533601");

        // Read once, then answered from memory while nothing is written.
        assert_eq!(authenticate(&token).await.unwrap().caller.user_id, "A1533601");
        assert_eq!(cached(&cache), 1);
        let changes = auth.kernel.store.changes();
        assert_eq!(authenticate(&token).await.unwrap().caller.user_id, "A1533601");
        assert_eq!(auth.kernel.store.changes(), changes, "a hit reads and writes nothing");

        // `last_seen_at` falls due by the clock alone: the hit still touches the session.
        clock.advance(TOUCH_EVERY + SignedDuration::from_secs(1));
        authenticate(&token).await.unwrap();
        let seen = auth.kernel.store.read_blocking(|tx| session_of(tx, &digest(&token))).unwrap().unwrap();
        assert_eq!(seen.last_seen_at, auth.kernel.now(), "touched");
        assert_ne!(auth.kernel.store.changes(), changes);

        // Every write is seen at once: a forced password change, a suspension.
        authenticate(&token).await.unwrap();
        force_password_change(&auth, "A1533601");
        assert!(matches!(authenticate(&token).await, Err(AuthError::PasswordChangeRequired)));
        let other = session(&auth, "HX000001");
        authenticate(&other).await.unwrap();
        suspend(&auth, "HX000001");
        assert!(matches!(authenticate(&other).await, Err(AuthError::Unauthenticated)), "suspended");

        // A logout.
        let third = session(&auth, "A1533602");
        authenticate(&third).await.unwrap();
        auth.logout(&third, user_actor(demo::DEMO_TENANT, "A1533602", None)).await.unwrap();
        assert!(matches!(authenticate(&third).await, Err(AuthError::Unauthenticated)), "logged out");

        // Expiry by the clock alone, with nothing written in between.
        let fourth = session(&auth, "A1533602");
        authenticate(&fourth).await.unwrap();
        let changes = auth.kernel.store.changes();
        clock.advance(SignedDuration::from_hours(100));
        assert!(matches!(authenticate(&fourth).await, Err(AuthError::Unauthenticated)), "expired");
        assert_eq!(auth.kernel.store.changes(), changes);
        let _ = std::fs::remove_file(path);
    }
}
