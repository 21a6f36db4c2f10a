//! Runs the built `toll` binary, isolated and non-interactive:
//! - proxy-related environment removed (`*_proxy`, `NO_PROXY`, `REQUEST_METHOD`, `TOLL_*`);
//! - `HOME` and `XDG_{CONFIG,STATE,DATA,CACHE}_HOME` in a fresh tempdir per run;
//! - `TOLL_KEYRING=none`, stdin `/dev/null` (unless a test feeds it), no controlling terminal
//!   (`setsid` before exec), so no prompt can ever wait for a human;
//! - a timeout (60 s by default): the whole process group is killed and the test fails;
//! - a secrets audit after every run ([`audit`]): stdout, stderr and every file under the run's
//!   HOME/XDG dirs and working dir are searched for every test secret ([`SECRETS`], the
//!   passwords given to this run, the relay key's shape, NTLM/Negotiate tokens); a hit fails the
//!   test. Nothing is assumed redacted.
//!
//! `TOLL_IT_VERBOSE=1` adds `-v` to every transfer (a URL and no subcommand), so the whole suite
//! can be run with the proxy conversation on stderr and still pass the audit. A test that
//! compares stderr exactly opts out with [`Toll::exact_stderr`].

use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub const TOLL: &str = env!("CARGO_BIN_EXE_toll");

/// Removed besides the proxy variables and `TOLL_*` (see [`isolate`]).
const CLEARED: &[&str] = &["SSL_CERT_FILE", "SSL_CERT_DIR", "CURL_CA_BUNDLE", "RUST_LOG"];

/// The environment of every toll run (here and in `pty`): no proxy variables (any `*_proxy`,
/// `REQUEST_METHOD`), no `TOLL_*`, no CA bundle or log overrides; HOME and the XDG dirs under
/// `home`; `TOLL_KEYRING=none`, no D-Bus session or display, a dumb terminal, no colour.
pub fn isolate(cmd: &mut Command, home: &Path) {
    for k in CLEARED {
        cmd.env_remove(k);
    }
    for (k, _) in std::env::vars_os() {
        if let Some(k) = k.to_str() {
            let lower = k.to_ascii_lowercase();
            if lower.starts_with("toll_") || lower.ends_with("_proxy") || lower == "request_method" {
                cmd.env_remove(k);
            }
        }
    }
    for (var, sub) in [
        ("HOME", ""),
        ("XDG_CONFIG_HOME", ".config"),
        ("XDG_STATE_HOME", ".local/state"),
        ("XDG_DATA_HOME", ".local/share"),
        ("XDG_CACHE_HOME", ".cache"),
    ] {
        let p = home.join(sub);
        std::fs::create_dir_all(&p).expect("create XDG dir");
        cmd.env(var, p);
    }
    cmd.env("TOLL_KEYRING", "none");
    cmd.env_remove("DBUS_SESSION_BUS_ADDRESS");
    cmd.env_remove("DISPLAY");
    cmd.env_remove("WAYLAND_DISPLAY");
    cmd.env("TERM", "dumb");
    cmd.env("NO_COLOR", "1");
}

/// Every password the fixtures use (one registry: add new ones here). Each is searched for in
/// every run's output and files; so are the passwords a run is given (`-U`, the proxy URL,
/// `TOLL_PROXY_PASSWORD`) and their Basic encodings.
pub const SECRETS: &[&str] = &[
    "s3cret",           // squid::ALICE, t_misbehaving
    "pä:ss wörd",       // squid::BOB
    "kerberos-pw-1",    // kdc::KRB_USER
    "Ntlm-pässword:1",  // t_ntlm
    "h4rden-pw",        // t_hardening, t_faults
    "not-the-password", // t_doctor
    "cache-buster",     // t_keyring
];

/// Markers of NTLM and Negotiate tokens (base64 of `NTLMSS`, and of SPNEGO's DER start).
const TOKEN_MARKERS: &[&str] = &["TlRMTVNT"];

