//! The connection and diagnostics options of issue 11 (`cli/conn_opts.rs`) where the
//! differential suite cannot look: a `--trace` file never holds a secret, and `-E` presents the
//! client certificate to a server that demands one.

use crate::origin::Origin;
use crate::run::{audit, scratch, toll};
use crate::squid::{self, Auth, ALICE};
use base64::Engine;
use std::io::{Read, Write};
use std::sync::Arc;

#[test]
fn a_trace_file_holds_no_secret() {
    crate::require_squid!("a_trace_file_holds_no_secret");
    let proxy = squid::shared(Auth::Basic);
    let http = Origin::http();
    let https = Origin::https();
    let dir = scratch();
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    for (name, url, ascii) in [
        ("http.txt", http.url("/basic-auth/joe/trace-pw-1"), true),
        ("https.txt", https.url("/basic-auth/joe/trace-pw-1"), false),
    ] {
        let trace = dir.path().join(name);
        let creds = format!("{}:{}", ALICE.0, ALICE.1);
        let ca = crate::tls::pki().ca_arg();
        let option = if ascii { "--trace-ascii" } else { "--trace" };
        let trace_arg = trace.display().to_string();
        let out = toll([
            "-sS",
            "-x",
            proxy.url().as_str(),
            "-U",
            creds.as_str(),
            "-u",
            "joe:trace-pw-1",
            "-b",
            "session=trace-cookie-1",
            "--cacert",
            ca.as_str(),
            option,
            trace_arg.as_str(),
            url.as_str(),
        ])
        .run();
        out.assert_code(0);
        assert_eq!(String::from_utf8_lossy(&out.stdout), "authenticated as joe\n");
        let text = String::from_utf8_lossy(&std::fs::read(&trace).expect("trace file")).into_owned();
        assert!(text.contains("=> Send header, "), "{text}");
        // The hex dump wraps text at 16 bytes: look at the character column joined up.
        let joined: String =
            if ascii { text.clone() } else { text.lines().filter_map(|l| l.get(54..)).collect() };
        assert!(joined.contains("authenticated as joe"), "{text}");
        // The scheme stays (it is what one debugs); the credentials do not.
        assert!(joined.to_ascii_lowercase().contains("authorization: basic <redacted>"), "{text}");
        // (The origin's password is in this test URL's path: only its Basic encoding counts.)
        for secret in
            [ALICE.1, "trace-cookie-1", &b64("joe:trace-pw-1"), &b64(&format!("{}:{}", ALICE.0, ALICE.1))]
        {
            assert!(!joined.contains(secret) && !text.contains(secret), "{secret:?} in the trace:\n{text}");
        }
        audit(b"", b"", &[dir.path().to_path_buf()], &[]).unwrap();
    }
}

/// A TLS server that demands a client certificate signed by its own client CA; answers `ok`
/// (with the client certificate's presence) to one connection per `accept`.
struct ClientAuthServer {
    port: u16,
    dir: tempfile::TempDir,
    /// Its TLS settings (server certificate for 127.0.0.1, client certificates demanded), for a
    /// TLS proxy of the same kind.
    config: Arc<rustls::ServerConfig>,
    /// The same with TLS 1.2 only, where the client certificate is judged within the handshake.
    tls12: Arc<rustls::ServerConfig>,
}

