//! Negotiate (SPNEGO/Kerberos) against real Squid with `negotiate_kerberos_auth` and an MIT KDC
//! on loopback ([`crate::kdc`]): with a ticket no password is needed; without one (after
//! `kdestroy`) Negotiate is not used and toll falls back to what else the proxy offers.
//! Every toll run gets the test realm's KRB5_CONFIG and its own KRB5CCNAME.

use crate::kdc::{self, ChosenSquid, Offer, Ticket, KRB_REALM, KRB_USER};
use crate::origin::Origin;
use crate::run::{via_proxy, Out};
use crate::squid::{count, show, LogLine, ALICE};

/// `toll -sS -x SQUID [-U user:pass] [--cacert CA] -v URL` with the ticket's environment.
fn run(sq: &ChosenSquid, ticket: &Ticket<'_>, creds: Option<(&str, &str)>, origin: &Origin) -> Out {
    let mut t = via_proxy(&sq.url(), creds, origin, "/text", &["-v"]);
    for (k, v) in ticket.env() {
        t = t.env(&k, &v);
    }
    t.run()
}

fn served(lines: &[LogLine]) -> Vec<&LogLine> {
    lines.iter().filter(|l| l.code != 407).collect()
}

fn kerberos_user() -> String {
    format!("{}@{KRB_REALM}", KRB_USER.0)
}

/// With a ticket: Negotiate, no password given, one 407 (the bare challenge), the Kerberos
/// principal in Squid's log, and a service ticket for HTTP/localhost in the cache.
fn with_ticket(test: &str, tls: bool) {
    if !kdc::have_kerberos(test) {
        return;
    }
    let ticket = kdc::realm().ticket();
    ticket.kinit();
    let sq = ChosenSquid::start(&[Offer::Negotiate]);
    let origin = Origin::start(tls);
    let out = run(&sq, &ticket, None, &origin);
    out.assert_ok().assert_stdout(b"hello from the origin\n");
    let lines = sq.wait_log(&origin.authority(), |l| !served(l).is_empty());
    let ok = served(&lines);
    assert_eq!(ok.len(), 1, "{}{}", show(&lines), sq.diagnostics());
    assert_eq!(ok[0].user, kerberos_user(), "{}", show(&lines));
    assert_eq!(count(&lines, 407), 1, "Negotiate should cost one 407: {}", show(&lines));
    assert!(ticket.klist().contains(&format!("HTTP/localhost@{KRB_REALM}")), "{}", ticket.klist());
    assert!(!out.stderr.contains("YII"), "a Negotiate token appears in -v output:\n{}", out.stderr);
    eprintln!(
        "Negotiate via Squid ({}): access.log:\n{}",
        if tls { "CONNECT" } else { "http" },
        show(&lines)
    );
}

#[test]
fn negotiate_with_a_ticket_needs_no_password_http() {
    with_ticket("negotiate_with_a_ticket_needs_no_password_http", false);
}

#[test]
fn negotiate_with_a_ticket_needs_no_password_connect() {
    with_ticket("negotiate_with_a_ticket_needs_no_password_connect", true);
}

/// After `kdestroy`, a proxy offering only Negotiate: a clear error naming the cause, no prompt.
#[test]
fn negotiate_without_a_ticket_fails_clearly() {
    if !kdc::have_kerberos("negotiate_without_a_ticket_fails_clearly") {
        return;
    }
    let ticket = kdc::realm().ticket();
    ticket.kinit();
    ticket.kdestroy();
    let sq = ChosenSquid::start(&[Offer::Negotiate]);
    let origin = Origin::start(false);
    let out = run(&sq, &ticket, None, &origin);
    assert_ne!(out.code, Some(0), "{}", out.describe());
    out.assert_error_message();
    assert!(out.stderr.contains("Negotiate"), "{}", out.describe());
    assert!(out.stderr.contains("Kerberos") || out.stderr.contains("credential"), "{}", out.describe());
    assert!(served(&sq.log_for(&origin.authority())).is_empty());
}

