//! Proxy selection: which proxy (if any) a request URL goes through, from `-x`, `--noproxy` and
//! the `*_proxy` / `NO_PROXY` environment variables, following curl's rules.
//!
//! Pure: the environment is read once, through a lookup closure, when [`ProxySettings`] is built;
//! [`ProxySettings::route`] is then a cheap lookup that is called for every request URL (a
//! redirect can change the host or the scheme). Parsing of proxy URLs ([`parse_proxy_url`]) and
//! `NO_PROXY` lists ([`NoProxy`]) lives here too.

use crate::config::{ProxyConfig, ProxySpec};
use crate::secret::Secret;
use ipnet::IpNet;
use std::net::{IpAddr, Ipv6Addr};
use url::{Host, Url};

/// Proxy schemes toll (through reqwest) can talk to.
pub const PROXY_SCHEMES: [&str; 6] = ["http", "https", "socks4", "socks4a", "socks5", "socks5h"];

/// A proxy setting that cannot be used. `origin` names where it came from (`-x/--proxy`,
/// `https_proxy`, …); the offending value is shown with its password masked.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProxyError {
    #[error(
        "unsupported proxy scheme '{scheme}' in {origin} (use http, https, socks4, socks4a, socks5 or socks5h)"
    )]
    UnsupportedScheme { origin: String, scheme: String },
    #[error("invalid proxy URL '{value}' in {origin}: {reason}")]
    Invalid { origin: String, value: String, reason: String },
}

/// How one request URL is to be reached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    Direct,
    Proxy(ProxySpec),
}

/// Parses `[scheme://][user[:password]@]host[:port][/…]` as curl does: no scheme means `http`;
/// the default port is 443 for `https` proxies and 1080 for everything else; userinfo is
/// percent-decoded; an IPv6 literal goes in brackets. A path is ignored (curl ignores it too).
/// A URL whose host depends on how it is read (an `@` after the authority, more than one `@`,
/// a host another URL parser reads differently) is refused: see [`same_host_as_url_parser`].
/// `origin` is recorded in the spec and named in errors.
pub fn parse_proxy_url(s: &str, origin: &str) -> Result<ProxySpec, ProxyError> {
    let invalid = |reason: &str| ProxyError::Invalid {
        origin: origin.to_string(),
        value: redact_userinfo(s.trim()),
        reason: reason.to_string(),
    };
    let s = s.trim();
    if s.is_empty() {
        return Err(invalid("it is empty"));
    }
    if s.chars().any(char::is_control) {
        return Err(invalid("it holds a line break or other control character"));
    }
    let (scheme, rest) = match s.find("://") {
        Some(i) => (s[..i].to_ascii_lowercase(), &s[i + 3..]),
        None => ("http".to_string(), s),
    };
    if !PROXY_SCHEMES.contains(&scheme.as_str()) {
        return Err(ProxyError::UnsupportedScheme { origin: origin.to_string(), scheme });
    }
    // The authority ends at the first '/', '?' or '#' (RFC 3986 §3.2). An '@' anywhere else
    // would make the host depend on which parser reads the URL: `u:pw@a/p@b` is host `a` to a
    // URL parser but was host `b` to a "last '@'" rule, so `a` is what the user sees and `b` what
    // got the password. Such URLs are refused; percent-encoding says what is meant.
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, after) = rest.split_at(end);
    let ambiguous = |what: &str| {
        invalid(&format!(
            "{what}, so the host is ambiguous: percent-encode '@' as %40 (and '/' as %2F, '?' as %3F, \
             '#' as %23, '\\' as %5C) in the user name and password"
        ))
    };
    if after.contains('@') {
        return Err(ambiguous("an '@' comes after a '/', '?' or '#'"));
    }
    if authority.matches('@').count() > 1 {
        return Err(ambiguous("it has more than one '@'"));
    }
    let (userinfo, hostpart) = match authority.split_once('@') {
        Some((info, host)) => (Some(info), host),
        None => (None, authority),
    };
    let (host, port) = split_host_port(hostpart).map_err(|r| invalid(&r))?;
    if !same_host_as_url_parser(&scheme, rest, &host, port) {
        return Err(ambiguous("a URL parser reads another host from it"));
    }
    let port = match port {
        Some(p) => p,
        None if scheme == "https" => 443,
        None => 1080,
    };
    let (user, password) = match userinfo {
        None | Some("") => (None, None),
        Some(info) => {
            let (u, p) = match info.split_once(':') {
                Some((u, p)) => (u, Some(p)),
                None => (info, None),
            };
            let decode = |v: &str| {
                percent_encoding::percent_decode_str(v).decode_utf8().map(|c| c.into_owned()).map_err(|_| {
                    invalid("the user name or password is not valid UTF-8 after percent-decoding")
                })
            };
            (Some(decode(u)?), p.map(decode).transpose()?.map(Secret::from))
        }
    };
    Ok(ProxySpec { scheme, host, port, user, password, origin: origin.to_string() })
}