impl ClientAuthServer {
    fn start() -> ClientAuthServer {
        let dir = scratch();
        let server_key = rcgen::KeyPair::generate().unwrap();
        let server_cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
            .unwrap()
            .self_signed(&server_key)
            .unwrap();
        std::fs::write(dir.path().join("server-ca.pem"), server_cert.pem()).unwrap();
        let client_ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let client_ca = ca_params.clone().self_signed(&client_ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, client_ca_key);
        let client_key = rcgen::KeyPair::generate().unwrap();
        let mut client_params = rcgen::CertificateParams::new(vec!["client".to_string()]).unwrap();
        client_params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        let client_cert = client_params.signed_by(&client_key, &issuer).unwrap();
        std::fs::write(
            dir.path().join("client.pem"),
            format!("{}{}", client_cert.pem(), client_key.serialize_pem()),
        )
        .unwrap();
        std::fs::write(dir.path().join("client-cert.pem"), client_cert.pem()).unwrap();
        std::fs::write(dir.path().join("client-key.pem"), client_key.serialize_pem()).unwrap();
        // A certificate the server does not know.
        let stranger_key = rcgen::KeyPair::generate().unwrap();
        let stranger =
            rcgen::CertificateParams::new(vec!["x".to_string()]).unwrap().self_signed(&stranger_key).unwrap();
        std::fs::write(
            dir.path().join("stranger.pem"),
            format!("{}{}", stranger.pem(), stranger_key.serialize_pem()),
        )
        .unwrap();

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots.add(client_ca.der().clone()).unwrap();
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .unwrap();
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(server_key.serialize_der().into());
        let tls12 = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS12])
            .unwrap()
            .with_client_cert_verifier(verifier.clone())
            .with_single_cert(vec![server_cert.der().clone()], key.clone_key())
            .unwrap();
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(vec![server_cert.der().clone()], key)
            .unwrap();
        let config = Arc::new(config);
        let served = config.clone();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
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
                    let with_cert = tls.conn.peer_certificates().is_some_and(|c| !c.is_empty());
                    let body = format!("ok, client certificate: {with_cert}\n");
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
        ClientAuthServer { port, dir, config: served, tls12: Arc::new(tls12) }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    fn run(&self, extra: &[&str]) -> crate::run::Out {
        let ca = self.path("server-ca.pem");
        let url = format!("https://127.0.0.1:{}/", self.port);
        let mut args = vec!["-sS", "--cacert", ca.as_str()];
        args.extend_from_slice(extra);
        args.push(url.as_str());
        toll(args).run()
    }
}

#[test]
fn a_client_certificate_is_presented_to_a_server_that_demands_one() {
    let server = ClientAuthServer::start();
    let out = server.run(&["-E", &server.path("client.pem")]);
    out.assert_code(0);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ok, client certificate: true\n");
    let out =
        server.run(&["--cert", &server.path("client-cert.pem"), "--key", &server.path("client-key.pem")]);
    out.assert_code(0);
    let out = server.run(&[
        "--cert",
        &format!("{}:unused-passphrase", server.path("client.pem")),
        "--cert-type",
        "PEM",
    ]);
    out.assert_code(0);
    assert!(!out.stderr.contains("unused-passphrase"));
    // Without a certificate, or with one the server does not trust, the handshake fails.
    let out = server.run(&[]);
    assert_ne!(out.code, Some(0), "{}", out.describe());
    let out = server.run(&["-E", &server.path("stranger.pem")]);
    assert_ne!(out.code, Some(0), "{}", out.describe());
}

/// With a TLS tuning option toll makes the TLS settings itself (not the HTTP client): the
/// client certificate is presented from them too.
#[test]
fn a_client_certificate_is_presented_with_the_tls_tuning_options() {
    let server = ClientAuthServer::start();
    let client = server.path("client.pem");
    let out = server.run(&["-E", &client, "--tls13-ciphers", "TLS_AES_128_GCM_SHA256"]);
    out.assert_code(0);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ok, client certificate: true\n");
    let out = server.run(&[
        "--cert",
        &server.path("client-cert.pem"),
        "--key",
        &server.path("client-key.pem"),
        "--curves",
        "P-256",
    ]);
    out.assert_code(0);
    // The tuning holds on that path (nothing usable: 59), and without a certificate the server
    // refuses the handshake.
    server.run(&["-E", &client, "--ciphers", "BOGUS"]).assert_code(59);
    let out = server.run(&["--curves", "X25519"]);
    assert_ne!(out.code, Some(0), "{}", out.describe());
    // A certificate the server does not trust fails as it does without the option: 35 when
    // toll reads the server's alert, 56 when the server's close comes first (TLS 1.3 judges the
    // client's certificate after the handshake; which one toll sees is a race, either way).
    let stranger = server.path("stranger.pem");
    for extra in [&[][..], &["--curves", "X25519"]] {
        let out = server.run(&[&["-E", stranger.as_str()][..], extra].concat());
        assert!(matches!(out.code, Some(35 | 56)), "{}", out.describe());
    }
}

