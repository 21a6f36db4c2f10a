//! The curl differential suite (issue 11): every command line of `differential/corpus.txt` is
//! run with curl 7.88 and with toll, each in its own fresh directory (holding the same input
//! files), against the in-process origins — directly, and through a real Squid with Basic and
//! with Digest authentication. Compared: stdout bytes, the files in the directory afterwards
//! (names, contents, permission bits and `user.*` extended attributes, for `--xattr`) and the
//! exit status.
//!
//! Corpus syntax, one command line per line (the arguments after `curl`, shell quoting):
//! - placeholders `{ORIGIN}` (`http://127.0.0.1:PORT`), `{TLS_ORIGIN}` (`https://…`), `{CA}` (the
//!   test CA's PEM file), `{PORT}` (the http origin's port), `{CADIR}` (a directory holding the
//!   test CA, for `--capath`), `{UNIX}` (a Unix socket that leads to the http origin),
//!   `{CLIENT_CERT}` (a PEM file with a client certificate and its key), `{PIN}` (the https
//!   origin's public key as `sha256//BASE64`), `{PINFILE}` (a PEM file with that key),
//!   `{TLS_PORT}` (the https origin's port, for `https://localhost:{TLS_PORT}`: HSTS ignores IP
//!   addresses), `{CRL:NAME}` (a CRL file of `tls::Crl::NAME`: `RevokesServer`, `RevokesOther`,
//!   `OtherCa`, `Expired`, `NotYetValid`, `WrongKey`);
//! - leading tags: `[direct]` runs the line without a proxy only; `[stdin]` feeds
//!   [`STDIN`] on standard input; `[differs: REASON]` marks a known difference (everywhere),
//!   `[differs-proxy: REASON]` one through the proxy only, `[differs-digest: REASON]` one
//!   through the Digest Squid only. A marked line that matches fails the
//!   suite too, so the list only shrinks; `[load: REASON]` marks a line whose toll side may
//!   differ when the machine is busy (a kept connection's return to hyper's pool races the
//!   next request's new one): when it differs it is run once more, and the second run decides
//!   (said loudly when it was needed);
//! - `#` starts a comment line; blank lines are skipped.
//!
//! Through the proxy each line gets `-x PROXY -U alice:s3cret` (and `--proxy-digest` for the
//! Digest Squid) in front, for both programs. `Date:` header values are blanked in both outputs
//! (the one thing two runs of the same program cannot agree on).

use crate::origin::Origin;
use crate::run::{isolate, TOLL};
use crate::squid::{self, Auth, ALICE};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CURL: &str = "/usr/bin/curl";
const CORPUS: &str = include_str!("differential/corpus.txt");
/// What `[stdin]` lines get on standard input.
const STDIN: &[u8] = b"from stdin\r\nsecond line\n";

