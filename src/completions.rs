//! Shell completion scripts (bash, zsh, fish, PowerShell, elvish) and man pages, rendered from
//! the clap definition in [`crate::cli`] and checked in under `completions/` so packagers need
//! not run toll to get them. A unit test fails when they drift from the definition; rewrite them
//! with `TOLL_BLESS=1 cargo test completions`.

use crate::cli::Cli;
use clap::CommandFactory;
use clap_complete::{Generator, Shell};

const BIN: &str = "toll";

/// Sections the generated top man page lacks: clap's `after_long_help` would land under "EXTRA",
/// so the environment and examples are written here in roff instead (EXIT STATUS is rendered
/// from [`crate::error::Exit::TABLE`]; subcommands' pages get their `after_long_help` as NOTES).
const MAN_EXTRA: &str = r#".SH ENVIRONMENT
.TP
\fBhttps_proxy\fR, \fBHTTPS_PROXY\fR
Proxy for https:// URLs, unless \fB\-x\fR is given.
.TP
\fBhttp_proxy\fR, \fBHTTP_PROXY\fR
Proxy for http:// URLs. \fBHTTP_PROXY\fR is ignored when \fBREQUEST_METHOD\fR is set, because
a CGI program's \fBHTTP_PROXY\fR can come from a request's Proxy: header ("httpoxy").
.TP
\fBall_proxy\fR, \fBALL_PROXY\fR
Proxy for URLs the variables above do not cover.
.TP
\fBno_proxy\fR, \fBNO_PROXY\fR
Hosts to reach directly, with the syntax of \fB\-\-noproxy\fR. They apply to \fB\-x\fR too.
.TP
\fBCURL_CA_BUNDLE\fR
CA file for servers when neither \fB\-\-cacert\fR nor \fB\-\-capath\fR is given.
.TP
\fBSSL_CERT_FILE\fR, \fBSSL_CERT_DIR\fR
Without \fBCURL_CA_BUNDLE\fR: the CA file and directory (as curl).
.TP
\fBTOLL_NO_PROMPT\fR
Set to 1 to behave as if \fB\-\-no\-prompt\fR was given.
.TP
\fBTOLL_PROXY_USER\fR, \fBTOLL_PROXY_PASSWORD\fR
Proxy credentials (after \fB\-U\fR and the proxy URL's).
.TP
\fBTOLL_KEYRING\fR
auto (default), secret\-service, keyutils, none: where passwords are stored (see \fBtoll auth \-\-help\fR).
.TP
\fBTOLL_SAVE_CREDENTIALS\fR
ask (default), always, never: save a password typed at the prompt once it worked.
.TP
\fBTOLL_KEYRING_TIMEOUT\fR
Seconds a keyring call may take (default 3).
.TP
\fBTOLL_REMEMBER\fR
0: do not remember which scheme a proxy accepted (remembered.json).
.TP
\fBTOLL_PAC\fR
A PAC file or URL, when neither \fB\-x\fR, \fB\-\-pac\fR nor a proxy variable is set.
.TP
\fBXDG_CONFIG_HOME\fR
toll/config, the settings file (default ~/.config).
.TP
\fBXDG_STATE_HOME\fR
toll's state: remembered auth, the keyring index (default ~/.local/state).
.TP
\fBXDG_CACHE_HOME\fR
Fetched PACs (default ~/.cache).
.PP
Lowercase names win over uppercase ones; empty values count as unset.
.SH EXAMPLES
.nf
toll https://example.com/
toll \-x proxy.corp:3128 \-U alice https://example.com/
https_proxy=http://proxy.corp:3128 toll \-v https://example.com/
toll \-\-json '{"name":"toll"}' https://example.com/api
toll auth login proxy.corp:3128
toll demo \-\-scheme digest
.fi
"#;

/// The top page's EXIT STATUS, from the same table the README's is checked against.
fn exit_status_section() -> String {
    let mut codes: Vec<(u8, &str)> = crate::error::Exit::TABLE.iter().map(|(e, m)| (e.code(), *m)).collect();
    codes.sort_by_key(|(c, _)| *c);
    let mut out = String::from(".SH \"EXIT STATUS\"\n");
    for (code, meaning) in codes {
        out.push_str(&format!(".TP\n{code}\n{}\n", roff_line(meaning)));
    }
    out
}

/// One line of text for roff: backslashes and minus signs escaped, and a leading `.` or `'`
/// kept from being read as a request.
fn roff_line(line: &str) -> String {
    let escaped = line.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with('.') || escaped.starts_with('\'') {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

/// Every generated file as (file name under `completions/`, contents).
pub fn render_completions() -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish, Shell::PowerShell, Shell::Elvish] {
        let mut out = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), BIN, &mut out);
        files.push((shell.file_name(BIN), out));
    }
    // Building the parent names its subcommands `toll-demo` etc., hence their pages' names.
    let mut cmd = Cli::command();
    cmd.build();
    files.push(man_page(&cmd, true));
    for sub in cmd.get_subcommands() {
        files.push(man_page(sub, false));
        // `toll auth login` etc.: the `toll-auth` page lists them, so they get pages too.
        for subsub in sub.get_subcommands() {
            files.push(man_page(subsub, false));
        }
    }
    files
}

