//! Ticket purchase (seed §2.1): the one-time order link, the order with its totals, the
//! three mails, and the release of the tickets (at once or when the order is marked paid).

use crate::Env;
use crate::authz::{self, Op};
use crate::config::{CertsConfig, ReleaseTickets};
use crate::documents::{invoice_pdf, tickets_csv, totals};
use crate::error::{CertsError, Conflict};
use crate::links;
use crate::mails;
use crate::model::{Billing, Delivery, LinkKind, ORDERS, Order, TICKETS, Ticket, TicketStatus, key};
use crate::rules;
use jiff::{SignedDuration, Timestamp};
use keiyaku_kernel::FieldCode;
use keiyaku_kernel::context::{Actor, Caller};
use keiyaku_kernel::directory::{self, Tenant};
use keiyaku_kernel::ids::new_id;
use keiyaku_kernel::store::{Read, Tx};
use keiyaku_kernel::validate::{Invalid, Rule, Validator, normalize_email};

/// The unit prices (yen, tax excluded) of 1-, 2- and 3-year tickets for a tenant.
pub fn prices(config: &CertsConfig, tenant: &str) -> [u32; 3] {
    config.tenant_prices.get(tenant).copied().unwrap_or([config.price_1y, config.price_2y, config.price_3y])
}

pub fn link_ttl(config: &CertsConfig) -> SignedDuration {
    SignedDuration::from_hours(i64::from(config.link_ttl_hours.max(1)))
}

pub fn tenant(tx: &impl Read, code: &str) -> Result<Tenant, CertsError> {
    directory::get_tenant(tx, code)?.ok_or(CertsError::NotFound("tenant"))
}

/// The name the tenant's documents are issued under: the service owner's company.
pub fn issuer_name(tx: &impl Read, tenant: &Tenant) -> Result<String, CertsError> {
    Ok(directory::get_company(tx, &tenant.code, &tenant.owner_company_id)?
        .map(|c| c.name)
        .unwrap_or_else(|| tenant.name.clone()))
}

/// The order link's one field, checked before the captcha is spent.
pub fn check_email(email: &str) -> Result<(), Vec<Invalid>> {
    let mut v = Validator::new();
    v.email("email", email.trim());
    v.finish()
}

/// `requestOrderLink` (after the captcha): mails 「チケット購入用URLのご案内」 with a one-time link.
pub fn request_link(tx: &mut Tx, env: &Env<'_>, actor: &Actor, code: &str, email: &str) -> Result<(), CertsError> {
    let tenant = tenant(tx, code)?;
    check_email(email)?;
    let email = email.trim().to_string();
    let cfg = env.config.section::<CertsConfig>();
    let (token, _) = links::create(tx, code, LinkKind::Order, &email, link_ttl(cfg))?;
    let url = mails::tenant_url(env.base_url, code, &format!("tickets/order/{token}"));
    tx.send_mail(mails::order_link(&tenant, &email, &url, &links::ttl_text_ja(cfg.link_ttl_hours)), env.smtp())?;
    tx.audit(actor, "certs.order_link", &key(code, "ticket-orders"), serde_json::json!({"email": email}))?;
    Ok(())
}

/// What the order form needs (`openOrderLink`).
#[derive(Debug, Clone)]
pub struct OrderForm {
    pub tenant: Tenant,
    pub email: String,
    pub prices: [u32; 3],
    pub expires_at: Timestamp,
}

pub fn open_link(tx: &impl Read, config: &CertsConfig, code: &str, token: &str) -> Result<OrderForm, CertsError> {
    let tenant = tenant(tx, code)?;
    let link = links::check(tx, code, LinkKind::Order, token)?;
    Ok(OrderForm { prices: prices(config, code), email: link.subject, expires_at: link.expires_at, tenant })
}

/// `placeTicketOrder` input, as received.
#[derive(Debug, Clone, Default)]
pub struct OrderInput {
    pub token: String,
    pub delivery: String,
    pub billing: Billing,
    /// 1-, 2- and 3-year quantities.
    pub quantities: [i64; 3],
}

