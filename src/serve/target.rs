//! What a client asked toll serve to reach ([`Target`]: a CONNECT's `host:port` or an
//! absolute-form http:// URL), checked before routing: the forms a proxy takes, host names
//! without characters no host name has, and the targets a proxy must not reach — this server's
//! own listeners (a loop) and, for clients of other hosts, this machine's loopback.

use super::{direct, peer};
use http::Method;
use std::net::SocketAddr;

/// What the client asked to reach, for routing and for the log.
pub(super) enum Target {
    /// CONNECT host:port.
    Tunnel { host: String, port: u16 },
    /// An absolute-form http:// request.
    Http(url::Url),
}

impl Target {
    pub(super) fn of(method: &Method, uri: &http::Uri) -> Result<Target, &'static str> {
        if method == Method::CONNECT {
            // Authority form only (RFC 9112 §3.2.3): not `CONNECT http://host:port/` (a client
            // confused about what it asks for) nor a user name before the host.
            if uri.scheme().is_some() || uri.path_and_query().is_some() {
                return Err(CONNECT_FORM);
            }
            let a = uri.authority().ok_or(CONNECT_FORM)?;
            if a.as_str().contains('@') {
                return Err(CONNECT_FORM);
            }
            let port = a.port_u16().ok_or(CONNECT_FORM)?;
            let mut host = a.host().trim_start_matches('[').trim_end_matches(']').to_string();
            // The IPv4 forms a resolver takes for an address (`127.1`, `0x7f000001`,
            // `2130706433`, `0`) are that address here too, as in an http:// URL: the loop and
            // loopback checks must see what the connection would reach.
            if host.parse::<std::net::IpAddr>().is_err() {
                if let Ok(url::Host::Ipv4(ip)) = url::Host::parse(&host) {
                    host = ip.to_string();
                }
            }
            if host.parse::<std::net::IpAddr>().is_err()
                && crate::request_target::refused_in_name(&host).is_some()
            {
                return Err(NOT_A_HOST_NAME);
            }
            return Ok(Target::Tunnel { host, port });
        }
        match uri.scheme_str() {
            Some("http") => match url::Url::parse(&uri.to_string()) {
                Ok(u) if crate::request_target::refused_host_char(&u).is_some() => Err(NOT_A_HOST_NAME),
                Ok(u) => Ok(Target::Http(u)),
                Err(_) => Err("a malformed URL"),
            },
            Some(_) => {
                Err("only http:// URLs can be requested in absolute form; https:// goes through CONNECT")
            }
            None => Err(NOT_A_PROXY_REQUEST),
        }
    }

    /// The URL routing looks at: an https URL for a tunnel (as clients use CONNECT for https).
    pub(super) fn route_url(&self) -> Option<url::Url> {
        match self {
            Target::Http(u) => Some(u.clone()),
            Target::Tunnel { host, port } => {
                let h = if host.contains(':') { format!("[{host}]") } else { host.clone() };
                url::Url::parse(&format!("https://{h}:{port}/")).ok()
            }
        }
    }

    pub(super) fn host_port(&self) -> (String, u16) {
        match self {
            Target::Tunnel { host, port } => (host.clone(), *port),
            Target::Http(u) => (
                u.host_str().unwrap_or("").trim_matches(['[', ']']).to_string(),
                u.port_or_known_default().unwrap_or(80),
            ),
        }
    }
}

/// Why a CONNECT is refused whose target is not `host:port`.
pub(super) const CONNECT_FORM: &str = "CONNECT needs host:port";

/// A target whose host name has a character no host name has (`a!b`, `a$b`): refused before
/// it reaches a resolver, a PAC or the upstream proxy, as toll's own URLs are.
pub(super) const NOT_A_HOST_NAME: &str = "the target's host name has a character host names cannot have";

pub(super) const NOT_A_PROXY_REQUEST: &str =
    "this is toll serve, an HTTP proxy: it takes absolute-form requests (GET http://host/path) \
     and CONNECT, not requests for its own pages. Point your program at it with \
     http_proxy/https_proxy (see 'toll serve --print-env')";

/// A target on this machine's loopback by its address or name (`localhost`, and `*.localhost`,
/// which RFC 6761 §6.3 keeps on loopback too). Names that resolve there are `direct`'s to catch.
pub(super) fn for_this_machine_only(target: &Target) -> bool {
    let (host, _) = target.host_port();
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host == "localhost"
        || host.ends_with(".localhost")
        || host.parse::<std::net::IpAddr>().is_ok_and(direct::is_this_machine)
}

/// A request for the listener itself (directly or by a name of this machine) would loop.
pub(super) fn is_loop(target: &Target, listen: &[SocketAddr]) -> bool {
    let (host, port) = target.host_port();
    is_self(&host, port, listen)
}

/// `host:port` is one of this server's own listeners (by its address, loopback, or
/// `localhost`): as a target or as the upstream proxy, it would loop.
pub fn is_self(host: &str, port: u16, listen: &[SocketAddr]) -> bool {
    listen.iter().any(|l| is_listener(host, port, *l))
}

