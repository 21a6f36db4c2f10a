//! `toll serve` in front of a real SOCKS5 proxy (Debian's `microsocks`, with a user name and
//! password): curl's http and https requests and wget's (which cannot speak SOCKS at all) reach
//! the origin through it, with names resolved by the proxy (`socks5h`) or here (`socks5`). A
//! wrong password is sent once for all clients — a tap between toll serve and microsocks reads
//! what goes to the proxy — and every client gets a 502 that says what happened, never a 407.
//! And toll's own transfers through the same proxy, named by `-x` or curl's older `--socks5`
//! and `--socks5-hostname`.

use crate::origin::Origin;
use crate::t_serve::{run, Serve, CURL, WGET};
use crate::tls::pki;
use crate::{contains_bytes, free_port, have, pattern_bytes};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub(crate) const MICROSOCKS: &str = "/usr/bin/microsocks";
pub(crate) const USER: &str = "alice";
pub(crate) const PASSWORD: &str = "socks-secret-4711";

/// microsocks on a loopback port, wanting [`USER`] and [`PASSWORD`]; killed on drop.
pub(crate) struct Microsocks {
    child: Child,
    pub(crate) port: u16,
}

impl Microsocks {
    pub(crate) fn start() -> Microsocks {
        Microsocks::start_with(&["-u", USER, "-P", PASSWORD])
    }

    /// With these options besides the address (none: no authentication).
    pub(crate) fn start_with(options: &[&str]) -> Microsocks {
        let port = free_port();
        let child = Command::new(MICROSOCKS)
            .args(["-i", "127.0.0.1", "-p", &port.to_string()])
            .args(options)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start microsocks");
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "microsocks did not listen on {port}");
            std::thread::sleep(Duration::from_millis(20));
        }
        Microsocks { child, port }
    }
}

impl Drop for Microsocks {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What one connection through the [`Tap`] sent towards the proxy.
type Sent = Arc<Mutex<Vec<u8>>>;

/// A TCP relay in front of `backend` that keeps what each connection sent towards it.
pub(crate) struct Tap {
    pub(crate) port: u16,
    sent: Arc<Mutex<Vec<Sent>>>,
}

impl Tap {
    pub(crate) fn start(backend: u16) -> Tap {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let sent: Arc<Mutex<Vec<Sent>>> = Arc::default();
        let all = sent.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().map_while(Result::ok) {
                let Ok(server) = TcpStream::connect(("127.0.0.1", backend)) else { continue };
                let seen: Sent = Arc::default();
                all.lock().unwrap().push(seen.clone());
                let (mut c_in, mut s_out) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || {
                    let mut buf = [0u8; 16384];
                    while let Ok(n @ 1..) = c_in.read(&mut buf) {
                        seen.lock().unwrap().extend_from_slice(&buf[..n]);
                        if s_out.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = s_out.shutdown(std::net::Shutdown::Write);
                });
                let (mut s_in, mut c_out) = (server, client);
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut s_in, &mut c_out);
                    let _ = c_out.shutdown(std::net::Shutdown::Write);
                });
            }
        });
        Tap { port, sent }
    }

    /// Connections whose bytes towards the proxy hold `needle`.
    pub(crate) fn carrying(&self, needle: &[u8]) -> usize {
        self.sent.lock().unwrap().iter().filter(|c| contains_bytes(&c.lock().unwrap(), needle)).count()
    }

    pub(crate) fn connections(&self) -> usize {
        self.sent.lock().unwrap().len()
    }
}

fn available(test: &str) -> bool {
    have(test, &[MICROSOCKS], "microsocks") && have(test, &[CURL, WGET], "curl wget")
}

