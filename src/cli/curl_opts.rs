//! clap arguments for the curl options added for issue 11 (`-w`, `-u` and the origin
//! authentication flags, `--retry`, `-G`, `--data-urlencode`, `-e`, `-D`, `--http1.1`, `-4`,
//! `--resolve`, …), flattened into `cli.rs`'s argument groups, and their conversion into the
//! plain `config` types. Kept apart so `cli.rs` stays small.

use super::{DataArg, ProxyUser, Seconds, UsageError};
use crate::auth::{Scheme, SchemeSet};
use crate::config::{
    Body, BodySource, CurlExtras, DumpHeader, HttpVersion, IpFamily, NetrcConfig, OriginAuth, OutputTarget,
    RetryConfig, WriteOut,
};
use clap::builder::TypedValueParser as _;
use clap::Args;
use std::path::{Path, PathBuf};

/// Output options from curl (flattened into the Output group).
#[derive(Args, Debug, Clone, Default)]
pub struct CurlOutputArgs {
    /// After the transfer, print FORMAT: %{http_code}, %{url_effective}, %{time_total}, … as curl.
    ///
    /// @FILE reads the format from a file, @- from standard input. Variables: http_code
    /// (response_code), http_connect, http_version, method, scheme, url, url_effective,
    /// redirect_url, num_redirects, num_headers, num_connects, content_type, remote_ip, remote_port,
    /// local_ip, local_port,
    /// size_download, size_upload, size_header, speed_download, speed_upload, time_namelookup,
    /// time_connect, time_appconnect, time_pretransfer, time_starttransfer, time_redirect,
    /// time_total, filename_effective, referer, exitcode, errormsg, urlnum, ssl_verify_result;
    /// from curl 8: url.PART and urle.PART (scheme, user, password, host, port, path, query,
    /// fragment of the URL as given and of the effective one), num_retries;
    /// %header{NAME} a response header, %{header_json} all of them; %{json} all the variables;
    /// %{stderr}, %{stdout} and %output{FILE} (curl 8; %output{>>FILE} appends) switch the
    /// stream; %{onerror} ends the output unless the transfer failed. \n, \r, \t and %% as in
    /// curl.
    #[arg(short = 'w', long = "write-out", value_name = "FORMAT")]
    pub write_out: Option<String>,

    /// Write the response head(s) to FILE ('-': standard output, before the body).
    #[arg(short = 'D', long = "dump-header", value_name = "FILE")]
    pub dump_header: Option<PathBuf>,

    /// Create the directories -o FILE needs.
    #[arg(long)]
    pub create_dirs: bool,

    /// Put -o and -O files in DIR (-o with an absolute path excepted).
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,

    /// Like -f, but the body of the error answer is still written (exit 22).
    #[arg(long, conflicts_with = "fail")] // `OutputArgs::fail`, as curl: exit 2
    pub fail_with_body: bool,

    /// Accepted for curl's sake: toll shows a progress bar for -o/-O on a terminal anyway.
    #[arg(short = '#', long = "progress-bar")]
    pub progress_bar: bool,
}

impl CurlOutputArgs {
    pub fn write_out(&self) -> Option<WriteOut> {
        self.write_out.as_deref().map(parse_write_out)
    }
}

/// `-w` values as curl reads them: `@-` standard input, `@FILE` a file, else the format.
pub fn parse_write_out(s: &str) -> WriteOut {
    match s.strip_prefix('@') {
        Some("-") => WriteOut::Stdin,
        Some(path) if !path.is_empty() => WriteOut::File(path.into()),
        _ => WriteOut::Inline(s.to_string()),
    }
}

/// Origin authentication options from curl (flattened into the Request group).
#[derive(Args, Debug, Clone, Default)]
pub struct CurlRequestArgs {
    /// User name and password for the server (not the proxy: that is -U).
    ///
    /// Split at the first ':'. Without ':PASSWORD' toll asks for it on the terminal, as curl
    /// does. Sent only to the URL's host (scheme, host and port): not after a redirect elsewhere
    /// unless --location-trusted.
    #[arg(short = 'u', long = "user", value_name = "USER[:PASSWORD]")]
    pub user: Option<ProxyUser>,

    /// Answer the server with Basic authentication, sent with the first request (the default).
    #[arg(long, overrides_with_all = ["digest", "ntlm", "negotiate", "anyauth"])]
    pub basic: bool,

    /// Answer the server's 401 with Digest authentication.
    #[arg(long, overrides_with_all = ["basic", "ntlm", "negotiate", "anyauth"])]
    pub digest: bool,

    /// Answer the server's 401 with NTLM (v2) authentication.
    #[arg(long, overrides_with_all = ["basic", "digest", "negotiate", "anyauth"])]
    pub ntlm: bool,

    /// Answer the server's 401 with Negotiate (Kerberos; use -u : to need no password).
    #[arg(long, overrides_with_all = ["basic", "digest", "ntlm", "anyauth"])]
    pub negotiate: bool,

    /// Answer the server's 401 with the strongest scheme it offers.
    #[arg(long, overrides_with_all = ["basic", "digest", "ntlm", "negotiate"])]
    pub anyauth: bool,

