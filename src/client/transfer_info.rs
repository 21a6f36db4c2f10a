//! Fills the `-w` [`TransferInfo`] as a transfer goes (the client calls the [`Recorder`] at
//! the points it can observe) and writes the rendered format at the end, after the body or
//! after the error that ended the run, as curl does.

use super::writeout::{self, Stream, TransferInfo};
use super::Session;
use crate::config::{BodySource, OutputTarget, RequestConfig, WriteOut};
use crate::error::{Error, Exit, Result};
use crate::route::RouteEntry;
use std::io::{Read, Write};
use std::time::Instant;

/// Reads the `-w` format (`@FILE`, `@-`) before the transfer starts.
pub fn load_format(w: &WriteOut) -> Result<String> {
    let read_err = |what: &str, e: std::io::Error| {
        Error::new(Exit::Read, format!("cannot read the --write-out format from {what}: {e}"))
            .hint("check the file name after '-w @'")
    };
    match w {
        WriteOut::Inline(s) => Ok(s.clone()),
        WriteOut::File(p) => {
            std::fs::read(p).map(|b| file_format(&b)).map_err(|e| read_err(&p.display().to_string(), e))
        }
        WriteOut::Stdin => {
            let mut b = Vec::new();
            std::io::stdin().read_to_end(&mut b).map_err(|e| read_err("standard input", e))?;
            Ok(file_format(&b))
        }
    }
}

/// A format read from a file, as curl reads it: each line up to its first CR, the lines joined
/// without their line ends (write `\n` for a newline).
pub fn file_format(data: &[u8]) -> String {
    let text = String::from_utf8_lossy(data);
    text.split('\n').map(|line| line.split('\r').next().unwrap_or("")).collect()
}

pub struct Recorder {
    started: Instant,
    /// When the request was handed to the HTTP client (`sending`).
    sent: Option<Instant>,
    /// The session's count of new connections then (`Session::connections_made`).
    connections_before: u64,
    pub info: TransferInfo,
    /// The body's bytes as received and the file written (`write_response` fills it in).
    pub delivered: super::deliver::Delivered,
    /// Retries made so far (`--retry`).
    pub retried: u32,
}

impl Recorder {
    pub fn start(req: &RequestConfig) -> Recorder {
        let info = TransferInfo {
            url: req.url.to_string(),
            url_effective: req.url.to_string(),
            method: super::redirect::initial_method(req).map(|m| m.to_string()).unwrap_or_default(),
            referer: req.curl.referer.clone(),
            urlnum: req.transfer.url_number,
            // The file the output would go to, known before the answer (curl reports it after a
            // failure too): `-o`'s, `-O`'s from the URL (a `-J` name replaces it in `response`).
            filename_effective: match &req.output {
                OutputTarget::File(p) => Some(p.display().to_string()),
                OutputTarget::RemoteName => {
                    super::saving::remote_file_name(req, &reqwest::header::HeaderMap::new())
                }
                OutputTarget::Stdout | OutputTarget::Null => None,
            },
            ..TransferInfo::default()
        };
        Recorder {
            started: Instant::now(),
            sent: None,
            connections_before: 0,
            info,
            delivered: Default::default(),
            retried: 0,
        }
    }

    /// A fresh record for the next `--retry` attempt (times still count from the first).
    pub fn next_attempt(self, req: &RequestConfig) -> Recorder {
        Recorder { started: self.started, retried: self.retried + 1, ..Recorder::start(req) }
    }

    /// The request is handed to the HTTP stack: the connection times are this moment until
    /// the response shows which connection it took (`response`).
    pub fn sending(&mut self, tls: bool, connections: u64) {
        self.sent = Some(Instant::now());
        self.connections_before = connections;
        let t = self.started.elapsed();
        let times = &mut self.info.times;
        times.namelookup = t;
        times.connect = t;
        times.pretransfer = t;
        if tls {
            times.appconnect = t;
        }
    }

