//! The keiyaku appliance: configuration loading, TLS bootstrap and the assembly of the
//! compiled-in modules into one HTTPS application. `main.rs` is the command line around it.

pub mod app;
pub mod backup;
pub mod control;
pub mod drain;
pub mod observe;
pub mod ratelimit;
pub mod registry;
pub mod settings;
pub mod tls;

pub use app::{App, Running, StartOptions};

/// mimalloc instead of the system allocator: requests are many small allocations.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