/// The input files every run's directory starts with.
fn fixtures() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("data.txt", b"a=1&b=2\r\nc=3\n".to_vec()),
        ("body.json", b"{\"k\": \"v\"}\n".to_vec()),
        ("blob.bin", crate::pattern_bytes(3000)),
        ("hdrs.txt", b"X-From-File: one\r\nX-Second: two\n".to_vec()),
        ("fmt.txt", b"code=%{http_code}\\n".to_vec()),
        ("note.txt", b"plain note\n".to_vec()),
        ("qp.txt", qp_fixture()),
        ("partial.bin", crate::pattern_bytes(3000)[..1000].to_vec()),
        ("etag.txt", b"\"v1\"\n".to_vec()),
        ("hsts.txt", b"# an HSTS cache\nlocalhost \"unlimited\"\n".to_vec()),
        (
            "cookies.txt",
            b"# Netscape HTTP Cookie File\n127.0.0.1\tFALSE\t/\tFALSE\t0\tsess\ts1\n127.0.0.1\tFALSE\t/\tFALSE\t4102444800\tkeep\tk1\n"
                .to_vec(),
        ),
        // A jar with a cookie curl 7.88 would not take from a server (a value of 4095 bytes),
        // which it keeps from a file, beside a normal one.
        ("big-jar.txt", format!("127.0.0.1\tFALSE\t/\tFALSE\t0\tbig\t{}\n127.0.0.1\tFALSE\t/\tFALSE\t0\tok\t1\n", "v".repeat(4095)).into_bytes()),
        // A jar as some tools leave it: a quoted path, a path without '/', a domain line for an
        // address's "subdomains", a cookie that expired, a Secure one (127.0.0.1 is a secure context).
        (
            "odd-jar.txt",
            b"127.0.0.1\tFALSE\t\"/req\"\tFALSE\t0\tq\t1\n127.0.0.1\tFALSE\treq\tFALSE\t0\tr\t2\n.0.0.1\tTRUE\t/\tFALSE\t0\tip\t3\n127.0.0.1\tFALSE\t/\tFALSE\t1\told\t4\n127.0.0.1\tFALSE\t/req/\tTRUE\t0\ts\t5\n"
                .to_vec(),
        ),
        // curl 7.88's outgoing limits: 200 cookies (150 are sent), and three whose third would
        // take the line past 8190 bytes after the first two (curl 7.88 and 8 agree there).
        (
            "many-jar.txt",
            (0..200).map(|i| format!("127.0.0.1\tFALSE\t/\tFALSE\t0\tc{i}\tv{i}\n")).collect::<String>().into_bytes(),
        ),
        (
            "wide-jar.txt",
            format!(
                "127.0.0.1\tFALSE\t/\tFALSE\t0\taaa\t{}\n127.0.0.1\tFALSE\t/\tFALSE\t0\tbb\t{}\n127.0.0.1\tFALSE\t/\tFALSE\t0\tc\t{}\n",
                "a".repeat(4000),
                "b".repeat(4000),
                "c".repeat(300)
            )
            .into_bytes(),
        ),
        // Lines of 4998 bytes (read) and 4999 (skipped: curl's line buffer is 5000 bytes).
        (
            "long-line-jar.txt",
            format!(
                "127.0.0.1\tFALSE\t/\tFALSE\t0\tfits\t{}\n127.0.0.1\tFALSE\t/\tFALSE\t0\tlong\t{}\n127.0.0.1\tFALSE\t/\tFALSE\t0\tok\t1\n",
                "f".repeat(4998 - 31),
                "l".repeat(4999 - 31)
            )
            .into_bytes(),
        ),
        ("opts.cfg", b"# options\nsilent\nwrite-out = \"%{http_code}\\n\"\n-o /dev/null\n".to_vec()),
        // Lines curl 7.88 warns about and skips: unknown options, options without their value
        // (which never take the next line or argument).
        ("lonely.cfg", b"bogus-option\n--data=x\ndata\n-d\nsilent\n".to_vec()),
        ("output.cfg", b"output\n".to_vec()),
        // A -b file of HTTP headers (as -D writes them): its Set-Cookie lines are cookies.
        (
            "cookie-heads.txt",
            b"HTTP/1.1 200 OK\r\nSet-Cookie: sid=abc\r\nset-cookie: p=1; Path=/req\r\nContent-Type: text/plain\r\nSet-Cookie: d=2; Domain=127.0.0.1\r\nSet-Cookie: e=3; Domain=.example.com\r\n\r\n".to_vec(),
        ),
        // A ~/.curlrc as people write them, for the `--no-` lines that take its options back.
        ("rc.cfg", b"location\ninclude\nfail\n--compressed\nremote-name-all\n".to_vec()),
        (
            "netrc.txt",
            b"machine 127.0.0.1\n  login joe\n  password pw\ndefault login anon password none\n".to_vec(),
        ),
    ]
}

/// Text for `;encoder=quoted-printable`: `=`, bytes ≥ 0x80 and control bytes, space and tab
/// before a CRLF and at the end, a lone CR and LF, lines of 74 to 200 characters (soft breaks).
fn qp_fixture() -> Vec<u8> {
    let mut v = b"caf\xc3\xa9 = 100%\tand tab \r\nspaces  \r\n".to_vec();
    v.extend([b'x'; 74]);
    v.extend(b"\xe9\r\n");
    for n in [75, 76, 77] {
        v.extend(std::iter::repeat_n(b'y', n));
        v.extend(b"\r\n");
    }
    v.extend([b'w'; 200]);
    v.extend(b"\nlone lf\rlone cr \x00\x01\x7f~=\r\nend \t");
    v
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Direct,
    Squid(Auth),
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Direct => "direct",
            Mode::Squid(Auth::Basic) => "squid-basic",
            Mode::Squid(Auth::Digest) => "squid-digest",
            Mode::Squid(_) => "squid",
        }
    }
}

