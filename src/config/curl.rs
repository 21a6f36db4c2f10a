//! Plain configuration for the curl options added for issue 11 (`-w`, `-u` and friends):
//! what `cli` resolves them to, once. Kept apart from `config.rs` so that file stays small.

use crate::auth::SchemeSet;
use crate::secret::Secret;
use std::path::PathBuf;

/// `-w/--write-out`: the format, inline or where to read it from (`@FILE`, `@-`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WriteOut {
    Inline(String),
    File(PathBuf),
    Stdin,
}

/// `-u/--user` with `--basic`/`--digest`/`--ntlm`/`--negotiate`/`--anyauth`: credentials for
/// the origin (answering 401 + `WWW-Authenticate`), never for a proxy.
#[derive(Clone, Debug)]
pub struct OriginAuth {
    pub user: String,
    /// `None`: `-u user` without a password (the app asks on the terminal, as curl does).
    pub password: Option<Secret>,
    /// The schemes the user allows; only Basic is sent without a challenge first (as curl does
    /// with `--basic`, its default).
    pub schemes: SchemeSet,
    /// `--basic` (or no scheme option): send Basic on the first request, as curl does.
    pub preemptive_basic: bool,
    /// `--aws-sigv4`: every request is signed with the key pair (user: access key, password:
    /// secret key) instead of answering a challenge.
    pub sigv4: Option<crate::auth::sigv4::Spec>,
}

impl OriginAuth {
    /// With `-H 'Authorization:'` (its name in `removed`, lowercase): curl then sends no
    /// Authorization of its own making — no Basic, no AWS signature — while a scheme that
    /// answers a challenge (Digest, NTLM, Negotiate) still authenticates, as in curl 7.88.
    pub fn minus_removed_header(self, removed: &[String]) -> Option<OriginAuth> {
        if !removed.iter().any(|h| h == "authorization") {
            return Some(self);
        }
        let schemes = self.schemes.without(crate::auth::Scheme::Basic);
        (self.sigv4.is_none() && !schemes.is_empty()).then_some(OriginAuth {
            schemes,
            preemptive_basic: false,
            ..self
        })
    }
}

/// `--retry` and its companions, as curl: how often a transient failure is retried.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RetryConfig {
    /// `--retry N`: 0 = never.
    pub retries: u32,
    /// `--retry-delay`: a fixed wait instead of the backoff (None or 0: the backoff).
    pub delay: Option<std::time::Duration>,
    /// `--retry-max-time`: no retry once this much time has passed since the first attempt.
    pub max_time: Option<std::time::Duration>,
    /// `--retry-all-errors`: any error is retried (except rejected credentials and usage errors).
    pub all_errors: bool,
    /// `--retry-connrefused`: a refused connection counts as transient.
    pub connrefused: bool,
}

/// `--http1.1`, `--http2`, `--http2-prior-knowledge` (default: HTTP/2 when TLS's ALPN offers it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HttpVersion {
    #[default]
    Default,
    Http11,
    Http2,
    Http2PriorKnowledge,
}

/// `-4` (there is no `-6`: the client reaches the local relay over IPv4).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IpFamily {
    #[default]
    Any,
    V4,
}

/// `-D/--dump-header`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DumpHeader {
    Stdout,
    File(PathBuf),
}

