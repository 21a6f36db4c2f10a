//! clap arguments for curl's protocol, connection, TLS and diagnostics options (issue 11:
//! `--proto`, `--tlsv1.2`, `--http1.0`, `-6`, `-N`, `-q`, `-g`, `--connect-to`,
//! `--unix-socket`, `--capath`, `--pinnedpubkey`, `--crlfile`, `--ciphers`, `--curves`, `-E`, `-p`, `--proxy-header`, `--trace`, …), flattened into
//! the curl connection options, and their conversion into [`ConnConfig`]. Values are checked
//! by clap's value parsers, so the conversion cannot fail.

use super::{Header, Seconds};
use crate::config::{
    ClientCert, ConnConfig, ConnectTo, Interface, PinnedKey, Protocols, TlsTuning, TlsVersion, TraceConfig,
};
use crate::secret::Secret;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Connection")]
pub struct ConnOpts {
    /// Only use these protocols for the URL: '=https', '-all,+https', 'all,-http', …
    ///
    /// As curl: comma-separated; '+NAME' (or NAME) adds, '-NAME' removes, '=NAME' allows only
    /// NAME; 'all' is every protocol. A URL whose scheme is left out fails with exit 1, as in
    /// curl. toll speaks http and https; other names are accepted and change nothing.
    #[arg(long, value_name = "PROTOCOLS", value_parser = parse_protocols, allow_hyphen_values = true)]
    pub proto: Option<Protocols>,

    /// Only follow redirects (-L) to these protocols (same syntax as --proto).
    #[arg(long = "proto-redir", value_name = "PROTOCOLS", value_parser = parse_protocols, allow_hyphen_values = true)]
    pub proto_redir: Option<Protocols>,

    /// Refuse a URL (also one redirected to) that holds a user name or password: exit 67.
    #[arg(long = "disallow-username-in-url")]
    pub disallow_username_in_url: bool,

    /// The scheme for a URL given without one (default http).
    #[arg(long = "proto-default", value_name = "PROTOCOL", value_parser = parse_proto_default)]
    pub proto_default: Option<String>,

    /// Use TLS 1.0 or later with the server (toll's TLS speaks 1.2 and 1.3).
    #[arg(short = '1', long = "tlsv1", overrides_with_all = ["tlsv1_0", "tlsv1_1", "tlsv1_2", "tlsv1_3"])]
    pub tlsv1: bool,

    /// Use TLS 1.0 or later.
    #[arg(long = "tlsv1.0", overrides_with_all = ["tlsv1", "tlsv1_1", "tlsv1_2", "tlsv1_3"])]
    pub tlsv1_0: bool,

    /// Use TLS 1.1 or later.
    #[arg(long = "tlsv1.1", overrides_with_all = ["tlsv1", "tlsv1_0", "tlsv1_2", "tlsv1_3"])]
    pub tlsv1_1: bool,

    /// Use TLS 1.2 or later.
    #[arg(long = "tlsv1.2", overrides_with_all = ["tlsv1", "tlsv1_0", "tlsv1_1", "tlsv1_3"])]
    pub tlsv1_2: bool,

    /// Use TLS 1.3.
    #[arg(long = "tlsv1.3", overrides_with_all = ["tlsv1", "tlsv1_0", "tlsv1_1", "tlsv1_2"])]
    pub tlsv1_3: bool,

    /// Use at most this TLS version: 1.0, 1.1, 1.2, 1.3 or default.
    ///
    /// toll's TLS cannot go below 1.2: a maximum of 1.0 or 1.1 fails an https:// transfer (exit 35).
    #[arg(long = "tls-max", value_name = "VERSION", value_parser = parse_tls_max)]
    pub tls_max: Option<TlsMax>,

    /// Require TLS (accepted as curl does for HTTP: it applies to protocols that upgrade to TLS).
    #[arg(long = "ssl-reqd")]
    pub ssl_reqd: bool,

    /// Try TLS (accepted as curl does for HTTP, where it changes nothing).
    #[arg(long = "ssl")]
    pub ssl: bool,

    /// Connect to the server over IPv6 only (direct connections; a proxy is reached as usual).
    #[arg(short = '6', long = "ipv6", conflicts_with = "ipv4")]
    pub ipv6: bool,

    /// Use HTTP/1.0.
    #[arg(short = '0', long = "http1.0", overrides_with_all = ["http1_1", "http2", "http2_prior_knowledge"])]
    pub http1_0: bool,

    /// Write the body to standard output as it arrives (no buffering).
    #[arg(short = 'N', long = "no-buffer")]
    pub no_buffer: bool,

    /// No progress bar (error messages are still shown, unlike -s).
    #[arg(long = "no-progress-meter")]
    pub no_progress_meter: bool,

