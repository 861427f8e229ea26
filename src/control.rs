//! The local control socket: `<data_dir>/control.sock`, readable and writable by the
//! server's own user only (the data directory is 0700 too). While the server runs it holds
//! the database, so `keiyaku backup --to FILE` asks the server through this socket for a
//! consistent snapshot instead of opening the file itself. Whoever may use the socket may
//! already read the database file; no other authentication is needed or offered.
//!
//! The protocol is one request line and one answer: `backup\n` is answered with
//! `ok <length>\n` followed by the archive, or `error <message>\n`.

use keiyaku_kernel::Store;
use std::path::{Path, PathBuf};

/// The socket's file name in the data directory.
pub const SOCKET: &str = "control.sock";

/// The longest request line read.
const MAX_REQUEST: u64 = 64;

/// Where the socket of the server using `data_dir` is.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SOCKET)
}

/// Takes a backup for a control-socket request into a temporary archive in the data
/// directory: its path and length (the caller sends it, then removes it). Audited as the system.
fn backup_file(store: &Store, data_dir: &Path) -> Result<(PathBuf, u64), String> {
    let path = data_dir.join(format!(".control-backup-{}.tar", keiyaku_kernel::ids::new_id()));
    let result = crate::backup::write_archive(store, data_dir, &path)
        .and_then(|_| std::fs::metadata(&path).map(|m| m.len()).map_err(|e| format!("{}: {e}", path.display())))
        .and_then(|len| {
            store
                .write_blocking(|tx| {
                    tx.audit(
                        &keiyaku_kernel::context::Actor::system(),
                        "backup.local",
                        "database",
                        serde_json::json!({"bytes": len, "via": SOCKET}),
                    )
                })
                .map_err(|e| e.to_string())
                .map(|()| len)
        });
    match result {
        Ok(len) => Ok((path, len)),
        Err(e) => {
            let _ = std::fs::remove_file(&path);
            Err(e)
        }
    }
}

#[cfg(unix)]
pub use unix::{request_backup, serve};

#[cfg(unix)]
mod unix {
    use super::*;
    use std::time::Duration;
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

    /// Serves the control socket until `stop` changes, then removes it.
    pub async fn serve(store: Store, data_dir: PathBuf, mut stop: tokio::sync::watch::Receiver<bool>) {
        let path = socket_path(&data_dir);
        // A socket left by a server that was killed: this process holds the database now.
        let _ = std::fs::remove_file(&path);
        let listener = match tokio::net::UnixListener::bind(&path) {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "no control socket: `keiyaku backup` cannot reach this server");
                return;
            }
        };
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
        }
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        tokio::spawn(answer(stream, store.clone(), data_dir.clone()));
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "control socket");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
                _ = stop.changed() => break,
            }
        }
        let _ = std::fs::remove_file(&path);
    }

    async fn answer(stream: tokio::net::UnixStream, store: Store, data_dir: PathBuf) {
        let (read, mut write) = stream.into_split();
        let mut line = String::new();
        let mut reader = BufReader::new(read.take(MAX_REQUEST));
        let got = tokio::time::timeout(Duration::from_secs(5), reader.read_line(&mut line)).await;
        let reply = match (got, line.trim()) {
            (Ok(Ok(_)), "backup") => match tokio::task::spawn_blocking(move || backup_file(&store, &data_dir)).await {
                Ok(Ok((path, len))) => {
                    // Streamed from the file: an archive is never held in memory whole.
                    let sent = async {
                        let mut file = tokio::fs::File::open(&path).await?;
                        write.write_all(format!("ok {len}\n").as_bytes()).await?;
                        tokio::io::copy(&mut file, &mut write).await?;
                        write.shutdown().await
                    }
                    .await;
                    let _ = std::fs::remove_file(&path);
                    match sent {
                        Ok(()) => tracing::info!(bytes = len, "backup taken for `keiyaku backup`"),
                        Err(e) => tracing::warn!(error = %e, "backup for `keiyaku backup` not delivered"),
                    }
                    return;
                }
                Ok(Err(e)) => format!("error {e}\n"),
                Err(e) => format!("error the backup task failed: {e}\n"),
            },
            (Ok(Ok(_)), other) => format!("error unknown request `{}`\n", other.chars().take(20).collect::<String>()),
            _ => "error no request\n".to_string(),
        };
        let _ = write.write_all(reply.as_bytes()).await;
    }

    /// Asks the server holding `data_dir` for a backup and writes it to `to` (through a
    /// temporary file, renamed once complete). Err when no server answers or it failed.
    pub fn request_backup(data_dir: &Path, to: &Path) -> Result<u64, String> {
        use std::io::{BufRead, Read, Write};
        let path = socket_path(data_dir);
        let mut stream = std::os::unix::net::UnixStream::connect(&path)
            .map_err(|e| format!("the server's control socket {}: {e}", path.display()))?;
        // A server that stops answering does not hold the command forever.
        let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(600)));
        stream.write_all(b"backup\n").map_err(|e| e.to_string())?;
        let mut reader = std::io::BufReader::new(stream);
        let mut head = String::new();
        reader.by_ref().take(4096).read_line(&mut head).map_err(|e| e.to_string())?;
        let head = head.trim_end();
        let len: u64 = match head.split_once(' ') {
            Some(("ok", n)) => n.parse().map_err(|_| format!("unexpected answer `{head}`"))?,
            Some(("error", message)) => return Err(format!("the server could not take the backup: {message}")),
            _ => return Err(format!("unexpected answer `{head}` from {}", path.display())),
        };
        let tmp = to.with_extension("partial");
        let result = (|| {
            let mut file =
                keiyaku_kernel::store::create_private(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
            let copied = std::io::copy(&mut reader.take(len), &mut file).map_err(|e| e.to_string())?;
            if copied != len {
                return Err(format!("the backup ended after {copied} of {len} bytes"));
            }
            file.sync_all().map_err(|e| e.to_string())?;
            std::fs::rename(&tmp, to).map_err(|e| format!("{}: {e}", to.display()))
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result.map(|()| len)
    }
}
