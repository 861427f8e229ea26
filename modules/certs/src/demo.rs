//! The certificates part of the demo scenario: paid ticket orders of the partner
//! (A15336) and of the service owner, issued certificates for the signers A1533602 and
//! HX000003 (usable now), and a proxy application by A1533601 waiting for A1533602's approval
//! (its 「発行申請のご案内」 is in the mailbox).

use crate::certificates::{self, IssueRequest};
use crate::config::CertsConfig;
use crate::error::CertsError;
use crate::kek::Kek;
use crate::model::{
    APPLICATIONS, AppStatus, ApplicantKind, Application, Billing, DOCUMENT_CONTENT, Details, DocumentMeta, LinkKind,
    ORDERS, key,
};
use crate::orders::{self, OrderInput, link_ttl};
use crate::{Env, links, mails};
use jiff::SignedDuration;
use keiyaku_kernel::Kernel;
use keiyaku_kernel::context::Actor;
use keiyaku_kernel::directory::{self, Tenant};
use keiyaku_kernel::ids::new_id;
use keiyaku_kernel::store::{Read, StoreError, Tx};
use sha2::{Digest, Sha256};

pub const DEMO_TENANT: &str = "HXOS2";

fn store_err(e: CertsError) -> StoreError {
    match e {
        CertsError::Store(s) => s,
        other => StoreError::Database(format!("certs demo data: {other}")),
    }
}

pub fn seed(kernel: &Kernel, tx: &mut Tx) -> Result<(), StoreError> {
    let kek = Kek::for_data_dir(&kernel.config.storage.data_dir).map_err(|e| store_err(e.into()))?;
    let base = kernel.public_url();
    let cas = crate::certificates::CaCache::default();
    let env = Env { config: &kernel.config, kek: &kek, cas: &cas, base_url: &base };
    seed_with(tx, &env).map_err(store_err)
}

fn paid_order(
    tx: &mut Tx,
    env: &Env<'_>,
    tenant: &Tenant,
    email: &str,
    billing: Billing,
    qty: [i64; 3],
) -> Result<Vec<String>, CertsError> {
    let actor = Actor::system();
    let (token, _) =
        links::create(tx, &tenant.code, LinkKind::Order, email, link_ttl(env.config.section::<CertsConfig>()))?;
    let input = OrderInput { token, delivery: "service".into(), billing, quantities: qty };
    let order = orders::place(tx, env, &actor, &tenant.code, &input)?;
    let k = key(&tenant.code, &order.id);
    let mut order = tx.get(&ORDERS, &k)?.unwrap_or(order);
    if order.released_at.is_none() {
        orders::release(tx, env, &actor, tenant, &mut order)?;
    }
    order.paid_at = Some(tx.now());
    tx.put(&ORDERS, &k, &order)?;
    Ok(order.tickets)
}

fn details(company: &str, kana: &str, names: [&str; 4], user_id: &str, email: &str, display: &str) -> Details {
    Details {
        company_name: company.into(),
        company_name_kana: kana.into(),
        surname: names[0].into(),
        given_name: names[1].into(),
        surname_kana: names[2].into(),
        given_name_kana: names[3].into(),
        user_id: user_id.into(),
        email: email.into(),
        display_name: display.into(),
        phone: "03-6220-0635".into(),
    }
}