/// After `kdestroy`, Negotiate then Basic offered, a password given: Basic, and no Negotiate
/// header was ever sent.
#[test]
fn negotiate_without_a_ticket_falls_back_to_basic() {
    if !kdc::have_kerberos("negotiate_without_a_ticket_falls_back_to_basic") {
        return;
    }
    let ticket = kdc::realm().ticket();
    ticket.kinit();
    ticket.kdestroy();
    let sq = ChosenSquid::start(&[Offer::Negotiate, Offer::Basic]);
    let origin = Origin::start(false);
    let out = run(&sq, &ticket, Some(ALICE), &origin);
    out.assert_ok().assert_stdout(b"hello from the origin\n");
    assert!(!out.stderr.contains("Proxy-Authorization: Negotiate"), "Negotiate was sent:\n{}", out.stderr);
    let lines = sq.wait_log(&origin.authority(), |l| !served(l).is_empty());
    assert_eq!(
        served(&lines).iter().map(|l| l.user.as_str()).collect::<Vec<_>>(),
        [ALICE.0],
        "{}",
        show(&lines)
    );
    assert_eq!(count(&lines, 407), 1, "{}", show(&lines));
}

/// The multi-scheme Squid (Negotiate, NTLM, Digest, Basic), with a ticket: Negotiate,
/// though a password is at hand too.
#[test]
fn multi_scheme_with_a_ticket_uses_negotiate() {
    if !kdc::have_kerberos("multi_scheme_with_a_ticket_uses_negotiate")
        || !kdc::have_squid_ntlm("multi_scheme_with_a_ticket_uses_negotiate")
    {
        return;
    }
    let ticket = kdc::realm().ticket();
    ticket.kinit();
    let sq = ChosenSquid::start(&[Offer::Negotiate, Offer::Ntlm, Offer::Digest, Offer::Basic]);
    for tls in [false, true] {
        let origin = Origin::start(tls);
        let out = run(&sq, &ticket, Some(ALICE), &origin);
        out.assert_ok().assert_stdout(b"hello from the origin\n");
        let lines = sq.wait_log(&origin.authority(), |l| !served(l).is_empty());
        let users: Vec<&str> = served(&lines).iter().map(|l| l.user.as_str()).collect();
        assert_eq!(users, [kerberos_user().as_str()], "tls={tls}: {}", show(&lines));
        assert_eq!(count(&lines, 407), 1, "{}", show(&lines));
    }
}

/// The same Squid without a ticket: curl 7.88 `--proxy-anyauth` gives up after Negotiate; toll
/// drops it and succeeds with the password (NTLM, the next strongest), sending it once.
#[test]
fn multi_scheme_without_a_ticket_falls_back_and_succeeds() {
    if !kdc::have_kerberos("multi_scheme_without_a_ticket_falls_back_and_succeeds")
        || !kdc::have_squid_ntlm("multi_scheme_without_a_ticket_falls_back_and_succeeds")
    {
        return;
    }
    let ticket = kdc::realm().ticket();
    let sq = ChosenSquid::start(&[Offer::Negotiate, Offer::Ntlm, Offer::Digest, Offer::Basic]);
    for tls in [false, true] {
        let origin = Origin::start(tls);
        let out = run(&sq, &ticket, Some(ALICE), &origin);
        out.assert_ok().assert_stdout(b"hello from the origin\n");
        assert!(
            !out.stderr.contains("Proxy-Authorization: Negotiate"),
            "Negotiate was sent:\n{}",
            out.stderr
        );
        let ntlm_legs = out.stderr.matches("Proxy-Authorization: NTLM").count();
        assert_eq!(ntlm_legs, 2, "type 1 and type 3, once each:\n{}", out.stderr);
        let lines = sq.wait_log(&origin.authority(), |l| !served(l).is_empty());
        assert_eq!(served(&lines).len(), 1, "{}", show(&lines));
        assert_eq!(count(&lines, 407), 2, "bare challenges, then the type 2: {}", show(&lines));
        eprintln!("multi-scheme, no ticket (tls={tls}): access.log:\n{}", show(&lines));
    }
}

/// Without a ticket and without NTLM on offer: Digest, the next strongest.
#[test]
fn negotiate_digest_basic_without_a_ticket_uses_digest() {
    if !kdc::have_kerberos("negotiate_digest_basic_without_a_ticket_uses_digest") {
        return;
    }
    let ticket = kdc::realm().ticket();
    let sq = ChosenSquid::start(&[Offer::Negotiate, Offer::Digest, Offer::Basic]);
    let origin = Origin::start(true);
    let out = run(&sq, &ticket, Some(ALICE), &origin);
    out.assert_ok().assert_stdout(b"hello from the origin\n");
    assert!(out.stderr.contains("Proxy-Authorization: Digest"), "{}", out.stderr);
    assert!(!out.stderr.contains("Proxy-Authorization: Basic"), "{}", out.stderr);
    let lines = sq.wait_log(&origin.authority(), |l| !served(l).is_empty());
    assert_eq!(
        served(&lines).iter().map(|l| l.user.as_str()).collect::<Vec<_>>(),
        [ALICE.0],
        "{}",
        show(&lines)
    );
}

