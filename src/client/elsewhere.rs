//! Where a request's connection goes instead of its URL's host and port, and who makes it:
//! `--connect-to` rules and `--resolve` rules, as curl 7.88 follows them. reqwest can only send
//! a host name to another address on the same port, for one address per name (its resolver
//! overrides, made once for the session's first URL and owned here by [`Overridden`], which
//! gives them to reqwest); any other rule — another port, a host given by name, a
//! later URL's host, another port's `--resolve` address, a tunnel through an HTTP proxy whose
//! CONNECT must name the rule's target — is followed by toll's own path
//! (`tunnel::Direct::execute_to`), the one that also takes Alt-Svc alternatives; and where an
//! override would send a request no rule is for, that path looks its host up. The session asks
//! [`connect_to_target`] and [`resolve_target`] for each hop.

use crate::config::{ConnConfig, RequestConfig};
use crate::error::{Error, Exit, Result};
use crate::route::RouteEntry;
use crate::term::sanitize;
use std::net::{IpAddr, SocketAddr};

/// The `--connect-to` rule for a connection to `url`'s host and port, as curl 7.88 picks it:
/// the first rule whose HOST1 and PORT1 match (empty ones match anything) and that gives a
/// HOST2 or a PORT2. Returns where to connect: the host (lower case, an IPv6 address without
/// brackets) and the port — perhaps the URL's own, which still keeps the connection from an
/// Alt-Svc alternative.
pub fn connect_to_rule(c: &ConnConfig, url: &url::Url) -> Option<(String, u16)> {
    let (host, port) = (url.host_str()?, url.port_or_known_default()?);
    let host = host.trim_matches(['[', ']']).to_ascii_lowercase();
    c.connect_to.iter().find_map(|rule| {
        let matches =
            rule.from_host.as_deref().is_none_or(|h| h == host) && rule.from_port.is_none_or(|p| p == port);
        let gives = rule.to_host.is_some() || rule.to_port.is_some();
        let to = (rule.to_host.clone().unwrap_or_else(|| host.clone()), rule.to_port.unwrap_or(port));
        (matches && gives).then_some(to)
    })
}

/// A rule's target that is where `url` goes anyway.
fn unmoved(url: &url::Url, to: &(String, u16)) -> bool {
    let host = url.host_str().map(|h| h.trim_matches(['[', ']']).to_ascii_lowercase());
    host.as_deref() == Some(to.0.as_str()) && url.port_or_known_default() == Some(to.1)
}

/// What reqwest can do of a rule: send a host name to another address on the same port (a
/// resolver override), where the rule's host is an address (or `localhost`).
fn override_for(url: &url::Url, to: &(String, u16)) -> Option<IpAddr> {
    let (host, port) = (url.host_str()?, url.port_or_known_default()?);
    if to.1 != port || host.trim_matches(['[', ']']).parse::<IpAddr>().is_ok() {
        return None;
    }
    match to.0.as_str() {
        "localhost" => Some(IpAddr::from([127, 0, 0, 1])),
        t => t.parse().ok(),
    }
}

/// What reqwest's resolver does by name: the address each overridden host name goes to (on
/// the URL's own port), from the session's first URL's `--resolve` and `--connect-to` rules.
/// The one owner of those overrides: [`Overridden::apply`] gives them to reqwest, and each hop
/// is checked against them.
#[derive(Debug, Default)]
pub struct Overridden(Vec<(String, SocketAddr)>);

impl Overridden {
    /// The overrides for `req` (its URL is the session's first): `--resolve`'s, then the
    /// `--connect-to` rule's, which replaces one for the same host. `elsewhere`: a rule reqwest
    /// cannot follow is left to toll's own path, as [`connect_to`] says.
    pub fn of(req: &RequestConfig, elsewhere: bool) -> Result<Overridden> {
        let mut by_name = crate::config::resolve_overrides(&req.curl.resolve, &req.url);
        for (host, addr) in connect_to(req, elsewhere)? {
            by_name.retain(|(h, _)| *h != host);
            by_name.push((host, addr));
        }
        Ok(Overridden(by_name))
    }

