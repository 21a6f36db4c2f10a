//! The transfer and output options (`-F`, `-C`, `-J`, `-R`, `--max-filesize`, `--stderr`,
//! `--oauth2-bearer`) where the differential suite cannot look: file times, files a hostile
//! server must not create or corrupt, what stays out of messages, large streamed bodies.

use crate::origin::Origin;
use crate::run::{scratch, toll};
use std::time::{Duration, UNIX_EPOCH};

#[test]
fn remote_time_sets_the_files_mtime_from_last_modified() {
    let origin = Origin::http();
    let dir = scratch();
    toll(["-s", "-R", "-o", "out.txt"]).arg(origin.url("/dated")).cwd(dir.path()).run().assert_ok();
    let m = std::fs::metadata(dir.path().join("out.txt")).unwrap().modified().unwrap();
    let want = httpdate::parse_http_date("Tue, 01 Dec 2026 00:00:00 GMT").unwrap();
    assert_eq!(m, want);
    // Without -R the file has the time it was written.
    toll(["-s", "-o", "now.txt"]).arg(origin.url("/dated")).cwd(dir.path()).run().assert_ok();
    let m = std::fs::metadata(dir.path().join("now.txt")).unwrap().modified().unwrap();
    assert!(
        m.duration_since(UNIX_EPOCH).unwrap()
            > want.duration_since(UNIX_EPOCH).unwrap() + Duration::from_secs(60)
    );
}

#[test]
fn resume_appends_only_what_a_range_answer_gives() {
    let origin = Origin::http();
    let dir = scratch();
    let all = crate::pattern_bytes(2_000_000);
    let file = dir.path().join("big.bin");
    std::fs::write(&file, &all[..700_000]).unwrap();
    toll(["-s", "-C", "-", "-o", "big.bin"])
        .arg(origin.url("/range/2000000"))
        .cwd(dir.path())
        .run()
        .assert_ok();
    assert!(std::fs::read(&file).unwrap() == all, "the resumed file is not the whole file");
    assert_eq!(origin.requests_to("/range")[0].header("range"), Some("bytes=700000-"));
    // A server that ignores the range: exit 33, the partial file as it was, nothing else left.
    std::fs::write(&file, &all[..700_000]).unwrap();
    let out =
        toll(["-sS", "-C", "-", "-o", "big.bin"]).arg(origin.url("/bytes/2000000")).cwd(dir.path()).run();
    out.assert_code(33).assert_error_message();
    assert!(std::fs::read(&file).unwrap() == all[..700_000], "the partial file was changed");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "a temporary file was left");
    // Nor does an error page or a redirect not followed replace it (curl's 33 too).
    for route in ["/status/404", "/status/503", "/redirect?to=/range/2000000"] {
        let out = toll(["-sS", "-C", "-", "-o", "big.bin"]).arg(origin.url(route)).cwd(dir.path()).run();
        out.assert_code(33).assert_error_message();
        assert!(std::fs::read(&file).unwrap() == all[..700_000], "{route} changed the partial file");
    }
}

#[test]
fn remote_header_name_is_never_a_path_a_hidden_file_or_an_overwrite() {
    let origin = Origin::http();
    let dir = scratch();
    let sub = dir.path().join("work");
    std::fs::create_dir(&sub).unwrap();
    let raw = |v: &str| origin.url(&format!("/disposition-raw?v={}", crate::pct(v)));
    // A path: only its last component, in the current directory.
    toll(["-s", "-OJ"]).arg(raw("attachment; filename=\"../escaped.txt\"")).cwd(&sub).run().assert_ok();
    assert!(sub.join("escaped.txt").exists() && !dir.path().join("escaped.txt").exists());
    // A hidden name or one with a bidi override: the URL's name instead.
    for bad in ["attachment; filename=\".bashrc\"", "attachment; filename=\"exe\u{202e}txt.exe\""] {
        toll(["-s", "-OJ"]).arg(raw(bad)).cwd(&sub).run().assert_ok();
        assert!(sub.join("disposition-raw").exists(), "{bad}");
        std::fs::remove_file(sub.join("disposition-raw")).unwrap();
    }
    assert!(!sub.join(".bashrc").exists());
    // An existing file is kept: exit 23, as curl.
    std::fs::write(sub.join("mine.txt"), b"precious").unwrap();
    let out = toll(["-sS", "-OJ"]).arg(raw("attachment; filename=\"mine.txt\"")).cwd(&sub).run();
    out.assert_code(23).assert_error_message();
    assert_eq!(std::fs::read(sub.join("mine.txt")).unwrap(), b"precious");
}

