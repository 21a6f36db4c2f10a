//! Step 2 (reachability: DNS, TCP and TLS to the proxy) and the TLS look behind step 6.
//!
//! Every TLS handshake here goes through a recording verifier: it keeps the chain the peer
//! sent and how two verifiers judged it — the trust store toll uses (the system's, or only the
//! `--cacert`/`--proxy-cacert` file, as the real run does) and the public Mozilla roots — and
//! lets the handshake finish, so a certificate problem can be explained with the names in it
//! instead of a bare "unknown issuer". Nothing is sent over these connections.

use super::{show_ms, Status, Step};
use crate::config::{ProxyConfig, ProxySpec};
use crate::error::{Error, Exit, Result};
use crate::relay::Relay;
use crate::term::sanitize;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// What a handshake showed.
#[derive(Debug)]
pub struct Seen {
    pub chain: Vec<CertificateDer<'static>>,
    /// Judged by toll's trust store.
    pub trusted: std::result::Result<(), rustls::Error>,
    /// Judged by the public (Mozilla) roots.
    pub public: std::result::Result<(), rustls::Error>,
}

#[derive(Debug)]
struct Recording {
    trust: Arc<dyn ServerCertVerifier>,
    public: Arc<dyn ServerCertVerifier>,
    provider: Arc<CryptoProvider>,
    seen: Arc<Mutex<Option<Seen>>>,
}

impl ServerCertVerifier for Recording {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let trusted = self.trust.verify_server_cert(end_entity, intermediates, name, ocsp, now).map(|_| ());
        let public = self.public.verify_server_cert(end_entity, intermediates, name, ocsp, now).map(|_| ());
        let chain =
            std::iter::once(end_entity).chain(intermediates).map(|c| c.clone().into_owned()).collect();
        *self.seen.lock().unwrap_or_else(|e| e.into_inner()) = Some(Seen { chain, trusted, public });
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(m, c, d, &self.provider.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(m, c, d, &self.provider.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The trust store a run uses: only the certificates in `cacert` and `capath` when given, else
/// the platform's (rustls-platform-verifier, as reqwest and the relay use).
pub fn trust(cacert: Option<&Path>, capath: Option<&Path>) -> Result<Arc<dyn ServerCertVerifier>> {
    let setup = |e: String| Error::new(Exit::Internal, format!("TLS setup: {e}"));
    match (cacert, capath) {
        (None, None) => Ok(Arc::new(
            rustls_platform_verifier::Verifier::new(provider()).map_err(|e| setup(e.to_string()))?,
        )),
        // As a transfer checks it (a self-signed root given as the server's own, too).
        _ => crate::client::roots_verifier(cacert, capath),
    }
}

/// The public web PKI: Mozilla's roots, as shipped with toll.
fn public() -> Result<Arc<dyn ServerCertVerifier>> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().cloned());
    let v = rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .map_err(|e| Error::new(Exit::Internal, format!("TLS setup: {e}")))?;
    Ok(v)
}

/// What a handshake offers besides the defaults.
pub struct Offer {
    provider: Arc<CryptoProvider>,
    client: Option<(Vec<CertificateDer<'static>>, rustls_pki_types::PrivateKeyDer<'static>)>,
}

impl Offer {
    /// ring's defaults, no client certificate.
    pub fn plain() -> Offer {
        Offer { provider: provider(), client: None }
    }

