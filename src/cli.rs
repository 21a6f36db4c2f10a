//! The command line: the clap definition ([`Cli`], in curl's vocabulary) and its one-time
//! conversion ([`Cli::into_config`]) into the plain `config` types plus the chosen subcommand.
//!
//! Only this module and the app see clap. The conversion reads the environment only through the
//! lookup closure it is given, so it is testable; proxy environment variables are not read here
//! (see `proxy_env`). Every problem found here is a [`UsageError`] (exit code 2).

use crate::auth::{Scheme, SchemeSet};
use crate::config::{Body, BodySource, OutputStyle, OutputTarget, ProxyConfig, RequestConfig};
use crate::proxy_env::{self, ProxyError};
use crate::secret::Secret;
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

const AFTER_HELP: &str = "\
Examples:
  toll https://example.com/
  toll -x proxy.corp:3128 -U alice https://example.com/
  https_proxy=http://proxy.corp:3128 toll -v https://example.com/
  toll --json '{\"name\":\"toll\"}' https://example.com/api
  toll demo --scheme digest";

const AFTER_LONG_HELP: &str = "\
Environment:
  https_proxy, HTTPS_PROXY   Proxy for https:// URLs (unless -x is given).
  http_proxy, HTTP_PROXY     Proxy for http:// URLs. HTTP_PROXY is ignored when REQUEST_METHOD is
                             set (CGI programs: see \"httpoxy\").
  all_proxy, ALL_PROXY       Proxy for URLs the variables above do not cover.
  no_proxy, NO_PROXY         Hosts to reach directly; same syntax as --noproxy.
  TOLL_NO_PROMPT             Set to 1 to behave as if --no-prompt was given.
  Lowercase names win over uppercase ones; empty values count as unset.

Examples:
  toll https://example.com/
  toll -x proxy.corp:3128 -U alice https://example.com/
  https_proxy=http://proxy.corp:3128 toll -v https://example.com/
  toll --json '{\"name\":\"toll\"}' https://example.com/api
  toll demo --scheme digest";

/// toll: an HTTP client that knows how to talk to your authenticating proxy.
#[derive(Parser, Debug)]
#[command(
    name = "toll",
    version,
    about = "An HTTP client that knows how to talk to your authenticating proxy",
    long_about = "An HTTP client that knows how to talk to your authenticating proxy.\n\n\
        toll speaks curl's options. It answers a proxy's 407 (Basic, Digest), also on CONNECT \
        for https:// URLs, asking for the password when it needs one and none was given.",
    after_help = AFTER_HELP,
    after_long_help = AFTER_LONG_HELP,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    // curl lets a later option replace an earlier one (`-x a -x b`): so do we.
    args_override_self = true,
    // `toll help` would shadow the URL `help`; `-h` and `--help` are enough.
    disable_help_subcommand = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// The URL to fetch. Without a scheme, http:// is assumed (as curl does); toll speaks
    /// http:// and https://.
    #[arg(value_name = "URL", required = true)]
    pub url: Option<String>,

    #[command(flatten)]
    pub proxy: ProxyArgs,

    #[command(flatten)]
    pub request: RequestArgs,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub connection: ConnectionArgs,
}

#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Proxy")]
pub struct ProxyArgs {
    /// Use this proxy: [SCHEME://][USER[:PASSWORD]@]HOST[:PORT]. Schemes: http (default),
    /// https, socks4, socks4a, socks5, socks5h; default port 1080 (443 for https). Overrides the
    /// *_proxy environment variables; an empty string means no proxy at all.
    #[arg(short = 'x', long = "proxy", value_name = "PROXY")]
    pub proxy: Option<ProxyArg>,

    /// User name and password for the proxy, split at the first ':' (so the password may
    /// contain ':'). Without ':PASSWORD' toll asks for it when the proxy wants one.
    #[arg(short = 'U', long = "proxy-user", value_name = "USER[:PASSWORD]")]
    pub proxy_user: Option<ProxyUser>,

    /// Hosts to reach without the proxy, separated by commas or spaces; overrides no_proxy and
    /// NO_PROXY. Entries: '*' (everything), a domain (matches its subdomains too: example.com,
    /// .example.com), an IP address or CIDR block (10.0.0.0/8, ::1/128), each optionally with
    /// ':PORT'. An empty LIST clears the environment's list.
    #[arg(long = "noproxy", value_name = "LIST")]
    pub noproxy: Option<String>,

    /// Only answer the proxy with Basic authentication (sends the password in clear text
    /// unless the proxy is https://).
    #[arg(long, overrides_with_all = ["proxy_digest", "proxy_anyauth"])]
    pub proxy_basic: bool,

    /// Only answer the proxy with Digest authentication.
    #[arg(long, overrides_with_all = ["proxy_basic", "proxy_anyauth"])]
    pub proxy_digest: bool,

    /// Answer with the strongest scheme the proxy offers (the default). Of --proxy-basic,
    /// --proxy-digest and --proxy-anyauth the last one given wins.
    #[arg(long, overrides_with_all = ["proxy_basic", "proxy_digest"])]
    pub proxy_anyauth: bool,

