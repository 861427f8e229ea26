use super::forms::{DetailInput, DialogInput, UserForm, page_of, paging};
use super::views::{
    DIALOG_PER_PAGE, DetailView, DialogView, ListView, MEMBERS_PER_PAGE, Member, NewView, Pane, default_group,
    detail_view, done_msg, find_group, forbidden_msg, list_view, message_view, new_view, no_certificate, not_found_msg,
    user_href,
};
use crate::Web;
use crate::layout::{self, Msg, PageCtx, expired_form, invalid_msg};
use crate::page::PageResult;
use crate::query::Pairs;
use crate::session::{CSRF_FIELD, Need, Signed, signed_in};
use keiyaku_kernel::directory::{Role, UserStatus};
use keiyaku_kernel::error::{ApiError, FieldError};
use keiyaku_users::delegates::AddInput;
use keiyaku_users::scope::{self, Op, Target};
use keiyaku_users::search::Query as SearchQuery;
use keiyaku_users::service::{self, CompanyNode, NewUserInput, Paged, UserChanges};
use keiyaku_users::{UserRow, Users, UsersError};
use maud::{Markup, html};
use poem::http::{StatusCode, header};
use poem::web::{Data, Form, Path};
use poem::{Request, Response, handler};

// ---------------------------------------------------------------------------------------
// Opening a page, refusing

pub(super) async fn open<'a>(
    web: &'a Web,
    req: &Request,
    tenant: &str,
) -> Result<(PageCtx, Signed, &'a Users), Response> {
    let pc = PageCtx::of(req);
    let s = signed_in(web, &pc, req, tenant, Need::Ready).await?;
    Ok((pc, s, &web.users))
}

/// The page for a refusal or failure of the service.
pub(super) fn refused(pc: &PageCtx, s: &Signed, e: &UsersError) -> Response {
    let (status, msg) = match e {
        UsersError::Forbidden => (StatusCode::FORBIDDEN, forbidden_msg(pc)),
        UsersError::NotFound(what) => (StatusCode::NOT_FOUND, not_found_msg(pc, what)),
        e if e.status() >= 500 => return layout::server_error(pc, e),
        e => {
            let p = e.problem(pc.lang);
            (StatusCode::from_u16(p.status).unwrap_or(StatusCode::BAD_REQUEST), Msg::from_problem(&p))
        }
    };
    pc.respond(status, message_view(pc, s, &msg))
}

/// A service error as status, message and field errors; None for server errors.
fn failure(pc: &PageCtx, e: &UsersError) -> Option<(StatusCode, Msg, Vec<FieldError>)> {
    if e.status() >= 500 {
        return None;
    }
    let p = e.problem(pc.lang);
    let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::BAD_REQUEST);
    let msg = match e {
        UsersError::Forbidden => forbidden_msg(pc),
        UsersError::Invalid(_) => invalid_msg(pc),
        _ => Msg::from_problem(&p),
    };
    Some((status, msg, p.errors))
}

async fn last_logins(users: &Users, tenant: &str, rows: Vec<UserRow>) -> Result<Vec<Member>, UsersError> {
    let tenant = tenant.to_string();
    users
        .kernel
        .store
        .read(move |tx| {
            let logins = service::last_logins(tx, &tenant, &rows)?;
            Ok(rows.into_iter().zip(logins).map(|(row, last_login)| Member { row, last_login }).collect())
        })
        .await
}

#[handler]
pub(super) async fn list_page(req: &Request, Path(tenant): Path<String>, Data(web): Data<&Web>) -> PageResult {
    let (pc, s, users) = open(web, req, &tenant).await?;
    let q = Pairs::of_query(req);
    let tree = match users.org_tree(s.caller()).await {
        Ok(t) => t,
        Err(e) => return Ok(refused(&pc, &s, &e)),
    };
    let asked = Some(q.get("group").trim()).filter(|g| !g.is_empty()).map(str::to_string);
    let selected = asked.clone().or_else(|| default_group(&tree, &s.caller().group_id));
    let mut status = StatusCode::OK;
    let pane = match selected.as_deref().map(|g| (g, find_group(&tree, g))) {
        None => Pane::Message(Msg::info(pc.t("グループが登録されていません。", "There are no groups."))),
        Some((_, None)) => {
            status = StatusCode::NOT_FOUND;
            Pane::Message(not_found_msg(&pc, "group"))
        }
        Some((_, Some((company, node)))) => {
            let page = paging(page_of(&q), MEMBERS_PER_PAGE);
            match users.list_group_users(s.caller(), node.group.id.clone(), page).await {
                Ok(p) => {
                    let items = match last_logins(users, &s.tenant_code, p.items).await {
                        Ok(m) => m,
                        Err(e) => return Ok(layout::server_error(&pc, &e)),
                    };
                    let page = Paged { items, total: p.total, page: p.page, per_page: p.per_page };
                    let can_create = scope::can(s.caller(), Op::CreateUser, &Target::group(&node.group));
                    Pane::Members { company, group: node, page, can_create }
                }
                Err(e) => match failure(&pc, &e) {
                    Some((st, msg, _)) => {
                        status = st;
                        Pane::Message(msg)
                    }
                    None => return Ok(layout::server_error(&pc, &e)),
                },
            }
        }
    };
    let view = ListView { tree: &tree, selected: selected.as_deref(), pane, msg: done_msg(&q, pc.lang) };
    Ok(pc.respond(status, list_view(&pc, &s, &view)))
}

