//! HTTP API of the users module.

use poem_openapi::OpenApi;

pub struct UsersApi {
    pub auth: keiyaku_auth::Auth,
    pub users: crate::Users,
}

#[OpenApi]
impl UsersApi {}
