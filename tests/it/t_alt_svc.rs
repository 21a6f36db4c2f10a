//! `--alt-svc FILE` side by side with curl 7.88: the cache files both write after learning
//! `Alt-Svc` values (expiry dates compared to the second they were written in), which listener
//! a later request reaches (the origin or its alternative, both test origins on loopback; the
//! alternative's certificate covers the origin's name `localhost`), what the alternative is
//! told (`Host` the origin's, `Alt-Used` its own), the same run's later URLs, `--alt-svc ""`,
//! an unreachable alternative, and a cache file with bad lines.

use crate::origin::Origin;
use crate::run::{isolate, scratch, TOLL};
use std::path::Path;
use std::process::{Command, Output, Stdio};

const CURL: &str = "/usr/bin/curl";

fn run(program: &str, args: &[String]) -> Output {
    let home = scratch();
    let mut cmd = Command::new(program);
    cmd.args(args).stdin(Stdio::null());
    isolate(&mut cmd, home.path());
    cmd.output().expect("run")
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// The cache file's lines, each expiry replaced by its distance from `at` in seconds (±2 s
/// rounded away), so that curl's and toll's files written a moment apart compare.
fn normalized(path: &Path, at: i64) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .map(|l| {
            let Some((head, rest)) = l.split_once('"') else { return l.to_string() };
            let Some((date, tail)) = rest.split_once('"') else { return l.to_string() };
            let t = chrono_like(date).map(|t| {
                let d = t - at;
                if (d - 86_400).abs() <= 2 {
                    "+1d".to_string()
                } else if (d - 60).abs() <= 2 {
                    "+60s".to_string()
                } else if d.abs() <= 2 {
                    "+0s".to_string()
                } else {
                    date.to_string()
                }
            });
            format!("{head}\"{}\"{tail}", t.unwrap_or_else(|| date.to_string()))
        })
        .collect()
}

/// `YYYYMMDD HH:MM:SS` (UTC) as Unix seconds.
fn chrono_like(s: &str) -> Option<i64> {
    if s.len() != 17 {
        return None;
    }
    let n = |a: usize, b: usize| s.get(a..b)?.parse::<i64>().ok();
    let (y, m, d) = (n(0, 4)?, n(4, 6)?, n(6, 8)?);
    let (hh, mm, ss) = (n(9, 11)?, n(12, 14)?, n(15, 17)?);
    let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + (153 * m + 2) / 5 + d - 1;
    Some((era * 146_097 + doe - 719_468) * 86_400 + hh * 3600 + mm * 60 + ss)
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// A URL of the origin's `/alt-svc` route sending `value` as `Alt-Svc`.
fn advertising(origin: &Origin, value: &str) -> String {
    let enc: String =
        percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC).to_string();
    format!("https://localhost:{}/alt-svc?h={enc}", origin.port)
}

/// Runs `args` with curl and with toll (each with its own copy of `file`'s initial text, the
/// `{FILE}` placeholder), checks they agree on the exit code and output, and returns both
/// normalized files and toll's output.
fn both(initial: Option<&str>, list: &[&str]) -> (Vec<String>, Vec<String>, Output) {
    let dir = scratch();
    let mut outs = Vec::new();
    let mut files = Vec::new();
    for (who, program) in [("curl", CURL), ("toll", TOLL)] {
        let file = dir.path().join(format!("{who}.altsvc"));
        if let Some(text) = initial {
            std::fs::write(&file, text).unwrap();
        }
        let a: Vec<String> = list.iter().map(|s| s.replace("{FILE}", file.to_str().unwrap())).collect();
        let at = now();
        let out = run(program, &a);
        files.push(if file.exists() { normalized(&file, at) } else { Vec::new() });
        outs.push(out);
    }
    let (c, t) = (&outs[0], &outs[1]);
    assert_eq!(c.status.code(), t.status.code(), "exit codes differ for {list:?}\ncurl: {c:?}\ntoll: {t:?}");
    assert_eq!(
        String::from_utf8_lossy(&c.stdout),
        String::from_utf8_lossy(&t.stdout),
        "stdout differs for {list:?}"
    );
    let toll = outs.pop().unwrap();
    (files.remove(0), files.remove(0), toll)
}

