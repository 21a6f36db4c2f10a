//! The curl options of issue 11 where the differential suite cannot look: what toll sends
//! (counted at the origin) and the `-u user` password prompt on a terminal.

use crate::origin::Origin;
use crate::pty::{self, Pty};
use crate::run::{scratch, toll};

/// Without a terminal, `-u user` reads the password from the first line of standard input, as
/// curl does (a script's `echo "$PW" | curl -u user URL`); the rest of it is still the body.
#[test]
fn u_user_alone_without_a_terminal_reads_the_password_from_standard_input() {
    let origin = Origin::http();
    let out = toll(["-s", "-u", "joe"]).arg(origin.url("/basic-auth/joe/s3cret")).stdin(b"s3cret\n").run();
    assert_eq!(out.stdout_str(), "authenticated as joe\n", "{}", out.describe());
    assert!(out.stderr.contains("Enter host password for user 'joe':") && !out.stderr.contains("s3cret"));
    let out = toll(["-s", "-u", "joe", "-d", "@-"])
        .arg(origin.url("/req?h=authorization"))
        .stdin(b"pw\r\nx=1")
        .run();
    // joe:pw
    assert_eq!(
        out.stdout_str(),
        "POST /req?h=authorization\nauthorization: Basic am9lOnB3\nx=1",
        "{}",
        out.describe()
    );
    let out =
        toll(["-s", "-u", "joe", "--no-prompt"]).arg(origin.url("/req?h=authorization")).stdin(b"pw\n").run();
    assert_eq!(
        out.stdout_str(),
        "GET /req?h=authorization\nauthorization: Basic am9lOg==\n",
        "--no-prompt: empty"
    );
}

#[test]
fn u_user_alone_asks_for_the_password_on_the_terminal() {
    let origin = Origin::http();
    let home = scratch();
    let url = origin.url("/basic-auth/joe/s3cret");
    let mut t = Pty::spawn(pty::command(["-s", "-u", "joe", url.as_str()], home.path(), &[]), None);
    t.expect("Enter host password for user 'joe': ");
    assert_eq!(t.lflag_now() & libc::ECHO, 0, "echo must be off while the password is typed");
    t.send("s3cret\r");
    let out = t.wait();
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "authenticated as joe\n");
    assert!(!out.screen.contains("s3cret") && !out.stderr.contains("s3cret"), "{}", out.describe());
    assert!(out.terminal_restored(), "{}", out.describe());
}

#[test]
fn a_rejected_origin_credential_is_sent_once_even_with_retries() {
    let origin = Origin::http();
    let out = toll(["-s", "-u", "joe:wrong", "--digest", "--retry", "3", "--retry-all-errors", "-f"])
        .arg(origin.url("/digest-auth/joe/pw"))
        .run();
    out.assert_code(22);
    let with_auth: Vec<_> = origin
        .requests_to("/digest-auth")
        .into_iter()
        .filter(|r| r.header("authorization").is_some())
        .collect();
    assert_eq!(with_auth.len(), 1, "the rejected Digest answer was sent {} times", with_auth.len());
    assert_eq!(
        origin.requests_to("/digest-auth").len(),
        2,
        "one challenge, one answer, no retry after a 401"
    );
}

/// `-u` beside the user's own `Authorization` (`-H`, `--oauth2-bearer`): theirs goes, as they
/// asked, and its 401 is the answer. toll sent it (with the body) five times, up to its bound on
/// a handshake's legs.
#[test]
fn a_users_own_authorization_is_sent_once_beside_u() {
    let origin = Origin::http();
    for (path, extra) in [
        ("/basic-auth/joe/pw", vec!["--oauth2-bearer", "abc"]),
        ("/digest-auth/joe/pw", vec!["--digest", "-H", "Authorization: Bearer abc"]),
        ("/basic-auth/joe/pw", vec!["--anyauth", "-H", "Authorization: Bearer abc"]),
    ] {
        let before = origin.requests_to(path).len();
        let out = toll(["-s", "-u", "joe:pw", "-d", "order=1", "-w", "%{http_code}"])
            .args(&extra)
            .arg(origin.url(path))
            .run();
        out.assert_ok();
        assert!(out.stdout_str().ends_with("401"), "{extra:?}: {}", out.describe());
        let sent = &origin.requests_to(path)[before..];
        assert_eq!(sent.len(), 1, "{extra:?}: sent {} times", sent.len());
        assert_eq!(sent[0].header("authorization"), Some("Bearer abc"), "{extra:?}");
    }
}

