//! Assembles the enabled modules into one application: opens the store, makes sure the
//! operator exists, loads the demo scenario when asked, and serves the API, the OpenAPI
//! document and the web pages over HTTPS.

use crate::tls;
use keiyaku_kernel::module::Module;
use keiyaku_kernel::{Clock, Config, Kernel, Store};
use keiyaku_web::api::http::{BodyLimit, ProblemJson};
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::{Endpoint, EndpointExt, IntoEndpoint, Server};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi, OpenApiService};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
const DB_FILE: &str = "keiyaku.redb";

pub use crate::registry::{Services, modules};

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
struct Health {
    status: String,
    version: String,
}

#[derive(poem_openapi::ApiResponse)]
enum HealthResponse {
    /// Serving, and the database accepts writes.
    #[oai(status = 200)]
    Ok(Json<Health>),
    /// The database cannot be written.
    #[oai(status = 503)]
    Unavailable(Json<Health>),
}

struct HealthApi {
    store: Store,
    /// The last write probe: when, and whether it succeeded (probed at most every 5 s).
    last: Arc<std::sync::Mutex<Option<(std::time::Instant, bool)>>>,
}

#[OpenApi]
impl HealthApi {
    /// Health: `{status: "ok", version}` when the appliance serves and its database accepts
    /// writes; 503 with `status: "error"` otherwise. No authentication.
    #[oai(path = "/healthz", method = "get", operation_id = "health")]
    async fn health(&self) -> HealthResponse {
        let cached = self.last.lock().ok().and_then(|g| *g).filter(|(at, _)| at.elapsed() < Duration::from_secs(5));
        let ok = match cached {
            Some((_, ok)) => ok,
            None => {
                let store = self.store.clone();
                let ok =
                    tokio::task::spawn_blocking(move || store.probe_write()).await.map(|r| r.is_ok()).unwrap_or(false);
                if !ok {
                    tracing::error!("health: the database cannot be written");
                }
                if let Ok(mut g) = self.last.lock() {
                    *g = Some((std::time::Instant::now(), ok));
                }
                ok
            }
        };
        let body = Health { status: if ok { "ok" } else { "error" }.into(), version: VERSION.into() };
        if ok { HealthResponse::Ok(Json(body)) } else { HealthResponse::Unavailable(Json(body)) }
    }
}

/// The OpenAPI service of the enabled modules (also what `keiyaku openapi` prints).
pub fn api_service(services: &Services) -> OpenApiService<impl OpenApi, ()> {
    let health = HealthApi { store: services.kernel.store.clone(), last: Arc::default() };
    OpenApiService::new((health, crate::registry::apis(services)), "keiyaku", VERSION)
        .description("keiyaku — self-hosted electronic-contract appliance (電子契約サービス). Errors are application/problem+json with a stable `code`; messages follow Accept-Language (ja default, en).")
}