    /// Do not read curl's default config file (toll never reads ~/.curlrc: accepted for curl's sake).
    #[arg(short = 'q', long = "disable")]
    pub disable: bool,

    /// Do not decode the body: turns --compressed's decompression off.
    ///
    /// A chunked body is still de-chunked (curl's --raw leaves the chunk framing in).
    #[arg(long = "raw")]
    pub raw: bool,

    /// Take '{}' and '[]' in the URL literally (no URL globbing: without -g, 'x/{a,b}' and
    /// 'x/[1-3]' stand for several URLs, and '#1' in -o for the first glob's value).
    #[arg(short = 'g', long = "globoff")]
    pub globoff: bool,

    /// For HOST1:PORT1, connect to HOST2:PORT2 instead. Repeatable.
    ///
    /// Empty parts match any host or port (HOST1, PORT1) or keep the URL's (HOST2, PORT2); the
    /// first rule that matches and gives HOST2 or PORT2 decides. Through an HTTP proxy the
    /// CONNECT names HOST2:PORT2. The Host header and TLS name stay HOST1's.
    #[arg(long = "connect-to", value_name = "HOST1:PORT1:HOST2:PORT2", value_parser = parse_connect_to)]
    pub connect_to: Vec<ConnectTo>,

    /// Leave from this interface (its address) or this address of the machine: connections to
    /// the server, or to the proxy.
    ///
    /// 'if!NAME' names an interface, 'host!ADDRESS' an address (an IP address, or localhost);
    /// otherwise an IP address is an address and anything else an interface. An address the
    /// machine does not have, or an interface it does not have, is exit 45.
    #[arg(long = "interface", value_name = "NAME", value_parser = parse_interface)]
    pub interface: Option<Interface>,

    /// Connect through this Unix domain socket instead of TCP (no proxy is used).
    #[arg(long = "unix-socket", value_name = "PATH", conflicts_with = "abstract_unix_socket")]
    pub unix_socket: Option<PathBuf>,

    /// Like --unix-socket, in the abstract namespace (Linux).
    #[arg(long = "abstract-unix-socket", value_name = "PATH")]
    pub abstract_unix_socket: Option<PathBuf>,

    /// Also trust the CA certificates in the PEM files of DIR (with --cacert's).
    #[arg(long, value_name = "DIR")]
    pub capath: Option<PathBuf>,

    /// The server's public key must be this one: 'sha256//BASE64' (several joined by ';'), or a
    /// FILE with the key (PEM or DER). Checked with -k too; a mismatch is exit 90.
    #[arg(long = "pinnedpubkey", value_name = "HASHES|FILE", value_parser = parse_pinned_key)]
    pub pinned_key: Option<PinnedKey>,

    /// Check the server's certificate against the CRLs in FILE (PEM): revoked, or no CRL of its
    /// issuer, is exit 60 (only the server's own certificate is checked, as curl does).
    #[arg(long, value_name = "FILE")]
    pub crlfile: Option<PathBuf>,

    /// TLS 1.2 cipher suites to offer, in this order: OpenSSL names joined by ':'
    /// (ECDHE-RSA-AES128-GCM-SHA256:…) or OpenSSL's words (HIGH:!aNULL, ECDHE+AESGCM).
    ///
    /// Names toll's TLS cannot do are skipped, as OpenSSL skips unknown ones; none left is exit 59.
    #[arg(long, value_name = "LIST", allow_hyphen_values = true)]
    pub ciphers: Option<String>,

    /// TLS 1.3 cipher suites to offer, in this order: TLS_AES_128_GCM_SHA256,
    /// TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256 joined by ':' (none usable: exit 59).
    #[arg(long = "tls13-ciphers", value_name = "LIST", allow_hyphen_values = true)]
    pub tls13_ciphers: Option<String>,

    /// Key exchange groups to offer, in this order: X25519, P-256 (prime256v1, secp256r1), P-384
    /// (secp384r1) joined by ':'. A name OpenSSL does not know is exit 59, as in curl.
    #[arg(long, value_name = "LIST", allow_hyphen_values = true)]
    pub curves: Option<String>,

    /// Client certificate for the server (PEM), with the key in the same file unless --key.
    ///
    /// ':PASSWORD' is the key's passphrase; toll cannot use an encrypted key (exit 58).
    #[arg(short = 'E', long = "cert", value_name = "CERT[:PASSWORD]")]
    pub cert: Option<CertArg>,

    /// The private key for -E (PEM).
    #[arg(long, value_name = "KEY")]
    pub key: Option<PathBuf>,

    /// The type of -E's file: PEM (the only one toll reads).
    #[arg(long = "cert-type", value_name = "TYPE", value_parser = parse_pem_type)]
    pub cert_type: Option<String>,

