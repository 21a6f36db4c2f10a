//! A running `toll serve` follows its PAC without a signal: a PAC file rewritten (in place or
//! by an editor's rename) and a PAC URL whose copy went stale are used for new requests; a PAC
//! that breaks keeps the routing as it was, said once in the log. So does `toll run`'s server
//! while its command runs.

use crate::fakeproxy::{self, FakeProxy};
use crate::http::{read_head, write_message};
use crate::origin::Origin;
use crate::t_serve::Serve;
use std::io::{BufReader, Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn pac_for(proxy: &FakeProxy) -> String {
    let hostport = proxy.url().trim_start_matches("http://").trim_end_matches('/').to_string();
    format!("function FindProxyForURL(url, host) {{ return 'PROXY {hostport}'; }}\n")
}

/// One request through the server (absolute form, as a client configured with it sends).
fn get(serve: &Serve, origin: &Origin) {
    let mut c = std::net::TcpStream::connect(("127.0.0.1", serve.port)).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let url = origin.url("/text");
    write!(c, "GET {url} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", origin.authority()).unwrap();
    let mut answer = Vec::new();
    let _ = c.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}\n{}", serve.log());
}

/// The log once a line contains `needle`, waiting up to `secs`.
fn wait_log(serve: &Serve, needle: &str, secs: u64) -> String {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let log = serve.log();
        if log.contains(needle) || Instant::now() > deadline {
            return log;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_pac_file_rewritten_under_a_running_server_is_used_without_a_signal() {
    let origin = Origin::http();
    let (a, b) = (FakeProxy::start(fakeproxy::open()), FakeProxy::start(fakeproxy::open()));
    let dir = tempfile::tempdir().unwrap();
    let pac = dir.path().join("proxy.pac");
    std::fs::write(&pac, pac_for(&a)).unwrap();
    let serve = Serve::start(&["--pac", pac.to_str().unwrap()]);
    get(&serve, &origin);
    assert_eq!(a.requests().len(), 1, "{}", serve.log());

    // An editor's save: a new file renamed over the old one.
    let new = dir.path().join("proxy.pac.new");
    std::fs::write(&new, pac_for(&b)).unwrap();
    std::fs::rename(&new, &pac).unwrap();
    let changed = format!("the PAC {} changed: new requests use it", pac.display());
    let log = wait_log(&serve, &changed, 15);
    assert!(log.contains(&changed), "{log}");
    get(&serve, &origin);
    assert_eq!((a.requests().len(), b.requests().len()), (1, 1), "{}", serve.log());

    // A PAC broken in place: the routing stays as it was, and the log says so once.
    std::fs::write(&pac, "function FindProxyForURL(url, host) { return 'PROXY ").unwrap();
    let kept = "cannot be decided again";
    let log = wait_log(&serve, kept, 15);
    assert!(log.contains(kept) && log.contains(&pac.display().to_string()), "{log}");
    get(&serve, &origin);
    assert_eq!(b.requests().len(), 2, "{}", serve.log());
    // Mended: used again.
    std::fs::write(&pac, pac_for(&a)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while serve.log().matches(&changed).count() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    get(&serve, &origin);
    assert_eq!((a.requests().len(), b.requests().len()), (2, 2), "{}", serve.log());
    assert_eq!(serve.log().matches(kept).count(), 1, "said once:\n{}", serve.log());
}

/// `toll run`'s server follows a PAC file rewritten while its command runs (`toll run bash` can
/// run for hours): the command's first request goes through `a`, the one after the rewrite
/// through `b`.
#[test]
fn toll_run_follows_a_pac_file_rewritten_while_its_command_runs() {
    let test = "toll_run_follows_a_pac_file_rewritten_while_its_command_runs";
    if !crate::have(test, &[crate::t_serve::CURL], "curl") {
        return;
    }
    let origin = Origin::http();
    let (a, b) = (FakeProxy::start(fakeproxy::open()), FakeProxy::start(fakeproxy::open()));
    let home = tempfile::tempdir().unwrap();
    let (pac, new, log) =
        (home.path().join("proxy.pac"), home.path().join("proxy.pac.new"), home.path().join("run.log"));
    std::fs::write(&pac, pac_for(&a)).unwrap();
    std::fs::write(&new, pac_for(&b)).unwrap();
    // `--noproxy ''`: curl's own override of the loopback NO_PROXY toll run sets.
    let get = format!(
        "{} -sS --noproxy '' -o /dev/null -w '%{{http_code}}\\n' {}",
        crate::t_serve::CURL,
        origin.url("/text")
    );
    let script = format!(
        "{get} && mv {new} {pac} && i=0 && \
         until grep -q 'changed: new requests use it' {log}; do \
           i=$((i+1)); [ $i -gt 300 ] && {{ echo not-followed; exit 9; }}; sleep 0.05; done && {get}",
        new = new.display(),
        pac = pac.display(),
        log = log.display()
    );
    let mut cmd = std::process::Command::new(crate::run::TOLL);
    // `--log`: toll run's log, which the command reads (without it, nowhere).
    cmd.args([
        "run",
        "--log",
        log.to_str().unwrap(),
        "--pac",
        pac.to_str().unwrap(),
        "--",
        "sh",
        "-c",
        &script,
    ]);
    crate::run::isolate(&mut cmd, home.path());
    cmd.env("TOLL_TERMINAL", "none").stdin(std::process::Stdio::null());
    let out = cmd.output().unwrap();
    let log = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        out.status.success(),
        "{}\n{}\n{log}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "200\n200\n");
    assert_eq!((a.requests().len(), b.requests().len()), (1, 1), "{log}");
    // The access log has both requests, each with the proxy it went through.
    let text = origin.url("/text");
    for proxy in [a.url(), b.url()] {
        let via = format!("GET {text} via {}", proxy.trim_end_matches('/'));
        assert!(log.lines().any(|l| l.contains(&via) && l.contains(" 200 ")), "{via}:\n{log}");
    }
}

/// A PAC server: `body` with an ETag of its version and `Cache-Control: max-age=N`; 304 to a request that names the current version; every request's `If-None-Match` kept.
struct PacServer {
    port: u16,
    body: Arc<Mutex<String>>,
    seen: Arc<Mutex<Vec<Option<String>>>>,
}

impl PacServer {
    fn start(body: String, max_age: u64) -> PacServer {
        let body = Arc::new(Mutex::new(body));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (b, s) = (body.clone(), seen.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let mut r = BufReader::new(conn.try_clone().unwrap());
                let mut w = conn;
                while let Ok(Some(head)) = read_head(&mut r) {
                    let text = b.lock().unwrap().clone();
                    let etag = {
                        use std::hash::{Hash, Hasher};
                        let mut h = std::collections::hash_map::DefaultHasher::new();
                        text.hash(&mut h);
                        format!("\"{:x}\"", h.finish())
                    };
                    let asked = head.header("if-none-match").map(String::from);
                    s.lock().unwrap().push(asked.clone());
                    let h = |v: &str| {
                        vec![
                            ("ETag".to_string(), v.to_string()),
                            ("Cache-Control".to_string(), format!("max-age={max_age}")),
                        ]
                    };
                    let r = if asked.as_deref() == Some(etag.as_str()) {
                        write_message(&mut w, "HTTP/1.1 304 Not Modified", &h(&etag), b"", false)
                    } else {
                        write_message(&mut w, "HTTP/1.1 200 OK", &h(&etag), text.as_bytes(), true)
                    };
                    if r.is_err() {
                        break;
                    }
                }
            }
        });
        PacServer { port, body, seen }
    }
}

/// An origin, proxies `a` and `b`, a PAC server naming `a` (its copies fresh for `max_age` s)
/// at `url`, and a server routing by that PAC, which sent one request through `a`.
struct Served {
    origin: Origin,
    a: FakeProxy,
    b: FakeProxy,
    server: PacServer,
    url: String,
    serve: Serve,
}

fn served(max_age: u64) -> Served {
    let origin = Origin::http();
    let (a, b) = (FakeProxy::start(fakeproxy::open()), FakeProxy::start(fakeproxy::open()));
    let server = PacServer::start(pac_for(&a), max_age);
    let url = format!("http://127.0.0.1:{}/proxy.pac", server.port);
    let serve = Serve::start(&["--pac", &url]);
    get(&serve, &origin);
    assert_eq!(a.requests().len(), 1, "{}", serve.log());
    assert_eq!(server.seen.lock().unwrap().len(), 1);
    Served { origin, a, b, server, url, serve }
}

/// A PAC URL is asked for again when its copy goes stale (here after the 30 s a `max-age=1`
/// copy is kept at least): conditionally, and a new version is used for new requests.
#[test]
fn a_pac_url_is_fetched_again_when_its_copy_goes_stale() {
    let Served { origin, a, b, server, url, serve } = served(1);
    *server.body.lock().unwrap() = pac_for(&b);
    let changed = format!("the PAC {url} changed: new requests use it");
    let log = wait_log(&serve, &changed, 45);
    assert!(log.contains(&changed), "{log}");
    let seen = server.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "once at start and once when stale, not in a loop: {seen:?}");
    assert!(seen[1].is_some(), "asked with the copy's ETag: {seen:?}");
    get(&serve, &origin);
    assert_eq!((a.requests().len(), b.requests().len()), (1, 1), "{}", serve.log());
}

