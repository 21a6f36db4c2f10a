//! Unit tests for `crate::cli` (a separate file to keep `cli.rs` readable).

use super::*;
use crate::auth::{Scheme, SchemeSet};
use crate::config::OutputTarget;

const NO_ENV: &dyn Fn(&str) -> Option<String> = &|_| None;

fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(std::iter::once("toll").chain(args.iter().copied()))
}

fn transfer(args: &[&str]) -> Transfer {
    match parse(args).unwrap().into_config(NO_ENV).unwrap() {
        Invocation::Transfer(t) => *t,
        other => panic!("{other:?}"),
    }
}

fn usage_error(args: &[&str]) -> UsageError {
    parse(args).unwrap().into_config(NO_ENV).unwrap_err()
}

fn header<'a>(t: &'a Transfer, name: &str) -> Vec<&'a str> {
    t.request.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).collect()
}

#[test]
fn clap_definition_is_consistent() {
    Cli::command().debug_assert();
}

#[test]
fn curl_option_names() {
    let mut cmd = Cli::command();
    cmd.build();
    let expected: &[(Option<char>, &str)] = &[
        (Some('x'), "proxy"),
        (Some('U'), "proxy-user"),
        (None, "noproxy"),
        (None, "proxy-basic"),
        (None, "proxy-digest"),
        (None, "proxy-anyauth"),
        (None, "proxy-cacert"),
        (None, "proxy-insecure"),
        (Some('X'), "request"),
        (Some('H'), "header"),
        (Some('d'), "data"),
        (None, "data-binary"),
        (None, "json"),
        (Some('o'), "output"),
        (Some('O'), "remote-name"),
        (Some('i'), "include"),
        (Some('I'), "head"),
        (Some('L'), "location"),
        (None, "max-redirs"),
        (Some('f'), "fail"),
        (Some('s'), "silent"),
        (Some('S'), "show-error"),
        (Some('v'), "verbose"),
        (Some('m'), "max-time"),
        (None, "connect-timeout"),
        (Some('k'), "insecure"),
        (None, "cacert"),
        (Some('A'), "user-agent"),
        (None, "compressed"),
        (None, "no-prompt"),
        (Some('V'), "version"),
        (Some('h'), "help"),
    ];
    for (short, long) in expected {
        let arg = cmd.get_arguments().find(|a| a.get_long() == Some(long));
        let arg = arg.unwrap_or_else(|| panic!("--{long} missing"));
        assert_eq!(arg.get_short(), *short, "--{long}");
    }
}

#[test]
fn defaults() {
    let t = transfer(&["https://example.com/x"]);
    let r = &t.request;
    assert_eq!(r.url.as_str(), "https://example.com/x");
    assert_eq!((r.method.as_deref(), r.headers.is_empty(), r.body.is_none()), (None, true, true));
    assert_eq!((r.max_redirects, r.follow_redirects, r.output.clone()), (50, false, OutputTarget::Stdout));
    assert!(!r.head_only && !r.include_headers && !r.fail_on_http_error && !r.compressed && !r.insecure);
    assert!(
        r.max_time.is_none() && r.connect_timeout.is_none() && r.cacert.is_none() && r.user_agent.is_none()
    );
    assert_eq!(t.style, OutputStyle { silent: false, show_error: false, verbose: false });
    assert!(t.proxy.explicit.is_none() && t.proxy.noproxy.is_none() && t.proxy.user.is_none());
    assert_eq!(t.proxy.allowed_schemes, SchemeSet::ANY);
    assert!(!t.proxy.proxy_insecure && t.proxy.proxy_cacert.is_none() && !t.no_prompt);
}

#[test]
fn delegation_is_one_option_for_the_proxy_and_the_server() {
    use crate::auth::Delegation;
    let t = transfer(&["http://h/"]);
    assert_eq!((t.proxy.delegation, t.request.curl.delegation), (Delegation::None, Delegation::None));
    for (given, level) in
        [("none", Delegation::None), ("Policy", Delegation::Policy), ("ALWAYS", Delegation::Always)]
    {
        let t = transfer(&["--delegation", given, "http://h/"]);
        assert_eq!((t.proxy.delegation, t.request.curl.delegation), (level, level), "{given}");
    }
    assert!(parse(&["--delegation", "sometimes", "http://h/"]).is_err());
}

#[test]
fn kerberos_service_names() {
    let t = transfer(&["--proxy-service-name", "shrubbery", "--service-name", "web", "http://h/"]);
    assert_eq!(t.proxy.service_name.as_deref(), Some("shrubbery"));
    assert_eq!(t.request.curl.service_name.as_deref(), Some("web"));
    let t = transfer(&["http://h/"]);
    assert!(t.proxy.service_name.is_none() && t.request.curl.service_name.is_none());
    for bad in ["", "HTTP@host", "HTTP/host", "a b", "a\u{1b}b"] {
        assert!(parse(&["--proxy-service-name", bad, "http://h/"]).is_err(), "{bad:?}");
        assert!(parse(&["--service-name", bad, "http://h/"]).is_err(), "{bad:?}");
    }
    assert!(transfer(&["--disallow-username-in-url", "http://h/"]).request.curl.conn.disallow_username);
}

#[test]
fn url_without_scheme_is_http() {
    assert_eq!(transfer(&["example.com/x"]).request.url.as_str(), "http://example.com/x");
    assert_eq!(transfer(&["localhost:8080"]).request.url.as_str(), "http://localhost:8080/");
    assert_eq!(transfer(&["HTTPS://Example.COM"]).request.url.as_str(), "https://example.com/");
    assert_eq!(transfer(&["[::1]:80/a"]).request.url.as_str(), "http://[::1]/a");
    let u = transfer(&["example.com/?next=http://other/"]).request.url;
    assert_eq!(u.host_str(), Some("example.com"));
}

