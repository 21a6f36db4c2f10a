//! clap arguments for curl's transfer and output options (`-F`, `--form-string`, `-C`, `-J`,
//! `-R`, `--remote-name-all`, `-z`, `--etag-save`/`--etag-compare`, `--max-filesize`,
//! `--limit-rate`, `--speed-limit`/`--speed-time`, `--stderr`, `--no-clobber`,
//! `--remove-on-error`, `--ignore-content-length`, `--post301/2/3`, `--oauth2-bearer`),
//! flattened into [`super::Cli`], and their conversion into `config::TransferOptions` and the
//! form body (the `-F` syntax itself is read in `form_parse.rs`). Kept apart so `cli.rs` stays
//! small.

use super::curl_opts::LabelledBody;
use super::form_parse::{parse_form, parse_form_string};
use super::UsageError;
use crate::config::{Body, BodySource, FormPart, FormValue, Resume, TimeCond, TransferOptions};
use crate::secret::Secret;
use clap::Args;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Transfer")]
pub struct TransferArgs {
    /// Send a multipart/form-data POST with this part: 'name=value', 'name=@FILE' (attached,
    /// with its file name), 'name=<FILE' (its content as the value), '@-'/'<-' standard input,
    /// 'name=@A,B' several files in one multipart/mixed part.
    ///
    /// Then ';type=TYPE', ';filename=NAME', ';headers="Name: value"' or ';headers=@FILE',
    /// ';encoder=base64|quoted-printable|binary|8bit|7bit' as curl takes them (after each file
    /// of '@A,B' for that file); quote a value holding ';' or ',' ("name=\"a;b\""). Files are
    /// streamed. Repeat for more parts.
    /// Cannot be combined with -d, --data-binary, --json or -T.
    #[arg(short = 'F', long = "form", value_name = "NAME=CONTENT", value_parser = parse_form)]
    pub form: Vec<FormPart>,

    /// Like -F, but the value is sent as given ('@', '<' and ';' have no special meaning).
    /// These parts follow the -F ones.
    #[arg(long = "form-string", value_name = "NAME=STRING", value_parser = parse_form_string)]
    pub form_string: Vec<FormPart>,

    /// In -F part names and file names, escape '"' and '\' with a backslash (curl 7.81+)
    /// instead of the default: '"' as %22, '\' as it is. CR and LF stay %0D and %0A either way.
    #[arg(long)]
    pub form_escape: bool,

