//! Fail-over: the order an ordered proxy list is tried in, which failures move on to the next
//! entry, and the dead-proxy memory shared by runs.
//!
//! Rules (the browsers'):
//! - entries are tried in the list's order; DIRECT only where the list says DIRECT;
//! - a proxy that refuses the connection, cannot be reached, has a name that does not resolve,
//!   or does not answer within the connect timeout is skipped, and remembered as dead for
//!   [`DEAD_FOR`] in `dead-proxies.json` in the state dir (shared by concurrent runs);
//! - a proxy that answered anything at all — even a 407 — is alive: an authentication failure
//!   never fails over (that would send the credentials to the next proxy and double the
//!   lockout risk);
//! - proxies remembered as dead go to the end of the list, in their order; if all are dead they
//!   are all tried anyway.

use super::RouteEntry;
use crate::statefile::JsonFile;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long a dead proxy is skipped (Chrome: 5 minutes).
pub const DEAD_FOR: Duration = Duration::from_secs(5 * 60);
/// The file never holds more entries than this (the soonest-expiring are dropped first).
pub const MAX_DEAD: usize = 64;

/// How one attempt through an entry ended, as the relay sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attempt {
    /// The TCP connection was refused.
    Refused,
    /// No connection within the connect timeout.
    ConnectTimeout,
    /// No route to the host or network.
    Unreachable,
    /// The proxy's own name did not resolve.
    NameNotResolved,
    /// The proxy answered with an HTTP status (any: 200, 407, 502…).
    Answered(u16),
    /// Anything else (TLS failure to an https proxy, reset mid-answer, …): reported, not
    /// failed over, since the proxy may have seen the request.
    Other(String),
}

impl std::fmt::Display for Attempt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Attempt::Refused => f.write_str("connection refused"),
            Attempt::ConnectTimeout => f.write_str("no answer within the connect timeout"),
            Attempt::Unreachable => f.write_str("unreachable"),
            Attempt::NameNotResolved => f.write_str("its name does not resolve"),
            Attempt::Answered(s) => write!(f, "answered {s}"),
            Attempt::Other(why) => f.write_str(why),
        }
    }
}

impl Attempt {
    /// Does this outcome skip to the next entry (and mark the proxy dead)?
    pub fn fails_over(&self) -> bool {
        matches!(
            self,
            Attempt::Refused | Attempt::ConnectTimeout | Attempt::Unreachable | Attempt::NameNotResolved
        )
    }

    /// Classifies a connect error (`std::io::Error` from `TcpStream::connect`, or wrapped).
    pub fn from_connect_error(e: &io::Error) -> Attempt {
        use io::ErrorKind::*;
        match e.kind() {
            ConnectionRefused => Attempt::Refused,
            TimedOut => Attempt::ConnectTimeout,
            HostUnreachable | NetworkUnreachable | AddrNotAvailable => Attempt::Unreachable,
            _ if e.to_string().contains("failed to lookup address") => Attempt::NameNotResolved,
            // `--doh-url`: whatever kept the DoH server from giving an address.
            _ if crate::doh::LookupError::inside(e).is_some() => Attempt::NameNotResolved,
            _ => Attempt::Other(e.to_string()),
        }
    }
}

#[derive(Default, Serialize, Deserialize)]
struct DeadFile {
    version: u32,
    /// `scheme://host:port` → dead until (seconds since the Unix epoch).
    dead: BTreeMap<String, u64>,
}

pub type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// The dead-proxy memory in `dead-proxies.json`. Keys are [`RouteEntry::key`] (never
/// credentials). A missing or unreadable file means nobody is dead.
#[derive(Clone)]
pub struct DeadProxies {
    file: JsonFile,
    ttl: Duration,
    clock: Clock,
    /// Read, never written ([`looking_only`](Self::looking_only)).
    looking_only: bool,
}

impl DeadProxies {
    pub fn new(path: PathBuf, ttl: Duration, clock: Clock) -> DeadProxies {
        DeadProxies { file: JsonFile::new(path), ttl, clock, looking_only: false }
    }

    /// The same memory, read but never written: `toll doctor` shows what a transfer would do
    /// and changes nothing.
    pub fn looking_only(self) -> DeadProxies {
        DeadProxies { looking_only: true, ..self }
    }

    /// `dead-proxies.json` in toll's state directory with [`DEAD_FOR`] and the system clock.
    pub fn in_state_dir(toll_state_dir: &std::path::Path) -> DeadProxies {
        DeadProxies::new(toll_state_dir.join("dead-proxies.json"), DEAD_FOR, Arc::new(SystemTime::now))
    }