/// When this machine's addresses change (a laptop joins another network), the PAC URL is asked
/// for again at once, even though its copy is still fresh for an hour, and the proxies marked
/// dead on the old network are tried again. In a network namespace of its own (root), so that
/// no other test's server sees the change.
#[test]
fn a_network_change_fetches_the_pac_again_though_its_copy_is_fresh() {
    in_private_network("a_network_change_fetches_the_pac_again_though_its_copy_is_fresh", || {
        let Served { origin, a, b, server, serve, .. } = served(3600);
        // The new PAC names b, then a; b did not answer on the old network.
        let hostport =
            |p: &FakeProxy| p.url().trim_start_matches("http://").trim_end_matches('/').to_string();
        *server.body.lock().unwrap() = format!(
            "function FindProxyForURL(url, host) {{ return 'PROXY {}; PROXY {}'; }}\n",
            hostport(&b),
            hostport(&a)
        );
        let dead = serve.state_dir().join("dead-proxies.json");
        std::fs::write(
            &dead,
            format!("{{\"version\":1,\"dead\":{{\"http://{}\":4000000000}}}}", hostport(&b)),
        )
        .unwrap();
        std::thread::sleep(Duration::from_secs(3));
        assert_eq!(server.seen.lock().unwrap().len(), 1, "fresh for an hour: not asked again");

        add_address("10.77.0.2/32");
        let changed = "the network changed: routing decided again";
        let log = wait_log(&serve, changed, 15);
        assert!(log.contains(changed), "{log}");
        let seen = server.seen.lock().unwrap().clone();
        assert!(seen.len() == 2 && seen[1].is_some(), "asked again, with the copy's ETag: {seen:?}\n{log}");
        get(&serve, &origin);
        assert_eq!((a.requests().len(), b.requests().len()), (1, 1), "b first: {}", serve.log());
        let kept = std::fs::read_to_string(&dead).unwrap();
        assert!(!kept.contains(&hostport(&b)), "{kept}");
    });
}

