//! Backups: a consistent snapshot of the database in a tar archive with a manifest of
//! SHA-256 checksums; restore (which refuses corrupt or partial archives and never
//! overwrites a data directory without `--force`); offline verification; scheduled backups
//! with retention; and the operator's backup download while serving.

use keiyaku_kernel::Store;
use keiyaku_kernel::config::BackupConfig;
use keiyaku_kernel::store::create_private;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

pub const DB_FILE: &str = "keiyaku.redb";
const MANIFEST: &str = "manifest.json";
/// Secret files of the data directory that belong with the database: the key-encryption
/// key without which the sealed CA, signer and TSA keys cannot be opened.
const SECRET_FILES: [&str; 1] = ["certs-kek"];

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    pub format: u32,
    pub keiyaku_version: String,
    pub created_at: String,
    /// File name → SHA-256 (hex) of every file in the archive besides the manifest.
    pub files: Vec<(String, String)>,
    /// Records per table at the time of the snapshot.
    pub tables: Vec<(String, u64)>,
}

fn sha256_file(path: &Path) -> Result<String, String> {
    let mut f = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(|e| format!("{}: {e}", path.display()))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// Writes a backup archive of the running store to `out` (atomically: a temporary file
/// renamed into place once complete and synced).
pub fn write_archive(store: &Store, data_dir: &Path, out: &Path) -> Result<Manifest, String> {
    let dir = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let work = dir.join(format!(".keiyaku-backup-{}", keiyaku_kernel::ids::new_id()));
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let result = (|| {
        let db = work.join(DB_FILE);
        let counts = store.snapshot_to(&db).map_err(|e| e.to_string())?;
        let manifest = Manifest {
            format: 1,
            keiyaku_version: env!("CARGO_PKG_VERSION").into(),
            created_at: keiyaku_kernel::clock::rfc3339(store.now()),
            files: {
                let mut files = vec![(DB_FILE.to_string(), sha256_file(&db)?)];
                for name in SECRET_FILES {
                    let path = data_dir.join(name);
                    if path.is_file() {
                        files.push((name.to_string(), sha256_file(&path)?));
                    }
                }
                files
            },
            tables: counts.into_iter().map(|(t, n)| (t.to_string(), n)).collect(),
        };
        let tmp = out.with_extension("partial");
        {
            let file = create_private(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
            let mut tar = tar::Builder::new(file);
            let json = serde_json::to_vec_pretty(&manifest).map_err(|e| e.to_string())?;
            let mut header = tar::Header::new_gnu();
            header.set_size(json.len() as u64);
            header.set_mode(0o600);
            header.set_cksum();
            tar.append_data(&mut header, MANIFEST, json.as_slice()).map_err(|e| e.to_string())?;
            tar.append_path_with_name(&db, DB_FILE).map_err(|e| e.to_string())?;
            for (name, _) in manifest.files.iter().filter(|(n, _)| n != DB_FILE) {
                let bytes = std::fs::read(data_dir.join(name)).map_err(|e| format!("{name}: {e}"))?;
                let mut header = tar::Header::new_gnu();
                header.set_size(bytes.len() as u64);
                header.set_mode(0o600);
                header.set_cksum();
                tar.append_data(&mut header, name, bytes.as_slice()).map_err(|e| e.to_string())?;
            }
            let mut file = tar.into_inner().map_err(|e| e.to_string())?;
            file.flush().and_then(|_| file.sync_all()).map_err(|e| e.to_string())?;
        }
        std::fs::rename(&tmp, out).map_err(|e| format!("{}: {e}", out.display()))?;
        Ok(manifest)
    })();
    let _ = std::fs::remove_dir_all(&work);
    result
}

/// Unpacks an archive into `dir` and checks it against its manifest.
fn unpack_checked(archive: &Path, dir: &Path) -> Result<Manifest, String> {
    let file = std::fs::File::open(archive).map_err(|e| format!("{}: {e}", archive.display()))?;
    let mut tar = tar::Archive::new(file);
    let mut manifest: Option<Manifest> = None;
    let entries = tar.entries().map_err(|e| format!("not a keiyaku backup: {e}"))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| format!("the backup is damaged: {e}"))?;
        let name = entry.path().map_err(|e| e.to_string())?.to_string_lossy().to_string();
        match name.as_str() {
            MANIFEST => {
                let mut buf = Vec::new();
                entry.by_ref().take(1 << 20).read_to_end(&mut buf).map_err(|e| e.to_string())?;
                manifest = Some(serde_json::from_slice(&buf).map_err(|e| format!("bad manifest: {e}"))?);
            }
            name if name == DB_FILE || SECRET_FILES.contains(&name) => {
                let dest = dir.join(name);
                let mut out = create_private(&dest).map_err(|e| format!("{}: {e}", dest.display()))?;
                std::io::copy(&mut entry, &mut out).map_err(|e| format!("the backup is damaged: {e}"))?;
                out.sync_all().map_err(|e| e.to_string())?;
            }
            other => return Err(format!("unexpected file `{other}` in the backup")),
        }
    }
    let manifest = manifest.ok_or("the backup has no manifest (partial or not a keiyaku backup)")?;
    if manifest.files.is_empty() {
        return Err("the backup's manifest lists no files".into());
    }
    for (name, sum) in &manifest.files {
        let path = dir.join(name);
        if !path.is_file() {
            return Err(format!("the backup is partial: `{name}` is missing"));
        }
        if &sha256_file(&path)? != sum {
            return Err(format!("the backup is corrupt: checksum of `{name}` does not match"));
        }
    }
    Ok(manifest)
}

