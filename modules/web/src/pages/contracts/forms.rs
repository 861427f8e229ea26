use super::views::FREE_FIELDS;
use crate::Web;
use crate::query::{Pairs, enc};
use keiyaku_contracts::route::DEFAULT as DEFAULT_ROUTE;
use keiyaku_contracts::{NewContract, NewDocument, RouteStepInput, SearchInput};
use keiyaku_kernel::FieldCode;
use keiyaku_kernel::Lang;
use keiyaku_kernel::error::FieldError;
use poem::web::Multipart;
use serde::Deserialize;

// ---------------------------------------------------------------------------------------
// 契約検索 / 文書検索

/// The search criteria as given (query string), in the service's names.
#[derive(Debug, Clone, Default)]
pub struct Criteria(Vec<(&'static str, String)>);

impl Criteria {
    pub fn of(p: &Pairs) -> Self {
        Criteria(SearchInput::FIELDS.iter().map(|n| (*n, p.get(n).trim().chars().take(200).collect())).collect())
    }

    pub fn get(&self, name: &str) -> &str {
        self.0.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str()).unwrap_or_default()
    }

    /// The query string of the non-empty criteria, with `set` replacing or adding values.
    pub fn query(&self, set: &[(&str, &str)]) -> String {
        let mut parts: Vec<String> = self
            .0
            .iter()
            .filter(|(k, v)| !v.is_empty() && !set.iter().any(|(n, _)| n == k))
            .map(|(k, v)| format!("{k}={}", enc(v)))
            .collect();
        parts.extend(set.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| format!("{k}={}", enc(v))));
        parts.join("&")
    }

    /// The service's input; amounts that are not numbers are field errors.
    pub fn input(&self, lang: Lang) -> Result<SearchInput, Vec<FieldError>> {
        let opt = |n: &str| Some(self.get(n).to_string()).filter(|v| !v.is_empty());
        let mut errors = Vec::new();
        let mut amount = |n: &str| match parse_amount(self.get(n)) {
            Ok(a) => a,
            Err(_) => {
                errors.push(not_a_number(n, lang));
                None
            }
        };
        let (amount_min, amount_max) = (amount("amount_min"), amount("amount_max"));
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(SearchInput {
            date_from: opt("date_from"),
            date_to: opt("date_to"),
            amount_min,
            amount_max,
            counterparty: opt("counterparty"),
            number: opt("number"),
            title: opt("title"),
            doc_type: opt("doc_type"),
            status: opt("status"),
            step: opt("step"),
            registrant: opt("registrant"),
            sort: opt("sort"),
            order: opt("order"),
        })
    }
}

pub(super) fn not_a_number(field: &str, lang: Lang) -> FieldError {
    FieldError {
        field: field.to_string(),
        code: FieldCode::NotANumber,
        message: lang.pick("半角数字で入力してください。", "Enter a number.").to_string(),
    }
}

/// An amount as typed: digits, optionally with `,`, `¥` and spaces; empty is None.
pub fn parse_amount(s: &str) -> Result<Option<i64>, std::num::ParseIntError> {
    let t: String = s.chars().filter(|c| !matches!(c, ',' | '¥' | '￥' | ' ' | '円')).collect();
    if t.is_empty() {
        return Ok(None);
    }
    t.parse::<i64>().map(Some)
}

// ---------------------------------------------------------------------------------------
// 契約登録

/// The registration form as sent (kept on errors; the files must be chosen again).
#[derive(Debug, Clone, Default)]
pub struct RegisterForm {
    pub counterparty: String,
    pub number: String,
    pub title: String,
    pub doc_type: String,
    pub transaction_date: String,
    pub amount: String,
    pub tax: String,
    pub fields: [(String, String); FREE_FIELDS],
    /// The user chosen per default route step ("" = every holder).
    pub route: [String; DEFAULT_ROUTE.len()],
}

pub(super) fn max_documents(web: &Web) -> usize {
    web.kernel.config.section::<keiyaku_contracts::ContractsConfig>().max_documents
}

/// An uploaded file part: its name and content, or that it is over `max`.
pub(super) async fn read_file(field: poem::web::Field, max: usize) -> Option<(String, Vec<u8>, bool)> {
    use tokio::io::AsyncReadExt;
    let name = field.file_name().unwrap_or_default().chars().take(300).collect::<String>();
    let mut bytes = Vec::new();
    let mut r = field.into_async_read().take(max as u64 + 1);
    r.read_to_end(&mut bytes).await.ok()?;
    let too_large = bytes.len() > max;
    if too_large {
        bytes.clear();
    }
    Some((name, bytes, too_large))
}

