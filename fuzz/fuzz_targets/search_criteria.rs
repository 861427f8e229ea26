//! Search criteria and mail display on arbitrary input: `flow::parse_date`, the whole
//! 契約検索 criteria check (`search::parse`, against an in-memory store holding a tenant and
//! a partner company, so counterparty lookups by id and 業者コード run), the mailbox's URL
//! linkifier and the mailbox page rendered around a mail with arbitrary fields.
//! Properties: no panic; linkify keeps every character of the text, in order; a checked
//! date range is ordered.
#![no_main]

use std::sync::{Arc, OnceLock};

use keiyaku_contracts::flow::parse_date;
use keiyaku_contracts::search::{self, SearchInput};
use keiyaku_kernel::directory::{self, NewCompany, NewTenant};
use keiyaku_kernel::mail::{Attachment, Delivery, Mail};
use keiyaku_kernel::module::KernelModule;
use keiyaku_kernel::{Actor, Lang, ManualClock, Module, Store, StoreError};
use keiyaku_web::layout::PageCtx;
use keiyaku_web::linkify::{Piece, linkify, split};
use keiyaku_web::pages::mailbox::{MailboxView, mailbox_view};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;

const TENANT: &str = "FUZZ1";

fn store() -> &'static (Store, String) {
    static STORE: OnceLock<(Store, String)> = OnceLock::new();
    STORE.get_or_init(|| {
        let start = jiff::Timestamp::from_second(1_764_000_000).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        let modules: [&dyn Module; 1] = [&KernelModule];
        let store = Store::open_with_backend(
            redb::backends::InMemoryBackend::new(),
            Arc::new(ManualClock::new(start)),
            &modules,
        )
        .expect("in-memory store");
        let partner = store
            .write_blocking(|tx| {
                let actor = Actor::system();
                let new = NewTenant {
                    code: TENANT.into(),
                    name: "ファズ".into(),
                    trial: false,
                    owner_name: "ファズ株式会社".into(),
                    owner_name_kana: "ファズ".into(),
                };
                directory::create_tenant(tx, &actor, new)?;
                let partner =
                    NewCompany { name: "取引先".into(), name_kana: String::new(), vendor_code: "V001".into() };
                let (company, _) = directory::create_partner_company(tx, &actor, TENANT, partner)?;
                Ok::<_, directory::DirectoryError>(company.id)
            })
            .expect("seed directory");
        (store, partner)
    })
}

#[derive(Debug, Arbitrary)]
struct Input {
    date_from: Option<String>,
    date_to: Option<String>,
    amount_min: Option<i64>,
    amount_max: Option<i64>,
    /// 0: none, 1: the partner's id, 2: its vendor code, else the text.
    counterparty: (u8, String),
    number: Option<String>,
    title: Option<String>,
    doc_type: Option<String>,
    status: Option<String>,
    step: Option<String>,
    registrant: Option<String>,
    sort: Option<String>,
    order: Option<String>,
    mail_to: String,
    mail_subject: String,
    mail_created_at: String,
    attachment_name: String,
    path: String,
    query: String,
    body: String,
}

fuzz_target!(|input: Input| {
    for s in [&input.date_from, &input.date_to].into_iter().flatten() {
        if let Some(d) = parse_date(s) {
            assert!((1900..=2199).contains(&d.year()));
        }
    }

    let (store, partner) = store();
    let counterparty = match input.counterparty.0 % 4 {
        0 => None,
        1 => Some(partner.clone()),
        2 => Some("v001".to_string()),
        _ => Some(input.counterparty.1.clone()),
    };
    let criteria = SearchInput {
        date_from: input.date_from.clone(),
        date_to: input.date_to.clone(),
        amount_min: input.amount_min,
        amount_max: input.amount_max,
        counterparty,
        number: input.number.clone(),
        title: input.title.clone(),
        doc_type: input.doc_type.clone(),
        status: input.status.clone(),
        step: input.step.clone(),
        registrant: input.registrant.clone(),
        sort: input.sort.clone(),
        order: input.order.clone(),
    };
    let parsed =
        store.read_blocking(|tx| search::parse(tx, TENANT, &criteria).map_err(|e| StoreError::Task(format!("{e:?}"))));
    if let Ok(q) = parsed
        && let (Some(a), Some(b)) = (q.date_from, q.date_to)
    {
        assert!(a <= b, "a checked date range is ordered");
    }

    // The mailbox: URLs in a mail body become links, everything else stays text.
    let pieces = split(&input.body);
    let mut joined = String::with_capacity(input.body.len());
    for p in &pieces {
        match p {
            Piece::Text(t) | Piece::Link(t) => joined.push_str(t),
        }
    }
    assert_eq!(joined, input.body, "linkify keeps the whole text");
    let _ = linkify(&input.body).into_string();

    let mail = Mail {
        id: "m1".into(),
        tenant: Some(TENANT.into()),
        to: input.mail_to.clone(),
        subject: input.mail_subject.clone(),
        body: input.body.clone(),
        attachments: vec![Attachment::new(&input.attachment_name, "text/plain", input.body.as_bytes())],
        created_at: input.mail_created_at.clone(),
        delivery: Delivery::Stored,
        attempts: 0,
        next_attempt_at: None,
        last_error: None,
        sent_at: None,
    };
    let mails = [mail];
    let recipients = [input.mail_to.clone()];
    for (lang, public) in [(Lang::Ja, true), (Lang::En, false)] {
        let pc = PageCtx::new(lang, None, &input.path, &input.query, None);
        let view = MailboxView {
            mails: &mails,
            recipients: &recipients,
            filter: Some(input.mail_to.as_str()),
            public,
            logout_csrf: (!public).then_some("csrf"),
        };
        let _ = mailbox_view(&pc, &view).into_string();
    }
});
