//! The app's side of proxy choice: gathers what `route` decides from — `-x`/`--pac`/`--wpad`,
//! the environment, the settings file, the desktop's settings, WPAD (each read only when the
//! steps before said nothing) — loads and compiles the PAC when one applies (fetched direct,
//! cached), and hands the client a [`Chooser`] with the dead-proxy memory of the state dir.

use crate::config::ProxyConfig;
use crate::error::{Error, Exit, Result};
use crate::report::{Direction, Reporter};
use crate::route::choice::Chooser;
use crate::route::desktop::{self, SystemRunner};
use crate::route::failover::DeadProxies;
use crate::route::pac_engine::PacEngine;
use crate::route::pac_fetch::{self, Cache, DirectFetcher, FetchOptions, PacText, Revalidate};
use crate::route::sources::{Inputs, Plan, Router, Step};
use crate::route::wpad::{self, DohResolver, SystemResolver};
use crate::route::{PacEvaluator, RouteError};
use crate::store::Settings;
use crate::term::sanitize;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// The WPAD resolver's time limit per candidate name.
const WPAD_DNS_TIMEOUT: Duration = Duration::from_secs(2);
/// Fetching a PAC (connect, TLS, response), like browsers' few seconds.
const PAC_FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the process keeps a compiled PAC.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum PacLife {
    /// Until the process ends, never freed: a one-shot transfer exits right after it, and
    /// tearing down QuickJS's atoms and bytecode would cost a large PAC's run time for nothing.
    Process,
    /// Freed with the chooser (`toll serve` reloads on SIGHUP; the doctor moves on).
    Chooser,
}

pub(crate) async fn chooser(
    cfg: &ProxyConfig,
    settings: &Settings,
    connect_timeout: Option<Duration>,
    env: &dyn Fn(&str) -> Option<String>,
    reporter: &dyn Reporter,
    life: PacLife,
    doh: Option<Arc<crate::doh::Doh>>,
) -> Result<Chooser> {
    let decided =
        decide(cfg, settings, env, reporter, doh.clone(), Revalidate::WhenStale, Unreachable::Fail).await?;
    if let Some(w) = decided.pac.as_ref().and_then(|p| p.warning.as_ref()) {
        eprintln!("toll: warning: {}", sanitize(w));
    }
    build(&decided, connect_timeout, env, reporter, life, doh)
}

/// What the routing is decided from: the plan and, when it uses one, the PAC's text.
pub(crate) struct Decided {
    pub plan: Plan,
    pub pac: Option<PacText>,
    /// The plan's PAC could not be had ([`Unreachable::GoDirect`]): why. URLs go DIRECT
    /// (NO_PROXY aside) until it can.
    pub unreachable: Option<String>,
    /// `--preproxy`: the proxies are reached through a SOCKS hop, which fail-over's own
    /// connection would not take.
    pub behind_hop: bool,
}

impl Decided {
    /// Whether `other` would route as this does: same plan, same PAC text (or none to be had).
    pub fn same_as(&self, other: &Decided) -> bool {
        self.plan.same_decision(&other.plan)
            && self.pac.as_ref().map(|p| &p.text) == other.pac.as_ref().map(|p| &p.text)
            && self.unreachable.is_some() == other.unreachable.is_some()
    }
}

/// What a PAC that cannot be had (not fetched and no cached copy, a file missing) means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unreachable {
    /// An error: a transfer stops (exit 3), as a setting that cannot be used does.
    Fail,
    /// DIRECT until it can be had, as browsers do (`toll serve`, which asks again).
    GoDirect,
}

/// The evaluator of a PAC that could not be had: DIRECT for every URL.
struct DirectMeanwhile;

impl PacEvaluator for DirectMeanwhile {
    fn evaluate(&self, _: &url::Url) -> std::result::Result<Vec<crate::route::RouteEntry>, RouteError> {
        Ok(vec![crate::route::RouteEntry::Direct])
    }
}