#[test]
fn curl_and_wget_reach_http_and_https_origins_through_serve_and_a_socks5_proxy() {
    let test = "curl_and_wget_reach_http_and_https_origins_through_serve_and_a_socks5_proxy";
    if !available(test) {
        return;
    }
    let socks = Microsocks::start();
    let (http, https) = (Origin::http(), Origin::https());
    let ca = pki().ca_arg();
    let want = pattern_bytes(100_000);
    let creds = format!("{USER}:{PASSWORD}");
    // The proxy resolves `localhost` (socks5h), or toll serve does (socks5); or a PAC says
    // `SOCKS5 host:port`, as a browser's would.
    let dir = tempfile::tempdir().unwrap();
    let pac = dir.path().join("proxy.pac");
    let pac_answer = format!("SOCKS5 127.0.0.1:{}", socks.port);
    std::fs::write(&pac, format!("function FindProxyForURL(url, host) {{ return \"{pac_answer}\"; }}\n"))
        .unwrap();
    let pac = pac.to_str().unwrap();
    for route in [&["-x", "socks5h"][..], &["-x", "socks5"], &["--pac", pac]] {
        let scheme = if route[0] == "-x" { route[1] } else { "socks5h" };
        let proxy = format!("{scheme}://127.0.0.1:{}", socks.port);
        let setting = if route[0] == "-x" { proxy.as_str() } else { pac };
        let serve = Serve::start(&[route[0], setting, "-U", &creds]);
        let before = http.requests_to("/bytes/").len();
        let out = run(CURL, &["-sS", "-x", &serve.url(), &http.url("/bytes/100000")]);
        assert_eq!(
            out.stdout,
            want,
            "{scheme} curl http: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            serve.log()
        );
        let named = https.url("/bytes/100000").replace("127.0.0.1", "localhost");
        let out = run(CURL, &["-sS", "--cacert", &ca, "-x", &serve.url(), &named]);
        assert_eq!(
            out.stdout,
            want,
            "{scheme} curl https: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            serve.log()
        );
        let out = run(
            WGET,
            &[
                "-q",
                "-O",
                "-",
                "-e",
                "use_proxy=on",
                "-e",
                &format!("http_proxy={}", serve.url()),
                &http.url("/bytes/100000"),
            ],
        );
        assert_eq!(
            out.stdout,
            want,
            "{scheme} wget http: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            serve.log()
        );
        assert_eq!(http.requests_to("/bytes/").len(), before + 2, "curl's and wget's, once each");
        let ok = format!("via {proxy} - 200");
        let log = serve.log_with_n(&ok, 3);
        assert_eq!(log.matches(&ok).count(), 3, "{log}");
        assert!(!log.contains(PASSWORD), "{log}");
    }
}

#[test]
fn a_wrong_socks_password_is_sent_once_for_all_clients() {
    let test = "a_wrong_socks_password_is_sent_once_for_all_clients";
    if !available(test) {
        return;
    }
    let socks = Microsocks::start();
    let tap = Tap::start(socks.port);
    let http = Origin::http();
    let wrong = "not-the-socks-password";
    let serve =
        Serve::start(&["-x", &format!("socks5h://127.0.0.1:{}", tap.port), "-U", &format!("{USER}:{wrong}")]);
    let url = http.url("/bytes/10");
    let proxy = serve.url();
    let clients: Vec<_> = (0..6)
        .map(|_| {
            let (proxy, url) = (proxy.clone(), url.clone());
            std::thread::spawn(move || run(CURL, &["-s", "-i", "-x", &proxy, &url]))
        })
        .collect();
    let mut answers: Vec<String> = clients
        .into_iter()
        .map(|c| String::from_utf8_lossy(&c.join().unwrap().stdout).into_owned())
        .collect();
    // And later ones, through CONNECT too.
    answers.push(String::from_utf8_lossy(&run(CURL, &["-s", "-i", "-x", &proxy, &url]).stdout).into_owned());
    let out = run(CURL, &["-s", "-p", "-w", "%{http_connect}", "-x", &proxy, &url]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "502", "CONNECT: {}", serve.log());
    for a in &answers {
        assert!(a.starts_with("HTTP/1.1 502"), "{a}\n{}", serve.log());
        assert!(a.contains("Proxy-Status: toll; error=proxy_internal_error"), "{a}");
        assert!(a.contains("rejected the password") && a.contains("toll auth login socks5h://"), "{a}");
        assert!(!a.contains(wrong), "{a}");
    }
    assert_eq!(
        tap.carrying(wrong.as_bytes()),
        1,
        "the wrong password went to the proxy once; {} connections",
        tap.connections()
    );
    assert_eq!(http.requests_to("/bytes/").len(), 0);
    let log = serve.log_with_n(" 502 ", answers.len() + 1);
    assert_eq!(log.matches("will not be sent again").count(), 1, "{log}");
    assert!(!log.contains(wrong), "{log}");
}