#[test]
fn headers_are_learnt_into_the_same_file_as_curls() {
    let origin = Origin::https();
    let ca = crate::tls::pki().ca_arg();
    let p = origin.port;
    for value in [
        "h2=\":4432\"".to_string(),
        "h2=\":4432\"; ma=60; persist=1".into(),
        "h2=\"other.test:443\", h1=\":4434\"; ma=60".into(),
        "h3=\":4433\", foo=\":1\", h1=\":4435\"".into(),
        "h2=\":4432\", h1=\"b.test\"".into(),
        "h2=\":4432\"; persist".into(),
        "h2=\":4432\"; ma=abc".into(),
        "h2=\"[::1]:4432\"".into(),
        "h2=\"a_b:1\", h2=\":0\"".into(),
        "H2=\"LocalHost:4432\";MA=\"60\"".into(),
        "clear;".into(),
        format!("h2=\":{p}\", h1=\":{p}\"; ma=0"),
    ] {
        let existing = format!(
            "# kept\nh1 localhost {p} h3 localhost 1 \"20300101 00:00:00\" 0 0\n\
             h2 localhost {p} h3 localhost 2 \"20300101 00:00:00\" 1 7\n\
             h1 other.test 443 h2 x.test 443 \"20300101 00:00:00\" 0 0\n"
        );
        let url = advertising(&origin, &value);
        let (curl, toll, out) = both(Some(&existing), &["-s", "--cacert", &ca, "--alt-svc", "{FILE}", &url]);
        assert!(out.status.success(), "{value}: {out:?}");
        assert_eq!(toll, curl, "{value}");
    }
}

#[test]
fn only_https_responses_teach_and_bad_lines_are_skipped() {
    let origin = Origin::http();
    let url = format!("http://localhost:{}/alt-svc?h=h2%3D%22%3A4432%22", origin.port);
    let corrupt = "h1 x.test 1 h2 b.test 2 \"20000101 00:00:00\" 0 0\n\
                   bad line\n\
                   h1 a.test 1 h2 b.test 2 \"2030\" 0 0\n\
                   h9 a.test 1 h2 b.test 2 \"20300101 00:00:00\" 0 0\n\
                   h1 a.test 1 h2 b.test 2 \"20300101 00:00:00\"\n\
                   \th1   c.test   1 h2 b.test 2 \"20300101 00:00:00\" 1 5 extra\n\
                   h1 a.test 99999 h2 b.test 2 \"20300101 00:00:00\" 0 0\n";
    let (curl, toll, _) = both(Some(corrupt), &["-s", "--alt-svc", "{FILE}", &url]);
    assert_eq!(toll, curl);
    assert_eq!(curl.len(), 2 + 4, "{curl:?}");
}

/// Which of the two listeners got a request for `path`: "origin", "alt", or "none".
fn served(origin: &Origin, alt: &Origin, path: &str) -> &'static str {
    match (origin.requests_to(path).len(), alt.requests_to(path).len()) {
        (1, 0) => "origin",
        (0, 1) => "alt",
        (0, 0) => "none",
        other => panic!("{path}: {other:?}"),
    }
}

