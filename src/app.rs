//! The application layer: with `main`, the subcommands and `setup` (what they all set up the same
//! way), the only code that sees clap, the environment and the terminal. It dispatches the
//! subcommands, resolves a transfer's command line into `config` once (`.netrc`, the origin's
//! password, passwords hidden from `ps`), and runs the transfer on `setup`'s runtime.

use crate::cli::{Cli, Invocation, Transfer};
use crate::client::{self, Context};
use crate::config::ProxyConfig;
use crate::error::{Error, Exit, Result};
use crate::keyring::session::Session;
use crate::report::Reporter;
use crate::secret::Secret;
use crate::setup::{
    block_on, credential_setup, credential_setup_with, credential_sources, load_settings, remembered,
    routing, Stderr,
};
use crate::term::{sanitize, Terminal};
use std::sync::Arc;

pub mod argv;

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// The variables that choose a proxy (or none), or its credential. `env` reads a value that is
/// not valid UTF-8 as unset, which for these would silently mean "no proxy" (or, for
/// `REQUEST_METHOD`, let a CGI request's `HTTP_PROXY` in; for the credential, "no credentials"
/// with no word why): such a value is refused instead (never shown).
const PROXY_VARS: [&str; 11] = [
    "TOLL_PROXY_USER",
    "TOLL_PROXY_PASSWORD",
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
    "REQUEST_METHOD",
];

/// The first proxy variable whose value `lookup` finds but is not valid UTF-8.
fn non_unicode_proxy_var(lookup: &dyn Fn(&str) -> Option<std::ffi::OsString>) -> Option<&'static str> {
    PROXY_VARS.into_iter().find(|name| lookup(name).is_some_and(|v| v.to_str().is_none()))
}

/// Fails closed (exit 2) when a proxy variable is set but unreadable.
fn check_proxy_vars() -> Result<()> {
    match non_unicode_proxy_var(&|n| std::env::var_os(n)) {
        None => Ok(()),
        Some(name) => Err(Error::new(
            Exit::Usage,
            format!("the environment variable {name} is not valid UTF-8: toll will not guess what it means"),
        )
        .hint(format!("fix or unset {name}"))),
    }
}

/// Overwrites the secrets given on the command line (`-U user:pw`, `-u user:pw`, `-x` with a
/// password, `--oauth2-bearer`, key passphrases) in the process's argument strings, so `ps` and
/// `/proc/PID/cmdline` stop showing them. Call once, right after parsing.
pub fn hide_command_line_passwords(cli: &Cli) {
    use crate::cli::{AuthCommand, Command};
    let (proxy_args, auth_proxy) = match &cli.command {
        None => (Some(&cli.proxy), None),
        Some(Command::Doctor(d)) => (Some(&d.proxy), None),
        Some(Command::Serve(a)) => (Some(&a.server.proxy), None),
        Some(Command::Run(a)) => (Some(&a.server.proxy), None),
        Some(Command::Auth(AuthCommand::Login(l))) => (None, l.proxy.proxy.as_ref()),
        Some(Command::Auth(AuthCommand::Logout(a) | AuthCommand::Status(a))) => (None, a.proxy.as_ref()),
        Some(_) => (None, None),
    };
    let transfer = cli.command.is_none();
    // `-U`, and a transfer's `-u` (the server's password is as secret as the proxy's).
    let users = [
        (&["-U", "--proxy-user"][..], proxy_args.and_then(|p| p.proxy_user.as_ref())),
        (&["-u", "--user"][..], cli.request.curl.user.as_ref().filter(|_| transfer)),
    ];
    for (spellings, u) in users {
        if let Some((u, pw)) = u.and_then(|u| u.password.as_ref().map(|pw| (u, pw))) {
            // As typed: clap split it at the first ':'.
            let value = format!("{}:{}", u.user, pw.expose());
            argv::hide(spellings, &value, u.user.len() + 1..value.len());
        }
    }
    if let Some(p) = proxy_args {
        let named = [
            (&["-x", "--proxy"][..], &p.proxy),
            (&["--socks4"], &p.socks4),
            (&["--socks4a"], &p.socks4a),
            (&["--socks5"], &p.socks5),
            (&["--socks5-hostname"], &p.socks5_hostname),
            (&["--proxy1.0"], &p.proxy10),
            (&["--preproxy"], &p.preproxy),
        ];
        for (spellings, x) in named {
            if let Some(x) = x {
                if let Some(range) = crate::proxy_env::password_span(x.expose()) {
                    argv::hide(spellings, x.expose(), range);
                }
            }
        }
        hide_cert_password(&["--proxy-cert"], p.proxy_cert.as_ref());
        hide_whole(&["--proxy-pass"], p.proxy_pass.as_ref());
    }
    if let Some(x) = auth_proxy {
        if let Some(range) = crate::proxy_env::password_span(x.expose()) {
            argv::hide(&[], x.expose(), range);
        }
    }
    if transfer {
        let tls = &cli.request.curl.conn.more;
        hide_cert_password(&["-E", "--cert"], tls.cert.as_ref());
        hide_whole(&["--pass"], tls.pass.as_ref());
        hide_whole(&["--oauth2-bearer"], cli.transfer.oauth2_bearer.as_ref().map(|b| &b.0));
    }
}