    /// The type of --key's file: PEM (the only one toll reads).
    #[arg(long = "key-type", value_name = "TYPE", value_parser = parse_pem_type)]
    pub key_type: Option<String>,

    /// Tunnel http:// URLs through the proxy with CONNECT too (https:// always is).
    #[arg(short = 'p', long = "proxytunnel")]
    pub proxytunnel: bool,

    /// Extra header for the HTTP proxy only, 'Name: value' (never sent to a server). Repeatable.
    #[arg(long = "proxy-header", value_name = "HEADER")]
    pub proxy_headers: Vec<Header>,

    /// With -i, -I and -D, leave out the proxy's answer to the CONNECT of an https:// URL
    /// ('HTTP/1.1 200 Connection established'), which is printed before the server's head.
    #[arg(long = "suppress-connect-headers")]
    pub suppress_connect_headers: bool,

    /// Write a trace of the transfer to FILE ('-': standard output), heads and body bytes as a
    /// hex dump; secrets are redacted.
    // The last of --trace and --trace-ascii wins, as in curl (review F: both were exit 2).
    #[arg(long, value_name = "FILE", overrides_with = "trace_ascii")]
    pub trace: Option<PathBuf>,

    /// Like --trace, as text without the hex dump.
    #[arg(long = "trace-ascii", value_name = "FILE", overrides_with = "trace")]
    pub trace_ascii: Option<PathBuf>,

    /// Start every --trace line with the time of day.
    #[arg(long = "trace-time")]
    pub trace_time: bool,

    /// Accepted for curl's sake (toll's -i output has no styling).
    #[arg(long = "styled-output", overrides_with = "no_styled_output")]
    pub styled_output: bool,

    /// Accepted for curl's sake (toll's -i output has no styling).
    #[arg(long = "no-styled-output", overrides_with = "styled_output")]
    pub no_styled_output: bool,

    /// Accepted: toll sets TCP_NODELAY on every connection already.
    #[arg(long = "tcp-nodelay")]
    pub tcp_nodelay: bool,

    /// Send TCP keepalive probes after this many seconds idle (toll's default: 15).
    #[arg(long = "keepalive-time", value_name = "SECONDS")]
    pub keepalive_time: Option<Seconds>,

    /// Send no TCP keepalive probes.
    #[arg(long = "no-keepalive")]
    pub no_keepalive: bool,

    /// How long a request body over 1 MiB sent through a proxy waits for its '100 Continue' (or
    /// 407) before it is sent anyway (default 1).
    #[arg(long = "expect100-timeout", value_name = "SECONDS")]
    pub expect100_timeout: Option<Seconds>,

    /// Accepted: TCP Fast Open only saves a round trip when connecting; toll connects normally.
    #[arg(long = "tcp-fastopen")]
    pub tcp_fastopen: bool,

    /// Accepted: certificate revocation settings of curl on Windows (Schannel); curl elsewhere
    /// does not check revocation, nor does toll, so there is nothing to turn off.
    #[arg(long = "ssl-no-revoke")]
    pub ssl_no_revoke: bool,

    /// Accepted, as --ssl-no-revoke.
    #[arg(long = "ssl-revoke-best-effort")]
    pub ssl_revoke_best_effort: bool,

    /// Accepted: curl on Windows finds a client certificate in the system store with it;
    /// toll sends one only with -E/--cert, as curl elsewhere.
    #[arg(long = "ssl-auto-client-cert")]
    pub ssl_auto_client_cert: bool,

    /// Accepted: the https:// proxy's twin of --ssl-auto-client-cert (Windows only in curl).
    #[arg(long = "proxy-ssl-auto-client-cert", hide_short_help = true)]
    pub proxy_ssl_auto_client_cert: bool,

    /// Accepted (curl 8.2): check servers against the operating system's CA store, which toll
    /// does unless --cacert or --capath give the roots (curl's option is for its Windows builds).
    #[arg(long = "ca-native")]
    pub ca_native: bool,

    /// Accepted, as --ca-native, for https:// proxies (unless --proxy-cacert/--proxy-capath).
    #[arg(long = "proxy-ca-native", hide_short_help = true)]
    pub proxy_ca_native: bool,

    /// Ignored with a warning, as curl 7.88 ignores it: no TLS library still speaks SSLv2.
    #[arg(short = '2', long = "sslv2", hide_short_help = true)]
    pub sslv2: bool,

    /// Ignored with a warning, as curl 7.88 ignores it: no TLS library still speaks SSLv3.
    #[arg(short = '3', long = "sslv3", hide_short_help = true)]
    pub sslv3: bool,

    /// Accepted and ignored, as curl 7.88 ignores it: toll's TLS takes its randomness from the
    /// operating system.
    #[arg(long = "random-file", value_name = "FILE", hide_short_help = true)]
    pub random_file: Option<PathBuf>,