    /// Resume a download at OFFSET bytes, or with '-' where the output file ends.
    ///
    /// The rest is appended to the -o/-O file. Any other answer with a body (the whole file, an
    /// error page, a redirect not followed, another part) fails the transfer (exit 33) and leaves
    /// the file as it was; a 416 (the file is complete) is no error, as in curl.
    #[arg(short = 'C', long = "continue-at", value_name = "OFFSET|-", value_parser = parse_resume,
        allow_hyphen_values = true)]
    pub continue_at: Option<Resume>,

    /// With -O, name the file as the server's Content-Disposition says.
    ///
    /// The directory part is dropped; a hidden name (leading '.'), an empty one or one with
    /// control characters is refused and the URL's name is used. An existing file is never
    /// overwritten (exit 23, as curl).
    #[arg(short = 'J', long = "remote-header-name")]
    pub remote_header_name: bool,

    /// Give the output file the server's Last-Modified time.
    #[arg(short = 'R', long = "remote-time")]
    pub remote_time: bool,

    /// Save every URL under its remote name, as -O does.
    #[arg(long)]
    pub remote_name_all: bool,

    /// Only fetch if changed since DATE (an HTTP date) or FILE's modification time;
    /// '-DATE'/'-FILE': only if not changed since.
    #[arg(short = 'z', long = "time-cond", value_name = "DATE|FILE", allow_hyphen_values = true)]
    pub time_cond: Option<String>,

    /// Write the response's ETag to FILE.
    #[arg(long, value_name = "FILE")]
    pub etag_save: Option<PathBuf>,

    /// Only fetch if the ETag differs from the one in FILE (sent as If-None-Match).
    #[arg(long, value_name = "FILE")]
    pub etag_compare: Option<PathBuf>,

    /// Refuse a body larger than BYTES (k, M, G suffixes): exit 63.
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    pub max_filesize: Option<u64>,

    /// Receive at most this many bytes per second (k, M, G suffixes).
    #[arg(long, value_name = "SPEED", value_parser = parse_size)]
    pub limit_rate: Option<u64>,

    /// Abort (exit 28) when slower than BYTES per second for --speed-time seconds (default 30).
    #[arg(short = 'Y', long = "speed-limit", value_name = "BYTES")]
    pub speed_limit: Option<u64>,

    /// With --speed-limit (default 1 byte/s): how many seconds of slowness abort the transfer.
    #[arg(short = 'y', long = "speed-time", value_name = "SECONDS")]
    pub speed_time: Option<u64>,

    /// Fetch several URLs at the same time (with -i, -I, -D, -w or --trace they run one after
    /// the other, so each head and report belongs to its transfer).
    #[arg(short = 'Z', long = "parallel")]
    pub parallel: bool,

    /// With -Z: at most NUM transfers at once (default 50, at most 300, as in curl).
    #[arg(long, value_name = "NUM")]
    pub parallel_max: Option<u32>,

    /// With -Z: at most NUM transfers at once to the same scheme, host and port (curl 8.16;
    /// 0: no limit, the default; at most 65535). The others wait for their turn.
    #[arg(long, value_name = "NUM")]
    pub parallel_max_host: Option<u32>,

    /// Accepted with -Z.
    #[arg(long)]
    pub parallel_immediate: bool,

    /// Start the URLs at most N per unit, as curl: N/s, N/m, N/h, N/d (N alone: per hour).
    /// A transfer that took less waits out the rest before the next starts (not with -Z).
    #[arg(long, value_name = "N[/UNIT]", value_parser = parse_rate)]
    pub rate: Option<Rate>,

    /// Stop at the first URL that fails (the others are not fetched).
    #[arg(long)]
    pub fail_early: bool,

    /// Start a new operation: the URLs after it get only the options after it, as in curl
    /// (the global ones, -v, -s, -S, --trace, --stderr, --fail-early, -Z, …, hold for all).
    ///
    /// The operations run in turn; the exit status is the last one's, and with --fail-early
    /// the first that fails ends the run. Example: toll URL1 --next -d x=1 URL2.
    // Read by `cli::next` before clap sees the line; declared for --help and completions.
    #[arg(short = ':', long = "next")]
    pub next: bool,

    /// Add DATA to the URL's query, encoded as --data-urlencode encodes it ('+DATA': as given).
    /// Repeatable; pieces are joined with '&'.
    #[arg(long, value_name = "DATA")]
    pub url_query: Vec<String>,

    /// Write error messages and warnings to FILE instead of standard error ('-': standard output).
    #[arg(long, value_name = "FILE")]
    pub stderr: Option<PathBuf>,

    /// Never overwrite an output file: save as NAME.1, NAME.2, … NAME.100 instead.
    #[arg(long)]
    pub no_clobber: bool,

    /// Skip a URL whose output file (-o FILE, or -O's name from the URL) exists already: it is
    /// not fetched, and counts as a success (curl 8.10).
    #[arg(long)]
    pub skip_existing: bool,

    /// Store the URL and the Content-Type in the -o/-O file's extended attributes
    /// (user.xdg.origin.url, user.mime_type), as curl does. The URL is the one given (not a
    /// redirect's), without user name or password. Linux only (elsewhere: nothing is stored).
    #[arg(long)]
    pub xattr: bool,

    /// The permission bits (octal, at most 0777) of the -o/-O and -D files toll creates; the
    /// umask still applies, and an existing file keeps its own. Default 0666 less the umask.
    #[arg(long, value_name = "MODE", value_parser = parse_file_mode, allow_hyphen_values = true)]
    pub create_file_mode: Option<u32>,

    /// Remove the output file when the transfer fails after writing it (--fail-with-body).
    ///
    /// Other failures never leave a partial file: toll writes beside it and puts it in place
    /// once complete. A resumed file (-C) is kept, with what was appended.
    #[arg(long)]
    pub remove_on_error: bool,

    /// Accepted for curl's sake (toll reads the body as the server frames it).
    #[arg(long)]
    pub ignore_content_length: bool,

    /// With -L, keep POST after a 301 (instead of turning it into GET).
    #[arg(long)]
    pub post301: bool,

    /// With -L, keep POST after a 302.
    #[arg(long)]
    pub post302: bool,

    /// With -L, keep POST after a 303.
    #[arg(long)]
    pub post303: bool,

    /// Send 'Authorization: Bearer TOKEN' (an -H Authorization wins).
    #[arg(long, value_name = "TOKEN")]
    pub oauth2_bearer: Option<Bearer>,

    /// The -o and -O options in the order given (set by [`parse_cli`], which sees clap's
    /// indices); `None`: the -o ones first.
    #[arg(skip)]
    pub output_order: Option<Vec<OutputChoice>>,

    /// The -F and --form-string parts in the order given (set by [`parse_cli`]); `None`: only
    /// one of the two options was given.
    #[arg(skip)]
    pub form_order: Option<Vec<FormPart>>,
}

