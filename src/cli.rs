//! The command line: the clap definition ([`Cli`], in curl's vocabulary) and its one-time
//! conversion ([`Cli::into_config`]) into the plain `config` types plus the chosen subcommand.
//!
//! Only this module and the app see clap. The conversion reads the environment only through the
//! lookup closure it is given, so it is testable; proxy environment variables are not read here
//! (see `proxy_env`). Every problem found here is a [`UsageError`] (exit code 2).

use crate::config::{Body, BodySource, CurlExtras, OutputStyle, ProxyConfig, RequestConfig, TransferOptions};
use crate::proxy_env::ProxyError;
use crate::secret::Secret;
use clap::{Args, CommandFactory, Parser, Subcommand};
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

mod commands;
mod serve;
use commands::doctor_config;
pub use commands::{AuthCommand, AuthProxyArg, DemoArgs, DemoScheme, Doctor, DoctorArgs, LoginArgs};
use commands::{AUTH_AFTER_LONG_HELP, DOCTOR_AFTER_LONG_HELP};
pub use serve::{Listen, RunArgs, ServeArgs, ServeConfig};
mod body;
pub mod conn_opts;
mod curl_opts;
mod curlrc;
mod doh_opts;
mod glob;
/// curl's URL globbing, for the fuzz target (`fuzz/fuzz_targets/url_glob.rs`).
pub use glob::{expand as expand_url_glob, Expanded as GlobbedUrl, MAX_URLS};
mod proxy_opts;
use proxy_opts::proxy_config;
pub use proxy_opts::{parse_service_name, ProxyArgs};
mod values;
use values::{parse_max_redirs, parse_method, parse_user_agent};
pub use values::{DataArg, Header, ProxyArg, ProxyUser, Seconds};
mod urls;
pub use curl_opts::{
    data_urlencode, parse_range, parse_resolve, parse_write_out, CurlConnArgs, CurlOutputArgs,
    CurlRequestArgs,
};
pub use curlrc::{expand_config_args, parse_config, ConfigError, ConfigLine};
use urls::{parse_request_url, parse_transfer_url};
mod form_parse;
mod transfer_opts;
pub use form_parse::parse_form;
pub use transfer_opts::{parse_cli, TransferArgs};
mod follow;
mod negate;
mod next;
mod prepare;
mod units;
mod vars;
pub use negate::{apply_negations, NegationError};
pub use next::split_next;
pub use prepare::{prepare, ArgSources, PrepareError};
pub use vars::{apply_variables, VarError, VarSources};

const AFTER_HELP: &str = "\
Examples:
  toll https://example.com/
  toll -x proxy.corp:3128 -U alice https://example.com/
  https_proxy=http://proxy.corp:3128 toll -v https://example.com/
  toll --json '{\"name\":\"toll\"}' https://example.com/api
  toll auth login proxy.corp:3128
  toll demo --scheme digest";

