use crate::layout::Msg;
use crate::query::Pairs;
use keiyaku_kernel::directory::{Role, User, UserStatus};
use keiyaku_kernel::error::FieldError;
use keiyaku_users::service::Paging;
use poem::http::StatusCode;

/// Sub e-mail fields the forms offer at least.
pub(super) const SUB_EMAIL_FIELDS: usize = 2;

/// `?page=` as a page number (1 when missing or not a number).
pub(super) fn page_of(p: &Pairs) -> usize {
    p.get("page").trim().parse::<usize>().ok().filter(|n| (1..=1_000_000).contains(n)).unwrap_or(1)
}

pub(super) fn paging(page: usize, per_page: usize) -> Paging {
    let to_i64 = |n: usize| i64::try_from(n).unwrap_or(1);
    Paging::new(Some(to_i64(page)), Some(to_i64(per_page))).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------
// Forms shared by 新規ユーザー and the user page

/// The values of the user form (as typed, or as stored).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserForm {
    pub user_id: String,
    pub name: String,
    pub email: String,
    /// Non-blank entries only, in order: the service numbers its errors (`sub_emails[i]`)
    /// over this list, so field `i` shows the errors of entry `i`.
    pub sub_emails: Vec<String>,
    pub title: String,
    /// The role names as sent (unknown ones are the service's to refuse).
    pub roles: Vec<String>,
    pub status: String,
}

impl UserForm {
    pub fn of_user(u: &User) -> Self {
        Self {
            user_id: u.user_id.clone(),
            name: u.name.clone(),
            email: u.email.clone(),
            sub_emails: u.sub_emails.clone(),
            title: u.title.clone().unwrap_or_default(),
            roles: u.roles.iter().map(|r| r.as_str().to_string()).collect(),
            status: match u.status {
                UserStatus::Active => "active".into(),
                UserStatus::Suspended => "suspended".into(),
            },
        }
    }

    pub fn of_pairs(p: &Pairs) -> Self {
        Self {
            user_id: p.get("user_id").trim().to_string(),
            name: p.get("name").to_string(),
            email: p.get("email").trim().to_string(),
            sub_emails: p
                .all("sub_emails")
                .into_iter()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
            title: p.get("title").to_string(),
            roles: p.all("roles"),
            status: p.get("status").to_string(),
        }
    }

    pub(super) fn has_role(&self, r: Role) -> bool {
        self.roles.iter().any(|n| n == r.as_str())
    }
}

/// What a request asks of the user page beyond the stored data.
#[derive(Default)]
pub(super) struct DetailInput {
    pub(super) status: Option<StatusCode>,
    pub(super) msg: Option<Msg>,
    pub(super) form: Option<UserForm>,
    pub(super) errors: Vec<FieldError>,
    pub(super) dialog: Option<DialogInput>,
    pub(super) editing: bool,
}

#[derive(Default)]
pub(super) struct DialogInput {
    pub(super) user_id: String,
    pub(super) name: String,
    pub(super) searched: bool,
    pub(super) page: usize,
    pub(super) checked: Vec<String>,
    pub(super) msg: Option<Msg>,
}

impl DialogInput {
    pub(super) fn of(p: &Pairs) -> Self {
        Self {
            user_id: p.get("q_user_id").trim().to_string(),
            name: p.get("q_name").trim().to_string(),
            searched: p.has("search"),
            page: page_of(p),
            checked: Vec::new(),
            msg: None,
        }
    }
}
