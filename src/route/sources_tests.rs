//! Unit tests for `crate::route::sources`: the precedence table and per-URL routing.

use super::*;
use crate::route::describe_list;
use crate::route::desktop::{host_port_spec, Bypass};
use std::cell::Cell;
use std::collections::HashMap;

/// A fake PAC engine: `PROXY pac-proxy:8080; DIRECT` for everything, recording the URLs it saw.
struct FakePac(std::sync::Mutex<Vec<String>>);

impl PacEvaluator for FakePac {
    fn evaluate(&self, url: &Url) -> Result<Vec<RouteEntry>, RouteError> {
        self.0.lock().unwrap().push(url.to_string());
        if url.host_str() == Some("broken.example") {
            return Err(RouteError::Pac { message: "PAC fake.pac, line 3: boom".into() });
        }
        Ok(vec![RouteEntry::proxy("http", "pac-proxy", 8080, "PAC fake.pac"), RouteEntry::Direct])
    }
}

/// The inputs of one case; `decide` counts desktop reads and WPAD lookups.
#[derive(Default)]
struct Case {
    explicit: Option<&'static str>,
    pac_flag: Option<&'static str>,
    noproxy_flag: Option<&'static str>,
    wpad_flag: bool,
    settings_pac: Option<&'static str>,
    settings_wpad: Option<&'static str>,
    env: Vec<(&'static str, &'static str)>,
    desktop: Option<DesktopProxy>,
    desktop_fails: bool,
    wpad_finds: Option<&'static str>,
}

struct Decided {
    plan: Result<Plan, RouteError>,
    desktop_reads: usize,
    wpad_lookups: usize,
}

impl Case {
    fn decide(&self) -> Decided {
        let env: HashMap<String, String> =
            self.env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let env = move |k: &str| env.get(k).cloned();
        let (reads, lookups) = (Cell::new(0), Cell::new(0));
        let desktop = || {
            reads.set(reads.get() + 1);
            if self.desktop_fails {
                return Err(RouteError::Desktop {
                    desktop: "GNOME".into(),
                    message: "gsettings: not found".into(),
                });
            }
            Ok(self.desktop.clone())
        };
        let wpad = || {
            lookups.set(lookups.get() + 1);
            Discovery {
                pac_url: self.wpad_finds.map(String::from),
                tried: vec!["http://wpad.corp.example/wpad.dat".into()],
                domains: vec!["corp.example".into()],
            }
        };
        let inputs = Inputs {
            explicit: self.explicit.map(|s| crate::proxy_env::parse_proxy_url(s, "-x/--proxy").unwrap()),
            pac_flag: self.pac_flag.map(String::from),
            noproxy_flag: self.noproxy_flag.map(String::from),
            wpad_flag: self.wpad_flag,
            settings_pac: self.settings_pac.map(String::from),
            settings_wpad: self.settings_wpad.map(String::from),
            settings_path: Some("/cfg/toll/config".into()),
            env: &env,
            desktop: &desktop,
            wpad: &wpad,
        };
        let plan = Plan::decide(&inputs);
        Decided { plan, desktop_reads: reads.get(), wpad_lookups: lookups.get() }
    }

    fn plan(&self) -> Plan {
        self.decide().plan.unwrap()
    }

    /// `"<list> <- <source>"` for `url`, with a fake PAC engine plugged in when needed.
    fn route(&self, url: &str) -> String {
        let plan = self.plan();
        let pac: Option<Arc<dyn PacEvaluator>> =
            plan.pac().map(|_| Arc::new(FakePac(Default::default())) as Arc<dyn PacEvaluator>);
        let r = Router::new(plan, pac).unwrap().route(&Url::parse(url).unwrap()).unwrap();
        format!("{} <- {}", describe_list(&r.entries), r.source)
    }
}

fn gnome_pac() -> DesktopProxy {
    DesktopProxy {
        desktop: "GNOME".into(),
        pac_url: Some("http://pac.corp.example/p.pac".into()),
        ..Default::default()
    }
}

fn gnome_manual() -> DesktopProxy {
    let m = Manual {
        http: host_port_spec("http", "desk-proxy", 3128, "GNOME http").unwrap(),
        https: host_port_spec("http", "desk-proxy", 3128, "GNOME https").unwrap(),
        socks: None,
        bypass: Bypass::new(["*.intra.example"]),
    };
    DesktopProxy { desktop: "GNOME".into(), manual: Some(m), ..Default::default() }
}