/// The checked order: delivery, normalised billing and quantities.
pub fn check_order(input: &OrderInput, max_per_term: u32) -> Result<(Delivery, Billing, [u32; 3]), Vec<Invalid>> {
    let mut v = Validator::new();
    let delivery = Delivery::parse(input.delivery.trim());
    if delivery.is_none() {
        v.fail("delivery", Rule::Unknown { value: input.delivery.chars().take(40).collect() });
    }
    let b = &input.billing;
    v.text("billing.company", b.company.trim(), 100);
    v.optional_text("billing.department", b.department.trim(), 100);
    let postal = rules::postal_code(&mut v, "billing.postal_code", &b.postal_code);
    v.text("billing.address", b.address.trim(), 200);
    let phone = rules::phone(&mut v, "billing.phone", &b.phone);
    v.text("billing.contact_name", b.contact_name.trim(), 50);
    let mut quantities = [0u32; 3];
    for (i, q) in input.quantities.iter().enumerate() {
        match u32::try_from(*q) {
            Ok(n) if n <= max_per_term => quantities[i] = n,
            _ => {
                v.fail(
                    &format!("quantities.{}", i + 1),
                    Rule::Custom {
                        code: FieldCode::InvalidQuantity,
                        ja: format!("0〜{max_per_term}枚で入力してください。"),
                        en: format!("Enter 0 to {max_per_term}."),
                    },
                );
            }
        }
    }
    if v.is_ok() && quantities.iter().all(|q| *q == 0) {
        v.fail(
            "quantities",
            Rule::Custom {
                code: FieldCode::NoTickets,
                ja: "購入枚数を1枚以上入力してください。".into(),
                en: "Order at least one ticket.".into(),
            },
        );
    }
    v.finish()?;
    let billing = Billing {
        company: b.company.trim().to_string(),
        department: b.department.trim().to_string(),
        postal_code: postal.unwrap_or_default(),
        address: b.address.trim().to_string(),
        phone: phone.unwrap_or_default(),
        contact_name: b.contact_name.trim().to_string(),
    };
    Ok((delivery.unwrap_or_default(), billing, quantities))
}

/// `placeTicketOrder`: uses the link, records the order and its tickets, mails 「注文受付の
/// ご案内」 and, unless tickets wait for payment, 「チケット番号と請求書のご送付」.
pub fn place(tx: &mut Tx, env: &Env<'_>, actor: &Actor, code: &str, input: &OrderInput) -> Result<Order, CertsError> {
    let tenant = tenant(tx, code)?;
    links::check(tx, code, LinkKind::Order, input.token.trim())?;
    let cfg = env.config.section::<CertsConfig>();
    let (delivery, billing, quantities) = check_order(input, cfg.max_tickets_per_term)?;
    let link = links::consume(tx, code, LinkKind::Order, input.token.trim())?;
    // The day's count is a sequence; a refused order rolls it back with everything else.
    let day = keiyaku_kernel::clock::tokyo().to_datetime(tx.now()).date();
    if cfg.max_orders_per_day > 0
        && tx.next_seq(&format!("certs_orders_day/{code}/{day}"))? > u64::from(cfg.max_orders_per_day)
    {
        return Err(CertsError::DailyOrdersReached(cfg.max_orders_per_day));
    }
    let unit = prices(cfg, code);
    let (subtotals, total, tax) = totals(unit, quantities);
    let seq = tx.next_seq(&format!("certs_order/{code}"))?;
    let mut order = Order {
        id: new_id(),
        number: format!("T{seq:06}"),
        tenant: code.to_string(),
        email: normalize_email(&link.subject),
        delivery,
        billing,
        quantities,
        prices: unit,
        subtotals,
        total,
        tax,
        tickets: Vec::new(),
        created_at: tx.now(),
        paid_at: None,
        released_at: None,
    };
    for (i, q) in quantities.iter().enumerate() {
        for _ in 0..*q {
            let ticket = Ticket {
                number: uuid::Uuid::new_v4().hyphenated().to_string(),
                tenant: code.to_string(),
                order_id: order.id.clone(),
                term_years: (i + 1) as u8,
                delivery,
                status: TicketStatus::Unreleased,
                consumed_by: None,
                consumed_at: None,
            };
            tx.put(&TICKETS, &key(code, &ticket.number), &ticket)?;
            order.tickets.push(ticket.number);
        }
    }
    let on_payment = cfg.release() == ReleaseTickets::OnPayment;
    tx.send_mail(mails::order_received(&tenant, &order, on_payment), env.smtp())?;
    tx.audit(
        actor,
        "certs.order_place",
        &key(code, &order.id),
        serde_json::json!({"number": order.number, "quantities": order.quantities, "total": order.total, "email": order.email}),
    )?;
    if !on_payment {
        release(tx, env, actor, &tenant, &mut order)?;
    }
    tx.put(&ORDERS, &key(code, &order.id), &order)?;
    Ok(order)
}

