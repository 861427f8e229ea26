#![allow(clippy::expect_used, clippy::unwrap_used)]
use keiyaku_kernel::context::Actor;
use keiyaku_kernel::directory::{self, NewTenant, NewUser, Role};
use keiyaku_kernel::module::{KernelModule, Module};
use keiyaku_kernel::{Config, Kernel, SystemClock};
use std::sync::Arc;
use std::time::Instant;

fn main() {
    let dir = std::env::temp_dir().join(format!("kcost-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let modules: [&dyn Module; 3] = [&KernelModule, &keiyaku_auth::AuthModule, &keiyaku_users::UsersModule];
    let store = keiyaku_kernel::Store::open(&dir.join("k.redb"), Arc::new(SystemClock), &modules).unwrap();
    let kernel = Kernel::new(store, Arc::new(SystemClock), Arc::new(Config::default()));
    let (tenant, root) = kernel.store.write_blocking(|tx| {
        let (t, _, root) = directory::create_tenant(tx, &Actor::system(), NewTenant { code: "B".into(), name: "b".into(), trial: false, owner_name: "b".into(), owner_name_kana: String::new() })?;
        Ok::<_, directory::DirectoryError>((t, root.id))
    }).unwrap();
    let hash = keiyaku_auth::password::hash("x").unwrap();
    for variant in 0..6 {
        let n = 300;
        let t = Instant::now();
        for i in 0..n {
            kernel.store.write_blocking(|tx| {
                let a = Actor::system();
                if variant == 0 { tx.put(&keiyaku_kernel::directory::USER_EMAILS, &format!("x/{variant}/{i}"), &"x".repeat(300))?; return Ok::<_, directory::DirectoryError>(()); }
                let u = directory::create_user(tx, &a, "B", NewUser { user_id: format!("V{variant}{i:05}"), name: "山田 太郎".into(), email: format!("v{variant}x{i}@e.jp"), roles: vec![Role::Approver], group_id: root.clone(), ..Default::default() })?;
                if variant >= 2 { keiyaku_auth::register_credential(tx, &a, &tenant, &u, hash.clone(), true)?; }
                if variant >= 3 { keiyaku_auth::send_registration_mail(tx, &kernel, &tenant, &u, "pw")?; }
                if variant >= 4 { keiyaku_users::search::bump_generation(tx, "B")?; }
                if variant >= 5 { let _ = directory::get_user(tx, "B", "zz")?; }
                Ok(())
            }).unwrap();
        }
        println!("variant {variant}: {:.0}/s", n as f64 / t.elapsed().as_secs_f64());
    }
}
