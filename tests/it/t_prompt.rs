//! The password prompt, through a real pseudo-terminal (`pty`): the prompt appears on the
//! terminal while stdin and stdout are pipes; a wrong password is sent exactly once and then
//! asked again; at most three attempts; Ctrl-C leaves echo on and ends toll by SIGINT (130 to a shell); Ctrl-D aborts with a
//! clear message; without a controlling terminal toll fails at once. The keyring is off here
//! (`TOLL_KEYRING=none`): saving is covered in `t_keyring`.

use crate::fakeproxy::{self, FakeProxy};
use crate::origin::Origin;
use crate::pty::{self, Pty};
use crate::run::{scratch, toll};
use std::time::Duration;

const BODY: &[u8] = b"name=toll&piped=yes\n";

/// A Basic proxy that accepts alice:right, and the origin behind it.
fn setup() -> (FakeProxy, Origin) {
    (FakeProxy::start(fakeproxy::basic("alice", "right")), Origin::http())
}

/// Every password the proxy saw for alice, in order.
fn sent_passwords(proxy: &FakeProxy) -> Vec<String> {
    proxy.requests().iter().filter_map(|r| r.basic_credentials()).map(|(_, p)| p).collect()
}

/// `toll -x PROXY --data-binary @- ORIGIN/upload` on a pty, with BODY piped to stdin.
fn upload_on_pty(proxy: &FakeProxy, origin: &Origin, home: &std::path::Path, extra: &[&str]) -> Pty {
    let mut args: Vec<String> = vec!["-x".into(), proxy.url(), "--data-binary".into(), "@-".into()];
    args.extend(extra.iter().map(|s| s.to_string()));
    args.push(origin.url("/upload"));
    Pty::spawn(pty::command(args, home, &[]), Some(BODY.to_vec()))
}

fn upload_answer() -> String {
    format!("{} {}\n", crate::sha256_hex(BODY), BODY.len())
}

#[test]
fn prompt_on_the_terminal_while_stdin_and_stdout_are_pipes() {
    let (proxy, origin) = setup();
    let home = scratch();
    let mut t = upload_on_pty(&proxy, &origin, home.path(), &[]);
    t.expect(&format!("Proxy {} requires authentication (Basic, realm \"fake\")", proxy.addr));
    t.expect("User: ");
    t.send("alice\r");
    t.expect("Password for alice: ");
    let lflag = t.lflag_now();
    assert_eq!(lflag & libc::ECHO, 0, "echo must be off while the password is typed");
    t.send("right\r");
    let out = t.wait();
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert_eq!(String::from_utf8_lossy(&out.stdout), upload_answer(), "the piped body arrived intact");
    assert!(!out.screen.contains("right"), "the password was echoed:\n{}", out.describe());
    assert!(!out.stderr.contains("right"), "{}", out.describe());
    assert!(out.screen.contains("alice"), "the user name is echoed as typed:\n{}", out.describe());
    assert!(!out.screen.contains("Save it"), "no keyring (TOLL_KEYRING=none): no save question");
    assert!(out.terminal_restored(), "{}", out.describe());
    assert_eq!(sent_passwords(&proxy), ["right"], "{}", proxy.summary());
}

/// Time at the prompt is not the network's: `--speed-time 1` does not end a run whose user
/// takes longer than that to type the password.
#[test]
fn the_prompt_does_not_count_against_speed_time() {
    let (proxy, origin) = setup();
    let home = scratch();
    // A GET: an upload of standard input is not watched by --speed-limit before its answer.
    let args = ["-x", &proxy.url(), "--speed-limit", "1", "--speed-time", "1", &origin.url("/text")]
        .map(String::from);
    let mut t = Pty::spawn(pty::command(args, home.path(), &[]), None);
    t.expect("User: ");
    std::thread::sleep(Duration::from_millis(1500));
    t.send("alice\r");
    t.expect("Password for alice: ");
    std::thread::sleep(Duration::from_millis(1500));
    t.send("right\r");
    let out = t.wait();
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello from the origin\n");
    assert!(out.terminal_restored(), "{}", out.describe());
}

#[test]
fn a_wrong_password_is_sent_once_then_asked_again() {
    let (proxy, origin) = setup();
    let home = scratch();
    let mut t = upload_on_pty(&proxy, &origin, home.path(), &[]);
    t.expect("User: ");
    t.send("alice\r");
    t.expect("Password for alice: ");
    t.send("wrong\r");
    t.expect(&format!("Proxy {} rejected the password for alice.", proxy.addr));
    t.expect("attempt 2 of 3");
    t.expect("User [alice]: ");
    t.send("\r");
    t.expect("Password for alice: ");
    t.send("wrong\r");
    // The same rejected password is refused locally, not sent again.
    t.expect("already rejected that password");
    t.expect("attempt 3 of 3");
    t.expect("User [alice]: ");
    t.send("\r");
    t.expect("Password for alice: ");
    t.send("right\r");
    let out = t.wait();
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert_eq!(String::from_utf8_lossy(&out.stdout), upload_answer());
    assert_eq!(sent_passwords(&proxy), ["wrong", "right"], "{}", proxy.summary());
}

