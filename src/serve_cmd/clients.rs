//! What the server's clients get: the proxy URL with the key and the environment that points
//! programs at it (`toll serve --print-env`, `toll run`), and for `toll run` the command itself,
//! with the signals sent to toll passed on and its exit status returned as toll's.

use crate::error::{Error, Exit, Result};
use crate::secret::Secret;
use crate::serve::admission::KEY_USER;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// `http://toll:KEY@ADDR`: what clients put in their proxy settings.
pub(super) fn proxy_url(key: &Secret, listen: SocketAddr) -> Secret {
    let host = match listen.ip() {
        ip if ip.is_unspecified() => "127.0.0.1".to_string(),
        std::net::IpAddr::V6(v6) => format!("[{v6}]"),
        ip => ip.to_string(),
    };
    Secret::new(format!("http://{KEY_USER}:{}@{host}:{}", key.expose(), listen.port()))
}

/// The variables that point programs at the server: both cases of http/https (and ALL_PROXY
/// when the user had one), and NO_PROXY kept with loopback added so the server is never asked
/// for itself. The list kept is the one toll's own routing reads (`no_proxy`, then `NO_PROXY`;
/// empty counts as unset, as in curl), so the command bypasses the proxy for the hosts toll
/// would, whichever of the two it reads.
pub(super) fn proxy_env_for_clients(
    url: &Secret,
    env: &dyn Fn(&str) -> Option<String>,
) -> Vec<(String, String)> {
    let u = url.expose().to_string();
    let mut vars: Vec<(String, String)> = ["http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"]
        .iter()
        .map(|k| (k.to_string(), u.clone()))
        .collect();
    for k in ["ALL_PROXY", "all_proxy"] {
        if env(k).is_some_and(|v| !v.trim().is_empty()) {
            vars.push((k.to_string(), u.clone()));
        }
    }
    let set = |k: &str| env(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let mut no = set("no_proxy").or_else(|| set("NO_PROXY")).unwrap_or_default();
    for h in ["localhost", "127.0.0.1", "::1"] {
        if !no.split(',').any(|e| e.trim() == h) {
            if !no.is_empty() {
                no.push(',');
            }
            no.push_str(h);
        }
    }
    vars.push(("NO_PROXY".into(), no.clone()));
    vars.push(("no_proxy".into(), no));
    vars
}

/// `export NAME='VALUE'` for a POSIX shell's `eval`: the value single-quoted, so that nothing
/// in it (a `'`, `$`, a backquote, a newline in a `NO_PROXY` the user had) is run or breaks the
/// line.
pub(super) fn shell_export(name: &str, value: &str) -> String {
    format!("export {name}='{}'", value.replace('\'', r"'\''"))
}

/// How `toll run`'s command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ended {
    Exited(i32),
    /// Killed by this signal: toll then ends by it too ([`die_by`]).
    Killed(i32),
}

/// The variables toll took its proxy credential from: the command's programs have no use for
/// them (its proxy is toll, with the key), and `npm ci`'s install scripts would read the password.
const CONSUMED: [&str; 2] = ["TOLL_PROXY_USER", "TOLL_PROXY_PASSWORD"];