#[test]
fn an_alternative_is_used_where_curl_uses_it() {
    let (origin, alt) = (Origin::https(), Origin::https());
    let ca = crate::tls::pki().ca_arg();
    let learn = advertising(&origin, &format!("h2=\":{}\"", alt.port));
    let o = origin.port;
    let w = "%{remote_port} %{url_effective}\\n";
    for (who, program) in [("curl", CURL), ("toll", TOLL)] {
        let dir = scratch();
        let file = dir.path().join("cache").display().to_string();
        let path = |n: &str| format!("/alt-svc/{who}/{n}");
        let url = |n: &str| format!("https://localhost:{o}{}", path(n));
        // Learnt from the first URL: the second of the same run goes to the alternative…
        let out =
            run(program, &args(&["-s", "--cacert", &ca, "--alt-svc", &file, &learn, &url("a"), "-w", w]));
        assert!(out.status.success(), "{who}: {out:?}");
        assert_eq!(served(&origin, &alt, &path("a")), "alt", "{who}");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(text.ends_with(&format!("{} {}\n", alt.port, url("a"))), "{who}: {text}");
        // … and with the host and its own name as curl says them.
        let seen = &alt.requests_to(&path("a"))[0];
        assert_eq!(seen.header("host"), Some(format!("localhost:{o}").as_str()), "{who}");
        assert_eq!(seen.header("alt-used"), Some(format!("localhost:{}", alt.port).as_str()), "{who}");
        // A later run reads it from the file.
        let out = run(program, &args(&["-s", "--cacert", &ca, "--alt-svc", &file, &url("b")]));
        assert!(out.status.success(), "{who}: {out:?}");
        assert_eq!(served(&origin, &alt, &path("b")), "alt", "{who}");
        // In memory only: not for the next URL, but for the same URL's redirect.
        let out = run(program, &args(&["-s", "--cacert", &ca, "--alt-svc", "", &learn, &url("c")]));
        assert!(out.status.success(), "{who}: {out:?}");
        assert_eq!(
            served(&origin, &alt, &path("c")),
            "origin",
            "{who}: --alt-svc \"\" keeps one URL's cache"
        );
        // Without --alt-svc the file is not read.
        let out = run(program, &args(&["-s", "--cacert", &ca, &url("d")]));
        assert!(out.status.success(), "{who}: {out:?}");
        assert_eq!(served(&origin, &alt, &path("d")), "origin", "{who}");
        // A --connect-to rule for the origin comes first.
        let rule = format!("localhost:{o}:localhost:{o}");
        let out = run(
            program,
            &args(&["-s", "--cacert", &ca, "--alt-svc", &file, "--connect-to", &rule, &url("e")]),
        );
        assert!(out.status.success(), "{who}: {out:?}");
        assert_eq!(served(&origin, &alt, &path("e")), "origin", "{who}");
    }
}

#[test]
fn a_redirect_uses_what_its_response_taught_even_in_memory() {
    let (origin, alt) = (Origin::https(), Origin::https());
    let ca = crate::tls::pki().ca_arg();
    for (who, program) in [("curl", CURL), ("toll", TOLL)] {
        let next = format!("/alt-svc/{who}/next");
        let url = format!("{}&to={next}", advertising(&origin, &format!("h2=\":{}\"", alt.port)));
        let out = run(program, &args(&["-s", "-L", "--cacert", &ca, "--alt-svc", "", &url]));
        assert!(out.status.success(), "{who}: {out:?}");
        assert_eq!(served(&origin, &alt, &next), "alt", "{who}");
    }
}

#[test]
fn an_unreachable_alternative_fails_the_transfer_as_curl_does() {
    let origin = Origin::https();
    let ca = crate::tls::pki().ca_arg();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let cache = format!("h1 localhost {} h2 localhost {closed} \"20300101 00:00:00\" 0 0\n", origin.port);
    let url = format!("https://localhost:{}/alt-svc/unreachable", origin.port);
    let (curl, toll, out) = both(Some(&cache), &["-s", "--cacert", &ca, "--alt-svc", "{FILE}", &url]);
    assert_eq!(out.status.code(), Some(7), "{out:?}");
    assert_eq!(toll, curl);
    assert!(origin.requests_to("/alt-svc/unreachable").is_empty(), "no fall back to the origin");
}
