//! curl's URL globbing (off with `-g/--globoff`): `{a,b}` alternatives, `[1-3]`, `[01-10]`,
//! `[a-c]` and `[1-10:2]` ranges, `\` escaping a glob character, an IPv6 literal `[::1]` taken
//! as it is — and `#N` in `-o` naming the Nth glob's value.
//!
//! A pattern stands for every combination of its globs' values, the rightmost glob changing
//! fastest (`{a,b}[1-2]`: a1, a2, b1, b2), as curl orders them; each is a URL of its own on the
//! command line. Errors are usage errors (curl exits 3; toll's 3 is the PAC's).

/// The most URLs one pattern may stand for: curl has no limit but memory; toll holds every
/// URL's request up front, so a typo like `[1-99999999]` is refused instead of exhausting memory.
pub const MAX_URLS: u64 = 100_000;
/// curl's limit on the globs of one pattern (`GLOB_PATTERN_NUM`).
const MAX_GLOBS: usize = 100;

/// curl's URL globbing (unless `-g`): every URL the pattern stands for, in curl's order, each
/// with its glob values for `#N` in `-o`.
pub fn glob_urls(raw: &str, globoff: bool) -> Result<Vec<Expanded>, super::UsageError> {
    if globoff {
        return Ok(vec![Expanded { url: raw.to_string(), values: Vec::new() }]);
    }
    expand(raw).map_err(|e| {
        super::UsageError::Curl(format!("URL '{}': {e}", crate::proxy_env::redact_userinfo(raw)))
    })
}

/// One glob of the pattern: its values in order.
type Values = Vec<String>;

/// One URL a pattern stands for, with each glob's value (for `#N`).
#[derive(Debug, PartialEq, Eq)]
pub struct Expanded {
    pub url: String,
    pub values: Vec<String>,
}

/// Expands `pattern`; `Err` says what is wrong, as curl words it, with the 1-based position.
pub fn expand(pattern: &str) -> Result<Vec<Expanded>, String> {
    let parts = parse(pattern)?;
    let globs: Vec<&Values> = parts
        .iter()
        .filter_map(|p| match p {
            Part::Glob(v) => Some(v),
            Part::Text(_) => None,
        })
        .collect();
    if globs.len() > MAX_GLOBS {
        return Err(format!("too many globs (more than {MAX_GLOBS})"));
    }
    let count = globs.iter().try_fold(1u64, |n, v| n.checked_mul(v.len() as u64).filter(|n| *n <= MAX_URLS));
    let Some(count) = count else {
        return Err(format!(
            "the URL pattern expands to more than {MAX_URLS} URLs: split it, or give -g/--globoff \
             to take '{{}}' and '[]' literally"
        ));
    };
    // An odometer over the globs' value indexes, the rightmost turning fastest.
    let mut index = vec![0usize; globs.len()];
    let mut out = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
    for _ in 0..count {
        let (mut url, mut values, mut g) = (String::new(), Vec::with_capacity(globs.len()), 0);
        for part in &parts {
            match part {
                Part::Text(t) => url.push_str(t),
                Part::Glob(v) => {
                    url.push_str(&v[index[g]]);
                    values.push(v[index[g]].clone());
                    g += 1;
                }
            }
        }
        out.push(Expanded { url, values });
        for k in (0..globs.len()).rev() {
            index[k] += 1;
            if index[k] < globs[k].len() {
                break;
            }
            index[k] = 0;
        }
    }
    Ok(out)
}

/// `-o` with `#N`: the Nth glob's value (a `#N` with no such glob stays as it is, as in curl).
pub fn name_output(template: &str, values: &[String]) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(i) = rest.find('#') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        let n: Option<usize> = after[..digits].parse().ok();
        match n.and_then(|n| n.checked_sub(1)).and_then(|n| values.get(n)) {
            Some(v) => {
                out.push_str(v);
                rest = &after[digits..];
            }
            None => {
                out.push('#');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// `-o FILE` with `#N` named from the glob values (other targets as they are).
pub fn name_output_target(
    output: crate::config::OutputTarget,
    values: &[String],
) -> crate::config::OutputTarget {
    match output {
        crate::config::OutputTarget::File(p) if !values.is_empty() => {
            crate::config::OutputTarget::File(name_output(&p.to_string_lossy(), values).into())
        }
        other => other,
    }
}

enum Part {
    Text(String),
    Glob(Values),
}

fn parse(p: &str) -> Result<Vec<Part>, String> {
    let b = p.as_bytes();
    let at = |what: &str, pos: usize| format!("{what} in URL position {}", pos + 1);
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' if i + 1 < b.len() && b"{}[],".contains(&b[i + 1]) => {
                text.push(b[i + 1] as char);
                i += 2;
            }
            b'{' => {
                let (values, next) = set(p, i)?;
                parts.push(Part::Text(std::mem::take(&mut text)));
                parts.push(Part::Glob(values));
                i = next;
            }
            b'[' => {
                if let Some(end) = ipv6_literal(p, i) {
                    text.push_str(&p[i..end]);
                    i = end;
                    continue;
                }
                let (values, next) = range(p, i)?;
                parts.push(Part::Text(std::mem::take(&mut text)));
                parts.push(Part::Glob(values));
                i = next;
            }
            b'}' | b']' => return Err(at("unmatched close brace/bracket", i)),
            _ => {
                // Copy one whole character (the URL may hold UTF-8).
                let len = p[i..].chars().next().map_or(1, char::len_utf8);
                text.push_str(&p[i..i + len]);
                i += len;
            }
        }
    }
    parts.push(Part::Text(text));
    Ok(parts)
}