/// `toll help [SUBCOMMAND…]` as `toll [SUBCOMMAND…] --help` (the word was fetched as the URL
/// `http://help/`, and each subcommand name after it too, through the system resolver).
fn help_word(mut args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    if args.get(1).is_some_and(|a| a == "help") {
        args.remove(1);
        args.push("--help".into());
    }
    args
}

/// Parses the command line as `Cli::try_parse_from` does, also keeping the order of the -o and
/// -O options (clap's derived struct loses the order between two options), which curl pairs
/// with the URLs in turn.
pub fn parse_cli<I, T>(args: I) -> Result<super::Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    use clap::{CommandFactory, FromArgMatches};
    // As curl, an option's value is the next argument whatever it looks like (`-d -x` sends
    // "-x"); the passes before clap (`units`) walk the line the same way.
    let cmd = super::Cli::command().mut_args(|a| {
        let valued = a.get_action().takes_values() && a.get_num_args().is_none_or(|n| n.min_values() > 0);
        if valued && !a.is_positional() {
            a.allow_hyphen_values(true)
        } else {
            a
        }
    });
    let mut matches = cmd.try_get_matches_from(help_word(args.into_iter().map(Into::into).collect()))?;
    let order = output_order(&matches);
    let urls = urls_in_order(&matches);
    let data = data_in_order(&matches);
    let form = form_in_order(&matches);
    let mut cli = super::Cli::from_arg_matches_mut(&mut matches)?;
    cli.transfer.output_order = order;
    cli.transfer.form_order = form;
    cli.request.data_order = data;
    if let Some(urls) = urls {
        cli.urls = urls;
        cli.request.curl.url.clear();
    }
    Ok(cli)
}

/// The values of option `id` with their positions on the command line (clap's derived struct
/// loses the order between two options, which curl keeps).
fn indexed<T: Clone + Send + Sync + 'static>(m: &clap::ArgMatches, id: &str) -> Vec<(usize, T)> {
    let values = m.try_get_many::<T>(id).ok().flatten().into_iter().flatten().cloned();
    m.indices_of(id).into_iter().flatten().zip(values).collect()
}

/// The pieces of the data options in the order given, when more than one option gives some
/// (`None` otherwise: one option's pieces keep their order by themselves).
fn data_in_order(m: &clap::ArgMatches) -> Option<Vec<super::values::DataPiece>> {
    use super::values::{DataArg, DataPiece};
    fn given<T: Clone + Send + Sync + 'static>(
        m: &clap::ArgMatches,
        id: &str,
        piece: impl Fn(T) -> DataPiece,
    ) -> Vec<(usize, DataPiece)> {
        indexed::<T>(m, id).into_iter().map(|(i, v)| (i, piece(v))).collect()
    }
    let kinds = [
        given::<DataArg>(m, "data", DataPiece::Data),
        given::<DataArg>(m, "data_binary", DataPiece::Binary),
        given::<String>(m, "data_raw", DataPiece::Raw),
        given::<String>(m, "data_urlencode", DataPiece::Urlencode),
    ];
    if kinds.iter().filter(|k| !k.is_empty()).count() < 2 {
        return None;
    }
    let mut all: Vec<(usize, DataPiece)> = kinds.into_iter().flatten().collect();
    all.sort_by_key(|(i, _)| *i);
    Some(all.into_iter().map(|(_, p)| p).collect())
}

/// The parts of `-F` and `--form-string` in the order given, as curl adds them to the form
/// (`None` unless both were given).
fn form_in_order(m: &clap::ArgMatches) -> Option<Vec<FormPart>> {
    let (form, strings) = (indexed::<FormPart>(m, "form"), indexed::<FormPart>(m, "form_string"));
    if form.is_empty() || strings.is_empty() {
        return None;
    }
    let mut all: Vec<(usize, FormPart)> = form.into_iter().chain(strings).collect();
    all.sort_by_key(|(i, _)| *i);
    Some(all.into_iter().map(|(_, p)| p).collect())
}

/// The positional URLs and `--url`'s in the order given, as curl takes them (`None` without
/// `--url`: the positional ones are all there is).
fn urls_in_order(m: &clap::ArgMatches) -> Option<Vec<String>> {
    let flagged = indexed::<String>(m, "url_flag");
    if flagged.is_empty() {
        return None;
    }
    let mut all = indexed::<String>(m, "urls");
    all.extend(flagged);
    all.sort_by_key(|(i, _)| *i);
    Some(all.into_iter().map(|(_, u)| u).collect())
}

