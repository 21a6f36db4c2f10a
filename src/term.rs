//! The one place that decides what the terminal allows: is stderr a terminal (progress bars,
//! colour), can a prompt be shown (a controlling terminal can be opened, even when stdin and
//! stdout are pipes), and how text from the network is made safe to print.
//!
//! `TOLL_TERMINAL=none` makes toll behave as if no terminal existed (tests, and scripts that
//! want a guarantee); `TOLL_TERMINAL=force` treats stderr as a terminal (progress-bar tests).

use std::io::IsTerminal;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Terminal {
    /// stderr is a terminal: progress bars and colour may be drawn there.
    pub stderr: bool,
    /// A controlling terminal can be opened for a prompt.
    pub can_prompt: bool,
}

impl Terminal {
    /// Looks at the real process. `override_` is the value of `TOLL_TERMINAL`, if set.
    pub fn detect(override_: Option<&str>, no_prompt: bool) -> Terminal {
        match override_ {
            Some("none") => return Terminal { stderr: false, can_prompt: false },
            Some("force") => {
                return Terminal { stderr: true, can_prompt: !no_prompt && controlling_terminal() }
            }
            _ => {}
        }
        Terminal { stderr: std::io::stderr().is_terminal(), can_prompt: !no_prompt && controlling_terminal() }
    }
}

/// Whether a controlling terminal can be opened for reading and writing. `stdin().is_terminal()`
/// is the wrong test: a process detached with setsid may still have a tty on stdin.
fn controlling_terminal() -> bool {
    #[cfg(unix)]
    {
        std::fs::OpenOptions::new().read(true).write(true).open("/dev/tty").is_ok()
    }
    #[cfg(not(unix))]
    {
        std::io::stdin().is_terminal()
    }
}

/// Text from a proxy or origin (realm, reason phrase, header) made safe for a terminal: control
/// characters, including ESC, become visible `\xNN` escapes; long text is cut.
pub fn sanitize(text: &str) -> String {
    const MAX: usize = 400;
    let mut out = String::with_capacity(text.len().min(MAX));
    for (count, ch) in text.chars().enumerate() {
        if count >= MAX {
            out.push('…');
            break;
        }
        if ch.is_control() && ch != '\t' {
            out.push_str(&format!("\\x{:02x}", ch as u32));
        } else {
            out.push(ch);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_control_characters() {
        assert_eq!(sanitize("Corp\x1b[31m\r\nX"), "Corp\\x1b[31m\\x0d\\x0aX");
        assert_eq!(sanitize("naïve realm"), "naïve realm");
        assert!(sanitize(&"a".repeat(1000)).ends_with('…'));
    }

    #[test]
    fn override_none_means_no_terminal() {
        assert_eq!(Terminal::detect(Some("none"), false), Terminal { stderr: false, can_prompt: false });
    }
}
