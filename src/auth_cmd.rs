//! `toll auth login|logout|list|status`: the user's handle on stored proxy passwords.
//!
//! `login` asks for what is missing, checks the password with one real request through the
//! proxy (the normal client and relay path, so what is checked is what a run will do), and only
//! then stores it. `status` answers "where would a run get the credentials for this proxy, and
//! how long does the keyring take", without ever printing a secret.
//!
//! Everything runs inside `setup::block_on`, so Ctrl-C at a prompt ends with exit 130 and the
//! terminal's echo restored, exactly as during a transfer.

use crate::auth::{Scheme, SchemeSet};
use crate::cli::{AuthCommand, AuthProxyArg, LoginArgs};
use crate::config::{OutputStyle, OutputTarget, ProxyConfig, ProxySpec, RequestConfig};
use crate::creds::{CredentialRequest, CredentialSource, Lookup};
use crate::error::{Error, Exit, Result};
use crate::keyring::session::{remove_replaced, save, saved_message};
use crate::keyring::{Choice, StoreKind};
use crate::output::say;
use crate::prompt::{self, Abort, Tty};
use crate::proxy_env::{self, ProxySettings, Route};
use crate::secret::{Credentials, Secret};
use crate::setup::{block_on, CredentialSetup};
use crate::store::IndexEntry;
use crate::term::{sanitize, Terminal};
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

pub fn run(cmd: AuthCommand, setup: CredentialSetup, term: Terminal, env: Env) -> Result<()> {
    match cmd {
        AuthCommand::Login(args) => {
            let spec = resolve_proxy(&args.proxy, env)?;
            block_on(login(args, spec, setup, term))
        }
        AuthCommand::Logout(arg) => logout(&resolve_proxy(&arg, env)?, &setup),
        AuthCommand::List => list(&setup),
        AuthCommand::Status(arg) => {
            let spec = resolve_proxy(&arg, env)?;
            let no_prompt =
                env("TOLL_NO_PROMPT").is_some_and(|v| !matches!(v.trim(), "" | "0" | "no" | "false"));
            status(&spec, &setup, term, no_prompt, env)
        }
    }
}

/// The PROXY argument, else the proxy https:// URLs use (`https_proxy`, `all_proxy`).
fn resolve_proxy(arg: &AuthProxyArg, env: Env) -> Result<ProxySpec> {
    let usage = |m: String| Error::new(Exit::Usage, m);
    let spec = match &arg.proxy {
        Some(raw) => {
            let spec = proxy_env::parse_proxy_url(raw.expose(), "the PROXY argument")
                .map_err(|e| usage(e.to_string()))?;
            if spec.password.is_some() {
                return Err(usage(
                    "the PROXY argument contains a password, which other local users can see".into(),
                )
                .hint("give the proxy without it; toll asks for the password (or use --password-stdin)"));
            }
            spec
        }
        None => {
            let url = url::Url::parse("https://example.com/").expect("a valid URL");
            match ProxySettings::new(None, Some(""), env).route(&url) {
                Ok(Route::Proxy(spec)) => spec,
                Ok(Route::Direct) => {
                    return Err(usage("no proxy is configured (https_proxy, all_proxy)".into())
                        .hint("name the proxy: toll auth login proxy.corp:3128"))
                }
                Err(e) => return Err(usage(e.to_string())),
            }
        }
    };
    if spec.is_socks() {
        return Err(usage(format!(
            "{} is a SOCKS proxy: toll keeps passwords for HTTP(S) proxies only",
            spec.display_url()
        ))
        .hint("put SOCKS credentials in the proxy URL"));
    }
    Ok(spec)
}

/// No store took (or could be reached for) the password: exit 23, the password kept nowhere,
/// with the stores not tried yet as the way out.
fn store_failure(errors: &[crate::keyring::KeyringError], choice: Choice) -> Error {
    let why: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    let tried = choice.save_order();
    let hint = if !tried.contains(&StoreKind::Keyutils) && cfg!(target_os = "linux") {
        "start a Secret Service (GNOME Keyring, KeePassXC), or TOLL_KEYRING=keyutils on Linux"
    } else if tried.contains(&StoreKind::Keyutils) && tried.len() == 1 {
        "the kernel keyring needs a session keyring: run it inside 'keyctl session -' (or a login session), or use a Secret Service"
    } else {
        "start a Secret Service (GNOME Keyring, KeePassXC), or give the password another way (-U, TOLL_PROXY_PASSWORD)"
    };
    Error::new(Exit::Write, format!("could not store the password: {}", why.join("; "))).hint(hint)
}

