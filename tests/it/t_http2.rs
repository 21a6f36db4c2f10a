//! HTTP/2 servers that break off or break the rules, written with the `h2` crate (hyper's own
//! HTTP/2 layer), and the exit codes curl 7.88 gives for them: 92 for a stream the server
//! reset or an answer HTTP/2 does not allow, 16 for a connection the server ended (GOAWAY), 56
//! for a stream it refused — directly and through a proxy's tunnel (toll's own path).

use crate::fakeproxy::{self, FakeProxy};
use crate::run::toll;
use bytes::Bytes;

/// An https server speaking only HTTP/2, answering by path:
/// - `/ok`: `ok\n`;
/// - `/rst`: a 200 with `partial`, then RST_STREAM (INTERNAL_ERROR);
/// - `/refused`: RST_STREAM (REFUSED_STREAM) before any answer;
/// - `/short`: `content-length: 100` and 50 bytes, the stream ended;
/// - `/big-head`: `ok\n` after a 40 KB field (hyper's client takes 16 KiB by default).
///
/// With `goaway`, every connection is ended instead, once its request came ([`go_away`]).
/// Returns its port.
fn h2_server(goaway: bool) -> u16 {
    crate::tls::serve_tls(&[b"h2"], move |tls| async move {
        if goaway {
            let _ = go_away(tls).await;
            return;
        }
        let Ok(mut conn) = h2::server::handshake(tls).await else { return };
        while let Some(Ok((req, mut respond))) = conn.accept().await {
            let ok = |len: usize| http::Response::builder().header("content-length", len).body(()).unwrap();
            match req.uri().path() {
                "/ok" => {
                    let mut send = respond.send_response(ok(3), false).unwrap();
                    let _ = send.send_data(Bytes::from_static(b"ok\n"), true);
                }
                "/rst" => {
                    let mut send = respond.send_response(http::Response::new(()), false).unwrap();
                    let _ = send.send_data(Bytes::from_static(b"partial"), false);
                    tokio::spawn(async move {
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                        send.send_reset(h2::Reason::INTERNAL_ERROR);
                    });
                }
                "/refused" => respond.send_reset(h2::Reason::REFUSED_STREAM),
                "/big-head" => {
                    let big = "v".repeat(40_000);
                    let head = http::Response::builder().header("x-big", big).header("content-length", 3);
                    let mut send = respond.send_response(head.body(()).unwrap(), false).unwrap();
                    let _ = send.send_data(Bytes::from_static(b"ok\n"), true);
                }
                "/short" => {
                    let mut send = respond.send_response(ok(100), false).unwrap();
                    let _ = send.send_data(Bytes::from(vec![b'x'; 50]), true);
                }
                _ => respond.send_reset(h2::Reason::CANCEL),
            }
        }
    })
}

/// Written frame by frame: reads the client's preface and frames up to its request's HEADERS
/// (so the request was sent: no race with the client's handshake), then answers SETTINGS and
/// GOAWAY (last stream 0, INTERNAL_ERROR) and closes.
async fn go_away<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(mut s: S) -> std::io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut preface = [0u8; 24];
    s.read_exact(&mut preface).await?;
    loop {
        let mut head = [0u8; 9];
        s.read_exact(&mut head).await?;
        let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
        let mut payload = vec![0u8; len];
        s.read_exact(&mut payload).await?;
        if head[3] == 0x1 {
            break;
        }
    }
    let settings = [0, 0, 0, 0x4, 0, 0, 0, 0, 0];
    let goaway = [0, 0, 8, 0x7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x2];
    s.write_all(&[&settings[..], &goaway[..]].concat()).await?;
    s.flush().await?;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    s.shutdown().await
}

