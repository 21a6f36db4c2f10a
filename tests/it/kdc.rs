//! An MIT Kerberos realm on loopback (`TEST.LOCAL`), and real Squid instances whose
//! `auth_param` lines the test chooses (Negotiate via `negotiate_kerberos_auth`, NTLM via
//! `ntlm_fake_auth`, Digest, Basic, in the order given). See shared/notes/kerberos.md.
//!
//! The realm's krb5.conf lives in its state dir, and every process that touches Kerberos (the
//! KDC, kadmin.local, kinit, Squid and its helpers, toll) gets `KRB5_CONFIG` pointing at it:
//! the system's /etc/krb5.conf (which names real KDCs) is never read. Each test gets its own
//! ticket cache ([`Realm::ticket`]), so one test's `kdestroy` cannot affect another's.

use crate::squid::{LogLine, ALICE, BOB, REALM as DIGEST_REALM};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub const KRB_REALM: &str = "TEST.LOCAL";
/// The Kerberos user (her password is not the Basic/Digest one, so a fallback is visible).
pub const KRB_USER: (&str, &str) = ("alice", "kerberos-pw-1");

const KRB5KDC: &str = "/usr/sbin/krb5kdc";
const KDB5_UTIL: &str = "/usr/sbin/kdb5_util";
const KADMIN_LOCAL: &str = "/usr/sbin/kadmin.local";
const KINIT: &str = "/usr/bin/kinit";
const KDESTROY: &str = "/usr/bin/kdestroy";
const KLIST: &str = "/usr/bin/klist";
pub const NEGOTIATE_HELPER: &str = "/usr/lib/squid/negotiate_kerberos_auth";
pub const NTLM_HELPER: &str = "/usr/lib/squid/ntlm_fake_auth";
const SQUID: &str = crate::squid::SQUID;

/// Skips (loudly) or panics (with `TOLL_REQUIRE_SYSTEM_DEPS=1`) unless every file in `needed`
/// exists; `packages` names what to install.
pub fn have(test: &str, needed: &[&str], packages: &str) -> bool {
    let missing: Vec<&str> = needed.iter().copied().filter(|p| !Path::new(p).exists()).collect();
    if missing.is_empty() {
        return true;
    }
    let msg = format!(
        "SKIPPED {test}: needs the Debian packages {packages} (apt-get install --no-install-recommends {packages}); missing: {}",
        missing.join(", ")
    );
    if std::env::var("TOLL_REQUIRE_SYSTEM_DEPS").as_deref() == Ok("1") {
        panic!("{msg} (and TOLL_REQUIRE_SYSTEM_DEPS=1 is set)");
    }
    crate::squid::loud(&msg);
    false
}

/// Kerberos (KDC, admin tools, client tools) and Squid with its Negotiate helper.
pub fn have_kerberos(test: &str) -> bool {
    have(
        test,
        &[KRB5KDC, KDB5_UTIL, KADMIN_LOCAL, KINIT, KDESTROY, KLIST, SQUID, NEGOTIATE_HELPER],
        "krb5-kdc krb5-admin-server krb5-user squid",
    )
}

