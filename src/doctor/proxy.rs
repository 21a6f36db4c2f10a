//! Steps 2–6 once the route is known: reachability, the unauthenticated challenge, the
//! credential sources and the ONE authenticated attempt, the destination, and the certificate
//! the origin presents. See the module docs of `doctor` for how sessions are used.

use super::net;
use super::outcome::{fix_tls_step5, step5, step6};
use super::schemes::{assess, SchemeCheck};
use super::sources::{known_user, offer_prompt, one_source, sources, Candidate};
use super::{destination, ms, safe_url, Env, RawLeg, Recorder, Status, Step};
use crate::auth::{self, Scheme, SchemeSet};
use crate::cli::Doctor;
use crate::client::{Context, Session, SourceFactory};
use crate::config::{ProxyConfig, ProxySpec, RequestConfig};
use crate::error::{Error, Exit, Result};
use crate::proxy_env::{ProxySettings, Route};
use crate::report::{describe_challenge, Leg};
use crate::setup::CredentialSetup;
use crate::term::{sanitize, Terminal};
use std::sync::Arc;
use std::time::Duration;

pub async fn check(
    d: &Doctor,
    route: &Route,
    setup: &CredentialSetup,
    term: Terminal,
    env: Env<'_>,
) -> Result<(Vec<Step>, Vec<RawLeg>)> {
    let timeout = d.request.connect_timeout.unwrap_or(Duration::from_secs(10));
    let mut legs = Vec::new();
    let spec = match route {
        Route::Direct => {
            let steps = vec![
                Step::new(2, "reachability").skipped("no proxy: toll connects to the origin itself"),
                Step::new(3, "challenge").skipped("no proxy: nothing asks for proxy authentication"),
                Step::new(4, "credentials").skipped("no proxy: no proxy credentials are needed"),
            ];
            let settings = ProxySettings::new(None, Some("*"), &|_| None);
            return finish(d, steps, None, settings, no_sources(), d.proxy.allowed_schemes, None, legs).await;
        }
        Route::Proxy(spec) => spec,
    };
    let step2 = net::reachability(spec, &d.proxy, timeout).await;
    if step2.status == Status::Problem {
        let mut steps = vec![step2];
        for (n, name) in [(3, "challenge"), (4, "credentials"), (5, "destination"), (6, "TLS interception")] {
            steps.push(Step::new(n, name).skipped("not checked: the proxy cannot be reached"));
        }
        return Ok((steps, legs));
    }
    if spec.is_socks() {
        let steps = vec![
            step2,
            Step::new(3, "challenge").skipped("SOCKS proxy: there is no HTTP challenge"),
            Step::new(4, "credentials").skipped(match &spec.user {
                Some(u) => format!(
                    "SOCKS proxy: toll passes the user name {} from {} to it",
                    sanitize(u),
                    spec.origin
                ),
                None => "SOCKS proxy: no user name in the proxy URL".to_string(),
            }),
        ];
        return finish(d, steps, None, pinned(spec), no_sources(), d.proxy.allowed_schemes, None, legs).await;
    }

    // Step 3: one unauthenticated request for URL. No credential source and no scheme allowed,
    // so the relay stops at the proxy's first answer.
    let rec = Arc::new(Recorder::default());
    let no_schemes = ProxyConfig {
        allowed_schemes: SchemeSet::only(Scheme::Basic).without(Scheme::Basic),
        ..d.proxy.clone()
    };
    let session = start(d, &no_schemes, pinned(spec), no_sources(), rec.clone()).await?;
    let result = session.send(&d.request).await;
    let first_legs = rec.take();
    legs.extend(first_legs.iter().map(|l| raw("challenge", l)));
    let mut step3 = Step::new(3, "challenge");
    let Some(first) = first_legs.first() else {
        let e = result.err().unwrap_or_else(|| Error::new(Exit::ProxyFailed, "the proxy did not answer"));
        let fix =
            e.hint.clone().unwrap_or_else(|| "retry; if it persists, ask your proxy administrator".into());
        let steps = vec![
            step2,
            step3.problem(sanitize(&e.message), e.exit, fix),
            Step::new(4, "credentials").skipped("not checked: the proxy did not answer"),
            Step::new(5, "destination").skipped("not checked: the proxy did not answer"),
            Step::new(6, "TLS interception").skipped("not checked: the proxy did not answer"),
        ];
        return Ok((steps, legs));
    };
    step3.time("first answer", first.elapsed);
    let asked = format!("{} → {} {}", safe_request(&first.request), first.status, sanitize(&first.reason));
    if first.status != 407 {
        // No authentication asked: what the proxy did with URL is step 5's business.
        let step3 = step3.ok(format!("{asked}: the proxy asks for no authentication"));
        let step4 = Step::new(4, "credentials").skipped("not needed: the proxy asked for none");
        let mut steps = vec![step2, step3, step4];
        let (step5, reached) = step5(&d.request.url, result, &first_legs, None);
        steps.push(step5);
        steps.push(step6(d, &reached, Some((&session, spec)), timeout).await?);
        fix_tls_step5(&mut steps);
        return Ok((steps, legs));
    }
    drop(result);
    let challenges = auth::parse_challenges(first.challenges.iter().map(String::as_str));
    let known_user = known_user(d, spec, setup, env);
    let service = d.proxy.service_name.as_deref().unwrap_or(crate::auth::HTTP_SERVICE);
    let schemes = assess(
        &challenges,
        d.proxy.allowed_schemes,
        spec,
        service,
        d.proxy.delegation,
        known_user.as_deref(),
        env,
    )
    .await;
    let offered = if challenges.is_empty() {
        "no challenge at all".to_string()
    } else {
        challenges.iter().map(|c| sanitize(&describe_challenge(c))).collect::<Vec<_>>().join(", ")
    };
    let usable: Vec<&SchemeCheck> = schemes.iter().filter(|s| s.usable).collect();
    for s in &schemes {
        step3.detail(s.text.clone());
    }
    let step3 = if challenges.is_empty() {
        step3.problem(
            format!("{asked} without a Proxy-Authenticate challenge: the proxy is misconfigured"),
            Exit::AuthNoUsableScheme,
            "ask your proxy administrator which authentication the proxy expects",
        )
    } else if usable.is_empty() {
        let first_fix = schemes.iter().find_map(|s| s.fix.clone());
        let why = schemes.iter().map(|s| s.short.clone()).collect::<Vec<_>>().join("; ");
        step3.problem(
            format!("{asked}; offered: {offered} — none usable here: {why}"),
            Exit::AuthNoUsableScheme,
            first_fix.unwrap_or_else(|| {
                "ask your proxy administrator to enable Basic, Digest, NTLM or Negotiate".into()
            }),
        )
    } else {
        let mut s = step3.ok(format!(
            "{asked}; offered: {offered}; toll will answer {}",
            usable.iter().max_by_key(|s| s.scheme).map_or("?", |s| s.scheme.map_or("?", Scheme::name))
        ));
        for u in schemes.iter().filter(|s| s.warn) {
            s.note(Status::Warning, u.short.clone(), u.fix.clone());
        }
        s
    };
    if step3.status == Status::Problem {
        let steps = vec![
            step2,
            step3,
            Step::new(4, "credentials").skipped("not tried: no offered scheme can be answered"),
            Step::new(5, "destination").skipped("not tried: no offered scheme can be answered"),
            Step::new(6, "TLS interception").skipped("not checked: no tunnel"),
        ];
        return Ok((steps, legs));
    }

    // Step 4: the sources, then one attempt.
    let mut step4 = Step::new(4, "credentials");
    let negotiate = schemes.iter().any(|s| s.usable && s.scheme == Some(Scheme::Negotiate));
    let password_scheme =
        schemes.iter().filter(|s| s.usable && s.scheme != Some(Scheme::Negotiate)).max_by_key(|s| s.scheme);
    let (mut candidate, incomplete) = sources(d, spec, setup, term, env, &mut step4).await;
    if candidate.is_none() && !negotiate && term.can_prompt && !d.no_prompt && !d.json {
        let what = password_scheme.map(|s| s.label.clone()).unwrap_or_default();
        candidate = offer_prompt(spec, what, known_user.clone()).await;
        if candidate.is_some() {
            step4.detail("a user name and password were typed at the prompt (they are not saved)");
        }
    }
    let hp = spec.host_port();
    let login = |user: Option<&str>| match user {
        Some(u) => format!("toll auth login {hp} --user {}", sanitize(u)),
        None => format!("toll auth login {hp}"),
    };
    if candidate.is_none() && !negotiate {
        let why = if incomplete.is_empty() {
            "no source has a user name and password".to_string()
        } else {
            sanitize(&incomplete.join("; "))
        };
        let prompt = if term.can_prompt && !d.no_prompt { "" } else { ", and no prompt is possible" };
        let steps = vec![
            step2,
            step3,
            step4.problem(
                format!("no credentials for proxy {hp}: {why}{prompt}"),
                Exit::AuthNoCredentials,
                login(known_user.as_deref()),
            ),
            Step::new(5, "destination").skipped("not tried: no credentials"),
            Step::new(6, "TLS interception").skipped("not checked: no tunnel"),
        ];
        return Ok((steps, legs));
    }
    let sources = one_source(candidate.clone());
    let rec = Arc::new(Recorder::default());
    let session = start(d, &d.proxy, pinned(spec), sources, rec.clone()).await?;
    let who = candidate.as_ref().map(|c| format!("{}'s password from {}", sanitize(&c.user), c.label));
    let who = who.unwrap_or_else(|| "your Kerberos ticket".into());
    // The relay may answer Negotiate even when a password is at hand.
    let who_for = |sent: Option<Scheme>| {
        if sent == Some(Scheme::Negotiate) {
            "your Kerberos ticket".to_string()
        } else {
            who.clone()
        }
    };
    let user = candidate.as_ref().map(|c| c.user.clone());

    // The attempt goes to --verify-url first, unless that is URL.
    let mut attempt_done = false;
    if d.verify_url != d.request.url {
        let verify = RequestConfig { url: d.verify_url.clone(), ..d.request.clone() };
        let r = session.send(&verify).await;
        let vlegs = rec.take();
        legs.extend(vlegs.iter().map(|l| raw("credentials", l)));
        let shown = safe_url(&d.verify_url);
        match vlegs.iter().rev().find(|l| l.sent.is_some()) {
            Some(last) => {
                attempt_done = true;
                step4.time("authenticated answer", last.elapsed);
                let scheme = last.sent.map_or("?", Scheme::name);
                let who = who_for(last.sent);
                if last.status == 407 {
                    let e = r.err();
                    let steps = rejected(
                        d,
                        step2,
                        step3,
                        step4,
                        &who,
                        scheme,
                        &shown,
                        &candidate,
                        e,
                        login(user.as_deref()),
                        true,
                    );
                    return Ok((steps, legs));
                }
                step4 = step4.ok(accepted(&who, scheme, last));
            }
            None => {
                let answered = vlegs.last().map(|l| format!("{} {}", l.status, sanitize(&l.reason)));
                match (&r, answered) {
                    (Err(e), _)
                        if matches!(
                            e.exit,
                            Exit::AuthNoCredentials | Exit::AuthNoUsableScheme | Exit::AuthRejected
                        ) =>
                    {
                        let fix = e.hint.clone().unwrap_or_else(|| login(user.as_deref()));
                        let steps = vec![
                            step2,
                            step3,
                            step4.problem(sanitize(&e.message), e.exit, fix),
                            Step::new(5, "destination").skipped("not tried: no credentials were accepted"),
                            Step::new(6, "TLS interception").skipped("not checked: no tunnel"),
                        ];
                        return Ok((steps, legs));
                    }
                    (Err(e), _) if vlegs.last().is_some_and(|l| l.status == 407) => {
                        return Ok((unanswered(step2, step3, step4, &who, &shown, e), legs));
                    }
                    (_, Some(a)) => step4.detail(format!(
                        "{shown} → {a} without authentication: the credentials are tried with URL itself"
                    )),
                    (Err(e), None) => step4.detail(format!(
                        "{shown} could not be checked ({}): the credentials are tried with URL itself",
                        sanitize(&e.message)
                    )),
                    (Ok(_), None) => {}
                }
            }
        }
    }

    // Step 5: URL itself, in the same session.
    let result = session.send(&d.request).await;
    let ulegs = rec.take();
    legs.extend(ulegs.iter().map(|l| raw("destination", l)));
    if !attempt_done {
        if let Some(last) = ulegs.iter().rev().find(|l| l.sent.is_some()) {
            step4.time("authenticated answer", last.elapsed);
            let scheme = last.sent.map_or("?", Scheme::name);
            let who = who_for(last.sent);
            if last.status == 407 {
                let shown = safe_url(&d.request.url);
                let steps = rejected(
                    d,
                    step2,
                    step3,
                    step4,
                    &who,
                    scheme,
                    &shown,
                    &candidate,
                    result.err(),
                    login(user.as_deref()),
                    false,
                );
                return Ok((steps, legs));
            }
            step4 = step4.ok(accepted(&who, scheme, last));
        } else if let Err(e) = &result {
            let auth_failure = matches!(e.exit, Exit::AuthNoCredentials | Exit::AuthNoUsableScheme);
            if !auth_failure && ulegs.last().is_some_and(|l| l.status == 407) {
                let shown = safe_url(&d.request.url);
                return Ok((unanswered(step2, step3, step4, &who, &shown, e), legs));
            }
            if auth_failure {
                let fix = e.hint.clone().unwrap_or_else(|| login(user.as_deref()));
                let steps = vec![
                    step2,
                    step3,
                    step4.problem(sanitize(&e.message), e.exit, fix),
                    Step::new(5, "destination").skipped("not tried: no credentials were accepted"),
                    Step::new(6, "TLS interception").skipped("not checked: no tunnel"),
                ];
                return Ok((steps, legs));
            }
            step4 = step4.ok("the proxy did not ask for the credentials for URL".to_string());
        } else {
            step4 = step4.ok("the proxy did not ask for the credentials for URL".to_string());
        }
    }
    let (step5, reached) = step5(&d.request.url, result, &ulegs, user.as_deref());
    let mut steps = vec![step2, step3, step4, step5];
    steps.push(step6(d, &reached, Some((&session, spec)), timeout).await?);
    fix_tls_step5(&mut steps);
    Ok((steps, legs))
}

