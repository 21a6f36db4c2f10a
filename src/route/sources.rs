//! Where the proxy comes from: the precedence of sources, decided once per run into a [`Plan`],
//! and the per-URL [`Router`] that answers with an ordered list and its [`Source`].
//!
//! The first step that says anything wins; later steps are not even read (no `gsettings` run,
//! no DNS lookup when `-x` is given):
//! 1. the command line: `-x URL` (one proxy), or `--pac FILE|URL`;
//! 2. the `*_proxy` variables (`http_proxy`, `https_proxy`, `all_proxy` and their upper-case
//!    forms, curl's rules in `crate::proxy_env`): if any is set, they decide, and a URL whose
//!    scheme has no variable goes DIRECT, as in curl;
//! 3. `TOLL_PAC` (toll's own variable, so the same step), else `pac = FILE|URL` in the
//!    settings file;
//! 4. the desktop's settings ([`super::desktop`]): its PAC URL, else its manual proxies with
//!    its bypass list. A desktop that asks for auto-detection gets WPAD only with the opt-in;
//! 5. WPAD ([`super::wpad`]), only with `--wpad` or `wpad = on`;
//! 6. otherwise DIRECT.
//!
//! `--noproxy` (else `no_proxy`/`NO_PROXY`) wins over every source: a matching URL goes DIRECT
//! without asking the PAC. A desktop that cannot be read is a note (a warning for `-v` and
//! `toll doctor`), not an error: transfers go on with the next step.

use super::desktop::{DesktopProxy, Manual};
use super::pac_fetch::PacLocation;
use super::wpad::Discovery;
use super::{pac_url_for, PacEvaluator, RouteEntry, RouteError};
use crate::config::ProxySpec;
use crate::proxy_env::{NoProxy, ProxySettings, Route};
use std::fmt;
use std::sync::Arc;
use url::Url;

/// The precedence step an answer came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    CommandLine,
    Environment,
    SettingsFile,
    Desktop,
    Wpad,
    Default,
}

impl Step {
    pub fn label(self) -> &'static str {
        match self {
            Step::CommandLine => "command line",
            Step::Environment => "environment",
            Step::SettingsFile => "toll settings",
            Step::Desktop => "desktop settings",
            Step::Wpad => "WPAD",
            Step::Default => "default",
        }
    }
}

/// Where a routing answer came from, for `-v` and `toll doctor` step 1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    pub step: Step,
    /// What exactly: `-x http://p:3128`, `https_proxy`, `pac = … in /home/a/.config/toll/config`.
    pub what: String,
}

impl Source {
    /// Where the proxies come from, as a clause: "proxies come from https_proxy (environment)",
    /// or that none is configured.
    pub fn clause(&self) -> String {
        match self.step {
            Step::Default => "no proxy is configured: URLs go direct".into(),
            _ => format!("proxies come from {self}"),
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.what, self.step.label())
    }
}

/// Everything the decision reads. The desktop and WPAD are closures so they only run when the
/// earlier steps said nothing.
pub struct Inputs<'a> {
    /// `-x`.
    pub explicit: Option<ProxySpec>,
    /// `--pac`.
    pub pac_flag: Option<String>,
    /// `--noproxy`.
    pub noproxy_flag: Option<String>,
    /// `--wpad`.
    pub wpad_flag: bool,
    /// `pac =` and `wpad =` from the settings file, and the file's path (for messages).
    pub settings_pac: Option<String>,
    pub settings_wpad: Option<String>,
    pub settings_path: Option<String>,
    pub env: &'a dyn Fn(&str) -> Option<String>,
    /// The desktop's settings (`Ok(None)`: no desktop).
    pub desktop: &'a dyn Fn() -> Result<Option<DesktopProxy>, RouteError>,
    /// WPAD discovery.
    pub wpad: &'a dyn Fn() -> Discovery,
}

/// How URLs are routed for this run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum How {
    /// `-x` or the `*_proxy` variables, through `crate::proxy_env`.
    Fixed(ProxySettings),
    /// A PAC; the coordinator loads it ([`super::pac_fetch`]) and hands the engine to [`Router::new`].
    Pac(PacLocation),
    /// The desktop's manual proxies.
    Manual(Manual),
    Direct,
}

