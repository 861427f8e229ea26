//! The module registry: the one file of the binary that knows which modules are compiled in.
//! Every `#[cfg(feature = …)]` of the binary is here; `app.rs`, `main.rs` and `settings.rs`
//! call these functions and never ask for a feature themselves.
//!
//! A module appears here in each list it takes part in: [`modules`] (tables, schema, demo,
//! menu), [`sections`] (its part of the settings), [`services`] (its service and its links to
//! the others), [`apis`] (its part of the OpenAPI tuple, `()` when disabled), [`jobs`] (its
//! periodic work) and, when it has one, [`ModuleCommand`] (its subcommands).

use crate::app::Job;
use keiyaku_kernel::Kernel;
use keiyaku_kernel::module::{KernelModule, MenuItem, Module};
use poem_openapi::OpenApi;
#[allow(unused_imports)]
use std::sync::Arc;
#[allow(unused_imports)]
use std::time::Duration;

#[cfg(feature = "auth")]
mod backup_api;
#[cfg(feature = "contracts")]
mod contracts_cli;

/// Everything the API and the pages are made of: the kernel and the service of each
/// compiled-in module.
pub type Services = keiyaku_web::Web;

/// The compiled-in modules, in dependency order.
pub fn modules() -> Vec<Box<dyn Module>> {
    vec![
        Box::new(KernelModule),
        #[cfg(feature = "auth")]
        Box::new(keiyaku_auth::AuthModule),
        #[cfg(feature = "users")]
        Box::new(keiyaku_users::UsersModule),
        #[cfg(feature = "certs")]
        Box::new(keiyaku_certs::CertsModule),
        #[cfg(feature = "support")]
        Box::new(keiyaku_support::SupportModule),
        #[cfg(feature = "contracts")]
        Box::new(keiyaku_contracts::ContractsModule),
        // Follows the others' audit records: its events are made in their transactions.
        #[cfg(feature = "integrations")]
        Box::new(keiyaku_integrations::IntegrationsModule),
    ]
}

/// The configuration sections of the compiled-in modules (`[auth]`, `[certs]`, …), read and
/// checked by [`crate::settings`].
pub fn sections() -> Vec<crate::settings::SectionEntry> {
    #[allow(unused_imports)]
    use crate::settings::section;
    vec![
        #[cfg(feature = "auth")]
        section::<keiyaku_auth::AuthConfig>(),
        #[cfg(feature = "certs")]
        section::<keiyaku_certs::CertsConfig>(),
        #[cfg(feature = "support")]
        section::<keiyaku_support::SupportConfig>(),
        #[cfg(feature = "contracts")]
        section::<keiyaku_contracts::ContractsConfig>(),
        #[cfg(feature = "integrations")]
        section::<keiyaku_integrations::WebhooksConfig>(),
    ]
}

/// The sections of the modules this build leaves out: accepted in `config.toml` and unread.
pub const ABSENT_SECTIONS: &[&str] = &[
    #[cfg(not(feature = "auth"))]
    "auth",
    #[cfg(not(feature = "certs"))]
    "certs",
    #[cfg(not(feature = "support"))]
    "support",
    #[cfg(not(feature = "contracts"))]
    "contracts",
    #[cfg(not(feature = "integrations"))]
    "webhooks",
];

/// What `serve --demo` turns on: the kernel's part ([`keiyaku_kernel::Config::enable_demo`])
/// and the modules' (certificate tickets released with the order unless configured otherwise).
pub fn enable_demo(config: &mut keiyaku_kernel::Config) {
    config.enable_demo();
    #[cfg(feature = "certs")]
    config.section_mut::<keiyaku_certs::CertsConfig>().enable_demo();
}

/// The menu of every module, in its order.
fn menus(modules: &[Box<dyn Module>]) -> Vec<MenuItem> {
    let mut items: Vec<MenuItem> = modules.iter().flat_map(|m| m.menu()).collect();
    items.sort_by_key(|m| m.order);
    items
}

/// The services of the compiled-in modules over `kernel`, linked where one uses another
/// ([`keiyaku_web::Web::new`]), with every module's menu.
pub fn services(kernel: Kernel, modules: &[Box<dyn Module>]) -> Services {
    keiyaku_web::Web::new(kernel, menus(modules))
}