/// The smaller curl options, in one place so `RequestConfig` gains one field for them.
#[derive(Clone, Debug, Default)]
pub struct CurlExtras {
    /// `--location-trusted`: the origin credentials (`-u`, `-n`, and `Authorization` and
    /// `Cookie` given with `-H`) follow redirects to other hosts.
    pub location_trusted: bool,
    /// `--create-dirs`: create the directories of `-o FILE`.
    pub create_dirs: bool,
    /// `--output-dir`: the directory `-O`'s file goes to (the URL's name or, with `-J`, the
    /// server's, known only when the answer comes: `client::saving::in_output_dir`). A relative
    /// `-o FILE` is put there when the command line is read.
    pub output_dir: Option<PathBuf>,
    /// `-o -` was given: a binary body is printed to a terminal too (curl's
    /// `terminal_binary_ok`); without it such a body is refused there.
    pub binary_to_terminal: bool,
    /// The request's `Content-Type` is the one `-d`/`--data-binary` implies: it goes where the
    /// body goes (libcurl adds it to a POST only), while one given with `-H` or implied by
    /// `--json` (curl's tool adds that as a header of the user's) stays after a redirect that
    /// drops the body.
    pub content_type_implied: bool,
    /// The headers `-H 'Name:'` took out (lower case): toll's own (`User-Agent`, `Accept`, the
    /// implied ones) are not sent. reqwest adds `Accept` to every request, so without it a
    /// request takes toll's own HTTP path where it can (see `client::Session`'s `raw`).
    pub removed_headers: Vec<String>,
    /// The names (lower case) of the request fields the user gave: `-H`'s, and `--json`'s,
    /// which curl's tool adds as the user's. curl sends them after its own, in this order
    /// (`client::header_order`).
    pub given_headers: Vec<String>,
    /// `--request-target`, or `--path-as-is`'s path as written when it differs from the
    /// normalised one: the request line's target for this URL (not for redirects).
    pub request_target: Option<String>,
    /// `--path-as-is` or `--request-target` was given: some URL may need its own target.
    pub raw_targets: bool,
    /// `--path-as-is` (then `request_target` is the path as written).
    pub path_as_is: bool,
    /// `--fail-with-body`: write the body of a 400-or-above answer, then exit 22.
    pub fail_with_body: bool,
    pub dump_header: Option<DumpHeader>,
    /// `-e URL` (sent as `Referer` with the first request; `-w %{referer}`).
    pub referer: Option<String>,
    /// `-e ';auto'`: after a redirect, the previous URL is the `Referer`.
    pub referer_auto: bool,
    /// `-r RANGE` (as given, `0-499`): asked for with `Range`, or, for a request that sends
    /// data, said of the data with `Content-Range` (see `client::range_header`).
    pub range: Option<String>,
    pub http_version: HttpVersion,
    pub ip_family: IpFamily,
    /// `--resolve HOST:PORT:ADDR`: connect there for HOST:PORT instead of resolving.
    pub resolve: Vec<(String, std::net::SocketAddr)>,
    /// `-b FILE`, each of them in order (a `-b NAME=VALUE` string is a `Cookie` header instead).
    pub cookie_files: Vec<PathBuf>,
    /// `-c FILE`: where the cookies are written at the end ('-': standard output).
    pub cookie_jar: Option<PathBuf>,
    /// `--hsts FILE`: the HSTS cache, read at the start and written at the end (an empty path:
    /// in memory only).
    pub hsts: Option<PathBuf>,
    /// `--alt-svc FILE`: the alternative services cache, read at the start and written after
    /// each transfer (an empty path: in memory only, for one URL).
    pub alt_svc: Option<PathBuf>,
    /// `-j`: session cookies from `-b FILE` are dropped.
    pub junk_session: bool,
    /// `-n`, `--netrc-optional`, `--netrc-file`: read before the transfer by the app.
    pub netrc: Option<NetrcConfig>,
    /// `--service-name`: the Kerberos service Negotiate asks the server's ticket for (`None`:
    /// `HTTP`, RFC 4559 §4).
    pub service_name: Option<String>,
    /// `--delegation`, for the server's Negotiate (the same option as the proxy's).
    pub delegation: crate::auth::Delegation,
    /// The protocol, connection, TLS and diagnostics options (`--proto`, `--tlsv1.2`, …).
    pub conn: super::ConnConfig,
}

/// Where the origin credentials may come from a `.netrc` file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetrcConfig {
    /// `--netrc-file FILE`; `None`: `$HOME/.netrc`.
    pub file: Option<PathBuf>,
    /// The scheme options given (as for `-u`): allowed schemes, Basic first.
    pub schemes: (SchemeSet, bool),
    /// `--aws-sigv4`.
    pub sigv4: Option<crate::auth::sigv4::Spec>,
    /// The file's entries, once `app` has read it (for the hosts a redirect leads to).
    pub read: Option<std::sync::Arc<Netrc>>,
}

impl NetrcConfig {
    /// The origin credentials `netrc` gives for `url`: the entry of the user the URL names
    /// (`user@`; see [`Netrc::lookup_login`]), else the host's first entry with a login.
    pub fn origin_auth(&self, netrc: &Netrc, url: &url::Url) -> Option<OriginAuth> {
        let host = url.host_str().unwrap_or_default().trim_matches(['[', ']']);
        let url_user = percent_encoding::percent_decode_str(url.username()).decode_utf8_lossy();
        let (entry, user) = match url_user.as_ref() {
            "" => {
                let e = netrc.lookup(host)?;
                (e, e.login.clone()?)
            }
            named => (netrc.lookup_login(host, named)?, named.to_string()),
        };
        Some(OriginAuth {
            user,
            password: Some(entry.password.clone().unwrap_or_else(|| Secret::new(""))),
            schemes: self.schemes.0,
            preemptive_basic: self.schemes.1 && self.sigv4.is_none(),
            sigv4: self.sigv4.clone(),
        })
    }
}

/// One `machine` (or `default`) entry of a `.netrc` file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetrcEntry {
    /// `None` for `default`.
    pub machine: Option<String>,
    pub login: Option<String>,
    pub password: Option<Secret>,
}

/// A `.netrc` file's entries, as `client::netrc::parse_netrc` reads them, in file order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Netrc {
    pub entries: Vec<NetrcEntry>,
}

