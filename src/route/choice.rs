//! The route one URL takes in a transfer: the [`Router`]'s ordered list, tried in order (fail-over)
//! when it has more than one entry — a proxy that refuses the connection or does not answer
//! within the connect timeout is skipped and remembered as dead for a few minutes (shared by
//! runs); DIRECT only when the list says so. A proxy that answers at all is alive: what it says
//! (a 407 included) is the relay's business and never moves to the next entry, so a credential
//! is never offered to a second proxy because the first refused it.
//!
//! The answer is kept per URL for reqwest's proxy callback, which is synchronous: the client
//! asks [`Chooser::choose`] for every hop before sending it.

use super::failover::{self, DeadProxies};
use super::sources::{Routed, Router};
use super::{RouteEntry, RouteError};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use url::Url;

/// What was decided for one URL.
#[derive(Clone, Debug)]
pub struct Choice {
    pub entry: RouteEntry,
    pub routed: Routed,
    /// Entries skipped on the way, with why (`http://a:3128: connection refused`).
    pub skipped: Vec<String>,
    /// Entries not tried because they are remembered as dead and one before them answered.
    pub passed_over: Vec<String>,
}

pub struct Chooser {
    router: Router,
    dead: Option<DeadProxies>,
    connect_timeout: Duration,
    /// `-m`: a dead proxy's wait must leave time for the next entry (see [`Chooser::within`]).
    max_time: Option<Duration>,
    chosen: Mutex<HashMap<String, RouteEntry>>,
    /// `--doh-url`: fail-over looks the proxies' names up through it.
    doh: Option<std::sync::Arc<crate::doh::Doh>>,
    /// Whether fail-over may connect to the entries itself to see which one answers.
    probe: bool,
}

