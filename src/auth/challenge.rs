//! `Proxy-Authenticate` challenge parsing (RFC 7235 §2.1, §4.3).
//!
//! ```text
//! Proxy-Authenticate = 1#challenge                                  (RFC 7235 §4.3)
//! challenge  = auth-scheme [ 1*SP ( token68 / #auth-param ) ]       (RFC 7235 §2.1)
//! auth-param = token BWS "=" BWS ( token / quoted-string )
//! token68    = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
//! ```
//!
//! This is a hand-written tokenizer (RFC 7230 §3.2.6 `token` / `quoted-string`, §7 list rules)
//! rather than `http_auth::parser`, because the proxies toll meets send what that parser rejects
//! by design: token68 challenges (`NTLM TlRMTVNTUAACAAAA…`, `Negotiate oRUw…`), bare `NTLM`, and
//! non-ASCII `obs-text` in quoted strings; and it stops at the first error, while one odd challenge
//! must not hide a usable one next to it. On the inputs `http_auth` accepts, both parsers agree
//! (see the differential test below).
//!
//! The grammar is ambiguous because commas separate both challenges and auth-params. An element
//! after a comma that looks like `token BWS "="` is a parameter of the current challenge;
//! anything else starts a new challenge.
//!
//! Deliberate leniencies (they never change the meaning of a well-formed header): an unquoted
//! parameter value may hold any visible character except `,` and `"` (some proxies send
//! `nonce=abc/def==` unquoted); tabs count as the space after the scheme. A malformed challenge is
//! dropped together with its remaining parameters, and parsing resumes at the next element that
//! looks like a challenge.

use super::Scheme;

/// One challenge from a `Proxy-Authenticate` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    /// The scheme when toll knows it; `None` for others (kept so messages can name them).
    pub scheme: Option<Scheme>,
    /// The scheme token as the proxy sent it.
    pub scheme_name: String,
    /// A token68 (e.g. `NTLM TlRMTVNTUAACAAAA…`), when the challenge carries one.
    pub token68: Option<String>,
    /// auth-params: names lower-cased, values unquoted and unescaped, in order.
    pub params: Vec<(String, String)>,
}

impl Challenge {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn realm(&self) -> Option<&str> {
        self.param("realm")
    }

    fn new(scheme_name: &str) -> Challenge {
        Challenge {
            scheme: Scheme::from_name(scheme_name),
            scheme_name: scheme_name.to_owned(),
            token68: None,
            params: Vec::new(),
        }
    }
}

/// Every challenge in `values` (one item per `Proxy-Authenticate` header line, each possibly a
/// comma-separated list). A malformed challenge contributes nothing, but the well-formed ones
/// around it still count; never panics.
pub fn parse_challenges<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<Challenge> {
    let mut out = Vec::new();
    for value in values {
        // Each header line is its own list (RFC 7230 §3.2.2): a challenge never spans two.
        parse_list(value, &mut out);
    }
    out
}

/// Every challenge in raw `Proxy-Authenticate` header values, each decoded by [`header_text`]:
/// what the relay and doctor both parse, so they agree on what a proxy offered.
pub fn parse_challenge_headers<'a>(values: impl IntoIterator<Item = &'a [u8]>) -> Vec<Challenge> {
    let texts: Vec<String> = values.into_iter().map(header_text).collect();
    parse_challenges(texts.iter().map(String::as_str))
}

/// A header value's bytes as text. RFC 9110 §5.5 allows obs-text (bytes 0x80–0xFF) in field
/// values, and proxies put non-ASCII realms there in whatever encoding they were configured
/// with: valid UTF-8 is read as UTF-8, anything else as ISO-8859-1 (each byte one character),
/// so no value is ever dropped or mangled into U+FFFD. The one decoding for challenges
/// everywhere: the relay, `-v`, doctor and its report.
pub fn header_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

/// A syntax error inside one list element; the caller drops the challenge and resynchronizes.
struct Malformed;

