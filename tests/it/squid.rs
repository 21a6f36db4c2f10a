//! Real Squid 5.7 on loopback. See shared/notes/squid.md for the facts this relies on.
//!
//! One launcher, [`SquidConfig`], starts every Squid of this binary: the acceptance matrix's
//! instances (one per [`Auth`], started lazily and shared: [`shared`]; or private:
//! [`Squid::start`]), the multi-scheme ones of `kdc` and the doctor's with its denying acls.
//!
//! Each instance has its own state dir (conf, password files, pid file, logs), readable and
//! writable by user `proxy` (Squid started as root drops to it), a unique alphanumeric `-n`
//! name, and runs `-N` as our child. Instances are terminated at process exit (SIGTERM, SIGKILL
//! after 3 s; see `cleanup`), or on drop for an unshared one.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub const SQUID: &str = "/usr/sbin/squid";
pub const BASIC_HELPER: &str = "/usr/lib/squid/basic_ncsa_auth";
pub const DIGEST_HELPER: &str = "/usr/lib/squid/digest_file_auth";
pub const NTLM_HELPER: &str = "/usr/lib/squid/ntlm_fake_auth";
pub const NEGOTIATE_HELPER: &str = "/usr/lib/squid/negotiate_kerberos_auth";
pub const HTPASSWD: &str = "/usr/bin/htpasswd";

/// The Basic and Digest realm.
pub const REALM: &str = "toll-test";

/// Users known to every Basic and Digest instance.
pub const ALICE: (&str, &str) = ("alice", "s3cret");
/// A password with ':' (so only the first ':' of `-U` separates), a space and non-ASCII.
pub const BOB: (&str, &str) = ("bob", "pä:ss wörd");

/// The acceptance matrix's configurations.
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
    /// The scheme, and port 9 (discard) forbidden before any authentication: a 403 on demand.
    pub fn config(self) -> SquidConfig {
        let config = SquidConfig::new().acl_lines(
            "acl toll_blocked port 9\n\
             http_access deny toll_blocked\n",
        );
        match self {
            Auth::None => config,
            Auth::Basic => config.basic(),
            Auth::Digest => config.digest(),
            Auth::DigestStale => config.digest_stale(),
        }
    }
}

/// Are squid, its helpers and htpasswd installed? If not: print the skip line and return
/// false, or panic when `TOLL_REQUIRE_SYSTEM_DEPS=1`.
pub fn available(test: &str) -> bool {
    crate::have(test, &[SQUID, BASIC_HELPER, DIGEST_HELPER, HTPASSWD], "squid apache2-utils")
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

/// The shared instance for `auth` (started on first use; statics are never dropped, so it
/// runs until the process exits).
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
    cell.get_or_init(|| Squid::start(auth))
}

// ---------------------------------------------------------------------------------------------
// The launcher.

/// An authentication scheme on offer; its `auth_param` lines (and password file) are written
/// into the state dir at start.
#[derive(Clone, Debug)]
enum Scheme {
    /// `basic_ncsa_auth` with [`ALICE`] and [`BOB`].
    Basic,
    /// `digest_file_auth` with [`ALICE`] and [`BOB`]; `stale`: nonces go stale after 3 uses.
    Digest { stale: bool },
    /// `ntlm_fake_auth`: any user, any password.
    NtlmFake,
    /// `negotiate_kerberos_auth` with this keytab.
    Negotiate { keytab: PathBuf },
}

impl Scheme {
    /// Three letters: Squid's `-n` name may have 32 characters at most.
    fn tag(&self) -> &'static str {
        match self {
            Scheme::Basic => "bas",
            Scheme::Digest { stale: false } => "dig",
            Scheme::Digest { stale: true } => "dst",
            Scheme::NtlmFake => "ntl",
            Scheme::Negotiate { .. } => "neg",
        }
    }

    fn auth_param(&self, dir: &Path) -> Result<String, String> {
        Ok(match self {
            Scheme::Basic => {
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
            Scheme::Digest { stale } => {
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
                if *stale {
                    s.push_str(
                        "auth_param digest nonce_max_count 3\n\
                         auth_param digest check_nonce_count on\n",
                    );
                }
                s
            }
            Scheme::NtlmFake => format!(
                "auth_param ntlm program {NTLM_HELPER}\n\
                 auth_param ntlm children 3 startup=1 idle=1\n\
                 auth_param ntlm keep_alive on\n"
            ),
            Scheme::Negotiate { keytab } => format!(
                "auth_param negotiate program {NEGOTIATE_HELPER} -k {} -s GSS_C_NO_NAME -t none\n\
                 auth_param negotiate children 3 startup=1 idle=1\n\
                 auth_param negotiate keep_alive on\n",
                keytab.display()
            ),
        })
    }
}

