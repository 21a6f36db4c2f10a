//! The answers one proxy gets before it asks, shared by every request through it
//! ([`Active`]): Basic's one header, which any number of requests send at once, and a pool of
//! Digest sessions, each carrying **one request at a time**.
//!
//! Why a pool: a Digest nonce count must reach the proxy in order. Squid (`check_nonce_count on`,
//! its default) retires a nonce as soon as a count arrives that is not above the last one it saw;
//! one nonce shared by concurrent requests on several connections does exactly that, and every
//! request then draws a `stale=true` 407 (bench/SERVE.md, cause 3). A session checked out by an
//! exchange is not handed to another until that exchange has the proxy's answer, so its counts
//! arrive in order whatever the concurrency; a request that finds no idle session goes without
//! credentials and its 407 makes one more (the warm-up: one 407 per request in flight at once).
//!
//! Sessions are told apart by their key (the nonce). The proxy may name a nonce another session
//! is using — Squid answers `stale=true` with the user's most recent nonce — so the pool also
//! tracks the keys of sessions in flight ([`Held`]): such a nonce is never started at count 1
//! beside them ([`Claim`]).
//!
//! The session written to `remembered.json` is also used by other toll processes: its counts go
//! through the file (`AuthMemory::reserve_nc`), all other sessions count in memory. A new
//! session is written there at most every [`PERSIST_EVERY`] (the first one of a run at once),
//! so a long-running `toll serve` does not lock and rewrite the file per request; a file that
//! holds a nonce the proxy has since retired costs the next run one `stale=true` 407.

use super::Answer;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Idle Digest sessions kept beyond this are dropped: each cost a 407 to make, and a pool this
/// large means that many requests were in flight at once.
const MAX_IDLE: usize = 1024;

/// A new Digest session is written to `remembered.json` at most this often.
pub(in crate::relay) const PERSIST_EVERY: Duration = Duration::from_secs(30);

#[derive(Default)]
pub(in crate::relay) struct Active {
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    /// A scheme whose one value serves concurrent requests (Basic); never taken out to be used.
    shared: Option<Answer>,
    /// Sequenced sessions (Digest) not carrying a request, most recently used last.
    idle: Vec<Answer>,
    /// Keys of the sessions exchanges are carrying requests with, and how many hold each.
    busy: HashMap<String, u32>,
    /// The session key this process last wrote to (or read from) the state file.
    in_file: Option<String>,
    /// When a session was last written to the state file.
    persisted: Option<Instant>,
}

/// What a session that was told to move to `key` (a `stale=true` 407's nonce) should do.
pub(in crate::relay) enum Claim {
    /// Nobody here uses that nonce: start it at count 1 (the key is now held).
    Fresh,
    /// An idle session already counts on it: carry on with that one (the key is now held).
    Idle(Answer),
    /// A request in flight counts on it: starting it at 1 beside that would retire it for both.
    Busy,
}

/// The session key an exchange is using; it stops counting as busy when this is dropped.
pub(in crate::relay) struct Held {
    state: Arc<Mutex<State>>,
    key: Option<String>,
}

