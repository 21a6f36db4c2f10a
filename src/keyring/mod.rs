//! The OS keyring: which stores exist on this platform, which one to use (`TOLL_KEYRING` or the
//! `keyring` setting), and every call to them.
//!
//! Stores (keyring-core plus one store crate each): Linux and other XDG systems — the Secret
//! Service over D-Bus (GNOME Keyring, KWallet, KeePassXC), and on Linux the kernel keyring
//! (keyutils), used when no Secret Service answers: it lasts until reboot. macOS — the Keychain.
//! Windows — the Credential Manager. There is never a plaintext-file fallback.
//!
//! Every call runs on a thread of its own and is abandoned after a timeout (3 s unless
//! `TOLL_KEYRING_TIMEOUT` says otherwise): a bus that never replies makes zbus wait forever, and
//! a locked keyring with a display blocks until someone answers a GUI prompt.
//!
//! An entry is the proxy — service `toll:<scheme>://<host>:<port>`, never with credentials —
//! and the user name as the account. The keyring cannot list entries, so `store::Index` records
//! which user (and store) to look up for each proxy.

pub mod session;

use crate::secret::Secret;
use keyring_core::{CredentialStore, Entry};
use std::fmt;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a keyring call may take before toll goes on without it.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StoreKind {
    SecretService,
    Keyutils,
    Keychain,
    CredentialManager,
}

impl StoreKind {
    pub const ALL: [StoreKind; 4] =
        [StoreKind::SecretService, StoreKind::Keyutils, StoreKind::Keychain, StoreKind::CredentialManager];

    /// The name used by `TOLL_KEYRING`, the settings file and the index.
    pub fn id(self) -> &'static str {
        match self {
            StoreKind::SecretService => "secret-service",
            StoreKind::Keyutils => "keyutils",
            StoreKind::Keychain => "keychain",
            StoreKind::CredentialManager => "credential-manager",
        }
    }

    pub fn from_id(id: &str) -> Option<StoreKind> {
        StoreKind::ALL.into_iter().find(|k| k.id() == id)
    }

    /// For messages: "the Secret Service", …
    pub fn describe(self) -> &'static str {
        match self {
            StoreKind::SecretService => "the Secret Service",
            StoreKind::Keyutils => "the kernel keyring (keyutils)",
            StoreKind::Keychain => "the macOS Keychain",
            StoreKind::CredentialManager => "the Windows Credential Manager",
        }
    }

    /// Kernel memory: survives processes and new logins, not a reboot.
    pub fn until_reboot(self) -> bool {
        self == StoreKind::Keyutils
    }

    /// The stores this build has, in the order `auto` tries them for saving.
    pub fn available() -> Vec<StoreKind> {
        let mut v = Vec::new();
        if cfg!(all(unix, not(any(target_os = "macos", target_os = "ios", target_os = "android")))) {
            v.push(StoreKind::SecretService);
        }
        if cfg!(target_os = "linux") {
            v.push(StoreKind::Keyutils);
        }
        if cfg!(target_os = "macos") {
            v.push(StoreKind::Keychain);
        }
        if cfg!(windows) {
            v.push(StoreKind::CredentialManager);
        }
        v
    }
}

impl fmt::Display for StoreKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// `TOLL_KEYRING` / the `keyring` setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Choice {
    /// Look where the index says; save in the first store that works.
    Auto,
    Only(StoreKind),
    /// No keyring at all: neither looked up nor offered for saving.
    Disabled,
}

impl Choice {
    pub fn parse(value: &str) -> Result<Choice, String> {
        let v = value.trim().to_ascii_lowercase();
        match v.as_str() {
            "" | "auto" => Ok(Choice::Auto),
            "none" | "off" => Ok(Choice::Disabled),
            _ => match StoreKind::from_id(&v) {
                Some(k) if StoreKind::available().contains(&k) => Ok(Choice::Only(k)),
                Some(k) => Err(format!("{} is not available on this platform", k.describe())),
                None => {
                    let names: Vec<&str> = StoreKind::available().iter().map(|k| k.id()).collect();
                    Err(format!("unknown keyring '{value}' (use auto, {} or none)", names.join(", ")))
                }
            },
        }
    }

