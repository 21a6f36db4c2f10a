//! TLS settings toll makes itself: for an `https://` proxy (the platform's roots, only
//! `--proxy-cacert`'s, or none with `--proxy-insecure`), for origins reached through a tunnel
//! (`tunnel`: the same choices reqwest makes from `--cacert`/`-k`), and the PEM files of
//! `--cacert`; `--pinnedpubkey`'s check, on top of whichever certificate check is made; and
//! where `--ciphers`/`--tls13-ciphers`/`--curves`/`--crlfile` (`tls_tuning`) go in.

use super::tls_tuning::{self, Crls};
use crate::config::{ClientCert, HttpVersion, PinnedKey, ProxyConfig, RequestConfig, TlsTuning, TlsVersion};
use crate::error::{Error, Exit, Result};
use std::path::Path;
use std::sync::Arc;

/// TLS settings for `https://` proxies: the platform's roots, or only `--proxy-cacert`'s and
/// `--proxy-capath`'s, or no verification with `--proxy-insecure`; then
/// `--proxy-pinnedpubkey`'s pin, the `--proxy-ciphers`/`--proxy-tls13-ciphers`/`--proxy-crlfile`
/// tuning, and `--proxy-cert`'s client certificate.
pub(super) fn proxy_tls(cfg: &ProxyConfig) -> Result<Arc<rustls::ClientConfig>> {
    let pins = cfg.proxy_pinned_key.as_ref().map(pins).transpose()?;
    let trust = Trust { cacert: cfg.proxy_cacert.as_deref(), capath: cfg.proxy_capath.as_deref() };
    let builder = verifying(cfg.proxy_insecure, trust, pins, &cfg.proxy_tls, VERSIONS)?;
    let mut config = match &cfg.proxy_client_cert {
        Some(cert) => with_client_cert(builder, cert)?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    if cfg.no_sessionid {
        config.resumption = rustls::client::Resumption::disabled();
    }
    Ok(Arc::new(config))
}

/// TLS 1.2 and 1.3: all toll's TLS speaks.
const VERSIONS: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS13, &rustls::version::TLS12];