const AFTER_LONG_HELP: &str = "\
Environment:
  https_proxy, HTTPS_PROXY   Proxy for https:// URLs (unless -x is given).
  http_proxy, HTTP_PROXY     Proxy for http:// URLs. HTTP_PROXY is ignored when REQUEST_METHOD is
                             set (CGI programs: see \"httpoxy\").
  all_proxy, ALL_PROXY       Proxy for URLs the variables above do not cover.
  no_proxy, NO_PROXY         Hosts to reach directly; same syntax as --noproxy.
  CURL_CA_BUNDLE             CA file for servers when neither --cacert nor --capath is given;
  SSL_CERT_FILE, SSL_CERT_DIR
                             without CURL_CA_BUNDLE: the CA file and directory (as curl).
  TOLL_NO_PROMPT             Set to 1 to behave as if --no-prompt was given.
  TOLL_PROXY_USER, TOLL_PROXY_PASSWORD
                             Proxy credentials (after -U and the proxy URL's).
  TOLL_KEYRING               auto (default), secret-service, keyutils, none: where passwords
                             are stored (see 'toll auth --help').
  TOLL_SAVE_CREDENTIALS      ask (default), always, never: save a password typed at the
                             prompt once it worked.
  TOLL_KEYRING_TIMEOUT       Seconds a keyring call may take (default 3).
  TOLL_REMEMBER              0: do not remember which scheme a proxy accepted (remembered.json).
  TOLL_PAC                   A PAC file or URL, when neither -x, --pac nor a proxy variable is set.
  XDG_CONFIG_HOME            toll/config, the settings file (default ~/.config).
  XDG_STATE_HOME             toll's state: remembered auth, the keyring index (default ~/.local/state).
  XDG_CACHE_HOME             Fetched PACs (default ~/.cache).
  Lowercase names win over uppercase ones; empty values count as unset.

Examples:
  toll https://example.com/
  toll -x proxy.corp:3128 -U alice https://example.com/
  https_proxy=http://proxy.corp:3128 toll -v https://example.com/
  toll --json '{\"name\":\"toll\"}' https://example.com/api
  toll auth login proxy.corp:3128
  toll demo --scheme digest";

/// toll: an HTTP client that knows how to talk to your authenticating proxy.
#[derive(Parser, Debug)]
#[command(
    name = "toll",
    version,
    about = "An HTTP client that knows how to talk to your authenticating proxy",
    long_about = "An HTTP client that knows how to talk to your authenticating proxy.\n\n\
        toll speaks curl's options. It answers a proxy's 407 (Negotiate, NTLM, Digest, Basic), also on CONNECT \
        for https:// URLs, asking for the password when it needs one and none was given.\n\n\
        As in curl, every on/off option has a --no- form that turns it off again (--no-location, \
        --no-include, --no-silent, ...), and --buffer, --keepalive, --sessionid, --alpn, \
        --progress-meter and --clobber turn their --no- options off.",
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

    /// The URL(s) to fetch (http:// or https://; http:// when no scheme is given), in turn.
    #[arg(value_name = "URL", required_unless_present = "url_flag")]
    pub urls: Vec<String>,

    #[command(flatten)]
    pub proxy: ProxyArgs,

    #[command(flatten)]
    pub request: RequestArgs,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub connection: ConnectionArgs,

    #[command(flatten)]
    pub transfer: TransferArgs,
}

#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Request")]
pub struct RequestArgs {
    /// The pieces of `-d`, `--data-binary`, `--data-raw` and `--data-urlencode` in the order
    /// given, when more than one of them is used (set by [`parse_cli`], which sees clap's
    /// indices).
    #[arg(skip)]
    pub data_order: Option<Vec<values::DataPiece>>,

    /// Request method (default GET; POST with a body; HEAD with -I).
    #[arg(short = 'X', long = "request", value_name = "METHOD", value_parser = parse_method)]
    pub method: Option<String>,

    /// Extra request header, 'Name: value'. Repeatable.
    ///
    /// 'Name;' sends the header with an empty value; 'Name:' sends none, not even the one toll
    /// would add (Accept, User-Agent, …). '@FILE' reads one header per line of FILE.
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    pub headers: Vec<Header>,

    /// Send DATA as a form body (POST). @FILE reads a file, @- standard input.
    ///
    /// Content-Type is application/x-www-form-urlencoded unless set with -H. CR and LF are
    /// dropped from @FILE and @- input.
    /// Repeat to join pieces with '&'; pieces of -d, --data-binary, --data-raw and
    /// --data-urlencode are joined in the order given. --json is not mixed with them, and @-
    /// must be the only piece.
    #[arg(short = 'd', long = "data", visible_alias = "data-ascii", value_name = "DATA")]
    pub data: Vec<DataArg>,

    /// Like -d, but @FILE and @- are sent byte for byte.
    #[arg(long = "data-binary", value_name = "DATA")]
    pub data_binary: Vec<DataArg>,

    /// Send JSON (POST), with Content-Type and Accept application/json.
    ///
    /// Either header set with -H wins. @FILE and @- as for --data-binary; repeated pieces are
    /// concatenated.
    #[arg(long = "json", value_name = "DATA")]
    pub json: Vec<DataArg>,

    /// Send only a HEAD request and show the response headers.
    #[arg(short = 'I', long = "head")]
    pub head: bool,

    /// Follow redirects (3xx with Location). A method set with -X is used on every one.
    #[arg(short = 'L', long = "location")]
    pub location: bool,

    /// Follow redirects as HTTP says: a method set with -X is kept for 307 and 308, while
    /// 301 and 302 after a POST and every 303 turn it into GET (curl 8.16). The last of -L,
    /// --location-trusted and --follow wins.
    #[arg(long = "follow")]
    pub follow: bool,

    /// With -L, follow at most N redirects (-1: no limit).
    #[arg(long = "max-redirs", value_name = "N", default_value = "50",
        value_parser = parse_max_redirs, allow_negative_numbers = true)]
    pub max_redirs: usize,

    /// User-Agent header to send.
    #[arg(short = 'A', long = "user-agent", value_name = "NAME", value_parser = parse_user_agent)]
    pub user_agent: Option<String>,

    /// Ask for a compressed response (gzip, deflate, br, zstd) and decompress it.
    #[arg(long)]
    pub compressed: bool,

    #[command(flatten)]
    pub curl: CurlRequestArgs,
}

