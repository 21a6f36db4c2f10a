//! The plain run configuration: what `cli` and the environment resolve to, once. The engine
//! (relay, auth, client) reads only this, never clap or the environment. The client writes to
//! the standard streams (the body, `-D -`, progress bars, warnings) as curl does; `term::Terminal`
//! says what they are.

use crate::auth::SchemeSet;
use crate::secret::Secret;
use std::path::PathBuf;
use std::time::Duration;

mod conn;
mod curl;
pub use conn::{
    ClientCert, ConnConfig, ConnectTo, DohConfig, Interface, PinnedKey, Protocols, TlsTuning, TlsVersion,
    TraceConfig,
};
pub use curl::{
    resolve_overrides, CurlExtras, DumpHeader, HttpVersion, IpFamily, Netrc, NetrcConfig, NetrcEntry,
    OriginAuth, RetryConfig, WriteOut,
};
mod transfer;
pub use transfer::{FormEncoder, FormPart, FormValue, Resume, TimeCond, TransferOptions};

/// A proxy as the user named it, resolved to parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxySpec {
    /// `http`, `https`, `socks5`, `socks5h`, `socks4`, `socks4a`.
    pub scheme: String,
    /// Host without brackets (an IPv6 literal is bare: `::1`).
    pub host: String,
    pub port: u16,
    /// Percent-decoded userinfo from the proxy URL, if any.
    pub user: Option<String>,
    pub password: Option<Secret>,
    /// Where this proxy setting came from, for messages (`-x`, `https_proxy`, …).
    pub origin: String,
}

impl ProxySpec {
    /// `http://HOST:3128` as `-x` names it, without credentials (unit tests).
    #[cfg(test)]
    pub(crate) fn test_http(host: &str) -> ProxySpec {
        ProxySpec {
            scheme: "http".into(),
            host: host.into(),
            port: 3128,
            user: None,
            password: None,
            origin: "-x".into(),
        }
    }

    pub fn is_socks(&self) -> bool {
        self.scheme.starts_with("socks")
    }