    /// What toll offers an https:// proxy: `--proxy-ciphers`/`--proxy-tls13-ciphers` and
    /// `--proxy-cert`.
    pub fn for_proxy(cfg: &ProxyConfig) -> Result<Offer> {
        let provider = crate::client::tuned_provider(&cfg.proxy_tls)?;
        let client = cfg.proxy_client_cert.as_ref().map(crate::client::client_auth).transpose()?;
        Ok(Offer { provider, client })
    }
}

/// A finished handshake: the protocol version and what the verifiers said.
pub struct Handshake {
    pub version: String,
    pub seen: Option<Seen>,
    pub elapsed: Duration,
}

/// TLS client handshake over `io` toward `name`, recording the chain; the connection is then
/// closed without sending anything.
/// `offer`: the suites and groups to offer and the client certificate to present, as toll's own
/// connection would (an https:// proxy's `--proxy-ciphers`, `--proxy-cert`).
async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
    io: S,
    name: ServerName<'static>,
    trust: Arc<dyn ServerCertVerifier>,
    timeout: Duration,
    offer: &Offer,
) -> Result<Handshake, (String, Option<Seen>)> {
    let seen = Arc::new(Mutex::new(None));
    let take = |s: &Arc<Mutex<Option<Seen>>>| s.lock().unwrap_or_else(|e| e.into_inner()).take();
    let public = public().map_err(|e| (e.message, None))?;
    let recording = Recording { trust, public, provider: provider(), seen: seen.clone() };
    let builder = rustls::ClientConfig::builder_with_provider(offer.provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| (e.to_string(), None))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(recording));
    let mut config = match &offer.client {
        Some((chain, key)) => builder
            .with_client_auth_cert(chain.clone(), key.clone_key())
            .map_err(|e| (e.to_string(), None))?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let started = Instant::now();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    match tokio::time::timeout(timeout, connector.connect(name, io)).await {
        Err(_) => Err((format!("no TLS handshake within {} s", timeout.as_secs()), take(&seen))),
        Ok(Err(e)) => Err((io_text(&e), take(&seen))),
        Ok(Ok(mut tls)) => {
            let elapsed = started.elapsed();
            let version = tls
                .get_ref()
                .1
                .protocol_version()
                .map(|v| format!("{v:?}").replace("TLSv1_", "TLS 1.").replace("TLSv1", "TLS 1.0"))
                .unwrap_or_else(|| "TLS".into());
            let _ = tls.shutdown().await;
            Ok(Handshake { version, seen: take(&seen), elapsed })
        }
    }
}

fn io_text(e: &std::io::Error) -> String {
    match e.get_ref() {
        Some(inner) => inner.to_string(),
        None => e.to_string(),
    }
}