/// `toll run` on a terminal with a SOCKS proxy that wants a password not stored anywhere: it is
/// asked before the command starts, each password typed goes to the proxy once, three rejected
/// ones stop toll run with 41 before the command runs, and the right one is used for the
/// command's requests without asking again.
#[test]
fn toll_run_asks_for_the_socks_password_before_the_command_and_stops_after_three_rejected() {
    let test = "toll_run_asks_for_the_socks_password_before_the_command_and_stops_after_three_rejected";
    if !available(test) {
        return;
    }
    let socks = Microsocks::start();
    let tap = Tap::start(socks.port);
    let origin = Origin::http();
    let home = tempfile::tempdir().unwrap();
    let started = home.path().join("command-started");
    let proxy = format!("socks5h://127.0.0.1:{}", tap.port);
    let check = origin.url("/text");
    let touch = format!("touch '{}'", started.display());
    let args = ["run", "-x", &proxy, "-U", USER, "--verify-url", &check, "--", "sh", "-c", &touch];
    let mut t = crate::pty::Pty::spawn_interactive(crate::pty::command(args, home.path(), &[]));
    for attempt in 1..=3 {
        t.expect("Password for alice: ");
        t.send(&format!("wrong-{attempt}\r"));
    }
    let out = t.wait();
    assert_eq!(out.code, Some(41), "{}", out.describe());
    assert!(out.stderr.contains("the check through the proxy"), "{}", out.describe());
    assert!(out.terminal_restored(), "{}", out.describe());
    assert!(!started.exists(), "the command ran after the proxy rejected every password");
    for attempt in 1..=3 {
        assert_eq!(tap.carrying(format!("wrong-{attempt}").as_bytes()), 1, "password {attempt}");
    }
    assert_eq!(origin.requests_to("/text").len(), 0);

    let fetch = format!(
        "{CURL} -s --noproxy '' -w ' %{{http_code}}' {} && {CURL} -s --noproxy '' -p -w ' %{{http_code}}' {}",
        origin.url("/bytes/10"),
        origin.url("/bytes/10")
    );
    let args = ["run", "-x", &proxy, "-U", USER, "--verify-url", &check, "--", "sh", "-c", &fetch];
    let mut t = crate::pty::Pty::spawn_interactive(crate::pty::command(args, home.path(), &[]));
    t.expect("Password for alice: ");
    t.send(&format!("{PASSWORD}\r"));
    let out = t.wait();
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.ends_with(" 200") && text.matches(" 200").count() == 2, "{}", out.describe());
    assert_eq!(out.screen.matches("Password for").count(), 1, "asked once: {}", out.describe());
    // The check's and the tunnel's connections; the request's too unless it reused the
    // check's pooled one.
    let logins = tap.carrying(PASSWORD.as_bytes());
    assert!((2..=3).contains(&logins), "{logins} log-ins");
    assert_eq!(origin.requests_to("/bytes/").len(), 2);
}

/// toll's own http and https transfers through microsocks, with the proxy named by `-x
/// socks5h://`, by `--socks5-hostname` or `--socks5` (HOST[:PORT] with user and password: the
/// option gives the scheme), and by `--socks5-hostname` after an `-x` it overrides (the last
/// one wins, as in curl); and `-x` after `--socks5` wins in turn.
#[test]
fn toll_reaches_origins_through_socks5_named_by_x_or_by_curls_older_options() {
    let test = "toll_reaches_origins_through_socks5_named_by_x_or_by_curls_older_options";
    if !have(test, &[MICROSOCKS], "microsocks") {
        return;
    }
    let socks = Microsocks::start();
    let (http, https) = (Origin::http(), Origin::https());
    let at = format!("{USER}:{PASSWORD}@127.0.0.1:{}", socks.port);
    let (with_scheme, dead) = (format!("socks5h://{at}"), format!("http://127.0.0.1:{}", free_port()));
    let ways: [&[&str]; 4] = [
        &["-x", &with_scheme],
        &["--socks5-hostname", &at],
        &["--socks5", &at],
        &["-x", &dead, "--socks5-hostname", &at],
    ];
    let urls = [
        http.url("/text").replace("127.0.0.1", "localhost"),
        https.url("/text").replace("127.0.0.1", "localhost"),
    ];
    for way in ways {
        for url in &urls {
            let out = crate::run::toll(
                ["-sS", "--cacert", &pki().ca_arg()].iter().chain(way).chain([&url.as_str()]),
            )
            .run();
            out.assert_ok();
            assert!(!out.stdout.is_empty(), "{way:?} {url}: {}", out.describe());
        }
    }
    assert_eq!(http.requests_to("/text").len() + https.requests_to("/text").len(), 8);
    let out = crate::run::toll(["-sS", "--socks5-hostname", &at, "-x", &dead, &urls[0]]).run();
    out.assert_code(5);
}
