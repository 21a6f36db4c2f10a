//! `--doh-url` side by side with curl 7.88: the HTTPS origin's `/dns-query` (`crate::doh`)
//! answers a table of made-up `.test` names, so a name toll gave the system's resolver would
//! fail (and trip CI's guard): every name here other than `localhost` is one only DoH knows.
//! Each comparison runs curl and toll with the same arguments and checks the exit status and
//! standard output, and what the DoH server was asked.

use crate::fakeproxy::{self, FakeProxy};
use crate::origin::Origin;
use crate::run::{toll, Out};
use crate::tls::pki;
use std::process::Command;

const CURL: &str = "/usr/bin/curl";

/// curl with `args` (no proxy from the environment), as an [`Out`] for the same assertions.
fn curl(args: &[String]) -> Out {
    let started = std::time::Instant::now();
    let out = Command::new(CURL)
        .args(args)
        .env_remove("http_proxy")
        .env_remove("https_proxy")
        .env_remove("HTTPS_PROXY")
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy")
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .output()
        .expect("run curl");
    Out {
        code: out.status.code(),
        signal: None,
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: started.elapsed(),
        cmdline: format!("curl {}", args.join(" ")),
    }
}

fn doh_url(doh: &Origin) -> String {
    doh.url("/dns-query")
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// Runs `args` with curl (when installed) and toll, each against a fresh DoH server (so the
/// queries each sent can be told apart), checks both exit with `code` and print the same
/// output, and returns toll's output and the queries each tool sent (curl's, toll's).
fn both(extra: &[&str], url: &str, code: i32) -> (Out, Vec<String>, Vec<String>) {
    let run = |tool: &dyn Fn(Vec<String>) -> Out| {
        let doh = Origin::https();
        let mut a = args(&["-sS", "--doh-url", &doh_url(&doh)]);
        a.extend(extra.iter().map(|s| s.replace("{CA}", &pki().ca_arg())));
        a.push(url.to_string());
        let out = tool(a);
        (out, crate::doh::asked(&doh))
    };
    let (t, toll_asked) = run(&|a| toll(a).run());
    t.assert_code(code);
    let curl_asked = if std::path::Path::new(CURL).exists() {
        let (c, asked) = run(&|a| curl(&a));
        c.assert_code(code);
        assert_eq!(t.stdout_str(), c.stdout_str(), "toll and curl print the same\n{}", c.describe());
        asked
    } else {
        Vec::new()
    };
    (t, curl_asked, toll_asked)
}

#[test]
fn a_name_only_the_doh_server_knows_is_fetched_as_curl_does() {
    let origin = Origin::http();
    let url = format!("http://doh-a.test:{}/text", origin.port);
    let (out, curl_asked, toll_asked) = both(&["--cacert", "{CA}"], &url, 0);
    assert!(out.stdout_str().contains("hello"), "{}", out.describe());
    let mut sorted = toll_asked.clone();
    sorted.sort();
    assert_eq!(sorted, ["doh-a.test A", "doh-a.test AAAA"], "toll asked A and AAAA once each");
    if !curl_asked.is_empty() {
        let mut c = curl_asked;
        c.sort();
        assert_eq!(c, sorted, "curl asked the same");
    }
    assert_eq!(origin.requests()[0].header("host"), Some(format!("doh-a.test:{}", origin.port).as_str()));
    // A CNAME chain (doh-cname → doh-mid → doh-a), and -4: only A is asked.
    let url = format!("http://doh-cname.test:{}/text", origin.port);
    both(&["--cacert", "{CA}"], &url, 0);
    let url = format!("http://doh-a.test:{}/text", origin.port);
    let (_, curl_asked, toll_asked) = both(&["--cacert", "{CA}", "-4"], &url, 0);
    assert_eq!(toll_asked, ["doh-a.test A"]);
    assert!(curl_asked.is_empty() || curl_asked == ["doh-a.test A"], "{curl_asked:?}");
    // The same name on two servers (two connections): asked once for the run.
    let (doh, other) = (Origin::https(), Origin::http());
    let a = format!("http://doh-a.test:{}/text", origin.port);
    let b = format!("http://doh-a.test:{}/text", other.port);
    toll(["-sS", "--doh-url", &doh_url(&doh), "--cacert", &pki().ca_arg(), &a, &b]).run().assert_ok();
    assert_eq!(other.requests().len(), 1);
    assert_eq!(crate::doh::asked(&doh).len(), 2, "{:?}", crate::doh::asked(&doh));
}

#[test]
fn names_the_doh_server_does_not_resolve_are_exit_6() {
    let origin = Origin::http();
    for name in ["doh-nx.test", "doh-fail.test"] {
        let url = format!("http://{name}:{}/text", origin.port);
        let (out, _, asked) = both(&["--cacert", "{CA}"], &url, 6);
        assert!(asked.iter().any(|q| q.starts_with(name)), "{asked:?}");
        assert!(out.stderr.contains(name), "{}", out.describe());
    }
    assert!(origin.requests().is_empty());
    // Only AAAA ::1 and -4: no address of that family. curl 7.88 says 27 "Out of memory"
    // there (its quirk, README): toll says 6.
    let doh = Origin::https();
    let url = format!("http://doh-six.test:{}/text", origin.port);
    let t = toll(["-sS", "-4", "--cacert", &pki().ca_arg(), "--doh-url", &doh_url(&doh), &url]).run();
    t.assert_code(6);
    assert!(t.stderr.contains("no IPv4 address"), "{}", t.describe());
}

#[test]
fn an_unusable_doh_server_is_exit_6_and_never_a_system_lookup() {
    let origin = Origin::http();
    let url = format!("http://doh-a.test:{}/text", origin.port);
    let ca = pki().ca_arg();
    // Nothing listens there; a server answering 500; a URL that is not https://.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let doh = Origin::https();
    for server in [
        format!("https://127.0.0.1:{closed}/dns-query"),
        doh.url("/status/500"),
        format!("http://127.0.0.1:{}/dns-query", doh.port),
    ] {
        let a = args(&["-sS", "--cacert", &ca, "--doh-url", &server, &url]);
        let t = toll(a.clone()).run();
        t.assert_code(6);
        assert!(
            t.stderr.contains("cannot resolve doh-a.test for") || t.stderr.contains("--doh-url"),
            "{}",
            t.describe()
        );
        if std::path::Path::new(CURL).exists() {
            curl(&a).assert_code(6);
        }
    }
    assert!(origin.requests().is_empty(), "nothing reached the origin");
}

#[test]
fn the_doh_servers_certificate_is_checked_with_cacert_not_with_k() {
    let origin = Origin::http();
    let url = format!("http://doh-a.test:{}/text", origin.port);
    // The test CA is not the system's: without --cacert the DoH server is not trusted.
    let (_, _, asked) = both(&[], &url, 6);
    assert!(asked.is_empty(), "no query over an untrusted connection: {asked:?}");
    both(&["-k"], &url, 6);
    both(&["--doh-insecure"], &url, 0);
    both(&["--cacert", "{CA}"], &url, 0);
    // --doh-insecure is DoH's only: an https:// origin is still checked (curl: 60).
    let tls_origin = Origin::https();
    let tls_url = format!("https://doh-a.test:{}/text", tls_origin.port);
    both(&["--doh-insecure"], &tls_url, 60);
    // (The test certificate does not name doh-a.test: -k for the origin.)
    both(&["--doh-insecure", "-k"], &tls_url, 0);
}

#[test]
fn a_proxy_named_by_a_doh_only_name_is_looked_up_through_doh() {
    let origin = Origin::http();
    let proxy = FakeProxy::start(fakeproxy::open());
    let port = proxy.addr.port();
    // The origin's address is a literal: the proxy (which resolves nothing) gets it as is.
    let x = format!("http://doh-proxy.test:{port}");
    let (out, curl_asked, toll_asked) = both(&["--cacert", "{CA}", "-x", &x], &origin.url("/text"), 0);
    assert!(out.stdout_str().contains("hello"), "{}", out.describe());
    assert!(toll_asked.contains(&"doh-proxy.test A".to_string()), "{toll_asked:?}");
    assert!(curl_asked.is_empty() || curl_asked.contains(&"doh-proxy.test A".to_string()));
    assert!(!proxy.requests().is_empty(), "the transfer went through the proxy");
    // A proxy name the DoH server does not know: curl 7.88 says 6 then, not 5.
    let x = format!("http://doh-nx.test:{port}");
    both(&["--cacert", "{CA}", "-x", &x], &origin.url("/text"), 6);
    // Through an HTTP proxy the origin's name is the proxy's to resolve: not asked. This proxy
    // answers itself: one that forwarded would ask the system's DNS for the made-up name.
    let answering = FakeProxy::start(|_: &fakeproxy::ProxyRequest| fakeproxy::Action::Raw {
        bytes: b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n".to_vec(),
        close: true,
    });
    let x = format!("http://doh-proxy.test:{}", answering.addr.port());
    let url = format!("http://doh-a.test:{}/text", origin.port);
    let doh = Origin::https();
    let t =
        toll(["-sS", "--doh-url", &doh_url(&doh), "--cacert", &pki().ca_arg(), "-x", &x, "-m", "5", &url])
            .run();
    let asked = crate::doh::asked(&doh);
    assert!(asked.iter().all(|q| q.starts_with("doh-proxy.test")), "{asked:?}\n{}", t.describe());
    t.assert_ok().assert_stdout(b"ok\n");
    let target = answering.requests().first().map(|r| r.target.clone());
    assert_eq!(target.as_deref(), Some(url.as_str()), "the proxy got the name to resolve");
}

#[test]
fn localhost_literals_and_resolve_are_not_asked() {
    let origin = Origin::http();
    let p = origin.port;
    for (extra, url) in [
        (vec![], format!("http://localhost:{p}/text")),
        (vec![], format!("http://127.0.0.1:{p}/text")),
        (
            vec!["--resolve".to_string(), format!("doh-other.test:{p}:127.0.0.1")],
            format!("http://doh-other.test:{p}/text"),
        ),
        (
            vec!["--connect-to".to_string(), format!("doh-other.test:{p}:127.0.0.1:{p}")],
            format!("http://doh-other.test:{p}/text"),
        ),
    ] {
        let mut e: Vec<&str> = vec!["--cacert", "{CA}"];
        e.extend(extra.iter().map(String::as_str));
        let (_, curl_asked, toll_asked) = both(&e, &url, 0);
        assert!(toll_asked.is_empty() && curl_asked.is_empty(), "{url}: {toll_asked:?} {curl_asked:?}");
    }
}

#[test]
fn doh_cert_status_is_refused_and_time_limits_bound_the_lookup() {
    let origin = Origin::http();
    let doh = Origin::https();
    let url = format!("http://doh-a.test:{}/text", origin.port);
    // curl 7.88 with OpenSSL fails the lookup (6) when the server staples no OCSP answer;
    // toll cannot check OCSP at all: exit 4, curl's "not built in".
    let t = toll(["-sS", "--doh-url", &doh_url(&doh), "--doh-cert-status", &url]).run();
    t.assert_code(4);
    assert!(t.stderr.contains("--doh-cert-status"), "{}", t.describe());
    assert!(crate::doh::asked(&doh).is_empty());
    // A DoH server that takes the connection and never answers: 28 within the limit.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let server = format!("https://127.0.0.1:{}/dns-query", silent.local_addr().unwrap().port());
    for limit in ["--connect-timeout", "-m"] {
        let a = args(&["-sS", "--doh-url", &server, limit, "1", &url]);
        let t = toll(a.clone()).run();
        t.assert_code(28).assert_faster_than(std::time::Duration::from_secs(5));
        if std::path::Path::new(CURL).exists() {
            curl(&a).assert_code(28);
        }
    }
}

#[test]
fn verbose_says_what_doh_answered() {
    let origin = Origin::http();
    let doh = Origin::https();
    let url = format!("http://doh-cname.test:{}/text", origin.port);
    let t = toll(["-sS", "-v", "--doh-url", &doh_url(&doh), "--cacert", &pki().ca_arg(), &url]).run();
    t.assert_ok();
    assert!(
        t.stderr.contains("DoH: doh-cname.test: A 127.0.0.1 (through doh-mid.test, through doh-a.test,"),
        "{}",
        t.describe()
    );
}

/// A PAC's DNS helpers ask the DoH server too: `dnsResolve` of a name only it knows chooses the
/// proxy. A system lookup would find nothing (and CI's no-dns check would see it asked).
#[test]
fn a_pacs_dns_helpers_resolve_through_doh() {
    let origin = Origin::http();
    let proxy = FakeProxy::start(fakeproxy::open());
    let doh = Origin::https();
    let dir = crate::run::scratch();
    let pac = dir.path().join("route.pac");
    std::fs::write(
        &pac,
        format!(
            "function FindProxyForURL(url, host) {{\n  if (dnsResolve(\"doh-proxy.test\") == \"127.0.0.1\")\n    \
             return \"PROXY 127.0.0.1:{}\";\n  return \"DIRECT\";\n}}\n",
            proxy.addr.port()
        ),
    )
    .unwrap();
    let (ca, server, pac) = (pki().ca_arg(), doh_url(&doh), pac.display().to_string());
    let t = toll(["-sS", "--cacert", &ca, "--doh-url", &server, "--pac", &pac, &origin.url("/text")]).run();
    t.assert_ok().assert_stdout(b"hello from the origin\n");
    assert_eq!(proxy.requests().len(), 1, "the PAC chose the proxy: {}", t.describe());
    let asked = crate::doh::asked(&doh);
    assert!(asked.iter().any(|q| q.starts_with("doh-proxy.test")), "{asked:?}");
}

/// Every name on the way to the proxy is the DoH server's too: the PAC's own host when it is
/// fetched, and the proxies fail-over tries. A system lookup of `doh-a.test` finds nothing (the
/// PAC fetch would fail, exit 3), and CI's no-dns check would see `pac-proxy.example` asked.
#[test]
fn a_pacs_host_and_the_proxies_fail_over_tries_are_looked_up_through_doh() {
    let origin = Origin::http();
    let doh = Origin::https();
    let (ca, server) = (pki().ca_arg(), doh_url(&doh));
    // `/pac/pac-proxy` says "PROXY pac-proxy.example:3128; DIRECT": the proxy's name is not
    // in the DoH table, so fail-over moves on to DIRECT.
    let pac = format!("http://doh-a.test:{}/pac/pac-proxy", origin.port);
    let t = toll(["-sS", "--cacert", &ca, "--doh-url", &server, "--pac", &pac, &origin.url("/text")]).run();
    t.assert_ok().assert_stdout(b"hello from the origin\n");
    let asked = crate::doh::asked(&doh);
    assert!(asked.contains(&"doh-a.test A".to_string()), "the PAC's host: {asked:?}");
    assert!(asked.contains(&"pac-proxy.example A".to_string()), "fail-over's proxy: {asked:?}");
    assert_eq!(origin.requests_to("/pac/pac-proxy").len(), 1, "the PAC was fetched");
}

/// An Alt-Svc alternative's host name is looked up through DoH as the origin's is, as curl
/// 7.88 does.
#[test]
fn an_alt_svc_alternative_named_by_a_doh_only_name_is_looked_up_through_doh() {
    let (origin, alt) = (Origin::https(), Origin::https());
    let ca = pki().ca_arg();
    let programs: &[&str] = if std::path::Path::new(CURL).exists() { &["toll", "curl"] } else { &["toll"] };
    for who in programs {
        let doh = Origin::https();
        let dir = crate::run::scratch();
        let cache = dir.path().join("alt-svc.txt");
        std::fs::write(
            &cache,
            format!("h1 localhost {} h1 doh-a.test {} \"20300101 00:00:00\" 0 0\n", origin.port, alt.port),
        )
        .unwrap();
        let path = format!("/alt-svc/doh/{who}");
        let url = format!("https://localhost:{}{path}", origin.port);
        let mut a = args(&["-sS", "--cacert", &ca, "--doh-url", &doh_url(&doh), "--alt-svc"]);
        a.push(cache.display().to_string());
        a.push(url);
        let out = if *who == "toll" { toll(a).run() } else { curl(&a) };
        out.assert_ok();
        assert_eq!(alt.requests_to(&path).len(), 1, "{who} used the alternative: {}", out.describe());
        assert!(origin.requests_to(&path).is_empty(), "{who}");
        let asked = crate::doh::asked(&doh);
        assert!(asked.contains(&"doh-a.test A".to_string()), "{who}: {asked:?}");
    }
}
