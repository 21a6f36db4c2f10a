//! WPAD (Web Proxy Auto-Discovery) through DNS, opt-in only (`--wpad`, `wpad = on`).
//!
//! The candidates are `http://wpad.<domain>/wpad.dat` for the DNS search domain and each parent
//! of it, most specific first, but never above the organisation's domain: a name must keep at
//! least two labels, and three under the multi-label public suffixes of [`MULTI_LABEL_SUFFIXES`]
//! (`co.uk`, `com.au`, …). Without that limit `wpad.co.uk` — anybody's host — would be asked for
//! the proxy of every machine in `.co.uk` (the classic WPAD hijack). The list is small and built
//! in: a search domain under a multi-label suffix it does not know stops at two labels, which is
//! the public suffix itself; the README says so. The first candidate whose host name resolves
//! (through an injected [`Resolver`]) is the PAC URL. DHCP option 252 is not used.

use std::path::Path;
use std::time::Duration;

/// Public suffixes with two labels under which organisations register names. Not the whole
/// Public Suffix List: the common ones, so that `wpad.co.uk` and friends are never asked.
pub const MULTI_LABEL_SUFFIXES: &[&str] = &[
    "co.uk", "org.uk", "ac.uk", "gov.uk", "ltd.uk", "plc.uk", "me.uk", "net.uk", "nhs.uk", "sch.uk",
    "com.au", "net.au", "org.au", "edu.au", "gov.au", "asn.au", "id.au", "co.nz", "org.nz", "net.nz",
    "ac.nz", "govt.nz", "co.jp", "ne.jp", "or.jp", "ac.jp", "go.jp", "co.kr", "or.kr", "ac.kr", "com.br",
    "net.br", "org.br", "gov.br", "com.cn", "net.cn", "org.cn", "gov.cn", "edu.cn", "com.hk", "org.hk",
    "com.tw", "org.tw", "com.sg", "edu.sg", "com.my", "co.in", "net.in", "org.in", "ac.in", "co.za",
    "org.za", "ac.za", "gov.za", "com.mx", "org.mx", "com.ar", "com.tr", "org.tr", "co.il", "org.il",
    "ac.il", "co.id", "or.id", "ac.id", "com.ph", "com.pk", "com.sa", "com.eg", "com.ua", "co.th", "ac.th",
    "in.th", "com.vn", "com.co", "com.pe", "com.ve", "co.ke", "com.ng", "gv.at", "co.at", "or.at", "ac.at",
];

/// Answers "does this host name resolve?" — the real DNS in use, a table in tests.
pub trait Resolver {
    fn resolves(&self, host: &str) -> bool;
}

/// The system resolver, with a time limit (a lookup that hangs counts as "no").
pub struct SystemResolver {
    pub timeout: Duration,
}

impl Resolver for SystemResolver {
    fn resolves(&self, host: &str) -> bool {
        use std::net::ToSocketAddrs;
        let (tx, rx) = std::sync::mpsc::channel();
        let name = format!("{host}:80");
        std::thread::spawn(move || {
            let _ = tx.send(name.to_socket_addrs().map(|mut a| a.next().is_some()).unwrap_or(false));
        });
        rx.recv_timeout(self.timeout).unwrap_or(false)
    }
}

/// `--doh-url`'s resolver: each candidate is asked of the DoH server, with a time limit (the
/// system's resolver is never asked).
pub struct DohResolver {
    pub doh: std::sync::Arc<crate::doh::Doh>,
    /// Drives the lookups; WPAD is asked from inside the runtime, which may not wait on itself.
    pub rt: tokio::runtime::Handle,
    pub timeout: Duration,
}

impl Resolver for DohResolver {
    fn resolves(&self, host: &str) -> bool {
        self.doh.probe_blocking(&self.rt, host, self.timeout).is_some()
    }
}

/// The search domains of a `resolv.conf`: the last `search` or `domain` line wins, as in the
/// resolver itself. Lower-cased, without trailing dots.
pub fn search_domains(resolv_conf: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in resolv_conf.lines() {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("search") | Some("domain") => {
                found = words
                    .map(|w| w.trim_end_matches('.').to_ascii_lowercase())
                    .filter(|w| !w.is_empty())
                    .collect();
            }
            _ => {}
        }
    }
    found
}

