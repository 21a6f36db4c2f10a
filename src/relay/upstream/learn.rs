//! What the relay learns about a proxy and reuses: an answer that worked is kept for later
//! requests (Basic's header, Digest sessions: `sessions`), a connection-bound scheme that worked
//! opens each new connection's handshake ([`Opener`]), and what worked is remembered for later
//! runs (`AuthMemory`, `remembered.json`) and recalled by the first request of a run.
//!
//! Lockout safety: only a credential the proxy accepted in this run is sent again unasked
//! (a remembered one goes out once, with the request that restored it); a Digest `stale=true`
//! 407 is a retired nonce, never a verdict on the credential.

use super::super::{Inner, Upstream};
use super::{none_creds, respond, sessions::Claim, Answer, Conn, Demand, Exchange, Outgoing};
use crate::auth::{self, Challenge, OsEntropy, Scheme, SchemeSet};
use crate::remembered::Entry;
use http::header::HeaderName;
use std::sync::Arc;

/// RFC 7616 §3.5: the proxy's word on the session after a success (`nextnonce`).
const PROXY_AUTHENTICATION_INFO: HeaderName = HeaderName::from_static("proxy-authentication-info");

/// How new connections to a proxy open a connection-bound handshake (NTLM, Negotiate) when the
/// scheme is known in advance: with its first message (NTLM type 1) on the first request, as
/// `curl --proxy-ntlm` does, so a connection costs one 407 (the type 2) instead of two.
/// Only the scheme: the credential is asked from the broker for every new connection, so one
/// that was refused meanwhile is never sent again.
#[derive(Clone, Copy)]
pub(in crate::relay) struct Opener {
    pub(in crate::relay) scheme: Scheme,
}

impl Opener {
    /// The user allowed exactly one connection-bound scheme (`--proxy-ntlm`,
    /// `--proxy-negotiate`): no need to wait for the proxy to name it.
    pub(in crate::relay) fn forced(allowed: SchemeSet) -> Option<Opener> {
        [Scheme::Ntlm, Scheme::Negotiate]
            .into_iter()
            .find(|&s| allowed == SchemeSet::only(s))
            .map(|scheme| Opener { scheme })
    }
}
/// The `nextnonce` of a `Proxy-Authentication-Info` (RFC 7616 §3.5), read like a challenge's
/// parameters.
fn next_nonce(headers: &http::HeaderMap) -> Option<String> {
    let info = headers.get(PROXY_AUTHENTICATION_INFO)?.to_str().ok()?;
    let parsed = auth::parse_challenges([format!("Digest {info}").as_str()]);
    parsed.first()?.param("nextnonce").map(str::to_owned)
}

impl Upstream {
    /// The proxy let a request through: keep and remember what worked. An answer the request
    /// carried pre-emptively (`ex.from_active`) counts as accepted in this run just like an
    /// answer to a challenge.
    pub(super) fn succeeded(&self, conn: &mut Option<Conn>, ex: &mut Exchange, headers: &http::HeaderMap) {
        let answer = ex.answer.take();
        let preemptive = ex.from_active;
        // The shared Basic answer, already accepted, stays in place: taking it out (and writing
        // the state file) on every success left a gap in which `toll serve`'s concurrent
        // requests went out without credentials and drew 407s (bench/SERVE.md, cause 2).
        if answer.is_none()
            && preemptive
            && self.active.with_shared(|a| a.auth.final_leg() && self.answer_accepted(a)) == Some(true)
        {
            return;
        }
        let answer = answer.or_else(|| if preemptive { self.active.take_shared() } else { None });
        let Some(mut a) = answer else { return };
        if !a.auth.final_leg() {
            // Let through on an opening message (NTLM type 1) that carries no credential: the
            // proxy did not need one here, and nothing was proven.
            return;
        }
        if !ex.connect && self.demand() == Demand::Assumed {
            // A forwarded request's 407 answered without knowing it was the proxy's: its success
            // may be the origin's, through an open proxy that passed the credential on. The
            // credential is not refused (lockout bookkeeping stays right), and a connection
            // that finished a handshake stays authenticated, but nothing sends it unasked: not
            // later requests of this run, not later runs.
            if let Some(issued) = &a.issued {
                if !self.creds.was_accepted(issued) {
                    self.creds
                        .accept(&self.credential_request(a.auth.scheme(), a.realm.as_deref(), false), issued);
                }
            }
            if let (true, Some(c)) = (a.auth.connection_bound(), conn.as_mut()) {
                c.authenticated = Some(a.auth.scheme());
            }
            return;
        }
        self.set_demand(Demand::Known);
        // A connection-bound scheme this run already opens with, for a credential it already
        // accepted, was remembered then: not once more per `toll serve` tunnel (a locked read of
        // the state file on a runtime thread each time; bench/SERVE.md cause 4).
        let known = a.auth.connection_bound()
            && a.issued.as_ref().is_some_and(|i| self.creds.was_accepted(i))
            && (*self.lock_opener()).is_some_and(|o| o.scheme == a.auth.scheme());
        if let Some(issued) = &a.issued {
            if !self.creds.was_accepted(issued) {
                self.creds
                    .accept(&self.credential_request(a.auth.scheme(), a.realm.as_deref(), false), issued);
            }
        }
        if a.auth.sequenced() {
            // Squid names the next nonce on the response that uses a nonce's last count: moving
            // to it costs no `stale=true` 407.
            if let Some(next) = next_nonce(headers) {
                self.active.adopt_next(&mut a, &next, &mut OsEntropy);
            }
            // The state file gets a new session now and then, not per request (`sessions`).
            let key = a.auth.session_key().map(str::to_owned);
            if key.as_deref().is_some_and(|k| !self.active.in_file(k))
                && self.active.persist_due(std::time::Instant::now())
            {
                self.remember(&a);
                self.active.set_in_file(key.as_deref());
            }
            self.active.checkin(&mut ex.held, a);
            return;
        }
        // Basic and the connection-bound schemes: the state file once, then at most now and
        // then (a failed scheme is forgotten at once, which allows the next write at once).
        if !known && self.active.persist_due(std::time::Instant::now()) {
            self.remember(&a);
        }
        if a.auth.connection_bound() {
            if let Some(c) = conn.as_mut() {
                c.authenticated = Some(a.auth.scheme());
            }
            // The next connection in this run opens the handshake itself.
            *self.lock_opener() = Some(Opener { scheme: a.auth.scheme() });
            return;
        }
        self.active.set_shared(a);
    }

