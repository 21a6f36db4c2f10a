//! curl's TLS tuning options end to end: `--crlfile` against CRLs of the test CA (revoking the
//! origin's certificate or another one), of another CA, out of date; `--ciphers`,
//! `--tls13-ciphers` and `--curves` against servers that say which suite, group and version
//! the handshake agreed on (so each test sees the option take effect), or that accept only
//! one; the `--proxy-` twins against an `https://` proxy. The exit codes are curl 7.88's,
//! measured with OpenSSL 3.0 (README "TLS tuning").

use crate::fakeproxy::{self, FakeProxy, TlsFakeProxy};
use crate::origin::Origin;
use crate::run::{toll, Out};
use crate::tls::{pki, Crl};
use rustls::crypto::ring::{cipher_suite as cs, default_provider, kx_group};
use rustls::crypto::{CryptoProvider, SupportedKxGroup};
use rustls::version::{TLS12, TLS13};
use rustls::SupportedCipherSuite;
use std::io::{Read, Write};

const CURL: &str = "/usr/bin/curl";

/// A TLS server with the test PKI's certificate that answers every request with what its
/// handshake agreed on: `TLSv1_2 TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 X25519` (and ` resumed`
/// when the client resumed an earlier session).
struct Agreed {
    port: u16,
}

impl Agreed {
    /// With only `suites` (ring's all if empty), `groups` (all if empty) and `versions`.
    fn start(
        suites: &[SupportedCipherSuite],
        groups: &[&'static dyn SupportedKxGroup],
        versions: &[&'static rustls::SupportedProtocolVersion],
    ) -> Agreed {
        Agreed::serve(pki().server_config_with(provider(suites, groups), versions))
    }

    /// With these TLS settings.
    fn serve(config: std::sync::Arc<rustls::ServerConfig>) -> Agreed {
        let alpn_offered = !config.alpn_protocols.is_empty();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        crate::origin::claimed(port);
        std::thread::spawn(move || {
            for tcp in listener.incoming().flatten() {
                let config = config.clone();
                std::thread::spawn(move || {
                    let Ok(conn) = rustls::ServerConnection::new(config) else { return };
                    let mut tls = rustls::StreamOwned::new(conn, tcp);
                    let mut buf = [0u8; 4096];
                    if tls.read(&mut buf).unwrap_or(0) == 0 {
                        return;
                    }
                    let c = &tls.conn;
                    // A server that offers ALPN also says what was agreed (`http/1.1`, `no ALPN`).
                    let alpn = match c.alpn_protocol() {
                        _ if !alpn_offered => String::new(),
                        Some(p) => format!(" {}", String::from_utf8_lossy(p)),
                        None => " no ALPN".into(),
                    };
                    let resumed = c.handshake_kind() == Some(rustls::HandshakeKind::Resumed);
                    let body = format!(
                        "{:?} {:?} {}{alpn}{}\n",
                        c.protocol_version().unwrap(),
                        c.negotiated_cipher_suite().unwrap().suite(),
                        // A resumed TLS 1.2 session makes no key exchange.
                        c.negotiated_key_exchange_group().map_or("-".into(), |g| format!("{:?}", g.name())),
                        if resumed { " resumed" } else { "" }
                    );
                    let _ = write!(
                        tls,
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    tls.conn.send_close_notify();
                    let _ = tls.flush();
                });
            }
        });
        Agreed { port }
    }

    /// Every suite, group and version ring has.
    fn any() -> Agreed {
        Agreed::start(&[], &[], &[&TLS13, &TLS12])
    }

    fn url(&self) -> String {
        format!("https://127.0.0.1:{}/", self.port)
    }

    /// `toll -sS --cacert CA ARGS URL`.
    fn run(&self, args: &[&str]) -> Out {
        run(args, &self.url())
    }
}

fn provider(suites: &[SupportedCipherSuite], groups: &[&'static dyn SupportedKxGroup]) -> CryptoProvider {
    let ring = default_provider();
    CryptoProvider {
        cipher_suites: if suites.is_empty() { ring.cipher_suites.clone() } else { suites.to_vec() },
        kx_groups: if groups.is_empty() { ring.kx_groups.clone() } else { groups.to_vec() },
        ..ring
    }
}

fn run(args: &[&str], url: &str) -> Out {
    let ca = pki().ca_arg();
    let mut all = vec!["-sS", "--cacert", ca.as_str()];
    all.extend_from_slice(args);
    all.push(url);
    toll(all).run()
}

/// Asserts exit `code` and that stderr says `words`.
fn fails(out: &Out, code: i32, words: &str) {
    out.assert_code(code);
    assert!(out.stderr.contains(words), "{words:?} not in: {}", out.describe());
}

#[test]
fn a_revoked_certificate_is_exit_60_and_a_good_one_is_fetched() {
    let origin = Origin::https();
    let proxy = FakeProxy::start(fakeproxy::open());
    let url = origin.url("/text");
    let revoking: &'static str = pki().crl(Crl::RevokesServer).leak();
    let other: &'static str = pki().crl(Crl::RevokesOther).leak();
    let pin = pki().server_key_pin.clone();
    // Direct (the HTTP client with toll's TLS settings), through a tunnel (toll's own TLS),
    // with versions toll then sets itself, and with a pin on top of the CRL check.
    let ways: [&[&str]; 4] =
        [&[], &["-x", &proxy.url()], &["--tlsv1.2", "--tls-max", "1.3"], &["--pinnedpubkey", &pin]];
    for way in ways {
        let with = |crl: &'static str| [way, &["--crlfile", crl]].concat();
        let out = run(&with(revoking), &url);
        fails(&out, 60, "Revoked");
        assert!(
            out.stderr.contains("a CRL of --crlfile revokes the server's certificate"),
            "{}",
            out.describe()
        );
        assert!(out.stdout.is_empty());
        let out = run(&with(other), &url);
        out.assert_code(0);
        assert!(!out.stdout.is_empty(), "{}", out.describe());
    }
    // -k: nothing is checked (as curl), but the file is still read.
    run(&["-k", "--crlfile", revoking], &url).assert_code(0);
    // The CRL check is the one thing that fails: without it the same run works.
    run(&[], &url).assert_code(0);
}

#[test]
fn a_crl_of_another_issuer_or_out_of_date_is_exit_60_as_in_curl() {
    let origin = Origin::https();
    let url = origin.url("/text");
    for (crl, words) in [
        (Crl::OtherCa, "UnknownRevocationStatus"),
        (Crl::Expired, "certificate revocation list expired"),
        (Crl::NotYetValid, "CRL is not yet valid"),
        (Crl::WrongKey, "invalid certificate revocation list: BadSignature"),
    ] {
        fails(&run(&["--crlfile", &pki().crl(crl)], &url), 60, words);
    }
    // A file with the other CA's CRL and the right one: the right one decides.
    let dir = crate::run::scratch();
    let both = dir.path().join("both.crl");
    let text = [Crl::OtherCa, Crl::RevokesServer].map(|c| std::fs::read_to_string(pki().crl(c)).unwrap());
    std::fs::write(&both, text.concat()).unwrap();
    fails(&run(&["--crlfile", &both.display().to_string()], &url), 60, "Revoked");
}

#[test]
fn a_crl_file_that_cannot_be_used_is_exit_82_even_with_k() {
    let origin = Origin::https();
    let url = origin.url("/text");
    let dir = crate::run::scratch();
    let missing = dir.path().join("missing.crl").display().to_string();
    let ca = pki().ca_arg();
    for args in [&["--crlfile", &missing][..], &["-k", "--crlfile", &missing], &["--crlfile", &ca]] {
        fails(&run(args, &url), 82, "cannot load CRL file");
    }
}

#[test]
fn tls12_ciphers_are_offered_in_the_given_order_and_only_those() {
    let server = Agreed::start(&[], &[], &[&TLS12]);
    let out = server.run(&["--ciphers", "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384"]);
    out.assert_code(0);
    assert_eq!(out.stdout_str(), "TLSv1_2 TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 X25519\n");
    let out = server.run(&["--ciphers", "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256"]);
    assert_eq!(out.stdout_str(), "TLSv1_2 TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 X25519\n");
    // Unknown names are skipped; OpenSSL's words; '!' takes out.
    let out = server.run(&["--ciphers", "BOGUS:ECDHE-ECDSA-CHACHA20-POLY1305"]);
    assert_eq!(out.stdout_str(), "TLSv1_2 TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 X25519\n");
    let out = server.run(&["--ciphers", "HIGH:!AESGCM"]);
    assert_eq!(out.stdout_str(), "TLSv1_2 TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 X25519\n");
    // The default is the server's first choice of ring's order.
    let out = server.run(&[]);
    assert_eq!(out.stdout_str(), "TLSv1_2 TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 X25519\n");
}

#[test]
fn a_suite_or_curve_the_server_does_not_take_is_a_handshake_failure_35() {
    let tls12 = Agreed::start(&[cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384], &[], &[&TLS12]);
    tls12.run(&["--ciphers", "ECDHE-ECDSA-AES256-GCM-SHA384"]).assert_code(0);
    let out = tls12.run(&["--ciphers", "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384"]);
    fails(&out, 35, "--ciphers, --tls13-ciphers and --curves");
    let tls13 = Agreed::start(&[cs::TLS13_AES_256_GCM_SHA384], &[], &[&TLS13]);
    tls13.run(&["--tls13-ciphers", "TLS_AES_256_GCM_SHA384"]).assert_code(0);
    tls13.run(&["--tls13-ciphers", "TLS_AES_128_GCM_SHA256"]).assert_code(35);
    // --ciphers leaves TLS 1.3 alone.
    tls13.run(&["--ciphers", "ECDHE-RSA-AES128-GCM-SHA256"]).assert_code(0);
    let x25519 = Agreed::start(&[], &[kx_group::X25519], &[&TLS13, &TLS12]);
    x25519.run(&["--curves", "X25519"]).assert_code(0);
    x25519.run(&["--curves", "P-384:P-256"]).assert_code(35);
    // TLS 1.2: the server's ECDSA key (P-256) must be on a listed curve too, as OpenSSL checks;
    // this server would go on (rustls does not check it), curl and toll stop.
    let any = Agreed::any();
    fails(
        &any.run(&["--tls-max", "1.2", "--curves", "X25519:P-384"]),
        35,
        "on P-256, which --curves leaves out",
    );
    let out = any.run(&["--tls-max", "1.2", "--curves", "P-384:P-256"]);
    out.assert_code(0);
    assert_eq!(out.stdout_str(), "TLSv1_2 TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 secp384r1\n");
    any.run(&["--curves", "X25519:P-384"]).assert_code(0);
}

#[test]
fn lists_with_nothing_usable_are_exit_59_and_an_empty_tls13_list_35() {
    let server = Agreed::any();
    for (args, words) in [
        (&["--ciphers", "BOGUS"][..], "failed setting cipher list: BOGUS"),
        (&["--ciphers", "TLS_AES_128_GCM_SHA256"], "failed setting cipher list"),
        (&["--ciphers", "ecdhe-ecdsa-aes128-gcm-sha256"], "failed setting cipher list"),
        (&["--tls13-ciphers", "BOGUS"], "failed setting TLS 1.3 cipher suite: BOGUS"),
        (&["--curves", "BOGUS:P-384"], "failed setting curves list: 'BOGUS:P-384'"),
        (&["--curves", "P-384:"], "failed setting curves list"),
        (&["--curves", "X448"], "failed setting curves list"),
    ] {
        fails(&server.run(args), 59, words);
    }
    fails(&server.run(&["--tls13-ciphers", ""]), 35, "no cipher suites available");
}

#[test]
fn tls13_ciphers_and_curves_choose_what_is_agreed() {
    let server = Agreed::any();
    let out = server.run(&["--tls13-ciphers", "BOGUS:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256"]);
    out.assert_code(0);
    assert_eq!(out.stdout_str(), "TLSv1_3 TLS13_CHACHA20_POLY1305_SHA256 X25519\n");
    let out = server.run(&["--curves", "P-384:X25519"]);
    assert_eq!(out.stdout_str(), "TLSv1_3 TLS13_AES_256_GCM_SHA384 secp384r1\n");
    let out = server.run(&["--curves", "prime256v1"]);
    assert_eq!(out.stdout_str(), "TLSv1_3 TLS13_AES_256_GCM_SHA384 secp256r1\n");
    // With the versions, which toll then sets itself: TLS 1.2 with its suite and curve.
    let out = server.run(&[
        "--tlsv1.2",
        "--tls-max",
        "1.2",
        "--ciphers",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "--curves",
        "secp384r1:P-256",
    ]);
    out.assert_code(0);
    assert_eq!(out.stdout_str(), "TLSv1_2 TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 secp384r1\n");
    let out = server.run(&["--tlsv1.3", "--tls13-ciphers", "TLS_AES_128_GCM_SHA256"]);
    assert_eq!(out.stdout_str(), "TLSv1_3 TLS13_AES_128_GCM_SHA256 X25519\n");
}

#[test]
fn the_options_hold_through_a_proxy_tunnel() {
    let server = Agreed::any();
    let proxy = FakeProxy::start(fakeproxy::open());
    let out =
        server.run(&["-x", &proxy.url(), "--tls13-ciphers", "TLS_AES_128_GCM_SHA256", "--curves", "P-256"]);
    out.assert_code(0);
    assert_eq!(out.stdout_str(), "TLSv1_3 TLS13_AES_128_GCM_SHA256 secp256r1\n");
    assert!(proxy.requests().iter().any(|r| r.is_connect()), "{}", proxy.summary());
    server.run(&["-x", &proxy.url(), "--ciphers", "BOGUS"]).assert_code(59);
}

#[test]
fn the_proxy_twins_apply_to_an_https_proxy() {
    let origin = Origin::http();
    let url = origin.url("/text");
    let ca = pki().ca_arg();
    let proxy = TlsFakeProxy::start(fakeproxy::open());
    let proxy_url = proxy.url();
    let via = |args: &[&str]| {
        let mut all = vec!["-x", proxy_url.as_str(), "--proxy-cacert", ca.as_str()];
        all.extend_from_slice(args);
        run(&all, &url)
    };
    via(&[]).assert_code(0);
    via(&["--proxy-crlfile", &pki().crl(Crl::RevokesOther)]).assert_code(0);
    let out = via(&["--proxy-crlfile", &pki().crl(Crl::RevokesServer)]);
    fails(&out, 5, "Revoked");
    assert!(out.stderr.contains("--proxy-crlfile revokes the proxy's certificate"), "{}", out.describe());
    fails(&via(&["--proxy-crlfile", &pki().crl(Crl::OtherCa)]), 5, "UnknownRevocationStatus");
    fails(&via(&["--proxy-crlfile", &ca]), 82, "cannot load CRL file");
    fails(&via(&["--proxy-ciphers", "BOGUS"]), 59, "failed setting cipher list");
    fails(&via(&["--proxy-tls13-ciphers", "BOGUS"]), 59, "failed setting TLS 1.3 cipher suite");
    // --curves is the origin's only (curl 7.88): the proxy is reached with every group.
    via(&["--curves", "P-384"]).assert_code(0);
    // A proxy that takes only one TLS 1.3 suite: the twin decides whether it is reached.
    let narrow = TlsFakeProxy::start_with(
        pki().server_config_with(provider(&[cs::TLS13_AES_128_GCM_SHA256], &[]), &[&TLS13]),
        fakeproxy::open(),
    );
    let to_narrow = |suite: &str| {
        let p = narrow.url();
        run(&["-x", &p, "--proxy-cacert", &ca, "--proxy-tls13-ciphers", suite], &url)
    };
    to_narrow("TLS_AES_128_GCM_SHA256").assert_code(0);
    fails(&to_narrow("TLS_AES_256_GCM_SHA384"), 5, "HandshakeFailure");
    // toll doctor's own look at the proxy (step 2) takes them too: the revoked certificate is
    // its finding, and the one suite the narrow proxy takes is offered.
    let doctor = |proxy: &str, args: &[&str]| {
        let mut all = vec!["doctor", "-x", proxy, "--proxy-cacert", ca.as_str(), "--verify-url", &url];
        all.extend_from_slice(args);
        all.push(&url);
        crate::run::toll(all).run()
    };
    let out = doctor(&proxy_url, &["--proxy-crlfile", &pki().crl(Crl::RevokesServer)]);
    assert_eq!(out.code, Some(5), "{}", out.describe());
    assert!(out.stdout_str().contains("2. reachability      problem"), "{}", out.describe());
    assert!(out.stdout_str().contains("--proxy-crlfile"), "{}", out.describe());
    doctor(&proxy_url, &["--proxy-crlfile", &pki().crl(Crl::RevokesOther)]).assert_code(0);
    doctor(&narrow.url(), &["--proxy-tls13-ciphers", "TLS_AES_128_GCM_SHA256"]).assert_code(0);
}

/// `--http1.0` once took reqwest's own TLS settings, which refused toll's options (exit 2) and
/// checked certificates with webpki alone: now toll's settings carry it out, offering ALPN
/// `http/1.0` only, as curl 7.88 does.
#[test]
fn the_tls_options_hold_with_http1_0_which_offers_curls_alpn() {
    let mut config = (*pki().server_config_with(default_provider(), &[&TLS13, &TLS12])).clone();
    config.alpn_protocols = vec![b"http/1.1".to_vec(), b"http/1.0".to_vec()];
    let server = Agreed::serve(std::sync::Arc::new(config));
    assert!(server.run(&[]).stdout_str().ends_with(" http/1.1\n"));
    for (curve, name) in [("X25519", "X25519"), ("P-384", "secp384r1")] {
        let out = server.run(&["--http1.0", "--curves", curve]);
        out.assert_code(0);
        assert!(out.stdout_str().ends_with(&format!(" {name} http/1.0\n")), "{}", out.describe());
    }
    let out = server.run(&["--http1.0", "--tls-max", "1.2", "--ciphers", "ECDHE-ECDSA-AES256-GCM-SHA384"]);
    assert!(
        out.stdout_str().starts_with("TLSv1_2 TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 "),
        "{}",
        out.describe()
    );
}

#[test]
fn capath_holds_with_the_options() {
    let server = Agreed::any();
    let dir = crate::run::scratch();
    std::fs::copy(pki().ca_arg(), dir.path().join("ca.pem")).unwrap();
    let capath = dir.path().display().to_string();
    let with = |args: &[&str]| {
        let mut all = vec!["-sS", "--capath", capath.as_str()];
        all.extend_from_slice(args);
        let url = server.url();
        all.push(&url);
        toll(all).run()
    };
    let out = with(&["--tls13-ciphers", "TLS_AES_128_GCM_SHA256"]);
    out.assert_code(0);
    assert_eq!(out.stdout_str(), "TLSv1_3 TLS13_AES_128_GCM_SHA256 X25519\n");
    fails(&with(&["--crlfile", &pki().crl(Crl::RevokesServer)]), 60, "Revoked");
    with(&["--crlfile", &pki().crl(Crl::RevokesOther)]).assert_code(0);
    // A directory without the test CA: the certificate is not trusted.
    let empty = crate::run::scratch();
    std::fs::write(empty.path().join("other.pem"), rcgen_ca_pem()).unwrap();
    let other = empty.path().display().to_string();
    let url = server.url();
    fails(&toll(["-sS", "--capath", &other, "--curves", "X25519", &url]).run(), 60, "UnknownIssuer");
}

/// A self-signed CA certificate that is not the test CA.
fn rcgen_ca_pem() -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.self_signed(&key).unwrap().pem()
}

/// `--no-alpn`: no ALPN in the handshake (a server that offers `http/1.1` agrees on none),
/// directly and through a proxy tunnel; without it toll offers ALPN.
#[test]
fn no_alpn_offers_no_alpn() {
    let mut config = (*pki().server_config_with(default_provider(), &[&TLS13, &TLS12])).clone();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let server = Agreed::serve(std::sync::Arc::new(config));
    assert!(server.run(&[]).stdout_str().ends_with(" http/1.1\n"));
    let out = server.run(&["--no-alpn"]);
    out.assert_code(0);
    assert!(out.stdout_str().ends_with(" no ALPN\n"), "{}", out.describe());
    let proxy = FakeProxy::start(fakeproxy::open());
    let out = server.run(&["--no-alpn", "-x", &proxy.url()]);
    assert!(out.stdout_str().ends_with(" no ALPN\n"), "{}", out.describe());
    let out = server.run(&["--no-alpn", "--http1.0"]);
    assert!(out.stdout_str().ends_with(" no ALPN\n"), "{}", out.describe());
}

/// `--no-sessionid`: the second connection of a run to the same server resumes the first one's
/// TLS session (TLS 1.3 and 1.2), unless `--no-sessionid`; through a proxy tunnel too. curl
/// 7.88 does the same against the same server.
#[test]
fn no_sessionid_makes_every_handshake_a_full_one() {
    let proxy = FakeProxy::start(fakeproxy::open());
    let proxy_url = proxy.url();
    let have_curl =
        crate::have("no_sessionid_makes_every_handshake_a_full_one", &[crate::t_serve::CURL], "curl");
    for version in [&TLS13, &TLS12] {
        let server = Agreed::start(&[], &[], &[version]);
        let url = server.url();
        for (extra, resumed) in [(&[][..], true), (&["--no-sessionid"][..], false)] {
            let with_proxy = [extra, &["-x", proxy_url.as_str()][..]].concat();
            for args in [extra, &with_proxy[..]] {
                let out = run(&[args, &[url.as_str()][..]].concat(), &url);
                out.assert_code(0);
                let text = out.stdout_str();
                let lines: Vec<&str> = text.lines().collect();
                assert_eq!(lines.len(), 2, "{}", out.describe());
                assert!(!lines[0].ends_with(" resumed"), "{version:?} {args:?}: {}", out.describe());
                assert_eq!(
                    lines[1].ends_with(" resumed"),
                    resumed,
                    "{version:?} {args:?}: {}",
                    out.describe()
                );
            }
            if have_curl {
                let ca = pki().ca_arg();
                let out = std::process::Command::new(crate::t_serve::CURL)
                    .args(["-sS", "--cacert", &ca])
                    .args(extra)
                    .args([&url, &url])
                    .output()
                    .expect("curl");
                let text = String::from_utf8_lossy(&out.stdout);
                let lines: Vec<&str> = text.lines().collect();
                assert_eq!(lines.len(), 2, "curl: {text}{}", String::from_utf8_lossy(&out.stderr));
                assert_eq!(lines[1].ends_with(" resumed"), resumed, "curl {version:?} {extra:?}: {text}");
            }
        }
    }
}

/// What `openssl req -x509 -subj /CN=localhost` makes: self-signed, saying it is a CA, no
/// subjectAltName — which webpki alone refuses twice (a CA as the server's certificate, no
/// names). From `--cacert`, curl with OpenSSL takes it for the name it has, and so does toll.
#[test]
fn a_self_signed_certificate_as_openssl_req_makes_it_is_trusted_from_cacert() {
    use rustls::pki_types::PrivateKeyDer;
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(rcgen::DnType::CommonName, "localhost");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(default_provider()))
        .with_protocol_versions(&[&TLS13, &TLS12])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], PrivateKeyDer::Pkcs8(key.serialize_der().into()))
        .unwrap();
    let server = Agreed::serve(std::sync::Arc::new(config));
    let dir = crate::run::scratch();
    let pem = dir.path().join("self.pem");
    std::fs::write(&pem, cert.pem()).unwrap();
    let pem = pem.display().to_string();
    let curl = crate::have("the self-signed certificate beside curl", &[CURL], "curl");
    // `LOCALHOST` is pinned to 127.0.0.1: no test asks the resolver for another name.
    let pinned = format!("LOCALHOST:{}:127.0.0.1", server.port);
    for (host, code) in [("localhost", 0), ("LOCALHOST", 0), ("127.0.0.1", 60)] {
        let url = format!("https://{host}:{}/", server.port);
        let out = toll(["-sS", "--resolve", &pinned, "--cacert", pem.as_str()]).arg(&url).run();
        out.assert_code(code);
        // The same check whatever else is given (these once took webpki's alone: exit 60).
        let extras: [&[&str]; 2] = [&["--http1.0"], &["--tlsv1.2", "--tls-max", "1.3"]];
        for extra in extras {
            let mut args = vec!["-sS", "--resolve", &pinned, "--cacert", pem.as_str()];
            args.extend_from_slice(extra);
            toll(args).arg(&url).run().assert_code(code);
        }
        if curl {
            let status = std::process::Command::new(CURL)
                .args(["-sS", "-o", "/dev/null", "--resolve", &pinned, "--cacert", &pem, &url])
                .status()
                .unwrap();
            assert_eq!(status.code(), Some(code), "curl with {host}");
        }
    }
}

