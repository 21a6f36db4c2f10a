//! Plain configuration for curl's transfer and output options (`-F`, `-C`, `-J`, `-R`,
//! `--remote-name-all`, `-z`, `--etag-*`, `--max-filesize`, `--limit-rate`, `--speed-*`,
//! `--no-clobber`, `--post30x`, …): what `cli/transfer_opts.rs` resolves them to, once.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// One `-F`/`--form-string` part, as curl reads `name=value;type=…;filename=…;headers=…`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormPart {
    pub name: String,
    pub value: FormValue,
    /// `;type=`: the part's Content-Type (else guessed from the file name, as curl does).
    pub content_type: Option<String>,
    /// `;filename=`: the name announced for the part (an `@file` announces its own name).
    pub filename: Option<String>,
    /// `;headers=`: extra header lines of the part.
    pub headers: Vec<String>,
    /// `;encoder=`: the part's Content-Transfer-Encoding (base64 and quoted-printable encode it).
    pub encoder: Option<FormEncoder>,
    /// `--form-escape` (an option of the whole form, set on each part and sub-part when the
    /// command line is converted): `"` and `\` in the name and file name are escaped with a
    /// backslash instead of curl's default (`"` as `%22`).
    pub backslash_escape: bool,
}

/// `-F …;encoder=NAME`: the encodings curl's libcurl knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormEncoder {
    Binary,
    EightBit,
    SevenBit,
    Base64,
    QuotedPrintable,
}

impl FormEncoder {
    /// The name as given (any case), as curl_mime_encoder reads it.
    pub fn parse(name: &str) -> Option<FormEncoder> {
        let all = [Self::Binary, Self::EightBit, Self::SevenBit, Self::Base64, Self::QuotedPrintable];
        all.into_iter().find(|e| e.name().eq_ignore_ascii_case(name))
    }

    /// The name in the part's `Content-Transfer-Encoding` (curl writes its own spelling).
    pub fn name(self) -> &'static str {
        match self {
            Self::Binary => "binary",
            Self::EightBit => "8bit",
            Self::SevenBit => "7bit",
            Self::Base64 => "base64",
            Self::QuotedPrintable => "quoted-printable",
        }
    }
}

/// Where a form part's content comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FormValue {
    /// `name=text` (or `--form-string name=text`).
    Text(String),
    /// `name=@file`: an attached file (announced with its name), streamed.
    File(PathBuf),
    /// `name=<file`: the file's content as a plain field, streamed.
    FileContent(PathBuf),
    /// `name=@-` (attached as `-`) or `name=<-` (`attached` false): standard input.
    Stdin { attached: bool },
    /// `name=@a,b`: several files (or `-`) in one part, sent as a multipart/mixed body with one
    /// sub-part each. The sub-parts are `File` or `Stdin` parts with an empty name (curl names
    /// only the group) and their own `;type=`, `;filename=`, `;headers=`, `;encoder=`.
    Files(Vec<FormPart>),
}

/// `-C/--continue-at`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resume {
    /// `-C -`: from the size of the output file (0 when it does not exist).
    Auto,
    /// `-C OFFSET`.
    At(u64),
}

/// `-z/--time-cond`: `If-Modified-Since`, or with a leading `-` `If-Unmodified-Since`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeCond {
    /// The time given, or (`None`) the modification time of `file`, read when the request is sent.
    pub time: Option<SystemTime>,
    pub file: Option<PathBuf>,
    pub unmodified: bool,
}

/// The transfer and output options, in one place so `RequestConfig` gains one field for them.
#[derive(Clone, Debug, Default)]
pub struct TransferOptions {
    pub resume: Option<Resume>,
    /// `-J`: with `-O`, the file name from `Content-Disposition` (made safe), never overwriting.
    pub remote_header_name: bool,
    /// `-R`: the output file gets the `Last-Modified` time.
    pub remote_time: bool,
    pub time_cond: Option<TimeCond>,
    /// `--etag-save FILE`: the response's ETag is written there.
    pub etag_save: Option<PathBuf>,
    /// `--etag-compare FILE`: `If-None-Match` with the ETag read from FILE.
    pub etag_compare: Option<PathBuf>,
    /// `--max-filesize`: refuse (exit 63) a larger announced or received body.
    pub max_filesize: Option<u64>,
    /// `--limit-rate`: bytes per second at most.
    pub limit_rate: Option<u64>,
    /// `--speed-limit BYTES` below which, for `--speed-time` (default 30 s), the transfer is
    /// aborted (exit 28).
    pub speed_limit: Option<(u64, Duration)>,
    /// `--no-clobber`: an existing output file is kept; `NAME.1` … `NAME.100` are tried instead.
    pub no_clobber: bool,
    /// The URL argument this request's URL came from, counting from 0 (`-w %{urlnum}`; a
    /// glob's URLs share their argument's).
    pub url_number: u64,
    /// `--skip-existing`: a URL whose output file exists is not fetched (`saving::exists_already`).
    pub skip_existing: bool,
    /// `--remove-on-error`: the output file a failed transfer wrote is removed (only
    /// `--fail-with-body` leaves one: others fail before theirs is put in place).
    pub remove_on_error: bool,
    /// `--xattr`: the saved file gets `user.xdg.origin.url` and `user.mime_type` (`client::xattr`).
    pub xattr: bool,
    /// `--create-file-mode`: the mode (less the umask) of the -o/-O and -D files toll creates;
    /// `None`: 0666 less the umask.
    pub create_file_mode: Option<u32>,
    /// `--fail-early`: with several URLs, stop at the first failure.
    pub fail_early: bool,
    /// `-Z/--parallel`: several URLs at once, at most this many (`--parallel-max`, default 50).
    pub parallel: Option<usize>,
    /// `--parallel-max-host`: with `-Z`, at most this many transfers at once to one scheme,
    /// host and port.
    pub parallel_max_host: Option<usize>,
    /// `--rate`: one URL after another starts at most this often (not with `-Z`, as in curl).
    pub rate: Option<Duration>,
    /// `--post301`/`--post302`/`--post303`: keep POST when following those redirects.
    pub post301: bool,
    pub post302: bool,
    pub post303: bool,
}