    /// Verify an https:// proxy's certificate against the CA certificates in FILE (PEM).
    #[arg(long, value_name = "FILE")]
    pub proxy_cacert: Option<PathBuf>,

    /// Do not verify an https:// proxy's certificate (dangerous).
    #[arg(long)]
    pub proxy_insecure: bool,

    /// Never ask for a password on the terminal; fail instead. Also: TOLL_NO_PROMPT=1.
    #[arg(long)]
    pub no_prompt: bool,
}

#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Request")]
pub struct RequestArgs {
    /// Request method (default GET; POST with a body; HEAD with -I).
    #[arg(short = 'X', long = "request", value_name = "METHOD", value_parser = parse_method)]
    pub method: Option<String>,

    /// Extra request header, 'Name: value' ('Name;' sends an empty value). Repeatable.
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    pub headers: Vec<Header>,

    /// Send DATA as a form body (POST, Content-Type application/x-www-form-urlencoded unless
    /// set with -H). @FILE reads a file and @- standard input, dropping CR and LF. Repeat to
    /// join pieces with '&'.
    #[arg(short = 'd', long = "data", value_name = "DATA")]
    pub data: Vec<DataArg>,

    /// Like -d, but @FILE and @- are sent byte for byte.
    #[arg(long = "data-binary", value_name = "DATA")]
    pub data_binary: Vec<DataArg>,

    /// Send JSON (POST, Content-Type and Accept application/json unless set with -H).
    /// @FILE and @- as for --data-binary; repeated pieces are concatenated.
    #[arg(long = "json", value_name = "DATA")]
    pub json: Vec<DataArg>,

    /// Send only a HEAD request and show the response headers.
    #[arg(short = 'I', long = "head")]
    pub head: bool,

    /// Follow redirects (3xx with Location).
    #[arg(short = 'L', long = "location")]
    pub location: bool,

    /// With -L, follow at most N redirects (-1: no limit).
    #[arg(long = "max-redirs", value_name = "N", default_value = "50",
        value_parser = parse_max_redirs, allow_negative_numbers = true)]
    pub max_redirs: usize,

    /// User-Agent header to send.
    #[arg(short = 'A', long = "user-agent", value_name = "NAME")]
    pub user_agent: Option<String>,

    /// Ask for a compressed response (gzip, deflate, br, zstd) and decompress it.
    #[arg(long)]
    pub compressed: bool,
}

#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Output")]
pub struct OutputArgs {
    /// Write the body to FILE instead of standard output ('-' is standard output).
    #[arg(short = 'o', long = "output", value_name = "FILE", conflicts_with = "remote_name")]
    pub output: Option<PathBuf>,

    /// Write the body to a file named like the URL's last path segment.
    #[arg(short = 'O', long = "remote-name")]
    pub remote_name: bool,

    /// Show the response headers before the body.
    #[arg(short = 'i', long = "include")]
    pub include: bool,

    /// Fail (exit code 22) on HTTP errors (status 400 and above) without writing the body.
    #[arg(short = 'f', long = "fail")]
    pub fail: bool,

    /// No progress meter and no error messages.
    #[arg(short = 's', long = "silent")]
    pub silent: bool,

    /// With -s, still show error messages.
    #[arg(short = 'S', long = "show-error")]
    pub show_error: bool,

    /// Show the proxy conversation and the request and response headers on standard error
    /// (secrets redacted).
    #[arg(short = 'v', long = "verbose")]
    pub verbose: bool,
}

#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Connection")]
pub struct ConnectionArgs {
    /// Give up after this many seconds in total (fractions allowed; 0: no limit).
    #[arg(short = 'm', long = "max-time", value_name = "SECONDS")]
    pub max_time: Option<Seconds>,

    /// Give up connecting after this many seconds (fractions allowed; 0: no limit).
    #[arg(long = "connect-timeout", value_name = "SECONDS")]
    pub connect_timeout: Option<Seconds>,

    /// Do not verify the server's certificate (dangerous).
    #[arg(short = 'k', long = "insecure")]
    pub insecure: bool,

    /// Verify servers against the CA certificates in FILE (PEM) instead of the system's.
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,
}

#[derive(Subcommand, Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Try toll without a real proxy: run a local proxy that demands authentication and fetch a
    /// page through it.
    Demo(DemoArgs),
}

#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct DemoArgs {
    /// The authentication scheme the demo proxy asks for.
    #[arg(long, value_enum, default_value_t = DemoScheme::Basic)]
    pub scheme: DemoScheme,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DemoScheme {
    Basic,
    Digest,
}

impl DemoScheme {
    pub fn scheme(self) -> Scheme {
        match self {
            DemoScheme::Basic => Scheme::Basic,
            DemoScheme::Digest => Scheme::Digest,
        }
    }
}

/// The raw `-x` value, kept as a secret because it may hold a password; it is parsed (with
/// password-free error messages) by the conversion, not by clap, which would echo it.
#[derive(Clone, Debug)]
pub struct ProxyArg(Secret);

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
}