/// Checks an archive completely (checksums, database integrity, every record readable).
pub fn check_archive(archive: &Path) -> Result<Manifest, String> {
    let scratch = std::env::temp_dir().join(format!("keiyaku-check-{}", keiyaku_kernel::ids::new_id()));
    std::fs::create_dir_all(&scratch).map_err(|e| e.to_string())?;
    let result = unpack_checked(archive, &scratch).and_then(|m| {
        let report = verify_db(&scratch.join(DB_FILE))?;
        if report.problems.is_empty() { Ok(m) } else { Err(report.problems.join("\n")) }
    });
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

/// Restores an archive into `data_dir`. Refuses a non-empty data directory unless `force`.
pub fn restore(archive: &Path, data_dir: &Path, force: bool) -> Result<Manifest, String> {
    let target = data_dir.join(DB_FILE);
    if target.exists() && !force {
        return Err(format!(
            "{} already holds a database; restoring would overwrite it (use --force to replace it)",
            data_dir.display()
        ));
    }
    std::fs::create_dir_all(data_dir).map_err(|e| format!("{}: {e}", data_dir.display()))?;
    let staging = data_dir.join(format!(".restore-{}", keiyaku_kernel::ids::new_id()));
    std::fs::create_dir_all(&staging).map_err(|e| e.to_string())?;
    let result = unpack_checked(archive, &staging).and_then(|m| {
        let report = verify_db(&staging.join(DB_FILE))?;
        if !report.problems.is_empty() {
            return Err(format!("the backup's database has unreadable records:\n{}", report.problems.join("\n")));
        }
        for (name, _) in m.files.iter().filter(|(n, _)| SECRET_FILES.contains(&n.as_str())) {
            let dest = data_dir.join(name);
            std::fs::rename(staging.join(name), &dest).map_err(|e| format!("{}: {e}", dest.display()))?;
        }
        std::fs::rename(staging.join(DB_FILE), &target).map_err(|e| format!("{}: {e}", target.display()))?;
        Ok(m)
    });
    let _ = std::fs::remove_dir_all(&staging);
    result
}

/// Verifies a database file offline: redb integrity (checksums), then every record of every
/// table of the enabled modules.
pub fn verify_db(path: &Path) -> Result<keiyaku_kernel::store::VerifyReport, String> {
    {
        let mut db = redb::Database::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        if !db.check_integrity().map_err(|e| format!("integrity check: {e}"))? {
            return Err("the database failed its integrity check (it was repaired in memory only)".into());
        }
    }
    let modules = crate::app::modules();
    let refs: Vec<&dyn keiyaku_kernel::Module> = modules.iter().map(|m| m.as_ref()).collect();
    let store =
        Store::open(path, std::sync::Arc::new(keiyaku_kernel::SystemClock), &refs).map_err(|e| e.to_string())?;
    let mut report = store.verify().map_err(|e| e.to_string())?;
    for m in &modules {
        let problems = store.read_blocking(|tx| m.verify(tx)).map_err(|e| e.to_string())?;
        report.problems.extend(problems.into_iter().map(|p| format!("{}: {p}", m.name())));
    }
    Ok(report)
}

/// Where scheduled backups go.
pub fn backup_dir(cfg: &BackupConfig, data_dir: &Path) -> PathBuf {
    cfg.dir.clone().unwrap_or_else(|| data_dir.join("backups"))
}

/// Takes one scheduled backup and deletes the oldest beyond `keep`.
pub fn scheduled_once(store: &Store, cfg: &BackupConfig, data_dir: &Path) -> Result<PathBuf, String> {
    let dir = backup_dir(cfg, data_dir);
    let stamp = store.now().to_zoned_datetime(keiyaku_kernel::clock::tokyo()).strftime("%Y%m%d-%H%M%S").to_string();
    let out = dir.join(format!("keiyaku-{stamp}.tar"));
    write_archive(store, data_dir, &out)?;
    let mut existing: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("keiyaku-") && n.ends_with(".tar"))
        })
        .collect();
    existing.sort();
    let keep = cfg.keep.max(1) as usize;
    while existing.len() > keep {
        let old = existing.remove(0);
        let _ = std::fs::remove_file(old);
    }
    Ok(out)
}

