//! Runs the built `toll` binary, isolated and non-interactive:
//! - proxy-related environment removed (`*_proxy`, `NO_PROXY`, `REQUEST_METHOD`, `TOLL_*`);
//! - `HOME` and `XDG_{CONFIG,STATE,DATA,CACHE}_HOME` in a fresh tempdir per run;
//! - `TOLL_KEYRING=none`, stdin `/dev/null` (unless a test feeds it), no controlling terminal
//!   (`setsid` before exec), so no prompt can ever wait for a human;
//! - a timeout (60 s by default): the whole process group is killed and the test fails.

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

pub struct Toll {
    args: Vec<OsString>,
    env: Vec<(String, String)>,
    stdin: Option<Vec<u8>>,
    cwd: Option<PathBuf>,
    timeout: Duration,
    home: tempfile::TempDir,
    nofile: Option<u64>,
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
        cwd: None,
        timeout: Duration::from_secs(60),
        nofile: None,
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

    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.env.push((k.to_string(), v.to_string()));
        self
    }

    pub fn stdin(mut self, data: &[u8]) -> Self {
        self.stdin = Some(data.to_vec());
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

    /// Runs toll with at most `n` open descriptors (RLIMIT_NOFILE).
    pub fn nofile_limit(mut self, n: u64) -> Self {
        self.nofile = Some(n);
        self
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(TOLL);
        cmd.args(&self.args);
        let home = self.home.path();
        isolate(&mut cmd, home);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd.current_dir(self.cwd.as_deref().unwrap_or(home));
        cmd.stdin(if self.stdin.is_some() { Stdio::piped() } else { Stdio::null() });
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let nofile = self.nofile;
        unsafe {
            cmd.pre_exec(move || {
                // New session: no controlling terminal, own process group (killed as a whole).
                if libc::setsid() < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if let Some(n) = nofile {
                    let lim = libc::rlimit { rlim_cur: n as libc::rlim_t, rlim_max: n as libc::rlim_t };
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) < 0 {
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
        for a in &self.args {
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
        let mut child = self.command().spawn().unwrap_or_else(|e| panic!("cannot start {TOLL}: {e}"));
        let pid = child.id() as libc::pid_t;
        if let Some(data) = self.stdin.clone() {
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
        Out {
            code: status.code(),
            signal: status.signal(),
            stdout,
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
            elapsed,
            cmdline: toll.describe_args(),
        }
    }
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