/// X.509 version 1 certificates, which `openssl x509 -req` makes under OpenSSL 3.0 (the fixtures
/// in x509v1/ say how): a server's signed by a CA from `--cacert`, or self-signed and itself in
/// `--cacert`, are taken as curl takes them, over TLS 1.3 and 1.2 (the handshake's signature is
/// checked with the certificate's key), and with `-k`; another key under the CA's name, or
/// another name, are not. Before, webpki refused every one (exit 60, with `-k` too).
#[test]
fn version_1_certificates_are_taken_as_curl_takes_them() {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let fixture = |name: &str| format!("{}/tests/it/x509v1/{name}", env!("CARGO_MANIFEST_DIR"));
    let serve = |cert: &str| {
        let chain = vec![CertificateDer::from_pem_file(fixture(cert)).unwrap()];
        let key = PrivateKeyDer::from_pem_file(fixture("leaf.key")).unwrap();
        let key = default_provider().key_provider.load_private_key(key).unwrap();
        // `with_single_cert` parses the certificate with webpki, which takes no version 1.
        let resolver = rustls::sign::SingleCertAndKey::from(rustls::sign::CertifiedKey::new(chain, key));
        let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(default_provider()))
            .with_protocol_versions(&[&TLS13, &TLS12])
            .unwrap()
            .with_no_client_auth()
            .with_cert_resolver(std::sync::Arc::new(resolver));
        Agreed::serve(std::sync::Arc::new(config))
    };
    let (leaf, own) = (serve("leaf.pem"), serve("self.pem"));
    let curl = crate::have("version 1 certificates beside curl", &[CURL], "curl");
    let cases = [
        (&leaf, "ca.pem", "localhost", 0),
        (&leaf, "fake-ca.pem", "localhost", 60),
        (&leaf, "ca.pem", "127.0.0.1", 60),
        (&own, "self.pem", "localhost", 0),
        (&own, "ca.pem", "localhost", 60),
    ];
    for (server, roots, host, code) in cases {
        let url = format!("https://{host}:{}/", server.port);
        for versions in [&["--tlsv1.3"][..], &["--tls-max", "1.2"]] {
            let mut args = vec!["-sS", "--cacert"];
            let roots = fixture(roots);
            args.push(&roots);
            args.extend_from_slice(versions);
            let out = toll(args.clone()).arg(&url).run();
            out.assert_code(code);
            if code == 0 {
                let agreed = if versions[0] == "--tlsv1.3" { "TLSv1_3 " } else { "TLSv1_2 " };
                assert!(out.stdout_str().starts_with(agreed), "{}", out.describe());
            }
            if curl {
                let status = std::process::Command::new(CURL)
                    .args(&args)
                    .arg("-o")
                    .arg("/dev/null")
                    .arg(&url)
                    .status();
                // curl says 35 for a signature that does not verify, toll 60 (it cannot verify
                // the certificate): both fail.
                assert_eq!(status.unwrap().code() == Some(0), code == 0, "curl {args:?} {url}");
            }
        }
    }
    let url = format!("https://127.0.0.1:{}/", leaf.port);
    toll(["-sS", "-k"]).arg(&url).run().assert_code(0);
}