/// Decides where proxies come from and gets the PAC's text when one applies (fetched direct,
/// through the cache; `revalidate` asks about a fresh cached copy too). The PAC is not compiled.
pub(crate) async fn decide(
    cfg: &ProxyConfig,
    settings: &Settings,
    env: &dyn Fn(&str) -> Option<String>,
    reporter: &dyn Reporter,
    doh: Option<Arc<crate::doh::Doh>>,
    revalidate: Revalidate,
    unreachable: Unreachable,
) -> Result<Decided> {
    let settings_path = settings.path.as_ref().map(|p| p.display().to_string());
    let desktop = || desktop::read_current(env, &SystemRunner::default());
    // With `--doh-url`, every name on the way to the proxy is the DoH server's to answer too.
    let discover = || {
        let resolv_conf = Path::new("/etc/resolv.conf");
        match (&doh, tokio::runtime::Handle::try_current()) {
            (Some(doh), Ok(rt)) => {
                let multi = rt.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread;
                let resolver = DohResolver { doh: doh.clone(), rt, timeout: WPAD_DNS_TIMEOUT };
                // The lookups need the runtime's I/O driver, which this worker would block.
                if multi {
                    tokio::task::block_in_place(|| wpad::discover(resolv_conf, &resolver))
                } else {
                    wpad::discover(resolv_conf, &resolver)
                }
            }
            _ => wpad::discover(resolv_conf, &SystemResolver { timeout: WPAD_DNS_TIMEOUT }),
        }
    };
    let inputs = Inputs {
        explicit: cfg.explicit.clone(),
        pac_flag: cfg.pac.clone(),
        noproxy_flag: cfg.noproxy.clone(),
        wpad_flag: cfg.wpad,
        settings_pac: settings.pac.clone(),
        settings_wpad: settings.wpad.clone(),
        settings_path,
        env,
        desktop: &desktop,
        wpad: &discover,
    };
    let mut plan = Plan::decide(&inputs).map_err(route_setup_error)?;
    // curl: with no proxy from anywhere, `--preproxy`'s SOCKS proxy is the proxy.
    if let (Some(socks), Step::Default) = (&cfg.preproxy, plan.source.step) {
        plan =
            Plan::decide(&Inputs { explicit: Some(socks.clone()), ..inputs }).map_err(route_setup_error)?;
    }
    if reporter.verbose() {
        reporter.line(Direction::Info, &plan.source.clause());
        for note in &plan.notes {
            reporter.line(Direction::Info, note);
        }
    }
    let (mut pac, mut why_not) = (None, None);
    if let Some(loc) = plan.pac() {
        let fetcher = DirectFetcher::new(FetchOptions {
            timeout: PAC_FETCH_TIMEOUT,
            doh: doh.clone(),
            ..FetchOptions::default()
        });
        let cache = Cache::default_dir(env).map(|d| Cache::new(d, Arc::new(SystemTime::now)));
        match pac_fetch::load_as(loc, &fetcher, cache.as_ref(), revalidate).await {
            Ok(text) => pac = Some(text),
            Err(e @ RouteError::PacFetch { .. }) if unreachable == Unreachable::GoDirect => {
                why_not = Some(sanitize(&e.to_string()));
            }
            Err(e) => return Err(route_setup_error(e)),
        }
    }
    Ok(Decided { plan, pac, unreachable: why_not, behind_hop: cfg.preproxy.is_some() })
}

/// The [`Chooser`] for what was decided: compiles the PAC (its compiled code kept beside the
/// cache) and adds the dead-proxy memory of the state dir.
pub(crate) fn build(
    decided: &Decided,
    connect_timeout: Option<Duration>,
    env: &dyn Fn(&str) -> Option<String>,
    reporter: &dyn Reporter,
    life: PacLife,
    doh: Option<Arc<crate::doh::Doh>>,
) -> Result<Chooser> {
    let engine: Option<Arc<dyn PacEvaluator>> = match &decided.pac {
        None if decided.unreachable.is_some() => Some(Arc::new(DirectMeanwhile)),
        None => None,
        Some(text) => {
            let loc = &text.location;
            let cache = Cache::default_dir(env).map(|d| Cache::new(d, Arc::new(SystemTime::now)));
            let started = std::time::Instant::now();
            let name = loc.to_string();
            // A PAC's compiled code is kept beside the cache, so a run does not parse it again.
            let code = cache.as_ref().and_then(|c| c.code(loc));
            let (engine, new_code) = tokio::task::block_in_place(|| {
                PacEngine::compile_cached(&text.text, &name, code.as_deref(), doh.clone())
            })
            .map_err(route_setup_error)?;
            if let (Some(c), Some(new_code)) = (&cache, new_code) {
                if let Err(e) = c.keep_code(loc, &new_code) {
                    if reporter.verbose() {
                        reporter.line(Direction::Info, &format!("cannot keep the PAC's compiled code: {e}"));
                    }
                }
            }
            if reporter.verbose() {
                reporter.line(
                    Direction::Info,
                    &format!(
                        "PAC {name}: {:?}, {} bytes, ready in {:.1?}",
                        text.obtained,
                        text.text.len(),
                        started.elapsed()
                    ),
                );
            }
            let engine: Arc<dyn PacEvaluator> = Arc::new(engine);
            if life == PacLife::Process {
                std::mem::forget(engine.clone());
            }
            Some(engine)
        }
    };
    let router = Router::new(decided.plan.clone(), engine).map_err(route_setup_error)?;
    let dead = crate::store::toll_state_dir(env).map(|d| DeadProxies::in_state_dir(&d));
    Ok(Chooser::new(router, dead, connect_timeout).with_doh(doh).probing(!decided.behind_hop))
}

fn route_setup_error(e: RouteError) -> Error {
    let text = sanitize(&e.to_string());
    match e {
        RouteError::Pac { .. } | RouteError::PacFetch { .. } => Error::new(Exit::Pac, text)
            .hint("check the PAC with 'toll pac PAC URL -v', or bypass it with -x PROXY"),
        _ => Error::new(Exit::Usage, text).hint("fix the proxy setting, or give -x PROXY"),
    }
}
