//! The business rules without HTTP: a real store, the auth and users modules, a manual clock.

use crate::error::UsersError;
use crate::search::{IndexCache, Query};
use crate::service::{self, InitialSecret, NewUserInput, Paging, UserChanges};
use crate::{UsersModule, delegates, seal};
use keiyaku_auth::AuthModule;
use keiyaku_kernel::context::{Actor, Caller};
use keiyaku_kernel::directory::{self, NewCompany, NewTenant, NewUser, Role, User};
use keiyaku_kernel::module::{KernelModule, Module};
use keiyaku_kernel::store::{Read, Store, Tx};
use keiyaku_kernel::{Config, Kernel, ManualClock};
use std::sync::{Arc, OnceLock};

const T: &str = "HXOS2";

fn kernel(trial: bool) -> (Kernel, String, String) {
    let dir = std::env::temp_dir().join(format!("keiyaku-users-{}", keiyaku_kernel::ids::new_id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let clock = Arc::new(ManualClock::new("2026-11-25T01:00:00Z".parse().expect("ts")));
    let modules: [&dyn Module; 3] = [&KernelModule, &AuthModule, &UsersModule];
    let store = Store::open(&dir.join("k.redb"), clock.clone(), &modules).expect("store");
    let kernel = Kernel::new(store, clock, Arc::new(Config::default()));
    let (owner_root, company) = kernel
        .store
        .write_blocking(|tx| {
            let (_, company, root) = directory::create_tenant(
                tx,
                &Actor::system(),
                NewTenant {
                    code: T.into(),
                    name: "オリエンタル白石".into(),
                    trial,
                    owner_name: "オリエンタル白石株式会社".into(),
                    owner_name_kana: String::new(),
                },
            )?;
            directory::create_user(
                tx,
                &Actor::system(),
                T,
                NewUser {
                    user_id: "HX000001".into(),
                    name: "堀井 裕蔵".into(),
                    email: "horii@example.jp".into(),
                    roles: vec![Role::GroupAdmin, Role::Administration],
                    group_id: root.id.clone(),
                    ..Default::default()
                },
            )?;
            Ok::<_, directory::DirectoryError>((root.id, company.id))
        })
        .expect("tenant");
    (kernel, owner_root, company)
}

fn secret() -> InitialSecret {
    static S: OnceLock<InitialSecret> = OnceLock::new();
    S.get_or_init(|| InitialSecret::generate().expect("hash")).clone()
}

fn caller_of(tx: &impl Read, user_id: &str) -> Caller {
    keiyaku_auth::load_caller(tx, T, user_id, None).expect("caller")
}

fn write<R>(k: &Kernel, f: impl FnOnce(&mut Tx) -> Result<R, UsersError>) -> Result<R, UsersError> {
    k.store.write_blocking(f)
}

fn input(id: Option<&str>, name: &str, email: &str, roles: &[&str]) -> NewUserInput {
    NewUserInput {
        user_id: id.map(str::to_string),
        name: name.into(),
        email: email.into(),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        ..NewUserInput::default()
    }
}

/// Partner A15336 with two users: A1533601 (group admin) and A1533602 (signer).
fn partner(k: &Kernel) -> (String, User, User) {
    write(k, |tx| {
        let admin = caller_of(tx, "HX000001");
        let (_, root) = service::create_company(
            tx,
            &admin,
            NewCompany {
                name: "アイテックコンサルタント株式会社".into(),
                name_kana: String::new(),
                vendor_code: "A15336".into(),
            },
        )?;
        let a = service::create_user(
            tx,
            k,
            &admin,
            &root.id,
            &input(None, "鈴木 一郎", "suzuki@a.example.jp", &["group_admin", "person_in_charge", "approver"]),
            &secret(),
        )?;
        let b = service::create_user(
            tx,
            k,
            &admin,
            &root.id,
            &input(None, "伊藤 誠", "ito@a.example.jp", &["signer"]),
            &secret(),
        )?;
        Ok((root.id, a, b))
    })
    .expect("partner")
}

fn dump(k: &Kernel) -> String {
    k.store
        .read_blocking(|tx| {
            let mut s = format!(
                "{:?}{:?}{:?}",
                tx.scan(&seal::SEALS, "")?,
                tx.scan(&delegates::DELEGATES, "")?,
                tx.count(&keiyaku_kernel::audit::AUDIT, "")?
            );
            s.push_str(&format!("{:?}{:?}", directory::list_users(tx, T)?, directory::list_groups(tx, T)?));
            Ok::<_, keiyaku_kernel::StoreError>(s)
        })
        .expect("dump")
}

#[test]
fn partner_users_get_vendor_code_ids_mails_credentials_and_seals() {
    let (k, _, _) = kernel(true);
    let (root, a, b) = partner(&k);
    assert_eq!((a.user_id.as_str(), b.user_id.as_str()), ("A1533601", "A1533602"));
    k.store
        .read_blocking(|tx| {
            let mails = keiyaku_kernel::mail::list(tx, Some("ito@a.example.jp"), 10)?;
            assert_eq!(mails.len(), 1);
            assert!(mails[0].body.contains("ユーザーID: A1533602"));
            assert!(mails[0].body.contains(&format!("パスワード : {}", secret().password)));
            let cred = keiyaku_auth::credential(tx, "HXOS2", "A1533602")?.expect("cred");
            assert!(cred.must_change);
            let s = seal::get_seal(tx, T, "A1533602")?.expect("seal");
            assert_eq!(s.date.as_deref(), Some("26.11.25"));
            assert_eq!(s.text, "伊藤");
            assert!(seal::get_seal(tx, T, "A1533601")?.is_none());
            let ix = IndexCache::default().get(tx, T)?;
            let admin = caller_of(tx, "HX000001");
            assert_eq!(service::suggest_user_id(tx, &ix, &admin, &root).ok().flatten().as_deref(), Some("A1533603"));
            Ok::<_, UsersError>(())
        })
        .expect("read");
}

#[test]
fn production_seals_have_no_date_and_are_never_replaced() {
    let (k, owner_root, _) = kernel(false);
    let user = write(&k, |tx| {
        let admin = caller_of(tx, "HX000001");
        service::create_user(
            tx,
            &k,
            &admin,
            &owner_root,
            &input(Some("HX000003"), "白石 太郎", "s@example.jp", &["signer"]),
            &secret(),
        )
    })
    .expect("create");
    let first = k.store.read_blocking(|tx| seal::get_seal(tx, T, &user.user_id)).expect("read").expect("seal");
    assert!(first.date.is_none());
    assert!(!first.svg.contains("<line"));
    // Rename, drop and re-add the signer role: the stored seal stays byte for byte.
    for changes in [
        UserChanges { name: Some("黒田 太郎".into()), ..UserChanges::default() },
        UserChanges { roles: Some(vec!["approver".into()]), ..UserChanges::default() },
        UserChanges { roles: Some(vec!["signer".into()]), ..UserChanges::default() },
    ] {
        write(&k, |tx| service::update_user(tx, &caller_of(tx, "HX000001"), "HX000003", changes)).expect("update");
        let now = k.store.read_blocking(|tx| seal::get_seal(tx, T, "HX000003")).expect("read").expect("seal");
        assert_eq!(now, first);
    }
}

#[test]
fn every_invalid_field_is_reported_at_once_and_nothing_is_written() {
    let (k, owner_root, _) = kernel(false);
    let before = dump(&k);
    let bad = NewUserInput {
        user_id: Some("bad id/".into()),
        name: " ".into(),
        email: "not-an-address".into(),
        sub_emails: vec!["x@y.jp".into(), "nope".into()],
        roles: vec!["signer".into(), "king".into()],
        title: Some("x".repeat(101)),
    };
    let r = write(&k, |tx| service::create_user(tx, &k, &caller_of(tx, "HX000001"), &owner_root, &bad, &secret()));
    let Err(UsersError::Invalid(list)) = r else { panic!("{r:?}") };
    let fields: Vec<&str> = list.iter().map(|i| i.field.as_str()).collect();
    assert_eq!(fields, ["user_id", "name", "email", "sub_emails[1]", "title", "roles"]);
    assert_eq!(dump(&k), before);
    // Duplicates: both the ID and the e-mail are named.
    let dup = input(Some("HX000001"), "x", "HORII@example.jp", &[]);
    let r = write(&k, |tx| service::create_user(tx, &k, &caller_of(tx, "HX000001"), &owner_root, &dup, &secret()));
    let Err(UsersError::Conflict(list)) = r else { panic!("{r:?}") };
    assert_eq!(list.iter().map(|i| i.field.as_str()).collect::<Vec<_>>(), ["user_id", "email"]);
    assert_eq!(dump(&k), before);
}

#[test]
fn group_admins_manage_only_their_group_and_cannot_escalate() {
    let (k, owner_root, owner_company) = kernel(false);
    let (proot, _, _) = partner(&k);
    let branch =
        write(&k, |tx| service::create_group(tx, &caller_of(tx, "HX000001"), &owner_company, None, "東京支店"))
            .expect("group");
    write(&k, |tx| {
        let admin = caller_of(tx, "HX000001");
        service::create_user(
            tx,
            &k,
            &admin,
            &branch.id,
            &input(Some("HX000010"), "東 京子", "t@example.jp", &["group_admin"]),
            &secret(),
        )
    })
    .expect("branch admin");
    let before = dump(&k);
    let r = write(&k, |tx| {
        let c = caller_of(tx, "HX000010");
        service::create_user(tx, &k, &c, &owner_root, &input(Some("HX9"), "x", "x@example.jp", &[]), &secret())
    });
    assert!(matches!(r, Err(UsersError::Forbidden)), "{r:?}");
    let r = write(&k, |tx| {
        let c = caller_of(tx, "HX000010");
        service::create_user(tx, &k, &c, &proot, &input(Some("HX9"), "x", "x@example.jp", &[]), &secret())
    });
    assert!(matches!(r, Err(UsersError::NotFound(_))), "{r:?}");
    let r = write(&k, |tx| {
        let c = caller_of(tx, "HX000010");
        service::update_user(
            tx,
            &c,
            "HX000010",
            UserChanges { roles: Some(vec!["group_admin".into(), "administration".into()]), ..UserChanges::default() },
        )
    });
    assert!(matches!(r, Err(UsersError::Forbidden)), "{r:?}");
    let r = write(&k, |tx| {
        let c = caller_of(tx, "HX000010");
        service::create_user(
            tx,
            &k,
            &c,
            &branch.id,
            &input(Some("HX11"), "x", "x@example.jp", &["administration"]),
            &secret(),
        )
    });
    assert!(matches!(r, Err(UsersError::Forbidden)), "{r:?}");
    let r = write(&k, |tx| service::create_group(tx, &caller_of(tx, "HX000010"), &owner_company, None, "大阪支店"));
    assert!(matches!(r, Err(UsersError::Forbidden)), "{r:?}");
    assert_eq!(dump(&k), before);
    // Administration is owner-side only, even for the tenant administrator.
    let r = write(&k, |tx| {
        let admin = caller_of(tx, "HX000001");
        service::update_user(
            tx,
            &admin,
            "A1533601",
            UserChanges { roles: Some(vec!["administration".into()]), ..UserChanges::default() },
        )
    });
    assert!(matches!(r, Err(UsersError::Invalid(ref l)) if l[0].rule.code() == "owner_only"), "{r:?}");
    assert_eq!(dump(&k), before);
}

#[test]
fn delegates_rules() {
    let (k, owner_root, _) = kernel(false);
    let (proot, _, _) = partner(&k);
    write(&k, |tx| {
        let admin = caller_of(tx, "HX000001");
        service::create_user(
            tx,
            &k,
            &admin,
            &proot,
            &input(None, "佐々木 三郎", "sasaki@a.example.jp", &["approver"]),
            &secret(),
        )?;
        service::create_user(
            tx,
            &k,
            &admin,
            &owner_root,
            &input(Some("HX000002"), "佐藤 健一", "sato@example.jp", &[]),
            &secret(),
        )
    })
    .expect("users");
    let before = dump(&k);
    let as_signer = |ids: &[&str]| {
        let ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
        write(&k, |tx| add_plain(tx, &caller_of(tx, "A1533602"), "A1533602", &ids))
    };
    // Self, unknown, another company's user (reported as unknown), a repeated ID.
    let r = as_signer(&["A1533602", "NOBODY", "HX000002", "A1533601", "A1533601"]);
    let Err(UsersError::Invalid(list)) = r else { panic!("{r:?}") };
    let codes: Vec<(&str, &str)> = list.iter().map(|i| (i.field.as_str(), i.rule.code().as_str())).collect();
    assert_eq!(
        codes,
        [
            ("user_ids[0]", "self"),
            ("user_ids[1]", "unknown_value"),
            ("user_ids[2]", "unknown_value"),
            ("user_ids[4]", "duplicate")
        ]
    );
    assert_eq!(dump(&k), before);
    let list = as_signer(&["A1533601", "A1533603"]).expect("add");
    assert_eq!(list.iter().map(|d| d.user.user_id.as_str()).collect::<Vec<_>>(), ["A1533601", "A1533603"]);
    assert!(matches!(as_signer(&["A1533601"]), Err(UsersError::Conflict(_))));
    // A non-signer has no delegates.
    let r = write(&k, |tx| add_plain(tx, &caller_of(tx, "A1533601"), "A1533603", &["A1533601".to_string()]));
    assert!(matches!(r, Err(UsersError::NotSigner)), "{r:?}");
    // The owner side never manages a partner signer's delegates.
    let r = write(&k, |tx| add_plain(tx, &caller_of(tx, "HX000001"), "A1533602", &["HX000001".to_string()]));
    assert!(matches!(r, Err(UsersError::Forbidden)), "{r:?}");
    let r = write(&k, |tx| add_plain(tx, &caller_of(tx, "HX000001"), "A1533601", &["A1533603".to_string()]));
    assert!(matches!(r, Err(UsersError::Forbidden)), "{r:?}");
    // Suspended users cannot be added.
    write(&k, |tx| {
        delegates::remove(tx, &caller_of(tx, "A1533602"), "A1533602", "A1533603", false)?;
        service::update_user(
            tx,
            &caller_of(tx, "A1533601"),
            "A1533603",
            UserChanges { status: Some("suspended".into()), ..UserChanges::default() },
        )
    })
    .expect("suspend");
    let r = as_signer(&["A1533603"]);
    assert!(matches!(r, Err(UsersError::Invalid(ref l)) if l[0].rule.code() == "inactive"), "{r:?}");
    // Losing the signer role removes the delegates.
    write(&k, |tx| {
        service::update_user(
            tx,
            &caller_of(tx, "A1533601"),
            "A1533602",
            UserChanges { roles: Some(vec![]), ..UserChanges::default() },
        )
    })
    .expect("demote");
    let left = k.store.read_blocking(|tx| delegates::delegate_ids(tx, T, "A1533602")).expect("read");
    assert!(left.is_empty());
    let signers = k.store.read_blocking(|tx| delegates::signers_for(tx, T, "A1533601")).expect("read");
    assert!(signers.is_empty());
}

#[test]
fn search_index_follows_changes_made_here_and_elsewhere() {
    let (k, owner_root, _) = kernel(false);
    let cache = IndexCache::with_recheck(std::time::Duration::ZERO);
    let search = |q: &str| {
        k.store
            .read_blocking(|tx| {
                let ix = cache.get(tx, T)?;
                let admin = caller_of(tx, "HX000001");
                let query = Query { q: Some(q.into()), ..Query::default() };
                service::search_users(tx, &ix, &admin, &query, Paging::default())
            })
            .map(|p| p.items.into_iter().map(|r| r.user.user_id).collect::<Vec<_>>())
            .expect("search")
    };
    assert_eq!(search("堀井"), ["HX000001"]);
    // Created elsewhere (no generation bump): found through the count check.
    k.store
        .write_blocking(|tx| {
            directory::create_user(
                tx,
                &Actor::system(),
                T,
                NewUser {
                    user_id: "HX000005".into(),
                    name: "山田 花子".into(),
                    email: "yamada@example.jp".into(),
                    group_id: owner_root.clone(),
                    ..Default::default()
                },
            )
        })
        .expect("external");
    assert_eq!(search("山田"), ["HX000005"]);
    // Renamed here: the generation changes.
    write(&k, |tx| {
        service::update_user(
            tx,
            &caller_of(tx, "HX000001"),
            "HX000005",
            UserChanges { name: Some("川口 花子".into()), ..UserChanges::default() },
        )
    })
    .expect("rename");
    assert!(search("山田").is_empty());
    assert_eq!(search("hx00000"), ["HX000001", "HX000005"]);
}

#[test]
fn groups_move_without_cycles_and_keep_sibling_names_unique() {
    let (k, owner_root, company) = kernel(false);
    let (a, b) = write(&k, |tx| {
        let admin = caller_of(tx, "HX000001");
        let a = service::create_group(tx, &admin, &company, None, "東京支店")?;
        let b = service::create_group(tx, &admin, &company, Some(&a.id), "品川営業所")?;
        Ok((a, b))
    })
    .expect("groups");
    let before = dump(&k);
    let admin = k.store.read_blocking(|tx| Ok::<_, UsersError>(caller_of(tx, "HX000001"))).expect("c");
    let r = write(&k, |tx| service::update_group(tx, &admin, &a.id, None, Some(&b.id)));
    assert!(matches!(r, Err(UsersError::Invalid(ref l)) if l[0].rule.code() == "cycle"), "{r:?}");
    let r = write(&k, |tx| service::update_group(tx, &admin, &owner_root, None, Some(&a.id)));
    assert!(matches!(r, Err(UsersError::Invalid(ref l)) if l[0].rule.code() == "root_group"), "{r:?}");
    let r = write(&k, |tx| service::create_group(tx, &admin, &company, None, "東京支店"));
    assert!(matches!(r, Err(UsersError::Conflict(_))), "{r:?}");
    let r = write(&k, |tx| service::create_group(tx, &admin, "nope", None, ""));
    assert!(matches!(r, Err(UsersError::Invalid(ref l)) if l.len() == 2), "{r:?}");
    assert_eq!(dump(&k), before);
    let moved =
        write(&k, |tx| service::update_group(tx, &admin, &b.id, Some("品川支店"), Some(&owner_root))).expect("move");
    assert_eq!(moved.parent_id.as_deref(), Some(owner_root.as_str()));
    assert_eq!(moved.name, "品川支店");
    let tree = k.store.read_blocking(|tx| service::org_tree(tx, &admin)).expect("tree");
    let names: Vec<(usize, &str)> = tree[0].groups.iter().map(|g| (g.depth, g.group.name.as_str())).collect();
    assert_eq!(names, [(0, "本社"), (1, "東京支店"), (1, "品川支店")]);
}

#[test]
fn paging_limits() {
    assert_eq!(Paging::new(None, None).ok(), Some(Paging { page: 1, per_page: 50 }));
    assert_eq!(Paging::new(Some(2), Some(200)).map(|p| p.skip()).ok(), Some(200));
    for (p, pp) in [(Some(0), None), (None, Some(0)), (None, Some(201)), (Some(-5), Some(10))] {
        assert!(Paging::new(p, pp).is_err());
    }
}

#[test]
fn committed_changes_are_patched_into_the_cached_index() {
    let (k, owner_root, _) = kernel(false);
    let cache = IndexCache::with_recheck(std::time::Duration::from_secs(3600));
    let find = |q: &str| {
        k.store
            .read_blocking(|tx| {
                let ix = cache.get(tx, T)?;
                let query = Query { q: Some(q.into()), ..Query::default() };
                Ok::<_, UsersError>(ix.search(&crate::scope::SearchScope::Tenant, &query, 0, 10).0)
            })
            .expect("search")
    };
    assert_eq!(find("堀井"), ["HX000001"]);
    let generation = k.store.read_blocking(|tx| crate::search::generation(tx, T)).expect("gen");
    let user = write(&k, |tx| {
        let admin = caller_of(tx, "HX000001");
        service::create_user(
            tx,
            &k,
            &admin,
            &owner_root,
            &input(Some("HX000007"), "七海 七子", "n@example.jp", &[]),
            &secret(),
        )
    })
    .expect("create");
    assert!(find("七海").is_empty(), "not patched yet, and the count is not re-checked within the hour");
    cache.committed(T, &user, generation);
    assert_eq!(find("七海"), ["HX000007"]);
    // An update bumps the generation: patched when one step ahead, rebuilt otherwise.
    let (user, generation) = write(&k, |tx| {
        let u = service::update_user(
            tx,
            &caller_of(tx, "HX000001"),
            "HX000007",
            UserChanges { name: Some("八重 七子".into()), ..UserChanges::default() },
        )?;
        Ok((u, crate::search::generation(tx, T)?))
    })
    .expect("update");
    cache.committed(T, &user, generation);
    assert_eq!(find("八重"), ["HX000007"]);
    cache.committed(T, &user, generation + 5);
    assert_eq!(find("八重"), ["HX000007"], "a dropped index is rebuilt");
}

/// `addDelegates` without limits or PIN.
fn add_plain(
    tx: &mut Tx,
    caller: &Caller,
    signer: &str,
    ids: &[String],
) -> Result<Vec<delegates::Delegate>, UsersError> {
    let input = delegates::AddInput { user_ids: ids.to_vec(), ..delegates::AddInput::default() };
    delegates::add(tx, caller, signer, &input, None, "https://keiyaku.example", false)?
}