/// A non-ASCII user name goes as a quoted string of its UTF-8 bytes, as curl sends it; the
/// `username*` toll sent instead was refused by Apache (and Squid) with the right password.
#[test]
fn digest_takes_a_user_name_that_is_not_ascii() {
    let origin = Origin::http();
    let out =
        toll(["-s", "--digest", "-u", "j\u{f6}rg:pw"]).arg(origin.url("/digest-auth/j%C3%B6rg/pw")).run();
    out.assert_ok().assert_stdout("digest authenticated as j\u{f6}rg\n".as_bytes());
}

/// `--anyauth -L`: after Digest worked, a redirect into an area that offers Basic only gets
/// Basic, as curl; the Digest answer sent there unasked was taken for a rejected password.
#[test]
fn anyauth_follows_into_an_area_with_another_scheme() {
    let origin = Origin::http();
    let url = origin.url("/digest-auth/joe/pw?to=/basic-auth/joe/pw");
    let out = toll(["-s", "-L", "--anyauth", "-u", "joe:pw", "-w", "%{http_code}"]).arg(url).run();
    out.assert_ok().assert_stdout(b"authenticated as joe\n200");
}

#[test]
fn digest_answers_hash_what_the_server_receives() {
    let origin = Origin::http();
    // --request-target: the server receives it, and Digest's `uri` must be it (curl 7.88 hashes
    // the URL's path instead, and the server refuses the answer).
    let out = toll(["-s", "--digest", "-u", "joe:pw", "--request-target", "/digest-auth/joe/pw?a=1"])
        .arg(origin.url("/elsewhere"))
        .run();
    out.assert_ok().assert_stdout(b"digest authenticated as joe\n");
    // qop=auth-int alone: the body is hashed in, for a GET (empty) and for -d's.
    let url = origin.url("/digest-auth-int/joe/pw");
    toll(["-s", "--digest", "-u", "joe:pw"]).arg(&url).run().assert_stdout(b"digest authenticated as joe\n");
    let before = origin.requests_to("/digest-auth-int").len();
    let out = toll(["-s", "--digest", "-u", "joe:pw", "-d", "a=1&b=2"]).arg(&url).run();
    out.assert_ok().assert_stdout(b"digest authenticated as joe\n");
    // --digest asks for the challenge without the body (as curl), the answer goes with it.
    let lengths: Vec<usize> =
        origin.requests_to("/digest-auth-int")[before..].iter().map(|r| r.body_len).collect();
    assert_eq!(lengths, [0, 7]);
    // A streamed upload cannot be hashed before it is sent: a clear error, no answer sent.
    let home = scratch();
    let file = home.path().join("up.txt");
    std::fs::write(&file, "upload\n").unwrap();
    let before = origin.requests_to("/digest-auth-int").len();
    let out = toll(["-sS", "--digest", "-u", "joe:pw", "-T"]).arg(&file).arg(&url).run();
    out.assert_code(2);
    assert!(out.stderr.contains("qop=auth-int"), "{}", out.describe());
    let sent = origin.requests_to("/digest-auth-int");
    assert_eq!(sent.len(), before + 1, "only the first, unauthenticated request");
    assert!(sent.last().unwrap().header("authorization").is_none());
}