    /// The stores to try when saving, in order.
    pub fn save_order(self) -> Vec<StoreKind> {
        match self {
            Choice::Auto => StoreKind::available(),
            Choice::Only(k) => vec![k],
            Choice::Disabled => Vec::new(),
        }
    }

    /// The store to read an entry from, given where the index says it is.
    pub fn lookup_store(self, indexed: Option<StoreKind>) -> Option<StoreKind> {
        match self {
            Choice::Auto => indexed,
            Choice::Only(k) => Some(k),
            Choice::Disabled => None,
        }
    }
}

/// Why a keyring call gave no answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyringError {
    /// No answer within the timeout: the call was abandoned.
    Timeout { store: StoreKind, after: Duration },
    /// The store is not there or not usable now (no bus, no provider, locked, no session keyring).
    Unavailable { store: StoreKind, why: String },
    /// The store answered with an error.
    Failed { store: StoreKind, why: String },
}

impl KeyringError {
    pub fn store(&self) -> StoreKind {
        match self {
            KeyringError::Timeout { store, .. }
            | KeyringError::Unavailable { store, .. }
            | KeyringError::Failed { store, .. } => *store,
        }
    }
}

impl KeyringError {
    /// What happened, without naming the store: `no answer within 3 s`, `not available: …`.
    pub fn reason(&self) -> String {
        match self {
            KeyringError::Timeout { after, .. } => format!("no answer within {}", seconds(*after)),
            KeyringError::Unavailable { why, .. } => format!("not available: {why}"),
            KeyringError::Failed { why, .. } => format!("failed: {why}"),
        }
    }
}

impl fmt::Display for KeyringError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyringError::Timeout { store, after } => {
                write!(f, "{store} did not answer within {}", seconds(*after))
            }
            KeyringError::Unavailable { store, why } => write!(f, "{store} is not available: {why}"),
            KeyringError::Failed { store, why } => write!(f, "{store} failed: {why}"),
        }
    }
}

fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s:.1} s")
    }
}

/// The keyring entry's service name for a proxy (`scheme://host:port`).
pub fn service_name(proxy: &str) -> String {
    format!("toll:{proxy}")
}

/// Calls into the stores, each on its own thread with a timeout.
#[derive(Clone, Copy, Debug)]
pub struct Keyring {
    pub timeout: Duration,
}

impl Default for Keyring {
    fn default() -> Self {
        Keyring { timeout: DEFAULT_TIMEOUT }
    }
}