struct Line {
    number: usize,
    text: String,
    args: Vec<String>,
    direct_only: bool,
    stdin: bool,
    differs: Option<String>,
    differs_proxy: Option<String>,
    differs_digest: Option<String>,
    load: Option<String>,
}

fn parse_corpus() -> Vec<Line> {
    let mut lines = Vec::new();
    for (i, raw) in CORPUS.lines().enumerate() {
        let mut rest = raw.trim();
        if rest.is_empty() || rest.starts_with('#') {
            continue;
        }
        let mut line = Line {
            number: i + 1,
            text: String::new(),
            args: Vec::new(),
            direct_only: false,
            stdin: false,
            differs: None,
            differs_proxy: None,
            differs_digest: None,
            load: None,
        };
        while let Some(tag) = rest.strip_prefix('[') {
            let end = tag.find(']').unwrap_or_else(|| panic!("corpus line {}: unclosed tag", i + 1));
            let (tag, after) = (&tag[..end], tag[end + 1..].trim_start());
            match tag.split_once(':') {
                None if tag == "direct" => line.direct_only = true,
                None if tag == "stdin" => line.stdin = true,
                Some(("differs", why)) => line.differs = Some(why.trim().to_string()),
                Some(("differs-proxy", why)) => line.differs_proxy = Some(why.trim().to_string()),
                Some(("differs-digest", why)) => line.differs_digest = Some(why.trim().to_string()),
                Some(("load", why)) => line.load = Some(why.trim().to_string()),
                _ => panic!("corpus line {}: unknown tag [{tag}]", i + 1),
            }
            rest = after;
        }
        line.text = rest.to_string();
        line.args = split_words(rest).unwrap_or_else(|e| panic!("corpus line {}: {e}", i + 1));
        lines.push(line);
    }
    lines
}

/// POSIX-shell word splitting for the corpus: single quotes, double quotes (with `\"`, `\\`,
/// `\$` escapes), backslash outside quotes. No expansions.
fn split_words(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur: Option<String> = None;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => {
                if let Some(w) = cur.take() {
                    words.push(w);
                }
            }
            '\'' => {
                let w = cur.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => w.push(c),
                        None => return Err("unclosed '".into()),
                    }
                }
            }
            '"' => {
                let w = cur.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => w.push(c),
                            Some(c) => {
                                w.push('\\');
                                w.push(c);
                            }
                            None => return Err("unclosed \"".into()),
                        },
                        Some(c) => w.push(c),
                        None => return Err("unclosed \"".into()),
                    }
                }
            }
            '\\' => {
                let w = cur.get_or_insert_with(String::new);
                if let Some(c) = chars.next() {
                    w.push(c);
                }
            }
            c => cur.get_or_insert_with(String::new).push(c),
        }
    }
    if let Some(w) = cur {
        words.push(w);
    }
    Ok(words)
}

/// What one program did: what is compared.
#[derive(PartialEq, Eq)]
struct Outcome {
    code: Option<i32>,
    stdout: Vec<u8>,
    /// Every file in the directory afterwards that is not an untouched fixture.
    files: BTreeMap<String, Vec<u8>>,
    /// Those files' permission bits and `user.*` extended attributes ([`file_meta`]).
    meta: BTreeMap<String, String>,
}

impl Outcome {
    fn describe(&self, stderr: &str) -> String {
        let mut s = format!("exit {:?}\n    stdout: {}\n", self.code, show(&self.stdout));
        for (name, data) in &self.files {
            s.push_str(&format!("    file {name:?}: {}\n", show(data)));
            if let Some(meta) = self.meta.get(name) {
                s.push_str(&format!("      {meta}\n"));
            }
        }
        let stderr: String = stderr.lines().take(6).map(|l| format!("    | {l}\n")).collect();
        s + &stderr
    }
}

fn show(data: &[u8]) -> String {
    if data.len() > 600 {
        format!("<{} bytes, sha256 {}>", data.len(), crate::sha256_hex(data))
    } else {
        format!("{:?}", String::from_utf8_lossy(data))
    }
}