pub(super) struct RegisterFields {
    pub(super) csrf: String,
    pub(super) form: RegisterForm,
    pub(super) documents: Vec<NewDocument>,
    pub(super) too_large: bool,
}

pub(super) async fn read_register(mut mp: Multipart, max: usize, max_docs: usize) -> Option<RegisterFields> {
    let mut out =
        RegisterFields { csrf: String::new(), form: RegisterForm::default(), documents: Vec::new(), too_large: false };
    while let Some(field) = mp.next_field().await.ok()? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "documents" {
            let (file, bytes, too_large) = read_file(field, max).await?;
            out.too_large |= too_large;
            if !(file.is_empty() && bytes.is_empty()) && out.documents.len() <= max_docs {
                out.documents.push(NewDocument { name: file, bytes, pages: None });
            }
            continue;
        }
        let text: String = field.text().await.ok()?.chars().take(2000).collect();
        let f = &mut out.form;
        match name.as_str() {
            "csrf" => out.csrf = text,
            "counterparty" => f.counterparty = text,
            "number" => f.number = text,
            "title" => f.title = text,
            "doc_type" => f.doc_type = text,
            "transaction_date" => f.transaction_date = text,
            "amount" => f.amount = text,
            "tax" => f.tax = text,
            other => {
                if let Some(rest) = other.strip_prefix("fields[")
                    && let Some((i, part)) = rest.split_once("].")
                    && let Ok(i) = i.parse::<usize>()
                    && let Some(slot) = f.fields.get_mut(i)
                {
                    match part {
                        "name" => slot.0 = text,
                        "value" => slot.1 = text,
                        _ => {}
                    }
                } else if let Some(rest) = other.strip_prefix("route[")
                    && let Some(i) = rest.strip_suffix("].users")
                    && let Ok(i) = i.parse::<usize>()
                    && let Some(slot) = f.route.get_mut(i)
                {
                    *slot = text;
                }
            }
        }
    }
    Some(out)
}

/// The service's input from the form; the indices of the free fields sent (errors name
/// them by position among those sent).
pub(super) fn new_contract(f: &RegisterForm, documents: Vec<NewDocument>) -> (NewContract, Vec<usize>) {
    let mut sent = Vec::new();
    let mut fields = Vec::new();
    for (i, (n, v)) in f.fields.iter().enumerate() {
        if !n.trim().is_empty() || !v.trim().is_empty() {
            sent.push(i);
            fields.push(keiyaku_contracts::model::Field { name: n.clone(), value: v.clone() });
        }
    }
    let route = if f.route.iter().all(|u| u.trim().is_empty()) {
        None
    } else {
        Some(
            DEFAULT_ROUTE
                .iter()
                .zip(&f.route)
                .map(|((party, role), user)| RouteStepInput {
                    party: party.as_str().into(),
                    role: role.as_str().into(),
                    users: if user.trim().is_empty() { Vec::new() } else { vec![user.trim().to_string()] },
                })
                .collect(),
        )
    };
    let new = NewContract {
        number: f.number.clone(),
        title: f.title.clone(),
        doc_type: f.doc_type.clone(),
        counterparty: f.counterparty.clone(),
        transaction_date: f.transaction_date.clone(),
        amount: parse_amount(&f.amount).ok().flatten(),
        tax: f.tax.clone(),
        fields,
        documents,
        route,
    };
    (new, sent)
}

/// Renames `fields[k].x` (k-th sent) to the form's row.
pub(super) fn remap_fields(errors: &mut [FieldError], sent: &[usize]) {
    for e in errors.iter_mut() {
        if let Some(rest) = e.field.strip_prefix("fields[")
            && let Some((k, part)) = rest.split_once(']')
            && let Ok(k) = k.parse::<usize>()
            && let Some(row) = sent.get(k)
        {
            e.field = format!("fields[{row}]{part}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// The contract page

/// Which form a re-rendered page answers (its errors go beside its comment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Action {
    Approve,
    SendBack,
    Sign,
    Resubmit,
    Cancel,
}

impl Action {
    pub(super) fn path(self) -> &'static str {
        match self {
            Action::Approve => "approve",
            Action::SendBack => "send_back",
            Action::Sign => "sign",
            Action::Resubmit => "resubmit",
            Action::Cancel => "cancel",
        }
    }

    pub(super) fn done(self) -> &'static str {
        match self {
            Action::Approve => "approved",
            Action::SendBack => "sent_back",
            Action::Sign => "signed",
            Action::Resubmit => "resubmitted",
            Action::Cancel => "cancelled",
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct ActionForm {
    pub(super) csrf: String,
    pub(super) comment: String,
    pub(super) on_behalf_of: String,
    pub(super) pin: String,
    pub(super) otp: String,
    pub(super) code: String,
}
