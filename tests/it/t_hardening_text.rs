//! Hardening of what toll prints and parses (issue 9, text items): passwords in origin URLs
//! never printed, non-ASCII realms, non-UTF-8 proxy variables, ambiguous proxy URLs, clap errors
//! that would echo secrets, header values with CR/LF, the `-U` password hidden from
//! /proc/PID/cmdline.

use crate::fakeproxy::{self, FakeProxy};
use crate::origin::Origin;
use crate::run::toll;

const SECRET: &str = "s3cretPw";

/// `http://user:SECRET@host:port/path` on `origin`.
fn url_with_password(origin: &Origin, path: &str) -> String {
    format!("http://user:{SECRET}@{}{path}", origin.authority())
}

#[test]
fn origin_url_password_is_not_shown_by_verbose() {
    let origin = Origin::http();
    let out = toll(["-v", "-sS", &url_with_password(&origin, "/text")]).run();
    out.assert_ok().assert_not_leaked("the origin URL's password", SECRET);
    assert!(out.stderr.contains("user:***@"), "the URL is shown, masked:\n{}", out.describe());

    // Through a proxy too ("goes through proxy", the request line).
    let proxy = FakeProxy::start(fakeproxy::open());
    let out = toll(["-v", "-sS", "-x", &proxy.url(), &url_with_password(&origin, "/text")]).run();
    out.assert_ok().assert_not_leaked("the origin URL's password", SECRET);
}

#[test]
fn origin_url_password_is_not_in_the_redirect_limit_error() {
    let origin = Origin::http();
    let url = url_with_password(&origin, "/redirect?to=/text");
    let out = toll(["-sS", "-L", "--max-redirs", "0", &url]).run();
    out.assert_code(47).assert_error_message().assert_not_leaked("the origin URL's password", SECRET);
    let out = toll(["-v", "-sS", "-L", &url]).run();
    out.assert_ok().assert_not_leaked("the origin URL's password", SECRET);
    assert!(out.stderr.contains("following the redirect"), "{}", out.describe());
}

/// A Basic proxy whose 407 carries `realm` as raw bytes (UTF-8 or ISO-8859-1), allowing
/// `alice:pw`.
fn basic_proxy_with_raw_realm(realm: &'static [u8]) -> FakeProxy {
    FakeProxy::start(move |req: &fakeproxy::ProxyRequest| match req.basic_credentials() {
        Some((u, p)) if u == "alice" && p == "pw" => fakeproxy::Action::Allow,
        _ => {
            let mut bytes =
                b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"".to_vec();
            bytes.extend_from_slice(realm);
            bytes.extend_from_slice(b"\"\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n");
            fakeproxy::Action::Raw { bytes, close: false }
        }
    })
}

#[test]
fn basic_with_a_non_ascii_realm_works_in_utf8_and_latin1() {
    let origin = Origin::http();
    for (what, realm) in [
        ("UTF-8", "Proxy für Mitarbeiter".as_bytes()),
        ("ISO-8859-1", b"Proxy f\xfcr Mitarbeiter".as_slice()),
    ] {
        let proxy = basic_proxy_with_raw_realm(realm);
        let out = toll(["-sS", "-v", "-x", &proxy.url(), "-U", "alice:pw", &origin.url("/text")]).run();
        out.assert_ok();
        assert!(
            out.stderr.contains("realm=\"Proxy für Mitarbeiter\""),
            "{what}: -v shows the realm decoded:\n{}",
            out.describe()
        );
        assert!(
            proxy.requests().iter().any(|r| r.basic_credentials() == Some(("alice".into(), "pw".into()))),
            "{what}: the proxy got the credentials:\n{}",
            proxy.summary()
        );
    }
}

