//! `-w/--write-out`: curl 7.88's format language, rendered from a [`TransferInfo`] the client
//! fills in as the transfer goes. The formatter is pure ([`parse_format`], [`render`]); the
//! client writes what it returns after the body (or after the error that ended the run).
//!
//! The language, as curl 7.88 reads it: `%{name}` a variable, `%header{name}` a response header
//! of the last response (several values joined by ", "), `%%` a `%`, `\n` `\r` `\t` escapes;
//! any other `%x` or `\x` is output as written, a `%{` without `}` too. An unknown variable
//! outputs nothing and gets a warning on stderr (curl 7.88 does the same; note that
//! `%{header{name}}` is such an unknown variable in curl 7.88 — the form is `%header{name}`).
//! `%{stdout}`/`%{stderr}` switch the stream of what follows; `%{onerror}` ends the output
//! unless the transfer failed; `%{json}` is every variable as one JSON object.
//!
//! Times: `time_namelookup`, `time_connect`, `time_appconnect` (0 without TLS, as in curl) and
//! `time_pretransfer` come from the client's resolver and connector (`client/timing.rs`: what
//! is measured, and its limits), `time_starttransfer` is the response head's arrival,
//! `time_total` the end.
//! `num_connects` counts the connections made to servers and proxies (the HTTP client's to
//! toll's loopback relay stand in for the relay's to the proxy, and are not counted twice);
//! `remote_ip`/`remote_port` and `local_ip`/`local_port` are the ends of the connection to the
//! server or, through an HTTP proxy, of the relay's last one to the proxy.

use std::time::Duration;

/// Where a piece of write-out output goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
    /// curl 8.3's `%output{FILE}` (`append`: `%output{>>FILE}`).
    File {
        path: String,
        append: bool,
    },
}

/// One element of a parsed format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Token {
    /// Output as is.
    Literal(Vec<u8>),
    /// `%{name}`.
    Var(String),
    /// `%header{name}`.
    Header(String),
    /// `%output{FILE}` or `%output{>>FILE}` (curl 8.3): what follows goes to FILE.
    Output(String),
}

/// curl 8.1's `%{url.PART}` and `%{urle.PART}`: a part of the URL as given or of the effective
/// one, as curl's URL API gives it (not decoded; the port with the scheme's default; the host
/// of an IPv6 address in brackets, without its zone). `None` for a part curl does not have;
/// `Some(None)` for one this URL lacks (printed as nothing).
fn url_part(url: &str, part: &str) -> Option<Option<String>> {
    let parsed = url::Url::parse(url).ok();
    let u = parsed.as_ref();
    let nonempty = |s: &str| (!s.is_empty()).then(|| s.to_string());
    Some(match part {
        "scheme" => u.map(|u| u.scheme().to_string()),
        "user" => u.and_then(|u| nonempty(u.username())),
        "password" => u.and_then(|u| u.password().map(str::to_string)),
        // IMAP's `;OPTIONS` after the user name: never in an http(s) URL.
        "options" => None,
        "host" => u.and_then(|u| u.host_str()).map(|h| match h.split_once("%25") {
            Some((addr, _)) => format!("{addr}]"),
            None => h.to_string(),
        }),
        "port" => u.and_then(url::Url::port_or_known_default).map(|p| p.to_string()),
        "path" => u.map(|u| u.path().to_string()),
        "query" => u.and_then(|u| u.query().map(str::to_string)),
        "fragment" => u.and_then(|u| u.fragment().map(str::to_string)),
        "zoneid" => u
            .and_then(|u| u.host_str())
            .and_then(|h| h.split_once("%25").map(|(_, zone)| zone.trim_end_matches(']').to_string())),
        _ => return None,
    })
}

/// Timings of the transfer, from its start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Times {
    pub namelookup: Duration,
    pub connect: Duration,
    pub appconnect: Duration,
    pub pretransfer: Duration,
    pub starttransfer: Duration,
    pub redirect: Duration,
    pub total: Duration,
}