fn seed_with(tx: &mut Tx, env: &Env<'_>) -> Result<(), CertsError> {
    let tenant = orders::tenant(tx, DEMO_TENANT)?;
    let partner = Billing {
        company: "アイテックコンサルタント株式会社".into(),
        department: "本社".into(),
        postal_code: "135-0061".into(),
        address: "東京都江東区豊洲五丁目6番52号".into(),
        phone: "03-6220-0635".into(),
        contact_name: "鈴木 一郎".into(),
    };
    let owner = Billing {
        company: "オリエンタル白石株式会社本社".into(),
        department: "土木事業本部工事部".into(),
        contact_name: "堀井 裕蔵".into(),
        ..partner.clone()
    };
    let partner_tickets = paid_order(tx, env, &tenant, "suzuki@a15336.example.jp", partner, [0, 0, 3])?;
    let owner_tickets = paid_order(tx, env, &tenant, "horii@hxos2.example.jp", owner, [0, 0, 1])?;
    let issued_at = tx.now().checked_sub(SignedDuration::from_hours(14 * 24)).unwrap_or(tx.now());
    let signers = [
        (
            "A1533602",
            details(
                "アイテックコンサルタント株式会社",
                "アイテックコンサルタントカブシキガイシャ",
                ["伊藤", "誠", "イトウ", "マコト"],
                "A1533602",
                "ito@a15336.example.jp",
                "Ito.Makoto",
            ),
            partner_tickets.first(),
        ),
        (
            "HX000003",
            details(
                "オリエンタル白石株式会社",
                "オリエンタルシライシカブシキガイシャ",
                ["白石", "太郎", "シライシ", "タロウ"],
                "HX000003",
                "shiraishi@hxos2.example.jp",
                "Shiraishi.Taro",
            ),
            owner_tickets.first(),
        ),
    ];
    // Demo data only: hashed here, inside the seeding transaction, once per demo certificate.
    let pin_hash = keiyaku_auth::password::hash(&env.config.demo.pin).map_err(CertsError::crypto)?;
    for (user_id, d, ticket) in &signers {
        let (Some(holder), Some(ticket)) = (directory::get_user(tx, DEMO_TENANT, user_id)?, ticket) else {
            continue;
        };
        let req = IssueRequest {
            tenant: &tenant,
            holder: &holder,
            details: d,
            ticket,
            application_id: None,
            pin: None,
            pin_hash: Some(&pin_hash),
            issued_at,
        };
        certificates::issue(tx, env, &Actor::system(), &req)?;
    }
    // The demo delegate's mandate, confirmed with the signer's new certificate.
    let (signer, delegate) = (keiyaku_users::demo::DEMO_SIGNER, keiyaku_users::demo::DEMO_DELEGATE);
    let pending =
        keiyaku_users::delegates::mandate(tx, DEMO_TENANT, signer, delegate)?.is_some_and(|m| !m.is_confirmed());
    if pending {
        let sign = |tx: &Tx, tenant: &str, user: &str, content: &[u8]| {
            crate::signing::sign_statement(tx, env.kek, tenant, user, content)
                .map_err(|e| keiyaku_kernel::intent::IntentError::Internal(format!("demo mandate: {e}")))
        };
        keiyaku_users::delegates::confirm_unchecked(tx, &Actor::system(), DEMO_TENANT, signer, delegate, &sign)
            .map_err(|e| CertsError::Crypto(format!("demo mandate: {e}")))?;
    }
    // A proxy application by A1533601 for A1533602, waiting for the holder's approval.
    if let Some(ticket) = partner_tickets.get(1) {
        let card = keiyaku_kernel::pdf::Document::new()
            .title("名刺")
            .page(|p| {
                p.text(56.0, 80.0, 14.0, "アイテックコンサルタント株式会社");
                p.text(56.0, 110.0, 20.0, "代表取締役 伊藤 誠");
                p.text(56.0, 135.0, 10.0, "ito@a15336.example.jp");
            })
            .to_bytes();
        let app = Application {
            id: new_id(),
            tenant: DEMO_TENANT.into(),
            applicant: ApplicantKind::Proxy,
            email: "suzuki@a15336.example.jp".into(),
            ticket: ticket.clone(),
            term_years: 3,
            delivery: crate::model::Delivery::Service,
            status: AppStatus::AwaitingApproval,
            details: Some(signers[0].1.clone()),
            document: Some(DocumentMeta {
                name: "伊藤誠_名刺.pdf".into(),
                content_type: "application/pdf".into(),
                size: card.len(),
                sha256: hex::encode(Sha256::digest(&card)),
            }),
            pin_hash: None,
            created_at: tx.now(),
            submitted_at: Some(tx.now()),
            decided_at: None,
            serial: None,
        };
        keiyaku_kernel::blob::put(tx, &DOCUMENT_CONTENT, DEMO_TENANT, &card)?;
        tx.put(&APPLICATIONS, &key(DEMO_TENANT, &app.id), &app)?;
        let (token, _) =
            links::create(tx, DEMO_TENANT, LinkKind::Approval, &app.id, link_ttl(env.config.section::<CertsConfig>()))?;
        let url = mails::tenant_url(env.base_url, DEMO_TENANT, &format!("certificates/approve/{token}"));
        let ttl = links::ttl_text_ja(env.config.section::<CertsConfig>().link_ttl_hours);
        tx.send_mail(mails::approval_request(&tenant, &app, "ito@a15336.example.jp", &url, &ttl), env.smtp())?;
        tx.audit(
            &Actor::system(),
            "certs.application_submit",
            &key(DEMO_TENANT, &app.id),
            serde_json::json!({"demo": true}),
        )?;
    }
    Ok(())
}