/// Runs toll isolated (as `run::toll`) with one environment variable set to raw bytes.
fn run_with_raw_env(args: &[&str], name: &str, value: &[u8]) -> (Option<i32>, String) {
    use std::os::unix::ffi::OsStrExt;
    let home = tempfile::tempdir().expect("tempdir");
    let mut cmd = std::process::Command::new(crate::run::TOLL);
    cmd.args(args);
    crate::run::isolate(&mut cmd, home.path());
    cmd.env(name, std::ffi::OsStr::from_bytes(value)).stdin(std::process::Stdio::null());
    let out = cmd.output().expect("run toll");
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn a_proxy_variable_that_is_not_utf8_fails_closed() {
    let origin = Origin::http();
    for name in ["http_proxy", "HTTP_PROXY", "all_proxy", "no_proxy"] {
        let (code, stderr) =
            run_with_raw_env(&["-sS", &origin.url("/text")], name, b"http://127.0.0.1:9/\xff");
        assert_eq!(code, Some(2), "{name}: expected a usage error, got {code:?}: {stderr}");
        assert!(stderr.contains(name) && stderr.contains("UTF-8"), "{name} is named: {stderr}");
    }
    assert!(origin.requests().is_empty(), "nothing went direct to the origin");
}

#[test]
fn an_at_sign_in_the_proxy_path_does_not_move_the_host() {
    let origin = Origin::http();
    // Before the fix, toll sent u:pw to this proxy although -x names 127.0.0.1:1.
    let decoy = FakeProxy::start(fakeproxy::open());
    let x = format!("http://u:{SECRET}@127.0.0.1:1/p@{}", decoy.addr);
    let out = toll(["-sS", "-x", &x, &origin.url("/text")]).run();
    out.assert_code(2).assert_error_message().assert_not_leaked("the proxy password", SECRET);
    assert!(out.stderr.contains("%40"), "the error says how to write it:\n{}", out.describe());
    assert_eq!(decoy.connections(), 0, "the decoy was contacted:\n{}", decoy.summary());
    // The same in https_proxy.
    let out = toll(["-sS", &origin.url("/text").replace("http:", "https:")]).env("https_proxy", &x).run();
    out.assert_code(2).assert_error_message().assert_not_leaked("the proxy password", SECRET);
    assert_eq!(decoy.connections(), 0, "the decoy was contacted:\n{}", decoy.summary());
}

#[test]
fn command_line_errors_do_not_echo_secret_values() {
    for (what, args) in [
        ("-U with a line break", vec!["-U".to_string(), format!("alice:{SECRET}\nx")]),
        ("--proxy-user= with a CR", vec![format!("--proxy-user=alice:{SECRET}\r")]),
        ("-H with a line break", vec!["-H".into(), format!("Authorization: Bearer {SECRET}\nX-Evil: 1")]),
        ("-H with a control character", vec!["-H".into(), format!("Authorization: Bearer {SECRET}\x01")]),
        ("-H without ':'", vec!["-H".into(), format!("Authorization Bearer {SECRET};")]),
    ] {
        let mut all = args.clone();
        all.push("http://127.0.0.1:9/".into());
        let out = toll(all).run();
        out.assert_code(2).assert_no_panic().assert_not_leaked(what, SECRET);
        assert!(
            out.stderr.contains("error: invalid value for '--"),
            "{what}: names the option:\n{}",
            out.describe()
        );
    }
}

#[test]
fn header_values_with_control_characters_are_usage_errors() {
    for args in [["-A", "bot/1\r\nX-Injected: 1"], ["-A", "bot\x7f"], ["-H", "X-A: a\x7fb"]] {
        let out = toll([args[0], args[1], "http://127.0.0.1:9/"]).run();
        out.assert_code(2).assert_no_panic();
        assert!(out.stderr.contains("control character"), "a clear message:\n{}", out.describe());
        assert!(!out.stderr.contains("X-Injected"), "the value is not echoed raw:\n{}", out.describe());
    }
}

/// Starts toll (isolated, as `run::toll`) with `args` against a proxy that holds the request
/// without answering, and returns what /proc/PID/cmdline shows while it waits.
fn cmdline_while_waiting(args: &[&str], proxy: &FakeProxy) -> String {
    use std::time::{Duration, Instant};
    let home = tempfile::tempdir().expect("tempdir");
    let mut cmd = std::process::Command::new(crate::run::TOLL);
    cmd.args(args);
    crate::run::isolate(&mut cmd, home.path());
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().expect("start toll");
    let started = Instant::now();
    while proxy.requests().is_empty() && started.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", child.id())).unwrap_or_default();
    let _ = child.kill();
    let _ = child.wait();
    assert!(!proxy.requests().is_empty(), "toll never reached the proxy");
    String::from_utf8_lossy(&cmdline).replace('\0', " ")
}

#[test]
fn command_line_passwords_are_hidden_from_proc_cmdline() {
    if !cfg!(all(target_os = "linux", target_env = "gnu")) {
        crate::skip("SKIPPED command_line_passwords_are_hidden_from_proc_cmdline: Linux with glibc only");
        return;
    }
    let stall = || {
        FakeProxy::start(|_: &fakeproxy::ProxyRequest| {
            std::thread::sleep(std::time::Duration::from_secs(10));
            fakeproxy::Action::Close
        })
    };
    let url = "http://127.0.0.1:9/";
    let user_pw = format!("alice:{SECRET}");
    // A client certificate and key for --proxy-cert, which is read before the proxy is reached.
    let dir = tempfile::tempdir().expect("tempdir");
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["client".to_string()]).unwrap().self_signed(&key).unwrap();
    let pem = dir.path().join("client.pem");
    std::fs::write(&pem, format!("{}{}", cert.pem(), key.serialize_pem())).unwrap();
    let pem = pem.display().to_string();
    for what in [
        "-U user:pw",
        "-sUuser:pw",
        "--proxy-user=",
        "-x with a password",
        "--proxy1.0 with a password",
        "-u user:pw",
        "--oauth2-bearer",
        "--pass",
        "-E cert:pw",
        "--proxy-cert=cert:pw",
        "--proxy-pass",
        "--expand-proxy-user",
        "--expand-oauth2-bearer=",
    ] {
        let proxy = stall();
        let x = || ["-x".to_string(), proxy.url()];
        let with = |more: &[String]| [&x()[..], more, &[url.to_string()]].concat();
        let args: Vec<String> = match what {
            "--proxy1.0 with a password" => {
                vec!["--proxy1.0".into(), format!("bob:{SECRET}@{}", proxy.addr), url.into()]
            }
            "-U user:pw" => with(&["-U".into(), user_pw.clone()]),
            "-sUuser:pw" => with(&[format!("-sU{user_pw}")]),
            "--proxy-user=" => with(&[format!("--proxy-user={user_pw}")]),
            "-u user:pw" => with(&["-u".into(), user_pw.clone()]),
            "--oauth2-bearer" => with(&["--oauth2-bearer".into(), SECRET.into()]),
            "--pass" => with(&["--pass".into(), SECRET.into()]),
            "-E cert:pw" => with(&["-E".into(), format!("/nonexistent/c.pem:{SECRET}")]),
            "--proxy-cert=cert:pw" => with(&[format!("--proxy-cert={pem}:{SECRET}")]),
            "--proxy-pass" => with(&["--proxy-pass".into(), SECRET.into()]),
            // curl 8's --expand- form of the option, the secret typed as it is.
            "--expand-proxy-user" => with(&["--expand-proxy-user".into(), user_pw.clone()]),
            "--expand-oauth2-bearer=" => with(&[format!("--expand-oauth2-bearer={SECRET}")]),
            "-x with a password" => {
                vec!["-x".into(), format!("http://bob:{SECRET}@{}", proxy.addr), url.into()]
            }
            other => unreachable!("{other}"),
        };
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let shown = cmdline_while_waiting(&args, &proxy);
        assert!(!shown.contains(SECRET), "{what}: /proc/PID/cmdline shows the secret: {shown}");
        assert!(shown.contains("********"), "{what}: the secret is masked in place: {shown}");
    }
    // Only the option's own argument is masked: a URL that ends like the passphrase is not.
    let proxy = stall();
    let ending = format!("http://127.0.0.1:9/{SECRET}");
    let shown = cmdline_while_waiting(&["-x", &proxy.url(), "--pass", SECRET, &ending], &proxy);
    assert!(shown.contains(&ending) && shown.contains("--pass ******** "), "{shown}");
}

