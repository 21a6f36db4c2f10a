//! toll's proxy auto-config (PAC) engine: a PAC file's `FindProxyForURL(url, host)` run in a
//! sandboxed QuickJS runtime, with every Netscape helper and Microsoft's `*Ex` extensions, and
//! its answer parsed into a list of proxies.
//!
//! ```no_run
//! use std::sync::Arc;
//! use toll_pac::{Limits, PacArgs, Script, SystemEnv, UrlMode};
//! let env = Arc::new(SystemEnv::new(std::time::Duration::from_secs(2)));
//! let pac = Script::compile("function FindProxyForURL(u, h) { return 'DIRECT'; }", "proxy.pac", Limits::default(), env)?;
//! let url = url::Url::parse("https://example.com/a?b").unwrap();
//! let answer = pac.evaluate(&PacArgs::new(&url, UrlMode::Transfer))?;
//! # Ok::<(), toll_pac::PacError>(())
//! ```
//!
//! Everything the PAC can learn about the world comes through [`PacEnv`] (DNS with its own
//! timeout, the machine's addresses, the clock, `alert`), so tests inject a table and a clock.

mod alloc;
mod args;
mod code;
mod engine;
mod env;
mod glob;
mod helpers;
mod net;
mod result;
mod time;

pub use args::{PacArgs, UrlMode};
pub use engine::{Answer, EntryPoint, Script};
pub use env::{days_in_month, Now, PacEnv, StaticEnv, SystemEnv, Tm};
pub use result::{parse_result, ProxyEntry, ProxyKind, ResultError};

use std::fmt;
use std::time::Duration;

/// The sandbox's limits, per compiled PAC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock time for one evaluation (the top level at compile time, or one call of the
    /// entry point). Time spent inside a DNS helper counts too; the environment bounds each
    /// look-up with its own timeout.
    pub timeout: Duration,
    /// Bytes the runtime may allocate (QuickJS's own accounting).
    pub memory: usize,
    /// Bytes of native stack the interpreter may use before a `RangeError`.
    pub stack: usize,
}

impl Default for Limits {
    /// 5 s (room for two slow name look-ups of [`SystemEnv`]'s 2 s each), 256 MiB, 512 KiB.
    fn default() -> Self {
        Limits { timeout: Duration::from_secs(5), memory: 256 << 20, stack: 512 << 10 }
    }
}

/// What went wrong with a PAC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PacErrorKind {
    /// The source does not parse.
    Syntax,
    /// An uncaught exception (at the top level or in the entry point).
    Exception,
    /// Neither `FindProxyForURL` nor `FindProxyForURLEx` is a function.
    NoEntryPoint,
    /// The entry point returned something other than a string.
    NotAString,
    /// The returned string is not a valid proxy list.
    BadResult,
    /// The time limit stopped the script.
    Timeout,
    /// The memory limit stopped the script.
    Memory,
    /// Recursion went past the stack limit.
    Stack,
    /// QuickJS itself failed (cannot start, internal error).
    Engine,
}

/// A PAC failure, naming the PAC and, where the engine knows it, the line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PacError {
    pub kind: PacErrorKind,
    /// The PAC's name as given to [`Script::compile`] (a path or URL).
    pub pac: String,
    pub line: Option<u32>,
    /// From the script (exception messages): untrusted, sanitise before printing.
    pub message: String,
}

impl fmt::Display for PacError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "PAC {}, line {line}: {}", self.pac, self.message),
            None => write!(f, "PAC {}: {}", self.pac, self.message),
        }
    }
}

impl std::error::Error for PacError {}
