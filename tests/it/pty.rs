//! Runs the built `toll` with a pseudo-terminal as its controlling terminal, as a person at a
//! terminal would (the prompt opens `/dev/tty`), while stdin, stdout and stderr stay pipes of
//! the test — the `cat body | toll -d @- URL | jq` situation.
//!
//! No pty crate: `openpty` (libc), then in the child `setsid` + `TIOCSCTTY`. The test writes
//! keystrokes to the master side and reads what toll wrote to the terminal from it; it keeps the
//! slave side open so the terminal's settings can be checked after toll exited (echo back on?).
//!
//! The environment is isolated as in `run`: no proxy variables, no `TOLL_*`, HOME and the XDG
//! directories under the directory the test gives (shared by the runs of one test, so a
//! password saved by one run is found by the next), `TOLL_KEYRING=none` unless set.

use std::ffi::OsString;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `toll ARGS…` with HOME and the XDG directories under `home`, and `env` on top.
pub fn command<S: Into<OsString>>(
    args: impl IntoIterator<Item = S>,
    home: &Path,
    env: &[(&str, &str)],
) -> Command {
    let mut cmd = Command::new(crate::run::TOLL);
    cmd.args(args.into_iter().map(Into::into));
    crate::run::isolate(&mut cmd, home);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.current_dir(home);
    cmd
}

/// A running toll on a pseudo-terminal.
pub struct Pty {
    master: File,
    slave: OwnedFd,
    screen: Arc<Mutex<Vec<u8>>>,
    /// How far `expect` has matched: each expectation looks after the previous one.
    cursor: usize,
    child: Child,
    pid: libc::pid_t,
    stdout: Option<std::thread::JoinHandle<Vec<u8>>>,
    stderr: Option<std::thread::JoinHandle<Vec<u8>>>,
    started: Instant,
}

pub struct PtyOut {
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: String,
    /// Everything toll wrote to the terminal (and the terminal echoed).
    pub screen: String,
    /// The terminal's local modes after toll exited.
    pub lflag: libc::tcflag_t,
    pub elapsed: Duration,
}

impl PtyOut {
    pub fn describe(&self) -> String {
        format!(
            "exit {:?} signal {:?} ({:.2?})\n--- terminal:\n{}\n--- stdout:\n{}\n--- stderr:\n{}",
            self.code,
            self.signal,
            self.elapsed,
            self.screen,
            String::from_utf8_lossy(&self.stdout),
            self.stderr
        )
    }

    /// Echo, canonical input and signals on: the shell gets a usable terminal back.
    pub fn terminal_restored(&self) -> bool {
        let want = libc::ECHO | libc::ICANON | libc::ISIG;
        self.lflag & want == want
    }
}

fn cloexec(fd: i32) {
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFD);
        libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC);
    }
}

impl Pty {
    /// Starts `cmd` in a new session whose controlling terminal is a fresh pty. `stdin`: bytes
    /// piped to toll's standard input (then closed), or `/dev/null`.
    pub fn spawn(cmd: Command, stdin: Option<Vec<u8>>) -> Pty {
        Pty::start(cmd, stdin, false, false)
    }

    /// As [`Pty::spawn`], with the terminal on standard input too (as a shell starts a command
    /// typed at it).
    pub fn spawn_interactive(cmd: Command) -> Pty {
        Pty::start(cmd, None, true, false)
    }

    /// As [`Pty::spawn`], with standard output on the terminal (`toll URL` typed at a shell):
    /// what toll prints there is in [`Pty::screen`], and the `stdout` of [`PtyOut`] is empty.
    pub fn spawn_printing(cmd: Command) -> Pty {
        Pty::start(cmd, None, false, true)
    }

    /// Everything on the terminal (an interactive shell).
    pub fn spawn_on_terminal(cmd: Command) -> Pty {
        Pty::start_with(cmd, None, true, true, true)
    }

    /// Standard error on the terminal too (progress bars), stdin and stdout pipes.
    pub fn spawn_drawing(cmd: Command) -> Pty {
        Pty::start_with(cmd, None, false, false, true)
    }

    fn start(cmd: Command, stdin: Option<Vec<u8>>, tty_stdin: bool, tty_stdout: bool) -> Pty {
        Pty::start_with(cmd, stdin, tty_stdin, tty_stdout, false)
    }

