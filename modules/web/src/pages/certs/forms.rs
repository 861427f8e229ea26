use crate::form::hidden;
use crate::layout::PageCtx;
use keiyaku_certs::CertsError;
use keiyaku_certs::applications::{DetailsInput, StartInput, Upload};
use keiyaku_certs::captcha::CaptchaAnswer;
use keiyaku_certs::documents::totals;
use keiyaku_certs::model::{Application, Billing, Delivery};
use keiyaku_certs::orders::OrderInput;
use keiyaku_kernel::error::FieldError;
use keiyaku_kernel::validate::{Rule, Validator};
use maud::{Markup, html};
use poem::web::Multipart;
use serde::Deserialize;

/// Field errors of a problem, renamed to the form's fields.
pub(super) fn errors_of(e: &CertsError, pc: &PageCtx, rename: fn(&str) -> String) -> Option<Vec<FieldError>> {
    match e {
        CertsError::Invalid(list) => Some(
            list.iter()
                .map(|i| {
                    let mut f = i.to_field_error(pc.lang);
                    f.field = rename(&f.field);
                    f
                })
                .collect(),
        ),
        _ => None,
    }
}

pub(super) fn same(s: &str) -> String {
    s.to_string()
}

// ---------------------------------------------------------------------------------------
// Ticket purchase

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct EmailForm {
    pub(super) csrf: String,
    pub(super) email: String,
    pub(super) captcha_id: String,
    pub(super) captcha_answer: String,
}

/// The order form's buttons: 再計算 (also what Enter and a form without a button send), 前へ
/// from the confirmation, and 次へ to the confirmation.
#[derive(Debug, Default, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(super) enum OrderAction {
    #[default]
    Recalc,
    Back,
    Confirm,
}

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(default)]
pub(super) struct OrderFormData {
    pub(super) csrf: String,
    pub(super) action: OrderAction,
    pub(super) delivery: String,
    pub(super) company: String,
    pub(super) department: String,
    pub(super) postal_code: String,
    pub(super) address: String,
    pub(super) phone: String,
    pub(super) contact_name: String,
    pub(super) q1: String,
    pub(super) q2: String,
    pub(super) q3: String,
}

impl OrderFormData {
    fn quantity(s: &str) -> Option<i64> {
        let s = keiyaku_certs::rules::ascii_digits(s);
        if s.is_empty() { Some(0) } else { s.parse::<i64>().ok() }
    }

    pub(super) fn quantities(&self) -> [Option<i64>; 3] {
        [Self::quantity(&self.q1), Self::quantity(&self.q2), Self::quantity(&self.q3)]
    }

    pub(super) fn input(&self, token: &str) -> OrderInput {
        let q = self.quantities().map(|q| q.unwrap_or(-1));
        OrderInput {
            token: token.to_string(),
            delivery: self.delivery.clone(),
            billing: Billing {
                company: self.company.clone(),
                department: self.department.clone(),
                postal_code: self.postal_code.clone(),
                address: self.address.clone(),
                phone: self.phone.clone(),
                contact_name: self.contact_name.clone(),
            },
            quantities: q,
        }
    }

    pub(super) fn delivery(&self) -> Delivery {
        Delivery::parse(&self.delivery).unwrap_or_default()
    }

    pub(super) fn hidden_fields(&self) -> Markup {
        html! {
            (hidden("delivery", &self.delivery)) (hidden("company", &self.company)) (hidden("department", &self.department))
            (hidden("postal_code", &self.postal_code)) (hidden("address", &self.address)) (hidden("phone", &self.phone))
            (hidden("contact_name", &self.contact_name)) (hidden("q1", &self.q1)) (hidden("q2", &self.q2)) (hidden("q3", &self.q3))
        }
    }
}

/// `billing.company` → `company`, `quantities.1` → `q1`.
pub(super) fn order_field(api: &str) -> String {
    let f = api.strip_prefix("billing.").unwrap_or(api);
    match f.strip_prefix("quantities.") {
        Some(n) => format!("q{n}"),
        None => f.to_string(),
    }
}

/// Subtotals and total of what the form holds (unreadable quantities count as 0).
pub(super) fn form_totals(prices: [u32; 3], d: &OrderFormData) -> ([u64; 3], u64, u64) {
    let q = d.quantities().map(|q| q.and_then(|n| u32::try_from(n).ok()).filter(|n| *n <= 999).unwrap_or(0));
    totals(prices, q)
}

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(default)]
pub(super) struct ApplicantForm {
    pub(super) csrf: String,
    pub(super) applicant: String,
    pub(super) enterprise_code: String,
    pub(super) ticket: String,
    pub(super) email: String,
    pub(super) email_confirm: String,
    pub(super) captcha_id: String,
    pub(super) captcha_answer: String,
    pub(super) consent: String,
}

impl ApplicantForm {
    pub(super) fn captcha(&self) -> CaptchaAnswer {
        CaptchaAnswer { id: self.captcha_id.clone(), answer: self.captcha_answer.clone() }
    }