/// Runs the command with stdin, stdout, stderr and the terminal passed through, passing on the
/// signals sent to toll ([`Forwarding`]). Returns how it ended.
pub(super) async fn run_child(
    command: &[std::ffi::OsString],
    url: &Secret,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Ended> {
    let (program, args) = command.split_first().expect("clap requires a command");
    let name = crate::term::sanitize(&program.to_string_lossy());
    if program.is_empty() {
        return Err(Error::new(Exit::CommandNotFound, "the command's name is empty"));
    }
    let command_for = |program: &std::ffi::OsStr, args: &[std::ffi::OsString]| {
        let mut cmd = std::process::Command::new(program);
        cmd.args(args);
        for (k, v) in proxy_env_for_clients(url, env) {
            cmd.env(k, v);
        }
        for k in CONSUMED {
            cmd.env_remove(k);
        }
        #[cfg(unix)]
        keep_ignored_signals(&mut cmd);
        cmd
    };
    // Before the command exists, so that no Ctrl-C can end toll (and the command's proxy) in
    // between.
    #[cfg(unix)]
    let forwarding = Forwarding::install();
    let spawned = match command_for(program, args).spawn() {
        // A script without `#!` is the shell's to run, as execvp(3), env(1) and the shell do.
        #[cfg(unix)]
        Err(e) if e.raw_os_error() == Some(libc::ENOEXEC) => {
            let mut sh_args = vec![program.clone()];
            sh_args.extend(args.iter().cloned());
            command_for(std::ffi::OsStr::new("/bin/sh"), &sh_args).spawn()
        }
        other => other,
    };
    let child = spawned.map_err(|e| {
        // The shell's and env(1)'s codes, so a script tells "no such command" from CMD's own
        // failures (toll run's other statuses are CMD's).
        match e.kind() {
            std::io::ErrorKind::NotFound
                if program.to_string_lossy().contains('/') && std::path::Path::new(program).exists() =>
            {
                Error::new(
                    Exit::CommandNotRunnable,
                    format!("cannot run {name}: its interpreter (the #! line) was not found"),
                )
            }
            std::io::ErrorKind::NotFound => {
                Error::new(Exit::CommandNotFound, format!("{name}: command not found"))
                    .hint("check the spelling, or give the command's full path")
            }
            _ => Error::new(Exit::CommandNotRunnable, format!("cannot run {name}: {e}")),
        }
    })?;
    #[cfg(unix)]
    {
        let pid = child.id() as libc::pid_t;
        forwarding.to(pid);
        // Waited for here, not by `std`: a command that stops itself must be seen (see
        // `wait_for`). The `Child` handle does not reap on drop.
        drop(child);
        match tokio::task::spawn_blocking(move || wait_for(pid)).await {
            Ok(ended) => ended,
            Err(e) => Err(Error::new(Exit::Internal, format!("waiting for the command failed: {e}"))),
        }
    }
    #[cfg(not(unix))]
    {
        let mut child = child;
        ended(
            tokio::task::spawn_blocking(move || child.wait())
                .await
                .unwrap_or_else(|e| Err(std::io::Error::other(e))),
        )
    }
}

/// The signals ignored when toll started (`nohup`, a shell's background job, `trap '' INT`),
/// read before toll handles any of them. Handling one resets it to its default action for the
/// programs toll starts; the command gets them ignored again ([`keep_ignored_signals`]), and
/// toll does not pass them on.
#[cfg(unix)]
pub(super) fn ignored_at_start() -> u64 {
    static IGNORED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *IGNORED.get_or_init(|| {
        let mut mask = 0u64;
        for sig in Forwarding::SIGNALS {
            // SAFETY: sigaction only reads the current action into `old`.
            let ignored = unsafe {
                let mut old: libc::sigaction = std::mem::zeroed();
                libc::sigaction(sig, std::ptr::null(), &mut old) == 0 && old.sa_sigaction == libc::SIG_IGN
            };
            if ignored {
                mask |= 1 << sig;
            }
        }
        mask
    })
}

/// Waits for the command to end. A command that stops itself (`suspend` in a `toll run bash`,
/// ssh's `~^Z`, `kill -STOP $$`) while toll runs in the terminal's foreground stops toll too,
/// as sudo does: the shell gets the terminal back and says the job stopped; when the job is
/// continued (`fg`), the command is too, and gets the terminal back if it had it. Without
/// this toll waited on, and the terminal belonged to nobody who read it.
#[cfg(unix)]
fn wait_for(pid: libc::pid_t) -> Result<Ended> {
    loop {
        let mut status = 0;
        // SAFETY: waitpid on our own child with a valid status pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WUNTRACED) };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(Error::new(Exit::Internal, format!("waiting for the command failed: {e}")));
        }
        if libc::WIFEXITED(status) {
            return Ok(Ended::Exited(libc::WEXITSTATUS(status)));
        }
        if libc::WIFSIGNALED(status) {
            return Ok(Ended::Killed(libc::WTERMSIG(status)));
        }
        if libc::WIFSTOPPED(status) {
            follow_stop(pid, libc::WSTOPSIG(status));
        }
    }
}

/// The command stopped by `signal`. If it stopped alone (not with toll: a Ctrl-Z stops the
/// whole job, which the shell continues whole) and toll has the terminal, toll stops with the
/// same signal; continued, it hands the terminal back to the command's group if that group
/// had it, and continues the command.
#[cfg(unix)]
fn follow_stop(pid: libc::pid_t, signal: i32) {
    use std::os::fd::AsRawFd;
    if !still_stopped(pid) {
        return;
    }
    let Ok(tty) = std::fs::OpenOptions::new().read(true).write(true).open("/dev/tty") else { return };
    // SAFETY: plain system calls on this process, its child and a terminal descriptor we hold.
    unsafe {
        let fd = tty.as_raw_fd();
        let (fg, own, childs) = (libc::tcgetpgrp(fd), libc::getpgrp(), libc::getpgid(pid));
        if fg != own && fg != childs {
            // Not in the foreground: whoever stopped it continues it.
            return;
        }
        let stop = match signal {
            libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU => signal,
            _ => libc::SIGSTOP,
        };
        if fg == childs && childs != own {
            // The shell must find its job's group in the foreground to take the terminal back.
            give_terminal(fd, own);
        }
        // To this thread: a stop sent to the process may be taken by another thread, and this
        // one would continue the command (and so the whole group) before the stop took hold.
        libc::raise(stop);
        // Continued (`fg`): the command gets the terminal back if it had it, and goes on.
        if fg == childs && childs != own {
            give_terminal(fd, childs);
        }
        libc::kill(-childs, libc::SIGCONT);
    }
}