/// TLS settings for an origin reached through a tunnel (`tunnel`), as reqwest builds them for
/// the same request (`build_client`): only `--cacert`'s (and `--capath`'s) roots, or no
/// certificate check with `-k` (signatures still checked), or the platform verifier; ALPN h2
/// and http/1.1, or only http/1.1 with `--http1.1`; `--tlsv1.x`/`--tls-max`'s versions and
/// `-E`'s client certificate (the tunnel leaves those to reqwest, and `reqwest_tls` comes here
/// for them only with the TLS tuning options); and the tuning options.
pub(super) fn origin_tls(req: &RequestConfig) -> Result<Arc<rustls::ClientConfig>> {
    let c = &req.curl.conn;
    let pins = c.pinned_key.as_ref().map(pins).transpose()?;
    let in_range = |v: TlsVersion| c.tls_min.is_none_or(|m| m <= v) && c.tls_max.is_none_or(|m| v <= m);
    let versions: Vec<&'static rustls::SupportedProtocolVersion> =
        [(TlsVersion::V1_3, &rustls::version::TLS13), (TlsVersion::V1_2, &rustls::version::TLS12)]
            .into_iter()
            .filter(|(v, _)| in_range(*v))
            .map(|(_, r)| r)
            .collect();
    // None left: `conn::check_url` refuses every https:// URL before it is sent (exit 35).
    let versions = if versions.is_empty() { VERSIONS } else { &versions };
    let trust = Trust { cacert: req.cacert.as_deref(), capath: c.capath.as_deref() };
    let builder = verifying(req.insecure, trust, pins, &c.tls, versions)?;
    // As `conn::configure` for reqwest: no certificate is read for a transfer that cannot do TLS.
    let tls_possible = req.url.scheme() == "https" || req.follow_redirects;
    let mut config = match c.client_cert.as_ref().filter(|_| tls_possible) {
        Some(cert) => with_client_cert(builder, cert)?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = match req.curl.http_version {
        _ if c.no_alpn => Vec::new(),
        // What curl 7.88 offers for `--http1.0` (measured: only this).
        _ if c.http10 => vec![b"http/1.0".to_vec()],
        HttpVersion::Http11 => vec![b"http/1.1".to_vec()],
        HttpVersion::Http2PriorKnowledge => vec![b"h2".to_vec()],
        _ => vec![b"h2".to_vec(), b"http/1.1".to_vec()],
    };
    if c.no_sessionid {
        config.resumption = rustls::client::Resumption::disabled();
    }
    Ok(Arc::new(config))
}

/// TLS settings for the `--doh-url` server, as curl 7.88 makes them for its DoH transfers:
/// `--cacert`'s and `--capath`'s roots (else the platform's), `--crlfile` and `--curves`; no
/// certificate check only with `--doh-insecure` (`-k` is the origin's alone); none of the
/// origin's other settings (versions, ciphers, pins, client certificate).
pub(super) fn doh_tls(req: &RequestConfig, insecure: bool) -> Result<rustls::ClientConfig> {
    let c = &req.curl.conn;
    let trust = Trust { cacert: req.cacert.as_deref(), capath: c.capath.as_deref() };
    let tuning =
        TlsTuning { curves: c.tls.curves.clone(), crlfile: c.tls.crlfile.clone(), ..Default::default() };
    let mut config = verifying(insecure, trust, None, &tuning, VERSIONS)?.with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// `builder` presenting `cert` (`-E`, `--proxy-cert`).
fn with_client_cert(
    builder: rustls::ConfigBuilder<rustls::ClientConfig, rustls::client::WantsClientCert>,
    cert: &ClientCert,
) -> Result<rustls::ClientConfig> {
    let (chain, key) = client_auth(cert)?;
    builder.with_client_auth_cert(chain, key).map_err(|e| {
        Error::new(
            Exit::ClientCert,
            format!("cannot use the client certificate {}: {e}", cert.cert.display()),
        )
        .hint("give a PEM file with the CERTIFICATE and its PRIVATE KEY (or the key with --key, --proxy-key)")
    })
}

/// `-E`'s (or `--proxy-cert`'s) certificate chain and key (an encrypted key is refused by
/// `conn::identity_pem`, exit 58).
pub(crate) fn client_auth(
    cert: &ClientCert,
) -> Result<(Vec<rustls_pki_types::CertificateDer<'static>>, rustls_pki_types::PrivateKeyDer<'static>)> {
    use rustls_pki_types::pem::PemObject;
    let pem = super::conn::identity_pem(&cert.cert, cert.key.as_deref())?;
    let bad = |why: String| {
        Error::new(
            Exit::ClientCert,
            format!("cannot use the client certificate {}: {why}", cert.cert.display()),
        )
        .hint("give a PEM file with the CERTIFICATE and its PRIVATE KEY (or the key with --key)")
    };
    let chain: Vec<_> = rustls_pki_types::CertificateDer::pem_slice_iter(&pem)
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| bad(e.to_string()))?;
    if chain.is_empty() {
        return Err(bad("no CERTIFICATE in it".into()));
    }
    // With --key the key is that file's: a bad one is named, not the certificate (review E).
    let key = rustls_pki_types::PrivateKeyDer::from_pem_slice(&pem).map_err(|e| match &cert.key {
        Some(k) => Error::new(
            Exit::ClientCert,
            format!("cannot use the private key {}: no PRIVATE KEY in it ({e})", k.display()),
        )
        .hint("give a PEM file with the certificate's PRIVATE KEY with --key"),
        None => bad(format!("no private key ({e})")),
    })?;
    Ok((chain, key))
}

/// reqwest's TLS settings: toll's own for the same request ([`origin_tls`], whose platform
/// verifier reads the system's CA bundle only when a certificate is to be checked), so every
/// request checks a certificate the same way (`verify::AsOpenSsl` for `--cacert`/`--capath`),
/// whatever else is given (`--http1.0`, `--tlsv1.x`, `-E`, …): reqwest's own settings would
/// check with webpki alone.
pub(super) fn reqwest_tls(req: &RequestConfig) -> Result<rustls::ClientConfig> {
    Ok((*origin_tls(req)?).clone())
}

/// What the server's certificate is checked against: the CA file and directory if given
/// (`--cacert`, `--capath`), else the platform's verifier (or with CRLs the system's roots).
#[derive(Clone, Copy)]
struct Trust<'a> {
    cacert: Option<&'a Path>,
    capath: Option<&'a Path>,
}

