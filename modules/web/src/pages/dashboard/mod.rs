//! The dashboard (`/t/:tenant/`, seed §1 (4)) and the 準備中 (coming soon) page every other
//! tenant path falls back to until a module provides it (`/t/:tenant/*rest`).
//!
//! The dashboard shows the operation menu, 確認待ち文書 (counts per role line), お知らせ with
//! リフレッシュ and サポート情報 (support files); the last three come from the support module
//! when it is compiled in (see `imp`).

pub mod routes;
#[cfg(test)]
mod tests;
pub mod views;

use crate::Web;
use poem::{EndpointExt, Route, get};
use routes::{coming_soon, dashboard, to_dashboard};

pub(crate) fn mount(route: Route, web: &Web) -> Route {
    route
        .at("/t/:tenant", get(to_dashboard))
        .at("/t/:tenant/", get(dashboard).data(web.clone()))
        .at("/t/:tenant/*rest", coming_soon.data(web.clone()))
}
