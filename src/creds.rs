//! Where proxy credentials come from, behind one trait, and the per-proxy broker that enforces
//! the lockout rule: a credential the proxy rejected is never sent again in this run.
//!
//! A run may make several brokers for one proxy (`--next` runs each operation with relays of its
//! own): [`Rejections`] carries their verdicts across them, so the rule holds per run.
//!
//! Sources are consulted in order (flag, proxy URL, environment, the keyring, the prompt: see
//! `setup::credential_sources`). The relay and the auth engine never know which source a
//! credential came from beyond its label for messages.

use crate::auth::Scheme;
use crate::config::ProxySpec;
use crate::secret::Credentials;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::{Duration, Instant};

/// Builds the credential sources for one proxy, in priority order (the app decides which exist).
pub type SourceFactory = Arc<dyn Fn(&ProxySpec) -> Vec<Box<dyn CredentialSource>> + Send + Sync>;

/// What the proxy asked for, given to sources so a prompt can say who asks and why.
#[derive(Clone, Debug)]
pub struct CredentialRequest {
    pub proxy: ProxySpec,
    pub scheme: Scheme,
    pub realm: Option<String>,
    /// Some credential for this proxy was already rejected in this run.
    pub after_rejection: bool,
}

/// A source's answer.
#[derive(Debug)]
pub enum Lookup {
    Found(Credentials),
    /// A credential the proxy rejected, stored again by the user since (`toll auth login`,
    /// which checks it at the proxy): their word that it is right now (the proxy refused it
    /// for a while, an account unlocked). It gets one more trial; a rejection then stands
    /// until it is stored again.
    StoredAgain(Credentials),
    /// Nothing here.
    Nothing,
    /// Something is configured but unusable (e.g. `-U alice` with no password): said in messages.
    Incomplete(String),
}

/// Credential lookups running now, in this process (a keyring call, a password typed at the
/// prompt): time spent there is not the network's (`--speed-time` does not count it).
static ASKING: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// When the last lookup ended, in nanoseconds after `EPOCH`.
static LAST_ASKED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

/// Whether a credential lookup ran at some point since `t` (one running now included).
pub fn asked_since(t: Instant) -> bool {
    use std::sync::atomic::Ordering::Relaxed;
    let epoch = *EPOCH.get_or_init(Instant::now);
    ASKING.load(Relaxed) > 0
        || Duration::from_nanos(LAST_ASKED.load(Relaxed)) > t.saturating_duration_since(epoch)
}

struct Asking;

impl Asking {
    fn start() -> Asking {
        EPOCH.get_or_init(Instant::now);
        ASKING.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Asking
    }
}

impl Drop for Asking {
    fn drop(&mut self) {
        use std::sync::atomic::Ordering::Relaxed;
        let since = EPOCH.get().map_or(0, |e| e.elapsed().as_nanos() as u64);
        LAST_ASKED.fetch_max(since, Relaxed);
        ASKING.fetch_sub(1, Relaxed);
    }
}

pub trait CredentialSource: Send + Sync {
    /// Where the credential comes from, for messages: `-U`, `the proxy URL`, `TOLL_PROXY_USER`…
    fn label(&self) -> String;

    /// May block (keyring, prompt): the relay calls it off the async workers.
    fn lookup(&self, req: &CredentialRequest) -> Lookup;

    /// The proxy accepted `creds` from this source (a keyring source may store them).
    fn accepted(&self, _req: &CredentialRequest, _creds: &Credentials) {}

    /// The proxy rejected `creds` from this source.
    fn rejected(&self, _req: &CredentialRequest, _creds: &Credentials) {}
}

/// A fixed credential: `-U user:password`, the proxy URL's userinfo, or the environment.
pub struct FixedSource {
    label: String,
    user: String,
    password: Option<crate::secret::Secret>,
}

impl FixedSource {
    pub fn new(
        label: impl Into<String>,
        user: impl Into<String>,
        password: Option<crate::secret::Secret>,
    ) -> Self {
        FixedSource { label: label.into(), user: user.into(), password }
    }
}

impl CredentialSource for FixedSource {
    fn label(&self) -> String {
        self.label.clone()
    }