/// Squid with the NTLM, Digest and Basic helpers.
pub fn have_squid_ntlm(test: &str) -> bool {
    have(
        test,
        &[
            SQUID,
            NTLM_HELPER,
            crate::squid::DIGEST_HELPER,
            crate::squid::BASIC_HELPER,
            crate::squid::HTPASSWD,
        ],
        "squid apache2-utils",
    )
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

/// uid/gid of user `proxy` when we are root (Squid drops to it).
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

fn state_dir(prefix: &str) -> PathBuf {
    let dir = tempfile::Builder::new().prefix(prefix).tempdir().expect("tempdir").keep();
    crate::cleanup::register_dir(dir.clone());
    give_to_proxy(&dir, 0o755);
    dir
}

fn wait_for_port(port: u16, pid: u32, what: &str, diag: impl Fn() -> String) -> Result<(), String> {
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

fn tail(path: &Path) -> String {
    let s = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// The realm: a running KDC and a keytab for `HTTP/localhost` and `HTTP/127.0.0.1`.
pub struct Realm {
    pub dir: PathBuf,
    pub krb5_conf: PathBuf,
    pub keytab: PathBuf,
}

/// The shared realm (set up on first use, about a second).
pub fn realm() -> &'static Realm {
    static REALM: OnceLock<Realm> = OnceLock::new();
    REALM.get_or_init(|| {
        // A port found free for TCP may be taken for UDP: try again with another.
        let mut last = String::new();
        for _ in 0..3 {
            match Realm::start() {
                Ok(r) => return r,
                Err(e) => last = e,
            }
        }
        panic!("the test KDC did not start:\n{last}")
    })
}

impl Realm {
    fn start() -> Result<Realm, String> {
        let dir = state_dir("toll-it-kdc-");
        let port = free_port();
        let d = dir.display();
        let krb5_conf = dir.join("krb5.conf");
        std::fs::write(
            &krb5_conf,
            format!(
                "[libdefaults]\n\
                 \tdefault_realm = {KRB_REALM}\n\
                 \tdns_lookup_kdc = false\n\
                 \tdns_lookup_realm = false\n\
                 \tdns_canonicalize_hostname = false\n\
                 \trdns = false\n\
                 \tudp_preference_limit = 1\n\
                 \tdefault_ccache_name = FILE:{d}/no-default-ccache\n\
                 [realms]\n\
                 \t{KRB_REALM} = {{\n\t\tkdc = 127.0.0.1:{port}\n\t}}\n\
                 [domain_realm]\n\
                 \tlocalhost = {KRB_REALM}\n\
                 \t127.0.0.1 = {KRB_REALM}\n"
            ),
        )
        .map_err(|e| e.to_string())?;
        give_to_proxy(&krb5_conf, 0o644);
        std::fs::write(
            dir.join("kdc.conf"),
            format!(
                "[kdcdefaults]\n\
                 \tkdc_listen = 127.0.0.1:{port}\n\
                 \tkdc_tcp_listen = 127.0.0.1:{port}\n\
                 [realms]\n\
                 \t{KRB_REALM} = {{\n\
                 \t\tdatabase_name = {d}/principal\n\
                 \t\tkey_stash_file = {d}/stash\n\
                 \t\tacl_file = {d}/kadm5.acl\n\
                 \t\tkdc_listen = 127.0.0.1:{port}\n\
                 \t\tkdc_tcp_listen = 127.0.0.1:{port}\n\
                 \t\tmax_life = 10h\n\
                 \t}}\n\
                 [logging]\n\
                 \tkdc = FILE:{d}/kdc.log\n"
            ),
        )
        .map_err(|e| e.to_string())?;
        std::fs::write(dir.join("kadm5.acl"), "").map_err(|e| e.to_string())?;
        let realm = Realm { keytab: dir.join("http.keytab"), krb5_conf, dir };

        realm.tool(KDB5_UTIL, &["create", "-s", "-r", KRB_REALM, "-P", "toll-test-master-key"], None)?;
        let (user, pw) = KRB_USER;
        for q in [
            format!("addprinc -pw {pw} {user}"),
            "addprinc -randkey HTTP/localhost".to_string(),
            "addprinc -randkey HTTP/127.0.0.1".to_string(),
            format!("ktadd -k {} HTTP/localhost HTTP/127.0.0.1", realm.keytab.display()),
        ] {
            realm.tool(KADMIN_LOCAL, &["-r", KRB_REALM, "-q", &q], None)?;
        }
        give_to_proxy(&realm.keytab, 0o640);

        let pid_file = realm.dir.join("krb5kdc.pid");
        let out = std::fs::File::create(realm.dir.join("krb5kdc.out")).map_err(|e| e.to_string())?;
        let mut cmd = Command::new(KRB5KDC);
        cmd.args(["-n", "-r", KRB_REALM, "-P"]).arg(&pid_file);
        realm.env(&mut cmd);
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out.try_clone().map_err(|e| e.to_string())?)
            .stderr(out)
            .spawn()
            .map_err(|e| format!("cannot run {KRB5KDC}: {e}"))?;
        let pid = crate::cleanup::register_child(child, &pid_file.display().to_string());
        wait_for_port(port, pid, "krb5kdc", || {
            format!(
                "--- kdc.log\n{}\n--- output\n{}",
                tail(&realm.dir.join("kdc.log")),
                tail(&realm.dir.join("krb5kdc.out"))
            )
        })?;
        Ok(realm)
    }

    /// The Kerberos environment every process gets (no ticket cache: see [`Ticket`]).
    fn env(&self, cmd: &mut Command) {
        cmd.env("KRB5_CONFIG", &self.krb5_conf)
            .env("KRB5_KDC_PROFILE", self.dir.join("kdc.conf"))
            .env("KRB5CCNAME", format!("FILE:{}", self.dir.join("no-ccache").display()))
            .env("KRB5_KTNAME", &self.keytab)
            .env("KRB5RCACHETYPE", "none")
            .env_remove("KRB5_CLIENT_KTNAME")
            .env_remove("KRB5_TRACE");
    }

    fn tool(&self, tool: &str, args: &[&str], ccache: Option<&Path>) -> Result<String, String> {
        self.tool_with_stdin(tool, args, ccache, None)
    }

    fn tool_with_stdin(
        &self,
        tool: &str,
        args: &[&str],
        ccache: Option<&Path>,
        stdin: Option<&str>,
    ) -> Result<String, String> {
        use std::io::Write;
        let mut cmd = Command::new(tool);
        cmd.args(args);
        self.env(&mut cmd);
        if let Some(cc) = ccache {
            cmd.env("KRB5CCNAME", format!("FILE:{}", cc.display()));
        }
        let mut child = cmd
            .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {tool}: {e}"))?;
        if let Some(input) = stdin {
            let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
        }
        let out = child.wait_with_output().map_err(|e| e.to_string())?;
        let text =
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        if !out.status.success() {
            return Err(format!("{tool} {args:?} failed: {text}"));
        }
        Ok(text)
    }

    /// A fresh, empty ticket cache for one test.
    pub fn ticket(&self) -> Ticket<'_> {
        static SEQ: AtomicUsize = AtomicUsize::new(0);
        let n = SEQ.fetch_add(1, Ordering::SeqCst);
        Ticket { realm: self, ccache: self.dir.join(format!("ccache-{}-{n}", std::process::id())) }
    }
}