#[test]
fn netrc_gives_the_urls_user_their_own_password_only() {
    let origin = Origin::http();
    let home = scratch();
    let netrc = home.path().join("netrc");
    std::fs::write(
        &netrc,
        "# machine 127.0.0.1 login evil password evil\n\
         machine 127.0.0.1 login alice password apw # machine 127.0.0.1 login evil password evil\n\
         machine 127.0.0.1 login joe password jpw\n",
    )
    .unwrap();
    // What the origin received (read from its log: a URL's password in toll's output would
    // count as a leak).
    let sent = |userinfo: &str, extra: &[&str]| {
        let url = origin.url("/text").replacen("://", &format!("://{userinfo}"), 1);
        let mut t = toll(["-s", "-o", "/dev/null", "--netrc-file"]).arg(&netrc);
        for a in extra {
            t = t.arg(a);
        }
        t.arg(url).run().assert_ok();
        let last = origin.requests_to("/text").pop().unwrap();
        last.header("authorization").unwrap_or("-").to_string()
    };
    let basic = |creds: &str| format!("Basic {}", crate::base64(creds.as_bytes()));
    assert_eq!(sent("", &[]), basic("alice:apw"), "the host's first entry; comments are not entries");
    assert_eq!(sent("joe@", &[]), basic("joe:jpw"), "the URL's user picks their entry");
    assert_eq!(sent("bob@", &[]), basic("bob:"), "never another login's password");
    assert_eq!(sent("joe:own@", &[]), basic("joe:own"), "the URL's password wins");
    // A redirect to another host: that host's own entry (the first host's stay with it).
    let other = Origin::http();
    let there = other.url("/text").replace("127.0.0.1", "localhost");
    std::fs::write(
        &netrc,
        "machine 127.0.0.1 login alice password apw\nmachine localhost login b password bpw\n",
    )
    .unwrap();
    let to = crate::pct(&there);
    toll(["-s", "-L", "-o", "/dev/null", "--netrc-file"])
        .arg(&netrc)
        .arg(origin.url(&format!("/redirect?to={to}")))
        .run()
        .assert_ok();
    let first = origin.requests_to("/redirect").pop().unwrap();
    assert_eq!(first.header("authorization").map(str::to_owned), Some(basic("alice:apw")));
    let last = other.requests_to("/text").pop().unwrap();
    assert_eq!(last.header("authorization").map(str::to_owned), Some(basic("b:bpw")));
    // -u wins and the file is not read: a malformed one is no error then.
    std::fs::write(&netrc, "machine 127.0.0.1 login joe password").unwrap();
    assert_eq!(sent("", &["-u", "zed:pw"]), basic("zed:pw"));
}

#[test]
fn origin_credentials_stay_with_the_first_origin() {
    let a = Origin::http();
    let b = Origin::http();
    let to = crate::pct(&b.url("/req?h=authorization"));
    let out = toll(["-s", "-L", "-u", "joe:pw"]).arg(a.url(&format!("/redirect?to={to}"))).run();
    out.assert_ok().assert_stdout(b"GET /req?h=authorization\nauthorization: -\n");
    assert!(a.requests_to("/redirect")[0].header("authorization").is_some(), "the first origin gets them");
    // --location-trusted sends them on, as curl does.
    let out = toll(["-s", "-L", "--location-trusted", "-u", "joe:pw"])
        .arg(a.url(&format!("/redirect?to={to}")))
        .run();
    out.assert_ok().assert_stdout(b"GET /req?h=authorization\nauthorization: Basic am9lOnB3\n");
}

/// `-w`'s connection times, as numbers: namelookup, connect, appconnect, pretransfer,
/// starttransfer, total.
fn times(out: &crate::run::Out) -> Vec<f64> {
    out.stdout_str().split_whitespace().map(|t| t.parse().unwrap()).collect()
}

const TIMES: &str =
    "%{time_namelookup} %{time_connect} %{time_appconnect} %{time_pretransfer} %{time_starttransfer} %{time_total}";

#[test]
fn write_out_times_are_measured_and_ordered() {
    let tls = Origin::https();
    let ca = crate::tls::pki().ca_arg();
    let out = toll(["-s", "-o", "/dev/null", "--cacert", &ca, "-w", TIMES]).arg(tls.url("/text")).run();
    out.assert_ok();
    let t = times(&out);
    assert!(t.windows(2).all(|w| w[0] <= w[1]), "not in order: {t:?}");
    // The TLS handshake is seen: the connection was ready after the TCP part began.
    assert!(t[2] > t[1], "no TLS time between connect and appconnect: {t:?}");
    let plain = Origin::http();
    let out = toll(["-s", "-o", "/dev/null", "-w", TIMES]).arg(plain.url("/text")).run();
    out.assert_ok();
    let t = times(&out);
    assert_eq!(t[2], 0.0, "appconnect without TLS: {t:?}");
    let (t, without_tls) = (&t, [t[0], t[1], t[3], t[4], t[5]]);
    assert!(without_tls.windows(2).all(|w| w[0] <= w[1]), "not in order: {t:?}");
    // The TCP connection is seen: connected after the (absent) lookup ended.
    assert!(t[1] > t[0], "no connect time: {t:?}");
}