    /// Accepted and ignored, as curl 7.88 ignores it (see --random-file).
    #[arg(long = "egd-file", value_name = "FILE", hide_short_help = true)]
    pub egd_file: Option<PathBuf>,

    /// The passphrase of -E's key, as -E CERT:PASSWORD; toll cannot use an encrypted key (exit 58).
    #[arg(long = "pass", value_name = "PHRASE", value_parser = passphrase, hide_short_help = true)]
    pub pass: Option<Secret>,

    /// Accepted: TLS False Start (data before the handshake ends) is not used, as by curl 7.88
    /// with OpenSSL.
    #[arg(long = "false-start", hide_short_help = true)]
    pub false_start: bool,

    /// Accepted: the BEAST workaround concerns TLS 1.0, which toll does not speak.
    #[arg(long = "ssl-allow-beast", hide_short_help = true)]
    pub ssl_allow_beast: bool,

    /// Offer no ALPN in the TLS handshake with the server: no HTTP/2 over TLS.
    #[arg(long = "no-alpn", hide_short_help = true)]
    pub no_alpn: bool,

    /// Accepted: NPN, ALPN's predecessor, is never offered.
    #[arg(long = "no-npn", hide_short_help = true)]
    pub no_npn: bool,

    /// Accepted: toll does not ask for a compressed transfer coding (TE: gzip); the body written
    /// is the same.
    #[arg(long = "tr-encoding", hide_short_help = true)]
    pub tr_encoding: bool,
}

/// A passphrase (`--pass`, `--proxy-pass`): a secret from the start.
pub(super) fn passphrase(s: &str) -> Result<Secret, String> {
    Ok(Secret::new(s))
}

/// `-E CERT[:PASSWORD]`: the password is a secret from the start (clap never echoes it).
#[derive(Clone, Debug)]
pub struct CertArg {
    pub path: PathBuf,
    pub password: Option<Secret>,
}

impl std::str::FromStr for CertArg {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // As curl: the first ':' not escaped with '\' splits (a Windows drive letter aside).
        let mut path = String::new();
        let mut chars = s.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' if matches!(chars.peek(), Some((_, ':'))) => {
                    path.push(':');
                    chars.next();
                }
                ':' => {
                    return Ok(CertArg { path: path.into(), password: Some(Secret::new(&s[i + 1..])) });
                }
                c => path.push(c),
            }
        }
        Ok(CertArg { path: path.into(), password: None })
    }
}

/// curl's protocol-list syntax (`--proto`, `--proto-redir`), starting from "all".
/// `--interface`, as curl reads it: `if!NAME`, `host!ADDRESS`, or a bare IP address or name.
/// Host names other than `localhost` are not looked up: give the address.
pub fn parse_interface(s: &str) -> Result<Interface, String> {
    let address = |a: &str| -> Option<std::net::IpAddr> {
        if a.eq_ignore_ascii_case("localhost") {
            return Some(std::net::IpAddr::from([127, 0, 0, 1]));
        }
        a.trim_start_matches('[').trim_end_matches(']').parse().ok()
    };
    let name = |n: &str| -> Result<Interface, String> {
        // IFNAMSIZ is 16 with its NUL.
        if n.is_empty() || n.len() > 15 || n.chars().any(|c| c == '/' || c.is_whitespace() || c.is_control())
        {
            return Err(format!("{:?} is not an interface name", crate::term::sanitize(n)));
        }
        Ok(Interface::Name(n.to_string()))
    };
    if let Some(n) = s.strip_prefix("if!") {
        return name(n);
    }
    if let Some(h) = s.strip_prefix("host!") {
        return address(h).map(Interface::Address).ok_or_else(|| {
            format!(
                "{:?} is not an IP address (toll looks up no host name here but localhost)",
                crate::term::sanitize(h)
            )
        });
    }
    match address(s) {
        Some(ip) => Ok(Interface::Address(ip)),
        None => name(s),
    }
}

pub fn parse_protocols(s: &str) -> Result<Protocols, String> {
    let mut set = Protocols::ALL;
    for token in s.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let (op, name) = match token.as_bytes()[0] {
            b'+' | b'-' | b'=' => (token.as_bytes()[0], &token[1..]),
            _ => (b'+', token),
        };
        let name = name.to_ascii_lowercase();
        let named = match name.as_str() {
            "all" => Protocols::ALL,
            "http" => Protocols { http: true, https: false },
            "https" => Protocols { http: false, https: true },
            // curl's other protocols: toll has none of them to allow or forbid.
            n if n.chars().all(|c| c.is_ascii_alphanumeric()) && !n.is_empty() => Protocols::NONE,
            _ => {
                return Err(format!("'{token}' is not a protocol (expected e.g. '=https' or '-all,+https')"))
            }
        };
        set = match op {
            b'=' => named,
            b'-' => Protocols { http: set.http && !named.http, https: set.https && !named.https },
            _ => Protocols { http: set.http || named.http, https: set.https || named.https },
        };
    }
    Ok(set)
}