/// `[` at `start` begins an IPv6 address literal (`[::1]`, `[fe80::1%25eth0]`): its end.
fn ipv6_literal(p: &str, start: usize) -> Option<usize> {
    let close = p[start..].find(']')? + start;
    let inner = &p[start + 1..close];
    let addr = inner.split('%').next()?;
    (inner.contains(':') && addr.parse::<std::net::Ipv6Addr>().is_ok()).then_some(close + 1)
}

/// `{a,b,c}` at `start`: the values and the index after `}`.
fn set(p: &str, start: usize) -> Result<(Values, usize), String> {
    let b = p.as_bytes();
    let at = |what: &str, pos: usize| format!("{what} in URL position {}", pos + 1);
    let mut values = Vec::new();
    let mut cur = String::new();
    let mut i = start + 1;
    while i < b.len() {
        match b[i] {
            b'\\' if i + 1 < b.len() && b"{}[],".contains(&b[i + 1]) => {
                cur.push(b[i + 1] as char);
                i += 2;
                continue;
            }
            b'{' | b'[' => return Err(at("nested brace", i)),
            b',' | b'}' => {
                if cur.is_empty() && b[i] == b'}' && values.is_empty() {
                    return Err(at("empty string within braces", i));
                }
                values.push(std::mem::take(&mut cur));
                if b[i] == b'}' {
                    return Ok((values, i + 1));
                }
            }
            _ => {
                let len = p[i..].chars().next().map_or(1, char::len_utf8);
                cur.push_str(&p[i..i + len]);
                i += len;
                continue;
            }
        }
        i += 1;
    }
    Err(at("unmatched brace", start))
}

