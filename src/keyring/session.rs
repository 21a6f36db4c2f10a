//! One run's dealings with stored credentials: the keyring credential source, what the proxies
//! said about each credential, and what is done about it when the transfer is over — a password
//! typed at the prompt that worked is saved (`save_credentials`: ask, always, never), a stored
//! one that was rejected is replaced only by one that worked, and the index learns the scheme.
//!
//! Saving happens after the transfer, not when the proxy accepts: the relay calls the sources'
//! hooks on its async workers, which must not wait for a keyring or a person, and the question
//! `Save it in the OS keyring? [Y/n]` reads better after the output than in the middle of it.

use super::{Choice, Keyring, KeyringError, StoreKind};
use crate::config::ProxySpec;
use crate::creds::{CredentialRequest, CredentialSource, Lookup};
use crate::error::{Error, Exit};
use crate::prompt::{self, Tty, MAX_ATTEMPTS};
use crate::secret::Credentials;
use crate::store::{Index, IndexEntry, SavePolicy};
use crate::term::{sanitize, Terminal};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// A password typed at the prompt that a proxy accepted, waiting to be saved.
struct Pending {
    proxy: String,
    host_port: String,
    creds: Credentials,
    scheme: String,
}

#[derive(Default)]
struct State {
    prompts: u32,
    rejected: HashSet<[u8; 32]>,
    pending: Vec<Pending>,
    /// Proxies whose stored password was rejected in this run.
    stale: HashSet<String>,
    /// (proxy, user, scheme) of stored passwords that worked.
    stored_ok: Vec<(String, String, String)>,
    /// Proxies that asked for credentials, for the `toll auth login` hint.
    proxies: Vec<String>,
    notes: HashSet<String>,
}

/// Shared by the credential sources of every proxy in one run.
pub struct Session {
    pub keyring: Keyring,
    pub choice: Choice,
    pub index: Option<Index>,
    pub save: SavePolicy,
    pub term: Terminal,
    /// `-s` without `-S`: no notes on stderr.
    pub quiet: bool,
    state: Mutex<State>,
    /// Held while a prompt is on the terminal: two proxies asking at once take turns.
    prompting: Mutex<()>,
    /// Bumped by [`Session::relook`]: keyring sources ask the store again.
    generation: std::sync::atomic::AtomicU64,
}

impl Session {
    pub fn new(
        keyring: Keyring,
        choice: Choice,
        index: Option<Index>,
        save: SavePolicy,
        term: Terminal,
        quiet: bool,
    ) -> Session {
        Session {
            keyring,
            choice,
            index,
            save,
            term,
            quiet,
            state: Mutex::new(State::default()),
            prompting: Mutex::new(()),
            generation: Default::default(),
        }
    }

