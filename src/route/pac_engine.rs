//! The sandboxed PAC engine (`toll_pac`) as route asks it: a compiled script, evaluated per
//! URL with what a transfer may show a PAC, its entries turned into [`RouteEntry`]s. Its DNS
//! helpers (`dnsResolve`, `isResolvable`, `isInNet`, …) ask the system's resolver, or with
//! `--doh-url` the DoH server, as every other name toll resolves.
//!
//! One script answers one URL at a time, and a `dnsResolve` may wait seconds for DNS: so that
//! one slow evaluation does not hold up every client of `toll serve`, up to [`MAX_SCRIPTS`]
//! copies of the script answer at once, each started from the same source (from its compiled
//! code, so a copy costs little) only when all the others are busy.
//!
//! A script keeps its globals from one URL to the next, so a PAC that keeps something per URL
//! (a cache of look-ups, say) grows for as long as `toll serve` runs. When an evaluation runs
//! out of memory, the script is started afresh from its source (its top level runs again) and
//! asked once more, as browsers restart their PAC resolver: without that, every later URL
//! would fail the same way until a restart.

use super::{PacEvaluator, RouteEntry, RouteError};
use crate::pac::{
    Limits, Now, PacArgs, PacEnv, PacError, PacErrorKind, ProxyEntry, ProxyKind, Script, SystemEnv, UrlMode,
};
use std::net::IpAddr;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;
use url::Url;

/// The system resolver's time limit per name inside the PAC's DNS helpers.
const DNS_TIMEOUT: Duration = Duration::from_secs(2);

/// At most this many copies of the script answer at once.
const MAX_SCRIPTS: usize = 4;

pub struct PacEngine {
    /// The scripts not answering now, and how many there are in all.
    pool: Mutex<Pool>,
    /// Signalled when a script comes back to the pool (or one could not be made).
    returned: Condvar,
    /// What a fresh script is made from: the source and, once known, its compiled code.
    source: String,
    code: Mutex<Option<Vec<u8>>>,
    env: Arc<dyn PacEnv>,
    limits: Limits,
    /// Where the PAC came from (a path or URL without userinfo), for messages and origins.
    name: String,
}

struct Pool {
    idle: Vec<Script>,
    made: usize,
}

impl PacEngine {
    /// Compiles `source` (runs its top level) in the sandbox with the default limits.
    pub fn compile(source: &str, name: &str) -> Result<PacEngine, RouteError> {
        PacEngine::compile_with(source, name, Limits::default())
    }

    fn compile_with(source: &str, name: &str, limits: Limits) -> Result<PacEngine, RouteError> {
        let env: Arc<dyn PacEnv> = Arc::new(SystemEnv::new(DNS_TIMEOUT));
        let (script, code) =
            Script::compile_cached(source, name, limits, env.clone(), None).map_err(|e| pac_error(&e))?;
        Ok(PacEngine::new(script, code, source, name, env, limits))
    }

    fn new(
        script: Script,
        code: Option<Vec<u8>>,
        source: &str,
        name: &str,
        env: Arc<dyn PacEnv>,
        limits: Limits,
    ) -> PacEngine {
        PacEngine {
            pool: Mutex::new(Pool { idle: vec![script], made: 1 }),
            returned: Condvar::new(),
            source: source.to_string(),
            code: Mutex::new(code),
            env,
            limits,
            name: name.to_string(),
        }
    }

    /// [`PacEngine::compile`] with a code cache: `code` is what an earlier call returned for
    /// this PAC, used only if it belongs to exactly this source (else the source is compiled);
    /// the second value is new code to keep, when the source was compiled.
    pub fn compile_cached(
        source: &str,
        name: &str,
        code: Option<&[u8]>,
        doh: Option<Arc<crate::doh::Doh>>,
    ) -> Result<(PacEngine, Option<Vec<u8>>), RouteError> {
        let system = SystemEnv::new(DNS_TIMEOUT);
        let env: Arc<dyn PacEnv> = match (doh, tokio::runtime::Handle::try_current()) {
            (Some(doh), Ok(rt)) => Arc::new(DohEnv { system, doh, rt }),
            _ => Arc::new(system),
        };
        let limits = Limits::default();
        let (script, written) =
            Script::compile_cached(source, name, limits, env.clone(), code).map_err(|e| pac_error(&e))?;
        // The code copies start from: the new code, else the code given (it was used).
        let kept = written.clone().or_else(|| code.map(<[u8]>::to_vec));
        Ok((PacEngine::new(script, kept, source, name, env, limits), written))
    }

