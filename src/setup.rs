//! What the application and its subcommands (`toll auth`, `toll doctor`, `toll serve`, `toll run`)
//! set up the same way before the engine runs: the settings file, where passwords are stored,
//! the credential sources for a proxy, the proxy choice (`routing`), remembered authentication,
//! the verbose trace on stderr, and the runtime with its signal handling. Like `app`, it may read
//! the environment and the terminal; the engine it wires up does not.

use crate::client::SourceFactory;
use crate::config::{ProxyConfig, ProxySpec};
use crate::creds::{CredentialSource, FixedSource};
use crate::error::{Error, Exit, Result};
use crate::keyring::session::{KeyringSource, Session};
use crate::keyring::{Choice, Keyring};
use crate::prompt::PromptSource;
use crate::remembered::{Entry, Remembered};
use crate::report::{Direction, Reporter};
use crate::secret::Secret;
use crate::store::{Index, SavePolicy, Settings};
use crate::term::{sanitize, Terminal};
use std::future::Future;
use std::sync::Arc;

pub(crate) mod routing;

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Where passwords are stored and whether to offer saving one: `TOLL_KEYRING`,
/// `TOLL_SAVE_CREDENTIALS` (and `--no-save`) win over the settings file.
pub struct CredentialSetup {
    pub keyring: Keyring,
    pub choice: Choice,
    pub index: Option<Index>,
    pub save: SavePolicy,
}

pub(crate) fn credential_setup(no_save: bool) -> Result<CredentialSetup> {
    credential_setup_with(no_save, &load_settings()?)
}

/// The settings file (`$XDG_CONFIG_HOME/toll/config`), read once per run.
pub(crate) fn load_settings() -> Result<Settings> {
    let settings = Settings::load(Settings::default_path(&env)).map_err(|e| {
        Error::new(Exit::Usage, e).hint("fix or remove the settings file (see 'toll auth --help')")
    })?;
    if let Some(why) = &settings.unreachable {
        eprintln!("toll: warning: {}", crate::term::sanitize(why));
    }
    Ok(settings)
}

pub(crate) fn credential_setup_with(no_save: bool, settings: &Settings) -> Result<CredentialSetup> {
    let usage = |m: String| Error::new(Exit::Usage, m);
    let from = |var: &str, setting: &Option<String>| -> Option<(String, String)> {
        match env(var).filter(|v| !v.trim().is_empty()) {
            Some(v) => Some((v, var.to_string())),
            None => setting.clone().map(|v| {
                let file = settings.path.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
                (v, file)
            }),
        }
    };
    let choice = match from("TOLL_KEYRING", &settings.keyring) {
        Some((v, origin)) => Choice::parse(&v).map_err(|e| usage(format!("{origin}: {e}")))?,
        None => Choice::Auto,
    };
    let save = match (no_save, from("TOLL_SAVE_CREDENTIALS", &settings.save_credentials)) {
        (true, _) => SavePolicy::Never,
        (false, Some((v, origin))) => SavePolicy::parse(&v)
            .ok_or_else(|| usage(format!("{origin}: '{v}' is not ask, always or never")))?,
        (false, None) => SavePolicy::Ask,
    };
    Ok(CredentialSetup {
        keyring: Keyring::from_env(&env),
        choice,
        index: Index::default_path(&env).map(Index::new),
        save,
    })
}