#[test]
fn each_step_wins_over_the_ones_below_it() {
    let all = Case {
        explicit: Some("http://cli-proxy:1"),
        env: vec![("https_proxy", "http://env-proxy:2"), ("TOLL_PAC", "/etc/toll.pac")],
        settings_pac: Some("/cfg/file.pac"),
        desktop: Some(gnome_pac()),
        wpad_flag: true,
        wpad_finds: Some("http://wpad.corp.example/wpad.dat"),
        ..Default::default()
    };
    assert_eq!(all.route("https://a.example/"), "http://cli-proxy:1 <- -x http://cli-proxy:1 (command line)");
    let d = all.decide();
    assert_eq!((d.desktop_reads, d.wpad_lookups), (0, 0), "later steps are not even read");

    let no_cli = Case { explicit: None, ..all };
    assert_eq!(no_cli.route("https://a.example/"), "http://env-proxy:2 <- https_proxy (environment)");
    // curl's rule: the variables decide, and a scheme without one goes DIRECT.
    assert_eq!(no_cli.route("http://a.example/"), "DIRECT <- https_proxy (environment)");

    let no_env = Case { env: vec![("TOLL_PAC", "/etc/toll.pac")], ..no_cli };
    assert_eq!(
        no_env.route("http://a.example/"),
        "http://pac-proxy:8080; DIRECT <- TOLL_PAC=/etc/toll.pac (toll settings)"
    );
    assert_eq!(no_env.plan().pac(), Some(&PacLocation::Path("/etc/toll.pac".into())));

    let no_toll_pac = Case { env: vec![], ..no_env };
    assert_eq!(
        no_toll_pac.plan().source.to_string(),
        "pac = /cfg/file.pac in /cfg/toll/config (toll settings)"
    );

    let no_settings = Case { settings_pac: None, ..no_toll_pac };
    let plan = no_settings.plan();
    assert_eq!(plan.source.step, Step::Desktop);
    assert_eq!(plan.pac(), Some(&PacLocation::Url(Url::parse("http://pac.corp.example/p.pac").unwrap())));

    let no_desktop = Case { desktop: None, ..no_settings };
    let plan = no_desktop.plan();
    assert_eq!(plan.source.to_string(), "http://wpad.corp.example/wpad.dat (--wpad) (WPAD)");

    let nothing = Case { wpad_flag: false, ..no_desktop };
    assert_eq!(nothing.route("http://a.example/"), "DIRECT <- no proxy is configured (default)");
    assert_eq!(nothing.decide().wpad_lookups, 0, "WPAD is opt-in");
}

#[test]
fn pac_on_the_command_line_and_its_conflict_with_x() {
    let c = Case {
        pac_flag: Some("file:///etc/p.pac"),
        env: vec![("http_proxy", "http://e:1")],
        ..Default::default()
    };
    assert_eq!(c.plan().pac(), Some(&PacLocation::Path("/etc/p.pac".into())));
    assert_eq!(c.plan().source.to_string(), "--pac file:///etc/p.pac (command line)");
    let both = Case { explicit: Some("http://p:1"), pac_flag: Some("/p.pac"), ..Default::default() };
    assert!(both.decide().plan.unwrap_err().to_string().contains("only one"));
    let bad = Case { pac_flag: Some("ftp://x/p.pac"), ..Default::default() };
    assert!(bad
        .decide()
        .plan
        .unwrap_err()
        .to_string()
        .contains("--pac: a PAC URL must be http, https or file"));
}

#[test]
fn no_proxy_wins_over_a_pac_and_the_pac_sees_only_what_browsers_show() {
    let c =
        Case { pac_flag: Some("/p.pac"), env: vec![("NO_PROXY", ".intra.example")], ..Default::default() };
    let plan = c.plan();
    let fake = Arc::new(FakePac(Default::default()));
    let router = Router::new(plan, Some(fake.clone())).unwrap();
    let r = router.route(&Url::parse("http://db.intra.example/x").unwrap()).unwrap();
    assert_eq!(r.entries, vec![RouteEntry::Direct]);
    assert_eq!(r.because.as_deref(), Some("the host matches NO_PROXY"));
    router.route(&Url::parse("https://u:pw@bank.example/account?id=7#top").unwrap()).unwrap();
    router.route(&Url::parse("http://u:pw@news.example/a?b#c").unwrap()).unwrap();
    assert_eq!(*fake.0.lock().unwrap(), ["https://bank.example/", "http://news.example/a?b"]);
    // --noproxy replaces NO_PROXY.
    let flag = Case { noproxy_flag: Some("other.example"), ..c };
    assert_eq!(
        flag.route("http://db.intra.example/"),
        "http://pac-proxy:8080; DIRECT <- --pac /p.pac (command line)"
    );
    assert_eq!(flag.route("http://other.example/"), "DIRECT <- --pac /p.pac (command line)");
}

#[test]
fn engine_errors_and_a_missing_engine_are_errors() {
    let c = Case { pac_flag: Some("/p.pac"), ..Default::default() };
    assert!(Router::new(c.plan(), None).unwrap_err().to_string().contains("not loaded"));
    let router = Router::new(c.plan(), Some(Arc::new(FakePac(Default::default())))).unwrap();
    let e = router.route(&Url::parse("http://broken.example/").unwrap()).unwrap_err();
    assert_eq!(e.to_string(), "PAC fake.pac, line 3: boom");
}

#[test]
fn desktop_manual_proxies_with_bypass_and_no_proxy() {
    let c =
        Case { desktop: Some(gnome_manual()), env: vec![("no_proxy", "skip.example")], ..Default::default() };
    assert_eq!(
        c.route("http://a.example/"),
        "http://desk-proxy:3128 <- the manual proxies of GNOME (desktop settings)"
    );
    assert_eq!(
        c.route("http://x.intra.example/"),
        "DIRECT <- the manual proxies of GNOME (desktop settings)"
    );
    assert_eq!(c.route("http://skip.example/"), "DIRECT <- the manual proxies of GNOME (desktop settings)");
}