    fn now(&self) -> u64 {
        (self.clock)().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
    }

    pub fn is_dead(&self, key: &str) -> bool {
        self.file.read::<DeadFile>().dead.get(key).is_some_and(|&until| self.still_dead(until))
    }

    /// Every key dead now (one read, for [`order`]).
    pub fn dead_now(&self) -> Vec<String> {
        let dead = self.file.read::<DeadFile>().dead;
        dead.into_iter().filter(|(_, u)| self.still_dead(*u)).map(|(k, _)| k).collect()
    }

    /// An entry marked dead until `until` still is — unless `until` is further off than one
    /// TTL from now: the clock went back since (or the file was edited), and a proxy must not
    /// stay skipped for as long as the jump.
    fn still_dead(&self, until: u64) -> bool {
        let now = self.now();
        until > now && until <= now.saturating_add(self.ttl.as_secs())
    }

    /// Remembers `key` as dead for the TTL; drops expired entries and keeps at most [`MAX_DEAD`].
    pub fn mark_dead(&self, key: &str) -> io::Result<()> {
        if self.looking_only {
            return Ok(());
        }
        let (now, ttl) = (self.now(), self.ttl.as_secs());
        self.file
            .update(false, |f: &mut DeadFile| {
                f.version = 1;
                f.dead.retain(|_, until| *until > now);
                f.dead.insert(key.to_string(), now + ttl);
                while f.dead.len() > MAX_DEAD {
                    let soonest = f.dead.iter().min_by_key(|(_, u)| **u).map(|(k, _)| k.clone());
                    soonest.map(|k| f.dead.remove(&k));
                }
                Some(())
            })
            .map(|_| ())
    }

    /// Forgets every proxy remembered as dead (the network changed: browsers try them all
    /// again then). Writes only when one was remembered.
    pub fn forget_all(&self) -> io::Result<()> {
        if self.looking_only {
            return Ok(());
        }
        if self.file.read::<DeadFile>().dead.is_empty() {
            return Ok(());
        }
        self.file
            .update(false, |f: &mut DeadFile| (!std::mem::take(&mut f.dead).is_empty()).then_some(()))
            .map(|_| ())
    }

    /// Forgets `key` (it answered). Writes only when it was remembered.
    pub fn mark_alive(&self, key: &str) -> io::Result<()> {
        if self.looking_only {
            return Ok(());
        }
        if !self.file.read::<DeadFile>().dead.contains_key(key) {
            return Ok(());
        }
        self.file.update(false, |f: &mut DeadFile| f.dead.remove(key).map(|_| ())).map(|_| ())
    }
}

/// The order to try `candidates` in: those not in `dead` first, in their order, then the dead
/// ones, in their order (so if all are dead, all are still tried). DIRECT is never dead.
pub fn order(candidates: &[RouteEntry], dead: &[String]) -> Vec<RouteEntry> {
    let is_dead = |e: &RouteEntry| e.key().is_some_and(|k| dead.contains(&k));
    let (mut alive, gone): (Vec<_>, Vec<_>) = candidates.iter().cloned().partition(|e| !is_dead(e));
    alive.extend(gone);
    alive
}

/// What [`try_in_order`] did: the result, the entry it came from, and the entries skipped.
#[derive(Debug)]
pub struct Tried<T> {
    pub result: Result<T, Attempt>,
    pub used: Option<RouteEntry>,
    pub skipped: Vec<(RouteEntry, Attempt)>,
}

/// Tries `entries` (already [`order`]ed) with `attempt` until one does not fail over. Failed
/// proxies are marked dead, a proxy that answered is marked alive (when `memory` is given).
/// The last failure is the result when every entry failed over.
pub async fn try_in_order<T, F, Fut>(
    entries: &[RouteEntry],
    memory: Option<&DeadProxies>,
    mut attempt: F,
) -> Tried<T>
where
    F: FnMut(RouteEntry) -> Fut,
    Fut: Future<Output = Result<T, Attempt>>,
{
    let mut skipped = Vec::new();
    for entry in entries {
        let result = attempt(entry.clone()).await;
        let key = entry.key();
        match &result {
            Err(a) if a.fails_over() => {
                if let (Some(m), Some(k)) = (memory, &key) {
                    let _ = m.mark_dead(k);
                }
                skipped.push((entry.clone(), a.clone()));
                continue;
            }
            Ok(_) | Err(Attempt::Answered(_)) => {
                if let (Some(m), Some(k)) = (memory, &key) {
                    let _ = m.mark_alive(k);
                }
            }
            Err(_) => {}
        }
        return Tried { result, used: Some(entry.clone()), skipped };
    }
    let result = Err(skipped
        .last()
        .map(|(_, a)| a.clone())
        .unwrap_or(Attempt::Other("the proxy list is empty".into())));
    Tried { result, used: None, skipped }
}