/// A proxy whose name does not resolve is retried as an origin's is (curl: "could not resolve
/// proxy", retried always), and a proxy that refuses the connection with --retry-connrefused
/// only; the exit code stays 5 either way.
#[test]
fn retry_takes_a_proxy_name_that_did_not_resolve_and_with_connrefused_a_refusal() {
    let origin = Origin::http();
    let retries = |args: &[&str]| {
        let url = origin.url("/text");
        let out =
            toll(["--retry", "2", "--retry-delay", "1"].iter().chain(args).chain([&url.as_str()])).run();
        out.assert_code(5);
        out.stderr.matches("will retry").count()
    };
    let unresolvable = format!("http://{}:3128", crate::UNRESOLVABLE);
    assert_eq!(retries(&["-x", &unresolvable]), 2);
    let refusing = format!("http://127.0.0.1:{}", crate::free_port());
    assert_eq!(retries(&["-x", &refusing]), 0, "a refusal is retried with --retry-connrefused only");
    assert_eq!(retries(&["--retry-connrefused", "-x", &refusing]), 2);
    assert!(origin.requests_to("/text").is_empty());
}

/// `--aws-sigv4`: each request signed with the key pair (the signature itself is compared with
/// curl's in the differential suite and with AWS's example in `auth::sigv4`). Here: what curl
/// 7.88 gets wrong is a usage error (no key pair, also none in the netrc file; region and
/// service from an IP address), a redirect to another host gets no signature, and `-v` shows
/// neither the secret key nor the signature.
#[test]
fn aws_sigv4_signs_for_the_origin_only_and_keeps_the_key_secret() {
    let origin = Origin::http();
    let out = toll(["-sS", "--aws-sigv4", "aws:amz:us-east-1:svc"]).arg(origin.url("/text")).run();
    out.assert_code(2).assert_error_message();
    assert!(out.stderr.contains("-u ACCESS_KEY:SECRET_KEY"), "{}", out.describe());
    let dir = scratch();
    std::fs::write(dir.path().join("netrc"), "machine other.example login a password b\n").unwrap();
    let out = toll(["-sS", "--aws-sigv4", "aws:amz:us-east-1:svc", "--netrc-file", "netrc"])
        .arg(origin.url("/text"))
        .cwd(dir.path())
        .run();
    out.assert_code(2).assert_error_message();
    assert!(out.stderr.contains("no login for this host"), "{}", out.describe());
    let out = toll(["-sS", "--aws-sigv4", "aws", "-u", "AKID:key"]).arg(origin.url("/text")).run();
    out.assert_code(2).assert_error_message();
    assert!(out.stderr.contains("aws:aws:REGION:SERVICE"), "{}", out.describe());

    let secret = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY";
    let out = toll(["-sS", "-v", "--aws-sigv4", "aws:amz:us-east-1:s3", "-u"])
        .arg(format!("AKIDEXAMPLE:{secret}"))
        .arg(origin.url("/req?h=authorization,x-amz-date,x-amz-content-sha256"))
        .run();
    out.assert_code(0);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let auth = text.lines().find_map(|l| l.strip_prefix("authorization: ")).expect("signed");
    assert!(
        auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
            && auth.contains(
                "/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature="
            ),
        "{text}"
    );
    assert!(
        text.contains(
            "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        ),
        "{text}"
    );
    let signature = auth.rsplit_once("Signature=").unwrap().1;
    assert!(!out.stderr.contains(secret) && !out.stderr.contains(signature), "{}", out.describe());

    // A redirect to another host (`localhost` is another origin than 127.0.0.1): no signature
    // goes there.
    let other = origin.url("/req?h=authorization").replace("127.0.0.1", "localhost");
    let out = toll(["-sS", "-L", "--aws-sigv4", "aws:amz:us-east-1:svc", "-u", "AKID:key"])
        .arg(origin.url(&format!("/redirect?to={}", urlencode(&other))))
        .run();
    out.assert_code(0);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "GET /req?h=authorization\nauthorization: -\n");
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// `--aws-sigv4` signs the headers as they are sent, those the cookie engine (`-b JAR`) and
/// `-e ';auto'` add after a redirect included: the request the server gets carries them
/// exactly as signed. The test signs what the origin received again (toll's own engine, which
/// `auth::sigv4` checks against AWS's example) and compares.
#[test]
fn aws_sigv4_signs_the_headers_as_the_server_receives_them() {
    let origin = Origin::http();
    let dir = scratch();
    std::fs::write(dir.path().join("jar"), "127.0.0.1\tFALSE\t/\tFALSE\t0\ta\t1\n").unwrap();
    let date = "20261204T101010Z";
    let names = "authorization,cookie,referer,x-amz-date,x-foo";
    let dated = format!("X-Amz-Date: {date}");
    let out = toll(["-sS", "-L", "--aws-sigv4", "aws:amz:eu-west-1:svc", "-u", "AKID:key", "-H", &dated])
        .arg("-b")
        .arg("jar")
        .arg("-e")
        .arg(";auto")
        .arg("-H")
        .arg("X-Foo:  x   y ")
        .arg(origin.url(&format!("/redirect?to=%2Freq%3Fh%3D{}", names.replace(',', "%2C"))))
        .cwd(dir.path())
        .run();
    out.assert_code(0);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let got = |name: &str| {
        text.lines().find_map(|l| l.strip_prefix(&format!("{name}: "))).unwrap_or_else(|| panic!("{text}"))
    };
    let auth = got("authorization");
    let signed = auth.split("SignedHeaders=").nth(1).unwrap().split(',').next().unwrap();
    assert_eq!(signed, "cookie;host;referer;x-amz-date;x-foo", "{text}");
    assert_eq!(got("cookie"), "a=1", "{text}");
    let headers: Vec<(String, String)> = ["cookie", "referer", "x-amz-date", "x-foo"]
        .iter()
        .map(|n| (n.to_string(), got(n).to_string()))
        .collect();
    let host = origin.url("/").trim_start_matches("http://").trim_end_matches('/').to_string();
    let req = toll::auth::sigv4::Request {
        method: "GET",
        host: &host,
        path: "/req",
        query: Some(&format!("h={names}")),
        headers: &headers,
        body: Some(b""),
    };
    let spec = toll::auth::sigv4::Spec::parse("aws:amz:eu-west-1:svc").unwrap();
    let again =
        toll::auth::sigv4::sign(&spec, &toll::secret::Credentials::new("AKID", "key"), &req, date).unwrap();
    assert_eq!(auth, again.authorization.expose(), "{text}");
}

/// curl 8's `--variable` / `--expand-OPTION` (no curl 8 here to compare with: the cases follow
/// curl's documentation and `src/var.c`): a token from a file, the environment and standard
/// input, through functions, from a `-K` file, into a header, the URL and the body.
#[test]
fn variables_expand_into_options_from_files_the_environment_and_stdin() {
    let origin = Origin::http();
    let dir = scratch();
    std::fs::write(dir.path().join("token.txt"), "t0ken/42\n").unwrap();
    std::fs::write(
        dir.path().join("vars.cfg"),
        "variable = path=req\nexpand-header = \"X-Path: {{path}}\"\n",
    )
    .unwrap();
    let url = format!("http://127.0.0.1:{}/{{{{path}}}}?h=authorization,x-user,x-path", origin.port);
    let out = toll([
        "-s",
        "--variable",
        "tok@token.txt",
        "--variable",
        "%TOLL_TEST_USER",
        "--variable",
        "%TOLL_TEST_UNSET=fallback",
        "--variable",
        "body@-",
        "-K",
        "vars.cfg",
        "--expand-header",
        "Authorization: Bearer {{tok:trim}}",
        "--expand-header",
        "X-User: {{TOLL_TEST_USER:json}} {{TOLL_TEST_UNSET}}",
        "--expand-data",
        "q={{tok:trim:url}}&b={{body:b64}}",
        "--expand-url",
        &url,
    ])
    .cwd(dir.path())
    .env("TOLL_TEST_USER", "jo \"e\"")
    .stdin(b"from stdin")
    .run();
    out.assert_ok().assert_stdout(
        b"POST /req?h=authorization,x-user,x-path\nauthorization: Bearer t0ken/42\nx-user: jo \\\"e\\\" fallback\nx-path: req\nq=t0ken%2F42&b=ZnJvbSBzdGRpbg==",
    );
    // Errors: an environment variable that must be set, a file that cannot be read (26), an
    // unknown function; none runs the transfer.
    toll(["-s", "--variable", "%TOLL_TEST_NOT_SET", &origin.url("/text")]).run().assert_code(2);
    toll(["-s", "--variable", "x@no-such-file", &origin.url("/text")]).cwd(dir.path()).run().assert_code(26);
    let out = toll(["-s", "--variable", "a=1", "--expand-data", "{{a:rot13}}", &origin.url("/text")]).run();
    out.assert_code(2);
    assert!(out.stderr.contains("unknown variable function"), "{}", out.describe());
    assert!(origin.requests_to("/text").is_empty());
}

/// `--skip-existing` (curl 8.10): a URL whose output file is there is not fetched at all (not
/// asked of the origin, nothing written, no -w line), the others are; exit 0.
#[test]
fn skip_existing_fetches_only_what_is_missing() {
    let origin = Origin::http();
    let dir = scratch();
    std::fs::write(dir.path().join("text"), "kept\n").unwrap();
    std::fs::write(dir.path().join("mine.txt"), "mine\n").unwrap();
    let out = toll(["-s", "--skip-existing", "-w", "%{url_effective}\\n", "-O", "-O", "-o", "mine.txt"])
        .arg(origin.url("/text"))
        .arg(origin.url("/json"))
        .arg(origin.url("/bytes/10"))
        .cwd(dir.path())
        .run();
    out.assert_ok().assert_stdout(format!("{}\n", origin.url("/json")).as_bytes());
    assert_eq!(std::fs::read_to_string(dir.path().join("text")).unwrap(), "kept\n");
    assert_eq!(std::fs::read_to_string(dir.path().join("mine.txt")).unwrap(), "mine\n");
    assert!(dir.path().join("json").exists());
    assert!(origin.requests_to("/text").is_empty() && origin.requests_to("/bytes").is_empty());
    assert_eq!(origin.requests_to("/json").len(), 1);
    // Without the option the files are replaced, as always.
    toll(["-s", "-O"]).arg(origin.url("/text")).cwd(dir.path()).run().assert_ok();
    assert_eq!(std::fs::read_to_string(dir.path().join("text")).unwrap(), "hello from the origin\n");
}

/// curl 8.3's `%output{FILE}` in `-w`: each transfer's text goes to the file (appended with
/// `>>`), `%{stdout}` comes back to standard output.
#[test]
fn write_out_output_goes_to_a_file() {
    let origin = Origin::http();
    let dir = scratch();
    std::fs::write(dir.path().join("log.txt"), "earlier\n").unwrap();
    let out = toll(["-s", "-o", "/dev/null", "-o", "/dev/null", "-w"])
        .arg("%output{>>log.txt}%{http_code} %{urlnum}\\n%{stdout}done\\n")
        .arg(origin.url("/text"))
        .arg(origin.url("/status/404"))
        .cwd(dir.path())
        .run();
    out.assert_ok().assert_stdout(b"done\ndone\n");
    assert_eq!(std::fs::read_to_string(dir.path().join("log.txt")).unwrap(), "earlier\n200 0\n404 1\n");
    // Without ">>" each transfer's write-out replaces the file.
    toll(["-s", "-o", "/dev/null", "-w", "%output{last.txt}%{http_code}"])
        .arg(origin.url("/text"))
        .cwd(dir.path())
        .run()
        .assert_ok()
        .assert_stdout(b"");
    assert_eq!(std::fs::read_to_string(dir.path().join("last.txt")).unwrap(), "200");
}

/// curl 8.16's `--follow` (no curl 8 here to compare with): `-X`'s method is kept where the
/// status keeps the request (307, 308; a 301 or 302 of a request that is no POST) and turned
/// into a GET where it does not (301/302 after a POST, every 303), body and all; the last of
/// `-L` and `--follow` wins.
#[test]
fn follow_turns_a_custom_method_into_get_where_http_says() {
    let origin = Origin::http();
    let to = |code: u16| origin.url(&format!("/redirect?to=/req&code={code}"));
    for (args, code, expected) in [
        (&["--follow", "-X", "PUT", "-d", "q=1"][..], 302, "GET /req\n"),
        (&["--follow", "-X", "PUT", "-d", "q=1"][..], 307, "PUT /req\nq=1"),
        (&["--follow", "-X", "DELETE"][..], 303, "GET /req\n"),
        (&["--follow", "-X", "DELETE"][..], 301, "DELETE /req\n"),
        (&["-L", "-X", "DELETE"][..], 303, "DELETE /req\n"),
        (&["--follow", "-L", "-X", "DELETE"][..], 303, "DELETE /req\n"),
        (&["-L", "--follow", "-X", "DELETE"][..], 303, "GET /req\n"),
        (&["--follow", "--no-follow", "-o", "/dev/null", "-w", "%{http_code}"][..], 303, "303"),
    ] {
        let mut line = vec!["-s"];
        line.extend_from_slice(args);
        let out = toll(line).arg(to(code)).run();
        out.assert_ok();
        assert_eq!(out.stdout_str(), expected, "{args:?} {code}");
    }
}

/// curl 8.16's `--out-null`: an output slot of its own, paired with the URLs in turn as `-o`
/// is; the transfer is made in full (counted by `-w`), nothing is written, no file is left.
#[test]
fn out_null_reads_the_body_and_writes_it_nowhere() {
    let origin = Origin::http();
    let dir = scratch();
    let out =
        toll(["-s", "-o", "first.txt", "--out-null", "-w", "%{size_download}[%{filename_effective}]\n"])
            .arg(origin.url("/req"))
            .arg(origin.url("/bytes/5000"))
            .arg(origin.url("/req?third"))
            .cwd(dir.path())
            .run();
    out.assert_ok();
    assert_eq!(out.stdout_str(), "9[first.txt]\n5000[]\nGET /req?third\n15[]\n");
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["first.txt"], "only -o's file, no temporary file left");
    // With -i the head goes where the body goes: nowhere.
    toll(["-si", "--out-null"]).arg(origin.url("/text")).run().assert_ok().assert_stdout(b"");
}