#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Output")]
pub struct OutputArgs {
    /// Write the body to FILE instead of standard output ('-' is standard output).
    ///
    /// With several URLs, each -o (or -O) goes with the next URL, in turn.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Vec<PathBuf>,

    /// Write the body to a file named like the URL's last path segment.
    // One entry per -O (a counted flag would keep only its last position with
    // `args_override_self`; `parse_cli` needs each one's to pair it with a URL).
    #[arg(short = 'O', long = "remote-name", num_args = 0, default_missing_value = "true",
        action = clap::ArgAction::Append)]
    pub remote_name: Vec<bool>,

    /// Read the body in full and write it nowhere (curl 8.16; like -o /dev/null). Goes with
    /// the next URL, as -o does.
    #[arg(long = "out-null", num_args = 0, default_missing_value = "true",
        action = clap::ArgAction::Append)]
    pub out_null: Vec<bool>,

    /// Show the response headers before the body.
    #[arg(short = 'i', long = "include")]
    pub include: bool,

    /// Fail on HTTP errors (status 400 and above) without writing the body.
    #[arg(short = 'f', long = "fail")]
    pub fail: bool,

    /// No progress meter and no error messages.
    #[arg(short = 's', long = "silent")]
    pub silent: bool,

    /// With -s, still show error messages.
    #[arg(short = 'S', long = "show-error")]
    pub show_error: bool,

    /// Show the proxy conversation and the headers on standard error.
    ///
    /// That is, the request and response headers, with secrets redacted.
    #[arg(short = 'v', long = "verbose")]
    pub verbose: bool,

    #[command(flatten)]
    pub curl: CurlOutputArgs,
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

#[derive(Subcommand, Debug, Clone)]
pub enum Command {
    /// Try toll without a real proxy: fetch a page through a local proxy that demands
    /// authentication.
    Demo(DemoArgs),
    /// Store, remove, list and check proxy passwords in the OS keyring.
    #[command(subcommand, after_long_help = AUTH_AFTER_LONG_HELP)]
    Auth(AuthCommand),
    /// Find out why the proxy refuses (407, 403, …), step by step, and say how to fix it.
    #[command(after_long_help = DOCTOR_AFTER_LONG_HELP)]
    Doctor(DoctorArgs),
    /// Be the authenticating proxy for other programs (git, pip, npm, curl, …) on loopback.
    #[command(after_long_help = serve::SERVE_AFTER_LONG_HELP)]
    Serve(ServeArgs),
    /// Run one command with its proxy settings pointing at a private toll serve.
    #[command(after_long_help = serve::RUN_AFTER_LONG_HELP)]
    Run(RunArgs),
    /// Evaluate a proxy auto-config (PAC) file for a URL and print its answer.
    #[command(after_long_help = pac::PAC_AFTER_LONG_HELP)]
    Pac(pac::PacArgs),
}

/// The options whose values may hold a password or token. clap's "invalid value 'VALUE' for
/// '--opt'" would print them back; [`parse_error_text`] renders their errors without the value.
/// (`--user`, for origin credentials, belongs here when it lands.)
const SECRET_OPTIONS: [&str; 8] =
    ["--proxy-user", "--proxy", "--header", "--data", "--data-binary", "--json", "--user", "--oauth2-bearer"];