fn parse_list(input: &str, out: &mut Vec<Challenge>) {
    let mut cur = Cursor { s: input.as_bytes(), pos: 0 };
    let mut current: Option<Challenge> = None;
    loop {
        cur.skip_separators();
        if cur.at_end() {
            break;
        }
        let start = cur.pos;
        if cur.looks_like_param() {
            // A parameter with no challenge in front of it belongs to one that was dropped; a
            // token68 cannot be followed by parameters.
            let open = current.as_mut().filter(|c| c.token68.is_none());
            let parsed = open.map(|c| cur.param_element().map(|p| c.params.push(p)));
            if !matches!(parsed, Some(Ok(()))) {
                current = None;
                cur.skip_element_from(start);
            }
            continue;
        }
        out.extend(current.take());
        match cur.challenge_head() {
            Ok(c) => current = Some(c),
            Err(Malformed) => cur.skip_element_from(start),
        }
    }
    out.extend(current);
}

struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    /// The `#rule` allows empty elements and OWS around commas (RFC 7230 §7).
    fn skip_separators(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b',')) {
            self.pos += 1;
        }
    }

    fn token(&mut self) -> Option<&str> {
        let start = self.pos;
        while self.peek().is_some_and(is_tchar) {
            self.pos += 1;
        }
        // tchar is ASCII-only, so the slice is valid UTF-8 and on char boundaries.
        (self.pos > start).then(|| std::str::from_utf8(&self.s[start..self.pos]).unwrap_or_default())
    }

    /// After an element: OWS, then a comma or the end.
    fn element_ends(&mut self) -> bool {
        self.skip_ows();
        matches!(self.peek(), None | Some(b','))
    }

    /// `token BWS "="`, without consuming anything.
    fn looks_like_param(&mut self) -> bool {
        let start = self.pos;
        let yes = self.token().is_some() && {
            self.skip_ows();
            self.peek() == Some(b'=')
        };
        self.pos = start;
        yes
    }

    /// `auth-scheme [ 1*SP ( token68 / auth-param ) ]`: the part of a challenge up to its first
    /// comma. Further auth-params come as their own list elements.
    fn challenge_head(&mut self) -> Result<Challenge, Malformed> {
        let mut c = Challenge::new(self.token().ok_or(Malformed)?);
        let before_space = self.pos;
        if self.element_ends() {
            return Ok(c);
        }
        if self.pos == before_space {
            return Err(Malformed); // e.g. `Basic"x"`: the scheme must be followed by space
        }
        if let Some(t) = self.token68_element() {
            c.token68 = Some(t);
        } else {
            c.params.push(self.param_element()?);
        }
        Ok(c)
    }

    /// A token68 that fills the rest of the element, or `None` (nothing consumed). Tried before
    /// auth-param: `abc=` is a token68, `abc=def` an auth-param.
    fn token68_element(&mut self) -> Option<String> {
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b)) {
            self.pos += 1;
        }
        let body_end = self.pos;
        while self.peek() == Some(b'=') {
            self.pos += 1;
        }
        let end = self.pos;
        if body_end > start && self.element_ends() {
            Some(String::from_utf8_lossy(&self.s[start..end]).into_owned())
        } else {
            self.pos = start;
            None
        }
    }

    /// `token BWS "=" BWS ( token / quoted-string )`, then the end of the element.
    fn param_element(&mut self) -> Result<(String, String), Malformed> {
        let name = self.token().ok_or(Malformed)?.to_ascii_lowercase();
        self.skip_ows();
        if self.peek() != Some(b'=') {
            return Err(Malformed);
        }
        self.pos += 1;
        self.skip_ows();
        let value = if self.peek() == Some(b'"') { self.quoted_string()? } else { self.bare_value()? };
        if !self.element_ends() {
            return Err(Malformed);
        }
        Ok((name, value))
    }

    /// RFC 7230 §3.2.6 quoted-string, unescaped.
    fn quoted_string(&mut self) -> Result<String, Malformed> {
        self.pos += 1; // the opening quote
        let mut value = Vec::new();
        loop {
            let b = self.peek().ok_or(Malformed)?;
            self.pos += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    let escaped = self.peek().filter(|&e| e == b'\t' || e == b' ' || is_vchar_or_obs(e));
                    value.push(escaped.ok_or(Malformed)?);
                    self.pos += 1;
                }
                b'\t' | b' ' => value.push(b),
                _ if is_vchar_or_obs(b) => value.push(b),
                _ => return Err(Malformed),
            }
        }
        // Only ASCII backslashes were removed from valid UTF-8, so this never loses anything.
        Ok(String::from_utf8(value).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
    }

    /// An unquoted value: a token, leniently any run of visible characters but `,` and `"`.
    fn bare_value(&mut self) -> Result<String, Malformed> {
        let start = self.pos;
        while self.peek().is_some_and(|b| is_vchar_or_obs(b) && b != b',' && b != b'"') {
            self.pos += 1;
        }
        if self.pos == start {
            return Err(Malformed);
        }
        Ok(String::from_utf8_lossy(&self.s[start..self.pos]).into_owned())
    }

    /// Resynchronize after an error: from `start`, skip to the next comma outside a quoted string.
    fn skip_element_from(&mut self, start: usize) {
        self.pos = start;
        let mut in_quotes = false;
        while let Some(b) = self.peek() {
            match b {
                b',' if !in_quotes => return,
                b'"' => in_quotes = !in_quotes,
                b'\\' if in_quotes => self.pos += 1,
                _ => {}
            }
            self.pos += 1;
        }
    }
}