    fn remember(&self, a: &Answer) {
        // A password scheme that answered only because the proxy's Negotiate failed here (no
        // Kerberos ticket yet, one expired) is not kept: the next run would send the password
        // before asking, and never use the ticket `kinit` gets meanwhile.
        if self.negotiate_failed() {
            return;
        }
        if let (Some(store), Some(memory), Some(issued)) = (&self.memory, a.auth.memory(), &a.issued) {
            store.remember(
                &self.spec,
                Entry { user: issued.creds.user.clone(), realm: a.realm.clone(), memory },
            );
        }
    }

    /// Sends the next count of Digest session `a`, which `ex` holds, pre-emptively. The counts
    /// of the session in the state file are reserved through the file first, so concurrent toll
    /// runs never send one twice; every other session counts in memory.
    pub(super) fn use_session(
        &self,
        inner: &Inner,
        ex: &mut Exchange,
        mut a: Answer,
        out: &Outgoing,
        rng: &mut OsEntropy,
    ) {
        let key = a.auth.session_key().map(str::to_owned);
        if let (Some(store), Some(key), Some(memory)) = (&self.memory, &key, a.auth.memory()) {
            if self.active.in_file(key) {
                match store.reserve_nc(&self.spec, &memory) {
                    Some(n) => a.auth.resume_count(n),
                    // Another run wrote a newer session: this one counts in memory from now.
                    None => self.active.set_in_file(None),
                }
            }
        }
        let target = self.target(out, &ex.target);
        let creds = a.issued.as_ref().map_or_else(none_creds, |i| i.creds.clone());
        match a.auth.preemptive(&creds, &target, rng) {
            Some(Ok(v)) => {
                inner.info(format_args!(
                    "sending {} credentials for user {:?} that worked earlier in this run",
                    a.auth.scheme(),
                    creds.user
                ));
                ex.header = Some(v);
                ex.answer = Some(a);
                ex.from_active = true;
            }
            _ => ex.held.release(),
        }
    }

    /// A Digest `stale=true` 407 to session `a`: the nonce is retired, the credential not
    /// judged (RFC 7616 §3.3). The new nonce is answered at once unless a request in flight
    /// counts on it (Squid names the user's latest nonce, often another session's): then an idle
    /// session on it carries on, or the request goes once without credentials to draw a nonce
    /// of its own. That makes the new nonce this exchange's alone, so a second `stale=true` in
    /// one exchange is a proxy that would keep us looping: a failure (its reason), as before.
    pub(super) fn restart_stale(
        &self,
        inner: &Inner,
        ex: &mut Exchange,
        mut a: Answer,
        ch: &Challenge,
        out: &Outgoing,
        was_active: bool,
    ) -> Result<(), String> {
        if ex.stale_retried {
            return Err(
                "the proxy answered Digest with stale=true again after a retry with its new nonce".into()
            );
        }
        let nonce = ch.param("nonce").unwrap_or_default();
        let claim = self.active.claim(&mut ex.held, nonce);
        ex.stale_retried = true;
        let target = self.target(out, &ex.target);
        match claim {
            Claim::Fresh => {
                inner.info(format_args!(
                    "Digest: the proxy retired the nonce (stale=true); answering its new one"
                ));
                let creds = a.issued.as_ref().map_or_else(none_creds, |i| i.creds.clone());
                let v = respond(a.auth.as_mut(), ch, &creds, &target, &mut OsEntropy)
                    .map_err(|e| e.to_string())?;
                ex.header = Some(v);
                ex.answer = Some(a);
                ex.from_active = was_active;
                return Ok(());
            }
            Claim::Idle(other) if self.answer_accepted(&other) => {
                inner.info(format_args!(
                    "Digest: the proxy retired the nonce (stale=true); going on with its new one"
                ));
                // Ends this exchange's trial of `a`'s credential, if it had one.
                drop(a);
                self.use_session(inner, ex, other, out, &mut OsEntropy);
                if ex.header.is_some() {
                    return Ok(());
                }
            }
            Claim::Idle(_) => ex.held.release(),
            Claim::Busy => drop(a),
        }
        inner.info(format_args!(
            "Digest: the proxy retired the nonce (stale=true) and its new one is in use; asking for a nonce of this request's own"
        ));
        ex.header = None;
        ex.answer = None;
        ex.from_active = false;
        Ok(())
    }