/// After a network change, no request goes out on a connection kept open from before (it may
/// lead nowhere now, and the request would wait its whole answer timeout): the next request
/// opens a new one — to the proxy (`-x`, whose routing is never decided again) and to an
/// origin reached directly. In a network namespace of its own (root).
#[test]
fn a_network_change_closes_the_connections_kept_open() {
    in_private_network("a_network_change_closes_the_connections_kept_open", || {
        let origin = Origin::http();
        let proxy = FakeProxy::start(fakeproxy::open());
        let (via_proxy, direct) = (Serve::start(&["-x", &proxy.url()]), Serve::start(&[]));
        let connection = || origin.requests().last().map(|r| r.connection).unwrap();
        for _ in 0..2 {
            get(&via_proxy, &origin);
            get(&direct, &origin);
        }
        assert_eq!(proxy.connections(), 1, "kept open: {}", proxy.summary());
        let before = connection();

        add_address("10.77.0.3/32");
        let changed = "the network changed: connections kept open from before are not used again";
        for serve in [&via_proxy, &direct] {
            let log = wait_log(serve, changed, 15);
            assert!(log.contains(changed), "{log}");
        }
        get(&via_proxy, &origin);
        assert_eq!(proxy.connections(), 2, "a new connection to the proxy: {}", proxy.summary());
        get(&direct, &origin);
        assert_ne!(connection(), before, "a new connection to the origin");
    });
}