    /// The request got its answer or failed: `connections` is the session's count of new
    /// connections now.
    pub fn connections(&mut self, connections: u64) {
        self.info.num_connects = connections.saturating_sub(self.connections_before);
    }

    /// The transfer ended with an error after responses arrived (a redirect refused by
    /// `--max-redirs`, `--proto-redir` or `--disallow-username-in-url`): as curl, `-w` tells of
    /// the last of them.
    pub fn refused_redirect(&mut self, req: &RequestConfig, heads: &super::EarlierHeads) {
        let Some(status) = heads.last_status() else { return };
        let i = &mut self.info;
        i.http_code = status;
        i.num_redirects = heads.redirects();
        i.size_header = heads.size();
        // Where the transfer got to (a redirect's target it could not reach, as curl says) and
        // the last connection that answered.
        if let Some(last) = heads.last_answer() {
            i.url_effective = last.url.clone();
            i.redirect_url = last.redirect_url.clone();
            i.ends = last.ends.clone();
            i.method = last.method.clone();
            if last.body_before {
                i.size_upload = upload_size(req, super::body::unsized_sent());
            }
        }
    }

    /// The transfer failed before any answer came (`e`): as curl, `-w` still tells of the proxy
    /// that answered its CONNECT — refused it, or opened a tunnel the TLS handshake then
    /// failed in —: the CONNECT's status, the proxy's address (and with them the scheme).
    pub fn unanswered(&mut self, session: &Session, req: &RequestConfig, e: &Error) {
        let tunnel = session.relay.take_connect_heads().last().map(|c| c.status.as_u16());
        let Some(code) = e.http_connect.or(tunnel) else { return };
        self.info.http_connect = code;
        if let Some(ends) = proxy_ends(session, &req.url) {
            self.info.ends = ends;
        }
    }