/// `--pinnedpubkey`: `sha256//BASE64[;sha256//BASE64…]` (each a SHA-256 digest), or a file.
pub fn parse_pinned_key(s: &str) -> Result<PinnedKey, String> {
    use base64::Engine;
    if !s.starts_with("sha256//") {
        return if s.is_empty() {
            Err("an empty value".into())
        } else {
            Ok(PinnedKey::File(PathBuf::from(s)))
        };
    }
    // As curl compares each entry's text with the key's digest: an entry that is no SHA-256
    // digest in base64 matches no key (none left: the transfer fails with 90, as curl's), and
    // the others still count.
    let digest = |piece: &str| -> Option<[u8; 32]> {
        let b64 = piece.trim().strip_prefix("sha256//")?;
        base64::engine::general_purpose::STANDARD.decode(b64).ok()?.try_into().ok()
    };
    Ok(PinnedKey::Sha256(s.split(';').filter_map(digest).collect()))
}

fn parse_proto_default(s: &str) -> Result<String, String> {
    let p = s.to_ascii_lowercase();
    if p.is_empty() || !p.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(format!("'{s}' is not a protocol name"));
    }
    Ok(p)
}

/// `--tls-max`'s value: a version, or `default` (None: no maximum).
#[derive(Clone, Copy, Debug)]
pub struct TlsMax(Option<TlsVersion>);

/// `--tls-max`: a version, or `default` (no maximum).
fn parse_tls_max(s: &str) -> Result<TlsMax, String> {
    Ok(TlsMax(Some(match s {
        "1.0" => TlsVersion::V1_0,
        "1.1" => TlsVersion::V1_1,
        "1.2" => TlsVersion::V1_2,
        "1.3" => TlsVersion::V1_3,
        "default" => return Ok(TlsMax(None)),
        _ => return Err(format!("'{s}' is not a TLS version (1.0, 1.1, 1.2, 1.3 or default)")),
    })))
}

pub(super) fn parse_pem_type(s: &str) -> Result<String, String> {
    if s.eq_ignore_ascii_case("pem") {
        Ok("PEM".into())
    } else {
        Err(format!("'{s}': toll reads PEM certificates and keys only (convert with openssl)"))
    }
}

/// `HOST1:PORT1:HOST2:PORT2`; a host may be a bracketed IPv6 literal.
pub fn parse_connect_to(s: &str) -> Result<ConnectTo, String> {
    let bad = |why: &str| format!("'{s}' is not HOST1:PORT1:HOST2:PORT2 ({why})");
    let mut rest = s;
    let mut parts = Vec::new();
    for _ in 0..3 {
        let (part, after) = if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']').ok_or_else(|| bad("unclosed '['"))?;
            let after = r[end + 1..].strip_prefix(':').ok_or_else(|| bad("':' expected after ']'"))?;
            (&r[..end], after)
        } else {
            rest.split_once(':').ok_or_else(|| bad("four parts expected"))?
        };
        parts.push(part);
        rest = after;
    }
    let to_port = rest.trim_start_matches('[').trim_end_matches(']');
    let port = |p: &str| -> Result<Option<u16>, String> {
        if p.is_empty() {
            Ok(None)
        } else {
            p.parse().map(Some).map_err(|_| bad(&format!("'{p}' is not a port")))
        }
    };
    let host = |h: &str| (!h.is_empty()).then(|| h.to_ascii_lowercase());
    Ok(ConnectTo {
        from_host: host(parts[0]),
        from_port: port(parts[1])?,
        to_host: host(parts[2]),
        to_port: port(to_port)?,
    })
}