/// The decision for this run: how, from where, and notes about steps that were skipped.
#[derive(Clone, Debug)]
pub struct Plan {
    pub how: How,
    pub source: Source,
    /// Things `-v` and `toll doctor` should say (a desktop that could not be read, a desktop
    /// asking for WPAD without the opt-in, WPAD finding nothing).
    pub notes: Vec<String>,
    no_proxy: NoProxy,
    no_proxy_origin: Option<String>,
    /// A source that could have decided did not answer: the desktop's settings could not be
    /// read, or WPAD found nothing.
    unanswered: bool,
}

/// The proxy variables in curl's order (a CGI program ignores `HTTP_PROXY`: "httpoxy").
fn proxy_vars(env: &dyn Fn(&str) -> Option<String>) -> Vec<&'static str> {
    let cgi = env("REQUEST_METHOD").is_some();
    ["http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"]
        .into_iter()
        .filter(|v| !(cgi && *v == "HTTP_PROXY"))
        .filter(|v| env(v).is_some_and(|s| !s.trim().is_empty()))
        .collect()
}

/// `on`/`off` and friends.
fn switch(value: &str, origin: &str) -> Result<bool, RouteError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" | "1" => Ok(true),
        "off" | "false" | "no" | "0" => Ok(false),
        other => {
            Err(RouteError::Setting { origin: origin.into(), message: format!("'{other}' is not on or off") })
        }
    }
}

impl Plan {
    /// Decides, in the order of the module docs.
    pub fn decide(inp: &Inputs) -> Result<Plan, RouteError> {
        let exceptions = ProxySettings::new(None, inp.noproxy_flag.as_deref(), inp.env);
        let (np, np_origin) = exceptions.no_proxy();
        let mut plan = Plan {
            how: How::Direct,
            source: Source { step: Step::Default, what: "no proxy is configured".into() },
            notes: Vec::new(),
            no_proxy: np.clone(),
            no_proxy_origin: np_origin.map(String::from),
            unanswered: false,
        };
        let settings_file = inp.settings_path.as_deref().unwrap_or("the settings file");
        // Read only when the steps before it found nothing: a later step's setting, even a
        // broken one, is not even read when an earlier step decides (`-x` works whatever it says).
        let wpad_on = || -> Result<bool, RouteError> {
            Ok(inp.wpad_flag
                || match &inp.settings_wpad {
                    Some(v) => switch(v, &format!("wpad = … in {settings_file}"))?,
                    None => false,
                })
        };
        // Where the proxies come from is printed (`-v`, doctor and its report): a PAC URL's
        // password is not.
        let masked = crate::term::redact_userinfo;
        fn set(plan: &mut Plan, how: How, step: Step, what: String) {
            plan.how = how;
            plan.source = Source { step, what };
        }
        let pac = |loc: &str, origin: &str| {
            PacLocation::parse(loc).map_err(|message| RouteError::Setting { origin: origin.into(), message })
        };
        if let (Some(_), Some(_)) = (&inp.explicit, &inp.pac_flag) {
            return Err(RouteError::Setting {
                origin: "-x and --pac".into(),
                message: "give only one of them".into(),
            });
        }
        if let Some(spec) = &inp.explicit {
            let what = format!("-x {}", spec.display_url());
            set(
                &mut plan,
                How::Fixed(ProxySettings::new(Some(spec.clone()), inp.noproxy_flag.as_deref(), inp.env)),
                Step::CommandLine,
                what,
            );
            return Ok(plan);
        }
        if let Some(loc) = &inp.pac_flag {
            set(&mut plan, How::Pac(pac(loc, "--pac")?), Step::CommandLine, format!("--pac {}", masked(loc)));
            return Ok(plan);
        }
        let vars = proxy_vars(inp.env);
        if !vars.is_empty() {
            let settings = ProxySettings::new(None, inp.noproxy_flag.as_deref(), inp.env);
            set(&mut plan, How::Fixed(settings), Step::Environment, vars.join(", "));
            return Ok(plan);
        }
        if let Some(loc) = (inp.env)("TOLL_PAC").filter(|v| !v.trim().is_empty()) {
            let what = format!("TOLL_PAC={}", masked(&loc));
            set(&mut plan, How::Pac(pac(&loc, "TOLL_PAC")?), Step::SettingsFile, what);
            return Ok(plan);
        }
        if let Some(loc) = inp.settings_pac.as_deref().filter(|v| !v.trim().is_empty()) {
            let origin = format!("pac = {} in {settings_file}", masked(loc));
            set(&mut plan, How::Pac(pac(loc, &origin)?), Step::SettingsFile, origin);
            return Ok(plan);
        }
        match (inp.desktop)() {
            Err(e) => {
                plan.notes.push(format!("ignored the desktop's proxy settings: {e}"));
                plan.unanswered = true;
            }
            Ok(None) => {}
            Ok(Some(d)) => {
                if d.auto_detect && wpad_on()? {
                    let found = (inp.wpad)();
                    if let Some(url) = &found.pac_url {
                        let what = format!("{} (auto-detection asked for by {})", masked(url), d.desktop);
                        plan.how = How::Pac(pac(url, "WPAD")?);
                        plan.source = Source { step: Step::Wpad, what };
                        return Ok(plan);
                    }
                    plan.notes.push(wpad_nothing(&found));
                    plan.unanswered = true;
                } else if d.auto_detect {
                    plan.notes.push(format!(
                        "{} asks for automatic proxy detection (WPAD); toll does that only with --wpad or wpad = on",
                        d.desktop
                    ));
                }
                if let Some(url) = &d.pac_url {
                    let origin = format!("the PAC {} from {}", masked(url), d.desktop);
                    plan.how = How::Pac(pac(url, &origin)?);
                    plan.source = Source { step: Step::Desktop, what: origin };
                    return Ok(plan);
                }
                if let Some(m) = d.manual {
                    plan.how = How::Manual(m);
                    plan.source =
                        Source { step: Step::Desktop, what: format!("the manual proxies of {}", d.desktop) };
                    return Ok(plan);
                }
            }
        }
        if wpad_on()? {
            let found = (inp.wpad)();
            let why =
                if inp.wpad_flag { "--wpad".to_string() } else { format!("wpad = on in {settings_file}") };
            match &found.pac_url {
                Some(url) => {
                    plan.how = How::Pac(pac(url, "WPAD")?);
                    plan.source = Source { step: Step::Wpad, what: format!("{} ({why})", masked(url)) };
                    return Ok(plan);
                }
                None => {
                    plan.notes.push(wpad_nothing(&found));
                    plan.unanswered = true;
                }
            }
        }
        Ok(plan)
    }