/// `[1-3]`, `[01-10]`, `[a-c]`, with an optional `:STEP`, at `start`.
fn range(p: &str, start: usize) -> Result<(Values, usize), String> {
    let close = p[start..].find(']').map(|c| c + start);
    let bad = |pos: usize| format!("bad range in URL position {}", pos + 1);
    let Some(close) = close else { return Err(bad(start + 1)) };
    let inner = &p[start + 1..close];
    let (span, step) = match inner.split_once(':') {
        Some((s, st)) => (s, st.parse::<u64>().ok().filter(|n| *n > 0).ok_or_else(|| bad(close))?),
        None => (inner, 1),
    };
    let (lo, hi) = span.split_once('-').ok_or_else(|| bad(close))?;
    let is_letter = |s: &str| s.len() == 1 && s.as_bytes()[0].is_ascii_alphabetic();
    if is_letter(lo) && is_letter(hi) {
        let (a, z) = (lo.as_bytes()[0], hi.as_bytes()[0]);
        if a > z || a.is_ascii_lowercase() != z.is_ascii_lowercase() {
            return Err(bad(close));
        }
        let values =
            (a..=z).step_by(usize::try_from(step).unwrap_or(usize::MAX)).map(|c| (c as char).to_string());
        return Ok((values.collect(), close + 1));
    }
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    if !digits(lo) || !digits(hi) {
        return Err(bad(close));
    }
    let (a, z): (u64, u64) = (lo.parse().map_err(|_| bad(close))?, hi.parse().map_err(|_| bad(close))?);
    if a > z {
        return Err(bad(close));
    }
    // A leading zero pads every value to the first number's width.
    let width = if lo.starts_with('0') && lo.len() > 1 { lo.len() } else { 0 };
    let count = (z - a) / step + 1;
    if count > MAX_URLS {
        return Err(format!(
            "the range at URL position {} expands to {count} URLs (more than {MAX_URLS})",
            start + 1
        ));
    }
    let values = (0..count).map(|k| format!("{:0width$}", a + k * step)).collect();
    Ok((values, close + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(p: &str) -> String {
        let mut all = expand(p).unwrap();
        assert_eq!(all.len(), 1, "{p}");
        all.remove(0).url
    }

    fn urls(p: &str) -> Vec<String> {
        expand(p).unwrap().into_iter().map(|e| e.url).collect()
    }

    #[test]
    fn single_expansions() {
        assert_eq!(one("http://h/{a}"), "http://h/a");
        assert_eq!(one("http://h/[5-5].txt"), "http://h/5.txt");
        assert_eq!(one("http://h/[c-c]"), "http://h/c");
        assert_eq!(one("http://h/[07-7]"), "http://h/07");
        assert_eq!(one(r"http://h/\{a\}"), "http://h/{a}");
        assert_eq!(one(r"http://h/{a\,b}"), "http://h/a,b");
        assert_eq!(one(r#"http://h/?q={"a":1}"#), r#"http://h/?q="a":1"#);
        assert_eq!(one("http://[::1]:9/x"), "http://[::1]:9/x");
        assert_eq!(one("http://[fe80::1%25eth0]/"), "http://[fe80::1%25eth0]/");
        assert_eq!(one("http://h/plain?x=1"), "http://h/plain?x=1");
        assert_eq!(one("http://h/ünï"), "http://h/ünï");
        assert_eq!(expand("http://h/{a}/[2-2]").unwrap()[0].values, ["a", "2"]);
    }

    #[test]
    fn sets_and_ranges_expand_in_curls_order() {
        assert_eq!(urls("http://h/{a,b}"), ["http://h/a", "http://h/b"]);
        assert_eq!(urls("http://h/{a,,b}"), ["http://h/a", "http://h/", "http://h/b"]);
        assert_eq!(urls("http://h/[1-3]"), ["http://h/1", "http://h/2", "http://h/3"]);
        assert_eq!(urls("http://h/[a-c]"), ["http://h/a", "http://h/b", "http://h/c"]);
        assert_eq!(urls("http://h/[A-E:2]"), ["http://h/A", "http://h/C", "http://h/E"]);
        assert_eq!(urls("http://h/[1-10:4]"), ["http://h/1", "http://h/5", "http://h/9"]);
        assert_eq!(urls("http://h/[08-11]"), ["http://h/08", "http://h/09", "http://h/10", "http://h/11"]);
        // The rightmost glob turns fastest.
        assert_eq!(urls("h/{a,b}[1-2]"), ["h/a1", "h/a2", "h/b1", "h/b2"]);
        let all = expand("h/{x,y}/[1-2]/{p,q}").unwrap();
        assert_eq!(all.len(), 8);
        assert_eq!(
            all[5],
            Expanded { url: "h/y/1/q".into(), values: vec!["y".into(), "1".into(), "q".into()] }
        );
        assert_eq!(urls("[::1]/{a,b}"), ["[::1]/a", "[::1]/b"]);
    }

    #[test]
    fn too_many_urls_are_refused() {
        assert!(expand("http://h/[1-100000]").is_ok());
        assert!(expand("http://h/[1-100001]").unwrap_err().contains("more than 100000"));
        assert!(expand("http://h/[1-1000][1-1000]").unwrap_err().contains("more than 100000"));
        assert!(expand(&"{a}".repeat(101)).unwrap_err().starts_with("too many globs"));
        assert_eq!(expand(&"{a}".repeat(100)).unwrap().len(), 1);
    }

    #[test]
    fn malformed_patterns_as_curl_words_them() {
        assert_eq!(
            expand("http://127.0.0.1:9/a}b").unwrap_err(),
            "unmatched close brace/bracket in URL position 21"
        );
        assert_eq!(
            expand("http://127.0.0.1:9/a]b").unwrap_err(),
            "unmatched close brace/bracket in URL position 21"
        );
        assert_eq!(expand("http://127.0.0.1:9/{a").unwrap_err(), "unmatched brace in URL position 20");
        assert_eq!(
            expand("http://127.0.0.1:9/{}").unwrap_err(),
            "empty string within braces in URL position 21"
        );
        assert_eq!(expand("http://127.0.0.1:9/{a,{b}}").unwrap_err(), "nested brace in URL position 23");
        assert!(expand("http://h/[1-]").unwrap_err().starts_with("bad range"));
        assert!(expand("http://h/[3-1]").unwrap_err().starts_with("bad range"));
        assert!(expand("http://h/[a-Z]").unwrap_err().starts_with("bad range"));
        assert!(expand("http://h/[1-2:0]").unwrap_err().starts_with("bad range"));
        assert!(expand("http://h/[1-999999999]").unwrap_err().contains("expands to"));
        assert!(glob_urls("http://h/{a", false).is_err());
        assert_eq!(glob_urls("http://h/{a", true).unwrap()[0].url, "http://h/{a");
    }

    #[test]
    fn output_names_take_the_glob_values() {
        let v = vec!["a".to_string(), "07".to_string()];
        assert_eq!(name_output("out_#1_#2.txt", &v), "out_a_07.txt");
        assert_eq!(name_output("#3#", &v), "#3#");
        assert_eq!(name_output("x#", &v), "x#");
        assert_eq!(name_output("#11", &v), "#11");
        assert_eq!(name_output("plain", &[]), "plain");
    }
}
