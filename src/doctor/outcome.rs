//! Steps 5 and 6: what the proxy did with URL itself, and the certificate the origin (or
//! whoever answers in its name) presented.

use super::net::{self, Via};
use super::proxy::safe_request;
use super::{destination, safe_url, Status, Step};
use crate::cli::Doctor;
use crate::client::Session;
use crate::config::ProxySpec;
use crate::error::{Exit, Result};
use crate::report::Leg;
use crate::term::sanitize;
use std::time::Duration;

/// What a step-5 result was, for step 6.
pub(super) enum Reached {
    /// The origin answered (or TLS with it failed): a tunnel exists for step 6 to use.
    Origin,
    /// The proxy refused or failed: no tunnel.
    Not,
}

/// Step 5 from the result for URL and its legs.
pub(super) fn step5(
    url: &url::Url,
    result: Result<reqwest::Response>,
    legs: &[Leg],
    user: Option<&str>,
) -> (Step, Reached) {
    let step = Step::new(5, "destination");
    let dest = destination(url);
    let last = legs.last();
    // The proxy's last answer is the evidence; on success a forwarded GET is the request
    // itself, so only a CONNECT gets its own mention.
    let via = last
        .map(|l| format!("{} → {} {}; ", safe_request(&l.request), l.status, sanitize(&l.reason)))
        .unwrap_or_default();
    let via_ok =
        if last.is_some_and(|l| l.request.starts_with("CONNECT ")) { via.clone() } else { String::new() };
    let for_user = user.map(|u| format!(" for user {}", sanitize(u))).unwrap_or_default();
    match result {
        Ok(resp) => {
            let status = resp.status();
            let line = format!("{via_ok}GET {} → {status}", safe_url(url));
            let squid = resp.headers().get("x-squid-error").and_then(|v| v.to_str().ok()).map(sanitize);
            let from_proxy = squid.is_some() || resp.headers().contains_key("proxy-status");
            let mut step = if status.as_u16() < 400 {
                step.ok(line)
            } else if from_proxy {
                let why = squid.map(|s| format!(" ({s})")).unwrap_or_default();
                step.problem(
                    format!("{line}: the proxy could not fetch it{why}"),
                    Exit::ProxyFailed,
                    format!("check the URL's host name; if it is right, the proxy cannot reach {dest}: ask your proxy administrator"),
                )
            } else {
                let mut s = step.ok(line);
                s.note(Status::Warning, format!("the origin answered {status}"), None);
                s
            };
            if let Some(l) = last {
                step.time("proxy answer", l.elapsed);
            }
            (step, Reached::Origin)
        }
        Err(e) => {
            let message = sanitize(&e.message);
            match e.exit {
                Exit::ProxyDenied if last.is_some_and(|l| l.status == 407) => (
                    step.problem(
                        format!(
                            "{via}a 407 for {dest} right after the proxy accepted the same credentials: an access restriction for this destination, not a password problem"
                        ),
                        Exit::ProxyDenied,
                        format!("ask your proxy administrator to allow {dest}{for_user}"),
                    )
                    .headline(format!(
                        "the proxy accepted the credentials{for_user} but answers 407 for {dest}: an access restriction for this destination, not a wrong password"
                    )),
                    Reached::Not,
                ),
                Exit::ProxyDenied => (
                    step.problem(
                        format!("{via}the proxy's policy denies {dest}{for_user}"),
                        Exit::ProxyDenied,
                        format!("ask your proxy administrator to allow {dest}{for_user}"),
                    )
                    .headline(format!("the proxy's policy denies {dest}{for_user} (403 Forbidden)")),
                    Reached::Not,
                ),
                Exit::Tls | Exit::PeerCert => (
                    step.problem(
                        format!("{via}toll does not accept the TLS certificate {dest} presented (see step 6)"),
                        e.exit,
                        e.hint.unwrap_or_default(),
                    ),
                    Reached::Origin,
                ),
                Exit::ProxyFailed => (
                    step.problem(
                        format!("{via}{message}"),
                        Exit::ProxyFailed,
                        format!("check the URL's host and port; if they are right, the proxy cannot reach {dest}: ask your proxy administrator"),
                    ),
                    Reached::Not,
                ),
                exit => {
                    let fix = e.hint.map(|h| sanitize(&h)).unwrap_or_else(|| "retry with toll -v URL to see the conversation".into());
                    (step.problem(format!("{via}{message}"), exit, fix), Reached::Not)
                }
            }
        }
    }
}