/// `--proxy-cert` (and `--proxy-key`): an https:// proxy that demands a client certificate gets
/// one, for http and https targets; without it, or with one it does not trust, the proxy cannot
/// be reached (exit 5), and `-E` is the server's, not the proxy's. curl 7.88 with the same
/// options gets the same answers.
#[test]
fn a_client_certificate_is_presented_to_an_https_proxy_that_demands_one() {
    use crate::fakeproxy::{self, TlsFakeProxy};
    let server = ClientAuthServer::start();
    let proxy = TlsFakeProxy::start_with(server.config.clone(), fakeproxy::open());
    let (http, https) = (Origin::http(), Origin::https());
    let (proxy_ca, ca) = (server.path("server-ca.pem"), crate::tls::pki().ca_arg());
    let (client, cert, key) =
        (server.path("client.pem"), server.path("client-cert.pem"), server.path("client-key.pem"));
    let dir = scratch();
    std::fs::create_dir(dir.path().join("cas")).unwrap();
    std::fs::copy(&proxy_ca, dir.path().join("cas/proxy.pem")).unwrap();
    let capath = dir.path().join("cas").display().to_string();
    let proxy_url = proxy.url();
    let run = |extra: &[&str], url: &str| {
        let mut args = vec!["-sS", "-x", &proxy_url, "--cacert", &ca];
        args.extend_from_slice(extra);
        args.push(url);
        (toll(args.clone()).run(), crate::t_serve::run(crate::t_serve::CURL, &args))
    };
    for url in [http.url("/text"), https.url("/text")] {
        for extra in [
            &["--proxy-cacert", &proxy_ca, "--proxy-cert", &client][..],
            &[
                "--proxy-cacert",
                &proxy_ca,
                "--proxy-cert",
                &cert,
                "--proxy-key",
                &key,
                "--proxy-cert-type",
                "PEM",
            ],
            &["--proxy-capath", &capath, "--proxy-cert", &client],
            &["--proxy-insecure", "--proxy-cert", &format!("{client}:unused-passphrase")],
        ] {
            let (out, curl) = run(extra, &url);
            out.assert_ok();
            // OpenSSL reads a CA directory by hashed names only (`openssl rehash`); toll reads
            // every PEM file in it (README, --capath).
            if extra[0] != "--proxy-capath" {
                assert_eq!(out.stdout, curl.stdout, "{extra:?} {url}");
            }
            assert!(!out.stderr.contains("unused-passphrase"), "{}", out.describe());
        }
        for extra in [
            &["--proxy-cacert", &proxy_ca][..],
            &["--proxy-cacert", &proxy_ca, "-E", &client],
            &["--proxy-cacert", &proxy_ca, "--proxy-cert", &server.path("stranger.pem")],
        ] {
            let (out, curl) = run(extra, &url);
            // 5; or 43 when the TLS 1.3 proxy's close is read before its alert (a race the
            // relay cannot tell from a proxy closing on the request: note22).
            assert!(matches!(out.code, Some(5 | 43)), "{}", out.describe());
            assert!(!curl.status.success(), "{extra:?} {url}: curl got through");
        }
    }
    let out =
        toll(["-sS", "-x", &proxy.url(), "--proxy-cert", &server.path("nothing.pem"), &http.url("/text")])
            .run();
    out.assert_code(58);
    // toll doctor presents it too: in step 2's own handshake (with TLS 1.2 the proxy judges the
    // certificate there) and on the relay's steps.
    let tls12 = TlsFakeProxy::start_with(server.tls12.clone(), fakeproxy::open());
    let (verify, url) = (http.url("/json"), http.url("/text"));
    for proxy_url in [proxy.url(), tls12.url()] {
        let doctor = |extra: &[&str]| {
            let mut args =
                vec!["doctor", "-x", &proxy_url, "--proxy-cacert", &proxy_ca, "--verify-url", &verify, &url];
            args.extend_from_slice(extra);
            toll(args).run()
        };
        let out = doctor(&["--proxy-cert", &client]);
        out.assert_ok();
        assert!(out.stdout_str().contains("2. reachability      ok"), "{}", out.describe());
        let out = doctor(&[]);
        // TLS 1.2: refused in the handshake, 5. TLS 1.3: 5, or 43 when the close is read before
        // the alert (as above).
        let tls12_proxy = proxy_url == tls12.url();
        assert!(matches!(out.code, Some(5)) || (!tls12_proxy && out.code == Some(43)), "{}", out.describe());
    }
}