    /// Before the first request to this proxy in this run: restore a scheme that worked in an
    /// earlier run, so this request already carries `Proxy-Authorization`. Returns the restored
    /// answer to the one call that restored it (a connection-bound scheme only sets the
    /// [`Opener`]).
    pub(super) async fn recall(self: &Arc<Self>, inner: &Inner, id: u64) -> Option<Answer> {
        let store = self.memory.as_ref()?;
        let mut done = self.recalled.lock().await;
        if std::mem::replace(&mut *done, true) || !self.active.is_empty() {
            return None;
        }
        let entry = store.recall(&self.spec)?;
        let scheme = entry.memory.scheme();
        if !self.usable_schemes().contains(scheme) {
            return None;
        }
        if entry.memory.connection_bound() {
            // Only the scheme is remembered; the credential is fetched when the first
            // connection opens its handshake.
            inner.info(format_args!(
                "this proxy accepted {scheme} for user {:?} before: opening with {scheme}'s first message",
                entry.user
            ));
            let mut opener = self.lock_opener();
            if opener.is_none() {
                *opener = Some(Opener { scheme });
            }
            return None;
        }
        let auth = entry.memory.restore()?;
        let req = self.credential_request(scheme, entry.realm.as_deref(), false);
        let Ok(Ok(issued)) = self.lookup(req, id, None).await else {
            return None;
        };
        inner.info(format_args!(
            "this proxy accepted {scheme} for user {:?} before: answering before it asks",
            entry.user
        ));
        self.set_demand(Demand::Known);
        Some(Answer { auth, issued: Some(issued), realm: entry.realm })
    }

    /// `a`'s credential is one this proxy already accepted in this run.
    pub(super) fn answer_accepted(&self, a: &Answer) -> bool {
        a.issued.as_ref().is_some_and(|i| self.creds.was_accepted(i))
    }

    /// The header of the current leg carries a credential this proxy already accepted in this
    /// run (so sending it once more cannot count as another failed attempt).
    pub(super) fn header_accepted(&self, ex: &Exchange) -> bool {
        match &ex.answer {
            Some(a) => self.answer_accepted(a),
            None if ex.from_active => self.active.with_shared(|a| self.answer_accepted(a)).unwrap_or(false),
            None => false,
        }
    }

    pub(in crate::relay) fn lock_opener(&self) -> std::sync::MutexGuard<'_, Option<Opener>> {
        self.opener.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) async fn open_handshake(self: &Arc<Self>, inner: &Inner, ex: &mut Exchange, out: &Outgoing) {
        let Some(Opener { scheme }) = *self.lock_opener() else { return };
        if !self.usable_schemes().contains(scheme) {
            return;
        }
        let Some(mut auth) = auth::authenticator(scheme) else { return };
        let issued = if auth.needs_credentials() {
            let Some(i) = self.issue(scheme, ex.id, Some(&ex.target)).await else {
                return;
            };
            Some(i)
        } else {
            None
        };
        let bare = auth::parse_challenges([scheme.name()]);
        let Some(start) = bare.first() else { return };
        let creds = issued.as_ref().map_or_else(none_creds, |i| i.creds.clone());
        let target = self.target(out, &ex.target);
        if let Ok(v) = respond(auth.as_mut(), start, &creds, &target, &mut OsEntropy) {
            inner.info(format_args!("opening {scheme} on this connection without waiting for a challenge"));
            ex.header = Some(v);
            ex.answer = Some(Answer { auth, issued, realm: None });
            ex.opened = true;
        }
    }

    /// The remembered scheme did not work: forget it, and let the next success be written at
    /// once.
    pub(super) fn forget(&self) {
        if let Some(store) = &self.memory {
            store.forget(&self.spec);
        }
        self.active.forgotten();
    }
}