/// A secret that is the whole value (`--pass PHRASE`, `--oauth2-bearer TOKEN`).
fn hide_whole(spellings: &[&str], secret: Option<&crate::secret::Secret>) {
    if let Some(s) = secret {
        argv::hide(spellings, s.expose(), 0..s.expose().len());
    }
}

/// `-E CERT:PASSWORD`: the value as typed is the file name with its ':'s escaped as `\:` (the
/// first unescaped ':' split it), a ':', and the password.
fn hide_cert_password(spellings: &[&str], cert: Option<&crate::cli::conn_opts::CertArg>) {
    let Some((c, pw)) = cert.and_then(|c| c.password.as_ref().map(|pw| (c, pw.expose()))) else { return };
    let value = format!("{}:{pw}", c.path.to_string_lossy().replace(':', "\\:"));
    argv::hide(spellings, &value, value.len() - pw.len()..value.len());
}

/// Runs what the command line asks for.
pub fn run(cli: Cli) -> Result<()> {
    // Once per process: every operation of a `--next` line has it (a global option), and a
    // second redirection would truncate what the first operations wrote there.
    static REDIRECTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if let Some(path) = &cli.transfer.stderr {
        if !REDIRECTED.swap(true, std::sync::atomic::Ordering::SeqCst) {
            redirect_stderr(path)?;
        }
    }
    check_proxy_vars()?;
    // As curl 7.88: `-2`/`-3` are read and ignored, with a word on stderr.
    let conn = &cli.request.curl.conn.more;
    for (asked, version) in [(conn.sslv2, "SSLv2"), (conn.sslv3, "SSLv3")] {
        if asked {
            eprintln!(
                "toll: warning: ignoring the instruction to use {version}: no TLS library still speaks it"
            );
        }
    }
    let invocation = cli.into_config(&env).map_err(|e| match e {
        crate::cli::UsageError::Unreadable(m) => {
            Error::new(Exit::Read, m).hint("check the file name after '@'")
        }
        e => Error::new(e.exit(), e.to_string()).hint("see 'toll --help'"),
    })?;
    match invocation {
        Invocation::Transfer(t) => transfer(*t),
        Invocation::Demo(args) => {
            let term = Terminal::detect(env("TOLL_TERMINAL").as_deref(), false);
            block_on(crate::demo::run(args.scheme.scheme(), term))
        }
        Invocation::Auth(cmd) => {
            let term = Terminal::detect(env("TOLL_TERMINAL").as_deref(), false);
            let setup = credential_setup(false)?;
            crate::auth_cmd::run(cmd, setup, term, &env)
        }
        Invocation::Doctor(d) => {
            let term = Terminal::detect(env("TOLL_TERMINAL").as_deref(), d.no_prompt);
            let setup = credential_setup(false)?;
            crate::doctor::run(*d, setup, term, &env)
        }
        Invocation::Serve(cfg) => {
            let setup = credential_setup(false)?;
            let term = Terminal::detect(env("TOLL_TERMINAL").as_deref(), cfg.no_prompt);
            crate::serve_cmd::run(*cfg, setup, term, &env)
        }
        Invocation::Pac(args) => crate::pac_cmd::run(args),
    }
}

