//! Plain configuration for curl's protocol, connection, TLS and diagnostics options (issue 11:
//! `--proto`, `--tlsv1.x`/`--tls-max`, `--http1.0`, `--connect-to`, `--unix-socket`,
//! `--capath`, `-E/--cert`, `--proxy-header`, `--trace`, …): what `cli::conn_opts` resolves
//! them to, once.

use crate::secret::Secret;
use std::path::PathBuf;
use std::time::Duration;

/// Which URL schemes a transfer may use (`--proto`) or be redirected to (`--proto-redir`).
/// toll speaks only http and https, so only those two are tracked; curl's other protocol names
/// are accepted and change nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Protocols {
    pub http: bool,
    pub https: bool,
}

impl Protocols {
    pub const ALL: Protocols = Protocols { http: true, https: true };
    pub const NONE: Protocols = Protocols { http: false, https: false };

    pub fn allows(&self, scheme: &str) -> bool {
        match scheme {
            "http" => self.http,
            "https" => self.https,
            _ => false,
        }
    }
}

impl Default for Protocols {
    fn default() -> Self {
        Protocols::ALL
    }
}

/// A TLS protocol version, as `--tlsv1.x` and `--tls-max` name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    V1_0,
    V1_1,
    V1_2,
    V1_3,
}

impl TlsVersion {
    pub fn name(self) -> &'static str {
        match self {
            TlsVersion::V1_0 => "1.0",
            TlsVersion::V1_1 => "1.1",
            TlsVersion::V1_2 => "1.2",
            TlsVersion::V1_3 => "1.3",
        }
    }
}

/// `--connect-to HOST1:PORT1:HOST2:PORT2`: a connection for HOST1:PORT1 goes to HOST2:PORT2
/// instead (an empty HOST1 or PORT1 matches any; an empty HOST2 or PORT2 keeps the original).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectTo {
    pub from_host: Option<String>,
    pub from_port: Option<u16>,
    pub to_host: Option<String>,
    pub to_port: Option<u16>,
}

/// `-E/--cert CERT[:PASSWORD]` with `--key`: a client certificate for the origin's TLS.
#[derive(Clone, Debug)]
pub struct ClientCert {
    /// PEM file with the certificate chain (and the key, unless `--key` names another file).
    pub cert: PathBuf,
    pub key: Option<PathBuf>,
    /// The key's passphrase (toll cannot decrypt keys: given, it is refused, never shown).
    pub password: Option<Secret>,
}

/// `--trace FILE` / `--trace-ascii FILE` (`-`: standard output).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceConfig {
    pub file: PathBuf,
    /// `--trace-ascii`: text only; `--trace`: a hex dump too.
    pub ascii: bool,
    /// `--trace-time`: each line starts with the time of day.
    pub time: bool,
}

