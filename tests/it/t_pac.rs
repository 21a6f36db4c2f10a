//! `toll pac PAC URL`: files, `file://` and origin-served PACs, what the PAC is given, errors and
//! their exit code. The PACs here resolve no name but `localhost` (plain hosts, `.corp` and IP
//! literals are answered without DNS).

use crate::origin::Origin;
use crate::run::{scratch, toll};
use crate::tls::pki;

const PAC_EXIT: i32 = 3;

/// A PAC that returns what it was given, as `PROXY` entries a test can read back.
const ECHO: &str = "function FindProxyForURL(url, host) {\n  alert('url=' + url);\n  if (url.indexOf('secret') >= 0) return 'PROXY saw-path:1';\n  if (url.indexOf('alice') >= 0 || url.indexOf('#') >= 0) return 'PROXY saw-userinfo-or-fragment:1';\n  return 'PROXY ' + (host.indexOf(':') >= 0 ? '[' + host + ']' : host) + ':1';\n}\n";

fn write(dir: &std::path::Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

#[test]
fn prints_exactly_what_the_pac_returned() {
    let dir = scratch();
    let pac = write(
        dir.path(),
        "p.pac",
        "function FindProxyForURL(u, h) { return 'PROXY a.corp:8080;  SOCKS5 b:1080 ;DIRECT'; }",
    );
    let out = toll(["pac", &pac, "http://intranet/"]).run();
    out.assert_ok().assert_stdout(b"PROXY a.corp:8080;  SOCKS5 b:1080 ;DIRECT\n");
    assert!(out.stderr.is_empty(), "{}", out.describe());
    let url = format!("file://{pac}");
    toll(["pac", &url, "intranet"])
        .run()
        .assert_ok()
        .assert_stdout(b"PROXY a.corp:8080;  SOCKS5 b:1080 ;DIRECT\n");
}

#[test]
fn the_url_as_given_less_userinfo_and_fragment_and_the_host_as_browsers_pass_it() {
    let dir = scratch();
    let pac = write(dir.path(), "echo.pac", ECHO);
    // As given: the https path is there (so the PAC sees "secret").
    toll(["pac", &pac, "https://alice:pw@Example.CORP/secret?q#frag"])
        .run()
        .assert_ok()
        .assert_stdout(b"PROXY saw-path:1\n");
    // --transfer: only https://host/ (and never the user info or fragment).
    toll(["pac", &pac, "https://alice:pw@Example.CORP/secret?q#frag", "--transfer"])
        .run()
        .assert_ok()
        .assert_stdout(b"PROXY example.corp:1\n");
    toll(["pac", &pac, "http://alice:pw@10.0.0.1:8080/a#frag"])
        .run()
        .assert_ok()
        .assert_stdout(b"PROXY 10.0.0.1:1\n");
    toll(["pac", &pac, "http://[2001:DB8::1]:8080/"])
        .run()
        .assert_ok()
        .assert_stdout(b"PROXY [2001:db8::1]:1\n");
}

#[test]
fn verbose_shows_alerts_arguments_entries_and_timings() {
    let dir = scratch();
    let pac = write(dir.path(), "echo.pac", ECHO);
    let out = toll(["pac", "-v", &pac, "https://host.corp/x", "--transfer"]).run();
    out.assert_ok().assert_stdout(b"PROXY host.corp:1\n");
    for needle in [
        "* alert: url=https://host.corp/",
        "* calling FindProxyForURL(\"https://host.corp/\", \"host.corp\")",
        "*   1. http://host.corp:1",
        "* evaluated in ",
        "* compiled and ran the top level in ",
    ] {
        assert!(out.stderr.contains(needle), "no {needle:?}:\n{}", out.describe());
    }
}

#[test]
fn alert_output_is_sanitised() {
    let dir = scratch();
    let pac = write(
        dir.path(),
        "esc.pac",
        "alert('\\u001b]0;pwned\\u0007\\u001b[2J'); function FindProxyForURL(u, h) { return 'DIRECT'; }",
    );
    let out = toll(["pac", "-v", &pac, "http://x/"]).run();
    out.assert_ok();
    assert!(!out.stderr.contains('\u{1b}') && !out.stderr.contains('\u{7}'), "{}", out.describe());
}

#[test]
fn pac_errors_exit_3_naming_the_pac_and_the_line() {
    let dir = scratch();
    let cases = [
        (
            "syntax.pac",
            "function FindProxyForURL(u, h) {\n  return 'DIRECT' +;\n}\n",
            "syntax.pac, line 2: SyntaxError",
        ),
        (
            "throws.pac",
            "function FindProxyForURL(u, h) {\n\n  throw new Error('boom');\n}\n",
            "throws.pac, line 3: Error: boom",
        ),
        ("number.pac", "function FindProxyForURL(u, h) { return 42; }", "returned the number 42"),
        ("keyword.pac", "function FindProxyForURL(u, h) { return 'PROXI a:1'; }", "unknown keyword"),
        ("misspelled.pac", "function FindProxyForUrl(u, h) { return 'DIRECT'; }", "\"FindProxyForUrl\""),
        ("empty.pac", "", "defines no function FindProxyForURL"),
    ];
    for (name, text, needle) in cases {
        let pac = write(dir.path(), name, text);
        let out = toll(["pac", &pac, "http://x/"]).run();
        out.assert_code(PAC_EXIT).assert_error_message();
        assert!(out.stdout.is_empty() && out.stderr.contains(needle), "no {needle:?}:\n{}", out.describe());
    }
    let out = toll(["pac", &dir.path().join("missing.pac").display().to_string(), "http://x/"]).run();
    out.assert_code(PAC_EXIT).assert_error_message();
    assert!(out.stderr.contains("cannot read the PAC"), "{}", out.describe());
}

#[test]
fn an_endless_pac_is_stopped() {
    let dir = scratch();
    let pac = write(
        dir.path(),
        "loop.pac",
        "function FindProxyForURL(u, h) { for (;;) { try { for (;;) {} } catch (e) {} } }",
    );
    let out = toll(["pac", &pac, "http://x/"]).run();
    out.assert_code(PAC_EXIT).assert_error_message();
    assert!(out.stderr.contains("ran longer than 5000 ms"), "{}", out.describe());
    assert!(out.elapsed < std::time::Duration::from_secs(10), "{}", out.describe());
}

#[test]
fn a_bad_url_is_a_usage_error() {
    let dir = scratch();
    let pac = write(dir.path(), "p.pac", "function FindProxyForURL(u, h) { return 'DIRECT'; }");
    toll(["pac", &pac, "http://[::1/"]).run().assert_code(2).assert_error_message();
}

#[test]
fn pacs_served_over_http_and_https() {
    let origin = Origin::http();
    let out = toll(["pac", "-v", &origin.url("/pac-script/corp"), "http://www.example.org/"]).run();
    out.assert_ok().assert_stdout(b"PROXY proxy-a.corp:8080; PROXY proxy-b.corp:8080; DIRECT\n");
    assert!(out.stderr.contains("* alert: asked for http://www.example.org/"), "{}", out.describe());
    toll(["pac", &origin.url("/pac-script/corp"), "http://localhost:8080/"])
        .run()
        .assert_ok()
        .assert_stdout(b"DIRECT\n");
    assert_eq!(origin.requests_to("/pac-script/corp").len(), 2);

    let tls = Origin::https();
    let ca = pki().ca_arg();
    toll(["pac", "--cacert", &ca, &tls.url("/pac-script/corp"), "wiki"])
        .run()
        .assert_ok()
        .assert_stdout(b"DIRECT\n");
    // The test CA is not trusted without --cacert.
    toll(["pac", &tls.url("/pac-script/corp"), "wiki"]).run().assert_code(PAC_EXIT).assert_error_message();
}

#[test]
fn served_pac_errors_name_the_url_without_credentials() {
    let origin = Origin::http();
    let url = origin.url("/pac-script/broken").replace("http://", "http://alice:s3cret@");
    let out = toll(["pac", &url, "http://x/"]).run();
    out.assert_code(PAC_EXIT).assert_error_message();
    assert!(
        out.stderr.contains(&format!("PAC {}, line 2", origin.url("/pac-script/broken"))),
        "{}",
        out.describe()
    );
    assert!(!out.stderr.contains("s3cret"), "{}", out.describe());

    let out = toll(["pac", &origin.url("/pac-script/nope"), "http://x/"]).run();
    out.assert_code(PAC_EXIT).assert_error_message();
    assert!(out.stderr.contains("HTTP status 404"), "{}", out.describe());

    let dead = format!("http://127.0.0.1:{}/proxy.pac", crate::free_port());
    let out = toll(["pac", &dead, "http://x/"]).run();
    out.assert_code(PAC_EXIT).assert_error_message();
    assert!(out.stderr.contains("cannot fetch the PAC"), "{}", out.describe());
}

#[test]
fn the_pac_is_fetched_directly_even_with_proxy_variables_set() {
    let origin = Origin::http();
    let dead_proxy = format!("http://127.0.0.1:{}", crate::free_port());
    toll(["pac", &origin.url("/pac-script/corp"), "wiki"])
        .env("http_proxy", &dead_proxy)
        .env("all_proxy", &dead_proxy)
        .run()
        .assert_ok()
        .assert_stdout(b"DIRECT\n");
}
