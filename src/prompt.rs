//! Asking the person at the terminal: the controlling terminal (`/dev/tty`, the console on
//! Windows) is opened directly, so prompts work while stdin and stdout are pipes
//! (`cat body | toll -d @- URL | jq`). Whether a prompt may happen at all is decided by
//! `term::Terminal::can_prompt`, never here.
//!
//! Owns the prompt texts, the [`PromptSource`] credential source (at most three prompted
//! attempts per run), the save question, and terminal safety: the terminal's settings are saved
//! before a password is read without echo and [`restore_terminal`] puts them back when Ctrl-C
//! ends the run, so the shell never gets a terminal without echo.

use crate::config::ProxySpec;
use crate::creds::{CredentialRequest, CredentialSource, Lookup};
use crate::secret::{Credentials, Secret};
use crate::term::sanitize;
use std::fs::File;
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Prompted attempts per run, over all proxies: corporate accounts lock after a few failures.
pub const MAX_ATTEMPTS: u32 = 3;

/// Why a prompt gave no answer.
#[derive(Debug)]
pub enum Abort {
    /// Ctrl-C: the run ends with exit 130.
    Interrupted,
    /// Ctrl-D (end of input).
    Eof,
    Io(io::Error),
}

impl std::fmt::Display for Abort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Abort::Interrupted => f.write_str("interrupted (Ctrl-C)"),
            Abort::Eof => f.write_str("aborted (Ctrl-D)"),
            Abort::Io(e) => write!(f, "the terminal failed: {e}"),
        }
    }
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// A prompt was ended with Ctrl-D in this process: no prompt asks again (the relay may look for
/// a credential more than once for one request; "Ctrl-D aborts" means it is not asked again).
static ABORTED: AtomicBool = AtomicBool::new(false);

/// Whether a prompt was ended with Ctrl-C in this process.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

#[cfg(unix)]
static SAVED_TERMIOS: Mutex<Option<libc::termios>> = Mutex::new(None);

/// Puts the terminal settings saved before the current password prompt back (echo on). Called
/// when Ctrl-C ends the run: the prompt's own thread may not get to restore them before the
/// process exits. Harmless when no prompt is active.
pub fn restore_terminal() {
    #[cfg(unix)]
    {
        let saved = *SAVED_TERMIOS.lock().unwrap_or_else(|e| e.into_inner());
        if let (Some(t), Ok(tty)) =
            (saved, std::fs::OpenOptions::new().read(true).write(true).open("/dev/tty"))
        {
            use std::os::fd::AsRawFd;
            // SAFETY: `t` came from tcgetattr on this terminal; the fd is open for the call.
            unsafe {
                libc::tcsetattr(tty.as_raw_fd(), libc::TCSANOW, &t);
            }
        }
    }
}

/// rpassword answers Ctrl-C (the terminal is raw while it reads) by raising SIGINT *before* it
/// puts the terminal back, then returns `Interrupted`. Before a runtime watches SIGINT (the
/// `-u user` prompt, `toll serve`'s and `toll run`'s at start-up) its default action killed toll
/// there and left the shell a terminal without echo, line editing or Ctrl-C. While rpassword
/// reads, a SIGINT at its default action is caught and ignored instead: the `Interrupted` it
/// returns ends the run with exit 130 the usual way. A handler already there is left alone.
#[cfg(unix)]
struct SigintCaught(Option<libc::sigaction>);

#[cfg(unix)]
impl SigintCaught {
    fn install() -> SigintCaught {
        extern "C" fn ignore(_: libc::c_int) {}
        // SAFETY: sigaction with valid pointers; the handler does nothing (async-signal-safe).
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(libc::SIGINT, std::ptr::null(), &mut old) != 0
                || old.sa_sigaction != libc::SIG_DFL
            {
                return SigintCaught(None);
            }
            let mut caught: libc::sigaction = std::mem::zeroed();
            caught.sa_sigaction = ignore as extern "C" fn(libc::c_int) as libc::sighandler_t;
            libc::sigemptyset(&mut caught.sa_mask);
            if libc::sigaction(libc::SIGINT, &caught, std::ptr::null_mut()) != 0 {
                return SigintCaught(None);
            }
            SigintCaught(Some(old))
        }
    }
}

#[cfg(unix)]
impl Drop for SigintCaught {
    fn drop(&mut self) {
        if let Some(old) = self.0.take() {
            // SAFETY: puts back the action saved in `install`.
            unsafe {
                libc::sigaction(libc::SIGINT, &old, std::ptr::null_mut());
            }
        }
    }
}