/// Runs scheduled backups until `stop` changes.
pub async fn run_schedule(
    store: Store,
    cfg: BackupConfig,
    data_dir: PathBuf,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    if cfg.interval_hours == 0 {
        return;
    }
    let every = std::time::Duration::from_secs(u64::from(cfg.interval_hours) * 3600);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
        let (s, c, d) = (store.clone(), cfg.clone(), data_dir.clone());
        match tokio::task::spawn_blocking(move || scheduled_once(&s, &c, &d)).await {
            Ok(Ok(path)) => tracing::info!(path = %path.display(), "scheduled backup written"),
            Ok(Err(e)) => tracing::error!(error = %e, "scheduled backup failed"),
            Err(e) => tracing::error!(error = %e, "scheduled backup task failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keiyaku_kernel::module::KernelModule;

    fn store(dir: &Path) -> Store {
        let modules = crate::app::modules();
        let refs: Vec<&dyn keiyaku_kernel::Module> = modules.iter().map(|m| m.as_ref()).collect();
        let _ = KernelModule;
        Store::open(&dir.join(DB_FILE), std::sync::Arc::new(keiyaku_kernel::SystemClock), &refs)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn tmp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("keiyaku-bk-{tag}-{}", keiyaku_kernel::ids::new_id()));
        let _ = std::fs::create_dir_all(&d);
        d
    }

    #[test]
    fn backup_restore_round_trip_and_refusals() {
        let src = tmp("src");
        let s = store(&src);
        let r: Result<(), keiyaku_kernel::StoreError> = s.write_blocking(|tx| {
            keiyaku_kernel::directory::create_tenant(
                tx,
                &keiyaku_kernel::Actor::system(),
                keiyaku_kernel::directory::NewTenant {
                    code: "HXOS2".into(),
                    name: "オリエンタル白石".into(),
                    trial: false,
                    owner_name: "オリエンタル白石株式会社".into(),
                    owner_name_kana: String::new(),
                },
            )
            .map_err(|e| keiyaku_kernel::StoreError::Database(e.to_string()))?;
            Ok(())
        });
        assert!(r.is_ok());
        // The key-encryption key travels with the database (sealed keys are useless without it).
        let _ = std::fs::write(src.join("certs-kek"), "00".repeat(32));
        let archive = src.join("b.tar");
        let manifest = write_archive(&s, &src, &archive).unwrap_or_else(|e| panic!("{e}"));
        assert!(manifest.files.iter().any(|(n, _)| n == "certs-kek"));
        assert!(manifest.tables.iter().any(|(t, n)| t == "tenants" && *n == 1));
        assert!(check_archive(&archive).is_ok());

        let dest = tmp("dest");
        restore(&archive, &dest, false).unwrap_or_else(|e| panic!("{e}"));
        let restored = store(&dest);
        let t = restored.read_blocking(|tx| keiyaku_kernel::directory::get_tenant(tx, "HXOS2")).ok().flatten();
        assert_eq!(t.map(|t| t.name).as_deref(), Some("オリエンタル白石"));
        drop(restored);
        assert_eq!(std::fs::read_to_string(dest.join("certs-kek")).unwrap_or_default(), "00".repeat(32));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dest.join("certs-kek")).map(|m| m.permissions().mode() & 0o777).unwrap_or(0);
            assert_eq!(mode, 0o600);
        }
        // A non-empty data dir is not overwritten without --force.
        assert!(restore(&archive, &dest, false).unwrap_err().contains("--force"));
        assert!(restore(&archive, &dest, true).is_ok());

        // A corrupt archive (one byte changed) and a truncated one are refused.
        let bytes = std::fs::read(&archive).unwrap_or_default();
        let mut bad = bytes.clone();
        let mid = bad.len() / 2;
        bad[mid] ^= 0xff;
        let corrupt = src.join("corrupt.tar");
        let _ = std::fs::write(&corrupt, &bad);
        let empty = tmp("empty");
        assert!(restore(&corrupt, &empty, false).is_err());
        let partial = src.join("partial.tar");
        let _ = std::fs::write(&partial, &bytes[..bytes.len() / 3]);
        assert!(restore(&partial, &empty, false).is_err());
        assert!(!empty.join(DB_FILE).exists(), "nothing written by a refused restore");
    }

    #[test]
    fn schedule_keeps_the_newest() {
        let dir = tmp("sched");
        let s = store(&dir);
        let bk = dir.join("bk");
        let _ = std::fs::create_dir_all(&bk);
        for i in 1..=3 {
            let _ = std::fs::write(bk.join(format!("keiyaku-2000010{i}-000000.tar")), b"old");
        }
        let _ = std::fs::write(bk.join("unrelated.txt"), b"kept");
        let cfg = BackupConfig { interval_hours: 1, keep: 2, dir: Some(bk.clone()) };
        let out = scheduled_once(&s, &cfg, &dir).unwrap_or_else(|e| panic!("{e}"));
        let mut names: Vec<String> = std::fs::read_dir(&bk)
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().to_string()).collect())
            .unwrap_or_default();
        names.sort();
        let newest = out.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        assert_eq!(names, vec!["keiyaku-20000103-000000.tar".to_string(), newest, "unrelated.txt".to_string()]);
        assert!(check_archive(&out).is_ok());
    }
}
