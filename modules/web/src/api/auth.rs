//! HTTP API of the auth module: operator login, tenants, the mailbox, and tenant users'
//! login, password change, logout and `me`. Handlers only parse, call [`Auth`], and map.

use crate::api::enums::OneOf;
use crate::api::http::{ApiResult, Ctx, Failure};
use keiyaku_auth::{Auth, AuthError, Authenticated, Me};
use keiyaku_kernel::clock::rfc3339;
use keiyaku_kernel::context::{Actor, Caller};
use keiyaku_kernel::directory::{Role, Tenant, User};
use keiyaku_kernel::mail;
use poem::Request;
use poem_openapi::auth::Bearer;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Attachment, Json};
use poem_openapi::{ApiResponse, Object, OpenApi, SecurityScheme, Tags};

#[derive(Tags)]
enum Tag {
    /// Appliance operator: tenants and the mailbox
    Operator,
    /// Login, password and session
    Auth,
}

/// Bearer token from `login` or `operatorLogin`.
#[derive(SecurityScheme)]
#[oai(ty = "bearer")]
pub struct BearerToken(pub Bearer);

/// Resolves a tenant user's bearer token into a caller whose password is not due for a
/// change — the check every tenant-scoped operation of every module starts with.
pub async fn caller(auth: &Auth, ctx: &Ctx, tenant: &str, token: &BearerToken) -> ApiResult<Caller> {
    authenticated(auth, ctx, tenant, token).await.map(|a| a.caller)
}

