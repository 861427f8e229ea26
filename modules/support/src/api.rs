//! HTTP API of the support module.

use poem_openapi::OpenApi;

pub struct SupportApi {
    pub auth: keiyaku_auth::Auth,
    pub support: crate::Support,
}

#[OpenApi]
impl SupportApi {}