#[test]
fn url_errors() {
    // A scheme toll does not fetch is the client's error when that URL's turn comes (exit 1, as
    // curl), so the other URLs still run; unless the URL does not even parse.
    for (url, scheme) in [("ftp://example.com/", "ftp"), ("FILE:///etc/passwd", "file"), ("ws://h/", "ws")] {
        assert_eq!(transfer(&[url, "http://h/"]).request.url.scheme(), scheme);
    }
    assert_eq!(
        usage_error(&["ftp://b ad/"]),
        UsageError::UnsupportedScheme { url: "ftp://b ad/".into(), scheme: "ftp".into() }
    );
    assert!(matches!(usage_error(&["http://exa mple.com/"]), UsageError::InvalidUrl { .. }));
    assert!(matches!(usage_error(&["example.com:99999"]), UsageError::InvalidUrl { .. }));
    let e = usage_error(&["http://bob:hunter2@exa mple.com/"]).to_string();
    assert!(!e.contains("hunter2") && e.contains("bob:***@"), "{e}");
}

#[test]
fn url_is_required_without_a_subcommand() {
    assert_eq!(parse(&[]).unwrap_err().kind(), clap::error::ErrorKind::MissingRequiredArgument);
    assert_eq!(parse(&["-v"]).unwrap_err().kind(), clap::error::ErrorKind::MissingRequiredArgument);
}

#[test]
fn demo_subcommand() {
    let demo = |args: &[&str]| match parse(args).unwrap().into_config(NO_ENV).unwrap() {
        Invocation::Demo(d) => d.scheme,
        other => panic!("{other:?}"),
    };
    assert_eq!(demo(&["demo"]), DemoScheme::Digest, "the issue asks for a Digest demo by default");
    assert_eq!(demo(&["demo", "--scheme", "basic"]).scheme(), Scheme::Basic);
    assert!(parse(&["demo", "--scheme", "ntlm"]).is_err());
    // With options, 'demo' would be a URL: refused with a hint rather than fetching http://demo/.
    assert_eq!(usage_error(&["-v", "demo"]), UsageError::SubcommandAfterOptions("demo".into()));
    assert_eq!(transfer(&["-v", "demo/"]).request.url.as_str(), "http://demo/");
    assert!(parse(&["demo", "http://x/"]).is_err());
    assert!(parse(&["help"]).is_ok(), "'help' is a URL, not a subcommand");
}

#[test]
fn version_and_help() {
    assert_eq!(parse(&["-V"]).unwrap_err().kind(), clap::error::ErrorKind::DisplayVersion);
    assert_eq!(parse(&["--version"]).unwrap_err().kind(), clap::error::ErrorKind::DisplayVersion);
    let help = parse(&["-h"]).unwrap_err();
    assert_eq!(help.kind(), clap::error::ErrorKind::DisplayHelp);
    let long = parse(&["--help"]).unwrap_err().to_string();
    assert!(long.contains("NO_PROXY") && long.contains("--proxy-anyauth"), "{long}");
}

#[test]
fn explicit_proxy() {
    let t = transfer(&["-x", "http://alice:s%3Acret@proxy.corp:3128", "http://h/"]);
    let p = t.proxy.explicit.unwrap();
    assert_eq!((p.display_url().as_str(), p.origin.as_str()), ("http://proxy.corp:3128", "-x/--proxy"));
    assert_eq!((p.user.as_deref(), p.password.unwrap().expose()), (Some("alice"), "s:cret"));
    let t = transfer(&["--proxy", "a:1", "-x", "socks5h://b", "http://h/"]);
    assert_eq!(t.proxy.explicit.unwrap().display_url(), "socks5h://b:1080", "last -x wins");
    let e = usage_error(&["-x", "ftp://u:hunter2@p", "http://h/"]);
    assert!(matches!(e, UsageError::Proxy(ProxyError::UnsupportedScheme { .. })), "{e:?}");
    let e = usage_error(&["-x", "http://u:hunter2@p:http", "http://h/"]).to_string();
    assert!(e.contains("-x/--proxy") && !e.contains("hunter2"), "{e}");
    let shown = format!("{:?}", parse(&["-x", "http://u:hunter2@p", "http://h/"]).unwrap());
    assert!(!shown.contains("hunter2"), "{shown}");
}

#[test]
fn curls_older_socks_options_name_the_proxy_and_the_last_of_them_and_x_wins() {
    let url = |args: &[&str]| {
        let all: Vec<&str> = args.iter().copied().chain(["http://h/"]).collect();
        let p = transfer(&all).proxy.explicit.unwrap();
        format!("{} {}", p.display_url(), p.origin)
    };
    assert_eq!(url(&["--socks5-hostname", "s:9050"]), "socks5h://s:9050 --socks5-hostname");
    assert_eq!(url(&["--socks4", "s"]), "socks4://s:1080 --socks4");
    assert_eq!(url(&["--socks4a", "s:1"]), "socks4a://s:1 --socks4a");
    assert_eq!(url(&["-x", "http://p:3128", "--socks5", "s:1"]), "socks5://s:1 --socks5");
    assert_eq!(url(&["--socks5", "s:1", "-x", "http://p:3128"]), "http://p:3128 -x/--proxy");
    assert_eq!(url(&["--socks5", "s:1", "--socks4", "t:2"]), "socks4://t:2 --socks4");
    // A scheme in the value decides, as in curl.
    assert_eq!(url(&["--socks5", "http://p:3128"]), "http://p:3128 --socks5");
    assert_eq!(url(&["--proxy1.0", "p"]), "http://p:1080 --proxy1.0");
    assert_eq!(url(&["-x", "http://q:1", "--proxy1.0", "p:8"]), "http://p:8 --proxy1.0");
    assert_eq!(url(&["--proxy1.0", "p:8", "--socks5", "s:1"]), "socks5://s:1 --socks5");
    let http10 = |args: &[&str]| transfer(&[args, &["http://h/"]].concat()).proxy.connect_http10;
    assert!(
        http10(&["--proxy1.0", "p:8"])
            && !http10(&["--proxy1.0", "p:8", "-x", "p:8"])
            && !http10(&["-x", "p"])
    );
    assert!(usage_error(&["--proxy1.0", "https://p:8", "http://h/"]).to_string().contains("--proxy1.0"));
    let e = usage_error(&["--socks5", "u:hunter2@s:port", "http://h/"]).to_string();
    assert!(e.contains("--socks5") && !e.contains("hunter2"), "{e}");
    assert!(parse(&["--pac", "p.pac", "--socks5", "s:1", "http://h/"]).is_err());
}