/// The whole authentication of the request's bearer token (the caller and the records it was
/// made from).
pub async fn authenticated(auth: &Auth, ctx: &Ctx, tenant: &str, token: &BearerToken) -> ApiResult<Authenticated> {
    auth.authenticate_resolved(ctx.resolved.as_deref(), tenant, &token.0.token, ctx.client.clone(), false)
        .await
        .map_err(|e| ctx.fail(&e))
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
struct LoginRequest {
    /// User ID or e-mail address.
    login: String,
    password: String,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct UserSummary {
    pub user_id: String,
    pub name: String,
    pub email: String,
    pub roles: Vec<OneOf<Role>>,
}

impl From<&User> for UserSummary {
    fn from(u: &User) -> Self {
        Self {
            user_id: u.user_id.clone(),
            name: u.name.clone(),
            email: u.email.clone(),
            roles: u.roles.iter().map(|r| (*r).into()).collect(),
        }
    }
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
struct LoginResponse {
    /// The session's bearer token (absent when `totp_required`).
    token: Option<String>,
    /// With `token`: seconds the session lasts without use. Each request starts this time
    /// again, up to `auth.session_absolute_hours` after the login.
    expires_in: Option<u64>,
    password_change_required: bool,
    /// The tenant requires an authenticator for this user: enroll one (`enrollTotp`,
    /// `confirmTotp`) before anything else.
    totp_enrollment_required: bool,
    /// An authenticator is enrolled: send `challenge` and a code to `loginTotp`.
    totp_required: bool,
    challenge: Option<String>,
    user: UserSummary,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
struct LoginTotpRequest {
    /// From the `login` answer.
    challenge: String,
    /// The authenticator's 6-digit code, or one of the recovery codes.
    code: String,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
struct TotpCodeRequest {
    /// The authenticator's current 6-digit code (removal: or a recovery code).
    code: String,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
struct TotpEnrollment {
    /// Base32 secret, for typing into the app.
    secret: String,
    otpauth_uri: String,
    /// The URI as a QR code (an `<svg>` element).
    qr_svg: String,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
struct RecoveryCodes {
    /// Ten single-use recovery codes, shown only now.
    recovery_codes: Vec<String>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
struct OperatorLoginResponse {
    /// Absent when `totp_required`.
    token: Option<String>,
    /// With `token`: seconds the session lasts without use (as for `login`).
    expires_in: Option<u64>,
    totp_required: bool,
    challenge: Option<String>,
}

fn login_response(l: keiyaku_auth::Login, expires_in: u64) -> LoginResponse {
    match l {
        keiyaku_auth::Login::Session(ok) => LoginResponse {
            token: Some(ok.token),
            expires_in: Some(expires_in),
            password_change_required: ok.password_change_required,
            totp_enrollment_required: ok.totp_enrollment_required,
            totp_required: false,
            challenge: None,
            user: UserSummary::from(&ok.user),
        },
        keiyaku_auth::Login::TotpRequired { challenge, user } => LoginResponse {
            token: None,
            expires_in: None,
            password_change_required: false,
            totp_enrollment_required: false,
            totp_required: true,
            challenge: Some(challenge),
            user: UserSummary::from(&user),
        },
    }
}

fn enrollment(e: keiyaku_auth::totp::Enrollment) -> TotpEnrollment {
    TotpEnrollment { secret: e.secret, otpauth_uri: e.otpauth_uri, qr_svg: e.qr_svg }
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
struct ChangePasswordRequest {
    current_password: String,
    new_password: String,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
struct MeGroup {
    id: String,
    name: String,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
struct MeCompany {
    id: String,
    name: String,
    vendor_code: Option<String>,
    owner: bool,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
struct MenuView {
    path: String,
    label: String,
    description: String,
    admin: bool,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
struct MeResponse {
    user: UserSummary,
    tenant: TenantView,
    company: MeCompany,
    group: MeGroup,
    roles: Vec<OneOf<Role>>,
    /// The previous successful login (前回ログイン日時), RFC 3339.
    last_login_at: Option<String>,
    /// Operation-menu entries this user may open.
    menus: Vec<MenuView>,
}

impl MeResponse {
    fn from(me: Me, lang: keiyaku_kernel::Lang) -> Self {
        Self {
            roles: me.user.roles.iter().map(|r| (*r).into()).collect(),
            user: UserSummary::from(&me.user),
            tenant: TenantView::from(&me.tenant),
            company: MeCompany {
                id: me.company.id,
                name: me.company.name,
                vendor_code: me.company.vendor_code,
                owner: me.company.owner,
            },
            group: MeGroup { id: me.group.id, name: me.group.name },
            last_login_at: me.last_login_at.map(rfc3339),
            menus: me
                .menus
                .into_iter()
                .map(|m| MenuView {
                    path: m.path.to_string(),
                    label: lang.pick(m.label_ja, m.label_en).to_string(),
                    description: lang.pick(m.description_ja, m.description_en).to_string(),
                    admin: m.admin,
                })
                .collect(),
        }
    }
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
struct OperatorLoginRequest {
    /// Always `operator`; may be left out.
    login: Option<String>,
    password: String,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
struct TokenResponse {
    token: String,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
struct OwnerCompany {
    name: String,
    #[oai(default)]
    name_kana: String,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
struct AdminUser {
    user_id: String,
    name: String,
    email: String,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
struct CreateTenantRequest {
    /// Enterprise code (企業コード), 2–10 upper-case letters and digits.
    code: String,
    /// Service name shown in mails; defaults to the owner company's name.
    name: Option<String>,
    /// Trial environment (seals show the date).
    #[oai(default)]
    trial: bool,
    owner_company: OwnerCompany,
    admin: AdminUser,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct TenantView {
    code: String,
    name: String,
    trial: bool,
    owner_company_id: String,
    created_at: String,
}

impl From<&Tenant> for TenantView {
    fn from(t: &Tenant) -> Self {
        Self {
            code: t.code.clone(),
            name: t.name.clone(),
            trial: t.trial,
            owner_company_id: t.owner_company_id.clone(),
            created_at: t.created_at.clone(),
        }
    }
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
struct CreatedTenant {
    tenant: TenantView,
    admin: UserSummary,
}

#[derive(ApiResponse)]
enum CreateTenantResponse {
    /// The tenant, its owner company and first administrator exist; the administrator's
    /// registration mail is in the outbox.
    #[oai(status = 201)]
    Created(Json<CreatedTenant>),
}

#[derive(ApiResponse)]
enum NoContent {
    #[oai(status = 204)]
    Done,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
struct TenantList {
    items: Vec<TenantView>,
    total: u64,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
struct MailAttachmentView {
    name: String,
    content_type: String,
    url: String,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
struct MailView {
    id: String,
    to: String,
    subject: String,
    body: String,
    attachments: Vec<MailAttachmentView>,
    sent_at: String,
    /// `stored` (outbox only), `pending`, `sent` or `failed`.
    delivery: String,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
struct MailList {
    items: Vec<MailView>,
    total: u64,
}

fn mail_view(m: mail::Mail) -> MailView {
    let attachments = m
        .attachments
        .iter()
        .enumerate()
        .map(|(i, a)| MailAttachmentView {
            name: a.name.clone(),
            content_type: a.content_type.clone(),
            url: format!("/api/v1/mailbox/{}/attachments/{i}", m.id),
        })
        .collect();
    MailView {
        delivery: serde_json::to_value(m.delivery)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        id: m.id,
        to: m.to,
        subject: m.subject,
        body: m.body,
        attachments,
        sent_at: m.created_at,
    }
}

fn bearer_of(req: &Request) -> Option<String> {
    req.header("authorization")
        .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
        .map(|t| t.trim().to_string())
}

pub struct AuthApi {
    pub auth: Auth,
}

impl AuthApi {
    fn expires_in(&self) -> u64 {
        keiyaku_auth::session_expires_in(self.auth.kernel().config.section::<keiyaku_auth::AuthConfig>())
    }

    async fn operator(&self, ctx: &Ctx, token: &BearerToken) -> ApiResult<Actor> {
        self.auth.operator(&token.0.token, ctx.client.clone()).await.map_err(|e| ctx.fail(&e))
    }

    /// The mailbox is open to the operator, and to anyone when `mail.mailbox_public` (in a
    /// demo, anonymous readers see the demo tenant's mail only).
    async fn mailbox_scope(&self, ctx: &Ctx, req: &Request) -> ApiResult<mail::Scope> {
        let config = &self.auth.kernel().config;
        let token = bearer_of(req);
        if config.mail.mailbox_public && token.is_none() {
            return Ok(mail::Scope::public(config));
        }
        let token = token.ok_or_else(|| ctx.fail(&AuthError::Unauthenticated))?;
        self.auth.operator(&token, ctx.client.clone()).await.map(|_| mail::Scope::All).map_err(|e| ctx.fail(&e))
    }
}

#[OpenApi]
impl AuthApi {
    /// Operator login with the credentials printed on first start.
    #[oai(path = "/api/v1/operator/login", method = "post", operation_id = "operatorLogin", tag = "Tag::Operator")]
    async fn operator_login(
        &self,
        ctx: Ctx,
        body: Json<OperatorLoginRequest>,
    ) -> ApiResult<Json<OperatorLoginResponse>> {
        let login = body.0.login.unwrap_or_else(|| keiyaku_auth::OPERATOR_ID.to_string());
        let outcome =
            self.auth.operator_login(&login, &body.0.password, ctx.client.clone()).await.map_err(|e| ctx.fail(&e))?;
        Ok(Json(match outcome {
            keiyaku_auth::OperatorLogin::Token(token) => OperatorLoginResponse {
                token: Some(token),
                expires_in: Some(self.expires_in()),
                totp_required: false,
                challenge: None,
            },
            keiyaku_auth::OperatorLogin::TotpRequired { challenge } => {
                OperatorLoginResponse { token: None, expires_in: None, totp_required: true, challenge: Some(challenge) }
            }
        }))
    }

    /// The operator's second login step: the challenge and a TOTP or recovery code.
    #[oai(
        path = "/api/v1/operator/login/totp",
        method = "post",
        operation_id = "operatorLoginTotp",
        tag = "Tag::Operator"
    )]
    async fn operator_login_totp(&self, ctx: Ctx, body: Json<LoginTotpRequest>) -> ApiResult<Json<TokenResponse>> {
        let token = self
            .auth
            .operator_login_totp(&body.0.challenge, &body.0.code, ctx.client.clone())
            .await
            .map_err(|e| ctx.fail(&e))?;
        Ok(Json(TokenResponse { token }))
    }

    /// The operator enrolls an authenticator app (pending until `operatorConfirmTotp`).
    #[oai(path = "/api/v1/operator/totp", method = "post", operation_id = "operatorEnrollTotp", tag = "Tag::Operator")]
    async fn operator_enroll_totp(&self, ctx: Ctx, token: BearerToken) -> ApiResult<Json<TotpEnrollment>> {
        let actor = self.operator(&ctx, &token).await?;
        let e = self.auth.enroll_totp(None, keiyaku_auth::OPERATOR_ID, actor).await.map_err(|e| ctx.fail(&e))?;
        Ok(Json(enrollment(e)))
    }

    /// The operator confirms the authenticator with a code; returns the recovery codes.
    #[oai(
        path = "/api/v1/operator/totp/confirm",
        method = "post",
        operation_id = "operatorConfirmTotp",
        tag = "Tag::Operator"
    )]
    async fn operator_confirm_totp(
        &self,
        ctx: Ctx,
        token: BearerToken,
        body: Json<TotpCodeRequest>,
    ) -> ApiResult<Json<RecoveryCodes>> {
        let actor = self.operator(&ctx, &token).await?;
        let codes = self
            .auth
            .confirm_totp(None, keiyaku_auth::OPERATOR_ID, &body.0.code, actor)
            .await
            .map_err(|e| ctx.fail(&e))?;
        Ok(Json(RecoveryCodes { recovery_codes: codes }))
    }

    /// The operator removes the authenticator (with a current or a recovery code).
    #[oai(
        path = "/api/v1/operator/totp",
        method = "delete",
        operation_id = "operatorRemoveTotp",
        tag = "Tag::Operator"
    )]
    async fn operator_remove_totp(
        &self,
        ctx: Ctx,
        token: BearerToken,
        body: Json<TotpCodeRequest>,
    ) -> ApiResult<NoContent> {
        let actor = self.operator(&ctx, &token).await?;
        self.auth.remove_totp(None, keiyaku_auth::OPERATOR_ID, &body.0.code, actor).await.map_err(|e| ctx.fail(&e))?;
        Ok(NoContent::Done)
    }

    /// Creates a tenant (enterprise code) with its owner company, root group and first
    /// group administrator, who is sent 「ユーザー登録通知」.
    #[oai(path = "/api/v1/operator/tenants", method = "post", operation_id = "createTenant", tag = "Tag::Operator")]
    async fn create_tenant(
        &self,
        ctx: Ctx,
        token: BearerToken,
        body: Json<CreateTenantRequest>,
    ) -> ApiResult<CreateTenantResponse> {
        let actor = self.operator(&ctx, &token).await?;
        let b = body.0;
        let req = keiyaku_auth::NewTenantRequest {
            name: b.name.filter(|n| !n.trim().is_empty()).unwrap_or_else(|| b.owner_company.name.clone()),
            code: b.code,
            trial: b.trial,
            owner_name: b.owner_company.name,
            owner_name_kana: b.owner_company.name_kana,
            admin_user_id: b.admin.user_id,
            admin_name: b.admin.name,
            admin_email: b.admin.email,
        };
        let (tenant, admin) = self.auth.create_tenant(actor, req).await.map_err(|e| ctx.fail(&e))?;
        Ok(CreateTenantResponse::Created(Json(CreatedTenant {
            tenant: TenantView::from(&tenant),
            admin: UserSummary::from(&admin),
        })))
    }

    /// Every tenant of this appliance.
    #[oai(path = "/api/v1/operator/tenants", method = "get", operation_id = "listTenants", tag = "Tag::Operator")]
    async fn list_tenants(&self, ctx: Ctx, token: BearerToken) -> ApiResult<Json<TenantList>> {
        self.operator(&ctx, &token).await?;
        let items: Vec<TenantView> =
            self.auth.list_tenants().await.map_err(|e| ctx.fail(&e))?.iter().map(TenantView::from).collect();
        Ok(Json(TenantList { total: items.len() as u64, items }))
    }

    /// The outbox, newest first, optionally for one address.
    #[oai(path = "/api/v1/mailbox", method = "get", operation_id = "listMail", tag = "Tag::Operator")]
    async fn list_mail(&self, ctx: Ctx, req: &Request, to: Query<Option<String>>) -> ApiResult<Json<MailList>> {
        let scope = self.mailbox_scope(&ctx, req).await?;
        let to = to.0.filter(|t| !t.trim().is_empty());
        let items = self
            .auth
            .kernel()
            .store
            .read(move |tx| mail::list_in(tx, scope, to.as_deref(), 500))
            .await
            .map_err(|e| ctx.fail(&AuthError::Store(e)))?;
        let items: Vec<MailView> = items.into_iter().map(mail_view).collect();
        Ok(Json(MailList { total: items.len() as u64, items }))
    }

    /// One attachment of a mail in the outbox.
    #[oai(
        path = "/api/v1/mailbox/:id/attachments/:index",
        method = "get",
        operation_id = "getMailAttachment",
        tag = "Tag::Operator"
    )]
    async fn mail_attachment(
        &self,
        ctx: Ctx,
        req: &Request,
        id: Path<String>,
        index: Path<usize>,
    ) -> ApiResult<Attachment<Vec<u8>>> {
        let scope = self.mailbox_scope(&ctx, req).await?;
        let id = id.0;
        let found = self
            .auth
            .kernel()
            .store
            .read(move |tx| mail::get(tx, &id))
            .await
            .map_err(|e| ctx.fail(&AuthError::Store(e)))?;
        let a = found
            .filter(|m| scope.shows(m))
            .and_then(|m| m.attachments.get(index.0).cloned())
            .ok_or_else(|| Failure::status(404, ctx.lang))?;
        Ok(Attachment::new(a.bytes())
            .filename(a.name.clone())
            .attachment_type(poem_openapi::payload::AttachmentType::Attachment))
    }

    /// Log in with user ID or e-mail address and password.
    #[oai(path = "/api/v1/t/:tenant/auth/login", method = "post", operation_id = "login", tag = "Tag::Auth")]
    async fn login(&self, ctx: Ctx, tenant: Path<String>, body: Json<LoginRequest>) -> ApiResult<Json<LoginResponse>> {
        let outcome = self
            .auth
            .login(&tenant.0, &body.0.login, &body.0.password, ctx.client.clone(), keiyaku_auth::SessionKind::Api)
            .await
            .map_err(|e| ctx.fail(&e))?;
        Ok(Json(login_response(outcome, self.expires_in())))
    }

    /// The second login step of a user with an authenticator: the challenge from `login` and
    /// a 6-digit code (or a recovery code, each usable once) → the session, as `login`.
    #[oai(path = "/api/v1/t/:tenant/auth/login/totp", method = "post", operation_id = "loginTotp", tag = "Tag::Auth")]
    async fn login_totp(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        body: Json<LoginTotpRequest>,
    ) -> ApiResult<Json<LoginResponse>> {
        let ok = self
            .auth
            .login_totp(&tenant.0, &body.0.challenge, &body.0.code, ctx.client.clone())
            .await
            .map_err(|e| ctx.fail(&e))?;
        Ok(Json(login_response(keiyaku_auth::Login::Session(ok), self.expires_in())))
    }

    /// Enrolls an authenticator app (TOTP, RFC 6238): the secret, the otpauth URI and its QR
    /// code. Pending until `confirmTotp`; re-enrolling replaces a pending secret.
    #[oai(path = "/api/v1/t/:tenant/auth/totp", method = "post", operation_id = "enrollTotp", tag = "Tag::Auth")]
    async fn enroll_totp(&self, ctx: Ctx, tenant: Path<String>, token: BearerToken) -> ApiResult<Json<TotpEnrollment>> {
        let a = self
            .auth
            .authenticate(&tenant.0, &token.0.token, ctx.client.clone(), true)
            .await
            .map_err(|e| ctx.fail(&e))?;
        let e = self
            .auth
            .enroll_totp(Some(&tenant.0), &a.caller.user_id, a.caller.actor())
            .await
            .map_err(|e| ctx.fail(&e))?;
        Ok(Json(enrollment(e)))
    }

    /// Confirms the enrollment with a code; returns 10 single-use recovery codes (shown once).
    #[oai(
        path = "/api/v1/t/:tenant/auth/totp/confirm",
        method = "post",
        operation_id = "confirmTotp",
        tag = "Tag::Auth"
    )]
    async fn confirm_totp(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        token: BearerToken,
        body: Json<TotpCodeRequest>,
    ) -> ApiResult<Json<RecoveryCodes>> {
        let a = self
            .auth
            .authenticate(&tenant.0, &token.0.token, ctx.client.clone(), true)
            .await
            .map_err(|e| ctx.fail(&e))?;
        let codes = self
            .auth
            .confirm_totp(Some(&tenant.0), &a.caller.user_id, &body.0.code, a.caller.actor())
            .await
            .map_err(|e| ctx.fail(&e))?;
        Ok(Json(RecoveryCodes { recovery_codes: codes }))
    }

    /// Removes the authenticator (with a current code or a recovery code).
    #[oai(path = "/api/v1/t/:tenant/auth/totp", method = "delete", operation_id = "removeTotp", tag = "Tag::Auth")]
    async fn remove_totp(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        token: BearerToken,
        body: Json<TotpCodeRequest>,
    ) -> ApiResult<NoContent> {
        let caller = caller(&self.auth, &ctx, &tenant.0, &token).await?;
        self.auth
            .remove_totp(Some(&tenant.0), &caller.user_id, &body.0.code, caller.actor())
            .await
            .map_err(|e| ctx.fail(&e))?;
        Ok(NoContent::Done)
    }

    /// Change the own password (required after the first login).
    #[oai(
        path = "/api/v1/t/:tenant/auth/password",
        method = "post",
        operation_id = "changePassword",
        tag = "Tag::Auth"
    )]
    async fn change_password(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        token: BearerToken,
        body: Json<ChangePasswordRequest>,
    ) -> ApiResult<NoContent> {
        let a = self
            .auth
            .authenticate(&tenant.0, &token.0.token, ctx.client.clone(), true)
            .await
            .map_err(|e| ctx.fail(&e))?;
        self.auth
            .change_password(&a.caller, &token.0.token, &body.0.current_password, &body.0.new_password)
            .await
            .map_err(|e| ctx.fail(&e))?;
        Ok(NoContent::Done)
    }

    /// End the session: the token stops working.
    #[oai(path = "/api/v1/t/:tenant/auth/logout", method = "post", operation_id = "logout", tag = "Tag::Auth")]
    async fn logout(&self, ctx: Ctx, tenant: Path<String>, token: BearerToken) -> ApiResult<NoContent> {
        let a = self
            .auth
            .authenticate(&tenant.0, &token.0.token, ctx.client.clone(), true)
            .await
            .map_err(|e| ctx.fail(&e))?;
        self.auth.logout(&token.0.token, a.caller.actor()).await.map_err(|e| ctx.fail(&e))?;
        Ok(NoContent::Done)
    }

    /// The logged-in user, company, group, roles, previous login and allowed menus.
    #[oai(path = "/api/v1/t/:tenant/me", method = "get", operation_id = "me", tag = "Tag::Auth")]
    async fn me(&self, ctx: Ctx, tenant: Path<String>, token: BearerToken) -> ApiResult<Json<MeResponse>> {
        let auth = authenticated(&self.auth, &ctx, &tenant.0, &token).await?;
        let me = self.auth.me_of(&auth).await.map_err(|e| ctx.fail(&e))?;
        Ok(Json(MeResponse::from(me, ctx.lang)))
    }
}