#[test]
fn three_prompted_attempts_at_most() {
    let (proxy, origin) = setup();
    let home = scratch();
    let mut t = upload_on_pty(&proxy, &origin, home.path(), &["-U", "alice"]);
    for (i, pw) in ["one", "two", "three"].iter().enumerate() {
        if i > 0 {
            t.expect(&format!("attempt {} of 3", i + 1));
        }
        // -U alice: only the password is asked for.
        t.expect("Password for alice: ");
        t.send(&format!("{pw}\r"));
        t.expect("rejected the password for alice.");
    }
    let out = t.wait();
    assert_eq!(out.code, Some(41), "{}", out.describe());
    assert!(!out.screen.contains("User"), "-U named the user:\n{}", out.describe());
    assert_eq!(out.screen.matches("Password for alice: ").count(), 3, "{}", out.describe());
    assert!(out.stderr.contains("toll auth login"), "{}", out.describe());
    assert_eq!(sent_passwords(&proxy), ["one", "two", "three"], "{}", proxy.summary());
}

#[test]
fn ctrl_c_at_the_password_prompt_restores_echo_and_exits_130() {
    let (proxy, origin) = setup();
    let home = scratch();
    let mut t = upload_on_pty(&proxy, &origin, home.path(), &[]);
    t.expect("User: ");
    t.send("alice\r");
    t.expect("Password for alice: ");
    assert_eq!(t.lflag_now() & libc::ECHO, 0, "echo is off while the password is typed");
    t.send("half-typ\x03");
    let out = t.wait();
    // Ended by SIGINT itself, as curl (a shell reports 130), so a script's loop stops.
    assert_eq!((out.code, out.signal), (None, Some(libc::SIGINT)), "{}", out.describe());
    assert!(
        out.terminal_restored(),
        "echo/icanon/isig not restored (lflag {:#o}):\n{}",
        out.lflag,
        out.describe()
    );
    assert!(sent_passwords(&proxy).is_empty(), "{}", proxy.summary());
}

/// The `-u user` prompt comes before the runtime watches Ctrl-C: rpassword's SIGINT killed toll
/// there with the terminal left raw (no echo, no line editing, no Ctrl-C).
#[test]
fn ctrl_c_at_the_origin_password_prompt_restores_the_terminal_and_exits_130() {
    let origin = Origin::http();
    let home = scratch();
    let args = vec!["-u".to_string(), "bob".into(), origin.url("/basic")];
    let mut t = Pty::spawn(pty::command(args, home.path(), &[]), None);
    t.expect("Enter host password for user 'bob': ");
    t.send("half\x03");
    let out = t.wait();
    // Ended by SIGINT itself, as curl (a shell reports 130), so a script's loop stops.
    assert_eq!((out.code, out.signal), (None, Some(libc::SIGINT)), "{}", out.describe());
    assert!(out.terminal_restored(), "lflag {:#o}:\n{}", out.lflag, out.describe());
}

#[test]
fn ctrl_c_at_the_user_prompt_exits_130() {
    let (proxy, origin) = setup();
    let home = scratch();
    let mut t = upload_on_pty(&proxy, &origin, home.path(), &[]);
    t.expect("User: ");
    t.send("ali\x03");
    let out = t.wait();
    // Ended by SIGINT itself, as curl (a shell reports 130), so a script's loop stops.
    assert_eq!((out.code, out.signal), (None, Some(libc::SIGINT)), "{}", out.describe());
    assert!(out.terminal_restored(), "{}", out.describe());
}

#[test]
fn ctrl_d_at_the_password_prompt_aborts_with_a_clear_message() {
    let (proxy, origin) = setup();
    let home = scratch();
    let mut t = upload_on_pty(&proxy, &origin, home.path(), &[]);
    t.expect("User: ");
    t.send("alice\r");
    t.expect("Password for alice: ");
    t.send("\x04");
    let out = t.wait();
    assert_eq!(out.code, Some(40), "{}", out.describe());
    assert!(out.stderr.contains("aborted with Ctrl-D"), "{}", out.describe());
    assert!(out.terminal_restored(), "{}", out.describe());
    assert!(sent_passwords(&proxy).is_empty());
}

#[test]
fn no_prompt_flag_means_no_prompt_even_on_a_terminal() {
    let (proxy, origin) = setup();
    let home = scratch();
    let t = Pty::spawn(
        pty::command(
            ["-sS", "-x", &proxy.url(), &origin.url("/text")],
            home.path(),
            &[("TOLL_NO_PROMPT", "1")],
        ),
        None,
    );
    let out = t.wait();
    assert_eq!(out.code, Some(40), "{}", out.describe());
    assert!(out.screen.is_empty(), "nothing may be asked:\n{}", out.describe());
}

