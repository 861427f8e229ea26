//! Directory management: companies, the group tree, users, roles and scoping, fixed seals
//! and delegates (seed §1 (3), §3).
//!
//! - [`scope`] decides every authorization question from the caller alone.
//! - [`service`], [`delegates`] and [`seal`] hold the business rules as plain functions over a
//!   transaction (callable from tests and other modules without HTTP).
//! - [`Users`] runs them on the store (hashing passwords outside the write transaction) and
//!   keeps the in-memory search index; its HTTP API is `keiyaku_web::api::users`.

pub mod delegates;
pub mod demo;
pub mod error;
pub mod ids;
pub mod mails;
pub mod scope;
pub mod seal;
pub mod search;
pub mod service;
#[cfg(test)]
mod service_tests;

pub use error::UsersError;
pub use service::{NewUserInput, Paged, Paging, UserChanges, UserDetail, UserRow};

use keiyaku_kernel::Kernel;
use keiyaku_kernel::context::Caller;
use keiyaku_kernel::directory::{Company, Group, NewCompany, User};
use keiyaku_kernel::intent::SignerKeys;
use keiyaku_kernel::module::{MenuItem, Module};
use keiyaku_kernel::store::{StoreError, Tx};
use service::{CompanyNode, InitialSecret};
use std::sync::Arc;

/// A PIN checked against the signer's certificate, to be recorded in the write.
struct Confirmed {
    correct: bool,
    keys: Arc<dyn SignerKeys>,
}

/// The users module's tables, menu entry and demo data.
pub struct UsersModule;

impl Module for UsersModule {
    fn name(&self) -> &'static str {
        "users"
    }

    fn tables(&self) -> Vec<&'static str> {
        vec![seal::SEALS.name(), delegates::DELEGATES.name(), delegates::DELEGATE_OF.name()]
    }

    fn seed_demo(&self, _kernel: &Kernel, tx: &mut Tx) -> Result<(), StoreError> {
        demo::seed(tx)
    }

    fn menu(&self) -> Vec<MenuItem> {
        vec![MenuItem {
            path: "admin/users",
            label_ja: "ユーザー管理",
            label_en: "User management",
            description_ja: "電子契約を利用するユーザーを管理します。",
            description_en: "Manage the users of the e-contract service.",
            admin: true,
            order: 40,
        }]
    }
}

/// The directory service; cheap to clone.
#[derive(Clone)]
pub struct Users {
    pub kernel: Kernel,
    index: search::IndexCache,
    /// The signers' certificate keys and PINs (the certs module), for confirming mandates.
    keys: Option<Arc<dyn SignerKeys>>,
}

impl Users {
    pub fn new(kernel: Kernel) -> Self {
        Self { kernel, index: search::IndexCache::default(), keys: None }
    }

    /// Lets signers confirm delegation mandates with their certificate PIN.
    pub fn with_signer_keys(mut self, keys: Arc<dyn SignerKeys>) -> Self {
        self.keys = Some(keys);
        self
    }

    fn keys(&self) -> Result<Arc<dyn SignerKeys>, UsersError> {
        self.keys.clone().ok_or_else(|| {
            let p = |lang| {
                keiyaku_kernel::Problem::new(
                    409,
                    keiyaku_kernel::Code::CertificateNotUsable,
                    keiyaku_kernel::Lang::pick(
                        lang,
                        "証明書の機能が有効ではありません。",
                        "Certificates are not enabled.",
                    ),
                )
            };
            UsersError::NotUsable(Box::new((p(keiyaku_kernel::Lang::Ja), p(keiyaku_kernel::Lang::En))))
        })
    }

    /// Checks the signer's PIN against their certificate's hash: read, then argon2 outside any
    /// transaction under the shared bound. Returns whether it was right.
    async fn check_pin(&self, caller: &Caller, signer_id: &str, pin: String) -> Result<Confirmed, UsersError> {
        let keys = self.keys()?;
        let (k, tenant, signer) = (keys.clone(), caller.tenant.clone(), signer_id.to_string());
        let hash = self.read(move |tx| Ok(k.pin_hash(tx, &tenant, &signer)?)).await?;
        let correct = keiyaku_auth::password::verify_bounded(pin, hash).await;
        Ok(Confirmed { correct, keys })
    }

    async fn read<R, F>(&self, f: F) -> Result<R, UsersError>
    where
        F: FnOnce(&keiyaku_kernel::ReadTx) -> Result<R, UsersError> + Send + 'static,
        R: Send + 'static,
    {
        self.kernel.store.read(f).await
    }

    async fn write<R, F>(&self, f: F) -> Result<R, UsersError>
    where
        F: FnOnce(&mut Tx) -> Result<R, UsersError> + Send + 'static,
        R: Send + 'static,
    {
        self.kernel.store.write(f).await
    }

