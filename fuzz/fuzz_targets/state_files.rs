//! toll's state files as read from disk: the same bytes as `remembered.json` (remembered auth,
//! [`toll::remembered::Remembered`]) and `keyring-index.json` ([`toll::store::Index`]), through
//! their public API on real files in a private temporary directory (both go through
//! [`toll::statefile::JsonFile`]). Every remembered entry is restored and answered from, its
//! nonce count reserved, re-saved and forgotten. Nothing may panic; unreadable content reads as
//! empty.
#![no_main]

#[path = "common.rs"]
mod common;

use common::{assert_header_safe, FixedEntropy};
use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::OnceLock;
use toll::auth::RequestTarget;
use toll::remembered::Remembered;
use toll::secret::Credentials;
use toll::store::Index;

fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        // tmpfs when there is one: the target writes two files per execution. libFuzzer exits
        // without running destructors, so each process names its directory by pid and removes
        // those of processes that are gone.
        let base =
            ["/dev/shm", "/tmp"].into_iter().map(PathBuf::from).find(|p| p.is_dir()).unwrap_or_default();
        for e in std::fs::read_dir(&base).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(pid) = name.strip_prefix("toll-fuzz-state.") {
                if !std::path::Path::new("/proc").join(pid).exists() {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        let d = base.join(format!("toll-fuzz-state.{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("temp dir");
        d
    })
}

/// The proxy keys of the file's `proxies` object, if it has one.
fn keys(data: &[u8]) -> Vec<String> {
    let Ok(serde_json::Value::Object(top)) = serde_json::from_slice(data) else { return Vec::new() };
    match top.get("proxies") {
        Some(serde_json::Value::Object(p)) => p.keys().take(8).cloned().collect(),
        _ => Vec::new(),
    }
}

fuzz_target!(|data: &[u8]| {
    let remembered_path = dir().join("remembered.json");
    let index_path = dir().join("keyring-index.json");
    std::fs::write(&remembered_path, data).expect("write remembered.json");
    std::fs::write(&index_path, data).expect("write keyring-index.json");
    let keys = keys(data);

    let remembered = Remembered::new(remembered_path);
    let creds = Credentials::new("alice", "secret");
    let target = RequestTarget { method: "GET", uri: "/", body: Some(b""), proxy_host: "proxy", service: "HTTP", delegation: Default::default() };
    for key in keys.iter().map(String::as_str).chain(["http://proxy:3128"]) {
        let Some(entry) = remembered.take(key) else { continue };
        if let Some(mut auth) = entry.memory.restore() {
            if let Some(Ok(v)) = auth.preemptive(&creds, &target, &mut FixedEntropy) {
                assert_header_safe("restored response", v.expose());
            }
        }
        let _ = remembered.reserve_nc(key, &entry.memory);
        remembered.save(key, entry.clone());
        assert_eq!(remembered.take(key).map(|e| e.memory.scheme()), Some(entry.memory.scheme()));
        remembered.forget(key);
        assert!(remembered.take(key).is_none());
    }

    let index = Index::new(index_path);
    let listed = index.list();
    for (proxy, entry) in listed.iter().take(8) {
        assert_eq!(index.get(proxy).as_ref(), Some(entry));
        index.set_scheme(proxy, &entry.user, "Digest").expect("set_scheme");
        assert_eq!(index.remove(proxy).expect("remove").map(|e| e.user), Some(entry.user.clone()));
    }
});
