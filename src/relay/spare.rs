//! Spare tunnels for `toll serve`: after a tunnel through a proxy worked, a few connections to
//! that proxy are opened ahead of need (at most [`Relay::set_spare_tunnels`]), so that the next
//! CONNECT costs one round trip, as through a proxy without authentication:
//!
//! - Basic and Digest (and no authentication): the connection is just open; the CONNECT goes
//!   with the pre-emptive header.
//! - Negotiate: the connection is open; the CONNECT opens with its token (`Opener`), one leg.
//! - NTLM: the handshake is started ahead — the type 1 goes with a CONNECT to the last tunnel's
//!   target and the proxy's type 2 is kept ([`Primed`]); the real CONNECT carries the type 3.
//!   The type 1 carries no credential. The credential for the type 3 is asked of the broker
//!   when the tunnel is wanted, so one rejected meanwhile is never sent (the lockout rule).
//!
//! Spares are refilled in the background (each by its own task, so they keep up with many
//! tunnels at once) as soon as a tunnel takes one while the last tunnel worked, and after each
//! tunnel that works; they are closed after [`SPARE_IDLE`] (before a proxy would drop them, or
//! an NTLM challenge would grow old), and are never made while no tunnel has worked, so a
//! rejected credential stops them.
//!
//! [`Relay::set_spare_tunnels`]: super::Relay::set_spare_tunnels

use super::upstream::{drain, respond, Answer, Conn};
use super::{Inner, Upstream};
use crate::auth::{self, Authenticator, Challenge, OsEntropy, RequestTarget, Scheme};
use crate::creds::{CredentialRequest, Exhausted, Issued};
use crate::secret::Secret;
use http::header::{HeaderValue, PROXY_AUTHENTICATE, PROXY_AUTHORIZATION};
use http::{Method, Request, StatusCode};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// How long a spare may take to get its NTLM handshake started (connect, type 1, the 407).
const PRIME_WAIT: std::time::Duration = super::upstream::HANDSHAKE_DRAIN_WAIT;

/// A spare connection is closed after this long unused.
pub(super) const SPARE_IDLE: Duration = Duration::from_secs(20);

/// How often a credential request looks whether another exchange's trial was judged, and how
/// long it waits before leaving it to the broker (which waits up to its own limit).
const VERDICT_POLL: Duration = Duration::from_millis(10);
const VERDICT_WAIT: Duration = Duration::from_secs(120);

/// An NTLM handshake started ahead on a spare connection: the authenticator after its type 1,
/// and the proxy's type 2.
pub(super) struct Primed {
    auth: Box<dyn Authenticator>,
    challenge: Challenge,
}

/// After a tunnel through `up` worked: opens spares in the background until the ready ones and
/// those being opened make up the relay's count. Each is opened by its own task, so a tunnel
/// that took a spare has its replacement started at once, in parallel with the others (one
/// filler at a time could not keep up with more than a few tunnels per round trip). `authority`
/// is the tunnel's target, the CONNECT an NTLM handshake is started with.
pub(super) fn refill(inner: &Arc<Inner>, up: &Arc<Upstream>, authority: &str) {
    let want = inner.spare_tunnels.load(Ordering::Relaxed);
    if want == 0 {
        return;
    }
    loop {
        let filling = up.pool.filling.load(Ordering::Acquire);
        if up.pool.spares() + filling >= want {
            return;
        }
        if up
            .pool
            .filling
            .compare_exchange(filling, filling + 1, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            continue;
        }
        let (inner, up, authority) = (inner.clone(), up.clone(), authority.to_string());
        tokio::spawn(async move {
            // Bounded: a proxy that takes the connection and never answers (a path gone dead)
            // held `filling` up for good, and no spare was made again.
            let primed = tokio::time::timeout(PRIME_WAIT, up.prime(&inner, &authority)).await.ok().flatten();
            if let Some(conn) = primed {
                up.pool.put_spare(conn);
                prune_later(&up);
            }
            up.pool.filling.fetch_sub(1, Ordering::AcqRel);
        });
    }
}

/// Unused spares are closed when they grow old, not only when the next tunnel looks: one
/// pruner per proxy while it has spares (not a timer per spare, which a busy server would pile
/// up by the thousand).
fn prune_later(up: &Arc<Upstream>) {
    if up.pool.pruning.swap(true, Ordering::AcqRel) {
        return;
    }
    let up = up.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(SPARE_IDLE + Duration::from_millis(100)).await;
            up.pool.prune_spares();
            if up.pool.spares() > 0 {
                continue;
            }
            up.pool.pruning.store(false, Ordering::Release);
            // A spare put in meanwhile found the flag still set: look after it here.
            if up.pool.spares() == 0 || up.pool.pruning.swap(true, Ordering::AcqRel) {
                return;
            }
        }
    });
}

impl Upstream {
    /// The credential for a handshake leg of exchange `id`: the one the proxy already accepted
    /// at once, else the broker asked on a blocking thread (a lookup may read the keyring, or
    /// wait for another exchange's verdict). A busy server thus spawns no blocking task per
    /// tunnel (hundreds of threads at 1,000 concurrent tunnels before).
    pub(super) async fn issue(
        self: &Arc<Self>,
        scheme: Scheme,
        id: u64,
        target: Option<&str>,
    ) -> Option<Issued> {
        self.lookup(self.credential_request(scheme, None, false), id, target).await.ok()?.ok()
    }

