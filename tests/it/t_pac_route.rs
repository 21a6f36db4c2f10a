//! Transfers routed by a PAC (`--pac`, `TOLL_PAC`): the list is tried in order, a proxy that
//! refuses connections is skipped and remembered as dead (shared by runs), a proxy that answers
//! 407 never fails over (the credential is never offered to the next proxy), NO_PROXY still wins,
//! an https URL's path never reaches the PAC, and PAC errors are exit 3. Real Squid.

use crate::origin::Origin;
use crate::run::{scratch, toll};
use crate::squid::{self, Auth, Squid, ALICE};
use std::path::Path;

fn pac_file(dir: &Path, body: &str) -> String {
    let p = dir.join("proxy.pac");
    std::fs::write(&p, format!("function FindProxyForURL(url, host) {{\n{body}\n}}\n")).unwrap();
    p.display().to_string()
}

/// A loopback port nothing listens on (bound, then closed): a stopped proxy.
fn dead_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn authority(url: &str) -> String {
    url.trim_start_matches("http://").to_string()
}

#[test]
fn a_dead_first_proxy_is_skipped_and_remembered() {
    crate::require_squid!("a_dead_first_proxy_is_skipped_and_remembered");
    let live = squid::shared(Auth::Basic);
    let origin = Origin::http();
    let dir = scratch();
    // The first proxy is a real Squid, stopped.
    let first = Squid::start(Auth::None);
    let dead = authority(&first.url());
    drop(first);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while std::net::TcpStream::connect(&dead).is_ok() {
        assert!(std::time::Instant::now() < deadline, "the first Squid did not stop");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let pac =
        pac_file(dir.path(), &format!("return 'PROXY {dead}; PROXY {}; DIRECT';", authority(&live.url())));
    let state = dir.path().join("state");
    let creds = format!("{}:{}", ALICE.0, ALICE.1);
    let run = || {
        toll(["-sS", "-v", "--pac", &pac, "-U", &creds, &origin.url("/text")])
            .env("XDG_STATE_HOME", state.to_str().unwrap())
            .run()
    };
    let out = run();
    out.assert_ok().assert_stdout(b"hello from the origin\n");
    assert!(out.stderr.contains(&format!("skipped http://{dead}: connection refused")), "{}", out.describe());
    assert!(out.stderr.contains(&format!("goes through proxy {}", live.url())), "{}", out.describe());
    let memory = std::fs::read_to_string(state.join("toll/dead-proxies.json")).unwrap();
    assert!(memory.contains(&dead), "{memory}");
    // The next run tries the live proxy first: nothing to skip, and -v says which proxy it
    // passed over (review W: it said nothing).
    let out = run();
    out.assert_ok();
    assert!(!out.stderr.contains("skipped"), "{}", out.describe());
    assert!(
        out.stderr.contains(&format!("passed over http://{dead}: it failed within")),
        "{}",
        out.describe()
    );
    assert_eq!(origin.requests_to("/text").len(), 2);
}

#[test]
fn a_407_never_fails_over_to_the_next_proxy() {
    crate::require_squid!("a_407_never_fails_over_to_the_next_proxy");
    let (auth, open) = (squid::shared(Auth::Basic), squid::shared(Auth::None));
    let origin = Origin::http();
    let dir = scratch();
    let pac = pac_file(
        dir.path(),
        &format!("return 'PROXY {}; PROXY {}';", authority(&auth.url()), authority(&open.url())),
    );
    let out = toll(["-sS", "--pac", &pac, "-U", "alice:wrong", &origin.url("/text")])
        .env("XDG_STATE_HOME", dir.path().join("state").to_str().unwrap())
        .run();
    out.assert_code(41);
    assert!(origin.requests_to("/text").is_empty(), "the open proxy behind it was never used");
    assert!(open.log_for(&origin.authority()).is_empty(), "nothing went to the second proxy");
}

#[test]
fn no_proxy_wins_over_the_pac_and_https_paths_stay_private() {
    crate::require_squid!("no_proxy_wins_over_the_pac_and_https_paths_stay_private");
    let live = squid::shared(Auth::None);
    let (origin, tls) = (Origin::http(), Origin::https());
    let dir = scratch();
    // A PAC that would send anything mentioning "secret" to a dead proxy.
    let pac = pac_file(
        dir.path(),
        &format!(
            "if (url.indexOf('secret') >= 0) return 'PROXY 127.0.0.1:{}';\nreturn 'PROXY {}';",
            dead_port(),
            authority(&live.url())
        ),
    );
    let ca = crate::tls::pki().ca_arg();
    toll(["-sS", "--pac", &pac, "--cacert", &ca, &tls.url("/bytes/10?secret=1")]).run().assert_ok();
    assert_eq!(live.log_for(&tls.authority()).len(), 1, "the https URL went through the PAC's proxy");
    let out = toll(["-sS", "-v", "--pac", &pac, "--noproxy", "127.0.0.1", &origin.url("/text")]).run();
    out.assert_ok();
    assert!(out.stderr.contains("goes direct"), "{}", out.describe());
    assert!(live.log_for(&origin.authority()).is_empty());
}

#[test]
fn pac_errors_are_exit_3_and_toll_pac_env_is_read() {
    let origin = Origin::http();
    let dir = scratch();
    let broken = dir.path().join("broken.pac");
    std::fs::write(&broken, "function FindProxyForURL(url, host) { return 'PROXY' +; }").unwrap();
    let out = toll(["-sS", "--pac", broken.to_str().unwrap(), &origin.url("/text")]).run();
    out.assert_code(3);
    assert!(out.stderr.contains("broken.pac"), "{}", out.describe());
    let direct = pac_file(dir.path(), "return 'DIRECT';");
    toll(["-sS", &origin.url("/text")])
        .env("TOLL_PAC", &direct)
        .run()
        .assert_ok()
        .assert_stdout(b"hello from the origin\n");
    toll(["-sS", &origin.url("/text")]).env("TOLL_PAC", broken.to_str().unwrap()).run().assert_code(3);
}

#[test]
fn doctor_explains_the_pac_answer_and_pac_problems() {
    crate::require_squid!("doctor_explains_the_pac_answer_and_pac_problems");
    let live = squid::shared(Auth::Basic);
    let origin = Origin::http();
    let dir = scratch();
    let dead = format!("127.0.0.1:{}", dead_port());
    let pac = pac_file(dir.path(), &format!("return 'PROXY {dead}; PROXY {}';", authority(&live.url())));
    let creds = format!("{}:{}", ALICE.0, ALICE.1);
    let verify = origin.url("/text");
    let out = toll(["doctor", "--pac", &pac, "-U", &creds, "--no-prompt", "--verify-url", &verify, &verify])
        .env("XDG_STATE_HOME", dir.path().join("state").to_str().unwrap())
        .run();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(text.contains(&format!("goes through proxy {} (from --pac", live.url())), "{}", out.describe());
    assert!(text.contains(&format!("skipped http://{dead}")), "{}", out.describe());
    // The doctor looks and changes nothing: the dead proxy is not remembered (review W).
    assert!(!dir.path().join("state/toll/dead-proxies.json").exists(), "{}", out.describe());
    let broken = dir.path().join("broken.pac");
    std::fs::write(&broken, "function FindProxyForURL(url, host) {\n  return 'PROXY' +;\n}\n").unwrap();
    let out = toll(["doctor", "--pac", broken.to_str().unwrap(), "--verify-url", &verify, &verify]).run();
    out.assert_code(3);
    assert!(String::from_utf8_lossy(&out.stdout).contains("toll pac"), "{}", out.describe());
}

#[test]
fn a_pac_compiled_once_is_reused_only_while_it_is_unchanged() {
    let origin = Origin::http();
    let dir = scratch();
    let cache = dir.path().join("cache");
    let run = |pac: &str| {
        toll(["-sS", "-v", "--pac", pac, &origin.url("/text")])
            .env("XDG_CACHE_HOME", cache.to_str().unwrap())
            .run()
    };
    let pac = pac_file(dir.path(), "return 'DIRECT';");
    run(&pac).assert_ok().assert_stdout(b"hello from the origin\n");
    let code: Vec<_> = std::fs::read_dir(cache.join("toll/pac"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "code"))
        .collect();
    assert_eq!(code.len(), 1, "the compiled PAC is kept: {code:?}");
    run(&pac).assert_ok().assert_stdout(b"hello from the origin\n");
    // The PAC changes: its new answer (a stopped proxy) is what counts, not the kept code.
    let pac = pac_file(dir.path(), &format!("return 'PROXY 127.0.0.1:{}';", dead_port()));
    let out = run(&pac);
    assert_eq!(out.code, Some(5), "{}", out.describe());
    // Damaged code is never run: the PAC is compiled again.
    let pac = pac_file(dir.path(), "return 'DIRECT';");
    std::fs::write(&code[0], b"TOLLPAC\x01 damaged").unwrap();
    run(&pac).assert_ok().assert_stdout(b"hello from the origin\n");
}

/// `-m` bounds what comes before the request too: a PAC whose server takes its time, and
/// fail-over's check of a proxy that never accepts (a listen queue that is full), end in curl's
/// exit 28 at the limit, not after the fetch's or the check's own timeouts.
#[test]
fn max_time_bounds_the_pac_fetch_and_the_fail_over_check() {
    use std::time::{Duration, Instant};
    let origin = Origin::http();
    let started = Instant::now();
    let out = toll(["-sS", "-m", "1", "--pac", &origin.url("/hang"), &origin.url("/text")]).run();
    out.assert_code(28).assert_error_message();
    assert!(started.elapsed() < Duration::from_secs(4), "{:?}", started.elapsed());

    // A listener that never accepts, its queue filled: a connection to it is never made.
    use std::os::fd::AsRawFd;
    let full = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    // SAFETY: listen(2) on our own socket, with a queue of one.
    unsafe { libc::listen(full.as_raw_fd(), 0) };
    let port = full.local_addr().unwrap().port();
    let held: Vec<std::os::fd::OwnedFd> = (0..4)
        .map(|_| {
            use std::os::fd::FromRawFd;
            // SAFETY: a new socket of ours, owned from here on; a non-blocking connect to it.
            unsafe {
                let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_NONBLOCK, 0);
                let addr = libc::sockaddr_in {
                    sin_family: libc::AF_INET as libc::sa_family_t,
                    sin_port: port.to_be(),
                    sin_addr: libc::in_addr { s_addr: u32::from_ne_bytes([127, 0, 0, 1]) },
                    sin_zero: [0; 8],
                };
                let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
                libc::connect(fd, (&addr as *const libc::sockaddr_in).cast(), len);
                std::os::fd::OwnedFd::from_raw_fd(fd)
            }
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let dir = scratch();
    let pac = pac_file(dir.path(), &format!("return \"PROXY 127.0.0.1:{port}; DIRECT\";"));
    let started = Instant::now();
    let out = toll(["-sS", "-m", "1", "--pac", &pac, &origin.url("/text")]).run();
    out.assert_code(28).assert_error_message();
    assert!(out.stderr.contains("choosing the proxy"), "{}", out.describe());
    assert!(started.elapsed() < Duration::from_secs(4), "{:?}", started.elapsed());
    drop(held);
}

/// With `-m` shorter than the connect timeout, a first proxy that never accepts leaves time for
/// the next: each entry gets its share of `-m` (review W: `-m 2` failed every run with 28).
#[test]
fn max_time_leaves_room_for_the_next_proxy() {
    crate::require_squid!("max_time_leaves_room_for_the_next_proxy");
    let live = squid::shared(Auth::None);
    let origin = Origin::http();
    let dir = scratch();
    let (hole, _queued) = crate::full_backlog();
    let hole = hole.local_addr().unwrap().to_string();
    let pac = pac_file(dir.path(), &format!("return 'PROXY {hole}; PROXY {}';", authority(&live.url())));
    let out = toll(["-sS", "-v", "-m", "3", "--pac", &pac, &origin.url("/text")])
        .env("XDG_STATE_HOME", dir.path().join("state").to_str().unwrap())
        .run();
    out.assert_ok().assert_stdout(b"hello from the origin\n");
    assert!(out.stderr.contains(&format!("skipped http://{hole}")), "{}", out.describe());
}
