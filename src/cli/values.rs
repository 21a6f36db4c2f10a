//! The values of the transfer options as clap parses them (`-x`, `-U`, `-H`, `-A`, `-X`,
//! `--max-redirs`, `-m`, `-d`): each checked once, with a message that never echoes a secret.

use super::*;

/// The raw `-x` value, kept as a secret because it may hold a password; it is parsed (with
/// password-free error messages) by the conversion, not by clap, which would echo it.
#[derive(Clone, Debug)]
pub struct ProxyArg(pub(super) Secret);

impl ProxyArg {
    /// The raw value (it may hold a password: keep it out of messages).
    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

impl FromStr for ProxyArg {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(ProxyArg(Secret::new(s)))
    }
}

/// `-U user[:password]`, split at the first ':'.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyUser {
    pub user: String,
    pub password: Option<Secret>,
}

impl FromStr for ProxyUser {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.contains(['\r', '\n', '\0']) {
            return Err("the user name or password contains a line break or NUL".into());
        }
        Ok(match s.split_once(':') {
            Some((user, password)) => ProxyUser { user: user.into(), password: Some(Secret::new(password)) },
            None => ProxyUser { user: s.into(), password: None },
        })
    }
}

/// A `-H 'Name: value'` header. The name must be an HTTP token; neither part may contain CR,
/// LF or NUL (they would let one header smuggle another).
#[derive(Clone, PartialEq, Eq)]
pub struct Header {
    pub name: String,
    pub value: String,
    /// `Name:` with nothing after the colon: as in curl, no such header is sent, not even the
    /// one toll would add itself (`-H 'User-Agent:'`, `-H 'Accept:'`, `-H 'Expect:'`).
    pub remove: bool,
}

impl FromStr for Header {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.contains(['\r', '\n', '\0']) {
            return Err("a header cannot contain a line break or NUL".into());
        }
        if s.chars().any(|c| c.is_ascii_control() && c != '\t') {
            return Err("a header cannot contain a control character".into());
        }
        // curl ignores `-H ''`.
        if s.is_empty() {
            return Ok(Header { name: String::new(), value: String::new(), remove: true });
        }
        // As curl, the value keeps its trailing blanks.
        let (name, value, remove) = match s.split_once(':') {
            Some((n, v)) => (n, v.trim_start(), v.trim().is_empty()),
            // curl's `Name;` sends the header with an empty value.
            None => match s.strip_suffix(';') {
                Some(n) => (n, "", false),
                None => return Err("expected 'Name: value' (no ':' found)".into()),
            },
        };
        if name.is_empty() {
            return Err("the header name is empty".into());
        }
        if let Some(c) = name.chars().find(|&c| !is_tchar(c)) {
            // Not the name itself: `-H 'Authorization Bearer TOKEN;'` makes the token a name.
            return Err(format!("the header name contains {c:?} (expected 'Name: value')"));
        }
        Ok(Header { name: name.into(), value: if remove { String::new() } else { value.into() }, remove })
    }
}

impl fmt::Debug for Header {
    /// Credentials in headers stay out of debug output.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secret = ["authorization", "proxy-authorization", "cookie"]
            .iter()
            .any(|n| self.name.eq_ignore_ascii_case(n));
        let value = if secret { "<redacted>" } else { &self.value };
        write!(f, "{}: {}", self.name, value)
    }
}

/// RFC 9110 §5.6.2 token characters.
fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

/// `-A`: a header value, so no line break (it would smuggle a header) or other control
/// character (reqwest would refuse it later, as an internal error).
pub(super) fn parse_user_agent(s: &str) -> Result<String, String> {
    field_text(s, "a User-Agent")
}

/// `-e`: the `Referer` field's value, held to `-A`'s rule.
pub(super) fn parse_referer(s: &str) -> Result<String, String> {
    field_text(s, "a Referer")
}

/// `-b`: cookie data (it holds a '=', as curl tells them apart) goes in the `Cookie` field,
/// held to `-A`'s rule; a file name is any name.
pub(super) fn parse_cookie(s: &str) -> Result<String, String> {
    match s.contains('=') {
        true => field_text(s, "cookie data"),
        false => Ok(s.to_string()),
    }
}

/// `--request-target`: the request line's middle, so no space (it would end it) and no line
/// break or other control character (one would start a header).
pub(super) fn parse_request_target(s: &str) -> Result<String, String> {
    if s.is_empty() || s.contains(' ') {
        return Err("a request target cannot be empty or contain a space (write %20)".into());
    }
    field_text(s, "a request target")
}

fn field_text(s: &str, what: &str) -> Result<String, String> {
    if s.chars().any(|c| c.is_ascii_control() && c != '\t') {
        return Err(format!("{what} cannot contain a line break or other control character"));
    }
    Ok(s.to_string())
}

pub(super) fn parse_method(s: &str) -> Result<String, String> {
    if !s.is_empty() && s.chars().all(is_tchar) {
        Ok(s.to_string())
    } else {
        Err("a method is a single word such as GET, POST or PUT".into())
    }
}

pub(super) fn parse_max_redirs(s: &str) -> Result<usize, String> {
    match s.parse::<i64>() {
        Ok(-1) => Ok(usize::MAX),
        Ok(n) if n >= 0 => usize::try_from(n).map_err(|e| e.to_string()),
        _ => Err("expected a number of redirects, or -1 for no limit".into()),
    }
}

/// A duration in seconds, fractions allowed (`-m 2.5`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seconds(pub Duration);

impl FromStr for Seconds {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("'{s}' is not a number of seconds");
        let n: f64 = s.trim().parse().map_err(|_| bad())?;
        if !n.is_finite() || n < 0.0 {
            return Err(bad());
        }
        Duration::try_from_secs_f64(n).map(Seconds).map_err(|_| bad())
    }
}

/// One piece of a body that several data options make (`-d a --data-urlencode b`), in the
/// order given: curl joins them with '&' that way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DataPiece {
    /// `-d`/`--data-ascii`: an `@FILE` loses its CR and LF.
    Data(DataArg),
    /// `--data-binary`.
    Binary(DataArg),
    /// `--data-raw`: no `@`.
    Raw(String),
    /// `--data-urlencode`.
    Urlencode(String),
}

/// A `-d`/`--data-binary`/`--json` value: inline, `@file` or `@-` (standard input).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DataArg {
    Inline(String),
    File(PathBuf),
    Stdin,
}

impl FromStr for DataArg {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.strip_prefix('@') {
            Some("-") => DataArg::Stdin,
            Some("") => return Err("a file name must follow '@' (use @- for standard input)".into()),
            Some(path) => DataArg::File(path.into()),
            None => DataArg::Inline(s.into()),
        })
    }
}
