//! The desktop's proxy settings, in one model ([`DesktopProxy`]) whatever the desktop: this file
//! owns the model, the bypass-list matcher, which desktop applies, and the command runner seam.
//! One file per reader: [`gnome`] (`gsettings`), [`kde`] (`kioslaverc`), [`macos`]
//! (`scutil --proxy` output), [`windows`] (WinINet values).
//!
//! What a desktop can say, in the order Chrome applies it: auto-detect (WPAD), then a PAC URL,
//! then manual proxies per scheme with a bypass list. toll does WPAD only when the user opted in
//! (`--wpad`/`wpad = on`); a desktop that asks for it without the opt-in is noted and the next
//! item used.

pub mod gnome;
pub mod kde;
pub mod macos;
pub mod windows;

use super::RouteEntry;
use crate::config::ProxySpec;
use crate::proxy_env::NoProxy;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use url::{Host, Url};

/// What the desktop's settings say, read once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DesktopProxy {
    /// Which reader, for messages: `GNOME (org.gnome.system.proxy)`, `KDE (…/kioslaverc)`, ….
    pub desktop: String,
    /// The desktop asks for WPAD auto-detection.
    pub auto_detect: bool,
    /// A PAC URL (or path) to use.
    pub pac_url: Option<String>,
    /// Manual proxies (used when there is no PAC).
    pub manual: Option<Manual>,
}

impl DesktopProxy {
    /// True when the desktop says "no proxy" (nothing to apply).
    pub fn is_none(&self) -> bool {
        !self.auto_detect && self.pac_url.is_none() && self.manual.is_none()
    }
}

/// Manual per-scheme proxies: `http` for http URLs, `https` for https URLs, and `socks` for any
/// URL whose scheme has none of its own (as Chrome does with the GNOME and KDE settings).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Manual {
    pub http: Option<ProxySpec>,
    pub https: Option<ProxySpec>,
    pub socks: Option<ProxySpec>,
    pub bypass: Bypass,
}

impl Manual {
    /// The list for `url`: `[Direct]` when bypassed or when no proxy applies.
    pub fn route(&self, url: &Url) -> Vec<RouteEntry> {
        if self.bypass.matches(url) {
            return vec![RouteEntry::Direct];
        }
        let by_scheme = match url.scheme() {
            "https" | "wss" => self.https.as_ref(),
            "http" | "ws" => self.http.as_ref(),
            _ => None,
        };
        match by_scheme.or(self.socks.as_ref()) {
            Some(p) => vec![RouteEntry::Proxy(p.clone())],
            None => vec![RouteEntry::Direct],
        }
    }

    pub fn is_empty(&self) -> bool {
        self.http.is_none() && self.https.is_none() && self.socks.is_none()
    }
}

/// A desktop's list of hosts that bypass the manual proxies. Plain entries (`example.com`,
/// `*.example.com`, `.example.com`, `10.0.0.0/8`, `::1`, `host:port`) have `NO_PROXY`'s
/// meaning; entries with a `*` elsewhere (`192.168.*`, `*.corp.*`) are shell-style patterns on
/// the host name; `<local>` (Windows) and `ExcludeSimpleHostnames` (macOS) bypass host names
/// without a dot; `reversed` (KDE's ReversedException) uses the proxy only for listed hosts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bypass {
    plain: NoProxy,
    globs: Vec<String>,
    pub simple_hosts: bool,
    pub reversed: bool,
}

impl Bypass {
    /// Builds from the entries as the desktop lists them.
    pub fn new<'a>(entries: impl IntoIterator<Item = &'a str>) -> Bypass {
        let mut plain = Vec::new();
        let mut globs = Vec::new();
        let mut simple_hosts = false;
        for e in entries.into_iter().map(str::trim).filter(|e| !e.is_empty()) {
            let lower = e.to_ascii_lowercase();
            if lower == "<local>" {
                simple_hosts = true;
            } else if lower.trim_start_matches("*.").contains('*') || lower.contains('?') {
                globs.push(lower);
            } else {
                plain.push(lower);
            }
        }
        Bypass { plain: NoProxy::parse(&plain.join(",")), globs, simple_hosts, reversed: false }
    }

    /// Does `url` go DIRECT?
    pub fn matches(&self, url: &Url) -> bool {
        let listed = self.listed(url);
        listed != self.reversed
    }

    fn listed(&self, url: &Url) -> bool {
        let Some(host) = url.host() else { return false };
        let name = match &host {
            Host::Domain(d) => d.trim_end_matches('.').to_ascii_lowercase(),
            Host::Ipv4(a) => a.to_string(),
            Host::Ipv6(a) => a.to_string(),
        };
        (self.simple_hosts && matches!(host, Host::Domain(_)) && !name.contains('.'))
            || self.plain.matches(url)
            || self.globs.iter().any(|g| glob(g, &name))
    }
}

