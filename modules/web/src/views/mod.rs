//! Views more than one module's pages show. A page folder never imports another page; a
//! piece of markup two modules' pages render lives here, behind the feature of the module
//! whose data it shows.

#[cfg(feature = "certs")]
pub mod certificate;