impl Trust<'_> {
    fn given(&self) -> bool {
        self.cacert.is_some() || self.capath.is_some()
    }

    fn roots(&self) -> Result<rustls::RootCertStore> {
        roots_of(self.certs()?)
    }

    /// The certificates of `--cacert` and `--capath`, each with where it came from.
    fn certs(&self) -> Result<Vec<(rustls_pki_types::CertificateDer<'static>, &Path)>> {
        let mut certs = Vec::new();
        if let Some(path) = self.cacert {
            certs.extend(read_certs(path)?.into_iter().map(|c| (c, path)));
        }
        if let Some(dir) = self.capath {
            certs.extend(super::conn::capath_certs(dir)?.into_iter().map(|c| (c, dir)));
        }
        Ok(certs)
    }

    /// The check of `--cacert`'s and `--capath`'s roots, which also takes one of them presented
    /// as the server's own certificate (`verify::Check::Roots`).
    fn check(&self, provider: &Arc<rustls::crypto::CryptoProvider>) -> Result<verify::Check> {
        let certs = self.certs()?;
        let anchors = certs.iter().map(|(c, _)| c.clone()).collect();
        let roots = Arc::new(roots_of(certs)?);
        let webpki =
            rustls::client::WebPkiServerVerifier::builder_with_provider(roots.clone(), provider.clone())
                .build()
                .map_err(|e| bad_ca(self.shown(), &e.to_string()))?;
        Ok(verify::Check::Roots(webpki, verify::AsOpenSsl { roots, anchors }))
    }

    /// The file or directory an error about them names.
    fn shown(&self) -> &Path {
        self.cacert.or(self.capath).unwrap_or(Path::new("-"))
    }
}

/// For the `x509v1` fuzz target (bytes a server sends): whether `cert`, as a server's X.509
/// version 1 certificate, is taken for `host` at `now` (seconds since 1970) with the root
/// certificates `anchors` (DER), as `--cacert` holding them would take it.
pub fn x509v1_taken(anchors: &[Vec<u8>], cert: &[u8], host: &str, now: u64) -> bool {
    let anchors: Vec<_> = anchors.iter().map(|a| rustls_pki_types::CertificateDer::from(a.clone())).collect();
    let Ok(name) = rustls_pki_types::ServerName::try_from(host.to_string()) else { return false };
    let Ok((_, x509)) = x509_parser::parse_x509_certificate(cert) else { return false };
    if x509.version() != x509_parser::x509::X509Version::V1 {
        return false;
    }
    let when = rustls_pki_types::UnixTime::since_unix_epoch(std::time::Duration::from_secs(now));
    let provider = rustls::crypto::ring::default_provider();
    let cert = rustls_pki_types::CertificateDer::from(cert);
    verify::v1::verify(&anchors, &provider, &cert, &x509, &name, when).is_ok()
}