#[test]
fn a_large_form_file_is_streamed_with_its_length() {
    let origin = Origin::http();
    let dir = scratch();
    let data = crate::pattern_bytes(3_000_000);
    std::fs::write(dir.path().join("big.bin"), &data).unwrap();
    let out =
        toll(["-s", "-F", "up=@big.bin", "-F", "note=hi"]).arg(origin.url("/form")).cwd(dir.path()).run();
    out.assert_ok();
    let text = out.stdout_str();
    assert!(text.contains(&format!("<3000000 bytes, sha256 {}>", crate::sha256_hex(&data))), "{text}");
    assert!(text.contains("name=\"note\"\nhi\n"), "{text}");
    let r = &origin.requests_to("/form")[0];
    assert_eq!(r.header("content-length").map(|l| l.parse::<usize>().unwrap()), Some(r.body_len));
    // A missing file: curl's exit 26, nothing sent.
    toll(["-s", "-F", "up=@missing.bin"]).arg(origin.url("/form")).cwd(dir.path()).run().assert_code(26);
    assert_eq!(origin.requests_to("/form").len(), 1);
}

#[test]
fn max_filesize_leaves_no_file_and_stderr_goes_where_asked() {
    let origin = Origin::http();
    let dir = scratch();
    let out = toll(["-sS", "--max-filesize", "1k", "-o", "out.bin", "--stderr", "err.txt"])
        .arg(origin.url("/bytes/5000"))
        .cwd(dir.path())
        .run();
    out.assert_code(63);
    assert!(out.stderr.is_empty(), "stderr went to the file: {}", out.describe());
    let err = std::fs::read_to_string(dir.path().join("err.txt")).unwrap();
    assert!(err.contains("--max-filesize"), "{err}");
    assert!(!dir.path().join("out.bin").exists());
}

#[test]
fn the_bearer_token_stays_out_of_messages() {
    let origin = Origin::http();
    let out = toll(["-s", "-v", "--oauth2-bearer", "t0k3n-bearer-xyz"])
        .arg(origin.url("/req?h=authorization"))
        .run();
    out.assert_ok().assert_stdout(b"GET /req?h=authorization\nauthorization: Bearer t0k3n-bearer-xyz\n");
    assert!(!out.stderr.contains("t0k3n-bearer-xyz"), "the token is in the -v trace:\n{}", out.describe());
}

/// A server for `requests` requests, one connection each, every one on its own thread: it reads
/// the head, then answers 200 with what `answer` gives (which may wait) and closes.
fn server_of(
    requests: usize,
    answer: impl Fn() -> String + Send + Sync + 'static,
) -> (String, std::thread::JoinHandle<()>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let answer = std::sync::Arc::new(answer);
    let handle = std::thread::spawn(move || {
        let mut workers = Vec::new();
        for stream in listener.incoming().take(requests) {
            let mut stream = stream.unwrap();
            let answer = answer.clone();
            workers.push(std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap() > 2 {
                    line.clear();
                }
                let body = answer();
                let head =
                    format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
                let _ = stream.write_all(format!("{head}{body}").as_bytes());
            }));
        }
        for w in workers {
            let _ = w.join();
        }
    });
    (base, handle)
}

/// A server whose answers say whether two requests were in flight at once: each waits (up to
/// 10 s) for the other to arrive, then answers `together` or, alone, `alone`.
fn rendezvous_server() -> (String, std::thread::JoinHandle<()>) {
    use std::sync::{Condvar, Mutex};
    let arrived = (Mutex::new(0usize), Condvar::new());
    server_of(2, move || {
        let (count, cv) = &arrived;
        let mut n = count.lock().unwrap();
        *n += 1;
        cv.notify_all();
        let (n, _) = cv.wait_timeout_while(n, Duration::from_secs(10), |n| *n < 2).unwrap();
        if *n >= 2 { "together\n" } else { "alone\n" }.to_string()
    })
}

