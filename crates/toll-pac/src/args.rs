//! The `url` and `host` arguments of `FindProxyForURL`, built the way Chrome and Firefox build
//! them: `host` lower-cased, an IPv6 literal without brackets, never the user info or the port;
//! `url` without user info and fragment, and for a transfer to an `https:`/`wss:` URL only
//! `https://host[:port]/` — a PAC may come from the network, so it never sees the path or query of
//! an encrypted request.

use url::{Host, Url};

/// How much of the URL a PAC sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UrlMode {
    /// What a transfer passes: the path and query of encrypted (`https:`, `wss:`) URLs are
    /// stripped, as browsers do.
    Transfer,
    /// What `toll pac` passes: the URL as given, less user info and fragment (a PAC author testing
    /// a path rule wants to see it evaluated).
    AsGiven,
}

/// The two arguments a PAC's entry point is called with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PacArgs {
    pub url: String,
    pub host: String,
}

impl PacArgs {
    pub fn new(url: &Url, mode: UrlMode) -> PacArgs {
        let host = match url.host() {
            Some(Host::Domain(d)) => d.to_ascii_lowercase(),
            Some(Host::Ipv4(ip)) => ip.to_string(),
            // As the URL writes it (WHATWG's form, as browsers pass it): `::ffff:7f00:1`, where
            // Rust's own writes `::ffff:127.0.0.1`.
            Some(Host::Ipv6(_)) => url.host_str().unwrap_or_default().trim_matches(['[', ']']).to_string(),
            None => String::new(),
        };
        let encrypted = matches!(url.scheme(), "https" | "wss");
        let url = if mode == UrlMode::Transfer && encrypted {
            let authority = match url.host() {
                Some(Host::Ipv6(_)) => format!("[{host}]"),
                _ => host.clone(),
            };
            match url.port() {
                Some(port) => format!("{}://{authority}:{port}/", url.scheme()),
                None => format!("{}://{authority}/", url.scheme()),
            }
        } else {
            let mut u = url.clone();
            // Both only fail for URLs that cannot have user info (no host), which have none.
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.set_fragment(None);
            u.to_string()
        };
        PacArgs { url, host }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(url: &str, mode: UrlMode) -> (String, String) {
        let a = PacArgs::new(&Url::parse(url).unwrap(), mode);
        (a.url, a.host)
    }

    #[test]
    fn host_is_lowercased_without_brackets_userinfo_or_port() {
        assert_eq!(args("http://u:p@WWW.Example.COM:8080/a", UrlMode::Transfer).1, "www.example.com");
        assert_eq!(args("http://[2001:DB8::1]:81/", UrlMode::Transfer).1, "2001:db8::1");
        // An IPv4-mapped address as the URL (and browsers) write it, in both arguments.
        let (url, host) = args("https://[::FFFF:127.0.0.1]/x", UrlMode::Transfer);
        assert_eq!((url.as_str(), host.as_str()), ("https://[::ffff:7f00:1]/", "::ffff:7f00:1"));
        assert_eq!(args("http://10.0.0.1/", UrlMode::Transfer).1, "10.0.0.1");
    }

    #[test]
    fn url_loses_userinfo_and_fragment() {
        let (url, _) = args("http://alice:secret@example.com/p?q=1#frag", UrlMode::Transfer);
        assert_eq!(url, "http://example.com/p?q=1");
        let (url, _) = args("http://alice:secret@example.com/p?q=1#frag", UrlMode::AsGiven);
        assert_eq!(url, "http://example.com/p?q=1");
    }

    #[test]
    fn https_transfers_see_only_the_origin() {
        assert_eq!(
            args("https://u:p@Example.com/secret?token=1#x", UrlMode::Transfer).0,
            "https://example.com/"
        );
        assert_eq!(args("https://example.com:8443/secret", UrlMode::Transfer).0, "https://example.com:8443/");
        assert_eq!(args("https://[::1]:8443/secret", UrlMode::Transfer).0, "https://[::1]:8443/");
        assert_eq!(args("wss://example.com/chat", UrlMode::Transfer).0, "wss://example.com/");
    }

    #[test]
    fn as_given_keeps_the_https_path() {
        assert_eq!(
            args("https://example.com/secret?x=1#f", UrlMode::AsGiven).0,
            "https://example.com/secret?x=1"
        );
    }
}