/// `%{url_effective}` keeps a URL's fragment, never its user name and password (the URL toll
/// keeps for the fragment once held them).
#[test]
fn url_effective_with_a_fragment_holds_no_password() {
    let origin = Origin::http();
    let url = origin.url("/text#part").replace("http://", "http://joe:s3cr3t-pw@");
    let out = toll(["-s", "-o", "/dev/null", "-w", "%{url_effective}"]).arg(&url).run();
    out.assert_ok().assert_not_leaked("the URL's password", "s3cr3t-pw");
    // The user name stays (curl prints the password too); the password is `***`.
    assert_eq!(out.stdout_str(), origin.url("/text#part").replace("http://", "http://joe:***@"));
}

/// A server that closes the connection on the run's first request without answering may have
/// carried it out (then died): the request is not sent again — curl only retries on a kept-alive
/// connection — whatever its method. On a kept-alive connection an idempotent one goes once more.
#[test]
fn a_request_on_a_new_connection_closed_without_an_answer_is_not_sent_again() {
    for method in ["PUT", "DELETE", "GET"] {
        let origin = Origin::start(false);
        let out = toll(["-s", "-X", method, "-w", "%{num_connects}"]).arg(origin.url("/no-answer")).run();
        assert_eq!(out.code, Some(52), "{method}: {}", out.describe());
        assert_eq!(out.stdout, b"1", "{method}");
        assert_eq!(origin.requests_to("/no-answer").len(), 1, "{method}: sent once");
    }
    let origin = Origin::start(false);
    let out =
        toll(["-s", "-X", "PUT", "-d", "x"]).arg(origin.url("/close-next")).arg(origin.url("/req")).run();
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert_eq!(origin.requests_to("/req").len(), 2, "closed under it on the kept connection: once more");
}