/// The OpenAPI document as JSON, without opening any data directory.
pub fn openapi_json() -> Result<String, String> {
    let dir = std::env::temp_dir().join(format!("keiyaku-openapi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let config = Config::default();
    let services = open_services(&config, &dir.join(DB_FILE), Arc::new(keiyaku_kernel::SystemClock))?;
    let json = api_service(&services).spec();
    drop(services);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(json)
}

fn open_services(config: &Config, db: &std::path::Path, clock: Arc<dyn Clock>) -> Result<Services, String> {
    let modules = modules();
    let refs: Vec<&dyn Module> = modules.iter().map(|m| m.as_ref()).collect();
    let cache = config.storage.cache_mb.saturating_mul(1024 * 1024);
    let store =
        Store::open_with_cache(db, clock.clone(), &refs, cache).map_err(|e| format!("{}: {e}", db.display()))?;
    let kernel = Kernel::new(store, clock, Arc::new(config.clone()));
    Ok(crate::registry::services(kernel, &modules))
}

#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    /// Operator password for a new data directory (`KEIYAKU_OPERATOR_PASSWORD`).
    pub operator_password: Option<String>,
}

/// What start-up has to tell the person who started it.
#[derive(Debug, Clone, Default)]
pub struct Notices {
    /// The operator's generated password, shown once.
    pub operator_password: Option<String>,
    pub demo_loaded: bool,
    pub tls_generated: bool,
    pub tls_source: PathBuf,
    /// The local CA clients should trust, when keiyaku issues its own certificate.
    pub tls_ca: Option<PathBuf>,
}

/// An opened appliance, ready to serve.
pub struct App {
    pub services: Services,
    pub config: Config,
    pub notices: Notices,
    tls: Arc<tls::Tls>,
    modules: Vec<Box<dyn Module>>,
    metrics: Arc<crate::observe::Metrics>,
}

/// `/metrics` (Prometheus text) for scrapers on this machine (loopback clients) only.
fn metrics_endpoint(kernel: Kernel, metrics: Arc<crate::observe::Metrics>) -> impl Endpoint {
    poem::endpoint::make(move |req: poem::Request| {
        let (kernel, metrics) = (kernel.clone(), metrics.clone());
        async move {
            let local = keiyaku_web::api::http::client_ip(&req).is_some_and(|ip| ip.is_loopback());
            if !local {
                return poem::Response::builder().status(poem::http::StatusCode::FORBIDDEN).finish();
            }
            let store = kernel.store.clone();
            let queued = store.read(keiyaku_kernel::mail::queued).await.unwrap_or(0);
            let db = kernel.config.storage.data_dir.join(DB_FILE);
            let text = metrics.render(&[
                ("keiyaku_mail_queued", "Mails waiting for SMTP delivery.", queued as f64),
                ("keiyaku_db_size_bytes", "Size of the database file.", Store::file_size(&db) as f64),
            ]);
            poem::Response::builder().content_type("text/plain; version=0.0.4").body(text)
        }
    })
}

#[derive(Clone, Copy)]
enum TlsFile {
    Ca,
    Crl,
}

/// `/tls/ca.pem` (the local CA for clients to trust) and `/tls/crl` (its CRL, DER); 404 when
/// the operator configured a certificate.
fn tls_file(tls: Arc<tls::Tls>, which: TlsFile) -> impl Endpoint {
    poem::endpoint::make_sync(move |_req: poem::Request| {
        let found = match which {
            TlsFile::Ca => tls.ca_pem().map(|pem| ("application/x-pem-file", "keiyaku-ca.pem", pem.into_bytes())),
            TlsFile::Crl => tls.crl_der().map(|der| ("application/pkix-crl", "keiyaku.crl", der)),
        };
        match found {
            Some((mime, name, body)) => poem::Response::builder()
                .content_type(mime)
                .header("content-disposition", keiyaku_web::api::http::content_disposition(name))
                .header("cache-control", "max-age=3600")
                .body(body),
            None => poem::Response::builder().status(poem::http::StatusCode::NOT_FOUND).finish(),
        }
    })
}

/// Renews the server certificate and re-signs the CRL when due at the kernel's clock.
fn renew_tls(tls: &tls::Tls, kernel: &Kernel) -> Result<bool, String> {
    let server = &kernel.config.server;
    tls.maintain(&server.host_names, &server.public_base_url(), kernel.now())
}

/// Renews the server certificate and re-signs the CRL when due (checked every hour).
async fn tls_maintenance(tls: Arc<tls::Tls>, kernel: Kernel, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
            _ = stop.changed() => return,
        }
        match renew_tls(&tls, &kernel) {
            Ok(true) => tracing::info!("the TLS certificate was renewed"),
            Ok(false) => {}
            Err(e) => tracing::error!(error = %e, "renewing the TLS certificate failed"),
        }
    }
}

/// One run of a job.
pub type JobTask = Arc<dyn Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> + Send + Sync>;

/// Periodic work while serving: run `first` after start, then every `every`, until the
/// server stops (a run in progress finishes first).
pub struct Job {
    pub name: &'static str,
    pub first: Duration,
    pub every: Duration,
    pub run: JobTask,
}