#[test]
fn proxy_headers_go_to_the_proxy_only() {
    use crate::fakeproxy::{self, FakeProxy};
    let proxy = FakeProxy::start(fakeproxy::open());
    let http = Origin::http();
    let https = Origin::https();
    let ca = crate::tls::pki().ca_arg();
    // Through the proxy: on the CONNECT of an https:// URL (not inside the tunnel), and on the
    // proxied request of an http:// URL.
    for (url, connect) in [(https.url("/req?h=x-proxy-note"), true), (http.url("/req?h=x-proxy-note"), false)]
    {
        let out =
            toll(["-sS", "-x", &proxy.url(), "--cacert", &ca, "--proxy-header", "X-Proxy-Note: 1", &url])
                .run();
        out.assert_code(0);
        let seen = proxy.requests().into_iter().rfind(|r| r.is_connect() == connect).expect("a request");
        assert_eq!(seen.header("x-proxy-note"), Some("1"), "{}", proxy.summary());
        if connect {
            assert_eq!(String::from_utf8_lossy(&out.stdout), "GET /req?h=x-proxy-note\nx-proxy-note: -\n");
        }
    }
    // With -p an http:// URL goes through a CONNECT too: the header is on it, not inside.
    let url = http.url("/req?h=x-proxy-note");
    let out = toll(["-sS", "-p", "-x", &proxy.url(), "--proxy-header", "X-Proxy-Note: 1", &url]).run();
    out.assert_code(0);
    let seen = proxy.requests().into_iter().rfind(|r| r.is_connect()).expect("a CONNECT");
    assert_eq!(seen.target, http.authority(), "{}", proxy.summary());
    assert_eq!(seen.header("x-proxy-note"), Some("1"), "{}", proxy.summary());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "GET /req?h=x-proxy-note\nx-proxy-note: -\n");
    // Directly: nobody gets it.
    let out = toll(["-sS", "--proxy-header", "X-Proxy-Note: 1", &http.url("/req?h=x-proxy-note")]).run();
    out.assert_code(0);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "GET /req?h=x-proxy-note\nx-proxy-note: -\n");
}

/// A CONNECT says who asks, as curl's does (corporate proxies allow tunnels by client): toll's
/// User-Agent, `-A`'s (an empty one with an empty `-A`), a `--proxy-header` one instead, or
/// none with `--proxy-header 'User-Agent:'`; `-H` stays inside the tunnel, as in curl 7.88. Through the loopback relay
/// (`--capath` puts the TLS in reqwest) as in process.
#[test]
fn a_connect_carries_the_user_agent() {
    use crate::fakeproxy::{self, FakeProxy};
    let proxy = FakeProxy::start(fakeproxy::open());
    let https = Origin::https();
    let ca = crate::tls::pki().ca_arg();
    let url = https.url("/req?h=user-agent");
    let ours = format!("toll/{}", env!("CARGO_PKG_VERSION"));
    let (purl, capath) = (proxy.url(), crate::run::scratch());
    std::fs::copy(&ca, capath.path().join("ca.pem")).unwrap();
    let capath = capath.path().to_str().unwrap();
    for (args, connect, inside) in [
        (&[][..], Some(ours.as_str()), ours.as_str()),
        (&["-A", "bot/1"][..], Some("bot/1"), "bot/1"),
        (&["-H", "User-Agent: h/1"][..], Some(ours.as_str()), "h/1"),
        (&["-H", "User-Agent:"][..], Some(ours.as_str()), "-"),
        (&["--proxy-header", "User-Agent: p/1"][..], Some("p/1"), ours.as_str()),
        (&["--proxy-header", "User-Agent:"][..], None, ours.as_str()),
        (&["-A", ""][..], Some(""), "-"),
    ] {
        for with_capath in [false, true] {
            let mut argv = vec!["-sS", "-x", &purl, "--cacert", &ca];
            if with_capath {
                argv.extend(["--capath", capath]);
            }
            argv.extend(args);
            argv.push(&url);
            let out = toll(argv).run();
            out.assert_code(0);
            let seen = proxy.requests().into_iter().rfind(|r| r.is_connect()).expect("a CONNECT");
            assert_eq!(seen.header("user-agent"), connect, "{args:?} {with_capath}: {}", proxy.summary());
            assert_eq!(
                String::from_utf8_lossy(&out.stdout),
                format!("GET /req?h=user-agent\nuser-agent: {inside}\n")
            );
        }
    }
}

#[test]
fn curl_ca_bundle_names_the_ca_file() {
    let https = Origin::https();
    let ca = crate::tls::pki().ca_arg();
    let url = https.url("/text");
    toll(["-sS", &url]).env("CURL_CA_BUNDLE", &ca).run().assert_code(0);
    toll(["-sS", &url]).env("SSL_CERT_FILE", &ca).run().assert_code(0);
    let out = toll(["-sS", &url]).run();
    assert_eq!(out.code, Some(60), "{}", out.describe());
}