    /// A new initial password and its hash, made before the write transaction and under the
    /// process-wide argon2 bound shared with login (a burst of createUser queues for it).
    async fn new_secret() -> Result<InitialSecret, UsersError> {
        keiyaku_auth::password::run_bounded(InitialSecret::generate).await.map_err(UsersError::Hash)?
    }

    /// `getOrgTree`.
    pub async fn org_tree(&self, caller: &Caller) -> Result<Vec<CompanyNode>, UsersError> {
        let c = caller.clone();
        self.read(move |tx| service::org_tree(tx, &c)).await
    }

    /// `createCompany`.
    pub async fn create_company(&self, caller: &Caller, new: NewCompany) -> Result<(Company, Group), UsersError> {
        let c = caller.clone();
        self.write(move |tx| service::create_company(tx, &c, new)).await
    }

    /// `createGroup`.
    pub async fn create_group(
        &self,
        caller: &Caller,
        company_id: String,
        parent_group_id: Option<String>,
        name: String,
    ) -> Result<Group, UsersError> {
        let c = caller.clone();
        self.write(move |tx| service::create_group(tx, &c, &company_id, parent_group_id.as_deref(), &name)).await
    }

    /// `updateGroup`: rename and/or move.
    pub async fn update_group(
        &self,
        caller: &Caller,
        group_id: String,
        name: Option<String>,
        parent_group_id: Option<String>,
    ) -> Result<Group, UsersError> {
        let c = caller.clone();
        self.write(move |tx| service::update_group(tx, &c, &group_id, name.as_deref(), parent_group_id.as_deref()))
            .await
    }

    /// `listGroupUsers`.
    pub async fn list_group_users(
        &self,
        caller: &Caller,
        group_id: String,
        paging: Paging,
    ) -> Result<Paged<UserRow>, UsersError> {
        let c = caller.clone();
        self.read(move |tx| service::list_group_users(tx, &c, &group_id, paging)).await
    }

    /// `suggestUserId`.
    pub async fn suggest_user_id(&self, caller: &Caller, group_id: String) -> Result<Option<String>, UsersError> {
        let c = caller.clone();
        let index = self.index.clone();
        self.read(move |tx| {
            let ix = index.get(tx, &c.tenant)?;
            service::suggest_user_id(tx, &ix, &c, &group_id)
        })
        .await
    }

    /// `createUser`: checked first, then the initial password is hashed (outside any
    /// transaction), then everything is checked again and written in one transaction.
    pub async fn create_user(
        &self,
        caller: &Caller,
        group_id: String,
        input: NewUserInput,
    ) -> Result<User, UsersError> {
        // Creating does not change the generation: read it here, not in the write.
        let generation = {
            let (c, g, i) = (caller.clone(), group_id.clone(), input.clone());
            self.read(move |tx| {
                service::plan_create_user(tx, &c, &g, &i)?;
                Ok(search::generation(tx, &c.tenant)?)
            })
            .await?
        };
        let secret = Self::new_secret().await?;
        let c = caller.clone();
        let kernel = self.kernel.clone();
        let user = self.write(move |tx| service::create_user(tx, &kernel, &c, &group_id, &input, &secret)).await?;
        self.index.committed(&caller.tenant, &user, generation);
        Ok(user)
    }

    /// `searchUsers`.
    pub async fn search_users(
        &self,
        caller: &Caller,
        query: search::Query,
        paging: Paging,
    ) -> Result<Paged<UserRow>, UsersError> {
        let c = caller.clone();
        let index = self.index.clone();
        self.read(move |tx| {
            // Refuse before touching the index.
            scope::require(&c, scope::Op::SearchUsers, &scope::Target::Tenant, "tenant")?;
            let ix = index.get(tx, &c.tenant)?;
            service::search_users(tx, &ix, &c, &query, paging)
        })
        .await
    }

    /// [`Users::search_users`] on the calling thread (benchmarks, blocking contexts).
    pub fn search_users_blocking(
        &self,
        caller: &Caller,
        query: &search::Query,
        paging: Paging,
    ) -> Result<Paged<UserRow>, UsersError> {
        self.kernel.store.read_blocking(|tx| {
            scope::require(caller, scope::Op::SearchUsers, &scope::Target::Tenant, "tenant")?;
            let ix = self.index.get(tx, &caller.tenant)?;
            service::search_users(tx, &ix, caller, query, paging)
        })
    }

    /// `getUser`.
    pub async fn get_user(&self, caller: &Caller, user_id: String) -> Result<UserDetail, UsersError> {
        let c = caller.clone();
        self.read(move |tx| service::get_user(tx, &c, &user_id)).await
    }

    /// `updateUser`.
    pub async fn update_user(
        &self,
        caller: &Caller,
        user_id: String,
        changes: UserChanges,
    ) -> Result<User, UsersError> {
        let c = caller.clone();
        let (user, generation) = self
            .write(move |tx| {
                let user = service::update_user(tx, &c, &user_id, changes)?;
                Ok((user, search::generation(tx, &c.tenant)?))
            })
            .await?;
        self.index.committed(&caller.tenant, &user, generation);
        Ok(user)
    }