#[test]
fn without_a_controlling_terminal_the_run_fails_at_once() {
    let (proxy, origin) = setup();
    // run.rs: setsid (no controlling terminal), stdin /dev/null. The keyring is on ("auto") but
    // holds nothing for this proxy, so it is not even asked.
    let out = toll(["-x", &proxy.url(), &origin.url("/text")]).env("TOLL_KEYRING", "auto").run();
    out.assert_code(40).assert_error_message().assert_faster_than(Duration::from_secs(5));
    let login = format!("toll auth login {}", proxy.url());
    assert!(out.stderr.contains(&login), "the hint names `{login}`:\n{}", out.describe());
    assert!(sent_passwords(&proxy).is_empty());
}

#[test]
fn a_password_on_the_command_line_is_noted_once() {
    let (proxy, origin) = setup();
    let out = toll(["-x", &proxy.url(), "-U", "alice:right", &origin.url("/text")]).run();
    out.assert_ok();
    assert_eq!(out.stderr.matches("visible to other local users").count(), 1, "{}", out.describe());
    assert!(out.stderr.contains("toll auth login"), "{}", out.describe());
    assert!(!out.stderr.contains("right"), "{}", out.describe());
    let silent =
        toll(["-s", "-x", &proxy.url(), "-U", "alice:right", &origin.url("/text")]).exact_stderr().run();
    silent.assert_ok();
    assert!(silent.stderr.is_empty(), "-s: no note:\n{}", silent.describe());
    let url_pw = toll(["-x", &format!("http://alice:right@{}", proxy.addr), &origin.url("/text")]).run();
    url_pw.assert_ok();
    assert_eq!(url_pw.stderr.matches("visible to other local users").count(), 1, "{}", url_pw.describe());
}

/// A transfer that breaks off after its progress bar was drawn: the error is a line of its own,
/// not glued to the end of the bar (curl ends its meter's line too).
#[test]
fn an_error_after_the_progress_bar_starts_on_a_line_of_its_own() {
    let origin = Origin::http();
    let home = scratch();
    let file = home.path().join("out.bin");
    let args = vec!["-o".to_string(), file.display().to_string(), origin.url("/truncated")];
    let t = Pty::spawn_drawing(pty::command(args, home.path(), &[("TERM", "xterm")]));
    let out = t.wait();
    assert_eq!(out.code, Some(18), "{}", out.describe());
    let at = out.screen.find("toll: error").unwrap_or_else(|| panic!("{}", out.describe()));
    assert!(out.screen[..at].contains("500 B"), "no bar was drawn: {}", out.describe());
    assert!(out.screen[..at].ends_with('\n'), "{:?}", out.screen);
}

/// With `-Z`, another transfer's progress bar does not draw over the password prompt (it wiped
/// the prompt with every redraw): bars stop while a prompt is on the terminal.
#[test]
fn another_transfers_progress_bar_stays_off_the_prompt() {
    use std::io::{Read, Write};
    let drip = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = drip.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let Ok((mut c, _)) = drip.accept() else { return };
        let mut head = [0u8; 4096];
        let _ = c.read(&mut head);
        let _ = c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 300000\r\n\r\n");
        for _ in 0..300 {
            if c.write_all(&[b'x'; 1000]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    let (proxy, origin) = setup();
    let home = scratch();
    let dripping = format!("http://127.0.0.1:{port}/big");
    let args: Vec<String> = vec![
        "-Z".into(),
        "-x".into(),
        proxy.url(),
        "-U".into(),
        "alice".into(),
        "--noproxy".into(),
        format!("127.0.0.1:{port}"),
        "-o".into(),
        home.path().join("drip.bin").display().to_string(),
        dripping,
        "-o".into(),
        home.path().join("text.txt").display().to_string(),
        origin.url("/text"),
    ];
    let mut t = Pty::spawn_drawing(pty::command(args, home.path(), &[("TERM", "xterm")]));
    t.expect("Password for alice: ");
    std::thread::sleep(Duration::from_millis(800));
    let screen = t.screen();
    let after = &screen[screen.rfind("Password for alice: ").unwrap() + "Password for alice: ".len()..];
    assert!(after.is_empty(), "a bar was drawn over the prompt: {after:?}");
    t.send("right\r");
    let out = t.wait();
    assert_eq!(out.code, Some(0), "{}", out.describe());
}

/// Ctrl-D aborts for every scheme, once: review H saw the prompt come back ("attempt 2 of 3")
/// against a Digest Squid, in a case not reproduced here; since then no prompt asks again in a
/// process where one was ended with Ctrl-D. This guards the plain Digest case.
#[test]
fn ctrl_d_aborts_against_a_digest_proxy_too() {
    crate::require_squid!("ctrl_d_aborts_against_a_digest_proxy_too");
    let sq = crate::squid::shared(crate::squid::Auth::Digest);
    let origin = Origin::http();
    let home = scratch();
    let args = vec!["-sS".to_string(), "-x".into(), sq.url(), origin.url("/text")];
    let mut t = Pty::spawn_interactive(pty::command(args, home.path(), &[]));
    t.expect("User: ");
    t.send("alice\r");
    t.expect("Password for alice: ");
    t.send("\x04");
    let out = t.wait();
    assert_eq!(out.code, Some(40), "{}", out.describe());
    assert!(!out.screen.contains("attempt 2"), "{}", out.describe());
    assert!(out.stderr.contains("aborted with Ctrl-D"), "{}", out.describe());
}