/// Makes `group` the terminal's foreground process group, with SIGTTOU blocked (a process not
/// in the foreground that changes it would be stopped by it).
#[cfg(unix)]
fn give_terminal(fd: libc::c_int, group: libc::pid_t) {
    // SAFETY: signal-mask calls with valid sets, and tcsetpgrp on a descriptor the caller holds.
    unsafe {
        let mut block: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut block);
        libc::sigaddset(&mut block, libc::SIGTTOU);
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::pthread_sigmask(libc::SIG_BLOCK, &block, &mut old);
        libc::tcsetpgrp(fd, group);
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
    }
}

/// Whether `pid` is stopped now (Linux's `/proc`; elsewhere taken as yes).
#[cfg(unix)]
fn still_stopped(pid: libc::pid_t) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // `pid (comm) S …`: the state follows the last ')'.
        Ok(stat) => stat.rsplit_once(')').and_then(|(_, rest)| rest.trim_start().chars().next()) == Some('T'),
        Err(_) => !cfg!(target_os = "linux"),
    }
}

#[cfg(unix)]
fn keep_ignored_signals(cmd: &mut std::process::Command) {
    let ignored = ignored_at_start();
    if ignored == 0 {
        return;
    }
    use std::os::unix::process::CommandExt;
    // SAFETY: between fork and exec the closure only calls signal(2), which is async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            for sig in Forwarding::SIGNALS {
                if ignored & (1 << sig) != 0 {
                    libc::signal(sig, libc::SIG_IGN);
                }
            }
            Ok(())
        });
    }
}

/// Ends toll by `signal`, as the command ended, after its cleanup: a shell then stops a script's
/// loop on Ctrl-C and says "Segmentation fault" itself, as sudo and timeout(1) let it. No core
/// file is written for toll (the command's was, if any).
pub(super) fn die_by(signal: i32) -> Result<()> {
    crate::setup::end_by_signal(signal)
}

/// While `toll run`'s command runs, the signals someone sends to toll — `kill`, a supervisor,
/// `timeout` — go on to the command: SIGTERM, SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2. Those
/// the terminal sends (Ctrl-C, Ctrl-\, a hang-up) are not passed on, and do not end toll: the
/// kernel sends them to the whole foreground process group, the command included, and a second
/// copy would count twice (a REPL, a program that asks "really quit?"). Told apart by the
/// sender's `si_code`, as sudo does. So is a job-control shell's part of a hang-up: it sends
/// SIGHUP to its whole job when the terminal closes, so SIGHUP, SIGINT and SIGQUIT from a
/// process in the parent's process group, when that is not toll's own, are not passed on either;
/// nor is a signal the command sent (to its process group). Signals ignored when toll started are
/// neither passed on nor do they end toll.
#[cfg(unix)]
struct Forwarding {
    child: Arc<std::sync::atomic::AtomicI32>,
    /// Signals sent to toll before the command's pid was known (one bit each), passed on as
    /// soon as it is: the command may already be running (and saying it is ready) by then.
    early: Arc<std::sync::atomic::AtomicU32>,
    ids: Vec<signal_hook_registry::SigId>,
}

#[cfg(unix)]
impl Forwarding {
    const SIGNALS: [libc::c_int; 6] =
        [libc::SIGTERM, libc::SIGHUP, libc::SIGINT, libc::SIGQUIT, libc::SIGUSR1, libc::SIGUSR2];