/// The message for a command-line error that clap would render with a secret-bearing value (or
/// one with control characters) in it: the option and the reason, never the value. `None`:
/// clap's own rendering is safe.
pub fn parse_error_text(e: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if e.kind() == ErrorKind::UnknownArgument {
        return unsupported_curl_option(e);
    }
    if !matches!(e.kind(), ErrorKind::ValueValidation | ErrorKind::InvalidValue) {
        return None;
    }
    let arg = match e.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(a)) => a.clone(),
        _ => return None,
    };
    let long = arg.split_whitespace().next().unwrap_or("");
    // A value with a line break or escape would also reach the terminal raw.
    let control = match e.get(ContextKind::InvalidValue) {
        Some(ContextValue::String(v)) => v.chars().any(char::is_control),
        _ => false,
    };
    if !SECRET_OPTIONS.contains(&long) && !control {
        return None;
    }
    let reason = match std::error::Error::source(e) {
        Some(source) => source.to_string(),
        None if e.kind() == ErrorKind::InvalidValue => "a value is required".to_string(),
        None => "not a valid value".to_string(),
    };
    Some(format!(
        "error: invalid value for '{arg}' (the value is not shown): {reason}\n\n\
         For more information, try '--help'.\n"
    ))
}

/// curl 7.88's options that toll knows of and does not carry out, and why (README, "Not
/// supported yet"); FTP, mail and other protocols' options are named by [`OTHER_PROTOCOLS`].
const UNSUPPORTED: &[(&str, &str)] = &[
    ("--local-port", "--interface chooses the address; the port is the system's choice"),
    ("--haproxy-protocol", "toll sends no PROXY protocol header"),
    ("--happy-eyeballs-timeout-ms", "toll's head start for IPv6 over IPv4 is fixed"),
    ("--http0.9", "toll reads HTTP/1.x and HTTP/2 answers only"),
    ("--http3", "toll speaks HTTP/1.1 and HTTP/2"),
    ("--http3-only", "toll speaks HTTP/1.1 and HTTP/2"),
    ("--cert-status", "toll's TLS does not check stapled OCSP answers"),
    (
        "--crlf",
        "uploads are sent as they are (curl 7.88 converts -T uploads but announces the unconverted length)",
    ),
    ("--tlsuser", "TLS-SRP is not in toll's TLS library"),
    ("--tlspassword", "TLS-SRP is not in toll's TLS library"),
    ("--tlsauthtype", "TLS-SRP is not in toll's TLS library"),
    ("--proxy-tlsuser", "TLS-SRP is not in toll's TLS library"),
    ("--proxy-tlspassword", "TLS-SRP is not in toll's TLS library"),
    ("--proxy-tlsauthtype", "TLS-SRP is not in toll's TLS library"),
    ("--socks5-gssapi", "SOCKS5 proxies get a user name and password; Negotiate is for HTTP proxies"),
    ("--socks5-gssapi-nec", "SOCKS5 proxies get a user name and password; Negotiate is for HTTP proxies"),
    ("--socks5-gssapi-service", "SOCKS5 proxies get a user name and password; Negotiate is for HTTP proxies"),
    ("--ntlm-wb", "toll answers NTLM itself with a password (--ntlm)"),
    ("--engine", "toll's TLS has no OpenSSL engines"),
    ("--dns-servers", "toll uses the system's resolver, or --doh-url"),
    ("--dns-interface", "toll uses the system's resolver, or --doh-url"),
    ("--dns-ipv4-addr", "toll uses the system's resolver, or --doh-url"),
    ("--dns-ipv6-addr", "toll uses the system's resolver, or --doh-url"),
    ("--libcurl", "toll is not built on libcurl"),
    // curl 8's.
    ("--haproxy-clientip", "toll sends no PROXY protocol header"),
    ("--trace-ids", "toll's -v and --trace lines carry no transfer or connection numbers"),
    ("--trace-config", "toll's -v and --trace have no parts to choose from"),
    ("--ech", "toll's TLS does not offer Encrypted Client Hello"),
    ("--tls-earlydata", "toll sends no TLS 1.3 early data"),
    ("--ssl-sessions", "toll keeps no TLS sessions in a file"),
    ("--sigalgs", "toll's TLS library chooses the signature algorithms"),
    ("--ip-tos", "toll leaves its connections' IP type of service as the system sets it"),
    ("--vlan-priority", "toll leaves its connections' VLAN priority as the system sets it"),
    ("--mptcp", "toll's connections are plain TCP"),
    ("--keepalive-cnt", "toll leaves the number of TCP keepalive probes to the system"),
    ("--dump-ca-embed", "toll has no CA bundle of its own: it uses the operating system's store"),
    ("--proxy-http3", "toll speaks HTTP/1.1 to proxies"),
    ("--httpsig-algo", "toll does not sign requests with HTTP message signatures (RFC 9421)"),
    ("--httpsig-headers", "toll does not sign requests with HTTP message signatures (RFC 9421)"),
    ("--httpsig-key", "toll does not sign requests with HTTP message signatures (RFC 9421)"),
    ("--httpsig-keyid", "toll does not sign requests with HTTP message signatures (RFC 9421)"),
    ("--manual", "see 'toll --help' and the man page"),
    ("-M", "see 'toll --help' and the man page"),
    ("--metalink", "curl dropped it too"),
];

