//! `-n/--netrc`, `--netrc-optional`, `--netrc-file`: the `.netrc` format curl reads, parsed by
//! a pure function ([`parse_netrc`]) and looked up by host ([`Netrc::lookup`]).
//!
//! Tokens are separated by white space; a token may be double-quoted (`\"`, `\\`, `\n`, `\t`
//! escapes inside), as in curl 7.84 and later. `machine NAME` starts an entry, `default` the
//! entry for every other host; `login` and `password` fill it; `account` is read and ignored;
//! `macdef NAME` skips its macro up to the next empty line; a token that starts with `#` starts a
//! comment to the end of the line (outside quotes), as curl reads it. As in curl, the first entry
//! whose machine matches the host (case-insensitively) wins, else `default`; when the URL names
//! the user ([`Netrc::lookup_login`]), only an entry for that login (or one without a login).

pub use crate::config::{Netrc, NetrcEntry};
use crate::secret::Secret;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NetrcError {
    #[error("line {line}: '{keyword}' needs a value")]
    MissingValue { line: usize, keyword: String },
    #[error("line {line}: '{keyword}' outside a machine or default entry")]
    OutsideEntry { line: usize, keyword: String },
    #[error("line {line}: unterminated quoted string")]
    Unterminated { line: usize },
}

/// Splits into (token, line number), honouring quotes and skipping `macdef` bodies.
fn tokens(text: &str) -> Result<Vec<(String, usize)>, NetrcError> {
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate().peekable();
    while let Some((n, line)) = lines.next() {
        let line_no = n + 1;
        let mut chars = line.chars().peekable();
        let mut in_macdef = false;
        loop {
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
            let Some(&first) = chars.peek() else { break };
            if first == '#' {
                // The rest of the line is a comment (curl's rule: `#` starting a token).
                break;
            }
            let mut tok = String::new();
            if first == '"' {
                chars.next();
                loop {
                    match chars.next() {
                        None => return Err(NetrcError::Unterminated { line: line_no }),
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some('n') => tok.push('\n'),
                            Some('t') => tok.push('\t'),
                            Some('r') => tok.push('\r'),
                            Some(c) => tok.push(c),
                            None => return Err(NetrcError::Unterminated { line: line_no }),
                        },
                        Some(c) => tok.push(c),
                    }
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() {
                        break;
                    }
                    tok.push(c);
                    chars.next();
                }
            }
            if tok == "macdef"
                && out.last().is_none_or(|(t, _): &(String, usize)| t != "password" && t != "login")
            {
                in_macdef = true;
            }
            out.push((tok, line_no));
        }
        if in_macdef {
            // The macro's body runs to the next empty line.
            for (_, l) in lines.by_ref() {
                if l.trim().is_empty() {
                    break;
                }
            }
        }
    }
    Ok(out)
}

/// Parses a `.netrc` file's text.
pub fn parse_netrc(text: &str) -> Result<Netrc, NetrcError> {
    let toks = tokens(text)?;
    let mut netrc = Netrc::default();
    let mut i = 0;
    while i < toks.len() {
        let (kw, line) = (&toks[i].0, toks[i].1);
        let value = |i: usize| {
            toks.get(i + 1)
                .map(|(v, _)| v.clone())
                .ok_or_else(|| NetrcError::MissingValue { line, keyword: kw.clone() })
        };
        match kw.as_str() {
            "machine" => {
                netrc.entries.push(NetrcEntry { machine: Some(value(i)?), login: None, password: None });
                i += 2;
            }
            "default" => {
                netrc.entries.push(NetrcEntry { machine: None, login: None, password: None });
                i += 1;
            }
            "login" | "password" | "account" => {
                let v = value(i)?;
                let entry = netrc
                    .entries
                    .last_mut()
                    .ok_or_else(|| NetrcError::OutsideEntry { line, keyword: kw.clone() })?;
                match kw.as_str() {
                    "login" => entry.login = Some(v),
                    "password" => entry.password = Some(Secret::new(v)),
                    _ => {}
                }
                i += 2;
            }
            "macdef" => i += 2,
            // Unknown words are skipped, as curl does.
            _ => i += 1,
        }
    }
    Ok(netrc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machines_default_and_first_match() {
        let n = parse_netrc(
            "machine a.example login joe password pw\n\
             machine A.EXAMPLE login second password x\n\
             default login anon password guest\n",
        )
        .unwrap();
        let a = n.lookup("a.example").unwrap();
        assert_eq!((a.login.as_deref(), a.password.as_ref().map(Secret::expose)), (Some("joe"), Some("pw")));
        assert_eq!(n.lookup("other").unwrap().login.as_deref(), Some("anon"));
        let no_default = parse_netrc("machine a login x").unwrap();
        assert!(no_default.lookup("b").is_none());
    }

    #[test]
    fn multi_line_quotes_macdef_account() {
        let n = parse_netrc(
            "machine h\n  login \"with space\"\n  account acct\n  password \"q\\\"uo\\\\te\"\n\
             macdef init\ncd /\nls\n\nmachine after login z password zz\n",
        )
        .unwrap();
        let h = n.lookup("h").unwrap();
        assert_eq!(h.login.as_deref(), Some("with space"));
        assert_eq!(h.password.as_ref().map(Secret::expose), Some("q\"uo\\te"));
        assert_eq!(n.lookup("after").unwrap().login.as_deref(), Some("z"));
        assert_eq!(n.entries.len(), 2);
    }

    #[test]
    fn comments_and_the_urls_user() {
        let n = parse_netrc(
            "# machine h login evil password evil\n\
             machine h login alice password apw # machine h login evil password evil\n\
             machine h login joe password \"j#pw\"\n\
             machine h password anyone\n\
             default login joe password djpw\n",
        )
        .unwrap();
        assert_eq!(n.entries.len(), 4, "{n:?}");
        let pw = |e: Option<&NetrcEntry>| e.and_then(|e| e.password.as_ref()).map(|p| p.expose().to_string());
        assert_eq!(pw(n.lookup("h")).as_deref(), Some("apw"));
        assert_eq!(pw(n.lookup_login("h", "joe")).as_deref(), Some("j#pw"), "quoted: not a comment");
        assert_eq!(pw(n.lookup_login("h", "bob")).as_deref(), Some("anyone"), "an entry without a login");
        assert_eq!(pw(n.lookup_login("other", "joe")).as_deref(), Some("djpw"));
        assert_eq!(n.lookup_login("other", "bob"), None, "never another user's password");
    }

    #[test]
    fn malformed_input_is_an_error_never_a_panic() {
        assert_eq!(
            parse_netrc("machine"),
            Err(NetrcError::MissingValue { line: 1, keyword: "machine".into() })
        );
        assert_eq!(
            parse_netrc("login x"),
            Err(NetrcError::OutsideEntry { line: 1, keyword: "login".into() })
        );
        assert_eq!(parse_netrc("machine h password \"open"), Err(NetrcError::Unterminated { line: 1 }));
        for junk in ["", "\"", "\\", "default default", "machine h login", "macdef", "\u{0}\u{ff}"] {
            let _ = parse_netrc(junk);
        }
        assert_eq!(parse_netrc("").unwrap(), Netrc::default());
    }
}
