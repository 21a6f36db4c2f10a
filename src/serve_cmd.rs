//! `toll serve` and `toll run` at the application level: the credential sources (never a
//! prompt while serving), the key, the listener, signals, and for `toll run` the child process
//! with its proxy environment. The server itself is `crate::serve`, the upstream side the relay.

mod check;
mod clients;
mod routing;

use crate::cli::{Listen, ServeConfig};
use crate::client::{self, Context};
use crate::error::{Error, Exit, Result};
use crate::keyring::session::Session;
use crate::relay::Relay;
use crate::report::Reporter;
use crate::secret::Secret;
use crate::serve::admission::Policy;
use crate::serve::log::AccessLog;
use crate::serve::{key, Limits, Routes, Server};
use crate::setup::routing::Unreachable;
use crate::setup::{credential_sources, remembered, CredentialSetup, Stderr};
use crate::term::Terminal;
use check::{check_first, check_through, gated};
use clients::{proxy_env_for_clients, proxy_url, run_child, shell_export, Ended};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Runs `toll serve` (no command) or `toll run CMD…`.
pub fn run(
    cfg: ServeConfig,
    setup: CredentialSetup,
    terminal: Terminal,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<()> {
    let is_run = !cfg.command.is_empty();
    // Before anything here handles a signal: which ones the command must get ignored.
    #[cfg(unix)]
    if is_run {
        clients::ignored_at_start();
    } else {
        // The soft limit on open files up to the hard one (at most 65,536), as nginx and Go's
        // runtime do: a tunnel holds two descriptors, and systemd's default soft limit of 1,024
        // would stop a server at about 500 tunnels, far below its `--max-connections`.
        crate::setup::raise_descriptor_limit(0, 65_536);
    }
    let key = if is_run {
        random_key()?
    } else {
        match kept_key(env) {
            Ok(key) => key,
            // Where the server tells its user's clients by their uid (loopback on Linux, no
            // --allow) and nobody is told the key (--print-env), a key for this run does: a
            // system unit without HOME, ProtectHome=read-only, a read-only root still serve.
            Err(e)
                if e.exit == Exit::Write
                    && !cfg.print_env
                    && cfg.allow.is_empty()
                    && cfg.listen.primary().ip().is_loopback()
                    && cfg!(target_os = "linux") =>
            {
                eprintln!(
                    "toll: warning: {}; the key is for this run only (this user's clients on this machine are told by their uid, without it)",
                    crate::term::sanitize(&e.message)
                );
                random_key()?
            }
            Err(e) => return Err(e),
        }
    };
    if cfg.print_env && cfg.listen.primary().port() == 0 {
        return Err(Error::new(Exit::Usage, "--print-env needs the port clients will use, not 0")
            .hint("name it: toll serve --print-env --listen 127.0.0.1:3128"));
    }
    if cfg.print_env {
        let url = proxy_url(&key, cfg.listen.primary());
        for (k, v) in proxy_env_for_clients(&url, env) {
            crate::output::say(format_args!("{}", shell_export(&k, &v)))?;
        }
        return Ok(());
    }
    // Serving never prompts: nobody is there to answer, and the prompt would fight the
    // clients' own output for the terminal. The one exception: on a terminal, in the foreground,
    // one request goes through the proxy before `toll run`'s command starts or before `toll
    // serve` accepts anyone (`ask_first`), so a password the proxy wants can be asked then,
    // behind a gate that closes for good once it has.
    // `toll serve` asks only when a person started it: a script's `toll serve &` stays in the
    // terminal's foreground process group, but has /dev/null on stdin.
    let by_hand = is_run || std::io::IsTerminal::is_terminal(&std::io::stdin());
    let ask_first = terminal.can_prompt && by_hand && crate::term::in_foreground();
    let term = Terminal { stderr: false, stdout: false, can_prompt: ask_first };
    let gate = Arc::new(AtomicBool::new(ask_first));
    let reporter: Arc<dyn Reporter> = Arc::new(Stderr { verbose: cfg.verbose });
    let settings = crate::setup::load_settings()?;
    let session = Arc::new(Session::new(setup.keyring, setup.choice, setup.index, setup.save, term, true));
    let mut sources = credential_sources(&cfg.proxy, term, session.clone());
    if ask_first {
        sources = gated(sources, gate.clone());
    }
    // SOCKS proxies' credentials come from the same sources as HTTP proxies' (`crate::socks`).
    let socks_sources = sources.clone();
    // The server's rejections, for every broker it makes (SIGHUP makes new ones).
    let rejections = Arc::new(crate::creds::Rejections::default());
    let ctx = Arc::new(Context {
        reporter: reporter.clone(),
        term,
        sources,
        memory: remembered(),
        doh: None,
        rejections: rejections.clone(),
    });
    let factory = client::upstream_factory(&cfg.proxy, ctx)?;
    client::install_crypto();
    // One worker by default (`--threads`): measured on two cores in front of Squid, 10–20 %
    // less CPU per tunnel or request than two, whose hand-offs between threads cost more than
    // the second core gives (bench/SERVE.md, run 15). Blocking work still leaves the worker:
    // keyring lookups on blocking threads, GSSAPI and PAC evaluation in `block_in_place`, the
    // access log on its own thread (`serve::log`).
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cfg.threads)
        .enable_all()
        .build()
        .map_err(|e| Error::new(Exit::Internal, format!("cannot start the runtime: {e}")))?;
    let uid = current_uid();
    let result = rt.block_on(async move {
        let inherited = if is_run { None } else { socket_activation(env)? };
        let listeners = match inherited {
            Some(l) => l,
            None => listen_all(cfg.listen).map_err(|(addr, e)| {
                Error::new(Exit::Listen, format!("cannot listen on {addr}: {e}")).hint(listen_hint(&e))
            })?,
        };
        let addrs: Vec<SocketAddr> = listeners.iter().filter_map(|l| l.local_addr().ok()).collect();
        let listen = addrs.first().copied().unwrap_or(cfg.listen.primary());
        let listening = addrs.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(" and ");
        // The routing never sees a `*_proxy` variable that names this server (see `not_self`).
        let (routing_env, ignored) = not_self(env, addrs.clone());
        let env = &routing_env;
        let decided = crate::setup::routing::decide(
            &cfg.proxy,
            &settings,
            env,
            reporter.as_ref(),
            None,
            crate::route::pac_fetch::Revalidate::WhenStale,
            // A server started before the network is up (at login, before the VPN) goes DIRECT
            // until its PAC can be had, as browsers do; `toll run`'s command fails instead.
            if is_run { Unreachable::Fail } else { Unreachable::GoDirect },
        )
        .await?;
        if let Some(w) = decided.pac.as_ref().and_then(|p| p.warning.as_ref()) {
            eprintln!("toll: warning: {}", crate::term::sanitize(w));
        }
        let routes = Arc::new(Routes::new(crate::setup::routing::build(
            &decided,
            cfg.connect_timeout,
            env,
            reporter.as_ref(),
            crate::setup::routing::PacLife::Chooser,
            None,
        )?));
        // The connection to an upstream proxy (TCP, and TLS for an https:// one) is bounded as a
        // direct origin's is: a proxy that takes the TCP connection and never answers the
        // ClientHello fails that client with 502 now, not after --answer-timeout with 504.
        let proxy_connect_timeout = cfg.connect_timeout.unwrap_or(Limits::default().connect_timeout);
        let relay = Arc::new(
            Relay::detached(factory, reporter.clone(), Some(proxy_connect_timeout))
                .map_err(|e| Error::new(Exit::Internal, format!("cannot start the relay: {e}")))?,
        );
        relay.set_spare_tunnels(cfg.spare_tunnels);
        let log = Arc::new(match &cfg.log {
            Some(p) => AccessLog::file(p)
                .map_err(|e| Error::new(Exit::Write, format!("cannot open the log {}: {e}", p.display())))?,
            None if is_run && !cfg.verbose => AccessLog::discard(),
            None => AccessLog::stderr()
                .map_err(|e| Error::new(Exit::Internal, format!("cannot start the log's thread: {e}")))?,
        });
        // Whichever way this ends (served, refused at start, a panic), the lines queued for the
        // log's thread are written before the process exits.
        let _flush = FlushAtExit(log.clone());
        let mut limits = Limits { tunnel_idle: cfg.idle_timeout, ..Limits::default() };
        if let Some(t) = cfg.connect_timeout {
            limits.connect_timeout = t;
        }
        // While toll run asks for a password before the command, the answer to its check waits
        // for a person typing (the prompt has its own limits).
        limits.set_answer_timeout(if ask_first { None } else { cfg.answer_timeout });
        let answer_limit = limits.clone();
        let server = Server {
            relay,
            routes: routes.clone(),
            policy: Policy { uid, key: key.clone(), allow: cfg.allow.clone() },
            socks: {
                let log = log.clone();
                Arc::new(crate::socks::Ways::new(socks_sources, rejections, Box::new(move |t| log.note(t))))
            },
            log,
            limits,
        };
        // Where --verify-url goes direct there is no proxy to ask a password for: no check.
        let proxied = ask_first
            && routes
                .current()
                .router()
                .route(&cfg.verify_url)
                .is_ok_and(|r| r.entries.iter().any(|e| matches!(e, crate::route::RouteEntry::Proxy(_))));
        if ask_first && !is_run {
            // Through a private listener, so that nobody else is served (and logged over the
            // prompt) while a person types; clients of the real one wait in its backlog.
            if proxied {
                check_first(&server, &key, &cfg.verify_url, &session).await?;
            }
            gate.store(false, Ordering::Release);
            answer_limit.set_answer_timeout(cfg.answer_timeout);
        }
        if let Some(why) = &decided.unreachable {
            server.log.note(&format!("{why}: URLs go DIRECT until it can be had ({})", routing::retried()));
        }
        for (name, value) in &ignored {
            server.log.note(&format!(
                "{name} ({}) is this server itself: not used to find the upstream proxy",
                crate::proxy_env::redact_userinfo(value)
            ));
        }
        let log = server.log.clone();
        // For `toll doctor` (`toll serve` only): where this server listens and what it uses.
        let state_dir = if is_run { None } else { crate::store::toll_state_dir(env) };
        let record = |decided: &crate::setup::routing::Decided| {
            let dir = state_dir.as_ref()?;
            let mut using = decided.plan.source.to_string();
            if decided.unreachable.is_some() {
                using.push_str(", DIRECT until its PAC can be had");
            }
            match crate::serve::state::write(dir, listen, &using) {
                Ok(p) => Some(p),
                Err(e) => {
                    log.note(&format!("cannot record this server for toll doctor in {}: {e}", dir.display()));
                    None
                }
            }
        };
        let rerecord = |d: &crate::setup::routing::Decided| {
            record(d);
        };
        // One task keeps the routing current, for `toll serve` as long as it serves, for `toll
        // run` while its command runs (`toll run bash` can run for hours). SIGHUP is `toll
        // serve`'s; `toll run` passes it on to its command.
        let keeper = routing::Keeper {
            cfg: &cfg,
            routes: &routes,
            session: &session,
            log: &log,
            env,
            reporter: reporter.as_ref(),
            on_replace: &rerecord,
            hangup: !is_run,
        };
        if !is_run {
            log.note(&format!("listening on {listening}; only this user (or the key) may use it"));
            if let Some(note) = reach_note(listen, &cfg.allow) {
                log.note(note);
            }
            let recorded = record(&decided);
            let reload = routing::keep_current(keeper, settings, decided);
            // Spawned, not run here in `block_on`: the accept loop then runs on a worker, and the
            // connection tasks it spawns start on that worker instead of waking another thread
            // each time (measured: 5–10 % less CPU per tunnel). SIGHUP's work and the routing's
            // rechecks (`routing::keep_current`) stay here.
            let serving = tokio::spawn(crate::serve::serve(server, listeners, shutdown_signal()));
            let abort = serving.abort_handle();
            tokio::select! {
                done = serving => {
                    if let Err(e) = done {
                        if e.is_panic() {
                            std::panic::resume_unwind(e.into_panic());
                        }
                    }
                }
                _ = reload => abort.abort(),
            }
            if let Some(p) = recorded {
                crate::serve::state::remove(&p);
            }
            return Ok(None);
        }
        let url = proxy_url(&key, listen);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = tokio::spawn(crate::serve::serve(server, listeners, async {
            let _ = stopped.await;
        }));
        if ask_first && proxied {
            let when = ("toll run", "before starting the command");
            check_through(listen, &key, &cfg.verify_url, &session, when).await?;
        }
        gate.store(false, Ordering::Release);
        answer_limit.set_answer_timeout(cfg.answer_timeout);
        let status = tokio::select! {
            status = run_child(&cfg.command, &url, env) => status,
            _ = routing::keep_current(keeper, settings, decided) => unreachable!("keep_current never ends"),
        };
        // What the command left running (a background job, a daemon it started) keeps its
        // requests in flight for the same drain as a stopped toll serve's, with their log lines.
        let _ = stop.send(());
        let _ = tokio::time::timeout(answer_limit.drain + Duration::from_secs(1), serving).await;
        status.map(Some)
    });
    rt.shutdown_background();
    match result? {
        // `toll run` ends as its command did: its exit status, or killed by the same signal.
        Some(Ended::Exited(code)) if code != 0 => std::process::exit(code),
        Some(Ended::Killed(signal)) => clients::die_by(signal),
        _ => Ok(()),
    }
}