/// What a Squid is started with: the schemes it offers (in the order added), acl and
/// `http_access` lines of the test's own, the environment of Squid and its helpers, and the
/// host its [`Squid::url`] names.
///
/// With any scheme the access rules are `acl authenticated proxy_auth REQUIRED`, the test's
/// lines, `http_access allow authenticated`, `http_access deny all`; without one, the test's
/// lines, `http_access allow localhost`, `http_access deny all`.
#[derive(Clone, Debug)]
pub struct SquidConfig {
    schemes: Vec<Scheme>,
    acl_lines: String,
    env: Vec<(String, String)>,
    host: &'static str,
    /// A web server (a reverse proxy in front of this port on 127.0.0.1) rather than a proxy:
    /// its challenges are 401s with `WWW-Authenticate`, as a web site's.
    accel: Option<u16>,
}

impl SquidConfig {
    /// No authentication, no acls of the test's, URL host 127.0.0.1.
    pub fn new() -> SquidConfig {
        SquidConfig {
            schemes: Vec::new(),
            acl_lines: String::new(),
            env: Vec::new(),
            host: "127.0.0.1",
            accel: None,
        }
    }

    /// Squid as the web server of the origin on `port` (accelerator mode, `cache_peer …
    /// originserver`): a real server that asks for the schemes offered with 401s.
    pub fn accel(mut self, port: u16) -> Self {
        self.accel = Some(port);
        self
    }

    pub fn basic(self) -> Self {
        self.offer(Scheme::Basic)
    }

    pub fn digest(self) -> Self {
        self.offer(Scheme::Digest { stale: false })
    }

    /// Digest with `nonce_max_count 3` + `check_nonce_count on`.
    pub fn digest_stale(self) -> Self {
        self.offer(Scheme::Digest { stale: true })
    }

    pub fn ntlm_fake(self) -> Self {
        self.offer(Scheme::NtlmFake)
    }

    /// Negotiate with `keytab`; `env` (the realm's KRB5_* variables) goes to Squid's helpers.
    pub fn negotiate(mut self, keytab: &Path, env: Vec<(String, String)>) -> Self {
        self.env.extend(env);
        self.offer(Scheme::Negotiate { keytab: keytab.to_path_buf() })
    }

    /// acl and `http_access` lines, checked before the final `allow`.
    pub fn acl_lines(mut self, lines: &str) -> Self {
        self.acl_lines.push_str(lines);
        self
    }

    /// The host of [`Squid::url`] (`localhost` for Negotiate, which asks a ticket for it).
    pub fn url_host(mut self, host: &'static str) -> Self {
        self.host = host;
        self
    }

    fn offer(mut self, scheme: Scheme) -> Self {
        self.schemes.push(scheme);
        self
    }

    /// The schemes' tags (`non` without one): in the `-n` name and the state dir's name.
    fn label(&self) -> String {
        if self.schemes.is_empty() {
            return "non".into();
        }
        self.schemes.iter().map(Scheme::tag).collect()
    }

    /// Starts a private instance (terminated on drop); three attempts, then a panic.
    pub fn start(&self) -> Squid {
        let mut last_err = String::new();
        for _attempt in 0..3 {
            match self.try_start() {
                Ok(s) => return s,
                Err(e) => last_err = e,
            }
        }
        panic!("squid ({:?}) did not start:\n{last_err}", self.schemes);
    }

    fn try_start(&self) -> Result<Squid, String> {
        static SEQ: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let label = self.label();
        let name = format!("tollit{}{label}{seq}", std::process::id());
        let dir = state_dir(&format!("toll-it-squid-{label}-"));
        let port = crate::free_port();
        let d = dir.display();

        let mut auth_conf = String::new();
        for scheme in &self.schemes {
            auth_conf.push_str(&scheme.auth_param(&dir)?);
        }
        let acl_lines = &self.acl_lines;
        let access = if self.schemes.is_empty() {
            format!("{acl_lines}http_access allow localhost\nhttp_access deny all\n")
        } else {
            format!(
                "acl authenticated proxy_auth REQUIRED\n\
                 {acl_lines}\
                 http_access allow authenticated\n\
                 http_access deny all\n"
            )
        };
        // client_request_buffer_max_size: Squid 5 Bug 5405 cuts off a fast upload that fills the
        // default 512 KB request buffer (TCP_MISS_ABORTED; curl hits it too, fixed in Squid 6).
        let (mode, peer) = match self.accel {
            Some(web) => (
                " accel defaultsite=localhost no-vhost",
                format!(
                    "cache_peer 127.0.0.1 parent {web} 0 no-query no-digest originserver name=web\n\
                     cache_peer_access web allow all\n\
                     never_direct allow all\n"
                ),
            ),
            None => ("", String::new()),
        };
        let conf = format!(
            "# toll integration tests: {name}\n\
             http_port 127.0.0.1:{port}{mode}\n\
             {peer}\
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
             client_request_buffer_max_size 16 MB\n\
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
        let mut cmd = Command::new(SQUID);
        cmd.arg("-N").arg("-f").arg(&conf_path).arg("-n").arg(&name);
        // Never the system krb5.conf, even for the helpers of a Squid offering no Negotiate.
        cmd.env("KRB5_CONFIG", dir.join("no-krb5.conf"));
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let pid = spawn_daemon(&mut cmd, &dir.join("squid.out"), &name)?;
        // Dropped (so terminated) if it does not come up.
        let squid = Squid { port, host: self.host, dir, pid };
        wait_for_port(port, pid, "squid", || squid.diagnostics())?;
        Ok(squid)
    }
}

/// A running Squid (terminated on drop; a shared one lives in a static and is never dropped).
pub struct Squid {
    pub port: u16,
    host: &'static str,
    dir: PathBuf,
    pid: u32,
}

impl Squid {
    /// Starts a private instance for `auth` (terminated on drop).
    pub fn start(auth: Auth) -> Squid {
        auth.config().start()
    }