/// Step 2 for an HTTP(S) or SOCKS proxy.
pub async fn reachability(spec: &ProxySpec, cfg: &ProxyConfig, timeout: Duration) -> Step {
    let step = Step::new(2, "reachability");
    let opened = match cfg.preproxy.as_ref().filter(|_| !spec.is_socks()) {
        Some(socks) => via_preproxy(spec, socks, timeout).await,
        None => connect(spec, timeout).await,
    };
    let (tcp, mut text, mut timings) = match opened {
        Ok(o) => o,
        Err(step) => return step,
    };
    let (hp, origin) = (spec.host_port(), &spec.origin);
    if spec.scheme != "https" {
        return with_timings(step.ok(text), &timings);
    }
    // TLS to an https:// proxy.
    let (cacert, capath) = match cfg.proxy_insecure {
        true => (None, None),
        false => (cfg.proxy_cacert.as_deref(), cfg.proxy_capath.as_deref()),
    };
    let trusted = match cfg.proxy_tls.crlfile.as_deref().filter(|_| !cfg.proxy_insecure) {
        Some(crls) => crate::client::crl_verifier(cacert, capath, crls),
        None => trust(cacert, capath),
    };
    let trust = match trusted {
        Ok(t) => t,
        Err(e) => {
            let fix = e
                .hint
                .clone()
                .unwrap_or_else(|| "fix --proxy-cacert: a PEM file with CERTIFICATE blocks".into());
            return with_timings(step.problem(e.message, e.exit, fix), &timings);
        }
    };
    let mut store = if let Some(p) = cfg.proxy_cacert.as_ref().filter(|_| !cfg.proxy_insecure) {
        format!("--proxy-cacert {}", p.display())
    } else {
        "the system trust store".to_string()
    };
    if let Some(crls) = cfg.proxy_tls.crlfile.as_ref().filter(|_| !cfg.proxy_insecure) {
        store.push_str(&format!(" and the CRLs of --proxy-crlfile {}", crls.display()));
    }
    let name = match ServerName::try_from(spec.host.clone()) {
        Ok(n) => n,
        Err(e) => {
            return with_timings(
                step.problem(format!("{}: {e}", spec.host), Exit::Usage, "fix the proxy's host name"),
                &timings,
            )
        }
    };
    let offer = match Offer::for_proxy(cfg) {
        Ok(o) => o,
        Err(e) => {
            let fix = e.hint.clone().unwrap_or_else(|| "fix the proxy's TLS options".into());
            return with_timings(step.problem(e.message, e.exit, fix), &timings);
        }
    };
    match handshake(tcp, name, trust, timeout, &offer).await {
        Err((why, _)) => {
            let plain = ["InvalidContentType", "corrupt message", "InvalidMessage", "record overflow"]
                .iter()
                .any(|w| why.contains(w));
            let fix = if plain {
                format!("the proxy does not speak TLS on this port: write http:// in {origin} (most proxies take http:// even for https URLs)")
            } else {
                format!("check that the proxy in {origin} is really https://")
            };
            with_timings(
                step.problem(
                    format!("{text}; TLS handshake with the proxy failed: {}", sanitize(&why)),
                    Exit::ProxyUnreachable,
                    fix,
                )
                .headline(format!("the TLS handshake with proxy {hp} failed: {}", sanitize(&why))),
                &timings,
            )
        }
        Ok(h) => {
            timings.push(("TLS handshake", h.elapsed));
            let leaf = h.seen.as_ref().and_then(|s| s.chain.first()).and_then(|c| cert_info(c));
            let about = leaf
                .as_ref()
                .map(|c| format!(", certificate for {} issued by {}", c.subject, c.issuer))
                .unwrap_or_default();
            text.push_str(&format!("; {} handshake in {}{about}", h.version, show_ms(h.elapsed)));
            let verdict = h.seen.as_ref().map(|s| s.trusted.clone()).unwrap_or(Ok(()));
            match verdict {
                Ok(()) => with_timings(step.ok(text), &timings),
                Err(e) if cfg.proxy_insecure => {
                    let mut s = step.ok(text);
                    s.note(
                        Status::Warning,
                        format!(
                            "--proxy-insecure: the proxy's certificate is not checked (it {})",
                            explain(&e)
                        ),
                        Some(
                            "pass the proxy's CA with --proxy-cacert FILE instead of --proxy-insecure".into(),
                        ),
                    );
                    with_timings(s, &timings)
                }
                Err(e) => {
                    let fix =
                        cert_fix(&e, "--proxy-cacert", &format!("the proxy name in {origin}"), leaf.as_ref());
                    with_timings(
                        step.problem(
                            format!(
                                "{text}; the proxy's certificate {}, checked against {store}",
                                explain(&e)
                            ),
                            Exit::ProxyUnreachable,
                            fix,
                        )
                        .headline(format!(
                            "the certificate of proxy {hp}{} {} (checked against {store})",
                            leaf.as_ref().map(|l| format!(", issued by '{}',", l.issuer)).unwrap_or_default(),
                            explain(&e)
                        )),
                        &timings,
                    )
                }
            }
        }
    }
}

