use super::*;

fn tunnel(host: &str, port: u16) -> Target {
    Target::Tunnel { host: host.into(), port }
}

#[test]
fn only_chunked_is_a_transfer_coding_toll_serve_passes_on() {
    let with = |values: &[&str]| {
        let mut h = http::HeaderMap::new();
        for v in values {
            h.append(http::header::TRANSFER_ENCODING, v.parse().unwrap());
        }
        unknown_transfer_coding(&h)
    };
    assert_eq!(with(&[]), None);
    assert_eq!(with(&["chunked"]), None);
    assert_eq!(with(&["Chunked , "]), None);
    assert_eq!(with(&["gzip, chunked"]).as_deref(), Some("gzip"));
    assert_eq!(with(&["chunked", "x-custom"]).as_deref(), Some("x-custom"));
}

#[test]
fn targets_named_by_a_host_name_no_host_can_have_are_refused() {
    // (hyper's parser refuses others before: `a%26b`, `a"b`, `a{b`, …)
    let of = |method: Method, uri: &str| Target::of(&method, &uri.parse().unwrap()).map(|t| t.host_port());
    for uri in ["a!b:443", "a&b:443", "a$b.example:443", "a=b:443"] {
        assert_eq!(of(Method::CONNECT, uri), Err(NOT_A_HOST_NAME), "{uri}");
    }
    for uri in ["http://a!b/x", "http://a,b/", "http://a*b.example:8080/"] {
        assert_eq!(of(Method::GET, uri), Err(NOT_A_HOST_NAME), "{uri}");
    }
    assert_eq!(of(Method::CONNECT, "[::1]:443"), Ok(("::1".into(), 443)));
    // Authority form only: the tunnel's end is never taken from a URL or after a user name.
    for uri in ["http://127.0.0.1:8080/", "https://a.example:443", "joe@127.0.0.1:8080", "127.0.0.1"] {
        assert_eq!(of(Method::CONNECT, uri), Err(CONNECT_FORM), "{uri}");
    }
    assert_eq!(of(Method::CONNECT, "db_1.corp:5432"), Ok(("db_1.corp".into(), 5432)));
    assert_eq!(of(Method::GET, "http://a-b.example/x"), Ok(("a-b.example".into(), 80)));
}

#[test]
fn targets_on_this_machines_loopback_are_known_by_address_and_name() {
    for host in [
        "localhost",
        "LOCALHOST.",
        "db.localhost",
        "127.0.0.1",
        "127.1.2.3",
        "::1",
        "::ffff:127.0.0.1",
        "0.0.0.0",
        "::",
    ] {
        assert!(for_this_machine_only(&tunnel(host, 5432)), "{host}");
    }
    assert!(for_this_machine_only(&Target::Http("http://[::1]:8888/".parse().unwrap())));
    for host in
        ["example.com", "localhost.example.com", "10.0.0.1", "172.17.0.1", "::ffff:10.0.0.1", "fe80::1"]
    {
        assert!(!for_this_machine_only(&tunnel(host, 5432)), "{host}");
    }
}

#[test]
fn requests_for_the_listener_itself_are_loops() {
    let listen: &[SocketAddr] = &["127.0.0.1:3128".parse().unwrap()];
    assert!(is_loop(&tunnel("127.0.0.1", 3128), listen));
    assert!(is_loop(&tunnel("localhost", 3128), listen));
    assert!(is_loop(&tunnel("127.0.0.2", 3128), listen));
    assert!(is_loop(&Target::Http("http://[::1]:3128/x".parse().unwrap()), listen));
    assert!(!is_loop(&tunnel("127.0.0.1", 443), listen));
    assert!(!is_loop(&tunnel("example.com", 3128), listen));
    assert!(is_self("[::1]", 3128, listen) && is_self("LOCALHOST", 3128, listen));
    assert!(!is_self("10.0.0.1", 3128, listen));
    // Listening on every address: this machine's addresses are this server, another
    // host's proxy on the same port is not.
    let everywhere: &[SocketAddr] = &["0.0.0.0:3128".parse().unwrap()];
    assert!(is_self("127.0.0.1", 3128, everywhere) && is_self("::ffff:127.0.0.1", 3128, everywhere));
    assert!(!is_self("192.0.2.7", 3128, everywhere));
    assert!(!is_loop(&tunnel("192.0.2.7", 3128), everywhere));
    // Several listeners (systemd's sockets): each one's port is this server.
    let two: &[SocketAddr] = &["127.0.0.1:3128".parse().unwrap(), "[::1]:8080".parse().unwrap()];
    assert!(is_loop(&tunnel("::1", 8080), two) && is_loop(&tunnel("localhost", 3128), two));
    assert!(!is_loop(&tunnel("localhost", 9090), two));
}

#[test]
fn failures_become_502_with_proxy_status_never_407() {
    for kind in [
        FailureKind::Rejected { sources: vec!["the OS keyring".into()] },
        FailureKind::NoCredentials { incomplete: vec![] },
        FailureKind::NoChallenge,
    ] {
        let f = Failure {
            proxy: "http://127.0.0.1:3128".into(),
            origin: "-x".into(),
            target: "example.com:443".into(),
            kind,
            status: Some((407, "Proxy Authentication Required".into())),
            offered: vec!["Basic".into()],
        };
        let r = failure_response(f);
        assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
        let ps = r.headers().get("proxy-status").unwrap().to_str().unwrap();
        // The parameters before the details, whose text may hold anything.
        assert!(ps.starts_with("toll; error=proxy_internal_error; received-status=407; details=\""), "{ps}");
        assert!(ps.ends_with('"'), "{ps}");
    }
}