#[test]
fn parallel_runs_the_urls_at_the_same_time() {
    let (base, server) = rendezvous_server();
    let dir = scratch();
    toll(["-s", "-Z", "-o", "f_#1.txt"])
        .arg(format!("{base}/{{a,b}}"))
        .cwd(dir.path())
        .timeout(Duration::from_secs(30))
        .run()
        .assert_ok();
    server.join().unwrap();
    for f in ["f_a.txt", "f_b.txt"] {
        assert_eq!(std::fs::read_to_string(dir.path().join(f)).unwrap(), "together\n", "{f}");
    }
}

/// A server that holds every request 300 ms and answers with the most requests it has had in
/// flight at once so far (`N\n`), for `requests` requests.
fn crowd_server(requests: usize) -> (String, std::thread::JoinHandle<()>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let (now, most) = (AtomicUsize::new(0), AtomicUsize::new(0));
    server_of(requests, move || {
        let in_flight = now.fetch_add(1, Ordering::SeqCst) + 1;
        most.fetch_max(in_flight, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(300));
        let body = format!("{}\n", most.load(Ordering::SeqCst));
        now.fetch_sub(1, Ordering::SeqCst);
        body
    })
}

/// curl 8.16's `--parallel-max-host`: with `-Z`, at most N transfers at once to one host; without
/// it the five URLs of a glob run together.
#[test]
fn parallel_max_host_limits_the_transfers_to_one_host() {
    // Without the limit, more than 2 at once (all 5 when the machine starts them within 300 ms).
    for (limit, most) in [(Some("2"), 2..=2), (None, 3..=5)] {
        let (base, server) = crowd_server(5);
        let mut args = vec!["-s", "-Z"];
        args.extend(limit.map(|n| ["--parallel-max-host", n]).into_iter().flatten());
        let out = toll(args).arg(format!("{base}/[1-5]")).timeout(Duration::from_secs(30)).run();
        out.assert_ok();
        server.join().unwrap();
        let seen: Vec<usize> = out.stdout_str().lines().map(|l| l.parse().unwrap()).collect();
        assert!(seen.iter().max().is_some_and(|m| most.contains(m)), "{limit:?}: {seen:?}");
    }
}

/// `--rate 4/s`: one URL after another starts at most every 250 ms (three quick ones: the last
/// starts 500 ms or more after the first); `-v` says how long each wait was. With `-Z` it has no
/// effect, as in curl.
#[test]
fn rate_spaces_the_starts_of_the_urls() {
    let origin = Origin::http();
    let started = std::time::Instant::now();
    let out = toll(["-s", "-v", "--rate", "4/s", "-o", "/dev/null", "-o", "/dev/null", "-o", "/dev/null"])
        .arg(origin.url("/text"))
        .arg(origin.url("/json"))
        .arg(origin.url("/text"))
        .run();
    out.assert_ok();
    assert!(started.elapsed() >= Duration::from_millis(500), "{:?}", started.elapsed());
    assert_eq!(out.stderr.matches("as --rate says").count(), 2, "{}", out.describe());
    let out = toll(["-s", "-Z", "-v", "--rate", "1/h", "-o", "/dev/null", "-o", "/dev/null"])
        .arg(origin.url("/text"))
        .arg(origin.url("/json"))
        .timeout(Duration::from_secs(30))
        .run();
    out.assert_ok();
    assert!(!out.stderr.contains("as --rate says"), "{}", out.describe());
}

