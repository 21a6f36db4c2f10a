//! Step 3's judgement of the offered schemes: which of them toll can answer on this machine
//! (Negotiate: is GSSAPI there, is there a Kerberos ticket; NTLM: is a user name configured).

use super::Env;
use crate::auth::{self, Challenge, Scheme, SchemeSet};
use crate::config::ProxySpec;
use crate::report::describe_challenge;
use crate::term::sanitize;

/// Whether and how an offered scheme can be answered on this machine.
pub(super) struct SchemeCheck {
    pub(super) scheme: Option<Scheme>,
    /// `Basic (realm "x")`
    pub(super) label: String,
    pub(super) usable: bool,
    /// Usable, but worth a warning (NTLM without a user name).
    pub(super) warn: bool,
    /// One line: `Basic (realm "x"): toll can answer it …`
    pub(super) text: String,
    /// The reason alone, for the step's line.
    pub(super) short: String,
    pub(super) fix: Option<String>,
}

pub(super) async fn assess(
    challenges: &[Challenge],
    allowed: SchemeSet,
    spec: &ProxySpec,
    service: &str,
    delegation: auth::Delegation,
    user: Option<&str>,
    env: Env<'_>,
) -> Vec<SchemeCheck> {
    let mut out: Vec<SchemeCheck> = Vec::new();
    for c in challenges {
        if out.iter().any(|o| {
            o.label.eq_ignore_ascii_case(&sanitize(&describe_challenge(c)))
                || (o.scheme.is_some() && o.scheme == c.scheme && o.usable)
        }) {
            continue;
        }
        let label = sanitize(&describe_challenge(c));
        let check = |usable: bool, short: String, fix: Option<String>| SchemeCheck {
            scheme: c.scheme,
            label: label.clone(),
            usable,
            warn: false,
            text: format!("{label}: {short}"),
            short,
            fix,
        };
        let Some(scheme) = c.scheme else {
            out.push(check(
                false,
                format!("{} is a scheme toll does not know", sanitize(&c.scheme_name)),
                None,
            ));
            continue;
        };
        if !allowed.contains(scheme) {
            out.push(check(
                false,
                format!("{scheme} offered, but excluded by the --proxy-<scheme> option given"),
                Some(format!(
                    "drop the --proxy-<scheme> option, or use --proxy-{}",
                    scheme.name().to_ascii_lowercase()
                )),
            ));
            continue;
        }
        let mut ch = match scheme {
            Scheme::Basic => {
                let clear =
                    if spec.scheme == "http" { " (sent in clear text: the proxy is http://)" } else { "" };
                check(true, format!("toll can answer it with a user name and password{clear}"), None)
            }
            Scheme::Digest if !auth::digest::supports_algorithm(c) => check(
                false,
                format!(
                    "Digest offered with algorithm {}, which toll does not support",
                    sanitize(c.param("algorithm").unwrap_or("?"))
                ),
                Some(
                    "ask your proxy administrator to offer MD5 or SHA-256 Digest, or Basic over https://"
                        .into(),
                ),
            ),
            Scheme::Digest => check(true, "toll can answer it with a user name and password".into(), None),
            Scheme::Ntlm => match user {
                Some(u) => {
                    check(true, format!("toll can answer it with the password for {}", sanitize(u)), None)
                }
                None => {
                    let mut s = check(
                        true,
                        "NTLM offered, no user name configured".into(),
                        Some(format!("toll auth login {} --user 'DOMAIN\\you'", spec.host_port())),
                    );
                    s.warn = true;
                    s
                }
            },
            Scheme::Negotiate => {
                let (svc, host) = (service.to_string(), spec.host.clone());
                let r = tokio::task::spawn_blocking(move || kerberos(&svc, &host, delegation))
                    .await
                    .unwrap_or_else(|e| Err(e.to_string()));
                match r {
                    Ok(delegated) => {
                        let (note, warn) = delegation_note(delegation, delegated, service, &spec.host);
                        let fix =
                            warn.then(|| format!("kinit -f {}", user.unwrap_or("")).trim_end().to_string());
                        let mut s = check(
                            true,
                            format!(
                                "toll can answer it with your Kerberos ticket ({service}@{} obtained){note}",
                                spec.host
                            ),
                            fix,
                        );
                        s.warn = warn;
                        s
                    }
                    Err(why) => {
                        let (short, fix) = kerberos_trouble(&why, service, user, env);
                        let mut s = check(false, short, Some(fix));
                        s.warn = true;
                        s
                    }
                }
            }
        };
        ch.label = label;
        out.push(ch);
    }
    out
}