/// A root store of `certs`; a certificate it cannot take names the file it came from.
fn roots_of(certs: Vec<(rustls_pki_types::CertificateDer<'static>, &Path)>) -> Result<rustls::RootCertStore> {
    let mut roots = rustls::RootCertStore::empty();
    for (cert, from) in certs {
        roots.add(cert).map_err(|e| bad_ca(from, &e.to_string()))?;
    }
    Ok(roots)
}

/// A client config that checks nothing (`insecure`: signatures still are), or trusts only the
/// roots of `trust`, or the platform's verifier; and then, with `pins`, the public key. The
/// tuning options choose the suites and groups, and with a CRL file the certificate is checked
/// by webpki against `trust`'s roots or the system's (the platform verifier takes no CRLs).
/// The caller adds the client certificate, if any.
fn verifying(
    insecure: bool,
    trust: Trust<'_>,
    pins: Option<verify::Pins>,
    tuning: &TlsTuning,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Result<rustls::ConfigBuilder<rustls::ClientConfig, rustls::client::WantsClientCert>> {
    let provider = tls_tuning::provider(tuning)?;
    // Read with -k too: curl loads the file (and fails on a bad one) before it connects.
    let crls = tuning.crlfile.as_deref().map(tls_tuning::read_crls).transpose()?;
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .map_err(|e| Error::new(Exit::Internal, format!("TLS setup: {e}")))?;
    let crl_check = match crls {
        Some(crls) if !insecure => {
            let roots = if trust.given() { trust.roots()? } else { tls_tuning::system_roots()? };
            Some((crls.verifier(roots, provider.clone())?, crls))
        }
        _ => None,
    };
    // --curves: in TLS 1.2 the server's ECDSA key must be on one of them too (OpenSSL's check).
    let key_curves = tuning.curves.is_some();
    if pins.is_some() || crl_check.is_some() || key_curves {
        let check = if insecure {
            verify::Check::AcceptAny
        } else if let Some((verifier, crls)) = crl_check {
            verify::Check::Crl(verifier, crls)
        } else if trust.given() {
            trust.check(&provider)?
        } else {
            verify::Check::Platform(std::sync::OnceLock::new())
        };
        let checked = verify::checked(provider, check, pins, key_curves);
        return Ok(builder.dangerous().with_custom_certificate_verifier(checked));
    }
    Ok(if insecure {
        builder.dangerous().with_custom_certificate_verifier(verify::accept_any(provider))
    } else if trust.given() {
        let check = trust.check(&provider)?;
        builder.dangerous().with_custom_certificate_verifier(verify::checked(provider, check, None, false))
    } else if tuning.is_set() {
        // The shared platform verifier holds the first caller's provider: ring's whole.
        let check = verify::Check::Platform(std::sync::OnceLock::new());
        builder.dangerous().with_custom_certificate_verifier(verify::checked(provider, check, None, false))
    } else {
        builder.dangerous().with_custom_certificate_verifier(verify::platform(provider))
    })
}

/// The certificate check `--cacert` and `--capath` make, for `toll doctor` to check a proxy's
/// certificate as a transfer would.
pub(crate) fn roots_verifier(
    cacert: Option<&Path>,
    capath: Option<&Path>,
) -> Result<Arc<dyn rustls::client::danger::ServerCertVerifier>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let check = Trust { cacert, capath }.check(&provider)?;
    Ok(verify::checked(provider, check, None, false))
}

/// The certificate check `--crlfile` (or `--proxy-crlfile`) makes: `cacert`'s and `capath`'s
/// roots, or the system's, and the file's CRLs for the end entity (toll doctor shows what it
/// says of a proxy).
pub(crate) fn crl_verifier(
    cacert: Option<&Path>,
    capath: Option<&Path>,
    crlfile: &Path,
) -> Result<Arc<dyn rustls::client::danger::ServerCertVerifier>> {
    let trust = Trust { cacert, capath };
    let roots = if trust.given() { trust.roots()? } else { tls_tuning::system_roots()? };
    let crls = tls_tuning::read_crls(crlfile)?;
    Ok(crls.verifier(roots, Arc::new(rustls::crypto::ring::default_provider()))?)
}

/// `--pinnedpubkey`'s keys: the digests as given, or the key in its file (PEM `PUBLIC KEY`, or
/// DER), read now. A file that holds no public key is exit 90, as in curl.
fn pins(pinned: &PinnedKey) -> Result<verify::Pins> {
    use rustls_pki_types::pem::PemObject;
    match pinned {
        PinnedKey::Sha256(digests) => Ok(verify::Pins { digests: digests.clone(), keys: Vec::new() }),
        PinnedKey::File(path) => {
            let bad = |why: String| {
                Error::new(Exit::PinnedKey, format!("cannot use the pinned public key file {}: {why}", path.display()))
                    .hint("give a PEM file with a PUBLIC KEY block (openssl pkey -pubout), its DER form, or sha256//BASE64")
            };
            let bytes = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
            let key = match rustls_pki_types::SubjectPublicKeyInfoDer::from_pem_slice(&bytes) {
                Ok(der) => der.to_vec(),
                // Not PEM: DER, which must at least be one whole DER SEQUENCE.
                Err(_) if bytes.first() == Some(&0x30) && der_length(&bytes) == Some(bytes.len()) => bytes,
                Err(e) => return Err(bad(format!("no public key in it ({e})"))),
            };
            Ok(verify::Pins { digests: Vec::new(), keys: vec![key] })
        }
    }
}

/// The whole length of the DER element that starts `b` (tag, length, contents), if it says.
fn der_length(b: &[u8]) -> Option<usize> {
    let first = *b.get(1)?;
    if first < 0x80 {
        return Some(2 + first as usize);
    }
    let n = (first & 0x7f) as usize;
    if n == 0 || n > 4 {
        return None;
    }
    let len = b.get(2..2 + n)?.iter().fold(0usize, |acc, &x| (acc << 8) | x as usize);
    Some(2 + n + len)
}

/// The certificates of a PEM file (`--cacert`, `--proxy-cacert`); an error names the file. A
/// file is read once per process: the HTTP client, the tunnel's TLS and the proxy's may all
/// ask for the same one (a system bundle is ~150 certificates to decode).
pub fn read_certs(path: &std::path::Path) -> Result<Vec<rustls_pki_types::CertificateDer<'static>>> {
    use std::collections::HashMap;
    use std::sync::Mutex;
    type Read = Vec<rustls_pki_types::CertificateDer<'static>>;
    static READ: Mutex<Option<HashMap<std::path::PathBuf, Read>>> = Mutex::new(None);
    if let Some(certs) = READ.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert_default().get(path) {
        return Ok(certs.clone());
    }
    let certs = read_certs_from_file(path)?;
    READ.lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_or_insert_default()
        .insert(path.to_path_buf(), certs.clone());
    Ok(certs)
}