#[test]
fn preproxy_is_a_socks_proxy_socks4_without_a_scheme_and_not_with_a_socks_x() {
    let pre = |args: &[&str]| {
        let args: Vec<&str> = args.iter().copied().chain(["http://h/"]).collect();
        transfer(&args).proxy.preproxy.map(|p| (p.display_url(), p.user, p.origin))
    };
    assert_eq!(pre(&["--preproxy", "s"]), Some(("socks4://s:1080".into(), None, "--preproxy".into())));
    assert_eq!(
        pre(&["--preproxy", "socks5h://u:pw@s:9", "-x", "http://p:3128"]),
        Some(("socks5h://s:9".into(), Some("u".into()), "--preproxy".into()))
    );
    assert_eq!(pre(&["-x", "http://p:3128"]), None);
    for bad in ["http://s:1", "https://s:1"] {
        let e = usage_error(&["--preproxy", bad, "http://h/"]).to_string();
        assert!(e.contains("takes a SOCKS proxy"), "{e}");
    }
    let e = usage_error(&["--preproxy", "socks5://s:1", "--socks5-hostname", "t:2", "http://h/"]).to_string();
    assert!(e.contains("-x names a SOCKS proxy"), "{e}");
    let e = usage_error(&["--preproxy", "socks5://u:hunter2@s:port", "http://h/"]).to_string();
    assert!(e.contains("--preproxy") && !e.contains("hunter2"), "{e}");
}

#[test]
fn proxy_client_certificates_and_their_passphrase() {
    let cert = |args: &[&str]| {
        let args: Vec<&str> = args.iter().copied().chain(["http://h/"]).collect();
        transfer(&args)
            .proxy
            .proxy_client_cert
            .map(|c| (c.cert, c.key, c.password.map(|p| p.expose().to_string())))
    };
    assert_eq!(cert(&["-x", "https://p"]), None);
    assert_eq!(cert(&["--proxy-cert", "c.pem"]), Some(("c.pem".into(), None, None)));
    assert_eq!(
        cert(&["--proxy-cert", "c.pem", "--proxy-key", "k.pem", "--proxy-pass", "pw"]),
        Some(("c.pem".into(), Some("k.pem".into()), Some("pw".into())))
    );
    assert_eq!(
        cert(&["--proxy-cert", "c.pem:first", "--proxy-pass", "pw"]).unwrap().2.as_deref(),
        Some("first")
    );
    let t = transfer(&[
        "--proxy-capath",
        "d",
        "--proxy-tlsv1",
        "--proxy-ssl-allow-beast",
        "--socks5-basic",
        "http://h/",
    ]);
    assert_eq!(t.proxy.proxy_capath, Some("d".into()));
    assert!(parse(&["--proxy-cert-type", "DER", "http://h/"]).is_err());
}

#[test]
fn empty_proxy_means_no_proxy_at_all() {
    let t = transfer(&["-x", "", "--noproxy", "a.com", "http://h/"]);
    assert!(t.proxy.explicit.is_none());
    assert_eq!(t.proxy.noproxy.as_deref(), Some("*"));
}

#[test]
fn noproxy_is_passed_through() {
    assert_eq!(
        transfer(&["--noproxy", "a.com, .b.com", "h"]).proxy.noproxy.as_deref(),
        Some("a.com, .b.com")
    );
    assert_eq!(transfer(&["--noproxy", "", "h"]).proxy.noproxy.as_deref(), Some(""));
}

#[test]
fn proxy_user_splits_at_the_first_colon() {
    let t = transfer(&["-U", "alice:pa:ss@word", "h"]);
    assert_eq!((t.proxy.user.as_deref(), t.proxy.password.unwrap().expose()), (Some("alice"), "pa:ss@word"));
    let t = transfer(&["--proxy-user", "alice", "h"]);
    assert_eq!((t.proxy.user.as_deref(), t.proxy.password.is_none()), (Some("alice"), true));
    let t = transfer(&["-U", "alice:", "h"]);
    assert_eq!(t.proxy.password.unwrap().expose(), "");
    let t = transfer(&["-U", "DOMAIN\\alice:x", "h"]);
    assert_eq!(t.proxy.user.as_deref(), Some("DOMAIN\\alice"));
    assert!(parse(&["-U", "a\nb:c", "h"]).is_err());
    let shown = format!("{:?}", parse(&["-U", "alice:hunter2", "h"]).unwrap());
    assert!(!shown.contains("hunter2"), "{shown}");
}

#[test]
fn proxy_auth_scheme_flags_last_wins() {
    let schemes = |args: &[&str]| transfer(&[args, &["h"]].concat()).proxy.allowed_schemes;
    assert_eq!(schemes(&[]), SchemeSet::ANY);
    assert_eq!(schemes(&["--proxy-basic"]), SchemeSet::only(Scheme::Basic));
    assert_eq!(schemes(&["--proxy-digest"]), SchemeSet::only(Scheme::Digest));
    assert_eq!(schemes(&["--proxy-anyauth"]), SchemeSet::ANY);
    assert_eq!(schemes(&["--proxy-basic", "--proxy-digest"]), SchemeSet::only(Scheme::Digest));
    assert_eq!(schemes(&["--proxy-digest", "--proxy-basic"]), SchemeSet::only(Scheme::Basic));
    assert_eq!(schemes(&["--proxy-digest", "--proxy-anyauth"]), SchemeSet::ANY);
    assert_eq!(schemes(&["--proxy-anyauth", "--proxy-basic"]), SchemeSet::only(Scheme::Basic));
    assert_eq!(schemes(&["--proxy-basic", "--proxy-basic"]), SchemeSet::only(Scheme::Basic));
    assert_eq!(schemes(&["--proxy-ntlm"]), SchemeSet::only(Scheme::Ntlm));
    assert_eq!(schemes(&["--proxy-negotiate"]), SchemeSet::only(Scheme::Negotiate));
    assert_eq!(schemes(&["--proxy-ntlm", "--proxy-negotiate"]), SchemeSet::only(Scheme::Negotiate));
    assert_eq!(schemes(&["--proxy-negotiate", "--proxy-anyauth"]), SchemeSet::ANY);
}

