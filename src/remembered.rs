//! Remembered proxy authentication: after a scheme works on a proxy, the next run answers before
//! being asked (Basic: no 407 at all; Digest: none while the nonce lives, one `stale=true` 407
//! when it does not; NTLM: each connection opens with the type-1 message, one 407 instead of
//! two). Only non-secret state is kept — proxy, scheme, realm, user, and for Digest
//! the nonce, opaque, algorithm, qop, cnonce and next nonce count — in
//! `$XDG_STATE_HOME/toll/remembered.json`; the password comes from the credential sources again.
//!
//! Several toll processes may run at once: every read-modify-write holds an exclusive lock on a
//! sibling lock file and replaces the state file atomically (write to a temporary file, rename).
//! Each pre-emptive answer with the Digest session held here takes its nonce count from the file
//! under that lock, so two concurrent runs never send the same `nc` with one nonce (RFC 7616
//! §3.4), and none is wasted: proxies retire a nonce after a fixed number of uses (Squid: 50).
//! A process's other Digest sessions count in memory, and a long-running one (`toll serve`)
//! writes a new session here at most every 30 s (`relay::upstream::sessions`): the file may then
//! hold a nonce the proxy has retired, which costs the next run one `stale=true` 407.
//!
//! The file is a `statefile::JsonFile`: a link, FIFO or device in its place, or a file over
//! 1 MiB, reads as nothing remembered, and a link or device is never written through.

use crate::auth::Memory;
use crate::statefile::JsonFile;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub user: String,
    #[serde(default)]
    pub realm: Option<String>,
    pub memory: Memory,
}

#[derive(Default, Serialize, Deserialize)]
struct State {
    version: u32,
    proxies: BTreeMap<String, Entry>,
}

/// The state file, or nothing at all when no state directory is known.
#[derive(Clone, Debug)]
pub struct Remembered {
    file: JsonFile,
}

impl Remembered {
    pub fn new(path: PathBuf) -> Remembered {
        Remembered { file: JsonFile::new(path) }
    }

    /// `remembered.json` in toll's state directory (`$XDG_STATE_HOME/toll/` on Linux).
    pub fn default_path(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
        crate::store::toll_state_dir(env).map(|d| d.join("remembered.json"))
    }

    /// The entry for `proxy`.
    pub fn take(&self, proxy: &str) -> Option<Entry> {
        let state = self.read();
        state.proxies.get(proxy).cloned()
    }

    /// The nonce count to send next with the Digest session in `memory`, reserved for this
    /// process: the higher of the stored count for that nonce and `memory`'s own. `None` when
    /// `memory` is not Digest or the state cannot be used.
    pub fn reserve_nc(&self, proxy: &str, memory: &Memory) -> Option<u32> {
        let Memory::Digest(ours) = memory else { return None };
        let mut reserved = None;
        self.update(|state| {
            let stored = state.proxies.get_mut(proxy)?;
            let Memory::Digest(d) = &mut stored.memory else { return None };
            if d.params != ours.params {
                return None;
            }
            let n = d.next_nc.max(ours.next_nc);
            d.next_nc = n.checked_add(1)?;
            reserved = Some(n);
            Some(())
        });
        reserved
    }

    /// Records what worked. For the same Digest nonce the higher count wins, so a count handed
    /// to a concurrent run is never handed out again.
    pub fn save(&self, proxy: &str, entry: Entry) {
        self.update(|state| {
            let mut entry = entry;
            if let (Some(Entry { memory: Memory::Digest(old), .. }), Memory::Digest(new)) =
                (state.proxies.get(proxy), &mut entry.memory)
            {
                if old.params == new.params {
                    new.next_nc = new.next_nc.max(old.next_nc);
                }
            }
            if state.proxies.get(proxy) == Some(&entry) {
                return None;
            }
            state.proxies.insert(proxy.to_owned(), entry);
            Some(())
        });
    }

    /// Forgets `proxy` (its remembered scheme did not work).
    pub fn forget(&self, proxy: &str) {
        self.update(|state| state.proxies.remove(proxy).map(|_| ()));
    }

    fn read(&self) -> State {
        self.file.read()
    }