/// No ticket and a wrong password, Negotiate, Digest and Basic offered: Digest is tried once,
/// and the refused password goes to neither Digest again nor Basic.
#[test]
fn multi_scheme_wrong_password_is_sent_once() {
    if !kdc::have_kerberos("multi_scheme_wrong_password_is_sent_once") {
        return;
    }
    let ticket = kdc::realm().ticket();
    let sq = ChosenSquid::start(&[Offer::Negotiate, Offer::Digest, Offer::Basic]);
    let origin = Origin::start(false);
    let out = run(&sq, &ticket, Some((ALICE.0, "not-her-password")), &origin);
    assert_ne!(out.code, Some(0), "{}", out.describe());
    out.assert_error_message().assert_not_leaked("password", "not-her-password");
    let sent = |scheme: &str| out.stderr.matches(&format!("Proxy-Authorization: {scheme}")).count();
    assert_eq!((sent("Negotiate"), sent("Digest"), sent("Basic")), (0, 1, 0), "{}", out.stderr);
    assert!(served(&sq.log_for(&origin.authority())).is_empty());
}

/// `--delegation`: with `always` (and a forwardable ticket) the Negotiate token carries a
/// forwarded ticket-granting ticket, which the KDC issued on a TGS request for `krbtgt` (its log
/// shows it); with `none`, the default, there is none; with `policy` only for a service the KDC
/// marks ok-as-delegate (`shrubbery/localhost`, not `HTTP/localhost`). curl 7.88 (built with
/// GSS-API) is run the same way beside it, through toll serve too.
#[test]
fn delegation_hands_over_the_ticket_only_when_asked() {
    let test = "delegation_hands_over_the_ticket_only_when_asked";
    if !kdc::have_kerberos(test) {
        return;
    }
    let sq = ChosenSquid::start(&[Offer::Negotiate]);
    let origin = Origin::http();
    let realm = kdc::realm();
    let other = ["--proxy-service-name", kdc::OTHER_SERVICE];
    let cases: [(&[&str], usize); 6] = [
        (&[], 0),
        (&["--delegation", "none"], 0),
        (&["--delegation", "always"], 1),
        (&["--delegation", "POLICY"], 0),
        (&[&["--delegation", "policy"][..], &other[..]].concat(), 1),
        (&[&["--delegation", "none"][..], &other[..]].concat(), 0),
    ];
    let have_curl = crate::have(test, &[crate::t_serve::CURL], "curl");
    for (extra, forwarded) in cases {
        let ticket = realm.ticket();
        ticket.kinit_forwardable();
        let before = realm.forwarded_tgts();
        let mut t = via_proxy(&sq.url(), None, &origin, "/text", extra);
        for (k, v) in ticket.env() {
            t = t.env(&k, &v);
        }
        t.run().assert_ok().assert_stdout(b"hello from the origin\n");
        let log = || crate::squid::tail(&realm.dir.join("kdc.log"));
        assert_eq!(realm.forwarded_tgts() - before, forwarded, "toll {extra:?}: kdc.log:\n{}", log());
        if have_curl {
            // curl's own reading of the option: the same TGS requests.
            let before = realm.forwarded_tgts();
            let mut cmd = std::process::Command::new(crate::t_serve::CURL);
            cmd.args(["-sS", "--proxy-negotiate", "-U", ":", "-x", &sq.url()]).args(extra);
            cmd.arg(origin.url("/text"));
            for (k, v) in ticket.env() {
                cmd.env(k, v);
            }
            let out = cmd.output().expect("curl");
            assert_eq!(
                out.stdout,
                b"hello from the origin\n",
                "curl {extra:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(realm.forwarded_tgts() - before, forwarded, "curl {extra:?}: kdc.log:\n{}", log());
        }
    }
    // Without a forwardable ticket nothing can be handed over, and Negotiate still works.
    let ticket = realm.ticket();
    ticket.kinit();
    let before = realm.forwarded_tgts();
    let mut t = via_proxy(&sq.url(), None, &origin, "/text", &["--delegation", "always"]);
    for (k, v) in ticket.env() {
        t = t.env(&k, &v);
    }
    t.run().assert_ok().assert_stdout(b"hello from the origin\n");
    assert_eq!(realm.forwarded_tgts(), before);

    // toll doctor says whether the credentials would be delegated, and why not.
    let doctor = |ticket: &Ticket<'_>, extra: &[&str]| {
        let (url, proxy) = (origin.url("/text"), sq.url());
        let mut args = vec!["doctor", "-x", proxy.as_str(), "--verify-url", &url];
        args.extend_from_slice(extra);
        args.push(&url);
        let mut t = crate::run::toll(args);
        for (k, v) in ticket.env() {
            t = t.env(&k, &v);
        }
        let out = t.run();
        out.stdout_str()
    };
    let out = doctor(&ticket, &["--delegation", "always"]);
    assert!(
        out.contains("but --delegation always would delegate nothing: your ticket is not forwardable"),
        "{out}"
    );
    assert!(out.contains("kinit -f"), "{out}");
    eprintln!("toll doctor --delegation always, a ticket that is not forwardable:\n{out}");
    let ticket = realm.ticket();
    ticket.kinit_forwardable();
    let out = doctor(&ticket, &["--delegation", "always"]);
    assert!(out.contains("your credentials would be delegated to it"), "{out}");
    let out = doctor(&ticket, &["--delegation", "policy"]);
    assert!(out.contains("the KDC does not mark HTTP/localhost ok-as-delegate"), "{out}");
    let out = doctor(&ticket, &[]);
    assert!(!out.contains("delegat"), "{out}");
}