impl FromStr for Header {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.contains(['\r', '\n', '\0']) {
            return Err("a header cannot contain a line break or NUL".into());
        }
        let (name, value) = match s.split_once(':') {
            Some((n, v)) => (n, v.trim()),
            // curl's `Name;` sends the header with an empty value.
            None => match s.strip_suffix(';') {
                Some(n) => (n, ""),
                None => return Err("expected 'Name: value' (no ':' found)".into()),
            },
        };
        if name.is_empty() {
            return Err("the header name is empty".into());
        }
        if let Some(c) = name.chars().find(|&c| !is_tchar(c)) {
            return Err(format!("the header name '{name}' contains {c:?}"));
        }
        Ok(Header { name: name.into(), value: value.into() })
    }
}

impl fmt::Debug for Header {
    /// Credentials in headers stay out of debug output.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secret = ["authorization", "proxy-authorization", "cookie"].iter().any(|n| self.name.eq_ignore_ascii_case(n));
        let value = if secret { "<redacted>" } else { &self.value };
        write!(f, "{}: {}", self.name, value)
    }
}

/// RFC 9110 §5.6.2 token characters.
fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

fn parse_method(s: &str) -> Result<String, String> {
    if !s.is_empty() && s.chars().all(is_tchar) {
        Ok(s.to_string())
    } else {
        Err("a method is a single word such as GET, POST or PUT".into())
    }
}

