//! The doctor's output: the steps for a person, and `--report` for a ticket. (`--json` is the
//! `Diagnosis` serialised.) Every string in a `Diagnosis` is already sanitised and free of
//! secrets; rendering only arranges it.

use super::{Diagnosis, Status, Step};
use std::fmt::Write;

const INDENT: &str = "      ";

fn step_line(out: &mut String, s: &Step) {
    let _ = writeln!(out, "{}. {:<17} {:<8} {}", s.step, s.name, s.status.word(), s.evidence);
}

fn notes(out: &mut String, s: &Step) {
    for n in &s.notes {
        let fix = n.fix.as_ref().map(|f| format!(" — fix: {f}")).unwrap_or_default();
        let _ = writeln!(out, "{INDENT}{}: {}{fix}", n.status.word(), n.text);
    }
}

/// One line per step, with its evidence and details; the summary with its fix.
pub fn human(d: &Diagnosis) -> String {
    let mut out = format!("toll doctor: {}\n\n", d.url);
    for s in &d.steps {
        step_line(&mut out, s);
        if s.step == 7 {
            summary_tail(&mut out, d);
            continue;
        }
        for detail in &s.details {
            let _ = writeln!(out, "{INDENT}· {detail}");
        }
        notes(&mut out, s);
    }
    if d.summary.status == Status::Problem && d.proxy.is_some() {
        // The same command with --report: the proxy options and the URL given matter (without
        // them the report would check the default URL through whatever the environment says).
        let _ = writeln!(
            out,
            "\nFor your proxy administrator: this command again with --report added (no passwords in it):\n  \
             toll doctor --report [the options you gave] {} > toll-report.txt",
            d.url
        );
    }
    out
}

fn summary_tail(out: &mut String, d: &Diagnosis) {
    if let Some(fix) = &d.summary.fix {
        let _ = writeln!(out, "{INDENT}fix: {fix}");
    }
    if let Some(also) = &d.summary.also {
        let _ = writeln!(out, "{INDENT}also: {also}");
    }
}

/// The report for a ticket: versions, every step with its details, fixes and timings, the
/// proxy's raw status lines and challenges, the environment (passwords removed).
pub fn report(d: &Diagnosis) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "toll doctor report");
    let _ = writeln!(out, "toll {} ({})", d.toll, d.platform);
    for c in &d.components {
        let _ = writeln!(out, "{c}");
    }
    let _ = writeln!(out, "URL: {}", d.url);
    if let Some(p) = &d.proxy {
        let _ = writeln!(out, "proxy: {p}");
    }
    let _ = writeln!(out, "\nSteps");
    for s in &d.steps {
        step_line(&mut out, s);
        if s.step == 7 {
            summary_tail(&mut out, d);
            continue;
        }
        for detail in &s.details {
            let _ = writeln!(out, "{INDENT}· {detail}");
        }
        notes(&mut out, s);
        if let Some(fix) = s.fix.as_ref().filter(|_| s.status >= Status::Warning) {
            let _ = writeln!(out, "{INDENT}fix: {fix}");
        }
        if !s.timings.is_empty() {
            let t: Vec<String> = s.timings.iter().map(|t| format!("{} {:.1} ms", t.what, t.ms)).collect();
            let _ = writeln!(out, "{INDENT}timings: {}", t.join(", "));
        }
    }
    let _ = writeln!(
        out,
        "\nExchanges with the proxy (status lines and challenges as received; credentials never shown)"
    );
    if d.legs.is_empty() {
        let _ = writeln!(out, "  none");
    }
    for l in &d.legs {
        let auth = match &l.authorization {
            Some(s) => format!("Proxy-Authorization: {s} <removed>"),
            None => "no Proxy-Authorization".to_string(),
        };
        let _ = writeln!(
            out,
            "  [{}] {} ({auth}) → {} {} in {:.1} ms (proxy {})",
            l.purpose, l.request, l.status, l.reason, l.ms, l.proxy
        );
        for c in &l.challenges {
            let _ = writeln!(out, "{INDENT}Proxy-Authenticate: {c}");
        }
    }
    let _ = writeln!(out, "\nEnvironment (passwords removed)");
    for e in &d.environment {
        let _ = writeln!(out, "  {}: {}", e.name, e.value.as_deref().unwrap_or("not set"));
    }
    out
}