    /// The PAC this plan needs loaded, if any.
    pub fn pac(&self) -> Option<&PacLocation> {
        match &self.how {
            How::Pac(loc) => Some(loc),
            _ => None,
        }
    }

    /// The exception list in effect and where it came from (`--noproxy`, `NO_PROXY`, …).
    pub fn no_proxy(&self) -> (&NoProxy, Option<&str>) {
        (&self.no_proxy, self.no_proxy_origin.as_deref())
    }

    /// Whether a source that could have decided did not answer (the desktop's settings could
    /// not be read, WPAD found nothing): a decision that may be a glitch's, which a running
    /// `toll serve` does not swap a working routing for until the network changes.
    pub fn unanswered(&self) -> bool {
        self.unanswered
    }

    /// Whether `other` routes as this one does (its notes aside): `toll serve` keeps its routing,
    /// and the PAC's running script, when deciding again comes to the same.
    pub fn same_decision(&self, other: &Plan) -> bool {
        self.how == other.how
            && self.source == other.source
            && self.no_proxy == other.no_proxy
            && self.no_proxy_origin == other.no_proxy_origin
    }
}

#[cfg(test)]
impl Plan {
    /// A plan decided from `-x`, `--pac`, the variables `vars` and the desktop's answer alone
    /// (WPAD finds nothing), for tests of what uses plans.
    pub(crate) fn for_test(
        explicit: Option<&str>,
        pac_flag: Option<&str>,
        vars: &[(&str, &str)],
        desktop: Result<Option<DesktopProxy>, RouteError>,
    ) -> Plan {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let env = move |k: &str| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let desktop = move || desktop.clone();
        let wpad = || Discovery { pac_url: None, tried: Vec::new(), domains: Vec::new() };
        Plan::decide(&Inputs {
            explicit: explicit.map(|x| crate::proxy_env::parse_proxy_url(x, "-x").unwrap()),
            pac_flag: pac_flag.map(String::from),
            noproxy_flag: None,
            wpad_flag: false,
            settings_pac: None,
            settings_wpad: None,
            settings_path: None,
            env: &env,
            desktop: &desktop,
            wpad: &wpad,
        })
        .unwrap()
    }
}