/// Flushes the access log when dropped; a log stuck on a full disk or a pipe nobody reads gets
/// two seconds, then the exit goes on without its last lines.
struct FlushAtExit(Arc<AccessLog>);

impl Drop for FlushAtExit {
    fn drop(&mut self) {
        self.0.flush(Duration::from_secs(2));
    }
}

/// The environment as the routing sees it, without the `*_proxy` variables that name this
/// server itself (and those left out, to be said in the log). A shell that ran
/// `eval "$(toll serve --print-env)"` and starts toll serve again would otherwise make it its
/// own upstream, each request coming back to it until 4,096 connections are open. The
/// routing then goes on to the next source (the settings file, a PAC, the desktop's settings).
fn not_self(
    env: &dyn Fn(&str) -> Option<String>,
    listen: Vec<SocketAddr>,
) -> (impl Fn(&str) -> Option<String> + '_, Vec<(String, String)>) {
    let names = ["http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"];
    let is_self = move |value: &str| {
        crate::proxy_env::parse_proxy_url(value, "")
            .is_ok_and(|p| crate::serve::is_self(&p.host, p.port, &listen))
    };
    let ignored =
        names.iter().filter_map(|n| env(n).filter(|v| is_self(v)).map(|v| (n.to_string(), v))).collect();
    let filtered = move |name: &str| {
        let value = env(name)?;
        let proxy_var =
            name.to_ascii_lowercase().ends_with("_proxy") && !name.eq_ignore_ascii_case("no_proxy");
        if proxy_var && is_self(&value) {
            None
        } else {
            Some(value)
        }
    };
    (filtered, ignored)
}