/// The ends of a transfer's connection (to the server, or to the proxy): `remote_ip`,
/// `remote_port`, and this end's `local_ip`, `local_port`.
#[derive(Clone, Debug, Default)]
pub struct Ends {
    pub remote_ip: Option<String>,
    pub remote_port: Option<u16>,
    pub local_ip: Option<String>,
    pub local_port: Option<u16>,
}

/// What `-w` can report about a finished (or failed) transfer.
#[derive(Clone, Debug, Default)]
pub struct TransferInfo {
    /// The URL as given.
    pub url: String,
    /// The last URL requested.
    pub url_effective: String,
    pub method: String,
    /// 0 when no response arrived.
    pub http_code: u16,
    /// The proxy's answer to CONNECT (0 without a tunnel).
    pub http_connect: u16,
    /// `1`, `1.1`, `2`; empty when no response arrived.
    pub http_version: String,
    /// The Location of the last response when it was not followed.
    pub redirect_url: Option<String>,
    pub num_redirects: usize,
    /// New connections the transfer made (`Session::connections_made`).
    pub num_connects: u64,
    /// The last response's header fields, in order.
    pub headers: Vec<(String, String)>,
    /// The connection's ends.
    pub ends: Ends,
    pub size_download: u64,
    pub size_upload: u64,
    /// Bytes of every response head received (status line, fields, CRLFs).
    pub size_header: u64,
    pub filename_effective: Option<String>,
    pub referer: Option<String>,
    pub exitcode: u8,
    pub errormsg: Option<String>,
    pub times: Times,
    /// The URL argument the URL came from, counting from 0.
    pub urlnum: u64,
    /// `--retry`'s attempts after the first (curl 8.9's `%{num_retries}`).
    pub num_retries: u64,
}

impl TransferInfo {
    /// `%header{name}`: the first field of that name, as curl 7.88 gives it (measured with
    /// two `Content-Type` fields).
    fn header(&self, name: &str) -> Option<String> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone())
    }

    fn scheme(&self) -> Option<String> {
        // curl 7.88 reports the protocol's name in capitals.
        url::Url::parse(&self.url_effective).ok().map(|u| u.scheme().to_ascii_uppercase())
    }

    fn speed(&self, bytes: u64) -> u64 {
        let secs = self.times.total.as_secs_f64();
        if secs > 0.0 {
            (bytes as f64 / secs) as u64
        } else {
            0
        }
    }

    /// A variable's value, or `None` for a name toll does not know.
    fn value(&self, name: &str) -> Option<Value> {
        use Value::*;
        let t = &self.times;
        Some(match name {
            "http_code" | "response_code" => Code(self.http_code),
            "http_connect" => Code(self.http_connect),
            "http_version" => {
                Str(Some(if self.http_version.is_empty() { "0".into() } else { self.http_version.clone() }))
            }
            "method" => Str(Some(self.method.clone())),
            // As curl: once a connection answered (the server, or the proxy's CONNECT).
            "scheme" => Str(if self.http_code == 0 && self.http_connect == 0 { None } else { self.scheme() }),
            // Its password as `***` (curl prints it): `%{json}` lines end up in logs.
            // `%{url.password}` still gives it to whoever asks for it by name.
            "url" => Str(Some(crate::term::mask_url_password(&self.url))),
            "url_effective" => Str(Some(crate::term::mask_url_password(&self.url_effective))),
            "redirect_url" => Str(self.redirect_url.as_deref().map(crate::term::mask_url_password)),
            "num_redirects" => Int(self.num_redirects as u64),
            "num_connects" => Int(self.num_connects),
            "num_headers" => Int(self.headers.len() as u64),
            // curl keeps the last Content-Type it saw (`%header{}` gives the first).
            "content_type" => Str(self
                .headers
                .iter()
                .rev()
                .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
                .map(|(_, v)| v.clone())),
            // Always a string, `""` before any connection (curl's `%{json}` has no null there).
            "remote_ip" => Str(Some(self.ends.remote_ip.clone().unwrap_or_default())),
            "remote_port" => Int(self.ends.remote_port.map_or(0, u64::from)),
            "local_ip" => Str(Some(self.ends.local_ip.clone().unwrap_or_default())),
            "local_port" => Int(self.ends.local_port.map_or(0, u64::from)),
            "size_download" => Int(self.size_download),
            "size_upload" => Int(self.size_upload),
            "size_header" => Int(self.size_header),
            "speed_download" => Int(self.speed(self.size_download)),
            "speed_upload" => Int(self.speed(self.size_upload)),
            "filename_effective" => Str(self.filename_effective.clone()),
            "referer" => Str(self.referer.clone()),
            "exitcode" => Int(u64::from(self.exitcode)),
            "errormsg" => Str(self.errormsg.clone()),
            "urlnum" => Int(self.urlnum),
            "num_retries" => Int(self.num_retries),
            _ if name.starts_with("url.") => Str(url_part(&self.url, &name[4..])?),
            _ if name.starts_with("urle.") => Str(url_part(&self.url_effective, &name[5..])?),
            "ssl_verify_result" | "proxy_ssl_verify_result" => Int(0),
            "time_namelookup" => Time(t.namelookup),
            "time_connect" => Time(t.connect),
            "time_appconnect" => Time(t.appconnect),
            "time_pretransfer" => Time(t.pretransfer),
            "time_starttransfer" => Time(t.starttransfer),
            "time_redirect" => Time(t.redirect),
            "time_total" => Time(t.total),
            _ => return None,
        })
    }
}