/// Runs `program args` in a fresh directory holding the fixtures; returns what it did and its
/// stderr.
fn run_one(program: &str, args: &[String], stdin: bool) -> (Outcome, String) {
    // Where the files the lines write can hold --xattr's attributes, when the machine has one.
    let dir = crate::run::scratch_with_xattrs("toll-diff-")
        .unwrap_or_else(|| tempfile::Builder::new().prefix("toll-diff-").tempdir().expect("tempdir"));
    let home = tempfile::Builder::new().prefix("toll-diff-home-").tempdir().expect("tempdir");
    for (name, data) in fixtures() {
        std::fs::write(dir.path().join(name), data).expect("fixture");
    }
    let mut cmd = Command::new(program);
    cmd.args(args).current_dir(dir.path());
    isolate(&mut cmd, home.path());
    cmd.stdin(if stdin { Stdio::piped() } else { Stdio::null() });
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
    if stdin {
        let mut w = child.stdin.take().unwrap();
        std::thread::spawn(move || {
            let _ = w.write_all(STDIN);
        });
    }
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_t = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = out.read_to_end(&mut b);
        b
    });
    let err_t = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = err.read_to_end(&mut b);
        b
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break Some(st);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let stdout = out_t.join().unwrap_or_default();
    let stderr = String::from_utf8_lossy(&err_t.join().unwrap_or_default()).into_owned();
    let fixtures: BTreeMap<String, Vec<u8>> =
        fixtures().into_iter().map(|(n, d)| (n.to_string(), d)).collect();
    let mut files = BTreeMap::new();
    collect_files(dir.path(), dir.path(), &fixtures, &mut files);
    // toll writes its `--hsts` cache 0600, as its other state files (README): that file's mode
    // is left out, its attributes are not.
    let hsts: Vec<&String> = args.windows(2).filter(|w| w[0] == "--hsts").map(|w| &w[1]).collect();
    let meta = files
        .keys()
        .filter(|n| !n.ends_with('/'))
        .map(|n| {
            let (mode, attrs) = file_meta(&dir.path().join(n));
            let mode = if hsts.contains(&n) { String::new() } else { format!("mode {mode:o}") };
            (n.clone(), format!("{mode}{attrs}"))
        })
        .collect();
    let code = status.map_or(Some(-1), |s| s.code());
    (Outcome { code, stdout: blank_dates(&stdout), files, meta }, stderr)
}

/// A file's permission bits and its `user.*` extended attributes (sorted) as one string:
/// ` user.mime_type="text/plain" user.xdg.origin.url="…"`. (Both programs run under the test's
/// umask.)
pub fn file_meta(path: &Path) -> (u32, String) {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::symlink_metadata(path).map(|m| m.permissions().mode() & 0o7777).unwrap_or(0);
    let mut s = String::new();
    let cpath = std::ffi::CString::new(path.as_os_str().as_bytes()).expect("no NUL in a path");
    let mut names = vec![0u8; 4096];
    // SAFETY: a NUL-terminated path and a buffer of the length given.
    let n = unsafe { libc::llistxattr(cpath.as_ptr(), names.as_mut_ptr().cast(), names.len()) };
    let mut list: Vec<&[u8]> = if n > 0 {
        names[..n as usize].split(|b| *b == 0).filter(|n| !n.is_empty()).collect()
    } else {
        Vec::new()
    };
    list.sort();
    for name in list.into_iter().filter(|n| n.starts_with(b"user.")) {
        let cname = std::ffi::CString::new(name).expect("no NUL in a name");
        let mut value = vec![0u8; 65536];
        // SAFETY: NUL-terminated strings and a buffer of the length given.
        let len = unsafe {
            libc::lgetxattr(cpath.as_ptr(), cname.as_ptr(), value.as_mut_ptr().cast(), value.len())
        };
        value.truncate(len.max(0) as usize);
        s.push_str(&format!(" {}={:?}", String::from_utf8_lossy(name), String::from_utf8_lossy(&value)));
    }
    (mode, s)
}