    /// Sign every request with AWS Signature Version 4, the -u user as the access key and its
    /// password as the secret key.
    ///
    /// REGION and SERVICE are taken from a host name SERVICE.REGION.DOMAIN.TLD when not given
    /// (never from an IP address); PROVIDER2 (default PROVIDER1) names the X-PROVIDER2-Date
    /// header. Replaces --basic, --digest, --ntlm, --negotiate and --anyauth.
    #[arg(long = "aws-sigv4", value_name = "PROVIDER1[:PROVIDER2[:REGION[:SERVICE]]]", value_parser = parse_sigv4)]
    pub aws_sigv4: Option<crate::auth::sigv4::Spec>,

    /// The Kerberos service of the server's principal for --negotiate: a ticket for
    /// NAME/host instead of HTTP/host.
    #[arg(long = "service-name", value_name = "NAME", value_parser = crate::cli::parse_service_name)]
    pub service_name: Option<String>,

    /// Take the server's user name and password from ~/.netrc when -u does not give them.
    ///
    /// A missing file is no error (as in curl); a malformed one is.
    #[arg(short = 'n', long = "netrc")]
    pub netrc: bool,

    /// Like -n (kept for curl's sake: a missing file is fine with both).
    #[arg(long = "netrc-optional")]
    pub netrc_optional: bool,

    /// Like -n, with FILE instead of ~/.netrc.
    #[arg(long = "netrc-file", value_name = "FILE")]
    pub netrc_file: Option<PathBuf>,

    /// Follow redirects as -L does, and send the -u credentials to every host redirected to
    /// (dangerous).
    #[arg(long)]
    pub location_trusted: bool,

    /// Retry a transient failure up to N times: a timeout, a host or proxy name that did not
    /// resolve, or HTTP 408, 429, 500, 502, 503, 504.
    ///
    /// Waits 1 s, then twice as long each time (or --retry-delay); a server's Retry-After
    /// (seconds or a date) comes first, as in curl. Rejected credentials are never retried.
    #[arg(long, value_name = "N")]
    pub retry: Option<u32>,

    /// Wait this long between retries instead of the backoff (0: the backoff).
    #[arg(long, value_name = "SECONDS")]
    pub retry_delay: Option<Seconds>,

    /// Retry only while less than this much time has passed since the first attempt (0: no limit).
    #[arg(long, value_name = "SECONDS")]
    pub retry_max_time: Option<Seconds>,

    /// With --retry, retry any error, not only transient ones (rejected credentials and usage
    /// errors excepted).
    #[arg(long)]
    pub retry_all_errors: bool,

    /// With --retry, a refused connection counts as transient.
    #[arg(long)]
    pub retry_connrefused: bool,

    /// Send the -d/--data-urlencode/--data-raw data in the URL's query with a GET (or HEAD with -I).
    #[arg(short = 'G', long = "get")]
    pub get: bool,

    /// Like -d, but '@' has no special meaning. Repeatable.
    #[arg(long = "data-raw", value_name = "DATA")]
    pub data_raw: Vec<String>,

    /// Like -d, URL-encoding the content: 'content', '=content', 'name=content', '@file',
    /// 'name@file'. Repeatable.
    #[arg(long = "data-urlencode", value_name = "DATA")]
    pub data_urlencode: Vec<String>,

    /// Send 'Referer: URL'. 'URL;auto' (or ';auto') also sets it to the previous URL when
    /// following a redirect.
    #[arg(short = 'e', long = "referer", value_name = "URL", value_parser = super::values::parse_referer)]
    pub referer: Option<String>,