/// The variables `%{json}` lists, in curl's (alphabetical) order.
const JSON_VARS: &[&str] = &[
    "content_type",
    "errormsg",
    "exitcode",
    "filename_effective",
    "http_code",
    "http_connect",
    "http_version",
    "local_ip",
    "local_port",
    "method",
    "num_connects",
    "num_headers",
    "num_redirects",
    "proxy_ssl_verify_result",
    "redirect_url",
    "referer",
    "remote_ip",
    "remote_port",
    "response_code",
    "scheme",
    "size_download",
    "size_header",
    "size_upload",
    "speed_download",
    "speed_upload",
    "ssl_verify_result",
    "time_appconnect",
    "time_connect",
    "time_namelookup",
    "time_pretransfer",
    "time_redirect",
    "time_starttransfer",
    "time_total",
    "url",
    "url_effective",
    "urlnum",
];

enum Value {
    /// Three digits, as curl prints status codes.
    Code(u16),
    Int(u64),
    /// Seconds with six decimals.
    Time(Duration),
    /// Nothing (or JSON null) when absent.
    Str(Option<String>),
}

impl Value {
    fn text(&self) -> String {
        match self {
            Value::Code(c) => format!("{c:03}"),
            Value::Int(n) => n.to_string(),
            Value::Time(d) => format!("{}.{:06}", d.as_secs(), d.subsec_micros()),
            Value::Str(s) => s.clone().unwrap_or_default(),
        }
    }

