#![allow(clippy::unwrap_used, clippy::expect_used)]
use keiyaku_kernel::context::Actor;
use keiyaku_kernel::directory::{self, NewTenant, NewUser, Role};
use keiyaku_kernel::module::{KernelModule, Module};
use keiyaku_kernel::store::{Read, Store, StoreError, Table};
use std::sync::Arc;
use std::time::Instant;

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Lite {
    user_id: String,
    name: String,
    email: String,
    company_id: String,
    group_id: String,
}
const LITE: Table<Lite> = Table::new("users");
const RAW: Table<Box<serde_json::value::RawValue>> = Table::new("users");

fn main() {
    let dir = std::env::temp_dir().join(format!("kscratch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let modules: [&dyn Module; 1] = [&KernelModule];
    let store = Store::open(&dir.join("k.redb"), Arc::new(keiyaku_kernel::SystemClock), &modules).unwrap();
    let root = store.write_blocking(|tx| {
        let (_, _, root) = directory::create_tenant(tx, &Actor::system(), NewTenant { code: "BENCH".into(), name: "b".into(), trial: false, owner_name: "b".into(), owner_name_kana: String::new() }).map_err(|e| StoreError::Database(e.to_string()))?;
        Ok::<_, StoreError>(root)
    }).unwrap();
    for b in 0..10 {
        store.write_blocking(|tx| {
            for i in 0..1000 {
                let n = b * 1000 + i;
                directory::create_user(tx, &Actor::system(), "BENCH", NewUser { user_id: format!("U{n:06}"), name: format!("山田 太郎{n}"), email: format!("u{n}@example.jp"), roles: vec![Role::PersonInCharge], group_id: root.id.clone(), ..Default::default() }).map_err(|e| StoreError::Database(e.to_string()))?;
            }
            Ok::<_, StoreError>(())
        }).unwrap();
    }
    for _ in 0..3 {
        let t = Instant::now();
        let n = store.read_blocking(|tx| Ok::<_, StoreError>(tx.scan(&directory::USERS, "BENCH/")?.len())).unwrap();
        println!("full {n} {:?}", t.elapsed());
        let t = Instant::now();
        let n = store.read_blocking(|tx| Ok::<_, StoreError>(tx.scan(&LITE, "BENCH/")?.into_iter().filter(|(_, u)| u.name.contains("郎99")).count())).unwrap();
        println!("lite {n} {:?}", t.elapsed());
        let t = Instant::now();
        let n = store.read_blocking(|tx| Ok::<_, StoreError>(tx.scan(&RAW, "BENCH/")?.into_iter().filter(|(_, u)| u.get().contains("郎99")).count())).unwrap();
        println!("raw {n} {:?}", t.elapsed());
        let t = Instant::now();
        let n = store.read_blocking(|tx| tx.count(&directory::USERS, "BENCH/")).unwrap();
        println!("count {n} {:?}", t.elapsed());
    }
    let _ = std::fs::remove_dir_all(&dir);
}