#[test]
fn http2_failures_have_curls_exit_codes() {
    let (port, ending) = (h2_server(false), h2_server(true));
    let proxy = FakeProxy::start(fakeproxy::open());
    let ca = crate::tls::pki().ca_arg();
    let purl = proxy.url();
    for via in [None, Some(purl.as_str())] {
        let url_of = |path: &str| match path {
            "/goaway" => format!("https://127.0.0.1:{ending}/"),
            _ => format!("https://127.0.0.1:{port}{path}"),
        };
        let run = |path: &str| {
            let url = url_of(path);
            let mut args = vec!["-sS", "--cacert", &ca, "-w", "[%{http_code} %{http_version}]"];
            if let Some(p) = via {
                args.extend(["-x", p]);
            }
            args.push(&url);
            toll(args).run()
        };
        // curl beside it, on the same server (its HTTP/2 is nghttp2's).
        let curl = |path: &str| {
            let url = url_of(path);
            let mut cmd = std::process::Command::new("/usr/bin/curl");
            cmd.args(["-sS", "-o", "/dev/null", "--cacert", &ca, &url]).env_clear();
            if let Some(p) = via {
                cmd.args(["-x", p]);
            }
            cmd.output().expect("run curl").status.code()
        };
        if std::path::Path::new("/usr/bin/curl").exists() {
            for (path, code) in [("/ok", 0), ("/rst", 92), ("/short", 92), ("/goaway", 16), ("/refused", 56)]
            {
                assert_eq!(curl(path), Some(code), "curl {path} via {via:?}");
            }
        } else {
            crate::skip("SKIPPED http2_failures_have_curls_exit_codes's curl half: needs curl");
        }
        let out = run("/ok");
        out.assert_ok();
        assert_eq!(out.stdout_str(), "ok\n[200 2]", "{}", out.describe());
        let out = run("/rst");
        out.assert_code(92);
        assert_eq!(out.stdout_str(), "partial[200 2]", "{}", out.describe());
        assert!(out.stderr.contains("reset the HTTP/2 stream"), "{}", out.describe());
        let out = run("/short");
        out.assert_code(92);
        assert!(out.stderr.contains("breaks HTTP/2's rules"), "{}", out.describe());
        let out = run("/goaway");
        out.assert_code(16);
        assert!(out.stderr.contains("ended the HTTP/2 connection"), "{}", out.describe());
        let out = run("/big-head");
        out.assert_ok();
        assert_eq!(out.stdout_str(), "ok\n[200 2]", "{}", out.describe());
        let out = run("/refused");
        out.assert_code(56);
        assert!(out.stderr.contains("REFUSED_STREAM"), "{}", out.describe());
        assert!(!out.stderr.contains("request to  failed"), "{}", out.describe());
    }
}

/// An https HTTP/2 server written frame by frame (the `h2` crate's server counts every stream it
/// received as processed): on each connection it answers the first three requests (`ok\n`), then
/// sends GOAWAY naming the third (NO_ERROR) — the client's later streams were not processed, as
/// nginx does after `keepalive_requests` — and reads on for a moment before closing, as nginx
/// lingers. Counts the requests it answered.
fn h2_server_closing_after_three(answered: std::sync::Arc<std::sync::atomic::AtomicUsize>) -> u16 {
    crate::tls::serve_tls(&[b"h2"], move |tls| {
        let answered = answered.clone();
        async move {
            let _ = three_then_goaway(tls, &answered).await;
        }
    })
}

async fn three_then_goaway<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    mut s: S,
    answered: &std::sync::atomic::AtomicUsize,
) -> std::io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let frame = |kind: u8, flags: u8, stream: u32, payload: &[u8]| {
        let len = payload.len() as u32;
        let mut f = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
        f.extend((stream & 0x7fff_ffff).to_be_bytes());
        f.extend(payload);
        f
    };
    let mut preface = [0u8; 24];
    s.read_exact(&mut preface).await?;
    s.write_all(&frame(0x4, 0, 0, &[])).await?;
    let mut served = Vec::new();
    while served.len() < 3 {
        let mut head = [0u8; 9];
        s.read_exact(&mut head).await?;
        let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
        let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
        let mut payload = vec![0u8; len];
        s.read_exact(&mut payload).await?;
        match head[3] {
            // SETTINGS (not an ACK): acknowledged.
            0x4 if head[4] & 0x1 == 0 => s.write_all(&frame(0x4, 0x1, 0, &[])).await?,
            // HEADERS: `:status: 200` (HPACK static entry 8), then `ok\n` ending the stream.
            0x1 => {
                s.write_all(&frame(0x1, 0x4, stream, &[0x88])).await?;
                s.write_all(&frame(0x0, 0x1, stream, b"ok\n")).await?;
                served.push(stream);
                answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            _ => {}
        }
    }
    let mut goaway = served[2].to_be_bytes().to_vec();
    goaway.extend(0u32.to_be_bytes());
    s.write_all(&frame(0x7, 0, 0, &goaway)).await?;
    s.flush().await?;
    let mut sink = [0u8; 4096];
    let linger = tokio::time::sleep(std::time::Duration::from_millis(500));
    tokio::pin!(linger);
    loop {
        tokio::select! {
            _ = &mut linger => break,
            r = s.read(&mut sink) => if r? == 0 { break },
        }
    }
    Ok(())
}

/// Streams a server's GOAWAY left unprocessed (above the last stream it names) are sent again on
/// a new connection, as curl does: forty parallel requests to a server that turns away all but
/// three on each connection all succeed (toll failed the others with exit 16).
#[test]
fn requests_a_goaway_left_unprocessed_are_sent_again() {
    let answered = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let port = h2_server_closing_after_three(answered.clone());
    let ca = crate::tls::pki().ca_arg();
    let url = format!("https://127.0.0.1:{port}/ok?[1-40]");
    let out = toll(["-sS", "-Z", "--cacert", &ca, "-o", "/dev/null", &url]).run();
    out.assert_ok();
    assert_eq!(answered.load(std::sync::atomic::Ordering::SeqCst), 40, "{}", out.describe());
}