/// Steps 5 and 6 for a route without proxy authentication (direct, SOCKS).
#[allow(clippy::too_many_arguments)]
async fn finish(
    d: &Doctor,
    mut steps: Vec<Step>,
    spec: Option<&ProxySpec>,
    settings: ProxySettings,
    sources: SourceFactory,
    allowed: SchemeSet,
    user: Option<&str>,
    legs: Vec<RawLeg>,
) -> Result<(Vec<Step>, Vec<RawLeg>)> {
    let timeout = d.request.connect_timeout.unwrap_or(Duration::from_secs(10));
    let rec = Arc::new(Recorder::default());
    let cfg = ProxyConfig { allowed_schemes: allowed, ..d.proxy.clone() };
    let session = start(d, &cfg, settings, sources, rec.clone()).await?;
    let result = session.send(&d.request).await;
    let (step5, reached) = step5(&d.request.url, result, &rec.take(), user);
    steps.push(step5);
    let via = spec.filter(|s| !s.is_socks()).map(|s| (&session, s));
    let step6 = match spec {
        Some(s) if s.is_socks() => {
            Step::new(6, "TLS interception").skipped("not checked through a SOCKS proxy")
        }
        _ => step6(d, &reached, via, timeout).await?,
    };
    steps.push(step6);
    fix_tls_step5(&mut steps);
    Ok((steps, legs))
}