    fn lookup(&self, _req: &CredentialRequest) -> Lookup {
        match &self.password {
            Some(p) => Lookup::Found(Credentials { user: self.user.clone(), password: p.clone() }),
            None => {
                Lookup::Incomplete(format!("{} names user {:?} but gives no password", self.label, self.user))
            }
        }
    }
}

/// A credential handed out by the broker, with where it came from.
#[derive(Clone, Debug)]
pub struct Issued {
    pub creds: Credentials,
    pub source: String,
    index: usize,
    /// Held (with its clones) by the one exchange that tries a credential the proxy has not
    /// judged yet; see [`CredentialBroker::get`].
    _trial: Option<Arc<()>>,
}

/// Why the broker has nothing (more) to offer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exhausted {
    /// Labels of sources whose credential the proxy rejected in this run.
    pub rejected: Vec<String>,
    /// Sources that are configured but unusable, with why.
    pub incomplete: Vec<String>,
    /// The user whose credential, accepted earlier, this proxy refused for the destination
    /// asked about ([`CredentialBroker::doubt`]): not sent there again.
    pub refused_here: Option<String>,
}

#[derive(Default)]
struct BrokerState {
    current: Option<Issued>,
    /// Fingerprints of credentials that worked in this run (a later 407 for them is a
    /// destination restriction, not a wrong password).
    accepted: HashSet<[u8; 32]>,
    rejected: HashSet<[u8; 32]>,
    rejected_labels: Vec<String>,
    /// The exchange trying `current` before any verdict (alive while it holds its `Issued`),
    /// and its id.
    trial: Option<(Weak<()>, u64)>,
    /// Credentials the proxy accepted, then refused, with the destinations it refused them
    /// for (see [`CredentialBroker::doubt`]).
    doubted: HashMap<[u8; 32], HashSet<String>>,
}

/// The credentials each proxy rejected in one run, with their sources' labels: shared by every
/// broker the run makes (an account locks however many operations the command line has).
#[derive(Default)]
pub struct Rejections(Mutex<HashMap<String, Vec<Rejected>>>);

/// A rejected credential's fingerprint and its source's label.
type Rejected = ([u8; 32], String);

impl Rejections {
    fn of(&self, proxy: &str) -> Vec<Rejected> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).get(proxy).cloned().unwrap_or_default()
    }

    /// Whether `proxy` rejected the credential with `fingerprint` in this run.
    pub fn holds(&self, proxy: &str, fingerprint: &[u8; 32]) -> bool {
        self.of(proxy).iter().any(|(f, _)| f == fingerprint)
    }

    /// `proxy` rejected the credential with `fingerprint`, which came from `label`.
    pub fn record(&self, proxy: &str, fingerprint: [u8; 32], label: &str) {
        self.add(proxy, fingerprint, label)
    }

    /// `fingerprint` was stored again by the user (see [`Lookup::StoredAgain`]).
    fn forgive(&self, proxy: &str, fingerprint: [u8; 32]) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(list) = map.get_mut(proxy) {
            list.retain(|(f, _)| *f != fingerprint);
        }
    }

    fn add(&self, proxy: &str, fingerprint: [u8; 32], label: &str) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let list = map.entry(proxy.to_string()).or_default();
        if !list.iter().any(|(f, _)| *f == fingerprint) {
            list.push((fingerprint, label.to_string()));
        }
    }
}

/// The credentials for one proxy during one run.
pub struct CredentialBroker {
    sources: Vec<Box<dyn CredentialSource>>,
    state: Mutex<BrokerState>,
    /// Signalled on every verdict.
    judged: Condvar,
    /// The run's rejections and this proxy's key in them.
    run: Option<(Arc<Rejections>, String)>,
    /// Some credential is doubted ([`doubt`](Self::doubt)): a request's destination must be
    /// looked at. Read without the lock, on every tunnel of a busy `toll serve`.
    doubts: std::sync::atomic::AtomicBool,
}

/// How long a request waits for another request's verdict on the same untried credential
/// before it gives up waiting and tries it itself (a stuck exchange must not stall everything).
const TRIAL_WAIT: Duration = Duration::from_secs(120);

impl CredentialBroker {
    pub fn new(sources: Vec<Box<dyn CredentialSource>>) -> Self {
        CredentialBroker {
            sources,
            state: Mutex::new(BrokerState::default()),
            judged: Condvar::new(),
            run: None,
            doubts: Default::default(),
        }
    }

