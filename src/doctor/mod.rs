//! `toll doctor [URL]`: runs the checklist people are given for a 407 — is the proxy setting
//! right, is the proxy reachable, what does it ask for, are the credentials accepted, is the
//! destination allowed, is TLS intercepted — and ends with the one fix that applies.
//!
//! Steps 3–5 drive the real path (`client::Session` → relay → proxy) with a recording
//! [`Reporter`](crate::report::Reporter), so what is diagnosed is what a run does:
//!
//! - step 3: a session with no credential source and no scheme allowed sends URL once: the
//!   proxy's first answer and its challenges, nothing else;
//! - step 4: a session with exactly ONE credential (the first complete source, or one typed at
//!   the prompt) sends `--verify-url`, then URL. The relay never sends a rejected credential
//!   again and there is no second source to move on to, so a wrong password reaches the proxy
//!   once (corporate accounts lock after a few failures);
//! - step 5: URL itself in that session. Squid reports "this user may not go there" with a 407
//!   identical to a wrong password (../shared/notes/squid.md): only because the credential was
//!   accepted for `--verify-url` first can a 407 for URL be called a restriction, not a password
//!   problem (the relay's `FailureKind::RestrictedDestination`).
//!
//! Remembered authentication is off for all of it (the first request is really unauthenticated)
//! and nothing is saved: the doctor only looks.
//!
//! Output: one line per step (`ok`, `warning`, `problem`, `skipped`) with the evidence, then the
//! summary; `--report` adds versions, timings, the raw status lines and challenges and the
//! environment (passwords removed), `--json` prints the same as JSON. Text from the proxy is
//! sanitised; no password, `Proxy-Authorization` value or relay key is ever formatted.

mod config;
mod net;
mod outcome;
mod pac;
mod proxy;
mod render;
mod schemes;
mod serve;
mod sources;

use crate::cli::Doctor;
use crate::error::{Error, Exit, Result};
use crate::proxy_env::Route;
use crate::report::{Direction, Leg, Reporter};
use crate::setup::{block_on, CredentialSetup};
use crate::term::Terminal;
use serde::Serialize;
use std::sync::Mutex;
use std::time::Duration;

pub(crate) type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// How a step went, in increasing severity (`Ord` is used to combine notes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Skipped,
    Ok,
    Warning,
    Problem,
}

impl Status {
    pub fn word(self) -> &'static str {
        match self {
            Status::Skipped => "skipped",
            Status::Ok => "ok",
            Status::Warning => "warning",
            Status::Problem => "problem",
        }
    }
}

/// A further finding of a step (a warning beside an ok result, …), with its own fix.
#[derive(Clone, Debug, Serialize)]
pub struct Note {
    pub status: Status,
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

/// How long something took, for the report.
#[derive(Clone, Debug, Serialize)]
pub struct Timing {
    pub what: String,
    pub ms: f64,
}

/// One step of the checklist.
#[derive(Clone, Debug, Serialize)]
pub struct Step {
    pub step: u8,
    pub name: &'static str,
    pub status: Status,
    /// The one line: what was found, with the evidence.
    pub evidence: String,
    /// Further facts (the credential sources, the certificate chain, …).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<Note>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<u8>,
    #[serde(skip)]
    pub exit: Option<Exit>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub timings: Vec<Timing>,
    /// The problem in one sentence for the summary, when `evidence` is too technical for it.
    #[serde(skip)]
    pub headline: Option<String>,
}

impl Step {
    pub fn new(step: u8, name: &'static str) -> Step {
        Step {
            step,
            name,
            status: Status::Skipped,
            evidence: String::new(),
            details: Vec::new(),
            notes: Vec::new(),
            fix: None,
            exit_code: None,
            exit: None,
            timings: Vec::new(),
            headline: None,
        }
    }

    pub fn headline(mut self, text: impl Into<String>) -> Step {
        self.headline = Some(text.into());
        self
    }

    pub fn skipped(mut self, why: impl Into<String>) -> Step {
        self.status = Status::Skipped;
        self.evidence = why.into();
        self
    }

    pub fn ok(mut self, evidence: impl Into<String>) -> Step {
        self.status = Status::Ok;
        self.evidence = evidence.into();
        self
    }

    pub fn warning(mut self, evidence: impl Into<String>, fix: Option<String>) -> Step {
        self.status = Status::Warning;
        self.evidence = evidence.into();
        self.fix = fix;
        self
    }

    pub fn problem(mut self, evidence: impl Into<String>, exit: Exit, fix: impl Into<String>) -> Step {
        self.status = Status::Problem;
        self.evidence = evidence.into();
        self.exit = Some(exit);
        self.exit_code = Some(exit.code());
        self.fix = Some(fix.into());
        self
    }