    fn lock(&self) -> MutexGuard<'_, Pool> {
        self.pool.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A script to answer with: an idle one, else a new copy while there are fewer than
    /// [`MAX_SCRIPTS`], else the first one to come back.
    fn take(&self) -> Result<Script, PacError> {
        let mut pool = self.lock();
        loop {
            if let Some(script) = pool.idle.pop() {
                return Ok(script);
            }
            if pool.made < MAX_SCRIPTS {
                pool.made += 1;
                drop(pool);
                return self.fresh();
            }
            pool = self.returned.wait(pool).unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    }

    /// A new copy of the script (counted in the pool already); when it cannot be made, the
    /// count goes back and a waiting evaluation tries itself.
    fn fresh(&self) -> Result<Script, PacError> {
        let code = self.code.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        match Script::compile_cached(&self.source, &self.name, self.limits, self.env.clone(), code.as_deref())
        {
            Ok((script, written)) => {
                if written.is_some() {
                    *self.code.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = written;
                }
                Ok(script)
            }
            Err(e) => {
                self.lock().made -= 1;
                self.returned.notify_one();
                Err(e)
            }
        }
    }

    fn give_back(&self, script: Script) {
        self.lock().idle.push(script);
        self.returned.notify_one();
    }

    /// The script's answer for `url`; after running out of memory, a fresh script's.
    fn answer(&self, args: &PacArgs) -> Result<crate::pac::Answer, PacError> {
        let mut lent = Lent { engine: self, script: Some(self.take()?) };
        let answer = lent.script.as_ref().map(|s| s.evaluate(args)).expect("lent");
        match answer {
            Err(e) if e.kind == PacErrorKind::Memory => {
                // The old runtime's memory goes before the fresh one's is taken.
                drop(lent.script.take());
                self.lock().made -= 1;
                let mut lent = Lent { engine: self, script: Some(self.take()?) };
                let answer = lent.script.as_ref().map(|s| s.evaluate(args)).expect("lent");
                lent.give_back();
                answer
            }
            answer => {
                lent.give_back();
                answer
            }
        }
    }
}

/// A script taken from the pool: given back after its answer; one lost to a panic is no longer
/// counted, so the others do not wait for it forever.
struct Lent<'a> {
    engine: &'a PacEngine,
    script: Option<Script>,
}

impl Lent<'_> {
    fn give_back(&mut self) {
        if let Some(script) = self.script.take() {
            self.engine.give_back(script);
        }
    }
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        if self.script.take().is_some() {
            self.engine.lock().made -= 1;
            self.engine.returned.notify_one();
        }
    }
}

/// The engine's error names the PAC and the line itself.
fn pac_error(e: &PacError) -> RouteError {
    RouteError::Pac { message: e.to_string() }
}

/// The PAC's world with names looked up through `--doh-url`'s server (the rest is the system's).
struct DohEnv {
    system: SystemEnv,
    doh: Arc<crate::doh::Doh>,
    rt: tokio::runtime::Handle,
}

impl PacEnv for DohEnv {
    /// The DoH lookup (cached for the run, shared with the transfer's) within the PAC's DNS time
    /// limit. The PAC runs on a thread that may not wait on the runtime itself, so the lookup is
    /// waited for on a thread of its own, as the system resolver's getaddrinfo is.
    fn resolve(&self, host: &str) -> Option<Vec<IpAddr>> {
        self.doh.probe_blocking(&self.rt, host, DNS_TIMEOUT)
    }

    fn my_ip_addresses(&self) -> Vec<IpAddr> {
        self.system.my_ip_addresses()
    }

    fn now(&self) -> Now {
        self.system.now()
    }

    fn alert(&self, message: &str) {
        self.system.alert(message)
    }
}

/// A PAC entry as a route entry: `SOCKS5` is `socks5h` (the proxy resolves names, as Chrome
/// does), `SOCKS`/`SOCKS4` is `socks4`.
fn entry(e: &ProxyEntry, origin: &str) -> RouteEntry {
    match e {
        ProxyEntry::Direct => RouteEntry::Direct,
        ProxyEntry::Proxy { kind, host, port } => {
            let scheme = match kind {
                ProxyKind::Socks5 => "socks5h",
                other => other.scheme(),
            };
            RouteEntry::proxy(scheme, host, *port, origin)
        }
    }
}