/// Runs `body` on a thread in a network namespace of its own (root; a loud skip otherwise), so
/// that the addresses it adds are seen by no other test's server.
fn in_private_network(test: &'static str, body: impl FnOnce() + Send + 'static) {
    std::thread::spawn(move || {
        if crate::t_serve_gateway::private_network(test).is_some() {
            body();
        }
    })
    .join()
    .unwrap();
}

/// Adds `cidr` to this namespace's loopback interface: this machine's addresses change.
fn add_address(cidr: &str) {
    let out =
        std::process::Command::new("/usr/sbin/ip").args(["addr", "add", cidr, "dev", "lo"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// A VPN or a DHCP lease that changes only the DNS servers (`/etc/resolv.conf`), the addresses
/// staying as they were, is a network change too: the PAC URL is asked for again at once. In a
/// mount namespace of its own (root), where a file of the test's stands in for
/// `/etc/resolv.conf`.
#[test]
fn a_change_of_dns_servers_alone_fetches_the_pac_again() {
    let test = "a_change_of_dns_servers_alone_fetches_the_pac_again";
    let inside = std::thread::spawn(move || {
        let Some((_dir, conf)) = private_resolv_conf(test) else { return };
        let Served { origin, a, b, server, serve, url } = served(3600);
        *server.body.lock().unwrap() = pac_for(&b);
        // The same text written again (a DHCP renewal) is no change.
        std::fs::write(&conf, "nameserver 192.0.2.53\n").unwrap();
        std::thread::sleep(Duration::from_secs(3));
        assert_eq!(server.seen.lock().unwrap().len(), 1, "fresh for an hour: not asked again");
        std::fs::write(&conf, "nameserver 192.0.2.54\nsearch corp.example\n").unwrap();
        let changed = "the network changed: routing decided again";
        let log = wait_log(&serve, changed, 15);
        assert!(log.contains(changed) && log.contains(&url), "{log}");
        assert_eq!(server.seen.lock().unwrap().len(), 2, "{log}");
        get(&serve, &origin);
        assert_eq!((a.requests().len(), b.requests().len()), (1, 1), "{}", serve.log());
    });
    inside.join().unwrap();
}

/// Gives this thread (and what it starts) a mount namespace of its own in which `/etc/resolv.conf`
/// is a file of the test's, first `nameserver 192.0.2.53`: the directory that holds it and its
/// path. `None` (said as a skip) without root.
fn private_resolv_conf(test: &str) -> Option<(tempfile::TempDir, std::path::PathBuf)> {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 || !std::path::Path::new("/etc/resolv.conf").exists() {
        crate::skip(&format!("SKIPPED {test}: needs root and an /etc/resolv.conf to stand in for"));
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("resolv.conf");
    std::fs::write(&conf, "nameserver 192.0.2.53\n").unwrap();
    let c = |s: &str| std::ffi::CString::new(s).unwrap();
    let (root, etc, src) = (c("/"), c("/etc/resolv.conf"), c(conf.to_str().unwrap()));
    // SAFETY: unshare and mount with valid C strings; they affect only this thread's mount
    // namespace, made private first so that nothing reaches the host's.
    unsafe {
        assert_eq!(libc::unshare(libc::CLONE_NEWNS), 0, "unshare: {}", std::io::Error::last_os_error());
        let private = libc::MS_REC | libc::MS_PRIVATE;
        assert_eq!(
            libc::mount(std::ptr::null(), root.as_ptr(), std::ptr::null(), private, std::ptr::null()),
            0
        );
        let bind = libc::mount(src.as_ptr(), etc.as_ptr(), std::ptr::null(), libc::MS_BIND, std::ptr::null());
        assert_eq!(bind, 0, "bind mount: {}", std::io::Error::last_os_error());
    }
    Some((dir, conf))
}

/// A proxy changed in the desktop's settings (GNOME, a real `gsettings` with the keyfile
/// backend) reaches a running server within seconds, as it reaches a browser.
#[test]
fn a_proxy_changed_in_the_desktops_settings_is_used_within_seconds() {
    let test = "a_proxy_changed_in_the_desktops_settings_is_used_within_seconds";
    if !crate::have(
        test,
        &[
            "/usr/bin/gsettings",
            "/usr/share/glib-2.0/schemas/gschemas.compiled",
            "/usr/share/glib-2.0/schemas/org.gnome.system.proxy.gschema.xml",
        ],
        "libglib2.0-bin gsettings-desktop-schemas",
    ) {
        return;
    }
    let origin = Origin::http();
    let (a, b) = (FakeProxy::start(fakeproxy::open()), FakeProxy::start(fakeproxy::open()));
    let config = tempfile::tempdir().unwrap();
    let desktop = [
        ("XDG_CURRENT_DESKTOP".to_string(), "GNOME".to_string()),
        ("GSETTINGS_BACKEND".to_string(), "keyfile".to_string()),
        ("XDG_CONFIG_HOME".to_string(), config.path().display().to_string()),
    ];
    let set = |schema: &str, key: &str, value: &str| {
        let out = std::process::Command::new("/usr/bin/gsettings")
            .args(["set", schema, key, value])
            .envs(desktop.iter().cloned())
            .output()
            .unwrap();
        assert!(out.status.success(), "gsettings set: {}", String::from_utf8_lossy(&out.stderr));
    };
    let port = |p: &FakeProxy| p.url().trim_end_matches('/').rsplit(':').next().unwrap().to_string();
    set("org.gnome.system.proxy", "mode", "manual");
    set("org.gnome.system.proxy", "ignore-hosts", "[]");
    set("org.gnome.system.proxy.http", "host", "127.0.0.1");
    set("org.gnome.system.proxy.http", "port", &port(&a));
    let serve = Serve::start_env(&[], &desktop);
    get(&serve, &origin);
    assert_eq!(a.requests().len(), 1, "{}", serve.log());

    set("org.gnome.system.proxy.http", "port", &port(&b));
    let changed = "the manual proxies of GNOME";
    let log = wait_log(&serve, changed, 30);
    assert!(log.contains("changed: new requests use them"), "{log}");
    get(&serve, &origin);
    assert_eq!((a.requests().len(), b.requests().len()), (1, 1), "{}", serve.log());
}

/// A server started before its PAC can be had (a file not there yet, a URL not reachable before
/// the VPN is up) goes DIRECT as browsers do, says so, and takes the PAC when it comes.
#[test]
fn a_pac_that_cannot_be_had_at_start_means_direct_until_it_can() {
    let origin = Origin::http();
    let a = FakeProxy::start(fakeproxy::open());
    let dir = tempfile::tempdir().unwrap();
    let pac = dir.path().join("later.pac");
    let serve = Serve::start(&["--pac", pac.to_str().unwrap()]);
    let direct = "URLs go DIRECT until it can be had";
    let log = wait_log(&serve, direct, 10);
    assert!(log.contains(&format!("cannot get the PAC {}", pac.display())) && log.contains(direct), "{log}");
    get(&serve, &origin);
    assert!(serve.log_with("via DIRECT").contains("via DIRECT"), "{}", serve.log());
    assert_eq!(a.requests().len(), 0);
    // What `toll doctor` reads about this server says so too.
    let record = serve.state_dir().join(format!("serve-{}.json", serve.port));
    let using = || std::fs::read_to_string(&record).unwrap();
    assert!(using().contains("DIRECT until its PAC can be had"), "{}", using());

    std::fs::write(&pac, pac_for(&a)).unwrap();
    let loaded = format!("the PAC {} is loaded: new requests use it", pac.display());
    let log = wait_log(&serve, &loaded, 15);
    assert!(log.contains(&loaded), "{log}");
    get(&serve, &origin);
    assert_eq!(a.requests().len(), 1, "{}", serve.log());
    assert!(!using().contains("DIRECT") && using().contains("--pac"), "{}", using());

    // A PAC URL nobody answers yet: the server starts all the same.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}/proxy.pac", closed.local_addr().unwrap().port());
    drop(closed);
    let serve = Serve::start(&["--pac", &url]);
    let log = wait_log(&serve, direct, 10);
    assert!(log.contains(&format!("cannot get the PAC {url}")), "{log}");
    get(&serve, &origin);
}