    /// `resetPassword`.
    pub async fn reset_password(&self, caller: &Caller, user_id: String) -> Result<User, UsersError> {
        {
            let (c, u) = (caller.clone(), user_id.clone());
            self.read(move |tx| service::plan_reset_password(tx, &c, &u)).await?;
        }
        let secret = Self::new_secret().await?;
        let c = caller.clone();
        let kernel = self.kernel.clone();
        self.write(move |tx| service::reset_password(tx, &kernel, &c, &user_id, &secret)).await
    }

    /// `getSeal`.
    pub async fn seal(&self, caller: &Caller, user_id: String) -> Result<seal::Seal, UsersError> {
        let c = caller.clone();
        self.read(move |tx| service::get_seal(tx, &c, &user_id)).await
    }

    /// `listDelegates`.
    pub async fn list_delegates(
        &self,
        caller: &Caller,
        signer_id: String,
    ) -> Result<Vec<delegates::Delegate>, UsersError> {
        let c = caller.clone();
        self.read(move |tx| delegates::list(tx, &c, &signer_id)).await
    }

    /// `addDelegates`: with `pin` (the signer only) the mandates are confirmed at once.
    /// Everything but the PIN is checked first, so a refused request never counts as a
    /// wrong PIN.
    pub async fn add_delegates(
        &self,
        caller: &Caller,
        signer_id: String,
        input: delegates::AddInput,
        pin: Option<String>,
    ) -> Result<Vec<delegates::Delegate>, UsersError> {
        let checked = match pin {
            None => None,
            Some(pin) => {
                let (c, s, i) = (caller.clone(), signer_id.clone(), input.clone());
                self.read(move |tx| delegates::plan_add(tx, &c, &s, &i).map(|_| ())).await?;
                if caller.user_id != signer_id {
                    return Err(UsersError::invalid("pin", delegates::only_the_signer()));
                }
                Some(self.check_pin(caller, &signer_id, pin).await?)
            }
        };
        let c = caller.clone();
        let (base, smtp) = (self.kernel.public_url(), self.kernel.config.mail.smtp_enabled());
        self.write(move |tx| {
            let confirmation = checked.as_ref().map(|k| delegates::Confirmation { correct: k.correct, keys: &*k.keys });
            delegates::add(tx, &c, &signer_id, &input, confirmation.as_ref(), &base, smtp)
        })
        .await?
    }

    /// `confirmDelegate`: the signer confirms a pending mandate with their PIN.
    pub async fn confirm_delegate(
        &self,
        caller: &Caller,
        signer_id: String,
        delegate_id: String,
        pin: String,
    ) -> Result<delegates::Mandate, UsersError> {
        {
            let (c, s, d) = (caller.clone(), signer_id.clone(), delegate_id.clone());
            self.read(move |tx| delegates::plan_confirm(tx, &c, &s, &d).map(|_| ())).await?;
        }
        let checked = self.check_pin(caller, &signer_id, pin).await?;
        let c = caller.clone();
        let smtp = self.kernel.config.mail.smtp_enabled();
        self.write(move |tx| {
            let confirmation = delegates::Confirmation { correct: checked.correct, keys: &*checked.keys };
            delegates::confirm(tx, &c, &signer_id, &delegate_id, &confirmation, smtp)
        })
        .await?
    }

    /// `getMandate`.
    pub async fn mandate(
        &self,
        caller: &Caller,
        signer_id: String,
        delegate_id: String,
    ) -> Result<(User, User, delegates::Mandate), UsersError> {
        let c = caller.clone();
        self.read(move |tx| delegates::get_mandate(tx, &c, &signer_id, &delegate_id)).await
    }

    /// `removeDelegate`.
    pub async fn remove_delegate(
        &self,
        caller: &Caller,
        signer_id: String,
        delegate_id: String,
    ) -> Result<(), UsersError> {
        let c = caller.clone();
        let smtp = self.kernel.config.mail.smtp_enabled();
        self.write(move |tx| delegates::remove(tx, &c, &signer_id, &delegate_id, smtp)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn initial_passwords_are_hashed_under_the_shared_argon2_bound() {
        // While every permit of the bound login uses is taken, createUser's hashing waits.
        let held = keiyaku_auth::password::hold_every_permit().await;
        assert!(held.is_some());
        let mut secret = tokio::spawn(Users::new_secret());
        assert!(
            tokio::time::timeout(Duration::from_millis(200), &mut secret).await.is_err(),
            "the initial password was hashed outside the bound"
        );
        drop(held);
        let secret = secret.await.unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|e| panic!("{e}"));
        assert!(keiyaku_auth::password::verify(&secret.password, &secret.hash));
    }
}