/// Options of protocols other than HTTP(S) (FTP, SFTP/SCP, mail, TFTP, telnet).
const OTHER_PROTOCOLS: &[&str] = &[
    "--append",
    "-a",
    "-l",
    "-P",
    "-Q",
    "--compressed-ssh",
    "--disable-eprt",
    "--disable-epsv",
    "--ftp-account",
    "--ftp-alternative-to-user",
    "--ftp-create-dirs",
    "--ftp-method",
    "--ftp-pasv",
    "--ftp-port",
    "--ftp-pret",
    "--ftp-skip-pasv-ip",
    "--ftp-ssl-ccc",
    "--ftp-ssl-ccc-mode",
    "--ftp-ssl-control",
    "--hostpubmd5",
    "--hostpubsha256",
    "--ipfs-gateway",
    "--knownhosts",
    "--krb",
    "--list-only",
    "--login-options",
    "--mail-auth",
    "--mail-from",
    "--mail-rcpt",
    "--mail-rcpt-allowfails",
    "--pubkey",
    "--quote",
    "--sasl-authzid",
    "--sasl-ir",
    "--telnet-option",
    "--tftp-blksize",
    "--tftp-no-options",
    "--upload-flags",
    "--use-ascii",
];

/// clap's "unexpected argument" for an option of curl's that toll does not carry out: named as
/// such, with the reason, instead of clap's guess at a similar option.
fn unsupported_curl_option(e: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue};
    let Some(ContextValue::String(arg)) = e.get(ContextKind::InvalidArg) else { return None };
    let name = arg.split('=').next().unwrap_or("");
    let why = match UNSUPPORTED.iter().find(|(n, _)| *n == name) {
        Some((_, why)) => *why,
        None if OTHER_PROTOCOLS.contains(&name) => "toll fetches http:// and https:// URLs only",
        None => return None,
    };
    Some(format!(
        "error: curl's {name} is not supported by toll: {why}\n\n\
         tip: the README's \"Not supported yet\" lists what to use instead\n"
    ))
}

/// clap's message for a command line it refused, as toll prints every error: `toll: error: WHAT`
/// (its lines joined), then `toll: hint:` lines — clap's tips, and where to read more (the
/// subcommand's `--help` when the usage line names one).
pub fn usage_error_lines(clap_text: &str) -> String {
    let (mut what, mut hints, mut help) = (Vec::new(), Vec::new(), "toll --help".to_string());
    for line in clap_text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("error: ") {
            what.push(rest.to_string());
        } else if let Some(rest) = line.strip_prefix("tip: ") {
            hints.push(rest.to_string());
        } else if let Some(usage) = line.strip_prefix("Usage: ") {
            let mut words = usage.split_whitespace().skip(1);
            if let Some(sub) = words.next().filter(|w| !w.starts_with(['[', '<', '-'])) {
                help = format!("toll {sub} --help");
            }
        } else if !line.is_empty() && !line.starts_with("For more information") && !line.starts_with("toll ")
        {
            what.push(line.to_string());
        }
    }
    hints.push(format!("see '{help}'"));
    let mut out = format!("toll: error: {}\n", what.join(" "));
    for h in hints {
        out.push_str(&format!("toll: hint: {h}\n"));
    }
    out
}