fn collect_files(
    root: &Path,
    dir: &Path,
    fixtures: &BTreeMap<String, Vec<u8>>,
    files: &mut BTreeMap<String, Vec<u8>>,
) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let path = e.path();
        let name = path.strip_prefix(root).unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            files.insert(format!("{name}/"), Vec::new());
            collect_files(root, &path, fixtures, files);
            continue;
        }
        let data = blank_dates(&std::fs::read(&path).unwrap_or_default());
        if fixtures.get(&name) != Some(&data) {
            files.insert(name, data);
        }
    }
}

/// `Date: …` header lines with the value blanked.
fn blank_dates(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    for line in data.split_inclusive(|b| *b == b'\n') {
        if line.len() > 6 && line[..5].eq_ignore_ascii_case(b"date:") {
            let end = if line.ends_with(b"\r\n") { &b"\r\n"[..] } else { &b"\n"[..] };
            out.extend_from_slice(b"Date: -");
            out.extend_from_slice(end);
        } else {
            out.extend_from_slice(line);
        }
    }
    out
}

struct Tally {
    run: usize,
    same: usize,
    expected: usize,
    failures: Vec<String>,
}

fn run_mode(mode: Mode) {
    if !crate::have(&format!("differential suite ({})", mode.name()), &[CURL], "curl") {
        return;
    }
    let http = Origin::http();
    let https = Origin::https();
    let ca = crate::tls::pki().ca_arg();
    let extras = Extras::new(http.port, &ca);
    let prefix: Vec<String> = match mode {
        Mode::Direct => Vec::new(),
        Mode::Squid(auth) => {
            let mut p =
                vec!["-x".into(), squid::shared(auth).url(), "-U".into(), format!("{}:{}", ALICE.0, ALICE.1)];
            if auth == Auth::Digest {
                p.push("--proxy-digest".into());
            }
            p
        }
    };
    let mut t = Tally { run: 0, same: 0, expected: 0, failures: Vec::new() };
    for line in parse_corpus() {
        if line.direct_only && mode != Mode::Direct {
            continue;
        }
        let args: Vec<String> = prefix
            .iter()
            .cloned()
            .chain(line.args.iter().map(|a| {
                a.replace("{ORIGIN}", &format!("http://127.0.0.1:{}", http.port))
                    .replace("{TLS_ORIGIN}", &format!("https://127.0.0.1:{}", https.port))
                    .replace("{PORT}", &http.port.to_string())
                    .replace("{TLS_PORT}", &https.port.to_string())
                    .replace("{CA}", &ca)
                    .replace("{CADIR}", &extras.ca_dir())
                    .replace("{UNIX}", &extras.unix())
                    .replace("{CLIENT_CERT}", &extras.client_cert())
                    .replace("{PIN}", &crate::tls::pki().server_key_pin)
                    .replace("{PINFILE}", &extras.pin_file())
                    .replace("{CRL:RevokesServer}", &crate::tls::pki().crl(crate::tls::Crl::RevokesServer))
                    .replace("{CRL:RevokesOther}", &crate::tls::pki().crl(crate::tls::Crl::RevokesOther))
                    .replace("{CRL:OtherCa}", &crate::tls::pki().crl(crate::tls::Crl::OtherCa))
                    .replace("{CRL:Expired}", &crate::tls::pki().crl(crate::tls::Crl::Expired))
                    .replace("{CRL:NotYetValid}", &crate::tls::pki().crl(crate::tls::Crl::NotYetValid))
                    .replace("{CRL:WrongKey}", &crate::tls::pki().crl(crate::tls::Crl::WrongKey))
            }))
            .collect();
        let (curl, curl_err) = run_one(CURL, &args, line.stdin);
        let (mut toll, mut toll_err) = run_one(TOLL, &args, line.stdin);
        t.run += 1;
        let reason = match mode {
            Mode::Direct => line.differs.clone(),
            Mode::Squid(auth) => line
                .differs
                .clone()
                .or_else(|| line.differs_proxy.clone())
                .or_else(|| line.differs_digest.clone().filter(|_| auth == Auth::Digest)),
        };
        if let Some(why) = line.load.as_ref().filter(|_| curl != toll && reason.is_none()) {
            (toll, toll_err) = run_one(TOLL, &args, line.stdin);
            crate::loud(&format!(
                "differential line {} ({}) ran twice ({why}): {}",
                line.number,
                mode.name(),
                if curl == toll { "the second run is identical" } else { "it differs again" }
            ));
        }
        let what = format!("line {} ({}): curl {}", line.number, mode.name(), line.text);
        match (curl == toll, reason) {
            (true, None) => t.same += 1,
            (false, Some(_)) => t.expected += 1,
            (true, Some(why)) => t
                .failures
                .push(format!("{what}\n  marked as differing ({why}) but now identical: remove the mark\n")),
            (false, None) => t.failures.push(format!(
                "{what}\n  curl: {}  toll: {}",
                curl.describe(&curl_err),
                toll.describe(&toll_err)
            )),
        }
    }
    crate::loud(&format!(
        "differential suite ({}): {} command lines, {} identical to curl, {} known differences, {} unexpected",
        mode.name(),
        t.run,
        t.same,
        t.expected,
        t.failures.len()
    ));
    assert!(
        t.failures.is_empty(),
        "{} unexpected differences from curl ({}):\n\n{}",
        t.failures.len(),
        mode.name(),
        t.failures.join("\n")
    );
}