#[test]
fn proxy_tls_options() {
    let t = transfer(&["--proxy-cacert", "ca.pem", "--proxy-insecure", "h"]);
    assert_eq!(t.proxy.proxy_cacert, Some(PathBuf::from("ca.pem")));
    assert!(t.proxy.proxy_insecure);
    assert_eq!(t.proxy.proxy_tls, crate::config::TlsTuning::default());
}

#[test]
fn tls_tuning_options_for_the_origin_and_the_proxy() {
    let t = transfer(&[
        "--ciphers",
        "-ALL:ECDHE-RSA-AES128-GCM-SHA256",
        "--tls13-ciphers",
        "TLS_AES_128_GCM_SHA256",
        "--curves",
        "X25519:P-256",
        "--crlfile",
        "o.crl",
        "--proxy-ciphers",
        "HIGH",
        "--proxy-tls13-ciphers",
        "TLS_AES_256_GCM_SHA384",
        "--proxy-crlfile",
        "p.crl",
        "h",
    ]);
    let o = &t.request.curl.conn.tls;
    assert_eq!(o.ciphers.as_deref(), Some("-ALL:ECDHE-RSA-AES128-GCM-SHA256"), "a list may start with '-'");
    assert_eq!(o.tls13_ciphers.as_deref(), Some("TLS_AES_128_GCM_SHA256"));
    assert_eq!(o.curves.as_deref(), Some("X25519:P-256"));
    assert_eq!(o.crlfile, Some(PathBuf::from("o.crl")));
    let p = &t.proxy.proxy_tls;
    assert_eq!(
        (p.ciphers.as_deref(), p.tls13_ciphers.as_deref()),
        (Some("HIGH"), Some("TLS_AES_256_GCM_SHA384"))
    );
    assert_eq!((p.curves.as_deref(), p.crlfile.as_deref()), (None, Some(std::path::Path::new("p.crl"))));
    // Empty lists are kept (curl's exit 59 or 35 comes when the TLS settings are made).
    let t = transfer(&["--ciphers", "", "--tls13-ciphers", "", "h"]);
    assert_eq!(t.request.curl.conn.tls.ciphers.as_deref(), Some(""));
    assert_eq!(t.request.curl.conn.tls.tls13_ciphers.as_deref(), Some(""));
    assert!(!transfer(&["h"]).request.curl.conn.tls.is_set());
}

#[test]
fn headers() {
    let args = ["-H", "X-A:  1 ", "--header", "x-b:2:3", "-H", "X-Empty;", "-H", "Accept:", "-H", "", "h"];
    let t = transfer(&args);
    let got: Vec<_> = t.request.headers.iter().map(|(n, v)| format!("{n}={v}")).collect();
    // As curl: trailing blanks kept; `Name:` takes the header out (here the default Accept).
    assert_eq!(got, ["X-A=1 ", "x-b=2:3", "X-Empty="]);
    assert_eq!(t.request.curl.removed_headers, ["accept"]);
    // A header of -H or one toll implies is not sent once taken out; the default User-Agent
    // neither: the client reads `removed_headers`.
    let t = transfer(&["-H", "Content-Type:", "-H", "X-A: 1", "-H", "X-A:", "-d", "x", "h"]);
    let got: Vec<_> = t.request.headers.iter().map(|(n, v)| format!("{n}={v}")).collect();
    assert_eq!(got, ["X-A=1"], "curl still sends an X-A given before or after 'X-A:'");
    for bad in ["NoColon", ": v", "Bad Name: v", "X: a\r\nInjected: b", "X\n: v", "(x): v"] {
        assert!(parse(&["-H", bad, "h"]).is_err(), "{bad:?}");
    }
    let shown = format!("{:?}", Header::from_str("authorization: Bearer tok3n").unwrap());
    assert!(!shown.contains("tok3n"), "{shown}");
    assert_eq!(format!("{:?}", Header::from_str("X: y").unwrap()), "X: y");
}

#[test]
fn method() {
    assert_eq!(transfer(&["-X", "PUT", "h"]).request.method.as_deref(), Some("PUT"));
    assert_eq!(transfer(&["--request", "PROPFIND", "h"]).request.method.as_deref(), Some("PROPFIND"));
    assert!(parse(&["-X", "GE T", "h"]).is_err());
    assert!(parse(&["-X", "", "h"]).is_err());
}

#[test]
fn form_data() {
    let t = transfer(&["-d", "a=1", "--data", "b=2", "h"]);
    assert_eq!(t.request.method.as_deref(), Some("POST"));
    let body = t.request.body.clone().unwrap();
    assert_eq!(body, Body { source: BodySource::Bytes(b"a=1&b=2".to_vec()), strip_newlines: false });
    assert_eq!(header(&t, "content-type"), ["application/x-www-form-urlencoded"]);
    let t = transfer(&["-d", "x", "-H", "content-type: text/plain", "h"]);
    assert_eq!(header(&t, "Content-Type"), ["text/plain"]);
    let t = transfer(&["-d", "@form.txt", "h"]);
    assert_eq!(
        t.request.body.unwrap(),
        Body { source: BodySource::File("form.txt".into()), strip_newlines: true }
    );
    let t = transfer(&["-d", "@-", "h"]);
    assert_eq!(t.request.body.unwrap(), Body { source: BodySource::Stdin, strip_newlines: true });
    let t = transfer(&["-X", "PUT", "-d", "x", "h"]);
    assert_eq!(t.request.method.as_deref(), Some("PUT"));
    assert!(parse(&["-d", "@", "h"]).is_err());
    let t = transfer(&["-d", "", "h"]);
    assert_eq!(t.request.body.unwrap().source, BodySource::Bytes(vec![]));
}