/// The credential sources for a proxy, in priority order: `-U`, the proxy URL's userinfo,
/// `TOLL_PROXY_USER` + `TOLL_PROXY_PASSWORD`, the OS keyring (the user name the index records),
/// then the terminal prompt when one is possible. `-U` and the environment apply to the proxies
/// the user configured, not to `--preproxy`'s SOCKS proxy (they are the HTTP proxy's, which
/// must not go to another proxy); a proxy URL's userinfo only to that proxy.
pub(crate) fn credential_sources(cfg: &ProxyConfig, term: Terminal, session: Arc<Session>) -> SourceFactory {
    let flag = cfg.user.clone().map(|u| (u, cfg.password.clone()));
    let from_env = env("TOLL_PROXY_USER")
        .filter(|u| !u.is_empty())
        .map(|u| (u, env("TOLL_PROXY_PASSWORD").map(Secret::from)));
    let preproxy = cfg.preproxy.as_ref().map(ProxySpec::display_url);
    Arc::new(move |spec: &ProxySpec| {
        session.saw_proxy(spec);
        let is_preproxy = preproxy.as_deref() == Some(spec.display_url().as_str());
        let (flag, from_env) = if is_preproxy { (&None, &None) } else { (&flag, &from_env) };
        let mut fixed: Vec<(String, String, Option<Secret>)> = Vec::new();
        if let Some((user, password)) = flag {
            fixed.push(("-U/--proxy-user".into(), user.clone(), password.clone()));
        }
        if let Some(user) = &spec.user {
            fixed.push((format!("the proxy URL ({})", spec.origin), user.clone(), spec.password.clone()));
        }
        if let Some((user, password)) = from_env {
            fixed.push(("TOLL_PROXY_USER/TOLL_PROXY_PASSWORD".into(), user.clone(), password.clone()));
        }
        // A user name given without a password is the one the prompt asks the password for;
        // else the prompt suggests the first configured (or stored) user name.
        let fixed_user = fixed.iter().find(|(_, _, p)| p.is_none()).map(|(_, u, _)| u.clone());
        let indexed = session.index.as_ref().and_then(|i| i.get(&spec.display_url())).map(|e| e.user);
        let default_user = fixed.first().map(|(_, u, _)| u.clone()).or(indexed);

        let mut v: Vec<Box<dyn CredentialSource>> = Vec::new();
        for (label, user, password) in fixed {
            v.push(session.track(Box::new(FixedSource::new(label, user, password))));
        }
        if session.choice != Choice::Disabled && session.index.is_some() {
            v.push(session.track(Box::new(KeyringSource::new(session.clone(), spec.clone()))));
        }
        if term.can_prompt {
            let prompt = PromptSource::new(session.clone(), spec.clone(), fixed_user, default_user);
            v.push(session.track(Box::new(prompt)));
        }
        v
    })
}

/// Runs `fut` on a runtime with two workers (the relay and the transfer each get one), ending
/// with exit 130 on Ctrl-C after dropping everything — so a partial `-o` file is removed. SIGTERM
/// (a supervisor, `timeout`) and SIGHUP (the terminal closed) drop everything the same way, then
/// end the process by that signal, as it would have ended without toll's cleanup.
pub fn block_on(fut: impl Future<Output = Result<()>>) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::new(Exit::Internal, format!("cannot start the runtime: {e}")))?;
    let mut ended_by = None;
    let result = rt.block_on(async {
        tokio::select! {
            r = fut => r,
            _ = tokio::signal::ctrl_c() => {
                // A password prompt may still have echo off: put the terminal back first.
                crate::prompt::restore_terminal();
                Err(Error::new(Exit::Interrupted, "interrupted"))
            }
            signal = stop_signal() => {
                crate::prompt::restore_terminal();
                ended_by = signal;
                Err(Error::new(Exit::Interrupted, "terminated"))
            }
        }
    });
    // Tunnels and the relay may still be running: don't wait for them.
    rt.shutdown_background();
    if let Some(signal) = ended_by {
        end_by_signal(signal);
    }
    result
}

/// The signal that interrupted a wait outside the runtime's watch (a FIFO's reader), for the
/// exit: the process ends by it.
static SIGNAL_SEEN: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

pub fn note_signal(signal: i32) {
    SIGNAL_SEEN.store(signal, std::sync::atomic::Ordering::SeqCst);
}