/// The -o values and the -O and --out-null flags by their position on the command line
/// (`None` with neither -o nor --out-null: then -O's are all there is).
fn output_order(m: &clap::ArgMatches) -> Option<Vec<OutputChoice>> {
    let file_at = indexed::<PathBuf>(m, "output").into_iter().map(|(i, f)| (i, OutputChoice::File(f)));
    let at = |id: &str| m.indices_of(id).into_iter().flatten();
    let null_at: Vec<(usize, OutputChoice)> = at("out_null").map(|i| (i, OutputChoice::Null)).collect();
    if m.indices_of("output").is_none() && null_at.is_empty() {
        return None;
    }
    let remote_at = at("remote_name").map(|i| (i, OutputChoice::Remote));
    let mut all: Vec<(usize, OutputChoice)> = file_at.chain(remote_at).chain(null_at).collect();
    all.sort_by_key(|(i, _)| *i);
    Some(all.into_iter().map(|(_, c)| c).collect())
}

/// `--oauth2-bearer`: a secret, never echoed by clap or `Debug`.
#[derive(Clone, Debug)]
pub struct Bearer(pub Secret);

impl FromStr for Bearer {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.chars().any(|c| c.is_ascii_control()) {
            return Err("a token cannot contain a line break or other control character".into());
        }
        Ok(Bearer(Secret::new(s)))
    }
}

impl TransferArgs {
    /// The plain options (`-F` is part of the body: see [`add_form`](Self::add_form)).
    pub fn options(&self) -> TransferOptions {
        TransferOptions {
            resume: self.continue_at,
            remote_header_name: self.remote_header_name,
            remote_time: self.remote_time,
            time_cond: self.time_cond.as_deref().and_then(parse_time_cond),
            etag_save: self.etag_save.clone(),
            etag_compare: self.etag_compare.clone(),
            max_filesize: self.max_filesize.filter(|n| *n > 0),
            limit_rate: self.limit_rate.filter(|n| *n > 0),
            speed_limit: match (self.speed_limit, self.speed_time) {
                (None, None) => None,
                (limit, time) => {
                    Some((limit.unwrap_or(1), Duration::from_secs(time.filter(|t| *t > 0).unwrap_or(30))))
                }
            },
            no_clobber: self.no_clobber,
            skip_existing: self.skip_existing,
            remove_on_error: self.remove_on_error,
            // Set per URL by `Cli::into_config`.
            url_number: 0,
            xattr: self.xattr,
            create_file_mode: self.create_file_mode,
            fail_early: self.fail_early,
            // curl: 50 by default; a value out of 1..=300 means the default.
            parallel: self
                .parallel
                .then(|| self.parallel_max.filter(|n| (1..=300).contains(n)).map_or(50, |n| n as usize)),
            // curl 8.16: 0 is no limit, a larger value than 65535 is 65535.
            parallel_max_host: self.parallel_max_host.filter(|n| *n > 0).map(|n| n.min(65535) as usize),
            rate: self.rate.and_then(|r| r.0),
            post301: self.post301,
            post302: self.post302,
            post303: self.post303,
        }
    }

    /// The `-F`/`--form-string` parts become the body; with another body option that is a
    /// usage error (curl: "You can only select one HTTP request method!", exit 2).
    pub fn add_form(&self, body: Option<LabelledBody>) -> Result<Option<LabelledBody>, UsageError> {
        if self.form.is_empty() && self.form_string.is_empty() {
            return Ok(body);
        }
        if let Some((_, option)) = body {
            return Err(UsageError::MixedData("-F/--form", option));
        }
        let mut parts: Vec<FormPart> = match &self.form_order {
            Some(ordered) => ordered.clone(),
            None => self.form.iter().chain(&self.form_string).cloned().collect(),
        };
        if self.form_escape {
            for part in &mut parts {
                part.backslash_escape = true;
                if let FormValue::Files(files) = &mut part.value {
                    files.iter_mut().for_each(|f| f.backslash_escape = true);
                }
            }
        }
        Ok(Some((Body { source: BodySource::Form(parts), strip_newlines: false }, "-F/--form")))
    }

