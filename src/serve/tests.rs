use super::*;

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

#[test]
fn a_request_line_goes_to_the_proxy_without_userinfo() {
    let strip = |s: &str| {
        let mut u: http::Uri = s.parse().unwrap();
        without_userinfo(&mut u);
        u.to_string()
    };
    assert_eq!(strip("http://u:p@127.0.0.1:8080/echo?q=1"), "http://127.0.0.1:8080/echo?q=1");
    assert_eq!(strip("http://u@[::1]/"), "http://[::1]/");
    assert_eq!(strip("http://a%40b:c@host/x"), "http://host/x");
    assert_eq!(strip("http://host/x@y"), "http://host/x@y");
}
