//! The `[webhooks]` section of the settings, owned by this module (the binary composes it).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhooksConfig {
    /// Allows targets whose host is or resolves to a loopback, private, link-local or
    /// unique-local address (tests and closed networks). Off by default: a webhook must not
    /// reach into the appliance's own network.
    pub allow_private_targets: bool,
    /// Attempts of one delivery before it is given up (the backoff between them is
    /// [`crate::delivery::backoff`]).
    pub max_attempts: u32,
    /// Consecutive given-up deliveries after which an endpoint is disabled and the tenant's
    /// administrators are mailed.
    pub disable_after: u32,
    /// Timeout of one delivery attempt (connect and answer), in milliseconds.
    pub timeout_millis: u64,
    /// How often the worker looks for due deliveries, in milliseconds.
    pub poll_millis: u64,
    /// Endpoints per tenant.
    pub max_endpoints: usize,
}

impl keiyaku_kernel::config::Section for WebhooksConfig {
    const NAME: &'static str = "webhooks";
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        Self {
            allow_private_targets: false,
            max_attempts: 8,
            disable_after: 10,
            timeout_millis: 10_000,
            poll_millis: 1_000,
            max_endpoints: 20,
        }
    }
}
