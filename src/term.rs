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
    /// stdout is a terminal: a binary body is not printed there (curl's "Binary output can mess
    /// up your terminal").
    pub stdout: bool,
    /// A controlling terminal can be opened for a prompt.
    pub can_prompt: bool,
}

impl Terminal {
    /// Looks at the real process. `override_` is the value of `TOLL_TERMINAL`, if set.
    pub fn detect(override_: Option<&str>, no_prompt: bool) -> Terminal {
        match override_ {
            Some("none") => return Terminal { stderr: false, stdout: false, can_prompt: false },
            Some("force") => {
                return Terminal {
                    stderr: true,
                    stdout: std::io::stdout().is_terminal(),
                    can_prompt: !no_prompt && controlling_terminal(),
                }
            }
            _ => {}
        }
        Terminal {
            stderr: std::io::stderr().is_terminal(),
            stdout: std::io::stdout().is_terminal(),
            can_prompt: !no_prompt && controlling_terminal(),
        }
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

/// A prompt is on the terminal (see [`prompt_on_screen`]).
static PROMPTING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
/// Progress bars that may be on the screen now (see [`bar_on_screen`]).
static BARS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// While the guard lives, a prompt is on the terminal: progress bars stop drawing (with `-Z`,
/// another transfer's bar wiped the password prompt it was drawn over).
pub fn prompt_on_screen() -> PromptOnScreen {
    PROMPTING.store(true, std::sync::atomic::Ordering::SeqCst);
    PromptOnScreen
}

pub struct PromptOnScreen;

impl Drop for PromptOnScreen {
    fn drop(&mut self) {
        PROMPTING.store(false, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Whether a prompt is on the terminal: a progress bar draws nothing meanwhile.
pub fn prompting() -> bool {
    PROMPTING.load(std::sync::atomic::Ordering::SeqCst)
}

/// Counts a progress bar as on the screen while the guard lives: a prompt then starts by
/// clearing the line the bar is on.
pub fn bar_on_screen() -> BarOnScreen {
    BARS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    BarOnScreen
}

pub struct BarOnScreen;

impl Drop for BarOnScreen {
    fn drop(&mut self) {
        BARS.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Whether a progress bar may be on the screen now.
pub fn bars_on_screen() -> bool {
    BARS.load(std::sync::atomic::Ordering::SeqCst) > 0
}

/// Whether this process is in the foreground of its controlling terminal: reading from it will
/// not stop the process (SIGTTIN), as it would `toll serve &`.
pub fn in_foreground() -> bool {
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        let Ok(tty) = std::fs::OpenOptions::new().read(true).write(true).open("/dev/tty") else {
            return false;
        };
        // SAFETY: tcgetpgrp on a descriptor we hold open; getpgrp cannot fail.
        let (fg, own) = unsafe { (libc::tcgetpgrp(tty.as_raw_fd()), libc::getpgrp()) };
        fg >= 0 && fg == own
    }
    #[cfg(not(unix))]
    {
        controlling_terminal()
    }
}

/// Text from a proxy or origin (realm, reason phrase, header) made safe for a terminal: control
/// characters, including ESC, become visible `\xNN` escapes, and so do the invisible characters
/// that can make text read differently from what it is (bidi overrides and isolates, zero-width
/// characters, the byte-order mark, line/paragraph separators: [`is_deceptive`]) as `\u{NNNN}`;
/// long text is cut in the middle, so the end of a message (an error's cause, after a long URL)
/// stays.
pub fn sanitize(text: &str) -> String {
    const MAX: usize = 400;
    if text.chars().nth(MAX).is_none() {
        return escaped(text);
    }
    // Only the first and the last MAX / 2 characters are looked at, whatever the text's length.
    let head_end = text.char_indices().nth(MAX / 2).map_or(text.len(), |(i, _)| i);
    let tail_start = text.char_indices().rev().nth(MAX / 2 - 1).map_or(0, |(i, _)| i);
    format!("{}…{}", escaped(&text[..head_end]), escaped(&text[tail_start..]))
}

/// [`sanitize`]'s escapes, for text of any length.
fn escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        if ch.is_control() && ch != '\t' {
            out.push_str(&format!("\\x{:02x}", ch as u32));
        } else if is_deceptive(ch) {
            out.push_str(&format!("\\u{{{:04x}}}", ch as u32));
        } else {
            out.push(ch);
        }
    }
    out
}

/// `data` as it may reach its destination: [`escape_for_terminal`]'s form where that is a
/// terminal, the bytes as received everywhere else (pipes and files get what curl writes).
pub fn shown_on(data: &[u8], to_terminal: bool) -> std::borrow::Cow<'_, [u8]> {
    match to_terminal {
        true => escape_for_terminal(data),
        false => std::borrow::Cow::Borrowed(data),
    }
}

/// What a server sent, for a terminal (`-i`, `-D`, `-w` values): [`sanitize`]'s escapes, but
/// line ends and tabs kept (a head is lines) and whatever length, and each byte that is not
/// UTF-8 as `\xNN` (a lone 0x9b is a terminal's CSI). Unchanged when nothing needs escaping.
pub fn escape_for_terminal(data: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let needs = |ch: char| (ch.is_control() && !matches!(ch, '\t' | '\r' | '\n')) || is_deceptive(ch);
    if std::str::from_utf8(data).is_ok_and(|s| !s.chars().any(needs)) {
        return std::borrow::Cow::Borrowed(data);
    }
    let mut out = Vec::with_capacity(data.len() + 16);
    for chunk in data.utf8_chunks() {
        for ch in chunk.valid().chars() {
            match ch {
                c if c.is_control() && needs(c) => out.extend(format!("\\x{:02x}", c as u32).bytes()),
                c if needs(c) => out.extend(format!("\\u{{{:04x}}}", c as u32).bytes()),
                c => out.extend(c.encode_utf8(&mut [0; 4]).bytes()),
            }
        }
        for b in chunk.invalid() {
            out.extend(format!("\\x{b:02x}").bytes());
        }
    }
    std::borrow::Cow::Owned(out)
}

/// A URL as toll prints it anywhere (`-v`, errors, doctor): a password in it becomes `***`.
/// The serialized URL is ASCII with controls percent-encoded, so nothing else needs escaping.
pub fn display_url(url: &url::Url) -> String {
    if url.password().is_none() {
        return url.to_string();
    }
    let mut u = url.clone();
    let _ = u.set_password(Some("***"));
    u.to_string()
}

/// [`display_url`] for text that is a URL as a URL parser wrote it or read it (`-w`'s URLs, a
/// request target, a `Location`): its password, as the parser splits the authority, becomes
/// `***`, and an `@` in its path or query stays (`/@types/node`, `?m=a@b`). Text that does not
/// parse gets [`redact_userinfo`]'s broader masking.
pub fn mask_url_password(s: &str) -> String {
    // Most have no `@` at all (`toll serve` logs every request through here): nothing to parse.
    if !s.contains('@') {
        return s.to_string();
    }
    let parsed = url::Url::parse(s).ok().filter(|_| s.contains("://"));
    let Some(u) = parsed else { return redact_userinfo(s) };
    if u.password().is_none() {
        return s.to_string();
    }
    // Kept as written (`%{url}` is the URL as given): the authority ends where the parser ends
    // it, at the first `/`, `?`, `#` (or `\` in an http URL), and its last `@` ends the password.
    let start = s.find("://").map_or(0, |i| i + 3);
    let end = s[start..].find(['/', '?', '#', '\\']).map_or(s.len(), |i| start + i);
    redact_userinfo(&s[..end]) + &s[end..]
}

/// [`display_url`] for text that may or may not be a URL (a request target, a raw `-x` or
/// `*_proxy` value), kept as written except that `user:password@` becomes `user:***@`. The last
/// `@` counts, so a password with an unencoded `@` or `/` is masked whole. The result may still
/// need [`sanitize`].
pub fn redact_userinfo(s: &str) -> String {
    let start = s.find("://").map_or(0, |i| i + 3);
    match s[start..].rfind('@') {
        Some(at) => {
            let info = &s[start..start + at];
            let user = info.split_once(':').map_or(info, |(u, _)| u);
            let masked = if info.contains(':') { format!("{user}:***") } else { user.to_string() };
            format!("{}{}{}", &s[..start], masked, &s[start + at..])
        }
        None => s.to_string(),
    }
}

/// Unicode format characters that reorder or hide text on a terminal ("Trojan Source",
/// CVE-2021-42574): bidi embeddings/overrides (U+202A–202E), isolates (U+2066–2069), the Arabic
/// letter mark (U+061C), zero-width space/joiners and the LRM/RLM marks (U+200B–200F), word
/// joiner and invisible operators (U+2060–2064), the deprecated shaping and swapping controls
/// (U+206A–206F), the soft hyphen (U+00AD) and the Mongolian vowel separator (U+180E), which
/// most terminals draw as nothing, the byte-order mark (U+FEFF), and the line and paragraph
/// separators (U+2028, U+2029), which some terminals treat as line breaks. Also what a name a
/// server chooses may not hold (`output::safe_file_name`): one list for both.
pub fn is_deceptive(ch: char) -> bool {
    matches!(ch,
        '\u{00ad}' | '\u{061c}' | '\u{180e}' | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206f}' | '\u{feff}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_control_characters() {
        assert_eq!(sanitize("Corp\x1b[31m\r\nX"), "Corp\\x1b[31m\\x0d\\x0aX");
        assert_eq!(sanitize("naïve realm"), "naïve realm");
        for len in [400, 401, 402, 1000] {
            let text: String = "é🙂\u{1b}".chars().cycle().take(len).collect();
            let cut = sanitize(&text);
            assert_eq!(cut.contains('…'), len > 400, "{len}");
            let last = text.chars().last().unwrap().to_string();
            assert!(cut.ends_with(&sanitize(&last)), "{len}: the end stays");
        }
        let cut = sanitize(&format!("{}{}", "a".repeat(1000), " failed: why"));
        assert!(cut.contains('…') && cut.ends_with(" failed: why") && cut.chars().count() == 401, "{cut}");
    }

    #[test]
    fn a_head_for_a_terminal_keeps_its_lines_and_loses_its_escapes() {
        let head = b"HTTP/1.1 404 Nope\xc2\x9b31m\r\nX-A: \x9b[2J\x1b]0;T\x07\xe2\x80\xaeX\tY\r\n\r\n";
        let out = escape_for_terminal(head);
        assert_eq!(
            String::from_utf8(out.into_owned()).unwrap(),
            "HTTP/1.1 404 Nope\\x9b31m\r\nX-A: \\x9b[2J\\x1b]0;T\\x07\\u{202e}X\tY\r\n\r\n"
        );
        let plain = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=\xc3\xa9\r\n\r\n";
        assert!(matches!(escape_for_terminal(plain), std::borrow::Cow::Borrowed(_)));
    }

    #[test]
    fn escapes_bidi_and_invisible_characters() {
        assert_eq!(sanitize("realm\u{202e}txt.exe"), "realm\\u{202e}txt.exe");
        for ch in [
            '\u{202a}', '\u{202d}', '\u{2066}', '\u{2069}', '\u{200b}', '\u{200f}', '\u{feff}', '\u{061c}',
            '\u{00ad}', '\u{180e}', '\u{2060}', '\u{206f}',
        ] {
            let out = sanitize(&format!("a{ch}b"));
            assert!(!out.contains(ch), "{:04x} passed through", ch as u32);
            assert_eq!(out, format!("a\\u{{{:04x}}}b", ch as u32));
        }
        assert_eq!(sanitize("a\u{2028}b\u{2029}c"), "a\\u{2028}b\\u{2029}c");
        // Ordinary non-ASCII text stays as it is.
        assert_eq!(sanitize("Proxy für Mitarbeiter — ok"), "Proxy für Mitarbeiter — ok");
    }

    #[test]
    fn urls_are_shown_without_their_password() {
        let u = url::Url::parse("http://user:s3cret@example.com:8080/p?q=1").unwrap();
        assert_eq!(display_url(&u), "http://user:***@example.com:8080/p?q=1");
        let plain = url::Url::parse("https://example.com/").unwrap();
        assert_eq!(display_url(&plain), "https://example.com/");
        assert_eq!(redact_userinfo("http://user:s3cret@example.com/"), "http://user:***@example.com/");
        // A URL's own: an `@` in the path or the query is not a password's end.
        assert_eq!(
            mask_url_password("http://localhost:4873/@types/node"),
            "http://localhost:4873/@types/node"
        );
        assert_eq!(mask_url_password("http://h/x?t=10:30&m=a@b.c"), "http://h/x?t=10:30&m=a@b.c");
        assert_eq!(mask_url_password("http://joe:pw@h:81/p?x=a@b"), "http://joe:***@h:81/p?x=a@b");
        assert_eq!(mask_url_password("http://joe@h/"), "http://joe@h/");
        assert_eq!(mask_url_password("not a url user:pw@h"), "not a url user:***@h");
        assert_eq!(redact_userinfo("user:s3cret@proxy:3128"), "user:***@proxy:3128");
        assert_eq!(redact_userinfo("example.com:443"), "example.com:443");
    }

    #[test]
    fn override_none_means_no_terminal() {
        assert_eq!(
            Terminal::detect(Some("none"), false),
            Terminal { stderr: false, stdout: false, can_prompt: false }
        );
    }
}
