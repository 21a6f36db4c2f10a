//! The command line: options, exit codes, output handling. In-process origins and proxies only
//! (runs on a machine with nothing but Rust).

use crate::fakeproxy::{self, FakeProxy};
use crate::origin::Origin;
use crate::run::{scratch, toll};
use crate::tls::pki;
use crate::{pattern_bytes, sha256_hex, TEN_MIB};
use std::net::TcpListener;
use std::time::Duration;

#[test]
fn version_and_help() {
    let out = toll(["--version"]).run();
    out.assert_ok();
    let v = out.stdout_str();
    assert!(v.contains("toll") && v.contains(env!("CARGO_PKG_VERSION")), "{}", out.describe());

    let out = toll(["--help"]).run();
    out.assert_ok();
    let h = out.stdout_str();
    for flag in ["--proxy", "--proxy-user", "--proxy-digest", "--noproxy", "--fail", "--max-time"] {
        assert!(h.contains(flag), "--help lacks {flag}:\n{}", out.describe());
    }
}

#[test]
fn usage_errors_exit_2() {
    for args in [vec!["--no-such-option", "http://127.0.0.1:1/"], vec![]] {
        let out = toll(args).run();
        out.assert_code(2).assert_no_panic();
        assert!(out.stdout.is_empty(), "{}", out.describe());
    }
}

#[test]
fn demo_runs_offline() {
    for args in [vec!["demo"], vec!["demo", "--scheme", "basic"]] {
        let out = toll(args).timeout(Duration::from_secs(30)).run();
        out.assert_ok().assert_no_panic();
    }
}

#[test]
fn direct_binary_download_to_stdout() {
    let origin = Origin::http();
    let out = toll(["-sS", &origin.url("/bytes/1048577")]).exact_stderr().run();
    out.assert_ok().assert_stdout(&pattern_bytes(1_048_577));
    assert!(out.stderr.is_empty(), "-sS on success: nothing on stderr:\n{}", out.describe());
}

#[test]
fn direct_https_needs_the_ca() {
    let origin = Origin::https();
    let url = origin.url("/text");
    toll(["-sS", "--cacert", &pki().ca_arg(), &url])
        .run()
        .assert_ok()
        .assert_stdout(b"hello from the origin\n");
    toll(["-sS", "-k", &url]).run().assert_ok().assert_stdout(b"hello from the origin\n");
    let out = toll(["-sS", &url]).run();
    out.assert_code(60).assert_error_message();
}

#[test]
fn https_through_proxy_with_unknown_ca_is_60() {
    let proxy = FakeProxy::start(fakeproxy::open());
    let origin = Origin::https();
    let out = toll(["-sS", "-x", &proxy.url(), &origin.url("/text")]).run();
    out.assert_code(60).assert_error_message();
}