fn parse_max_redirs(s: &str) -> Result<usize, String> {
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

/// A command line that clap accepted but that does not make sense. Exit code 2.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UsageError {
    #[error("no URL given (try 'toll --help')")]
    MissingUrl,
    #[error("'{0}' is a subcommand: write 'toll {0} …' without options before it, or http://{0} for the host")]
    SubcommandAfterOptions(String),
    #[error("invalid URL '{url}': {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("unsupported URL scheme '{scheme}' in '{url}': toll fetches http:// and https:// URLs")]
    UnsupportedScheme { url: String, scheme: String },
    #[error(transparent)]
    Proxy(#[from] ProxyError),
    #[error("-I/--head cannot send a body: drop {0}")]
    HeadWithBody(&'static str),
    #[error("{0} and {1} cannot be combined: toll sends one kind of body")]
    MixedData(&'static str, &'static str),
    #[error("{0} with @FILE or @- must be the only data option (toll reads one body source)")]
    DataSourceNotAlone(&'static str),
    #[error("-O/--remote-name needs a URL that ends in a file name ('{url}' does not); use -o FILE")]
    NoRemoteName { url: String },
}

/// What the command line asks for.
#[derive(Debug)]
pub enum Invocation {
    /// The default: fetch a URL.
    Transfer(Box<Transfer>),
    Demo(DemoArgs),
}

/// A resolved `toll [OPTIONS] URL`.
#[derive(Debug)]
pub struct Transfer {
    pub request: RequestConfig,
    pub proxy: ProxyConfig,
    pub style: OutputStyle,
    /// `--no-prompt` or `TOLL_NO_PROMPT`: never read a password from the terminal.
    pub no_prompt: bool,
}

impl Cli {
    /// Resolves the command line once. `env` looks up environment variables (only
    /// `TOLL_NO_PROMPT` here); pass `&|k| std::env::var(k).ok()`.
    pub fn into_config(self, env: &dyn Fn(&str) -> Option<String>) -> Result<Invocation, UsageError> {
        if let Some(command) = self.command {
            return Ok(match command {
                Command::Demo(args) => Invocation::Demo(args),
            });
        }
        let Cli { url, proxy, request: req, output: out, connection: conn, .. } = self;
        let raw_url = url.ok_or(UsageError::MissingUrl)?;
        // Options before a subcommand name make clap read it as the URL (subcommands take no
        // request options); a bare host with that name is far less likely than that mistake.
        if Cli::command().get_subcommands().any(|c| c.get_name() == raw_url) {
            return Err(UsageError::SubcommandAfterOptions(raw_url));
        }
        let url = parse_request_url(&raw_url)?;

        let body = build_body(&req)?;
        if req.head {
            if let Some((_, option)) = &body {
                return Err(UsageError::HeadWithBody(option));
            }
        }
        let mut headers: Vec<(String, String)> = req.headers.into_iter().map(|h| (h.name, h.value)).collect();
        let has = |headers: &[(String, String)], name: &str| headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
        // The implied headers, unless the user set them: they go into `headers` so the client
        // has one list to send.
        match body.as_ref().map(|(_, option)| *option) {
            Some("--json") => {
                for name in ["Content-Type", "Accept"] {
                    if !has(&headers, name) {
                        headers.push((name.into(), "application/json".into()));
                    }
                }
            }
            Some("-d/--data") | Some("--data-binary") if !has(&headers, "Content-Type") => {
                headers.push(("Content-Type".into(), "application/x-www-form-urlencoded".into()));
            }
            _ => {}
        }
        let method = req.method.or_else(|| {
            if req.head {
                Some("HEAD".into())
            } else {
                body.is_some().then(|| "POST".into())
            }
        });

        let output = match out.output {
            Some(path) if path.as_os_str() == "-" => OutputTarget::Stdout,
            Some(path) => OutputTarget::File(path),
            None if out.remote_name => {
                let named = url.path_segments().and_then(|mut s| s.next_back()).is_some_and(|s| !s.is_empty());
                if !named {
                    return Err(UsageError::NoRemoteName { url: redacted_url(&url) });
                }
                OutputTarget::RemoteName
            }
            None => OutputTarget::Stdout,
        };
        let nonzero = |s: Option<Seconds>| s.map(|s| s.0).filter(|d| !d.is_zero());

        let request = RequestConfig {
            url,
            method,
            headers,
            body: body.map(|(b, _)| b),
            user_agent: req.user_agent,
            head_only: req.head,
            // curl -I prints the headers: they are all there is.
            include_headers: out.include || req.head,
            follow_redirects: req.location,
            max_redirects: req.max_redirs,
            fail_on_http_error: out.fail,
            compressed: req.compressed,
            insecure: conn.insecure,
            cacert: conn.cacert,
            max_time: nonzero(conn.max_time),
            connect_timeout: nonzero(conn.connect_timeout),
            output,
        };

        let (explicit, noproxy) = match &proxy.proxy {
            // curl: `-x ""` turns proxies off, the environment's too.
            Some(ProxyArg(raw)) if raw.expose().trim().is_empty() => (None, Some("*".to_string())),
            Some(ProxyArg(raw)) => (Some(proxy_env::parse_proxy_url(raw.expose(), "-x/--proxy")?), proxy.noproxy),
            None => (None, proxy.noproxy),
        };
        let (user, password) = match proxy.proxy_user {
            Some(ProxyUser { user, password }) => (Some(user), password),
            None => (None, None),
        };
        let allowed_schemes = if proxy.proxy_basic {
            SchemeSet::only(Scheme::Basic)
        } else if proxy.proxy_digest {
            SchemeSet::only(Scheme::Digest)
        } else {
            SchemeSet::ANY
        };
        let proxy_config = ProxyConfig {
            explicit,
            noproxy,
            user,
            password,
            allowed_schemes,
            proxy_cacert: proxy.proxy_cacert,
            proxy_insecure: proxy.proxy_insecure,
        };

        let style = OutputStyle { silent: out.silent, show_error: out.show_error, verbose: out.verbose };
        let no_prompt = proxy.no_prompt || env("TOLL_NO_PROMPT").is_some_and(|v| truthy(&v));
        Ok(Invocation::Transfer(Box::new(Transfer { request, proxy: proxy_config, style, no_prompt })))
    }
}

/// `1`, `yes`, `true`, anything else non-empty except `0`, `no`, `false`, `off`.
fn truthy(v: &str) -> bool {
    let v = v.trim();
    !v.is_empty() && !["0", "no", "false", "off"].iter().any(|f| v.eq_ignore_ascii_case(f))
}

/// The URL as curl takes it: without `scheme://`, `http://` is assumed.
fn parse_request_url(raw: &str) -> Result<url::Url, UsageError> {
    let scheme = raw.find("://").map(|i| &raw[..i]).filter(|s| {
        s.starts_with(|c: char| c.is_ascii_alphabetic())
            && s.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    });
    if let Some(s) = scheme {
        if !s.eq_ignore_ascii_case("http") && !s.eq_ignore_ascii_case("https") {
            return Err(UsageError::UnsupportedScheme {
                url: proxy_env::redact_userinfo(raw),
                scheme: s.to_ascii_lowercase(),
            });
        }
    }
    let full = if scheme.is_some() { raw.to_string() } else { format!("http://{raw}") };
    url::Url::parse(&full).map_err(|e| UsageError::InvalidUrl { url: proxy_env::redact_userinfo(raw), reason: e.to_string() })
}

fn redacted_url(url: &url::Url) -> String {
    let mut u = url.clone();
    if u.password().is_some() {
        let _ = u.set_password(Some("***"));
    }
    u.to_string()
}

/// The body from `-d`, `--data-binary` and `--json`, and the option that gave it (for the
/// implied headers and messages). Pieces of one option are joined as curl does; options are not
/// mixed, and an `@file`/`@-` piece must stand alone, since a [`Body`] has one source.
fn build_body(req: &RequestArgs) -> Result<Option<(Body, &'static str)>, UsageError> {
    let given: Vec<(&'static str, &[DataArg])> =
        [("-d/--data", &req.data[..]), ("--data-binary", &req.data_binary[..]), ("--json", &req.json[..])]
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .collect();
    let (option, pieces) = match given.as_slice() {
        [] => return Ok(None),
        [one] => *one,
        [a, b, ..] => return Err(UsageError::MixedData(a.0, b.0)),
    };
    let separator = if option == "--json" { "" } else { "&" };
    let source = match pieces {
        [DataArg::File(p)] => BodySource::File(p.clone()),
        [DataArg::Stdin] => BodySource::Stdin,
        _ => {
            let mut joined = Vec::new();
            for (i, piece) in pieces.iter().enumerate() {
                let DataArg::Inline(s) = piece else {
                    return Err(UsageError::DataSourceNotAlone(option));
                };
                if i > 0 {
                    joined.extend_from_slice(separator.as_bytes());
                }
                joined.extend_from_slice(s.as_bytes());
            }
            BodySource::Bytes(joined)
        }
    };
    // curl drops CR/LF only from -d files; inline data and --data-binary/--json stay as given.
    let strip_newlines = option == "-d/--data" && !matches!(source, BodySource::Bytes(_));
    Ok(Some((Body { source, strip_newlines }, option)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NO_ENV: &dyn Fn(&str) -> Option<String> = &|_| None;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("toll").chain(args.iter().copied()))
    }

    fn transfer(args: &[&str]) -> Transfer {
        match parse(args).unwrap().into_config(NO_ENV).unwrap() {
            Invocation::Transfer(t) => *t,
            other => panic!("{other:?}"),
        }
    }

    fn usage_error(args: &[&str]) -> UsageError {
        parse(args).unwrap().into_config(NO_ENV).unwrap_err()
    }

    fn header<'a>(t: &'a Transfer, name: &str) -> Vec<&'a str> {
        t.request.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).collect()
    }

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn curl_option_names() {
        let mut cmd = Cli::command();
        cmd.build();
        let expected: &[(Option<char>, &str)] = &[
            (Some('x'), "proxy"), (Some('U'), "proxy-user"), (None, "noproxy"), (None, "proxy-basic"),
            (None, "proxy-digest"), (None, "proxy-anyauth"), (None, "proxy-cacert"), (None, "proxy-insecure"),
            (Some('X'), "request"), (Some('H'), "header"), (Some('d'), "data"), (None, "data-binary"),
            (None, "json"), (Some('o'), "output"), (Some('O'), "remote-name"), (Some('i'), "include"),
            (Some('I'), "head"), (Some('L'), "location"), (None, "max-redirs"), (Some('f'), "fail"),
            (Some('s'), "silent"), (Some('S'), "show-error"), (Some('v'), "verbose"), (Some('m'), "max-time"),
            (None, "connect-timeout"), (Some('k'), "insecure"), (None, "cacert"), (Some('A'), "user-agent"),
            (None, "compressed"), (None, "no-prompt"), (Some('V'), "version"), (Some('h'), "help"),
        ];
        for (short, long) in expected {
            let arg = cmd.get_arguments().find(|a| a.get_long() == Some(long));
            let arg = arg.unwrap_or_else(|| panic!("--{long} missing"));
            assert_eq!(arg.get_short(), *short, "--{long}");
        }
    }

    #[test]
    fn defaults() {
        let t = transfer(&["https://example.com/x"]);
        let r = &t.request;
        assert_eq!(r.url.as_str(), "https://example.com/x");
        assert_eq!((r.method.as_deref(), r.headers.is_empty(), r.body.is_none()), (None, true, true));
        assert_eq!((r.max_redirects, r.follow_redirects, r.output.clone()), (50, false, OutputTarget::Stdout));
        assert!(!r.head_only && !r.include_headers && !r.fail_on_http_error && !r.compressed && !r.insecure);
        assert!(r.max_time.is_none() && r.connect_timeout.is_none() && r.cacert.is_none() && r.user_agent.is_none());
        assert_eq!(t.style, OutputStyle { silent: false, show_error: false, verbose: false });
        assert!(t.proxy.explicit.is_none() && t.proxy.noproxy.is_none() && t.proxy.user.is_none());
        assert_eq!(t.proxy.allowed_schemes, SchemeSet::ANY);
        assert!(!t.proxy.proxy_insecure && t.proxy.proxy_cacert.is_none() && !t.no_prompt);
    }

    #[test]
    fn url_without_scheme_is_http() {
        assert_eq!(transfer(&["example.com/x"]).request.url.as_str(), "http://example.com/x");
        assert_eq!(transfer(&["localhost:8080"]).request.url.as_str(), "http://localhost:8080/");
        assert_eq!(transfer(&["HTTPS://Example.COM"]).request.url.as_str(), "https://example.com/");
        assert_eq!(transfer(&["[::1]:80/a"]).request.url.as_str(), "http://[::1]/a");
        let u = transfer(&["example.com/?next=http://other/"]).request.url;
        assert_eq!(u.host_str(), Some("example.com"));
    }

    #[test]
    fn url_errors() {
        for (url, scheme) in [("ftp://example.com/", "ftp"), ("FILE:///etc/passwd", "file"), ("ws://h/", "ws")] {
            assert_eq!(usage_error(&[url]), UsageError::UnsupportedScheme { url: url.into(), scheme: scheme.into() });
        }
        assert!(matches!(usage_error(&["http://exa mple.com/"]), UsageError::InvalidUrl { .. }));
        assert!(matches!(usage_error(&["example.com:99999"]), UsageError::InvalidUrl { .. }));
        let e = usage_error(&["http://bob:hunter2@exa mple.com/"]).to_string();
        assert!(!e.contains("hunter2") && e.contains("bob:***@"), "{e}");
        let e = usage_error(&["-O", "http://bob:hunter2@h/"]).to_string();
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn url_is_required_without_a_subcommand() {
        assert_eq!(parse(&[]).unwrap_err().kind(), clap::error::ErrorKind::MissingRequiredArgument);
        assert_eq!(parse(&["-v"]).unwrap_err().kind(), clap::error::ErrorKind::MissingRequiredArgument);
    }

    #[test]
    fn demo_subcommand() {
        let demo = |args: &[&str]| match parse(args).unwrap().into_config(NO_ENV).unwrap() {
            Invocation::Demo(d) => d.scheme,
            other => panic!("{other:?}"),
        };
        assert_eq!(demo(&["demo"]), DemoScheme::Basic);
        assert_eq!(demo(&["demo", "--scheme", "digest"]).scheme(), Scheme::Digest);
        assert!(parse(&["demo", "--scheme", "ntlm"]).is_err());
        // With options, 'demo' would be a URL: refused with a hint rather than fetching http://demo/.
        assert_eq!(usage_error(&["-v", "demo"]), UsageError::SubcommandAfterOptions("demo".into()));
        assert_eq!(transfer(&["-v", "demo/"]).request.url.as_str(), "http://demo/");
        assert!(parse(&["demo", "http://x/"]).is_err());
        assert!(parse(&["help"]).is_ok(), "'help' is a URL, not a subcommand");
    }

    #[test]
    fn version_and_help() {
        assert_eq!(parse(&["-V"]).unwrap_err().kind(), clap::error::ErrorKind::DisplayVersion);
        assert_eq!(parse(&["--version"]).unwrap_err().kind(), clap::error::ErrorKind::DisplayVersion);
        let help = parse(&["-h"]).unwrap_err();
        assert_eq!(help.kind(), clap::error::ErrorKind::DisplayHelp);
        let long = parse(&["--help"]).unwrap_err().to_string();
        assert!(long.contains("NO_PROXY") && long.contains("--proxy-anyauth"), "{long}");
    }

    #[test]
    fn explicit_proxy() {
        let t = transfer(&["-x", "http://alice:s%3Acret@proxy.corp:3128", "http://h/"]);
        let p = t.proxy.explicit.unwrap();
        assert_eq!((p.display_url().as_str(), p.origin.as_str()), ("http://proxy.corp:3128", "-x/--proxy"));
        assert_eq!((p.user.as_deref(), p.password.unwrap().expose()), (Some("alice"), "s:cret"));
        let t = transfer(&["--proxy", "a:1", "-x", "socks5h://b", "http://h/"]);
        assert_eq!(t.proxy.explicit.unwrap().display_url(), "socks5h://b:1080", "last -x wins");
        let e = usage_error(&["-x", "ftp://u:hunter2@p", "http://h/"]);
        assert!(matches!(e, UsageError::Proxy(ProxyError::UnsupportedScheme { .. })), "{e:?}");
        let e = usage_error(&["-x", "http://u:hunter2@p:http", "http://h/"]).to_string();
        assert!(e.contains("-x/--proxy") && !e.contains("hunter2"), "{e}");
        let shown = format!("{:?}", parse(&["-x", "http://u:hunter2@p", "http://h/"]).unwrap());
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn empty_proxy_means_no_proxy_at_all() {
        let t = transfer(&["-x", "", "--noproxy", "a.com", "http://h/"]);
        assert!(t.proxy.explicit.is_none());
        assert_eq!(t.proxy.noproxy.as_deref(), Some("*"));
    }

    #[test]
    fn noproxy_is_passed_through() {
        assert_eq!(transfer(&["--noproxy", "a.com, .b.com", "h"]).proxy.noproxy.as_deref(), Some("a.com, .b.com"));
        assert_eq!(transfer(&["--noproxy", "", "h"]).proxy.noproxy.as_deref(), Some(""));
    }

    #[test]
    fn proxy_user_splits_at_the_first_colon() {
        let t = transfer(&["-U", "alice:pa:ss@word", "h"]);
        assert_eq!((t.proxy.user.as_deref(), t.proxy.password.unwrap().expose()), (Some("alice"), "pa:ss@word"));
        let t = transfer(&["--proxy-user", "alice", "h"]);
        assert_eq!((t.proxy.user.as_deref(), t.proxy.password.is_none()), (Some("alice"), true));
        let t = transfer(&["-U", "alice:", "h"]);
        assert_eq!(t.proxy.password.unwrap().expose(), "");
        let t = transfer(&["-U", "DOMAIN\\alice:x", "h"]);
        assert_eq!(t.proxy.user.as_deref(), Some("DOMAIN\\alice"));
        assert!(parse(&["-U", "a\nb:c", "h"]).is_err());
        let shown = format!("{:?}", parse(&["-U", "alice:hunter2", "h"]).unwrap());
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn proxy_auth_scheme_flags_last_wins() {
        let schemes = |args: &[&str]| transfer(&[args, &["h"]].concat()).proxy.allowed_schemes;
        assert_eq!(schemes(&[]), SchemeSet::ANY);
        assert_eq!(schemes(&["--proxy-basic"]), SchemeSet::only(Scheme::Basic));
        assert_eq!(schemes(&["--proxy-digest"]), SchemeSet::only(Scheme::Digest));
        assert_eq!(schemes(&["--proxy-anyauth"]), SchemeSet::ANY);
        assert_eq!(schemes(&["--proxy-basic", "--proxy-digest"]), SchemeSet::only(Scheme::Digest));
        assert_eq!(schemes(&["--proxy-digest", "--proxy-basic"]), SchemeSet::only(Scheme::Basic));
        assert_eq!(schemes(&["--proxy-digest", "--proxy-anyauth"]), SchemeSet::ANY);
        assert_eq!(schemes(&["--proxy-anyauth", "--proxy-basic"]), SchemeSet::only(Scheme::Basic));
        assert_eq!(schemes(&["--proxy-basic", "--proxy-basic"]), SchemeSet::only(Scheme::Basic));
    }

    #[test]
    fn proxy_tls_options() {
        let t = transfer(&["--proxy-cacert", "ca.pem", "--proxy-insecure", "h"]);
        assert_eq!(t.proxy.proxy_cacert, Some(PathBuf::from("ca.pem")));
        assert!(t.proxy.proxy_insecure);
    }

    #[test]
    fn headers() {
        let t = transfer(&["-H", "X-A:  1 ", "--header", "x-b:2:3", "-H", "X-Empty;", "-H", "Accept:", "h"]);
        let got: Vec<_> = t.request.headers.iter().map(|(n, v)| format!("{n}={v}")).collect();
        assert_eq!(got, ["X-A=1", "x-b=2:3", "X-Empty=", "Accept="]);
        for bad in ["NoColon", ": v", "Bad Name: v", "X: a\r\nInjected: b", "X\n: v", "(x): v"] {
            assert!(parse(&["-H", bad, "h"]).is_err(), "{bad:?}");
        }
        let shown = format!("{:?}", Header::from_str("authorization: Bearer tok3n").unwrap());
        assert!(!shown.contains("tok3n"), "{shown}");
        assert_eq!(format!("{:?}", Header::from_str("X: y").unwrap()), "X: y");
    }

    #[test]
    fn method() {
        assert_eq!(transfer(&["-X", "PUT", "h"]).request.method.as_deref(), Some("PUT"));
        assert_eq!(transfer(&["--request", "PROPFIND", "h"]).request.method.as_deref(), Some("PROPFIND"));
        assert!(parse(&["-X", "GE T", "h"]).is_err());
        assert!(parse(&["-X", "", "h"]).is_err());
    }

    #[test]
    fn form_data() {
        let t = transfer(&["-d", "a=1", "--data", "b=2", "h"]);
        assert_eq!(t.request.method.as_deref(), Some("POST"));
        let body = t.request.body.clone().unwrap();
        assert_eq!(body, Body { source: BodySource::Bytes(b"a=1&b=2".to_vec()), strip_newlines: false });
        assert_eq!(header(&t, "content-type"), ["application/x-www-form-urlencoded"]);
        let t = transfer(&["-d", "x", "-H", "content-type: text/plain", "h"]);
        assert_eq!(header(&t, "Content-Type"), ["text/plain"]);
        let t = transfer(&["-d", "@form.txt", "h"]);
        assert_eq!(t.request.body.unwrap(), Body { source: BodySource::File("form.txt".into()), strip_newlines: true });
        let t = transfer(&["-d", "@-", "h"]);
        assert_eq!(t.request.body.unwrap(), Body { source: BodySource::Stdin, strip_newlines: true });
        let t = transfer(&["-X", "PUT", "-d", "x", "h"]);
        assert_eq!(t.request.method.as_deref(), Some("PUT"));
        assert!(parse(&["-d", "@", "h"]).is_err());
        let t = transfer(&["-d", "", "h"]);
        assert_eq!(t.request.body.unwrap().source, BodySource::Bytes(vec![]));
    }

    #[test]
    fn binary_data() {
        let t = transfer(&["--data-binary", "@img.png", "h"]);
        let body = t.request.body.clone().unwrap();
        assert_eq!(body, Body { source: BodySource::File("img.png".into()), strip_newlines: false });
        assert_eq!(header(&t, "content-type"), ["application/x-www-form-urlencoded"]);
        let t = transfer(&["--data-binary", "a", "--data-binary", "b", "h"]);
        assert_eq!(t.request.body.unwrap().source, BodySource::Bytes(b"a&b".to_vec()));
    }

    #[test]
    fn json() {
        let t = transfer(&["--json", "{\"a\":", "--json", "1}", "h"]);
        assert_eq!(t.request.method.as_deref(), Some("POST"));
        assert_eq!(t.request.body.clone().unwrap().source, BodySource::Bytes(b"{\"a\":1}".to_vec()));
        assert_eq!((header(&t, "content-type"), header(&t, "accept")), (vec!["application/json"], vec!["application/json"]));
        let t = transfer(&["--json", "@-", "-H", "Accept: text/plain", "h"]);
        assert_eq!(t.request.body.clone().unwrap(), Body { source: BodySource::Stdin, strip_newlines: false });
        assert_eq!(header(&t, "accept"), ["text/plain"]);
    }

    #[test]
    fn body_combinations_that_are_refused() {
        assert_eq!(usage_error(&["-d", "a", "--json", "{}", "h"]), UsageError::MixedData("-d/--data", "--json"));
        assert_eq!(usage_error(&["--data-binary", "a", "-d", "b", "h"]), UsageError::MixedData("-d/--data", "--data-binary"));
        assert_eq!(usage_error(&["-d", "a", "-d", "@f", "h"]), UsageError::DataSourceNotAlone("-d/--data"));
        assert_eq!(usage_error(&["--json", "@-", "--json", "@-", "h"]), UsageError::DataSourceNotAlone("--json"));
        assert_eq!(usage_error(&["-I", "-d", "a", "h"]), UsageError::HeadWithBody("-d/--data"));
    }

    #[test]
    fn head() {
        let t = transfer(&["-I", "h"]);
        assert_eq!(t.request.method.as_deref(), Some("HEAD"));
        assert!(t.request.head_only && t.request.include_headers);
        assert_eq!(transfer(&["-I", "-X", "GET", "h"]).request.method.as_deref(), Some("GET"));
    }

    #[test]
    fn output_targets() {
        assert_eq!(transfer(&["-o", "out.html", "h"]).request.output, OutputTarget::File("out.html".into()));
        assert_eq!(transfer(&["-o", "-", "h"]).request.output, OutputTarget::Stdout);
        assert_eq!(transfer(&["-O", "http://h/a/file.tgz"]).request.output, OutputTarget::RemoteName);
        for url in ["http://h/", "http://h", "http://h/dir/"] {
            assert!(matches!(usage_error(&["-O", url]), UsageError::NoRemoteName { .. }), "{url}");
        }
        assert_eq!(parse(&["-o", "x", "-O", "h/f"]).unwrap_err().kind(), clap::error::ErrorKind::ArgumentConflict);
    }

    #[test]
    fn max_redirs() {
        let redirs = |n: &str| parse(&["--max-redirs", n, "h"]).map(|c| c.request.max_redirs);
        assert_eq!(redirs("3").unwrap(), 3);
        assert_eq!(redirs("0").unwrap(), 0);
        assert_eq!(redirs("-1").unwrap(), usize::MAX);
        assert!(redirs("-2").is_err() && redirs("x").is_err());
    }

    #[test]
    fn timeouts() {
        let t = transfer(&["-m", "2.5", "--connect-timeout", "3", "h"]);
        assert_eq!(t.request.max_time, Some(Duration::from_millis(2500)));
        assert_eq!(t.request.connect_timeout, Some(Duration::from_secs(3)));
        assert_eq!(transfer(&["--max-time", "0", "h"]).request.max_time, None);
        assert_eq!(transfer(&["-m", ".001", "h"]).request.max_time, Some(Duration::from_millis(1)));
        for bad in ["-1", "nan", "inf", "1s", "", "1e300"] {
            assert!(parse(&["-m", bad, "h"]).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn flags_map_to_config() {
        let t = transfer(&["-sSLifkv", "--compressed", "--cacert", "ca.pem", "-A", "bot/1", "h"]);
        let r = &t.request;
        assert!(r.follow_redirects && r.include_headers && r.fail_on_http_error && r.insecure && r.compressed);
        assert_eq!((r.cacert.clone(), r.user_agent.as_deref()), (Some(PathBuf::from("ca.pem")), Some("bot/1")));
        assert_eq!(t.style, OutputStyle { silent: true, show_error: true, verbose: true });
        let t = transfer(&["--silent", "--show-error", "--verbose", "--location", "--include", "--fail", "h"]);
        assert_eq!(t.style, OutputStyle { silent: true, show_error: true, verbose: true });
    }

    #[test]
    fn no_prompt_from_flag_or_environment() {
        let with_env = |args: &[&str], value: Option<&str>| {
            let env = |k: &str| (k == "TOLL_NO_PROMPT").then(|| value.map(String::from)).flatten();
            match parse(args).unwrap().into_config(&env).unwrap() {
                Invocation::Transfer(t) => t.no_prompt,
                other => panic!("{other:?}"),
            }
        };
        assert!(with_env(&["--no-prompt", "h"], None));
        assert!(!with_env(&["h"], None));
        for v in ["1", "yes", "TRUE"] {
            assert!(with_env(&["h"], Some(v)), "{v}");
        }
        for v in ["", "0", "no", "False", "off"] {
            assert!(!with_env(&["h"], Some(v)), "{v}");
        }
        assert!(with_env(&["--no-prompt", "h"], Some("0")), "the flag wins");
    }

    #[test]
    fn usage_errors_read_well() {
        let e = usage_error(&["-I", "--json", "{}", "h"]).to_string();
        assert_eq!(e, "-I/--head cannot send a body: drop --json");
        let e = usage_error(&["gopher://h/"]).to_string();
        assert!(e.contains("gopher") && e.contains("http://"), "{e}");
    }
}
