//! Issue 10 (speed): NTLM opens with its type-1 message when the scheme is known
//! (`--proxy-ntlm`, or remembered from an earlier run), so a connection costs one 407 — counted
//! in the verifying NTLMv2 fixture's legs and in real Squid's access.log; a remembered NTLM the
//! proxy no longer offers costs the one 407 and is not a rejection; a large download through a
//! CONNECT tunnel arrives byte-exact.

use crate::kdc::{self, ChosenSquid, Offer};
use crate::ntlm_proxy::NtlmProxy;
use crate::origin::Origin;
use crate::run::{scratch, via_proxy, Out, Toll};
use crate::squid::{self, count, show, Auth, ALICE};
use crate::{pattern_bytes, sha256_hex};
use std::path::Path;

const PASSWORD: &str = "Ntlm-pässword:1";

fn with_state(t: Toll, state: &Path) -> Toll {
    t.env("XDG_STATE_HOME", state.to_str().unwrap())
}

/// The legs the verifying fixture saw: (leg, ok, connection).
fn legs(ntlm: &NtlmProxy) -> Vec<(&'static str, bool, usize)> {
    ntlm.events().iter().map(|e| (e.leg, e.ok, e.conn)).collect()
}

fn ntlm_fixture_known_scheme_costs_one_407(tls: bool) {
    let ntlm = NtlmProxy::new("CORP", "alice", "alice@corp.example", PASSWORD);
    let proxy = ntlm.start();
    let origin = Origin::start(tls);
    let creds = Some(("CORP\\alice", PASSWORD));

    // --proxy-ntlm: the first request already carries the type 1.
    let out = via_proxy(&proxy.url(), creds, &origin, "/text", &["--proxy-ntlm", "-v"]).run();
    out.assert_ok().assert_stdout(b"hello from the origin\n");
    assert_eq!(legs(&ntlm), [("type1", true, 1), ("type3", true, 1)], "{}", ntlm.summary());
    assert_eq!(out.stderr.matches("< HTTP/1.1 407").count(), 1, "{}", out.stderr);
    out.assert_not_leaked("password", PASSWORD);

    // Remembered: a first run without --proxy-ntlm pays the bare 407, the next ones do not.
    let state = scratch();
    let ntlm = NtlmProxy::new("CORP", "alice", "alice@corp.example", PASSWORD);
    let proxy = ntlm.start();
    with_state(via_proxy(&proxy.url(), creds, &origin, "/text", &[]), state.path()).run().assert_ok();
    assert_eq!(
        legs(&ntlm),
        [("none", false, 1), ("type1", true, 1), ("type3", true, 1)],
        "{}",
        ntlm.summary()
    );
    let saved = std::fs::read_to_string(state.path().join("toll/remembered.json")).unwrap();
    assert!(saved.contains("\"NTLM\"") && !saved.contains(PASSWORD), "{saved}");
    let out = with_state(via_proxy(&proxy.url(), creds, &origin, "/text", &["-v"]), state.path()).run();
    out.assert_ok().assert_stdout(b"hello from the origin\n");
    // On a new connection (the first run may also have opened one for its auth probe).
    let repeat = &legs(&ntlm)[3..];
    let conn = repeat.first().map_or(0, |l| l.2);
    assert!(conn > 1, "{}", ntlm.summary());
    assert_eq!(
        repeat,
        [("type1", true, conn), ("type3", true, conn)],
        "the repeat run should open with the type 1:\n{}",
        ntlm.summary()
    );
    assert_eq!(out.stderr.matches("< HTTP/1.1 407").count(), 1, "{}", out.stderr);
}

#[test]
fn ntlm_known_scheme_one_407_verified_http() {
    ntlm_fixture_known_scheme_costs_one_407(false);
}

#[test]
fn ntlm_known_scheme_one_407_verified_https() {
    ntlm_fixture_known_scheme_costs_one_407(true);
}

/// A wrong password with --proxy-ntlm is still sent exactly once.
#[test]
fn ntlm_forced_wrong_password_is_sent_once() {
    let ntlm = NtlmProxy::new("CORP", "alice", "alice@corp.example", PASSWORD);
    let proxy = ntlm.start();
    let origin = Origin::start(false);
    let out =
        via_proxy(&proxy.url(), Some(("CORP\\alice", "wrong")), &origin, "/text", &["--proxy-ntlm"]).run();
    assert_ne!(out.code, Some(0), "{}", out.describe());
    out.assert_error_message();
    let type3 = ntlm.events().into_iter().filter(|e| e.leg == "type3").count();
    assert_eq!(type3, 1, "{}", ntlm.summary());
}

