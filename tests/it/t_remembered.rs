//! Remembered proxy authentication (issue 5) against real Squid: a scheme that worked is sent
//! with the first request of the next run. Counted in Squid's access.log per origin, so tests
//! sharing a Squid do not see each other's lines.

use crate::origin::Origin;
use crate::run::{scratch, via_proxy, Out};
use crate::squid::{self, count, show, Auth, Squid, ALICE};

/// `toll -sS -x SQUID -U alice [--cacert CA] -v URL` with the remembered state in `state`.
fn toll_via(sq: &Squid, origin: &Origin, state: &std::path::Path) -> crate::run::Toll {
    via_proxy(&sq.url(), Some(ALICE), origin, "/bytes/1024", &["-v"])
        .env("XDG_STATE_HOME", state.to_str().unwrap())
}

/// One successful run; returns how many 407s it met (from its `-v` trace).
fn run(sq: &Squid, origin: &Origin, state: &std::path::Path) -> usize {
    let out = toll_via(sq, origin, state).run();
    checked(&out)
}

fn checked(out: &Out) -> usize {
    out.assert_ok();
    assert_eq!(out.stdout.len(), 1024, "{}", out.describe());
    out.stderr.matches("< HTTP/1.1 407").count()
}

/// The 407s and the other lines Squid logged for `origin` after `runs` runs.
fn lines_after(sq: &Squid, origin: &Origin, runs: usize) -> (usize, usize, String) {
    let lines = sq.wait_log(&origin.authority(), |l| l.iter().filter(|x| x.code != 407).count() >= runs);
    (count(&lines, 407), lines.iter().filter(|l| l.code != 407).count(), show(&lines))
}

fn repeat_runs_cost_no_407(auth: Auth, tls: bool) {
    let sq = squid::shared(auth);
    let state = scratch();
    // One origin for all runs keeps the per-origin count in access.log cumulative.
    let origin = if tls { Origin::https() } else { Origin::http() };
    for run_no in 1..=4 {
        run(sq, &origin, state.path());
        let (denied, served, log) = lines_after(sq, &origin, run_no);
        assert_eq!(served, run_no, "one served request per run:\n{log}");
        assert_eq!(denied, 1, "only the first run pays a 407 (after {run_no} runs):\n{log}");
    }
}

#[test]
fn remembered_basic_http() {
    crate::require_squid!("remembered_basic_http");
    repeat_runs_cost_no_407(Auth::Basic, false);
}

#[test]
fn remembered_basic_https() {
    crate::require_squid!("remembered_basic_https");
    repeat_runs_cost_no_407(Auth::Basic, true);
}

#[test]
fn remembered_digest_http() {
    crate::require_squid!("remembered_digest_http");
    repeat_runs_cost_no_407(Auth::Digest, false);
}

#[test]
fn remembered_digest_https() {
    crate::require_squid!("remembered_digest_https");
    repeat_runs_cost_no_407(Auth::Digest, true);
}

/// With `nonce_max_count 3` the remembered nonce expires every few runs: over https (a CONNECT's
/// 200 carries no `nextnonce`) each such run pays exactly one `stale=true` 407 and still
/// succeeds with the same credentials.
#[test]
fn remembered_digest_stale_costs_one_407_per_expiry() {
    crate::require_squid!("remembered_digest_stale_costs_one_407_per_expiry");
    let denied = seven_runs_on_a_short_nonce(true);
    // 7 runs with a nonce good for 3 counts: the first 407, then about one stale per 3 runs,
    // never one per run as without memory.
    assert!((2..=4).contains(&denied), "expected a stale 407 every few runs, got {denied}");
}

/// Over http Squid names the next nonce (`Proxy-Authentication-Info: nextnonce`) on the
/// response that uses a nonce's last count, and the run remembers that one: no stale 407 at all.
#[test]
fn remembered_digest_nextnonce_costs_no_stale_407() {
    crate::require_squid!("remembered_digest_nextnonce_costs_no_stale_407");
    assert_eq!(seven_runs_on_a_short_nonce(false), 1, "only the first run pays a 407");
}

/// Seven runs through the `nonce_max_count 3` Squid, each paying at most one 407: all 407s.
fn seven_runs_on_a_short_nonce(tls: bool) -> usize {
    let sq = squid::shared(Auth::DigestStale);
    let state = scratch();
    let origin = if tls { Origin::https() } else { Origin::http() };
    let mut before = 0;
    for run_no in 1..=7 {
        run(sq, &origin, state.path());
        let (denied, served, log) = lines_after(sq, &origin, run_no);
        assert_eq!(served, run_no, "{log}");
        assert!(denied - before <= 1, "run {run_no} paid more than one 407:\n{log}");
        before = denied;
    }
    let (denied, _, log) = lines_after(sq, &origin, 7);
    eprintln!("{log}");
    denied
}

