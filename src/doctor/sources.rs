//! Step 4's credential sources, in the order a run tries them, and the one credential the
//! doctor's single attempt uses (the first complete source, or one typed at the prompt).

use super::{show_ms, Env, Step};
use crate::cli::Doctor;
use crate::client::SourceFactory;
use crate::config::ProxySpec;
use crate::creds::{CredentialSource, FixedSource};
use crate::keyring::{Choice, StoreKind};
use crate::secret::Secret;
use crate::setup::CredentialSetup;
use crate::term::{sanitize, Terminal};
use std::sync::Arc;

/// The credential for the one attempt.
#[derive(Clone)]
pub(super) struct Candidate {
    pub(super) label: String,
    pub(super) user: String,
    pub(super) password: Secret,
}

pub(super) fn one_source(c: Option<Candidate>) -> SourceFactory {
    Arc::new(move |_| {
        c.iter()
            .map(|c| {
                Box::new(FixedSource::new(c.label.clone(), c.user.clone(), Some(c.password.clone())))
                    as Box<dyn CredentialSource>
            })
            .collect()
    })
}

/// `--preproxy`'s SOCKS proxy gets only the credentials in its own URL (the doctor never asks
/// for them, and the HTTP proxy's candidate must never go to it); every other proxy `inner`'s.
pub(super) fn with_preproxy(preproxy: Option<&ProxySpec>, inner: SourceFactory) -> SourceFactory {
    let Some(socks) = preproxy.cloned() else { return inner };
    Arc::new(
        move |spec: &ProxySpec| {
            if spec.display_url() == socks.display_url() {
                preproxy_url(&socks)
            } else {
                inner(spec)
            }
        },
    )
}

/// The user name and password in `--preproxy`'s URL, if any.
pub(super) fn preproxy_url(socks: &ProxySpec) -> Vec<Box<dyn CredentialSource>> {
    socks
        .user
        .iter()
        .map(|user| {
            Box::new(FixedSource::new("the --preproxy URL", user.clone(), socks.password.clone()))
                as Box<dyn CredentialSource>
        })
        .collect()
}

/// The user name toll would use for this proxy, from the first source that names one.
pub(super) fn known_user(
    d: &Doctor,
    spec: &ProxySpec,
    setup: &CredentialSetup,
    env: Env<'_>,
) -> Option<String> {
    d.proxy
        .user
        .clone()
        .or_else(|| spec.user.clone())
        .or_else(|| env("TOLL_PROXY_USER").filter(|u| !u.is_empty()))
        .or_else(|| setup.index.as_ref().and_then(|i| i.get(&spec.display_url())).map(|e| e.user))
}