/// A body that ends with the connection (HTTP/1, no length, not chunked) from a server that
/// closes without TLS `close_notify`, as many do: the body is whole (curl 7.88 with OpenSSL 3:
/// exit 0), and `-o` writes it; toll took it for a cut one (exit 18, no file). With a length
/// announced and not reached, it is still exit 18.
#[test]
fn a_close_delimited_body_ends_without_close_notify() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let serve = |answer: &'static [u8]| {
        crate::tls::serve_tls(&[b"http/1.1"], move |mut tls| async move {
            let mut buf = [0u8; 4096];
            let _ = tls.read(&mut buf).await;
            let _ = tls.write_all(answer).await;
            let _ = tls.flush().await;
            // The TCP connection ends under TLS: no close_notify.
            let (tcp, _) = tls.into_inner();
            drop(tcp);
        })
    };
    let whole = serve(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello without a length\n");
    let cut = serve(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly a part\n");
    let ca = pki().ca_arg();
    let dir = crate::run::scratch();
    let file = dir.path().join("out.txt");
    let out =
        toll(["-sS", "--cacert", &ca, "-o", file.to_str().unwrap(), &format!("https://127.0.0.1:{whole}/")])
            .run();
    out.assert_ok();
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "hello without a length\n");
    let out = toll(["-sS", "--cacert", &ca, &format!("https://127.0.0.1:{cut}/")]).run();
    out.assert_code(18);
}