    /// Upload FILE with PUT ('-' or '.': standard input); a URL ending in '/' gets the file name.
    ///
    /// Repeatable, as -o: the first -T goes with the first URL, the second with the second, and
    /// so on ('' uploads nothing to its URL). Unless -g, '{a,b}' and '[1-3]' in FILE upload each
    /// file they stand for, to each URL of its URL argument.
    #[arg(short = 'T', long = "upload-file", value_name = "FILE",
          value_parser = clap::builder::OsStringValueParser::new().map(PathBuf::from))]
    pub upload_file: Vec<PathBuf>,

    /// Ask for only part of the body: 'START-END', 'START-', '-LAST', or several, comma-separated.
    #[arg(short = 'r', long = "range", value_name = "RANGE", value_parser = parse_range)]
    pub range: Option<String>,

    /// Send cookies: 'NAME=VALUE; NAME2=VALUE2', or read them from FILE (Netscape format, or
    /// HTTP headers' Set-Cookie lines as -D writes them) and turn on the cookie engine (cookies
    /// set by the server are sent on, e.g. with -L).
    ///
    /// Repeatable: the strings are joined with ';' (as curl does); several files are all read, in order.
    #[arg(short = 'b', long = "cookie", value_name = "DATA|FILE", value_parser = super::values::parse_cookie)]
    pub cookie: Vec<String>,

    /// Write all cookies to FILE at the end, in the Netscape format ('-': standard output).
    #[arg(short = 'c', long = "cookie-jar", value_name = "FILE")]
    pub cookie_jar: Option<PathBuf>,

    /// Use HSTS: hosts that asked for https only (Strict-Transport-Security) are reached over
    /// https, also from http:// URLs; the cache is read from FILE and written back ("": memory
    /// only).
    #[arg(long = "hsts", value_name = "FILE", value_parser = any_path)]
    pub hsts: Option<PathBuf>,

    /// Use HTTP alternative services (Alt-Svc): an https origin that advertised one is reached
    /// there (h1 and h2 only; its certificate must cover the origin's name); the cache is read
    /// from FILE and written back ("": memory only).
    #[arg(long = "alt-svc", value_name = "FILE", value_parser = any_path)]
    pub alt_svc: Option<PathBuf>,

    /// Drop the session cookies read with -b FILE (start a new session).
    #[arg(short = 'j', long = "junk-session-cookies")]
    pub junk_session_cookies: bool,

    /// Read options from FILE, in curl's config-file syntax ('-': standard input).
    ///
    /// One option per line, 'name = value' or '--name value'; '#' starts a comment. toll reads
    /// no default config file (~/.curlrc is ignored). Expanded before clap reads the line
    /// (`cli::prepare`): the field is here for --help and the completions.
    #[arg(short = 'K', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Set a variable (curl 8): NAME=TEXT, NAME@FILE ('-': standard input), %NAME from the
    /// environment (%NAME=TEXT or %NAME@FILE: with a default).
    ///
    /// Any option that takes a value can be given as --expand-OPTION VALUE: {{NAME}} in VALUE is
    /// the variable's content (nothing when unset), {{NAME:FUNC:...}} after the functions trim,
    /// json, url, b64 and 64dec; \{{ is a literal {{. Example: --variable %TOKEN --expand-header
    /// 'Authorization: Bearer {{TOKEN:trim}}'.
    #[arg(long = "variable", value_name = "[%]NAME=TEXT|@FILE")]
    pub variable: Vec<String>,

    /// A URL to fetch, as a positional one (repeatable; a -K file's 'url = …' lines).
    #[arg(long = "url", id = "url_flag", value_name = "URL", action = clap::ArgAction::Append)]
    pub url: Vec<String>,

    /// Send the URL's path as written: /a/../b is not made /b (for servers that must be asked
    /// so; the request then goes on toll's own HTTP path, see the README).
    #[arg(long = "path-as-is")]
    pub path_as_is: bool,

    /// Send TARGET as the request target instead of the URL's path and query ('*' for
    /// OPTIONS *); the URL still says where to connect.
    #[arg(long = "request-target", value_name = "TARGET", value_parser = super::values::parse_request_target)]
    pub request_target: Option<String>,

    #[command(flatten)]
    pub conn: CurlConnArgs,
}