#[test]
fn binary_data() {
    let t = transfer(&["--data-binary", "@img.png", "h"]);
    let body = t.request.body.clone().unwrap();
    assert_eq!(body, Body { source: BodySource::File("img.png".into()), strip_newlines: false });
    assert_eq!(header(&t, "content-type"), ["application/x-www-form-urlencoded"]);
    let t = transfer(&["--data-binary", "a", "--data-binary", "b", "h"]);
    assert_eq!(t.request.body.unwrap().source, BodySource::Bytes(b"a&b".to_vec()));
}

#[test]
fn json() {
    let t = transfer(&["--json", "{\"a\":", "--json", "1}", "h"]);
    assert_eq!(t.request.method.as_deref(), Some("POST"));
    assert_eq!(t.request.body.clone().unwrap().source, BodySource::Bytes(b"{\"a\":1}".to_vec()));
    assert_eq!(
        (header(&t, "content-type"), header(&t, "accept")),
        (vec!["application/json"], vec!["application/json"])
    );
    let t = transfer(&["--json", "@-", "-H", "Accept: text/plain", "h"]);
    assert_eq!(t.request.body.clone().unwrap(), Body { source: BodySource::Stdin, strip_newlines: false });
    assert_eq!(header(&t, "accept"), ["text/plain"]);
}

/// Standard input wherever curl takes it: beside other pieces (read whole, once, and the same
/// bytes for each use), into `-G`'s query, as `--data-urlencode [NAME]@-`; `-G` leaves a form
/// the body, as curl ignores it there.
#[test]
fn standard_input_among_other_data() {
    let body = |args: &[&str]| transfer(args).request.body.map(|b| b.source);
    let bytes = |b: &[u8]| Some(BodySource::Bytes(b.to_vec()));
    assert_eq!(body(&["-d", "a", "-d", "@-", "h"]), bytes(b"a&fromstdin"));
    assert_eq!(body(&["--data-binary", "@-", "--data-binary", "b", "h"]), bytes(b"from\r\nstdin\n&b"));
    assert_eq!(body(&["--json", "@-", "--json", "@-", "h"]), bytes(b"from\r\nstdin\nfrom\r\nstdin\n"));
    assert_eq!(body(&["--data-urlencode", "n@-", "h"]), bytes(b"n=from%0D%0Astdin%0A"));
    let t = transfer(&["-G", "-d", "@-", "-d", "x=1", "h"]);
    assert_eq!((t.request.url.query(), t.request.body.is_none()), (Some("fromstdin&x=1"), true));
    // Into the query with lower-case hex digits, as curl 7.88's URL API writes them.
    let t = transfer(&["-G", "--data-urlencode", "@-", "h/?q"]);
    assert_eq!(t.request.url.query(), Some("q&from%0d%0astdin%0a"));
    let t = transfer(&["-G", "-F", "f=1", "h"]);
    assert!(matches!(t.request.body.map(|b| b.source), Some(BodySource::Form(_))));
    assert_eq!(t.request.method.as_deref(), Some("POST"));
}

#[test]
fn showing_headers_and_naming_the_file_from_them_are_refused_together() {
    for shown in ["-i", "-I"] {
        let e = usage_error(&["-OJ", shown, "h/f"]).to_string();
        assert!(e.contains("-J/--remote-header-name"), "{e}");
    }
    transfer(&["-OJ", "-D", "-", "h/f"]);
}

#[test]
fn body_combinations_that_are_refused() {
    assert_eq!(usage_error(&["-d", "a", "--json", "{}", "h"]), UsageError::MixedData("-d/--data", "--json"));
    // A file among other pieces is read whole (26 when it cannot be).
    assert!(matches!(usage_error(&["-d", "a", "-d", "@/nonexistent/f", "h"]), UsageError::Unreadable(_)));
    assert_eq!(usage_error(&["-I", "-d", "a", "h"]), UsageError::HeadWithBody("-d/--data"));
}

#[test]
fn head() {
    let t = transfer(&["-I", "h"]);
    assert_eq!(t.request.method.as_deref(), Some("HEAD"));
    assert!(t.request.head_only && t.request.include_headers);
    assert_eq!(transfer(&["-I", "-X", "GET", "h"]).request.method.as_deref(), Some("GET"));
}

#[test]
fn output_targets() {
    assert_eq!(transfer(&["-o", "out.html", "h"]).request.output, OutputTarget::File("out.html".into()));
    assert_eq!(transfer(&["-o", "-", "h"]).request.output, OutputTarget::Stdout);
    assert_eq!(transfer(&["-O", "http://h/a/file.tgz"]).request.output, OutputTarget::RemoteName);
    // A URL without a file name fails when its turn comes (exit 23, `saving::check_remote_name`).
    for url in ["http://h/", "http://h", "http://h/dir/"] {
        assert_eq!(transfer(&["-O", url]).request.output, OutputTarget::RemoteName, "{url}");
    }
    // As curl: output options go with the URLs in turn; the first wins for one URL.
    assert_eq!(transfer(&["-o", "x", "-O", "h/f"]).request.output, OutputTarget::File("x".into()));
    let t = transfer(&["-o", "a", "-O", "h/1", "h/2", "h/3"]);
    assert_eq!(t.request.output, OutputTarget::File("a".into()));
    let rest: Vec<_> = t.more.iter().map(|r| (r.url.as_str().to_string(), r.output.clone())).collect();
    assert_eq!(
        rest,
        vec![
            ("http://h/2".to_string(), OutputTarget::RemoteName),
            ("http://h/3".to_string(), OutputTarget::Stdout)
        ]
    );
    let t = transfer(&["--remote-name-all", "-G", "-d", "q=1", "h/1", "h/2"]);
    assert_eq!(t.more[0].url.as_str(), "http://h/2?q=1");
    assert_eq!(
        (&t.request.output, &t.more[0].output),
        (&OutputTarget::RemoteName, &OutputTarget::RemoteName)
    );
}