    fn start_with(
        mut cmd: Command,
        stdin: Option<Vec<u8>>,
        tty_stdin: bool,
        tty_stdout: bool,
        tty_stderr: bool,
    ) -> Pty {
        let (mut m, mut s) = (0, 0);
        let ws = libc::winsize { ws_row: 40, ws_col: 120, ws_xpixel: 0, ws_ypixel: 0 };
        let rc = unsafe { libc::openpty(&mut m, &mut s, std::ptr::null_mut(), std::ptr::null(), &ws) };
        assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
        cloexec(m);
        cloexec(s);
        let (master, slave) = unsafe { (File::from_raw_fd(m), OwnedFd::from_raw_fd(s)) };
        let slave_fd = slave.as_raw_fd();
        if tty_stdin {
            cmd.stdin(Stdio::from(slave.try_clone().expect("dup the pty for stdin")));
        } else {
            cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
        }
        if tty_stdout {
            cmd.stdout(Stdio::from(slave.try_clone().expect("dup the pty for stdout")));
        } else {
            cmd.stdout(Stdio::piped());
        }
        if tty_stderr {
            cmd.stderr(Stdio::from(slave.try_clone().expect("dup the pty for stderr")));
        } else {
            cmd.stderr(Stdio::piped());
        }
        unsafe {
            cmd.pre_exec(move || {
                if libc::setsid() < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if libc::ioctl(slave_fd, libc::TIOCSCTTY as _, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = cmd.spawn().expect("start toll on a pty");
        let pid = child.id() as libc::pid_t;
        if let Some(data) = stdin {
            let mut w = child.stdin.take().unwrap();
            std::thread::spawn(move || {
                let _ = w.write_all(&data);
            });
        }
        let drain = |mut r: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let _ = r.read_to_end(&mut buf);
                buf
            })
        };
        let stdout = Some(match child.stdout.take() {
            Some(out) => drain(Box::new(out)),
            None => std::thread::spawn(Vec::new),
        });
        let stderr = child.stderr.take().map(|e| drain(Box::new(e)));
        let screen = Arc::new(Mutex::new(Vec::new()));
        let (mut reader, sc) = (master.try_clone().expect("dup master"), screen.clone());
        // Ends with EIO once the test closes its slave fd (on drop) and toll is gone.
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sc.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Pty { master, slave, screen, cursor: 0, child, pid, stdout, stderr, started: Instant::now() }
    }

    pub fn screen(&self) -> String {
        String::from_utf8_lossy(&self.screen.lock().unwrap()).into_owned()
    }

    /// Waits until `text` appears on the terminal after the previous match.
    #[track_caller]
    pub fn expect(&mut self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            {
                let screen = self.screen.lock().unwrap();
                let after = &screen[self.cursor.min(screen.len())..];
                if let Some(i) = after.windows(text.len()).position(|w| w == text.as_bytes()) {
                    self.cursor += i + text.len();
                    return;
                }
            }
            if Instant::now() > deadline {
                let screen = self.screen();
                self.kill();
                panic!("the terminal never showed {text:?}; it shows:\n{screen}");
            }
            if let Ok(Some(st)) = self.child.try_wait() {
                // Give the reader a moment to collect what toll wrote before it exited.
                std::thread::sleep(Duration::from_millis(100));
                let screen = self.screen();
                if !screen.as_bytes()[self.cursor.min(screen.len())..]
                    .windows(text.len())
                    .any(|w| w == text.as_bytes())
                {
                    let stderr = self.stderr.take().map(|h| h.join().unwrap_or_default()).unwrap_or_default();
                    panic!(
                        "toll exited ({st:?}) before the terminal showed {text:?}; terminal:\n{screen}\nstderr:\n{}",
                        String::from_utf8_lossy(&stderr)
                    );
                }
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Types `keys` (use `\r` for Enter, `\x03` for Ctrl-C, `\x04` for Ctrl-D).
    pub fn send(&mut self, keys: &str) {
        // A person does not type before the prompt is drawn: `expect` is called first; a short
        // pause more lets toll switch echo off after drawing it.
        std::thread::sleep(Duration::from_millis(50));
        self.master.write_all(keys.as_bytes()).expect("write to the pty");
        self.master.flush().unwrap();
    }

    /// The terminal's local modes now (while toll runs).
    pub fn lflag_now(&self) -> libc::tcflag_t {
        let mut t = std::mem::MaybeUninit::<libc::termios>::uninit();
        unsafe {
            assert_eq!(libc::tcgetattr(self.slave.as_raw_fd(), t.as_mut_ptr()), 0, "tcgetattr");
            t.assume_init().c_lflag
        }
    }

    fn kill(&mut self) {
        unsafe {
            libc::kill(-self.pid, libc::SIGKILL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits for toll to exit (30 s at most, then it is killed and the test fails).
    #[track_caller]
    pub fn wait(mut self) -> PtyOut {
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(st) = self.child.try_wait().expect("wait") {
                break st;
            }
            if Instant::now() > deadline {
                let screen = self.screen();
                self.kill();
                panic!("TIMEOUT: toll still running on the pty after 30 s; terminal:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let elapsed = self.started.elapsed();
        std::thread::sleep(Duration::from_millis(100));
        let mut t = std::mem::MaybeUninit::<libc::termios>::uninit();
        let lflag = unsafe {
            assert_eq!(libc::tcgetattr(self.slave.as_raw_fd(), t.as_mut_ptr()), 0, "tcgetattr");
            t.assume_init().c_lflag
        };
        let stdout = self.stdout.take().map(|h| h.join().unwrap_or_default()).unwrap_or_default();
        let stderr = self.stderr.take().map(|h| h.join().unwrap_or_default()).unwrap_or_default();
        PtyOut {
            code: status.code(),
            signal: status.signal(),
            stdout,
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
            screen: self.screen(),
            lflag,
            elapsed,
        }
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.kill();
        }
    }
}
