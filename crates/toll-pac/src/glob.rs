//! `shExpMatch` without a regular expression, for patterns where the browsers' translation
//! (`.` → `\.`, `*` → `.*`, `?` → `.`, anchored) gives a plain wildcard match: no other
//! regular-expression character in the pattern. Matching is on UTF-16 code units and `*`/`?`
//! do not match line terminators, exactly as the JavaScript `RegExp` would.

/// Characters that keep a regular-expression meaning after the browsers' translation.
const REGEX_META: &[u16] = &[
    b'\\' as u16,
    b'^' as u16,
    b'$' as u16,
    b'+' as u16,
    b'(' as u16,
    b')' as u16,
    b'[' as u16,
    b']' as u16,
    b'{' as u16,
    b'}' as u16,
    b'|' as u16,
];

fn is_line_terminator(c: u16) -> bool {
    matches!(c, 0x0a | 0x0d | 0x2028 | 0x2029)
}

/// `Some(matched)`, or `None` when the `RegExp` path must decide (a regular-expression character
/// in the pattern, or a line terminator anywhere, which `.` does not match).
pub fn sh_exp_match(text: &str, pattern: &str) -> Option<bool> {
    let p: Vec<u16> = pattern.encode_utf16().collect();
    let t: Vec<u16> = text.encode_utf16().collect();
    if p.iter().any(|c| REGEX_META.contains(c) || is_line_terminator(*c))
        || t.iter().any(|c| is_line_terminator(*c))
    {
        return None;
    }
    Some(wildcard(&t, &p))
}

/// Iterative wildcard matching with single-star backtracking (linear for typical patterns).
fn wildcard(t: &[u16], p: &[u16]) -> bool {
    const STAR: u16 = b'*' as u16;
    const ANY: u16 = b'?' as u16;
    let (mut ti, mut pi) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == STAR {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && (p[pi] == ANY || p[pi] == t[ti]) {
            ti += 1;
            pi += 1;
        } else if let Some((sp, st)) = star {
            star = Some((sp, st + 1));
            pi = sp + 1;
            ti = st + 1;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == STAR)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        let m = |t, p| sh_exp_match(t, p).unwrap();
        assert!(m("www.example.com", "*.example.com"));
        assert!(!m("example.com", "*.example.com"));
        assert!(m("abc", "a?c") && !m("ac", "a?c") && !m("abbc", "a?c"));
        assert!(m("", "*") && m("", "") && !m("x", ""));
        assert!(m("a.b.c", "*.c") && m("aXbXc", "a*b*c") && !m("aXbXd", "a*b*c"));
        assert!(m("mississippi", "*sip*") && m("mississippi", "m*iss*ppi") && !m("mississippi", "m*x*"));
        assert!(!m("Example.com", "example.com"));
        assert!(m("é.example", "?.example"));
        assert!(m("😀", "??"), "UTF-16 code units, as RegExp without the u flag");
    }

    #[test]
    fn regex_characters_take_the_regexp_path() {
        for p in ["[a-c]", "a+b", "(a|b)", "^a", "a$", "a{2}", "a\\.b", "a\nb"] {
            assert_eq!(sh_exp_match("x", p), None, "{p}");
        }
        assert_eq!(sh_exp_match("a\nb", "a*b"), None);
    }
}
