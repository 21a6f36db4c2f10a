//! Errors that end a run, their documented exit codes, and the one-line hint printed under each
//! `toll: error: …`. The codes are stable (README "Exit codes"); curl's numbers are reused where
//! curl has the same meaning so scripts written for curl keep working.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Internal,
    Usage,
    Pac,
    ProxyUnreachable,
    ResolveHost,
    Connect,
    HttpStatus,
    Write,
    Read,
    Timeout,
    Tls,
    /// curl's 60: the server's certificate cannot be verified.
    PeerCert,
    /// curl's 77: the CA file or directory (`--cacert`, `--capath`) cannot be used.
    CaCert,
    /// curl's 82: the CRL file (`--crlfile`, `--proxy-crlfile`) cannot be read or used.
    CrlFile,
    /// curl's 59: no cipher suite or curve of `--ciphers`, `--tls13-ciphers`, `--curves` (or
    /// their `--proxy-` twins) can be used.
    Cipher,
    PinnedKey,
    /// curl's 18: the body ended before its announced length.
    PartialFile,
    TooManyRedirects,
    /// curl's 52: the server closed the connection without a word of an answer.
    GotNothing,
    /// curl's 8: the answer's head is not valid HTTP.
    WeirdReply,
    /// curl's 61: `--compressed` and a body that does not decode.
    BadEncoding,
    /// curl's 16: the server ended the HTTP/2 connection (GOAWAY) before the answer was whole.
    Http2,
    /// curl's 92: an HTTP/2 stream was reset, or its answer broke HTTP/2's rules.
    Http2Stream,
    Receive,
    /// `-C`: the server ignored the range (curl's 33).
    Range,
    /// `--max-filesize` exceeded (curl's 63).
    FileTooLarge,
    /// curl's 67: `--disallow-username-in-url` and a URL with a user name in it.
    LoginDenied,
    AuthNoCredentials,
    AuthRejected,
    ProxyDenied,
    ProxyFailed,
    AuthNoUsableScheme,
    /// `--interface`: no such interface, or an address this machine does not have (curl's 45).
    Interface,
    Listen,
    Interrupted,
    /// curl's 1: a URL whose scheme toll does not fetch, or whose protocol
    /// `--proto`/`--proto-redir` rules out. Shares the code with
    /// `Internal` (as in curl, where 1 is "unsupported protocol"), so it is not in [`TABLE`].
    Unsupported,
    /// curl's 58: the client certificate (`-E`, `--key`) cannot be used.
    ClientCert,
    /// curl's 4: an option toll's build cannot carry out (`--doh-cert-status`: OCSP).
    NotBuiltIn,
    /// `toll run`: CMD was not found (127, as the shell and env(1) say it).
    CommandNotFound,
    /// `toll run`: CMD was found but could not be started (126, as the shell and env(1)).
    CommandNotRunnable,
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Internal => 1,
            Exit::Usage => 2,
            Exit::Pac => 3,
            Exit::ProxyUnreachable => 5,
            Exit::ResolveHost => 6,
            Exit::Connect => 7,
            Exit::HttpStatus => 22,
            Exit::Write => 23,
            Exit::Read => 26,
            Exit::Timeout => 28,
            Exit::Tls => 35,
            Exit::PeerCert => 60,
            Exit::CaCert => 77,
            Exit::CrlFile => 82,
            Exit::Cipher => 59,
            Exit::PinnedKey => 90,
            Exit::PartialFile => 18,
            Exit::TooManyRedirects => 47,
            Exit::GotNothing => 52,
            Exit::WeirdReply => 8,
            Exit::BadEncoding => 61,
            Exit::Http2 => 16,
            Exit::Http2Stream => 92,
            Exit::Receive => 56,
            Exit::Range => 33,
            Exit::FileTooLarge => 63,
            Exit::LoginDenied => 67,
            Exit::AuthNoCredentials => 40,
            Exit::AuthRejected => 41,
            Exit::ProxyDenied => 42,
            Exit::ProxyFailed => 43,
            Exit::AuthNoUsableScheme => 44,
            Exit::Interface => 45,
            Exit::Listen => 46,
            Exit::Interrupted => 130,
            Exit::Unsupported => 1,
            Exit::ClientCert => 58,
            Exit::NotBuiltIn => 4,
            Exit::CommandNotFound => 127,
            Exit::CommandNotRunnable => 126,
        }
    }

    /// Every code with its meaning, as documented in the README (a test keeps them in step).
    pub const TABLE: [(Exit, &'static str); 39] = [
        (
            Exit::Internal,
            "internal error (a bug: please report it); also, as in curl, a URL whose scheme toll does not \
             fetch (ftp://, file://, …, also a redirect's with -L) or that --proto or --proto-redir rules out, and a server that does \
             not answer in HTTP/1.x (HTTP/0.9, or another protocol)",
        ),
        (Exit::Usage, "usage error: bad option, URL, header or proxy setting"),
        (
            Exit::Pac,
            "PAC error: the proxy auto-config file could not be read or fetched, did not compile, threw, \
             hit its time or memory limit, or returned an invalid proxy list",
        ),
        (Exit::ProxyUnreachable, "proxy unreachable: DNS, TCP or TLS to the proxy failed"),
        (Exit::ResolveHost, "the origin's host name could not be resolved (direct connections); with --doh-url, any name toll looks up through DoH (a proxy's too, as curl)"),
        (Exit::NotBuiltIn, "an option toll cannot carry out (--doh-cert-status: no OCSP check), as curl's \"not built in\""),
        (
            Exit::WeirdReply,
            "the server's answer is not valid HTTP (a malformed header or Content-Length), or its -L \
             Location is no URL",
        ),
        (Exit::Connect, "could not connect to the origin (direct connections)"),
        (Exit::HttpStatus, "HTTP status 400 or above with --fail"),
        (
            Exit::Write,
            "could not write the output (disk full, permission, closed pipe with -o); also, as in curl, -O \
             for a URL with no file name, and a binary body for a terminal (-o - prints it anyway); toll auth \
             login with no keyring to keep the password in",
        ),
        (Exit::Read, "could not read the request body (-d @file, --data-binary @file)"),
        (Exit::Timeout, "timeout (--max-time, --connect-timeout)"),
        (Exit::Tls, "TLS failure with the origin (handshake, protocol)"),
        (
            Exit::PeerCert,
            "the server's certificate cannot be verified (unknown CA, wrong name, expired; with --crlfile: revoked, or no valid CRL of its issuer)",
        ),
        (Exit::CaCert, "the CA file or directory (--cacert, --capath) cannot be read or used"),
        (
            Exit::CrlFile,
            "the CRL file (--crlfile, --proxy-crlfile) cannot be read or holds no usable PEM CRL",
        ),
        (
            Exit::Cipher,
            "--ciphers, --tls13-ciphers or --curves (or --proxy-ciphers, --proxy-tls13-ciphers) names no cipher suite or curve toll's TLS can use",
        ),
        (
            Exit::PinnedKey,
            "the server's (or https proxy's) public key does not match --pinnedpubkey (--proxy-pinnedpubkey), or its file cannot be used",
        ),
        (
            Exit::PartialFile,
            "the body ended before its announced length (Content-Length), or -C resumes an upload past its file's end",
        ),
        (Exit::AuthNoCredentials, "the proxy requires authentication and no credentials are available"),
        (Exit::AuthRejected, "the proxy rejected the credentials"),
        (
            Exit::ProxyDenied,
            "the proxy denied access (403, or 407 for a destination after the credentials worked)",
        ),
        (
            Exit::ProxyFailed,
            "the proxy failed otherwise (other CONNECT status, broken conversation, broken tunnel)",
        ),
        (Exit::AuthNoUsableScheme, "the proxy offers no authentication scheme toll can use"),
        (Exit::Interface, "--interface: no such interface, or an address this machine does not have"),
        (Exit::Listen, "toll serve could not listen on its address (in use, permission)"),
        (Exit::TooManyRedirects, "too many redirects (--max-redirs)"),
        (Exit::GotNothing, "the server closed the connection without answering (an empty reply)"),
        (Exit::Receive, "the transfer broke off while receiving data"),
        (
            Exit::Http2,
            "HTTP/2: the server ended the connection (GOAWAY) before the answer was whole",
        ),
        (
            Exit::Http2Stream,
            "HTTP/2: the server reset the request's stream, or its answer breaks HTTP/2's rules (a field \
             HTTP/2 forbids, a length the body does not match)",
        ),
        (Exit::ClientCert, "the client certificate or key (-E/--cert, --key) cannot be read or used"),
        (Exit::Range, "-C: the answer is not the part asked for (the file is left as it was)"),
        (Exit::FileTooLarge, "the body is (or is announced to be) larger than --max-filesize"),
        (Exit::LoginDenied, "a URL holds a user name (or password) and --disallow-username-in-url forbids it"),
        (
            Exit::BadEncoding,
            "--compressed: the body does not decode (a broken, cut or overlong gzip, deflate, brotli or zstd \
             stream, a coding toll does not know, more than five codings)",
        ),
        (Exit::CommandNotRunnable, "toll run: the command was found but cannot be run (not executable)"),
        (Exit::CommandNotFound, "toll run: the command was not found"),
        (Exit::Interrupted, "interrupted (Ctrl-C): toll ends by SIGINT, which a shell reports as 130"),
    ];
}

