//! The kernel every keiyaku module builds on: storage over redb, ids, the problem+json error
//! model with Japanese and English messages, the clock and business calendar, the audit log,
//! the mail outbox, the identity directory (tenants, companies, groups, users) and the
//! [`Module`] trait through which modules plug into the appliance.

pub mod audit;
pub mod blob;
pub mod budget;
pub mod calendar;
pub mod clock;
pub mod config;
pub mod context;
pub mod csv;
pub mod directory;
pub mod doc_type;
pub mod error;
pub mod events;
pub mod ids;
pub mod intent;
pub mod kek;
pub mod mail;
pub mod module;
pub mod numbers;
pub mod paging;
pub mod pdf;
pub mod read_cache;
pub mod store;
pub mod validate;
pub mod waiting;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::Config;
pub use context::{Actor, Caller};
pub use error::{Code, FieldCode, FieldError, Lang, Problem};
pub use module::Module;
pub use store::{ReadTx, Store, StoreError, Table, Tx};

use std::sync::Arc;

/// Shared handle to the kernel services; cheap to clone.
#[derive(Clone)]
pub struct Kernel {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub config: Arc<Config>,
    /// What anonymous clients have spent of their budgets ([`budget`]).
    pub budgets: Arc<budget::Budgets>,
}

impl Kernel {
    pub fn new(store: Store, clock: Arc<dyn Clock>, config: Arc<Config>) -> Self {
        Self { store, clock, config, budgets: Arc::default() }
    }

    pub fn now(&self) -> jiff::Timestamp {
        self.clock.now()
    }

    /// The base URL people reach this appliance on (used in mails).
    pub fn public_url(&self) -> String {
        self.config.server.public_base_url()
    }
}
