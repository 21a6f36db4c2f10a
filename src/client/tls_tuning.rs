//! curl's TLS tuning options ([`TlsTuning`]) in rustls's terms: `--ciphers` (OpenSSL's
//! cipher-list syntax) and `--tls13-ciphers` become the cipher suites of a [`CryptoProvider`],
//! `--curves` its key exchange groups, and `--crlfile` the CRLs a webpki verifier checks the
//! end-entity certificate against. Lists are read as OpenSSL 3.0 reads them under curl 7.88
//! (measured: README "TLS tuning"), within what the ring provider can do.

use crate::config::TlsTuning;
use crate::error::{Error, Exit, Result};
use rustls::crypto::ring::{cipher_suite as cs, kx_group};
use rustls::crypto::{CryptoProvider, SupportedKxGroup};
use rustls::SupportedCipherSuite;
use rustls_pki_types::{CertificateRevocationListDer, UnixTime};
use std::path::Path;
use std::sync::Arc;

/// The ring provider with only the suites and groups the options name, in their order (a
/// client offers them so; rustls keeps the order). A version whose list is not given keeps
/// ring's suites for it.
pub(crate) fn provider(t: &TlsTuning) -> Result<Arc<CryptoProvider>> {
    let ring = rustls::crypto::ring::default_provider();
    if !t.is_set() {
        return Ok(Arc::new(ring));
    }
    let of = |v: rustls::ProtocolVersion| -> Vec<SupportedCipherSuite> {
        ring.cipher_suites.iter().copied().filter(|s| s.version().version == v).collect()
    };
    let tls13 = match &t.tls13_ciphers {
        Some(list) => tls13_suites(list)?,
        None => of(rustls::ProtocolVersion::TLSv1_3),
    };
    let tls12 = match &t.ciphers {
        Some(list) => tls12_suites(list)?,
        None => of(rustls::ProtocolVersion::TLSv1_2),
    };
    let kx_groups = match &t.curves {
        Some(list) => groups(list)?,
        None => ring.kx_groups.clone(),
    };
    Ok(Arc::new(CryptoProvider { cipher_suites: [tls13, tls12].concat(), kx_groups, ..ring }))
}