fn read_certs_from_file(path: &std::path::Path) -> Result<Vec<rustls_pki_types::CertificateDer<'static>>> {
    use rustls_pki_types::pem::PemObject;
    let certs: Vec<_> = rustls_pki_types::CertificateDer::pem_file_iter(path)
        .map_err(|e| bad_ca(path, &e.to_string()))?
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| bad_ca(path, &e.to_string()))?;
    if certs.is_empty() {
        return Err(bad_ca(path, "no PEM certificate in it"));
    }
    Ok(certs)
}

/// Whether a TLS error is `--pinnedpubkey`'s refusal (exit 90).
pub(super) fn is_pin_mismatch(e: &rustls::Error) -> bool {
    crate::pin::is_mismatch(e)
}

/// The error for a certificate that did not verify (exit 60), with a hint for its reason; a
/// CRL of `--crlfile` that webpki could not use for it (a bad signature, an issuer that may not
/// sign CRLs) is that too, as OpenSSL fails the certificate then.
pub(super) fn bad_certificate(shown: &str, text: &str, e: &rustls::Error) -> Error {
    Error::new(Exit::PeerCert, format!("the certificate of {shown} cannot be verified: {}", readable(text)))
        .hint(tls_tuning::bad_certificate_hint(e))
}

pub use crate::relay::readable;

/// The hint for a TLS failure with the origin other than its certificate: a server that
/// accepts none of what was offered (a handshake_failure alert) can be one that does none of
/// the suites or curves `--ciphers`/`--tls13-ciphers`/`--curves` left.
pub(super) fn failure_hint(e: Option<&rustls::Error>) -> &'static str {
    match e {
        Some(rustls::Error::AlertReceived(rustls::AlertDescription::HandshakeFailure)) => {
            "the server accepts none of the cipher suites or curves offered: check --ciphers, --tls13-ciphers and --curves"
        }
        Some(rustls::Error::General(why)) if why.contains("--curves") => {
            "add the key's curve to --curves (or leave TLS 1.3 allowed, where it is not needed)"
        }
        _ => "if the server uses a private CA, pass it with --cacert FILE (or -k to skip the check)",
    }
}

/// The error for a server whose key is not the pinned one.
pub(super) fn pin_mismatch(shown: &str) -> Error {
    Error::new(Exit::PinnedKey, format!("the public key of {shown} does not match --pinnedpubkey"))
        .hint("the server's key changed, or something between (a TLS-inspecting proxy) answered for it: check with 'toll doctor URL'")
}

pub(super) fn bad_ca(path: &std::path::Path, why: &str) -> Error {
    Error::new(Exit::CaCert, format!("cannot use CA file {}: {why}", path.display()))
        .hint("give a PEM file with one or more CERTIFICATE blocks")
}