/// What the `{CADIR}`, `{UNIX}` and `{CLIENT_CERT}` placeholders stand for (kept alive for the
/// run).
struct Extras {
    dir: tempfile::TempDir,
}

impl Extras {
    fn new(http_port: u16, ca: &str) -> Extras {
        let dir = tempfile::Builder::new().prefix("toll-diff-extras-").tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("cas")).expect("ca dir");
        std::fs::copy(ca, dir.path().join("cas/test-ca.pem")).expect("copy CA");
        // curl (OpenSSL) finds --capath certificates by their subject-hash names.
        let _ = Command::new("openssl").arg("rehash").arg(dir.path().join("cas")).status();
        let key = rcgen::KeyPair::generate().expect("client key");
        let cert = rcgen::CertificateParams::new(vec!["client".to_string()])
            .expect("client params")
            .self_signed(&key)
            .expect("client cert");
        std::fs::write(dir.path().join("client.pem"), format!("{}{}", cert.pem(), key.serialize_pem()))
            .expect("client pem");
        std::fs::write(dir.path().join("pin.pem"), &crate::tls::pki().server_key_pem).expect("pin pem");
        // A Unix socket whose connections are piped to the http origin.
        let listener =
            std::os::unix::net::UnixListener::bind(dir.path().join("origin.sock")).expect("unix socket");
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let Ok(tcp) = std::net::TcpStream::connect(("127.0.0.1", http_port)) else { continue };
                let (mut a, mut b) = (conn.try_clone().expect("clone"), tcp.try_clone().expect("clone"));
                let (mut c, mut d) = (conn, tcp);
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut a, &mut b);
                    let _ = b.shutdown(std::net::Shutdown::Write);
                });
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut d, &mut c);
                    let _ = c.shutdown(std::net::Shutdown::Write);
                });
            }
        });
        Extras { dir }
    }

    fn ca_dir(&self) -> String {
        self.dir.path().join("cas").display().to_string()
    }

    fn unix(&self) -> String {
        self.dir.path().join("origin.sock").display().to_string()
    }

    fn pin_file(&self) -> String {
        self.dir.path().join("pin.pem").display().to_string()
    }

    fn client_cert(&self) -> String {
        self.dir.path().join("client.pem").display().to_string()
    }
}

#[test]
fn differential_direct() {
    run_mode(Mode::Direct);
}

#[test]
fn differential_squid_basic() {
    crate::require_squid!("differential_squid_basic");
    run_mode(Mode::Squid(Auth::Basic));
}

#[test]
fn differential_squid_digest() {
    crate::require_squid!("differential_squid_digest");
    run_mode(Mode::Squid(Auth::Digest));
}

#[test]
fn corpus_words_split_as_a_shell_does() {
    assert_eq!(
        split_words(r#"-H 'A: b c' -d "x\"y" a\ b -w '%{http_code}\n'"#).unwrap(),
        ["-H", "A: b c", "-d", "x\"y", "a b", "-w", "%{http_code}\\n"]
    );
    assert!(split_words("'open").is_err());
    let corpus = parse_corpus();
    assert!(corpus.len() >= 150, "the corpus has {} lines; the issue asks for at least 150", corpus.len());
}