/// A command line that clap accepted but that does not make sense. Exit code 2.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UsageError {
    #[error("no URL given (try 'toll --help')")]
    MissingUrl,
    #[error(
        "'{0}' is a subcommand: write 'toll {0} …' without options before it, or http://{0} for the host"
    )]
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
    /// A problem with one of the curl options of `cli/curl_opts.rs`.
    #[error("{0}")]
    Curl(String),
    /// An input file named by an option cannot be read (exit 26, not 2).
    #[error("{0}")]
    Unreadable(String),
}

impl UsageError {
    /// The exit code: 2 (usage) for all but an unreadable input file (26, curl's), a URL
    /// scheme toll does not fetch (1, curl's CURLE_UNSUPPORTED_PROTOCOL: `until curl ftp://…`
    /// loops and `case $?` branches written for curl see the same status) and `-O` for a URL
    /// with no file name (23, curl's "Remote file name has no length!").
    pub fn exit(&self) -> crate::error::Exit {
        use crate::error::Exit;
        match self {
            UsageError::Unreadable(_) => Exit::Read,
            UsageError::UnsupportedScheme { .. } => Exit::Unsupported,
            _ => Exit::Usage,
        }
    }
}

/// What the command line asks for.
#[derive(Debug)]
pub enum Invocation {
    /// The default: fetch a URL.
    Transfer(Box<Transfer>),
    Demo(DemoArgs),
    Auth(AuthCommand),
    Doctor(Box<Doctor>),
    /// `toll serve` (no command) or `toll run` (a command).
    Serve(Box<ServeConfig>),
    Pac(pac::PacArgs),
}

/// A resolved `toll [OPTIONS] URL`.
#[derive(Debug)]
pub struct Transfer {
    pub request: RequestConfig,
    /// The other URLs of the command line, in order (each with its own URL and output).
    pub more: Vec<RequestConfig>,
    pub proxy: ProxyConfig,
    pub style: OutputStyle,
    /// `--no-prompt` or `TOLL_NO_PROMPT`: never read a password from the terminal.
    pub no_prompt: bool,
    /// `--no-save`: never offer to save a prompted password (the app also reads
    /// `TOLL_SAVE_CREDENTIALS` and the settings file).
    pub no_save: bool,
}