    /// Gives reqwest's resolver these overrides.
    pub fn apply(&self, mut b: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
        for (host, addr) in &self.0 {
            b = b.resolve(host, *addr);
        }
        b
    }

    fn get(&self, url: &url::Url) -> Option<IpAddr> {
        let Some(url::Host::Domain(host)) = url.host() else { return None };
        self.0.iter().find(|(h, _)| h.eq_ignore_ascii_case(host)).map(|(_, a)| a.ip())
    }
}

/// Where a request to `url` along `route` connects because of a `--connect-to` rule, when
/// toll's own path must make that connection (`host:port`, an IPv6 address in brackets): a
/// rule reqwest's resolver (`overridden`) does not already follow; through an HTTP proxy, any
/// rule: the request then goes through a tunnel whose CONNECT names it, an http:// one too (as
/// curl 7.88 does). None through SOCKS ([`check_socks`]).
pub fn connect_to_target(
    c: &ConnConfig,
    overridden: &Overridden,
    url: &url::Url,
    route: &RouteEntry,
) -> Option<String> {
    let to = connect_to_rule(c, url)?;
    let own = match route {
        RouteEntry::Proxy(s) => !s.is_socks(),
        RouteEntry::Direct if unmoved(url, &to) => false,
        RouteEntry::Direct => override_for(url, &to).is_none_or(|ip| overridden.get(url) != Some(ip)),
    };
    own.then(|| authority(&to.0, to.1))
}

/// A `--connect-to` rule toll cannot follow through a SOCKS proxy (exit 2, rather than a
/// connection to where the rule said not to go): any but the one reqwest's resolver override
/// does, when the proxy takes addresses (`socks5://`, `socks4://`: the name is resolved here).
pub fn check_socks(
    c: &ConnConfig,
    overridden: &Overridden,
    url: &url::Url,
    route: &RouteEntry,
) -> Result<()> {
    let RouteEntry::Proxy(spec) = route else { return Ok(()) };
    let Some(to) = connect_to_rule(c, url).filter(|to| spec.is_socks() && !unmoved(url, to)) else {
        return Ok(());
    };
    let resolved_here = matches!(spec.scheme.as_str(), "socks5" | "socks4");
    if resolved_here && override_for(url, &to).is_some_and(|ip| overridden.get(url) == Some(ip)) {
        return Ok(());
    }
    Err(Error::new(
        Exit::Usage,
        format!(
            "--connect-to for {}:{}: toll cannot follow this rule through the SOCKS proxy {}",
            sanitize(url.host_str().unwrap_or_default()),
            url.port_or_known_default().unwrap_or(0),
            spec.display_url()
        ),
    )
    .hint("connect directly or through an HTTP proxy, or use --resolve HOST:PORT:ADDRESS with socks5://"))
}

/// `host:port`, an IPv6 address in brackets.
pub(super) fn authority(host: &str, port: u16) -> String {
    match host.contains(':') {
        true => format!("[{host}]:{port}"),
        false => format!("{host}:{port}"),
    }
}

/// Where a direct request to `url` that no `--connect-to` rule is for connects when reqwest's
/// resolver (`overridden`: one address per host name) would send it elsewhere: the address of
/// the last `--resolve` rule for its host and port (`ADDRESS:PORT`), or, when no rule is for
/// this port, `host:port` to be looked up — as curl, whose rules are per port.
pub fn resolve_target(
    rules: &[(String, SocketAddr)],
    overridden: &Overridden,
    url: &url::Url,
    route: &RouteEntry,
) -> Option<String> {
    let (RouteEntry::Direct, Some(url::Host::Domain(host)), Some(port)) =
        (route, url.host(), url.port_or_known_default())
    else {
        return None;
    };
    let host = host.to_ascii_lowercase();
    let rule = rules.iter().rev().find(|(h, a)| h.eq_ignore_ascii_case(&host) && a.port() == port);
    if rule.map(|(_, a)| a.ip()) == overridden.get(url) {
        return None;
    }
    Some(match rule {
        Some((_, a)) => authority(&a.ip().to_string(), port),
        None => authority(&host, port),
    })
}