/// Loads the tree and the group of the new-user page (or the page to answer instead).
async fn new_context(users: &Users, pc: &PageCtx, s: &Signed, group_id: &str) -> Result<Vec<CompanyNode>, Response> {
    let tree = users.org_tree(s.caller()).await.map_err(|e| refused(pc, s, &e))?;
    if find_group(&tree, group_id).is_none() {
        return Err(refused(pc, s, &UsersError::NotFound("group")));
    }
    Ok(tree)
}

#[handler]
pub(super) async fn new_page(req: &Request, Path(tenant): Path<String>, Data(web): Data<&Web>) -> PageResult {
    let (pc, s, users) = open(web, req, &tenant).await?;
    let q = Pairs::of_query(req);
    let group_id = match Some(q.get("group").trim()).filter(|g| !g.is_empty()) {
        Some(g) => g.to_string(),
        None => s.caller().group_id.clone(),
    };
    let tree = new_context(users, &pc, &s, &group_id).await?;
    // Asking for the suggestion is also the permission check (CreateUser in this group).
    let suggested = match users.suggest_user_id(s.caller(), group_id.clone()).await {
        Ok(id) => id.unwrap_or_default(),
        Err(e) => return Ok(refused(&pc, &s, &e)),
    };
    let Some((company, group)) = find_group(&tree, &group_id) else {
        return Ok(refused(&pc, &s, &UsersError::NotFound("group")));
    };
    let form =
        UserForm { user_id: suggested, roles: vec![Role::PersonInCharge.as_str().into()], ..UserForm::default() };
    let view = NewView { tree: &tree, company, group, form: &form, msg: None, errors: &[] };
    Ok(pc.respond(StatusCode::OK, new_view(&pc, &s, &view)))
}

#[handler]
pub(super) async fn new_submit(
    req: &Request,
    Path(tenant): Path<String>,
    Data(web): Data<&Web>,
    form: poem::Result<Form<Vec<(String, String)>>>,
) -> PageResult {
    let (pc, s, users) = open(web, req, &tenant).await?;
    let Ok(Form(pairs)) = form else {
        return Ok(layout::bad_form(&pc));
    };
    let p = Pairs(pairs);
    let group_id = p.get("group").trim().to_string();
    let tree = new_context(users, &pc, &s, &group_id).await?;
    let Some((company, group)) = find_group(&tree, &group_id) else {
        return Ok(refused(&pc, &s, &UsersError::NotFound("group")));
    };
    let form = UserForm::of_pairs(&p);
    let again = |status: StatusCode, msg: Msg, errors: &[FieldError]| {
        let view = NewView { tree: &tree, company, group, form: &form, msg: Some(msg), errors };
        pc.respond(status, new_view(&pc, &s, &view))
    };
    if !s.check_csrf(p.get(CSRF_FIELD)) {
        return Ok(again(StatusCode::FORBIDDEN, expired_form(&pc), &[]));
    }
    let input = NewUserInput {
        user_id: Some(form.user_id.clone()).filter(|id| !id.is_empty()),
        name: form.name.clone(),
        email: form.email.clone(),
        sub_emails: form.sub_emails.clone(),
        roles: form.roles.clone(),
        title: Some(form.title.trim().to_string()).filter(|t| !t.is_empty()),
    };
    Ok(match users.create_user(s.caller(), group_id.clone(), input).await {
        Ok(user) => layout::see_other(&format!("{}?done=created", user_href(&s.tenant_code, &user.user_id)), &[]),
        Err(e @ UsersError::NotFound(_)) => refused(&pc, &s, &e),
        Err(e) => match failure(&pc, &e) {
            Some((status, msg, errors)) => again(status, msg, &errors),
            None => layout::server_error(&pc, &e),
        },
    })
}