/// Step 4 (and the rest) when the credentials were sent but no answer came (a timeout, a
/// closed connection): their verdict is unknown, and they are not sent again.
/// Step 4's evidence when the proxy took the credential: the request and its answer.
fn accepted(who: &str, scheme: impl std::fmt::Display, last: &Leg) -> String {
    format!(
        "the proxy accepted {who} ({scheme}) for {} → {} {}",
        safe_request(&last.request),
        last.status,
        sanitize(&last.reason)
    )
}

fn unanswered(step2: Step, step3: Step, step4: Step, who: &str, for_url: &str, e: &Error) -> Vec<Step> {
    let step4 = step4.problem(
        format!(
            "{who} was sent for {for_url}, but no answer came ({}): whether the proxy accepts it is unknown, and it is not sent again",
            sanitize(&e.message)
        ),
        e.exit,
        "retry with --verify-url set to a page the proxy can fetch quickly (an intranet page), and a larger -m if needed",
    );
    vec![
        step2,
        step3,
        step4,
        Step::new(5, "destination").skipped("not tried: the credentials got no verdict"),
        Step::new(6, "TLS interception").skipped("not checked: no tunnel"),
    ]
}

/// Step 4 (and the rest) when the one attempt was rejected.
#[allow(clippy::too_many_arguments)]
fn rejected(
    d: &Doctor,
    step2: Step,
    step3: Step,
    step4: Step,
    who: &str,
    scheme: &str,
    for_url: &str,
    candidate: &Option<Candidate>,
    error: Option<Error>,
    login: String,
    on_verify_url: bool,
) -> Vec<Step> {
    let fix = match candidate.as_ref().map(|c| c.label.as_str()) {
        Some("the OS keyring") => format!("the stored password is outdated: {login}"),
        Some("TOLL_PROXY_USER/TOLL_PROXY_PASSWORD") => {
            format!("fix TOLL_PROXY_PASSWORD, or unset it and store the password: {login}")
        }
        Some(l) if l.starts_with("the proxy URL") => {
            format!("fix the password in the proxy URL, or remove it and store it: {login}")
        }
        _ => login,
    };
    let mut step4 = step4.problem(
        format!("the proxy rejected {who} ({scheme}) for {for_url}: sent once, not retried"),
        Exit::AuthRejected,
        fix,
    );
    if let Some(e) = error.filter(|e| e.exit != Exit::AuthRejected) {
        step4.detail(sanitize(&e.message));
    }
    let place = if on_verify_url { format!("--verify-url ({for_url})") } else { destination(&d.request.url) };
    step4.detail(format!(
        "Squid answers a user who may not reach {place} with the same 407 as a wrong password{}",
        if on_verify_url {
            ": if you are sure of the password, try --verify-url with a URL you may visit"
        } else {
            ""
        }
    ));
    vec![
        step2,
        step3,
        step4,
        Step::new(5, "destination").skipped("not tried: the proxy accepted no credentials"),
        Step::new(6, "TLS interception").skipped("not checked: no tunnel"),
    ]
}

