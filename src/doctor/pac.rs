//! Step 1 when the proxy comes from a PAC or the desktop's manual settings (not `-x` or the
//! `*_proxy` variables, which `config` explains): where the PAC came from, its answer for URL,
//! which entry a transfer would use and why (dead proxies skipped), and a fix for PAC problems
//! (unreachable PAC URL, script error, a DIRECT answer for a host that is not reachable directly).

use super::{Env, Status, Step};
use crate::cli::Doctor;
use crate::error::Exit;
use crate::proxy_env::Route;
use crate::report::Quiet;
use crate::route::choice::Chooser;
use crate::route::sources::How;
use crate::route::{describe_list, RouteEntry};
use crate::setup::block_on;
use crate::term::sanitize;

/// `None` when `config` is the step that explains this setting; else the step and the route.
pub fn check(d: &Doctor, env: Env) -> Option<(Step, Option<Route>)> {
    // Cheap first: with -x or a proxy variable, the PAC steps are never read.
    let has_var = ["http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"]
        .iter()
        .any(|v| env(v).is_some_and(|s| !s.trim().is_empty()));
    if d.proxy.explicit.is_some() || (has_var && d.proxy.pac.is_none()) {
        return None;
    }
    let step = Step::new(1, "configuration");
    let settings = match crate::setup::load_settings() {
        Ok(s) => s,
        Err(e) => return Some((step.problem(e.message, Exit::Usage, e.hint.unwrap_or_default()), None)),
    };
    let mut built: Option<std::result::Result<Chooser, crate::error::Error>> = None;
    let _ = block_on(async {
        built = Some(
            crate::setup::routing::chooser(
                &d.proxy,
                &settings,
                d.request.connect_timeout,
                env,
                &Quiet,
                crate::setup::routing::PacLife::Chooser,
                None,
            )
            .await,
        );
        Ok(())
    });
    let chooser = match built.expect("block_on ran it") {
        Ok(c) => c.looking_only(),
        Err(e) => {
            let fix = match e.exit {
                Exit::Pac if e.message.starts_with("cannot get the PAC") => {
                    "the PAC server cannot be reached and no copy is cached: check its URL (toll pac URL_OF_PAC URL -v), \
                     or name the proxy with -x PROXY"
                        .to_string()
                }
                Exit::Pac => "the PAC script fails: see the line named above with 'toll pac PAC URL -v', \
                              or ask whoever publishes the PAC"
                    .to_string(),
                _ => e.hint.clone().unwrap_or_default(),
            };
            return Some((step.problem(e.message, e.exit, fix), None));
        }
    };
    let plan = chooser.router().plan();
    let from_pac = matches!(plan.how, How::Pac(_));
    if !from_pac && !matches!(plan.how, How::Manual(_)) {
        return None;
    }
    let source = plan.source.to_string();
    let notes = plan.notes.clone();
    let url = &d.request.url;
    let mut picked = None;
    let _ = block_on(async {
        picked = Some(chooser.pick(url).await);
        Ok(())
    });
    let shown = super::safe_url(url);
    let choice = match picked.expect("block_on ran it") {
        Ok(c) => c,
        Err(e) => {
            let text = sanitize(&e.to_string());
            let fix = format!("check it with 'toll pac PAC {shown} -v', or bypass it with -x PROXY");
            return Some((step.problem(text, Exit::Pac, fix), None));
        }
    };
    let (mut step, route) = match &choice.entry {
        RouteEntry::Proxy(spec) => (
            step.ok(format!("{shown} goes through proxy {} (from {source})", spec.display_url())),
            Route::Proxy(spec.clone()),
        ),
        RouteEntry::Direct => (step.ok(format!("{shown} goes direct (from {source})")), Route::Direct),
    };
    step.detail(format!("the answer for it: {}", describe_list(&choice.routed.entries)));
    if let Some(why) = &choice.routed.because {
        step.detail(why.clone());
    }
    for k in &choice.passed_over {
        step.detail(format!("passed over {k}: it failed within the last few minutes (remembered as dead)"));
    }
    for s in &choice.skipped {
        step.note(
            Status::Warning,
            format!("skipped {s}; a transfer goes on down the list and remembers the dead proxy for a few minutes"),
            Some("if that proxy should be up, tell whoever runs it; the PAC's order is kept".into()),
        );
    }
    if from_pac && choice.entry == RouteEntry::Direct && choice.routed.because.is_none() {
        step.detail(
            "the PAC says DIRECT for this URL: if the direct connection fails in step 5, the PAC is wrong for this host",
        );
    }
    for n in notes {
        step.detail(n);
    }
    Some((step, Some(route)))
}
