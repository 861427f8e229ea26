//! Support: notices (お知らせ), support documents, the dashboard and the usage report
//! (利用状況照会).

pub mod api;

use keiyaku_kernel::Kernel;
use keiyaku_kernel::module::Module;

pub struct SupportModule;

impl Module for SupportModule {
    fn name(&self) -> &'static str {
        "support"
    }

    fn tables(&self) -> Vec<&'static str> {
        Vec::new()
    }
}

/// The support service; cheap to clone.
#[derive(Clone)]
pub struct Support {
    pub kernel: Kernel,
}

impl Support {
    pub fn new(kernel: Kernel) -> Self {
        Self { kernel }
    }
}
