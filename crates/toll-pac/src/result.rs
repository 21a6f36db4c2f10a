//! The PAC result grammar: `"PROXY a:8080; SOCKS5 b:1080; DIRECT"` into a list of
//! [`ProxyEntry`]. Strict where browsers are lenient: an entry toll cannot read is an error naming
//! it (a browser silently drops it and may end up going DIRECT, which hides the author's typo).
//! Hosts are restricted to name/IPv4 characters or a bracketed IPv6 literal, so a validated result
//! is safe to print on a terminal.

use std::fmt;
use std::net::Ipv6Addr;

/// The kind of proxy a PAC entry names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProxyKind {
    /// `PROXY` or `HTTP`: an HTTP proxy spoken to in clear text.
    Http,
    /// `HTTPS`: an HTTP proxy spoken to over TLS.
    Https,
    /// `SOCKS` or `SOCKS4` (Chrome, Internet Explorer and the Netscape text read `SOCKS` as
    /// version 4; Firefox reads it as version 5).
    Socks4,
    /// `SOCKS5`.
    Socks5,
}

impl ProxyKind {
    /// The port used when the entry names none (as Chrome does).
    pub fn default_port(self) -> u16 {
        match self {
            ProxyKind::Http => 80,
            ProxyKind::Https => 443,
            ProxyKind::Socks4 | ProxyKind::Socks5 => 1080,
        }
    }

    /// The URL scheme for this kind (`http`, `https`, `socks4`, `socks5`).
    pub fn scheme(self) -> &'static str {
        match self {
            ProxyKind::Http => "http",
            ProxyKind::Https => "https",
            ProxyKind::Socks4 => "socks4",
            ProxyKind::Socks5 => "socks5",
        }
    }
}

/// One entry of a PAC result, in the order the PAC listed them.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ProxyEntry {
    Direct,
    /// `host` is a name, an IPv4 literal or an IPv6 literal *without* brackets.
    Proxy {
        kind: ProxyKind,
        host: String,
        port: u16,
    },
}

impl fmt::Display for ProxyEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProxyEntry::Direct => f.write_str("DIRECT"),
            ProxyEntry::Proxy { kind, host, port } if host.contains(':') => {
                write!(f, "{}://[{host}]:{port}", kind.scheme())
            }
            ProxyEntry::Proxy { kind, host, port } => write!(f, "{}://{host}:{port}", kind.scheme()),
        }
    }
}

/// Why a PAC result could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResultError {
    /// What is wrong, quoting the offending entry (escaped: it may hold control characters).
    pub message: String,
}

impl fmt::Display for ResultError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ResultError {}

/// Results longer than this are refused (a real one is a few entries).
const MAX_RESULT: usize = 64 * 1024;