/// One test's ticket cache.
pub struct Ticket<'a> {
    realm: &'a Realm,
    pub ccache: PathBuf,
}

impl Ticket<'_> {
    /// `kinit alice` with her password on stdin.
    pub fn kinit(&self) {
        let (user, pw) = KRB_USER;
        self.realm
            .tool_with_stdin(KINIT, &[user], Some(&self.ccache), Some(&format!("{pw}\n")))
            .unwrap_or_else(|e| panic!("kinit: {e}\nkdc.log:\n{}", tail(&self.realm.dir.join("kdc.log"))));
        let list = self.realm.tool(KLIST, &[], Some(&self.ccache)).expect("klist after kinit");
        assert!(list.contains(&format!("{user}@{KRB_REALM}")), "klist:\n{list}");
    }

    /// `kdestroy`: the cache is gone.
    pub fn kdestroy(&self) {
        self.realm.tool(KDESTROY, &[], Some(&self.ccache)).expect("kdestroy");
        assert!(
            self.realm.tool(KLIST, &["-s"], Some(&self.ccache)).is_err(),
            "still a ticket after kdestroy"
        );
    }

    /// The environment toll runs with: this realm and this cache, nothing from /etc.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("KRB5_CONFIG".into(), self.realm.krb5_conf.display().to_string()),
            ("KRB5CCNAME".into(), format!("FILE:{}", self.ccache.display())),
            ("KRB5RCACHETYPE".into(), "none".into()),
        ]
    }

    /// klist's view of the cache (which service tickets were obtained).
    pub fn klist(&self) -> String {
        self.realm.tool(KLIST, &[], Some(&self.ccache)).unwrap_or_else(|e| e)
    }
}

/// The schemes a [`ChosenSquid`] offers, in this order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Offer {
    Negotiate,
    Ntlm,
    Digest,
    Basic,
}

/// A private Squid (terminated on drop) offering `offers` in that order.
pub struct ChosenSquid {
    pub port: u16,
    dir: PathBuf,
    pid: u32,
}

impl ChosenSquid {
    /// Starts Squid; a [`realm`] is set up first if Negotiate is offered.
    pub fn start(offers: &[Offer]) -> ChosenSquid {
        let mut last = String::new();
        for _ in 0..3 {
            match Self::try_start(offers) {
                Ok(s) => return s,
                Err(e) => last = e,
            }
        }
        panic!("squid ({offers:?}) did not start:\n{last}");
    }

