//! `keiyaku` — the command line of the appliance.

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Parser)]
#[command(name = "keiyaku", version, about = "Self-hosted electronic-contract appliance (電子契約サービス)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve HTTPS (API, OpenAPI document, web pages) from the data directory.
    Serve {
        /// Configuration file (default: ./config.toml when present).
        #[arg(long, env = "KEIYAKU_CONFIG")]
        config: Option<PathBuf>,
        /// Data directory (overrides storage.data_dir).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Listen address (overrides server.listen).
        #[arg(long)]
        listen: Option<String>,
        /// Load the demo scenario and make the mailbox public.
        #[arg(long)]
        demo: bool,
    },
    /// Print the OpenAPI document (JSON).
    Openapi,
    /// Write a consistent backup of the data directory (while the server runs, it takes the
    /// snapshot, asked through its control socket in the data directory).
    Backup {
        #[arg(long, env = "KEIYAKU_CONFIG")]
        config: Option<PathBuf>,
        #[arg(long)]
        data: Option<PathBuf>,
        /// The archive to write (tar with a manifest of checksums).
        #[arg(long)]
        to: PathBuf,
    },
    /// Restore a backup into a data directory (refuses corrupt or partial backups).
    Restore {
        #[arg(long)]
        from: PathBuf,
        #[arg(long)]
        data: PathBuf,
        /// Replace an existing database in the data directory.
        #[arg(long)]
        force: bool,
    },
    /// Check a data directory's database (integrity, every record) or a backup archive.
    Verify {
        #[arg(long, env = "KEIYAKU_CONFIG")]
        config: Option<PathBuf>,
        #[arg(long)]
        data: Option<PathBuf>,
        /// Check this backup archive instead of a data directory.
        #[arg(long)]
        backup: Option<PathBuf>,
    },
    /// Manage tenants directly on the data directory (while keiyaku is stopped).
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// The compiled-in modules' own subcommands.
    #[command(flatten)]
    Module(keiyaku::registry::ModuleCommand),
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Create a tenant with its owner company and first group administrator.
    Create {
        #[arg(long, env = "KEIYAKU_CONFIG")]
        config: Option<PathBuf>,
        #[arg(long)]
        data: Option<PathBuf>,
        /// Enterprise code (企業コード), e.g. HXOS2.
        #[arg(long)]
        code: String,
        /// Owner company name, e.g. オリエンタル白石株式会社.
        #[arg(long)]
        company: String,
        #[arg(long, default_value = "")]
        company_kana: String,
        /// Service name used in mails (default: the company name).
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        admin_id: String,
        #[arg(long)]
        admin_name: String,
        #[arg(long)]
        admin_email: String,
        /// Trial environment (seals show the date).
        #[arg(long)]
        trial: bool,
    },
    /// List tenants.
    List {
        #[arg(long, env = "KEIYAKU_CONFIG")]
        config: Option<PathBuf>,
        #[arg(long)]
        data: Option<PathBuf>,
    },
}

fn load_config(config: Option<PathBuf>, data: Option<PathBuf>) -> anyhow::Result<keiyaku_kernel::Config> {
    keiyaku::settings::load_with_data(config.as_deref(), data).map_err(anyhow::Error::msg)
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("KEIYAKU_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,poem=warn"));
    // KEIYAKU_LOG_FORMAT=json: one JSON object per line, for log collectors.
    if std::env::var("KEIYAKU_LOG_FORMAT").is_ok_and(|f| f == "json") {
        tracing_subscriber::fmt().json().with_env_filter(filter).with_writer(std::io::stderr).init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    }
    // One TLS crypto provider for every crate, installed before anything uses rustls.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("keiyaku: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("keiyaku: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Openapi => {
            println!("{}", keiyaku::app::openapi_json().map_err(anyhow::Error::msg)?);
            Ok(())
        }
        Command::Serve { config, data, listen, demo } => {
            let mut config = load_config(config, data)?;
            if let Some(l) = listen {
                config.server.listen = l;
            }
            if demo || config.demo.enabled {
                keiyaku::registry::enable_demo(&mut config);
            }
            keiyaku::settings::check(&config).map_err(anyhow::Error::msg)?;
            serve(config).await
        }
        Command::Tenant { command } => tenant(command).await,
        Command::Module(command) => keiyaku::registry::run(command).await,
        Command::Backup { config, data, to } => {
            let config = load_config(config, data)?;
            let db = config.storage.data_dir.join(keiyaku::backup::DB_FILE);
            if !db.is_file() {
                bail!("{} has no database", config.storage.data_dir.display());
            }
            let modules = keiyaku::app::modules();
            let refs: Vec<&dyn keiyaku_kernel::Module> = modules.iter().map(|m| m.as_ref()).collect();
            let store = match keiyaku_kernel::Store::open(&db, Arc::new(keiyaku_kernel::SystemClock), &refs) {
                Ok(store) => store,
                // A running server holds the database: it takes the snapshot for us.
                #[cfg(unix)]
                Err(e) if keiyaku::control::socket_path(&config.storage.data_dir).exists() => {
                    let bytes = keiyaku::control::request_backup(&config.storage.data_dir, &to)
                        .map_err(|why| anyhow::anyhow!("{e}; asking the running server failed too: {why}"))?;
                    let manifest = keiyaku::backup::check_archive(&to).map_err(anyhow::Error::msg)?;
                    let records: u64 = manifest.tables.iter().map(|(_, n)| n).sum();
                    println!(
                        "backup written to {} by the running server ({bytes} bytes, {records} records, checksums verified)",
                        to.display()
                    );
                    return Ok(());
                }
                Err(e) => return Err(e.into()),
            };
            let manifest =
                keiyaku::backup::write_archive(&store, &config.storage.data_dir, &to).map_err(anyhow::Error::msg)?;
            let records: u64 = manifest.tables.iter().map(|(_, n)| n).sum();
            println!("backup written to {} ({records} records)", to.display());
            Ok(())
        }
        Command::Restore { from, data, force } => {
            let manifest = keiyaku::backup::restore(&from, &data, force).map_err(anyhow::Error::msg)?;
            println!(
                "restored the backup of {} (keiyaku {}) into {}",
                manifest.created_at,
                manifest.keiyaku_version,
                data.display()
            );
            Ok(())
        }
        Command::Verify { config, data, backup } => {
            if let Some(archive) = backup {
                let m = keiyaku::backup::check_archive(&archive).map_err(anyhow::Error::msg)?;
                println!("backup OK: {} files, taken {}", m.files.len(), m.created_at);
                return Ok(());
            }
            let config = load_config(config, data)?;
            let db = config.storage.data_dir.join(keiyaku::backup::DB_FILE);
            let report = keiyaku::backup::verify_db(&db).map_err(anyhow::Error::msg)?;
            for (t, n) in &report.tables {
                println!("{t:<24} {n:>8} records");
            }
            if report.problems.is_empty() {
                println!("OK: {} is intact", db.display());
                Ok(())
            } else {
                for p in &report.problems {
                    eprintln!("problem: {p}");
                }
                bail!("{} problems found", report.problems.len())
            }
        }
    }
}