/// `--stderr FILE|-`: from here on, what toll writes to standard error goes to FILE (created or
/// truncated, as curl does) or, with '-', to standard output; but `-w '%{stderr}'`, which goes
/// to the standard error toll started with (`output::write_real_stderr`), as curl 7.88's.
fn redirect_stderr(path: &std::path::Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        let file;
        let fd = if path.as_os_str() == "-" {
            std::io::stdout().as_raw_fd()
        } else {
            file = std::fs::File::create(path).map_err(|e| {
                Error::new(Exit::Write, format!("--stderr: cannot write {}: {e}", path.display()))
            })?;
            file.as_raw_fd()
        };
        // `-w '%{stderr}'` still goes to the standard error toll started with, as curl's.
        crate::output::keep_real_stderr()
            .map_err(|e| Error::new(Exit::Write, format!("--stderr: cannot keep standard error: {e}")))?;
        // SAFETY: dup2 on two open descriptors; fd 2 is replaced atomically.
        if unsafe { libc::dup2(fd, 2) } < 0 {
            return Err(Error::new(Exit::Write, "--stderr: cannot redirect standard error"));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

fn transfer(mut t: Transfer) -> Result<()> {
    // A very low `ulimit -n` (review H: 6 panicked, 10 failed with misleading errors).
    if let Some(n) = crate::setup::raise_descriptor_limit(64, 1024).filter(|n| *n < 16) {
        return Err(Error::new(
            Exit::Usage,
            format!("only {n} files may be open (ulimit -n): a transfer needs at least 16"),
        )
        .hint("raise the limit, e.g. ulimit -n 1024"));
    }
    let term = Terminal::detect(env("TOLL_TERMINAL").as_deref(), t.no_prompt);
    apply_netrc(&mut t)?;
    ask_origin_password(&mut t, term)?;
    // The other URLs use the same origin credentials (-u, or the first URL's netrc entry).
    for r in &mut t.more {
        r.origin_auth = t.request.origin_auth.clone();
    }
    let requests: Vec<_> = std::iter::once(t.request.clone()).chain(std::mem::take(&mut t.more)).collect();
    // --skip-existing: a URL whose file is there already is not fetched (nor written out with
    // -w), as in curl; said with -v only, as curl's note.
    let requests: Vec<_> = requests
        .into_iter()
        .filter(|r| match client::exists_already(r) {
            Some(path) => {
                if t.style.verbose {
                    eprintln!(
                        "* skips the transfer, {} exists locally",
                        sanitize(&path.display().to_string())
                    );
                }
                false
            }
            None => true,
        })
        .collect();
    if requests.is_empty() {
        return Ok(());
    }
    let reporter: Arc<dyn Reporter> = Arc::new(Stderr { verbose: t.style.verbose });
    let quiet = t.style.silent;
    // -s hides it from scripts; a person at a terminal should still learn of the risk.
    if !quiet || term.stderr {
        warn_command_line_password(&t.proxy);
    }
    let settings = load_settings()?;
    let setup = credential_setup_with(t.no_save, &settings)?;
    let session = Arc::new(Session::new(setup.keyring, setup.choice, setup.index, setup.save, term, quiet));
    let sources = credential_sources(&t.proxy, term, session.clone());
    // `--doh-url`'s resolver, made once for the PAC's DNS helpers and the transfers. One that
    // cannot be made is made again by the transfer, which reports it as curl does (with -w).
    let doh = client::doh(&t.request, reporter.clone()).ok().flatten();
    let ctx = Context {
        reporter: reporter.clone(),
        term,
        sources,
        memory: remembered(),
        doh: doh.clone(),
        rejections: run_rejections(),
    };
    block_on(async move {
        let routes = routing::chooser(
            &t.proxy,
            &settings,
            t.request.connect_timeout,
            &env,
            reporter.as_ref(),
            routing::PacLife::Process,
            doh,
        );
        // `-m` bounds the whole run's first transfer, the PAC's fetch included.
        let routes = match t.request.max_time {
            Some(limit) => tokio::time::timeout(limit, routes).await.map_err(|_| {
                Error::new(Exit::Timeout, "-m/--max-time ran out while fetching the PAC")
                    .hint("raise -m, or check the PAC's address (toll doctor)")
            })?,
            None => routes.await,
        }?
        .within(t.request.max_time);
        let result = client::run_all(&requests, &t.proxy, routes, t.style, ctx).await;
        // Once per process (every `--next` part is a run of its own).
        static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
        let warn = !quiet && !WARNED.load(std::sync::atomic::Ordering::Relaxed);
        if let Some(why) = crate::remembered::write_failure().filter(|_| warn) {
            WARNED.store(true, std::sync::atomic::Ordering::Relaxed);
            eprintln!(
                "toll: warning: {}; the next runs cannot skip the proxy's 407 (is the state directory another user's, after a sudo toll? chown it back or remove it)",
                sanitize(why)
            );
        }
        // Saving may ask a question or wait for the keyring: not on an async worker.
        tokio::task::spawn_blocking(move || session.finish(result))
            .await
            .unwrap_or_else(|e| Err(Error::new(Exit::Internal, format!("saving credentials failed: {e}"))))
    })
}

/// What the proxies rejected in this process: every operation of a `--next` line (or a `-K`
/// file's `next`) is one [`run`] with brokers of its own, and the lockout rule is per run.
fn run_rejections() -> Arc<crate::creds::Rejections> {
    static RUN: std::sync::OnceLock<Arc<crate::creds::Rejections>> = std::sync::OnceLock::new();
    RUN.get_or_init(Default::default).clone()
}

/// `-n`/`--netrc-file`: the origin's user name and password from the netrc file, unless `-u`
/// or the URL's password gives them; a URL's `user@` picks that user's entry.
/// A missing file changes nothing, as in curl; an unreadable one is exit 26, a malformed one 2.
/// With `--aws-sigv4`, no login for the host is a usage error: the request would go unsigned.
fn apply_netrc(t: &mut Transfer) -> Result<()> {
    netrc_login(t)?;
    let signing = t.request.curl.netrc.as_ref().is_some_and(|c| c.sigv4.is_some());
    if signing && t.request.origin_auth.is_none() {
        return Err(Error::new(
            Exit::Usage,
            "--aws-sigv4 with -n: the netrc file has no login for this host",
        )
        .hint("add a machine line with login and password for it, or give -u ACCESS_KEY:SECRET_KEY"));
    }
    Ok(())
}

fn netrc_login(t: &mut Transfer) -> Result<()> {
    let Some(cfg) = t.request.curl.netrc.clone() else { return Ok(()) };
    // As curl 7.88: -u wins, even `-u user` without a password (which is then asked for), and
    // the file is not read. So does a password in the URL (curl 7.88 would take the file's).
    if t.request.origin_auth.is_some() || t.request.url.password().is_some() {
        return Ok(());
    }
    let Some(path) =
        cfg.file.clone().or_else(|| env("HOME").map(|h| std::path::Path::new(&h).join(".netrc")))
    else {
        return Ok(());
    };
    let text = match std::fs::read(&path) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::new(Exit::Read, format!("cannot read {}: {e}", path.display()))),
    };
    let netrc = crate::client::netrc::parse_netrc(&text).map_err(|e| {
        Error::new(Exit::Usage, format!("{}: {e}", path.display())).hint("fix the netrc file, or drop -n")
    })?;
    // A URL's `user@` picks that user's entry; its password comes from the file.
    let auth = cfg.origin_auth(&netrc, &t.request.url);
    // Kept for the hosts a redirect leads to (`client::origin_auth`).
    if let Some(c) = t.request.curl.netrc.as_mut() {
        c.read = Some(std::sync::Arc::new(netrc));
    }
    if let Some(auth) = auth {
        t.request.origin_auth = auth.minus_removed_header(&t.request.curl.removed_headers);
    }
    Ok(())
}

