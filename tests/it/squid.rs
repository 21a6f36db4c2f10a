//! Real Squid 5.7 on loopback, one instance per auth configuration, started lazily and shared
//! by the tests of this binary. See shared/notes/squid.md for the facts this relies on.
//!
//! Each instance has its own state dir (conf, password files, pid file, logs), readable and
//! writable by user `proxy` (Squid started as root drops to it), a unique alphanumeric `-n`
//! name, and runs `-N` as our child. Instances are terminated at process exit (SIGTERM, SIGKILL
//! after 3 s; see `cleanup`), or on drop for an unshared one.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub const SQUID: &str = "/usr/sbin/squid";
pub const BASIC_HELPER: &str = "/usr/lib/squid/basic_ncsa_auth";
pub const DIGEST_HELPER: &str = "/usr/lib/squid/digest_file_auth";
pub const HTPASSWD: &str = "/usr/bin/htpasswd";

pub const REALM: &str = "toll-test";

/// Users known to every authenticating instance.
pub const ALICE: (&str, &str) = ("alice", "s3cret");
/// A password with ':' (so only the first ':' of `-U` separates), a space and non-ASCII.
pub const BOB: (&str, &str) = ("bob", "pä:ss wörd");

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Auth {
    /// Control: no authentication.
    None,
    Basic,
    Digest,
    /// Digest with `nonce_max_count 3` + `check_nonce_count on`: nonces go stale fast.
    DigestStale,
}

impl Auth {
    fn name(self) -> &'static str {
        match self {
            Auth::None => "noauth",
            Auth::Basic => "basic",
            Auth::Digest => "digest",
            Auth::DigestStale => "digeststale",
        }
    }
}

/// Are squid, its helpers and htpasswd installed? If not: print the skip line and return
/// false, or panic when `TOLL_REQUIRE_SYSTEM_DEPS=1`.
pub fn available(test: &str) -> bool {
    let missing: Vec<&str> = [SQUID, BASIC_HELPER, DIGEST_HELPER, HTPASSWD]
        .into_iter()
        .filter(|p| !Path::new(p).exists())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let msg = format!(
        "SKIPPED {test}: needs the Debian package 'squid' (apt-get install squid apache2-utils); missing: {}",
        missing.join(", ")
    );
    if std::env::var("TOLL_REQUIRE_SYSTEM_DEPS").as_deref() == Ok("1") {
        panic!("{msg} (and TOLL_REQUIRE_SYSTEM_DEPS=1 is set)");
    }
    loud(&msg);
    false
}

/// Writes straight to the process's stderr: the test harness captures `eprintln!` of passing
/// tests, and a skip must be seen.
pub fn loud(msg: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "\n*** {msg} ***\n");
}

/// `return` from the test (after printing the skip line) unless Squid is installed.
#[macro_export]
macro_rules! require_squid {
    ($test:expr) => {
        if !$crate::squid::available($test) {
            return;
        }
    };
}

pub struct Squid {
    pub port: u16,
    dir: PathBuf,
    pid: u32,
    shared: bool,
}