    /// The stored passwords may have changed (`toll serve` got SIGHUP): every keyring source
    /// asks the store again at its next lookup. A password the proxy rejected is still never
    /// sent again (the broker remembers it).
    pub fn relook(&self) {
        self.generation.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A line on stderr, at most once per text, unless `-s`.
    pub fn note(&self, text: &str) {
        if !self.quiet && self.state().notes.insert(text.to_string()) {
            eprintln!("toll: {}", sanitize(text));
        }
    }

    /// The terminal, for one prompt at a time.
    pub fn prompt_turn(&self) -> std::sync::MutexGuard<'_, ()> {
        self.prompting.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts a prompted attempt: `Some(n)` for the n-th, `None` once the limit is reached.
    pub fn take_prompt_attempt(&self) -> Option<u32> {
        let mut st = self.state();
        (st.prompts < MAX_ATTEMPTS).then(|| {
            st.prompts += 1;
            st.prompts
        })
    }

    pub fn note_rejected(&self, creds: &Credentials) {
        self.state().rejected.insert(creds.fingerprint());
    }

    pub fn was_rejected(&self, creds: &Credentials) -> bool {
        self.state().rejected.contains(&creds.fingerprint())
    }

    /// Whether the prompt was shown in this run.
    pub fn prompted(&self) -> bool {
        self.state().prompts > 0
    }

    /// Whether the proxy rejected a password typed at the prompt in this run.
    pub fn prompted_rejected(&self) -> bool {
        !self.state().rejected.is_empty()
    }

    pub fn prompted_accepted(&self, proxy: &ProxySpec, req: &CredentialRequest, creds: &Credentials) {
        let key = proxy.display_url();
        let mut st = self.state();
        st.pending.retain(|p| p.proxy != key);
        st.pending.push(Pending {
            proxy: key,
            host_port: proxy.host_port(),
            creds: creds.clone(),
            scheme: req.scheme.name().to_string(),
        });
    }

    /// Wraps a source so that its rejections are known to the prompt (which then refuses to
    /// send a password the proxy already refused in this run, whatever its source).
    pub fn track(self: &Arc<Self>, source: Box<dyn CredentialSource>) -> Box<dyn CredentialSource> {
        Box::new(Tracked { session: self.clone(), inner: source })
    }

    /// Records a proxy whose credentials were looked up, for the hint.
    pub fn saw_proxy(&self, proxy: &ProxySpec) {
        let key = proxy.display_url();
        let mut st = self.state();
        if !st.proxies.contains(&key) {
            st.proxies.push(key);
        }
    }

    /// After the transfer: saves what should be saved, then returns the run's result (with the
    /// `toll auth login` hint on an authentication failure, and exit 130 after a Ctrl-C at a
    /// prompt). Runs on a thread that may block (keyring, the save question).
    pub fn finish(&self, result: crate::error::Result<()>) -> crate::error::Result<()> {
        if prompt::interrupted() {
            return Err(Error::new(Exit::Interrupted, "interrupted at the password prompt"));
        }
        let (pending, stale, stored_ok, proxies) = {
            let mut st = self.state();
            (
                std::mem::take(&mut st.pending),
                st.stale.clone(),
                std::mem::take(&mut st.stored_ok),
                st.proxies.clone(),
            )
        };
        if let Some(index) = &self.index {
            for (proxy, user, scheme) in stored_ok {
                let _ = index.set_scheme(&proxy, &user, &scheme);
            }
        }
        for p in pending {
            self.offer_to_save(&p, stale.contains(&p.proxy))?;
        }
        result.map_err(|e| with_login_hint(e, &proxies))
    }

    fn offer_to_save(&self, p: &Pending, stale: bool) -> crate::error::Result<()> {
        let who = format!("{}@{}", p.creds.user, p.host_port);
        let (Some(index), false) = (&self.index, self.choice == Choice::Disabled) else {
            return Ok(());
        };
        let yes = match self.save {
            SavePolicy::Never => false,
            SavePolicy::Always => true,
            SavePolicy::Ask if !self.term.can_prompt => false,
            SavePolicy::Ask => match Tty::open()
                .map_err(prompt::Abort::Io)
                .and_then(|mut t| t.confirm("Save it in the OS keyring?"))
            {
                Ok(yes) => yes,
                Err(prompt::Abort::Interrupted) => return Err(Error::new(Exit::Interrupted, "interrupted")),
                Err(_) => false,
            },
        };
        if !yes {
            if stale {
                self.note(&format!(
                    "the password stored for {who} is out of date; `toll auth login {}` replaces it",
                    p.proxy
                ));
            }
            return Ok(());
        }
        let old = index.get(&p.proxy);
        let preferred = old.as_ref().and_then(|o| StoreKind::from_id(&o.store));
        match save(&self.keyring, self.choice, preferred, &p.proxy, &p.creds) {
            Ok((store, fell_back)) => {
                let entry = IndexEntry {
                    user: p.creds.user.clone(),
                    store: store.id().to_string(),
                    scheme: Some(p.scheme.clone()),
                    updated: 0,
                    stored: 0,
                };
                if let Err(e) = index.put(&p.proxy, entry) {
                    self.note(&format!(
                        "saved the password but cannot update {}: {e}",
                        index.path().display()
                    ));
                }
                remove_replaced(&self.keyring, old.as_ref(), store, &p.creds.user, &p.proxy);
                self.note(&saved_message(&who, store, &fell_back));
            }
            Err(errors) => {
                let why: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
                self.note(&format!("could not save the password for {who}: {}", why.join("; ")));
            }
        }
        Ok(())
    }
}

/// "saved the password for alice@proxy:3128 in the Secret Service" — with the keyutils caveat.
pub fn saved_message(who: &str, store: StoreKind, fell_back: &[KeyringError]) -> String {
    let mut s = format!("saved the password for {who} in {store}");
    if store.until_reboot() {
        s.push_str(", which keeps it until the next reboot");
        if let Some(e) = fell_back.first() {
            s.push_str(&format!(" ({e})"));
        }
    }
    s
}

/// Stores `creds` in the first store that takes it: `preferred` (where the old entry is) first,
/// then the choice's order. Returns the store and the errors of those that did not work.
pub fn save(
    keyring: &Keyring,
    choice: Choice,
    preferred: Option<StoreKind>,
    proxy: &str,
    creds: &Credentials,
) -> Result<(StoreKind, Vec<KeyringError>), Vec<KeyringError>> {
    let mut order = choice.save_order();
    if let Some(p) = preferred.filter(|p| order.contains(p)) {
        order.retain(|k| *k != p);
        order.insert(0, p);
    }
    let mut errors = Vec::new();
    for store in order {
        match keyring.set(store, proxy, &creds.user, &creds.password) {
            Ok(()) => return Ok((store, errors)),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        errors.push(KeyringError::Unavailable {
            store: StoreKind::available().first().copied().unwrap_or(StoreKind::SecretService),
            why: "the keyring is turned off (TOLL_KEYRING=none or `keyring = none` in the settings file)"
                .into(),
        });
    }
    Err(errors)
}

/// After a new entry was saved: the old one, if it was for another user or in another store, is
/// deleted (best effort: a leftover entry is harmless, the index no longer points at it).
pub fn remove_replaced(
    keyring: &Keyring,
    old: Option<&IndexEntry>,
    store: StoreKind,
    user: &str,
    proxy: &str,
) {
    if let Some(old) = old {
        let old_store = StoreKind::from_id(&old.store);
        if old.user != user || old_store != Some(store) {
            if let Some(s) = old_store {
                let _ = keyring.delete(s, proxy, &old.user);
            }
        }
    }
}

/// Adds `toll auth login <proxy>` to the hint of a "no credentials" or "rejected" error.
fn with_login_hint(mut e: Error, proxies: &[String]) -> Error {
    if !matches!(e.exit, Exit::AuthNoCredentials | Exit::AuthRejected) {
        return e;
    }
    if e.hint.as_deref().is_some_and(|h| h.contains("toll auth login")) {
        return e;
    }
    let proxy = proxies.last().map(String::as_str).unwrap_or("<proxy>");
    let extra = format!("to store a password once, in the OS keyring: toll auth login {proxy}");
    e.hint = Some(match e.hint.take() {
        Some(h) => format!("{h}; {extra}"),
        None => extra,
    });
    e
}

/// Forwards to a source and tells the session which credentials were rejected.
struct Tracked {
    session: Arc<Session>,
    inner: Box<dyn CredentialSource>,
}

impl CredentialSource for Tracked {
    fn label(&self) -> String {
        self.inner.label()
    }
    fn lookup(&self, req: &CredentialRequest) -> Lookup {
        self.inner.lookup(req)
    }
    fn accepted(&self, req: &CredentialRequest, creds: &Credentials) {
        self.inner.accepted(req, creds)
    }
    fn rejected(&self, req: &CredentialRequest, creds: &Credentials) {
        self.session.note_rejected(creds);
        self.inner.rejected(req, creds)
    }
}

/// The password stored in the OS keyring for this proxy, under the user name the index records.
/// Looked up once per run (a lookup can take up to the timeout) — and again, at most every
/// [`RELOOK_AFTER`], while nothing was found or once the proxy rejected what was found: a
/// long-running `toll serve` then picks up the password a later `toll auth login` stores,
/// without a restart. The broker never
/// sends the rejected one again, whatever the keyring still holds.
pub struct KeyringSource {
    session: Arc<Session>,
    proxy: ProxySpec,
    /// What the last lookup found, and when.
    found: Mutex<Option<(Found, std::time::Instant)>>,
    rejected: std::sync::atomic::AtomicBool,
    /// When (Unix seconds) the proxy last rejected what was found, and when the index says the
    /// password found was stored: stored after its rejection, it is the user's word that it is
    /// right (`toll auth login` checks it at the proxy), and it gets one more trial.
    rejected_at: std::sync::atomic::AtomicU64,
    stored_at: std::sync::atomic::AtomicU64,
    /// The session's [`Session::relook`] generation at the last lookup.
    generation: std::sync::atomic::AtomicU64,
}

type Found = Option<(Credentials, StoreKind)>;

/// How often a source whose password was rejected asks the keyring again.
pub const RELOOK_AFTER: std::time::Duration = std::time::Duration::from_secs(2);

impl KeyringSource {
    pub fn new(session: Arc<Session>, proxy: ProxySpec) -> Self {
        KeyringSource {
            session,
            proxy,
            found: Mutex::new(None),
            rejected: Default::default(),
            rejected_at: Default::default(),
            stored_at: Default::default(),
            generation: Default::default(),
        }
    }

    fn find(&self) -> Option<(Credentials, StoreKind)> {
        let key = self.proxy.display_url();
        let entry = self.session.index.as_ref()?.get(&key)?;
        self.stored_at.store(entry.stored, std::sync::atomic::Ordering::Relaxed);
        let store = self.session.choice.lookup_store(StoreKind::from_id(&entry.store))?;
        match self.session.keyring.get(store, &key, &entry.user) {
            Ok(Some(password)) => Some((Credentials { user: entry.user, password }, store)),
            Ok(None) => {
                self.session.note(&format!(
                    "no password for {}@{} in {store} (the index lists one): `toll auth login {key}` stores it again",
                    entry.user,
                    self.proxy.host_port()
                ));
                None
            }
            Err(e) => {
                self.session.note(&format!("{e}; going on without the stored password"));
                None
            }
        }
    }
}

impl CredentialSource for KeyringSource {
    fn label(&self) -> String {
        "the OS keyring".into()
    }

    fn lookup(&self, _req: &CredentialRequest) -> Lookup {
        use std::sync::atomic::Ordering;
        let mut found = self.found.lock().unwrap_or_else(|e| e.into_inner());
        let stale = self.rejected.load(Ordering::Relaxed)
            && found.as_ref().is_some_and(|(_, at)| at.elapsed() >= RELOOK_AFTER);
        // Nothing was stored: a `toll auth login` since then is picked up by a running server.
        let missing = found.as_ref().is_some_and(|(f, at)| f.is_none() && at.elapsed() >= RELOOK_AFTER);
        let generation = self.session.generation.load(Ordering::Relaxed);
        let asked_to = self.generation.swap(generation, Ordering::Relaxed) != generation;
        if found.is_none() || stale || missing || asked_to {
            let fresh = self.find();
            let changed = fresh.as_ref().map(|(c, _)| c.fingerprint())
                != found.as_ref().and_then(|(f, _)| f.as_ref()).map(|(c, _)| c.fingerprint());
            let stored_again =
                self.stored_at.load(Ordering::Relaxed) > self.rejected_at.load(Ordering::Relaxed);
            if stale && (changed || stored_again) {
                self.rejected.store(false, Ordering::Relaxed);
            }
            *found = Some((fresh, std::time::Instant::now()));
            if stale && !changed && stored_again {
                if let Some((creds, _)) = found.as_ref().and_then(|(f, _)| f.as_ref()) {
                    return Lookup::StoredAgain(creds.clone());
                }
            }
        }
        match found.as_ref().and_then(|(f, _)| f.as_ref()) {
            Some((creds, _)) => Lookup::Found(creds.clone()),
            None => Lookup::Nothing,
        }
    }

    fn accepted(&self, req: &CredentialRequest, creds: &Credentials) {
        self.session.state().stored_ok.push((
            self.proxy.display_url(),
            creds.user.clone(),
            req.scheme.name().to_string(),
        ));
    }

    fn rejected(&self, _req: &CredentialRequest, creds: &Credentials) {
        self.rejected.store(true, std::sync::atomic::Ordering::Relaxed);
        let now =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        self.rejected_at.store(now, std::sync::atomic::Ordering::Relaxed);
        self.session.state().stale.insert(self.proxy.display_url());
        self.session.note(&format!(
            "the password stored for {}@{} was rejected",
            creds.user,
            self.proxy.host_port()
        ));
    }
}

/// The prompt's bookkeeping is the session's: the attempts are per run, and what was typed and
/// accepted is offered for saving at the end.
impl prompt::Ledger for Session {
    fn turn(&self) -> std::sync::MutexGuard<'_, ()> {
        self.prompt_turn()
    }
    fn take_attempt(&self) -> Option<u32> {
        self.take_prompt_attempt()
    }
    fn was_rejected(&self, creds: &Credentials) -> bool {
        Session::was_rejected(self, creds)
    }
    fn accepted(&self, proxy: &ProxySpec, req: &CredentialRequest, creds: &Credentials) {
        self.prompted_accepted(proxy, req, creds)
    }
    fn rejected(&self, creds: &Credentials) {
        self.note_rejected(creds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Scheme;
    use crate::creds::{CredentialBroker, FixedSource};
    use crate::secret::Secret;

    fn spec() -> ProxySpec {
        ProxySpec::test_http("proxy.corp")
    }

    fn req() -> CredentialRequest {
        CredentialRequest { proxy: spec(), scheme: Scheme::Basic, realm: None, after_rejection: false }
    }

    fn session(index: Option<Index>, choice: Choice) -> Arc<Session> {
        let term = Terminal { stderr: false, stdout: false, can_prompt: false };
        Arc::new(Session::new(Keyring::default(), choice, index, SavePolicy::Never, term, true))
    }

    #[test]
    fn prompted_attempts_are_capped_per_run() {
        let s = session(None, Choice::Disabled);
        assert_eq!(
            (1..=5).map(|_| s.take_prompt_attempt()).collect::<Vec<_>>(),
            [Some(1), Some(2), Some(3), None, None]
        );
    }

    #[test]
    fn the_keyring_is_not_asked_without_an_index_entry() {
        // No index entry: Nothing at once, without touching any store (which would be slow or
        // hang on a machine without one).
        let dir = tempfile::tempdir().unwrap();
        let s = session(Some(Index::new(dir.path().join("i.json"))), Choice::Auto);
        let src = KeyringSource::new(s, spec());
        let started = std::time::Instant::now();
        assert!(matches!(src.lookup(&req()), Lookup::Nothing));
        assert!(started.elapsed() < std::time::Duration::from_millis(100));
    }

    #[test]
    fn sources_are_consulted_in_order_and_rejections_are_shared() {
        let dir = tempfile::tempdir().unwrap();
        let s = session(Some(Index::new(dir.path().join("i.json"))), Choice::Auto);
        let b = CredentialBroker::new(vec![
            s.track(Box::new(FixedSource::new("-U", "alice", Some(Secret::new("one"))))),
            s.track(Box::new(KeyringSource::new(s.clone(), spec()))),
            s.track(Box::new(FixedSource::new("env", "bob", Some(Secret::new("two"))))),
        ]);
        let first = b.get(&req()).unwrap();
        assert_eq!(first.source, "-U");
        b.reject(&req(), &first);
        assert!(s.was_rejected(&Credentials::new("alice", "one")));
        assert!(!s.was_rejected(&Credentials::new("alice", "two")));
        let second = b.get(&req()).unwrap();
        assert_eq!(second.source, "env", "the keyring has nothing for this proxy");
    }

    #[test]
    fn auth_failures_get_the_login_hint_once() {
        let e = with_login_hint(
            Error::new(Exit::AuthNoCredentials, "no credentials").hint("pass -U"),
            &["http://proxy.corp:3128".into()],
        );
        assert_eq!(
            e.hint.as_deref(),
            Some("pass -U; to store a password once, in the OS keyring: toll auth login http://proxy.corp:3128")
        );
        let again = with_login_hint(e, &[]);
        assert_eq!(again.hint.unwrap().matches("toll auth login").count(), 1);
        let other = with_login_hint(Error::new(Exit::Timeout, "slow"), &[]);
        assert!(other.hint.is_none());
    }

    #[test]
    fn the_keyutils_caveat_is_spelled_out() {
        let m = saved_message(
            "alice@p:1",
            StoreKind::Keyutils,
            &[KeyringError::Unavailable { store: StoreKind::SecretService, why: "no bus".into() }],
        );
        assert_eq!(
            m,
            "saved the password for alice@p:1 in the kernel keyring (keyutils), which keeps it until the next \
             reboot (the Secret Service is not available: no bus)"
        );
        assert_eq!(
            saved_message("alice@p:1", StoreKind::SecretService, &[]),
            "saved the password for alice@p:1 in the Secret Service"
        );
    }
}
