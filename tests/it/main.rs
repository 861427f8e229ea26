//! End-to-end tests: the real application over real HTTPS. One test binary on purpose
//! (every file in tests/ is a separate link step); add modules here, not new files in tests/.

// Test code: a failed expectation is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

#[cfg(feature = "certs")]
mod abuse;
#[cfg(feature = "contracts")]
mod authority;
mod binary;
mod browser;
#[cfg(feature = "certs")]
mod browser_certs;
#[cfg(feature = "contracts")]
mod browser_contracts;
#[cfg(feature = "support")]
mod browser_support;
#[cfg(feature = "users")]
mod browser_users;
#[cfg(feature = "certs")]
mod certs;
#[cfg(feature = "contracts")]
mod contracts;
// The crash writers register contracts too.
#[cfg(feature = "contracts")]
mod crash;
mod foundation;
#[cfg(feature = "contracts")]
mod import;
#[cfg(feature = "contracts")]
mod ltv;
mod mail;
mod operations;
mod placement;
mod ratelimit;
#[cfg(feature = "support")]
mod support;
mod tls_scan;
#[cfg(feature = "auth")]
mod totp;
#[cfg(feature = "support")]
mod upgrade;
#[cfg(feature = "users")]
mod users;