/// systemd socket activation (`sd_listen_fds(3)`): when `LISTEN_PID` is this process and
/// `LISTEN_FDS` is N ≥ 1, descriptors 3 to 3+N-1 are the listening sockets to serve (a unit with
/// `ListenStream=127.0.0.1:3128` and `ListenStream=[::1]:3128` passes two; `--listen` is then
/// not used). Anything but a listening TCP socket there is an error, not a silent fallback.
#[cfg(unix)]
fn socket_activation(env: &dyn Fn(&str) -> Option<String>) -> Result<Option<Vec<tokio::net::TcpListener>>> {
    let ours = env("LISTEN_PID").and_then(|p| p.trim().parse::<u32>().ok()) == Some(std::process::id());
    let count = env("LISTEN_FDS").and_then(|n| n.trim().parse::<i32>().ok()).unwrap_or(0);
    if !ours || count <= 0 {
        return Ok(None);
    }
    const SD_LISTEN_FDS_START: i32 = 3;
    // Far more than any unit declares; a garbled count does not walk the descriptor table.
    const MOST: i32 = 64;
    if count > MOST {
        return Err(Error::new(
            Exit::Listen,
            format!("systemd passed {count} sockets; toll serves at most {MOST}"),
        ));
    }
    (SD_LISTEN_FDS_START..SD_LISTEN_FDS_START + count).map(inherited).collect::<Result<Vec<_>>>().map(Some)
}