/// The controlling terminal, opened for one conversation.
pub struct Tty {
    input: File,
    output: File,
    /// Where rpassword opens the terminal again to read a password: `/dev/tty` (a unit test
    /// gives a pseudo-terminal's path).
    #[cfg(unix)]
    path: String,
}

impl Tty {
    pub fn open() -> io::Result<Tty> {
        #[cfg(unix)]
        {
            let path = "/dev/tty";
            let f = std::fs::OpenOptions::new().read(true).write(true).open(path)?;
            Ok(Tty { output: f.try_clone()?, input: f, path: path.into() })
        }
        #[cfg(windows)]
        {
            let input = std::fs::OpenOptions::new().read(true).write(true).open("CONIN$")?;
            let output = std::fs::OpenOptions::new().write(true).open("CONOUT$")?;
            Ok(Tty { input, output })
        }
    }

    /// Writes one line.
    pub fn say(&mut self, line: &str) -> io::Result<()> {
        self.output.write_all(format!("{line}\n").as_bytes())?;
        self.output.flush()
    }

    /// Asks for a line with echo (a user name, an answer). Trailing CR/LF removed.
    pub fn ask_line(&mut self, prompt: &str) -> Result<String, Abort> {
        self.output.write_all(prompt.as_bytes()).and_then(|_| self.output.flush()).map_err(Abort::Io)?;
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        loop {
            match self.input.read(&mut byte) {
                // Ctrl-D: at the start of a line read() returns 0; mid-line it flushes the line
                // without a newline and the next read() returns 0.
                Ok(0) => return Err(Abort::Eof),
                Ok(_) if byte[0] == b'\n' => break,
                Ok(_) => line.push(byte[0]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                    if interrupted() {
                        return Err(Abort::Interrupted);
                    }
                }
                Err(e) => return Err(Abort::Io(e)),
            }
        }
        while line.last() == Some(&b'\r') {
            line.pop();
        }
        Ok(String::from_utf8_lossy(&line).trim().to_string())
    }

    /// Asks for a password without echo. Echo goes off *before* the prompt is shown:
    /// `rpassword::prompt_password` writes the prompt first and changes the terminal after, so
    /// what was typed or pasted the moment the prompt appeared was echoed on the screen.
    /// rpassword then reads the line (raw mode, its own Ctrl-C, Ctrl-U and backspace handling)
    /// and puts back the echo-off settings it found; the settings saved here (echo on) are put
    /// back after it.
    pub fn ask_password(&mut self, prompt: &str) -> Result<Secret, Abort> {
        self.save_settings();
        self.echo_off();
        let r = self
            .output
            .write_all(prompt.as_bytes())
            .and_then(|_| self.output.flush())
            .and_then(|_| self.read_hidden());
        let r = match r {
            Ok(p) => Ok(Secret::from(p)),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                INTERRUPTED.store(true, Ordering::SeqCst);
                Err(Abort::Interrupted)
            }
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Err(Abort::Eof),
            Err(e) => Err(Abort::Io(e)),
        };
        self.restore_settings();
        // Ctrl-D leaves the cursor after the prompt.
        if matches!(r, Err(Abort::Eof)) {
            let _ = self.say("");
        }
        #[cfg(unix)]
        {
            *SAVED_TERMIOS.lock().unwrap_or_else(|e| e.into_inner()) = None;
        }
        r
    }

    /// `question [Y/n] `: Enter means yes.
    pub fn confirm(&mut self, question: &str) -> Result<bool, Abort> {
        for _ in 0..3 {
            let answer = self.ask_line(&format!("{question} [Y/n] "))?;
            match answer.to_ascii_lowercase().as_str() {
                "" | "y" | "yes" => return Ok(true),
                "n" | "no" => return Ok(false),
                _ => {
                    let _ = self.say("Please answer y or n.");
                }
            }
        }
        Ok(false)
    }

    fn read_hidden(&self) -> io::Result<String> {
        #[cfg(unix)]
        {
            let _caught = SigintCaught::install();
            let on_this_terminal = rpassword::ConfigBuilder::new()
                .input_file_path(self.path.as_str())
                .output_file_path(self.path.as_str())
                .build();
            rpassword::read_password_with_config(on_this_terminal)
        }
        #[cfg(not(unix))]
        {
            rpassword::read_password()
        }
    }

    /// Puts back the settings saved before the prompt (echo on).
    fn restore_settings(&self) {
        #[cfg(unix)]
        self.apply_saved(|_| {});
    }

    /// Turns echo off until rpassword takes over (it prints the newline after the password
    /// itself). Without saved settings (Windows, a failing tcgetattr) rpassword does it alone.
    fn echo_off(&self) {
        #[cfg(unix)]
        self.apply_saved(|t| t.c_lflag &= !libc::ECHO);
    }

    /// Sets this terminal to the settings saved before the prompt, changed by `change`. TCSANOW,
    /// not TCSAFLUSH: what is typed ahead is the password and must not be thrown away.
    #[cfg(unix)]
    fn apply_saved(&self, change: impl FnOnce(&mut libc::termios)) {
        use std::os::fd::AsRawFd;
        let saved = *SAVED_TERMIOS.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(mut t) = saved {
            change(&mut t);
            // SAFETY: `t` came from tcgetattr on this terminal; the fd is open.
            unsafe {
                libc::tcsetattr(self.input.as_raw_fd(), libc::TCSANOW, &t);
            }
        }
    }

    fn save_settings(&self) {
        #[cfg(unix)]
        {
            use std::os::fd::AsRawFd;
            let mut t = std::mem::MaybeUninit::<libc::termios>::uninit();
            // SAFETY: tcgetattr fills `t` when it returns 0; the fd is open.
            if unsafe { libc::tcgetattr(self.input.as_raw_fd(), t.as_mut_ptr()) } == 0 {
                *SAVED_TERMIOS.lock().unwrap_or_else(|e| e.into_inner()) = Some(unsafe { t.assume_init() });
            }
        }
    }
}