/// `--proxy-service-name`: the ticket is asked for `shrubbery/localhost`, which Squid's keytab
/// holds, so the proxy accepts it and no `HTTP/localhost` ticket is obtained; through `toll
/// serve` too. A service the KDC does not know makes Negotiate unusable, and the error names
/// the principal asked for.
#[test]
fn proxy_service_name_names_the_proxys_principal() {
    let test = "proxy_service_name_names_the_proxys_principal";
    if !kdc::have_kerberos(test) {
        return;
    }
    let sq = ChosenSquid::start(&[Offer::Negotiate]);
    let origin = Origin::start(true);
    let with = |ticket: &Ticket<'_>, service: &str| {
        let mut t = via_proxy(&sq.url(), None, &origin, "/text", &["-v", "--proxy-service-name", service]);
        for (k, v) in ticket.env() {
            t = t.env(&k, &v);
        }
        t.run()
    };
    let ticket = kdc::realm().ticket();
    ticket.kinit();
    with(&ticket, kdc::OTHER_SERVICE).assert_ok().assert_stdout(b"hello from the origin\n");
    let klist = ticket.klist();
    assert!(klist.contains(&format!("{}/localhost@{KRB_REALM}", kdc::OTHER_SERVICE)), "{klist}");
    assert!(!klist.contains(&format!("HTTP/localhost@{KRB_REALM}")), "{klist}");
    let lines = sq.wait_log(&origin.authority(), |l| !served(l).is_empty());
    assert_eq!(served(&lines)[0].user, kerberos_user(), "{}", show(&lines));

    let ticket = kdc::realm().ticket();
    ticket.kinit();
    let out = with(&ticket, "nosuchservice");
    assert_ne!(out.code, Some(0), "{}", out.describe());
    out.assert_error_message();
    assert!(out.stderr.contains("nosuchservice@localhost"), "{}", out.describe());

    // toll serve takes the option too (the same proxy settings).
    if !crate::have(test, &[crate::t_serve::CURL], "curl") {
        return;
    }
    let ticket = kdc::realm().ticket();
    ticket.kinit();
    let serve = crate::t_serve::Serve::start_env(
        &["-x", &sq.url(), "--proxy-service-name", kdc::OTHER_SERVICE],
        &ticket.env(),
    );
    let (ca, proxy) = (crate::tls::pki().ca_arg(), serve.url());
    let out = crate::t_serve::run(
        crate::t_serve::CURL,
        &["-sS", "--cacert", &ca, "-x", &proxy, &origin.url("/text")],
    );
    assert!(out.status.success(), "curl: {}\n{}", String::from_utf8_lossy(&out.stderr), serve.log());
    assert_eq!(out.stdout, b"hello from the origin\n");
    let klist = ticket.klist();
    assert!(klist.contains(&format!("{}/localhost@{KRB_REALM}", kdc::OTHER_SERVICE)), "{klist}");
}