/// The 電子証明書 section: the certs module's box when it is compiled in and shows one.
#[cfg(feature = "certs")]
async fn certificate_box(web: &Web, pc: &PageCtx, s: &Signed, user_id: &str) -> Markup {
    let m = crate::views::certificate::certificate_section_for(web, pc, s, user_id).await;
    if m.0.is_empty() {
        no_certificate(pc)
    } else {
        html! { div.um-cert-slot { (m) } }
    }
}

/// The 電子証明書 section without the certs module.
#[cfg(not(feature = "certs"))]
async fn certificate_box(_web: &Web, pc: &PageCtx, _s: &Signed, _user_id: &str) -> Markup {
    no_certificate(pc)
}

async fn render_detail(
    web: &Web,
    users: &Users,
    pc: &PageCtx,
    s: &Signed,
    user_id: &str,
    input: DetailInput,
) -> Response {
    let detail = match users.get_user(s.caller(), user_id.to_string()).await {
        Ok(d) => d,
        Err(e) => return refused(pc, s, &e),
    };
    let user = &detail.row.user;
    let signer = user.has(Role::Signer);
    let tree = users.org_tree(s.caller()).await.ok();
    let delegates = if signer {
        match users.list_delegates(s.caller(), user.user_id.clone()).await {
            Ok(l) => Some(l),
            Err(e) => return refused(pc, s, &e),
        }
    } else {
        None
    };
    let certificate = if signer {
        certificate_box(web, pc, s, &user.user_id).await
    } else {
        html! {}
    };
    let mut dialog_in = input.dialog.filter(|_| signer && detail.can_manage_delegates);
    let mut results = None;
    if let Some(di) = dialog_in.as_mut()
        && di.searched
    {
        let query = SearchQuery {
            q: None,
            user_id: Some(di.user_id.clone()).filter(|v| !v.is_empty()),
            name: Some(di.name.clone()).filter(|v| !v.is_empty()),
            status: Some(UserStatus::Active),
        };
        match users.search_users(s.caller(), query, paging(di.page, DIALOG_PER_PAGE)).await {
            Ok(r) => results = Some(r),
            Err(e) => match failure(pc, &e) {
                Some((_, msg, errors)) => {
                    let detail = errors.first().map(|f| f.message.clone());
                    di.msg = di.msg.take().or(Some(Msg::error(msg.title, detail.or(msg.detail))));
                }
                None => return layout::server_error(pc, &e),
            },
        }
    }
    let form = input.form.unwrap_or_else(|| UserForm::of_user(user));
    let can_grant_administration = scope::can(s.caller(), Op::GrantAdministration, &Target::user(user));
    let dialog = dialog_in.as_ref().map(|di| DialogView {
        user_id: &di.user_id,
        name: &di.name,
        results: results.as_ref(),
        page: di.page,
        msg: di.msg.clone(),
        checked: &di.checked,
    });
    let view = DetailView {
        tree: tree.as_deref(),
        detail: &detail,
        form: &form,
        errors: &input.errors,
        msg: input.msg,
        can_grant_administration,
        certificate,
        delegates: delegates.as_deref(),
        dialog,
        editing: input.editing,
    };
    pc.respond(input.status.unwrap_or(StatusCode::OK), detail_view(pc, s, &view))
}

#[handler]
pub(super) async fn user_page(
    req: &Request,
    Path((tenant, user_id)): Path<(String, String)>,
    Data(web): Data<&Web>,
) -> PageResult {
    let (pc, s, users) = open(web, req, &tenant).await?;
    let q = Pairs::of_query(req);
    let input = DetailInput {
        msg: done_msg(&q, pc.lang),
        dialog: q.has("add").then(|| DialogInput::of(&q)),
        editing: q.has("edit"),
        ..DetailInput::default()
    };
    Ok(render_detail(web, users, &pc, &s, &user_id, input).await)
}

/// Opens the page of a form posted about `user_id` and reads the form, checking the CSRF
/// token; Err is the page to answer with (a refused token shows the user page again, with
/// the search dialog when `dialog`).
async fn open_posted<'a>(
    web: &'a Web,
    req: &Request,
    (tenant, user_id): (&str, &str),
    form: poem::Result<Form<Vec<(String, String)>>>,
    dialog: bool,
) -> Result<(PageCtx, Signed, &'a Users, Pairs), Response> {
    let (pc, s, users) = open(web, req, tenant).await?;
    let Ok(Form(pairs)) = form else {
        return Err(layout::bad_form(&pc));
    };
    let p = Pairs(pairs);
    if !s.check_csrf(p.get(CSRF_FIELD)) {
        let mut input =
            DetailInput { status: Some(StatusCode::FORBIDDEN), msg: Some(expired_form(&pc)), ..DetailInput::default() };
        if dialog {
            input.dialog = Some(DialogInput { searched: true, ..DialogInput::of(&p) });
        }
        return Err(render_detail(web, users, &pc, &s, user_id, input).await);
    }
    Ok((pc, s, users, p))
}

