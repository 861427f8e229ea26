//! The directory part of the demo scenario (`serve --demo`): tenant HXOS2 with the service
//! owner オリエンタル白石株式会社, the partner アイテックコンサルタント株式会社 (業者コード A15336) and
//! the five demo users, all with the demo password and no forced change.

use crate::{password, register_credential};
use keiyaku_kernel::Kernel;
use keiyaku_kernel::context::Actor;
use keiyaku_kernel::directory::{self, DirectoryError, NewCompany, NewTenant, NewUser, Role};
use keiyaku_kernel::store::{StoreError, Tx};

pub use keiyaku_kernel::config::DEMO_TENANT;

fn store_err(e: DirectoryError) -> StoreError {
    match e {
        DirectoryError::Store(s) => s,
        other => StoreError::Database(format!("demo data: {other}")),
    }
}

pub fn seed(kernel: &Kernel, tx: &mut Tx) -> Result<(), StoreError> {
    let actor = Actor::system();
    let hash = password::hash(&kernel.config.demo.password).map_err(StoreError::Database)?;
    let (tenant, owner, owner_root) = directory::create_tenant(
        tx,
        &actor,
        NewTenant {
            code: DEMO_TENANT.into(),
            name: "オリエンタル白石".into(),
            trial: true,
            owner_name: "オリエンタル白石株式会社".into(),
            owner_name_kana: "オリエンタルシライシカブシキガイシャ".into(),
        },
    )
    .map_err(store_err)?;
    let admin_group =
        directory::create_group(tx, &actor, DEMO_TENANT, &owner.id, None, "本社 管理部").map_err(store_err)?;
    let tokyo = directory::create_group(tx, &actor, DEMO_TENANT, &owner.id, None, "東京支店").map_err(store_err)?;
    let (_partner, partner_root) = directory::create_partner_company(
        tx,
        &actor,
        DEMO_TENANT,
        NewCompany {
            name: "アイテックコンサルタント株式会社".into(),
            name_kana: "アイテックコンサルタントカブシキガイシャ".into(),
            vendor_code: "A15336".into(),
        },
    )
    .map_err(store_err)?;
    let users = [
        (
            "HX000001",
            "堀井 裕蔵",
            "horii@hxos2.example.jp",
            &admin_group.id,
            vec![Role::GroupAdmin, Role::Administration],
            None,
        ),
        ("HX000002", "佐藤 健一", "sato@hxos2.example.jp", &tokyo.id, vec![Role::PersonInCharge, Role::Approver], None),
        ("HX000003", "白石 太郎", "shiraishi@hxos2.example.jp", &owner_root.id, vec![Role::Signer], Some("代表取締役")),
        (
            "A1533601",
            "鈴木 一郎",
            "suzuki@a15336.example.jp",
            &partner_root.id,
            vec![Role::PersonInCharge, Role::Approver, Role::GroupAdmin],
            None,
        ),
        ("A1533602", "伊藤 誠", "ito@a15336.example.jp", &partner_root.id, vec![Role::Signer], Some("代表取締役")),
    ];
    for (id, name, email, group, roles, title) in users {
        let mut roles = roles;
        roles.sort();
        let user = directory::create_user(
            tx,
            &actor,
            DEMO_TENANT,
            NewUser {
                user_id: id.into(),
                name: name.into(),
                email: email.into(),
                sub_emails: Vec::new(),
                roles,
                group_id: group.clone(),
                title: title.map(str::to_string),
            },
        )
        .map_err(store_err)?;
        register_credential(tx, &actor, &tenant, &user, hash.clone(), false)?;
    }
    Ok(())
}
