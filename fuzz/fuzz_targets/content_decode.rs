//! `--compressed`'s decoder ([`toll::client::ContentDecoder`], `src/client/decode.rs`) on a body
//! a server sends with the codings it names. Input: a selector byte (the first coding in bits
//! 0–2, the second in bits 3–5, bit 6: both, in one `Content-Encoding` value), a byte for the
//! size of the pieces the body arrives in, the body (at most 2 KiB: a few bytes of zstd or
//! brotli stand for megabytes). Checked beyond "no panic": every piece handed on is 1 to 32 KiB
//! long; how the body is cut does not matter — in pieces and whole it decodes or fails the same
//! way, with the same bytes (before the error, for a broken one).
#![no_main]

use libfuzzer_sys::fuzz_target;
use toll::client::{ContentDecoder, DecodeStopped};

const NAMES: [&str; 8] = ["gzip", "deflate", "br", "zstd", "identity", "x-gzip", "GZIP", "xyz"];
/// Output kept per run; the sink stops the decoder beyond it.
const KEEP: usize = 8 << 20;

fuzz_target!(|data: &[u8]| {
    let [selector, step, body @ ..] = data else { return };
    if body.len() > 2048 {
        return;
    }
    let first = NAMES[usize::from(selector & 7)];
    let second = NAMES[usize::from((selector >> 3) & 7)];
    let value = if selector & 0x40 != 0 { format!("{first}, {second}") } else { first.to_string() };
    let mut headers = http::HeaderMap::new();
    headers.insert(http::header::CONTENT_ENCODING, value.parse().unwrap());
    let whole = run(&headers, body, body.len().max(1));
    let cut = run(&headers, body, usize::from(*step).max(1));
    if whole.stopped || cut.stopped {
        let n = whole.out.len().min(cut.out.len());
        assert_eq!(whole.out[..n], cut.out[..n], "{value}: the same bytes up to where one stopped");
        return;
    }
    assert_eq!(whole.ok, cut.ok, "{value}: the same verdict whole and in pieces of {step}");
    if whole.ok {
        assert_eq!(whole.out, cut.out, "{value}: the same bytes whole and in pieces of {step}");
    } else {
        // Where a broken stream stops depends on the pieces; what came before it does not.
        let n = whole.out.len().min(cut.out.len());
        assert_eq!(whole.out[..n], cut.out[..n], "{value}: the same bytes before the error");
    }
});

struct Run {
    out: Vec<u8>,
    ok: bool,
    stopped: bool,
}

fn run(headers: &http::HeaderMap, body: &[u8], step: usize) -> Run {
    let mut out = Vec::new();
    let mut decoder = match ContentDecoder::for_headers(headers) {
        Ok(Some(d)) => d,
        Ok(None) => return Run { out: body.to_vec(), ok: true, stopped: false },
        Err(_) => return Run { out, ok: false, stopped: false },
    };
    for piece in body.chunks(step) {
        let r = decoder.push(piece, &mut |p: &[u8]| {
            assert!(!p.is_empty() && p.len() <= 32 * 1024, "a piece of {} bytes", p.len());
            if out.len() >= KEEP {
                return Err(DecodeStopped::Sink(()));
            }
            out.extend_from_slice(p);
            Ok(())
        });
        match r {
            Ok(()) => {}
            Err(DecodeStopped::Sink(())) => return Run { out, ok: true, stopped: true },
            Err(DecodeStopped::Decode(_)) => return Run { out, ok: false, stopped: false },
        }
    }
    let ok = decoder.finish().is_ok();
    Run { out, ok, stopped: false }
}