/// `Proxy proxy.corp:3128 requires authentication (Digest, realm "Corp Proxy")`. The realm comes
/// from the network: control characters are escaped and quotes are backslashed.
pub fn header(proxy: &ProxySpec, req: &CredentialRequest) -> String {
    let mut what = req.scheme.name().to_string();
    if let Some(realm) = req.realm.as_deref().filter(|r| !r.is_empty()) {
        what.push_str(&format!(", realm \"{}\"", sanitize(realm).replace('"', "\\\"")));
    }
    format!("Proxy {} requires authentication ({what})", sanitize(&proxy.host_port()))
}

/// `User [alice]: ` or `User: `.
pub fn user_prompt(default: Option<&str>) -> String {
    match default {
        Some(u) => format!("User [{}]: ", sanitize(u)),
        None => "User: ".to_string(),
    }
}

pub fn password_prompt(user: &str) -> String {
    format!("Password for {}: ", sanitize(user))
}

/// What the prompt keeps with the run it asks for (the keyring session holds it, and offers to
/// save what was accepted): one prompt on the terminal at a time, [`MAX_ATTEMPTS`] over all
/// proxies, and the verdicts on what was typed.
pub trait Ledger: Send + Sync {
    /// Held while a prompt is on the terminal.
    fn turn(&self) -> std::sync::MutexGuard<'_, ()>;
    /// The number of this attempt, or `None` when the run has used them all.
    fn take_attempt(&self) -> Option<u32>;
    /// Whether the proxy rejected `creds` typed earlier in this run.
    fn was_rejected(&self, creds: &Credentials) -> bool;
    fn accepted(&self, proxy: &ProxySpec, req: &CredentialRequest, creds: &Credentials);
    fn rejected(&self, creds: &Credentials);
}

/// Credentials typed at the terminal. Present only when a prompt is possible.
pub struct PromptSource {
    session: Arc<dyn Ledger>,
    proxy: ProxySpec,
    /// A user name given without a password (`-U alice`, the proxy URL, `TOLL_PROXY_USER`):
    /// only the password is asked for.
    fixed_user: Option<String>,
    /// Shown as `User [default]:`; then the last user name typed for this proxy.
    default_user: Mutex<Option<String>>,
}

impl PromptSource {
    pub fn new(
        session: Arc<dyn Ledger>,
        proxy: ProxySpec,
        fixed_user: Option<String>,
        default_user: Option<String>,
    ) -> Self {
        PromptSource { session, proxy, fixed_user, default_user: Mutex::new(default_user) }
    }