/// The listening socket systemd passed as descriptor `fd`.
#[cfg(unix)]
fn inherited(fd: i32) -> Result<tokio::net::TcpListener> {
    use std::os::fd::FromRawFd;
    let refuse = |why: String| {
        Error::new(Exit::Listen, format!("the socket systemd passed (descriptor {fd}) {why}"))
            .hint("the .socket unit needs ListenStream=ADDR:PORT")
    };
    // SAFETY: fstat on a descriptor number; a closed one just fails.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(fd, &mut st) } != 0 || st.st_mode & libc::S_IFMT != libc::S_IFSOCK {
        return Err(refuse("is not a socket".into()));
    }
    let mut listening: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: getsockopt with a correctly sized int.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ACCEPTCONN,
            (&mut listening as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if rc != 0 || listening == 0 {
        return Err(refuse("is not a listening stream socket".into()));
    }
    // SAFETY: systemd hands the descriptor to this process to own; it is a socket (checked).
    let std_listener = unsafe { std::net::TcpListener::from_raw_fd(fd) };
    // SAFETY: fcntl on the descriptor we now own: not inherited by anything toll starts.
    unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    std_listener.local_addr().map_err(|e| refuse(format!("is not a TCP socket: {e}")))?;
    std_listener.set_nonblocking(true).map_err(|e| refuse(e.to_string()))?;
    tokio::net::TcpListener::from_std(std_listener).map_err(|e| refuse(e.to_string()))
}