#[test]
fn desktop_auto_detect_needs_the_wpad_opt_in() {
    let detect = DesktopProxy { desktop: "KDE".into(), auto_detect: true, ..Default::default() };
    let off = Case {
        desktop: Some(detect.clone()),
        wpad_finds: Some("http://wpad.corp.example/wpad.dat"),
        ..Default::default()
    };
    let d = off.decide();
    let plan = d.plan.unwrap();
    assert_eq!(d.wpad_lookups, 0);
    assert_eq!(plan.source.step, Step::Default);
    assert!(plan.notes[0].contains("KDE asks for automatic proxy detection"), "{:?}", plan.notes);
    assert!(!plan.unanswered(), "nothing was asked that did not answer");
    let on = Case { settings_wpad: Some("on"), ..off };
    let plan = on.plan();
    assert_eq!(plan.source.step, Step::Wpad);
    assert!(!plan.unanswered());
    assert!(plan.source.what.contains("asked for by KDE"), "{}", plan.source);
    // Opted in, desktop asks for it, nothing found: the desktop's PAC URL, then the notes say why.
    let fallback = Case {
        desktop: Some(DesktopProxy { pac_url: Some("/desk.pac".into()), ..detect }),
        wpad_finds: None,
        ..on
    };
    let plan = fallback.plan();
    assert_eq!(plan.pac(), Some(&PacLocation::Path("/desk.pac".into())));
    assert!(plan.notes[0].contains("WPAD found no PAC (tried http://wpad.corp.example/wpad.dat)"));
    assert!(plan.unanswered(), "WPAD found nothing");
}

#[test]
fn an_unreadable_desktop_is_a_note_and_bad_settings_are_errors() {
    let c = Case { desktop_fails: true, ..Default::default() };
    let plan = c.plan();
    assert_eq!(plan.source.step, Step::Default);
    assert!(plan.notes[0].contains("gsettings: not found"));
    assert!(plan.unanswered());
    // A desktop read that says "no proxy" is an answer.
    let none = Case {
        desktop: Some(DesktopProxy { desktop: "GNOME".into(), ..Default::default() }),
        ..Default::default()
    };
    assert!(!none.plan().unanswered() && none.plan().source.step == Step::Default);
    let bad = Case { settings_wpad: Some("sometimes"), ..Default::default() };
    let e = bad.decide().plan.unwrap_err().to_string();
    assert!(e.contains("wpad = … in /cfg/toll/config") && e.contains("'sometimes' is not on or off"), "{e}");
    // Not read at all when an earlier step decides.
    for earlier in [
        Case { explicit: Some("http://p:1"), settings_wpad: Some("sometimes"), ..Default::default() },
        Case {
            env: vec![("http_proxy", "http://p:1")],
            settings_wpad: Some("sometimes"),
            ..Default::default()
        },
        Case { settings_pac: Some("/p.pac"), settings_wpad: Some("sometimes"), ..Default::default() },
    ] {
        assert!(earlier.decide().plan.is_ok());
    }
}

#[test]
fn a_cgi_program_ignores_upper_case_http_proxy() {
    let cgi =
        Case { env: vec![("REQUEST_METHOD", "GET"), ("HTTP_PROXY", "http://evil:1")], ..Default::default() };
    assert_eq!(cgi.route("http://a.example/"), "DIRECT <- no proxy is configured (default)");
    let not_cgi = Case { env: vec![("HTTP_PROXY", "http://good:1")], ..Default::default() };
    assert_eq!(not_cgi.route("http://a.example/"), "http://good:1 <- HTTP_PROXY (environment)");
    // Empty values count as unset.
    let empty = Case { env: vec![("http_proxy", " ")], settings_pac: Some("/p.pac"), ..Default::default() };
    assert_eq!(empty.plan().source.step, Step::SettingsFile);
}

#[test]
fn a_pac_urls_password_is_not_in_the_source_wherever_the_pac_came_from() {
    let url = "http://pacuser:PACPW@10.0.0.1/p.pac";
    let desktop = DesktopProxy { desktop: "GNOME".into(), pac_url: Some(url.into()), ..Default::default() };
    let auto = DesktopProxy { auto_detect: true, ..desktop.clone() };
    let cases = [
        Case { pac_flag: Some(url), ..Default::default() },
        Case { env: vec![("TOLL_PAC", url)], ..Default::default() },
        Case { settings_pac: Some(url), ..Default::default() },
        Case { desktop: Some(desktop), ..Default::default() },
        Case { desktop: Some(auto), wpad_flag: true, wpad_finds: Some(url), ..Default::default() },
        Case { wpad_flag: true, wpad_finds: Some(url), ..Default::default() },
    ];
    for c in cases {
        let source = c.plan().source.to_string();
        assert!(!source.contains("PACPW"), "{source}");
        assert!(source.contains("pacuser:***@10.0.0.1"), "{source}");
    }
}