    fn json(&self) -> String {
        match self {
            Value::Code(c) => c.to_string(),
            Value::Str(None) => "null".into(),
            Value::Str(Some(s)) => json_string(s),
            other => other.text(),
        }
    }
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Splits a `-w` format into tokens. Never fails: what is not a variable is literal text.
pub fn parse_format(format: &str) -> Vec<Token> {
    let b = format.as_bytes();
    let mut tokens = Vec::new();
    let mut lit = Vec::new();
    let mut i = 0;
    let flush = |lit: &mut Vec<u8>, tokens: &mut Vec<Token>| {
        if !lit.is_empty() {
            tokens.push(Token::Literal(std::mem::take(lit)));
        }
    };
    while i < b.len() {
        match b[i] {
            b'%' if b.get(i + 1) == Some(&b'%') => {
                lit.push(b'%');
                i += 2;
            }
            b'%' if b.get(i + 1) == Some(&b'{') => match format[i + 2..].find('}') {
                Some(end) => {
                    flush(&mut lit, &mut tokens);
                    tokens.push(Token::Var(format[i + 2..i + 2 + end].to_string()));
                    i += 2 + end + 1;
                }
                None => {
                    lit.extend_from_slice(b"%{");
                    i += 2;
                }
            },
            // `%header{NAME}` and curl 8.3's `%output{FILE}`: both prefixes are 7 bytes.
            b'%' if ["header{", "output{"].iter().any(|p| format[i + 1..].starts_with(p)) => {
                match format[i + 8..].find('}') {
                    Some(end) => {
                        flush(&mut lit, &mut tokens);
                        let name = format[i + 8..i + 8 + end].to_string();
                        let header = format[i + 1..].starts_with('h');
                        tokens.push(if header { Token::Header(name) } else { Token::Output(name) });
                        i += 8 + end + 1;
                    }
                    None => {
                        lit.extend_from_slice(&b[i..i + 8]);
                        i += 8;
                    }
                }
            }
            // Any other `%X` is written as it is, X too, unread (curl: `%\n` prints `%\n`).
            b'%' if i + 1 < b.len() => {
                lit.extend_from_slice(&b[i..i + 2]);
                i += 2;
            }
            b'\\' if i + 1 < b.len() => {
                match b[i + 1] {
                    b'n' => lit.push(b'\n'),
                    b'r' => lit.push(b'\r'),
                    b't' => lit.push(b'\t'),
                    other => {
                        lit.push(b'\\');
                        lit.push(other);
                    }
                }
                i += 2;
            }
            other => {
                lit.push(other);
                i += 1;
            }
        }
    }
    flush(&mut lit, &mut tokens);
    tokens
}

/// What a format renders to: output pieces in order, and warnings for stderr.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Rendered {
    pub pieces: Vec<(Stream, Vec<u8>)>,
    pub warnings: Vec<String>,
}

/// Renders `format` for `info`.
#[cfg(test)]
pub fn render(format: &str, info: &TransferInfo) -> Rendered {
    render_for(format, info, &|_| false)
}

/// Renders `format` for `info`; the values (not the format's own text) that go to a stream
/// `to_terminal` names are escaped there: a server's header or `Location` must not drive it.
pub fn render_for(format: &str, info: &TransferInfo, to_terminal: &dyn Fn(&Stream) -> bool) -> Rendered {
    let mut r = Rendered::default();
    let mut stream = Stream::Stdout;
    let push = |r: &mut Rendered, stream: &Stream, data: &[u8]| match r.pieces.last_mut() {
        Some((s, buf)) if s == stream => buf.extend_from_slice(data),
        _ => r.pieces.push((stream.clone(), data.to_vec())),
    };
    let value = |r: &mut Rendered, stream: &Stream, data: &[u8]| {
        push(r, stream, &crate::term::shown_on(data, to_terminal(stream)))
    };
    for token in parse_format(format) {
        match token {
            Token::Literal(l) => push(&mut r, &stream, &l),
            Token::Header(name) => {
                if let Some(v) = info.header(&name) {
                    value(&mut r, &stream, v.as_bytes());
                }
            }
            Token::Output(target) => {
                stream = match target.strip_prefix(">>") {
                    Some(path) => Stream::File { path: path.to_string(), append: true },
                    None => Stream::File { path: target, append: false },
                };
                // Opened (and a plain one emptied) where it is named, even if nothing follows.
                r.pieces.push((stream.clone(), Vec::new()));
            }
            Token::Var(name) => match name.as_str() {
                "stdout" => stream = Stream::Stdout,
                "stderr" => stream = Stream::Stderr,
                "onerror" if info.exitcode == 0 => break,
                "onerror" => {}
                "json" => value(&mut r, &stream, json(info).as_bytes()),
                "header_json" => value(&mut r, &stream, header_json(info).as_bytes()),
                _ => match info.value(&name) {
                    Some(v) => value(&mut r, &stream, v.text().as_bytes()),
                    None => r.warnings.push(format!("unknown --write-out variable: '{name}'")),
                },
            },
        }
    }
    r
}