/// Whether the `url` crate (WHATWG rules, as browsers and most tools) finds the same host and
/// port in `rest` as toll does: it reads `\\` as `/` in http(s) URLs, so `DOMAIN\\user:pw@proxy`
/// would be host `domain` to it. A string it cannot parse at all is left to toll's stricter
/// rules.
fn same_host_as_url_parser(scheme: &str, rest: &str, host: &str, port: Option<u16>) -> bool {
    // Special-scheme parsing for every proxy scheme: the stricter reading.
    let special = if scheme == "https" { "https" } else { "http" };
    let Ok(theirs) = Url::parse(&format!("{special}://{rest}")) else { return true };
    let shown = if host.contains(':') { format!("[{host}]") } else { host.to_string() };
    let Ok(mine) = Url::parse(&format!("{special}://{shown}/")) else { return true };
    let default = |u: &Url| u.port_or_known_default();
    theirs.host() == mine.host() && theirs.port().or(default(&theirs)) == port.or(default(&mine))
}

/// `host`, `host:port`, `[v6]`, `[v6]:port` → (host without brackets, lowercased; port).
fn split_host_port(authority: &str) -> Result<(String, Option<u16>), String> {
    let (host, port) = if let Some(inner) = authority.strip_prefix('[') {
        let end = inner.find(']').ok_or("missing ']' after the IPv6 address")?;
        let addr = &inner[..end];
        let ip = addr.parse::<Ipv6Addr>().map_err(|_| format!("'{addr}' is not an IPv6 address"))?;
        let after = &inner[end + 1..];
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or("unexpected text after ']'")?),
        };
        // Written one way whatever way it was typed (`0:0::1` is `::1`): the keyring, the
        // remembered scheme and the dead-proxy memory find the proxy by this text.
        (ip.to_string(), port)
    } else {
        let (h, p) = match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        };
        if h.contains(':') {
            return Err("an IPv6 address must be written in brackets, like [::1]:3128".into());
        }
        if h.is_empty() {
            return Err("the host name is missing".into());
        }
        if let Some(c) = h.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))) {
            return Err(format!("the host name contains {c:?}"));
        }
        // An IPv4 address as a resolver reads it (`127.1`, `0x7f.1`, `2130706433`) is written as
        // the address, for the same reason.
        let h = h.to_ascii_lowercase();
        match url::Host::parse(&h) {
            Ok(url::Host::Ipv4(ip)) => (ip.to_string(), p),
            _ => (h, p),
        }
    };
    let port = match port {
        // `host:` with an empty port means the default, as in URLs generally.
        None | Some("") => None,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => Some(n),
            _ => return Err(format!("'{p}' is not a port number (1-65535)")),
        },
    };
    Ok((host, port))
}

/// Where the password is in a proxy URL as typed (`[scheme://]user:PASSWORD@host…`), to hide it
/// from other users (`app::argv`). Generous: the last `@` ends it, as in error messages.
pub fn password_span(raw: &str) -> Option<std::ops::Range<usize>> {
    let start = raw.find("://").map_or(0, |i| i + 3);
    let at = start + raw[start..].rfind('@')?;
    let colon = start + raw[start..at].find(':')?;
    Some(colon + 1..at).filter(|r| !r.is_empty())
}

/// The value with any password replaced by `***`, for error messages (one implementation for
/// every printed URL: `term`).
pub(crate) use crate::term::redact_userinfo;