/// Real Squid (`ntlm_fake_auth`): one 407 per run with --proxy-ntlm, and on repeat runs
/// (remembered), counted in access.log.
fn squid_ntlm_one_407_per_run(test: &str, tls: bool) {
    if !kdc::have_squid_ntlm(test) {
        return;
    }
    let sq = ChosenSquid::start(&[Offer::Ntlm]);
    let origin = Origin::start(tls);
    let auth = origin.authority();
    let served = |l: &[crate::squid::LogLine]| l.iter().filter(|x| x.code != 407).count();
    let run = |extra: &[&str], state: &Path| -> Out {
        let out = with_state(via_proxy(&sq.url(), Some(ALICE), &origin, "/bytes/1024", extra), state).run();
        out.assert_ok();
        assert_eq!(out.stdout, pattern_bytes(1024), "{}", out.describe());
        out
    };
    let forced = scratch();
    run(&["--proxy-ntlm"], forced.path());
    let lines = sq.wait_log(&auth, |l| served(l) >= 1);
    assert_eq!((count(&lines, 407), served(&lines)), (1, 1), "--proxy-ntlm:\n{}", show(&lines));

    // Without the flag: the first run pays two 407s, repeats one each.
    let state = scratch();
    run(&[], state.path());
    let lines = sq.wait_log(&auth, |l| served(l) >= 2);
    assert_eq!((count(&lines, 407), served(&lines)), (3, 2), "first run:\n{}", show(&lines));
    for n in 1..=2 {
        run(&[], state.path());
        let lines = sq.wait_log(&auth, |l| served(l) >= 2 + n);
        assert_eq!((count(&lines, 407), served(&lines)), (3 + n, 2 + n), "repeat {n}:\n{}", show(&lines));
    }
    eprintln!(
        "NTLM via Squid ({}), access.log:\n{}",
        if tls { "CONNECT" } else { "http" },
        show(&sq.access_log())
    );
}

#[test]
fn squid_ntlm_one_407_per_run_http() {
    squid_ntlm_one_407_per_run("squid_ntlm_one_407_per_run_http", false);
}

#[test]
fn squid_ntlm_one_407_per_run_https() {
    squid_ntlm_one_407_per_run("squid_ntlm_one_407_per_run_https", true);
}

/// NTLM remembered for a proxy that now offers only Basic: the opening type 1 costs the one
/// 407 that Basic costs anyway, nothing counts as a refused password, and Basic is remembered.
#[test]
fn remembered_ntlm_no_longer_offered_is_not_a_rejection() {
    crate::require_squid!("remembered_ntlm_no_longer_offered_is_not_a_rejection");
    let sq = squid::shared(Auth::Basic);
    let origin = Origin::http();
    let state = scratch();
    let file = state.path().join("toll/remembered.json");
    let go = |n: usize| {
        let out =
            with_state(via_proxy(&sq.url(), Some(ALICE), &origin, "/bytes/1024", &["-v"]), state.path())
                .run();
        out.assert_ok();
        let lines = sq.wait_log(&origin.authority(), |l| l.iter().filter(|x| x.code != 407).count() >= n);
        (out, lines)
    };
    let (_, lines) = go(1);
    assert_eq!(count(&lines, 407), 1, "{}", show(&lines));
    // Make the memory say NTLM worked on this proxy (as it would after a proxy change).
    let saved = std::fs::read_to_string(&file).unwrap();
    let ntlm = saved.replacen("\"Basic\"", "\"NTLM\"", 1);
    assert_ne!(saved, ntlm, "{saved}");
    std::fs::write(&file, ntlm).unwrap();

    let (out, lines) = go(2);
    assert_eq!(count(&lines, 407), 2, "the stale NTLM memory costs one 407:\n{}", show(&lines));
    assert!(out.stderr.contains("opening NTLM"), "{}", out.stderr);
    assert!(out.stderr.contains("did not take the opening NTLM message"), "{}", out.stderr);
    assert!(!out.stderr.contains("rejected"), "not a rejection:\n{}", out.stderr);
    assert!(std::fs::read_to_string(&file).unwrap().contains("\"Basic\""));

    let (_, lines) = go(3);
    assert_eq!(count(&lines, 407), 2, "Basic is remembered again:\n{}", show(&lines));
}

/// A large https download through the relay's tunnel copy arrives byte-exact.
#[test]
fn tunnel_large_download_is_byte_exact() {
    crate::require_squid!("tunnel_large_download_is_byte_exact");
    let sq = squid::shared(Auth::Basic);
    let origin = Origin::https();
    let n = 48 * 1024 * 1024 + 5;
    let out = via_proxy(&sq.url(), Some(ALICE), &origin, &format!("/bytes/{n}"), &[]).run();
    out.assert_ok();
    assert_eq!(out.stdout.len(), n);
    assert_eq!(sha256_hex(&out.stdout), sha256_hex(&pattern_bytes(n)));
}

/// `--proxy-negotiate` with a Kerberos ticket: the first request already carries the token, so
/// the run costs no 407 at all (without the flag it costs the bare challenge).
#[test]
fn negotiate_forced_with_a_ticket_costs_no_407() {
    if !kdc::have_kerberos("negotiate_forced_with_a_ticket_costs_no_407") {
        return;
    }
    let ticket = kdc::realm().ticket();
    ticket.kinit();
    let sq = ChosenSquid::start(&[Offer::Negotiate]);
    for tls in [false, true] {
        let origin = Origin::start(tls);
        let mut t = via_proxy(&sq.url(), None, &origin, "/text", &["--proxy-negotiate", "-v"]);
        for (k, v) in ticket.env() {
            t = t.env(&k, &v);
        }
        let out = t.run();
        out.assert_ok().assert_stdout(b"hello from the origin\n");
        let lines = sq.wait_log(&origin.authority(), |l| l.iter().any(|x| x.code != 407));
        assert_eq!(count(&lines, 407), 0, "tls={tls}: {}", show(&lines));
        assert!(!out.stderr.contains("YII"), "a Negotiate token appears in -v output:\n{}", out.stderr);
    }
}