/// Shell-style `*` and `?` matching (what `shExpMatch` and the desktops' lists mean).
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// Which desktop's settings apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Desktop {
    Gnome,
    Kde,
    MacOs,
    Windows,
}

/// macOS and Windows by platform; elsewhere `XDG_CURRENT_DESKTOP` (a `:`-separated list): KDE
/// means `kioslaverc`, any other desktop the GNOME settings through `gsettings` (Cinnamon,
/// Unity, Budgie, Pantheon, XFCE… share them, as Chrome assumes). No desktop (a server, an SSH
/// session) means no desktop settings.
pub fn which(env: &dyn Fn(&str) -> Option<String>) -> Option<Desktop> {
    if cfg!(target_os = "macos") {
        return Some(Desktop::MacOs);
    }
    if cfg!(windows) {
        return Some(Desktop::Windows);
    }
    which_xdg(env("XDG_CURRENT_DESKTOP").as_deref())
}

fn which_xdg(current: Option<&str>) -> Option<Desktop> {
    let names: Vec<String> =
        current?.split(':').map(|s| s.trim().to_ascii_uppercase()).filter(|s| !s.is_empty()).collect();
    if names.is_empty() {
        None
    } else if names.iter().any(|n| n == "KDE") {
        Some(Desktop::Kde)
    } else {
        Some(Desktop::Gnome)
    }
}

/// Reads the settings of the desktop that applies ([`which`]): `Ok(None)` when there is no
/// desktop. GNOME and macOS go through `runner`; KDE reads `kioslaverc` from the config dir
/// (`$XDG_CONFIG_HOME`, else `~/.config`). On Windows nothing is read yet (`Ok(None)`):
/// [`windows::from_values`] turns WinINet's values into settings, but no registry reader calls it.
pub fn read_current(
    env: &dyn Fn(&str) -> Option<String>,
    runner: &dyn Runner,
) -> Result<Option<DesktopProxy>, super::RouteError> {
    match which(env) {
        None | Some(Desktop::Windows) => Ok(None),
        Some(Desktop::Gnome) => gnome::read(runner).map(Some),
        Some(Desktop::MacOs) => macos::read(runner).map(Some),
        Some(Desktop::Kde) => match crate::store::config_dir(env) {
            Some(dir) => kde::read(&dir.join("kioslaverc"), env).map(Some),
            None => Ok(None),
        },
    }
}

/// Runs a command and returns its standard output: the seam for `gsettings` and `scutil`.
pub trait Runner {
    fn run(&self, program: &str, args: &[&str]) -> Result<String, String>;
}

/// The real runner: the command with the process's environment plus `extra_env`, no stdin,
/// killed after `timeout` (a settings reader must never hang a transfer).
pub struct SystemRunner {
    pub extra_env: Vec<(String, String)>,
    pub timeout: Duration,
}

impl Default for SystemRunner {
    fn default() -> Self {
        SystemRunner { extra_env: Vec::new(), timeout: Duration::from_secs(3) }
    }
}

impl Runner for SystemRunner {
    fn run(&self, program: &str, args: &[&str]) -> Result<String, String> {
        let mut child = Command::new(program)
            .args(args)
            .envs(self.extra_env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {program}: {e}"))?;
        let mut out = child.stdout.take().expect("piped");
        // Read on a thread so a full pipe cannot block the child while we wait for it.
        let reader = std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = out.by_ref().take(1 << 20).read_to_end(&mut buf);
            buf
        });
        let deadline = Instant::now() + self.timeout;
        let status = loop {
            match child.try_wait() {
                Ok(Some(s)) => break s,
                Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
                Ok(None) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!("{program} did not answer within {:?}", self.timeout));
                }
                Err(e) => return Err(format!("{program}: {e}")),
            }
        };
        let stdout = reader.join().unwrap_or_default();
        if !status.success() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.by_ref().take(4096).read_to_string(&mut err);
            }
            return Err(format!("{program} {} failed ({status}): {}", args.join(" "), err.trim()));
        }
        String::from_utf8(stdout).map_err(|_| format!("{program} printed text that is not UTF-8"))
    }
}