    pub fn note(&mut self, status: Status, text: impl Into<String>, fix: Option<String>) {
        self.notes.push(Note { status, text: text.into(), fix });
    }

    pub fn detail(&mut self, text: impl Into<String>) {
        self.details.push(text.into());
    }

    pub fn time(&mut self, what: &str, d: Duration) {
        self.timings.push(Timing { what: what.to_string(), ms: ms(d) });
    }

    /// A warning among the notes makes an ok step a warning (its fix becomes the step's).
    fn settle(&mut self) {
        if self.status == Status::Ok {
            if let Some(n) = self.notes.iter().find(|n| n.status == Status::Warning) {
                self.status = Status::Warning;
                if self.fix.is_none() {
                    self.fix = n.fix.clone();
                }
            }
        }
    }
}

/// Milliseconds with one decimal.
pub(crate) fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 10_000.0).round() / 10.0
}

/// `12.3 ms`, the only way a duration is printed (tests normalise exactly this form).
pub(crate) fn show_ms(d: Duration) -> String {
    format!("{:.1} ms", ms(d))
}

/// One request/response leg with the upstream proxy, as the report shows it.
#[derive(Clone, Debug, Serialize)]
pub struct RawLeg {
    /// Which step sent it: `challenge`, `credentials`, `destination`, `tls`.
    pub purpose: &'static str,
    pub proxy: String,
    pub request: String,
    /// The scheme whose `Proxy-Authorization` it carried (never the value).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization: Option<String>,
    pub status: u16,
    pub reason: String,
    /// `Proxy-Authenticate` values, sanitised.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub challenges: Vec<String>,
    pub ms: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct EnvEntry {
    pub name: String,
    /// The value with passwords removed; `None`: not set.
    pub value: Option<String>,
}

/// The outcome of the whole checklist.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub status: Status,
    /// URL can be fetched (exit status 0).
    pub fetched: bool,
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// A second fix that probably explains the first problem (a conflicting setting).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub also: Option<String>,
    pub exit_code: u8,
    #[serde(skip)]
    pub exit: Option<Exit>,
}

/// Everything `toll doctor` found.
#[derive(Clone, Debug, Serialize)]
pub struct Diagnosis {
    pub toll: String,
    pub platform: String,
    /// What this build can use here: GSSAPI for Negotiate, the keyring stores.
    pub components: Vec<String>,
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
    pub steps: Vec<Step>,
    pub summary: Summary,
    pub legs: Vec<RawLeg>,
    pub environment: Vec<EnvEntry>,
}

/// A reporter that keeps the upstream legs (and drops the trace).
#[derive(Default)]
pub(crate) struct Recorder {
    legs: Mutex<Vec<Leg>>,
}