/// The protocol, connection, TLS and diagnostics options.
#[derive(Clone, Debug, Default)]
pub struct ConnConfig {
    /// `--disallow-username-in-url`: a URL with userinfo is refused (curl's exit 67).
    pub disallow_username: bool,
    /// `--proto`: the schemes the URL may have.
    pub protocols: Protocols,
    /// `--proto-redir` (with `--proto`): the schemes `-L` may follow to.
    pub redir_protocols: Protocols,
    /// `--tlsv1.x`: the lowest TLS version for the origin.
    pub tls_min: Option<TlsVersion>,
    /// `--tls-max`: the highest.
    pub tls_max: Option<TlsVersion>,
    /// `--http1.0`: requests say HTTP/1.0.
    pub http10: bool,
    /// `-6`: the origin is reached over IPv6 only (direct connections).
    pub ipv6_only: bool,
    /// `-N`: standard output is flushed after every piece of the body.
    pub no_buffer: bool,
    /// `--no-progress-meter`: no progress bar (errors are still shown).
    pub no_progress_meter: bool,
    pub connect_to: Vec<ConnectTo>,
    /// `--unix-socket` / `--abstract-unix-socket`: every connection goes to this socket.
    pub unix_socket: Option<PathBuf>,
    /// `--capath DIR`: every PEM certificate in DIR is a trusted CA (with `--cacert`'s).
    pub capath: Option<PathBuf>,
    /// `--pinnedpubkey`: the origin's public key must be one of these (checked with `-k` too).
    pub pinned_key: Option<PinnedKey>,
    pub client_cert: Option<ClientCert>,
    /// `-p/--proxytunnel`: http:// URLs through a proxy would go through CONNECT.
    pub proxytunnel: bool,
    /// `--proxy-header`: sent to an HTTP proxy only (never to a server).
    pub proxy_headers: Vec<(String, String)>,
    /// `--proxy-header 'User-Agent:'`: a CONNECT carries no User-Agent (toll adds `-A`'s or its
    /// own otherwise, as curl does).
    pub proxy_no_user_agent: bool,
    /// `--suppress-connect-headers`: `-i`, `-I` and `-D` leave out the proxy's answer to the
    /// CONNECT (`%{size_header}` still counts it, as in curl).
    pub suppress_connect_headers: bool,
    pub trace: Option<TraceConfig>,
    /// `--keepalive-time`: TCP keepalive probes after this much idle time.
    pub keepalive: Option<Duration>,
    /// `--no-keepalive`: no TCP keepalive probes.
    pub no_keepalive: bool,
    /// `--expect100-timeout`: how long a body over 1 MiB sent through a proxy waits for its
    /// `100 Continue` (or 407) before it is sent anyway (`None`: one second, as curl).
    pub expect100_timeout: Option<Duration>,
    /// `--no-alpn`: no ALPN in the TLS handshake with the server (so HTTP/1.1).
    pub no_alpn: bool,
    /// `--no-sessionid`: no TLS session resumption with servers.
    pub no_sessionid: bool,
    /// `--interface`: where toll's connections (to the server, or to the proxy) leave from.
    pub interface: Option<Interface>,
    /// `--ciphers`, `--tls13-ciphers`, `--curves`, `--crlfile` for the origin.
    pub tls: TlsTuning,
    /// `--doh-url` and its companions: names are looked up through DNS over HTTPS.
    pub doh: Option<DohConfig>,
}

/// `--doh-url URL` with `--doh-insecure` and `--doh-cert-status`. The URL stays text: curl
/// accepts any and fails the lookup (exit 6) when it is not an https:// URL, as toll does.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DohConfig {
    pub url: String,
    /// `--doh-insecure`: the DoH server's certificate is not verified (`-k` does not apply).
    pub insecure: bool,
    /// `--doh-cert-status`: its OCSP status must be checked (toll cannot: exit 4).
    pub cert_status: bool,
}

/// curl's TLS tuning options as given, for the origin (`--ciphers`, `--tls13-ciphers`,
/// `--curves`, `--crlfile`) or an `https://` proxy (`--proxy-ciphers`,
/// `--proxy-tls13-ciphers`, `--proxy-crlfile`; curl 7.88 applies `--curves` to the origin only).
/// The lists stay text: they are read when a TLS config is made, where a list that leaves
/// nothing to use is curl's exit 59, not a usage error.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsTuning {
    /// TLS 1.2 cipher suites, OpenSSL's cipher-list syntax (`ECDHE-RSA-AES128-GCM-SHA256:…`).
    pub ciphers: Option<String>,
    /// TLS 1.3 cipher suites, IANA names joined by `:` (`TLS_AES_128_GCM_SHA256:…`).
    pub tls13_ciphers: Option<String>,
    /// Key exchange groups, OpenSSL names joined by `:` (`X25519:P-256`).
    pub curves: Option<String>,
    /// PEM file of CRLs the end-entity certificate is checked against.
    pub crlfile: Option<PathBuf>,
}

impl TlsTuning {
    /// Whether any option is given (else rustls's defaults hold).
    pub fn is_set(&self) -> bool {
        *self != TlsTuning::default()
    }
}

/// `--interface`: an address of this machine, or an interface's name (bound to by its address).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Interface {
    Address(std::net::IpAddr),
    Name(String),
}

/// `--pinnedpubkey`: what the origin's public key (its certificate's SubjectPublicKeyInfo) must
/// be, as curl reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PinnedKey {
    /// `sha256//BASE64[;sha256//BASE64…]`: SHA-256 digests, any of which may match.
    Sha256(Vec<[u8; 32]>),
    /// A file holding the public key, PEM (`PUBLIC KEY`) or DER, read when the transfer starts.
    File(PathBuf),
}
