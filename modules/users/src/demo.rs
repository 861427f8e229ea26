//! The users module's part of the demo scenario (`serve --demo`), run after the auth module
//! created the demo directory in the same transaction: the seals of the demo signers
//! (HX000003, A1533602) and A1533602's delegate A1533601.

use crate::{delegates, seal};
use keiyaku_auth::demo::DEMO_TENANT;
use keiyaku_kernel::context::Actor;
use keiyaku_kernel::directory::{self, Role};
use keiyaku_kernel::store::{StoreError, Tx};

pub const DEMO_SIGNER: &str = "A1533602";
pub const DEMO_DELEGATE: &str = "A1533601";

pub fn seed(tx: &mut Tx) -> Result<(), StoreError> {
    let Some(tenant) = directory::get_tenant(tx, DEMO_TENANT)? else {
        return Ok(());
    };
    let actor = Actor::system();
    for user in directory::list_users(tx, DEMO_TENANT)? {
        if user.has(Role::Signer) {
            seal::ensure_seal(tx, &actor, &tenant, &user)?;
        }
    }
    let both = directory::get_user(tx, DEMO_TENANT, DEMO_SIGNER)?.is_some()
        && directory::get_user(tx, DEMO_TENANT, DEMO_DELEGATE)?.is_some();
    if both && !delegates::is_delegate(tx, DEMO_TENANT, DEMO_SIGNER, DEMO_DELEGATE)? {
        delegates::link(tx, &actor, DEMO_TENANT, DEMO_SIGNER, DEMO_DELEGATE)?;
    }
    Ok(())
}
