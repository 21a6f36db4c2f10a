//! X.509 version 1 certificates, which webpki does not parse (`UnsupportedCertVersion`) and
//! OpenSSL takes: a server's from `--cacert`/`--capath` (the file holds it, or one of its
//! certificates signed it: hand-made CAs sign their servers' certificates directly), and
//! the handshake's signature made with its key — with `-k` too, as curl does. A version 1
//! certificate has no extensions, so no subjectAltName: its common name is the name.

use super::{common_name_matches, valid_at};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::{CertificateError, Error, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, SubjectPublicKeyInfoDer, UnixTime};
use x509_parser::certificate::X509Certificate;

/// `cert` (version 1) for `server_name`: one of `anchors`, or signed by one that is valid
/// now (which need not be a self-signed root: curl asks OpenSSL for partial chains);
/// valid now itself; its common name the server's.
pub fn verify(
    anchors: &[CertificateDer<'static>],
    provider: &CryptoProvider,
    cert: &CertificateDer<'_>,
    x509: &X509Certificate<'_>,
    server_name: &ServerName<'_>,
    now: UnixTime,
) -> Result<ServerCertVerified, Error> {
    // A self-issued certificate must be one of the roots itself, as OpenSSL takes it
    // (another one with its name and key is not its issuer, but a copy).
    let self_issued = x509.subject().as_raw() == x509.issuer().as_raw();
    if !anchors.iter().any(|a| a.as_ref() == cert.as_ref()) {
        let algorithms = &provider.signature_verification_algorithms;
        let issuer = anchors
            .iter()
            .filter(|_| !self_issued)
            .filter_map(|a| x509_parser::parse_x509_certificate(a).ok().map(|(_, a)| a))
            .find(|a| {
                a.subject().as_raw() == x509.issuer().as_raw()
                    && signed_by(cert, a.tbs_certificate.subject_pki.raw, algorithms)
            });
        // webpki's error names the version it cannot parse: the issuer is what is missing.
        let Some(issuer) = issuer else {
            return Err(Error::InvalidCertificate(CertificateError::UnknownIssuer));
        };
        valid_at(&issuer, now)?;
    }
    valid_at(x509, now)?;
    match common_name_matches(x509, server_name) {
        true => Ok(ServerCertVerified::assertion()),
        false => Err(Error::InvalidCertificate(CertificateError::NotValidForName)),
    }
}

/// The public key (SubjectPublicKeyInfo) of a version 1 certificate; `None` for any
/// other (webpki's checks apply to it).
pub fn key(cert: &CertificateDer<'_>) -> Option<SubjectPublicKeyInfoDer<'static>> {
    let (_, x509) = x509_parser::parse_x509_certificate(cert).ok()?;
    (x509.version() == x509_parser::x509::X509Version::V1)
        .then(|| SubjectPublicKeyInfoDer::from(x509.tbs_certificate.subject_pki.raw.to_vec()))
}

/// A TLS 1.2 handshake signature by `spki`'s key, as rustls checks one with a
/// certificate's: every algorithm the scheme maps to is tried.
pub fn tls12_signature(
    message: &[u8],
    spki: &SubjectPublicKeyInfoDer<'_>,
    scheme: SignatureScheme,
    signature: &[u8],
    algorithms: &WebPkiSupportedAlgorithms,
) -> Result<HandshakeSignatureValid, Error> {
    let candidates = algorithms.mapping.iter().find(|(s, _)| *s == scheme).map(|(_, a)| *a);
    let good = candidates.unwrap_or_default().iter().any(|alg| verified(*alg, spki, message, signature));
    match good {
        true => Ok(HandshakeSignatureValid::assertion()),
        false => Err(Error::InvalidCertificate(CertificateError::BadSignature)),
    }
}

/// Whether `cert`'s signature is by `issuer_spki`'s key, with the algorithm `cert` names
/// (in DER, and the same inside the signed part as outside it, as RFC 5280 asks).
fn signed_by(cert: &[u8], issuer_spki: &[u8], algorithms: &WebPkiSupportedAlgorithms) -> bool {
    let Some([tbs, algorithm, signature]) = sequence(cert).and_then(|s| <[Der; 3]>::try_from(s).ok()) else {
        return false;
    };
    // The signed part: [0] version (not in a version 1 certificate), serial, algorithm, …
    let signed_algorithm = sequence(tbs.whole).and_then(|items| {
        let mut items = items.into_iter().skip_while(|d| d.tag == 0xa0);
        items.next().filter(|serial| serial.tag == 0x02)?;
        items.next().map(|d| d.whole)
    });
    if tbs.tag != 0x30 || algorithm.tag != 0x30 || signed_algorithm != Some(algorithm.whole) {
        return false;
    }
    let Some(signature) = bits(&signature) else { return false };
    let spki = SubjectPublicKeyInfoDer::from(issuer_spki);
    algorithms.all.iter().any(|alg| {
        alg.signature_alg_id().as_ref() == algorithm.contents && verified(*alg, &spki, tbs.whole, signature)
    })
}

/// `signature` over `message` by `spki`'s key, when `alg` is for that kind of key.
fn verified(
    alg: &dyn rustls_pki_types::SignatureVerificationAlgorithm,
    spki: &SubjectPublicKeyInfoDer<'_>,
    message: &[u8],
    signature: &[u8],
) -> bool {
    let Some([key_alg, key]) = sequence(spki.as_ref()).and_then(|s| <[Der; 2]>::try_from(s).ok()) else {
        return false;
    };
    key_alg.tag == 0x30
        && alg.public_key_alg_id().as_ref() == key_alg.contents
        && bits(&key).is_some_and(|key| alg.verify_signature(key, message, signature).is_ok())
}

/// One DER element: its tag, its contents, and all its bytes.
struct Der<'a> {
    tag: u8,
    contents: &'a [u8],
    whole: &'a [u8],
}

/// The first DER element of `der` and the bytes after it (definite lengths only, as DER).
fn element(der: &[u8]) -> Option<(Der<'_>, &[u8])> {
    let (&tag, rest) = der.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = match first {
        0..=0x7f => (usize::from(first), rest),
        0x81..=0x84 => {
            let n = usize::from(first & 0x7f);
            let (digits, rest) = (rest.get(..n)?, rest.get(n..)?);
            let len = digits.iter().fold(0usize, |a, &b| (a << 8) | usize::from(b));
            // DER: the shortest form only (no leading zero byte, no long form below 128).
            if digits[0] == 0 || len < 0x80 {
                return None;
            }
            (len, rest)
        }
        _ => return None,
    };
    let contents = rest.get(..len)?;
    let whole = &der[..der.len() - rest.len() + len];
    Some((Der { tag, contents, whole }, &rest[len..]))
}

/// The elements of the SEQUENCE `der` is (nothing may follow it).
fn sequence(der: &[u8]) -> Option<Vec<Der<'_>>> {
    let (seq, rest) = element(der)?;
    if seq.tag != 0x30 || !rest.is_empty() {
        return None;
    }
    let (mut items, mut left) = (Vec::new(), seq.contents);
    while !left.is_empty() {
        let (item, rest) = element(left)?;
        items.push(item);
        left = rest;
    }
    Some(items)
}

/// A BIT STRING's bytes (whole bytes only, as keys and signatures are).
fn bits<'a>(d: &Der<'a>) -> Option<&'a [u8]> {
    match d.contents.split_first() {
        Some((0, bytes)) if d.tag == 0x03 => Some(bytes),
        _ => None,
    }
}