#[handler]
pub(super) async fn user_submit(
    req: &Request,
    Path((tenant, user_id)): Path<(String, String)>,
    Data(web): Data<&Web>,
    form: poem::Result<Form<Vec<(String, String)>>>,
) -> PageResult {
    let (pc, s, users, p) = open_posted(web, req, (&tenant, &user_id), form, false).await?;
    let form = UserForm::of_pairs(&p);
    let access = p.has("access");
    let changes = UserChanges {
        name: Some(form.name.clone()),
        email: Some(form.email.clone()),
        sub_emails: Some(form.sub_emails.clone()),
        roles: access.then(|| form.roles.clone()),
        status: access.then(|| form.status.clone()),
        title: Some(Some(form.title.trim().to_string()).filter(|t| !t.is_empty())),
    };
    Ok(match users.update_user(s.caller(), user_id.clone(), changes).await {
        Ok(u) => layout::see_other(&format!("{}?done=updated", user_href(&s.tenant_code, &u.user_id)), &[]),
        Err(e @ (UsersError::NotFound(_) | UsersError::Forbidden)) => refused(&pc, &s, &e),
        Err(e) => match failure(&pc, &e) {
            Some((status, msg, errors)) => {
                let input = DetailInput {
                    status: Some(status),
                    msg: Some(msg),
                    form: Some(form),
                    errors,
                    dialog: None,
                    editing: true,
                };
                render_detail(web, users, &pc, &s, &user_id, input).await
            }
            None => layout::server_error(&pc, &e),
        },
    })
}

#[handler]
pub(super) async fn reset_submit(
    req: &Request,
    Path((tenant, user_id)): Path<(String, String)>,
    Data(web): Data<&Web>,
    form: poem::Result<Form<Vec<(String, String)>>>,
) -> PageResult {
    let (pc, s, users, _) = open_posted(web, req, (&tenant, &user_id), form, false).await?;
    Ok(match users.reset_password(s.caller(), user_id.clone()).await {
        Ok(u) => layout::see_other(&format!("{}?done=password_reset", user_href(&s.tenant_code, &u.user_id)), &[]),
        Err(e) => refused(&pc, &s, &e),
    })
}

/// The messages of a refused `addDelegates`: each bad ID with its reason.
fn delegate_errors(pc: &PageCtx, e: &UsersError, ids: &[String]) -> Option<Msg> {
    let (_, msg, errors) = failure(pc, e)?;
    let lines: Vec<String> = errors
        .iter()
        .map(|fe| {
            let idx = fe
                .field
                .strip_prefix("user_ids[")
                .and_then(|r| r.strip_suffix(']'))
                .and_then(|i| i.parse::<usize>().ok());
            match idx.and_then(|i| ids.get(i)) {
                Some(id) => format!("{id}: {}", fe.message),
                None => fe.message.clone(),
            }
        })
        .collect();
    let detail = if lines.is_empty() { msg.detail } else { Some(lines.join(" / ")) };
    let title = match e {
        UsersError::Invalid(_) => {
            pc.t("追加できないユーザーが含まれています。", "Some of the chosen users cannot be added.").to_string()
        }
        _ => msg.title,
    };
    Some(Msg::error(title, detail))
}

