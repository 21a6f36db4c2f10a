//! toll's own non-secret files about stored credentials:
//!
//! - the **index** (`$XDG_STATE_HOME/toll/keyring-index.json` on Linux, the platform's local data
//!   directory elsewhere): proxy → user name, the keyring store that holds its password, and the
//!   last scheme that worked. The OS keyring cannot list entries and needs the user name to find
//!   one, so this is how a bare `toll URL` knows what to ask the keyring for. It never holds a
//!   secret: passwords live only in the keyring.
//! - the **settings** file (`$XDG_CONFIG_HOME/toll/config`): `save_credentials = ask|always|never`,
//!   `keyring = auto|secret-service|keyutils|none`, `pac = FILE|URL` and `wpad = on|off`, one
//!   `key = value` a line.
//!
//! Several toll processes may run at once: every index change holds an exclusive lock on a
//! sibling lock file and replaces the file atomically (temporary file + rename), so a reader
//! never sees half a file and two writers never lose each other's entries.
//!
//! Neither file is read whole whatever it is: both must be regular files of at most 1 MiB
//! (`statefile::read_limited`). An index that is not (a link, a device, a huge file) reads as
//! empty and a link or device is never written through; a settings file that is not is an
//! error naming it (see `statefile` for the why).

use crate::statefile::{read_limited, JsonFile, Links};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What the index knows about one proxy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexEntry {
    pub user: String,
    /// The keyring store holding the password (`secret-service`, `keyutils`, …).
    pub store: String,
    /// The last scheme the proxy accepted this credential with (`Basic`, `Digest`, …).
    #[serde(default)]
    pub scheme: Option<String>,
    /// Seconds since the Unix epoch of the last change.
    #[serde(default)]
    pub updated: u64,
    /// Seconds since the Unix epoch the password was last stored (`toll auth login`, a saved
    /// prompt; not a scheme recorded): a running server gives a password the proxy rejected
    /// one more trial when it is stored again after that.
    #[serde(default)]
    pub stored: u64,
}

#[derive(Default, Serialize, Deserialize)]
struct IndexFile {
    version: u32,
    /// Keyed by the proxy's `scheme://host:port` (never with credentials).
    proxies: BTreeMap<String, IndexEntry>,
}

/// The index file. Missing or unreadable means empty: it only tells where to look.
#[derive(Clone, Debug)]
pub struct Index {
    file: JsonFile,
}

impl Index {
    pub fn new(path: PathBuf) -> Index {
        Index { file: JsonFile::new(path) }
    }

    /// The default location, or `None` when no home or state directory is known.
    pub fn default_path(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
        toll_state_dir(env).map(|d| d.join("keyring-index.json"))
    }

    pub fn path(&self) -> &Path {
        self.file.path()
    }

    pub fn get(&self, proxy: &str) -> Option<IndexEntry> {
        self.file.read::<IndexFile>().proxies.get(proxy).cloned()
    }

    /// All entries, sorted by proxy.
    pub fn list(&self) -> Vec<(String, IndexEntry)> {
        self.file.read::<IndexFile>().proxies.into_iter().collect()
    }

    /// Records (or replaces) the entry for `proxy`.
    pub fn put(&self, proxy: &str, mut entry: IndexEntry) -> std::io::Result<()> {
        entry.updated = now();
        entry.stored = entry.updated;
        self.update(|f| {
            f.proxies.insert(proxy.to_string(), entry);
        })
    }

    /// Records the scheme that just worked, if the entry still names `user`.
    pub fn set_scheme(&self, proxy: &str, user: &str, scheme: &str) -> std::io::Result<()> {
        if self.get(proxy).is_none_or(|e| e.user != user || e.scheme.as_deref() == Some(scheme)) {
            return Ok(());
        }
        self.update(|f| {
            if let Some(e) = f.proxies.get_mut(proxy).filter(|e| e.user == user) {
                e.scheme = Some(scheme.to_string());
                e.updated = now();
            }
        })
    }

    /// Removes the entry for `proxy`; returns it if there was one.
    pub fn remove(&self, proxy: &str) -> std::io::Result<Option<IndexEntry>> {
        let mut removed = None;
        self.update(|f| removed = f.proxies.remove(proxy))?;
        Ok(removed)
    }