/// A body and the option that gave it (as `cli::body::build_body` returns it).
pub type LabelledBody = (Body, &'static str);

/// Connection options from curl (flattened, shown under Connection).
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Connection")]
pub struct CurlConnArgs {
    /// Use HTTP/1.1 only.
    #[arg(long = "http1.1", overrides_with_all = ["http2", "http2_prior_knowledge"])]
    pub http1_1: bool,

    /// Use HTTP/2 when the server offers it in the TLS handshake (the default).
    #[arg(long = "http2", overrides_with_all = ["http1_1", "http2_prior_knowledge"])]
    pub http2: bool,

    /// Speak HTTP/2 from the start, without asking (also on http:// URLs).
    #[arg(long = "http2-prior-knowledge", overrides_with_all = ["http1_1", "http2"])]
    pub http2_prior_knowledge: bool,

    /// Connect over IPv4 only.
    #[arg(short = '4', long = "ipv4")]
    pub ipv4: bool,

    /// Connect to ADDR for HOST:PORT instead of resolving HOST. Repeatable.
    #[arg(long, value_name = "HOST:PORT:ADDR", value_parser = parse_resolve)]
    pub resolve: Vec<(String, std::net::SocketAddr)>,

    #[command(flatten)]
    pub more: super::conn_opts::ConnOpts,

    #[command(flatten)]
    pub doh: super::doh_opts::DohOpts,
}

/// `-r`: byte ranges as curl takes them (digits, '-', ',').
pub fn parse_range(s: &str) -> Result<String, String> {
    let ok = !s.is_empty()
        && s.split(',').all(|r| {
            let (a, b) = r.split_once('-').unwrap_or(("", "x"));
            a.chars().all(|c| c.is_ascii_digit())
                && b.chars().all(|c| c.is_ascii_digit())
                && !(a.is_empty() && b.is_empty())
        });
    ok.then(|| s.to_string()).ok_or_else(|| format!("'{s}' is not a byte range such as 0-499, 500- or -100"))
}

/// `--resolve HOST:PORT:ADDR` (ADDR may be `[v6]`; `+HOST`, curl's entry that times out, is
/// the same here). curl's `*` (any host) and `-HOST:PORT` (take an entry out) are refused: a
/// rule that matched no host would send the name to the system resolver, which the user meant
/// to keep it from.
pub fn parse_resolve(s: &str) -> Result<(String, std::net::SocketAddr), String> {
    let bad = || format!("'{s}' is not HOST:PORT:ADDRESS");
    if s.starts_with('-') {
        return Err(format!("'{s}': curl's -HOST:PORT (taking an entry out) is not supported by toll"));
    }
    let s = s.strip_prefix('+').unwrap_or(s);
    let (host, rest) = s.split_once(':').ok_or_else(bad)?;
    if host == "*" {
        return Err(format!("'{s}': a rule for any host ('*') is not supported by toll; name the host"));
    }
    let (port, addr) = rest.split_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    let addr = addr.trim_start_matches('[').trim_end_matches(']');
    let ip: std::net::IpAddr = addr.parse().map_err(|_| bad())?;
    if host.is_empty() {
        return Err(bad());
    }
    Ok((host.to_ascii_lowercase(), std::net::SocketAddr::new(ip, port)))
}

fn parse_sigv4(s: &str) -> Result<crate::auth::sigv4::Spec, String> {
    crate::auth::sigv4::Spec::parse(s)
}

impl CurlRequestArgs {
    /// The origin credentials, if `-u` was given.
    pub fn origin_auth(&self) -> Option<OriginAuth> {
        let ProxyUser { user, password } = self.user.clone()?;
        let (schemes, preemptive_basic) = self.schemes();
        Some(OriginAuth {
            user,
            password,
            schemes,
            preemptive_basic: preemptive_basic && self.aws_sigv4.is_none(),
            sigv4: self.aws_sigv4.clone(),
        })
    }

    /// The origin schemes allowed, and whether Basic goes first (`--basic`, the default).
    pub fn schemes(&self) -> (SchemeSet, bool) {
        if self.digest {
            (SchemeSet::only(Scheme::Digest), false)
        } else if self.ntlm {
            (SchemeSet::only(Scheme::Ntlm), false)
        } else if self.negotiate {
            (SchemeSet::only(Scheme::Negotiate), false)
        } else if self.anyauth {
            (SchemeSet::ANY, false)
        } else {
            (SchemeSet::only(Scheme::Basic), true)
        }
    }

    /// The `--data-raw` and `--data-urlencode` pieces, as inline `-d` pieces (after the `-d`
    /// ones: clap does not keep the order between different options).
    pub fn data_pieces(&self) -> Result<Vec<DataArg>, UsageError> {
        let mut v: Vec<DataArg> = self.data_raw.iter().map(|s| DataArg::Inline(s.clone())).collect();
        for piece in &self.data_urlencode {
            v.push(DataArg::Inline(data_urlencode(piece, &super::body::read_named)?));
        }
        Ok(v)
    }

    /// `-G`: the body's bytes move into the URL's query; no body is sent. A form (`-F`) is not
    /// data: it stays the body, as curl ignores `-G` then.
    pub fn apply_get(
        &self,
        mut url: url::Url,
        body: Option<LabelledBody>,
    ) -> Result<(url::Url, Option<LabelledBody>), UsageError> {
        if !self.get {
            return Ok((url, body));
        }
        let Some((body, option)) = body else { return Ok((url, None)) };
        let data = match body.source {
            BodySource::Bytes(data) => data,
            BodySource::File(path) => super::body::read_data_file(&path, option)?,
            BodySource::Stdin => super::body::stdin_data(body.strip_newlines)?,
            BodySource::Form(_) => return Ok((url, Some((body, option)))),
        };
        // As curl 7.88's URL API appends it: escapes written with lower-case hex digits (%0a),
        // and a '#' starts the fragment (what follows it, then the URL's own fragment).
        let data = super::transfer_opts::lower_hex(&String::from_utf8_lossy(&data));
        // Sent as it is (curl's -G does not encode it): a line break or a tab would be dropped
        // by the URL parser and another query sent, so it is refused, as curl refuses it (its
        // exit 3). The data is not shown: it may be a secret.
        if let Some(what) = super::urls::control_character(&data) {
            return Err(UsageError::Curl(format!(
                "-G: the data ({option}) holds {what}, which a URL cannot hold; \
                 encode it (%0A for a line break) or use --data-urlencode"
            )));
        }
        if data.is_empty() {
            // `-G -d ''` adds no bare '?', as curl.
            return Ok((url, None));
        }
        let (data, fragment) = match data.split_once('#') {
            Some((query, f)) => {
                (query.to_string(), Some(url.fragment().map_or(f.to_string(), |old| format!("{f}#{old}"))))
            }
            None => (data, None),
        };
        if let Some(f) = &fragment {
            url.set_fragment(Some(f));
        }
        let query = match url.query() {
            Some(q) if !q.is_empty() => format!("{q}&{data}"),
            // `-G -d '#x'` leaves a bare '?' (curl appends "?#x" and then reads the fragment).
            _ => data,
        };
        url.set_query(Some(&query));
        Ok((url, None))
    }

    /// The headers `-e` and `-b NAME=VALUE` imply (a header set with -H wins; `-r`'s depends on
    /// the request: `CurlExtras::range`).
    pub fn implied_headers(&self) -> Result<Vec<(String, String)>, UsageError> {
        let mut v = Vec::new();
        if let (Some(r), _) = self.referer() {
            v.push(("Referer".to_string(), r));
        }
        let strings: Vec<&str> = self.cookie.iter().filter(|c| c.contains('=')).map(String::as_str).collect();
        if !strings.is_empty() {
            v.push(("Cookie".to_string(), strings.join(";")));
        }
        Ok(v)
    }

    /// `-e URL[;auto]`: the referer to send first, and whether redirects update it.
    pub fn referer(&self) -> (Option<String>, bool) {
        match self.referer.as_deref() {
            None => (None, false),
            Some(r) => match r.strip_suffix(";auto") {
                Some(first) => ((!first.is_empty()).then(|| first.to_string()), true),
                None => (Some(r.to_string()), false),
            },
        }
    }

    pub fn extras(&self, out: &CurlOutputArgs) -> CurlExtras {
        let c = &self.conn;
        let (referer, referer_auto) = self.referer();
        CurlExtras {
            location_trusted: self.location_trusted,
            create_dirs: out.create_dirs,
            output_dir: out.output_dir.clone(),
            // Set by `Cli::into_config` with the implied headers.
            content_type_implied: false,
            removed_headers: Vec::new(),
            // Set by `Cli::into_config` with the implied headers.
            given_headers: Vec::new(),
            // Set by `Cli::into_config`, which sees the -o values.
            binary_to_terminal: false,
            fail_with_body: out.fail_with_body,
            dump_header: out.dump_header.as_ref().map(|p| {
                if p.as_os_str() == "-" {
                    DumpHeader::Stdout
                } else {
                    DumpHeader::File(p.clone())
                }
            }),
            referer,
            referer_auto,
            range: self.range.clone(),
            http_version: if c.http1_1 {
                HttpVersion::Http11
            } else if c.http2_prior_knowledge {
                HttpVersion::Http2PriorKnowledge
            } else if c.http2 {
                HttpVersion::Http2
            } else {
                HttpVersion::Default
            },
            ip_family: if c.ipv4 { IpFamily::V4 } else { IpFamily::Any },
            resolve: c.resolve.clone(),
            cookie_files: self.cookie.iter().filter(|c| !c.contains('=')).map(PathBuf::from).collect(),
            cookie_jar: self.cookie_jar.clone(),
            hsts: self.hsts.clone(),
            alt_svc: self.alt_svc.clone(),
            junk_session: self.junk_session_cookies,
            netrc: (self.netrc || self.netrc_optional || self.netrc_file.is_some()).then(|| NetrcConfig {
                file: self.netrc_file.clone(),
                schemes: self.schemes(),
                sigv4: self.aws_sigv4.clone(),
                read: None,
            }),
            service_name: self.service_name.clone(),
            // Set from the proxy options' --delegation (one option for both, as curl's).
            delegation: Default::default(),
            // Set per URL by `Cli::into_config` (`request_target`).
            request_target: None,
            raw_targets: self.path_as_is || self.request_target.is_some(),
            path_as_is: self.path_as_is && self.request_target.is_none(),
            conn: crate::config::ConnConfig { doh: c.doh.config(), ..c.more.config() },
        }
    }

    pub fn retry(&self) -> RetryConfig {
        let nonzero = |s: Option<Seconds>| s.map(|s| s.0).filter(|d| !d.is_zero());
        RetryConfig {
            retries: self.retry.unwrap_or(0),
            delay: nonzero(self.retry_delay),
            max_time: nonzero(self.retry_max_time),
            all_errors: self.retry_all_errors,
            connrefused: self.retry_connrefused,
        }
    }
}

/// `--output-dir DIR`: `-o` files (unless absolute) go into DIR. `-O`'s name is put there when
/// it is known (`client::saving::in_output_dir`): with `-J` that is when the answer comes.
pub fn output_in_dir(output: OutputTarget, dir: Option<&PathBuf>) -> OutputTarget {
    let Some(dir) = dir else { return output };
    match output {
        OutputTarget::File(p) if p.is_relative() => OutputTarget::File(dir.join(p)),
        other => other,
    }
}

/// One `--data-urlencode` piece, as curl encodes it: `content`, `=content`, `name=content`,
/// `@file`, `name@file` (the name is sent as given, the content percent-encoded; a file's
/// content is used whole). `read` reads a file.
pub fn data_urlencode(
    piece: &str,
    read: &dyn Fn(&str) -> std::io::Result<Vec<u8>>,
) -> Result<String, UsageError> {
    // curl 7.88 writes a space as '+' (form encoding), everything else as %XX.
    let enc = |b: &[u8]| percent_encoding::percent_encode(b, URLENCODE).to_string().replace("%20", "+");
    let read_file = |path: &str| {
        read(path).map_err(|e| UsageError::Unreadable(format!("--data-urlencode: cannot read {path}: {e}")))
    };
    // The first '=' or '@' decides the form.
    match piece.find(['=', '@']) {
        Some(i) if piece.as_bytes()[i] == b'=' => {
            let (name, content) = (&piece[..i], &piece[i + 1..]);
            let encoded = enc(content.as_bytes());
            Ok(if name.is_empty() { encoded } else { format!("{name}={encoded}") })
        }
        Some(i) => {
            let (name, path) = (&piece[..i], &piece[i + 1..]);
            let encoded = enc(&read_file(path)?);
            Ok(if name.is_empty() { encoded } else { format!("{name}={encoded}") })
        }
        None => Ok(enc(piece.as_bytes())),
    }
}

/// What curl leaves unencoded: ALPHA DIGIT `-` `.` `_` `~`.
const URLENCODE: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// A path that may be empty (clap's own parser refuses `""`, which `--hsts ""` means).
fn any_path(s: &str) -> Result<PathBuf, String> {
    Ok(PathBuf::from(s))
}

/// `-T FILE` for one URL: the file is the body (no Content-Type), the method PUT unless -X says
/// otherwise, and a URL with no file name (its path ends in '/') gets the file's name appended,
/// as curl does: what follows the file's last '/' or '\\', percent-encoded.
pub fn apply_upload(
    path: Option<&Path>,
    mut url: url::Url,
    body: Option<LabelledBody>,
    method: &mut Option<String>,
) -> Result<(url::Url, Option<LabelledBody>), UsageError> {
    let Some(path) = path else { return Ok((url, body)) };
    if let Some((_, option)) = body {
        return Err(UsageError::MixedData("-T/--upload-file", option));
    }
    let source = if path.as_os_str() == "-" || path.as_os_str() == "." {
        BodySource::Stdin
    } else {
        if url.path().ends_with('/') {
            let whole = path.to_string_lossy();
            let name = whole.rsplit(['/', '\\']).next().unwrap_or_default();
            let joined = format!("{}{}", url.path(), percent_encoding::utf8_percent_encode(name, URLENCODE));
            url.set_path(&joined);
        }
        BodySource::File(path.to_path_buf())
    };
    method.get_or_insert_with(|| "PUT".to_string());
    Ok((url, Some((Body { source, strip_newlines: false }, "-T/--upload-file"))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        /// Stands for `OutputArgs::fail`, which --fail-with-body conflicts with.
        #[arg(short = 'f', long = "fail", id = "fail")]
        _fail: bool,
        #[command(flatten)]
        out: CurlOutputArgs,
        #[command(flatten)]
        auth: CurlRequestArgs,
    }

    fn parse(args: &[&str]) -> T {
        T::try_parse_from(std::iter::once("t").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn write_out_sources() {
        assert_eq!(
            parse(&["-w", "%{http_code}"]).out.write_out(),
            Some(WriteOut::Inline("%{http_code}".into()))
        );
        assert_eq!(parse(&["-w", "@fmt.txt"]).out.write_out(), Some(WriteOut::File("fmt.txt".into())));
        assert_eq!(parse(&["--write-out", "@-"]).out.write_out(), Some(WriteOut::Stdin));
        assert_eq!(parse(&["-w", "@"]).out.write_out(), Some(WriteOut::Inline("@".into())));
        assert_eq!(parse(&[]).out.write_out(), None);
    }

    #[test]
    fn user_and_schemes() {
        assert!(parse(&[]).auth.origin_auth().is_none());
        let a = parse(&["-u", "joe:p:w"]).auth.origin_auth().unwrap();
        assert_eq!((a.user.as_str(), a.password.as_ref().map(|p| p.expose())), ("joe", Some("p:w")));
        assert!(a.preemptive_basic && a.schemes == SchemeSet::only(Scheme::Basic));
        let a = parse(&["-u", "joe", "--digest"]).auth.origin_auth().unwrap();
        assert!(a.password.is_none() && !a.preemptive_basic && a.schemes == SchemeSet::only(Scheme::Digest));
        let a = parse(&["-u", "joe:x", "--digest", "--anyauth", "--location-trusted"])
            .auth
            .origin_auth()
            .unwrap();
        assert!(a.schemes == SchemeSet::ANY);
        let a = parse(&["-u", "joe:x", "--ntlm", "--basic"]).auth.origin_auth().unwrap();
        assert!(a.preemptive_basic);
        assert!(T::try_parse_from(["t", "-u", "a\nb"]).is_err());
    }

    #[test]
    fn data_urlencode_forms() {
        let read = |p: &str| {
            if p == "f.txt" {
                Ok(b"a b&c\n".to_vec())
            } else {
                Err(std::io::Error::other("missing"))
            }
        };
        // The name before the first '=' is sent as given.
        assert_eq!(data_urlencode("a b&c=d", &read).unwrap(), "a b&c=d");
        assert_eq!(data_urlencode("plain text", &read).unwrap(), "plain+text");
        assert_eq!(data_urlencode("=a=b c+", &read).unwrap(), "a%3Db+c%2B");
        assert_eq!(data_urlencode("q=a b&c", &read).unwrap(), "q=a+b%26c");
        assert_eq!(data_urlencode("@f.txt", &read).unwrap(), "a+b%26c%0A");
        assert_eq!(data_urlencode("name@f.txt", &read).unwrap(), "name=a+b%26c%0A");
        assert!(data_urlencode("@missing", &read).is_err());
        assert_eq!(data_urlencode("~._-", &read).unwrap(), "~._-");
    }

    #[test]
    fn get_moves_the_data_into_the_query() {
        let u = |s: &str| url::Url::parse(s).unwrap();
        let body = |b: &[u8]| {
            Some((Body { source: BodySource::Bytes(b.to_vec()), strip_newlines: false }, "-d/--data"))
        };
        let args = parse(&["-G"]).auth;
        let (url, b) = args.apply_get(u("http://h/p"), body(b"a=1&b=2")).unwrap();
        assert_eq!((url.as_str(), b.is_none()), ("http://h/p?a=1&b=2", true));
        let (url, _) = args.apply_get(u("http://h/p?x=0"), body(b"a=1")).unwrap();
        assert_eq!(url.as_str(), "http://h/p?x=0&a=1");
        let (url, _) = args.apply_get(u("http://h/p"), None).unwrap();
        assert_eq!(url.as_str(), "http://h/p");
        // As curl's URL API: escapes in lower case (not the URL's own), a '#' starts the fragment.
        let (url, _) = args.apply_get(u("http://h/p?y=%0A"), body(b"a=%0A%C3%A9%26%ZZ%4")).unwrap();
        assert_eq!(url.as_str(), "http://h/p?y=%0A&a=%0a%c3%a9%26%ZZ%4");
        let (url, _) = args.apply_get(u("http://h/p#orig"), body(b"a#b#c")).unwrap();
        assert_eq!((url.query(), url.fragment()), (Some("a"), Some("b#c#orig")));
        // Standard input is read whole into the query (the tests' stand-in for it, without its
        // line breaks for -d), as curl reads it.
        let stdin = Some((Body { source: BodySource::Stdin, strip_newlines: true }, "-d/--data"));
        let (url, b) = args.apply_get(u("http://h/p"), stdin).unwrap();
        assert_eq!((url.query(), b.is_none()), (Some("fromstdin"), true));
        let (url, b) = parse(&[]).auth.apply_get(u("http://h/p"), body(b"a=1")).unwrap();
        assert_eq!((url.as_str(), b.is_some()), ("http://h/p", true));
        // A line break, a tab or another control character would be dropped by the URL parser:
        // refused (as curl refuses it), without showing the data.
        for (data, what) in [
            (&b"pw=s3cret\nb=2"[..], "a line break"),
            (b"a=1\tb", "a tab"),
            (b"a\rb", "a carriage"),
            (b"a\x7fb", "0x7f"),
        ] {
            let e = args.apply_get(u("http://h/p"), body(data)).unwrap_err();
            let m = e.to_string();
            assert!(m.contains(what) && m.contains("-G") && !m.contains("s3cret"), "{m}");
            assert_eq!(e.exit(), crate::error::Exit::Usage);
        }
    }

    #[test]
    fn referer_resolve_and_versions() {
        assert_eq!(parse(&["-e", "http://r/"]).auth.referer(), (Some("http://r/".into()), false));
        assert_eq!(parse(&["-e", "http://r/;auto"]).auth.referer(), (Some("http://r/".into()), true));
        assert_eq!(parse(&["-e", ";auto"]).auth.referer(), (None, true));
        assert_eq!(
            parse_resolve("Example.com:443:127.0.0.1").unwrap(),
            ("example.com".into(), "127.0.0.1:443".parse().unwrap())
        );
        assert_eq!(parse_resolve("h:80:[::1]").unwrap().1, "[::1]:80".parse().unwrap());
        for bad in ["h:80", "h:x:1.2.3.4", ":80:1.2.3.4", "h:80:nothost"] {
            assert!(parse_resolve(bad).is_err(), "{bad}");
        }
        // curl's `+` (an entry that times out) is a plain one; `*` and `-HOST:PORT` are refused,
        // never left to the system resolver.
        assert_eq!(parse_resolve("+h:80:127.0.0.1").unwrap().0, "h");
        assert!(parse_resolve("*:80:127.0.0.1").unwrap_err().contains("any host"));
        assert!(parse_resolve("-h:80").unwrap_err().contains("not supported"));
        let t = parse(&["--http1.1", "-4", "--http2"]);
        let x = t.auth.extras(&t.out);
        assert_eq!((x.http_version, x.ip_family), (HttpVersion::Http2, IpFamily::V4));
        assert!(T::try_parse_from(["t", "-f", "--fail-with-body"]).is_err());
        let t = parse(&["-b", "a=1; b=2", "-c", "jar.txt", "-j"]);
        let x = t.auth.extras(&t.out);
        assert_eq!(
            (x.cookie_files.is_empty(), x.cookie_jar, x.junk_session),
            (true, Some("jar.txt".into()), true)
        );
        assert!(t.auth.implied_headers().unwrap().contains(&("Cookie".into(), "a=1; b=2".into())));
        let t = parse(&["-b", "a=1", "-b", "b=2"]);
        assert!(t.auth.implied_headers().unwrap().contains(&("Cookie".into(), "a=1;b=2".into())));
        let t = parse(&["-b", "cookies.txt", "-b", "x=1", "-b", "more.txt"]);
        assert_eq!(
            t.auth.extras(&t.out).cookie_files,
            [PathBuf::from("cookies.txt"), PathBuf::from("more.txt")]
        );
        let t = parse(&["-b", "cookies.txt"]);
        assert!(t.auth.implied_headers().unwrap().is_empty());
        let t = parse(&["-n"]);
        assert_eq!(
            t.auth.extras(&t.out).netrc,
            Some(NetrcConfig {
                file: None,
                schemes: (SchemeSet::only(Scheme::Basic), true),
                sigv4: None,
                read: None
            })
        );
        let t = parse(&["--netrc-file", "n.txt"]);
        assert_eq!(
            t.auth.extras(&t.out).netrc,
            Some(NetrcConfig {
                file: Some("n.txt".into()),
                schemes: (SchemeSet::only(Scheme::Basic), true),
                sigv4: None,
                read: None
            })
        );
        let t = parse(&["--aws-sigv4", "aws:amz:us-east-1:s3", "-u", "AKID:key", "--digest"]);
        let a = t.auth.origin_auth().unwrap();
        assert_eq!(a.sigv4.unwrap().region.as_deref(), Some("us-east-1"));
        assert!(!a.preemptive_basic, "a signed request sends no Basic");
        let t = parse(&["-D", "-", "--create-dirs", "--fail-with-body"]);
        let x = t.auth.extras(&t.out);
        assert_eq!(x.dump_header, Some(DumpHeader::Stdout));
        assert!(x.create_dirs && x.fail_with_body);
    }

    #[test]
    fn upload_file_and_range() {
        let u = |s: &str| url::Url::parse(s).unwrap();
        let file = Path::new("dir/my file.txt");
        let mut method = None;
        let (url, body) = apply_upload(Some(file), u("http://h/up/"), None, &mut method).unwrap();
        assert_eq!(url.as_str(), "http://h/up/my%20file.txt");
        assert_eq!(method.as_deref(), Some("PUT"));
        let (body, option) = body.unwrap();
        assert_eq!((body.source, option), (BodySource::File("dir/my file.txt".into()), "-T/--upload-file"));
        let mut post = Some("POST".to_string());
        let (url, _) = apply_upload(Some(file), u("http://h/exact"), None, &mut post).unwrap();
        assert_eq!((url.as_str(), post.as_deref()), ("http://h/exact", Some("POST")));
        for stdin in ["-", "."] {
            let (url, body) = apply_upload(Some(Path::new(stdin)), u("http://h/"), None, &mut None).unwrap();
            assert_eq!((url.as_str(), body.unwrap().0.source), ("http://h/", BodySource::Stdin));
        }
        // curl names the file by what follows its last '/' or '\\'.
        let (url, _) = apply_upload(Some(Path::new("a\\b c.txt")), u("http://h"), None, &mut None).unwrap();
        assert_eq!(url.as_str(), "http://h/b%20c.txt");
        let (url, body) = apply_upload(None, u("http://h/"), None, &mut None).unwrap();
        assert!(url.as_str() == "http://h/" && body.is_none());
        assert_eq!(
            parse(&["-T", "a", "-T", "", "-T", "b"]).auth.upload_file,
            ["a", "", "b"].map(PathBuf::from)
        );
        let data =
            Some((Body { source: BodySource::Bytes(b"x".to_vec()), strip_newlines: false }, "-d/--data"));
        assert!(apply_upload(Some(file), u("http://h/"), data, &mut None).is_err());
        for good in ["0-9", "100-", "-5", "0-1,5-6"] {
            assert_eq!(parse_range(good).unwrap(), good);
        }
        for bad in ["", "-", "a-b", "1", "0-1;x"] {
            assert!(parse_range(bad).is_err(), "{bad}");
        }
        // -r's header depends on the request (`client::resume::request_range`): not one of these.
        let args = parse(&["-r", "0-9", "-e", "http://r/"]).auth;
        assert_eq!(args.implied_headers().unwrap(), vec![("Referer".into(), "http://r/".into())]);
        assert_eq!(args.extras(&Default::default()).range.as_deref(), Some("0-9"));
    }

    #[test]
    fn output_dir_applies_to_relative_files_and_remote_names() {
        let d = PathBuf::from("out");
        assert_eq!(
            output_in_dir(OutputTarget::File("x".into()), Some(&d)),
            OutputTarget::File("out/x".into())
        );
        assert_eq!(
            output_in_dir(OutputTarget::File("/abs".into()), Some(&d)),
            OutputTarget::File("/abs".into())
        );
        assert_eq!(output_in_dir(OutputTarget::Stdout, Some(&d)), OutputTarget::Stdout);
        // -O's name (the URL's, or the server's with -J) goes there when it is known.
        assert_eq!(output_in_dir(OutputTarget::RemoteName, Some(&d)), OutputTarget::RemoteName);
        let t = parse(&["--output-dir", "out"]);
        assert_eq!(t.auth.extras(&t.out).output_dir, Some(d));
    }

    #[test]
    fn retry_options() {
        assert_eq!(parse(&[]).auth.retry(), RetryConfig::default());
        let r =
            parse(&["--retry", "3", "--retry-delay", "0.5", "--retry-max-time", "0", "--retry-all-errors"])
                .auth
                .retry();
        assert_eq!(r.retries, 3);
        assert_eq!(r.delay, Some(std::time::Duration::from_millis(500)));
        assert_eq!(r.max_time, None);
        assert!(r.all_errors && !r.connrefused);
        assert!(T::try_parse_from(["t", "--retry", "-1"]).is_err());
        assert!(T::try_parse_from(["t", "--retry", "x"]).is_err());
    }
}