/// The first URL's `--connect-to` rule as a resolver override for reqwest, when it is one
/// (same port, to an address). Another rule is left to toll's own path when `elsewhere`, and
/// refused otherwise (the options that keep a request on reqwest's path rule it out).
fn connect_to(req: &RequestConfig, elsewhere: bool) -> Result<Vec<(String, SocketAddr)>> {
    let url = &req.url;
    let Some(to) = connect_to_rule(&req.curl.conn, url).filter(|to| !unmoved(url, to)) else {
        return Ok(Vec::new());
    };
    if let Some(ip) = override_for(url, &to) {
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        // Port 0: each request keeps its own URL's port (reqwest would put a port given here in
        // place of a URL's default one, e.g. for a redirect to the other scheme).
        return Ok(vec![(host, SocketAddr::new(ip, 0))]);
    }
    if elsewhere {
        return Ok(Vec::new());
    }
    Err(connect_to_refused(url))
}

/// A `--connect-to` rule for `url` that only toll's own path could follow, in a run whose
/// options keep requests on reqwest's.
pub fn connect_to_refused(url: &url::Url) -> Error {
    let (host, port) = (url.host_str().unwrap_or_default(), url.port_or_known_default().unwrap_or(0));
    Error::new(
        Exit::Usage,
        format!(
            "--connect-to for {}:{port}: with --http1.0, --http2-prior-knowledge, --unix-socket, \
             --trace, TLS version options, --capath, -E, -6 or --interface a rule can only send \
             the first URL's host name to another address on the same port",
            sanitize(host)
        ),
    )
    .hint("drop the option it cannot be combined with, or use --resolve HOST:PORT:ADDRESS")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConnectTo;

    /// The session's overrides for `r`, as with toll's own path at hand.
    fn over(r: &RequestConfig) -> Overridden {
        Overridden::of(r, true).unwrap()
    }

    fn req(url: &str) -> RequestConfig {
        RequestConfig::get(url::Url::parse(url).unwrap())
    }

    #[test]
    fn connect_to_becomes_a_resolve_override_or_a_connection_of_tolls_own() {
        let rule = |f: Option<&str>, fp: Option<u16>, t: Option<&str>, tp: Option<u16>| ConnectTo {
            from_host: f.map(Into::into),
            from_port: fp,
            to_host: t.map(Into::into),
            to_port: tp,
        };
        let mut r = req("http://example.invalid:8080/x");
        // The first rule that matches and gives a host or a port; one that gives neither is
        // passed over, one to the same place is the rule (curl 7.88's loop).
        r.curl.conn.connect_to = vec![
            rule(Some("other"), None, Some("10.0.0.1"), None),
            rule(None, None, None, None),
            rule(Some("example.invalid"), Some(8080), Some("127.0.0.1"), Some(8080)),
            rule(None, None, Some("10.0.0.2"), None),
        ];
        assert_eq!(
            connect_to(&r, false).unwrap(),
            vec![("example.invalid".into(), "127.0.0.1:0".parse().unwrap())]
        );
        assert_eq!(connect_to_target(&r.curl.conn, &over(&r), &r.url, &RouteEntry::Direct), None);
        r.curl.conn.connect_to =
            vec![rule(None, None, None, Some(8080)), rule(None, None, Some("10.0.0.2"), None)];
        assert_eq!(connect_to_rule(&r.curl.conn, &r.url), Some(("example.invalid".into(), 8080)));
        assert!(connect_to(&r, false).unwrap().is_empty());
        assert_eq!(connect_to_target(&r.curl.conn, &over(&r), &r.url, &RouteEntry::Direct), None);
        r.curl.conn.connect_to = vec![rule(None, None, Some("::1"), None)];
        assert_eq!(
            connect_to(&r, false).unwrap(),
            vec![("example.invalid".into(), "[::1]:0".parse().unwrap())]
        );
        // Another port, or a host name: toll's own connection, or refused without one.
        r.curl.conn.connect_to = vec![rule(None, Some(8080), Some("127.0.0.1"), Some(9090))];
        assert!(connect_to(&r, false).unwrap_err().message.contains("same port"));
        assert!(connect_to(&r, true).unwrap().is_empty());
        assert_eq!(
            connect_to_target(&r.curl.conn, &over(&r), &r.url, &RouteEntry::Direct).as_deref(),
            Some("127.0.0.1:9090")
        );
        r.curl.conn.connect_to = vec![rule(None, None, Some("name.example"), None)];
        assert!(connect_to(&r, false).is_err());
        assert_eq!(
            connect_to_target(&r.curl.conn, &over(&r), &r.url, &RouteEntry::Direct).as_deref(),
            Some("name.example:8080")
        );
        r.curl.conn.connect_to = vec![rule(None, None, Some("::1"), Some(1))];
        assert_eq!(
            connect_to_target(&r.curl.conn, &over(&r), &r.url, &RouteEntry::Direct).as_deref(),
            Some("[::1]:1")
        );
        r.curl.conn.connect_to = vec![rule(None, Some(1), Some("10.0.0.1"), None)];
        assert!(connect_to(&r, false).unwrap().is_empty(), "another port: the rule does not apply");
        let mut lit = req("http://127.0.0.1:80/");
        lit.curl.conn.connect_to = vec![rule(None, None, Some("10.0.0.1"), None)];
        assert!(connect_to(&lit, false).is_err());
        assert_eq!(
            connect_to_target(&lit.curl.conn, &over(&lit), &lit.url, &RouteEntry::Direct).as_deref(),
            Some("10.0.0.1:80")
        );
        // Through an HTTP proxy: a tunnel that names the rule's target, for http:// URLs too.
        let proxy = RouteEntry::Proxy(crate::config::ProxySpec::test_http("127.0.0.1"));
        let mut tls = req("https://example.invalid/");
        tls.curl.conn.connect_to = vec![rule(None, None, Some("127.0.0.2"), None)];
        assert_eq!(
            connect_to_target(&tls.curl.conn, &over(&tls), &tls.url, &proxy).as_deref(),
            Some("127.0.0.2:443")
        );
        assert_eq!(
            connect_to_target(&tls.curl.conn, &over(&tls), &tls.url, &RouteEntry::Direct),
            None,
            "reqwest's override"
        );
        let other = url::Url::parse("https://elsewhere.invalid/").unwrap();
        assert_eq!(
            connect_to_target(&tls.curl.conn, &over(&tls), &other, &RouteEntry::Direct).as_deref(),
            Some("127.0.0.2:443")
        );
        r.curl.conn.connect_to = vec![rule(None, None, Some("127.0.0.2"), None)];
        assert_eq!(
            connect_to_target(&r.curl.conn, &over(&r), &r.url, &proxy).as_deref(),
            Some("127.0.0.2:8080")
        );
        let socks = RouteEntry::Proxy(crate::config::ProxySpec {
            scheme: "socks5h".into(),
            ..crate::config::ProxySpec::test_http("127.0.0.1")
        });
        assert_eq!(connect_to_target(&r.curl.conn, &over(&r), &r.url, &socks), None);
        // Through SOCKS only reqwest's override is followed, where the name is resolved here.
        assert!(check_socks(&r.curl.conn, &over(&r), &r.url, &socks).is_err(), "socks5h: the proxy resolves");
        let local = RouteEntry::Proxy(crate::config::ProxySpec {
            scheme: "socks5".into(),
            ..crate::config::ProxySpec::test_http("127.0.0.1")
        });
        assert!(check_socks(&r.curl.conn, &over(&r), &r.url, &local).is_ok());
        let other = url::Url::parse("http://other.invalid:8080/").unwrap();
        assert!(check_socks(&r.curl.conn, &over(&r), &other, &local).is_err(), "not the first URL's host");
        r.curl.conn.connect_to = vec![rule(None, None, None, Some(1))];
        assert!(check_socks(&r.curl.conn, &over(&r), &r.url, &local).is_err(), "another port");
        assert!(
            check_socks(&r.curl.conn, &over(&r), &r.url, &proxy).is_ok(),
            "an HTTP proxy's tunnel follows it"
        );
    }

    #[test]
    fn resolve_rules_reqwest_cannot_hold_are_followed_per_port() {
        let rule = |h: &str, port: u16, ip: &str| (h.to_string(), SocketAddr::new(ip.parse().unwrap(), port));
        let u = |s: &str| url::Url::parse(s).unwrap();
        let with = |rules: &[(String, SocketAddr)], first: &str| {
            let mut r = req(first);
            r.curl.resolve = rules.to_vec();
            over(&r)
        };
        let at = |rules: &[(String, SocketAddr)], first: &str, url: &str| {
            resolve_target(rules, &with(rules, first), &u(url), &RouteEntry::Direct)
        };
        let two = [rule("h.test", 80, "10.0.0.1"), rule("h.test", 443, "10.0.0.2")];
        // reqwest holds the first URL's port's rule: that port needs nothing more.
        assert_eq!(at(&two, "http://h.test/", "http://h.test/x"), None);
        assert_eq!(at(&two, "http://h.test/", "https://h.test/").as_deref(), Some("10.0.0.2:443"));
        assert_eq!(at(&two, "https://h.test/", "http://h.test/").as_deref(), Some("10.0.0.1:80"));
        // A port no rule is for: looked up, not sent to another port's address.
        assert_eq!(at(&two, "http://h.test/", "http://h.test:8080/").as_deref(), Some("h.test:8080"));
        // The last rule for a host and port wins (reqwest's override too, here); another port's
        // rule given last is the override, not this port's address.
        let again = [rule("h.test", 80, "10.0.0.1"), rule("H.test", 80, "::1")];
        assert_eq!(at(&again, "http://other.test/", "http://h.test/"), None);
        assert_eq!(at(&two, "http://other.test/", "http://h.test/").as_deref(), Some("10.0.0.1:80"));
        let v6 = [rule("h.test", 80, "::1"), rule("h.test", 443, "10.0.0.2")];
        assert_eq!(at(&v6, "https://h.test/", "http://h.test/").as_deref(), Some("[::1]:80"));
        assert_eq!(at(&two, "http://h.test/", "http://other.test/"), None);
        assert_eq!(at(&two, "http://h.test/", "http://10.0.0.9/"), None);
        let proxy = RouteEntry::Proxy(crate::config::ProxySpec::test_http("127.0.0.1"));
        assert_eq!(resolve_target(&two, &with(&two, "http://h.test/"), &u("https://h.test/"), &proxy), None);
        // A --connect-to override of the first URL's host, on a port its rule is not for.
        let mut first = req("http://h.test/");
        first.curl.conn.connect_to = vec![ConnectTo {
            from_host: None,
            from_port: Some(80),
            to_host: Some("10.0.0.3".into()),
            to_port: None,
        }];
        let overridden = over(&first);
        assert_eq!(connect_to_target(&first.curl.conn, &overridden, &first.url, &RouteEntry::Direct), None);
        let other_port = u("http://h.test:8080/");
        assert_eq!(connect_to_rule(&first.curl.conn, &other_port), None);
        assert_eq!(
            resolve_target(&[], &overridden, &other_port, &RouteEntry::Direct).as_deref(),
            Some("h.test:8080")
        );
    }
}