impl PacEvaluator for PacEngine {
    fn evaluate(&self, url: &Url) -> Result<Vec<RouteEntry>, RouteError> {
        let answer = self.answer(&PacArgs::new(url, UrlMode::Transfer)).map_err(|e| pac_error(&e))?;
        let origin = format!("PAC {}", self.name);
        Ok(answer.entries.iter().map(|e| entry(e, &origin)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pac_entries_map_to_proxy_schemes_as_browsers_read_them() {
        use crate::pac::{ProxyEntry, ProxyKind};
        let e = |kind, host: &str| {
            entry(&ProxyEntry::Proxy { kind, host: host.into(), port: 1080 }, "PAC t").to_string()
        };
        assert_eq!(e(ProxyKind::Http, "P.example"), "http://p.example:1080");
        assert_eq!(e(ProxyKind::Https, "p.example"), "https://p.example:1080");
        assert_eq!(e(ProxyKind::Socks4, "p.example"), "socks4://p.example:1080");
        // SOCKS5: the proxy resolves names, as Chrome has it.
        assert_eq!(e(ProxyKind::Socks5, "p.example"), "socks5h://p.example:1080");
        assert_eq!(e(ProxyKind::Http, "::1"), "http://[::1]:1080");
        assert_eq!(entry(&ProxyEntry::Direct, "PAC t"), RouteEntry::Direct);
    }

    #[test]
    fn a_pac_answer_becomes_an_ordered_route() {
        let pac = PacEngine::compile(
            "function FindProxyForURL(url, host) {\n\
               if (shExpMatch(url, 'https://*/')) return 'HTTPS tls.corp:443; SOCKS5 s.corp:1080; DIRECT';\n\
               return 'PROXY a.corp:8080; PROXY b.corp:8080';\n}",
            "test.pac",
        )
        .unwrap();
        let list = pac.evaluate(&Url::parse("https://example.com/").unwrap()).unwrap();
        let keys: Vec<_> = list.iter().map(|e| e.key()).collect();
        assert_eq!(keys, [Some("https://tls.corp:443".into()), Some("socks5h://s.corp:1080".into()), None]);
        let list = pac.evaluate(&Url::parse("http://example.com/x").unwrap()).unwrap();
        assert_eq!(list.len(), 2);
        match &list[0] {
            RouteEntry::Proxy(p) => assert_eq!(p.origin, "PAC test.pac"),
            other => panic!("{other:?}"),
        }
    }

    /// A PAC that keeps 1 MiB per URL runs out of its 16 MiB after a dozen: started afresh, it
    /// answers every URL, its top level run again; one that needs more than the limit for a
    /// single URL still fails, after one fresh try.
    #[test]
    fn a_pac_that_keeps_growing_is_started_afresh() {
        let limits = Limits { memory: 16 << 20, ..Limits::default() };
        let source = "var kept = [];\n\
                      function FindProxyForURL(url, host) {\n\
                        if (host == 'huge') return 'x'.repeat(32 << 20);\n\
                        kept.push('x'.repeat(1 << 20) + kept.length);\n\
                        return 'PROXY p' + kept.length + '.corp:8080';\n}";
        let pac = PacEngine::compile_with(source, "growing.pac", limits).unwrap();
        let url = Url::parse("http://example.com/").unwrap();
        let mut restarts = 0;
        let mut last = 0;
        for _ in 0..40 {
            let list = pac.evaluate(&url).unwrap();
            let Some(RouteEntry::Proxy(p)) = list.first() else { panic!("{list:?}") };
            let n: usize = p.host.trim_start_matches('p').trim_end_matches(".corp").parse().unwrap();
            if n < last {
                assert_eq!(n, 1, "a fresh script starts with nothing kept");
                restarts += 1;
            }
            last = n;
        }
        assert!(restarts >= 2, "{restarts}");
        let e = pac.evaluate(&Url::parse("http://huge/").unwrap()).unwrap_err();
        assert!(e.to_string().contains("out of memory (the limit is 16 MiB)"), "{e}");
        assert_eq!(pac.evaluate(&url).unwrap().len(), 1, "still answering");
    }

    /// One evaluation that takes long (a `dnsResolve` waiting for DNS) does not hold up the
    /// next URL: another copy of the script answers it (review W: `toll serve` queued every
    /// client behind one slow evaluation).
    #[test]
    fn a_slow_evaluation_does_not_hold_up_another() {
        let pac = Arc::new(
            PacEngine::compile(
                "function FindProxyForURL(url, host) {\n\
                   if (host == 'slow') { var t = Date.now(); while (Date.now() - t < 1500) {} }\n\
                   return 'PROXY ' + host + '.corp:8080';\n}",
                "slow.pac",
            )
            .unwrap(),
        );
        let p = pac.clone();
        let slow = std::thread::spawn(move || p.evaluate(&Url::parse("http://slow/").unwrap()));
        std::thread::sleep(Duration::from_millis(200));
        let started = std::time::Instant::now();
        let list = pac.evaluate(&Url::parse("http://fast/").unwrap()).unwrap();
        assert!(started.elapsed() < Duration::from_millis(1000), "waited {:?}", started.elapsed());
        assert_eq!(list[0].key().as_deref(), Some("http://fast.corp:8080"));
        assert_eq!(slow.join().unwrap().unwrap()[0].key().as_deref(), Some("http://slow.corp:8080"));
        assert_eq!(pac.lock().made, 2, "a copy only when needed");
    }

    #[test]
    fn script_errors_name_the_pac() {
        let e = PacEngine::compile("function FindProxyForURL(url, host) { return 1 +; }", "bad.pac")
            .err()
            .unwrap();
        assert!(e.to_string().starts_with("PAC bad.pac"), "{e}");
    }
}