/// What a connection to the proxy took, step by step, for the report.
type Timings = Vec<(&'static str, Duration)>;

/// The TCP connection to the proxy: its name resolved, then each address in turn.
async fn connect(
    spec: &ProxySpec,
    timeout: Duration,
) -> std::result::Result<(TcpStream, String, Timings), Step> {
    let step = Step::new(2, "reachability");
    let mut timings = Vec::new();
    let hp = spec.host_port();
    let origin = &spec.origin;
    let (addrs, dns_text) = match spec.host.parse::<IpAddr>() {
        Ok(ip) => {
            (vec![SocketAddr::new(ip, spec.port)], format!("{} is an IP address (no DNS lookup)", spec.host))
        }
        Err(_) => {
            let started = Instant::now();
            let r =
                tokio::time::timeout(timeout, tokio::net::lookup_host((spec.host.as_str(), spec.port))).await;
            let took = started.elapsed();
            timings.push(("DNS", took));
            let fix =
                format!("check the proxy's host name in {origin}; on a VPN, check that it is connected");
            match r {
                Err(_) => {
                    return Err(with_timings(
                        step.problem(
                            format!(
                                "no DNS answer for the proxy's host {} within {} s",
                                spec.host,
                                timeout.as_secs()
                            ),
                            Exit::ProxyUnreachable,
                            fix,
                        ),
                        &timings,
                    ))
                }
                Ok(Err(e)) => {
                    return Err(with_timings(
                        step.problem(
                            format!("cannot resolve the proxy's host {}: {e}", spec.host),
                            Exit::ProxyUnreachable,
                            fix,
                        ),
                        &timings,
                    ))
                }
                Ok(Ok(it)) => {
                    let addrs: Vec<SocketAddr> = it.collect();
                    let list = addrs.iter().map(|a| a.ip().to_string()).collect::<Vec<_>>().join(", ");
                    (addrs, format!("{} resolves to {list} ({})", spec.host, show_ms(took)))
                }
            }
        }
    };
    let mut failures = Vec::new();
    let mut connected = None;
    for addr in addrs.iter().take(4) {
        let started = Instant::now();
        match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => {
                connected = Some((s, *addr, started.elapsed()));
                break;
            }
            Ok(Err(e)) => failures.push((*addr, Some(e))),
            Err(_) => failures.push((*addr, None)),
        }
    }
    let Some((tcp, addr, took)) = connected else {
        let (addr, e) = failures.into_iter().next().expect("at least one address");
        let (why, fix) = match e {
            Some(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => (
                format!("connection refused by {addr}: nothing listens on port {}", spec.port),
                format!("check the proxy's port in {origin} (is the proxy really at {hp}?) and that the proxy is running"),
            ),
            Some(e) => (
                format!("cannot connect to {addr}: {e}"),
                format!("check {origin} and that {hp} is reachable from this network"),
            ),
            None => (
                format!("no answer from {addr} within {} s: a firewall drops the connection, or the host is down", timeout.as_secs()),
                format!("check that {hp} is reachable from this network (VPN?) and that {origin} is right"),
            ),
        };
        let headline = format!("cannot reach proxy {hp} (from {origin}): {why}");
        return Err(with_timings(
            step.problem(format!("{dns_text}; {why}"), Exit::ProxyUnreachable, fix).headline(headline),
            &timings,
        ));
    };
    timings.push(("TCP connect", took));
    Ok((tcp, format!("{dns_text}; TCP connect to {addr} in {}", show_ms(took)), timings))
}

/// The TCP connection to the proxy through `--preproxy`'s SOCKS proxy, as the relay makes it
/// (credentials from its URL only: the doctor never asks).
async fn via_preproxy(
    spec: &ProxySpec,
    socks: &ProxySpec,
    timeout: Duration,
) -> std::result::Result<(TcpStream, String, Timings), Step> {
    let step = Step::new(2, "reachability");
    let url = socks.clone();
    let sources: crate::creds::SourceFactory =
        Arc::new(move |_: &ProxySpec| super::sources::preproxy_url(&url));
    let ways = Arc::new(crate::socks::Ways::new(sources, Default::default(), Box::new(|_| {})));
    let Some(hop) = crate::socks::Hop::new(&ways, socks.clone()) else {
        return Err(step.problem(
            format!("{} is not a SOCKS proxy", socks.display_url()),
            Exit::Usage,
            "fix --preproxy",
        ));
    };
    let started = Instant::now();
    let dests = hop.dests(&spec.host, spec.port, None, timeout, None).await.unwrap_or_default();
    let open = || async {
        match tokio::time::timeout(timeout, TcpStream::connect((socks.host.as_str(), socks.port))).await {
            Ok(Ok(tcp)) => Ok(tcp),
            Ok(Err(e)) => Err(crate::socks::Failed::new(
                http::StatusCode::BAD_GATEWAY,
                "connection_refused",
                format!("cannot reach the SOCKS proxy {} (--preproxy): {e}", socks.display_url()),
            )),
            Err(_) => Err(crate::socks::Failed::new(
                http::StatusCode::GATEWAY_TIMEOUT,
                "connection_timeout",
                format!(
                    "no answer from the SOCKS proxy {} (--preproxy) within {} s",
                    socks.display_url(),
                    timeout.as_secs()
                ),
            )),
        }
    };
    match hop.connect(&dests, spec.port, timeout, open).await {
        Ok(tcp) => {
            let took = started.elapsed();
            let text = format!(
                "connected to {} through the SOCKS proxy {} (--preproxy) in {}",
                spec.host_port(),
                socks.display_url(),
                show_ms(took)
            );
            Ok((tcp, text, vec![("SOCKS connect", took)]))
        }
        Err(f) => {
            let failure = crate::relay::Failure {
                proxy: spec.display_url(),
                origin: spec.origin.clone(),
                target: String::new(),
                kind: crate::relay::FailureKind::Preproxy(f),
                status: None,
                offered: Vec::new(),
            };
            let e = crate::relay::failure_error(failure);
            let fix = e.hint.clone().unwrap_or_else(|| "check --preproxy".into());
            Err(step.problem(e.message.clone(), e.exit, fix).headline(e.message))
        }
    }
}

fn with_timings(mut step: Step, timings: &[(&str, Duration)]) -> Step {
    for (what, d) in timings {
        step.time(what, *d);
    }
    step
}

/// What is wrong with a certificate, as the end of "the certificate …".
pub fn explain(e: &rustls::Error) -> String {
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            CertificateError::UnknownIssuer => "is issued by a CA that is not in the trust store".into(),
            CertificateError::NotValidForName => "is not valid for this host name".into(),
            CertificateError::NotValidForNameContext { presented, .. } => {
                let names = crate::client::readable_certificate_error(&presented.join(", "));
                format!("is not valid for this host name (it is for {})", sanitize(&names))
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => "has expired".into(),
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                "is not valid yet (check this computer's clock)".into()
            }
            CertificateError::Revoked => "has been revoked".into(),
            CertificateError::BadSignature => "has a bad signature".into(),
            CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
                "is not meant for TLS servers".into()
            }
            other => format!(
                "is not accepted ({})",
                sanitize(&crate::client::readable_certificate_error(&format!("{other:?}")))
            ),
        },
        other => format!("could not be checked ({other})"),
    }
}

