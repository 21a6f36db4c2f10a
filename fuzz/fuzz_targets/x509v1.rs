//! X.509 version 1 server certificates (`client::tls`'s `verify::v1`, which webpki does not
//! parse): toll's own DER walk of the certificate and of its issuer's key, then the signature,
//! dates and common name. Whatever a server sends, nothing panics, and nothing but the
//! fixture's own leaf certificate (signed by the fixture CA) is ever taken for `localhost`
//! with that CA as the root: no bytes changed anywhere get through the signature check.
#![no_main]

use libfuzzer_sys::fuzz_target;

const CA: &str = include_str!("../../tests/it/x509v1/ca.pem");
const LEAF: &str = include_str!("../../tests/it/x509v1/leaf.pem");
/// 2030-01-01: within the fixtures' hundred years.
const NOW: u64 = 1_893_456_000;

fn der(pem: &str) -> Vec<u8> {
    use base64::Engine;
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD.decode(body).unwrap()
}

fuzz_target!(|data: &[u8]| {
    let (ca, leaf) = (der(CA), der(LEAF));
    if toll::client::x509v1_taken(&[ca.clone()], data, "localhost", NOW) {
        assert_eq!(data, leaf.as_slice(), "a certificate the CA did not sign was taken");
    }
    // The same bytes as a root of their own: taken only as exactly themselves (or not at all).
    let _ = toll::client::x509v1_taken(&[data.to_vec()], &leaf, "localhost", NOW);
});