/// The compiled-in modules' APIs, one element of the tuple per module (`()` when disabled;
/// poem-openapi needs static types).
pub fn apis(services: &Services) -> impl OpenApi + use<> {
    let _ = services;
    #[cfg(feature = "auth")]
    let auth_api = (
        keiyaku_web::api::auth::AuthApi { auth: services.auth.clone() },
        backup_api::BackupApi { auth: services.auth.clone() },
    );
    #[cfg(not(feature = "auth"))]
    let auth_api = ();
    #[cfg(feature = "users")]
    let users_api = keiyaku_web::api::users::UsersApi { auth: services.auth.clone(), users: services.users.clone() };
    #[cfg(not(feature = "users"))]
    let users_api = ();
    #[cfg(feature = "certs")]
    let certs_api = keiyaku_web::api::certs::CertsApi { auth: services.auth.clone(), certs: services.certs.clone() };
    #[cfg(not(feature = "certs"))]
    let certs_api = ();
    #[cfg(feature = "support")]
    let support_api =
        keiyaku_web::api::support::SupportApi { auth: services.auth.clone(), support: services.support.clone() };
    #[cfg(not(feature = "support"))]
    let support_api = ();
    #[cfg(feature = "contracts")]
    let contracts_api = keiyaku_web::api::contracts::ContractsApi {
        auth: services.auth.clone(),
        contracts: services.contracts.clone(),
    };
    #[cfg(not(feature = "contracts"))]
    let contracts_api = ();
    #[cfg(feature = "integrations")]
    let integrations_api = keiyaku_web::api::integrations::IntegrationsApi {
        auth: services.auth.clone(),
        integrations: services.integrations.clone(),
    };
    #[cfg(not(feature = "integrations"))]
    let integrations_api = ();
    (auth_api, users_api, certs_api, (support_api, contracts_api), integrations_api)
}

/// The modules' periodic work while serving.
pub fn jobs(services: &Services) -> Vec<Job> {
    let _ = services;
    #[allow(unused_mut)]
    let mut jobs = Vec::new();
    #[cfg(feature = "auth")]
    {
        let auth = services.auth.clone();
        jobs.push(Job::hourly("session sweep", move || {
            let auth = auth.clone();
            async move {
                match auth.sweep_sessions().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(sessions = n, "expired sessions removed"),
                    Err(e) => tracing::error!(error = %e, "sweeping expired sessions failed"),
                }
            }
        }));
    }
    #[cfg(feature = "certs")]
    {
        // Certificates whose replacement became usable are revoked as superseded, and the CRLs
        // of imported certificates are renewed from their distribution points.
        let certs = services.certs.clone();
        jobs.push(Job::hourly("certificate maintenance", move || {
            let certs = certs.clone();
            async move {
                match certs.revoke_superseded().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(certificates = n, "superseded certificates revoked"),
                    Err(e) => tracing::error!(error = %e, "revoking superseded certificates failed"),
                }
                match certs.notice_expiring().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(certificates = n, "holders told of certificates ending soon"),
                    Err(e) => tracing::error!(error = %e, "telling holders of certificates ending soon failed"),
                }
                match certs.refresh_imported_crls().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(certificates = n, "CRLs of imported certificates renewed"),
                    Err(e) => tracing::error!(error = %e, "renewing the CRLs of imported certificates failed"),
                }
            }
        }));
    }
    #[cfg(feature = "contracts")]
    {
        // Archive renewal (PAdES-B-LTA) once a day, the first an hour after start, then the
        // day's anchor of each contract chain that moved (its head time-stamped).
        let contracts = services.contracts.clone();
        let job = Job {
            name: "archive renewal",
            first: Duration::from_secs(3600),
            every: Duration::from_secs(24 * 3600),
            run: Job::task(move || {
                let contracts = contracts.clone();
                async move {
                    match contracts.renew_archives(keiyaku_contracts::archive::DEFAULT_WITHIN_DAYS, |_, _| {}).await {
                        Ok(run) if run.failed > 0 => tracing::error!(
                            renewed = run.renewed,
                            failed = run.failed,
                            "archive renewal: some contracts failed"
                        ),
                        Ok(run) => tracing::info!(checked = run.checked, renewed = run.renewed, "archive renewal done"),
                        Err(e) => tracing::error!(error = %e, "archive renewal failed"),
                    }
                    match contracts.anchor_chains().await {
                        Ok(n) => tracing::info!(anchored = n, "contract chains anchored"),
                        Err(e) => tracing::error!(error = %e, "anchoring the contract chains failed"),
                    }
                }
            }),
        };
        jobs.push(job);
    }
    #[cfg(feature = "integrations")]
    {
        // Webhook deliveries: the queue is read every `webhooks.poll_millis`.
        let integrations = services.integrations.clone();
        jobs.push(Job {
            name: "webhook delivery",
            first: Duration::ZERO,
            every: integrations.poll_interval(),
            run: Job::task(move || {
                let integrations = integrations.clone();
                async move {
                    if let Err(e) = integrations.deliver_pending().await {
                        tracing::warn!(error = %e, "webhook delivery round failed");
                    }
                }
            }),
        });
    }
    jobs
}