/// `-u user` without a password: asked for on the terminal, as curl does ("Enter host password
/// for user …"). Without a terminal (or with --no-prompt) the password is empty, as curl's is
/// when it has nothing to read. Negotiate needs no password.
fn ask_origin_password(t: &mut Transfer, term: Terminal) -> Result<()> {
    let Some(auth) = t.request.origin_auth.as_mut() else { return Ok(()) };
    if auth.password.is_some() || auth.schemes == crate::auth::SchemeSet::only(crate::auth::Scheme::Negotiate)
    {
        return Ok(());
    }
    let prompt = format!("Enter host password for user '{}': ", sanitize(&auth.user));
    if t.no_prompt {
        auth.password = Some(Secret::new(""));
        return Ok(());
    }
    if !term.can_prompt {
        // As curl without a terminal: the prompt on stderr, the password the first line of
        // standard input (a script's `echo "$PW" | toll -u user URL`); none there, an empty one.
        eprint!("{prompt}");
        let line = stdin_line();
        let line = String::from_utf8_lossy(&line);
        auth.password = Some(Secret::new(line.strip_suffix('\r').unwrap_or(&line)));
        return Ok(());
    }
    let password = crate::prompt::Tty::open()
        .map_err(|e| Error::new(Exit::AuthNoCredentials, format!("cannot open the terminal: {e}")))?
        .ask_password(&prompt)
        .map_err(|e| match e {
            crate::prompt::Abort::Interrupted => Error::new(Exit::Interrupted, "interrupted"),
            _ => Error::new(Exit::AuthNoCredentials, "no password given for -u").hint("use -u user:password"),
        })?;
    auth.password = Some(password);
    Ok(())
}