/// ring's TLS 1.2 suites in OpenSSL 3.0's own order for them (`openssl ciphers -s ALL`), with
/// OpenSSL's name for each and the OpenSSL words (aliases) that take it in, besides those that
/// take in all six ([`EVERY_SUITE`]).
fn tls12_table() -> [(&'static str, SupportedCipherSuite, &'static [&'static str]); 6] {
    [
        (
            "ECDHE-ECDSA-AES256-GCM-SHA384",
            cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            &["aECDSA", "ECDSA", "AESGCM", "AES", "AES256", "FIPS"],
        ),
        (
            "ECDHE-RSA-AES256-GCM-SHA384",
            cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            &["aRSA", "AESGCM", "AES", "AES256", "FIPS"],
        ),
        (
            "ECDHE-ECDSA-CHACHA20-POLY1305",
            cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
            &["aECDSA", "ECDSA", "CHACHA20"],
        ),
        (
            "ECDHE-RSA-CHACHA20-POLY1305",
            cs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
            &["aRSA", "CHACHA20"],
        ),
        (
            "ECDHE-ECDSA-AES128-GCM-SHA256",
            cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            &["aECDSA", "ECDSA", "AESGCM", "AES", "AES128", "FIPS"],
        ),
        (
            "ECDHE-RSA-AES128-GCM-SHA256",
            cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            &["aRSA", "AESGCM", "AES", "AES128", "FIPS"],
        ),
    ]
}

/// OpenSSL words that take in every suite of [`tls12_table`] (all are ECDHE, TLS 1.2 only and
/// "high" strength).
const EVERY_SUITE: &[&str] = &["ALL", "HIGH", "TLSv1.2", "ECDHE", "EECDH", "kECDHE", "kEECDH", "ECDH"];

/// `--ciphers`: OpenSSL's cipher-list language over ring's TLS 1.2 suites. Items are
/// separated by `:`, `,`, `;` or spaces; an item is a suite's name or words joined by `+` (the
/// suites all of them take in); `!` in front removes for good, `-` removes (a later item may
/// add back), `+` moves to the end; `@STRENGTH` puts the 256-bit ones first, `@SECLEVEL=n`
/// changes nothing here (all six pass every level curl allows). A name
/// or word toll does not know takes in nothing, as in OpenSSL, which fails only when the list
/// ends up empty: curl's exit 59.
///
/// The order is OpenSSL's too: it keeps every suite in one list, each on or off; adding turns
/// on and moves to the end (in list order) those that were off, `+` moves those on to the end,
/// `-` turns off and moves to the front, `!` takes out of the list.
fn tls12_suites(list: &str) -> Result<Vec<SupportedCipherSuite>> {
    let table = tls12_table();
    let mut order: Vec<usize> = (0..table.len()).collect();
    let mut on = [false; 6];
    // `DEFAULT` counts only at the very start, where OpenSSL reads its default list (all six)
    // first; elsewhere it is no word.
    let rest = match list.strip_prefix("DEFAULT") {
        Some(rest) => {
            on = [true; 6];
            rest
        }
        None => list,
    };
    for item in rest.split([':', ',', ';', ' ']).filter(|i| !i.is_empty()) {
        let (op, rule) = match item.as_bytes()[0] {
            b'!' | b'-' | b'+' => (item.as_bytes()[0], &item[1..]),
            _ => (b'a', item),
        };
        if rule == "@STRENGTH" {
            // Strongest first (by the cipher's key bits), in their order otherwise.
            order.sort_by_key(|&i| if table[i].0.contains("AES128") { 1 } else { 0 });
            continue;
        }
        if rule.starts_with('@') {
            continue;
        }
        let takes = |i: usize| {
            let (name, _, words) = table[i];
            rule == name || rule.split('+').all(|w| EVERY_SUITE.contains(&w) || words.contains(&w))
        };
        let hit = |want_on: bool, order: &[usize]| -> Vec<usize> {
            order.iter().copied().filter(|&i| takes(i) && on[i] == want_on).collect()
        };
        match op {
            b'!' => order.retain(|&i| !takes(i)),
            b'-' => {
                // From the end: each moved to the front keeps their order there.
                for i in hit(true, &order).into_iter().rev() {
                    order.retain(|&x| x != i);
                    order.insert(0, i);
                    on[i] = false;
                }
            }
            _ => {
                for i in hit(op == b'+', &order) {
                    order.retain(|&x| x != i);
                    order.push(i);
                    on[i] = true;
                }
            }
        }
    }
    let chosen: Vec<usize> = order.into_iter().filter(|&i| on[i]).collect();
    if chosen.is_empty() {
        let names: Vec<&str> = table.iter().map(|t| t.0).collect();
        return Err(Error::new(Exit::Cipher, format!("failed setting cipher list: {}", shown(list))).hint(
            format!("it names no TLS 1.2 cipher suite toll's TLS has; those are {}", names.join(":")),
        ));
    }
    Ok(chosen.into_iter().map(|i| table[i].1).collect())
}

const TLS13_NAMES: [&str; 3] =
    ["TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256", "TLS_CHACHA20_POLY1305_SHA256"];

/// `--tls13-ciphers`: IANA names joined by `:` (spaces around them allowed), case as written. Unknown names (and OpenSSL's
/// two CCM suites, which ring lacks) are skipped, as OpenSSL skips unknown ones; none left is
/// exit 59. An empty list is exit 35: curl 7.88 then fails every handshake with OpenSSL's "no
/// ciphers available", TLS 1.2 too.
fn tls13_suites(list: &str) -> Result<Vec<SupportedCipherSuite>> {
    if list.is_empty() {
        return Err(Error::new(Exit::Tls, "--tls13-ciphers '': no cipher suites available")
            .hint("name at least one TLS 1.3 suite, e.g. TLS_AES_128_GCM_SHA256, or drop --tls13-ciphers"));
    }
    let mut suites = Vec::new();
    // OpenSSL reads it with CONF_parse_list: spaces around a name do not count.
    for name in list.split(':').map(str::trim) {
        let suite = match name {
            "TLS_AES_256_GCM_SHA384" => cs::TLS13_AES_256_GCM_SHA384,
            "TLS_AES_128_GCM_SHA256" => cs::TLS13_AES_128_GCM_SHA256,
            "TLS_CHACHA20_POLY1305_SHA256" => cs::TLS13_CHACHA20_POLY1305_SHA256,
            _ => continue,
        };
        if !suites.contains(&suite) {
            suites.push(suite);
        }
    }
    if suites.is_empty() {
        return Err(Error::new(
            Exit::Cipher,
            format!("failed setting TLS 1.3 cipher suite: {}", shown(list)),
        )
        .hint(format!("it names no TLS 1.3 suite toll's TLS has; those are {}", TLS13_NAMES.join(":"))));
    }
    Ok(suites)
}

/// Group names OpenSSL 3.0 takes in a groups list that ring cannot do: skipped. Any other name
/// that is not one of ring's fails the whole list, as in OpenSSL.
const OPENSSL_ONLY_GROUPS: &[&str] = &[
    "X448",
    "x448",
    "P-521",
    "secp521r1",
    "P-224",
    "secp224r1",
    "P-192",
    "prime192v1",
    "secp192k1",
    "secp224k1",
    "secp256k1",
    "secp160k1",
    "secp160r1",
    "secp160r2",
    "brainpoolP256r1",
    "brainpoolP384r1",
    "brainpoolP512r1",
    "ffdhe2048",
    "ffdhe3072",
    "ffdhe4096",
    "ffdhe6144",
    "ffdhe8192",
    "sect163k1",
    "sect163r1",
    "sect163r2",
    "sect193r1",
    "sect193r2",
    "sect233k1",
    "sect233r1",
    "sect239k1",
    "sect283k1",
    "sect283r1",
    "sect409k1",
    "sect409r1",
    "sect571k1",
    "sect571r1",
];

/// `--curves`: names joined by `:` (no empty item; spaces around a name allowed), as OpenSSL spells them (`X25519`/`x25519`,
/// `P-256`/`prime256v1`/`secp256r1`, `P-384`/`secp384r1`); an unknown name or an empty item is
/// exit 59 for the whole list, as in curl. Names OpenSSL knows and ring lacks (X448, P-521,
/// ffdhe…) are skipped; none left is exit 59 too.
fn groups(list: &str) -> Result<Vec<&'static dyn SupportedKxGroup>> {
    let failed = |why: String| {
        Error::new(Exit::Cipher, format!("failed setting curves list: '{}'", shown(list))).hint(why)
    };
    let mut groups: Vec<&'static dyn SupportedKxGroup> = Vec::new();
    // As OpenSSL's CONF_parse_list reads it: spaces around a name do not count.
    for name in list.split(':').map(str::trim) {
        let group = match name {
            "X25519" | "x25519" => kx_group::X25519,
            "P-256" | "prime256v1" | "secp256r1" => kx_group::SECP256R1,
            "P-384" | "secp384r1" => kx_group::SECP384R1,
            _ if OPENSSL_ONLY_GROUPS.contains(&name) => continue,
            _ => {
                return Err(failed(format!(
                "'{}' is not a curve name; toll's TLS has X25519, P-256 (prime256v1) and P-384 (secp384r1)",
                shown(name)
            )))
            }
        };
        if !groups.iter().any(|g| g.name() == group.name()) {
            groups.push(group);
        }
    }
    if groups.is_empty() {
        return Err(failed(
            "toll's TLS has none of them: it has X25519, P-256 (prime256v1) and P-384 (secp384r1)".into(),
        ));
    }
    Ok(groups)
}

/// TLS 1.2 with `--curves`: a server whose ECDSA key is on a curve the list leaves out is
/// refused, as OpenSSL does under curl (RFC 8422 §5.1: the client's groups constrain the
/// server's ECDSA key as well as the key exchange; rustls checks only the latter). TLS 1.3 ties
/// the curve to the signature scheme instead, and rustls offers only the schemes it can check.
pub(super) fn tls12_key_curve(
    cert: &rustls_pki_types::CertificateDer<'_>,
    groups: &[&'static dyn SupportedKxGroup],
) -> std::result::Result<(), rustls::Error> {
    use rustls::NamedGroup;
    use x509_parser::oid_registry::{
        OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_NIST_EC_P384, OID_NIST_EC_P521,
    };
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(cert) else { return Ok(()) };
    let spki = cert.public_key();
    if spki.algorithm.algorithm != OID_KEY_TYPE_EC_PUBLIC_KEY {
        return Ok(());
    }
    let Some(curve) = spki.algorithm.parameters.as_ref().and_then(|p| p.as_oid().ok()) else { return Ok(()) };
    let (group, name) = if curve == OID_EC_P256 {
        (NamedGroup::secp256r1, "P-256")
    } else if curve == OID_NIST_EC_P384 {
        (NamedGroup::secp384r1, "P-384")
    } else if curve == OID_NIST_EC_P521 {
        (NamedGroup::secp521r1, "P-521")
    } else {
        return Ok(());
    };
    if groups.iter().any(|g| g.name() == group) {
        return Ok(());
    }
    Err(rustls::Error::General(format!(
        "the server's ECDSA key is on {name}, which --curves leaves out (TLS 1.2 needs the key's curve listed)"
    )))
}

/// A list as shown in a message: control characters escaped, at most 200 characters.
fn shown(s: &str) -> String {
    crate::term::sanitize(&s.chars().take(200).collect::<String>())
}

/// `--crlfile`'s CRLs (its `X509 CRL` PEM blocks; other blocks, such as a CA certificate
/// beside them, are skipped), each checked to parse now, and when each was issued. A file that
/// cannot be read or holds no CRL that parses is exit 82, as in curl — with `-k` too.
pub(super) fn read_crls(path: &Path) -> Result<Crls> {
    use rustls_pki_types::pem::PemObject;
    let bad = |why: String| {
        Error::new(Exit::CrlFile, format!("cannot load CRL file {}: {why}", path.display()))
            .hint("give a PEM file with one or more X509 CRL blocks (openssl crl -inform DER -in FILE converts one)")
    };
    let bytes = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    let ders: Vec<CertificateRevocationListDer<'static>> =
        CertificateRevocationListDer::pem_slice_iter(&bytes)
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| bad(e.to_string()))?;
    if ders.is_empty() {
        return Err(bad("no PEM X509 CRL in it".into()));
    }
    let mut issued = Vec::new();
    for der in &ders {
        let (_, crl) = x509_parser::parse_x509_crl(der)
            .map_err(|_| bad("a CRL block does not parse (not an X.509 CRL, or cut short)".to_string()))?;
        if crl.version().is_none_or(|v| v.0 < 1) {
            // webpki takes RFC 5280's profile only; OpenSSL (curl) takes version 1 CRLs too.
            return Err(bad(format!(
                "the CRL of {} is a version 1 CRL: toll's TLS takes version 2 CRLs only (RFC 5280)",
                shown(&crl.issuer().to_string())
            ))
            .hint("have the CA issue it with CRL extensions (openssl ca -gencrl -crlexts SECTION, e.g. authorityKeyIdentifier)"));
        }
        let at = u64::try_from(crl.last_update().timestamp()).unwrap_or(0);
        issued.push((
            crl.issuer().as_raw().to_vec(),
            UnixTime::since_unix_epoch(std::time::Duration::from_secs(at)),
        ));
    }
    Ok(Crls { ders, issued, path: path.to_path_buf() })
}

/// The CRLs of one file, and each one's issuer (DER name) and thisUpdate.
#[derive(Debug)]
pub(super) struct Crls {
    ders: Vec<CertificateRevocationListDer<'static>>,
    issued: Vec<(Vec<u8>, UnixTime)>,
    path: std::path::PathBuf,
}

impl Crls {
    /// A verifier of `roots` that also checks the end entity against the CRLs: revoked, or
    /// no CRL of its issuer, or that CRL past its nextUpdate, fails (exit 60), as OpenSSL's
    /// `X509_V_FLAG_CRL_CHECK` (without `_ALL`: the intermediates are not checked) does for
    /// curl.
    pub(super) fn verifier(
        &self,
        roots: rustls::RootCertStore,
        provider: Arc<CryptoProvider>,
    ) -> Result<Arc<rustls::client::WebPkiServerVerifier>> {
        use rustls::client::VerifierBuilderError;
        rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
            .with_crls(self.ders.iter().cloned())
            .only_check_end_entity_revocation()
            .enforce_revocation_expiration()
            .build()
            .map_err(|e| match e {
                VerifierBuilderError::InvalidCrl(why) => Error::new(
                    Exit::CrlFile,
                    format!(
                        "cannot load CRL file {}: a CRL rustls cannot use ({why:?})",
                        self.path.display()
                    ),
                )
                .hint("give a PEM file with one or more X509 CRL blocks"),
                other => {
                    Error::new(Exit::CaCert, format!("no CA certificate to check the CRLs with: {other}"))
                        .hint("give the CA with --cacert FILE")
                }
            })
    }

    /// webpki does not look at a CRL's thisUpdate; OpenSSL fails a certificate whose issuer's
    /// CRL is not valid yet ("CRL is not yet valid", exit 60): the same check, by issuer name.
    pub(super) fn not_yet_valid(&self, end_entity: &[u8], now: UnixTime) -> bool {
        let Ok((_, cert)) = x509_parser::parse_x509_certificate(end_entity) else { return false };
        let issuer = cert.issuer().as_raw();
        self.issued.iter().any(|(name, at)| name.as_slice() == issuer && at.as_secs() > now.as_secs())
    }
}

/// The hint for a certificate that `--crlfile` (or something else) failed, by rustls's reason.
pub(super) fn bad_certificate_hint(e: &rustls::Error) -> &'static str {
    use rustls::CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(C::Revoked) => {
            "a CRL of --crlfile revokes the server's certificate: the server needs a new one"
        }
        rustls::Error::InvalidCertificate(C::UnknownRevocationStatus) => {
            "--crlfile holds no CRL of the certificate's issuer (curl: unable to get certificate CRL): add the issuer's CRL"
        }
        rustls::Error::InvalidCertificate(C::ExpiredRevocationList | C::ExpiredRevocationListContext { .. }) => {
            "the issuer's CRL in --crlfile is past its nextUpdate (curl: CRL has expired): fetch a current one"
        }
        rustls::Error::InvalidCertRevocationList(_) => {
            "the CRL in --crlfile for the certificate's issuer cannot be used for it (not signed by the issuer's key, or the issuer may not sign CRLs)"
        }
        rustls::Error::InvalidCertificate(C::Other(o)) if o.0.is::<CrlNotYetValid>() => {
            "the issuer's CRL in --crlfile is not valid yet: check the clock, or the CRL"
        }
        // A trusted certificate for another name: another CA would not help (review E).
        rustls::Error::InvalidCertificate(C::NotValidForName | C::NotValidForNameContext { .. }) => {
            "the certificate is for another name: use a name it was issued for (--resolve NAME:PORT:ADDRESS reaches this address by it)"
        }
        rustls::Error::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => {
            "the server's certificate has expired (or this machine's clock is wrong): the server needs a new one"
        }
        _ => "if the server uses a private CA, pass it with --cacert FILE (or -k to skip the check)",
    }
}