    /// `--url-query`: the pieces appended to `url`'s query (an unreadable `@FILE` is exit 26).
    pub fn add_url_query(&self, mut url: url::Url) -> Result<url::Url, UsageError> {
        if self.url_query.is_empty() {
            return Ok(url);
        }
        let mut pieces: Vec<String> =
            url.query().filter(|q| !q.is_empty()).map(str::to_string).into_iter().collect();
        for piece in &self.url_query {
            pieces.push(match piece.strip_prefix('+') {
                // Sent as given: refused with a line break or a tab (as `-G`'s data), which the
                // URL parser would drop; the piece is not shown, it may be a secret.
                Some(raw) => match super::urls::control_character(raw) {
                    Some(what) => {
                        return Err(UsageError::Curl(format!(
                            "--url-query: a '+' piece holds {what}, which a URL cannot hold; \
                             encode it (%0A for a line break) or drop the '+' to have it encoded"
                        )))
                    }
                    None => raw.to_string(),
                },
                // curl 7.88 writes these escapes with lower-case hex digits (%0a).
                None => lower_hex(&super::data_urlencode(piece, &super::body::read_named).map_err(|e| {
                    UsageError::Unreadable(e.to_string().replace("--data-urlencode", "--url-query"))
                })?),
            });
        }
        url.set_query(Some(&pieces.join("&")));
        Ok(url)
    }

    /// `--oauth2-bearer`: the header it implies (an -H one of the same name wins).
    pub fn implied_headers(&self) -> Vec<(String, String)> {
        self.oauth2_bearer
            .iter()
            .map(|b| ("Authorization".to_string(), format!("Bearer {}", b.0.expose())))
            .collect()
    }
}

/// One URL's output as the options give it, before `--output-dir`: `-o FILE`, `-O` or
/// `--out-null`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutputChoice {
    File(PathBuf),
    Remote,
    /// `--out-null`.
    Null,
}

/// Pairs the `-o FILE`s and `-O`s with the URLs in turn, as curl does (the first output option
/// goes with the first URL, …; extra ones are ignored), in the order [`parse_cli`] saw them
/// (`order`; without it the `-o` ones come first).
pub fn pair_outputs(
    order: Option<&[OutputChoice]>,
    files: &[PathBuf],
    remote: usize,
    urls: usize,
) -> Vec<Option<OutputChoice>> {
    let given: Vec<OutputChoice> = match order {
        Some(o) => o.to_vec(),
        None => files
            .iter()
            .cloned()
            .map(OutputChoice::File)
            .chain((0..remote).map(|_| OutputChoice::Remote))
            .collect(),
    };
    given.into_iter().map(Some).chain(std::iter::repeat(None)).take(urls).collect()
}

/// One URL's output target: `-o -` is standard output; `-O` (or `--remote-name-all` for a URL
/// without an output option) needs a URL that ends in a file name; `--output-dir` applies.
pub fn output_target(
    choice: Option<OutputChoice>,
    remote_all: bool,
    dir: Option<&PathBuf>,
) -> crate::config::OutputTarget {
    use crate::config::OutputTarget;
    let output = match choice {
        Some(OutputChoice::File(path)) if path.as_os_str() == "-" => OutputTarget::Stdout,
        Some(OutputChoice::File(path)) => OutputTarget::File(path),
        // The URL's name, or a server's with -J; a URL without one fails when its turn comes
        // (exit 23, `client::saving::check_remote_name`), after the URLs before it, as in curl.
        Some(OutputChoice::Remote) => OutputTarget::RemoteName,
        Some(OutputChoice::Null) => OutputTarget::Null,
        None if remote_all => OutputTarget::RemoteName,
        None => OutputTarget::Stdout,
    };
    super::curl_opts::output_in_dir(output, dir)
}

