//! Pages of the auth module: login (`/t/:tenant/login`), password change
//! (`/t/:tenant/password`, forced at first login or voluntary) and logout
//! (`POST /t/:tenant/logout`).

pub mod forms;
pub mod routes;
pub mod views;

use crate::Web;
use poem::{EndpointExt, Route, get, post};
use routes::{
    login_page, login_submit, login_totp_submit, logout, password_page, password_submit, totp_confirm, totp_enroll,
    totp_page, totp_remove,
};

pub(crate) fn mount(route: Route, web: &Web) -> Route {
    route
        .at("/t/:tenant/login", get(login_page).post(login_submit).data(web.clone()))
        .at("/t/:tenant/password", get(password_page).post(password_submit).data(web.clone()))
        .at("/t/:tenant/logout", post(logout).data(web.clone()))
        .at("/t/:tenant/login/totp", post(login_totp_submit).data(web.clone()))
        .at("/t/:tenant/totp", get(totp_page).data(web.clone()))
        .at("/t/:tenant/totp/enroll", post(totp_enroll).data(web.clone()))
        .at("/t/:tenant/totp/confirm", post(totp_confirm).data(web.clone()))
        .at("/t/:tenant/totp/remove", post(totp_remove).data(web.clone()))
}