/// RFC 7230 §3.2.6 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// VCHAR or obs-text (%x80-FF; a UTF-8 sequence in a `&str`).
fn is_vchar_or_obs(b: u8) -> bool {
    (0x21..=0x7e).contains(&b) || b >= 0x80
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{choose, SchemeSet};

    #[test]
    fn non_ascii_realms_are_decoded_as_utf8_or_latin1() {
        let utf8 = "Basic realm=\"Proxy für Mitarbeiter\"".as_bytes();
        let latin1: &[u8] = b"Basic realm=\"Proxy f\xfcr Mitarbeiter\"";
        for raw in [utf8, latin1] {
            let c = parse_challenge_headers([raw]);
            assert_eq!(c.len(), 1, "{raw:?}");
            assert_eq!(c[0].scheme, Some(Scheme::Basic));
            assert_eq!(c[0].realm(), Some("Proxy für Mitarbeiter"));
        }
        assert_eq!(header_text(b"caf\xe9 \xff"), "café ÿ");
        assert_eq!(header_text("café".as_bytes()), "café");
    }

    fn params(c: &Challenge) -> Vec<(&str, &str)> {
        c.params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
    }

    fn schemes(cs: &[Challenge]) -> Vec<&str> {
        cs.iter().map(|c| c.scheme_name.as_str()).collect()
    }

    #[test]
    fn basic_realm() {
        let cs = parse_challenges(["Basic realm=\"corp proxy\", charset=\"UTF-8\""]);
        assert_eq!(cs.len(), 1);
        assert_eq!(cs[0].scheme, Some(Scheme::Basic));
        assert_eq!(cs[0].realm(), Some("corp proxy"));
        assert_eq!(params(&cs[0]), [("realm", "corp proxy"), ("charset", "UTF-8")]);
    }

    #[test]
    fn comma_list_with_quoted_commas_and_escapes() {
        let cs = parse_challenges([r#"Digest realm="a, b", nonce="x\"y\\z", Basic realm="c""#]);
        assert_eq!(schemes(&cs), ["Digest", "Basic"]);
        assert_eq!(params(&cs[0]), [("realm", "a, b"), ("nonce", r#"x"y\z"#)]);
        assert_eq!(params(&cs[1]), [("realm", "c")]);
    }

    #[test]
    fn several_header_lines() {
        let cs =
            parse_challenges(["Negotiate", "NTLM", "Digest realm=\"r\", nonce=\"n\"", "Basic realm=\"r\""]);
        assert_eq!(schemes(&cs), ["Negotiate", "NTLM", "Digest", "Basic"]);
        let known: Vec<_> = cs.iter().map(|c| c.scheme).collect();
        assert_eq!(
            known,
            [Some(Scheme::Negotiate), Some(Scheme::Ntlm), Some(Scheme::Digest), Some(Scheme::Basic)]
        );
        assert!(cs[0].params.is_empty() && cs[0].token68.is_none());
    }

    #[test]
    fn token68_challenges() {
        let cs = parse_challenges([
            "NTLM TlRMTVNTUAACAAAADAAMADAAAAA1goniT+/8ag==, Basic realm=\"x\"",
            "Negotiate oRUwE6ADCgEBoQwGCisGAQQBgjcCAgo=",
            "Negotiate, NTLM",
        ]);
        assert_eq!(schemes(&cs), ["NTLM", "Basic", "Negotiate", "Negotiate", "NTLM"]);
        assert_eq!(cs[0].token68.as_deref(), Some("TlRMTVNTUAACAAAADAAMADAAAAA1goniT+/8ag=="));
        assert_eq!(params(&cs[1]), [("realm", "x")]);
        assert_eq!(cs[2].token68.as_deref(), Some("oRUwE6ADCgEBoQwGCisGAQQBgjcCAgo="));
        assert!(cs[3].token68.is_none() && cs[4].token68.is_none());
    }

    #[test]
    fn lowercase_algorithm_and_case_insensitive_names() {
        let cs = parse_challenges(["digest REALM=\"r\", Nonce=\"n\", algorithm=md5, QOP=\"auth\""]);
        assert_eq!(cs[0].scheme, Some(Scheme::Digest));
        assert_eq!(cs[0].scheme_name, "digest");
        assert_eq!(params(&cs[0]), [("realm", "r"), ("nonce", "n"), ("algorithm", "md5"), ("qop", "auth")]);
        assert_eq!(cs[0].param("NONCE"), Some("n"));
    }

    /// RFC 7235 §4.1's example: an unknown scheme with params before a known one.
    #[test]
    fn unknown_schemes_are_kept_and_do_not_disturb_known_ones() {
        let cs = parse_challenges([
            r#"Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple""#,
            "Bearer, Mutual abc=, Digest realm=\"d\", nonce=\"n\"",
        ]);
        assert_eq!(schemes(&cs), ["Newauth", "Basic", "Bearer", "Mutual", "Digest"]);
        assert_eq!(cs[0].scheme, None);
        assert_eq!(params(&cs[0]), [("realm", "apps"), ("type", "1"), ("title", "Login to \"apps\"")]);
        assert_eq!(params(&cs[1]), [("realm", "simple")]);
        assert_eq!(cs[3].token68.as_deref(), Some("abc="));
        assert_eq!(params(&cs[4]), [("realm", "d"), ("nonce", "n")]);
    }

    #[test]
    fn whitespace_empty_elements_and_bws() {
        let cs = parse_challenges([" ,, Basic  realm = \"x\" ,\t, charset=UTF-8 ,", "", " , "]);
        assert_eq!(schemes(&cs), ["Basic"]);
        assert_eq!(params(&cs[0]), [("realm", "x"), ("charset", "UTF-8")]);
        let cs = parse_challenges(["Digest opaque=\"\", nonce=abc/def==, realm=\"caf\u{e9}\""]);
        assert_eq!(params(&cs[0]), [("opaque", ""), ("nonce", "abc/def=="), ("realm", "caf\u{e9}")]);
    }

    #[test]
    fn garbage_yields_nothing_or_what_can_be_salvaged() {
        for garbage in
            ["\"", "=", "Basic realm=\"open", "Basic\"x\"", "@@@", "realm=\"x\"", "Basic realm=\u{1}"]
        {
            assert_eq!(parse_challenges([garbage]), [], "{garbage:?}");
        }
        // The broken challenge goes with its remaining parameters; the next one survives.
        let cs = parse_challenges([r#"Digest realm="x" nonce="y", qop="auth", Basic realm="z""#]);
        assert_eq!(schemes(&cs), ["Basic"]);
        let cs = parse_challenges([r#"@@@ realm="a,b", Basic realm="z", Digest realm=, nonce="n""#]);
        assert_eq!(schemes(&cs), ["Basic"]);
        let cs = parse_challenges(["Basic realm=\"z\"", "Digest realm=\"unterminated, Basic realm=\"q\""]);
        assert_eq!(schemes(&cs), ["Basic"]);
    }

    /// Tiny deterministic generator, so the fuzz-style tests need no extra crate.
    struct Lcg(u64);
    impl Lcg {
        fn below(&mut self, n: usize) -> usize {
            self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((self.0 >> 33) % n as u64) as usize
        }
    }

    const PIECES: &[&str] = &[
        "Basic",
        "Digest",
        "NTLM",
        "Negotiate",
        "x",
        " ",
        "  ",
        "\t",
        ",",
        ", ",
        "=",
        "==",
        "\"",
        "\\",
        "realm",
        "nonce",
        "\"a, b\"",
        "\"q\\\"r\"",
        "abc",
        "T+/=",
        "é",
        "\u{0}",
        "@",
        "a=b",
        "Foo",
        "\"\"",
        "=\"v\"",
    ];

    fn random_header(rng: &mut Lcg) -> String {
        (0..rng.below(12)).map(|_| PIECES[rng.below(PIECES.len())]).collect()
    }

    #[test]
    fn never_panics_on_random_input() {
        let mut rng = Lcg(7);
        for _ in 0..20_000 {
            let h = random_header(&mut rng);
            for c in parse_challenges([h.as_str()]) {
                assert!(!c.scheme_name.is_empty(), "{h:?}");
            }
        }
    }

    /// Where `http_auth` (which is strict, and stops at the first error) accepts a header, this
    /// parser must find exactly the same challenges.
    #[test]
    fn agrees_with_http_auth_where_it_accepts() {
        let fixed = [
            r#"Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS", Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v""#,
            r#"Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple""#,
            "UnsupportedSchemeA, Basic realm=\"foo\"",
            "Basic realm=\"x\", , charset=UTF-8,",
        ];
        let mut rng = Lcg(11);
        let random = (0..50_000).map(|_| random_header(&mut rng));
        let mut compared = 0;
        for h in fixed.iter().map(|s| s.to_string()).chain(random) {
            let Ok(theirs) = http_auth::parse_challenges(&h) else { continue };
            let theirs: Vec<_> = theirs
                .iter()
                .map(|c| {
                    let p: Vec<_> =
                        c.params.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.to_unescaped())).collect();
                    (c.scheme.to_owned(), p)
                })
                .collect();
            let ours: Vec<_> = parse_challenges([h.as_str()])
                .into_iter()
                .map(|c| {
                    assert!(c.token68.is_none(), "{h:?}");
                    (c.scheme_name, c.params)
                })
                .collect();
            assert_eq!(ours, theirs, "{h:?}");
            compared += 1;
        }
        assert!(compared > 500, "only {compared} inputs compared");
    }

    fn challenge(s: &str) -> Challenge {
        parse_challenges([s]).remove(0)
    }

    #[test]
    fn choose_picks_the_strongest_offered_and_allowed() {
        let offered = [challenge("Basic realm=\"b\""), challenge("Digest realm=\"d\", nonce=\"n\"")];
        assert_eq!(choose(&offered, SchemeSet::ANY).and_then(|c| c.scheme), Some(Scheme::Digest));
        let basic_only = SchemeSet::only(Scheme::Basic);
        assert_eq!(choose(&offered, basic_only).and_then(|c| c.scheme), Some(Scheme::Basic));
        // Strongest first: Negotiate > NTLM > Digest > Basic, among those allowed.
        let offered = [challenge("Basic realm=\"b\""), challenge("NTLM"), challenge("Negotiate")];
        assert_eq!(choose(&offered, SchemeSet::ANY).and_then(|c| c.scheme), Some(Scheme::Negotiate));
        let no_negotiate = SchemeSet::ANY.without(Scheme::Negotiate);
        assert_eq!(choose(&offered, no_negotiate).and_then(|c| c.scheme), Some(Scheme::Ntlm));
        assert_eq!(choose(&offered, basic_only).and_then(|c| c.scheme), Some(Scheme::Basic));
    }

    #[test]
    fn choose_never_sends_basic_unasked() {
        let offered = [challenge("Digest realm=\"d\", nonce=\"n\""), challenge("Bearer realm=\"x\"")];
        assert_eq!(choose(&offered, SchemeSet::only(Scheme::Basic)), None);
        assert_eq!(
            choose(&[challenge("Negotiate"), challenge("Bearer")], SchemeSet::only(Scheme::Basic)),
            None
        );
        assert_eq!(choose(&[], SchemeSet::ANY), None);
    }
}