/// Step 6: the certificate for an https:// URL — who issued it, whether that is a public CA,
/// and whether the trust store toll uses accepts it.
pub(super) async fn step6(
    d: &Doctor,
    reached: &Reached,
    via: Option<(&Session, &ProxySpec)>,
    timeout: Duration,
) -> Result<Step> {
    let url = &d.request.url;
    let step = Step::new(6, "TLS interception");
    if url.scheme() != "https" {
        return Ok(step.skipped("not checked: an http:// URL has no TLS with the origin"));
    }
    if matches!(reached, Reached::Not) {
        return Ok(step.skipped(format!("not checked: no tunnel to {}", destination(url))));
    }
    let through = via.map(|(s, spec)| Via::Relay(s.relay(), spec)).unwrap_or(Via::Direct);
    let proxied = via.is_some();
    let trust = net::trust(d.request.cacert.as_deref(), d.request.curl.conn.capath.as_deref())?;
    let look = net::look(url, through, trust, timeout).await;
    let host = destination(url);
    let store = match (&d.request.cacert, d.request.insecure) {
        (_, true) => "nothing (-k)".to_string(),
        (Some(p), false) => format!("--cacert {}", p.display()),
        (None, false) => "the system trust store".to_string(),
    };
    let Some(seen) = look.seen else {
        let why = match &look.result {
            Err(w) => sanitize(w),
            Ok(_) => "no certificate was presented".into(),
        };
        return Ok(step.warning(format!("could not look at the certificate of {host}: {why}"), None));
    };
    let mut step = step;
    if let Ok(h) = &look.result {
        step.time("TLS handshake", h.elapsed);
    }
    let infos: Vec<Option<net::CertInfo>> = seen.chain.iter().map(net::cert_info).collect();
    for (i, info) in infos.iter().enumerate() {
        if let Some(c) = info {
            step.detail(format!(
                "certificate {}: {} issued by {} (valid until {}{})",
                i + 1,
                c.subject,
                c.issuer,
                c.not_after,
                if c.names.is_empty() { String::new() } else { format!("; for {}", c.names.join(", ")) }
            ));
        }
    }
    let leaf = infos.first().cloned().flatten();
    let issuer = match &leaf {
        Some(l) if l.self_signed => "itself (self-signed)".to_string(),
        Some(l) => format!("'{}'", l.issuer),
        None => "an unknown issuer".into(),
    };
    let top = infos.last().cloned().flatten().map_or(issuer.clone(), |t| format!("'{}'", t.issuer));
    let subject = format!("the certificate for {host}, issued by {issuer}");
    let interception = if proxied {
        "the proxy intercepts TLS: it re-signs certificates with its own CA"
    } else {
        "a private CA, or something on the network intercepts TLS"
    };
    Ok(match (&seen.trusted, &seen.public) {
        (Ok(()), Ok(())) => step.ok(format!("{subject}, chains to a public CA; {store} accepts it: no interception")),
        (Ok(()), Err(_)) if d.request.insecure => {
            step.warning(format!("{subject}, does not chain to a public CA ({interception}); not checked (-k)"), Some(format!("get the CA certificate of {top} and pass it with --cacert FILE instead of -k")))
        }
        (Ok(()), Err(_)) => step.ok(format!(
            "{subject}{}, not a public CA: {}; {store} trusts it",
            if top == issuer { String::new() } else { format!(", chains to {top}") },
            if proxied { "a TLS-inspecting proxy, or a site with a private CA" } else { "a site with a private CA" }
        )),
        (Err(e), _) if d.request.insecure => step.warning(
            format!("{subject}: {} and -k skips the check", explain_short(e)),
            Some("drop -k once the certificate is trusted (--cacert FILE)".into()),
        ),
        (Err(e), Ok(())) => step.problem(
            format!("{subject}, chains to a public CA, but it {} when checked against {store}", net::explain(e)),
            Exit::PeerCert,
            if d.request.cacert.is_some() {
                "drop --cacert (it replaces the system's CAs), or add the public CA to that file".to_string()
            } else {
                net::cert_fix(e, "--cacert", "the URL", leaf.as_ref())
            },
        ),
        (Err(rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)), Err(_)) => step.problem(
            format!("{subject}, which is neither a public CA nor trusted by {store}: {interception}"),
            Exit::PeerCert,
            format!(
                "get the CA certificate {top} (PEM){} and pass it with --cacert FILE, or add it to the system trust store",
                if proxied { " from your proxy administrator" } else { "" }
            ),
        ),
        (Err(e), Err(_)) => step.problem(
            format!("{subject}: it {} (checked against {store})", net::explain(e)),
            Exit::PeerCert,
            net::cert_fix(e, "--cacert", "the URL", leaf.as_ref()),
        ),
    })
}

pub(super) fn explain_short(e: &rustls::Error) -> String {
    format!("it {}", net::explain(e))
}

/// A TLS failure in step 5 is explained by step 6: take its fix.
pub(super) fn fix_tls_step5(steps: &mut [Step]) {
    let six = steps
        .iter()
        .find(|s| s.step == 6 && s.status == Status::Problem)
        .map(|s| (s.fix.clone(), s.evidence.clone()));
    if let (Some((fix, evidence)), Some(s5)) =
        (six, steps.iter_mut().find(|s| s.step == 5 && matches!(s.exit, Some(Exit::Tls | Exit::PeerCert))))
    {
        s5.fix = fix;
        s5.headline = Some(evidence);
    }
}