impl ConnOpts {
    /// `--compressed`: compression is asked for with curl's `Accept-Encoding` (unless -H sets one
    /// or takes it out), the codings toll undoes (`client::decode`); with `--raw` too, where
    /// nothing is decoded.
    pub fn accept_encoding(compressed: bool, headers: &mut Vec<(String, String)>) {
        if compressed && !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("accept-encoding")) {
            headers.push(("Accept-Encoding".into(), "deflate, gzip, br, zstd".into()));
        }
    }

    /// The plain configuration. `ipv4`/`http_newer` come from the neighbouring curl options
    /// (`-4`, `--http1.1`/`--http2`), which these override only when given later (clap decides).
    pub fn config(&self) -> ConnConfig {
        let tls_min = if self.tlsv1_3 {
            Some(TlsVersion::V1_3)
        } else if self.tlsv1_2 {
            Some(TlsVersion::V1_2)
        } else if self.tlsv1_1 {
            Some(TlsVersion::V1_1)
        } else if self.tlsv1 || self.tlsv1_0 {
            Some(TlsVersion::V1_0)
        } else {
            None
        };
        let protocols = self.proto.unwrap_or_default();
        let redir = self.proto_redir.unwrap_or_default();
        let trace = match (&self.trace, &self.trace_ascii) {
            (Some(f), _) => Some(TraceConfig { file: f.clone(), ascii: false, time: self.trace_time }),
            (None, Some(f)) => Some(TraceConfig { file: f.clone(), ascii: true, time: self.trace_time }),
            (None, None) => None,
        };
        let unix_socket = self.unix_socket.clone().or_else(|| {
            // An abstract socket's name starts with a NUL byte (Linux).
            self.abstract_unix_socket.as_ref().map(|p| {
                let mut name = std::ffi::OsString::from("\0");
                name.push(p.as_os_str());
                PathBuf::from(name)
            })
        });
        ConnConfig {
            disallow_username: self.disallow_username_in_url,
            protocols,
            // A redirect must be allowed by both (curl checks both lists).
            redir_protocols: Protocols {
                http: redir.http && protocols.http,
                https: redir.https && protocols.https,
            },
            tls_min,
            tls_max: self.tls_max.and_then(|m| m.0),
            http10: self.http1_0,
            ipv6_only: self.ipv6,
            no_buffer: self.no_buffer,
            no_progress_meter: self.no_progress_meter,
            connect_to: self.connect_to.clone(),
            unix_socket,
            capath: self.capath.clone(),
            pinned_key: self.pinned_key.clone(),
            tls: TlsTuning {
                ciphers: self.ciphers.clone(),
                tls13_ciphers: self.tls13_ciphers.clone(),
                curves: self.curves.clone(),
                crlfile: self.crlfile.clone(),
            },
            client_cert: self.cert.as_ref().map(|c| ClientCert {
                cert: c.path.clone(),
                key: self.key.clone(),
                password: c.password.clone().or_else(|| self.pass.clone()),
            }),
            proxytunnel: self.proxytunnel,
            // `--proxy-header 'Name:'` sends no such header (toll adds none of its own there).
            proxy_headers: self
                .proxy_headers
                .iter()
                .filter(|h| !h.remove)
                .map(|h| (h.name.clone(), h.value.clone()))
                .collect(),
            proxy_no_user_agent: self
                .proxy_headers
                .iter()
                .any(|h| h.remove && h.name.eq_ignore_ascii_case("user-agent")),
            suppress_connect_headers: self.suppress_connect_headers,
            trace,
            keepalive: self.keepalive_time.map(|s| s.0).filter(|d| !d.is_zero()),
            interface: self.interface.clone(),
            no_keepalive: self.no_keepalive,
            no_alpn: self.no_alpn,
            // Set from the proxy options' --no-sessionid (one option for both, as curl's).
            no_sessionid: false,
            expect100_timeout: self.expect100_timeout.map(|s| s.0),
            // `doh_opts::DohOpts`, flattened beside these, fills it in.
            doh: None,
        }
    }
}