/// The first line of standard input, without its line end, read a byte at a time: what follows
/// stays unread for the request body (`-d @-`, `-T -`), whichever way that reads it.
fn stdin_line() -> Vec<u8> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    // Not `std::io::stdin()`, whose buffer would take more than the line from the descriptor.
    #[cfg(unix)]
    let Some(mut stdin) =
        std::os::fd::AsFd::as_fd(&std::io::stdin()).try_clone_to_owned().ok().map(std::fs::File::from)
    else {
        return line;
    };
    #[cfg(not(unix))]
    let mut stdin = std::io::stdin();
    while line.len() < 4096 {
        match std::io::Read::read(&mut stdin, &mut byte) {
            Ok(1) if byte[0] != b'\n' => line.push(byte[0]),
            _ => break,
        }
    }
    line
}

/// A password on the command line (`-U user:pw`, `-x http://user:pw@…`) can be read by other
/// local users (shell history; `ps` and /proc until [`hide_command_line_passwords`] masks it,
/// and for the whole run where that is not supported): said once, with the better way.
fn warn_command_line_password(cfg: &ProxyConfig) {
    let in_url = cfg.explicit.iter().chain(&cfg.preproxy).any(|s| s.password.is_some());
    if cfg.password.is_some() || in_url {
        let how = if cfg.password.is_some() { "-U user:password" } else { "a password in -x or --preproxy" };
        eprintln!(
            "toll: note: {how} is visible to other local users (shell history, ps and /proc); \
             'toll auth login' stores it in the OS keyring instead"
        );
    }
}

/// Whether errors are printed (`-s` hides them unless `-S`): read before the CLI is consumed.
pub fn errors_shown(cli: &Cli) -> bool {
    !cli.output.silent || cli.output.show_error
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt;

    #[test]
    fn a_proxy_variable_that_is_not_utf8_is_named() {
        let bad = |name: &'static str| {
            move |n: &str| (n == name).then(|| OsString::from_vec(b"http://pro\xffxy:3128".to_vec()))
        };
        for name in PROXY_VARS {
            assert_eq!(non_unicode_proxy_var(&bad(name)), Some(name));
        }
        let fine = |n: &str| (n == "https_proxy").then(|| OsString::from("http://proxy:3128"));
        assert_eq!(non_unicode_proxy_var(&fine), None);
    }
}
