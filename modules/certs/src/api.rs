//! HTTP API of the certs module.

use poem_openapi::OpenApi;

pub struct CertsApi {
    pub auth: keiyaku_auth::Auth,
    pub certs: crate::Certs,
}

#[OpenApi]
impl CertsApi {}
