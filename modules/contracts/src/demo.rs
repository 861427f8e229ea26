//! This module's part of `serve --demo`: contracts of the demo tenant at different stages,
//! so that every line of the dashboard's 確認待ち文書 has something — waiting for the owner's
//! approver, the partner's person in charge, the partner's signer (or the delegate), the
//! owner's 管理部 and signer — plus one completed and one sent back.

use crate::flow::{self, NewContract, NewDocument, Proof, SignInput};
use crate::{ContractsError, Env};
use keiyaku_kernel::Kernel;
use keiyaku_kernel::context::Caller;
use keiyaku_kernel::pdf::{Document, Font};
use keiyaku_kernel::store::{Read, StoreError, Tx};

const TENANT: &str = "HXOS2";
const PARTNER_CODE: &str = "A15336";

fn store_err(e: ContractsError) -> StoreError {
    match e {
        ContractsError::Store(s) => s,
        other => StoreError::Task(format!("demo contracts: {other}")),
    }
}

/// A one-page 注文書 as a PDF, for demos, tests and benchmarks.
pub fn order_pdf(number: &str, title: &str, partner: &str, amount: i64, date: &str) -> Vec<u8> {
    Document::new()
        .title(title)
        .page(|p| {
            let w = p.width();
            p.font(Font::Gothic).text_center(w / 2.0, 90.0, 22.0, "注 文 書");
            p.font(Font::Mincho).text_right(w - 56.0, 130.0, 10.5, &format!("注文番号：{number}"));
            p.text_right(w - 56.0, 148.0, 10.5, &format!("注文日：{date}"));
            p.text(56.0, 190.0, 13.0, &format!("{partner}　御中"));
            p.line(56.0, 196.0, 320.0, 196.0, 0.6);
            p.text(56.0, 240.0, 10.5, "下記のとおり注文いたします。");
            p.text(56.0, 280.0, 10.5, &format!("件名：{title}"));
            p.text(56.0, 304.0, 10.5, &format!("注文金額：{}円（税込）", crate::mails::yen(amount)));
            p.text(56.0, 328.0, 10.5, "納期：別途協議による");
            p.text(56.0, 352.0, 10.5, "支払条件：月末締め翌月末支払");
            p.rect(56.0, 380.0, w - 112.0, 120.0, 0.5);
            p.text(66.0, 400.0, 9.5, "備考：本注文書は電子契約サービスにより締結します。");
            p.font(Font::Mincho).text(w - 250.0, 560.0, 10.5, "オリエンタル白石株式会社");
        })
        .to_bytes()
}

/// [`order_pdf`] in base64, as the API's `content_base64` takes it.
pub fn order_pdf_base64(number: &str, title: &str, partner: &str, amount: i64, date: &str) -> String {
    base64::Engine::encode(&base64::engine::general_purpose::STANDARD, order_pdf(number, title, partner, amount, date))
}

fn caller(tx: &Tx, user: &str) -> Result<Caller, ContractsError> {
    keiyaku_auth::load_caller(tx, TENANT, user, None).map_err(|e| ContractsError::internal(e.to_string()))
}

pub fn seed(kernel: &Kernel, tx: &mut Tx) -> Result<(), StoreError> {
    if keiyaku_kernel::directory::get_tenant(tx, TENANT)?.is_none() {
        return Ok(());
    }
    let kek = keiyaku_certs::kek::Kek::for_data_dir(&kernel.config.storage.data_dir)
        .map_err(|e| StoreError::Task(e.to_string()))?;
    let base = kernel.public_url();
    let env = Env { config: &kernel.config, base_url: &base, kek: &kek };
    seed_with(tx, &env).map_err(store_err)
}

/// How far a demo contract goes: the number of steps completed, and whether it is then
/// sent back.
struct Plan {
    number: &'static str,
    title: &'static str,
    amount: i64,
    date: &'static str,
    steps_done: usize,
    send_back: Option<&'static str>,
}

const PLANS: [Plan; 7] = [
    Plan {
        number: "HX-2026-0101",
        title: "豊洲地区 道路改良工事 測量業務",
        amount: 1_980_000,
        date: "2026-11-20",
        steps_done: 0,
        send_back: None,
    },
    Plan {
        number: "HX-2026-0102",
        title: "江東区 橋梁点検業務 委託",
        amount: 3_300_000,
        date: "2026-11-18",
        steps_done: 1,
        send_back: None,
    },
    Plan {
        number: "HX-2026-0103",
        title: "晴海 歩道橋 詳細設計",
        amount: 5_280_000,
        date: "2026-11-12",
        steps_done: 3,
        send_back: None,
    },
    Plan {
        number: "HX-2026-0104",
        title: "有明 護岸補修工事 施工管理",
        amount: 8_800_000,
        date: "2026-11-05",
        steps_done: 4,
        send_back: None,
    },
    Plan {
        number: "HX-2026-0105",
        title: "新木場 下水道管路 調査業務",
        amount: 2_420_000,
        date: "2026-10-28",
        steps_done: 5,
        send_back: None,
    },
    Plan {
        number: "HX-2026-0098",
        title: "辰巳 擁壁 補強設計",
        amount: 4_180_000,
        date: "2026-10-15",
        steps_done: 6,
        send_back: None,
    },
    Plan {
        number: "HX-2026-0106",
        title: "東雲 排水路 改修設計",
        amount: 1_650_000,
        date: "2026-11-21",
        steps_done: 1,
        send_back: Some("金額の内訳を添付してください。"),
    },
];

/// Who completes each default step in the demo (the partner signer's step by the delegate).
const ACTORS: [&str; 6] = ["HX000002", "A1533601", "A1533601", "A1533601", "HX000001", "HX000003"];

fn seed_with(tx: &mut Tx, env: &Env<'_>) -> Result<(), ContractsError> {
    let partner = keiyaku_kernel::directory::company_by_vendor_code(tx, TENANT, PARTNER_CODE)?
        .ok_or(ContractsError::NotFound("company"))?;
    let registrant = caller(tx, "HX000002")?;
    for plan in &PLANS {
        let new = NewContract {
            number: plan.number.into(),
            title: plan.title.into(),
            doc_type: "purchase_order".into(),
            counterparty: PARTNER_CODE.into(),
            transaction_date: plan.date.into(),
            amount: Some(plan.amount),
            tax: "included".into(),
            fields: vec![crate::model::Field { name: "工事番号".into(), value: format!("K{}", &plan.number[8..]) }],
            documents: vec![NewDocument {
                name: "注文書.pdf".into(),
                bytes: order_pdf(plan.number, plan.title, &partner.name, plan.amount, plan.date),
                pages: None,
            }],
            route: None,
        };
        let c = flow::register(tx, env, &registrant, &new)?;
        for actor in ACTORS.iter().take(plan.steps_done) {
            let who = caller(tx, actor)?;
            let current = tx.get(&crate::model::CONTRACTS, &crate::model::key(TENANT, &c.id))?;
            let signing = current.as_ref().and_then(|c| c.current_step()).is_some_and(|s| s.is_signing());
            if signing {
                flow::sign_contract(tx, env, &who, &c.id, &SignInput::default(), &Proof::Seeded)??;
            } else {
                flow::approve(tx, env, &who, &c.id, "")?;
            }
        }
        if let Some(comment) = plan.send_back {
            let who = caller(tx, ACTORS[plan.steps_done])?;
            flow::send_back(tx, env, &who, &c.id, comment)?;
        }
    }
    Ok(())
}