    /// The final response's head arrived (after the redirects and tunnels in `heads`).
    pub fn response(
        &mut self,
        session: &Session,
        req: &RequestConfig,
        resp: &reqwest::Response,
        heads: &super::EarlierHeads,
    ) {
        let i = &mut self.info;
        i.times.starttransfer = self.started.elapsed();
        if let Some(sent) = self.sent {
            let tls = resp.url().scheme() == "https";
            let (namelookup, connect, appconnect, pretransfer) =
                super::timing::connection_times(session.clock.phases(), self.started, sent, tls);
            // With -Z another transfer's connection may be the latest one: never after the
            // first byte of this one's answer.
            let upto = i.times.starttransfer;
            i.times.namelookup = namelookup.min(upto);
            i.times.connect = connect.min(upto);
            i.times.appconnect = appconnect.min(upto);
            i.times.pretransfer = pretransfer.min(upto);
        }
        i.http_code = resp.status().as_u16();
        i.http_version = match resp.version() {
            reqwest::Version::HTTP_09 => "0.9",
            reqwest::Version::HTTP_10 => "1",
            reqwest::Version::HTTP_2 => "2",
            reqwest::Version::HTTP_3 => "3",
            _ => "1.1",
        }
        .into();
        i.num_redirects = heads.redirects();
        if let Some(r) = resp.extensions().get::<super::redirect::SentReferer>() {
            i.referer = Some(r.0.clone());
        }
        let answered = resp.extensions().get::<super::redirect::WithFragment>().map_or(resp.url(), |u| &u.0);
        let answered = &super::redirect::without_empty_parts(answered.clone());
        i.url_effective = match (&req.curl.request_target, req.curl.path_as_is) {
            // --path-as-is: the URL with its path as written, as curl reports it (not a
            // redirect's: those are normalised).
            (Some(target), true) if i.num_redirects == 0 => {
                let fragment = answered.fragment().map(|f| format!("#{f}")).unwrap_or_default();
                format!("{}{target}{fragment}", answered.origin().ascii_serialization())
            }
            _ => answered.to_string(),
        };
        i.headers = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        i.size_header = heads.size() + super::head_text(resp).len() as u64;
        if resp.status().is_redirection() {
            i.redirect_url = super::redirect::location(resp)
                .and_then(|l| resp.url().join(&l).ok())
                .map(|u| super::redirect::without_empty_parts(u).to_string());
        }
        i.ends = ends(session, resp);
        match session.routes.chosen(resp.url()) {
            Some(RouteEntry::Proxy(spec)) if !spec.is_socks() => {
                i.http_connect = heads.connect_status().unwrap_or(0);
            }
            // reqwest's own connection (toll's own path's, with its `Peer`, is never a pool's).
            _ if resp.extensions().get::<super::tunnel::Peer>().is_none() => {
                let info = resp.extensions().get::<hyper_util::client::legacy::connect::HttpInfo>();
                // hyper's pool races a new connection against the kept one's return to the pool
                // (which its own task makes): when the kept one wins, the new one is finished in
                // the background, and the connector saw it. The transfer used no new connection
                // (curl counts those a transfer used), nor did its times include one.
                let reused = info.is_some_and(|c| session.clock.came_on(c.local_addr()));
                if reused && heads.redirects() == 0 {
                    i.num_connects = 0;
                    if let Some(sent) = self.sent {
                        let tls = resp.url().scheme() == "https";
                        let at_sent =
                            super::timing::connection_times(Default::default(), self.started, sent, tls);
                        (i.times.namelookup, i.times.connect, i.times.appconnect, i.times.pretransfer) =
                            at_sent;
                    }
                }
            }
            _ => {}
        }
        i.filename_effective = match &req.output {
            OutputTarget::Stdout | OutputTarget::Null => None,
            OutputTarget::File(p) => Some(p.display().to_string()),
            OutputTarget::RemoteName => super::saving::remote_file_name(req, resp.headers()),
        };
        // After redirects, the last request's method and body (none after a 303, say).
        let last = heads.last_answer();
        if let Some(last) = last {
            i.method = last.method.clone();
        }
        let with_body = last.is_none_or(|l| l.body_after);
        i.size_upload = if with_body { upload_size(req, super::body::unsized_sent()) } else { 0 };
    }

    /// Renders `format` for the finished transfer and writes it (stdout/stderr as it says).
    pub fn write_out(mut self, format: &str, result: &Result<()>) {
        let i = &mut self.info;
        i.times.total = self.started.elapsed();
        i.size_download = self.delivered.bytes;
        // The name written under, `--no-clobber`'s `NAME.1` rather than `NAME` (as curl).
        if let Some(file) = &self.delivered.file {
            i.filename_effective = Some(file.display().to_string());
        }
        i.num_retries = u64::from(self.retried);
        if let Err(e) = result {
            i.exitcode = e.exit.code();
            i.errormsg = Some(e.message.clone());
            if let Some(code) = e.http_connect {
                i.http_connect = code;
            }
        }
        let rendered = writeout::render_for(format, i, &|s| {
            use std::io::IsTerminal;
            match s {
                Stream::Stdout => std::io::stdout().is_terminal(),
                Stream::Stderr => crate::output::real_stderr_is_terminal(),
                Stream::File { .. } => false,
            }
        });
        for w in &rendered.warnings {
            eprintln!("toll: warning: {w}");
        }
        for (stream, data) in rendered.pieces {
            // A reader that went away is not an error here either (see `output`).
            let _ = match stream {
                Stream::Stdout => {
                    std::io::stdout().lock().write_all(&data).and_then(|_| std::io::stdout().flush())
                }
                // Not `--stderr`'s target: the standard error toll started with, as curl 7.88.
                Stream::Stderr => crate::output::write_real_stderr(&data),
                Stream::File { path, append } => {
                    let opened = std::fs::OpenOptions::new()
                        .write(true)
                        .create(true)
                        .append(append)
                        .truncate(!append)
                        .open(&path);
                    match opened {
                        Ok(mut f) => f.write_all(&data),
                        // As curl: a warning, and the text goes to standard output instead.
                        Err(e) => {
                            eprintln!(
                                "toll: warning: cannot open {} for --write-out: {e}",
                                crate::term::sanitize(&path)
                            );
                            std::io::stdout().lock().write_all(&data).and_then(|_| std::io::stdout().flush())
                        }
                    }
                }
            };
        }
    }
}

