//! The HTTP API (`/api/v1`, OpenAPI): one file per module, each a `poem-openapi` service
//! over that module's domain functions. The domain crates know nothing of HTTP; this layer
//! parses, calls one service function and maps the result (`http.rs`: the request context,
//! problem+json errors, the body limit, client addresses).

pub mod enums;
pub mod http;

#[cfg(feature = "auth")]
pub mod auth;
#[cfg(feature = "certs")]
pub mod certs;
#[cfg(feature = "contracts")]
pub mod contracts;
#[cfg(feature = "integrations")]
pub mod integrations;
#[cfg(feature = "support")]
pub mod support;
#[cfg(feature = "users")]
pub mod users;