/// Runs at the same time share the state file: every run succeeds and pays at most one 407,
/// most pay none, and the file stays valid JSON without a password. (With concurrent runs a
/// higher nonce count can reach Squid before a lower one; Squid refuses the late one as a
/// replay and toll answers the new nonce: that run pays its one 407.)
#[test]
fn concurrent_runs_share_the_state_safely() {
    crate::require_squid!("concurrent_runs_share_the_state_safely");
    let sq = squid::shared(Auth::Digest);
    let state = scratch();
    let origin = Origin::http();
    assert_eq!(run(sq, &origin, state.path()), 1, "the first run pays the 407");
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(6));
    let runs: Vec<usize> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..6)
            .map(|_| {
                let (barrier, origin, state) = (barrier.clone(), &origin, state.path());
                scope.spawn(move || {
                    let cmd = toll_via(sq, origin, state);
                    barrier.wait();
                    checked(&cmd.run())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let (_, served, log) = lines_after(sq, &origin, 7);
    assert_eq!(served, 7, "{log}");
    assert!(runs.iter().all(|&n| n <= 1), "a run paid more than one 407: {runs:?}\n{log}");
    let free = runs.iter().filter(|&&n| n == 0).count();
    assert!(free >= 3, "most concurrent runs answered before being asked: {runs:?}\n{log}");
    let file = state.path().join("toll/remembered.json");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert!(!json.to_string().contains(ALICE.1), "no password in the state file");
}

/// A remembered scheme the proxy no longer offers costs the one 407 it would have cost anyway,
/// and the credential is not counted as rejected: the run succeeds and remembers the new scheme.
#[test]
fn a_stale_remembered_scheme_costs_one_407() {
    crate::require_squid!("a_stale_remembered_scheme_costs_one_407");
    let sq = squid::shared(Auth::Digest);
    let state = scratch();
    let dir = state.path().join("toll");
    std::fs::create_dir_all(&dir).unwrap();
    let remembered = serde_json::json!({
        "version": 1,
        "proxies": { sq.url(): { "user": ALICE.0, "realm": null, "memory": { "scheme": "Basic" } } }
    });
    std::fs::write(dir.join("remembered.json"), remembered.to_string()).unwrap();
    let origin = Origin::http();
    let paid = run(sq, &origin, state.path());
    let (denied, served, log) = lines_after(sq, &origin, 1);
    assert_eq!((paid, denied, served), (1, 1, 1), "{log}");
    let text = std::fs::read_to_string(dir.join("remembered.json")).unwrap();
    assert!(text.contains("Digest"), "the scheme that worked replaced the stale one: {text}");
    run(sq, &origin, state.path());
    let (denied, served, log) = lines_after(sq, &origin, 2);
    assert_eq!((denied, served), (1, 2), "{log}");
}

/// A credential remembered from an earlier run that the proxy accepts pre-emptively counts as
/// accepted in this run: a later 407 for a destination this user may not reach (Squid: the same
/// 407 as a wrong password) is reported as an access restriction (exit 42), not as a rejected
/// password (41), and the credential is not burned.
#[test]
fn a_remembered_credential_that_worked_makes_a_later_407_a_restriction() {
    crate::require_squid!("a_remembered_credential_that_worked_makes_a_later_407_a_restriction");
    static SQ: std::sync::OnceLock<Squid> = std::sync::OnceLock::new();
    let sq = SQ.get_or_init(|| {
        squid::SquidConfig::new()
            .basic()
            .acl_lines(
                "acl restricted dstdomain restricted.example\n\
                 http_access deny restricted authenticated\n",
            )
            .start()
    });
    let state = scratch();
    let origin = Origin::http();
    assert_eq!(run(sq, &origin, state.path()), 1, "the first run learns Basic");
    let to = crate::pct("http://restricted.example/");
    let out = via_proxy(&sq.url(), Some(ALICE), &origin, &format!("/redirect?to={to}"), &["-L"])
        .env("XDG_STATE_HOME", state.path().to_str().unwrap())
        .run();
    out.assert_code(42);
    assert!(out.stderr.contains("restriction"), "{}", out.describe());
}

/// `-Z` with a remembered scheme: one transfer sends the remembered credential, the others
/// wait for the proxy's verdict on it and then send it too, instead of each going bare and
/// paying a 407 of its own (review M: 19 of 20 did). Basic only: Digest gives each request in
/// flight a session (a nonce and count) of its own, and a new session costs a 407.
fn parallel_run_after_a_remembered_scheme_costs_no_407(auth: Auth, tls: bool) {
    let sq = squid::shared(auth);
    let state = scratch();
    let origin = if tls { Origin::https() } else { Origin::http() };
    run(sq, &origin, state.path());
    let (denied, _, log) = lines_after(sq, &origin, 1);
    assert_eq!(denied, 1, "the first run pays one 407:\n{log}");
    let urls: Vec<String> = (0..10).map(|i| origin.url(&format!("/bytes/16?n={i}"))).collect();
    let out = toll_via(sq, &origin, state.path())
        .args(["-Z", "--parallel-max", "10", "-o", "/dev/null"])
        .args(&urls)
        .run();
    out.assert_ok();
    // `toll_via` adds one URL of its own: 11 in the parallel run; over https a tunnel may
    // carry several of them (one CONNECT line each).
    let (denied, served, log) = lines_after(sq, &origin, if tls { 2 } else { 12 });
    assert!(served <= 12, "{log}");
    assert_eq!(denied, 1, "the parallel run pays no 407:\n{log}\n{}", out.describe());
}

#[test]
fn a_parallel_run_after_remembered_basic_costs_no_407() {
    crate::require_squid!("a_parallel_run_after_remembered_basic_costs_no_407");
    parallel_run_after_a_remembered_scheme_costs_no_407(Auth::Basic, false);
    parallel_run_after_a_remembered_scheme_costs_no_407(Auth::Basic, true);
}

/// A first run with `-Z` (nothing remembered) over http: the transfers that meet a 407 at once
/// ask whether the proxy itself demands authentication with one probe between them, not one
/// each (review M: 20 probes for 20 URLs).
#[test]
fn parallel_transfers_share_one_probe() {
    crate::require_squid!("parallel_transfers_share_one_probe");
    let sq = Squid::start(Auth::Basic);
    let origin = Origin::http();
    let state = scratch();
    let urls: Vec<String> = (0..10).map(|i| origin.url(&format!("/bytes/16?n={i}"))).collect();
    let out =
        crate::run::toll(["-sS", "-Z", "--parallel-max", "10", "-o", "/dev/null", "-x", &sq.url(), "-U"])
            .arg(format!("{}:{}", ALICE.0, ALICE.1))
            .args(&urls)
            .env("XDG_STATE_HOME", state.path().to_str().unwrap())
            .run();
    out.assert_ok();
    let served = sq.wait_log(&origin.authority(), |l| l.iter().filter(|x| x.code == 200).count() >= 10);
    assert_eq!(served.iter().filter(|x| x.code == 200).count(), 10, "{}", show(&served));
    let probes: Vec<_> = sq.access_log().into_iter().filter(|l| l.raw.contains(" CONNECT ")).collect();
    assert_eq!(probes.len(), 1, "{}", show(&probes));
}

/// Remembered authentication that cannot be written (a state directory left to another user
/// by `sudo toll`, here a lock file that is a directory): the transfer works, and the run says
/// at its end that later runs will pay the 407 again (review H: silence, every run, forever);
/// `-s` keeps it quiet.
#[test]
fn remembered_state_that_cannot_be_written_is_said() {
    crate::require_squid!("remembered_state_that_cannot_be_written_is_said");
    let sq = squid::shared(Auth::Basic);
    let origin = Origin::http();
    let state = scratch();
    std::fs::create_dir_all(state.path().join("toll/remembered.json.lock")).unwrap();
    let creds = format!("{}:{}", ALICE.0, ALICE.1);
    let out =
        crate::run::toll(["-S", "-o", "/dev/null", "-x", &sq.url(), "-U", &creds, &origin.url("/text")])
            .args(["--next", "-S", "-o", "/dev/null", "-x", &sq.url(), "-U", &creds, &origin.url("/text")])
            .env("XDG_STATE_HOME", state.path().to_str().unwrap())
            .run();
    out.assert_ok();
    assert!(out.stderr.contains("warning: cannot write") && out.stderr.contains("407"), "{}", out.describe());
    // Once for the process, not once per --next part (review S).
    assert_eq!(out.stderr.matches("warning: cannot write").count(), 1, "{}", out.describe());
    let out =
        crate::run::toll(["-sS", "-o", "/dev/null", "-x", &sq.url(), "-U", &creds, &origin.url("/text")])
            .env("XDG_STATE_HOME", state.path().to_str().unwrap())
            .run();
    out.assert_ok();
    assert!(!out.stderr.contains("warning"), "{}", out.describe());
}