impl Keyring {
    /// `TOLL_KEYRING_TIMEOUT` (seconds, fractions allowed) or the default.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Keyring {
        let timeout = env("TOLL_KEYRING_TIMEOUT")
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s > 0.0)
            .and_then(|s| Duration::try_from_secs_f64(s).ok())
            .unwrap_or(DEFAULT_TIMEOUT);
        Keyring { timeout }
    }

    /// The password stored for `user` at `proxy`, `None` if there is no such entry.
    pub fn get(&self, store: StoreKind, proxy: &str, user: &str) -> Result<Option<Secret>, KeyringError> {
        let (service, user) = (service_name(proxy), user.to_string());
        self.call(store, move |s| match entry(s, &service, &user)?.get_password() {
            Ok(p) => Ok(Some(Secret::from(p))),
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(e) => Err(e),
        })
    }

    /// Stores (or replaces) the password for `user` at `proxy`.
    pub fn set(
        &self,
        store: StoreKind,
        proxy: &str,
        user: &str,
        password: &Secret,
    ) -> Result<(), KeyringError> {
        let (service, user, password) = (service_name(proxy), user.to_string(), password.clone());
        self.call(store, move |s| entry(s, &service, &user)?.set_password(password.expose()))
    }

    /// Deletes the entry; `Ok(false)` when there was none.
    pub fn delete(&self, store: StoreKind, proxy: &str, user: &str) -> Result<bool, KeyringError> {
        let (service, user) = (service_name(proxy), user.to_string());
        self.call(store, move |s| match entry(s, &service, &user)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring_core::Error::NoEntry) => Ok(false),
            Err(e) => Err(e),
        })
    }

    /// Like [`get`](Self::get), also saying how long the store took to answer.
    pub fn timed_get(
        &self,
        store: StoreKind,
        proxy: &str,
        user: &str,
    ) -> (Result<Option<Secret>, KeyringError>, Duration) {
        let started = Instant::now();
        let r = self.get(store, proxy, user);
        (r, started.elapsed())
    }

    /// Runs `op` against a freshly opened `store` on its own thread; abandons it after the
    /// timeout (the thread is detached: it ends with the process if the store never answers).
    /// While an abandoned call to a store is still running, later calls to it fail at once
    /// instead of starting another: a D-Bus that never answers cost a long-running `toll serve`
    /// a thread and a socket for every lookup (one every few seconds of traffic), until it ran
    /// out of file descriptors.
    fn call<T: Send + 'static>(
        &self,
        store: StoreKind,
        op: impl FnOnce(&Arc<CredentialStore>) -> keyring_core::Result<T> + Send + 'static,
    ) -> Result<T, KeyringError> {
        use std::sync::atomic::{AtomicBool, Ordering};
        static STUCK: Mutex<Vec<StoreKind>> = Mutex::new(Vec::new());
        let stuck = || STUCK.lock().unwrap_or_else(|e| e.into_inner());
        if stuck().contains(&store) {
            return Err(KeyringError::Timeout { store, after: self.timeout });
        }
        let (tx, rx) = mpsc::sync_channel(1);
        let done = Arc::new(AtomicBool::new(false));
        let finished = done.clone();
        let spawned =
            std::thread::Builder::new().name(format!("toll-keyring-{}", store.id())).spawn(move || {
                let r = match open(store) {
                    Ok(s) => op(&s).map_err(|e| classify(store, e, false)),
                    Err(e) => Err(classify(store, e, true)),
                };
                let _ = tx.send(r);
                finished.store(true, Ordering::SeqCst);
                stuck().retain(|s| *s != store);
            });
        if let Err(e) = spawned {
            return Err(KeyringError::Failed { store, why: format!("cannot start a thread: {e}") });
        }
        match rx.recv_timeout(self.timeout) {
            Ok(r) => r,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                stuck().push(store);
                // It may have ended between the timeout and the line above.
                if done.load(Ordering::SeqCst) {
                    stuck().retain(|s| *s != store);
                }
                Err(KeyringError::Timeout { store, after: self.timeout })
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                Err(KeyringError::Failed { store, why: "the keyring call panicked".into() })
            }
        }
    }
}

fn entry(store: &Arc<CredentialStore>, service: &str, user: &str) -> keyring_core::Result<Entry> {
    let label = format!("toll: {user} at {}", service.trim_start_matches("toll:"));
    let modifiers = std::collections::HashMap::from([("label", label.as_str())]);
    // Only the Secret Service takes a label (shown in Seahorse and the like).
    if store.vendor().starts_with("Secret Service") {
        Entry::new_in_store_with_modifiers(store, service, user, &modifiers)
    } else {
        Entry::new_in_store(store, service, user)
    }
}

fn classify(store: StoreKind, e: keyring_core::Error, opening: bool) -> KeyringError {
    use keyring_core::Error as E;
    match e {
        E::NoStorageAccess(why) => {
            KeyringError::Unavailable { store, why: format!("locked or not accessible ({why})") }
        }
        E::PlatformFailure(why) if opening => KeyringError::Unavailable { store, why: why.to_string() },
        E::NotSupportedByStore(why) => KeyringError::Unavailable { store, why },
        E::NoDefaultStore => KeyringError::Unavailable { store, why: e.to_string() },
        other => KeyringError::Failed { store, why: other.to_string() },
    }
}