    /// A broker for `proxy` that starts with what the proxy rejected earlier in the run, and
    /// adds what it rejects now.
    pub fn in_run(sources: Vec<Box<dyn CredentialSource>>, run: &Arc<Rejections>, proxy: &ProxySpec) -> Self {
        let key = proxy.display_url();
        let mut state = BrokerState::default();
        for (fingerprint, label) in run.of(&key) {
            state.rejected.insert(fingerprint);
            state.rejected_labels.push(label);
        }
        CredentialBroker {
            sources,
            state: Mutex::new(state),
            judged: Condvar::new(),
            run: Some((run.clone(), key)),
            doubts: Default::default(),
        }
    }

    /// The credential to answer a challenge with: the one in use, else the first source's that
    /// has not been rejected. Holding the lock through the lookup keeps concurrent connections
    /// from prompting twice; they get the credential the first one found.
    ///
    /// A credential the proxy has not judged yet is tried by one exchange at a time: a
    /// concurrent request (another connection, another client of `toll serve`) waits for that
    /// verdict instead of sending the same password too — if it is wrong, the proxy must see it
    /// once, not once per request in flight (accounts lock after a few failures). When the trying
    /// exchange ends without a verdict (its connection died), the next request takes the trial.
    pub fn get(&self, req: &CredentialRequest) -> Result<Issued, Exhausted> {
        self.get_as(req, 0)
    }