/// Parses a desktop's `host` + `port` pair into a proxy (`None` when the host is empty or the
/// port 0: the desktops store "unset" that way). A host may carry its own `scheme://`.
pub(crate) fn host_port_spec(
    scheme: &str,
    host: &str,
    port: u16,
    origin: &str,
) -> Result<Option<ProxySpec>, crate::proxy_env::ProxyError> {
    let host = host.trim();
    if host.is_empty() || port == 0 {
        return Ok(None);
    }
    let (scheme, bare) = match host.split_once("://") {
        Some((s, rest)) => (s.to_ascii_lowercase(), rest.trim_end_matches('/')),
        None => (scheme.to_string(), host),
    };
    let bracketed =
        if bare.contains(':') && !bare.starts_with('[') { format!("[{bare}]") } else { bare.into() };
    crate::proxy_env::parse_proxy_url(&format!("{scheme}://{bracketed}:{port}"), origin).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn bypass_lists_as_the_desktops_write_them() {
        let b =
            Bypass::new(["localhost", "127.0.0.0/8", "::1", "*.corp.example", "192.168.*", "<local>", ""]);
        for direct in [
            "http://localhost/",
            "http://127.0.0.5/",
            "http://[::1]/",
            "http://a.corp.example/",
            "http://192.168.4.4/",
            "http://intranet/",
        ] {
            assert!(b.matches(&url(direct)), "{direct}");
        }
        for proxied in
            ["http://example.com/", "http://corp.example.org/", "http://10.0.0.1/", "http://[::2]/"]
        {
            assert!(!b.matches(&url(proxied)), "{proxied}");
        }
        let reversed = Bypass { reversed: true, ..Bypass::new(["*.proxied.example"]) };
        assert!(!reversed.matches(&url("http://a.proxied.example/")));
        assert!(reversed.matches(&url("http://elsewhere.example/")));
    }

    #[test]
    fn glob_matches_like_shexpmatch() {
        assert!(glob("*.corp.*", "a.corp.example"));
        assert!(glob("10.?.*", "10.1.2.3"));
        assert!(!glob("10.?.*", "10.12.2.3"));
        assert!(glob("*", ""));
        assert!(!glob("a*b", "ac"));
    }

    #[test]
    fn manual_proxies_per_scheme_with_socks_as_the_fallback() {
        let spec = |h: &str| host_port_spec("http", h, 3128, "t").unwrap();
        let m = Manual {
            http: spec("web"),
            https: None,
            socks: host_port_spec("socks5h", "sox", 1080, "t").unwrap(),
            bypass: Bypass::new(["intra.example"]),
        };
        let list = |u: &str| super::super::describe_list(&m.route(&url(u)));
        assert_eq!(list("http://a.example/"), "http://web:3128");
        assert_eq!(list("https://a.example/"), "socks5h://sox:1080");
        assert_eq!(list("http://x.intra.example/"), "DIRECT");
        assert_eq!(host_port_spec("http", "", 3128, "t").unwrap(), None);
        assert_eq!(host_port_spec("http", "h", 0, "t").unwrap(), None);
        assert_eq!(
            host_port_spec("http", "https://h/", 8443, "t").unwrap().unwrap().display_url(),
            "https://h:8443"
        );
        assert_eq!(
            host_port_spec("http", "::1", 8080, "t").unwrap().unwrap().display_url(),
            "http://[::1]:8080"
        );
        assert!(host_port_spec("http", "bad host", 1, "t").is_err());
    }

    #[test]
    fn which_desktop_from_xdg_current_desktop() {
        assert_eq!(which_xdg(Some("KDE")), Some(Desktop::Kde));
        assert_eq!(which_xdg(Some("ubuntu:GNOME")), Some(Desktop::Gnome));
        assert_eq!(which_xdg(Some("X-Cinnamon")), Some(Desktop::Gnome));
        assert_eq!(which_xdg(Some("")), None);
        assert_eq!(which_xdg(None), None);
    }

    #[test]
    fn system_runner_captures_output_fails_clearly_and_times_out() {
        let r = SystemRunner { extra_env: vec![("TOLL_T".into(), "v1".into())], ..Default::default() };
        assert_eq!(r.run("sh", &["-c", "printf %s \"$TOLL_T\""]).unwrap(), "v1");
        assert!(r.run("sh", &["-c", "echo oops >&2; exit 3"]).unwrap_err().contains("oops"));
        assert!(r.run("/nonexistent/toll-cmd", &[]).unwrap_err().contains("cannot run"));
        let slow = SystemRunner { timeout: Duration::from_millis(200), ..Default::default() };
        let t = Instant::now();
        assert!(slow.run("sleep", &["5"]).unwrap_err().contains("did not answer"));
        assert!(t.elapsed() < Duration::from_secs(3));
    }
}