/// `-Z`'s status is the last failure's to finish, as curl 7.88's (whatever the order of the
/// URLs); a success after it does not clear it; each failure is printed once. With
/// `--fail-early` the first failure ends the line and is the status.
#[test]
fn parallel_exits_with_the_last_failure_to_finish() {
    let origin = Origin::http();
    let dir = scratch();
    let out = toll(["-s", "-f", "-Z", "-o", "a.txt", "-o", "b.txt"])
        .arg(origin.url("/status/404"))
        .arg(origin.url("/text"))
        .cwd(dir.path())
        .run();
    out.assert_code(22);
    assert_eq!(std::fs::read(dir.path().join("b.txt")).unwrap(), b"hello from the origin\n");
    let refused = format!("http://127.0.0.1:{}/", crate::free_port());
    let (hang, missing) = (origin.url("/hang"), origin.url("/status/404"));
    for (urls, max, code) in [
        // One at a time: the later failure is the status (it was the first's).
        ([refused.as_str(), missing.as_str()], "1", 22),
        ([missing.as_str(), refused.as_str()], "1", 7),
        // At once: the 404 at once, the timeout a second later: 28, whatever the order. (A
        // refusal and a 404 finish too close together to say which is last, in curl too.)
        ([hang.as_str(), missing.as_str()], "50", 28),
        ([missing.as_str(), hang.as_str()], "50", 28),
    ] {
        let args =
            ["-sS", "-f", "-Z", "--parallel-max", max, "-m", "1", "-o", "/dev/null", "-o", "/dev/null"];
        let out = toll(args).args(urls).run();
        out.assert_code(code);
        assert_eq!(out.stderr.matches("toll: error:").count(), 2, "each failure once:\n{}", out.describe());
    }
    // --fail-early: the failure that ends the line (the others are dropped, not counted).
    let out = toll(["-s", "-f", "-Z", "--fail-early", "-m", "5", "-o", "/dev/null", "-o", "/dev/null"])
        .args([&missing, &hang])
        .run();
    out.assert_code(22).assert_faster_than(std::time::Duration::from_secs(4));
}

/// Standard input that fails after its first MiB (the part read ahead, so a 407 could be
/// answered with it again) is a read error (26) through a proxy (http and https) as well as
/// direct, although
/// the relay that streams the rest only sees a connection that broke. It was 43, blaming the
/// proxy.
#[test]
fn standard_input_that_fails_midway_is_a_read_error_through_a_proxy_too() {
    let (http, https) = (Origin::http(), Origin::https());
    let proxy = crate::fakeproxy::FakeProxy::start(crate::fakeproxy::open());
    let big = crate::pattern_bytes(3 << 20);
    let ca = crate::tls::pki().ca_arg();
    for (via, origin) in [(proxy.url(), &http), (proxy.url(), &https), (String::new(), &http)] {
        let out =
            toll(["-sS", "--expect100-timeout", "0", "--data-binary", "@-", "--cacert", &ca, "-x", &via])
                .arg(origin.url("/upload"))
                .stdin_then_reset(&big)
                .run();
        out.assert_code(26);
        assert!(
            out.stderr.contains("cannot read standard input") && !out.stderr.contains("proxy"),
            "{}",
            out.describe()
        );
    }
}

/// Standard input as the body of several URLs: read whole (up to 1 MiB) it goes to each, as
/// curl sends `-d @-` data to each; a larger one is streamed to the first, and the next URL
/// fails with exit 26 instead of being sent an empty body.
#[test]
fn standard_input_goes_to_every_url_or_fails_clearly() {
    let origin = Origin::http();
    let small = b"a=1&b=2".to_vec();
    let out = toll(["-sS", "--data-binary", "@-", "-w", "%{size_upload}\n"])
        .arg(origin.url("/upload"))
        .arg(origin.url("/upload"))
        .stdin(&small)
        .run();
    out.assert_code(0);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let line = format!("{} 7\n7\n", crate::sha256_hex(&small));
    assert_eq!(text, line.repeat(2), "{}", out.describe());

    let big = crate::pattern_bytes(3 << 20);
    let out = toll(["-sS", "--data-binary", "@-"])
        .arg(origin.url("/upload"))
        .arg(origin.url("/upload"))
        .stdin(&big)
        .run();
    out.assert_code(26);
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("{} {}\n", crate::sha256_hex(&big), big.len()));
    assert!(out.stderr.contains("cannot be sent again"), "{}", out.describe());
}

