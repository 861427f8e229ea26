//! Certificates: the tenant CA, ticket purchase, issuance application, holder approval,
//! issuance, certificate test and revocation.

pub mod api;

use keiyaku_kernel::Kernel;
use keiyaku_kernel::module::Module;

pub struct CertsModule;

impl Module for CertsModule {
    fn name(&self) -> &'static str {
        "certs"
    }

    fn tables(&self) -> Vec<&'static str> {
        Vec::new()
    }
}

/// The certificates service; cheap to clone.
#[derive(Clone)]
pub struct Certs {
    pub kernel: Kernel,
}

impl Certs {
    pub fn new(kernel: Kernel) -> Self {
        Self { kernel }
    }
}
