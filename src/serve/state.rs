//! What a running `toll serve` tells `toll doctor`: a small JSON file per listening port in the
//! state dir (`serve-PORT.json`: pid, listen address, where its proxies come from), written at
//! start and on SIGHUP, removed when the server stops. It goes through `statefile::JsonFile`:
//! mode 0600, replaced atomically, never written through a link or over something that is not a
//! regular file, read only as a small regular file. It holds no secret (not the key).
//!
//! A server killed outright leaves its file behind: readers check that the pid is alive and
//! the port answers before they believe it ([`running`]).

use crate::statefile::JsonFile;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServeState {
    pub pid: u32,
    pub listen: String,
    /// Where the proxies come from (`-x http://proxy:3128 (command line)`, a PAC, …).
    pub proxies: String,
}

fn path(dir: &Path, listen: SocketAddr) -> PathBuf {
    dir.join(format!("serve-{}.json", listen.port()))
}

/// Records this server (`dir` is toll's state dir). Errors are the caller's to report.
pub fn write(dir: &Path, listen: SocketAddr, proxies: &str) -> std::io::Result<PathBuf> {
    let file = JsonFile::new(path(dir, listen));
    let state =
        ServeState { pid: std::process::id(), listen: listen.to_string(), proxies: proxies.to_string() };
    file.update::<ServeState, ()>(false, |s| {
        *s = state;
        Some(())
    })?;
    Ok(file.path().to_path_buf())
}

/// Removes the file at `path` if it still describes this process (another server may have
/// taken the port since).
pub fn remove(path: &Path) {
    let file = JsonFile::new(path.to_path_buf());
    if file.read::<ServeState>().pid == std::process::id() {
        let _ = std::fs::remove_file(path);
    }
}

/// The servers recorded in `dir` whose process is alive and whose port answers.
pub fn running(dir: &Path) -> Vec<ServeState> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with("serve-") && name.ends_with(".json")) {
            continue;
        }
        let state: ServeState = JsonFile::new(entry.path()).read();
        if state.pid == 0 || !alive(state.pid) {
            continue;
        }
        let Ok(addr) = state.listen.parse::<SocketAddr>() else { continue };
        let addr = match addr.ip() {
            ip if ip.is_unspecified() => SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), addr.port()),
            _ => addr,
        };
        if std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok() {
            found.push(state);
        }
    }
    found.sort_by(|a, b| a.listen.cmp(&b.listen));
    found
}

#[cfg(unix)]
fn alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
    // SAFETY: signal 0 only checks that the process exists (EPERM: it does, another user's).
    unsafe { libc::kill(pid, 0) == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM) }
}

#[cfg(not(unix))]
fn alive(_: u32) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_private_found_while_listening_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let listen = listener.local_addr().unwrap();
        let p = write(dir.path(), listen, "-x http://proxy:3128 (command line)").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let found = running(dir.path());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].listen, listen.to_string());
        assert_eq!(found[0].pid, std::process::id());
        drop(listener);
        assert!(running(dir.path()).is_empty(), "a port that does not answer is not a server");
        remove(&p);
        assert!(!p.exists());
    }

    #[test]
    fn a_dead_pid_or_a_link_is_not_a_server() {
        let dir = tempfile::tempdir().unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let listen = listener.local_addr().unwrap();
        let p = write(dir.path(), listen, "x").unwrap();
        let text = std::fs::read_to_string(&p).unwrap().replace(&std::process::id().to_string(), "999999999");
        std::fs::write(&p, text).unwrap();
        assert!(running(dir.path()).is_empty());
        #[cfg(unix)]
        {
            std::fs::remove_file(&p).unwrap();
            let elsewhere = dir.path().join("elsewhere.json");
            write(dir.path(), listen, "x").unwrap();
            std::fs::rename(&p, &elsewhere).unwrap();
            std::os::unix::fs::symlink(&elsewhere, &p).unwrap();
            assert_eq!(running(dir.path()).len(), 0, "not read through a link");
            assert!(write(dir.path(), listen, "y").is_err(), "never written through a link");
        }
    }
}