#[test]
fn max_redirs() {
    let redirs = |n: &str| parse(&["--max-redirs", n, "h"]).map(|c| c.request.max_redirs);
    assert_eq!(redirs("3").unwrap(), 3);
    assert_eq!(redirs("0").unwrap(), 0);
    assert_eq!(redirs("-1").unwrap(), usize::MAX);
    assert!(redirs("-2").is_err() && redirs("x").is_err());
}

#[test]
fn timeouts() {
    let t = transfer(&["-m", "2.5", "--connect-timeout", "3", "h"]);
    assert_eq!(t.request.max_time, Some(Duration::from_millis(2500)));
    assert_eq!(t.request.connect_timeout, Some(Duration::from_secs(3)));
    assert_eq!(transfer(&["--max-time", "0", "h"]).request.max_time, None);
    assert_eq!(transfer(&["-m", ".001", "h"]).request.max_time, Some(Duration::from_millis(1)));
    for bad in ["-1", "nan", "inf", "1s", "", "1e300"] {
        assert!(parse(&["-m", bad, "h"]).is_err(), "{bad:?}");
    }
}

#[test]
fn flags_map_to_config() {
    let t = transfer(&["-sSLifkv", "--compressed", "--cacert", "ca.pem", "-A", "bot/1", "h"]);
    let r = &t.request;
    assert!(r.follow_redirects && r.include_headers && r.fail_on_http_error && r.insecure && r.compressed);
    assert_eq!((r.cacert.clone(), r.user_agent.as_deref()), (Some(PathBuf::from("ca.pem")), Some("bot/1")));
    assert_eq!(t.style, OutputStyle { silent: true, show_error: true, verbose: true });
    let t = transfer(&["--silent", "--show-error", "--verbose", "--location", "--include", "--fail", "h"]);
    assert_eq!(t.style, OutputStyle { silent: true, show_error: true, verbose: true });
}

#[test]
fn no_prompt_from_flag_or_environment() {
    let with_env = |args: &[&str], value: Option<&str>| {
        let env = |k: &str| (k == "TOLL_NO_PROMPT").then(|| value.map(String::from)).flatten();
        match parse(args).unwrap().into_config(&env).unwrap() {
            Invocation::Transfer(t) => t.no_prompt,
            other => panic!("{other:?}"),
        }
    };
    assert!(with_env(&["--no-prompt", "h"], None));
    assert!(!with_env(&["h"], None));
    for v in ["1", "yes", "TRUE"] {
        assert!(with_env(&["h"], Some(v)), "{v}");
    }
    for v in ["", "0", "no", "False", "off"] {
        assert!(!with_env(&["h"], Some(v)), "{v}");
    }
    assert!(with_env(&["--no-prompt", "h"], Some("0")), "the flag wins");
}

#[test]
fn usage_errors_read_well() {
    let e = usage_error(&["-I", "--json", "{}", "h"]).to_string();
    assert_eq!(e, "-I/--head cannot send a body: drop --json");
    let e = usage_error(&["gopher://h h/"]).to_string();
    assert!(e.contains("gopher") && e.contains("http://"), "{e}");
}

#[test]
fn auth_subcommands() {
    let auth = |args: &[&str]| match parse(args).unwrap().into_config(NO_ENV).unwrap() {
        Invocation::Auth(cmd) => cmd,
        other => panic!("{other:?}"),
    };
    match auth(&["auth", "login", "proxy.corp:3128", "--user", "alice", "--password-stdin"]) {
        AuthCommand::Login(l) => {
            assert_eq!(l.proxy.proxy.unwrap().expose(), "proxy.corp:3128");
            assert_eq!(l.user.as_deref(), Some("alice"));
            assert!(l.password_stdin && !l.no_verify);
            assert_eq!(l.verify_url, "http://example.com/");
        }
        other => panic!("{other:?}"),
    }
    match auth(&["auth", "login", "--no-verify"]) {
        AuthCommand::Login(l) => assert!(l.proxy.proxy.is_none() && l.no_verify && l.user.is_none()),
        other => panic!("{other:?}"),
    }
    assert!(matches!(auth(&["auth", "list"]), AuthCommand::List));
    assert!(matches!(auth(&["auth", "status"]), AuthCommand::Status(AuthProxyArg { proxy: None })));
    match auth(&["auth", "logout", "http://p:1"]) {
        AuthCommand::Logout(a) => assert_eq!(a.proxy.unwrap().expose(), "http://p:1"),
        other => panic!("{other:?}"),
    }
    assert!(parse(&["auth"]).is_err(), "a subcommand of auth is required");
    assert!(parse(&["auth", "list", "extra"]).is_err());
    // Options before it make 'auth' a URL: refused, as for 'demo'.
    assert_eq!(usage_error(&["-v", "auth"]), UsageError::SubcommandAfterOptions("auth".into()));
}

#[test]
fn no_save_flag() {
    assert!(transfer(&["--no-save", "h"]).no_save);
    assert!(!transfer(&["h"]).no_save);
}