/// `--negotiate -u :` to a web server asking for Negotiate with a 401 (Squid as the site's
/// reverse proxy, `negotiate_kerberos_auth` checking the ticket): the same engine as the
/// proxy's, the ticket for `HTTP/localhost`, no password; without a ticket the 401 is the
/// answer, as in curl (side by side where curl is installed).
#[test]
fn the_servers_negotiate_uses_the_ticket() {
    let test = "the_servers_negotiate_uses_the_ticket";
    if !kdc::have_kerberos(test) {
        return;
    }
    let ticket = kdc::realm().ticket();
    ticket.kinit();
    let origin = Origin::start(false);
    let web = ChosenSquid::start_web(&[Offer::Negotiate], origin.port);
    let url = format!("{}/text", web.url());
    let with_env = |mut t: crate::run::Toll| {
        for (k, v) in ticket.env() {
            t = t.env(&k, &v);
        }
        t
    };
    let out = with_env(crate::run::toll(["-s", "--negotiate", "-u", ":", "-w", "%{http_code}", &url])).run();
    out.assert_ok().assert_stdout(b"hello from the origin\n200");
    // The challenge and the answer.
    let log = web.settled_log(2);
    let users: Vec<&str> = log.iter().filter(|l| l.code == 200).map(|l| l.user.as_str()).collect();
    assert_eq!(users, [kerberos_user()], "{}", show(&log));
    assert_eq!(count(&log, 401), 1, "one challenge, as a web site's: {}", show(&log));
    assert!(ticket.klist().contains("HTTP/localhost"), "{}", ticket.klist());
    // curl beside it, with the same ticket.
    let curl = |args: &[&str]| {
        let mut c = std::process::Command::new("/usr/bin/curl");
        c.args(args).env_remove("http_proxy").env_remove("HTTP_PROXY").env_remove("all_proxy");
        for (k, v) in ticket.env() {
            c.env(k, v);
        }
        c.output().map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
    };
    match curl(&["-s", "--negotiate", "-u", ":", "-w", "%{http_code}", &url]) {
        Ok(theirs) => assert_eq!(theirs, "hello from the origin\n200"),
        Err(e) => crate::skip(&format!("SKIPPED {test}'s curl half: {e}")),
    }
    // Without a ticket: the server's 401 is the answer (exit 0, as curl's).
    ticket.kdestroy();
    let out = with_env(crate::run::toll([
        "-s",
        "--negotiate",
        "-u",
        ":",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        &url,
    ]))
    .run();
    out.assert_ok().assert_stdout(b"401");
}

/// A password scheme that answered only because Negotiate failed (no ticket yet) is not
/// remembered: after `kinit` the next run uses the ticket, instead of sending the password
/// before the proxy asks (which it did for good).
#[test]
fn a_fallback_for_a_missing_ticket_is_not_remembered() {
    if !kdc::have_kerberos("a_fallback_for_a_missing_ticket_is_not_remembered") {
        return;
    }
    let ticket = kdc::realm().ticket();
    ticket.kinit();
    ticket.kdestroy();
    let sq = ChosenSquid::start(&[Offer::Negotiate, Offer::Basic]);
    let origin = Origin::start(false);
    let state = crate::run::scratch();
    let go = || {
        let mut t = via_proxy(&sq.url(), Some(ALICE), &origin, "/text", &["-v"])
            .env("XDG_STATE_HOME", state.path().to_str().unwrap());
        for (k, v) in ticket.env() {
            t = t.env(&k, &v);
        }
        t.run()
    };
    let out = go();
    out.assert_ok();
    assert!(out.stderr.contains("Proxy-Authorization: Basic"), "{}", out.stderr);
    ticket.kinit();
    let out = go();
    out.assert_ok().assert_stdout(b"hello from the origin\n");
    assert!(
        out.stderr.contains("Proxy-Authorization: Negotiate"),
        "the ticket was not used:\n{}",
        out.stderr
    );
    assert!(!out.stderr.contains("Proxy-Authorization: Basic"), "the password went first:\n{}", out.stderr);
}