/// The shared instance for `auth` (started on first use).
pub fn shared(auth: Auth) -> &'static Squid {
    static NONE: OnceLock<Squid> = OnceLock::new();
    static BASIC: OnceLock<Squid> = OnceLock::new();
    static DIGEST: OnceLock<Squid> = OnceLock::new();
    static DIGEST_STALE: OnceLock<Squid> = OnceLock::new();
    let cell = match auth {
        Auth::None => &NONE,
        Auth::Basic => &BASIC,
        Auth::Digest => &DIGEST,
        Auth::DigestStale => &DIGEST_STALE,
    };
    cell.get_or_init(|| {
        let mut s = Squid::start(auth);
        s.shared = true;
        s
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

/// uid/gid of user `proxy` when we are root (Squid drops to it), else None.
fn proxy_user() -> Option<(u32, u32)> {
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    let name = std::ffi::CString::new("proxy").unwrap();
    let pw = unsafe { libc::getpwnam(name.as_ptr()) };
    if pw.is_null() {
        return None;
    }
    unsafe { Some(((*pw).pw_uid, (*pw).pw_gid)) }
}

fn give_to_proxy(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    if let Some((uid, gid)) = proxy_user() {
        std::os::unix::fs::chown(path, Some(uid), Some(gid)).expect("chown to proxy");
    }
}

impl Squid {
    /// Starts a private instance (terminated on drop).
    pub fn start(auth: Auth) -> Squid {
        let mut last_err = String::new();
        for _attempt in 0..3 {
            match Self::try_start(auth) {
                Ok(s) => return s,
                Err(e) => last_err = e,
            }
        }
        panic!("squid ({}) did not start:\n{last_err}", auth.name());
    }

    fn try_start(auth: Auth) -> Result<Squid, String> {
        static SEQ: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let name = format!("tollit{}{}{}", std::process::id(), auth.name(), seq);
        let dir =
            tempfile::Builder::new().prefix("toll-it-squid-").tempdir().map_err(|e| e.to_string())?.keep();
        crate::cleanup::register_dir(dir.clone());
        give_to_proxy(&dir, 0o755);
        let port = free_port();
        let d = dir.display();

        let auth_conf = match auth {
            Auth::None => String::new(),
            Auth::Basic => {
                let file = dir.join("passwd");
                for (i, (u, p)) in [ALICE, BOB].iter().enumerate() {
                    let mut cmd = Command::new(HTPASSWD);
                    if i == 0 {
                        cmd.arg("-c");
                    }
                    let out = cmd
                        .args(["-b", "-m"])
                        .arg(&file)
                        .args([u, p])
                        .output()
                        .map_err(|e| format!("htpasswd: {e}"))?;
                    if !out.status.success() {
                        return Err(format!("htpasswd failed: {}", String::from_utf8_lossy(&out.stderr)));
                    }
                }
                give_to_proxy(&file, 0o644);
                format!(
                    "auth_param basic program {BASIC_HELPER} {}\n\
                     auth_param basic children 3 startup=1 idle=1\n\
                     auth_param basic realm {REALM}\n\
                     auth_param basic credentialsttl 5 minutes\n",
                    file.display()
                )
            }
            Auth::Digest | Auth::DigestStale => {
                let file = dir.join("digest");
                let mut content = String::new();
                for (u, p) in [ALICE, BOB] {
                    let ha1 = crate::md5_hex(format!("{u}:{REALM}:{p}").as_bytes());
                    content.push_str(&format!("{u}:{REALM}:{ha1}\n"));
                }
                std::fs::write(&file, content).map_err(|e| e.to_string())?;
                give_to_proxy(&file, 0o644);
                let mut s = format!(
                    "auth_param digest program {DIGEST_HELPER} -c {}\n\
                     auth_param digest children 3 startup=1 idle=1\n\
                     auth_param digest realm {REALM}\n",
                    file.display()
                );
                if auth == Auth::DigestStale {
                    s.push_str(
                        "auth_param digest nonce_max_count 3\n\
                         auth_param digest check_nonce_count on\n",
                    );
                }
                s
            }
        };
        // Port 9 (discard) is forbidden before any authentication: a 403 on demand.
        let access = if auth == Auth::None {
            "acl toll_blocked port 9\n\
             http_access deny toll_blocked\n\
             http_access allow localhost\n\
             http_access deny all\n"
                .to_string()
        } else {
            "acl toll_blocked port 9\n\
             acl authenticated proxy_auth REQUIRED\n\
             http_access deny toll_blocked\n\
             http_access allow authenticated\n\
             http_access deny all\n"
                .to_string()
        };
        let conf = format!(
            "# toll integration tests: {name}\n\
             http_port 127.0.0.1:{port}\n\
             visible_hostname toll-it-squid\n\
             pid_filename {d}/squid.pid\n\
             access_log stdio:{d}/access.log\n\
             cache_log {d}/cache.log\n\
             cache_store_log none\n\
             coredump_dir {d}\n\
             netdb_filename none\n\
             pinger_enable off\n\
             dns_nameservers 127.0.0.1\n\
             shutdown_lifetime 1 second\n\
             cache deny all\n\
             cache_mem 8 MB\n\
             icp_port 0\n\
             htcp_port 0\n\
             logfile_rotate 0\n\
             forwarded_for delete\n\
             {auth_conf}\
             {access}"
        );
        let conf_path = dir.join("squid.conf");
        std::fs::write(&conf_path, conf).map_err(|e| e.to_string())?;
        give_to_proxy(&conf_path, 0o644);
        // Pre-create the logs owned by proxy (Squid opens them after dropping privileges).
        for f in ["access.log", "cache.log"] {
            let p = dir.join(f);
            std::fs::write(&p, "").map_err(|e| e.to_string())?;
            give_to_proxy(&p, 0o644);
        }
        let out = std::fs::File::create(dir.join("squid.out")).map_err(|e| e.to_string())?;
        let child = Command::new(SQUID)
            .arg("-N")
            .arg("-f")
            .arg(&conf_path)
            .arg("-n")
            .arg(&name)
            .stdin(Stdio::null())
            .stdout(out.try_clone().map_err(|e| e.to_string())?)
            .stderr(out)
            .spawn()
            .map_err(|e| format!("cannot run {SQUID}: {e}"))?;
        let pid = crate::cleanup::register_child(child, &name);
        let squid = Squid { port, dir, pid, shared: false };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(squid);
            }
            if !crate::cleanup::is_running(pid) {
                let diag = squid.diagnostics();
                return Err(format!("squid exited during startup\n{diag}"));
            }
            if Instant::now() > deadline {
                let diag = squid.diagnostics();
                return Err(format!("squid did not listen within 30 s\n{diag}"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Tail of cache.log and Squid's own output, for failure messages.
    pub fn diagnostics(&self) -> String {
        let tail = |f: &str| {
            let s = std::fs::read_to_string(self.dir.join(f)).unwrap_or_default();
            let lines: Vec<&str> = s.lines().collect();
            lines[lines.len().saturating_sub(30)..].join("\n")
        };
        format!(
            "--- {}/cache.log (tail)\n{}\n--- squid output\n{}\n",
            self.dir.display(),
            tail("cache.log"),
            tail("squid.out")
        )
    }

    /// All parsed access.log lines.
    pub fn access_log(&self) -> Vec<LogLine> {
        std::fs::read_to_string(self.dir.join("access.log"))
            .unwrap_or_default()
            .lines()
            .filter_map(LogLine::parse)
            .collect()
    }

    /// access.log lines about `authority` (`127.0.0.1:PORT`: the CONNECT target or the host of
    /// an absolute URL). Each test has its own origin port, so this isolates one test's traffic.
    pub fn log_for(&self, authority: &str) -> Vec<LogLine> {
        self.access_log().into_iter().filter(|l| l.is_for(authority)).collect()
    }

    /// Polls access.log (a CONNECT's line is written when its tunnel closes) until `pred` holds
    /// for the lines about `authority`, or 5 s passed; returns the last lines read either way.
    pub fn wait_log(&self, authority: &str, pred: impl Fn(&[LogLine]) -> bool) -> Vec<LogLine> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let lines = self.log_for(authority);
            if pred(&lines) || Instant::now() > deadline {
                return lines;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Squid {
    fn drop(&mut self) {
        if !self.shared {
            crate::cleanup::terminate(self.pid);
        }
    }
}

/// One access.log line (Squid's native format).
#[derive(Clone, Debug)]
pub struct LogLine {
    pub code: u16,
    pub url: String,
    pub user: String,
    pub raw: String,
}

impl LogLine {
    fn parse(line: &str) -> Option<LogLine> {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 8 {
            return None;
        }
        let (_action, code) = f[3].split_once('/')?;
        Some(LogLine {
            code: code.parse().unwrap_or(0),
            url: f[6].to_string(),
            user: f[7].to_string(),
            raw: line.to_string(),
        })
    }

    pub fn is_for(&self, authority: &str) -> bool {
        self.url == authority
            || self.url.starts_with(&format!("http://{authority}/"))
            || self.url == format!("http://{authority}")
    }
}

pub fn count(lines: &[LogLine], code: u16) -> usize {
    lines.iter().filter(|l| l.code == code).count()
}

pub fn show(lines: &[LogLine]) -> String {
    lines.iter().map(|l| format!("  {}\n", l.raw)).collect()
}
