//! Pages of the users module: ユーザー管理 (seed §3, SPEC §2.5), under `/t/:tenant/`:
//!
//! - `admin/users[?group=ID&page=N]`: the company/group tree the caller may see on the left
//!   (ツリー表示), the members of the selected group on the right (「全N件」, paging, the
//!   新規ユーザー button where the caller may create users).
//! - `admin/users/new?group=ID`: 新規ユーザー (ユーザーの作成), the user ID pre-filled with the
//!   suggested one (vendor code + 2-digit sequence for partners).
//! - `admin/users/:user_id`: the user: attributes (an edit form with 権限, 有効/停止 and
//!   パスワード再発行 only where the caller may), and for a signer the detail of seed §3.2–3.4:
//!   電子証明書, 印影 (`…/seal.svg`) and 署名/電子捺印操作代行ユーザー with 削除 per row and 追加
//!   opening the search dialog (`?add=1`: rendered by the server, works without script).
//! - POST `admin/users/new`, `admin/users/:user_id` (update), `…/password-reset`,
//!   `…/delegates` (adds the checked users, with limits and — for the signer — the PIN),
//!   `…/delegates/:delegate_id/confirm` (the signer's PIN), `…/delegates/:delegate_id/delete`.
//!
//! Every rule and every permission comes from `keiyaku_users` ([`Users`] and its `scope`):
//! edit controls follow `getUser`'s permissions, and whatever a form sends is decided by the
//! service again. Every form carries the session's CSRF token; success redirects
//! (POST-redirect-GET) with a fixed `?done=` code; errors re-render the page with the
//! messages beside the fields.

pub mod forms;
pub mod routes;
#[cfg(test)]
mod tests;
pub mod views;

use crate::Web;
use poem::{EndpointExt, Route, get, post};
use routes::{
    delegate_confirm, delegate_remove, delegates_add, list_page, new_page, new_submit, reset_submit, seal_svg,
    user_page, user_submit,
};

pub fn mount(route: Route, web: &Web) -> Route {
    let w = || web.clone();
    route
        .at("/t/:tenant/admin/users", get(list_page).data(w()))
        .at("/t/:tenant/admin/users/new", get(new_page).post(new_submit).data(w()))
        .at("/t/:tenant/admin/users/:user_id", get(user_page).post(user_submit).data(w()))
        .at("/t/:tenant/admin/users/:user_id/seal.svg", get(seal_svg).data(w()))
        .at("/t/:tenant/admin/users/:user_id/password-reset", post(reset_submit).data(w()))
        .at("/t/:tenant/admin/users/:user_id/delegates", post(delegates_add).data(w()))
        .at("/t/:tenant/admin/users/:user_id/delegates/:delegate_id/delete", post(delegate_remove).data(w()))
        .at("/t/:tenant/admin/users/:user_id/delegates/:delegate_id/confirm", post(delegate_confirm).data(w()))
}
