//! Pages of the support module.

use crate::Web;
use poem::Route;

pub fn mount(route: Route, _web: &Web) -> Route {
    route
}