/// `%{header_json}`: the final response's header fields as one JSON object, as curl 7.88
/// writes it — each name once, lowercased, where it first appeared, with all its values in a
/// list; one field per line.
fn header_json(info: &TransferInfo) -> String {
    let mut names: Vec<String> = Vec::new();
    let mut values: Vec<Vec<&str>> = Vec::new();
    for (name, value) in &info.headers {
        let name = name.to_ascii_lowercase();
        match names.iter().position(|n| *n == name) {
            Some(i) => values[i].push(value),
            None => {
                names.push(name);
                values.push(vec![value]);
            }
        }
    }
    let fields: Vec<String> = names
        .iter()
        .zip(&values)
        .map(|(n, vs)| {
            let vs: Vec<String> = vs.iter().map(|v| json_string(v)).collect();
            format!("{}:[{}]", json_string(n), vs.join(","))
        })
        .collect();
    format!("{{{}\n}}", fields.join(",\n"))
}

/// `%{json}`: the variables as one JSON object.
fn json(info: &TransferInfo) -> String {
    let fields: Vec<String> = JSON_VARS
        .iter()
        .filter_map(|name| info.value(name).map(|v| format!("{}:{}", json_string(name), v.json())))
        .collect();
    format!("{{{}}}", fields.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> TransferInfo {
        TransferInfo {
            url: "http://h/x".into(),
            url_effective: "http://h/y".into(),
            method: "GET".into(),
            http_code: 200,
            http_version: "1.1".into(),
            num_redirects: 1,
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("x-multi".into(), "a".into()),
                ("X-Multi".into(), "b".into()),
            ],
            ends: Ends { remote_ip: Some("127.0.0.1".into()), remote_port: Some(8080), ..Ends::default() },
            size_download: 26,
            size_header: 100,
            times: Times { total: Duration::from_micros(1_500_000), ..Times::default() },
            ..TransferInfo::default()
        }
    }

    #[test]
    fn header_json_lists_each_name_once_with_all_its_values() {
        let i = info();
        assert_eq!(
            stdout("%{header_json}", &i),
            "{\"content-type\":[\"application/json\"],\n\"x-multi\":[\"a\",\"b\"]\n}"
        );
        assert_eq!(stdout("%{header_json}", &TransferInfo::default()), "{\n}");
        let quoted = TransferInfo { headers: vec![("X-Q".into(), "say \"hi\"\\".into())], ..info() };
        assert_eq!(stdout("%{header_json}", &quoted), "{\"x-q\":[\"say \\\"hi\\\"\\\\\"]\n}");
    }

    fn stdout(format: &str, info: &TransferInfo) -> String {
        let r = render(format, info);
        r.pieces
            .iter()
            .filter(|(s, _)| *s == Stream::Stdout)
            .map(|(_, b)| String::from_utf8_lossy(b))
            .collect()
    }

    #[test]
    fn variables_are_formatted_as_curl_does() {
        let i = info();
        assert_eq!(stdout("%{http_code}", &i), "200");
        assert_eq!(stdout("%{http_code}", &TransferInfo::default()), "000");
        assert_eq!(stdout("%{response_code} %{http_connect}", &i), "200 000");
        assert_eq!(stdout("%{time_total}", &i), "1.500000");
        assert_eq!(stdout("%{size_download} %{speed_download}", &i), "26 17");
        assert_eq!(stdout("%{url_effective} %{num_redirects} %{scheme}", &i), "http://h/y 1 HTTP");
        assert_eq!(
            stdout("%{content_type}|%{redirect_url}|%{remote_ip}:%{remote_port}", &i),
            "application/json||127.0.0.1:8080"
        );
        assert_eq!(stdout("%{http_version} %{method} %{exitcode}", &i), "1.1 GET 0");
        // No answer: no scheme — unless a proxy answered the CONNECT (curl: once connected).
        let none = TransferInfo { url_effective: "https://h/".into(), ..TransferInfo::default() };
        assert_eq!(stdout("[%{scheme}]", &none), "[]");
        let refused = TransferInfo { http_connect: 503, ..none };
        assert_eq!(stdout("[%{scheme}]", &refused), "[HTTPS]");
    }

    /// curl 8's additions: the URL's parts (8.1), `num_retries` (8.9).
    #[test]
    fn url_parts_and_retries_as_curl_8_gives_them() {
        let i = TransferInfo {
            url: "http://joe:p%40ss@Example.COM/a%20b/c?x=1&y=%2F#frag".into(),
            url_effective: "https://[::1]:8443/".into(),
            num_retries: 2,
            ..TransferInfo::default()
        };
        let parts = "%{url.scheme}|%{url.user}|%{url.password}|%{url.host}|%{url.port}|%{url.path}|%{url.query}|%{url.fragment}|%{url.options}|%{url.zoneid}";
        assert_eq!(stdout(parts, &i), "http|joe|p%40ss|example.com|80|/a%20b/c|x=1&y=%2F|frag||");
        let parts = "%{urle.scheme}|%{urle.user}|%{urle.host}|%{urle.port}|%{urle.path}|%{urle.query}";
        assert_eq!(stdout(parts, &i), "https||[::1]|8443|/|");
        assert_eq!(stdout("%{num_retries}", &i), "2");
        assert_eq!(
            render("%{url.nope}", &i).warnings,
            vec!["unknown --write-out variable: 'url.nope'".to_string()]
        );
        assert_eq!(stdout("%{url}", &i), "http://joe:***@Example.COM/a%20b/c?x=1&y=%2F#frag");
        assert!(json(&i).contains("\"url\":\"http://joe:***@Example.COM/") && !json(&i).contains("p%40ss"));
        // Not in %{json}: curl 7.88's list is kept.
        assert!(!json(&i).contains("url.") && !json(&i).contains("num_retries"));
        // The effective URL and a Location's target: their passwords as `***` too.
        let i = TransferInfo {
            url_effective: "http://joe:pw1@h/".into(),
            redirect_url: Some("http://bob:pw2@k/".into()),
            ..TransferInfo::default()
        };
        assert_eq!(stdout("%{url_effective} %{redirect_url}", &i), "http://joe:***@h/ http://bob:***@k/");
        assert!(!json(&i).contains("pw1") && !json(&i).contains("pw2"), "{}", json(&i));
        assert_eq!(stdout("%{urle.password}", &i), "pw1");
        // An `@` in a path or a query is not a password's end.
        let i = TransferInfo {
            url_effective: "http://localhost:4873/@types/node?m=a@b".into(),
            redirect_url: Some("http://joe:pw@h:81/p?x=a@b".into()),
            ..TransferInfo::default()
        };
        assert_eq!(
            stdout("%{url_effective} %{redirect_url}", &i),
            "http://localhost:4873/@types/node?m=a@b http://joe:***@h:81/p?x=a@b"
        );
    }

    /// curl 8.3's `%output{FILE}` / `%output{>>FILE}`: what follows goes to FILE (opened even
    /// when nothing follows); `%{stdout}` comes back.
    #[test]
    fn output_switches_to_a_file() {
        let i = info();
        let file = |p: &str, append| Stream::File { path: p.into(), append };
        let r = render("a%output{t.txt}b%{http_code}%{stdout}c%output{>>log}", &i);
        assert_eq!(
            r.pieces,
            vec![
                (Stream::Stdout, b"a".to_vec()),
                (file("t.txt", false), b"b200".to_vec()),
                (Stream::Stdout, b"c".to_vec()),
                (file("log", true), Vec::new()),
            ]
        );
        assert_eq!(render("%output{x", &i).pieces, vec![(Stream::Stdout, b"%output{x".to_vec())]);
    }

    #[test]
    fn escapes_and_literals_follow_curl() {
        let i = info();
        assert_eq!(stdout(r"a\tb\nc\r", &i), "a\tb\nc\r");
        assert_eq!(stdout(r"100%% %q \q \\ %{", &i), r"100% %q \q \\ %{");
        assert_eq!(stdout(r"end\", &i), r"end\");
    }

    #[test]
    fn unknown_variables_print_nothing_and_warn() {
        let r = render("a%{nonsense}b", &info());
        assert_eq!(r.pieces, vec![(Stream::Stdout, b"ab".to_vec())]);
        assert_eq!(r.warnings, vec!["unknown --write-out variable: 'nonsense'".to_string()]);
        // curl 7.88 reads `%{header{x}}` as the unknown variable `header{x` and a literal `}`.
        let r = render("%{header{content-type}}", &info());
        assert_eq!(r.pieces, vec![(Stream::Stdout, b"}".to_vec())]);
        assert_eq!(r.warnings.len(), 1);
    }

    #[test]
    fn headers_by_name_any_case_the_first_one() {
        let i = info();
        assert_eq!(stdout("%header{Content-Type}|%header{x-multi}|%header{none}", &i), "application/json|a|");
        assert_eq!(stdout("%header{open", &i), "%header{open");
    }

    #[test]
    fn streams_switch_and_onerror_stops_on_success() {
        let r = render("o1%{stderr}e1%{stdout}o2", &info());
        assert_eq!(
            r.pieces,
            vec![
                (Stream::Stdout, b"o1".to_vec()),
                (Stream::Stderr, b"e1".to_vec()),
                (Stream::Stdout, b"o2".to_vec())
            ]
        );
        assert_eq!(stdout("a%{onerror}b", &info()), "a");
        let failed = TransferInfo { exitcode: 7, ..TransferInfo::default() };
        assert_eq!(stdout("a%{onerror}b%{exitcode}", &failed), "ab7");
    }

    #[test]
    fn json_lists_every_variable_sorted() {
        let j = stdout("%{json}", &info());
        assert!(
            j.starts_with("{\"content_type\":\"application/json\",\"errormsg\":null,\"exitcode\":0,"),
            "{j}"
        );
        assert!(j.contains("\"http_code\":200,"), "{j}");
        assert!(j.contains("\"time_total\":1.500000,"), "{j}");
        assert!(j.ends_with("\"urlnum\":0}"), "{j}");
        let keys: Vec<&str> = JSON_VARS.to_vec();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        assert_eq!(keys, sorted);
        assert_eq!(json_string("a\"b\\\n\u{1}"), "\"a\\\"b\\\\\\n\\u0001\"");
        // No connection: the addresses are "" (as curl's), not null.
        let none = stdout("%{json}", &TransferInfo::default());
        assert!(none.contains("\"local_ip\":\"\",") && none.contains("\"remote_ip\":\"\","), "{none}");
    }

    #[test]
    fn any_input_parses_without_panicking() {
        for f in ["%", "\\", "%{", "%{}", "%header{", "%header{}", "é%{é}", "%%%", "\\é"] {
            let _ = render(f, &info());
        }
        assert_eq!(parse_format("%{}"), vec![Token::Var(String::new())]);
    }

    #[test]
    fn a_percent_before_anything_else_is_written_with_it_unread() {
        assert_eq!(stdout("%\\n%x%é%", &info()), "%\\n%x%é%");
        assert_eq!(stdout("%%\\n", &info()), "%\n");
    }
}