/// curl's CA environment: with neither `--cacert` nor `--capath` (nor `-k`), `CURL_CA_BUNDLE`
/// names the CA file; else `SSL_CERT_DIR` the CA directory and `SSL_CERT_FILE` the CA file.
/// Returns the CA file to use and sets `conn.capath`. `env` looks up a variable (empty = unset).
pub fn ca_from_env(
    cacert: Option<PathBuf>,
    conn: &mut ConnConfig,
    insecure: bool,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<PathBuf> {
    if cacert.is_some() || conn.capath.is_some() || insecure {
        return cacert;
    }
    let var = |k: &str| env(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(bundle) = var("CURL_CA_BUNDLE") {
        return Some(bundle);
    }
    conn.capath = var("SSL_CERT_DIR");
    var("SSL_CERT_FILE")
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[arg(short = '4', long = "ipv4", id = "ipv4")]
        _ipv4: bool,
        #[arg(long = "http1.1", id = "http1_1")]
        _http1_1: bool,
        #[arg(long = "http2", id = "http2")]
        _http2: bool,
        #[arg(long = "http2-prior-knowledge", id = "http2_prior_knowledge")]
        _http2_prior_knowledge: bool,
        #[command(flatten)]
        c: ConnOpts,
    }

    fn parse(args: &[&str]) -> ConnConfig {
        T::try_parse_from(std::iter::once("t").chain(args.iter().copied())).unwrap().c.config()
    }

    #[test]
    fn protocol_lists_as_curl_reads_them() {
        let p = |s: &str| parse_protocols(s).unwrap();
        assert_eq!(p("=https"), Protocols { http: false, https: true });
        assert_eq!(p("-all,+https"), Protocols { http: false, https: true });
        assert_eq!(p("all,-http"), Protocols { http: false, https: true });
        assert_eq!(p("-http"), Protocols { http: false, https: true });
        assert_eq!(p("https"), Protocols::ALL, "adding to 'all' changes nothing");
        assert_eq!(p("=foo"), Protocols::NONE, "an unknown name leaves nothing allowed");
        assert_eq!(p("=https,http"), Protocols::ALL);
        assert_eq!(p("=HTTPS,+ftp"), Protocols { http: false, https: true });
        assert_eq!(p("-all"), Protocols::NONE);
        assert_eq!(p(""), Protocols::ALL);
        assert!(parse_protocols("=ht tp").is_err());
        assert!(parse_protocols("+").is_err());
    }

    #[test]
    fn redirect_protocols_need_both_lists() {
        let c = parse(&["--proto", "=https"]);
        assert_eq!(c.redir_protocols, Protocols { http: false, https: true });
        let c = parse(&["--proto-redir", "-http"]);
        assert_eq!(
            (c.protocols, c.redir_protocols),
            (Protocols::ALL, Protocols { http: false, https: true })
        );
    }

    #[test]
    fn curls_digit_options() {
        assert_eq!(parse(&["-1"]).tls_min, Some(TlsVersion::V1_0));
        assert!(parse(&["-0"]).http10 && !parse(&["-0", "--http1.1"]).http10);
        // -2 and -3 are read (and only warned about, by the app), as curl 7.88 does.
        assert!(T::try_parse_from(["t", "-2", "-3"]).is_ok());
    }

    #[test]
    fn tls_versions_and_the_last_flag_wins() {
        assert_eq!(parse(&["--tlsv1.2"]).tls_min, Some(TlsVersion::V1_2));
        assert_eq!(parse(&["--tlsv1.3", "--tlsv1"]).tls_min, Some(TlsVersion::V1_0));
        assert_eq!(parse(&["--tlsv1", "--tlsv1.3"]).tls_min, Some(TlsVersion::V1_3));
        assert_eq!(parse(&["--tls-max", "1.2"]).tls_max, Some(TlsVersion::V1_2));
        assert_eq!(parse(&["--tls-max", "default"]).tls_max, None);
        assert!(T::try_parse_from(["t", "--tls-max", "9"]).is_err());
        assert!(T::try_parse_from(["t", "--cert-type", "P12"]).is_err());
        assert!(T::try_parse_from(["t", "--cert-type", "pem", "--key-type", "PEM"]).is_ok());
        assert!(T::try_parse_from(["t", "-4", "-6"]).is_err());
    }

    #[test]
    fn connect_to_parts() {
        let c = parse_connect_to("example.com:443:127.0.0.1:443").unwrap();
        assert_eq!(
            c,
            ConnectTo {
                from_host: Some("example.com".into()),
                from_port: Some(443),
                to_host: Some("127.0.0.1".into()),
                to_port: Some(443)
            }
        );
        let c = parse_connect_to("::[::1]:").unwrap();
        assert_eq!(
            c,
            ConnectTo { from_host: None, from_port: None, to_host: Some("::1".into()), to_port: None }
        );
        for bad in ["a:1:b", "a:x:b:1", "a:1:b:99999", "[::1:1:b:2"] {
            assert!(parse_connect_to(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn pinned_keys_are_digests_or_a_file() {
        let zeros = "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
        assert_eq!(parse_pinned_key(zeros), Ok(PinnedKey::Sha256(vec![[0; 32]])));
        let two = format!("{zeros}; sha256//{}", "/".repeat(42) + "8=");
        let Ok(PinnedKey::Sha256(d)) = parse_pinned_key(&two) else { panic!("{two}") };
        assert_eq!((d.len(), d[1][0], d[1][31]), (2, 0xff, 0xff));
        assert_eq!(parse_pinned_key("key.pem"), Ok(PinnedKey::File("key.pem".into())));
        assert!(parse_pinned_key("").is_err());
        // An entry that is no digest matches no key, as curl compares the text: the others count,
        // and with none left nothing matches (exit 90 when the transfer starts).
        for (list, left) in [
            ("sha256//AAAA".to_string(), 0),
            ("sha256//not base64!".to_string(), 0),
            (format!("{zeros};key.pem"), 1),
            (format!("{zeros};"), 1),
            (format!("sha256//xxxx=;{zeros}"), 1),
        ] {
            let Ok(PinnedKey::Sha256(d)) = parse_pinned_key(&list) else { panic!("{list}") };
            assert_eq!(d.len(), left, "{list}");
        }
    }

    #[test]
    fn cert_password_is_split_off_and_secret() {
        let c: CertArg = "client.pem:pa:ss".parse().unwrap();
        assert_eq!(c.path, PathBuf::from("client.pem"));
        assert_eq!(c.password.as_ref().map(Secret::expose), Some("pa:ss"));
        assert!(!format!("{c:?}").contains("pa:ss"));
        let c: CertArg = r"dir\:x.pem".parse().unwrap();
        assert_eq!((c.path, c.password.is_none()), (PathBuf::from("dir:x.pem"), true));
        let cfg = parse(&["-E", "c.pem:pw", "--key", "k.pem"]);
        let cc = cfg.client_cert.unwrap();
        assert_eq!((cc.cert, cc.key), (PathBuf::from("c.pem"), Some(PathBuf::from("k.pem"))));
    }

    #[test]
    fn ca_environment_as_curl_reads_it() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
        };
        let all = env(&[("CURL_CA_BUNDLE", "b.pem"), ("SSL_CERT_DIR", "d"), ("SSL_CERT_FILE", "f.pem")]);
        let mut c = ConnConfig::default();
        assert_eq!(ca_from_env(None, &mut c, false, &all), Some("b.pem".into()));
        assert_eq!(c.capath, None);
        let ssl = env(&[("CURL_CA_BUNDLE", ""), ("SSL_CERT_DIR", "d"), ("SSL_CERT_FILE", "f.pem")]);
        assert_eq!(ca_from_env(None, &mut c, false, &ssl), Some("f.pem".into()));
        assert_eq!(c.capath, Some("d".into()));
        let mut c = ConnConfig::default();
        assert_eq!(ca_from_env(Some("given.pem".into()), &mut c, false, &all), Some("given.pem".into()));
        assert_eq!(ca_from_env(None, &mut c, true, &all), None, "-k: no CA is read");
        c.capath = Some("given".into());
        assert_eq!(ca_from_env(None, &mut c, false, &all), None);
        assert_eq!(c.capath, Some("given".into()));
    }

    #[test]
    fn the_rest() {
        let c = parse(&[
            "-N",
            "--no-progress-meter",
            "--http1.0",
            "-6",
            "--proxy-header",
            "X-P: 1",
            "--trace-ascii",
            "t.txt",
            "--trace-time",
            "--keepalive-time",
            "30",
            "--abstract-unix-socket",
            "sock",
        ]);
        assert!(c.no_buffer && c.no_progress_meter && c.http10 && c.ipv6_only);
        assert_eq!(c.proxy_headers, vec![("X-P".into(), "1".into())]);
        assert_eq!(c.trace, Some(TraceConfig { file: "t.txt".into(), ascii: true, time: true }));
        assert_eq!(c.keepalive, Some(std::time::Duration::from_secs(30)));
        assert_eq!(c.unix_socket, Some(PathBuf::from("\0sock")));
        // The last of --trace and --trace-ascii wins, as in curl.
        let last = |a: &[&str]| parse(a).trace.map(|t| (t.file, t.ascii));
        assert_eq!(last(&["--trace", "a", "--trace-ascii", "b"]), Some(("b".into(), true)));
        assert_eq!(last(&["--trace-ascii", "b", "--trace", "a"]), Some(("a".into(), false)));
        assert!(T::try_parse_from([
            "t",
            "-q",
            "-g",
            "--raw",
            "--ssl-reqd",
            "--tcp-nodelay",
            "--tcp-fastopen",
            "--ssl-no-revoke",
            "--ssl-revoke-best-effort",
            "--ssl-auto-client-cert",
            "--proxy-ssl-auto-client-cert",
            "--random-file",
            "f",
            "--egd-file",
            "f",
            "--false-start",
            "--ssl-allow-beast",
            "--no-npn",
            "--tr-encoding"
        ])
        .is_ok());
    }

    #[test]
    fn interface_is_read_as_curl_reads_it() {
        let ip = |s: &str| Interface::Address(s.parse().unwrap());
        assert_eq!(parse_interface("127.0.0.2"), Ok(ip("127.0.0.2")));
        assert_eq!(parse_interface("::1"), Ok(ip("::1")));
        assert_eq!(parse_interface("[::1]"), Ok(ip("::1")));
        assert_eq!(parse_interface("host!localhost"), Ok(ip("127.0.0.1")));
        assert_eq!(parse_interface("eth0"), Ok(Interface::Name("eth0".into())));
        assert_eq!(parse_interface("if!127.0.0.1"), Ok(Interface::Name("127.0.0.1".into())));
        for bad in ["", "if!", "host!proxy.corp", "a/b", "sixteen-bytes-xx", "e\u{1b}[31m"] {
            let e = parse_interface(bad).unwrap_err();
            assert!(!e.contains('\u{1b}'), "{e}");
        }
    }
}