    fn ask(&self, tty: &mut Tty, req: &CredentialRequest, attempt: u32) -> Result<Credentials, Abort> {
        let mut head = header(&self.proxy, req);
        if attempt > 1 {
            head.push_str(&format!(" — attempt {attempt} of {MAX_ATTEMPTS}"));
        }
        tty.say(&head).map_err(Abort::Io)?;
        let user = match &self.fixed_user {
            Some(u) => u.clone(),
            None => {
                let default = self.default_user.lock().unwrap_or_else(|e| e.into_inner()).clone();
                loop {
                    let typed = tty.ask_line(&user_prompt(default.as_deref()))?;
                    match (typed.is_empty(), &default) {
                        (false, _) => break typed,
                        (true, Some(d)) => break d.clone(),
                        (true, None) => {}
                    }
                }
            }
        };
        let password = tty.ask_password(&password_prompt(&user))?;
        *self.default_user.lock().unwrap_or_else(|e| e.into_inner()) = Some(user.clone());
        Ok(Credentials { user, password })
    }
}

impl CredentialSource for PromptSource {
    fn label(&self) -> String {
        "the terminal prompt".into()
    }

    fn lookup(&self, req: &CredentialRequest) -> Lookup {
        let _turn = self.session.turn();
        if ABORTED.load(Ordering::SeqCst) {
            return Lookup::Incomplete("the password prompt was aborted with Ctrl-D".into());
        }
        if INTERRUPTED.load(Ordering::SeqCst) {
            return Lookup::Incomplete("the prompt was interrupted (Ctrl-C)".into());
        }
        let mut tty = match Tty::open() {
            Ok(t) => t,
            Err(e) => return Lookup::Incomplete(format!("cannot open the terminal to ask: {e}")),
        };
        // Other transfers' progress bars (`-Z`) stop drawing, and the line one is on is cleared.
        let _on_screen = crate::term::prompt_on_screen();
        if crate::term::bars_on_screen() {
            let _ = tty.output.write_all(b"\r\x1b[2K");
        }
        loop {
            let Some(attempt) = self.session.take_attempt() else {
                let _ = tty.say(&format!("No more password prompts: {MAX_ATTEMPTS} attempts were used."));
                return Lookup::Nothing;
            };
            match self.ask(&mut tty, req, attempt) {
                Ok(creds) if creds.password.is_empty() => {
                    return Lookup::Incomplete("no password was typed at the prompt".into())
                }
                Ok(creds) if self.session.was_rejected(&creds) => {
                    let _ = tty
                        .say("The proxy already rejected that password in this run: not sending it again.");
                }
                Ok(creds) => return Lookup::Found(creds),
                Err(Abort::Interrupted) => {
                    INTERRUPTED.store(true, Ordering::SeqCst);
                    return Lookup::Incomplete("the prompt was interrupted (Ctrl-C)".into());
                }
                Err(Abort::Eof) => {
                    ABORTED.store(true, Ordering::SeqCst);
                    return Lookup::Incomplete("the password prompt was aborted with Ctrl-D".into());
                }
                Err(Abort::Io(e)) => return Lookup::Incomplete(format!("the password prompt failed: {e}")),
            }
        }
    }

    fn accepted(&self, req: &CredentialRequest, creds: &Credentials) {
        self.session.accepted(&self.proxy, req, creds);
    }