#[cfg(not(unix))]
fn socket_activation(_: &dyn Fn(&str) -> Option<String>) -> Result<Option<Vec<tokio::net::TcpListener>>> {
    Ok(None)
}

fn random_key() -> Result<Secret> {
    Secret::random_hex(32).map_err(|e| Error::new(Exit::Internal, format!("no randomness: {e}")))
}

fn current_uid() -> u32 {
    #[cfg(unix)]
    {
        // SAFETY: geteuid cannot fail.
        unsafe { libc::geteuid() }
    }
    #[cfg(not(unix))]
    {
        u32::MAX
    }
}

#[cfg(unix)]
async fn recv(s: &mut Option<tokio::signal::unix::Signal>) {
    match s {
        Some(s) => {
            s.recv().await;
        }
        None => std::future::pending().await,
    }
}

/// SIGTERM or SIGINT: stop accepting and drain.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).ok();
        tokio::select! {
            _ = recv(&mut term) => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// How many connections the kernel queues for `accept` (capped by `net.core.somaxconn`).
/// tokio's `bind` asks for 1,024; 1,000 clients that reconnect at once overflowed it (about
/// 1,500 `ListenOverflows` in a 4-s benchmark cell), and each dropped SYN costs its client a
/// 1-s retransmission.
const BACKLOG: u32 = 4096;

/// The serve key kept in the state dir (`serve::key`), made on first use. A key file that is
/// there but wrong is a usage error (remove it); one that cannot be written, a write error.
fn kept_key(env: &dyn Fn(&str) -> Option<String>) -> Result<crate::secret::Secret> {
    let dir = crate::store::toll_state_dir(env).ok_or_else(|| {
        Error::new(Exit::Usage, "no state directory for the serve key (set XDG_STATE_HOME or HOME)")
    })?;
    let path = key::path(&dir);
    key::load_or_create(&path).map_err(|e| {
        let message = format!("cannot use the serve key {}: {e}", path.display());
        match std::fs::symlink_metadata(&path) {
            Ok(_) => Error::new(Exit::Usage, message).hint("remove the file: toll serve makes a new one"),
            Err(_) => Error::new(Exit::Write, message)
                .hint("the state directory must be one toll can write (XDG_STATE_HOME, or HOME)"),
        }
    })
}

/// Where `--listen` and `--allow` disagree about who can connect: said once at start-up.
fn reach_note(listen: std::net::SocketAddr, allow: &[ipnet::IpNet]) -> Option<&'static str> {
    let loopback = listen.ip().is_loopback();
    if loopback && allow.iter().any(|net| !net.addr().is_loopback()) {
        Some("--allow admits nobody here: no other host reaches a loopback address (listen on one they can reach, e.g. --listen 0.0.0.0:3128)")
    } else if listen.is_ipv4()
        && !allow.is_empty()
        && allow.iter().all(|net| matches!(net, ipnet::IpNet::V6(_)))
    {
        Some("--allow's IPv6 ranges admit nobody on an IPv4 address (listen on [::]:PORT for IPv6 clients)")
    } else if !loopback && allow.is_empty() {
        Some("other hosts that connect are refused: --allow CIDR admits them (with the key)")
    } else {
        None
    }
}