impl Job {
    /// `run` boxed as a job's task.
    pub fn task<F, Fut>(run: F) -> JobTask
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        Arc::new(move || Box::pin(run()))
    }

    /// A job run at start and then every hour.
    pub fn hourly<F, Fut>(name: &'static str, run: F) -> Job
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        Job { name, first: Duration::ZERO, every: Duration::from_secs(3600), run: Job::task(run) }
    }

    async fn serve(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut wait = self.first;
        loop {
            if !wait.is_zero() {
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop.changed() => return,
                }
            }
            tracing::debug!(job = self.name, "running");
            (self.run)().await;
            wait = self.every;
        }
    }
}

/// The kernel's own periodic work: secrets kept too long in stored mail are scrubbed (hourly).
fn kernel_jobs(kernel: &Kernel) -> Vec<Job> {
    let kernel = kernel.clone();
    vec![Job::hourly("secret sweep", move || {
        let kernel = kernel.clone();
        async move {
            match kernel.store.write(keiyaku_kernel::mail::scrub_expired).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(mails = n, "passwords scrubbed from stored mail"),
                Err(e) => tracing::error!(error = %e, "scrubbing stored mail failed"),
            }
        }
    })]
}

impl App {
    /// Opens the data directory (creating it, the database and the TLS certificate on first
    /// start), makes sure the operator exists and loads the demo when configured.
    pub fn open(config: Config, clock: Arc<dyn Clock>, opts: StartOptions) -> Result<App, String> {
        let data_dir = config.storage.data_dir.clone();
        std::fs::create_dir_all(&data_dir).map_err(|e| format!("data directory {}: {e}", data_dir.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&data_dir, std::fs::Permissions::from_mode(0o700));
        }
        let tls = tls::Tls::open(
            &data_dir,
            config.server.tls_cert.as_deref(),
            config.server.tls_key.as_deref(),
            &config.server.host_names,
            &config.server.public_base_url(),
            clock.now(),
        )?;
        let services = open_services(&config, &data_dir.join(DB_FILE), clock)?;
        let mut notices = Notices {
            tls_generated: tls.generated,
            tls_source: tls.source.clone(),
            tls_ca: tls.ca_path(),
            ..Notices::default()
        };
        notices.operator_password = crate::registry::ensure_operator(&services, opts.operator_password)?;
        let modules = modules();
        if config.demo.enabled {
            notices.demo_loaded = crate::registry::seed_demo(&services.kernel, &modules)?;
        }
        Ok(App { services, config, notices, tls: Arc::new(tls), modules, metrics: Arc::default() })
    }