/// `-N`: the body reaches standard output as it arrives, not when a buffer fills or the
/// transfer ends. The server sends 10 bytes, then holds the rest back for 5 s.
#[test]
fn no_buffer_writes_the_body_as_it_arrives() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\nfirst-part");
                let _ = s.flush();
                std::thread::sleep(std::time::Duration::from_secs(5));
                let _ = s.write_all(b"secondpart");
            });
        }
    });
    let first_part_within = |extra: &[&str]| {
        let home = scratch();
        let mut cmd = std::process::Command::new(crate::run::TOLL);
        cmd.args(extra).arg(format!("http://127.0.0.1:{port}/"));
        crate::run::isolate(&mut cmd, home.path());
        cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::null());
        let mut child = cmd.spawn().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut first = [0u8; 10];
            let ok = stdout.read_exact(&mut first).is_ok();
            let _ = tx.send(ok.then_some(first));
            let _ = std::io::copy(&mut stdout, &mut std::io::sink());
        });
        let got = rx.recv_timeout(std::time::Duration::from_secs(3)).ok().flatten();
        let _ = child.wait();
        got
    };
    assert_eq!(first_part_within(&["-s", "-N"]).as_ref(), Some(b"first-part"));
    assert_eq!(first_part_within(&["-s"]), None, "without -N the body is buffered (the test would not fail)");
}

/// `--expect100-timeout`: a body over 1 MiB sent through a proxy that never answers `100
/// Continue` (here: one that waits for the body before it forwards anything) leaves after that
/// long (curl's default is one second), and arrives whole either way.
#[test]
fn expect100_timeout_is_how_long_a_large_body_waits_for_the_proxy() {
    use crate::fakeproxy::{self, FakeProxy};
    use std::time::{Duration, Instant};
    let proxy = FakeProxy::start(fakeproxy::open());
    let http = Origin::http();
    let dir = scratch();
    let file = dir.path().join("big.bin");
    let size = 3 << 20;
    std::fs::write(&file, crate::pattern_bytes(size)).unwrap();
    let data = format!("@{}", file.display());
    let upload = |wait: &str| {
        let t0 = Instant::now();
        let out = toll(["-sS", "-x", &proxy.url(), "--expect100-timeout", wait, "--data-binary", &data])
            .arg(http.url("/upload"))
            .run();
        out.assert_code(0);
        (String::from_utf8_lossy(&out.stdout).into_owned(), t0.elapsed())
    };
    let (at_once, quick) = upload("0");
    let (later, slow) = upload("3");
    assert!(at_once.ends_with(&format!(" {size}\n")), "{at_once}");
    assert_eq!(at_once, later);
    assert!(slow >= Duration::from_millis(2900), "the body left before --expect100-timeout: {slow:?}");
    assert!(quick + Duration::from_millis(1500) < slow, "{quick:?} against {slow:?}");
    let posts: Vec<_> = proxy.requests().into_iter().filter(|r| r.method == "POST").collect();
    assert_eq!(posts.len(), 2, "{}", proxy.summary());
    assert!(posts.iter().all(|r| r.header("expect") == Some("100-continue")), "{}", proxy.summary());
}

/// `--resolve` applies to a proxy's name too, as curl's does: the proxy named in `-x` is
/// reached at the rule's address and its name is never looked up (CI fails any test that asks
/// DNS for a name; without the rule this one would, and get no answer: exit 5).
#[test]
fn resolve_applies_to_the_proxys_name() {
    use crate::fakeproxy::{self, FakeProxy};
    let proxy = FakeProxy::start(fakeproxy::open());
    let origin = Origin::http();
    let port = proxy.url().rsplit(':').next().unwrap().to_string();
    let named = format!("http://proxy-by-name.test:{port}");
    let rule = format!("proxy-by-name.test:{port}:127.0.0.1");
    for url in [origin.url("/text"), Origin::https().url("/text")] {
        let out =
            toll(["-sS", "--cacert", &crate::tls::pki().ca_arg(), "-x", &named, "--resolve", &rule, &url])
                .run();
        out.assert_ok().assert_stdout(b"hello from the origin\n");
    }
    assert_eq!(proxy.requests().len(), 2, "{}", proxy.summary());
}

