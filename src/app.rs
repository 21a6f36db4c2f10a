//! The application layer: the only code (besides `main`) that sees clap, the environment and the
//! terminal. It resolves the command line into `config` once, decides which credential sources
//! exist, owns stderr (verbose trace, warnings), and runs the engine on a tokio runtime.

use crate::cli::{Cli, Invocation, Transfer};
use crate::client::{self, Context, SourceFactory};
use crate::config::{ProxyConfig, ProxySpec};
use crate::creds::{CredentialSource, FixedSource};
use crate::error::{Error, Exit, Result};
use crate::proxy_env::ProxySettings;
use crate::report::{Direction, Reporter};
use crate::secret::Secret;
use crate::term::{sanitize, Terminal};
use std::future::Future;
use std::sync::Arc;

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Runs what the command line asks for.
pub fn run(cli: Cli) -> Result<()> {
    let invocation = cli
        .into_config(&env)
        .map_err(|e| Error::new(Exit::Usage, e.to_string()).hint("see 'toll --help'"))?;
    match invocation {
        Invocation::Transfer(t) => transfer(*t),
        Invocation::Demo(args) => {
            let term = Terminal::detect(env("TOLL_TERMINAL").as_deref(), false);
            block_on(crate::demo::run(args.scheme.scheme(), term))
        }
    }
}

fn transfer(t: Transfer) -> Result<()> {
    let term = Terminal::detect(env("TOLL_TERMINAL").as_deref(), t.no_prompt);
    let reporter: Arc<dyn Reporter> = Arc::new(Stderr { verbose: t.style.verbose });
    let settings = ProxySettings::from_config(&t.proxy, &env);
    let ctx = Context { reporter, term, sources: credential_sources(&t.proxy), memory: remembered() };
    block_on(client::run(&t.request, &t.proxy, settings, t.style, ctx))
}

/// The credential sources for a proxy, in priority order: `-U`, the proxy URL's userinfo, then
/// `TOLL_PROXY_USER` + `TOLL_PROXY_PASSWORD`. `-U` and the environment apply to the proxies the
/// user configured; a proxy URL's userinfo only to that proxy.
fn credential_sources(cfg: &ProxyConfig) -> SourceFactory {
    let flag = cfg.user.clone().map(|u| (u, cfg.password.clone()));
    let from_env = env("TOLL_PROXY_USER")
        .filter(|u| !u.is_empty())
        .map(|u| (u, env("TOLL_PROXY_PASSWORD").map(Secret::from)));
    Arc::new(move |spec: &ProxySpec| {
        let mut v: Vec<Box<dyn CredentialSource>> = Vec::new();
        if let Some((user, password)) = &flag {
            v.push(Box::new(FixedSource::new("-U/--proxy-user", user.clone(), password.clone())));
        }
        if let Some(user) = &spec.user {
            let label = format!("the proxy URL ({})", spec.origin);
            v.push(Box::new(FixedSource::new(label, user.clone(), spec.password.clone())));
        }
        if let Some((user, password)) = &from_env {
            v.push(Box::new(FixedSource::new(
                "TOLL_PROXY_USER/TOLL_PROXY_PASSWORD",
                user.clone(),
                password.clone(),
            )));
        }
        v
    })
}

/// Runs `fut` on a runtime with two workers (the relay and the transfer each get one), ending
/// with exit 130 on Ctrl-C after dropping everything — so a partial `-o` file is removed.
pub fn block_on(fut: impl Future<Output = Result<()>>) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::new(Exit::Internal, format!("cannot start the runtime: {e}")))?;
    let result = rt.block_on(async {
        tokio::select! {
            r = fut => r,
            _ = tokio::signal::ctrl_c() => Err(Error::new(Exit::Interrupted, "interrupted")),
        }
    });
    // Tunnels and the relay may still be running: don't wait for them.
    rt.shutdown_background();
    result
}

/// The verbose trace on stderr, curl-style (`*` info, `>` sent, `<` received), sanitised.
struct Stderr {
    verbose: bool,
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

/// Whether errors are printed (`-s` hides them unless `-S`): read before the CLI is consumed.
pub fn errors_shown(cli: &Cli) -> bool {
    !cli.output.silent || cli.output.show_error
}

/// Remembered proxy authentication (`crate::remembered`), unless `TOLL_REMEMBER=0`.
fn remembered() -> Option<Arc<dyn crate::relay::AuthMemory>> {
    if env("TOLL_REMEMBER").is_some_and(|v| v == "0") {
        return None;
    }
    let path = crate::remembered::Remembered::default_path(&env)?;
    Some(Arc::new(crate::remembered::Remembered::new(path)))
}