/// Makes the tickets of an order usable and mails them with the invoice.
pub(crate) fn release(
    tx: &mut Tx,
    env: &Env<'_>,
    actor: &Actor,
    tenant: &Tenant,
    order: &mut Order,
) -> Result<(), CertsError> {
    let mut tickets = Vec::new();
    for number in &order.tickets {
        let k = key(&tenant.code, number);
        if let Some(mut t) = tx.get(&TICKETS, &k)? {
            if t.status == TicketStatus::Unreleased {
                t.status = TicketStatus::Available;
                tx.put(&TICKETS, &k, &t)?;
            }
            tickets.push(t);
        }
    }
    order.released_at = Some(tx.now());
    let csv = tickets_csv(&tenant.code, order, &tickets);
    let pdf = invoice_pdf(&tenant.code, &issuer_name(tx, tenant)?, order);
    tx.send_mail(mails::tickets_and_invoice(tenant, order, csv, pdf), env.smtp())?;
    tx.audit(
        actor,
        "certs.tickets_release",
        &key(&tenant.code, &order.id),
        serde_json::json!({"tickets": order.tickets.len()}),
    )?;
    Ok(())
}

/// `markOrderPaid`: records the payment and releases the tickets if they were waiting for it.
pub fn mark_paid(tx: &mut Tx, env: &Env<'_>, caller: &Caller, order_id: &str) -> Result<Order, CertsError> {
    authz::require(caller, Op::MarkOrderPaid, None)?;
    let tenant = tenant(tx, &caller.tenant)?;
    let k = key(&tenant.code, order_id);
    let mut order = tx.get(&ORDERS, &k)?.ok_or(CertsError::NotFound("order"))?;
    if order.paid_at.is_some() {
        return Err(CertsError::Conflict(Conflict::AlreadyPaid));
    }
    order.paid_at = Some(tx.now());
    let actor = caller.actor();
    tx.audit(&actor, "certs.order_paid", &k, serde_json::json!({"number": order.number}))?;
    if order.released_at.is_none() {
        release(tx, env, &actor, &tenant, &mut order)?;
    }
    tx.put(&ORDERS, &k, &order)?;
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> OrderInput {
        OrderInput {
            token: String::new(),
            delivery: "service".into(),
            billing: Billing {
                company: "オリエンタル白石株式会社本社".into(),
                department: "土木事業本部工事部".into(),
                postal_code: "1350061".into(),
                address: "東京都江東区豊洲五丁目6番52号".into(),
                phone: "03-6220-0635".into(),
                contact_name: "堀井 裕蔵".into(),
            },
            quantities: [0, 0, 1],
        }
    }

    #[test]
    fn orders_are_checked_field_by_field() {
        let (d, b, q) = check_order(&input(), 20).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!((d, q), (Delivery::Service, [0, 0, 1]));
        assert_eq!(b.postal_code, "135-0061");
        let mut bad = input();
        bad.delivery = "fax".into();
        bad.billing.postal_code = "x".into();
        bad.quantities = [-1, 21, 0];
        let errs = check_order(&bad, 20).err().unwrap_or_default();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["delivery", "billing.postal_code", "quantities.1", "quantities.2"]);
        let mut none = input();
        none.quantities = [0, 0, 0];
        assert_eq!(check_order(&none, 20).err().unwrap_or_default()[0].rule.code(), "no_tickets");
        let mut many = input();
        many.quantities = [999, 999, 999];
        let max = CertsConfig::default().max_tickets_per_term;
        assert_eq!(check_order(&many, max).err().unwrap_or_default().len(), 3, "20 per term by default");
    }

    #[test]
    fn tenant_prices_override_the_defaults() {
        let mut cfg = CertsConfig::default();
        assert_eq!(prices(&cfg, "HXOS2"), [3000, 4500, 6000]);
        cfg.tenant_prices.insert("HXOS2".into(), [1000, 2000, 2500]);
        assert_eq!(prices(&cfg, "HXOS2"), [1000, 2000, 2500]);
        assert_eq!(prices(&cfg, "OTHER"), [3000, 4500, 6000]);
    }
}