#[test]
fn the_command_line_password_note_survives_silent_on_a_terminal() {
    let origin = Origin::http();
    let proxy = FakeProxy::start(fakeproxy::open());
    let args = ["-s", "-x", &proxy.url(), "-U", "alice:pw", &origin.url("/text")];
    let out = toll(args).env("TOLL_TERMINAL", "force").run();
    out.assert_ok();
    assert_eq!(out.stderr.matches("visible to other local users").count(), 1, "{}", out.describe());
    // Without a terminal, -s keeps stderr empty for scripts.
    let out = toll(args).run();
    out.assert_ok();
    assert!(out.stderr.is_empty(), "{}", out.describe());
}

#[test]
fn doctor_reads_a_latin1_realm_as_the_relay_does() {
    let origin = Origin::http();
    let proxy = basic_proxy_with_raw_realm(b"Proxy f\xfcr Mitarbeiter");
    let url = origin.url("/text");
    let args = ["doctor", "--report", "-x", &proxy.url(), "-U", "alice:pw", "--verify-url", &url, &url];
    let out = toll(args).run();
    out.assert_ok();
    let report = out.stdout_str();
    assert!(report.contains("realm=\"Proxy für Mitarbeiter\""), "the realm, decoded:\n{report}");
    assert!(!report.contains('\u{fffd}'), "no replacement character:\n{report}");
}