/// The fix for a certificate toll does not accept. `flag` is `--cacert` or `--proxy-cacert`.
pub fn cert_fix(e: &rustls::Error, flag: &str, name_place: &str, leaf: Option<&CertInfo>) -> String {
    use CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(C::NotValidForName | C::NotValidForNameContext { .. }) => {
            let names = leaf.map(|l| l.names.join(", ")).filter(|n| !n.is_empty());
            match names {
                Some(n) => format!("use a name the certificate is for ({n}) in {name_place}"),
                None => format!("use the name the certificate is for in {name_place}"),
            }
        }
        rustls::Error::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => {
            "the certificate has expired: tell the administrator of that server".into()
        }
        rustls::Error::InvalidCertificate(C::NotValidYet | C::NotValidYetContext { .. }) => {
            "check this computer's date and time".into()
        }
        _ => {
            let ca = leaf.map(|l| format!(" of '{}'", l.issuer)).unwrap_or_default();
            format!("get the CA certificate{ca} (PEM) and pass it with {flag} FILE, or add it to the system trust store")
        }
    }
}

/// The names in a certificate, for messages (sanitised: they come from the network).
#[derive(Clone, Debug)]
pub struct CertInfo {
    pub subject: String,
    pub issuer: String,
    /// DNS names and IP addresses it is valid for.
    pub names: Vec<String>,
    pub not_after: String,
    pub self_signed: bool,
}

pub fn cert_info(der: &CertificateDer<'_>) -> Option<CertInfo> {
    use x509_parser::extensions::GeneralName;
    use x509_parser::x509::X509Name;
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).ok()?;
    let name = |n: &X509Name<'_>| {
        let cn = n.iter_common_name().next().and_then(|a| a.as_str().ok());
        let o = n.iter_organization().next().and_then(|a| a.as_str().ok());
        let s = match (cn, o) {
            (Some(c), Some(o)) if c != o => format!("{c} ({o})"),
            (Some(c), _) => c.to_string(),
            (None, Some(o)) => o.to_string(),
            (None, None) => n.to_string(),
        };
        sanitize(&s)
    };
    let mut names = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for g in &san.value.general_names {
            match g {
                GeneralName::DNSName(d) => names.push(sanitize(d)),
                GeneralName::IPAddress(b) => match b.len() {
                    4 => names.push(IpAddr::from(<[u8; 4]>::try_from(*b).ok()?).to_string()),
                    16 => names.push(IpAddr::from(<[u8; 16]>::try_from(*b).ok()?).to_string()),
                    _ => {}
                },
                _ => {}
            }
        }
    }
    Some(CertInfo {
        subject: name(cert.subject()),
        issuer: name(cert.issuer()),
        names,
        not_after: {
            let t = cert.validity().not_after.to_datetime();
            format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
        },
        self_signed: cert.subject() == cert.issuer(),
    })
}