/// `--connect-to` as curl 7.88 follows it: to another port or a host by name (`--resolve`
/// pinned here: tests look up no other name), for http and https, directly and through an HTTP
/// proxy, whose CONNECT then names the rule's target (for an http:// URL too). The request
/// still names the URL's host, and TLS checks the URL's name.
#[test]
fn connect_to_reaches_another_port_or_host_directly_and_through_a_proxys_tunnel() {
    use crate::fakeproxy::{self, FakeProxy};
    let (http, https) = (Origin::http(), Origin::https());
    let ca = crate::tls::pki().ca_arg();
    let proxy = FakeProxy::start(fakeproxy::open());
    let purl = proxy.url();
    let (hp, sp) = (http.port.to_string(), https.port.to_string());
    let http_rule = format!("web.invalid:80:127.0.0.1:{hp}");
    let named_rule = format!("web.invalid:80:backend.invalid:{hp}");
    let pin = format!("backend.invalid:{hp}:127.0.0.1");
    let tls_rule = format!("localhost:443:127.0.0.1:{sp}");
    let cases: [(&[&str], &str, &str); 4] = [
        (&["--connect-to", &http_rule], "http://web.invalid/req?h=host", "web.invalid"),
        (&["--connect-to", &named_rule, "--resolve", &pin], "http://web.invalid/req?h=host", "web.invalid"),
        (&["--connect-to", &tls_rule, "--cacert", &ca], "https://localhost/req?h=host", "localhost"),
        (
            &["--connect-to", &tls_rule, "--cacert", &ca, "-w", "%{num_connects}"],
            "https://localhost/req?h=host",
            "localhost",
        ),
    ];
    for (args, url, host) in cases {
        // Through the proxy the CONNECT names the rule's host, which the proxy would look up.
        let named = args.contains(&"--resolve");
        for via_proxy in [false, true].into_iter().filter(|p| !(named && *p)) {
            let mut argv = vec!["-sS"];
            if via_proxy {
                argv.extend(["-x", &purl]);
            }
            argv.extend(args);
            argv.push(url);
            let out = toll(argv.clone()).run();
            out.assert_code(0);
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(text.starts_with(&format!("GET /req?h=host\nhost: {host}\n")), "{argv:?}: {text}");
            if args.contains(&"-w") {
                assert!(text.ends_with("\n1"), "{argv:?}: {text}");
            }
            if via_proxy {
                let seen = proxy.requests().into_iter().rfind(|r| r.is_connect()).expect("a CONNECT");
                let to = args[1].rsplit_once(':').map(|(h, p)| (h.rsplit_once(':').unwrap().1, p)).unwrap();
                assert_eq!(seen.target, format!("{}:{}", to.0, to.1), "{argv:?}: {}", proxy.summary());
            }
        }
    }
    // A rule reqwest's path cannot follow, with an option that keeps the request there: refused.
    let out = toll(["-sS", "--connect-to", &http_rule, "--http1.0", "http://web.invalid/req"]).run();
    out.assert_code(2);
    assert!(out.stderr.contains("--connect-to for web.invalid:80"), "{}", out.describe());
}

/// `--resolve` rules are per port, as curl's: the second URL's rule is followed although
/// reqwest's overrides hold one address per name (the first URL's rule's).
#[test]
fn resolve_rules_are_followed_per_port() {
    use std::io::{Read, Write};
    let origin = Origin::http();
    let other = std::net::TcpListener::bind("127.0.0.2:0").unwrap();
    let port2 = other.local_addr().unwrap().port();
    let served = std::thread::spawn(move || {
        let (mut c, _) = other.accept().unwrap();
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = c.read(&mut buf).unwrap();
            assert!(n > 0, "no request");
            head.extend_from_slice(&buf[..n]);
        }
        c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\ntwo\n").unwrap();
        String::from_utf8_lossy(&head).into_owned()
    });
    let p1 = origin.port;
    let (r1, r2) = (format!("dual.test:{p1}:127.0.0.1"), format!("dual.test:{port2}:127.0.0.2"));
    let (u1, u2) = (format!("http://dual.test:{p1}/text"), format!("http://dual.test:{port2}/x"));
    let out = toll(["-sS", "--resolve", &r1, "--resolve", &r2, "-w", "%{remote_ip}\n", &u1, &u2]).run();
    out.assert_ok();
    assert_eq!(out.stdout_str(), "hello from the origin\n127.0.0.1\ntwo\n127.0.0.2\n", "{}", out.describe());
    let head = served.join().unwrap();
    assert!(head.to_ascii_lowercase().contains(&format!("host: dual.test:{port2}\r\n")), "{head}");
}