    fn install() -> Forwarding {
        let child = Arc::new(std::sync::atomic::AtomicI32::new(0));
        let early = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let ignored = ignored_at_start();
        // SAFETY: getpgrp and getppid/getpgid cannot fail in ways that matter here.
        let (own_group, parent_group) = unsafe { (libc::getpgrp(), libc::getpgid(libc::getppid())) };
        let ids = Self::SIGNALS
            .into_iter()
            .filter_map(|sig| {
                if ignored & (1 << sig) != 0 {
                    // Left ignored: the command gets it ignored, and toll is not ended by it.
                    return None;
                }
                let job_wide = matches!(sig, libc::SIGHUP | libc::SIGINT | libc::SIGQUIT);
                let (child, early) = (child.clone(), early.clone());
                // SAFETY: the action reads the siginfo the kernel filled in and two atomics, and
                // calls getpgid(2) and kill(2): all async-signal-safe; it allocates nothing and
                // takes no lock.
                unsafe {
                    signal_hook_registry::register_sigaction(sig, move |info: &libc::siginfo_t| {
                        if info.si_code == libc::SI_KERNEL {
                            return;
                        }
                        let pid = child.load(Ordering::SeqCst);
                        if info.si_code == libc::SI_USER {
                            let sender = info.si_pid();
                            // The command signalling its own process group (toll's): it got it.
                            if pid != 0 && sender == pid {
                                return;
                            }
                            // A job-control shell signals a job with killpg(2): its hang-up
                            // when the terminal closes, `kill -INT %1`. Such a shell's group is
                            // not its job's; a script's `kill -INT $!` comes from toll's own
                            // group and is passed on.
                            if job_wide && parent_group != own_group && libc::getpgid(sender) == parent_group
                            {
                                return;
                            }
                        }
                        match pid {
                            0 => {
                                early.fetch_or(1 << sig, Ordering::SeqCst);
                            }
                            pid => {
                                libc::kill(pid, sig);
                            }
                        }
                    })
                }
                .ok()
            })
            .collect();
        Forwarding { child, early, ids }
    }

    /// The command runs as `pid`: signals go to it from now on, and those that came before.
    fn to(&self, pid: libc::pid_t) {
        self.child.store(pid, Ordering::SeqCst);
        let early = self.early.swap(0, Ordering::SeqCst);
        for sig in Self::SIGNALS {
            if early & (1 << sig) != 0 {
                // SAFETY: kill(2) on our own child's pid.
                unsafe { libc::kill(pid, sig) };
            }
        }
    }
}

#[cfg(unix)]
impl Drop for Forwarding {
    fn drop(&mut self) {
        for id in self.ids.drain(..) {
            signal_hook_registry::unregister(id);
        }
    }
}

#[cfg(not(unix))]
fn ended(status: std::io::Result<std::process::ExitStatus>) -> Result<Ended> {
    let status =
        status.map_err(|e| Error::new(Exit::Internal, format!("waiting for the command failed: {e}")))?;
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return Ok(Ended::Killed(sig));
        }
    }
    Ok(Ended::Exited(status.code().unwrap_or(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_get_both_cases_and_loopback_stays_direct() {
        let url = proxy_url(&Secret::new("k"), "127.0.0.1:3128".parse().unwrap());
        let env = |k: &str| (k == "NO_PROXY").then(|| "corp.example,localhost".to_string());
        let vars = proxy_env_for_clients(&url, &env);
        let get = |k: &str| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        assert_eq!(get("https_proxy").unwrap(), "http://toll:k@127.0.0.1:3128");
        assert_eq!(get("HTTP_PROXY").unwrap(), "http://toll:k@127.0.0.1:3128");
        assert_eq!(get("NO_PROXY").unwrap(), "corp.example,localhost,127.0.0.1,::1");
        assert!(get("ALL_PROXY").is_none(), "only replaced when the user had one");
        let v6 = proxy_url(&Secret::new("k"), "[::1]:1".parse().unwrap());
        assert_eq!(v6.expose(), "http://toll:k@[::1]:1");
    }

    #[test]
    fn the_no_proxy_list_kept_is_the_one_the_routing_reads() {
        let url = proxy_url(&Secret::new("k"), "127.0.0.1:3128".parse().unwrap());
        let no = |vars: &[(&str, &str)]| {
            let env = |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string());
            let out = proxy_env_for_clients(&url, &env);
            let get = |k: &str| out.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap();
            assert_eq!(get("NO_PROXY"), get("no_proxy"));
            get("no_proxy")
        };
        // As `ProxySettings::new`: lower case first, empty or blank counts as unset.
        assert_eq!(no(&[("no_proxy", "a.corp"), ("NO_PROXY", "b.corp")]), "a.corp,localhost,127.0.0.1,::1");
        assert_eq!(no(&[("no_proxy", " "), ("NO_PROXY", "b.corp")]), "b.corp,localhost,127.0.0.1,::1");
        assert_eq!(no(&[]), "localhost,127.0.0.1,::1");
    }

    /// What `eval "$(toll serve --print-env)"` does with a value a shell would otherwise run or
    /// split, checked with a real `sh`.
    #[cfg(unix)]
    #[test]
    fn print_env_lines_give_a_shell_the_value_as_it_was() {
        let value = "a'b $(touch /nonexistent/x) `id` \\ \n;\"c\"\nnext";
        let line = shell_export("NO_PROXY", value);
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("{line}\nprintf %s \"$NO_PROXY\""))
            .output()
            .unwrap();
        assert!(out.status.success(), "{line}");
        assert_eq!(String::from_utf8(out.stdout).unwrap(), value, "{line}");
    }
}
