//! The contracts module's subcommands: `verify-pdf` and `ltv renew`.

use anyhow::{Context, bail};
use clap::Subcommand;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Subcommand)]
pub enum Command {
    /// Verify the signatures of a PDF offline (no data directory): signer, time proof,
    /// PAdES level, trust, revocation and every change after each signature. Exits 0 when
    /// valid, 2 when indeterminate (e.g. no trusted root given), 1 otherwise.
    VerifyPdf {
        file: PathBuf,
        /// A trusted root certificate (PEM or DER; repeatable), e.g. a tenant CA.
        #[arg(long)]
        trust: Vec<PathBuf>,
        /// Print the report as JSON (the `verifyPdf` format).
        #[arg(long)]
        json: bool,
    },
    /// Long-term validation of completed contracts (PAdES-B-LTA).
    Ltv {
        #[command(subcommand)]
        command: LtvCommand,
    },
}

#[derive(Subcommand)]
pub enum LtvCommand {
    /// Add fresh validation data and a document time-stamp to every completed contract
    /// whose newest time-stamp's TSA certificate ends within DAYS (while keiyaku is
    /// stopped; the running server does this daily).
    Renew {
        #[arg(long, env = "KEIYAKU_CONFIG")]
        config: Option<PathBuf>,
        #[arg(long)]
        data: Option<PathBuf>,
        /// The margin in days (default 365).
        #[arg(long, default_value_t = keiyaku_contracts::archive::DEFAULT_WITHIN_DAYS)]
        within: u32,
    },
}

pub async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::VerifyPdf { file, trust, json } => {
            let pdf = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let mut roots = Vec::new();
            for t in &trust {
                let bytes = std::fs::read(t).with_context(|| format!("reading {}", t.display()))?;
                let certs = keiyaku_contracts::verify::certificates(&bytes);
                if certs.is_empty() {
                    bail!("{} holds no certificate", t.display());
                }
                roots.extend(certs);
            }
            let report = keiyaku_contracts::verify::verify_pdf(&pdf, &roots, jiff::Timestamp::now())
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", keiyaku_contracts::verify::describe(&report));
            }
            std::process::exit(i32::from(keiyaku_contracts::verify::exit_code(report.verdict)));
        }
        Command::Ltv { command: LtvCommand::Renew { config, data, within } } => {
            let config = crate::settings::load_with_data(config.as_deref(), data).map_err(anyhow::Error::msg)?;
            let app = crate::App::open(config, Arc::new(keiyaku_kernel::SystemClock), crate::StartOptions::default())
                .map_err(anyhow::Error::msg)
                .context("opening the data directory (is keiyaku serve running on it? stop it first)")?;
            let run = app
                .services
                .contracts
                .renew_archives(within, |done, total| {
                    use std::io::Write;
                    eprint!("\rarchive renewal: {done}/{total} contracts checked");
                    let _ = std::io::stderr().flush();
                })
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            eprintln!();
            println!(
                "{} completed contracts checked, {} renewed, {} failed (margin {within} days)",
                run.checked, run.renewed, run.failed
            );
            for e in &run.errors {
                eprintln!("failed: {e}");
            }
            if run.failed > 0 {
                bail!("{} contracts could not be renewed", run.failed);
            }
            Ok(())
        }
    }
}