/// How step 6 reaches the origin: directly, or through the session's relay (which holds the
/// credentials the proxy accepted).
pub enum Via<'a> {
    Direct,
    Relay(&'a Relay, &'a ProxySpec),
}

/// The origin's certificate chain, as toll gets it for `url`.
pub struct Look {
    pub result: std::result::Result<Handshake, String>,
    pub seen: Option<Seen>,
}

pub async fn look(
    url: &url::Url,
    via: Via<'_>,
    trust: Arc<dyn ServerCertVerifier>,
    timeout: Duration,
) -> Look {
    let failed = |why: String| Look { result: Err(why), seen: None };
    let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
        return failed("the URL has no host".into());
    };
    let authority = format!("{host}:{port}");
    let name = match url.host() {
        Some(url::Host::Domain(d)) => match ServerName::try_from(d.to_string()) {
            Ok(n) => n,
            Err(e) => return failed(e.to_string()),
        },
        Some(url::Host::Ipv4(a)) => ServerName::IpAddress(IpAddr::V4(a).into()),
        Some(url::Host::Ipv6(a)) => ServerName::IpAddress(IpAddr::V6(a).into()),
        None => return failed("the URL has no host".into()),
    };
    let tcp = match via {
        Via::Direct => match tokio::time::timeout(timeout, TcpStream::connect(authority.as_str())).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return failed(format!("cannot connect to {authority}: {e}")),
            Err(_) => return failed(format!("no connection to {authority} within {} s", timeout.as_secs())),
        },
        Via::Relay(relay, spec) => match tokio::time::timeout(timeout, tunnel(relay, spec, &authority)).await
        {
            Ok(Ok(s)) => s,
            Ok(Err(why)) => return failed(why),
            Err(_) => return failed(format!("no tunnel to {authority} within {} s", timeout.as_secs())),
        },
    };
    match handshake(tcp, name, trust, timeout, &Offer::plain()).await {
        Ok(mut h) => {
            let seen = h.seen.take();
            Look { result: Ok(h), seen }
        }
        Err((why, seen)) => Look { result: Err(why), seen },
    }
}

/// A CONNECT tunnel to `authority` through the relay (and so through the proxy, with the
/// credentials it accepted in this session).
async fn tunnel(relay: &Relay, spec: &ProxySpec, authority: &str) -> std::result::Result<TcpStream, String> {
    use base64::Engine;
    let u = relay.proxy_url_for(spec);
    let key = zeroize::Zeroizing::new(format!("{}:{}", u.username(), u.password().unwrap_or("")));
    let token = zeroize::Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(key.as_bytes()));
    let mut s =
        TcpStream::connect(relay.addr()).await.map_err(|e| format!("cannot reach the local relay: {e}"))?;
    let head = zeroize::Zeroizing::new(format!(
        "CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\nProxy-Authorization: Basic {}\r\n\r\n",
        token.as_str()
    ));
    s.write_all(head.as_bytes()).await.map_err(|e| e.to_string())?;
    let mut got = Vec::new();
    let mut byte = [0u8; 1];
    while !got.ends_with(b"\r\n\r\n") {
        if got.len() > 16 * 1024 || s.read(&mut byte).await.map_err(|e| e.to_string())? == 0 {
            return Err("the tunnel closed before it opened".into());
        }
        got.push(byte[0]);
    }
    let status = String::from_utf8_lossy(&got).split_whitespace().nth(1).unwrap_or("").to_string();
    if status != "200" {
        return Err(format!("the tunnel was refused ({})", sanitize(&status)));
    }
    Ok(s)
}