fn is_listener(host: &str, port: u16, listen: SocketAddr) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if port != listen.port() {
        return false;
    }
    if host.trim_end_matches('.').eq_ignore_ascii_case("localhost") {
        return true;
    }
    match host.parse::<std::net::IpAddr>() {
        Ok(ip) => {
            let ip = ip.to_canonical();
            ip == listen.ip().to_canonical()
                || ip.is_loopback()
                || ip.is_unspecified()
                // Listening on every address: one of this machine's is this server too, another
                // host's (a corporate proxy on the same port) is not.
                || (listen.ip().is_unspecified() && peer::local_addresses().contains(&ip))
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tunnel(host: &str, port: u16) -> Target {
        Target::Tunnel { host: host.into(), port }
    }

    #[test]
    fn targets_named_by_a_host_name_no_host_can_have_are_refused() {
        // (hyper's parser refuses others before: `a%26b`, `a"b`, `a{b`, …)
        let of =
            |method: Method, uri: &str| Target::of(&method, &uri.parse().unwrap()).map(|t| t.host_port());
        for uri in ["a!b:443", "a&b:443", "a$b.example:443", "a=b:443"] {
            assert_eq!(of(Method::CONNECT, uri), Err(NOT_A_HOST_NAME), "{uri}");
        }
        for uri in ["http://a!b/x", "http://a,b/", "http://a*b.example:8080/"] {
            assert_eq!(of(Method::GET, uri), Err(NOT_A_HOST_NAME), "{uri}");
        }
        assert_eq!(of(Method::CONNECT, "[::1]:443"), Ok(("::1".into(), 443)));
        // Authority form only: the tunnel's end is never taken from a URL or after a user name.
        for uri in ["http://127.0.0.1:8080/", "https://a.example:443", "joe@127.0.0.1:8080", "127.0.0.1"] {
            assert_eq!(of(Method::CONNECT, uri), Err(CONNECT_FORM), "{uri}");
        }
        assert_eq!(of(Method::CONNECT, "db_1.corp:5432"), Ok(("db_1.corp".into(), 5432)));
        assert_eq!(of(Method::GET, "http://a-b.example/x"), Ok(("a-b.example".into(), 80)));
    }

    #[test]
    fn targets_on_this_machines_loopback_are_known_by_address_and_name() {
        for host in [
            "localhost",
            "LOCALHOST.",
            "db.localhost",
            "127.0.0.1",
            "127.1.2.3",
            "::1",
            "::ffff:127.0.0.1",
            "0.0.0.0",
            "::",
        ] {
            assert!(for_this_machine_only(&tunnel(host, 5432)), "{host}");
        }
        assert!(for_this_machine_only(&Target::Http("http://[::1]:8888/".parse().unwrap())));
        for host in
            ["example.com", "localhost.example.com", "10.0.0.1", "172.17.0.1", "::ffff:10.0.0.1", "fe80::1"]
        {
            assert!(!for_this_machine_only(&tunnel(host, 5432)), "{host}");
        }
    }

    #[test]
    fn requests_for_the_listener_itself_are_loops() {
        let listen: &[SocketAddr] = &["127.0.0.1:3128".parse().unwrap()];
        assert!(is_loop(&tunnel("127.0.0.1", 3128), listen));
        assert!(is_loop(&tunnel("localhost", 3128), listen));
        assert!(is_loop(&tunnel("127.0.0.2", 3128), listen));
        assert!(is_loop(&Target::Http("http://[::1]:3128/x".parse().unwrap()), listen));
        assert!(!is_loop(&tunnel("127.0.0.1", 443), listen));
        assert!(!is_loop(&tunnel("example.com", 3128), listen));
        assert!(is_self("[::1]", 3128, listen) && is_self("LOCALHOST", 3128, listen));
        assert!(!is_self("10.0.0.1", 3128, listen));
        // Listening on every address: this machine's addresses are this server, another
        // host's proxy on the same port is not.
        let everywhere: &[SocketAddr] = &["0.0.0.0:3128".parse().unwrap()];
        assert!(is_self("127.0.0.1", 3128, everywhere) && is_self("::ffff:127.0.0.1", 3128, everywhere));
        assert!(!is_self("192.0.2.7", 3128, everywhere));
        assert!(!is_loop(&tunnel("192.0.2.7", 3128), everywhere));
        // Several listeners (systemd's sockets): each one's port is this server.
        let two: &[SocketAddr] = &["127.0.0.1:3128".parse().unwrap(), "[::1]:8080".parse().unwrap()];
        assert!(is_loop(&tunnel("::1", 8080), two) && is_loop(&tunnel("localhost", 3128), two));
        assert!(!is_loop(&tunnel("localhost", 9090), two));
    }

    /// A CONNECT to the listener spelt as a resolver reads IPv4 (`127.1`, hex, one number, `0`)
    /// or as `localhost.` is a loop too, and tunnels to the address the spelling means.
    #[test]
    fn short_and_numeric_ipv4_forms_are_their_address() {
        let listen: &[SocketAddr] = &["127.0.0.1:3128".parse().unwrap()];
        for spelt in ["127.1", "0x7f000001", "2130706433", "0", "0x7f.1", "127.1.", "localhost."] {
            let uri: http::Uri = format!("{spelt}:3128").parse().unwrap();
            let t = Target::of(&Method::CONNECT, &uri).unwrap_or_else(|e| panic!("{spelt}: {e}"));
            assert!(is_loop(&t, listen), "{spelt}");
        }
        let uri: http::Uri = "127.1:443".parse().unwrap();
        let Ok(Target::Tunnel { host, .. }) = Target::of(&Method::CONNECT, &uri) else { panic!() };
        assert_eq!(host, "127.0.0.1");
        let uri: http::Uri = "example.com:443".parse().unwrap();
        let Ok(Target::Tunnel { host, .. }) = Target::of(&Method::CONNECT, &uri) else { panic!() };
        assert_eq!(host, "example.com", "a name stays as given");
    }
}