impl Cli {
    /// Resolves the command line once. `env` looks up environment variables (only
    /// `TOLL_NO_PROMPT` and curl's CA variables here); pass `&|k| std::env::var(k).ok()`.
    pub fn into_config(self, env: &dyn Fn(&str) -> Option<String>) -> Result<Invocation, UsageError> {
        if let Some(command) = self.command {
            return Ok(match command {
                Command::Demo(args) => Invocation::Demo(args),
                Command::Auth(cmd) => Invocation::Auth(cmd),
                Command::Doctor(args) => Invocation::Doctor(Box::new(doctor_config(args, env)?)),
                Command::Serve(args) => Invocation::Serve(Box::new(serve::serve_config(args, env)?)),
                Command::Run(args) => Invocation::Serve(Box::new(serve::run_config(args, env)?)),
                Command::Pac(args) => Invocation::Pac(args),
            });
        }
        let Cli { urls, proxy, request: mut req, output: out, connection: conn, transfer, .. } = self;
        let raw_urls: Vec<String> = std::mem::take(&mut req.curl.url).into_iter().chain(urls).collect();
        let raw_url = raw_urls.first().cloned().ok_or(UsageError::MissingUrl)?;
        // Options before a subcommand name make clap read it as the URL (subcommands take no
        // request options); a bare host with that name is far less likely than that mistake.
        if Cli::command().get_subcommands().any(|c| c.get_name() == raw_url) {
            return Err(UsageError::SubcommandAfterOptions(raw_url));
        }
        // As curl 7.88: the head a server sends cannot both be shown and name the file.
        if transfer.remote_header_name && (out.include || req.head) {
            return Err(UsageError::Curl(
                "showing headers (-i, -I) and -J/--remote-header-name cannot be combined".into(),
            ));
        }
        // `-C -` measures the file the server has not named yet (curl 7.88 refuses it too).
        if transfer.remote_header_name && transfer.continue_at == Some(crate::config::Resume::Auto) {
            return Err(UsageError::Curl("-C - and -J/--remote-header-name cannot be combined".into()));
        }
        let conn_more = &req.curl.conn.more;
        let (globoff, proto_default) =
            (conn_more.globoff, conn_more.proto_default.clone().unwrap_or_else(|| "http".into()));
        let outputs = transfer_opts::pair_outputs(
            transfer.output_order.as_deref(),
            &out.output,
            out.remote_name.len(),
            raw_urls.len(),
        );
        let uploads = std::mem::take(&mut req.curl.upload_file);
        let mut items = urls::url_items(&raw_urls, outputs, &uploads, globoff)?.into_iter();
        let first = items.next().ok_or(UsageError::MissingUrl)?;
        let url = transfer.add_url_query(parse_transfer_url(&first.raw, &proto_default)?)?;

        let body = match req.data_order.take() {
            // Pieces of several data options: joined in the order given, as curl does.
            Some(pieces) if req.json.is_empty() => {
                let joined = body::ordered_body(&pieces)?;
                Some((Body { source: BodySource::Bytes(joined), strip_newlines: false }, "-d/--data"))
            }
            Some(_) => return Err(UsageError::MixedData("-d/--data", "--json")),
            None => {
                let extra_data = req.curl.data_pieces()?;
                req.data.extend(extra_data);
                body::build_body(&req)?
            }
        };
        let body = transfer.add_form(body)?;
        // For the other URLs (see `more` below): the body before -G and -T placed it.
        let (unplaced, method_given) = (body.clone(), req.method.clone());
        if let (Some((_, data)), true) = (&body, !uploads.iter().all(|f| f.as_os_str().is_empty())) {
            // One method for the whole command line, as curl's "You can only select one HTTP
            // request method" (-G's GET included).
            return Err(UsageError::MixedData("-T/--upload-file", data));
        }
        let (url, body) = req.curl.apply_get(url, body)?;
        let (url, body) = curl_opts::apply_upload(first.upload.as_deref(), url, body, &mut req.method)?;
        if req.head {
            if let Some((_, option)) = &body {
                return Err(UsageError::HeadWithBody(option));
            }
        }
        // `-H 'Name:'` takes out a header toll would add; the user's own stay, as in curl.
        let (removed, given): (Vec<_>, Vec<_>) = req.headers.into_iter().partition(|h| h.remove);
        let removed: Vec<String> =
            removed.into_iter().filter(|h| !h.name.is_empty()).map(|h| h.name.to_ascii_lowercase()).collect();
        let mut headers: Vec<(String, String)> = given.into_iter().map(|h| (h.name, h.value)).collect();
        let users = headers.len();
        let given = headers.iter().map(|(n, _)| n.to_ascii_lowercase()).collect();
        let mut extras = req.curl.extras(&out.curl);
        extras.delegation = proxy.delegation.unwrap_or_default();
        extras.given_headers = given;
        extras.binary_to_terminal = out.output.iter().any(|p| p.as_os_str() == "-");
        extras.conn.no_sessionid = proxy.no_sessionid;
        for (name, value) in req.curl.implied_headers()?.into_iter().chain(transfer.implied_headers()) {
            if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(&name)) {
                headers.push((name, value));
            }
        }
        conn_opts::ConnOpts::accept_encoding(req.compressed, &mut headers);
        let has = |headers: &[(String, String)], name: &str| {
            headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
        };
        // The implied headers, unless the user set them: they go into `headers` so the client
        // has one list to send.
        match body.as_ref().map(|(_, option)| *option) {
            Some("--json") => {
                for name in ["Content-Type", "Accept"] {
                    if !has(&headers, name) {
                        headers.push((name.into(), "application/json".into()));
                        extras.given_headers.push(name.to_ascii_lowercase());
                    }
                }
            }
            Some("-d/--data") | Some("--data-binary")
                if !has(&headers, "Content-Type") && !removed.iter().any(|r| r == "content-type") =>
            {
                headers.push(("Content-Type".into(), "application/x-www-form-urlencoded".into()));
                extras.content_type_implied = true;
            }
            _ => {}
        }
        let mut at = 0;
        headers.retain(|(name, _)| {
            at += 1;
            at <= users || !removed.contains(&name.to_ascii_lowercase())
        });
        extras.removed_headers = removed;
        let method = body::implied_method(req.method, req.head, body.is_some());