    /// The whole HTTP application.
    pub fn endpoint(&self) -> impl Endpoint + 'static {
        let api = api_service(&self.services).server("/");
        let spec = api.spec_endpoint();
        let docs = api.swagger_ui();
        let web = keiyaku_web::routes(self.services.clone());
        let _ = &self.modules;
        // One API endpoint serves both prefixes its operations live under.
        let api = Arc::new(api.into_endpoint().with(ProblemJson));
        web.at("/api/openapi.json", spec)
            .nest("/api/docs", docs)
            .at("/healthz", api.clone())
            .at("/tls/ca.pem", poem::get(tls_file(self.tls.clone(), TlsFile::Ca)))
            .at("/tls/crl", poem::get(tls_file(self.tls.clone(), TlsFile::Crl)))
            .at("/metrics", poem::get(metrics_endpoint(self.services.kernel.clone(), self.metrics.clone())))
            .nest_no_strip("/api", api)
            .with(BodyLimit {
                body: self.config.server.max_body_bytes,
                upload: self.config.server.max_upload_bytes,
                page: Some(Arc::new(keiyaku_web::layout::too_large)),
            })
            .with(crate::ratelimit::RateLimit::new(self.services.kernel.clone()))
            .with(keiyaku_web::SecurityHeaders)
            .with(crate::observe::Observe(self.metrics.clone()))
            .with(crate::drain::Drain)
            .with(keiyaku_web::api::http::ClientAddress(Arc::new(
                // `settings::check` refused bad entries before start.
                keiyaku_web::api::http::TrustedProxies::parse(&self.config.server.trusted_proxies).unwrap_or_default(),
            )))
    }

    /// Binds the HTTPS listener (and the redirect listener when configured) and serves
    /// until `shutdown` resolves.
    pub async fn serve(self, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> Result<(), String> {
        let running = self.start().await?;
        shutdown.await;
        running.stop().await;
        Ok(())
    }

    /// Starts serving in the background and returns the bound address.
    pub async fn start(self) -> Result<Running, String> {
        let addr: SocketAddr = self
            .config
            .server
            .listen
            .parse()
            .map_err(|_| format!("server.listen `{}` is not an address", self.config.server.listen))?;
        let acceptor = self.tls.bind(addr).await.map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        let local = acceptor
            .local_addr()
            .into_iter()
            .find_map(|a| a.as_socket_addr().copied())
            .ok_or_else(|| format!("cannot listen on {addr}"))?;
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let mut tasks = Vec::new();

        if let Some(redirect) = &self.config.server.http_redirect_listen {
            let raddr: SocketAddr =
                redirect.parse().map_err(|_| format!("server.http_redirect_listen `{redirect}` is not an address"))?;
            let racceptor =
                TcpListener::bind(raddr).into_acceptor().await.map_err(|e| format!("cannot listen on {raddr}: {e}"))?;
            let https_port = local.port();
            let redirect_app = poem::endpoint::make(move |req: poem::Request| async move {
                let host = req
                    .header("host")
                    .map(|h| h.rsplit_once(':').map(|(h, _)| h).unwrap_or(h).to_string())
                    .unwrap_or_else(|| "localhost".into());
                let path = req.uri().path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| "/".into());
                poem::web::Redirect::permanent(format!("https://{host}:{https_port}{path}"))
            });
            let mut rx = stop_rx.clone();
            tasks.push(tokio::spawn(async move {
                let _ = Server::new_with_acceptor(racceptor)
                    .run_with_graceful_shutdown(
                        redirect_app,
                        async move {
                            let _ = rx.changed().await;
                        },
                        Some(Duration::from_secs(5)),
                    )
                    .await;
            }));
        }

        tasks.push(tokio::spawn(crate::backup::run_schedule(
            self.services.kernel.store.clone(),
            self.config.backup.clone(),
            self.config.storage.data_dir.clone(),
            stop_rx.clone(),
        )));
        #[cfg(unix)]
        tasks.push(tokio::spawn(crate::control::serve(
            self.services.kernel.store.clone(),
            self.config.storage.data_dir.clone(),
            stop_rx.clone(),
        )));
        tasks.push(tokio::spawn(tls_maintenance(self.tls.clone(), self.services.kernel.clone(), stop_rx.clone())));
        for job in kernel_jobs(&self.services.kernel).into_iter().chain(crate::registry::jobs(&self.services)) {
            tasks.push(tokio::spawn(job.serve(stop_rx.clone())));
        }
        tasks.push(tokio::spawn(keiyaku_kernel::mail::run_sender(
            self.services.kernel.store.clone(),
            self.config.mail.clone(),
            stop_rx.clone(),
        )));

        let endpoint = self.endpoint();
        let mut rx = stop_rx;
        tasks.push(tokio::spawn(async move {
            if let Err(e) = Server::new_with_acceptor(acceptor)
                .run_with_graceful_shutdown(
                    endpoint,
                    async move {
                        let _ = rx.changed().await;
                    },
                    Some(Duration::from_secs(10)),
                )
                .await
            {
                tracing::error!(error = %e, "server stopped");
            }
        }));
        Ok(Running { addr: local, stop: stop_tx, tasks, tls: self.tls, services: self.services })
    }
}

/// A serving appliance.
pub struct Running {
    pub addr: SocketAddr,
    stop: tokio::sync::watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    tls: Arc<tls::Tls>,
    pub services: Services,
}

impl Running {
    /// Renews the TLS certificate now when it is due (what the hourly check does); true when
    /// the listener now serves a new one.
    pub fn renew_tls(&self) -> Result<bool, String> {
        renew_tls(&self.tls, &self.services.kernel)
    }

    /// Stops accepting, lets requests in flight finish, and waits for the background tasks.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}