/// A parsed `NO_PROXY` / `--noproxy` list: hosts that are reached directly.
///
/// Entries are separated by commas and/or whitespace and compared case-insensitively:
/// - `*` matches every host (curl: only as the whole list; here as any entry);
/// - a domain (`example.com`, `.example.com`, `*.example.com` are the same) matches itself and
///   its subdomains at a label boundary (not `badexample.com`); trailing dots are ignored;
/// - an IP address (`10.1.2.3`, `::1`, `[::1]`) or CIDR block (`10.0.0.0/8`, `fd00::/8`)
///   matches IP-literal hosts only: no DNS lookups, so `localhost` ≠ `127.0.0.1`;
/// - any of these may carry `:port` (`example.com:8080`, `[::1]:8080`) to match only that port.
///
/// Entries that fit none of these (`10.0.0.0/99`) are ignored, as curl does.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NoProxy {
    all: bool,
    /// Each entry with the text it was written as (for `toll doctor`'s advice).
    entries: Vec<(String, NoProxyEntry)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum NoProxyEntry {
    /// Lowercase, without leading/trailing dots.
    Domain {
        name: String,
        port: Option<u16>,
    },
    Net {
        net: IpNet,
        port: Option<u16>,
    },
}

impl NoProxy {
    pub fn parse(list: &str) -> NoProxy {
        let mut np = NoProxy::default();
        for token in list.split(|c: char| c == ',' || c.is_whitespace()).filter(|t| !t.is_empty()) {
            if token == "*" {
                np.all = true;
            } else if let Some(e) = parse_entry(token) {
                np.entries.push((token.to_owned(), e));
            }
        }
        np
    }

    /// True when nothing would ever match.
    pub fn is_empty(&self) -> bool {
        !self.all && self.entries.is_empty()
    }

    /// Does `url` bypass the proxy? URLs without a host never match.
    pub fn matches(&self, url: &Url) -> bool {
        self.matched_by(url).is_some()
    }

    /// The entry (as written) that makes `url` bypass the proxy: `*`, or the first that matches.
    pub fn matched_by(&self, url: &Url) -> Option<&str> {
        let host = url.host()?;
        if self.all {
            return Some("*");
        }
        let port = url.port_or_known_default();
        let ip = match host {
            Host::Ipv4(a) => Some(IpAddr::V4(a)),
            Host::Ipv6(a) => Some(IpAddr::V6(a)),
            Host::Domain(_) => None,
        };
        let domain = match host {
            Host::Domain(d) => d.trim_end_matches('.'),
            _ => "",
        };
        let hit = self.entries.iter().find(|(_, e)| match e {
            NoProxyEntry::Domain { name, port: p } => {
                ip.is_none() && port_ok(*p, port) && domain_matches(domain, name)
            }
            NoProxyEntry::Net { net, port: p } => ip.is_some_and(|a| net.contains(&a)) && port_ok(*p, port),
        });
        hit.map(|(raw, _)| raw.as_str())
    }
}

fn port_ok(want: Option<u16>, have: Option<u16>) -> bool {
    want.is_none() || want == have
}

/// `host` is `name` or a subdomain of it (label boundary), ignoring ASCII case.
fn domain_matches(host: &str, name: &str) -> bool {
    let (h, n) = (host.as_bytes(), name.as_bytes());
    if h.len() == n.len() {
        return h.eq_ignore_ascii_case(n);
    }
    h.len() > n.len() && h[h.len() - n.len() - 1] == b'.' && h[h.len() - n.len()..].eq_ignore_ascii_case(n)
}

fn parse_entry(token: &str) -> Option<NoProxyEntry> {
    let net_of = |s: &str| -> Option<IpNet> {
        s.parse::<IpNet>().ok().or_else(|| s.parse::<IpAddr>().ok().map(IpNet::from))
    };
    let port_of = |p: &str| p.parse::<u16>().ok().filter(|_| p.bytes().all(|b| b.is_ascii_digit()));
    // `[v6]`, `[v6]:port`, `[v6/len]`, `[v6]/len`
    if let Some(inner) = token.strip_prefix('[') {
        let (addr, after) = inner.split_once(']')?;
        let (net, port) = match after {
            "" => (net_of(addr)?, None),
            a if a.starts_with(':') => (net_of(addr)?, Some(port_of(&a[1..])?)),
            a if a.starts_with('/') => (net_of(&format!("{addr}{a}"))?, None),
            _ => return None,
        };
        return net.addr().is_ipv6().then_some(NoProxyEntry::Net { net, port });
    }
    if let Some(net) = net_of(token) {
        return Some(NoProxyEntry::Net { net, port: None });
    }
    let (name, port) = match token.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h, Some(port_of(p)?)),
        Some(_) => return None,
        None => (token, None),
    };
    if let Some(net) = net_of(name) {
        return Some(NoProxyEntry::Net { net, port });
    }
    let name = name.strip_prefix('*').unwrap_or(name).trim_matches('.').to_ascii_lowercase();
    if name.is_empty() || name.contains(['/', '*', '@', '[', ']']) {
        return None;
    }
    Some(NoProxyEntry::Domain { name, port })
}