fn who(user: &str, spec: &ProxySpec) -> String {
    format!("{user}@{}", spec.host_port())
}

async fn login(args: LoginArgs, spec: ProxySpec, setup: CredentialSetup, term: Terminal) -> Result<()> {
    let Some(index) = setup.index.clone() else {
        return Err(Error::new(Exit::Write, "no home directory: toll has nowhere to keep its index")
            .hint("set HOME (or XDG_STATE_HOME)"));
    };
    if setup.choice == Choice::Disabled {
        return Err(Error::new(
            Exit::Usage,
            "the keyring is turned off (TOLL_KEYRING=none or keyring = none)",
        )
        .hint("unset TOLL_KEYRING, or pick a store: TOLL_KEYRING=secret-service or keyutils"));
    }
    let key = spec.display_url();
    let old = index.get(&key);

    // What is missing is asked for (on a blocking thread: it reads the terminal or stdin).
    let (user_arg, from_stdin, can_prompt) = (args.user.clone(), args.password_stdin, term.can_prompt);
    let (spec2, old_user) = (spec.clone(), old.as_ref().map(|o| o.user.clone()));
    let creds = tokio::task::spawn_blocking(move || ask(&spec2, user_arg, old_user, from_stdin, can_prompt))
        .await
        .map_err(|e| Error::new(Exit::Internal, format!("the prompt failed: {e}")))??;

    // A store to keep it in, before the password goes to the proxy: a keyring that is not
    // there must not cost a logon attempt (review H: checked at the proxy, then not stored).
    if !args.no_verify {
        let (keyring, choice, k, u) = (setup.keyring, setup.choice, key.clone(), creds.user.clone());
        let tried = tokio::task::spawn_blocking(move || {
            let order = choice.save_order();
            let errors: Vec<_> = order.iter().filter_map(|store| keyring.get(*store, &k, &u).err()).collect();
            (errors.len() == order.len()).then_some(errors)
        })
        .await
        .map_err(|e| Error::new(Exit::Internal, format!("the keyring check failed: {e}")))?;
        if let Some(errors) = tried.filter(|e| !e.is_empty()) {
            return Err(store_failure(&errors, choice));
        }
    }

    let verified = if args.no_verify { None } else { Some(verify(&args, &spec, &creds).await?) };

    let (keyring, choice) = (setup.keyring, setup.choice);
    let preferred = old.as_ref().and_then(|o| StoreKind::from_id(&o.store));
    let (k2, c2) = (key.clone(), creds.clone());
    let saved = tokio::task::spawn_blocking(move || save(&keyring, choice, preferred, &k2, &c2))
        .await
        .map_err(|e| Error::new(Exit::Internal, format!("saving failed: {e}")))?;
    let (store, fell_back) = saved.map_err(|errors| store_failure(&errors, choice))?;
    let scheme = match &verified {
        Some(Verified::Accepted { scheme, .. }) => Some(scheme.name().to_string()),
        _ => old.as_ref().filter(|o| o.user == creds.user).and_then(|o| o.scheme.clone()),
    };
    let entry =
        IndexEntry { user: creds.user.clone(), store: store.id().into(), scheme, updated: 0, stored: 0 };
    if let Err(e) = index.put(&key, entry) {
        // Without its index line nothing finds the password (not a transfer, not `logout`):
        // it goes again, unless it replaced the one the index still names.
        let same =
            old.as_ref().is_some_and(|o| o.user == creds.user && StoreKind::from_id(&o.store) == Some(store));
        if !same {
            let (k, u) = (key.clone(), creds.user.clone());
            let _ = tokio::task::spawn_blocking(move || keyring.delete(store, &k, &u)).await;
        }
        return Err(Error::new(Exit::Write, format!("cannot write {}: {e}", index.path().display()))
            .hint("toll's state directory must hold a regular file there that toll can write"));
    }
    let (k3, u3) = (key.clone(), creds.user.clone());
    let old2 = old.clone();
    let _ =
        tokio::task::spawn_blocking(move || remove_replaced(&keyring, old2.as_ref(), store, &u3, &k3)).await;

    let mut msg = saved_message(&who(&creds.user, &spec), store, &fell_back);
    msg.push_str(&match &verified {
        Some(Verified::Accepted { scheme, realm }) => {
            let realm = realm.as_deref().map(|r| format!(", realm \"{}\"", sanitize(r))).unwrap_or_default();
            format!("; the proxy accepted it ({}{realm})", scheme.name())
        }
        Some(Verified::NotAsked) => {
            format!(
                "; not checked: the proxy did not ask for credentials for {}",
                sanitize(&crate::term::redact_userinfo(&args.verify_url))
            )
        }
        None => "; not checked (--no-verify)".into(),
    });
    eprintln!("toll: {msg}");
    Ok(())
}

