//! The `[support]` section of the settings.

use keiyaku_kernel::config::Section;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SupportConfig {
    /// Largest support document accepted, in bytes.
    pub max_document_bytes: usize,
}

impl Default for SupportConfig {
    fn default() -> Self {
        Self { max_document_bytes: 20 * 1024 * 1024 }
    }
}

impl Section for SupportConfig {
    const NAME: &'static str = "support";
}
