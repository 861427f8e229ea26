//! The [`Module`] trait: how a compiled-in module (auth, users, certs, support, …) plugs its
//! tables, migrations, demo data and menu entries into the appliance. Its HTTP API is added to
//! the one OpenAPI document by the binary (see ARCHITECTURE.md).

use crate::Kernel;
use crate::store::{StoreError, Tx};

/// An entry of the dashboard's operation menu (操作メニュー).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuItem {
    /// Path below `/t/{tenant}/`.
    pub path: &'static str,
    pub label_ja: &'static str,
    pub label_en: &'static str,
    pub description_ja: &'static str,
    pub description_en: &'static str,
    /// Shown on the 管理メニュー tab (group administrators) instead of 通常メニュー.
    pub admin: bool,
    /// Sort key within the menu.
    pub order: u16,
}

pub trait Module: Send + Sync {
    /// Short stable name, e.g. `users`.
    fn name(&self) -> &'static str;

    /// Names of the tables this module owns; created when the store opens.
    fn tables(&self) -> Vec<&'static str>;

    /// The schema version this build writes. Raise it and handle the step in [`Module::migrate`].
    fn schema_version(&self) -> u32 {
        1
    }

    /// Migrates this module's tables from version `from` to `from + 1`, inside the opening
    /// transaction.
    fn migrate(&self, _tx: &mut Tx, _from: u32) -> Result<(), StoreError> {
        Ok(())
    }

    /// Adds this module's part of the demo scenario (`serve --demo`). Called once, in module
    /// order, when the demo tenant does not exist yet.
    fn seed_demo(&self, _kernel: &Kernel, _tx: &mut Tx) -> Result<(), StoreError> {
        Ok(())
    }

    /// Checks this module's own integrity rules over the whole store (e.g. a hash chain),
    /// for `keiyaku verify`: one line per problem found, none when all is well.
    fn verify(&self, _tx: &crate::store::ReadTx) -> Result<Vec<String>, StoreError> {
        Ok(Vec::new())
    }

    /// Operation-menu entries this module contributes.
    fn menu(&self) -> Vec<MenuItem> {
        Vec::new()
    }

    /// What follows every audit record inside its transaction ([`crate::events`]).
    fn audit_observer(&self) -> Option<std::sync::Arc<dyn crate::events::AuditObserver>> {
        None
    }
}

/// The kernel's own tables.
pub struct KernelModule;

impl Module for KernelModule {
    fn name(&self) -> &'static str {
        "kernel"
    }

    fn tables(&self) -> Vec<&'static str> {
        let mut t = crate::directory::TABLES.to_vec();
        t.push(crate::audit::AUDIT.name());
        t.push(crate::mail::OUTBOX.name());
        t.push(crate::mail::OUTBOX_QUEUE.name());
        t.push(crate::mail::OUTBOX_SECRETS.name());
        t
    }
}