/// The user name and password: from the options, standard input, or the terminal.
fn ask(
    spec: &ProxySpec,
    user: Option<String>,
    old_user: Option<String>,
    from_stdin: bool,
    can_prompt: bool,
) -> Result<Credentials> {
    let no_tty = |what: &str| {
        Error::new(Exit::AuthNoCredentials, format!("no terminal to ask for the {what}"))
            .hint("give --user NAME and --password-stdin")
    };
    let aborted = |a: Abort| match a {
        Abort::Interrupted => Error::new(Exit::Interrupted, "interrupted at the prompt"),
        Abort::Eof => {
            Error::new(Exit::AuthNoCredentials, "aborted at the prompt (Ctrl-D): nothing was stored")
        }
        Abort::Io(e) => Error::new(Exit::Internal, format!("the terminal failed: {e}")),
    };
    let mut tty: Option<Tty> = None;
    let open_tty = |tty: &mut Option<Tty>, what: &str| -> Result<()> {
        if tty.is_none() {
            if !can_prompt {
                return Err(no_tty(what));
            }
            let mut t = Tty::open().map_err(|_| no_tty(what))?;
            let _ = t.say(&format!("Storing a password for proxy {}", sanitize(&spec.display_url())));
            *tty = Some(t);
        }
        Ok(())
    };
    let user = match user.or_else(|| spec.user.clone()) {
        Some(u) => u,
        None => {
            open_tty(&mut tty, "user name")?;
            let t = tty.as_mut().expect("opened");
            loop {
                let typed = t.ask_line(&prompt::user_prompt(old_user.as_deref())).map_err(aborted)?;
                match (typed.is_empty(), &old_user) {
                    (false, _) => break typed,
                    (true, Some(d)) => break d.clone(),
                    (true, None) => {}
                }
            }
        }
    };
    if user.is_empty() || user.contains(['\r', '\n', '\0']) {
        return Err(Error::new(Exit::Usage, "the user name is empty or contains a line break"));
    }
    // `--password-stdin` typed at a terminal is asked for as the prompt asks (no echo): a
    // password on the screen is one over a shoulder and in a screen recording.
    let typed_at_terminal = from_stdin && std::io::IsTerminal::is_terminal(&std::io::stdin());
    let password = if from_stdin && !typed_at_terminal {
        read_stdin_password()?
    } else if typed_at_terminal {
        // Asked for (`--password-stdin`), not a prompt toll decided on: `--no-prompt` and
        // TOLL_NO_PROMPT do not stand in the way.
        let mut t = Tty::open().map_err(|_| no_tty("password"))?;
        t.ask_password(&prompt::password_prompt(&user)).map_err(aborted)?
    } else {
        open_tty(&mut tty, "password")?;
        let t = tty.as_mut().expect("opened");
        t.ask_password(&prompt::password_prompt(&user)).map_err(aborted)?
    };
    if password.is_empty() {
        let hint = match from_stdin {
            true => {
                "give the password as standard input's first line: printf '%s\\n' \"$PW\" | toll auth login …"
            }
            false => "type the password at the prompt; toll stores no empty password",
        };
        return Err(Error::new(Exit::Usage, "the password is empty: nothing was stored").hint(hint));
    }
    Ok(Credentials { user, password })
}

/// The first line of standard input (without its line ending).
fn read_stdin_password() -> Result<Secret> {
    use std::io::BufRead;
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Error::new(Exit::Read, format!("cannot read the password from standard input: {e}")))?;
    let secret = Secret::new(line.trim_end_matches(['\r', '\n']));
    zeroize::Zeroize::zeroize(&mut line);
    Ok(secret)
}