    /// The index changes rarely (on save): it is synced to disk before the rename.
    fn update(&self, change: impl FnOnce(&mut IndexFile)) -> std::io::Result<()> {
        self.file
            .update(true, |file: &mut IndexFile| {
                change(file);
                file.version = 1;
                Some(())
            })
            .map(|_| ())
    }
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// `$XDG_STATE_HOME`, else `~/.local/state` (XDG platforms); the local data directory elsewhere.
pub fn state_dir(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    if cfg!(any(target_os = "macos", windows)) {
        return dirs::data_local_dir();
    }
    xdg(env, "XDG_STATE_HOME", ".local/state")
}

/// toll's own directory in [`state_dir`] (`$XDG_STATE_HOME/toll`): the keyring index,
/// remembered authentication, dead proxies, the serve key and each server's record.
pub fn toll_state_dir(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    state_dir(env).map(|d| d.join("toll"))
}

/// `$XDG_CONFIG_HOME`, else `~/.config` (XDG platforms); the config directory elsewhere.
pub fn config_dir(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    if cfg!(any(target_os = "macos", windows)) {
        return dirs::config_dir();
    }
    xdg(env, "XDG_CONFIG_HOME", ".config")
}

/// XDG says relative values are invalid and must be ignored.
fn xdg(env: &dyn Fn(&str) -> Option<String>, var: &str, under_home: &str) -> Option<PathBuf> {
    env(var)
        .filter(|v| Path::new(v).is_absolute())
        .map(PathBuf::from)
        .or_else(|| Some(home(env)?.join(under_home)))
}

/// `$HOME` when it is an absolute path to a directory that is there: toll makes its directories
/// inside a home, never the home itself (review H: `HOME=/nonexistent`, Debian's "no home" for
/// `nobody` and `_apt`, was created by a root run; `HOME=relative` put state under the current
/// directory).
pub fn home(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    env("HOME").map(PathBuf::from).filter(|h| h.is_absolute() && h.is_dir())
}

/// `save_credentials`: what happens after a password typed at the prompt worked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SavePolicy {
    Ask,
    Always,
    Never,
}

impl SavePolicy {
    pub fn parse(v: &str) -> Option<SavePolicy> {
        match v.trim().to_ascii_lowercase().as_str() {
            "ask" => Some(SavePolicy::Ask),
            "always" | "yes" => Some(SavePolicy::Always),
            "never" | "no" => Some(SavePolicy::Never),
            _ => None,
        }
    }
}

/// The settings file's values (each `None` when not set there).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settings {
    pub save_credentials: Option<String>,
    pub keyring: Option<String>,
    /// `pac = FILE|URL`: the PAC to use when neither the command line nor the `*_proxy`
    /// variables name a proxy (`crate::route::sources`).
    pub pac: Option<String>,
    /// `wpad = on|off`: opt in to WPAD discovery (checked by `crate::route::sources`).
    pub wpad: Option<String>,
    /// Where they came from, for messages.
    pub path: Option<PathBuf>,
    /// The file could not be looked for: a directory on its way may not be entered (`su`
    /// without `-`, `sudo -u` keeping HOME): why. Read as no file, the caller warns.
    pub unreachable: Option<String>,
}

impl Settings {
    pub fn default_path(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
        config_dir(env).map(|d| d.join("toll").join("config"))
    }

    /// Reads the file; a missing file is empty settings. Errors name the file and line. The file
    /// may be a symbolic link (dotfile managers make them), but what it names must be a regular
    /// file of at most [`MAX_LEN`](crate::statefile::MAX_LEN) bytes: a FIFO, a device (a link to
    /// `/dev/zero` would never end) or a bigger file is an error naming the file, not settings
    /// silently ignored.
    pub fn load(path: Option<PathBuf>) -> Result<Settings, String> {
        let Some(path) = path else { return Ok(Settings::default()) };
        let text = match read_limited(&path, Links::Follow) {
            Ok(t) => {
                String::from_utf8(t).map_err(|_| format!("cannot read {}: not UTF-8 text", path.display()))?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Settings::default()),
            // Not even whether it exists can be known: as curl with a HOME it cannot enter,
            // go on without it (a file that is there but unreadable stays an error).
            Err(e)
                if e.kind() == std::io::ErrorKind::PermissionDenied
                    && std::fs::symlink_metadata(&path).is_err_and(|m| m.kind() == e.kind()) =>
            {
                let why = format!("cannot look for {}: {e}; going on without it", path.display());
                return Ok(Settings { unreachable: Some(why), ..Settings::default() });
            }
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        let mut s = Settings::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        s.path = Some(path);
        Ok(s)
    }

    pub fn parse(text: &str) -> Result<Settings, String> {
        let mut s = Settings::default();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                return Err(format!("line {}: expected 'key = value'", n + 1));
            };
            let value = setting_value(value);
            match key.trim() {
                "save_credentials" => s.save_credentials = Some(value),
                "keyring" => s.keyring = Some(value),
                "pac" => s.pac = Some(value),
                "wpad" => s.wpad = Some(value),
                other => {
                    return Err(format!(
                        "line {}: unknown setting '{other}' (known: save_credentials, keyring, pac, wpad)",
                        n + 1
                    ))
                }
            }
        }
        Ok(s)
    }
}

