//! Process-exit cleanup for fixtures that live in statics (shared Squid instances, the test CA's
//! directory). Statics are never dropped, so an `atexit` handler terminates the registered
//! children (SIGTERM, SIGKILL after 3 s) and removes the registered directories. For an abnormal
//! end of the test process (SIGKILL, abort) each child also gets a detached watchdog shell.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

struct Registry {
    children: Vec<(Child, String)>,
    dirs: Vec<PathBuf>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry { children: Vec::new(), dirs: Vec::new() });
static INSTALL: Once = Once::new();

extern "C" fn at_exit() {
    let mut reg = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
    let mut children: Vec<Child> = reg.children.drain(..).map(|(c, _)| c).collect();
    terminate_all(&mut children);
    for d in reg.dirs.drain(..) {
        let _ = std::fs::remove_dir_all(d);
    }
}

fn install() {
    INSTALL.call_once(|| unsafe {
        libc::atexit(at_exit);
    });
}

/// Takes ownership of `child`: it is terminated when the test process exits (or by
/// [`terminate`] earlier). `marker` must occur in the child's command line (the watchdog checks
/// it before killing, against PID reuse).
pub fn register_child(child: Child, marker: &str) -> u32 {
    install();
    let pid = child.id();
    spawn_watchdog(pid, marker);
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner()).children.push((child, marker.to_string()));
    pid
}

/// Terminates a registered child now (SIGTERM, then SIGKILL after ~3 s) and reaps it.
pub fn terminate(pid: u32) {
    let child = {
        let mut reg = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
        let pos = reg.children.iter().position(|(c, _)| c.id() == pid);
        pos.map(|i| reg.children.remove(i).0)
    };
    if let Some(c) = child {
        terminate_all(&mut [c]);
    }
}

/// Is the registered child still running?
pub fn is_running(pid: u32) -> bool {
    let mut reg = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
    match reg.children.iter_mut().find(|(c, _)| c.id() == pid) {
        Some((c, _)) => matches!(c.try_wait(), Ok(None)),
        None => false,
    }
}

/// Removes `dir` when the test process exits.
pub fn register_dir(dir: PathBuf) {
    install();
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner()).dirs.push(dir);
}

fn terminate_all(children: &mut [Child]) {
    for c in children.iter_mut() {
        if let Ok(None) = c.try_wait() {
            unsafe {
                libc::kill(c.id() as libc::pid_t, libc::SIGTERM);
            }
        }
    }
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let mut running = 0;
        for c in children.iter_mut() {
            if let Ok(None) = c.try_wait() {
                running += 1;
            }
        }
        if running == 0 {
            return;
        }
        if Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    for c in children.iter_mut() {
        if let Ok(None) = c.try_wait() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A detached shell that outlives an abnormally ended test process and then terminates `pid`
/// (if its command line still contains `marker`).
fn spawn_watchdog(pid: u32, marker: &str) {
    use std::os::unix::process::CommandExt;
    let me = std::process::id();
    let script = r#"
        while kill -0 "$0" 2>/dev/null; do sleep 1; done
        if tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$2"; then
            kill -TERM "$1" 2>/dev/null; sleep 3; kill -KILL "$1" 2>/dev/null
        fi
    "#;
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(script)
        .arg(me.to_string())
        .arg(pid.to_string())
        .arg(marker)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    // The watchdog is deliberately not waited for; its zombie (if any) is reaped by init once
    // this process is gone. Dropping `Child` does not kill it.
    let _ = cmd.spawn();
}
