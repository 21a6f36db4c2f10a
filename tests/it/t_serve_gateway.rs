//! `toll serve --allow` seen from another host (gateway mode for a container or a VM): such a
//! client must show the key, and it never reaches this machine's loopback through the server,
//! by address or by name, directly or through the upstream proxy; a client on this machine
//! still does. A peer off loopback needs an address that is not 127.0.0.1 or ::1: the test runs
//! in a network namespace of its own (root; `unshare` for the thread, `ip` for the addresses)
//! that has nothing but `lo`, with 10.77.0.1 added to it, so no packet can leave the machine.

use crate::fakeproxy::{FakeProxy, Reply};
use crate::origin::Origin;
use crate::t_serve::{run, Serve, CURL};
use std::process::Command;

const OTHER_HOST: &str = "10.77.0.1";

/// Moves the calling thread into a new network namespace with `lo` up and [`OTHER_HOST`] on
/// it; sockets and processes made by this thread afterwards live there. None (and a loud skip)
/// without root or `ip`.
pub(crate) fn private_network(test: &str) -> Option<()> {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 || !std::path::Path::new("/usr/sbin/ip").exists() {
        crate::skip(&format!("SKIPPED {test}: needs root and ip (iproute2) for a network namespace"));
        return None;
    }
    // SAFETY: unshare affects only this thread (CLONE_NEWNET needs no single-threaded process).
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
        crate::skip(&format!("SKIPPED {test}: unshare(CLONE_NEWNET): {}", std::io::Error::last_os_error()));
        return None;
    }
    for args in [&["link", "set", "lo", "up"][..], &["addr", "add", &format!("{OTHER_HOST}/32"), "dev", "lo"]]
    {
        let out = Command::new("/usr/sbin/ip").args(args).output().expect("run ip");
        assert!(out.status.success(), "ip {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    Some(())
}

/// `curl` through `serve` from [`OTHER_HOST`] or from 127.0.0.1, with `key` as its proxy
/// credential: `"<http_code> <http_connect>"`, and what curl printed (heads and body).
fn curl(serve: &Serve, from_other: bool, key: Option<&str>, url: &str, extra: &[&str]) -> (String, String) {
    let host = if from_other { OTHER_HOST } else { "127.0.0.1" };
    let proxy = match key {
        Some(k) => format!("http://toll:{k}@{host}:{}", serve.port),
        None => format!("http://{host}:{}", serve.port),
    };
    let mut args =
        vec!["-s", "-i", "-w", "\n%{http_code} %{http_connect}", "--interface", host, "-x", &proxy];
    args.extend_from_slice(extra);
    args.push(url);
    let out = run(CURL, &args);
    let text = String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n");
    let (all, codes) = text.rsplit_once('\n').unwrap_or(("", &text));
    (codes.to_string(), all.trim_end().to_string())
}

#[test]
fn other_hosts_show_the_key_and_never_reach_this_machines_loopback() {
    let test = "other_hosts_show_the_key_and_never_reach_this_machines_loopback";
    if !crate::have(test, &[CURL], "curl") {
        return;
    }
    let inside = std::thread::spawn(move || {
        if private_network(test).is_none() {
            return;
        }
        // A service on loopback that trusts that only this machine reaches it.
        let origin = Origin::http();
        let private = origin.url("/text");
        let private_by_name = private.replace("127.0.0.1", "localhost");
        let private_v6 = private.replace("127.0.0.1", "[::1]");
        // An upstream proxy (on loopback too: where the proxy is does not matter, only where the
        // client asks to go) that answers everything itself.
        let proxy = FakeProxy::start(|_| Reply::new(200).body(b"from the upstream\n").into_action());
        let elsewhere = "http://192.0.2.7/page";
        let through = Serve::start(&["--listen", "0.0.0.0:0", "--allow", "10.77.0.0/24", "-x", &proxy.url()]);
        let direct = Serve::start(&["--listen", "0.0.0.0:0", "--allow", "10.77.0.0/24"]);
        let closed = Serve::start(&["--listen", "0.0.0.0:0"]);
        let key = through.key();

        // Another host without the key: asked for it; with a wrong one, refused.
        let (codes, head) = curl(&through, true, None, elsewhere, &[]);
        assert_eq!(codes, "407 000", "{head}\n{}", through.log());
        assert_eq!(curl(&through, true, Some("wrong"), elsewhere, &[]).0, "403 000", "{}", through.log());
        // With the key: served, through the upstream.
        let (codes, all) = curl(&through, true, Some(&key), elsewhere, &[]);
        assert_eq!(codes, "200 000", "{all}\n{}", through.log());
        assert!(all.ends_with("from the upstream"), "{all}");
        let upstream_saw = proxy.requests().len();
        assert_eq!(upstream_saw, 1);

        // With the key, this machine's loopback: 403, by address (both families), by name, as a
        // tunnel, and whether toll serve goes direct or through the proxy.
        for serve in [&through, &direct] {
            for url in [&private, &private_by_name, &private_v6] {
                let (codes, all) = curl(serve, true, Some(&serve.key()), url, &[]);
                assert_eq!(codes, "403 000", "{url}: {all}\n{}", serve.log());
                assert!(
                    all.to_ascii_lowercase().contains("proxy-status: toll; error=destination_ip_prohibited"),
                    "{all}"
                );
                assert!(all.contains("this machine's loopback"), "{all}");
            }
            let (codes, all) = curl(serve, true, Some(&serve.key()), &private, &["-p"]);
            assert_eq!(codes, "000 403", "CONNECT: {all}\n{}", serve.log());
        }
        assert_eq!(proxy.requests().len(), upstream_saw, "nothing reached the upstream");
        assert_eq!(origin.requests_to("/text").len(), 0, "nothing reached the loopback service");
        assert!(direct.log().contains("another host asked for this machine's loopback"), "{}", direct.log());

        // A client on this machine (its own user: no key) is served as before, loopback included.
        let (codes, all) = curl(&direct, false, None, &private, &[]);
        assert_eq!(codes, "200 000", "{all}\n{}", direct.log());
        assert!(all.ends_with("hello from the origin"), "{all}");
        assert_eq!(origin.requests_to("/text").len(), 1);

        // Without --allow, another host is refused even with the key.
        let (codes, all) = curl(&closed, true, Some(&closed.key()), elsewhere, &[]);
        assert_eq!(codes, "403 000", "{all}\n{}", closed.log());
    });
    if let Err(panic) = inside.join() {
        std::panic::resume_unwind(panic);
    }
}