mod verify;

#[cfg(test)]
mod tests {
    use super::*;

    /// A P-256 public key (`openssl pkey -pubout`), and its DER body.
    const KEY_PEM: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEw8SXx6SC499jeOuajL0lTEY43ljt
RWfKI2MJ1fYM/MZp/LG36T9nraxxRt/5AfO1WhpBMcpe+ibjtRE+kqmsHg==
-----END PUBLIC KEY-----
";

    fn der() -> Vec<u8> {
        use base64::Engine;
        let body: String = KEY_PEM.lines().filter(|l| !l.starts_with("-----")).collect();
        base64::engine::general_purpose::STANDARD.decode(body).unwrap()
    }

    #[test]
    fn certificate_errors_read_without_debug_names() {
        assert_eq!(
            readable("invalid peer certificate: Other(OtherError(CaUsedAsEndEntity))"),
            "invalid peer certificate: a CA's certificate presented as the server's own (a self-signed CA?)"
        );
        assert_eq!(readable("x: Other(OtherError(UnknownThing))"), "x: UnknownThing");
        assert_eq!(
            readable("it is for DnsName(\"wrong.example\"), IpAddress(10.0.0.1), IpAddress(::1)"),
            "it is for wrong.example, 10.0.0.1, ::1"
        );
        assert_eq!(readable("certificate revocation list expired"), "certificate revocation list expired");
    }

    #[test]
    fn a_pinned_key_file_is_pem_or_der_and_anything_else_is_exit_90() {
        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str, bytes: &[u8]| {
            let p = dir.path().join(name);
            std::fs::write(&p, bytes).unwrap();
            PinnedKey::File(p)
        };
        for pinned in [file("k.pem", KEY_PEM.as_bytes()), file("k.der", &der())] {
            let p = pins(&pinned).unwrap();
            assert_eq!((p.keys, p.digests.len()), (vec![der()], 0));
        }
        let cert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        let mut cut = der();
        cut.pop();
        let missing = PinnedKey::File(dir.path().join("missing.pem"));
        for bad in [file("cert.pem", cert.as_bytes()), file("cut.der", &cut), file("empty", b""), missing] {
            assert_eq!(pins(&bad).map(|_| ()).unwrap_err().exit, Exit::PinnedKey, "{bad:?}");
        }
    }