/// The request body's length: known beforehand, or, for one only known once read (standard
/// input, a pipe, a `-d @FILE` whose line breaks are dropped), `read_sent`, what the last
/// request sent of it (counted as sent: the file is not read a second time to count it).
fn upload_size(req: &RequestConfig, read_sent: u64) -> u64 {
    let Some(body) = &req.body else { return 0 };
    match &body.source {
        BodySource::Bytes(b) => b.len() as u64,
        BodySource::File(p) if !body.strip_newlines => {
            // A resumed upload (`-C N -T FILE`) sends the file from byte N.
            let at = super::resume::upload_offset(req).unwrap_or(0);
            let size = std::fs::metadata(p).ok().and_then(|m| super::body::known_length(&m));
            size.map_or(read_sent, |n| n.saturating_sub(at))
        }
        BodySource::File(_) => read_sent,
        BodySource::Stdin => read_sent,
        BodySource::Form(parts) => {
            let typed = req.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case("content-type"));
            super::form::length(parts, typed.map(|(_, v)| v.as_str()), read_sent)
        }
    }
}

/// The ends of the relay's connection to the HTTP proxy `url` goes through, if it does (see
/// [`ends`]).
fn proxy_ends(session: &Session, url: &url::Url) -> Option<super::writeout::Ends> {
    let Some(RouteEntry::Proxy(spec)) = session.routes.chosen(url) else { return None };
    if spec.is_socks() {
        return None;
    }
    let addresses = session.relay.proxy_addresses(&spec);
    Some(super::writeout::Ends {
        remote_ip: Some(addresses.map_or_else(|| spec.host.clone(), |a| a.proxy.ip().to_string())),
        remote_port: Some(addresses.map_or(spec.port, |a| a.proxy.port())),
        local_ip: addresses.map(|a| a.local.ip().to_string()),
        local_port: addresses.map(|a| a.local.port()),
    })
}

/// The ends of the connection `resp` came on, as `-w` reports them: through an HTTP proxy,
/// the relay's connection to the proxy (reqwest's, if it made one, went to the loopback relay;
/// the port is the proxy's, or `--preproxy`'s SOCKS proxy's); an alternative's or a
/// `--connect-to` target's, made by toll's own path; else reqwest's.
pub(super) fn ends(session: &Session, resp: &reqwest::Response) -> super::writeout::Ends {
    use super::writeout::Ends;
    match proxy_ends(session, resp.url()) {
        Some(ends) => ends,
        None => {
            let pair = match resp.extensions().get::<super::tunnel::Peer>() {
                Some(p) => Some((p.remote, p.local)),
                None => resp
                    .extensions()
                    .get::<hyper_util::client::legacy::connect::HttpInfo>()
                    .map(|c| (c.remote_addr(), c.local_addr())),
            };
            Ends {
                remote_ip: pair.map(|(r, _)| r.ip().to_string()),
                remote_port: pair.map(|(r, _)| r.port()),
                local_ip: pair.map(|(_, l)| l.ip().to_string()),
                local_port: pair.map(|(_, l)| l.port()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_files_lose_their_line_ends_as_in_curl() {
        assert_eq!(file_format(b"a %{http_code}\\n\r\nb\nc\rignored\n"), "a %{http_code}\\nbc");
        assert_eq!(file_format(b""), "");
    }
}