/// SIGTERM (a supervisor, `timeout`) and SIGHUP (the terminal closed) in the middle of a `-o`
/// download leave nothing behind, as Ctrl-C does, and the process ends by that signal.
#[test]
fn a_download_ended_by_sigterm_or_sighup_leaves_no_partial_file() {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}/big", l.local_addr().unwrap().port());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for mut c in l.incoming().flatten() {
            let _ = c.read(&mut [0u8; 4096]);
            let _ = c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n");
            let _ = c.write_all(&[b'x'; 1000]);
            held.push(c);
        }
    });
    for signal in [libc::SIGTERM, libc::SIGHUP] {
        let dir = scratch();
        let file = dir.path().join("out.bin");
        let running = toll(["-s", "-o", file.to_str().unwrap(), &url]).spawn();
        let started = std::time::Instant::now();
        while std::fs::read_dir(dir.path()).unwrap().count() == 0 {
            if started.elapsed() > std::time::Duration::from_secs(10) {
                unsafe { libc::kill(running.pid, libc::SIGKILL) };
                panic!("no part file appeared: {}", running.wait().describe());
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        // SAFETY: kill(2) on the toll we started.
        unsafe { libc::kill(running.pid, signal) };
        let out = running.wait();
        assert_eq!(out.signal, Some(signal), "{}", out.describe());
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(left.is_empty(), "signal {signal} left {left:?}");
    }
}

#[test]
fn output_file_and_atomicity() {
    let origin = Origin::http();
    let dir = scratch();
    let file = dir.path().join("out.bin");
    let out = toll(["-sS", "-o", file.to_str().unwrap(), &origin.url("/bytes/300000")]).run();
    out.assert_ok();
    assert!(out.stdout.is_empty(), "-o: nothing on stdout:\n{}", out.describe());
    assert_eq!(std::fs::read(&file).unwrap(), pattern_bytes(300_000));

    // The origin announces 1000 bytes, sends 500 and closes: failure, and no file at all.
    let dir = scratch();
    let file = dir.path().join("partial.bin");
    let out = toll(["-sS", "-o", file.to_str().unwrap(), &origin.url("/truncated")]).run();
    out.assert_no_panic();
    assert!(out.code != Some(0), "a truncated transfer must fail:\n{}", out.describe());
    assert!(!file.exists(), "-o left a partial file:\n{}", out.describe());
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "temporary files left behind: {left:?}");

    // An existing file is not clobbered by a failed transfer.
    std::fs::write(&file, b"previous").unwrap();
    let out = toll(["-sS", "-o", file.to_str().unwrap(), &origin.url("/truncated")]).run();
    assert!(out.code != Some(0));
    assert_eq!(std::fs::read(&file).unwrap(), b"previous");
}

#[test]
fn remote_name() {
    let origin = Origin::http();
    let dir = scratch();
    let out = toll(["-sS", "-O", &origin.url("/bytes/4096")]).cwd(dir.path()).run();
    out.assert_ok();
    assert_eq!(std::fs::read(dir.path().join("4096")).unwrap(), pattern_bytes(4096));
}

#[test]
fn write_error_is_23() {
    let origin = Origin::http();
    let out = toll(["-sS", "-o", "/nonexistent-dir-toll-it/x/out", &origin.url("/text")]).run();
    out.assert_code(23).assert_error_message();
}

#[test]
fn broken_pipe_is_quiet() {
    let origin = Origin::http();
    let out = toll([&origin.url(&format!("/bytes/{TEN_MIB}"))]).run_head(1);
    out.assert_no_panic();
    assert_eq!(out.stdout.len(), 1);
    let e = out.stderr.to_ascii_lowercase();
    assert!(
        !e.contains("broken pipe") && !e.contains("error") && !e.contains("os error 32"),
        "`toll URL | head -c 1` must end quietly:\n{}",
        out.describe()
    );
}

/// `toll serve --print-env` prints what clients need: not with port 0 (no client can use it),
/// and a state directory it cannot write is said as such (not "remove the file").
#[test]
fn print_env_needs_a_real_port_and_a_state_directory() {
    let out = toll(["serve", "--print-env", "--listen", "127.0.0.1:0"]).run();
    out.assert_code(2).assert_error_message();
    assert!(out.stderr.contains("not 0") && out.stdout.is_empty(), "{}", out.describe());
    let home = scratch();
    let file = home.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    // A state directory toll cannot write: the key cannot be kept, a write failure.
    let out = toll(["serve", "--print-env"]).env("XDG_STATE_HOME", file.to_str().unwrap()).run();
    out.assert_code(23).assert_error_message();
    assert!(out.stderr.contains("state directory must be one toll can write"), "{}", out.describe());
    let out = toll(["serve", "--print-env"]).run();
    out.assert_ok();
    assert!(out.stdout_str().contains("export https_proxy='http://toll:"), "{}", out.describe());
}