/// Parses a PAC result. An empty result (or only separators and white space) means `DIRECT`, as
/// browsers treat it. Keywords are case-insensitive.
pub fn parse_result(result: &str) -> Result<Vec<ProxyEntry>, ResultError> {
    if result.len() > MAX_RESULT {
        return Err(ResultError {
            message: format!("the result is {} bytes long (at most {MAX_RESULT})", result.len()),
        });
    }
    let mut entries = Vec::new();
    for element in result.split(';') {
        let element = element.trim_matches(is_space);
        if element.is_empty() {
            continue;
        }
        entries.push(parse_entry(element)?);
    }
    if entries.is_empty() {
        entries.push(ProxyEntry::Direct);
    }
    Ok(entries)
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn bad(element: &str, why: &str) -> ResultError {
    ResultError { message: format!("entry {:?}: {why}", masked(element)) }
}

/// `element` with a password before an '@' (`user:pw@host`) as `***`: messages are printed.
fn masked(element: &str) -> String {
    match element.rsplit_once('@') {
        Some((before, after)) => match before.rsplit_once(':') {
            Some((user, _)) if !user.ends_with('/') => format!("{user}:***@{after}"),
            _ => element.to_string(),
        },
        None => element.to_string(),
    }
}

fn parse_entry(element: &str) -> Result<ProxyEntry, ResultError> {
    let mut words = element.split(is_space).filter(|w| !w.is_empty());
    let keyword = words.next().unwrap_or_default();
    let address = words.next();
    if words.next().is_some() {
        return Err(bad(element, "too many words (entries are separated by ';')"));
    }
    let kind = match keyword.to_ascii_uppercase().as_str() {
        "DIRECT" => {
            return match address {
                None => Ok(ProxyEntry::Direct),
                Some(_) => Err(bad(element, "DIRECT takes no address")),
            }
        }
        "PROXY" | "HTTP" => ProxyKind::Http,
        "HTTPS" => ProxyKind::Https,
        "SOCKS" | "SOCKS4" => ProxyKind::Socks4,
        "SOCKS5" => ProxyKind::Socks5,
        _ => {
            return Err(bad(
                element,
                "unknown keyword (expected PROXY, HTTP, HTTPS, SOCKS, SOCKS4, SOCKS5 or DIRECT)",
            ))
        }
    };
    let Some(address) = address else {
        return Err(bad(element, "the proxy's host[:port] is missing"));
    };
    let (host, port) = split_host_port(address).map_err(|why| bad(element, why))?;
    let port = match port {
        None => kind.default_port(),
        Some(text) => match text.parse::<u16>() {
            Ok(p) if p > 0 && text.bytes().all(|b| b.is_ascii_digit()) => p,
            _ => return Err(bad(element, "the port is not a number from 1 to 65535")),
        },
    };
    Ok(ProxyEntry::Proxy { kind, host, port })
}

fn split_host_port(address: &str) -> Result<(String, Option<&str>), &'static str> {
    if let Some(rest) = address.strip_prefix('[') {
        let Some((literal, after)) = rest.split_once(']') else {
            return Err("an IPv6 literal lacks its closing ']'");
        };
        let ip: Ipv6Addr = literal.parse().map_err(|_| "not an IPv6 address between the brackets")?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or("unexpected text after the IPv6 literal")?),
        };
        return Ok((ip.to_string(), port));
    }
    if address.contains("://") {
        return Err("an entry names host:port, not a URL (PROXY proxy.corp:8080)");
    }
    if address.contains('@') {
        return Err("an entry cannot hold a user name or password (toll finds those itself)");
    }
    let (host, port) = match address.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (address, None),
    };
    if host.contains(':') {
        return Err("an IPv6 proxy address must be written in brackets, e.g. [2001:db8::1]:8080");
    }
    if host.is_empty() {
        return Err("the host is empty");
    }
    if host.len() > 253 || !host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
    {
        return Err("the host is not a valid host name or IP address");
    }
    // What a URL can hold (browsers canonicalise the entry as a URL and drop what fails): a name
    // whose last label is a number must be a whole IPv4 address (`ca.4` is neither).
    let host = host.to_ascii_lowercase();
    if url::Host::parse(&host).is_err() {
        return Err("the host is not a valid host name or IP address");
    }
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxy(kind: ProxyKind, host: &str, port: u16) -> ProxyEntry {
        ProxyEntry::Proxy { kind, host: host.into(), port }
    }

    #[test]
    fn empty_is_direct() {
        assert_eq!(parse_result("").unwrap(), vec![ProxyEntry::Direct]);
        assert_eq!(parse_result(" ; ;\t").unwrap(), vec![ProxyEntry::Direct]);
    }

    #[test]
    fn every_keyword() {
        let got = parse_result("PROXY a:1; HTTP b:2;HTTPS c:3 ; SOCKS d:4; SOCKS4 e:5; SOCKS5 f:6; DIRECT")
            .unwrap();
        assert_eq!(
            got,
            vec![
                proxy(ProxyKind::Http, "a", 1),
                proxy(ProxyKind::Http, "b", 2),
                proxy(ProxyKind::Https, "c", 3),
                proxy(ProxyKind::Socks4, "d", 4),
                proxy(ProxyKind::Socks4, "e", 5),
                proxy(ProxyKind::Socks5, "f", 6),
                ProxyEntry::Direct,
            ]
        );
    }

    #[test]
    fn hosts_a_url_cannot_hold_are_refused() {
        // Found by the pac_result fuzz target: "ca.4" is neither a name nor an IPv4 address.
        assert!(parse_result("PROXY uuuuca.4; SOCKS5 s:104").is_err());
        assert!(parse_result("PROXY 10.0.0.256:80").is_err());
        assert!(parse_result("PROXY 10.0.0.1:80; PROXY a.4b:1").is_ok());
    }

    #[test]
    fn a_url_or_userinfo_in_an_entry_is_said_as_such() {
        let e = parse_result("PROXY http://127.0.0.1:3128").unwrap_err().to_string();
        assert!(e.contains("host:port, not a URL"), "{e}");
        let e = parse_result("PROXY user:pw@proxy:3128").unwrap_err().to_string();
        assert!(e.contains("user name or password") && !e.contains("pw@"), "{e}");
    }

    #[test]
    fn keywords_are_case_insensitive_and_hosts_lowercased() {
        assert_eq!(
            parse_result("proxy Proxy.Corp:3128").unwrap(),
            vec![proxy(ProxyKind::Http, "proxy.corp", 3128)]
        );
        assert_eq!(parse_result("direct").unwrap(), vec![ProxyEntry::Direct]);
    }

    #[test]
    fn default_ports() {
        assert_eq!(parse_result("PROXY p").unwrap(), vec![proxy(ProxyKind::Http, "p", 80)]);
        assert_eq!(parse_result("HTTPS p").unwrap(), vec![proxy(ProxyKind::Https, "p", 443)]);
        assert_eq!(parse_result("SOCKS5 p").unwrap(), vec![proxy(ProxyKind::Socks5, "p", 1080)]);
    }

    #[test]
    fn ipv6_in_brackets() {
        assert_eq!(
            parse_result("PROXY [2001:DB8::1]:8080").unwrap(),
            vec![proxy(ProxyKind::Http, "2001:db8::1", 8080)]
        );
        assert_eq!(parse_result("PROXY [::1]").unwrap(), vec![proxy(ProxyKind::Http, "::1", 80)]);
        assert!(parse_result("PROXY ::1:8080").is_err());
        assert!(parse_result("PROXY [::1:8080").is_err());
        assert!(parse_result("PROXY [zz]:1").is_err());
        assert!(parse_result("PROXY [::1]x").is_err());
    }

    #[test]
    fn errors_name_the_entry() {
        let e = parse_result("PROXY a:1; PROXI b:2").unwrap_err();
        assert!(e.message.contains("\"PROXI b:2\"") && e.message.contains("unknown keyword"), "{e}");
        for bad in [
            "PROXY",
            "PROXY a:0",
            "PROXY a:65536",
            "PROXY a:+80",
            "PROXY a:",
            "PROXY :80",
            "PROXY a b",
            "DIRECT a:1",
            "PROXY a/b:1",
            "PROXY u@a:1",
            "PROXY a\u{1b}[31m:1",
            "undefined",
            "null",
        ] {
            assert!(parse_result(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn control_characters_are_escaped_in_messages() {
        let e = parse_result("BAD\u{1b}]0;x\u{7}").unwrap_err();
        assert!(!e.message.contains('\u{1b}'), "{e:?}");
    }

    #[test]
    fn huge_results_are_refused() {
        let long = "DIRECT;".repeat(20_000);
        assert!(parse_result(&long).is_err());
    }

    #[test]
    fn display_round_trips_to_a_url() {
        assert_eq!(proxy(ProxyKind::Socks5, "::1", 1080).to_string(), "socks5://[::1]:1080");
        assert_eq!(proxy(ProxyKind::Http, "p", 8080).to_string(), "http://p:8080");
    }
}