/// The fewest labels a WPAD domain may have under `domain`'s suffix.
fn min_labels(domain: &str) -> usize {
    let labels: Vec<&str> = domain.split('.').collect();
    let suffix2 = labels[labels.len().saturating_sub(2)..].join(".");
    if labels.len() >= 2 && MULTI_LABEL_SUFFIXES.contains(&suffix2.as_str()) {
        3
    } else {
        2
    }
}

/// `http://wpad.<d>/wpad.dat` for `domain` and its parents, most specific first, stopping at
/// the organisation's domain.
pub fn candidates(domain: &str) -> Vec<String> {
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    let valid = |l: &str| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let labels: Vec<&str> = domain.split('.').collect();
    if !labels.iter().all(|l| valid(l)) {
        return Vec::new();
    }
    let min = min_labels(&domain);
    (0..labels.len())
        .take_while(|i| labels.len() - i >= min)
        .map(|i| format!("http://wpad.{}/wpad.dat", labels[i..].join(".")))
        .collect()
}

/// What discovery found, and every name it tried (for `-v` and `toll doctor`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Discovery {
    pub pac_url: Option<String>,
    pub tried: Vec<String>,
    pub domains: Vec<String>,
}

/// Runs discovery: the search domains from `resolv_conf` (a path; unreadable means none), the
/// candidates of each in order (duplicates once), the first that `resolver` resolves.
pub fn discover(resolv_conf: &Path, resolver: &dyn Resolver) -> Discovery {
    let domains = std::fs::read_to_string(resolv_conf).map(|t| search_domains(&t)).unwrap_or_default();
    let mut tried: Vec<String> = Vec::new();
    for d in &domains {
        for url in candidates(d) {
            if tried.contains(&url) {
                continue;
            }
            tried.push(url.clone());
            let host = url.trim_start_matches("http://").split('/').next().unwrap_or("");
            if resolver.resolves(host) {
                return Discovery { pac_url: Some(url), tried, domains };
            }
        }
    }
    Discovery { pac_url: None, tried, domains }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    struct Table(HashSet<&'static str>);
    impl Resolver for Table {
        fn resolves(&self, host: &str) -> bool {
            self.0.contains(host)
        }
    }

    #[test]
    fn walks_up_but_never_above_the_organisation() {
        assert_eq!(
            candidates("Dept.Site.Corp.Example."),
            [
                "http://wpad.dept.site.corp.example/wpad.dat",
                "http://wpad.site.corp.example/wpad.dat",
                "http://wpad.corp.example/wpad.dat",
            ]
        );
        assert_eq!(
            candidates("eng.acme.co.uk"),
            ["http://wpad.eng.acme.co.uk/wpad.dat", "http://wpad.acme.co.uk/wpad.dat"]
        );
        assert_eq!(candidates("acme.com.au"), ["http://wpad.acme.com.au/wpad.dat"]);
        assert!(candidates("co.uk").is_empty());
        assert!(candidates("localdomain").is_empty());
        assert!(candidates("bad_label.example").is_empty());
    }

    #[test]
    fn the_system_resolver_answers_for_localhost() {
        // The only name a test may resolve for real (everything else uses a table).
        assert!(SystemResolver { timeout: Duration::from_secs(5) }.resolves("localhost"));
    }

    #[test]
    fn resolv_conf_last_search_or_domain_line_wins() {
        assert_eq!(
            search_domains("domain old.example\nsearch a.corp.example b.example.\n"),
            ["a.corp.example", "b.example"]
        );
        assert_eq!(
            search_domains("search a.example\ndomain Last.Example\nnameserver 1.1.1.1\n"),
            ["last.example"]
        );
        assert!(search_domains("nameserver 127.0.0.53\n").is_empty());
    }

    #[test]
    fn discovery_uses_the_first_name_that_resolves() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("resolv.conf");
        std::fs::write(&conf, "search eng.corp.example corp.example\n").unwrap();
        let found = discover(&conf, &Table(HashSet::from(["wpad.corp.example", "wpad.other.example"])));
        assert_eq!(found.pac_url.as_deref(), Some("http://wpad.corp.example/wpad.dat"));
        assert_eq!(
            found.tried,
            ["http://wpad.eng.corp.example/wpad.dat", "http://wpad.corp.example/wpad.dat"]
        );
        let none = discover(&conf, &Table(HashSet::new()));
        assert_eq!(none.pac_url, None);
        // corp.example's candidate is tried once although both search domains lead to it.
        assert_eq!(none.tried.len(), 2);
        assert_eq!(discover(&dir.path().join("missing"), &Table(HashSet::new())).tried.len(), 0);
    }
}