/// Lists the credential sources in the order a run tries them (into `step`'s details) and
/// returns the first complete one, and what is configured but incomplete.
pub(super) async fn sources(
    d: &Doctor,
    spec: &ProxySpec,
    setup: &CredentialSetup,
    term: Terminal,
    env: Env<'_>,
    step: &mut Step,
) -> (Option<Candidate>, Vec<String>) {
    let mut found: Option<Candidate> = None;
    let mut incomplete = Vec::new();
    let mut take =
        |label: &str, user: &str, password: Option<&Secret>, incomplete: &mut Vec<String>| match password {
            Some(p) => {
                if found.is_none() {
                    found = Some(Candidate { label: label.into(), user: user.into(), password: p.clone() });
                }
            }
            None => incomplete.push(format!("{label} names user {user:?} but gives no password")),
        };
    match (&d.proxy.user, &d.proxy.password) {
        (Some(u), p) => {
            step.detail(format!(
                "-U/--proxy-user: {}, {}",
                sanitize(u),
                if p.is_some() { "with a password" } else { "no password" }
            ));
            take("-U/--proxy-user", u, p.as_ref(), &mut incomplete);
        }
        (None, _) => step.detail("-U/--proxy-user: not given"),
    }
    let url_label = format!("the proxy URL in {}", spec.origin);
    match &spec.user {
        Some(u) => {
            step.detail(format!(
                "{url_label}: {}, {}",
                sanitize(u),
                if spec.password.is_some() { "with a password" } else { "no password" }
            ));
            take(&url_label, u, spec.password.as_ref(), &mut incomplete);
        }
        None => step.detail(format!("{url_label}: no user name in it")),
    }
    match (env("TOLL_PROXY_USER").filter(|u| !u.is_empty()), env("TOLL_PROXY_PASSWORD").map(Secret::from)) {
        (Some(u), p) => {
            step.detail(format!(
                "TOLL_PROXY_USER/TOLL_PROXY_PASSWORD: {}, {}",
                sanitize(&u),
                if p.is_some() { "with a password" } else { "TOLL_PROXY_PASSWORD is not set" }
            ));
            take("TOLL_PROXY_USER/TOLL_PROXY_PASSWORD", &u, p.as_ref(), &mut incomplete);
        }
        (None, _) => step.detail("TOLL_PROXY_USER/TOLL_PROXY_PASSWORD: not set"),
    }
    // The keyring: which store answered, and how fast (one lookup, as a run does it).
    let key = spec.display_url();
    let entry = setup.index.as_ref().and_then(|i| i.get(&key));
    match (setup.choice, entry) {
        (Choice::Disabled, _) => {
            step.detail("the OS keyring: turned off (TOLL_KEYRING=none or the settings file)")
        }
        (_, None) if setup.index.is_none() => {
            step.detail("the OS keyring: not usable (no state directory for its index)")
        }
        (_, None) => step.detail(format!("the OS keyring: nothing stored for {key}")),
        (choice, Some(e)) => match choice.lookup_store(StoreKind::from_id(&e.store)) {
            None => step
                .detail(format!("the OS keyring: the index names an unknown store '{}'", sanitize(&e.store))),
            Some(store) => {
                let keyring = setup.keyring;
                let (k, u) = (key.clone(), e.user.clone());
                let looked = tokio::task::spawn_blocking(move || keyring.timed_get(store, &k, &u)).await;
                let user = sanitize(&e.user);
                match looked {
                    Ok((Ok(Some(password)), took)) => {
                        step.detail(format!("the OS keyring: {user} in {store}: found ({})", show_ms(took)));
                        step.time("keyring lookup", took);
                        take("the OS keyring", &e.user, Some(&password), &mut incomplete);
                    }
                    Ok((Ok(None), took)) => {
                        step.detail(format!(
                            "the OS keyring: {user} in {store}: no entry ({})",
                            show_ms(took)
                        ));
                        step.time("keyring lookup", took);
                    }
                    Ok((Err(err), took)) => {
                        step.detail(format!(
                            "the OS keyring: {user}: {} ({})",
                            sanitize(&err.to_string()),
                            show_ms(took)
                        ));
                        step.time("keyring lookup", took);
                    }
                    Err(err) => step.detail(format!("the OS keyring: the lookup failed: {err}")),
                }
            }
        },
    }
    step.detail(format!(
        "the terminal prompt: {}",
        if d.no_prompt {
            "off (--no-prompt / TOLL_NO_PROMPT)"
        } else if term.can_prompt {
            "possible (a terminal is available)"
        } else {
            "not possible (no controlling terminal)"
        }
    ));
    if let Some(c) = &found {
        step.detail(format!("the one attempt uses {}'s password from {}", sanitize(&c.user), c.label));
    }
    (found, incomplete)
}

/// Offers to type a user name and password for the one attempt (nothing is saved).
pub(super) async fn offer_prompt(
    spec: &ProxySpec,
    what: String,
    default: Option<String>,
) -> Option<Candidate> {
    let hp = spec.host_port();
    tokio::task::spawn_blocking(move || {
        let mut tty = crate::prompt::Tty::open().ok()?;
        tty.say(&format!("toll doctor: no stored credentials for proxy {} ({what}).", sanitize(&hp))).ok()?;
        if !tty.confirm("Type a user name and password to test them once? Nothing is saved.").ok()? {
            return None;
        }
        let typed = tty.ask_line(&crate::prompt::user_prompt(default.as_deref())).ok()?;
        let user = if typed.is_empty() { default? } else { typed };
        let password = tty.ask_password(&crate::prompt::password_prompt(&user)).ok()?;
        Some(Candidate { label: "the terminal prompt".into(), user, password })
    })
    .await
    .ok()
    .flatten()
}
