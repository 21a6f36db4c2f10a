//! The proxy options every command shares (`-x` and curl's older `--socks*` and `--proxy1.0`,
//! `--preproxy`, `--pac`, `--wpad`, `--noproxy`, `-U`, the scheme flags, the proxy's TLS and
//! Kerberos settings, `--no-prompt`, `--no-save`), and their resolution into `ProxyConfig`.

use super::{ProxyArg, ProxyUser, UsageError};
use crate::auth::{Scheme, SchemeSet};
use crate::config::ProxyConfig;
use crate::proxy_env;
use crate::secret::Secret;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Proxy")]
pub struct ProxyArgs {
    /// Use this proxy: [SCHEME://][USER[:PASSWORD]@]HOST[:PORT].
    ///
    /// Schemes: http (default), https, socks4, socks4a, socks5, socks5h; the default port is
    /// 1080 (443 for https). Percent-encode special characters in the user name and password. Overrides the *_proxy
    /// environment variables (NO_PROXY/--noproxy still apply); an empty string means no proxy.
    #[arg(short = 'x', long = "proxy", value_name = "PROXY",
          overrides_with_all = ["socks4", "socks4a", "socks5", "socks5_hostname", "proxy10"])]
    pub proxy: Option<ProxyArg>,

    /// Use this HTTP proxy and send it CONNECT as HTTP/1.0 (for proxies that do not take
    /// HTTP/1.1's): -x http://HOST[:PORT] otherwise. Of -x, --proxy1.0 and the --socks options,
    /// the last one given wins.
    #[arg(long = "proxy1.0", id = "proxy10", value_name = "HOST[:PORT]", hide_short_help = true,
          overrides_with_all = ["proxy", "socks4", "socks4a", "socks5", "socks5_hostname"])]
    pub proxy10: Option<ProxyArg>,

    /// Use this SOCKS4 proxy: -x socks4://HOST[:PORT] (curl's older form; of -x and the
    /// --socks options, the last one given wins).
    #[arg(long, value_name = "HOST[:PORT]", hide_short_help = true,
          overrides_with_all = ["proxy", "socks4a", "socks5", "socks5_hostname", "proxy10"])]
    pub socks4: Option<ProxyArg>,

    /// Use this SOCKS4a proxy (it resolves names): -x socks4a://HOST[:PORT].
    #[arg(long, value_name = "HOST[:PORT]", hide_short_help = true,
          overrides_with_all = ["proxy", "socks4", "socks5", "socks5_hostname", "proxy10"])]
    pub socks4a: Option<ProxyArg>,

    /// Use this SOCKS5 proxy, names resolved here: -x socks5://HOST[:PORT].
    #[arg(long, value_name = "HOST[:PORT]", hide_short_help = true,
          overrides_with_all = ["proxy", "socks4", "socks4a", "socks5_hostname", "proxy10"])]
    pub socks5: Option<ProxyArg>,

    /// Use this SOCKS5 proxy, names resolved by it: -x socks5h://HOST[:PORT].
    #[arg(long, value_name = "HOST[:PORT]", hide_short_help = true,
          overrides_with_all = ["proxy", "socks4", "socks4a", "socks5", "proxy10"])]
    pub socks5_hostname: Option<ProxyArg>,

    /// Reach the HTTP or HTTPS proxy through this SOCKS proxy first:
    /// [SCHEME://][USER[:PASSWORD]@]HOST[:PORT].
    ///
    /// Schemes: socks4 (the default), socks4a, socks5, socks5h (socks5h and socks4a let the
    /// SOCKS proxy resolve the HTTP proxy's name); the default port is 1080. Every connection to
    /// an HTTP(S) proxy, from -x, the *_proxy variables or a PAC, goes through it; without any
    /// proxy it is the proxy (as in curl). Not with a SOCKS -x.
    #[arg(long, value_name = "SOCKS-PROXY")]
    pub preproxy: Option<ProxyArg>,

    /// User name and password for the proxy.
    ///
    /// Split at the first ':', so the password may contain ':'. Without ':PASSWORD', toll asks for the password when the proxy wants one.
    #[arg(short = 'U', long = "proxy-user", value_name = "USER[:PASSWORD]")]
    pub proxy_user: Option<ProxyUser>,

    /// Route by this proxy auto-config (PAC) file or http(s):// URL, as a browser does.
    ///
    /// The PAC's answer (e.g. "PROXY a:8080; PROXY b:8080; DIRECT") is tried in order: a proxy
    /// that refuses the connection or does not answer in time is skipped (and remembered as dead
    /// for a few minutes), never one that asks for authentication. A URL PAC is fetched directly,
    /// cached, and used from the cache when its server is unreachable. An https URL's path and
    /// query are never shown to the PAC. TOLL_PAC or 'pac = …' in the settings file do the same
    /// when neither -x nor the *_proxy variables are set. Not together with -x (or --socks5 and the like).
    #[arg(long, value_name = "FILE|URL",
          conflicts_with_all = ["proxy", "socks4", "socks4a", "socks5", "socks5_hostname", "proxy10"])]
    pub pac: Option<String>,

    /// When nothing else says which proxy to use, look for a PAC by WPAD
    /// (http://wpad.<your DNS domain>/wpad.dat).
    ///
    /// Off by default: anyone who can answer for a wpad name in your DNS search path can route
    /// your traffic. 'wpad = on' in the settings file does the same.
    #[arg(long)]
    pub wpad: bool,

    /// Hosts to reach without the proxy (overrides no_proxy and NO_PROXY).
    ///
    /// Separated by commas or spaces. Entries: '*' (everything), a domain (matches its subdomains too: example.com,
    /// .example.com), an IP address or CIDR block (10.0.0.0/8, ::1/128), each optionally with
    /// ':PORT'. Names are not resolved: 'localhost' does not match 127.0.0.1. An empty LIST
    /// clears the environment's list.
    #[arg(long = "noproxy", value_name = "LIST")]
    pub noproxy: Option<String>,

    /// Only answer the proxy with Basic authentication.
    ///
    /// Basic sends the password in clear text unless the proxy is https://.
    #[arg(long, overrides_with_all = ["proxy_digest", "proxy_ntlm", "proxy_negotiate", "proxy_anyauth"])]
    pub proxy_basic: bool,

    /// Only answer the proxy with Digest authentication.
    #[arg(long, overrides_with_all = ["proxy_basic", "proxy_ntlm", "proxy_negotiate", "proxy_anyauth"])]
    pub proxy_digest: bool,

    /// Only answer the proxy with NTLM (v2) authentication.
    #[arg(long, overrides_with_all = ["proxy_basic", "proxy_digest", "proxy_negotiate", "proxy_anyauth"])]
    pub proxy_ntlm: bool,

    /// Only answer the proxy with Negotiate (Kerberos): your ticket is used, no password is needed.
    #[arg(long, overrides_with_all = ["proxy_basic", "proxy_digest", "proxy_ntlm", "proxy_anyauth"])]
    pub proxy_negotiate: bool,

    /// Answer with the strongest scheme the proxy offers (the default): Negotiate, then NTLM,
    /// Digest, Basic, falling back when one cannot be used.
    ///
    /// Of --proxy-basic, --proxy-digest, --proxy-ntlm, --proxy-negotiate and --proxy-anyauth,
    /// the last one given wins.
    #[arg(long, overrides_with_all = ["proxy_basic", "proxy_digest", "proxy_ntlm", "proxy_negotiate"])]
    pub proxy_anyauth: bool,

    /// The Kerberos service of the proxy's principal for Negotiate: a ticket for NAME/proxy-host
    /// instead of HTTP/proxy-host.
    #[arg(long = "proxy-service-name", value_name = "NAME", value_parser = parse_service_name)]
    pub proxy_service_name: Option<String>,

    /// Let Negotiate hand the proxy (and, with --negotiate, the server) your Kerberos
    /// credentials so it can act as you: none (the default), policy (only where the KDC marks
    /// the service ok-as-delegate) or always (needs a forwardable ticket: kinit -f).
    #[arg(long, value_name = "LEVEL", value_parser = parse_delegation)]
    pub delegation: Option<crate::auth::Delegation>,

    /// Resume no TLS session: every TLS connection (to servers and https:// proxies) makes a
    /// full handshake.
    #[arg(long = "no-sessionid", hide_short_help = true)]
    pub no_sessionid: bool,

    /// Verify an https:// proxy's certificate against the CA certificates in FILE (PEM).
    #[arg(long, value_name = "FILE")]
    pub proxy_cacert: Option<PathBuf>,

    /// Do not verify an https:// proxy's certificate (dangerous).
    #[arg(long)]
    pub proxy_insecure: bool,

    /// An https:// proxy's public key must be this one: sha256//BASE64 digests joined by ';', or
    /// a PEM or DER public key file (checked with --proxy-insecure too; a mismatch is exit 90).
    #[arg(long = "proxy-pinnedpubkey", value_name = "HASHES|FILE", value_parser = super::conn_opts::parse_pinned_key)]
    pub proxy_pinned_key: Option<crate::config::PinnedKey>,

    /// Also trust the CA certificates in the PEM files of DIR for an https:// proxy (with
    /// --proxy-cacert's), as --capath.
    #[arg(long = "proxy-capath", value_name = "DIR")]
    pub proxy_capath: Option<PathBuf>,

    /// Client certificate for an https:// proxy (PEM), with the key in the same file unless
    /// --proxy-key, as -E for the server.
    ///
    /// ':PASSWORD' is the key's passphrase; toll cannot use an encrypted key (exit 58).
    #[arg(long = "proxy-cert", value_name = "CERT[:PASSWORD]")]
    pub proxy_cert: Option<super::conn_opts::CertArg>,

    /// The private key for --proxy-cert (PEM).
    #[arg(long = "proxy-key", value_name = "KEY")]
    pub proxy_key: Option<PathBuf>,

    /// The type of --proxy-cert's file: PEM (the only one toll reads).
    #[arg(long = "proxy-cert-type", value_name = "TYPE", value_parser = super::conn_opts::parse_pem_type)]
    pub proxy_cert_type: Option<String>,

    /// The type of --proxy-key's file: PEM (the only one toll reads).
    #[arg(long = "proxy-key-type", value_name = "TYPE", value_parser = super::conn_opts::parse_pem_type)]
    pub proxy_key_type: Option<String>,

    /// The passphrase of --proxy-cert's key, as --proxy-cert CERT:PASSWORD; toll cannot use an
    /// encrypted key (exit 58).
    #[arg(long = "proxy-pass", value_name = "PHRASE", value_parser = super::conn_opts::passphrase,
          hide_short_help = true)]
    pub proxy_pass: Option<Secret>,

    /// Accepted: an https:// proxy gets TLS 1.2 or 1.3, which is "TLS 1.0 or later".
    #[arg(long = "proxy-tlsv1", hide_short_help = true)]
    pub proxy_tlsv1: bool,

    /// Accepted: the BEAST workaround concerns TLS 1.0, which toll does not speak.
    #[arg(long = "proxy-ssl-allow-beast", hide_short_help = true)]
    pub proxy_ssl_allow_beast: bool,

    /// Accepted: toll offers a SOCKS5 proxy its user name and password whenever it has them.
    #[arg(long = "socks5-basic", hide_short_help = true)]
    pub socks5_basic: bool,

    /// Accepted (curl 8.1): toll speaks HTTP/1.1 to an https:// proxy, which is what curl
    /// falls back to when the proxy does not offer HTTP/2.
    #[arg(long = "proxy-http2", hide_short_help = true)]
    pub proxy_http2: bool,

    /// Check an https:// proxy's certificate against the CRLs in FILE (PEM), as --crlfile.
    #[arg(long = "proxy-crlfile", value_name = "FILE")]
    pub proxy_crlfile: Option<PathBuf>,

    /// TLS 1.2 cipher suites for an https:// proxy, as --ciphers.
    #[arg(long = "proxy-ciphers", value_name = "LIST", allow_hyphen_values = true)]
    pub proxy_ciphers: Option<String>,

    /// TLS 1.3 cipher suites for an https:// proxy, as --tls13-ciphers.
    #[arg(long = "proxy-tls13-ciphers", value_name = "LIST", allow_hyphen_values = true)]
    pub proxy_tls13_ciphers: Option<String>,

    /// Never ask for a password on the terminal; fail instead.
    ///
    /// TOLL_NO_PROMPT=1 does the same.
    #[arg(long)]
    pub no_prompt: bool,

    /// Do not offer to save a password typed at the prompt in the OS keyring.
    ///
    /// TOLL_SAVE_CREDENTIALS=never, or 'save_credentials = never' in the settings file, does the
    /// same.
    #[arg(long)]
    pub no_save: bool,
}