/// The signal noted by [`note_signal`], if any.
pub fn signal_seen() -> Option<i32> {
    Some(SIGNAL_SEEN.load(std::sync::atomic::Ordering::SeqCst)).filter(|s| *s != 0)
}

/// Ends the process by `signal` at its default action, without a core file: a shell then sees
/// the death a signal caused (a script's loop stops on Ctrl-C, as for curl, where an exit 130
/// would tell bash the program handled it and let the loop go on). Unblocked first; never
/// returns for a signal that kills.
pub fn end_by_signal(signal: i32) -> ! {
    #[cfg(unix)]
    // SAFETY: plain system calls on this process; the signal's default action ends it.
    unsafe {
        let no_core = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        libc::setrlimit(libc::RLIMIT_CORE, &no_core);
        libc::signal(signal, libc::SIG_DFL);
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, signal);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        libc::raise(signal);
    }
    // A signal whose default action does not end a process.
    std::process::exit(128 + signal)
}

/// Raises the soft limit on open files towards the hard one (at most `to`) when it is below
/// `below` (0: always): allowed without privileges, and a run needs a few descriptors before it
/// can say anything (the runtime's signal pipe panics without them: `ulimit -n 6`). Returns the
/// soft limit then in force, where there is one.
pub fn raise_descriptor_limit(below: u64, to: u64) -> Option<u64> {
    #[cfg(unix)]
    // SAFETY: getrlimit/setrlimit on this process with a valid struct.
    unsafe {
        let mut limit: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return None;
        }
        let want = limit.rlim_max.min(to as libc::rlim_t);
        if limit.rlim_cur < want && (below == 0 || (limit.rlim_cur as u64) < below) {
            let old = limit.rlim_cur;
            limit.rlim_cur = want;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                limit.rlim_cur = old;
            }
        }
        Some(limit.rlim_cur as u64)
    }
    #[cfg(not(unix))]
    None
}

/// The first SIGTERM or SIGHUP (never, where they cannot be watched).
async fn stop_signal() -> Option<i32> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let (Ok(mut term), Ok(mut hup)) = (signal(SignalKind::terminate()), signal(SignalKind::hangup())) {
            return tokio::select! {
                _ = term.recv() => Some(libc::SIGTERM),
                _ = hup.recv() => Some(libc::SIGHUP),
            };
        }
    }
    std::future::pending().await
}

/// The verbose trace on stderr, curl-style (`*` info, `>` sent, `<` received), sanitised.
pub(crate) struct Stderr {
    pub(crate) verbose: bool,
}

impl Reporter for Stderr {
    fn verbose(&self) -> bool {
        self.verbose
    }

    fn line(&self, direction: Direction, text: &str) {
        let mark = match direction {
            Direction::Info => '*',
            Direction::Sent => '>',
            Direction::Received => '<',
        };
        eprintln!("{mark} {}", sanitize(text));
    }
}

/// Remembered proxy authentication (`crate::remembered`), unless `TOLL_REMEMBER=0`.
pub(crate) fn remembered() -> Option<Arc<dyn crate::relay::AuthMemory>> {
    if env("TOLL_REMEMBER").is_some_and(|v| v == "0") {
        return None;
    }
    let path = Remembered::default_path(&env)?;
    Some(Arc::new(Remembered::new(path)))
}

/// Proxies are remembered by `scheme://host:port`: never by credentials.
impl crate::relay::AuthMemory for Remembered {
    fn recall(&self, proxy: &ProxySpec) -> Option<Entry> {
        self.take(&proxy.display_url())
    }

    fn reserve_nc(&self, proxy: &ProxySpec, memory: &crate::auth::Memory) -> Option<u32> {
        Remembered::reserve_nc(self, &proxy.display_url(), memory)
    }

    fn remember(&self, proxy: &ProxySpec, entry: Entry) {
        self.save(&proxy.display_url(), entry);
    }

    fn forget(&self, proxy: &ProxySpec) {
        Remembered::forget(self, &proxy.display_url());
    }
}