/// A line break, tab or other control character in what `-G` or a raw `--url-query` piece puts
/// in the query would be dropped by the URL parser (another query sent, `a=1b=2`): refused, as
/// curl 7.88 refuses it, before anything is sent, and the message does not show the data.
#[test]
fn control_characters_in_the_query_from_options_are_refused_before_sending() {
    let origin = Origin::http();
    let dir = scratch();
    std::fs::write(dir.path().join("q.txt"), b"pw=hush42\nb=2\n").unwrap();
    for args in [
        &["-G", "--data-raw", "pw=hush42\nb=2"][..],
        &["-G", "--data-binary", "@q.txt"],
        &["-G", "--data-raw", "pw=hush42\tb=2"],
        &["--url-query", "+pw=hush42\nb=2"],
        &["--url-query", "+pw=hush42\r"],
    ] {
        let out = toll(["-sS"]).args(args).arg(origin.url("/req")).cwd(dir.path()).run();
        out.assert_code(2).assert_error_message().assert_not_leaked("the data", "hush42");
        assert!(out.stderr.contains("which a URL cannot hold"), "{}", out.describe());
    }
    assert!(origin.requests().is_empty(), "nothing is sent: {:?}", origin.requests());
    // -d @FILE drops the file's line breaks (as curl): that query is sent.
    let out = toll(["-s", "-G", "-d", "@q.txt"]).arg(origin.url("/req")).cwd(dir.path()).run();
    out.assert_ok();
    assert_eq!(out.stdout_str(), "GET /req?pw=hush42b=2\n");
}