#[test]
fn doctor_subcommand() {
    let doctor = |args: &[&str], env: &dyn Fn(&str) -> Option<String>| match parse(args)
        .unwrap()
        .into_config(env)
        .unwrap()
    {
        Invocation::Doctor(d) => *d,
        other => panic!("{other:?}"),
    };
    let d = doctor(&["doctor"], NO_ENV);
    assert_eq!(d.request.url.as_str(), "https://example.com/");
    assert_eq!(d.verify_url.as_str(), "http://example.com/");
    assert!(!d.json && !d.report && !d.no_prompt && d.raw_proxy.is_none());
    assert!(
        !d.request.follow_redirects && d.request.max_time.is_some() && d.request.connect_timeout.is_some()
    );

    let d = doctor(
        &[
            "doctor",
            "proxy.test/x",
            "-x",
            "http://p:3128",
            "-U",
            "alice:pw",
            "--proxy-digest",
            "--json",
            "-k",
            "--cacert",
            "ca.pem",
            "--proxy-cacert",
            "pca.pem",
            "--noproxy",
            "internal",
            "--verify-url",
            "http://check.test/",
            "--connect-timeout",
            "3",
        ],
        NO_ENV,
    );
    assert_eq!(d.request.url.as_str(), "http://proxy.test/x");
    assert_eq!(d.proxy.explicit.as_ref().map(|s| s.host_port()).as_deref(), Some("p:3128"));
    assert_eq!(d.raw_proxy.as_ref().map(|r| r.expose()), Some("http://p:3128"));
    assert_eq!(d.proxy.user.as_deref(), Some("alice"));
    assert_eq!(d.proxy.allowed_schemes, SchemeSet::only(Scheme::Digest));
    assert_eq!(d.proxy.noproxy.as_deref(), Some("internal"));
    assert_eq!(d.proxy.proxy_cacert.as_deref(), Some(std::path::Path::new("pca.pem")));
    assert!(d.json && d.request.insecure);
    assert_eq!(d.request.cacert.as_deref(), Some(std::path::Path::new("ca.pem")));
    assert_eq!(d.request.connect_timeout, Some(Duration::from_secs(3)));
    assert_eq!(d.verify_url.as_str(), "http://check.test/");

    assert!(doctor(&["doctor", "--report"], NO_ENV).report);
    assert!(parse(&["doctor", "--json", "--report"]).is_err(), "--json and --report exclude each other");
    assert!(doctor(&["doctor"], &|k| (k == "TOLL_NO_PROMPT").then(|| "1".into())).no_prompt);
    assert!(doctor(&["doctor", "--no-prompt"], NO_ENV).no_prompt);
    assert!(matches!(
        parse(&["doctor", "ftp://x/"]).unwrap().into_config(NO_ENV),
        Err(UsageError::UnsupportedScheme { .. })
    ));
    assert_eq!(usage_error(&["-v", "doctor"]), UsageError::SubcommandAfterOptions("doctor".into()));
}

#[test]
fn parse_errors_of_secret_options_are_rendered_without_the_value() {
    let e = parse(&["-U", "alice:hunter2\n", "h"]).unwrap_err();
    assert!(e.to_string().contains("hunter2"), "clap's own text has the value: why this exists");
    let text = parse_error_text(&e).expect("re-rendered");
    assert!(!text.contains("hunter2") && text.contains("--proxy-user"), "{text}");
    // Other options keep clap's message, value included.
    let e = parse(&["-m", "soon", "h"]).unwrap_err();
    assert_eq!(parse_error_text(&e), None);
    // Unless the value would put control characters on the terminal.
    let e = parse(&["-A", "a\x1b[2Jb", "h"]).unwrap_err();
    assert!(parse_error_text(&e).is_some_and(|t| !t.contains('\x1b')));
}

#[test]
fn curls_options_toll_does_not_carry_out_are_named_with_the_reason() {
    let text = |args: &[&str]| parse_error_text(&parse(args).unwrap_err());
    let t = text(&["--local-port", "9000", "h"]).expect("named");
    assert!(t.contains("curl's --local-port is not supported by toll"), "{t}");
    let t = text(&["--tlspassword=x", "h"]).expect("named, the value left out");
    assert!(t.contains("--tlspassword is not supported") && !t.contains("=x"), "{t}");
    assert!(text(&["--ftp-pasv", "h"]).is_some_and(|t| t.contains("http:// and https:// URLs only")));
    // curl's short forms too, and the README pointer is a hint line of its own.
    let t = text(&["-a", "h"]).expect("named");
    assert!(t.contains("curl's -a is not supported"), "{t}");
    let lines = super::usage_error_lines(&t);
    assert!(lines.contains("toll: hint: the README's \"Not supported yet\""), "{lines}");
    // Anything else keeps clap's message (with its guess at a similar option).
    assert_eq!(text(&["--no-such-option", "h"]), None);
    // And every option named is one toll really lacks.
    for name in super::UNSUPPORTED.iter().map(|(n, _)| *n).chain(super::OTHER_PROTOCOLS.iter().copied()) {
        assert!(
            parse(&[name, "h"]).is_err_and(|e| e.kind() == clap::error::ErrorKind::UnknownArgument),
            "{name}"
        );
    }
}

#[test]
fn serve_and_run_limits_resolve_with_0_for_never() {
    let serve = |args: &[&str]| match parse(args).unwrap().into_config(NO_ENV).unwrap() {
        Invocation::Serve(s) => *s,
        other => panic!("{other:?}"),
    };
    let s = serve(&["serve"]);
    assert_eq!(s.idle_timeout, Some(std::time::Duration::from_secs(900)));
    assert_eq!(s.answer_timeout, Some(std::time::Duration::from_secs(60)));
    let s = serve(&["serve", "--idle-timeout", "0", "--answer-timeout", "0"]);
    assert_eq!((s.idle_timeout, s.answer_timeout), (None, None));
    let r = serve(&["run", "--idle-timeout", "2.5", "--", "true"]);
    assert_eq!(r.idle_timeout, Some(std::time::Duration::from_millis(2500)));
    assert_eq!(r.command, ["true"]);
}

#[test]
fn serve_and_run_use_one_thread_unless_told() {
    let threads = |args: &[&str]| match parse(args).unwrap().into_config(NO_ENV).unwrap() {
        Invocation::Serve(s) => s.threads,
        other => panic!("{other:?}"),
    };
    assert_eq!(threads(&["serve"]), 1);
    assert_eq!(threads(&["serve", "--threads", "4"]), 4);
    assert_eq!(threads(&["run", "--threads", "2", "--", "true"]), 2);
    for bad in ["0", "65", "x"] {
        assert!(parse(&["serve", "--threads", bad]).is_err(), "--threads {bad}");
    }
}