/// What to do about a listener that could not be opened, by what went wrong.
fn listen_hint(e: &std::io::Error) -> &'static str {
    match e.kind() {
        std::io::ErrorKind::AddrInUse => "another proxy may be running there: pick another with --listen ADDR:PORT",
        std::io::ErrorKind::AddrNotAvailable => {
            "that address is not one of this machine's: use 127.0.0.1 or ::1 (or an address of this machine with --allow)"
        }
        std::io::ErrorKind::PermissionDenied => "ports below 1024 need privileges: pick a port above 1023",
        _ => "pick another address with --listen ADDR:PORT",
    }
}

/// The listeners `--listen` asks for; on failure, the address that could not be had.
fn listen_all(
    listen: Listen,
) -> std::result::Result<Vec<tokio::net::TcpListener>, (std::net::SocketAddr, std::io::Error)> {
    let first = listen.primary();
    let mut tries = 0;
    loop {
        let v4 = listen_on(first).map_err(|e| (first, e))?;
        let Listen::Localhost(asked) = listen else { return Ok(vec![v4]) };
        // The same port on ::1 (the one the kernel picked, for port 0).
        let port = v4.local_addr().map_err(|e| (first, e))?.port();
        let v6 = std::net::SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, port));
        match listen_on(v6) {
            Ok(l) => return Ok(vec![v4, l]),
            // No IPv6 here: 127.0.0.1 alone is what localhost means then.
            Err(e) if no_ipv6(&e) => return Ok(vec![v4]),
            // A port the kernel picked that is taken on ::1: another pick.
            Err(e) if asked == 0 && e.kind() == std::io::ErrorKind::AddrInUse && tries < 8 => tries += 1,
            // Another program on [::1]:PORT would get the clients that try ::1 first.
            Err(e) => return Err((v6, e)),
        }
    }
}

/// The error of a machine (or a container) without IPv6 on loopback.
fn no_ipv6(e: &std::io::Error) -> bool {
    #[cfg(unix)]
    if e.raw_os_error() == Some(libc::EAFNOSUPPORT) {
        return true;
    }
    e.kind() == std::io::ErrorKind::AddrNotAvailable
}