/// An error that ends the run: what happened, what to do next, and the exit code.
#[derive(Debug)]
pub struct Error {
    pub exit: Exit,
    pub message: String,
    pub hint: Option<String>,
    /// For `--retry`: the error this one is like, where its own code is coarser than curl's (a
    /// proxy's name that did not resolve is exit 5, as curl, but retried as a host name is).
    pub retry_as: Option<Exit>,
    /// The proxy's answer to a CONNECT that did not open a tunnel (`%{http_connect}`, which curl
    /// reports for a failed transfer too).
    pub http_connect: Option<u16>,
}

impl Error {
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        Error { exit, message: message.into(), hint: None, retry_as: None, http_connect: None }
    }

    pub fn retry_as(mut self, exit: Exit) -> Self {
        self.retry_as = Some(exit);
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error and its causes as one line (`connection error: received fatal alert: …`), each
/// cause left out when an earlier part already says it. Not sanitised: callers that print it
/// raw pass it through `term::sanitize`.
pub fn chain_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(err) = cur {
        let s = err.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = err.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct() {
        let mut seen = std::collections::HashSet::new();
        for (e, _) in Exit::TABLE {
            assert!(seen.insert(e.code()), "duplicate exit code {}", e.code());
        }
    }

    #[test]
    fn readme_documents_every_code() {
        let readme = include_str!("../README.md");
        for (e, _) in Exit::TABLE {
            let row = format!("| {} |", e.code());
            assert!(readme.contains(&row), "README's exit-code table lacks {row}");
        }
    }
}