/// A proxy that refuses the Kerberos token refuses the next scheme on that connection too
/// (Squid does): the password goes on a new connection, and is not declared wrong.
#[test]
fn after_a_refused_token_the_next_scheme_goes_on_a_new_connection() {
    use crate::fakeproxy::{basic_credentials, reply_407, Action, FakeProxy};
    use std::sync::{Arc, Mutex};
    if !kdc::have_kerberos("after_a_refused_token_the_next_scheme_goes_on_a_new_connection") {
        return;
    }
    let ticket = kdc::realm().ticket();
    ticket.kinit();
    let spoiled = Arc::new(Mutex::new(std::collections::HashSet::new()));
    let seen = spoiled.clone();
    let challenges = ["Negotiate", "Basic realm=\"corp\""];
    let proxy = FakeProxy::start(move |req| match req.proxy_authorization() {
        Some(h) if h.starts_with("Negotiate ") => {
            seen.lock().unwrap().insert(req.conn);
            reply_407(&challenges).into_action()
        }
        Some(h) if basic_credentials(h) == Some((ALICE.0.into(), ALICE.1.into())) => {
            match seen.lock().unwrap().contains(&req.conn) {
                true => reply_407(&challenges).into_action(),
                false => Action::Allow,
            }
        }
        _ => reply_407(&challenges).into_action(),
    });
    let origin = Origin::start(false);
    let url = proxy.url().replace("127.0.0.1", "localhost");
    let mut t = via_proxy(&url, Some(ALICE), &origin, "/text", &["-v"]).env("TOLL_REMEMBER", "0");
    for (k, v) in ticket.env() {
        t = t.env(&k, &v);
    }
    let out = t.run();
    out.assert_ok().assert_stdout(b"hello from the origin\n");
    assert!(out.stderr.contains("Proxy-Authorization: Negotiate"), "{}", out.stderr);
    assert!(!spoiled.lock().unwrap().is_empty());
}

/// No ticket, Negotiate and NTLM offered (the usual corporate proxy), no password given: the
/// error says why Negotiate could not answer and that `kinit` mends it, not only "no password".
#[test]
fn no_ticket_and_no_password_says_kinit() {
    let test = "no_ticket_and_no_password_says_kinit";
    if !kdc::have_kerberos(test) || !kdc::have_squid_ntlm(test) {
        return;
    }
    let ticket = kdc::realm().ticket();
    ticket.kinit();
    ticket.kdestroy();
    let sq = ChosenSquid::start(&[Offer::Negotiate, Offer::Ntlm]);
    let origin = Origin::start(false);
    let out = run(&sq, &ticket, None, &origin);
    out.assert_code(40).assert_error_message();
    assert!(out.stderr.contains("kinit"), "{}", out.describe());
    assert!(out.stderr.contains("(Negotiate: "), "the Negotiate failure is said: {}", out.describe());
}

/// A KDC that takes the request and never answers (MIT waits 27 s by default): `-m` still ends
/// the run on time (exit 28), as for any other wait; the Kerberos call held the transfer until
/// it gave up.
#[test]
fn max_time_bounds_a_kdc_that_never_answers() {
    use crate::fakeproxy::{reply_407, FakeProxy};
    if !kdc::have_kerberos("max_time_bounds_a_kdc_that_never_answers") {
        return;
    }
    let ticket = kdc::realm().ticket();
    ticket.kinit();
    // A KDC address that accepts on TCP and never says a word (UDP goes nowhere).
    let hole = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hole_port = hole.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in hole.incoming().flatten() {
            held.push(c);
        }
    });
    let mut env = ticket.env();
    let conf = kdc::realm().krb5_conf.clone();
    let text = std::fs::read_to_string(&conf).unwrap();
    let kdc_line = text.lines().find(|l| l.trim_start().starts_with("kdc = 127.0.0.1:")).unwrap().to_string();
    let silent = text.replace(&kdc_line, &format!("\t\tkdc = 127.0.0.1:{hole_port}"));
    let dir = crate::run::scratch();
    let silent_conf = dir.path().join("krb5.conf");
    std::fs::write(&silent_conf, silent).unwrap();
    env.retain(|(k, _)| k != "KRB5_CONFIG");
    env.push(("KRB5_CONFIG".into(), silent_conf.display().to_string()));
    let proxy = FakeProxy::start(|_| reply_407(&["Negotiate"]).into_action());
    let origin = Origin::start(false);
    let url = proxy.url().replace("127.0.0.1", "localhost");
    let mut t = via_proxy(&url, None, &origin, "/text", &["-m", "3"]);
    for (k, v) in &env {
        t = t.env(k, v);
    }
    let started = std::time::Instant::now();
    let out = t.run();
    out.assert_code(28);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(8),
        "{:?}: {}",
        started.elapsed(),
        out.describe()
    );
}