fn wpad_nothing(found: &Discovery) -> String {
    if found.domains.is_empty() {
        "WPAD: no DNS search domain is configured, so there is nothing to look up".into()
    } else {
        format!("WPAD found no PAC (tried {})", found.tried.join(", "))
    }
}

/// The answer for one URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Routed {
    /// The ordered list (see [`super::failover`] for how it is tried).
    pub entries: Vec<RouteEntry>,
    pub source: Source,
    /// Why this URL got this answer when it is not simply the source's (`matches NO_PROXY`).
    pub because: Option<String>,
}

/// Routes URLs by a [`Plan`]: cheap per URL (every redirect hop is routed anew).
#[derive(Clone)]
pub struct Router {
    plan: Plan,
    pac: Option<Arc<dyn PacEvaluator>>,
}

impl fmt::Debug for Router {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Router").field("plan", &self.plan).field("pac", &self.pac.is_some()).finish()
    }
}

impl Router {
    /// `pac` is the loaded engine for [`Plan::pac`]; required when the plan has a PAC.
    pub fn new(plan: Plan, pac: Option<Arc<dyn PacEvaluator>>) -> Result<Router, RouteError> {
        if let (Some(loc), None) = (plan.pac(), &pac) {
            return Err(RouteError::PacFetch {
                location: loc.to_string(),
                message: "the PAC was not loaded".into(),
            });
        }
        Ok(Router { plan, pac })
    }

    /// Routes by fixed settings only (`-x`, the `*_proxy` variables, NO_PROXY): what `toll
    /// doctor`, `toll serve` and the demo use, and a transfer when no PAC applies.
    pub fn fixed(settings: ProxySettings, what: &str) -> Router {
        let plan = Plan {
            how: How::Fixed(settings),
            source: Source { step: Step::CommandLine, what: what.to_string() },
            notes: Vec::new(),
            no_proxy: NoProxy::default(),
            no_proxy_origin: None,
            unanswered: false,
        };
        Router { plan, pac: None }
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    pub fn route(&self, url: &Url) -> Result<Routed, RouteError> {
        let answer = |entries: Vec<RouteEntry>, because: Option<String>| Routed {
            entries,
            source: self.plan.source.clone(),
            because,
        };
        if self.plan.no_proxy.matches(url) {
            let origin = self.plan.no_proxy_origin.as_deref().unwrap_or("NO_PROXY");
            return Ok(answer(vec![RouteEntry::Direct], Some(format!("the host matches {origin}"))));
        }
        Ok(match &self.plan.how {
            How::Fixed(s) => match s.route(url)? {
                Route::Direct => answer(
                    vec![RouteEntry::Direct],
                    Some(format!("no proxy variable for {} URLs", url.scheme())),
                ),
                Route::Proxy(p) => answer(vec![RouteEntry::Proxy(p)], None),
            },
            How::Pac(_) => {
                let engine = self.pac.as_ref().expect("checked in Router::new");
                let mut list = engine.evaluate(&pac_url_for(url))?;
                if list.is_empty() {
                    list.push(RouteEntry::Direct);
                }
                answer(list, None)
            }
            How::Manual(m) => {
                let list = m.route(url);
                let bypassed =
                    m.bypass.matches(url).then(|| "the host is in the desktop's bypass list".to_string());
                answer(list, bypassed)
            }
            How::Direct => answer(vec![RouteEntry::Direct], None),
        })
    }
}

#[cfg(test)]
#[path = "sources_tests.rs"]
mod tests;