impl Held {
    /// The exchange no longer counts on its key.
    pub(in crate::relay) fn release(&mut self) {
        if let Some(k) = self.key.take() {
            release(&mut lock(&self.state), &k);
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(k) = self.key.take() {
            release(&mut lock(&self.state), &k);
        }
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

fn release(state: &mut State, key: &str) {
    if let Some(n) = state.busy.get_mut(key) {
        *n -= 1;
        if *n == 0 {
            state.busy.remove(key);
        }
    }
}

fn hold(state: &mut State, held: &mut Held, key: &str) {
    if let Some(old) = held.key.take() {
        release(state, &old);
    }
    *state.busy.entry(key.to_owned()).or_default() += 1;
    held.key = Some(key.to_owned());
}

fn key_of(a: &Answer) -> Option<String> {
    a.auth.session_key().map(str::to_owned)
}

impl Active {
    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// A holder for one exchange, holding nothing yet.
    pub(in crate::relay) fn held(&self) -> Held {
        Held { state: self.state.clone(), key: None }
    }

    /// Nothing to answer with before being asked.
    pub(in crate::relay) fn is_empty(&self) -> bool {
        let s = self.lock();
        s.shared.is_none() && s.idle.is_empty()
    }

    /// Runs `f` on the shared (Basic) answer, if there is one.
    pub(in crate::relay) fn with_shared<R>(&self, f: impl FnOnce(&mut Answer) -> R) -> Option<R> {
        self.lock().shared.as_mut().map(f)
    }

    pub(in crate::relay) fn take_shared(&self) -> Option<Answer> {
        self.lock().shared.take()
    }

    pub(in crate::relay) fn set_shared(&self, a: Answer) {
        self.lock().shared = Some(a);
    }

    /// The most recently used idle session that `usable` accepts, now held by `held`. Sessions
    /// it refuses on the way (a credential rejected since) are dropped.
    pub(in crate::relay) fn checkout(
        &self,
        held: &mut Held,
        usable: impl Fn(&Answer) -> bool,
    ) -> Option<Answer> {
        let mut s = self.lock();
        while let Some(a) = s.idle.pop() {
            let Some(key) = key_of(&a) else { continue };
            if usable(&a) {
                hold(&mut s, held, &key);
                return Some(a);
            }
        }
        None
    }

    /// `held`'s exchange is done with session `a` and the proxy accepted it: back into the pool.
    pub(in crate::relay) fn checkin(&self, held: &mut Held, a: Answer) {
        let mut s = self.lock();
        if let Some(k) = held.key.take() {
            release(&mut s, &k);
        }
        let Some(key) = key_of(&a) else { return };
        // Two sessions on one nonce would send the same counts: keep one.
        let twin = s.busy.contains_key(&key) || s.idle.iter().any(|i| i.auth.session_key() == Some(&key));
        if !twin && s.idle.len() < MAX_IDLE {
            s.idle.push(a);
        }
    }

    /// The proxy named `next` as the nonce to use after `a`'s (`nextnonce`): `a` moves to it,
    /// counting from 1, unless a session here already counts on it.
    pub(in crate::relay) fn adopt_next(
        &self,
        a: &mut Answer,
        next: &str,
        rng: &mut dyn crate::auth::Entropy,
    ) -> bool {
        let s = self.lock();
        let known = s.busy.contains_key(next) || s.idle.iter().any(|i| i.auth.session_key() == Some(next));
        !known && a.auth.next_nonce(next, rng)
    }

    /// The session `held` was carrying got a `stale=true` naming `key`: whether it may start
    /// that nonce. Its old key is released in any case.
    pub(in crate::relay) fn claim(&self, held: &mut Held, key: &str) -> Claim {
        let mut s = self.lock();
        if let Some(old) = held.key.take() {
            release(&mut s, &old);
        }
        if s.busy.contains_key(key) {
            return Claim::Busy;
        }
        let idle = s.idle.iter().position(|i| i.auth.session_key() == Some(key));
        hold(&mut s, held, key);
        match idle {
            Some(i) => Claim::Idle(s.idle.remove(i)),
            None => Claim::Fresh,
        }
    }

    /// `held`'s exchange now counts on `a`'s session (a fresh challenge was answered).
    pub(in crate::relay) fn hold(&self, held: &mut Held, a: &Answer) {
        match key_of(a) {
            Some(k) => hold(&mut self.lock(), held, &k),
            None => {
                if let Some(k) = held.key.take() {
                    release(&mut self.lock(), &k);
                }
            }
        }
    }

    /// Whether `key` is the session in the state file, whose counts go through the file.
    pub(in crate::relay) fn in_file(&self, key: &str) -> bool {
        self.lock().in_file.as_deref() == Some(key)
    }

    /// The state file holds `key` (read from it, or written), or no longer anything of ours.
    pub(in crate::relay) fn set_in_file(&self, key: Option<&str>) {
        self.lock().in_file = key.map(str::to_owned);
    }

    /// The remembered scheme was forgotten: nothing of ours is in the state file, and the next
    /// success may be written at once.
    pub(in crate::relay) fn forgotten(&self) {
        let mut s = self.lock();
        s.in_file = None;
        s.persisted = None;
    }

    /// Whether a new session should be written to the state file now: the first time in this
    /// process, then at most every [`PERSIST_EVERY`]. True reserves the slot.
    pub(in crate::relay) fn persist_due(&self, now: Instant) -> bool {
        let mut s = self.lock();
        if s.persisted.is_some_and(|t| now.duration_since(t) < PERSIST_EVERY) {
            return false;
        }
        s.persisted = Some(now);
        true
    }

    #[cfg(test)]
    fn counts(&self) -> (usize, usize) {
        let s = self.lock();
        (s.idle.len(), s.busy.values().sum::<u32>() as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::digest::DigestAuth;
    use crate::auth::{parse_challenges, Authenticator, Entropy, RequestTarget};
    use crate::secret::Credentials;

    struct Fixed;
    impl Entropy for Fixed {
        fn fill(&mut self, buf: &mut [u8]) {
            buf.fill(7);
        }
    }

    const GET: RequestTarget<'static> = RequestTarget {
        method: "GET",
        uri: "http://o/",
        body: None,
        proxy_host: "p",
        service: "HTTP",
        delegation: crate::auth::Delegation::None,
    };

    fn creds() -> Credentials {
        Credentials::new("alice", "pw")
    }

    /// A Digest session on `nonce` that has answered once (nc 1).
    fn session(nonce: &str) -> Answer {
        let ch = parse_challenges([format!(r#"Digest realm="r", nonce="{nonce}", qop="auth""#).as_str()])
            .remove(0);
        let mut auth = DigestAuth::default();
        auth.respond(&ch, &creds(), &GET, &mut Fixed).unwrap();
        Answer { auth: Box::new(auth), issued: None, realm: Some("r".into()) }
    }

    fn nc_and_nonce(a: &mut Answer) -> (String, String) {
        let v = a.auth.preemptive(&creds(), &GET, &mut Fixed).unwrap().unwrap();
        let c = parse_challenges([v.expose()]).remove(0);
        (c.param("nc").unwrap().to_owned(), c.param("nonce").unwrap().to_owned())
    }

    #[test]
    fn a_session_carries_one_request_at_a_time_and_counts_in_order() {
        let active = Active::default();
        let (mut h1, mut h2) = (active.held(), active.held());
        active.checkin(&mut h1, session("n1"));
        let mut a = active.checkout(&mut h1, |_| true).expect("idle session");
        assert!(active.checkout(&mut h2, |_| true).is_none(), "the only session is in flight");
        assert_eq!(nc_and_nonce(&mut a), ("00000002".into(), "n1".into()));
        active.checkin(&mut h1, a);
        let mut a = active.checkout(&mut h2, |_| true).expect("back in the pool");
        assert_eq!(nc_and_nonce(&mut a), ("00000003".into(), "n1".into()), "counts go on, never repeat");
        drop(h2);
        assert_eq!(active.counts(), (0, 0), "a dropped holder releases its key");
    }

    #[test]
    fn sessions_refused_on_checkout_are_dropped() {
        let active = Active::default();
        let mut h = active.held();
        active.checkin(&mut h, session("old"));
        active.checkin(&mut h, session("new"));
        let a = active.checkout(&mut h, |a| a.auth.session_key() == Some("old")).unwrap();
        assert_eq!(a.auth.session_key(), Some("old"));
        assert_eq!(active.counts(), (0, 1), "the refused one is gone, the taken one held");
    }

    #[test]
    fn a_stale_nonce_in_flight_elsewhere_is_not_started_beside_it() {
        let active = Active::default();
        let (mut h1, mut h2, mut h3) = (active.held(), active.held(), active.held());
        active.checkin(&mut h1, session("b"));
        active.checkin(&mut h1, session("a"));
        let _a = active.checkout(&mut h1, |_| true).unwrap(); // "a", in flight
        let b = active.checkout(&mut h2, |_| true).unwrap(); // "b", in flight
        assert_eq!(b.auth.session_key(), Some("b"));
        // "a" went stale and the proxy names "b" (in flight on h2): not started at count 1.
        assert!(matches!(active.claim(&mut h1, "b"), Claim::Busy));
        assert!(h1.key.is_none(), "the stale key is released");
        // Once "b" is idle again, a claim on it continues that session.
        active.checkin(&mut h2, b);
        match active.claim(&mut h3, "b") {
            Claim::Idle(mut b) => assert_eq!(nc_and_nonce(&mut b).0, "00000002"),
            _ => panic!("the idle session on b is carried on"),
        }
        assert!(matches!(active.claim(&mut h1, "c"), Claim::Fresh));
        assert!(matches!(active.claim(&mut h2, "c"), Claim::Busy), "c is now h1's");
    }

    #[test]
    fn nextnonce_moves_a_session_to_count_one_unless_that_nonce_is_in_use() {
        let active = Active::default();
        let (mut h1, mut h2) = (active.held(), active.held());
        let mut a = session("n1");
        assert!(active.adopt_next(&mut a, "n2", &mut Fixed));
        active.checkin(&mut h1, a);
        let mut a = active.checkout(&mut h1, |_| true).unwrap();
        assert_eq!(nc_and_nonce(&mut a), ("00000001".into(), "n2".into()));
        // n2 is in flight on h1: another session does not move to it.
        let mut b = session("n3");
        assert!(!active.adopt_next(&mut b, "n2", &mut Fixed));
        assert_eq!(nc_and_nonce(&mut b), ("00000002".into(), "n3".into()));
        // A second session on a nonce already idle is not kept.
        active.checkin(&mut h1, a);
        active.checkin(&mut h2, session("n2"));
        assert_eq!(active.counts(), (1, 0));
    }

    #[test]
    fn the_state_file_is_written_at_most_every_persist_interval() {
        let active = Active::default();
        let t = Instant::now();
        assert!(active.persist_due(t), "the first session of a run is written at once");
        assert!(!active.persist_due(t + Duration::from_secs(1)));
        assert!(active.persist_due(t + PERSIST_EVERY));
    }
}