pub struct Toll {
    args: Vec<OsString>,
    env: Vec<(String, String)>,
    stdin: Option<Vec<u8>>,
    /// Standard input is a socket that fails after `stdin` ([`Toll::stdin_then_reset`]).
    stdin_reset: bool,
    /// Standard input is this file, opened for reading (`< FILE`).
    stdin_file: Option<PathBuf>,
    cwd: Option<PathBuf>,
    timeout: Duration,
    home: tempfile::TempDir,
    nofile: Option<u64>,
    address_space: Option<u64>,
    exact_stderr: bool,
}

/// `toll ARGS…`
pub fn toll<I, S>(args: I) -> Toll
where
    I: IntoIterator<Item = S>,
    S: Into<OsString>,
{
    Toll {
        args: args.into_iter().map(Into::into).collect(),
        env: Vec::new(),
        stdin: None,
        stdin_reset: false,
        stdin_file: None,
        cwd: None,
        timeout: Duration::from_secs(60),
        nofile: None,
        address_space: None,
        exact_stderr: false,
        home: tempfile::Builder::new().prefix("toll-it-home-").tempdir().expect("tempdir"),
    }
}

/// `toll -sS -x PROXY [-U user:pass] [--cacert CA] EXTRA… URL`: `path` on `origin` through
/// `proxy`, trusting the test CA for an https origin (URL last; toll, like curl, would also take
/// options after it).
pub fn via_proxy(
    proxy: &str,
    creds: Option<(&str, &str)>,
    origin: &crate::origin::Origin,
    path: &str,
    extra: &[&str],
) -> Toll {
    let mut args: Vec<String> = vec!["-sS".into(), "-x".into(), proxy.into()];
    if let Some((u, p)) = creds {
        args.push("-U".into());
        args.push(format!("{u}:{p}"));
    }
    if origin.tls {
        args.push("--cacert".into());
        args.push(crate::tls::pki().ca_arg());
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    args.push(origin.url(path));
    toll(args)
}

impl Toll {
    pub fn arg(mut self, a: impl Into<OsString>) -> Self {
        self.args.push(a.into());
        self
    }

    pub fn args<S: Into<OsString>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.env.push((k.to_string(), v.to_string()));
        self
    }

    pub fn stdin(mut self, data: &[u8]) -> Self {
        self.stdin = Some(data.to_vec());
        self
    }

    /// Standard input delivers `data`, then fails: it is a loopback socket whose sender resets
    /// it, so the read after `data` gets `ECONNRESET` (a pipe from a program that crashed only
    /// ends early). Both socket buffers are small, so toll has read nearly all of `data` when
    /// the reset comes.
    pub fn stdin_then_reset(mut self, data: &[u8]) -> Self {
        self.stdin = Some(data.to_vec());
        self.stdin_reset = true;
        self
    }

    /// Standard input is `path` itself, as a shell's `< FILE` makes it (a pipe is not).
    pub fn stdin_from_file(mut self, path: &Path) -> Self {
        self.stdin_file = Some(path.to_path_buf());
        self
    }

    pub fn cwd(mut self, dir: &Path) -> Self {
        self.cwd = Some(dir.to_path_buf());
        self
    }

    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }

    /// This test compares stderr exactly: `TOLL_IT_VERBOSE=1` does not add `-v` (the secrets
    /// audit still runs).
    pub fn exact_stderr(mut self) -> Self {
        self.exact_stderr = true;
        self
    }

    /// The arguments as run: with `-v` first for a transfer under `TOLL_IT_VERBOSE=1`.
    fn effective_args(&self) -> Vec<OsString> {
        let verbose = std::env::var("TOLL_IT_VERBOSE").as_deref() == Ok("1") && !self.exact_stderr;
        let text: Vec<String> = self.args.iter().map(|a| a.to_string_lossy().into_owned()).collect();
        let subcommand =
            text.first().is_some_and(|a| ["demo", "auth", "doctor", "completions"].contains(&a.as_str()));
        let transfer = text.iter().any(|a| a.starts_with("http://") || a.starts_with("https://"));
        let already = text.iter().any(|a| a == "-v" || a == "--verbose");
        let mut args = self.args.clone();
        if verbose && transfer && !subcommand && !already {
            args.insert(0, "-v".into());
        }
        args
    }

    /// The secrets this run was given: `-U user:pass`, `user:pass@` in a proxy URL,
    /// `TOLL_PROXY_PASSWORD`, the password `toll auth …` reads from standard input; each as
    /// given and (for a user:password pair) as Basic's base64 of `user:pass`.
    fn given_secrets(&self) -> Vec<String> {
        let text: Vec<String> = self.args.iter().map(|a| a.to_string_lossy().into_owned()).collect();
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (i, a) in text.iter().enumerate() {
            let value = if a == "-U" || a == "--proxy-user" {
                text.get(i + 1).cloned()
            } else {
                a.strip_prefix("--proxy-user=").map(str::to_owned)
            };
            if let Some((u, p)) = value.as_deref().and_then(|v| v.split_once(':')) {
                pairs.push((u.to_string(), p.to_string()));
            }
            if let Ok(url) = url::Url::parse(a) {
                if let Some(p) = url.password() {
                    let dec =
                        |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
                    pairs.push((dec(url.username()), dec(p)));
                }
            }
        }
        let mut out = Vec::new();
        for (u, p) in pairs {
            out.push(crate::base64(format!("{u}:{p}").as_bytes()));
            out.push(p);
        }
        out.extend(self.env.iter().filter(|(k, _)| k == "TOLL_PROXY_PASSWORD").map(|(_, v)| v.clone()));
        // `toll auth login` reads the password from standard input (elsewhere stdin is a body).
        if text.first().is_some_and(|a| a == "auth") {
            if let Some(pw) = self.stdin.as_deref().map(String::from_utf8_lossy) {
                out.extend(pw.lines().map(str::to_owned));
            }
        }
        // Short ones ("nope", "wrong") occur in ordinary text; the registry covers the rest.
        out.retain(|s| s.chars().count() >= 6);
        out
    }

    /// Runs toll with at most `n` open descriptors (RLIMIT_NOFILE).
    pub fn nofile_limit(mut self, n: u64) -> Self {
        self.nofile = Some(n);
        self
    }

    /// Runs toll with at most `bytes` of address space (RLIMIT_AS): an allocation beyond it
    /// fails, and toll aborts, where memory would grow without bound.
    pub fn address_space_limit(mut self, bytes: u64) -> Self {
        self.address_space = Some(bytes);
        self
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(TOLL);
        cmd.args(self.effective_args());
        let home = self.home.path();
        isolate(&mut cmd, home);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd.current_dir(self.cwd.as_deref().unwrap_or(home));
        cmd.stdin(if self.stdin.is_some() { Stdio::piped() } else { Stdio::null() });
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let (nofile, address_space) = (self.nofile, self.address_space);
        unsafe {
            cmd.pre_exec(move || {
                // New session: no controlling terminal, own process group (killed as a whole).
                if libc::setsid() < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                for (resource, n) in [(libc::RLIMIT_NOFILE, nofile), (libc::RLIMIT_AS, address_space)] {
                    let Some(n) = n else { continue };
                    let lim = libc::rlimit { rlim_cur: n as libc::rlim_t, rlim_max: n as libc::rlim_t };
                    if libc::setrlimit(resource, &lim) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
        cmd
    }

    fn describe_args(&self) -> String {
        let mut s = String::from("toll");
        for a in &self.effective_args() {
            s.push(' ');
            let a = a.to_string_lossy();
            if a.contains(' ') || a.is_empty() {
                s.push_str(&format!("{a:?}"));
            } else {
                s.push_str(&a);
            }
        }
        for (k, v) in &self.env {
            s.push_str(&format!("  [env {k}={v}]"));
        }
        s
    }

    /// Runs to completion (or the timeout, which fails the test).
    pub fn run(self) -> Out {
        self.run_inner(None)
    }

    /// Like `toll … | head -c n`: reads `n` bytes of stdout, then closes the pipe.
    pub fn run_head(self, n: usize) -> Out {
        self.run_inner(Some(n))
    }

    /// Starts toll in the background (its process id is [`Running::pid`]); [`Running::wait`]
    /// finishes like [`run`](Self::run).
    pub fn spawn(self) -> Running {
        self.start(None)
    }

    fn run_inner(self, head: Option<usize>) -> Out {
        self.start(head).wait()
    }

    fn start(self, head: Option<usize>) -> Running {
        let started = Instant::now();
        let mut cmd = self.command();
        let feeder = self.stdin_reset.then(|| {
            let (ours, theirs) = reset_pair();
            cmd.stdin(Stdio::from(std::os::fd::OwnedFd::from(ours)));
            theirs
        });
        if let Some(path) = &self.stdin_file {
            cmd.stdin(std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())));
        }
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {TOLL}: {e}"));
        drop(cmd);
        let pid = child.id() as libc::pid_t;
        if let Some(mut feeder) = feeder {
            let data = self.stdin.clone().unwrap_or_default();
            std::thread::spawn(move || {
                let _ = feeder.write_all(&data);
                std::thread::sleep(Duration::from_millis(300));
                // SO_LINGER 0: close sends a reset instead of an end of stream.
                let off = libc::linger { l_onoff: 1, l_linger: 0 };
                unsafe {
                    libc::setsockopt(
                        std::os::fd::AsRawFd::as_raw_fd(&feeder),
                        libc::SOL_SOCKET,
                        libc::SO_LINGER,
                        (&off as *const libc::linger).cast(),
                        std::mem::size_of::<libc::linger>() as libc::socklen_t,
                    );
                }
            });
        } else if let Some(data) = self.stdin.clone() {
            let mut stdin = child.stdin.take().unwrap();
            std::thread::spawn(move || {
                let _ = stdin.write_all(&data);
            });
        }
        let mut stdout = child.stdout.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let out_t = std::thread::spawn(move || {
            let mut buf = Vec::new();
            match head {
                None => {
                    let _ = stdout.read_to_end(&mut buf);
                }
                Some(n) => {
                    buf.resize(n, 0);
                    let mut got = 0;
                    while got < n {
                        match stdout.read(&mut buf[got..]) {
                            Ok(0) | Err(_) => break,
                            Ok(k) => got += k,
                        }
                    }
                    buf.truncate(got);
                    drop(stdout);
                }
            }
            buf
        });
        let err_t = std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = stderr.read_to_end(&mut buf);
            buf
        });
        Running { toll: self, child, pid, started, out_t, err_t }
    }
}