    /// `http://127.0.0.1:PORT` (or the host [`SquidConfig::url_host`] chose)
    pub fn url(&self) -> String {
        format!("http://{}:{}", self.host, self.port)
    }

    /// The state dir: squid.conf, the password files (`passwd`, `digest`), the logs.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Tail of cache.log and Squid's own output, for failure messages.
    pub fn diagnostics(&self) -> String {
        format!(
            "--- {}/cache.log (tail)\n{}\n--- squid output\n{}\n",
            self.dir.display(),
            tail(&self.dir.join("cache.log")),
            tail(&self.dir.join("squid.out"))
        )
    }

    /// All parsed access.log lines.
    /// The access log once it holds at least `lines` lines (Squid writes a line a little after
    /// its answer), or after 5 s.
    pub fn settled_log(&self, lines: usize) -> Vec<LogLine> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let log = self.access_log();
            if log.len() >= lines || Instant::now() > deadline {
                return log;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn access_log(&self) -> Vec<LogLine> {
        std::fs::read_to_string(self.dir.join("access.log"))
            .unwrap_or_default()
            .lines()
            .filter_map(LogLine::parse)
            .collect()
    }

    /// access.log lines about `authority` (`127.0.0.1:PORT`: the CONNECT target or the host of
    /// an absolute URL). Each test has its own origin port, so this isolates one test's traffic
    /// — from the time that origin started: an earlier test's origin may have had the same port
    /// ([`crate::origin::claimed_at`]).
    pub fn log_for(&self, authority: &str) -> Vec<LogLine> {
        let port = authority.rsplit_once(':').and_then(|(_, p)| p.parse::<u16>().ok());
        // Squid writes milliseconds, truncated.
        let since = port.and_then(crate::origin::claimed_at).map_or(0.0, |t| t - 0.002);
        self.access_log().into_iter().filter(|l| l.is_for(authority) && l.time >= since).collect()
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
        crate::cleanup::terminate(self.pid);
    }
}

/// One access.log line (Squid's native format).
#[derive(Clone, Debug)]
pub struct LogLine {
    /// Squid's time stamp (seconds since the epoch).
    pub time: f64,
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
            time: f[0].parse().unwrap_or(0.0),
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

// ---------------------------------------------------------------------------------------------
// State dirs and daemons (Squid's, and the KDC's in `kdc`).

/// uid/gid of user `proxy` when we are root (Squid drops to it), else None.
pub fn proxy_user() -> Option<(u32, u32)> {
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

/// chmod `mode`, and chown to `proxy` (when we are root).
pub fn give_to_proxy(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    if let Some((uid, gid)) = proxy_user() {
        std::os::unix::fs::chown(path, Some(uid), Some(gid)).expect("chown to proxy");
    }
}

/// A fresh temp dir (removed at process exit) that user `proxy` can use.
pub fn state_dir(prefix: &str) -> PathBuf {
    let dir = tempfile::Builder::new().prefix(prefix).tempdir().expect("tempdir").keep();
    crate::cleanup::register_dir(dir.clone());
    give_to_proxy(&dir, 0o755);
    dir
}

/// Spawns `cmd` (stdin /dev/null, stdout and stderr to the file `out`) as a registered child
/// (see `cleanup`; `marker` is in its command line) and returns its pid.
pub fn spawn_daemon(cmd: &mut Command, out: &Path, marker: &str) -> Result<u32, String> {
    let out = std::fs::File::create(out).map_err(|e| e.to_string())?;
    let child = cmd
        .stdin(Stdio::null())
        .stdout(out.try_clone().map_err(|e| e.to_string())?)
        .stderr(out)
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", cmd.get_program().to_string_lossy()))?;
    Ok(crate::cleanup::register_child(child, marker))
}

/// Waits (30 s at most) until the registered child `pid` listens on loopback `port`; the
/// error names `what` and ends with `diag()`.
pub fn wait_for_port(port: u16, pid: u32, what: &str, diag: impl Fn() -> String) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        if !crate::cleanup::is_running(pid) {
            return Err(format!("{what} exited during startup\n{}", diag()));
        }
        if Instant::now() > deadline {
            return Err(format!("{what} did not listen within 30 s\n{}", diag()));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The last 30 lines of a file (empty if unreadable).
pub fn tail(path: &Path) -> String {
    let s = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}
