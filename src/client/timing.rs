//! What `-w`'s `time_namelookup`, `time_connect`, `time_appconnect` and `time_pretransfer` are
//! made of: the moments the HTTP client resolved a name and had a connection ready, seen by a
//! resolver and a connector layer installed on it (reqwest offers no other view of the phases).
//!
//! A connection is ready after TCP, and for https after the TLS handshake too; the TCP part of
//! an https connection is not seen on its own. Through an HTTP proxy the connection seen is the
//! one to toll's loopback relay (the proxy conversation happens behind it), and a reused
//! connection has no phases of its own: the moment the request was handed over stands for them.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

/// The latest phases of the client's connections, and the local ends of those responses came on.
#[derive(Clone, Default)]
pub struct Clock(Arc<Mutex<Phases>>, Arc<Mutex<std::collections::HashSet<std::net::SocketAddr>>>);

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Phases {
    /// A name resolution finished.
    pub resolved: Option<Instant>,
    /// A new connection was asked for.
    pub connecting: Option<Instant>,
    /// That connection was ready (TCP, and TLS for https).
    pub connected: Option<Instant>,
    /// New connections made so far (ready for a request).
    pub connects: u64,
}

impl Clock {
    pub fn phases(&self) -> Phases {
        *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn set(&self, f: impl FnOnce(&mut Phases)) {
        f(&mut self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
    }

    /// Notes that a response came on the connection whose local end is `local`: true when an
    /// earlier response of the run came on it too (a kept connection was used again).
    pub fn came_on(&self, local: std::net::SocketAddr) -> bool {
        !self.1.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(local)
    }

    /// The connector layer that notes when each connection is asked for and ready.
    pub fn layer(&self) -> TimedLayer {
        TimedLayer(self.clone())
    }

    /// The system resolver (getaddrinfo, as reqwest's own), noting when each lookup finished.
    pub fn resolver(&self) -> Arc<TimedResolver> {
        Arc::new(TimedResolver(self.clone()))
    }

    /// `--doh-url`'s resolver, noting when each lookup finished.
    pub fn doh_resolver(&self, doh: Arc<crate::doh::Doh>) -> Arc<dyn reqwest::dns::Resolve> {
        let clock = self.clone();
        let on_done = move || clock.set(|p| p.resolved = Some(Instant::now()));
        Arc::new(crate::doh::Resolver { doh, on_done })
    }
}

/// `-w`'s connection times of one transfer, in seconds since `started`, from the phases seen
/// since `sent` (the request was handed to the client): `(namelookup, connect, appconnect,
/// pretransfer)`. Without a new connection since `sent`, every one is `sent`'s.
pub fn connection_times(
    p: Phases,
    started: Instant,
    sent: Instant,
    tls: bool,
) -> (std::time::Duration, std::time::Duration, std::time::Duration, std::time::Duration) {
    let since = |t: Instant| t.saturating_duration_since(started);
    let at_sent = since(sent);
    let (Some(connecting), Some(connected)) = (p.connecting, p.connected) else {
        return (at_sent, at_sent, if tls { at_sent } else { Default::default() }, at_sent);
    };
    if connecting < sent || connected < connecting {
        return (at_sent, at_sent, if tls { at_sent } else { Default::default() }, at_sent);
    }
    // An IP address is not looked up: the lookup ends as the connection starts.
    let looked_up = p.resolved.filter(|r| *r >= connecting && *r <= connected).unwrap_or(connecting);
    let (namelookup, ready) = (since(looked_up), since(connected));
    if tls {
        // The end of the TCP part is not seen: its earliest possible moment is reported.
        (namelookup, namelookup, ready, ready)
    } else {
        (namelookup, ready, Default::default(), ready)
    }
}

#[derive(Clone)]
pub struct TimedLayer(Clock);

impl<S> tower_layer::Layer<S> for TimedLayer {
    type Service = Timed<S>;
    fn layer(&self, inner: S) -> Timed<S> {
        Timed { inner, clock: self.0.clone() }
    }
}

#[derive(Clone)]
pub struct Timed<S> {
    inner: S,
    clock: Clock,
}

impl<S, R> tower_service::Service<R> for Timed<S>
where
    S: tower_service::Service<R>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: R) -> Self::Future {
        let clock = self.clock.clone();
        clock.set(|p| {
            p.connecting = Some(Instant::now());
            p.connected = None;
        });
        let connecting = self.inner.call(req);
        Box::pin(async move {
            let conn = connecting.await?;
            clock.set(|p| {
                p.connected = Some(Instant::now());
                p.connects += 1;
            });
            Ok(conn)
        })
    }
}

/// getaddrinfo on the blocking pool (what reqwest's default resolver does), timed.
pub struct TimedResolver(Clock);

impl reqwest::dns::Resolve for TimedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let (clock, host) = (self.0.clone(), name.as_str().to_string());
        Box::pin(async move {
            let addrs: Vec<std::net::SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            clock.set(|p| p.resolved = Some(Instant::now()));
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_a_response_came_on_before_is_known_again() {
        let clock = Clock::default();
        let (a, b) = ("127.0.0.1:40000".parse().unwrap(), "127.0.0.1:40001".parse().unwrap());
        assert!(!clock.came_on(a) && !clock.came_on(b));
        assert!(clock.came_on(a) && clock.clone().came_on(b), "shared by clones, as the session's is");
    }
    use std::time::Duration;

    fn at(base: Instant, ms: u64) -> Option<Instant> {
        Some(base + Duration::from_millis(ms))
    }

    #[test]
    fn a_new_connection_gives_ordered_phases() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let p = Phases { resolved: at(t0, 15), connecting: at(t0, 10), connected: at(t0, 30), connects: 1 };
        let sent = t0 + ms(5);
        assert_eq!(connection_times(p, t0, sent, false), (ms(15), ms(30), ms(0), ms(30)));
        assert_eq!(connection_times(p, t0, sent, true), (ms(15), ms(15), ms(30), ms(30)));
        // An address: no lookup, it ends when the connection starts.
        let p = Phases { resolved: None, ..p };
        assert_eq!(connection_times(p, t0, sent, false).0, ms(10));
        // A lookup from another connection does not count.
        let p = Phases { resolved: at(t0, 2), ..p };
        assert_eq!(connection_times(p, t0, sent, false).0, ms(10));
    }

    #[test]
    fn a_reused_connection_reports_the_moment_it_was_sent() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let old = Phases { resolved: at(t0, 1), connecting: at(t0, 1), connected: at(t0, 3), connects: 1 };
        let sent = t0 + ms(20);
        assert_eq!(connection_times(old, t0, sent, false), (ms(20), ms(20), ms(0), ms(20)));
        assert_eq!(connection_times(old, t0, sent, true), (ms(20), ms(20), ms(20), ms(20)));
        assert_eq!(connection_times(Phases::default(), t0, sent, false).1, ms(20));
        // A connection still being made (no `connected`) is not used either.
        let pending = Phases { connecting: at(t0, 25), connected: None, ..old };
        assert_eq!(connection_times(pending, t0, sent, false).1, ms(20));
    }
}
