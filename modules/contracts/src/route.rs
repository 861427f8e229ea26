//! Circulation routes (回覧ルート): the default route of 注文書・請書 and the checks on a
//! route chosen at registration.

use crate::model::{Party, Step};
use keiyaku_kernel::FieldCode;
use keiyaku_kernel::directory::{self, Company, Role, User, UserStatus};
use keiyaku_kernel::store::{Read, StoreError};
use keiyaku_kernel::validate::{Invalid, Rule};

/// owner approver → partner person in charge → partner approver → partner signer → owner
/// administration → owner signer.
pub const DEFAULT: [(Party, Role); 6] = [
    (Party::Owner, Role::Approver),
    (Party::Partner, Role::PersonInCharge),
    (Party::Partner, Role::Approver),
    (Party::Partner, Role::Signer),
    (Party::Owner, Role::Administration),
    (Party::Owner, Role::Signer),
];

/// Most steps a route may have.
pub const MAX_STEPS: usize = 20;
/// Most users one step may have.
pub const MAX_USERS: usize = 20;

/// A step as asked for at registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepInput {
    pub party: Party,
    pub role: Role,
    /// Users chosen for the step; empty: every active user holding the role.
    pub users: Vec<String>,
}

/// The active users of `company` holding `role`: who may be chosen for such a step.
pub fn candidates(tx: &impl Read, tenant: &str, company_id: &str, role: Role) -> Result<Vec<User>, StoreError> {
    let mut users: Vec<User> = directory::list_users(tx, tenant)?
        .into_iter()
        .filter(|u| u.company_id == company_id && u.status == UserStatus::Active && u.has(role))
        .collect();
    users.sort_by(|a, b| a.user_id.cmp(&b.user_id));
    Ok(users)
}

fn custom(ja: String, en: String) -> Rule {
    Rule::Custom { code: FieldCode::InvalidRoute, ja, en }
}

/// Builds the route: `input` (or the default) with each step's users checked — existing,
/// active, of the step's company and holding its role — or, when none are given, every
/// such user. A step nobody can take is refused.
pub fn build(
    tx: &impl Read,
    tenant: &str,
    owner: &Company,
    partner: &Company,
    input: Option<Vec<StepInput>>,
) -> Result<Result<Vec<Step>, Vec<Invalid>>, StoreError> {
    let input = input.unwrap_or_else(|| {
        DEFAULT.iter().map(|(party, role)| StepInput { party: *party, role: *role, users: Vec::new() }).collect()
    });
    let mut invalid = Vec::new();
    if input.is_empty() {
        invalid.push(Invalid::new("route", Rule::Required));
    }
    if input.len() > MAX_STEPS {
        invalid.push(Invalid::new("route", Rule::TooLong { max: MAX_STEPS }));
        return Ok(Err(invalid));
    }
    if !input.iter().any(|s| s.role == Role::Signer) {
        invalid.push(Invalid::new(
            "route",
            custom("署名者のステップを含めてください。".into(), "The route needs a signer step.".into()),
        ));
    }
    let mut steps = Vec::new();
    for (i, s) in input.into_iter().enumerate() {
        let field = format!("route[{i}].users");
        let company = match s.party {
            Party::Owner => owner,
            Party::Partner => partner,
        };
        if s.role == Role::GroupAdmin || (s.role == Role::Administration && s.party == Party::Partner) {
            invalid.push(Invalid::new(format!("route[{i}].role"), Rule::Unknown { value: s.role.as_str().into() }));
            continue;
        }
        let holders = candidates(tx, tenant, &company.id, s.role)?;
        let users: Vec<String> = if s.users.is_empty() {
            holders.iter().map(|u| u.user_id.clone()).collect()
        } else {
            let mut chosen = s.users.clone();
            chosen.sort();
            chosen.dedup();
            if chosen.len() > MAX_USERS {
                invalid.push(Invalid::new(&field, Rule::TooLong { max: MAX_USERS }));
                continue;
            }
            if let Some(bad) = chosen.iter().find(|u| !holders.iter().any(|h| h.user_id == **u)) {
                invalid.push(Invalid::new(
                    &field,
                    custom(
                        format!(
                            "{}は{}の{}ではありません。",
                            bad.chars().take(32).collect::<String>(),
                            company.name,
                            s.role.label(keiyaku_kernel::Lang::Ja)
                        ),
                        format!(
                            "{} is not an active {} of {}.",
                            bad.chars().take(32).collect::<String>(),
                            s.role.label(keiyaku_kernel::Lang::En).to_lowercase(),
                            company.name
                        ),
                    ),
                ));
                continue;
            }
            chosen
        };
        if users.is_empty() {
            invalid.push(Invalid::new(
                &field,
                custom(
                    format!("{}に{}のユーザーがいません。", company.name, s.role.label(keiyaku_kernel::Lang::Ja)),
                    format!(
                        "{} has no active user with the role {}.",
                        company.name,
                        s.role.label(keiyaku_kernel::Lang::En).to_lowercase()
                    ),
                ),
            ));
            continue;
        }
        steps.push(Step { party: s.party, role: s.role, company_id: company.id.clone(), users, done: None });
    }
    Ok(if invalid.is_empty() { Ok(steps) } else { Err(invalid) })
}