enum Verified {
    Accepted {
        scheme: Scheme,
        realm: Option<String>,
    },
    /// The proxy answered without asking for credentials.
    NotAsked,
}

/// The scheme (and realm) the proxy accepted the credential with, once it has.
type AcceptedWith = Arc<Mutex<Option<(Scheme, Option<String>)>>>;

/// The credential to check, and what the proxy said about it.
struct VerifySource {
    creds: Credentials,
    accepted: AcceptedWith,
}

impl CredentialSource for VerifySource {
    fn label(&self) -> String {
        "toll auth login".into()
    }
    fn lookup(&self, _req: &CredentialRequest) -> Lookup {
        Lookup::Found(self.creds.clone())
    }
    fn accepted(&self, req: &CredentialRequest, _creds: &Credentials) {
        *self.accepted.lock().unwrap_or_else(|e| e.into_inner()) = Some((req.scheme, req.realm.clone()));
    }
}

/// One request for `--verify-url` through the proxy with only this credential. Accepted means
/// the proxy took it (whatever the destination then answered: there may be no internet behind
/// the proxy, or a policy); rejected is a 407 for it.
async fn verify(args: &LoginArgs, spec: &ProxySpec, creds: &Credentials) -> Result<Verified> {
    let url = url::Url::parse(&args.verify_url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .ok_or_else(|| {
            Error::new(
                Exit::Usage,
                format!(
                    "--verify-url {}: not an http(s) URL",
                    sanitize(&crate::term::redact_userinfo(&args.verify_url))
                ),
            )
        })?;
    let scratch = tempfile::tempdir()
        .map_err(|e| Error::new(Exit::Internal, format!("cannot create a temporary directory: {e}")))?;
    let request = RequestConfig {
        insecure: true,
        max_time: Some(Duration::from_secs(30)),
        connect_timeout: Some(Duration::from_secs(10)),
        // The answer is not wanted: it goes to a scratch file that is removed.
        output: OutputTarget::File(scratch.path().join("response")),
        ..RequestConfig::get(url)
    };
    let mut bare = spec.clone();
    bare.user = None;
    bare.password = None;
    let proxy = ProxyConfig {
        explicit: Some(bare),
        noproxy: Some(String::new()),
        user: None,
        password: None,
        allowed_schemes: SchemeSet::ANY,
        proxy_cacert: args.proxy_cacert.clone(),
        proxy_insecure: args.proxy_insecure,
        proxy_pinned_key: None,
        proxy_tls: Default::default(),
        proxy_capath: None,
        proxy_client_cert: None,
        pac: None,
        wpad: false,
        service_name: None,
        delegation: Default::default(),
        no_sessionid: false,
        preproxy: None,
        connect_http10: false,
    };
    let settings = ProxySettings::from_config(&proxy, &|_| None);
    let accepted = Arc::new(Mutex::new(None));
    let (c, a) = (creds.clone(), accepted.clone());
    let ctx = crate::client::Context {
        reporter: Arc::new(crate::report::Quiet),
        term: Terminal { stderr: false, stdout: false, can_prompt: false },
        sources: Arc::new(move |_: &ProxySpec| -> Vec<Box<dyn CredentialSource>> {
            vec![Box::new(VerifySource { creds: c.clone(), accepted: a.clone() })]
        }),
        memory: None,
        doh: None,
        rejections: Default::default(),
    };
    let style = OutputStyle { silent: true, show_error: false, verbose: false };
    let result =
        crate::client::run(&request, &proxy, crate::route::choice::Chooser::fixed(settings), style, ctx)
            .await;
    let took = accepted.lock().unwrap_or_else(|e| e.into_inner()).take();
    match (took, result) {
        (Some((scheme, realm)), _) => Ok(Verified::Accepted { scheme, realm }),
        (None, Ok(())) => Ok(Verified::NotAsked),
        (None, Err(e)) if e.exit == Exit::AuthRejected => Err(Error::new(
            Exit::AuthRejected,
            format!(
                "proxy {} rejected the password for {}: nothing was stored",
                spec.host_port(),
                creds.user
            ),
        )
        .hint("check the user name and password (each attempt counts towards a lockout)")),
        (None, Err(mut e)) => {
            e.message = format!("could not check the password: {}", e.message);
            e.hint = Some("toll auth login --no-verify stores it without checking".into());
            Err(e)
        }
    }
}

fn logout(spec: &ProxySpec, setup: &CredentialSetup) -> Result<()> {
    let key = spec.display_url();
    let Some(entry) = setup.index.as_ref().and_then(|i| i.get(&key)) else {
        eprintln!("toll: no password is stored for proxy {key}");
        return Ok(());
    };
    let store = StoreKind::from_id(&entry.store);
    if let Some(store) = store {
        match setup.keyring.delete(store, &key, &entry.user) {
            Ok(_) => {}
            Err(e) => {
                return Err(Error::new(Exit::Write, format!("could not remove the password: {e}"))
                    .hint("the index still lists it: retry when the keyring answers"))
            }
        }
    }
    if let Some(index) = &setup.index {
        index.remove(&key).map_err(|e| {
            Error::new(Exit::Internal, format!("cannot write {}: {e}", index.path().display()))
        })?;
    }
    match store {
        Some(s) => {
            eprintln!("toll: removed the password for {} from {}", who(&entry.user, spec), s.describe())
        }
        // A store this toll does not know (a newer toll's, or an edited index): the line goes,
        // whatever that store holds is not touched, and the user is told so.
        None => eprintln!(
            "toll: removed the index entry for {}; it names a store this toll does not know ({}), \
             so nothing was removed from a keyring",
            who(&entry.user, spec),
            sanitize(&entry.store)
        ),
    }
    Ok(())
}

fn list(setup: &CredentialSetup) -> Result<()> {
    let entries = setup.index.as_ref().map(|i| i.list()).unwrap_or_default();
    if entries.is_empty() {
        say(format_args!("No proxy passwords are stored (toll auth login PROXY stores one)."))?;
        return Ok(());
    }
    say(format_args!("{}", list_table(entries).trim_end()))
}

/// The `auth list` table. Every field comes from the index file, which anything running as the
/// user can write: all of them are sanitised before they reach the terminal.
fn list_table(entries: Vec<(String, crate::store::IndexEntry)>) -> String {
    let rows: Vec<[String; 4]> = entries
        .into_iter()
        .map(|(proxy, e)| {
            let scheme = e.scheme.unwrap_or_else(|| "-".into());
            [sanitize(&proxy), sanitize(&e.user), sanitize(&e.store), sanitize(&scheme)]
        })
        .collect();
    let header = ["PROXY", "USER", "STORE", "LAST SCHEME"].map(String::from);
    let width = |i: usize| rows.iter().chain([&header]).map(|r| r[i].chars().count()).max().unwrap_or(0);
    let (w0, w1, w2) = (width(0), width(1), width(2));
    let mut out = String::new();
    for r in [&header].into_iter().chain(rows.iter()) {
        out.push_str(&format!("{:w0$}  {:w1$}  {:w2$}  {}\n", r[0], r[1], r[2], r[3]));
    }
    out
}

fn status(
    spec: &ProxySpec,
    setup: &CredentialSetup,
    term: Terminal,
    no_prompt: bool,
    env: Env,
) -> Result<()> {
    let key = spec.display_url();
    say(format_args!("Proxy {key} (from {})", spec.origin))?;
    say(format_args!("Credential sources, in the order a run tries them:"))?;
    let mut would_use: Option<String> = None;
    let mut use_if_none = |what: String, found: bool| {
        if found && would_use.is_none() {
            would_use = Some(what);
        }
    };
    say(format_args!("  1. -U/--proxy-user: given per run on the command line"))?;
    match (&spec.user, &spec.password) {
        (Some(u), Some(_)) => {
            say(format_args!("  2. the proxy URL ({}): user {}, with a password", spec.origin, sanitize(u)))?;
            use_if_none(format!("the proxy URL (user {})", sanitize(u)), true);
        }
        (Some(u), None) => {
            say(format_args!("  2. the proxy URL ({}): user {}, no password", spec.origin, sanitize(u)))?
        }
        _ => say(format_args!("  2. the proxy URL: no user name in it"))?,
    }
    match (env("TOLL_PROXY_USER").filter(|u| !u.is_empty()), env("TOLL_PROXY_PASSWORD").is_some()) {
        (Some(u), true) => {
            say(format_args!(
                "  3. TOLL_PROXY_USER/TOLL_PROXY_PASSWORD: user {}, with a password",
                sanitize(&u)
            ))?;
            use_if_none(format!("TOLL_PROXY_USER/TOLL_PROXY_PASSWORD (user {})", sanitize(&u)), true);
        }
        (Some(u), false) => say(format_args!(
            "  3. TOLL_PROXY_USER: user {}, but TOLL_PROXY_PASSWORD is not set",
            sanitize(&u)
        ))?,
        (None, _) => say(format_args!("  3. TOLL_PROXY_USER/TOLL_PROXY_PASSWORD: not set"))?,
    }
    let entry = setup.index.as_ref().and_then(|i| i.get(&key));
    match (setup.choice, &entry) {
        (Choice::Disabled, _) => say(format_args!(
            "  4. the OS keyring: turned off (TOLL_KEYRING=none or `keyring = none` in the settings file)"
        ))?,
        (_, None) => say(format_args!(
            "  4. the OS keyring: nothing stored for this proxy (toll auth login stores a password)"
        ))?,
        (choice, Some(e)) => {
            let indexed = StoreKind::from_id(&e.store);
            match choice.lookup_store(indexed) {
                None => say(format_args!(
                    "  4. the OS keyring: the index names an unknown store '{}'",
                    sanitize(&e.store)
                ))?,
                Some(store) => {
                    let (r, took) = setup.keyring.timed_get(store, &key, &e.user);
                    let user = sanitize(&e.user);
                    let ms = millis(took);
                    match r {
                        Ok(Some(_)) => {
                            say(format_args!("  4. the OS keyring: user {user} in {store}: found ({ms})"))?;
                            use_if_none(format!("the OS keyring (user {user}, {store})"), true);
                        }
                        Ok(None) => {
                            say(format_args!("  4. the OS keyring: user {user} in {store}: no entry ({ms})"))?
                        }
                        Err(err) => say(format_args!("  4. the OS keyring: user {user}: {err} ({ms})"))?,
                    }
                }
            }
        }
    }
    let prompt = if no_prompt {
        "off (--no-prompt / TOLL_NO_PROMPT)"
    } else if term.can_prompt {
        "possible (a terminal is available)"
    } else {
        "not possible (no controlling terminal)"
    };
    say(format_args!("  5. the terminal prompt: {prompt}"))?;
    use_if_none("the terminal prompt".into(), term.can_prompt && !no_prompt);

    if setup.choice != Choice::Disabled {
        say(format_args!("Keyring stores (a lookup of a missing entry, timed):"))?;
        let stores = match setup.choice {
            Choice::Only(k) => vec![k],
            _ => StoreKind::available(),
        };
        for store in stores {
            let (r, took) = setup.keyring.timed_get(store, "status-probe://toll", "toll-status-probe");
            let answer = match r {
                Ok(_) => "answers".to_string(),
                Err(e) => e.reason(),
            };
            let persistence = if store.until_reboot() { " (kept until reboot)" } else { "" };
            say(format_args!("  {}{persistence}: {answer} ({})", store.id(), millis(took)))?;
        }
    }
    match would_use {
        Some(what) => {
            say(format_args!("A run would use: {what}"))?;
            Ok(())
        }
        None => {
            say(format_args!("A run would find no credentials (exit 40)."))?;
            Err(Error::new(Exit::AuthNoCredentials, format!("no credentials for proxy {key}"))
                .hint(format!("toll auth login {key}")))
        }
    }
}

fn millis(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::IndexEntry;

    #[test]
    fn list_sanitises_every_index_field() {
        let evil = "\x1b]0;owned\x07\u{202e}";
        let entry = IndexEntry {
            user: format!("alice{evil}"),
            store: format!("keyutils{evil}"),
            scheme: Some(format!("Basic{evil}")),
            updated: 0,
            stored: 0,
        };
        let table = list_table(vec![(format!("http://proxy{evil}:3128"), entry)]);
        assert!(
            !table.contains('\x1b') && !table.contains('\x07') && !table.contains('\u{202e}'),
            "{table:?}"
        );
        assert_eq!(table.matches("\\x1b]0;owned\\x07\\u{202e}").count(), 4, "{table}");
    }
}