/// The table's key: reqwest's proxy callback sees only scheme, host and port.
fn key(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// How long a fail-over candidate may take to accept a connection when the user set no
/// `--connect-timeout` (browsers give up on a dead proxy within seconds too).
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

impl Chooser {
    pub fn new(router: Router, dead: Option<DeadProxies>, connect_timeout: Option<Duration>) -> Chooser {
        Chooser {
            router,
            dead,
            connect_timeout: connect_timeout.unwrap_or(PROBE_TIMEOUT),
            max_time: None,
            chosen: Mutex::new(HashMap::new()),
            doh: None,
            probe: true,
        }
    }

    /// Without `probe`, a list's first entry not remembered as dead is taken as it is: the
    /// proxies sit behind `--preproxy`'s SOCKS hop, where a connection of fail-over's own would
    /// not reach them (each would look dead, and a `DIRECT` after them would go around the
    /// proxy). The relay then reports that proxy's failure.
    pub fn probing(mut self, probe: bool) -> Chooser {
        self.probe = probe;
        self
    }

    /// Reads the dead-proxy memory but never writes it (`toll doctor`).
    pub fn looking_only(mut self) -> Chooser {
        self.dead = self.dead.map(DeadProxies::looking_only);
        self
    }

    /// `-m`: each entry of a list gets an equal share of it to accept a connection (at least
    /// a second, at most the connect timeout), so that a proxy that never answers cannot use
    /// up the whole run before the next one is tried — it is then skipped and remembered as
    /// dead, as without `-m` (review W: `-m 2` failed every run on the first of two proxies).
    pub fn within(mut self, max_time: Option<Duration>) -> Chooser {
        self.max_time = max_time;
        self
    }

    /// Fail-over's connections look their names up through `doh` (`--doh-url`), if given.
    pub fn with_doh(mut self, doh: Option<std::sync::Arc<crate::doh::Doh>>) -> Chooser {
        self.doh = doh;
        self
    }

    pub fn router(&self) -> &Router {
        &self.router
    }

    /// Tries every proxy again: the dead-proxy memory is forgotten (the network changed).
    pub fn forget_dead(&self) -> std::io::Result<()> {
        self.dead.as_ref().map_or(Ok(()), DeadProxies::forget_all)
    }

    /// Routes `url` and, for a list of several entries, finds the first that accepts a
    /// connection. When none does, the first entry is used, so its failure is what is reported.
    pub async fn choose(&self, url: &Url) -> Result<Choice, RouteError> {
        let choice = self.pick(url).await?;
        self.chosen.lock().unwrap_or_else(|e| e.into_inner()).insert(key(url), choice.entry.clone());
        Ok(choice)
    }

    /// [`choose`](Self::choose) without keeping the answer (`toll serve`, which routes each
    /// request itself and must not grow a table with every URL it is asked for).
    pub async fn pick(&self, url: &Url) -> Result<Choice, RouteError> {
        let routed = self.route(url)?;
        let mut dead = Vec::new();
        let (entry, skipped) = if routed.entries.len() <= 1 {
            (routed.entries.first().cloned().unwrap_or(RouteEntry::Direct), Vec::new())
        } else if !self.probe {
            dead = self.dead.as_ref().map(DeadProxies::dead_now).unwrap_or_default();
            (failover::order(&routed.entries, &dead)[0].clone(), Vec::new())
        } else {
            dead = self.dead.as_ref().map(DeadProxies::dead_now).unwrap_or_default();
            let list = failover::order(&routed.entries, &dead);
            let host = url.host_str().unwrap_or("").trim_matches(['[', ']']).to_string();
            let port = url.port_or_known_default().unwrap_or(80);
            let wait = match self.max_time {
                Some(m) => self.connect_timeout.min((m / list.len() as u32).max(Duration::from_secs(1))),
                None => self.connect_timeout,
            };
            let tried = failover::connect_in_order(
                &list,
                (&host, port),
                wait,
                self.dead.as_ref(),
                self.doh.as_deref(),
            )
            .await;
            let skipped = tried
                .skipped
                .iter()
                .map(|(e, why)| format!("{}: {why}", e.key().unwrap_or_else(|| "DIRECT".into())))
                .collect();
            (tried.used.unwrap_or_else(|| list[0].clone()), skipped)
        };
        // The dead ones the list put before the entry used: passed over, not tried.
        let used_at = routed.entries.iter().position(|e| *e == entry).unwrap_or(0);
        let passed_over = routed.entries[..used_at]
            .iter()
            .filter_map(RouteEntry::key)
            .filter(|k| dead.contains(k))
            .collect();
        Ok(Choice { entry, routed, skipped, passed_over })
    }

    /// The router's list for `url`. A PAC is evaluated off the async worker: its script may run
    /// up to its deadline and `dnsResolve` may wait seconds for DNS, and `toll serve` runs every
    /// connection on one worker. Fixed settings answer at once, so they stay on it (moving the
    /// worker costs a thread hand-off). A current-thread runtime (tests) cannot move.
    fn route(&self, url: &Url) -> Result<Routed, RouteError> {
        let movable = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        if movable && self.router.plan().pac().is_some() {
            tokio::task::block_in_place(|| self.router.route(url))
        } else {
            self.router.route(url)
        }
    }

    /// Fixed settings only (one proxy or none per URL: nothing to fail over).
    pub fn fixed(settings: crate::proxy_env::ProxySettings) -> Chooser {
        Chooser::new(Router::fixed(settings, "-x or the *_proxy variables"), None, None)
    }

    /// What [`choose`](Self::choose) decided for `url`'s origin (reqwest asks with the origin
    /// only, `http://host:port/`, for every connection it makes); a URL not chosen before gets
    /// the first entry of its route.
    pub fn chosen(&self, url: &Url) -> Option<RouteEntry> {
        if let Some(e) = self.chosen.lock().unwrap_or_else(|e| e.into_inner()).get(&key(url)) {
            return Some(e.clone());
        }
        self.router.route(url).ok().and_then(|r| r.entries.into_iter().next())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy_env::ProxySettings;
    use crate::route::pac_fetch::PacLocation;
    use crate::route::sources::How;
    use crate::route::PacEvaluator;
    use std::sync::{mpsc, Arc};
    use std::time::Instant;

    /// A PAC whose answer takes a while, as one whose `dnsResolve` waits for DNS does; says
    /// when it has started.
    struct SlowPac(Duration, Mutex<mpsc::Sender<()>>);

    impl PacEvaluator for SlowPac {
        fn evaluate(&self, _: &Url) -> Result<Vec<RouteEntry>, RouteError> {
            let _ = self.1.lock().unwrap().send(());
            std::thread::sleep(self.0);
            Ok(vec![RouteEntry::Direct])
        }
    }

    #[test]
    fn a_slow_pac_does_not_hold_up_the_only_worker() {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let mut plan = Router::fixed(ProxySettings::new(None, None, &|_| None), "test").plan().clone();
        plan.how = How::Pac(PacLocation::Path("/slow.pac".into()));
        let (started, evaluating) = mpsc::channel();
        let pac: Arc<dyn PacEvaluator> = Arc::new(SlowPac(Duration::from_millis(800), Mutex::new(started)));
        let chooser = Arc::new(Chooser::new(Router::new(plan, Some(pac)).unwrap(), None, None));
        rt.block_on(async {
            let c = chooser.clone();
            let picking =
                tokio::spawn(
                    async move { c.pick(&Url::parse("http://a.test/").unwrap()).await.map(|c| c.entry) },
                );
            // block_on's thread is not a worker: waiting here leaves the worker to the pick.
            evaluating.recv_timeout(Duration::from_secs(5)).expect("the PAC is evaluated");
            let t0 = Instant::now();
            assert_eq!(tokio::spawn(async { 42 }).await.unwrap(), 42);
            let waited = t0.elapsed();
            assert!(waited < Duration::from_millis(400), "another task waited {waited:?} for the PAC");
            assert!(matches!(picking.await.unwrap(), Ok(RouteEntry::Direct)));
        });
    }
}