/// `-C` with `-r`: a resumed download asks for the rest only, one `Range`, as curl 7.88 (the
/// resume offset replaces the range); from offset 0 the range is asked for.
#[test]
fn a_resumed_download_sends_one_range() {
    let origin = Origin::http();
    let dir = scratch();
    std::fs::write(dir.path().join("part.bin"), &crate::pattern_bytes(100)[..30]).unwrap();
    for (args, want) in [
        (&["-C", "-", "-r", "0-5", "-o", "part.bin"][..], "bytes=30-"),
        (&["-C", "30", "-r", "0-5", "-o", "/dev/null"], "bytes=30-"),
        (&["-C", "-", "-r", "0-5", "-o", "new.bin"], "bytes=0-5"),
    ] {
        toll(["-s"]).args(args).arg(origin.url("/range/100")).cwd(dir.path()).run().assert_ok();
        let sent = origin.requests().pop().expect("a request");
        let ranges: Vec<_> = sent.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case("range")).collect();
        assert_eq!(ranges.len(), 1, "{args:?}: {:?}", sent.headers);
        assert_eq!(ranges[0].1, want, "{args:?}");
    }
    assert_eq!(std::fs::read(dir.path().join("part.bin")).unwrap(), crate::pattern_bytes(100));
}

/// `-m` bounds a transfer that `--limit-rate` holds back (the waits between reads were not
/// bounded: `--limit-rate 100 -m 1` on 500 bytes took 5 s), and `--remove-on-error` then
/// leaves no file where one existed, while without it the old file stays whole.
#[test]
fn max_time_bounds_limit_rate_and_remove_on_error_leaves_no_file() {
    let origin = Origin::http();
    let dir = scratch();
    let (gone, kept) = (dir.path().join("gone.txt"), dir.path().join("kept.txt"));
    for (file, extra) in [(&gone, Some("--remove-on-error")), (&kept, None)] {
        std::fs::write(file, "old\n").unwrap();
        let mut args = vec!["-sS", "--limit-rate", "100", "-m", "1", "-o", file.to_str().unwrap()];
        args.extend(extra);
        let out = toll(args).arg(origin.url("/bytes/500")).run();
        out.assert_code(28).assert_faster_than(std::time::Duration::from_secs(4));
    }
    assert!(!gone.exists(), "--remove-on-error left the old file");
    assert_eq!(std::fs::read_to_string(&kept).unwrap(), "old\n");
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, vec![std::ffi::OsString::from("kept.txt")], "no partial file");
}