#[test]
fn serve_and_run_take_the_start_up_check_url_and_no_prompt() {
    let serve =
        |args: &[&str], env: &dyn Fn(&str) -> Option<String>| match parse(args).unwrap().into_config(env) {
            Ok(Invocation::Serve(s)) => *s,
            other => panic!("{other:?}"),
        };
    let s = serve(&["serve"], NO_ENV);
    assert_eq!((s.verify_url.as_str(), s.no_prompt), ("http://example.com/", false));
    let s = serve(&["serve", "--verify-url", "http://check.test/x", "--no-prompt"], NO_ENV);
    assert_eq!((s.verify_url.as_str(), s.no_prompt), ("http://check.test/x", true));
    let r = serve(&["run", "--", "true"], &|k| (k == "TOLL_NO_PROMPT").then(|| "1".to_string()));
    assert!(r.no_prompt);
}

/// What `main` parses: `parse_cli` sees clap's indices (`Cli::try_parse_from` does not).
fn ordered(args: &[&str]) -> Transfer {
    match parse_cli(std::iter::once("toll").chain(args.iter().copied())).unwrap().into_config(NO_ENV).unwrap()
    {
        Invocation::Transfer(t) => *t,
        other => panic!("{other:?}"),
    }
}

/// The pieces of several data options are joined in the order given, as curl's; --json is
/// not mixed with them.
#[test]
fn data_pieces_of_several_options_in_order() {
    let t = ordered(&[
        "-d",
        "a=1",
        "--data-urlencode",
        "b=x y",
        "--data-raw",
        "@r",
        "--data-binary",
        "c=3",
        "-d",
        "e",
        "h",
    ]);
    let body = t.request.body.expect("a body").source;
    assert_eq!(body, BodySource::Bytes(b"a=1&b=x+y&@r&c=3&e".to_vec()));
    let json =
        parse_cli(["toll", "-d", "a", "--data-raw", "b", "--json", "{}", "h"]).unwrap().into_config(NO_ENV);
    assert_eq!(json.unwrap_err(), UsageError::MixedData("-d/--data", "--json"));
}

/// `--url` is repeatable (a -K file's `url = …` lines), and its URLs take their turn among the
/// positional ones in the order given, as curl's.
#[test]
fn url_options_and_positional_urls_in_order() {
    let order = ordered;
    let t = order(&["h/1", "--url", "h/2", "h/3", "--url", "h/4"]);
    let all: Vec<String> =
        [&t.request].into_iter().chain(&t.more).map(|r| r.url.path().to_string()).collect();
    assert_eq!(all, ["/1", "/2", "/3", "/4"]);
    let t = order(&["--url", "h/a", "--url", "h/b"]);
    assert_eq!((t.request.url.path(), t.more.len()), ("/a", 1));
}

/// `-F` and `--form-string` parts go into the form in the order given, as curl adds them.
#[test]
fn form_parts_of_both_options_in_order() {
    let names = |args: &[&str]| match ordered(args).request.body.expect("a form").source {
        BodySource::Form(parts) => parts.into_iter().map(|p| p.name).collect::<Vec<_>>(),
        other => panic!("{other:?}"),
    };
    let both = ["--form-string", "a=1", "-F", "b=2", "--form-string", "c=@x", "-F", "d=4", "h"];
    assert_eq!(names(&both), ["a", "b", "c", "d"]);
    assert_eq!(names(&["-F", "b=2", "-F", "a=1", "h"]), ["b", "a"]);
}

/// Values that go into the request line or a header field hold no line break (one would start
/// a header of its own) or other control character; `-b` checks cookie data, not file names.
#[test]
fn request_line_and_field_values_refuse_control_characters() {
    for args in [
        &["--request-target", "/x\r\nEvil: b", "h"][..],
        &["--request-target", "/x y", "h"],
        &["--request-target", "", "h"],
        &["-e", "http://a/\r\nX: y", "h"],
        &["-b", "a=b\r\nX: y", "h"],
        &["-A", "a\nb", "h"],
    ] {
        let e = parse(args).err().unwrap_or_else(|| panic!("{args:?} accepted"));
        assert_eq!(e.kind(), clap::error::ErrorKind::ValueValidation, "{args:?}");
    }
    assert!(parse(&["--request-target", "*", "-X", "OPTIONS", "h"]).is_ok());
    assert!(parse(&["-b", "jar\nfile", "h"]).is_ok(), "a file name may hold anything");
}

/// clap's refusals read as toll's errors: `toll: error:`, then its tips and where to read more
/// as `toll: hint:` lines (the subcommand's help when the usage line names one).
#[test]
fn clap_errors_become_toll_errors_and_hints() {
    let text = "error: unexpected argument '--bogus' found\n\n  tip: to pass '--bogus' as a value, use '-- --bogus'\n\nUsage: toll [OPTIONS] [URL]...\n       toll <COMMAND>\n\nFor more information, try '--help'.\n";
    assert_eq!(
        super::usage_error_lines(text),
        "toll: error: unexpected argument '--bogus' found\n\
         toll: hint: to pass '--bogus' as a value, use '-- --bogus'\n\
         toll: hint: see 'toll --help'\n"
    );
    let text = "error: the following required arguments were not provided:\n  <CMD>...\n\nUsage: toll run <CMD>...\n\nFor more information, try '--help'.\n";
    assert_eq!(
        super::usage_error_lines(text),
        "toll: error: the following required arguments were not provided: <CMD>...\n\
         toll: hint: see 'toll run --help'\n"
    );
}

#[test]
fn help_as_a_word_shows_help_and_fetches_nothing() {
    for line in [vec!["toll", "help"], vec!["toll", "help", "serve"], vec!["toll", "help", "auth", "login"]] {
        let e = crate::cli::parse_cli(line.clone()).expect_err("help, not a transfer");
        assert_eq!(e.kind(), clap::error::ErrorKind::DisplayHelp, "{line:?}");
    }
    let serve = crate::cli::parse_cli(["toll", "help", "serve"]).unwrap_err().render().to_string();
    assert!(serve.contains("Usage: toll serve"), "{serve}");
}