/// Makes sure the operator account exists; its generated password when it was created now
/// (nothing to do without the auth module).
pub fn ensure_operator(services: &Services, password: Option<String>) -> Result<Option<String>, String> {
    #[cfg(feature = "auth")]
    return services.auth.ensure_operator(password).map_err(|e| e.to_string());
    #[cfg(not(feature = "auth"))]
    {
        let _ = (services, password);
        Ok(None)
    }
}

/// Loads the demo scenario once (when its tenant does not exist yet), all modules in one
/// transaction; false when it was there already (or there is no auth module to log in with).
pub fn seed_demo(kernel: &Kernel, modules: &[Box<dyn Module>]) -> Result<bool, String> {
    #[cfg(feature = "auth")]
    {
        use keiyaku_kernel::store::StoreError;
        let tenant = keiyaku_auth::demo::DEMO_TENANT;
        kernel
            .store
            .write_blocking(|tx| {
                if keiyaku_kernel::directory::get_tenant(tx, tenant)?.is_some() {
                    return Ok::<_, StoreError>(false);
                }
                for m in modules {
                    m.seed_demo(kernel, tx)?;
                }
                Ok(true)
            })
            .map_err(|e| format!("loading the demo: {e}"))
    }
    #[cfg(not(feature = "auth"))]
    {
        let _ = (kernel, modules);
        Ok(false)
    }
}

/// A new tenant for `keiyaku tenant create`.
pub struct NewTenant {
    pub code: String,
    pub name: String,
    pub trial: bool,
    pub company: String,
    pub company_kana: String,
    pub admin_id: String,
    pub admin_name: String,
    pub admin_email: String,
}

/// Creates a tenant with its owner company and first group administrator (who is mailed);
/// what to tell the person who asked.
pub async fn create_tenant(services: &Services, t: NewTenant) -> Result<String, String> {
    #[cfg(feature = "auth")]
    {
        let req = keiyaku_auth::NewTenantRequest {
            name: t.name,
            code: t.code,
            trial: t.trial,
            owner_name: t.company,
            owner_name_kana: t.company_kana,
            admin_user_id: t.admin_id,
            admin_name: t.admin_name,
            admin_email: t.admin_email,
        };
        match services.auth.create_tenant(keiyaku_kernel::Actor::system(), req).await {
            Ok((t, u)) => Ok(format!(
                "tenant {} created; administrator {} <{}> was sent the registration mail",
                t.code, u.user_id, u.email
            )),
            Err(e) => {
                use keiyaku_kernel::error::ApiError;
                let p = e.problem(keiyaku_kernel::Lang::En);
                let fields: Vec<String> = p.errors.iter().map(|f| format!("{}: {}", f.field, f.message)).collect();
                Err(format!("{} {}", p.title, fields.join("; ")))
            }
        }
    }
    #[cfg(not(feature = "auth"))]
    {
        let _ = (services, t);
        Err("this build has no auth module".into())
    }
}

/// The subcommands of compiled-in modules (after the appliance's own in `keiyaku --help`).
#[derive(clap::Subcommand)]
pub enum ModuleCommand {
    #[cfg(feature = "contracts")]
    #[command(flatten)]
    Contracts(contracts_cli::Command),
}

/// Runs a module's subcommand.
pub async fn run(command: ModuleCommand) -> anyhow::Result<()> {
    match command {
        #[cfg(feature = "contracts")]
        ModuleCommand::Contracts(c) => contracts_cli::run(c).await,
    }
}

#[cfg(test)]
mod tests {
    /// `settings::check` asks each compiled-in module to check its section.
    #[cfg(feature = "contracts")]
    #[test]
    fn the_modules_check_their_sections() {
        let mut c = keiyaku_kernel::Config::default();
        c.section_mut::<keiyaku_contracts::ContractsConfig>().tsa_url = Some("ftp://tsa.example.jp".into());
        c.section_mut::<keiyaku_auth::AuthConfig>().password_min_length = 4;
        let e = crate::settings::check(&c).unwrap_err();
        assert!(e.contains("`contracts.tsa_url`") && e.contains("`auth.password_min_length`"), "{e}");
    }

    /// The binary asks which modules are compiled in only here (`registry.rs` and its
    /// `registry/` files); the rate limiter's use of the auth module's session read is the
    /// one other place.
    #[test]
    fn features_are_asked_for_only_in_the_registry() {
        fn walk(dir: &std::path::Path, found: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, found);
                    continue;
                }
                let rel = path.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap_or(&path).display().to_string();
                if rel.starts_with("src/registry") || rel == "src/ratelimit.rs" {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                for (n, line) in text.lines().enumerate() {
                    if line.contains("cfg") && line.contains("feature = \"") {
                        found.push(format!("{rel}:{}: {}", n + 1, line.trim()));
                    }
                }
            }
        }
        let mut found = Vec::new();
        walk(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut found);
        assert!(found.is_empty(), "feature checks outside the registry:\n{}", found.join("\n"));
    }
}