    fn rejected(&self, _req: &CredentialRequest, creds: &Credentials) {
        self.session.rejected(creds);
        if let Ok(mut tty) = Tty::open() {
            let _ = tty.say(&format!(
                "Proxy {} rejected the password for {}.",
                sanitize(&self.proxy.host_port()),
                sanitize(&creds.user)
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Scheme;

    fn spec(host: &str) -> ProxySpec {
        ProxySpec::test_http(host)
    }

    fn req(scheme: Scheme, realm: Option<&str>) -> CredentialRequest {
        CredentialRequest { proxy: spec("p"), scheme, realm: realm.map(Into::into), after_rejection: false }
    }

    #[test]
    fn the_prompt_says_who_asks_and_why() {
        assert_eq!(
            header(&spec("proxy.corp"), &req(Scheme::Digest, Some("Corp Proxy"))),
            "Proxy proxy.corp:3128 requires authentication (Digest, realm \"Corp Proxy\")"
        );
        assert_eq!(
            header(&spec("::1"), &req(Scheme::Basic, None)),
            "Proxy [::1]:3128 requires authentication (Basic)"
        );
        assert_eq!(user_prompt(Some("alice")), "User [alice]: ");
        assert_eq!(user_prompt(None), "User: ");
        assert_eq!(password_prompt("alice"), "Password for alice: ");
    }

    #[test]
    fn proxy_supplied_text_cannot_drive_the_terminal() {
        let h = header(&spec("p"), &req(Scheme::Digest, Some("Evil\x1b[2J\"\r\nPassword for root: ")));
        assert!(!h.chars().any(|c| c.is_control()), "{h:?}");
        assert!(h.contains("realm \"Evil\\x1b[2J\\\"\\x0d\\x0aPassword for root: \")"), "{h}");
        assert!(!password_prompt("a\x07b").contains('\x07'));
        assert!(!user_prompt(Some("a\x1bb")).contains('\x1b'));
    }

    /// The prompt's write is held up (its pipe is full) so the order is seen, not raced: echo
    /// must already be off while the prompt is on its way, then the typed password is read and
    /// never echoed, and echo is back on afterwards.
    #[cfg(target_os = "linux")]
    #[test]
    fn echo_is_off_before_the_password_prompt_shows() {
        use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
        use std::time::{Duration, Instant};
        let (mut master, slave) = {
            let (mut m, mut s) = (0, 0);
            // SAFETY: openpty fills both descriptors when it returns 0; they are owned below.
            let rc = unsafe {
                libc::openpty(&mut m, &mut s, std::ptr::null_mut(), std::ptr::null(), std::ptr::null())
            };
            assert_eq!(rc, 0, "openpty: {}", io::Error::last_os_error());
            unsafe { (File::from_raw_fd(m), File::from_raw_fd(s)) }
        };
        let path = std::fs::read_link(format!("/proc/self/fd/{}", slave.as_raw_fd())).unwrap();
        let lflag = |f: &File| {
            let mut t = std::mem::MaybeUninit::<libc::termios>::uninit();
            // SAFETY: tcgetattr fills `t` when it returns 0.
            assert_eq!(unsafe { libc::tcgetattr(f.as_raw_fd(), t.as_mut_ptr()) }, 0);
            unsafe { t.assume_init() }.c_lflag
        };
        assert_ne!(lflag(&slave) & libc::ECHO, 0, "a new terminal echoes");
        // A pipe filled to the brim: the prompt's write blocks until the test drains it.
        let (reader, writer) = {
            let mut fds = [0; 2];
            // SAFETY: pipe2 fills both descriptors when it returns 0; they are owned below.
            assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) }, 0);
            unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
        };
        let mut writer = File::from(writer);
        let mut filled = 0;
        while let Ok(n) = writer.write(&[0u8; 4096]) {
            filled += n;
        }
        // SAFETY: F_SETFL on an open descriptor: the prompt's write must block, not fail.
        assert_eq!(unsafe { libc::fcntl(writer.as_raw_fd(), libc::F_SETFL, 0) }, 0);
        assert_eq!(unsafe { libc::fcntl(reader.as_raw_fd(), libc::F_SETFL, 0) }, 0);
        let tty =
            Tty { input: slave.try_clone().unwrap(), output: writer, path: path.to_str().unwrap().into() };
        let asking = std::thread::spawn(move || {
            let mut tty = tty;
            tty.ask_password("Password for alice: ")
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        while lflag(&slave) & libc::ECHO != 0 {
            assert!(Instant::now() < deadline, "echo is still on while the prompt is being written");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(!asking.is_finished());
        // Typed the moment the prompt shows (here: before it could), then the prompt gets out.
        master.write_all(b"s3cret\r").unwrap();
        let mut drained = Vec::new();
        File::from(reader).read_to_end(&mut drained).unwrap();
        assert_eq!(&drained[filled..], b"Password for alice: ");
        let password = asking.join().unwrap().unwrap();
        assert_eq!(password.expose(), "s3cret");
        assert_ne!(lflag(&slave) & libc::ECHO, 0, "echo is back on after the prompt");
        drop(slave);
        let mut screen = Vec::new();
        // SAFETY: F_SETFL on an open descriptor: read what is there, then stop.
        unsafe { libc::fcntl(master.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) };
        let _ = master.read_to_end(&mut screen);
        assert!(!String::from_utf8_lossy(&screen).contains("s3cret"), "echoed: {screen:?}");
    }

    #[test]
    fn restoring_without_a_saved_state_is_harmless() {
        restore_terminal();
        assert!(!interrupted());
    }
}