/// `%0A` → `%0a`: the hex digits of percent escapes in lower case.
pub(super) fn lower_hex(s: &str) -> String {
    let mut out = s.as_bytes().to_vec();
    for i in 0..out.len().saturating_sub(2) {
        if out[i] == b'%' && out[i + 1].is_ascii_hexdigit() && out[i + 2].is_ascii_hexdigit() {
            out[i + 1].make_ascii_lowercase();
            out[i + 2].make_ascii_lowercase();
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

/// `-C -` or `-C OFFSET`.
pub fn parse_resume(s: &str) -> Result<Resume, String> {
    if s == "-" {
        return Ok(Resume::Auto);
    }
    s.parse().map(Resume::At).map_err(|_| format!("'{s}' is not a byte offset (or '-')"))
}

/// A size as curl reads `--max-filesize` and `--limit-rate`: digits with an optional k, M or G
/// (powers of 1024; a 'B' after it is allowed).
/// `--create-file-mode`: an octal mode up to 0777, read as curl 7.88 reads it (strtoul base 8:
/// leading white space allowed, nothing after the digits). Every refusal is exit 2, as in curl.
pub fn parse_file_mode(s: &str) -> Result<u32, String> {
    let t = s.trim_start();
    if t.starts_with('-') {
        return Err(format!("'{s}' is negative: give an octal mode such as 0644"));
    }
    let digits = t.strip_prefix('+').unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return Err(format!("'{s}' is not an octal mode such as 0644 or 600"));
    }
    match u32::from_str_radix(digits, 8) {
        Ok(m) if m <= 0o777 => Ok(m),
        _ => Err(format!("'{s}' is too large: the mode is at most 0777 (no setuid, setgid or sticky bit)")),
    }
}

pub fn parse_size(s: &str) -> Result<u64, String> {
    let bad = || format!("'{s}' is not a size such as 500, 100k, 2M or 1G");
    let t = s.trim();
    let t =
        t.strip_suffix(['b', 'B']).filter(|r| r.ends_with(|c: char| c.is_ascii_alphabetic())).unwrap_or(t);
    let (digits, mult) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m = match c.to_ascii_lowercase() {
                'k' => 1u64 << 10,
                'm' => 1 << 20,
                'g' => 1 << 30,
                't' => 1 << 40,
                _ => return Err(bad()),
            };
            (&t[..i], m)
        }
        _ => (t, 1),
    };
    let n: f64 = digits.parse().map_err(|_| bad())?;
    if !n.is_finite() || n < 0.0 {
        return Err(bad());
    }
    Ok((n * mult as f64) as u64)
}