/// A certificate whose issuer's CRL is not valid yet (OpenSSL's words for it). rustls shows
/// the error it is in by `Debug`: that says the words too.
pub(super) struct CrlNotYetValid;

impl std::fmt::Debug for CrlNotYetValid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl std::fmt::Display for CrlNotYetValid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CRL is not yet valid (its thisUpdate is later than now)")
    }
}

impl std::error::Error for CrlNotYetValid {}

/// The system's CA certificates, for `--crlfile` without `--cacert`: the platform verifier
/// (toll's default) has no place for CRLs, so a webpki verifier checks against the roots curl
/// would read (on Linux the OpenSSL locations, `SSL_CERT_FILE`/`SSL_CERT_DIR` first).
pub(super) fn system_roots() -> Result<rustls::RootCertStore> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = rustls::RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        let why = found.errors.first().map(|e| format!(": {e}")).unwrap_or_default();
        return Err(Error::new(
            Exit::CaCert,
            format!("no system CA certificates to check --crlfile with{why}"),
        )
        .hint("give the CA with --cacert FILE"));
    }
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names12(list: &str) -> Vec<&'static str> {
        let table = tls12_table();
        tls12_suites(list)
            .unwrap()
            .into_iter()
            .map(|s| table.iter().find(|t| t.1.suite() == s.suite()).unwrap().0)
            .collect()
    }

    #[test]
    fn openssl_cipher_lists_in_their_order() {
        // `openssl ciphers -s -tls1_2 LIST` (OpenSSL 3.0.20, curl 7.88's), the six ring has.
        let measured = [
            ("ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305", "R128 ECH"),
            ("ECDHE+AESGCM+aRSA", "R256 R128"),
            ("HIGH:!aNULL:!MD5", "E256 R256 ECH RCH E128 R128"),
            ("ALL:!aECDSA:!AES256", "RCH R128"),
            ("AES128:CHACHA20:@STRENGTH", "ECH RCH E128 R128"),
            ("CHACHA20:-aRSA:aRSA+CHACHA20", "ECH RCH"),
            ("CHACHA20:!aRSA:aRSA+CHACHA20", "ECH"),
            ("aRSA+AESGCM:+AES256", "R128 R256"),
            ("ECDHE-RSA-AES128-GCM-SHA256:-ALL:aRSA", "R128 R256 RCH"),
            ("AES128:ALL", "E128 R128 E256 R256 ECH RCH"),
            ("ECDSA:+AES128:aRSA", "E256 ECH E128 R256 RCH R128"),
            ("ALL:-CHACHA20:CHACHA20+aRSA", "E256 R256 E128 R128 RCH"),
            ("EECDH+AESGCM:EDH+AESGCM", "E256 R256 E128 R128"),
            (
                "ECDHE-ECDSA-AES128-GCM-SHA256,ECDHE-RSA-AES128-GCM-SHA256;kEECDH",
                "E128 R128 E256 R256 ECH RCH",
            ),
            ("DEFAULT:@SECLEVEL=2:!kRSA", "E256 R256 ECH RCH E128 R128"),
            ("FIPS:CHACHA20+ECDSA", "E256 R256 E128 R128 ECH"),
            ("ECDHE-RSA-AES128-GCM-SHA256:DEFAULT", "R128"),
            ("DEFAULT+aRSA", "E256 ECH E128 R256 RCH R128"),
            ("!DEFAULT:ALL", "E256 R256 ECH RCH E128 R128"),
            ("aRSA:ECDSA+AES128", "R256 RCH R128 E128"),
            ("HIGH+aRSA:ECDSA+SHA384:kECDH", "R256 RCH R128"),
            ("BOGUS:AES128-SHA,ECDHE-RSA-AES256-GCM-SHA384 ECDHE-RSA-AES256-GCM-SHA384", "R256"),
        ];
        let short = |name: &str| {
            let (kind, rest) =
                if name.starts_with("ECDHE-ECDSA") { ("E", &name[12..]) } else { ("R", &name[10..]) };
            let bits = if rest.starts_with("CHACHA") { "CH" } else { &rest[3..6] };
            format!("{kind}{bits}")
        };
        for (list, want) in measured {
            let got: Vec<String> = names12(list).iter().map(|n| short(n)).collect();
            assert_eq!(got.join(" "), want, "{list}");
        }
        for none in [
            "BOGUS",
            "",
            "TLS_AES_128_GCM_SHA256",
            "ecdhe-rsa-aes128-gcm-sha256",
            "ALL:!ALL",
            "AES128-SHA",
            "aRSA+aECDSA",
        ] {
            let e = tls12_suites(none).map(|_| ()).unwrap_err();
            assert_eq!(e.exit, Exit::Cipher, "{none:?}");
            assert!(e.message.starts_with("failed setting cipher list: "), "{}", e.message);
        }
    }

    #[test]
    fn tls13_suites_by_iana_name() {
        let s = tls13_suites("BOGUS:TLS_CHACHA20_POLY1305_SHA256: TLS_AES_128_GCM_SHA256 :").unwrap();
        assert_eq!(s, [cs::TLS13_CHACHA20_POLY1305_SHA256, cs::TLS13_AES_128_GCM_SHA256]);
        assert_eq!(tls13_suites("").map(|_| ()).unwrap_err().exit, Exit::Tls, "curl: no ciphers available");
        for none in
            ["BOGUS", "tls_aes_128_gcm_sha256", "TLS_AES_128_CCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"]
        {
            assert_eq!(tls13_suites(none).map(|_| ()).unwrap_err().exit, Exit::Cipher, "{none:?}");
        }
    }

    #[test]
    fn curves_by_openssl_name() {
        let names = |l: &str| groups(l).unwrap().iter().map(|g| g.name()).collect::<Vec<_>>();
        use rustls::NamedGroup::*;
        assert_eq!(names("X25519:P-256:prime256v1:secp384r1"), [X25519, secp256r1, secp384r1]);
        assert_eq!(names("X448:x25519:P-521"), [X25519], "known to OpenSSL, not to ring: skipped");
        assert_eq!(names("secp256r1"), [secp256r1]);
        assert_eq!(names(" X25519 : P-384"), [X25519, secp384r1], "spaces around names");
        for bad in [
            "BOGUS",
            "BOGUS:P-384",
            "",
            "P-384:",
            ":P-384",
            "P-384::X25519",
            "P-384: ",
            "p-384",
            "SECP384R1",
            "X25519,P-384",
            "X448",
        ] {
            let e = groups(bad).map(|_| ()).unwrap_err();
            assert_eq!(e.exit, Exit::Cipher, "{bad:?}");
            assert!(e.message.starts_with("failed setting curves list: "), "{}", e.message);
        }
    }

    #[test]
    fn the_provider_keeps_the_other_versions_defaults() {
        let t = TlsTuning { ciphers: Some("ECDHE-RSA-AES128-GCM-SHA256".into()), ..TlsTuning::default() };
        let p = provider(&t).unwrap();
        assert_eq!(p.cipher_suites.len(), 4, "three TLS 1.3 suites and the one TLS 1.2 suite");
        assert_eq!(p.cipher_suites[3], cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256);
        assert_eq!(p.kx_groups.len(), 3);
        let t = TlsTuning {
            tls13_ciphers: Some("TLS_AES_128_GCM_SHA256".into()),
            curves: Some("P-384".into()),
            ..t
        };
        let p = provider(&t).unwrap();
        assert_eq!(
            p.cipher_suites,
            [cs::TLS13_AES_128_GCM_SHA256, cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]
        );
        assert_eq!(p.kx_groups.iter().map(|g| g.name()).collect::<Vec<_>>(), [rustls::NamedGroup::secp384r1]);
    }

    #[test]
    fn a_tls12_ecdsa_key_must_be_on_a_listed_curve() {
        let cert = |alg| {
            let key = rcgen::KeyPair::generate_for(alg).unwrap();
            rcgen::CertificateParams::new(vec!["x".to_string()])
                .unwrap()
                .self_signed(&key)
                .unwrap()
                .der()
                .clone()
        };
        let (p256, p384, ed) = (
            cert(&rcgen::PKCS_ECDSA_P256_SHA256),
            cert(&rcgen::PKCS_ECDSA_P384_SHA384),
            cert(&rcgen::PKCS_ED25519),
        );
        let g = |l: &str| groups(l).unwrap();
        assert!(tls12_key_curve(&p256, &g("X25519:P-256")).is_ok());
        assert!(tls12_key_curve(&p384, &g("secp384r1")).is_ok());
        assert!(tls12_key_curve(&ed, &g("P-384")).is_ok(), "not an ECDSA key: no curve to check");
        let e = tls12_key_curve(&p256, &g("X25519:P-384")).unwrap_err();
        assert!(e.to_string().contains("on P-256, which --curves leaves out"), "{e}");
        assert!(tls12_key_curve(&p384, &g("P-256")).is_err());
    }

    #[test]
    fn a_crl_not_valid_yet_is_told_by_its_issuer() {
        use rcgen::{
            date_time_ymd, CertificateParams, CertificateRevocationListParams, IsCa, Issuer, KeyPair,
        };
        let ca = |cn: &str| {
            let key = KeyPair::generate().unwrap();
            let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
            params.distinguished_name.push(rcgen::DnType::CommonName, cn);
            params.is_ca = IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
            Issuer::new(params, key)
        };
        let (ca, other) = (ca("ca"), ca("other"));
        let leaf = |issuer: &Issuer<'_, KeyPair>| {
            let key = KeyPair::generate().unwrap();
            CertificateParams::new(vec!["x".to_string()])
                .unwrap()
                .signed_by(&key, issuer)
                .unwrap()
                .der()
                .clone()
        };
        let crl = CertificateRevocationListParams {
            this_update: date_time_ymd(3000, 1, 1),
            next_update: date_time_ymd(3001, 1, 1),
            crl_number: rcgen::SerialNumber::from(1u64),
            issuing_distribution_point: None,
            revoked_certs: Vec::new(),
            key_identifier_method: rcgen::KeyIdMethod::Sha256,
        }
        .signed_by(&ca)
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("future.crl");
        std::fs::write(&path, format!("{}{}", leaf_pem_noise(), crl.pem().unwrap())).unwrap();
        let crls = read_crls(&path).unwrap();
        assert_eq!(crls.ders.len(), 1, "the certificate block beside it is skipped");
        let now = UnixTime::now();
        assert!(crls.not_yet_valid(&leaf(&ca), now));
        assert!(!crls.not_yet_valid(&leaf(&other), now), "another issuer's certificate");
        let later = UnixTime::since_unix_epoch(std::time::Duration::from_secs(33_000_000_000));
        assert!(!crls.not_yet_valid(&leaf(&ca), later));
    }

    /// A certificate block, as a CRL file may hold one beside its CRLs.
    fn leaf_pem_noise() -> String {
        let key = rcgen::KeyPair::generate().unwrap();
        rcgen::CertificateParams::new(vec!["y".to_string()]).unwrap().self_signed(&key).unwrap().pem()
    }

    #[test]
    fn crl_files_that_cannot_be_used_are_exit_82() {
        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p
        };
        let cert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        let garbage = "-----BEGIN X509 CRL-----\nMIIBAAAA\n-----END X509 CRL-----\n";
        for path in [
            dir.path().join("missing.crl"),
            file("empty.crl", ""),
            file("cert.pem", cert),
            file("garbage.crl", garbage),
            file("text.crl", "not pem at all\n"),
        ] {
            let e = read_crls(&path).map(|_| ()).unwrap_err();
            assert_eq!(e.exit, Exit::CrlFile, "{path:?}");
            assert!(e.message.contains(&path.display().to_string()), "{}", e.message);
        }
    }
}