impl Recorder {
    pub fn take(&self) -> Vec<Leg> {
        std::mem::take(&mut *self.legs.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl Reporter for Recorder {
    fn verbose(&self) -> bool {
        false
    }
    fn line(&self, _: Direction, _: &str) {}
    fn leg(&self, leg: &Leg) {
        self.legs.lock().unwrap_or_else(|e| e.into_inner()).push(leg.clone());
    }
}

/// `toll doctor`: runs the steps, prints them (human, `--report` or `--json`), and ends with the
/// first problem's exit code.
pub fn run(d: Doctor, setup: CredentialSetup, term: Terminal, env: Env) -> Result<()> {
    let diagnosis = diagnose(&d, &setup, term, env)?;
    let text = if d.json {
        let mut s = serde_json::to_string_pretty(&diagnosis)
            .map_err(|e| Error::new(Exit::Internal, format!("cannot write JSON: {e}")))?;
        s.push('\n');
        s
    } else if d.report {
        render::report(&diagnosis)
    } else {
        render::human(&diagnosis)
    };
    let mut sink = crate::output::Sink::stdout();
    if sink.write(text.as_bytes())?.is_ok() {
        sink.finish()?;
    }
    match diagnosis.summary.exit {
        None => Ok(()),
        // One line on stderr for scripts; the fix is in the output already.
        Some(exit) => Err(Error::new(exit, format!("toll doctor: {}", diagnosis.summary.text))),
    }
}

/// Runs the steps.
pub fn diagnose(d: &Doctor, setup: &CredentialSetup, term: Terminal, env: Env) -> Result<Diagnosis> {
    let url = &d.request.url;
    let (step1, route) = pac::check(d, env).unwrap_or_else(|| config::check(d, env));
    let mut steps = vec![step1];
    serve::note(&mut steps[0], env);
    let mut legs = Vec::new();
    let mut proxy_shown = None;
    match route {
        None => {
            for (n, name) in STEP_NAMES.iter().enumerate().skip(1) {
                steps
                    .push(Step::new(n as u8 + 1, name).skipped("not checked: the proxy setting is unusable"));
            }
        }
        Some(route) => {
            if let Route::Proxy(spec) = &route {
                proxy_shown = Some(format!("{} (from {})", spec.display_url(), spec.origin));
            }
            let mut out = None;
            block_on(async {
                out = Some(proxy::check(d, &route, setup, term, env).await);
                Ok(())
            })?;
            let (more, more_legs) = out.expect("block_on ran the checks")?;
            steps.extend(more);
            legs = more_legs;
        }
    }
    for s in &mut steps {
        s.settle();
    }
    let summary = summarize(&steps, url);
    steps.push(summary_step(&summary));
    Ok(Diagnosis {
        toll: env!("CARGO_PKG_VERSION").to_string(),
        platform: format!("{}/{}", std::env::consts::OS, std::env::consts::ARCH),
        components: components(),
        url: safe_url(url),
        proxy: proxy_shown,
        steps,
        summary,
        legs,
        environment: config::environment(env),
    })
}

/// The parts of toll whose availability differs between machines.
fn components() -> Vec<String> {
    #[cfg(all(unix, not(target_os = "macos")))]
    let gssapi = match crate::auth::gssapi::Gss::system() {
        Ok(_) => format!("Negotiate: GSSAPI ({}) loaded", crate::auth::gssapi::LIBRARY),
        Err(e) => format!("Negotiate: GSSAPI not available ({e})"),
    };
    #[cfg(not(all(unix, not(target_os = "macos"))))]
    let gssapi = "Negotiate: not supported on this platform yet".to_string();
    let stores: Vec<&str> = crate::keyring::StoreKind::available().iter().map(|k| k.id()).collect();
    vec![gssapi, format!("keyring stores in this build: {}", stores.join(", "))]
}

pub(crate) const STEP_NAMES: [&str; 7] = [
    "configuration",
    "reachability",
    "challenge",
    "credentials",
    "destination",
    "TLS interception",
    "summary",
];

fn summarize(steps: &[Step], url: &url::Url) -> Summary {
    if let Some(p) = steps.iter().find(|s| s.status == Status::Problem) {
        // A conflicting or incomplete setting found in step 1 is the likelier cause of an
        // unreachable proxy or a refusal than anything else: say it too.
        let step1 = &steps[0];
        let step1_fix = if step1.status == Status::Warning && step1.notes.is_empty() {
            step1.fix.clone()
        } else {
            step1.notes.iter().find(|n| n.status == Status::Warning).and_then(|n| n.fix.clone())
        };
        let also = step1_fix.filter(|f| p.step > 1 && Some(f) != p.fix.as_ref());
        let exit = p.exit.unwrap_or(Exit::Internal);
        return Summary {
            status: Status::Problem,
            fetched: false,
            text: p.headline.clone().unwrap_or_else(|| p.evidence.clone()),
            fix: p.fix.clone(),
            also,
            exit_code: exit.code(),
            exit: Some(exit),
        };
    }
    let warning = steps.iter().find(|s| s.status == Status::Warning);
    let text = match warning {
        Some(w) => format!(
            "{} can be fetched, but: {}",
            safe_url(url),
            w.notes.first().map_or(&w.evidence, |n| &n.text)
        ),
        None => format!("{} can be fetched", safe_url(url)),
    };
    Summary {
        status: if warning.is_some() { Status::Warning } else { Status::Ok },
        fetched: true,
        text,
        fix: warning.and_then(|w| w.fix.clone()),
        also: None,
        exit_code: 0,
        exit: None,
    }
}

fn summary_step(s: &Summary) -> Step {
    let mut step = Step::new(7, "summary");
    step.status = s.status;
    step.evidence = match s.exit {
        Some(e) => format!("{} (exit {})", s.text, e.code()),
        None => s.text.clone(),
    };
    step.fix = s.fix.clone();
    step.exit = s.exit;
    step.exit_code = s.exit.map(Exit::code);
    if let Some(also) = &s.also {
        step.note(Status::Warning, "a setting from step 1 may be the cause", Some(also.clone()));
    }
    step
}

/// The URL without its password (`user:***@host`) — safe in every output.
pub(crate) fn safe_url(url: &url::Url) -> String {
    crate::term::sanitize(&crate::term::display_url(url))
}

/// `host` or `host:port` when the port is not the scheme's default: how a destination is named
/// to an administrator.
pub(crate) fn destination(url: &url::Url) -> String {
    let host = url.host_str().unwrap_or("?");
    match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    }
}

#[cfg(test)]
mod tests;