/// The proxy options (`-x`, `--noproxy`, `-U`, the scheme and proxy-TLS flags) resolved.
impl ProxyArgs {
    /// The proxy the command line names, and the option that named it: `-x`, or one of curl's
    /// older `--socks4`, `--socks4a`, `--socks5`, `--socks5-hostname`, `--proxy1.0` (clap keeps the last one
    /// given). Those take HOST[:PORT] and give it their scheme; a value with a scheme of its
    /// own keeps it, as in curl, where the scheme in the string decides.
    pub fn named_proxy(&self) -> Option<(ProxyArg, &'static str)> {
        let socks = [
            (&self.socks4, "socks4", "--socks4"),
            (&self.socks4a, "socks4a", "--socks4a"),
            (&self.socks5, "socks5", "--socks5"),
            (&self.socks5_hostname, "socks5h", "--socks5-hostname"),
            (&self.proxy10, "http", "--proxy1.0"),
        ];
        for (arg, scheme, option) in socks {
            if let Some(ProxyArg(raw)) = arg {
                let v = raw.expose().trim();
                let url = if v.contains("://") { v.to_string() } else { format!("{scheme}://{v}") };
                return Some((ProxyArg(Secret::new(url)), option));
            }
        }
        self.proxy.clone().map(|p| (p, "-x/--proxy"))
    }
}