    fn try_start(offers: &[Offer]) -> Result<ChosenSquid, String> {
        static SEQ: AtomicUsize = AtomicUsize::new(0);
        let name = format!("tollkrb{}n{}", std::process::id(), SEQ.fetch_add(1, Ordering::SeqCst));
        let dir = state_dir("toll-it-squidx-");
        let port = free_port();
        let d = dir.display();
        let mut auth = String::new();
        let mut env: Vec<(String, String)> = Vec::new();
        for offer in offers {
            match offer {
                Offer::Negotiate => {
                    let r = realm();
                    auth.push_str(&format!(
                        "auth_param negotiate program {NEGOTIATE_HELPER} -k {} -s GSS_C_NO_NAME -t none\n\
                         auth_param negotiate children 3 startup=1 idle=1\n\
                         auth_param negotiate keep_alive on\n",
                        r.keytab.display()
                    ));
                    env.push(("KRB5_CONFIG".into(), r.krb5_conf.display().to_string()));
                    env.push(("KRB5_KTNAME".into(), r.keytab.display().to_string()));
                    env.push(("KRB5RCACHETYPE".into(), "none".into()));
                }
                Offer::Ntlm => auth.push_str(&format!(
                    "auth_param ntlm program {NTLM_HELPER}\n\
                     auth_param ntlm children 3 startup=1 idle=1\n\
                     auth_param ntlm keep_alive on\n"
                )),
                Offer::Digest => {
                    let file = dir.join("digest");
                    let mut content = String::new();
                    for (u, p) in [ALICE, BOB] {
                        let ha1 = crate::md5_hex(format!("{u}:{DIGEST_REALM}:{p}").as_bytes());
                        content.push_str(&format!("{u}:{DIGEST_REALM}:{ha1}\n"));
                    }
                    std::fs::write(&file, content).map_err(|e| e.to_string())?;
                    give_to_proxy(&file, 0o644);
                    auth.push_str(&format!(
                        "auth_param digest program {} -c {}\n\
                         auth_param digest children 3 startup=1 idle=1\n\
                         auth_param digest realm {DIGEST_REALM}\n",
                        crate::squid::DIGEST_HELPER,
                        file.display()
                    ));
                }
                Offer::Basic => {
                    let file = dir.join("passwd");
                    for (i, (u, p)) in [ALICE, BOB].iter().enumerate() {
                        let mut cmd = Command::new(crate::squid::HTPASSWD);
                        if i == 0 {
                            cmd.arg("-c");
                        }
                        let out = cmd
                            .args(["-b", "-m"])
                            .arg(&file)
                            .args([u, p])
                            .output()
                            .map_err(|e| e.to_string())?;
                        if !out.status.success() {
                            return Err(format!("htpasswd: {}", String::from_utf8_lossy(&out.stderr)));
                        }
                    }
                    give_to_proxy(&file, 0o644);
                    auth.push_str(&format!(
                        "auth_param basic program {} {}\n\
                         auth_param basic children 3 startup=1 idle=1\n\
                         auth_param basic realm {DIGEST_REALM}\n",
                        crate::squid::BASIC_HELPER,
                        file.display()
                    ));
                }
            }
        }
        let conf = format!(
            "# toll integration tests: {name} {offers:?}\n\
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
             {auth}\
             acl authenticated proxy_auth REQUIRED\n\
             http_access allow authenticated\n\
             http_access deny all\n"
        );
        let conf_path = dir.join("squid.conf");
        std::fs::write(&conf_path, conf).map_err(|e| e.to_string())?;
        give_to_proxy(&conf_path, 0o644);
        for f in ["access.log", "cache.log"] {
            let p = dir.join(f);
            std::fs::write(&p, "").map_err(|e| e.to_string())?;
            give_to_proxy(&p, 0o644);
        }
        let out = std::fs::File::create(dir.join("squid.out")).map_err(|e| e.to_string())?;
        let mut cmd = Command::new(SQUID);
        cmd.arg("-N").arg("-f").arg(&conf_path).arg("-n").arg(&name);
        // Never the system krb5.conf, even for the helpers of a Squid offering no Negotiate.
        cmd.env("KRB5_CONFIG", dir.join("no-krb5.conf"));
        for (k, v) in &env {
            cmd.env(k, v);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out.try_clone().map_err(|e| e.to_string())?)
            .stderr(out)
            .spawn()
            .map_err(|e| format!("cannot run {SQUID}: {e}"))?;
        let pid = crate::cleanup::register_child(child, &name);
        let squid = ChosenSquid { port, dir, pid };
        wait_for_port(port, pid, "squid", || squid.diagnostics())?;
        Ok(squid)
    }

    /// `http://localhost:PORT`: the host name Negotiate asks a ticket for (`HTTP/localhost`).
    pub fn url(&self) -> String {
        format!("http://localhost:{}", self.port)
    }

    pub fn diagnostics(&self) -> String {
        format!(
            "--- {}/cache.log (tail)\n{}\n--- squid output\n{}\n",
            self.dir.display(),
            tail(&self.dir.join("cache.log")),
            tail(&self.dir.join("squid.out"))
        )
    }

    /// access.log lines about `authority` (`127.0.0.1:PORT`).
    pub fn log_for(&self, authority: &str) -> Vec<LogLine> {
        std::fs::read_to_string(self.dir.join("access.log"))
            .unwrap_or_default()
            .lines()
            .filter_map(parse_log_line)
            .filter(|l| l.is_for(authority))
            .collect()
    }

    /// Polls access.log until `pred` holds for `authority`'s lines (5 s at most).
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

impl Drop for ChosenSquid {
    fn drop(&mut self) {
        crate::cleanup::terminate(self.pid);
    }
}

/// One line of Squid's native access.log format.
fn parse_log_line(line: &str) -> Option<LogLine> {
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