/// `-m` bounds the transfer, not each request: six redirects of 600 ms each do not outlast
/// `-m 1.5` (each request stayed within it, and the run took 4 s).
#[test]
fn max_time_bounds_a_chain_of_redirects() {
    let origin = Origin::http();
    let started = std::time::Instant::now();
    let out = toll(["-sSL", "-m", "1.5"]).arg(origin.url("/slow-chain/6")).run();
    out.assert_code(28);
    assert!(started.elapsed() < std::time::Duration::from_millis(2500), "{:?}", started.elapsed());
    assert!(out.stderr.contains("-m/--max-time"), "{}", out.describe());
}

/// `--speed-limit`/`--speed-time` is a stall watchdog for the wait for the answer too: a server
/// that never answers is too slow after `--speed-time`, as in curl (toll waited forever).
#[test]
fn speed_limit_ends_the_wait_for_a_silent_server() {
    let origin = Origin::http();
    let started = std::time::Instant::now();
    let out = toll(["-sS", "--speed-limit", "100", "--speed-time", "2"]).arg(origin.url("/hang")).run();
    out.assert_code(28);
    assert!(started.elapsed() < std::time::Duration::from_secs(6), "{:?}", started.elapsed());
    assert!(out.stderr.contains("Operation too slow"), "{}", out.describe());
    // Each request has its own window: redirects that answer within it are no stall, however
    // long the chain takes.
    let out =
        toll(["-sSL", "--speed-limit", "1", "--speed-time", "1"]).arg(origin.url("/slow-chain/4")).run();
    assert_eq!(out.stdout_str(), "slow chain 0\n", "{}", out.describe());
}