/// A connected loopback socket pair with small buffers: (toll's end, the feeder's end).
fn reset_pair() -> (std::net::TcpStream, std::net::TcpStream) {
    use std::os::fd::AsRawFd;
    let small = |fd: i32, opt: i32| {
        let n: libc::c_int = 16 * 1024;
        unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                opt,
                (&n as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
    };
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let ours = std::net::TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
    let (theirs, _) = listener.accept().expect("accept");
    small(ours.as_raw_fd(), libc::SO_RCVBUF);
    small(theirs.as_raw_fd(), libc::SO_SNDBUF);
    (ours, theirs)
}

/// A toll process started with [`Toll::spawn`].
pub struct Running {
    toll: Toll,
    child: std::process::Child,
    pub pid: libc::pid_t,
    started: Instant,
    out_t: std::thread::JoinHandle<Vec<u8>>,
    err_t: std::thread::JoinHandle<Vec<u8>>,
}

impl Running {
    /// Waits for the exit (or the timeout, which fails the test).
    pub fn wait(self) -> Out {
        let Running { toll, mut child, pid, started, out_t, err_t } = self;
        let deadline = started + toll.timeout;
        let status = loop {
            match child.try_wait() {
                Ok(Some(st)) => break st,
                Ok(None) => {}
                Err(e) => panic!("waiting for toll: {e}"),
            }
            if Instant::now() >= deadline {
                unsafe {
                    libc::kill(-pid, libc::SIGKILL);
                }
                let _ = child.kill();
                let _ = child.wait();
                let stderr = err_t.join().unwrap_or_default();
                panic!(
                    "TIMEOUT: `{}` still running after {:?}; killed.\nstderr:\n{}",
                    toll.describe_args(),
                    toll.timeout,
                    String::from_utf8_lossy(&stderr)
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let elapsed = started.elapsed();
        let stdout = out_t.join().unwrap_or_default();
        let stderr = err_t.join().unwrap_or_default();
        let out = Out {
            code: status.code(),
            signal: status.signal(),
            stdout,
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
            elapsed,
            cmdline: toll.describe_args(),
        };
        let mut dirs = vec![toll.home.path().to_path_buf()];
        dirs.extend(toll.cwd.clone());
        if let Err(hit) = audit(&out.stdout, stderr.as_slice(), &dirs, &toll.given_secrets()) {
            panic!("SECRET LEAK: {hit}\n{}", out.describe());
        }
        out
    }
}

/// Searches a run's stdout, stderr and the files under `dirs` for every secret: [`SECRETS`],
/// `given`, a relay key (a run of exactly 48 lowercase hex digits), NTLM tokens (`TlRMTVNT…`)
/// and Negotiate tokens (`YII` and 20 more base64 characters). `Err` names the first hit.
pub fn audit(stdout: &[u8], stderr: &[u8], dirs: &[PathBuf], given: &[String]) -> Result<(), String> {
    let mut needles: Vec<&str> = SECRETS.to_vec();
    needles.extend(given.iter().map(String::as_str));
    needles.extend(TOKEN_MARKERS);
    let check = |what: &str, data: &[u8]| -> Result<(), String> {
        if let Some(n) = needles.iter().find(|n| crate::contains_bytes(data, n.as_bytes())) {
            return Err(format!("{n:?} in {what}"));
        }
        if let Some(k) = hex_run(data, 48) {
            return Err(format!("a relay-key-like 48-hex-digit string {k:?} in {what}"));
        }
        if let Some(t) = negotiate_token(data) {
            return Err(format!("a Negotiate token {t:?}… in {what}"));
        }
        Ok(())
    };
    check("stdout", stdout)?;
    check("stderr", stderr)?;
    let mut stack: Vec<PathBuf> = dirs.to_vec();
    let mut seen = 0usize;
    while let Some(p) = stack.pop() {
        let Ok(meta) = std::fs::symlink_metadata(&p) else { continue };
        if meta.is_dir() {
            if let Ok(rd) = std::fs::read_dir(&p) {
                stack.extend(rd.filter_map(|e| e.ok().map(|e| e.path())));
            }
        } else if meta.is_file() {
            seen += 1;
            if seen > 10_000 {
                break;
            }
            if let Ok(data) = std::fs::read(&p) {
                check(&format!("file {}", p.display()), &data)?;
            }
        }
    }
    Ok(())
}

/// The first run of exactly `len` lowercase hex digits (not part of a longer run).
fn hex_run(data: &[u8], len: usize) -> Option<String> {
    let mut start = 0;
    let mut run = 0;
    for (i, b) in data.iter().chain(std::iter::once(&b' ')).enumerate() {
        if b.is_ascii_digit() || (b'a'..=b'f').contains(b) {
            if run == 0 {
                start = i;
            }
            run += 1;
        } else {
            if run == len {
                return Some(String::from_utf8_lossy(&data[start..start + len]).into_owned());
            }
            run = 0;
        }
    }
    None
}

/// `YII` followed by at least 20 base64 characters: the start of a SPNEGO token.
fn negotiate_token(data: &[u8]) -> Option<String> {
    let b64 = |b: &u8| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/';
    data.windows(23).find_map(|w| {
        (w.starts_with(b"YII") && w[3..].iter().all(b64))
            .then(|| String::from_utf8_lossy(&w[..12]).into_owned())
    })
}

pub struct Out {
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: String,
    pub elapsed: Duration,
    pub cmdline: String,
}

impl Out {
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn describe(&self) -> String {
        let stdout = if self.stdout.len() > 2000 {
            format!("<{} bytes, sha256 {}>", self.stdout.len(), crate::sha256_hex(&self.stdout))
        } else {
            format!("{:?}", String::from_utf8_lossy(&self.stdout))
        };
        format!(
            "`{}`\n  exit: {:?}{}  ({:.2?})\n  stdout: {}\n  stderr:\n{}",
            self.cmdline,
            self.code,
            self.signal.map(|s| format!(" signal {s}")).unwrap_or_default(),
            self.elapsed,
            stdout,
            indent(&self.stderr)
        )
    }

    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, Some(code), "expected exit {code}, got:\n{}", self.describe());
        self
    }

    #[track_caller]
    pub fn assert_ok(&self) -> &Self {
        self.assert_code(0)
    }

    #[track_caller]
    pub fn assert_stdout(&self, expected: &[u8]) -> &Self {
        if self.stdout != expected {
            panic!(
                "stdout differs: expected {} bytes (sha256 {}), got:\n{}",
                expected.len(),
                crate::sha256_hex(expected),
                self.describe()
            );
        }
        self
    }

    /// An error exit: `toll: error: …` on stderr, nothing on stdout, no panic.
    #[track_caller]
    pub fn assert_error_message(&self) -> &Self {
        assert!(
            self.stderr.contains("toll: error:"),
            "expected `toll: error: …` on stderr:\n{}",
            self.describe()
        );
        self.assert_no_panic()
    }

    #[track_caller]
    pub fn assert_no_panic(&self) -> &Self {
        assert!(
            !self.stderr.contains("panicked") && self.code != Some(101) && self.signal.is_none(),
            "toll panicked or was killed:\n{}",
            self.describe()
        );
        self
    }

    #[track_caller]
    pub fn assert_faster_than(&self, limit: Duration) -> &Self {
        assert!(self.elapsed < limit, "took {:?}, limit {limit:?}:\n{}", self.elapsed, self.describe());
        self
    }

    /// Neither stdout nor stderr contains `secret` (skipped if empty).
    #[track_caller]
    pub fn assert_not_leaked(&self, what: &str, secret: &str) -> &Self {
        if secret.is_empty() {
            return self;
        }
        assert!(
            !crate::contains_bytes(&self.stdout, secret.as_bytes()),
            "{what} ({secret:?}) appears on stdout:\n{}",
            self.describe()
        );
        assert!(!self.stderr.contains(secret), "{what} ({secret:?}) appears on stderr:\n{}", self.describe());
        self
    }
}

fn indent(s: &str) -> String {
    let mut out = String::new();
    for l in s.lines().take(200) {
        out.push_str("    | ");
        out.push_str(l);
        out.push('\n');
    }
    if s.lines().count() > 200 {
        out.push_str("    | …\n");
    }
    out
}

/// A per-test scratch directory.
pub fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("toll-it-").tempdir().expect("tempdir")
}

/// A temporary directory whose file system keeps `user.*` extended attributes (`--xattr`): in
/// the system's temporary directory, else under the build's `target/` (tmpfs before Linux 6.6,
/// which a CI machine may mount on /tmp, keeps none). `None` when neither does.
pub fn scratch_with_xattrs(prefix: &str) -> Option<tempfile::TempDir> {
    let bases = [std::env::temp_dir(), std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))];
    bases.iter().find_map(|base| {
        let dir = tempfile::Builder::new().prefix(prefix).tempdir_in(base).ok()?;
        keeps_user_xattrs(dir.path()).then_some(dir)
    })
}

fn keeps_user_xattrs(dir: &std::path::Path) -> bool {
    let probe = dir.join("probe");
    if std::fs::write(&probe, b"").is_err() {
        return false;
    }
    let Ok(c) = std::ffi::CString::new(probe.as_os_str().as_encoded_bytes()) else { return false };
    // SAFETY: NUL-terminated strings and a 1-byte value.
    let ok =
        unsafe { libc::setxattr(c.as_ptr(), c"user.toll-probe".as_ptr(), b"1".as_ptr().cast(), 1, 0) } == 0;
    let _ = std::fs::remove_file(&probe);
    ok
}