/// Bodies whose length is only known once read carry it where curl's do: a `-d @FILE` over
/// 1 MiB (its line breaks dropped: counted first, then streamed), a form part from standard
/// input, and with `--http1.0`, which has no chunked coding, standard input of any size (sent
/// without a length there, the server got nothing).
#[test]
fn bodies_measured_by_reading_are_sent_with_their_length() {
    let origin = Origin::http();
    let dir = scratch();
    let lines = b"k=v&w=x\r\nmore\n".repeat(150_000);
    std::fs::write(dir.path().join("lines.txt"), &lines).unwrap();
    let kept: Vec<u8> = lines.iter().copied().filter(|b| *b != b'\r' && *b != b'\n').collect();
    let big = crate::pattern_bytes(3 << 20);
    let runs = [
        (toll(["-sS", "-d", "@lines.txt"]).arg(origin.url("/upload")).cwd(dir.path()), &kept),
        (toll(["-sS", "--http1.0", "--data-binary", "@-"]).arg(origin.url("/upload")).stdin(&big), &big),
    ];
    for (run, sent) in runs {
        let out = run.run();
        let len = sent.len();
        out.assert_stdout(format!("{} {len}\n", crate::sha256_hex(sent)).as_bytes());
        let r = origin.requests_to("/upload").pop().unwrap();
        assert_eq!(r.header("content-length"), Some(len.to_string().as_str()), "{}", out.describe());
        assert_eq!(r.header("transfer-encoding"), None);
    }

    let out =
        toll(["-sS", "-F", "f=@-", "-w", "%{size_upload}"]).arg(origin.url("/form")).stdin(b"a line\n").run();
    out.assert_ok();
    let r = origin.requests_to("/form").pop().unwrap();
    assert_eq!(r.header("content-length").map(|l| l.parse::<usize>().unwrap()), Some(r.body_len));
    assert!(out.stdout_str().ends_with(&format!("\n{}", r.body_len)), "{}", out.describe());
}

/// Standard input redirected from a regular file (`< FILE`) over 1 MiB is sent with its length
/// (from where it stood, never read whole into memory) to every URL and again after a 307 —
/// where a pipe that size is streamed once and a second request needing it is exit 26 (above).
#[test]
fn standard_input_from_a_file_is_measured_and_sent_again() {
    let origin = Origin::http();
    let dir = scratch();
    let big = crate::pattern_bytes(3 << 20);
    std::fs::write(dir.path().join("big.bin"), &big).unwrap();
    let out = toll(["-sSL", "--data-binary", "@-", "-w", "%{size_upload}\n"])
        .arg(origin.url("/upload"))
        .arg(origin.url("/redirect?to=/upload&code=307"))
        .stdin_from_file(&dir.path().join("big.bin"))
        .run();
    let len = big.len();
    out.assert_stdout(format!("{} {len}\n{len}\n", crate::sha256_hex(&big)).repeat(2).as_bytes());
    let uploads = origin.requests_to("/upload");
    assert_eq!(uploads.len(), 2);
    for r in uploads {
        assert_eq!((r.header("content-length"), r.body_len), (Some(len.to_string().as_str()), len));
    }
    // At the same time (-Z), each read from its own offset.
    let out = toll(["-sSZ", "--data-binary", "@-"])
        .arg(origin.url("/upload"))
        .arg(origin.url("/upload"))
        .arg(origin.url("/upload"))
        .stdin_from_file(&dir.path().join("big.bin"))
        .run();
    out.assert_stdout(format!("{} {len}\n", crate::sha256_hex(&big)).repeat(3).as_bytes());
    // `-d @-` drops the line breaks: counted first, the count announced.
    let lines = b"k=v\r\n".repeat(300_000);
    std::fs::write(dir.path().join("lines.txt"), &lines).unwrap();
    let kept: Vec<u8> = lines.iter().copied().filter(|b| *b != b'\r' && *b != b'\n').collect();
    let out = toll(["-sS", "-d", "@-"])
        .arg(origin.url("/upload"))
        .stdin_from_file(&dir.path().join("lines.txt"))
        .run();
    out.assert_stdout(format!("{} {}\n", crate::sha256_hex(&kept), kept.len()).as_bytes());
    let r = origin.requests_to("/upload").pop().unwrap();
    assert_eq!(r.header("content-length"), Some(kept.len().to_string().as_str()));
}