    /// [`get`](Self::get) for the exchange `id` (non-zero): a credential on trial by `id`
    /// itself is handed back without waiting.
    pub fn get_as(&self, req: &CredentialRequest, id: u64) -> Result<Issued, Exhausted> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let deadline = Instant::now() + TRIAL_WAIT;
        loop {
            let Some(cur) = st.current.clone() else { break };
            let fp = cur.creds.fingerprint();
            let on_trial = st.trial.as_ref().is_some_and(|(t, _)| t.strong_count() > 0);
            let mine = id != 0 && st.trial.as_ref().is_some_and(|(_, owner)| *owner == id);
            if st.accepted.contains(&fp) || (on_trial && (mine || Instant::now() >= deadline)) {
                return Ok(Issued { _trial: None, ..cur });
            }
            if !on_trial {
                let trial = Arc::new(());
                st.trial = Some((Arc::downgrade(&trial), id));
                return Ok(Issued { _trial: Some(trial), ..cur });
            }
            st = self.judged.wait_timeout(st, Duration::from_millis(50)).unwrap_or_else(|e| e.into_inner()).0;
        }
        let mut incomplete = Vec::new();
        for (index, source) in self.sources.iter().enumerate() {
            let found = {
                let _asking = Asking::start();
                source.lookup(req)
            };
            match found {
                Lookup::StoredAgain(creds) => {
                    let fp = creds.fingerprint();
                    if st.rejected.remove(&fp) {
                        if let Some((run, key)) = &self.run {
                            run.forgive(key, fp);
                        }
                    }
                    let trial = Arc::new(());
                    st.trial = Some((Arc::downgrade(&trial), id));
                    let issued = Issued { creds, source: source.label(), index, _trial: None };
                    st.current = Some(issued.clone());
                    return Ok(Issued { _trial: Some(trial), ..issued });
                }
                Lookup::Found(creds) if !st.rejected.contains(&creds.fingerprint()) => {
                    let trial = Arc::new(());
                    st.trial = Some((Arc::downgrade(&trial), id));
                    let issued = Issued { creds, source: source.label(), index, _trial: None };
                    st.current = Some(issued.clone());
                    return Ok(Issued { _trial: Some(trial), ..issued });
                }
                Lookup::Found(_) | Lookup::Nothing => {}
                Lookup::Incomplete(why) => incomplete.push(why),
            }
        }
        Err(Exhausted { rejected: st.rejected_labels.clone(), incomplete, refused_here: None })
    }

    /// Whether any credential is doubted now (then [`refused_at`](Self::refused_at) is worth
    /// asking).
    pub fn doubts_any(&self) -> bool {
        self.doubts.load(std::sync::atomic::Ordering::Acquire)
    }

    /// The user whose credential in use the proxy refused for `destination` after accepting
    /// it ([`doubt`](Self::doubt)): that credential is not sent there again until it works
    /// somewhere.
    pub fn refused_at(&self, destination: &str) -> Option<String> {
        let st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let cur = st.current.as_ref()?;
        let places = st.doubted.get(&cur.creds.fingerprint())?;
        places.contains(destination).then(|| cur.creds.user.clone())
    }

    /// The proxy refused `issued` for `destination` after accepting it in this run. Squid says
    /// "this user may not go there" with a 407 identical to a wrong password, but so does a
    /// password changed or expired while `toll serve` runs. Either way it is no longer taken as
    /// accepted: it is not sent to `destination` again, and elsewhere it is on trial (one
    /// exchange at a time) — refused there too, it is rejected for good; accepted, it is
    /// trusted again. A changed password thus goes out once more, not once per request.
    pub fn doubt(&self, issued: &Issued, destination: &str) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let fp = issued.creds.fingerprint();
        st.accepted.remove(&fp);
        st.doubted.entry(fp).or_default().insert(destination.to_string());
        self.doubts.store(true, std::sync::atomic::Ordering::Release);
        self.judged.notify_all();
    }

    /// The credential in use when the proxy already accepted it in this run: what
    /// [`get_as`](Self::get_as) would hand out at once, without a lookup or a wait, so a busy
    /// `toll serve` need not move every tunnel's credential request to a blocking thread.
    /// `None`: ask [`get_as`](Self::get_as) (off the async workers).
    pub fn get_accepted(&self) -> Option<Issued> {
        let st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let cur = st.current.as_ref()?;
        st.accepted.contains(&cur.creds.fingerprint()).then(|| Issued { _trial: None, ..cur.clone() })
    }

    /// Another exchange than `id` is trying the credential in use and the proxy has not judged
    /// it yet: [`get_as`](Self::get_as) would wait for that verdict. An async caller waits
    /// here without a thread (`toll serve`: a thousand clients at start-up would otherwise park
    /// a thousand blocking threads on the first trial).
    pub fn verdict_pending(&self, id: u64) -> bool {
        let st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let Some(cur) = &st.current else { return false };
        if st.accepted.contains(&cur.creds.fingerprint()) {
            return false;
        }
        st.trial.as_ref().is_some_and(|(t, owner)| t.strong_count() > 0 && (id == 0 || *owner != id))
    }

    pub fn accept(&self, req: &CredentialRequest, issued: &Issued) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let fp = issued.creds.fingerprint();
        // Trusted again after a doubt: its source heard of it the first time.
        let doubted = st.doubted.remove(&fp).is_some();
        self.doubts.store(!st.doubted.is_empty(), std::sync::atomic::Ordering::Release);
        if st.accepted.insert(fp) && !doubted {
            self.sources[issued.index].accepted(req, &issued.creds);
        }
        self.judged.notify_all();
    }

    /// True when this exact credential already worked on this proxy in this run.
    pub fn was_accepted(&self, issued: &Issued) -> bool {
        let st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.accepted.contains(&issued.creds.fingerprint())
    }

    pub fn reject(&self, req: &CredentialRequest, issued: &Issued) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let fp = issued.creds.fingerprint();
        if st.current.as_ref().is_some_and(|c| c.creds.fingerprint() == fp) {
            st.current = None;
        }
        st.doubted.remove(&fp);
        self.doubts.store(!st.doubted.is_empty(), std::sync::atomic::Ordering::Release);
        if st.rejected.insert(fp) {
            if !st.rejected_labels.contains(&issued.source) {
                st.rejected_labels.push(issued.source.clone());
            }
            if let Some((run, key)) = &self.run {
                run.add(key, fp, &issued.source);
            }
            self.sources[issued.index].rejected(req, &issued.creds);
        }
        self.judged.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    fn req() -> CredentialRequest {
        CredentialRequest {
            proxy: ProxySpec::test_http("proxy"),
            scheme: Scheme::Basic,
            realm: None,
            after_rejection: false,
        }
    }

    #[test]
    fn a_rejected_credential_is_never_issued_again_even_from_another_source() {
        let b = CredentialBroker::new(vec![
            Box::new(FixedSource::new("-U", "alice", Some(Secret::new("pw")))),
            Box::new(FixedSource::new("env", "alice", Some(Secret::new("pw")))),
            Box::new(FixedSource::new("url", "alice", Some(Secret::new("other")))),
        ]);
        let first = b.get(&req()).unwrap();
        assert_eq!(first.source, "-U");
        b.reject(&req(), &first);
        let second = b.get(&req()).unwrap();
        assert_eq!(second.source, "url", "env offers the same rejected pair");
        b.reject(&req(), &second);
        let gone = b.get(&req()).unwrap_err();
        assert_eq!(gone.rejected, vec!["-U".to_string(), "url".to_string()]);
    }

    #[test]
    fn a_credential_rejected_in_one_operation_is_not_issued_in_the_next() {
        let run = Arc::new(Rejections::default());
        let sources = || -> Vec<Box<dyn CredentialSource>> {
            vec![Box::new(FixedSource::new("-U", "alice", Some(Secret::new("pw"))))]
        };
        let proxy = ProxySpec::test_http("proxy");
        let first = CredentialBroker::in_run(sources(), &run, &proxy);
        let tried = first.get(&req()).unwrap();
        first.reject(&req(), &tried);
        let next = CredentialBroker::in_run(sources(), &run, &proxy);
        assert_eq!(next.get(&req()).unwrap_err().rejected, vec!["-U".to_string()], "said as rejected");
        let other = CredentialBroker::in_run(sources(), &run, &ProxySpec::test_http("elsewhere"));
        assert_eq!(other.get(&req()).unwrap().source, "-U", "another proxy judges for itself");
    }

    /// A source that says its credential was stored again once asked after `again` is set.
    struct Restored {
        again: Arc<std::sync::atomic::AtomicBool>,
    }

    impl CredentialSource for Restored {
        fn label(&self) -> String {
            "the OS keyring".into()
        }
        fn lookup(&self, _req: &CredentialRequest) -> Lookup {
            let creds = Credentials::new("alice", "pw");
            match self.again.swap(false, std::sync::atomic::Ordering::SeqCst) {
                true => Lookup::StoredAgain(creds),
                false => Lookup::Found(creds),
            }
        }
    }

    #[test]
    fn a_rejected_credential_stored_again_gets_one_more_trial_in_every_broker_of_the_run() {
        let run = Arc::new(Rejections::default());
        let again = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let sources =
            || -> Vec<Box<dyn CredentialSource>> { vec![Box::new(Restored { again: again.clone() })] };
        let proxy = ProxySpec::test_http("proxy");
        let b = CredentialBroker::in_run(sources(), &run, &proxy);
        let tried = b.get(&req()).unwrap();
        b.reject(&req(), &tried);
        assert!(b.get(&req()).is_err(), "rejected: not issued again");
        again.store(true, std::sync::atomic::Ordering::SeqCst);
        let retried = b.get(&req()).unwrap();
        assert_eq!(retried.creds.user, "alice");
        // A broker made later in the run (toll serve's SIGHUP) does not see it as rejected.
        assert!(CredentialBroker::in_run(sources(), &run, &proxy).get(&req()).is_ok());
        // Rejected again: it stands, until it is stored again.
        b.reject(&req(), &retried);
        assert_eq!(b.get(&req()).unwrap_err().rejected, vec!["the OS keyring".to_string()]);
    }

    #[test]
    fn a_credential_refused_after_it_worked_is_doubted_then_trusted_or_rejected() {
        let b =
            CredentialBroker::new(vec![Box::new(FixedSource::new("-U", "alice", Some(Secret::new("pw"))))]);
        let i = b.get(&req()).unwrap();
        b.accept(&req(), &i);
        b.doubt(&i, "a:443");
        drop(i);
        assert!(b.doubts_any());
        assert_eq!(b.refused_at("a:443").as_deref(), Some("alice"), "not sent there again");
        assert_eq!(b.refused_at("b:443"), None);
        assert!(b.get_accepted().is_none(), "elsewhere on trial, not pre-emptive");
        let trial = b.get_as(&req(), 1).unwrap();
        assert!(b.verdict_pending(2), "one exchange at a time tries it");
        b.accept(&req(), &trial);
        drop(trial);
        assert_eq!(b.refused_at("a:443"), None, "trusted again everywhere");
        assert!(!b.doubts_any());
        let again = b.get(&req()).unwrap();
        b.doubt(&again, "a:443");
        drop(again);
        let trial = b.get(&req()).unwrap();
        b.reject(&req(), &trial);
        assert_eq!(b.get(&req()).unwrap_err().rejected, vec!["-U".to_string()], "refused twice: rejected");
    }

    #[test]
    fn only_an_accepted_credential_is_handed_out_without_asking() {
        let b =
            CredentialBroker::new(vec![Box::new(FixedSource::new("-U", "alice", Some(Secret::new("pw"))))]);
        assert!(b.get_accepted().is_none(), "nothing looked up yet");
        let first = b.get(&req()).unwrap();
        assert!(b.get_accepted().is_none(), "on trial, not judged");
        b.accept(&req(), &first);
        assert_eq!(b.get_accepted().unwrap().creds.user, "alice");
        b.reject(&req(), &first);
        assert!(b.get_accepted().is_none(), "a rejected credential is never handed out");
        assert!(!b.verdict_pending(7), "nothing on trial");
    }

    #[test]
    fn a_verdict_is_pending_for_others_while_one_exchange_tries_a_credential() {
        let b =
            CredentialBroker::new(vec![Box::new(FixedSource::new("-U", "alice", Some(Secret::new("pw"))))]);
        let trying = b.get_as(&req(), 1).unwrap();
        assert!(b.verdict_pending(2), "another exchange would wait");
        assert!(!b.verdict_pending(1), "the trying exchange does not wait for itself");
        b.accept(&req(), &trying);
        assert!(!b.verdict_pending(2));
    }

    #[test]
    fn incomplete_sources_are_reported() {
        let b = CredentialBroker::new(vec![Box::new(FixedSource::new("-U", "alice", None))]);
        let e = b.get(&req()).unwrap_err();
        assert!(e.rejected.is_empty());
        assert!(e.incomplete[0].contains("alice"), "{:?}", e.incomplete);
    }

    #[test]
    fn an_untried_credential_goes_to_one_request_at_a_time() {
        let b = Arc::new(CredentialBroker::new(vec![
            Box::new(FixedSource::new("-U", "alice", Some(Secret::new("wrong")))),
            Box::new(FixedSource::new("env", "alice", Some(Secret::new("right")))),
        ]));
        let first = b.get(&req()).unwrap();
        let waiter = {
            let b = b.clone();
            std::thread::spawn(move || b.get(&req()).unwrap())
        };
        std::thread::sleep(Duration::from_millis(200));
        assert!(!waiter.is_finished(), "a second request waits for the verdict on the first");
        b.reject(&req(), &first);
        let second = waiter.join().unwrap();
        assert_eq!(second.source, "env", "after the rejection it gets the next source, never the same");
        // Accepted: everyone may use it at once.
        b.accept(&req(), &second);
        assert_eq!(b.get(&req()).unwrap().source, "env");
    }

    #[test]
    fn the_exchange_on_trial_gets_its_credential_back_without_waiting() {
        let b = CredentialBroker::new(vec![Box::new(FixedSource::new("-U", "a", Some(Secret::new("p"))))]);
        let _held = b.get_as(&req(), 7).unwrap();
        let started = Instant::now();
        assert_eq!(b.get_as(&req(), 7).unwrap().source, "-U", "the same exchange asks again");
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn a_trial_that_ends_without_a_verdict_passes_to_the_next_request() {
        let b = CredentialBroker::new(vec![Box::new(FixedSource::new("-U", "a", Some(Secret::new("p"))))]);
        let first = b.get(&req()).unwrap();
        drop(first); // its connection died before the proxy answered
        let started = Instant::now();
        assert_eq!(b.get(&req()).unwrap().source, "-U");
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn accepted_credentials_are_remembered() {
        let b = CredentialBroker::new(vec![Box::new(FixedSource::new("-U", "a", Some(Secret::new("p"))))]);
        let i = b.get(&req()).unwrap();
        assert!(!b.was_accepted(&i));
        b.accept(&req(), &i);
        assert!(b.was_accepted(&i));
    }
}