/// Starts a Negotiate context toward `service@host`: loads GSSAPI and gets a service ticket
/// from the user's ticket cache (and the KDC), delegating as `--delegation` asks. Nothing is
/// sent to the proxy. Returns whether the credentials would be delegated.
pub(super) fn kerberos(
    service: &str,
    host: &str,
    delegation: auth::Delegation,
) -> std::result::Result<bool, String> {
    let mut ctx = auth::negotiate::start(service, host, delegation)?;
    ctx.step(None)?;
    Ok(ctx.delegated())
}

/// What the doctor says of `--delegation` once a ticket was obtained: whether the credentials
/// would go to the proxy, and (a warning) why not when `always` asked for them.
fn delegation_note(
    delegation: auth::Delegation,
    delegated: bool,
    service: &str,
    host: &str,
) -> (String, bool) {
    use auth::Delegation;
    match (delegation, delegated) {
        (Delegation::None, _) => (String::new(), false),
        (_, true) => ("; your credentials would be delegated to it (--delegation)".into(), false),
        (Delegation::Policy, false) => (
            format!(
                "; nothing would be delegated: the KDC does not mark {service}/{host} ok-as-delegate \
                 (or your ticket is not forwardable)"
            ),
            false,
        ),
        (Delegation::Always, false) => {
            ("; but --delegation always would delegate nothing: your ticket is not forwardable".into(), true)
        }
    }
}

pub(super) fn kerberos_trouble(
    why: &str,
    service: &str,
    user: Option<&str>,
    env: Env<'_>,
) -> (String, String) {
    let lower = why.to_ascii_lowercase();
    if lower.contains("not loadable") || lower.contains("not supported") {
        (
            format!("Negotiate offered, but Kerberos (GSSAPI) is not available here: {}", sanitize(why)),
            "install MIT Kerberos (Debian: libgssapi-krb5-2 krb5-user), then run kinit".into(),
        )
    } else if lower.contains("no kerberos credentials")
        || lower.contains("credentials cache")
        || lower.contains("no credentials")
    {
        ("Negotiate offered, but no Kerberos ticket: run kinit".into(), kinit(user, env))
    } else {
        (
            format!("Negotiate offered, but Kerberos failed: {}", sanitize(why)),
            format!(
                "check 'klist' (a ticket for your realm?) and that the KDC knows the proxy's name as \
                 {service}/<proxy host>{}",
                if service == crate::auth::HTTP_SERVICE {
                    " (or name its service with --proxy-service-name)"
                } else {
                    ""
                }
            ),
        )
    }
}

/// `kinit alice@CORP.EXAMPLE`: the user name toll knows (else $USER) and the default realm of
/// the Kerberos configuration, when there is one.
pub(super) fn kinit(user: Option<&str>, env: Env<'_>) -> String {
    let user = user.map(str::to_owned).or_else(|| env("USER")).or_else(|| env("LOGNAME"));
    let user = user.map(|u| u.split(['\\', '@']).next_back().unwrap_or(&u).to_string());
    let conf = env("KRB5_CONFIG").unwrap_or_else(|| "/etc/krb5.conf".into());
    let realm = conf.split(':').find_map(|path| {
        std::fs::read_to_string(path).ok()?.lines().find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == "default_realm").then(|| v.trim().to_string())
        })
    });
    match (user, realm) {
        (Some(u), Some(r)) => format!("kinit {}@{}", sanitize(&u), sanitize(&r)),
        (Some(u), None) => format!("kinit {}", sanitize(&u)),
        _ => "kinit".into(),
    }
}