fn no_sources() -> SourceFactory {
    Arc::new(|_| Vec::new())
}

/// Every URL through exactly this proxy (also `--verify-url`, whatever the environment says).
fn pinned(spec: &ProxySpec) -> ProxySettings {
    ProxySettings::new(Some(spec.clone()), Some(""), &|_| None)
}

async fn start(
    d: &Doctor,
    cfg: &ProxyConfig,
    settings: ProxySettings,
    sources: SourceFactory,
    rec: Arc<Recorder>,
) -> Result<Session> {
    // No prompt from the relay (the doctor asks itself, once) and no remembered auth: the first
    // request must really go without credentials.
    let sources = super::sources::with_preproxy(cfg.preproxy.as_ref(), sources);
    let ctx = Context {
        reporter: rec,
        term: Terminal { stderr: false, stdout: false, can_prompt: false },
        sources,
        memory: None,
        doh: None,
        rejections: Default::default(),
    };
    Session::start(&d.request, cfg, crate::route::choice::Chooser::fixed(settings), ctx).await
}

pub(crate) fn raw(purpose: &'static str, l: &Leg) -> RawLeg {
    RawLeg {
        purpose,
        proxy: l.proxy.clone(),
        request: safe_request(&l.request),
        authorization: l.sent.map(|s| s.name().to_string()),
        status: l.status,
        reason: sanitize(&l.reason),
        challenges: l.challenges.iter().map(|c| sanitize(&crate::report::shown_challenge(c))).collect(),
        ms: ms(l.elapsed),
    }
}

/// `GET http://…` with any password in the URL removed.
pub(super) fn safe_request(request: &str) -> String {
    match request.split_once(' ') {
        Some((method, target)) => match url::Url::parse(target) {
            Ok(u) if u.has_host() => format!("{method} {}", safe_url(&u)),
            _ => sanitize(request),
        },
        None => sanitize(request),
    }
}