/// The TCP step the relay needs: connects to the first entry of `entries` (already
/// [`order`]ed) that accepts within `connect_timeout` (names looked up through `doh` if given) — a proxy at its host and port, DIRECT at
/// `direct` (the origin's host and port) — skipping and remembering the ones that fail over.
/// What happens on the connection afterwards (CONNECT, the 407 dance) is the relay's: an
/// answer there never fails over.
pub async fn connect_in_order(
    entries: &[RouteEntry],
    direct: (&str, u16),
    connect_timeout: Duration,
    memory: Option<&DeadProxies>,
    doh: Option<&crate::doh::Doh>,
) -> Tried<tokio::net::TcpStream> {
    try_in_order(entries, memory, |entry| {
        let (host, port) = match &entry {
            RouteEntry::Direct => (direct.0.to_string(), direct.1),
            RouteEntry::Proxy(p) => (p.host.clone(), p.port),
        };
        async move {
            let connect = crate::doh::connect(&host, port, doh);
            match tokio::time::timeout(connect_timeout, connect).await {
                Ok(Ok(stream)) => Ok(stream),
                Ok(Err(e)) => Err(Attempt::from_connect_error(&e)),
                Err(_) => Err(Attempt::ConnectTimeout),
            }
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    fn p(host: &str) -> RouteEntry {
        RouteEntry::proxy("http", host, 3128, "test")
    }

    fn memory(dir: &std::path::Path) -> (DeadProxies, Arc<AtomicU64>) {
        let t = Arc::new(AtomicU64::new(1_000_000));
        let t2 = t.clone();
        let clock: Clock = Arc::new(move || UNIX_EPOCH + Duration::from_secs(t2.load(Ordering::SeqCst)));
        (DeadProxies::new(dir.join("toll/dead-proxies.json"), DEAD_FOR, clock), t)
    }

    #[test]
    fn dead_proxies_expire_and_are_shared_through_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let (m, t) = memory(dir.path());
        assert!(!m.is_dead("http://a:3128"));
        m.mark_dead("http://a:3128").unwrap();
        assert!(m.is_dead("http://a:3128"));
        // Another run (another DeadProxies on the same file) sees it.
        let (other, _) = memory(dir.path());
        assert!(other.is_dead("http://a:3128"));
        t.fetch_add(DEAD_FOR.as_secs() - 1, Ordering::SeqCst);
        assert!(m.is_dead("http://a:3128"));
        t.fetch_add(1, Ordering::SeqCst);
        assert!(!m.is_dead("http://a:3128"));
        m.mark_dead("http://b:3128").unwrap();
        m.mark_alive("http://b:3128").unwrap();
        assert!(m.dead_now().is_empty());
        // A network change forgets them all, for every run.
        m.mark_dead("http://c:3128").unwrap();
        m.mark_dead("http://d:3128").unwrap();
        m.forget_all().unwrap();
        assert!(other.dead_now().is_empty());
        m.forget_all().unwrap();
        // The clock went back an hour after a proxy was marked: not dead for the hour.
        m.mark_dead("http://e:3128").unwrap();
        t.fetch_sub(3600, Ordering::SeqCst);
        assert!(!m.is_dead("http://e:3128") && m.dead_now().is_empty());
    }

    #[test]
    fn the_file_is_capped_and_drops_expired_entries() {
        let dir = tempfile::tempdir().unwrap();
        let (m, t) = memory(dir.path());
        m.mark_dead("http://old:1").unwrap();
        t.fetch_add(DEAD_FOR.as_secs() + 1, Ordering::SeqCst);
        for i in 0..MAX_DEAD + 10 {
            t.fetch_add(1, Ordering::SeqCst);
            m.mark_dead(&format!("http://p{i}:1")).unwrap();
        }
        let text = std::fs::read_to_string(dir.path().join("toll/dead-proxies.json")).unwrap();
        let f: DeadFile = serde_json::from_str(&text).unwrap();
        assert_eq!(f.dead.len(), MAX_DEAD);
        assert!(!f.dead.contains_key("http://old:1") && !f.dead.contains_key("http://p0:1"));
        assert!(f.dead.contains_key(&format!("http://p{}:1", MAX_DEAD + 9)));
    }

    #[test]
    fn order_puts_dead_proxies_last_and_keeps_them() {
        let list = [p("a"), p("b"), RouteEntry::Direct, p("c")];
        let dead = vec!["http://a:3128".to_string(), "http://c:3128".to_string()];
        let keys = |v: Vec<RouteEntry>| super::super::describe_list(&v);
        assert_eq!(keys(order(&list, &dead)), "http://b:3128; DIRECT; http://a:3128; http://c:3128");
        let all_dead = ["http://a:3128".to_string(), "http://b:3128".to_string()];
        assert_eq!(keys(order(&[p("a"), p("b")], &all_dead)), "http://a:3128; http://b:3128");
        assert_eq!(keys(order(&list, &[])), "http://a:3128; http://b:3128; DIRECT; http://c:3128");
    }

    #[test]
    fn only_connection_failures_fail_over() {
        assert!(Attempt::Refused.fails_over() && Attempt::ConnectTimeout.fails_over());
        assert!(!Attempt::Answered(407).fails_over() && !Attempt::Answered(502).fails_over());
        assert!(!Attempt::Other("tls".into()).fails_over());
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert_eq!(Attempt::from_connect_error(&refused), Attempt::Refused);
        assert_eq!(
            Attempt::from_connect_error(&io::Error::from(io::ErrorKind::TimedOut)),
            Attempt::ConnectTimeout
        );
    }

    fn block<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
    }

    #[test]
    fn connect_in_order_skips_a_refusing_proxy_on_loopback() {
        let dir = tempfile::tempdir().unwrap();
        let (m, _) = memory(dir.path());
        let refused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let refused_port = refused.local_addr().unwrap().port();
        drop(refused);
        let alive = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let alive_port = alive.local_addr().unwrap().port();
        let list = [
            RouteEntry::proxy("http", "127.0.0.1", refused_port, "t"),
            RouteEntry::proxy("http", "127.0.0.1", alive_port, "t"),
        ];
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let tried =
            rt.block_on(connect_in_order(&list, ("127.0.0.1", 9), Duration::from_secs(5), Some(&m), None));
        let stream = tried.result.expect("connected to the second proxy");
        assert_eq!(stream.peer_addr().unwrap().port(), alive_port);
        assert_eq!(tried.used, Some(list[1].clone()));
        assert_eq!(tried.skipped, vec![(list[0].clone(), Attempt::Refused)]);
        assert!(m.is_dead(&format!("http://127.0.0.1:{refused_port}")));
        // DIRECT connects to the origin given.
        let direct = rt.block_on(connect_in_order(
            &[RouteEntry::Direct],
            ("127.0.0.1", alive_port),
            Duration::from_secs(5),
            None,
            None,
        ));
        assert_eq!(direct.result.unwrap().peer_addr().unwrap().port(), alive_port);
    }

    #[test]
    fn try_in_order_skips_dead_stops_at_407_and_remembers() {
        let dir = tempfile::tempdir().unwrap();
        let (m, _) = memory(dir.path());
        let list = [p("a"), p("b"), p("c")];
        let tried = block(try_in_order(&list, Some(&m), |e| async move {
            match e.to_string().as_str() {
                "http://a:3128" => Err::<u16, _>(Attempt::Refused),
                "http://b:3128" => Err(Attempt::Answered(407)),
                _ => Ok(200),
            }
        }));
        assert_eq!(tried.result, Err(Attempt::Answered(407)));
        assert_eq!(tried.used, Some(p("b")));
        assert_eq!(tried.skipped, vec![(p("a"), Attempt::Refused)]);
        assert!(m.is_dead("http://a:3128") && !m.is_dead("http://b:3128"));
        // Next run: a goes last.
        assert_eq!(order(&list, &m.dead_now())[0], p("b"));
        // Everything down: the last failure, nothing used.
        let down = block(try_in_order(&list, None, |_| async { Err::<(), _>(Attempt::ConnectTimeout) }));
        assert_eq!((down.result, down.used, down.skipped.len()), (Err(Attempt::ConnectTimeout), None, 3));
        // Any other failure (the proxy may have seen the request) is reported, not failed over.
        let tls =
            block(try_in_order(&list, Some(&m), |_| async { Err::<(), _>(Attempt::Other("tls".into())) }));
        assert_eq!(
            (tls.result, tls.used, tls.skipped.len()),
            (Err(Attempt::Other("tls".into())), Some(p("a")), 0)
        );
        // A list with DIRECT last falls back to it.
        let with_direct = [p("a"), RouteEntry::Direct];
        let d = block(try_in_order(&with_direct, Some(&m), |e| async move {
            if e == RouteEntry::Direct {
                Ok(1)
            } else {
                Err(Attempt::Refused)
            }
        }));
        assert_eq!((d.result, d.used), (Ok(1), Some(RouteEntry::Direct)));
    }
}