/// Opens a store of this build.
fn open(kind: StoreKind) -> keyring_core::Result<Arc<CredentialStore>> {
    match kind {
        #[cfg(all(unix, not(any(target_os = "macos", target_os = "ios", target_os = "android"))))]
        StoreKind::SecretService => Ok(zbus_secret_service_keyring_store::Store::new()?),
        #[cfg(target_os = "linux")]
        StoreKind::Keyutils => {
            if !own_session_keyring() {
                // Without one, `get` finds nothing and `set` fails with AccessDenied after
                // creating an orphan key: refuse up front with the reason.
                return Err(keyring_core::Error::NotSupportedByStore(
                    "this process has no session keyring of its own (cron, a sandbox, a container); \
                     start toll under `keyctl session -` or log in again"
                        .into(),
                ));
            }
            // `service_no_divider`: a user name with '@' (alice@corp) stays unambiguous.
            let config = std::collections::HashMap::from([("service_no_divider", "true")]);
            Ok(linux_keyutils_keyring_store::Store::new_with_configuration(&config)?)
        }
        #[cfg(target_os = "macos")]
        StoreKind::Keychain => Ok(apple_native_keyring_store::keychain::Store::new()?),
        #[cfg(windows)]
        StoreKind::CredentialManager => Ok(windows_native_keyring_store::Store::new()?),
        #[allow(unreachable_patterns)]
        other => {
            Err(keyring_core::Error::NotSupportedByStore(format!("{other} is not built into this toll")))
        }
    }
}

/// Whether this process has a session keyring of its own: without one the kernel falls back to
/// the user-session keyring, which keyutils stores cannot write to.
#[cfg(target_os = "linux")]
fn own_session_keyring() -> bool {
    const KEYCTL_GET_KEYRING_ID: libc::c_long = 0;
    const KEY_SPEC_SESSION_KEYRING: libc::c_long = -3;
    const KEY_SPEC_USER_SESSION_KEYRING: libc::c_long = -5;
    // SAFETY: KEYCTL_GET_KEYRING_ID with create=0 only reads the caller's keyring ids.
    let id = |spec: libc::c_long| unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_GET_KEYRING_ID, spec, 0) };
    let (session, user_session) = (id(KEY_SPEC_SESSION_KEYRING), id(KEY_SPEC_USER_SESSION_KEYRING));
    session > 0 && session != user_session
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choice_parsing() {
        assert_eq!(Choice::parse("").unwrap(), Choice::Auto);
        assert_eq!(Choice::parse("None").unwrap(), Choice::Disabled);
        let err = Choice::parse("plaintext").unwrap_err();
        assert!(err.contains("unknown keyring 'plaintext'"), "{err}");
        if cfg!(target_os = "linux") {
            assert_eq!(Choice::parse("keyutils").unwrap(), Choice::Only(StoreKind::Keyutils));
            assert_eq!(Choice::parse("secret-service").unwrap(), Choice::Only(StoreKind::SecretService));
            assert!(Choice::parse("keychain").unwrap_err().contains("not available"));
            assert_eq!(Choice::Auto.save_order(), [StoreKind::SecretService, StoreKind::Keyutils]);
        }
        assert_eq!(Choice::Auto.lookup_store(Some(StoreKind::Keyutils)), Some(StoreKind::Keyutils));
        assert_eq!(Choice::Disabled.lookup_store(Some(StoreKind::Keyutils)), None);
        for k in StoreKind::ALL {
            assert_eq!(StoreKind::from_id(k.id()), Some(k));
        }
    }

    #[test]
    fn entries_name_the_proxy_without_credentials() {
        assert_eq!(service_name("http://proxy.corp:3128"), "toll:http://proxy.corp:3128");
    }

    #[test]
    fn a_store_that_never_answers_is_abandoned_after_the_timeout() {
        // A bus address that accepts nothing answers at once with an error; a listener that
        // never speaks is the wedged case, covered end to end in tests/it/t_keyring.rs. Here:
        // the timeout arithmetic and message.
        let e = KeyringError::Timeout { store: StoreKind::SecretService, after: Duration::from_millis(1500) };
        assert_eq!(e.to_string(), "the Secret Service did not answer within 1.5 s");
        let e = KeyringError::Timeout { store: StoreKind::Keyutils, after: DEFAULT_TIMEOUT };
        assert_eq!(e.to_string(), "the kernel keyring (keyutils) did not answer within 3 s");
    }

    #[test]
    fn timeout_from_env() {
        let k = Keyring::from_env(&|k| (k == "TOLL_KEYRING_TIMEOUT").then(|| "0.25".to_string()));
        assert_eq!(k.timeout, Duration::from_millis(250));
        let k = Keyring::from_env(&|_| Some("-1".to_string()));
        assert_eq!(k.timeout, DEFAULT_TIMEOUT);
    }
}