/// A setting's value as written: quotes taken off, and a comment after it (`# …` after white
/// space, as the README's example has) left out — a `#` inside a word or quotes stays
/// (`http://pac/p.pac#v2`).
fn setting_value(raw: &str) -> String {
    let raw = raw.trim();
    if raw.starts_with('#') {
        // `key =   # a comment`: no value.
        return String::new();
    }
    if let Some(inner) = raw.strip_prefix('"').and_then(|r| r.split_once('"')) {
        return inner.0.to_string();
    }
    let cut = raw.char_indices().find(|&(i, c)| c == '#' && raw[..i].ends_with([' ', '\t']));
    let value = cut.map_or(raw, |(i, _)| &raw[..i]);
    value.trim().trim_matches('"').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn a_comment_after_a_setting_is_not_part_of_its_value() {
        let s = Settings::parse(
            "save_credentials = ask      # ask | always | never\n\
             keyring = auto\t# auto | none\n\
             pac = http://10.0.0.1/p.pac#v2   # the corp PAC\n\
             wpad = \"off\" # quoted\n",
        )
        .unwrap();
        assert_eq!(s.save_credentials.as_deref(), Some("ask"));
        assert_eq!(s.keyring.as_deref(), Some("auto"));
        assert_eq!(s.pac.as_deref(), Some("http://10.0.0.1/p.pac#v2"));
        assert_eq!(s.wpad.as_deref(), Some("off"));
        let blank = Settings::parse("keyring =   # none yet\n").unwrap();
        assert_eq!(blank.keyring.as_deref(), Some(""));
    }

    fn entry(user: &str) -> IndexEntry {
        IndexEntry { user: user.into(), store: "keyutils".into(), scheme: None, updated: 0, stored: 0 }
    }

    #[test]
    fn index_round_trips_and_never_holds_more_than_it_is_given() {
        let dir = tempfile::tempdir().unwrap();
        let idx = Index::new(dir.path().join("toll/keyring-index.json"));
        assert!(idx.get("http://p:1").is_none());
        assert!(idx.list().is_empty());
        idx.put("http://p:1", entry("alice")).unwrap();
        idx.put("http://q:2", entry("bob")).unwrap();
        assert_eq!(idx.get("http://p:1").unwrap().user, "alice");
        idx.set_scheme("http://p:1", "alice", "Digest").unwrap();
        idx.set_scheme("http://p:1", "mallory", "Basic").unwrap();
        assert_eq!(idx.get("http://p:1").unwrap().scheme.as_deref(), Some("Digest"));
        let listed: Vec<String> = idx.list().into_iter().map(|(p, _)| p).collect();
        assert_eq!(listed, ["http://p:1", "http://q:2"]);
        assert_eq!(idx.remove("http://q:2").unwrap().unwrap().user, "bob");
        assert!(idx.remove("http://q:2").unwrap().is_none());
        let text = fs::read_to_string(idx.path()).unwrap();
        assert!(text.contains("\"alice\"") && !text.contains("password"), "{text}");
    }

    #[test]
    fn a_corrupt_index_reads_as_empty_and_is_replaced_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keyring-index.json");
        fs::write(&path, b"{ not json").unwrap();
        let idx = Index::new(path.clone());
        assert!(idx.get("http://p:1").is_none());
        idx.put("http://p:1", entry("alice")).unwrap();
        assert_eq!(idx.get("http://p:1").unwrap().user, "alice");
        // Only the index and its lock file: the temporary file was renamed, not left behind.
        let mut names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["keyring-index.json", "keyring-index.json.lock"]);
    }

    #[test]
    fn concurrent_writers_keep_every_entry() {
        let dir = tempfile::tempdir().unwrap();
        let idx = Index::new(dir.path().join("keyring-index.json"));
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let idx = idx.clone();
                std::thread::spawn(move || idx.put(&format!("http://p:{i}"), entry("u")).unwrap())
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(idx.list().len(), 8);
    }

    #[test]
    fn xdg_dirs_ignore_relative_values() {
        let env = |k: &str| match k {
            "XDG_STATE_HOME" => Some("relative/state".to_string()),
            "XDG_CONFIG_HOME" => Some("/cfg".to_string()),
            "HOME" => Some("/".to_string()),
            _ => None,
        };
        if cfg!(not(any(target_os = "macos", windows))) {
            assert_eq!(state_dir(&env).unwrap(), Path::new("/.local/state"));
            assert_eq!(config_dir(&env).unwrap(), Path::new("/cfg"));
            assert_eq!(
                Index::default_path(&env).unwrap(),
                Path::new("/.local/state/toll/keyring-index.json")
            );
            // A HOME that is not there, or not absolute, is no home.
            for home in ["/nonexistent", "relative"] {
                let env = |k: &str| (k == "HOME").then(|| home.to_string());
                assert_eq!(state_dir(&env), None, "{home}");
            }
        }
    }

    #[test]
    fn settings_from_a_huge_file_a_fifo_or_a_device_are_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        let load = |p: &Path| Settings::load(Some(p.to_path_buf()));
        // Comments only: valid settings, just far too many of them.
        fs::write(&path, "# comment\n".repeat(200_000)).unwrap();
        let err = load(&path).unwrap_err();
        assert!(err.contains(&path.display().to_string()) && err.contains("larger than"), "{err}");
        fs::write(&path, "keyring = none\n").unwrap();
        assert_eq!(load(&path).unwrap().keyring.as_deref(), Some("none"));
        #[cfg(unix)]
        {
            // A link to a regular file is fine (dotfile managers make them).
            let link = dir.path().join("linked-config");
            std::os::unix::fs::symlink(&path, &link).unwrap();
            assert_eq!(load(&link).unwrap().keyring.as_deref(), Some("none"));

            let fifo = dir.path().join("fifo-config");
            let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
            assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
            let (tx, rx) = std::sync::mpsc::channel();
            let f = fifo.clone();
            std::thread::spawn(move || {
                let _ = tx.send(Settings::load(Some(f)));
            });
            let err = rx.recv_timeout(std::time::Duration::from_secs(5)).expect("a FIFO hangs").unwrap_err();
            assert!(err.contains(&fifo.display().to_string()) && err.contains("not a regular file"), "{err}");

            let zero = dir.path().join("zero-config");
            std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
            let err = load(&zero).unwrap_err();
            assert!(err.contains(&zero.display().to_string()) && err.contains("not a regular file"), "{err}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn an_index_that_is_a_fifo_or_a_link_to_a_device_reads_as_empty_and_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo-index.json");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let zero = dir.path().join("zero-index.json");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        for path in [fifo, zero] {
            let idx = Index::new(path.clone());
            let (tx, rx) = std::sync::mpsc::channel();
            let i = idx.clone();
            std::thread::spawn(move || tx.send(i.list().len()));
            let listed = rx.recv_timeout(std::time::Duration::from_secs(5));
            assert_eq!(listed, Ok(0), "reading {} hangs", path.display());
            assert!(idx.put("http://p:1", entry("alice")).is_err());
            assert!(!fs::symlink_metadata(&path).unwrap().is_file(), "{} was replaced", path.display());
        }
    }

    #[test]
    fn settings_parse() {
        let s = Settings::parse("# comment\n\nsave_credentials = never\nkeyring=\"keyutils\"\n").unwrap();
        assert_eq!(s.save_credentials.as_deref(), Some("never"));
        assert_eq!(s.keyring.as_deref(), Some("keyutils"));
        let s = Settings::parse("pac = \"http://pac.corp.example/p.pac\"\nwpad = on\n").unwrap();
        assert_eq!(s.pac.as_deref(), Some("http://pac.corp.example/p.pac"));
        assert_eq!(s.wpad.as_deref(), Some("on"));
        assert!(Settings::parse("colour = blue").unwrap_err().contains("unknown setting 'colour'"));
        assert!(Settings::parse("just words").unwrap_err().contains("line 1"));
        assert_eq!(SavePolicy::parse(" Always "), Some(SavePolicy::Always));
        assert_eq!(SavePolicy::parse("maybe"), None);
    }
}