fn listen_on(addr: std::net::SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = match addr {
        std::net::SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        std::net::SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    // As std and tokio do on Unix: a restarted server need not wait for TIME_WAIT.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_and_allow_that_cannot_work_together_are_pointed_out() {
        let nets = |n: &[&str]| n.iter().map(|c| c.parse().unwrap()).collect::<Vec<ipnet::IpNet>>();
        let lo = "127.0.0.1:3128".parse().unwrap();
        let any = "0.0.0.0:3128".parse().unwrap();
        assert!(reach_note(lo, &nets(&["172.17.0.0/16"])).unwrap().starts_with("--allow admits nobody"));
        assert!(reach_note(any, &nets(&["fd00::/8"]))
            .unwrap()
            .starts_with("--allow's IPv6 ranges admit nobody"));
        assert_eq!(reach_note(any, &nets(&["fd00::/8", "10.0.0.0/8"])), None);
        assert!(reach_note(any, &[]).unwrap().starts_with("other hosts that connect are refused"));
        assert_eq!(reach_note(lo, &[]), None);
        assert_eq!(reach_note(any, &nets(&["172.17.0.0/16"])), None);
        assert_eq!(reach_note("[::1]:3128".parse().unwrap(), &nets(&["::1/128"])), None);
    }

    #[tokio::test]
    async fn a_listener_that_cannot_open_says_why_in_its_hint() {
        let taken = listen_on("127.0.0.1:0".parse().unwrap()).unwrap();
        let e = listen_on(taken.local_addr().unwrap()).unwrap_err();
        assert!(listen_hint(&e).starts_with("another proxy may be running there"), "{e}");
        // 192.0.2.1 (TEST-NET-1) is nobody's address: not this machine's either.
        let e = listen_on("192.0.2.1:0".parse().unwrap()).unwrap_err();
        assert!(listen_hint(&e).starts_with("that address is not one of this machine's"), "{e}");
    }

    #[tokio::test]
    async fn localhost_is_both_loopbacks_on_one_port() {
        let Ok(probe) = std::net::TcpListener::bind("[::1]:0") else { return }; // no IPv6 here
        drop(probe);
        let both = listen_all(Listen::Localhost(0)).unwrap();
        let addrs: Vec<_> = both.iter().map(|l| l.local_addr().unwrap()).collect();
        assert_eq!(addrs.len(), 2, "{addrs:?}");
        assert!(addrs[0].ip().is_loopback() && addrs[0].is_ipv4() && addrs[1].is_ipv6(), "{addrs:?}");
        assert_eq!(addrs[0].port(), addrs[1].port());
        // A port asked for that another program has on ::1: refused, naming ::1.
        let taken = std::net::TcpListener::bind("[::1]:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let Err((addr, e)) = listen_all(Listen::Localhost(port)) else { panic!("[::1]:{port} is taken") };
        assert_eq!((addr, e.kind()), (taken.local_addr().unwrap(), std::io::ErrorKind::AddrInUse));
    }

    #[test]
    fn proxy_variables_that_name_this_server_are_left_out_of_the_routing() {
        let vars = [
            ("http_proxy", "http://toll:k@127.0.0.1:3128"),
            ("HTTPS_PROXY", "localhost:3128"),
            ("ALL_PROXY", "http://proxy.corp:3128"),
            ("no_proxy", "127.0.0.1:3128"),
            ("HOME", "/home/me"),
        ];
        let env = |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string());
        let (routing, ignored) = not_self(&env, vec!["127.0.0.1:3128".parse().unwrap()]);
        assert_eq!(routing("http_proxy"), None);
        assert_eq!(routing("HTTPS_PROXY"), None);
        assert_eq!(routing("ALL_PROXY").as_deref(), Some("http://proxy.corp:3128"), "another host");
        assert_eq!(routing("no_proxy").as_deref(), Some("127.0.0.1:3128"));
        assert_eq!(routing("HOME").as_deref(), Some("/home/me"));
        let names: Vec<&str> = ignored.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["http_proxy", "HTTPS_PROXY"]);
        // Another port of this machine is another program.
        let (routing, ignored) = not_self(&env, vec!["127.0.0.1:8080".parse().unwrap()]);
        assert!(routing("http_proxy").is_some() && ignored.is_empty());
    }
}