    pub(super) fn input(&self, consent: bool) -> StartInput {
        StartInput {
            applicant: self.applicant.clone(),
            enterprise_code: self.enterprise_code.clone(),
            ticket: self.ticket.clone(),
            email: self.email.clone(),
            email_confirm: Some(self.email_confirm.clone()),
            consent,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Application: details

#[derive(Debug, Default, Clone)]
pub(super) struct DetailsFields {
    pub(super) csrf: String,
    pub(super) company_name: String,
    pub(super) company_name_kana: String,
    pub(super) surname: String,
    pub(super) given_name: String,
    pub(super) surname_kana: String,
    pub(super) given_name_kana: String,
    pub(super) user_id: String,
    pub(super) email: String,
    pub(super) display_name: String,
    pub(super) phone: String,
    file_name: String,
    pub(super) bytes: Vec<u8>,
}

impl DetailsFields {
    pub(super) fn of(app: &Application) -> Self {
        match &app.details {
            Some(d) => Self {
                company_name: d.company_name.clone(),
                company_name_kana: d.company_name_kana.clone(),
                surname: d.surname.clone(),
                given_name: d.given_name.clone(),
                surname_kana: d.surname_kana.clone(),
                given_name_kana: d.given_name_kana.clone(),
                user_id: d.user_id.clone(),
                email: d.email.clone(),
                display_name: d.display_name.clone(),
                phone: d.phone.clone(),
                ..Default::default()
            },
            None => Self::default(),
        }
    }

    pub(super) fn input(self) -> DetailsInput {
        let document = (!self.bytes.is_empty()).then(|| Upload { name: self.file_name.clone(), bytes: self.bytes });
        DetailsInput {
            company_name: self.company_name,
            company_name_kana: self.company_name_kana,
            surname: self.surname,
            given_name: self.given_name,
            surname_kana: self.surname_kana,
            given_name_kana: self.given_name_kana,
            user_id: self.user_id,
            email: self.email,
            display_name: self.display_name,
            phone: self.phone,
            document,
        }
    }
}

pub(super) async fn read_details(mut mp: Multipart) -> Option<DetailsFields> {
    let mut f = DetailsFields::default();
    while let Some(field) = mp.next_field().await.ok()? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "id_document" {
            f.file_name = field.file_name().unwrap_or_default().chars().take(200).collect();
            f.bytes = field.bytes().await.ok()?;
            continue;
        }
        let text: String = field.text().await.ok()?.chars().take(300).collect();
        match name.as_str() {
            "csrf" => f.csrf = text,
            "company_name" => f.company_name = text,
            "company_name_kana" => f.company_name_kana = text,
            "surname" => f.surname = text,
            "given_name" => f.given_name = text,
            "surname_kana" => f.surname_kana = text,
            "given_name_kana" => f.given_name_kana = text,
            "user_id" => f.user_id = text,
            "email" => f.email = text,
            "display_name" => f.display_name = text,
            "phone" => f.phone = text,
            _ => {}
        }
    }
    Some(f)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct PinForm {
    pub(super) csrf: String,
    pub(super) pin: String,
    pub(super) pin_confirm: String,
    pub(super) decision: String,
}

/// The PIN typed twice, checked before the service is asked.
pub(super) fn check_pin(pc: &PageCtx, f: &PinForm, confirm: bool) -> Vec<FieldError> {
    let mut v = Validator::new();
    keiyaku_certs::rules::pin(&mut v, "pin", &f.pin);
    if confirm && v.is_ok() && f.pin != f.pin_confirm {
        v.fail("pin_confirm", Rule::Mismatch);
    }
    v.finish().err().unwrap_or_default().iter().map(|i| i.to_field_error(pc.lang)).collect()
}

// ---------------------------------------------------------------------------------------
// Key file

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct CsrfForm {
    pub(super) csrf: String,
}

/// What the import form sends.
#[derive(Default)]
pub(super) struct ImportFields {
    pub(super) csrf: String,
    pub(super) input: keiyaku_certs::import::ImportInput,
}

pub(super) async fn read_import(mut mp: Multipart) -> Option<ImportFields> {
    use keiyaku_certs::import::{MAX_CHAIN_FILES, MAX_CRL_FILES};
    let mut f = ImportFields::default();
    while let Some(field) = mp.next_field().await.ok()? {
        let name = field.name().unwrap_or_default().to_string();
        match name.as_str() {
            "file" => f.input.file = field.bytes().await.ok()?,
            "chain" | "revocation" => {
                let bytes = field.bytes().await.ok()?;
                let list = if name == "chain" { &mut f.input.chain } else { &mut f.input.revocation };
                // An empty file input sends one empty part; more than the service takes is
                // kept so that it refuses them.
                if !bytes.is_empty() && list.len() <= MAX_CHAIN_FILES.max(MAX_CRL_FILES) {
                    list.push(bytes);
                }
            }
            _ => {
                let text: String = field.text().await.ok()?.chars().take(300).collect();
                match name.as_str() {
                    "csrf" => f.csrf = text,
                    "password" => f.input.password = text,
                    "pin" => f.input.pin = text,
                    _ => {}
                }
            }
        }
    }
    Some(f)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RevokeForm {
    pub(super) csrf: String,
    pub(super) reason: String,
    pub(super) confirm: String,
}
