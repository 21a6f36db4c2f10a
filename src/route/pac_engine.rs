//! The sandboxed PAC engine (`toll_pac`) as route asks it: one compiled script, evaluated per
//! URL with what a transfer may show a PAC, its entries turned into [`RouteEntry`]s. Its DNS
//! helpers (`dnsResolve`, `isResolvable`, `isInNet`, …) ask the system's resolver, or with
//! `--doh-url` the DoH server, as every other name toll resolves.

use super::{PacEvaluator, RouteEntry, RouteError};
use crate::pac::{Limits, Now, PacArgs, PacEnv, ProxyEntry, ProxyKind, Script, SystemEnv, UrlMode};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// The system resolver's time limit per name inside the PAC's DNS helpers.
const DNS_TIMEOUT: Duration = Duration::from_secs(2);

pub struct PacEngine {
    script: Script,
    /// Where the PAC came from (a path or URL without userinfo), for messages and origins.
    name: String,
}

impl PacEngine {
    /// Compiles `source` (runs its top level) in the sandbox with the default limits.
    pub fn compile(source: &str, name: &str) -> Result<PacEngine, RouteError> {
        let env = Arc::new(SystemEnv::new(DNS_TIMEOUT));
        let script = Script::compile(source, name, Limits::default(), env)
            .map_err(|e| RouteError::Pac { pac: name.to_string(), message: e.to_string() })?;
        Ok(PacEngine { script, name: name.to_string() })
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
        let (script, code) = Script::compile_cached(source, name, Limits::default(), env, code)
            .map_err(|e| RouteError::Pac { pac: name.to_string(), message: e.to_string() })?;
        Ok((PacEngine { script, name: name.to_string() }, code))
    }
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
        let answer = self
            .script
            .evaluate(&PacArgs::new(url, UrlMode::Transfer))
            .map_err(|e| RouteError::Pac { pac: self.name.clone(), message: e.to_string() })?;
        let origin = format!("PAC {}", self.name);
        Ok(answer.entries.iter().map(|e| entry(e, &origin)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn script_errors_name_the_pac() {
        let e = PacEngine::compile("function FindProxyForURL(url, host) { return 1 +; }", "bad.pac")
            .err()
            .unwrap();
        assert!(e.to_string().starts_with("PAC bad.pac"), "{e}");
    }
}
