//! The `[certs]` section of the settings: ticket orders, links, the captcha, activation and
//! prices.

use keiyaku_kernel::config::Section;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// When purchased certificate tickets are released to the buyer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseTickets {
    /// With the order confirmation.
    Immediately,
    /// When an owner administrator marks the order paid.
    #[default]
    OnPayment,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CertsConfig {
    /// When ticket numbers are sent: `immediately` or `on_payment`. Unset: `on_payment`, and
    /// `immediately` with `--demo`.
    pub release_tickets: Option<ReleaseTickets>,
    /// Most tickets of one term in one order.
    pub max_tickets_per_term: u32,
    /// Most ticket orders one tenant takes per day (Japan time).
    pub max_orders_per_day: u32,
    /// How long one-time links (order, application, approval) stay valid, in hours.
    pub link_ttl_hours: u32,
    /// Ask for the image captcha when an application starts (off for tests and offline demos).
    pub captcha: bool,
    /// A certificate becomes usable this many Japanese business days after issuance (翌々営業日 = 2).
    pub activation_business_days: u32,
    /// Default unit prices in yen (tax excluded) of 1-, 2- and 3-year certificates; a tenant may
    /// override them.
    pub price_1y: u32,
    pub price_2y: u32,
    pub price_3y: u32,
    /// Per-tenant unit prices `[1y, 2y, 3y]` by enterprise code, replacing the defaults above,
    /// e.g. `{ HXOS2 = [3000, 4500, 6000] }`.
    pub tenant_prices: BTreeMap<String, [u32; 3]>,
}

impl Default for CertsConfig {
    fn default() -> Self {
        Self {
            release_tickets: None,
            max_tickets_per_term: 20,
            max_orders_per_day: 50,
            link_ttl_hours: 72,
            captcha: true,
            activation_business_days: 2,
            price_1y: 3000,
            price_2y: 4500,
            price_3y: 6000,
            tenant_prices: BTreeMap::new(),
        }
    }
}

impl CertsConfig {
    /// When tickets are released: as configured, else when the order is paid.
    pub fn release(&self) -> ReleaseTickets {
        self.release_tickets.unwrap_or_default()
    }

    /// What `serve --demo` changes here: tickets are released with the order unless
    /// configured otherwise.
    pub fn enable_demo(&mut self) {
        self.release_tickets.get_or_insert(ReleaseTickets::Immediately);
    }
}

impl Section for CertsConfig {
    const NAME: &'static str = "certs";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tickets_wait_for_payment_unless_a_demo_or_the_configuration_says_otherwise() {
        let mut c = CertsConfig::default();
        assert_eq!(c.release(), ReleaseTickets::OnPayment);
        c.enable_demo();
        assert_eq!(c.release(), ReleaseTickets::Immediately);
        let mut c = CertsConfig { release_tickets: Some(ReleaseTickets::OnPayment), ..CertsConfig::default() };
        c.enable_demo();
        assert_eq!(c.release(), ReleaseTickets::OnPayment, "configured stays configured");
    }
}