impl Netrc {
    /// The login and password for `host` (either may be missing).
    pub fn lookup(&self, host: &str) -> Option<&NetrcEntry> {
        self.find(host, |_| true)
    }

    /// The entry for `host` and the user `login` (a URL's `user@`): one whose login is `login`,
    /// or that names none. Another user's entry is never taken: its password is not `login`'s.
    pub fn lookup_login(&self, host: &str, login: &str) -> Option<&NetrcEntry> {
        self.find(host, |e| e.login.as_deref().is_none_or(|l| l == login))
    }

    fn find(&self, host: &str, fits: impl Fn(&NetrcEntry) -> bool) -> Option<&NetrcEntry> {
        self.entries
            .iter()
            .find(|e| e.machine.as_deref().is_some_and(|m| m.eq_ignore_ascii_case(host)) && fits(e))
            .or_else(|| self.entries.iter().find(|e| e.machine.is_none() && fits(e)))
    }
}

/// `--resolve HOST:PORT:ADDR` as reqwest can take it: one address per host name, whatever the
/// port (reqwest's overrides know no port), and port 0 so that each request still connects to
/// its own URL's port (a rule's port would otherwise replace the default one: `--resolve
/// h:443:…` sent `http://h/` to port 443). Of several rules for a host, the one for the first
/// URL's port if there is one, else the last given.
pub fn resolve_overrides(
    rules: &[(String, std::net::SocketAddr)],
    url: &url::Url,
) -> Vec<(String, std::net::SocketAddr)> {
    let first_host = url.host_str().unwrap_or("").trim_matches(['[', ']']).to_ascii_lowercase();
    let first_port = url.port_or_known_default();
    let mut out: Vec<(String, std::net::SocketAddr, bool)> = Vec::new();
    for (host, addr) in rules {
        let host = host.to_ascii_lowercase();
        let fits = host == first_host && Some(addr.port()) == first_port;
        let addr = std::net::SocketAddr::new(addr.ip(), 0);
        match out.iter_mut().find(|(h, _, _)| *h == host) {
            Some(kept) if !kept.2 || fits => *kept = (host, addr, fits),
            Some(_) => {}
            None => out.push((host, addr, fits)),
        }
    }
    out.into_iter().map(|(h, a, _)| (h, a)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Scheme;

    #[test]
    fn resolve_rules_keep_each_urls_port() {
        let rule = |h: &str, port: u16, ip: &str| {
            (h.to_string(), std::net::SocketAddr::new(ip.parse().unwrap(), port))
        };
        let u = |s: &str| url::Url::parse(s).unwrap();
        let got = |rules: &[(String, std::net::SocketAddr)], url: &str| -> Vec<String> {
            resolve_overrides(rules, &u(url)).into_iter().map(|(h, a)| format!("{h} {a}")).collect()
        };
        // The port is the URL's (0: reqwest's "the scheme's"), never the rule's.
        assert_eq!(got(&[rule("H.test", 443, "10.0.0.1")], "http://h.test/"), ["h.test 10.0.0.1:0"]);
        // Two rules for one host: the first URL's port picks; else the last one given.
        let two = [rule("h.test", 80, "10.0.0.1"), rule("h.test", 443, "10.0.0.2")];
        assert_eq!(got(&two, "http://h.test/"), ["h.test 10.0.0.1:0"]);
        assert_eq!(got(&two, "https://h.test/"), ["h.test 10.0.0.2:0"]);
        assert_eq!(got(&two, "https://other.test/"), ["h.test 10.0.0.2:0"]);
        assert_eq!(got(&two, "http://h.test:8080/"), ["h.test 10.0.0.2:0"]);
    }

    #[test]
    fn a_removed_authorization_header_takes_out_basic_and_signing_only() {
        let auth = |schemes, sigv4: Option<crate::auth::sigv4::Spec>| OriginAuth {
            user: "joe".into(),
            password: Some(Secret::new("pw")),
            schemes,
            preemptive_basic: true,
            sigv4,
        };
        let removed = ["x-other".to_string(), "authorization".to_string()];
        let basic = auth(SchemeSet::only(Scheme::Basic), None);
        assert!(basic.clone().minus_removed_header(&removed).is_none());
        assert!(basic.minus_removed_header(&removed[..1]).is_some_and(|a| a.preemptive_basic));
        let any = auth(SchemeSet::ANY, None).minus_removed_header(&removed).unwrap();
        assert!(!any.preemptive_basic && !any.schemes.contains(Scheme::Basic));
        assert!(any.schemes.contains(Scheme::Digest) && any.schemes.contains(Scheme::Ntlm));
        let spec = crate::auth::sigv4::Spec::parse("aws:amz:eu-west-1:s3").unwrap();
        assert!(auth(SchemeSet::ANY, Some(spec)).minus_removed_header(&removed).is_none());
    }
}