    #[test]
    fn a_root_presented_as_the_servers_own_certificate_is_trusted_for_its_names_and_dates() {
        use rustls::client::danger::ServerCertVerifier;
        use rustls_pki_types::{ServerName, UnixTime};
        // What `openssl req -x509` makes: self-signed, and saying it is a CA.
        let self_signed = |names: &[&str]| {
            let mut params =
                rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                    .unwrap();
            params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
            params.not_before = rcgen::date_time_ymd(2026, 1, 1);
            params.not_after = rcgen::date_time_ymd(2027, 1, 1);
            params.self_signed(&rcgen::KeyPair::generate().unwrap()).unwrap()
        };
        let (mine, other) = (self_signed(&["localhost"]), self_signed(&["localhost"]));
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("self.pem");
        std::fs::write(&file, mine.pem()).unwrap();
        let trust = Trust { cacert: Some(&file), capath: None };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let v = verify::checked(provider.clone(), trust.check(&provider).unwrap(), None, false);
        let at = |secs| UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs));
        let (in_2026, in_2028, in_2025) = (at(1_780_000_000), at(1_830_000_000), at(1_750_000_000));
        let name = |n: &str| ServerName::try_from(n.to_string()).unwrap();
        let check = |cert: &rcgen::Certificate, host: &str, now| {
            v.verify_server_cert(cert.der(), &[], &name(host), &[], now).map(|_| ())
        };
        assert_eq!(check(&mine, "localhost", in_2026), Ok(()));
        assert!(check(&mine, "other.test", in_2026).is_err(), "its names still hold");
        let bad = |e| Err(rustls::Error::InvalidCertificate(e));
        assert_eq!(check(&mine, "localhost", in_2028), bad(rustls::CertificateError::Expired));
        assert_eq!(check(&mine, "localhost", in_2025), bad(rustls::CertificateError::NotValidYet));
        // A certificate of the same name that is not in the file: refused, as webpki refuses it.
        assert!(check(&other, "localhost", in_2026).is_err());
    }

    #[test]
    fn without_subject_alt_names_the_common_name_is_the_name_as_curl_reads_it() {
        use rustls::client::danger::ServerCertVerifier;
        use rustls_pki_types::{ServerName, UnixTime};
        let params = |cn: &str, sans: &[&str], ca: bool| {
            let mut p = rcgen::CertificateParams::new(sans.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
            p.distinguished_name.push(rcgen::DnType::CommonName, cn);
            if ca {
                p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
            }
            p
        };
        // `openssl req -x509 -subj /CN=localhost`: self-signed, a CA, no subjectAltName.
        let alone = params("localhost", &[], true).self_signed(&rcgen::KeyPair::generate().unwrap()).unwrap();
        // A private CA, and leaves it signed by common name only or with other names too.
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let ca_cert = params("Private CA", &[], true).self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(params("Private CA", &[], true), ca_key);
        let leaf = |cn: &str, sans: &[&str]| {
            params(cn, sans, false).signed_by(&rcgen::KeyPair::generate().unwrap(), &issuer).unwrap()
        };
        let (by_cn, wildcard, with_sans) = (
            leaf("a.example.test", &[]),
            leaf("*.example.test", &[]),
            leaf("a.example.test", &["b.example.test"]),
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("roots.pem");
        std::fs::write(&file, format!("{}{}", alone.pem(), ca_cert.pem())).unwrap();
        let trust = Trust { cacert: Some(&file), capath: None };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let v = verify::checked(provider.clone(), trust.check(&provider).unwrap(), None, false);
        let now = UnixTime::now();
        let check = |cert: &rcgen::Certificate, host: &str| {
            let name = ServerName::try_from(host.to_string()).unwrap();
            v.verify_server_cert(cert.der(), &[], &name, &[], now).is_ok()
        };
        assert!(check(&alone, "localhost") && check(&alone, "LOCALHOST") && !check(&alone, "127.0.0.1"));
        assert!(check(&by_cn, "a.example.test") && !check(&by_cn, "b.example.test"));
        assert!(check(&wildcard, "x.example.test") && !check(&wildcard, "example.test"));
        assert!(!check(&wildcard, "y.x.example.test"), "one label only");
        // With subjectAltName names, the common name is not a name (as in curl).
        assert!(check(&with_sans, "b.example.test") && !check(&with_sans, "a.example.test"));
    }

    /// X.509 version 1 certificates as OpenSSL 3.0's `openssl x509 -req` makes them (fixtures in
    /// tests/it/x509v1, with how they were made): webpki parses none of them; curl takes them.
    #[test]
    fn version_1_certificates_are_checked_as_openssl_checks_them() {
        use rustls::client::danger::ServerCertVerifier;
        use rustls_pki_types::pem::PemObject;
        use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
        const CA: &str = include_str!("../../tests/it/x509v1/ca.pem");
        const FAKE_CA: &str = include_str!("../../tests/it/x509v1/fake-ca.pem");
        const LEAF: &str = include_str!("../../tests/it/x509v1/leaf.pem");
        const SELF: &str = include_str!("../../tests/it/x509v1/self.pem");
        let der = |pem: &str| CertificateDer::from_pem_slice(pem.as_bytes()).unwrap();
        let (leaf, own) = (der(LEAF), der(SELF));
        let dir = tempfile::tempdir().unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        // One file per verifier: `read_certs` keeps what it read by path.
        let made = std::cell::Cell::new(0);
        let verifier = |roots: &[&str]| {
            made.set(made.get() + 1);
            let file = dir.path().join(format!("roots{}.pem", made.get()));
            std::fs::write(&file, roots.concat()).unwrap();
            let trust = Trust { cacert: Some(&file), capath: None };
            verify::checked(provider.clone(), trust.check(&provider).unwrap(), None, false)
        };
        let at = |secs| UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs));
        let (now, in_2127, in_2025) = (UnixTime::now(), at(4_960_000_000), at(1_750_000_000));
        let check = |v: &verify::Verifier, cert: &CertificateDer<'_>, host: &str, when| {
            let name = ServerName::try_from(host.to_string()).unwrap();
            v.verify_server_cert(cert, &[], &name, &[], when).map(|_| ())
        };
        let bad = |e| Err(rustls::Error::InvalidCertificate(e));
        let by_ca = verifier(&[CA]);
        assert_eq!(check(&by_ca, &leaf, "localhost", now), Ok(()));
        assert_eq!(check(&by_ca, &leaf, "LOCALHOST", now), Ok(()));
        assert_eq!(check(&by_ca, &leaf, "other.test", now), bad(rustls::CertificateError::NotValidForName));
        assert_eq!(check(&by_ca, &leaf, "localhost", in_2127), bad(rustls::CertificateError::Expired));
        assert_eq!(check(&by_ca, &leaf, "localhost", in_2025), bad(rustls::CertificateError::NotValidYet));
        // Not signed by what the file holds: another key under the CA's name; a self-signed
        // certificate (only the file holding it trusts it, not its key's other certificates).
        assert!(check(&verifier(&[FAKE_CA]), &leaf, "localhost", now).is_err());
        assert!(check(&by_ca, &own, "localhost", now).is_err());
        assert!(check(&verifier(&[LEAF]), &own, "localhost", now).is_err());
        assert_eq!(check(&verifier(&[SELF]), &own, "localhost", now), Ok(()));
        assert!(check(&verifier(&[SELF]), &own, "127.0.0.1", now).is_err());
        // The file holding the server's own certificate trusts it (curl's partial chains).
        assert_eq!(check(&verifier(&[LEAF]), &leaf, "localhost", now), Ok(()));
        // Found by the x509v1 fuzz target: the outer signatureAlgorithm's SEQUENCE tag changed
        // (0x30 to 0x70; outside the signed part, so the signature still held). Not DER: refused.
        let mut mangled = leaf.to_vec();
        let at = 4 + 3 + usize::from(mangled[6]);
        assert_eq!((&mangled[4..6], mangled[at]), (&[0x30, 0x81][..], 0x30), "the fixture's layout");
        mangled[at] = 0x70;
        assert!(check(&by_ca, &CertificateDer::from(mangled), "localhost", now).is_err());
        // A length in a longer form than DER's (the outer one: not signed either).
        let mut longer = vec![0x30, 0x83, 0x00];
        longer.extend_from_slice(&leaf[2..]);
        assert!(check(&by_ca, &CertificateDer::from(longer), "localhost", now).is_err());
    }

    /// The handshake's signature is checked with a version 1 certificate's key (TLS 1.2 here;
    /// TLS 1.3 goes through rustls's check of a raw key).
    #[test]
    fn a_version_1_certificates_key_checks_the_handshake_signature() {
        use rustls::SignatureScheme::{ECDSA_NISTP256_SHA256, RSA_PKCS1_SHA256};
        use rustls_pki_types::pem::PemObject;
        use rustls_pki_types::{CertificateDer, PrivateKeyDer};
        let leaf = CertificateDer::from_pem_slice(include_bytes!("../../tests/it/x509v1/leaf.pem")).unwrap();
        let key = PrivateKeyDer::from_pem_slice(include_bytes!("../../tests/it/x509v1/leaf.key")).unwrap();
        let key = rustls::crypto::ring::sign::any_ecdsa_type(&key).unwrap();
        let signer = key.choose_scheme(&[ECDSA_NISTP256_SHA256]).unwrap();
        let signed = signer.sign(b"handshake").unwrap();
        let spki = verify::v1::key(&leaf).expect("a version 1 certificate");
        let algorithms = &rustls::crypto::ring::default_provider().signature_verification_algorithms;
        let check = |m: &[u8], scheme| verify::v1::tls12_signature(m, &spki, scheme, &signed, algorithms);
        assert!(check(b"handshake", ECDSA_NISTP256_SHA256).is_ok());
        assert!(check(b"handshakE", ECDSA_NISTP256_SHA256).is_err());
        assert!(check(b"handshake", RSA_PKCS1_SHA256).is_err());
        let v3 = CertificateDer::from_pem_slice(include_bytes!("../../tests/it/x509v1/ca.pem")).unwrap();
        assert!(verify::v1::key(&v3).is_none(), "webpki checks every other certificate");
    }
}