fn man_page(cmd: &clap::Command, top: bool) -> (String, Vec<u8>) {
    let man = clap_mangen::Man::new(cmd.clone());
    let mut out = Vec::new();
    // Writing to a Vec cannot fail.
    man.render_title(&mut out).expect("in memory");
    man.render_name_section(&mut out).expect("in memory");
    man.render_synopsis_section(&mut out).expect("in memory");
    man.render_description_section(&mut out).expect("in memory");
    man.render_options_section(&mut out).expect("in memory");
    if top || cmd.has_subcommands() {
        man.render_subcommands_section(&mut out).expect("in memory");
    }
    if top {
        out.extend_from_slice(MAN_EXTRA.as_bytes());
        out.extend_from_slice(exit_status_section().as_bytes());
    } else if let Some(text) = cmd.get_after_long_help().or_else(|| cmd.get_after_help()) {
        // clap_mangen would put it under "EXTRA" and refill its lines; it is written to be read
        // as laid out (lists, examples), so it goes in as it is.
        out.extend_from_slice(b".SH NOTES\n.nf\n");
        for line in text.to_string().lines() {
            out.extend_from_slice(roff_line(line).as_bytes());
            out.push(b'\n');
        }
        out.extend_from_slice(b".fi\n");
    }
    if cmd.get_version().is_some() {
        man.render_version_section(&mut out).expect("in memory");
    }
    (man.get_filename(), out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn completions_are_up_to_date() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("completions");
        let bless = std::env::var("TOLL_BLESS").is_ok_and(|v| v == "1");
        let mut stale = Vec::new();
        for (name, contents) in render_completions() {
            let path = dir.join(&name);
            if bless {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, &contents).unwrap();
            } else if std::fs::read(&path).ok().as_deref() != Some(&contents[..]) {
                stale.push(name);
            }
        }
        assert!(
            stale.is_empty(),
            "completions/{{{}}} differ from what the clap definition in src/cli.rs renders.\n\
             Regenerate them with: TOLL_BLESS=1 cargo test completions",
            stale.join(",")
        );
    }

    #[test]
    fn man_pages_carry_exit_codes_and_each_commands_notes() {
        let files = render_completions();
        let page = |name: &str| {
            let (_, c) = files.iter().find(|(n, _)| n == name).unwrap();
            String::from_utf8_lossy(c).into_owned()
        };
        let top = page("toll.1");
        let exit = &top[top.find(".SH \"EXIT STATUS\"").expect("an EXIT STATUS section")..];
        for (e, _) in crate::error::Exit::TABLE {
            assert!(exit.contains(&format!(".TP\n{}\n", e.code())), "exit {} missing", e.code());
        }
        // The man page's ENVIRONMENT names every variable `toll --help` names, and the README's
        // too (one list each, kept equal here).
        let help = Cli::command().render_long_help().to_string();
        let listed =
            &help[help.find("Environment:").expect("an Environment list")..help.find("Examples:").unwrap()];
        let env = &top[top.find(".SH ENVIRONMENT").unwrap()..top.find(".SH EXAMPLES").unwrap()];
        let readme = include_str!("../README.md");
        for name in listed
            .split(|c: char| !(c.is_ascii_uppercase() || c == '_' || c.is_ascii_lowercase()))
            .filter(|w| w.contains('_') && w.len() > 4)
        {
            assert!(env.contains(&format!("\\fB{name}\\fR")), "the man page lacks {name}");
            assert!(readme.contains(name), "the README never names {name}");
        }
        let serve = page("toll-serve.1");
        assert!(serve.contains(".SH NOTES\n.nf\nOnly you may use it"), "{serve}");
        assert!(page("toll-run.1").contains("127 when CMD is not\nfound"));
        // A line of the notes that starts with a dot would be a roff request.
        assert_eq!(roff_line(".x \\ -y"), "\\&.x \\e \\-y");
    }

    #[test]
    fn completions_cover_every_shell_and_option() {
        let files = render_completions();
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "toll.bash",
                "_toll",
                "toll.fish",
                "_toll.ps1",
                "toll.elv",
                "toll.1",
                "toll-demo.1",
                "toll-auth.1",
                "toll-auth-login.1",
                "toll-auth-logout.1",
                "toll-auth-list.1",
                "toll-auth-status.1",
                "toll-doctor.1",
                "toll-serve.1",
                "toll-run.1",
                "toll-pac.1",
            ]
        );
        for (name, contents) in &files {
            let text = String::from_utf8_lossy(contents).replace("\\-", "-");
            for needle in ["proxy-anyauth", "noproxy", "demo"] {
                if !name.starts_with("toll-") {
                    assert!(text.contains(needle), "{name} lacks {needle}");
                }
            }
        }
    }
}