        let (remote_all, dir) = (transfer.remote_name_all, out.curl.output_dir.as_ref());
        let output = transfer_opts::output_target(first.output, remote_all, dir);
        let output = glob::name_output_target(output, &first.glob_values);
        let nonzero = |s: Option<Seconds>| s.map(|s| s.0).filter(|d| !d.is_zero());
        let (path_as_is, given_target) = (req.curl.path_as_is, req.curl.request_target.clone());
        extras.request_target =
            crate::request_target::for_url(&first.raw, &url, path_as_is, given_target.as_deref());

        let request = RequestConfig {
            url,
            method,
            custom_method: method_given.is_some(),
            upload: first.upload.is_some(),
            headers,
            body: body.map(|(b, _)| b),
            user_agent: req.user_agent,
            head_only: req.head,
            // curl -I prints the headers: they are all there is.
            include_headers: out.include || req.head,
            // The `follow` pass left at most one of the two (the last one given).
            follow_redirects: req.location || req.follow,
            follow_per_spec: req.follow,
            max_redirects: req.max_redirs,
            fail_on_http_error: out.fail,
            // --raw: nothing is decoded (--compressed still asks, as curl does).
            compressed: req.compressed && !req.curl.conn.more.raw,
            insecure: conn.insecure,
            cacert: conn_opts::ca_from_env(conn.cacert, &mut extras.conn, conn.insecure, env),
            max_time: nonzero(conn.max_time),
            connect_timeout: nonzero(conn.connect_timeout),
            output,
            write_out: out.curl.write_out(),
            origin_auth: req.curl.origin_auth().and_then(|a| a.minus_removed_header(&extras.removed_headers)),
            retry: req.curl.retry(),
            curl: extras,
            transfer: TransferOptions { url_number: first.number, ..transfer.options() },
        };
        if req.curl.aws_sigv4.is_some() && req.curl.user.is_none() && request.curl.netrc.is_none() {
            return Err(UsageError::Curl(
                "--aws-sigv4 signs with a key pair: give it with -u ACCESS_KEY:SECRET_KEY (or -n)".into(),
            ));
        }
        // The other URLs (and glob expansions): the same request, each with its URL, output and
        // upload.
        let mut more = Vec::new();
        for item in items {
            let url = transfer.add_url_query(parse_transfer_url(&item.raw, &proto_default)?)?;
            let (url, body) = req.curl.apply_get(url, unplaced.clone())?;
            let mut method = method_given.clone();
            let (url, body) = curl_opts::apply_upload(item.upload.as_deref(), url, body, &mut method)?;
            if let (true, Some((_, option))) = (req.head, &body) {
                return Err(UsageError::HeadWithBody(option));
            }
            let method = body::implied_method(method, req.head, body.is_some());
            let output = transfer_opts::output_target(item.output, remote_all, dir);
            let output = glob::name_output_target(output, &item.glob_values);
            let transfer = TransferOptions { url_number: item.number, ..request.transfer.clone() };
            let target = crate::request_target::for_url(&item.raw, &url, path_as_is, given_target.as_deref());
            let curl = CurlExtras { request_target: target, ..request.curl.clone() };
            let (upload, body) = (item.upload.is_some(), body.map(|(b, _)| b));
            more.push(RequestConfig { url, method, upload, body, output, transfer, curl, ..request.clone() });
        }

        let no_prompt = proxy.no_prompt || env("TOLL_NO_PROMPT").is_some_and(|v| truthy(&v));
        let no_save = proxy.no_save;
        let proxy_config = proxy_config(proxy)?;

        let style = OutputStyle { silent: out.silent, show_error: out.show_error, verbose: out.verbose };
        Ok(Invocation::Transfer(Box::new(Transfer {
            request,
            more,
            proxy: proxy_config,
            style,
            no_prompt,
            no_save,
        })))
    }
}

/// `1`, `yes`, `true`, anything else non-empty except `0`, `no`, `false`, `off`.
fn truthy(v: &str) -> bool {
    let v = v.trim();
    !v.is_empty() && !["0", "no", "false", "off"].iter().any(|f| v.eq_ignore_ascii_case(f))
}

pub mod pac;

#[cfg(test)]
mod tests;