    /// `host:port`, with brackets around an IPv6 literal: the form used in messages.
    pub fn host_port(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// `scheme://host:port` without credentials: safe to print.
    pub fn display_url(&self) -> String {
        format!("{}://{}", self.scheme, self.host_port())
    }
}

/// Request body source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BodySource {
    /// Inline bytes (`-d text`).
    Bytes(Vec<u8>),
    /// A file (`-d @file`), streamed.
    File(PathBuf),
    /// Standard input (`-d @-`).
    Stdin,
    /// `-F`/`--form-string`: a multipart/form-data body, streamed part by part.
    Form(Vec<FormPart>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Body {
    pub source: BodySource,
    /// `-d` strips CR/LF from files as curl does; `--data-binary`/`--json` keep bytes as they are.
    pub strip_newlines: bool,
}

/// Where the response body goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutputTarget {
    Stdout,
    /// Written to a temporary file beside it and renamed on success.
    File(PathBuf),
    /// `-O`: the last path segment of the URL, in the current directory.
    RemoteName,
    /// `--out-null` (curl 8.16): the body (and `-i`'s head) is read in full and written nowhere.
    Null,
}

#[derive(Clone, Debug)]
pub struct RequestConfig {
    pub url: url::Url,
    /// The first request's method when the body or `-I` does not imply it: `-X`'s, or PUT for
    /// `-T`.
    pub method: Option<String>,
    /// `method` is `-X`'s (curl sends it again after a redirect; see `client::redirect`).
    pub custom_method: bool,
    /// The body is `-T`'s upload (curl's PUT: 301 and 302 keep it), not `-d`'s or `-F`'s.
    pub upload: bool,
    pub headers: Vec<(String, String)>,
    pub body: Option<Body>,
    pub user_agent: Option<String>,
    pub head_only: bool,
    pub include_headers: bool,
    pub follow_redirects: bool,
    /// `--follow` (curl 8.16) rather than `-L`: `-X`'s method is dropped where a redirect's
    /// status turns the request into a GET.
    pub follow_per_spec: bool,
    pub max_redirects: usize,
    pub fail_on_http_error: bool,
    /// `--compressed` without `--raw`: the body's content codings are undone (`client::decode`).
    pub compressed: bool,
    pub insecure: bool,
    pub cacert: Option<PathBuf>,
    pub max_time: Option<Duration>,
    pub connect_timeout: Option<Duration>,
    pub output: OutputTarget,
    /// `-w/--write-out`.
    pub write_out: Option<WriteOut>,
    /// `-u/--user`: credentials for the origin.
    pub origin_auth: Option<OriginAuth>,
    /// `--retry` and companions.
    pub retry: RetryConfig,
    /// The smaller curl options (`--create-dirs`, `-D`, `-e`, `--http1.1`, `-4`, …).
    pub curl: CurlExtras,
    /// The transfer and output options (`-C`, `-J`, `-R`, `-z`, `--max-filesize`, …).
    pub transfer: TransferOptions,
}

impl RequestConfig {
    /// A plain GET of `url` to standard output with curl's defaults: redirects not followed,
    /// certificates checked, no timeouts. Commands that make their own requests (demo, doctor,
    /// `toll auth login`) start here and change what they need.
    pub fn get(url: url::Url) -> RequestConfig {
        RequestConfig {
            url,
            method: None,
            custom_method: false,
            upload: false,
            headers: Vec::new(),
            body: None,
            user_agent: None,
            head_only: false,
            include_headers: false,
            follow_redirects: false,
            follow_per_spec: false,
            max_redirects: 0,
            fail_on_http_error: false,
            compressed: false,
            insecure: false,
            cacert: None,
            max_time: None,
            connect_timeout: None,
            output: OutputTarget::Stdout,
            write_out: None,
            origin_auth: None,
            retry: RetryConfig::default(),
            curl: CurlExtras::default(),
            transfer: TransferOptions::default(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct ProxyConfig {
    /// `-x` / `--proxy`; overrides the environment.
    pub explicit: Option<ProxySpec>,
    /// `--noproxy` (overrides `NO_PROXY`).
    pub noproxy: Option<String>,
    /// `-U user[:password]`.
    pub user: Option<String>,
    pub password: Option<Secret>,
    pub allowed_schemes: SchemeSet,
    pub proxy_cacert: Option<PathBuf>,
    pub proxy_insecure: bool,
    /// `--proxy-pinnedpubkey`: an `https://` proxy's public key must be one of these (checked
    /// with `--proxy-insecure` too).
    pub proxy_pinned_key: Option<PinnedKey>,
    /// `--proxy-ciphers`, `--proxy-tls13-ciphers`, `--proxy-crlfile` (never curves).
    pub proxy_tls: TlsTuning,
    /// `--pac FILE|URL`: route by this proxy auto-config (instead of `-x`).
    pub pac: Option<String>,
    /// `--wpad`: look for a PAC by WPAD when nothing else says which proxy (off by default).
    pub wpad: bool,
    /// `--proxy-service-name`: the Kerberos service Negotiate asks a proxy's ticket for
    /// (`None`: `HTTP`, RFC 4559 §4).
    pub service_name: Option<String>,
    /// `--delegation`: whether Negotiate delegates the user's credentials (proxies and servers).
    pub delegation: crate::auth::Delegation,
    /// `--no-sessionid`: no TLS session resumption with https:// proxies (the server's is
    /// `ConnConfig::no_sessionid`, from the same option).
    pub no_sessionid: bool,
    /// `--proxy-capath`: a directory of CA certificates for an `https://` proxy (with
    /// `--proxy-cacert`'s).
    pub proxy_capath: Option<PathBuf>,
    /// `--proxy-cert`/`--proxy-key`: a client certificate for an `https://` proxy.
    pub proxy_client_cert: Option<ClientCert>,
    /// `--preproxy`: the SOCKS proxy through which HTTP(S) proxies are reached.
    pub preproxy: Option<ProxySpec>,
    /// `--proxy1.0`: CONNECTs to the proxy go as HTTP/1.0.
    pub connect_http10: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutputStyle {
    /// `-s`: no progress, no error messages (unless `show_error`).
    pub silent: bool,
    /// `-S`: with `-s`, still show errors.
    pub show_error: bool,
    /// `-v`: the proxy conversation and request/response heads on stderr, secrets redacted.
    pub verbose: bool,
}