    /// The broker's answer for exchange `id` (`CredentialBroker::get_as`), asked so that a busy
    /// server parks no thread: the accepted credential at once; while another exchange tries
    /// an unjudged one, wait for its verdict here (a timer, not a blocking thread); only then
    /// a blocking thread for the lookup (the keyring, a prompt at start-up). Nothing for a
    /// request `target` whose destination the proxy refused the credential for after accepting
    /// it (`CredentialBroker::doubt`; looked at only once there is such a refusal).
    pub(super) async fn lookup(
        self: &Arc<Self>,
        req: CredentialRequest,
        id: u64,
        target: Option<&str>,
    ) -> Result<Result<Issued, Exhausted>, tokio::task::JoinError> {
        let refused = || target.and_then(|t| self.creds.refused_at(&super::upstream::authority(t)));
        if let Some(user) = self.creds.doubts_any().then(refused).flatten() {
            let none = Exhausted { rejected: Vec::new(), incomplete: Vec::new(), refused_here: Some(user) };
            return Ok(Err(none));
        }
        self.await_verdict(id, VERDICT_WAIT).await;
        if let Some(issued) = self.creds.get_accepted() {
            return Ok(Ok(issued));
        }
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.creds.get_as(&req, id)).await
    }

    /// While another exchange than `id` tries a credential the proxy has not judged yet, wait
    /// for that verdict (on a timer, at most `limit`): accepted, the credential is then sent at
    /// once, without a 407 or a blocking thread.
    pub(super) async fn await_verdict(&self, id: u64, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        while self.creds.get_accepted().is_none()
            && self.creds.verdict_pending(id)
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(VERDICT_POLL).await;
        }
    }

    /// One spare connection: open, and for NTLM with the handshake started.
    async fn prime(self: &Arc<Self>, inner: &Inner, authority: &str) -> Option<Conn> {
        let mut conn = self.connect(inner).await.ok()?;
        let opener = *self.lock_opener();
        if opener.is_none_or(|o| o.scheme != Scheme::Ntlm) || !self.usable_schemes().contains(Scheme::Ntlm) {
            return Some(conn);
        }
        let mut a = auth::authenticator(Scheme::Ntlm)?;
        // The type 1 names the user's domain: the credential in use, which already worked
        // (spares follow a tunnel that did). Anything else: no handshake ahead.
        let issued = self.issue(Scheme::Ntlm, 0, None).await?;
        if !self.creds.was_accepted(&issued) {
            return Some(conn);
        }
        let bare = auth::parse_challenges([Scheme::Ntlm.name()]);
        let target = RequestTarget {
            method: "CONNECT",
            uri: authority,
            body: Some(&[]),
            proxy_host: &self.spec.host,
            service: &self.service,
            delegation: self.delegation,
        };
        let type1 = respond(a.as_mut(), bare.first()?, &issued.creds, &target, &mut OsEntropy).ok()?;
        drop(issued);
        let mut req = Request::new(super::body::empty());
        *req.method_mut() = Method::CONNECT;
        *req.uri_mut() = http::Uri::try_from(authority).ok()?;
        req.headers_mut().insert(http::header::HOST, HeaderValue::from_str(authority).ok()?);
        let mut v = HeaderValue::from_str(type1.expose()).ok()?;
        v.set_sensitive(true);
        req.headers_mut().insert(PROXY_AUTHORIZATION, v);
        self.connect_version(&mut req);
        conn.send.ready().await.ok()?;
        let resp = conn.send.send_request(req).await.ok()?;
        let challenges = auth::challenge::parse_challenge_headers(
            resp.headers().get_all(PROXY_AUTHENTICATE).iter().map(|v| v.as_bytes()),
        );
        let closes = resp
            .headers()
            .get(http::header::CONNECTION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        if resp.status() != StatusCode::PROXY_AUTHENTICATION_REQUIRED || closes {
            return None;
        }
        drain(resp, super::upstream::HANDSHAKE_DRAIN_WAIT).await.ok()?;
        let challenge =
            challenges.into_iter().find(|c| c.scheme == Some(Scheme::Ntlm) && c.token68.is_some())?;
        if inner.reporter.verbose() {
            inner.info(format_args!(
                "a spare connection to {} has its NTLM handshake started",
                self.spec.display_url()
            ));
        }
        conn.primed = Some(Primed { auth: a, challenge });
        Some(conn)
    }

    /// On a spare connection with the NTLM handshake started: the type 3 for this request,
    /// with the credential the broker hands out now (never one rejected meanwhile). `None`
    /// leaves the exchange to begin as on any connection.
    pub(super) async fn resume_primed(
        self: &Arc<Self>,
        inner: &Inner,
        conn: &mut Option<Conn>,
        target: &RequestTarget<'_>,
        id: u64,
    ) -> Option<(Secret, Answer)> {
        let Primed { mut auth, challenge } = conn.as_mut()?.primed.take()?;
        if !self.usable_schemes().contains(Scheme::Ntlm) {
            *conn = None;
            return None;
        }
        let Some(issued) = self.issue(Scheme::Ntlm, id, Some(target.uri)).await else {
            *conn = None;
            return None;
        };
        // The type 3 must go on the connection that got the type 2: a closed one is given up
        // (never answered on a fresh connection, where the proxy would take it as a failure).
        let c = conn.as_mut()?;
        if !c.usable() || c.send.ready().await.is_err() {
            *conn = None;
            return None;
        }
        let creds = issued.creds.clone();
        let header = match respond(auth.as_mut(), &challenge, &creds, target, &mut OsEntropy) {
            Ok(h) => h,
            Err(_) => {
                *conn = None;
                return None;
            }
        };
        inner.info(format_args!("finishing the NTLM handshake started ahead on a spare connection"));
        Some((header, Answer { auth, issued: Some(issued), realm: None }))
    }
}