/// A body with a NUL byte in its first 2000 bytes is not printed to a terminal (what a server
/// sends there can be any escape sequence), as curl refuses it: exit 23 with a hint; `-o -`
/// prints it anyway; a pipe gets it whatever it holds.
#[test]
fn binary_output_is_not_printed_to_a_terminal() {
    use crate::pty::{self, Pty};
    let origin = Origin::http();
    let home = tempfile::tempdir().unwrap();
    let binary = origin.url("/bytes/3000");
    assert!(crate::pattern_bytes(3000)[..2000].contains(&0), "the body holds a NUL early");
    let out = Pty::spawn_printing(pty::command([binary.as_str()], home.path(), &[])).wait();
    assert_eq!(out.code, Some(23), "{}", out.describe());
    assert!(out.stderr.contains("binary") && out.stderr.contains("-o -"), "{}", out.describe());
    assert!(!out.screen.contains('\0'), "{}", out.describe());
    let silent = Pty::spawn_printing(pty::command(["-s", binary.as_str()], home.path(), &[])).wait();
    assert_eq!(silent.code, Some(23), "{}", silent.describe());
    assert!(silent.stderr.is_empty(), "-s: no message, as curl\n{}", silent.describe());
    let anyway = Pty::spawn_printing(pty::command(["-o", "-", binary.as_str()], home.path(), &[])).wait();
    assert_eq!(anyway.code, Some(0), "{}", anyway.describe());
    assert!(anyway.screen.len() >= 3000, "{}", anyway.describe());
    let text = Pty::spawn_printing(pty::command([origin.url("/text").as_str()], home.path(), &[])).wait();
    assert_eq!(text.code, Some(0), "{}", text.describe());
    assert!(text.screen.contains("hello from the origin"), "{}", text.describe());
    let piped = toll(["-s", binary.as_str()]).run();
    piped.assert_code(0);
    assert_eq!(piped.stdout.len(), 3000);
}

/// An origin that answers every request with `head` and `ok\n`, then closes.
fn raw_origin(head: &'static [u8]) -> String {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}/x", l.local_addr().unwrap().port());
    std::thread::spawn(move || {
        for mut c in l.incoming().take(16).flatten() {
            let mut got = Vec::new();
            let mut buf = [0u8; 4096];
            while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                match c.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
            }
            let _ = c.write_all(head).and_then(|_| c.write_all(b"ok\n"));
        }
    });
    url
}

/// A reason phrase and header fields with escape sequences (an OSC that sets the title, CSI
/// spelt as ESC [ and as the C1 byte, a bidi override) never reach a terminal raw through `-i`,
/// `-D -` or `-w`'s values — the format's own text stays as written —, and reach a pipe as
/// received, as curl writes them.
#[test]
fn a_servers_head_reaches_a_terminal_escaped() {
    use crate::pty::{self, Pty};
    const HEAD: &[u8] = b"HTTP/1.1 200 Nope\xc2\x9b2J\r\nX-Osc: a\x1b]0;T\x07\x1b[2J\r\n\
        X-Csi: b\x9b[2J\xe2\x80\xaeZ\r\nContent-Length: 3\r\nConnection: close\r\n\r\n";
    let url = raw_origin(HEAD);
    let home = tempfile::tempdir().unwrap();
    for args in [vec!["-si"], vec!["-s", "-D", "-", "-o", "/dev/null"]] {
        let args: Vec<&str> = args.into_iter().chain([url.as_str()]).collect();
        let out = Pty::spawn_printing(pty::command(&args, home.path(), &[])).wait();
        assert_eq!(out.code, Some(0), "{args:?}: {}", out.describe());
        let s = &out.screen;
        assert!(!s.contains(['\u{1b}', '\u{9b}', '\u{202e}']), "{args:?}: {}", out.describe());
        // hyper keeps the field with bytes that are not text; the others it drops.
        assert!(s.contains("X-Csi: b\\x9b[2J\\u{202e}Z"), "{args:?}: {}", out.describe());
    }
    let format = "\x1b[1m%header{x-csi}\x1b[0m";
    let out =
        Pty::spawn_printing(pty::command(["-s", "-o", "/dev/null", "-w", format, &url], home.path(), &[]))
            .wait();
    let s = &out.screen;
    assert!(s.contains("\x1b[1mb") && s.contains("[2J\\u{202e}Z\x1b[0m"), "{}", out.describe());
    assert!(!s.contains(['\u{9b}', '\u{202e}']), "{}", out.describe());

    let piped = toll(["-si", &url]).run();
    piped.assert_code(0);
    let raw: &[u8] = b"X-Csi: b\x9b[2J\xe2\x80\xaeZ\r\n";
    assert!(piped.stdout.windows(raw.len()).any(|w| w == raw), "a pipe gets the field as received");
}