pub(super) fn proxy_config(proxy: ProxyArgs) -> Result<ProxyConfig, UsageError> {
    let connect_http10 = matches!(proxy.named_proxy(), Some((_, "--proxy1.0")));
    let (explicit, noproxy) = match proxy.named_proxy() {
        // curl: `-x ""` turns proxies off, the environment's too.
        Some((ProxyArg(raw), _)) if raw.expose().trim().is_empty() => (None, Some("*".to_string())),
        Some((ProxyArg(raw), option)) => {
            (Some(proxy_env::parse_proxy_url(raw.expose(), option)?), proxy.noproxy)
        }
        None => (None, proxy.noproxy),
    };
    if connect_http10 && explicit.as_ref().is_some_and(|s| s.scheme != "http") {
        return Err(UsageError::Curl(
            "--proxy1.0 takes an HTTP proxy: HOST[:PORT] or http://HOST[:PORT]".into(),
        ));
    }
    let preproxy = match &proxy.preproxy {
        None => None,
        Some(ProxyArg(raw)) => {
            let v = raw.expose().trim();
            // curl: a --preproxy without a scheme is SOCKS4.
            let url = if v.contains("://") { v.to_string() } else { format!("socks4://{v}") };
            let spec = proxy_env::parse_proxy_url(&url, "--preproxy")?;
            if !spec.is_socks() {
                return Err(UsageError::Curl(format!(
                    "--preproxy takes a SOCKS proxy (socks4, socks4a, socks5, socks5h), not {}://",
                    spec.scheme
                )));
            }
            if explicit.as_ref().is_some_and(crate::config::ProxySpec::is_socks) {
                return Err(UsageError::Curl(
                    "--preproxy is the SOCKS proxy in front of an HTTP proxy, and -x names a SOCKS proxy: \
                     use one SOCKS proxy, with -x or --preproxy"
                        .to_string(),
                ));
            }
            Some(spec)
        }
    };
    let (user, password) = match proxy.proxy_user {
        Some(ProxyUser { user, password }) => (Some(user), password),
        None => (None, None),
    };
    let allowed_schemes = if proxy.proxy_basic {
        SchemeSet::only(Scheme::Basic)
    } else if proxy.proxy_digest {
        SchemeSet::only(Scheme::Digest)
    } else if proxy.proxy_ntlm {
        SchemeSet::only(Scheme::Ntlm)
    } else if proxy.proxy_negotiate {
        SchemeSet::only(Scheme::Negotiate)
    } else {
        SchemeSet::ANY
    };
    Ok(ProxyConfig {
        explicit,
        noproxy,
        user,
        password,
        allowed_schemes,
        proxy_cacert: proxy.proxy_cacert,
        proxy_insecure: proxy.proxy_insecure,
        proxy_pinned_key: proxy.proxy_pinned_key,
        proxy_capath: proxy.proxy_capath,
        proxy_client_cert: proxy.proxy_cert.map(|c| crate::config::ClientCert {
            cert: c.path,
            key: proxy.proxy_key,
            password: c.password.or(proxy.proxy_pass),
        }),
        proxy_tls: crate::config::TlsTuning {
            ciphers: proxy.proxy_ciphers,
            tls13_ciphers: proxy.proxy_tls13_ciphers,
            // curl 7.88 sets its curves for the origin only.
            curves: None,
            crlfile: proxy.proxy_crlfile,
        },
        pac: proxy.pac,
        wpad: proxy.wpad,
        service_name: proxy.proxy_service_name,
        delegation: proxy.delegation.unwrap_or_default(),
        no_sessionid: proxy.no_sessionid,
        preproxy,
        connect_http10,
    })
}

/// `--delegation none|policy|always` (any case, as curl reads it).
pub fn parse_delegation(s: &str) -> Result<crate::auth::Delegation, String> {
    use crate::auth::Delegation;
    match s.to_ascii_lowercase().as_str() {
        "none" => Ok(Delegation::None),
        "policy" => Ok(Delegation::Policy),
        "always" => Ok(Delegation::Always),
        _ => Err("use none, policy or always".into()),
    }
}

/// `--proxy-service-name` / `--service-name`: the service part of a Kerberos host-based name
/// (`NAME@host`, RFC 2743 §4.1), so it cannot be empty nor hold `@`, `/`, spaces or control
/// characters (which would name another principal than the one asked for).
pub fn parse_service_name(s: &str) -> Result<String, String> {
    if s.is_empty() {
        return Err("a Kerberos service name cannot be empty (the default is HTTP)".into());
    }
    if s.chars().any(|c| c == '@' || c == '/' || c.is_whitespace() || c.is_control()) {
        return Err(
            "a Kerberos service name has no '@', '/', spaces or control characters (e.g. HTTP)".into()
        );
    }
    Ok(s.to_string())
}
