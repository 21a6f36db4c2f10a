//! An MIT Kerberos realm on loopback (`TEST.LOCAL`), and real Squid instances whose
//! `auth_param` lines the test chooses (Negotiate via `negotiate_kerberos_auth`, NTLM via
//! `ntlm_fake_auth`, Digest, Basic, in the order given). See shared/notes/kerberos.md.
//!
//! The realm's krb5.conf lives in its state dir, and every process that touches Kerberos (the
//! KDC, kadmin.local, kinit, Squid and its helpers, toll) gets `KRB5_CONFIG` pointing at it:
//! the system's /etc/krb5.conf (which names real KDCs) is never read. Each test gets its own
//! ticket cache ([`Realm::ticket`]), so one test's `kdestroy` cannot affect another's.

use crate::squid::{give_to_proxy, spawn_daemon, state_dir, tail, wait_for_port, Squid, SquidConfig};
use crate::squid::{NEGOTIATE_HELPER, NTLM_HELPER, SQUID};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

pub const KRB_REALM: &str = "TEST.LOCAL";
/// The Kerberos user (her password is not the Basic/Digest one, so a fallback is visible).
pub const KRB_USER: (&str, &str) = ("alice", "kerberos-pw-1");

const KRB5KDC: &str = "/usr/sbin/krb5kdc";
const KDB5_UTIL: &str = "/usr/sbin/kdb5_util";
const KADMIN_LOCAL: &str = "/usr/sbin/kadmin.local";
const KINIT: &str = "/usr/bin/kinit";
const KDESTROY: &str = "/usr/bin/kdestroy";
const KLIST: &str = "/usr/bin/klist";

/// Kerberos (KDC, admin tools, client tools) and Squid with its Negotiate helper.
pub fn have_kerberos(test: &str) -> bool {
    crate::have(
        test,
        &[KRB5KDC, KDB5_UTIL, KADMIN_LOCAL, KINIT, KDESTROY, KLIST, SQUID, NEGOTIATE_HELPER],
        "krb5-kdc krb5-admin-server krb5-user squid",
    )
}

/// Squid with the NTLM, Digest and Basic helpers.
pub fn have_squid_ntlm(test: &str) -> bool {
    crate::have(
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

/// The service of a second principal for the proxy, `shrubbery/localhost` (in Squid's keytab
/// too): what `--proxy-service-name` asks for.
pub const OTHER_SERVICE: &str = "shrubbery";

/// The realm: a running KDC and a keytab for `HTTP/localhost`, `HTTP/127.0.0.1` and
/// `shrubbery/localhost`.
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
        let port = crate::free_port();
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
            // A proxy whose principal is not HTTP/host (--proxy-service-name).
            format!("addprinc -randkey {OTHER_SERVICE}/localhost"),
            format!(
                "ktadd -k {} HTTP/localhost HTTP/127.0.0.1 {OTHER_SERVICE}/localhost",
                realm.keytab.display()
            ),
            // Trusted for delegation (`--delegation policy`); HTTP/localhost is not.
            format!("modprinc +ok_as_delegate {OTHER_SERVICE}/localhost"),
        ] {
            realm.tool(KADMIN_LOCAL, &["-r", KRB_REALM, "-q", &q], None)?;
        }
        give_to_proxy(&realm.keytab, 0o640);

        let pid_file = realm.dir.join("krb5kdc.pid");
        let mut cmd = Command::new(KRB5KDC);
        cmd.args(["-n", "-r", KRB_REALM, "-P"]).arg(&pid_file);
        realm.env(&mut cmd);
        let pid = spawn_daemon(&mut cmd, &realm.dir.join("krb5kdc.out"), &pid_file.display().to_string())?;
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

    /// How many forwarded ticket-granting tickets the KDC has issued: what a client asks for to
    /// delegate (a TGS request for `krbtgt/REALM`; nothing else in the tests asks for one).
    pub fn forwarded_tgts(&self) -> usize {
        let krbtgt = format!("for krbtgt/{KRB_REALM}@{KRB_REALM}");
        let log = std::fs::read_to_string(self.dir.join("kdc.log")).unwrap_or_default();
        log.lines().filter(|l| l.contains("TGS_REQ") && l.contains("ISSUE") && l.contains(&krbtgt)).count()
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

    /// `kinit -f alice`: a forwardable ticket, which `--delegation` can hand over.
    pub fn kinit_forwardable(&self) {
        let (user, pw) = KRB_USER;
        self.realm
            .tool_with_stdin(KINIT, &["-f", user], Some(&self.ccache), Some(&format!("{pw}\n")))
            .unwrap_or_else(|e| panic!("kinit -f: {e}"));
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

/// A private Squid (terminated on drop) offering the chosen schemes in the order given; its
/// [`Squid::url`] names `localhost`, the host Negotiate asks a ticket for (`HTTP/localhost`).
pub struct ChosenSquid(Squid);

impl ChosenSquid {
    /// Starts Squid; a [`realm`] is set up first if Negotiate is offered.
    pub fn start(offers: &[Offer]) -> ChosenSquid {
        Self::start_with(SquidConfig::new(), offers)
    }

    /// The same Squid as the web server in front of the origin on `port` (see
    /// [`SquidConfig::accel`]): Negotiate and the rest with 401s, as a web site asks.
    pub fn start_web(offers: &[Offer], port: u16) -> ChosenSquid {
        Self::start_with(SquidConfig::new().accel(port), offers)
    }

    fn start_with(config: SquidConfig, offers: &[Offer]) -> ChosenSquid {
        let mut config = config.url_host("localhost");
        for offer in offers {
            config = match offer {
                Offer::Negotiate => {
                    let r = realm();
                    let env = vec![
                        ("KRB5_CONFIG".into(), r.krb5_conf.display().to_string()),
                        ("KRB5_KTNAME".into(), r.keytab.display().to_string()),
                        ("KRB5RCACHETYPE".into(), "none".into()),
                    ];
                    config.negotiate(&r.keytab, env)
                }
                Offer::Ntlm => config.ntlm_fake(),
                Offer::Digest => config.digest(),
                Offer::Basic => config.basic(),
            };
        }
        ChosenSquid(config.start())
    }
}

impl std::ops::Deref for ChosenSquid {
    type Target = Squid;

    fn deref(&self) -> &Squid {
        &self.0
    }
}