#[handler]
pub(super) async fn delegates_add(
    req: &Request,
    Path((tenant, user_id)): Path<(String, String)>,
    Data(web): Data<&Web>,
    form: poem::Result<Form<Vec<(String, String)>>>,
) -> PageResult {
    let (pc, s, users, p) = open_posted(web, req, (&tenant, &user_id), form, true).await?;
    let ids: Vec<String> =
        p.all("user_ids").into_iter().map(|i| i.trim().to_string()).filter(|i| !i.is_empty()).collect();
    let again = |status: StatusCode, msg: Msg, checked: Vec<String>| {
        let dialog = DialogInput { searched: true, checked, msg: Some(msg), ..DialogInput::of(&p) };
        let input = DetailInput { status: Some(status), dialog: Some(dialog), ..DetailInput::default() };
        render_detail(web, users, &pc, &s, &user_id, input)
    };
    if ids.is_empty() {
        let msg = Msg::error(pc.t("追加するユーザーを選択してください。", "Choose the users to add."), None);
        return Ok(again(StatusCode::UNPROCESSABLE_ENTITY, msg, ids).await);
    }
    let amount = p.get("max_amount").trim().replace([',', '，'], "");
    let max_amount = match amount.as_str() {
        "" => None,
        a => match a.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                let msg = Msg::error(
                    pc.t("金額の上限は数字で入力してください。", "Enter the largest amount in digits."),
                    None,
                );
                return Ok(again(StatusCode::UNPROCESSABLE_ENTITY, msg, ids).await);
            }
        },
    };
    let input = AddInput {
        user_ids: ids.clone(),
        valid_until: Some(p.get("valid_until").to_string()).filter(|v| !v.trim().is_empty()),
        max_amount,
        doc_types: p.all("doc_types"),
    };
    let pin = Some(p.get("pin").trim().to_string()).filter(|v| !v.is_empty());
    Ok(match users.add_delegates(s.caller(), user_id.clone(), input, pin).await {
        Ok(_) => {
            layout::see_other(&format!("{}?done=delegates_added#delegates", user_href(&s.tenant_code, &user_id)), &[])
        }
        Err(e @ (UsersError::NotFound(_) | UsersError::Forbidden)) => refused(&pc, &s, &e),
        Err(e) => match delegate_errors(&pc, &e, &ids) {
            Some(msg) => {
                let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
                again(status, msg, ids).await
            }
            None => layout::server_error(&pc, &e),
        },
    })
}

/// 確認: the signer confirms a mandate with their certificate PIN.
#[handler]
pub(super) async fn delegate_confirm(
    req: &Request,
    Path((tenant, user_id, delegate_id)): Path<(String, String, String)>,
    Data(web): Data<&Web>,
    form: poem::Result<Form<Vec<(String, String)>>>,
) -> PageResult {
    let (pc, s, users, p) = open_posted(web, req, (&tenant, &user_id), form, false).await?;
    let pin = p.get("pin").trim().to_string();
    Ok(match users.confirm_delegate(s.caller(), user_id.clone(), delegate_id, pin).await {
        Ok(_) => layout::see_other(
            &format!("{}?done=delegate_confirmed#delegates", user_href(&s.tenant_code, &user_id)),
            &[],
        ),
        Err(e @ (UsersError::NotFound(_) | UsersError::Forbidden)) => refused(&pc, &s, &e),
        Err(e) => match failure(&pc, &e) {
            Some((status, msg, _)) => {
                let input = DetailInput { status: Some(status), msg: Some(msg), ..DetailInput::default() };
                render_detail(web, users, &pc, &s, &user_id, input).await
            }
            None => layout::server_error(&pc, &e),
        },
    })
}

#[handler]
pub(super) async fn delegate_remove(
    req: &Request,
    Path((tenant, user_id, delegate_id)): Path<(String, String, String)>,
    Data(web): Data<&Web>,
    form: poem::Result<Form<Vec<(String, String)>>>,
) -> PageResult {
    let (pc, s, users, _) = open_posted(web, req, (&tenant, &user_id), form, false).await?;
    Ok(match users.remove_delegate(s.caller(), user_id.clone(), delegate_id).await {
        Ok(()) => {
            layout::see_other(&format!("{}?done=delegate_removed#delegates", user_href(&s.tenant_code, &user_id)), &[])
        }
        // Removed already (another window): say so on the page.
        Err(UsersError::NotFound("delegate")) => {
            let input = DetailInput {
                status: Some(StatusCode::NOT_FOUND),
                msg: Some(not_found_msg(&pc, "delegate")),
                ..DetailInput::default()
            };
            render_detail(web, users, &pc, &s, &user_id, input).await
        }
        Err(e) => refused(&pc, &s, &e),
    })
}

/// The stored seal as `image/svg+xml`, for the page's `<img>` (the API's seal needs a bearer
/// token; this one the session cookie).
#[handler]
pub(super) async fn seal_svg(
    req: &Request,
    Path((tenant, user_id)): Path<(String, String)>,
    Data(web): Data<&Web>,
) -> PageResult {
    let (_pc, s, users) = open(web, req, &tenant).await?;
    Ok(match users.seal(s.caller(), user_id).await {
        Ok(seal) => Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "image/svg+xml")
            .header(header::CACHE_CONTROL, "private, max-age=300")
            .body(seal.svg),
        Err(e) => {
            if e.status() >= 500 {
                tracing::error!(error = %e, "seal image failed");
            }
            Response::builder()
                .status(StatusCode::from_u16(e.status()).unwrap_or(StatusCode::NOT_FOUND))
                .header(header::CACHE_CONTROL, "no-store")
                .finish()
        }
    })
}