/// `-z`: an HTTP date, else a file name (its modification time, read when sending). A leading
/// '-' asks for If-Unmodified-Since.
pub fn parse_time_cond(s: &str) -> Option<TimeCond> {
    let (unmodified, rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let rest = rest.trim();
    if rest.is_empty() {
        return None;
    }
    Some(match httpdate::parse_http_date(rest).ok().or_else(|| parse_loose_date(rest)) {
        Some(t) => TimeCond { time: Some(t), file: None, unmodified },
        None => TimeCond { time: None, file: Some(rest.into()), unmodified },
    })
}

/// The other date forms curl's `-z` takes: [`crate::utc::parse_loose`].
pub fn parse_loose_date(s: &str) -> Option<std::time::SystemTime> {
    let t = u64::try_from(crate::utc::parse_loose(s)?).ok()?;
    Some(std::time::UNIX_EPOCH + Duration::from_secs(t))
}

/// `--rate`'s value: the time between transfer starts (`None`: more than 1000 per second, which
/// curl runs unrestricted).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate(pub Option<Duration>);

/// `--rate N[/UNIT]`, as curl 7.88 reads it: N a whole number from 1, the unit the first
/// character after the slash (`s`, `m`, `h`, `d`), per hour without one.
pub fn parse_rate(s: &str) -> Result<Rate, String> {
    let (number, unit) = match s.split_once('/') {
        Some((n, u)) => (n, u.chars().next()),
        None => (s, Some('h')),
    };
    let n: u64 = number.trim().parse().map_err(|_| format!("{s:?} is not N/UNIT (N a whole number)"))?;
    if n == 0 {
        return Err("N must be at least 1".into());
    }
    let unit_ms: u64 = match unit {
        Some('s') => 1_000,
        Some('m') => 60_000,
        Some('h') => 3_600_000,
        Some('d') => 86_400_000,
        _ => return Err(format!("unsupported --rate unit in {s:?}: use s, m, h or d")),
    };
    let ms = unit_ms / n;
    Ok(Rate((ms > 0).then(|| Duration::from_millis(ms))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        t: TransferArgs,
    }

    fn parse(args: &[&str]) -> TransferArgs {
        T::try_parse_from(std::iter::once("t").chain(args.iter().copied())).unwrap().t
    }

    #[test]
    fn form_is_the_body_and_excludes_other_bodies() {
        let t = parse(&["-F", "a=1", "--form-string", "b=@x", "-F", "c=2"]);
        let (body, option) = t.add_form(None).unwrap().unwrap();
        assert_eq!(option, "-F/--form");
        let BodySource::Form(parts) = body.source else { panic!("not a form") };
        let names: Vec<&str> = parts.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["a", "c", "b"]);
        let data =
            Some((Body { source: BodySource::Bytes(b"x".to_vec()), strip_newlines: false }, "-d/--data"));
        assert_eq!(t.add_form(data), Err(UsageError::MixedData("-F/--form", "-d/--data")));
        assert!(parse(&[]).add_form(None).unwrap().is_none());
    }

    #[test]
    fn form_escape_reaches_every_part_and_sub_part() {
        let parts = |args: &[&str]| {
            let (body, _) = parse(args).add_form(None).unwrap().unwrap();
            let BodySource::Form(parts) = body.source else { panic!("not a form") };
            parts
        };
        let escaped = parts(&["--form-escape", "-F", "a=1", "-F", "f=@x,y", "--form-string", "b=2"]);
        assert!(escaped.iter().all(|p| p.backslash_escape));
        let FormValue::Files(files) = &escaped[1].value else { panic!("not files") };
        assert!(files.iter().all(|f| f.backslash_escape));
        assert!(parts(&["-F", "a=1"]).iter().all(|p| !p.backslash_escape));
    }

    #[test]
    fn file_modes_are_read_as_curl_reads_them() {
        for (s, m) in
            [("0644", 0o644), ("600", 0o600), ("0", 0), ("0777", 0o777), (" 0750", 0o750), ("+640", 0o640)]
        {
            assert_eq!(parse_file_mode(s), Ok(m), "{s}");
        }
        // curl 7.88: exit 2 for each ("expected a proper numerical parameter", "too large
        // number", "expected a positive numerical parameter").
        for bad in
            ["", "abc", "888", "0o750", "0644x", "-1", "01000", "1777", "077777", "99999999999999999999"]
        {
            assert!(parse_file_mode(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse(&["--create-file-mode", "0600"]).options().create_file_mode, Some(0o600));
        assert!(T::try_parse_from(["t", "--create-file-mode", "-1"]).is_err());
        assert!(parse(&["--xattr"]).options().xattr);
    }

    #[test]
    fn outputs_pair_with_urls_in_turn() {
        let f = |s: &str| Some(OutputChoice::File(s.into()));
        assert_eq!(pair_outputs(None, &["a".into(), "b".into()], 0, 3), vec![f("a"), f("b"), None]);
        assert_eq!(pair_outputs(None, &["a".into(), "b".into()], 0, 1), vec![f("a")], "the first -o wins");
        assert_eq!(pair_outputs(None, &["a".into()], 2, 2), vec![f("a"), Some(OutputChoice::Remote)]);
        assert_eq!(pair_outputs(None, &[], 0, 2), vec![None, None]);
        // With the order seen on the command line: `-O -o b -O URL1 URL2 URL3`.
        let cli = parse_cli(["toll", "-sO", "-o", "b", "-O", "h/1", "h/2", "h/3"]).unwrap();
        let order = cli.transfer.output_order.clone().unwrap();
        assert_eq!(order, vec![OutputChoice::Remote, OutputChoice::File("b".into()), OutputChoice::Remote]);
        assert_eq!(
            pair_outputs(Some(&order), &cli.output.output, cli.output.remote_name.len(), 2),
            vec![Some(OutputChoice::Remote), f("b")]
        );
        assert_eq!(parse_cli(["toll", "-O", "h/1"]).unwrap().transfer.output_order, None, "no -o");
        use crate::config::OutputTarget;
        assert_eq!(output_target(None, true, None), OutputTarget::RemoteName);
        assert_eq!(output_target(None, false, None), OutputTarget::Stdout);
        assert_eq!(output_target(f("-"), true, None), OutputTarget::Stdout);
        // The name (the URL's, or the server's with -J) is put in --output-dir when it is known
        // (`saving::in_output_dir`); a URL without one fails when its turn comes.
        assert_eq!(
            output_target(Some(OutputChoice::Remote), false, Some(&"d".into())),
            OutputTarget::RemoteName
        );
        assert_eq!(output_target(f("x"), false, Some(&"d".into())), OutputTarget::File("d/x".into()));
    }

    #[test]
    fn url_query_pieces_are_encoded_as_data_urlencode_does() {
        let u = |s: &str| url::Url::parse(s).unwrap();
        let t = parse(&["--url-query", "n=a\nb/é", "--url-query", "+r=%4A"]);
        assert_eq!(t.add_url_query(u("http://h/")).unwrap().as_str(), "http://h/?n=a%0ab%2f%c3%a9&r=%4A");
        let t = parse(&["--url-query", "q=a b&c", "--url-query", "+raw=%41", "--url-query", "plain"]);
        assert_eq!(t.add_url_query(u("http://h/p")).unwrap().as_str(), "http://h/p?q=a+b%26c&raw=%41&plain");
        assert_eq!(
            t.add_url_query(u("http://h/p?x=1")).unwrap().as_str(),
            "http://h/p?x=1&q=a+b%26c&raw=%41&plain"
        );
        assert_eq!(parse(&[]).add_url_query(u("http://h/p?x")).unwrap().as_str(), "http://h/p?x");
        let bad = parse(&["--url-query", "n@/nonexistent/file"]).add_url_query(u("http://h/"));
        assert!(matches!(bad, Err(UsageError::Unreadable(m)) if m.contains("--url-query")));
        // A '+' piece is sent as given: a line break or a tab in it is refused (the URL parser
        // would drop it), without showing the piece.
        for raw in ["+a=1\nb=2", "+pw=s3cret\tx", "+a\r"] {
            let bad = parse(&["--url-query", raw]).add_url_query(u("http://h/")).unwrap_err();
            let m = bad.to_string();
            assert!(m.contains("--url-query") && !m.contains("s3cret") && !m.contains("a=1"), "{m}");
        }
    }

    #[test]
    fn resume_sizes_and_conditions() {
        assert_eq!(parse(&["-C", "-"]).continue_at, Some(Resume::Auto));
        assert_eq!(parse(&["-C", "100"]).continue_at, Some(Resume::At(100)));
        assert!(T::try_parse_from(["t", "-C", "x"]).is_err());
        assert_eq!(parse_size("500").unwrap(), 500);
        assert_eq!(parse_size("100k").unwrap(), 102_400);
        assert_eq!(parse_size("2M").unwrap(), 2 << 20);
        assert_eq!(parse_size("1G").unwrap(), 1 << 30);
        assert_eq!(parse_size("1.5k").unwrap(), 1536);
        assert_eq!(parse_size("10KB").unwrap(), 10240);
        for bad in ["", "k", "1x", "-1"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
        let date = "Tue, 01 Dec 2026 00:00:00 GMT";
        let t = parse_time_cond(date).unwrap();
        assert_eq!(
            (t.time, t.file, t.unmodified),
            (Some(httpdate::parse_http_date(date).unwrap()), None, false)
        );
        let t = parse_time_cond("-local.txt").unwrap();
        assert_eq!((t.time, t.file.unwrap(), t.unmodified), (None, PathBuf::from("local.txt"), true));
        assert_eq!(parse_time_cond(""), None);
        let at = |d: &str| Some(httpdate::parse_http_date(d).unwrap());
        for (given, want) in [
            ("Wed 01 Sep 2021 12:18:00", "Wed, 01 Sep 2021 12:18:00 GMT"),
            ("1994 Nov 6", "Sun, 06 Nov 1994 00:00:00 GMT"),
            ("06-Nov-94", "Sun, 06 Nov 1994 00:00:00 GMT"),
            ("20040912 15:05:58 -0700", "Sun, 12 Sep 2004 22:05:58 GMT"),
            ("Sat, 11 Sep 2004 21:32:11 +0200", "Sat, 11 Sep 2004 19:32:11 GMT"),
            ("20261201", "Tue, 01 Dec 2026 00:00:00 GMT"),
        ] {
            assert_eq!(parse_loose_date(given), at(want), "{given}");
        }
        for file in ["index.html", "local.txt", "2024.tar", "a b", "Nov", "12:00"] {
            assert_eq!(parse_loose_date(file), None, "{file}");
        }
        let o = parse(&["-Y", "100"]).options();
        assert_eq!(o.speed_limit, Some((100, Duration::from_secs(30))));
        let o = parse(&["-y", "5"]).options();
        assert_eq!(o.speed_limit, Some((1, Duration::from_secs(5))));
        assert_eq!(parse(&[]).options().speed_limit, None);
    }

    #[test]
    fn the_bearer_token_is_a_header_and_never_printed() {
        let t = parse(&["--oauth2-bearer", "tok123"]);
        assert_eq!(t.implied_headers(), vec![("Authorization".into(), "Bearer tok123".into())]);
        assert!(!format!("{t:?}").contains("tok123"));
        assert!(T::try_parse_from(["t", "--oauth2-bearer", "a\nb"]).is_err());
    }

    #[test]
    fn rate_as_curl_reads_it() {
        let ms = |s: &str| parse_rate(s).map(|r| r.0.map(|d| d.as_millis()));
        assert_eq!(ms("2/s"), Ok(Some(500)));
        assert_eq!(ms("10/m"), Ok(Some(6000)));
        assert_eq!(ms("2/sec"), Ok(Some(500)), "the unit is the first character");
        assert_eq!(ms("3600"), Ok(Some(1000)), "per hour without a unit");
        assert_eq!(ms("1/d"), Ok(Some(86_400_000)));
        assert_eq!(ms("5000/s"), Ok(None), "more than 1000 per second: unrestricted");
        for bad in ["0/s", "x/s", "2/x", "-1/s", "", "2/"] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
    }
}