/// Reports (`serve --print-env`, `auth list`, `pac`) into a pipe nobody reads: quiet, exit 0,
/// as a body; into a full disk: exit 23 with a message. Never a panic.
#[test]
fn reports_into_a_closed_pipe_end_quietly_and_a_full_disk_is_23() {
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::process::{Command, Stdio};
    let home = scratch();
    let pac = home.path().join("p.pac");
    std::fs::write(&pac, "function FindProxyForURL(u, h) { return \"DIRECT\"; }").unwrap();
    let reports: [&[&str]; 3] =
        [&["serve", "--print-env"], &["auth", "list"], &["pac", pac.to_str().unwrap(), "http://a/"]];
    for args in reports {
        let closed = {
            let mut fds = [0; 2];
            // SAFETY: pipe(2) fills two new descriptors, owned here from now on.
            assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
            // SAFETY: both are fresh descriptors of this process; the read end closes at once.
            unsafe {
                drop(OwnedFd::from_raw_fd(fds[0]));
                OwnedFd::from_raw_fd(fds[1])
            }
        };
        let mut cmd = Command::new(crate::run::TOLL);
        cmd.args(args);
        crate::run::isolate(&mut cmd, home.path());
        cmd.env("TOLL_KEYRING", "none").stdin(Stdio::null()).stdout(Stdio::from(closed));
        let out = cmd.output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        assert!(err.is_empty(), "{args:?} must end quietly: {err}");

        let mut cmd = Command::new(crate::run::TOLL);
        cmd.args(args);
        crate::run::isolate(&mut cmd, home.path());
        let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
        cmd.env("TOLL_KEYRING", "none").stdin(Stdio::null()).stdout(Stdio::from(full));
        let out = cmd.output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(23), "{args:?}: {err}");
        assert!(
            err.contains("cannot write to standard output") && !err.contains("panicked"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn include_and_head() {
    let origin = Origin::http();
    let out = toll(["-sS", "-i", &origin.url("/text")]).run();
    out.assert_ok();
    let s = out.stdout_str();
    assert!(s.starts_with("HTTP/1.1 200"), "{}", out.describe());
    assert!(s.to_ascii_lowercase().contains("content-length: 22"), "{}", out.describe());
    assert!(s.ends_with("\r\n\r\nhello from the origin\n") || s.ends_with("\n\nhello from the origin\n"));

    let out = toll(["-sS", "-I", &origin.url("/bytes/5000")]).run();
    out.assert_ok();
    let s = out.stdout_str();
    assert!(s.starts_with("HTTP/1.1 200"), "{}", out.describe());
    assert!(s.to_ascii_lowercase().contains("content-length: 5000"), "{}", out.describe());
    assert!(out.stdout.len() < 1000, "-I printed a body:\n{}", out.describe());
    assert_eq!(origin.requests_to("/bytes/5000")[0].method, "HEAD");
}

#[test]
fn method_headers_agent() {
    let origin = Origin::http();
    let out = toll([
        "-sS",
        "-X",
        "PUT",
        "-H",
        "X-Toll-Test: yes",
        "-A",
        "tolltest/9.9",
        &origin.url("/echo-headers"),
    ])
    .run();
    out.assert_ok();
    let r = &origin.requests_to("/echo-headers")[0];
    assert_eq!(r.method, "PUT");
    assert_eq!(r.header("x-toll-test"), Some("yes"));
    assert_eq!(r.header("user-agent"), Some("tolltest/9.9"));
}

#[test]
fn request_bodies() {
    let origin = Origin::http();
    let dir = scratch();
    let url = origin.url("/upload");
    let expect = |data: &[u8]| format!("{} {}\n", sha256_hex(data), data.len());

    // -d text: POST, form content type.
    let out = toll(["-sS", "-d", "a=b&c=d", &url]).run();
    out.assert_ok();
    assert_eq!(out.stdout_str(), expect(b"a=b&c=d"));
    let r = origin.requests_to("/upload").pop().unwrap();
    assert_eq!(r.method, "POST");
    assert_eq!(r.header("content-type"), Some("application/x-www-form-urlencoded"));

    // -d @file strips CR/LF like curl; --data-binary keeps bytes.
    let file = dir.path().join("lines.txt");
    std::fs::write(&file, b"line1\r\nline2\n").unwrap();
    let at = format!("@{}", file.display());
    toll(["-sS", "-d", &at, &url]).run().assert_ok();
    assert_eq!(origin.requests_to("/upload").last().unwrap().body_len, 10);
    let out = toll(["-sS", "--data-binary", &at, &url]).run();
    out.assert_ok();
    assert_eq!(out.stdout_str(), expect(b"line1\r\nline2\n"));

    // @- reads stdin.
    let data = pattern_bytes(200_000);
    let out = toll(["-sS", "--data-binary", "@-", &url]).stdin(&data).run();
    out.assert_ok();
    assert_eq!(out.stdout_str(), expect(&data));

    // --json: POST with JSON content type and accept.
    let out = toll(["-sS", "--json", "{\"a\":1}", &url]).run();
    out.assert_ok();
    assert_eq!(out.stdout_str(), expect(b"{\"a\":1}"));
    let r = origin.requests_to("/upload").pop().unwrap();
    assert_eq!(r.method, "POST");
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("accept"), Some("application/json"));

    // A missing file: read error 26, nothing sent.
    let before = origin.requests().len();
    let missing = format!("@{}", dir.path().join("missing").display());
    let out = toll(["-sS", "-d", &missing, &url]).run();
    out.assert_code(26).assert_error_message();
    assert_eq!(origin.requests().len(), before, "nothing may be sent");
}

#[test]
fn fail_and_status() {
    let origin = Origin::http();
    let out = toll(["-sS", &origin.url("/status/404")]).run();
    out.assert_ok();
    assert_eq!(out.stdout_str(), "status 404 from the origin\n");
    let out = toll(["-sS", "-f", &origin.url("/status/404")]).run();
    out.assert_code(22);
    assert!(out.stdout.is_empty(), "--fail prints no body:\n{}", out.describe());
    toll(["-sS", "-f", &origin.url("/status/500")]).run().assert_code(22);
    toll(["-sS", "-f", &origin.url("/status/204")]).run().assert_ok();
}

#[test]
fn redirects() {
    let origin = Origin::http();
    let out = toll(["-sS", &origin.url("/chain/3")]).run();
    out.assert_ok();
    assert_eq!(out.stdout_str(), "chain 3\n", "no -L: the 302 itself");
    let out = toll(["-sS", "-L", &origin.url("/chain/3")]).run();
    out.assert_ok().assert_stdout(b"chain done\n");
    let out = toll(["-sS", "-L", "--max-redirs", "2", &origin.url("/chain/5")]).run();
    out.assert_code(47).assert_error_message();
    // Across origins (http → https) with -L.
    let tls = Origin::https();
    let url = origin.url(&format!("/redirect?to={}", crate::pct(&tls.url("/text"))));
    let out = toll(["-sS", "-L", "--cacert", &pki().ca_arg(), &url]).run();
    out.assert_ok().assert_stdout(b"hello from the origin\n");
}

/// `-i -L` shows the head of every response in the chain, then the body, as curl does.
#[test]
fn include_with_location_shows_every_head() {
    let origin = Origin::http();
    let out = toll(["-sS", "-i", "-L", &origin.url("/chain/2")]).run();
    out.assert_ok();
    let text = out.stdout_str();
    let heads: Vec<&str> = text.lines().filter(|l| l.starts_with("HTTP/")).collect();
    assert_eq!(heads.len(), 3, "two redirects and the final answer:\n{}", out.describe());
    assert!(heads[0].contains("302") && heads[1].contains("302") && heads[2].contains("200"), "{heads:?}");
    assert!(text.ends_with("chain done\n"), "{}", out.describe());
}

#[test]
fn max_time_is_28() {
    let origin = Origin::http();
    let out = toll(["-sS", "-m", "1", &origin.url("/hang")]).run();
    out.assert_code(28).assert_error_message().assert_faster_than(Duration::from_secs(6));
    // Through a proxy too.
    let proxy = FakeProxy::start(fakeproxy::open());
    let out = toll(["-sS", "-m", "1", "-x", &proxy.url(), &origin.url("/hang")]).run();
    out.assert_code(28).assert_faster_than(Duration::from_secs(6));
}

#[test]
fn origin_connect_refused_is_7() {
    let out = toll(["-sS", &format!("http://127.0.0.1:{}/", crate::free_port())]).run();
    out.assert_code(7).assert_error_message();
    assert!(out.stderr.lines().count() >= 2, "an error line and a hint line:\n{}", out.describe());
}

#[test]
fn origin_not_resolved_is_6() {
    let out = toll(["-sS", &format!("http://{}/", crate::UNRESOLVABLE)]).run();
    out.assert_code(6).assert_error_message();
}

#[test]
fn proxy_unreachable_is_5() {
    let origin = Origin::https();
    for url in [origin.url("/text"), Origin::http().url("/text")] {
        let proxy = format!("http://127.0.0.1:{}", crate::free_port());
        let out = toll(["-sS", "-x", &proxy, "--cacert", &pki().ca_arg(), &url]).run();
        out.assert_code(5).assert_error_message();
        let out = toll(["-sS", "-x", &format!("http://{}:3128", crate::UNRESOLVABLE), &url]).run();
        out.assert_code(5).assert_error_message();
    }
}

#[test]
fn silent_and_show_error() {
    let url = format!("http://127.0.0.1:{}/", crate::free_port());
    let out = toll(["-s", &url]).exact_stderr().run();
    out.assert_code(7);
    assert!(out.stderr.is_empty(), "-s: no message:\n{}", out.describe());
    let out = toll(["-sS", &url]).run();
    out.assert_code(7).assert_error_message();
}

#[test]
fn proxy_without_scheme_is_http() {
    let proxy = FakeProxy::start(fakeproxy::open());
    let origin = Origin::http();
    let out = toll(["-sS", "-x", &proxy.addr.to_string(), &origin.url("/text")]).run();
    out.assert_ok().assert_stdout(b"hello from the origin\n");
    assert_eq!(proxy.requests().len(), 1, "{}", proxy.summary());
}

#[test]
fn proxy_from_environment() {
    let http = Origin::http();
    let https = Origin::https();
    let ca = pki().ca_arg();

    // http_proxy for http://, https_proxy for https://, ALL_PROXY for both.
    for (var, origin) in [("http_proxy", &http), ("https_proxy", &https), ("ALL_PROXY", &https)] {
        let proxy = FakeProxy::start(fakeproxy::open());
        let out = toll(["-sS", "--cacert", &ca, &origin.url("/text")]).env(var, &proxy.url()).run();
        out.assert_ok().assert_stdout(b"hello from the origin\n");
        assert_eq!(proxy.requests().len(), 1, "{var} not used:\n{}", proxy.summary());
    }

    // NO_PROXY / no_proxy bypass it; --noproxy too; -x overrides the environment.
    for (k, v) in [("NO_PROXY", "127.0.0.1"), ("no_proxy", "localhost,127.0.0.1")] {
        let proxy = FakeProxy::start(fakeproxy::open());
        let out = toll(["-sS", "--cacert", &ca, &https.url("/text")])
            .env("https_proxy", &proxy.url())
            .env(k, v)
            .run();
        out.assert_ok();
        assert!(proxy.requests().is_empty(), "{k}={v} ignored:\n{}", proxy.summary());
    }
    let proxy = FakeProxy::start(fakeproxy::open());
    let out =
        toll(["-sS", "--noproxy", "127.0.0.1", &http.url("/text")]).env("http_proxy", &proxy.url()).run();
    out.assert_ok();
    assert!(proxy.requests().is_empty(), "--noproxy ignored");

    let env_proxy = FakeProxy::start(fakeproxy::open());
    let cli_proxy = FakeProxy::start(fakeproxy::open());
    let out =
        toll(["-sS", "-x", &cli_proxy.url(), &http.url("/text")]).env("http_proxy", &env_proxy.url()).run();
    out.assert_ok();
    assert!(env_proxy.requests().is_empty() && cli_proxy.requests().len() == 1);
}

#[test]
fn proxy_credentials_from_url_env_and_flag() {
    let (user, pass) = crate::squid::BOB;
    let proxy = FakeProxy::start(fakeproxy::basic(user, pass));
    let origin = Origin::https();
    let ca = pki().ca_arg();
    let url = origin.url("/text");
    // Percent-encoded userinfo in the proxy URL.
    let with_userinfo = format!("http://{}:{}@{}", crate::pct(user), crate::pct(pass), proxy.addr);
    toll(["-sS", "-x", &with_userinfo, "--cacert", &ca, &url]).run().assert_ok();
    // TOLL_PROXY_USER + TOLL_PROXY_PASSWORD.
    toll(["-sS", "-x", &proxy.url(), "--cacert", &ca, &url])
        .env("TOLL_PROXY_USER", user)
        .env("TOLL_PROXY_PASSWORD", pass)
        .run()
        .assert_ok();
    // -U splits at the first ':' only.
    toll(["-sS", "-x", &proxy.url(), "-U", &format!("{user}:{pass}"), "--cacert", &ca, &url])
        .run()
        .assert_ok();
    // From https_proxy with userinfo.
    toll(["-sS", "--cacert", &ca, &url]).env("https_proxy", &with_userinfo).run().assert_ok();
    // No credentials: 40, fast.
    let out = toll(["-sS", "-x", &proxy.url(), "--cacert", &ca, &url]).run();
    out.assert_code(40).assert_error_message().assert_faster_than(Duration::from_secs(5));
    let out = toll(["-sS", "--no-prompt", "-x", &proxy.url(), "--cacert", &ca, &url]).run();
    out.assert_code(40);
}

/// A loopback port whose accept queue is full: connects to it hang (SYNs dropped). None if the
/// network stack here does not behave that way.
fn blackhole() -> Option<(TcpListener, Vec<std::net::TcpStream>, u16)> {
    use std::os::fd::AsRawFd;
    let l = TcpListener::bind("127.0.0.1:0").ok()?;
    unsafe {
        libc::listen(l.as_raw_fd(), 0);
    }
    let addr = l.local_addr().ok()?;
    let mut fill = Vec::new();
    for _ in 0..8 {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
            Ok(s) => fill.push(s),
            Err(_) => return Some((l, fill, addr.port())),
        }
    }
    None
}

#[test]
fn connect_timeout() {
    let Some((_l, _fill, port)) = blackhole() else {
        crate::loud("SKIPPED connect_timeout: cannot make a loopback port that drops SYNs here");
        return;
    };
    let out = toll(["-sS", "--connect-timeout", "1", &format!("http://127.0.0.1:{port}/")]).run();
    out.assert_code(28).assert_error_message().assert_faster_than(Duration::from_secs(5));
    // The proxy is the one that does not answer: "proxy unreachable" or "timeout".
    let origin = Origin::http();
    let proxy = format!("http://127.0.0.1:{port}");
    let out = toll(["-sS", "--connect-timeout", "1", "-x", &proxy, &origin.url("/text")]).run();
    assert!(matches!(out.code, Some(5) | Some(28)), "expected exit 5 or 28:\n{}", out.describe());
    out.assert_error_message().assert_faster_than(Duration::from_secs(5));
}

#[test]
fn compressed() {
    let origin = Origin::http();
    let want = crate::origin::GZIP_TEXT.repeat(20);
    let out = toll(["-sS", "--compressed", &origin.url("/gzip")]).run();
    out.assert_ok().assert_stdout(want.as_bytes());
    let r = origin.requests_to("/gzip").pop().unwrap();
    assert!(
        r.header("accept-encoding").is_some_and(|v| v.contains("gzip")),
        "--compressed must ask for gzip: {:?}",
        r.headers
    );
    // Through a proxy too (the relay must pass the encoded body untouched).
    let proxy = FakeProxy::start(fakeproxy::open());
    let out = toll(["-sS", "--compressed", "-x", &proxy.url(), &origin.url("/gzip")]).run();
    out.assert_ok().assert_stdout(want.as_bytes());
}

/// CGI (`REQUEST_METHOD` set): `HTTP_PROXY` may come from a request header (httpoxy) and
/// must not be used.
#[test]
fn httpoxy_is_ignored() {
    let proxy = FakeProxy::start(fakeproxy::open());
    let origin = Origin::http();
    let out = toll(["-sS", &origin.url("/text")])
        .env("REQUEST_METHOD", "GET")
        .env("HTTP_PROXY", &proxy.url())
        .run();
    out.assert_ok().assert_stdout(b"hello from the origin\n");
    assert!(proxy.requests().is_empty(), "HTTP_PROXY used in a CGI environment:\n{}", proxy.summary());
}

/// `-x https://…`: TLS to the proxy, verified with --proxy-cacert (not --cacert), or not at all
/// with --proxy-insecure, and its key pinned with --proxy-pinnedpubkey; Basic over it.
#[test]
fn https_proxy() {
    use crate::fakeproxy::TlsFakeProxy;
    let (user, pass) = ("alice", "s3cret");
    let proxy = TlsFakeProxy::start(fakeproxy::basic(user, pass));
    let ca = pki().ca_arg();
    let creds = format!("{user}:{pass}");
    for origin in [Origin::http(), Origin::https()] {
        let url = origin.url("/bytes/3333");
        let out =
            toll(["-sS", "-x", &proxy.url(), "--proxy-cacert", &ca, "-U", &creds, "--cacert", &ca, &url])
                .run();
        out.assert_ok().assert_stdout(&pattern_bytes(3333));
        let out =
            toll(["-sS", "-x", &proxy.url(), "--proxy-insecure", "-U", &creds, "--cacert", &ca, &url]).run();
        out.assert_ok().assert_stdout(&pattern_bytes(3333));
        // --cacert is for the origin only: the proxy's certificate is not trusted without
        // --proxy-cacert, and that is a failure to reach the proxy.
        let out = toll(["-sS", "-x", &proxy.url(), "-U", &creds, "--cacert", &ca, &url]).run();
        out.assert_code(5).assert_error_message();
        // --proxy-pinnedpubkey: the proxy's key, as a digest or a key file, with or without the
        // certificate check; a wrong one is exit 90 (curl's), and nothing reaches the proxy.
        let pin = &pki().server_key_pin;
        let dir = crate::run::scratch();
        let key_file = dir.path().join("proxy-key.pem");
        std::fs::write(&key_file, &pki().server_key_pem).unwrap();
        let key_file = key_file.display().to_string();
        let proxy_url = proxy.url();
        for (check, pinned) in [("--proxy-cacert", pin.as_str()), ("--proxy-insecure", key_file.as_str())] {
            let mut args = vec!["-sS", "-x", proxy_url.as_str(), check];
            if check == "--proxy-cacert" {
                args.push(&ca);
            }
            let ok: Vec<&str> = args
                .iter()
                .copied()
                .chain(["--proxy-pinnedpubkey", pinned, "-U", &creds, "--cacert", &ca, &url])
                .collect();
            toll(ok).run().assert_ok().assert_stdout(&pattern_bytes(3333));
            let before = proxy.inner.requests().len();
            let wrong = "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
            let bad: Vec<&str> = args
                .iter()
                .copied()
                .chain(["--proxy-pinnedpubkey", wrong, "-U", &creds, "--cacert", &ca, &url])
                .collect();
            let out = toll(bad).run();
            out.assert_code(90).assert_error_message();
            assert!(out.stderr.contains("--proxy-pinnedpubkey"), "{}", out.describe());
            assert_eq!(proxy.inner.requests().len(), before, "nothing was sent to a proxy with another key");
        }
        // --pinnedpubkey is the origin's: the proxy's key does not have to match it.
        let out = toll([
            "-sS",
            "-x",
            &proxy.url(),
            "--proxy-cacert",
            &ca,
            "-U",
            &creds,
            "--cacert",
            &ca,
            "--pinnedpubkey",
            pin,
            &url,
        ])
        .run();
        out.assert_ok();
    }
    assert!(
        proxy.inner.requests().iter().any(|r| r.basic_credentials().is_some()),
        "{}",
        proxy.inner.summary()
    );
}

/// `toll auth` without a subcommand: its help on stderr, exit 2 (review E: squeezed into one
/// error line, cut mid-word).
#[test]
fn auth_alone_shows_its_help() {
    let out = toll(["auth"]).run();
    out.assert_code(2);
    assert!(out.stderr.contains("Commands:\n") && out.stderr.contains("  login "), "{}", out.describe());
    assert!(out.stdout.is_empty());
}