/// A proxy read from one environment variable, parsed at snapshot time; the error is only
/// reported when a request actually needs this variable.
#[derive(Clone, Debug, PartialEq, Eq)]
struct EnvProxy {
    parsed: Result<ProxySpec, ProxyError>,
}

/// Everything needed to route request URLs, snapshotted once. Build it with [`ProxySettings::new`]
/// or [`ProxySettings::from_config`]; then call [`ProxySettings::route`] per URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxySettings {
    explicit: Option<ProxySpec>,
    http: Option<EnvProxy>,
    https: Option<EnvProxy>,
    all: Option<EnvProxy>,
    no_proxy: NoProxy,
    no_proxy_origin: Option<String>,
}

impl ProxySettings {
    /// `explicit` is `-x` (it wins over the environment), `noproxy_flag` is `--noproxy` (it
    /// replaces `no_proxy`/`NO_PROXY`; an empty string means "no exceptions"). `env` is only
    /// called here, never by [`route`](Self::route).
    ///
    /// Variables, as curl (empty values count as unset):
    /// - https URLs: `https_proxy`, then `HTTPS_PROXY`;
    /// - http URLs: `http_proxy`, then `HTTP_PROXY` unless `REQUEST_METHOD` is set (a CGI
    ///   program's `HTTP_PROXY` can come from a request's `Proxy:` header: "httpoxy");
    /// - then `all_proxy`, `ALL_PROXY`;
    /// - exceptions: `no_proxy`, then `NO_PROXY`. They apply to `-x` too, as in curl.
    pub fn new(
        explicit: Option<ProxySpec>,
        noproxy_flag: Option<&str>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> ProxySettings {
        let get = |name: &str| {
            env(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).map(|v| (name.to_string(), v))
        };
        let first = |names: &[&str]| names.iter().find_map(|n| get(n));
        let proxy = |found: Option<(String, String)>| {
            found.map(|(var, value)| EnvProxy { parsed: parse_proxy_url(&value, &var) })
        };
        let cgi = env("REQUEST_METHOD").is_some();
        let http_vars: &[&str] = if cgi { &["http_proxy"] } else { &["http_proxy", "HTTP_PROXY"] };
        let (no_proxy_origin, no_proxy) = match noproxy_flag {
            Some(list) => (Some("--noproxy".to_string()), NoProxy::parse(list)),
            None => match first(&["no_proxy", "NO_PROXY"]) {
                Some((var, list)) => (Some(var), NoProxy::parse(&list)),
                None => (None, NoProxy::default()),
            },
        };
        ProxySettings {
            explicit,
            http: proxy(first(http_vars)),
            https: proxy(first(&["https_proxy", "HTTPS_PROXY"])),
            all: proxy(first(&["all_proxy", "ALL_PROXY"])),
            no_proxy,
            no_proxy_origin,
        }
    }

    /// [`new`](Self::new) from the `-x`/`--noproxy` parts of a [`ProxyConfig`].
    pub fn from_config(cfg: &ProxyConfig, env: &dyn Fn(&str) -> Option<String>) -> ProxySettings {
        ProxySettings::new(cfg.explicit.clone(), cfg.noproxy.as_deref(), env)
    }

    /// The proxy for `url`. Errors only when the setting this URL needs is malformed.
    pub fn route(&self, url: &Url) -> Result<Route, ProxyError> {
        if self.no_proxy.matches(url) {
            return Ok(Route::Direct);
        }
        if let Some(spec) = &self.explicit {
            return Ok(Route::Proxy(spec.clone()));
        }
        let by_scheme = match url.scheme() {
            "https" | "wss" => self.https.as_ref(),
            "http" | "ws" => self.http.as_ref(),
            _ => None,
        };
        match by_scheme.or(self.all.as_ref()) {
            Some(EnvProxy { parsed: Ok(spec) }) => Ok(Route::Proxy(spec.clone())),
            Some(EnvProxy { parsed: Err(e) }) => Err(e.clone()),
            None => Ok(Route::Direct),
        }
    }

    /// The exception list in effect, and where it came from (`--noproxy`, `no_proxy`, …).
    pub fn no_proxy(&self) -> (&NoProxy, Option<&str>) {
        (&self.no_proxy, self.no_proxy_origin.as_deref())
    }
}

#[cfg(test)]
mod tests;