async fn serve(config: keiyaku_kernel::Config) -> anyhow::Result<()> {
    #[cfg(unix)]
    if std::env::var("USER").is_ok_and(|u| u == "root") && std::env::var_os("CI").is_none() {
        tracing::warn!("keiyaku is running as root; a dedicated user is safer (see packaging/)");
    }
    let opts = keiyaku::StartOptions {
        operator_password: std::env::var("KEIYAKU_OPERATOR_PASSWORD").ok().filter(|p| !p.is_empty()),
    };
    let app = keiyaku::App::open(config, Arc::new(keiyaku_kernel::SystemClock), opts).map_err(anyhow::Error::msg)?;
    let base = app.config.server.public_base_url();
    let demo = app.notices.demo_loaded || app.config.demo.enabled;
    let operator_pw = app.notices.operator_password.clone();
    let data_dir = app.config.storage.data_dir.clone();
    let demo_pw = app.config.demo.password.clone();
    let demo_pin = app.config.demo.pin.clone();
    let tls_note = if app.notices.tls_generated { "generated now" } else { "reused" };
    let tls_source = app.notices.tls_source.clone();
    let tls_ca = app.notices.tls_ca.clone();
    let running = app.start().await.map_err(anyhow::Error::msg)?;
    println!("keiyaku {} serving https://{}  (public URL {base})", keiyaku::app::VERSION, running.addr);
    println!("  data directory: {}", data_dir.display());
    println!("  TLS certificate: {} ({tls_note})", tls_source.display());
    if let Some(ca) = &tls_ca {
        println!("  trust this CA on clients once (renewals keep working): {}  (also {base}/tls/ca.pem)", ca.display());
    }
    if let Some(pw) = operator_pw {
        println!("  operator account created — login: operator  password: {pw}");
        println!("  (shown only this once; keep it safe)");
    }
    if demo {
        println!(
            "  demo: {base}/t/HXOS2/login  users HX000001 HX000002 HX000003 A1533601 A1533602  password: {demo_pw}  certificate PIN: {demo_pin}"
        );
        println!("  support page: {base}/t/HXOS2/support   mailbox (one-time links in mails): {base}/mailbox");
    }
    println!("  API: {base}/api/docs   health: {base}/healthz");
    shutdown_signal().await;
    println!("keiyaku: shutting down");
    running.stop().await;
    Ok(())
}

/// SIGINT (Ctrl-C) or SIGTERM (systemd, kill).
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

async fn tenant(command: TenantCommand) -> anyhow::Result<()> {
    match command {
        TenantCommand::Create {
            config,
            data,
            code,
            company,
            company_kana,
            name,
            admin_id,
            admin_name,
            admin_email,
            trial,
        } => {
            let config = load_config(config, data)?;
            let app =
                keiyaku::App::open(config, Arc::new(keiyaku_kernel::SystemClock), keiyaku::StartOptions::default())
                    .map_err(anyhow::Error::msg)
                    .context("opening the data directory (is keiyaku serve running on it? stop it first)")?;
            let tenant = keiyaku::registry::NewTenant {
                name: name.unwrap_or_else(|| company.clone()),
                code,
                trial,
                company,
                company_kana,
                admin_id,
                admin_name,
                admin_email,
            };
            let done = keiyaku::registry::create_tenant(&app.services, tenant).await.map_err(anyhow::Error::msg)?;
            println!("{done}");
            Ok(())
        }
        TenantCommand::List { config, data } => {
            let config = load_config(config, data)?;
            let app =
                keiyaku::App::open(config, Arc::new(keiyaku_kernel::SystemClock), keiyaku::StartOptions::default())
                    .map_err(anyhow::Error::msg)?;
            let tenants = app.services.kernel.store.read(keiyaku_kernel::directory::list_tenants).await?;
            for t in tenants {
                println!("{}\t{}\t{}", t.code, t.name, if t.trial { "trial" } else { "" });
            }
            Ok(())
        }
    }
}