    /// Runs `change` on the state under the lock; writes it back when `change` returns `Some`.
    /// State problems are never fatal, and the file is not synced to disk: it is written on
    /// every pre-emptive request with the Digest session it holds, and losing it in a crash
    /// costs one 407.
    fn update(&self, change: impl FnOnce(&mut State) -> Option<()>) {
        let written = self.file.update(false, |state: &mut State| {
            change(state)?;
            state.version = 1;
            Some(())
        });
        if let Err(e) = written {
            // The request goes on; the run says once, at its end, that nothing is remembered
            // (a state directory left to root by a `sudo toll`, a read-only HOME).
            let _ = WRITE_FAILURE.set(format!("cannot write {}: {e}", self.file.path().display()));
        }
    }
}

/// The first failure to write the remembered state in this process, if any.
static WRITE_FAILURE: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Why remembered authentication could not be written in this run (every later run then pays
/// the 407 again), for a warning at the end of the run.
pub fn write_failure() -> Option<&'static str> {
    WRITE_FAILURE.get().map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::digest::DigestMemory;

    fn digest(next_nc: u32) -> Entry {
        let params = vec![("realm".into(), "r".into()), ("nonce".into(), "n1".into())];
        Entry {
            user: "alice".into(),
            realm: Some("r".into()),
            memory: Memory::Digest(DigestMemory { params, cnonce: "c".into(), next_nc }),
        }
    }

    fn nc(e: &Entry) -> u32 {
        match &e.memory {
            Memory::Digest(d) => d.next_nc,
            _ => 0,
        }
    }

    #[test]
    fn counts_are_reserved_one_at_a_time_and_never_go_back() {
        let dir = tempfile::tempdir().unwrap();
        let r = Remembered::new(dir.path().join("toll/remembered.json"));
        assert!(r.take("http://p:1").is_none());
        r.save("http://p:1", digest(5));
        let mine = r.take("http://p:1").unwrap();
        assert_eq!(nc(&mine), 5);
        assert_eq!(r.reserve_nc("http://p:1", &mine.memory), Some(5));
        assert_eq!(r.reserve_nc("http://p:1", &mine.memory), Some(6), "a concurrent run gets the next one");
        r.save("http://p:1", digest(6)); // a run that used 5 reports 6 as its next: the file keeps 7
        assert_eq!(r.reserve_nc("http://p:1", &mine.memory), Some(7));
        assert_eq!(r.reserve_nc("http://p:1", &Memory::Basic), None);
    }

    #[test]
    fn forget_and_corrupt_state_are_harmless() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("remembered.json");
        std::fs::write(&path, b"{ not json").unwrap();
        let r = Remembered::new(path.clone());
        assert!(r.take("http://p:1").is_none());
        r.save("http://p:1", Entry { user: "a".into(), realm: None, memory: Memory::Basic });
        assert_eq!(r.take("http://p:1").unwrap().memory, Memory::Basic);
        r.forget("http://p:1");
        assert!(r.take("http://p:1").is_none());
        assert!(!std::fs::read_to_string(&path).unwrap().contains("password"));
    }

    #[cfg(unix)]
    #[test]
    fn a_state_file_planted_as_a_link_is_neither_believed_nor_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let planted = dir.path().join("planted.json");
        let other = Remembered::new(planted.clone());
        other.save("http://p:1", digest(9));
        let before = std::fs::read(&planted).unwrap();
        let path = dir.path().join("remembered.json");
        std::os::unix::fs::symlink(&planted, &path).unwrap();
        let r = Remembered::new(path.clone());
        assert!(r.take("http://p:1").is_none(), "state read through a link");
        r.save("http://p:1", digest(1));
        r.forget("http://p:1");
        assert_eq!(std::fs::read(&planted).unwrap(), before);
        assert!(std::fs::symlink_metadata(&path).unwrap().file_type().is_symlink());
    }

    #[test]
    fn concurrent_takers_never_share_a_count() {
        let dir = tempfile::tempdir().unwrap();
        let r = Remembered::new(dir.path().join("remembered.json"));
        r.save("http://p:1", digest(1));
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let r = r.clone();
                std::thread::spawn(move || {
                    let mine = r.take("http://p:1").unwrap();
                    r.reserve_nc("http://p:1", &mine.memory).unwrap()
                })
            })
            .collect();
        let mut got: Vec<u32> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        got.sort();
        got.dedup();
        assert_eq!(got, (1..=8).collect::<Vec<_>>(), "every run got its own count, none wasted");
    }
}
