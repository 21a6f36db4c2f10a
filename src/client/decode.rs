//! `--compressed`: the response body decoded by toll, as curl 7.88 decodes it — every
//! `Content-Encoding` field and every comma-separated coding in it, undone last first
//! (`gzip`/`x-gzip`, `deflate` with or without its zlib wrapper, `br`, `zstd`; `identity` and
//! `none` are nothing to undo; anything else is exit 61 at the first body byte, as curl's
//! "Unrecognized content encoding type"). Decoding here rather than in reqwest keeps the bytes
//! as received countable (`%{size_download}`, `--max-filesize` and the progress bar count them,
//! as curl does) and lets every path that delivers a response (reqwest's, the in-process
//! tunnel's, `--path-as-is`'s) decode the same way.
//!
//! Stricter than curl 7.88 on purpose: a compressed stream that stops before its end, or a gzip
//! member whose CRC or length does not match, is exit 61 (curl writes what decoded and exits 0,
//! so a script cannot tell a cut body from a whole one). Bytes after a stream's end are exit 61
//! too (curl: 23 for gzip and deflate, 61 for zstd). An empty body decodes to nothing.

use http::header::CONTENT_ENCODING;
use http::HeaderMap;

/// At most this many codings, as curl 7.88's answer to CVE-2023-23916 (a response naming
/// thousands of codings made curl allocate a decoder for each).
const MAX_CODINGS: usize = 5;

/// Decoded output is handed on in pieces of at most this size, whatever the input: a few bytes
/// of zstd or brotli can stand for gigabytes, which must stream, not be held.
const PIECE: usize = 32 * 1024;

/// Why a body does not decode (exit 61).
#[derive(Debug, PartialEq, Eq)]
pub struct DecodeError(pub String);

type Decoded = Result<(), DecodeError>;

/// Why decoding stopped: the body, or whoever takes the decoded pieces.
#[derive(Debug, PartialEq, Eq)]
pub enum Stopped<E> {
    Decode(DecodeError),
    Sink(E),
}

impl<E> From<DecodeError> for Stopped<E> {
    fn from(e: DecodeError) -> Self {
        Stopped::Decode(e)
    }
}

/// Takes each decoded piece in turn.
pub type Emit<'a, E> = dyn FnMut(&[u8]) -> Result<(), Stopped<E>> + 'a;

fn fail<T>(why: impl Into<String>) -> Result<T, DecodeError> {
    Err(DecodeError(why.into()))
}

/// The codings a response's body carries, undone in the order they are held.
pub struct Decoder {
    /// The last coding the server named first: it was applied last.
    layers: Vec<Layer>,
}

impl Decoder {
    /// The decoder for a response with these headers; `None` when there is nothing to undo.
    /// Too many codings is an error at once (curl refuses the response the same way).
    pub fn for_headers(headers: &HeaderMap) -> Result<Option<Decoder>, DecodeError> {
        let mut names = Vec::new();
        for value in headers.get_all(CONTENT_ENCODING) {
            let text = String::from_utf8_lossy(value.as_bytes()).into_owned();
            names.extend(text.split(',').map(|n| n.trim().to_ascii_lowercase()).filter(|n| !n.is_empty()));
        }
        // identity counts: curl 7.88 counts every coding named.
        if names.len() > MAX_CODINGS {
            return fail(format!(
                "the response names {} content codings; at most {MAX_CODINGS} are undone",
                names.len()
            ));
        }
        names.retain(|n| n != "identity" && n != "none");
        let layers: Vec<Layer> = names.into_iter().rev().map(Layer::new).collect();
        Ok((!layers.is_empty()).then_some(Decoder { layers }))
    }

    /// Decodes the next piece of the body as received, handing the decoded bytes to `emit` in
    /// pieces of at most 32 KiB as they come. On an error, what decoded before it was handed
    /// on (curl writes it too).
    pub fn push<E>(&mut self, raw: &[u8], emit: &mut Emit<'_, E>) -> Result<(), Stopped<E>> {
        through(&mut self.layers, raw, emit)
    }

    /// The end of the body: every stream that began must have ended.
    pub fn finish(&mut self) -> Decoded {
        self.layers.iter().try_for_each(Layer::finish)
    }
}

/// `input` through `layers` in order, then to `emit`.
fn through<E>(layers: &mut [Layer], input: &[u8], emit: &mut Emit<'_, E>) -> Result<(), Stopped<E>> {
    match layers.split_first_mut() {
        None => emit(input),
        Some((first, rest)) => first.push(input, &mut |piece: &[u8]| through(rest, piece, emit)),
    }
}

enum Layer {
    Gzip(Box<Gzip>),
    Deflate(Box<Deflate>),
    Brotli(Box<Brotli>),
    Zstd(Box<Zstd>),
    Unknown(String),
}

impl Layer {
    fn new(name: String) -> Layer {
        match name.as_str() {
            "gzip" | "x-gzip" => Layer::Gzip(Box::default()),
            "deflate" => Layer::Deflate(Box::default()),
            "br" => Layer::Brotli(Box::default()),
            "zstd" => Layer::Zstd(Box::default()),
            _ => Layer::Unknown(name),
        }
    }

    fn push<E>(&mut self, input: &[u8], out: &mut Emit<'_, E>) -> Result<(), Stopped<E>> {
        if input.is_empty() {
            return Ok(());
        }
        match self {
            Layer::Gzip(g) => g.push(input, out),
            Layer::Deflate(d) => d.push(input, out),
            Layer::Brotli(b) => b.push(input, out),
            Layer::Zstd(z) => z.push(input, out),
            Layer::Unknown(name) => Err(Stopped::Decode(DecodeError(format!(
                "Unrecognized content encoding type '{}': toll decodes deflate, gzip, br and zstd",
                crate::term::sanitize(name)
            )))),
        }
    }

    fn finish(&self) -> Decoded {
        let (began, ended, what) = match self {
            Layer::Gzip(g) => (g.began, matches!(g.state, GzState::Done), "gzip"),
            Layer::Deflate(d) => (d.began, d.inflate.as_ref().is_some_and(|i| i.ended), "deflate"),
            Layer::Brotli(b) => (b.began, b.ended, "brotli"),
            Layer::Zstd(z) => (z.began, z.ended, "zstd"),
            Layer::Unknown(_) => (false, true, ""),
        };
        if began && !ended {
            return fail(format!("the {what} stream ends before its end: the body is cut short"));
        }
        Ok(())
    }
}

/// A deflate stream (raw, or in zlib's wrapper when `zlib`), through flate2.
struct Inflate {
    d: flate2::Decompress,
    ended: bool,
    /// The output buffer, kept from one piece of input to the next.
    piece: Vec<u8>,
}

impl Inflate {
    fn new(zlib: bool) -> Inflate {
        Inflate { d: flate2::Decompress::new(zlib), ended: false, piece: Vec::new() }
    }

    /// Decodes from `input` until it is used up or the stream ends, handing each piece to
    /// `out` (and to `seen`, gzip's checksum); returns how much of `input` it used.
    fn push<E>(
        &mut self,
        mut input: &[u8],
        seen: &mut dyn FnMut(&[u8]),
        out: &mut Emit<'_, E>,
    ) -> Result<usize, Stopped<E>> {
        let total = input.len();
        let piece = &mut self.piece;
        piece.reserve_exact(PIECE);
        while !self.ended {
            piece.clear();
            let in0 = self.d.total_in();
            let status = self
                .d
                .decompress_vec(input, piece, flate2::FlushDecompress::None)
                .map_err(|e| DecodeError(format!("the deflate data is broken: {e}")))?;
            let used = (self.d.total_in() - in0) as usize;
            input = &input[used..];
            if !piece.is_empty() {
                seen(piece);
                out(piece)?;
            }
            if status == flate2::Status::StreamEnd {
                self.ended = true;
            } else if piece.len() < PIECE && input.is_empty() {
                // Everything given was read and the output had room: more input is needed.
                break;
            } else if used == 0 && piece.is_empty() {
                // No progress with input left and room for output: zlib's "buffer error".
                fail("the deflate data is broken")?;
            }
        }
        Ok(total - input.len())
    }
}

/// `deflate`: zlib's wrapper as RFC 9110 says, or a raw deflate stream as some servers send
/// (curl falls back to raw when the first two bytes are not a zlib header).
#[derive(Default)]
struct Deflate {
    began: bool,
    /// The first byte, until the second arrives and the wrapper can be told.
    first: Option<u8>,
    inflate: Option<Inflate>,
}

impl Deflate {
    fn push<E>(&mut self, input: &[u8], out: &mut Emit<'_, E>) -> Result<(), Stopped<E>> {
        self.began = true;
        // Only the start of the stream is copied: to join a first byte held back to the next.
        let joined;
        let mut input = input;
        if self.inflate.is_none() {
            if let Some(b) = self.first.take() {
                joined = [&[b][..], input].concat();
                input = &joined;
            }
            if input.len() < 2 {
                self.first = input.first().copied();
                return Ok(());
            }
            let (cmf, flg) = (input[0], input[1]);
            let zlib = cmf & 0x0f == 8 && cmf >> 4 <= 7 && (u16::from(cmf) << 8 | u16::from(flg)) % 31 == 0;
            self.inflate = Some(Inflate::new(zlib));
        }
        let inflate = self.inflate.as_mut().expect("set above");
        let used = inflate.push(input, &mut |_| {}, out)?;
        if used < input.len() {
            fail("data after the end of the deflate stream")?;
        }
        Ok(())
    }
}

/// `gzip` (RFC 1952): one member, its header read as it arrives, CRC-32 and length checked.
struct Gzip {
    began: bool,
    state: GzState,
    inflate: Inflate,
    crc: flate2::Crc,
}

impl Default for Gzip {
    fn default() -> Self {
        Gzip {
            began: false,
            state: GzState::Fixed(Vec::new()),
            inflate: Inflate::new(false),
            crc: flate2::Crc::new(),
        }
    }
}

enum GzState {
    /// The first 10 bytes, as they arrive.
    Fixed(Vec<u8>),
    /// The header's optional parts still to come: FLG, and the bytes of the part being read.
    Optional {
        flags: u8,
        part: Vec<u8>,
        skip: usize,
    },
    Body,
    /// CRC-32 and ISIZE, as they arrive.
    Trailer(Vec<u8>),
    Done,
}

const FHCRC: u8 = 2;
const FEXTRA: u8 = 4;
const FNAME: u8 = 8;
const FCOMMENT: u8 = 16;

impl Gzip {
    fn push<E>(&mut self, mut input: &[u8], out: &mut Emit<'_, E>) -> Result<(), Stopped<E>> {
        self.began = true;
        while !input.is_empty() {
            match &mut self.state {
                GzState::Fixed(head) => {
                    let take = (10 - head.len()).min(input.len());
                    head.extend_from_slice(&input[..take]);
                    input = &input[take..];
                    if head.len() == 10 {
                        if head[..3] != [0x1f, 0x8b, 8] {
                            fail("the body is not gzip data")?;
                        }
                        let flags = head[3];
                        if flags & 0xe0 != 0 {
                            fail("the gzip header has reserved flags set")?;
                        }
                        self.state = GzState::Optional { flags, part: Vec::new(), skip: 0 };
                    }
                }
                GzState::Optional { flags, part, skip } => {
                    if *skip > 0 {
                        let n = (*skip).min(input.len());
                        *skip -= n;
                        input = &input[n..];
                    } else if *flags & FEXTRA != 0 {
                        // XLEN (2 bytes, little-endian), then that many bytes.
                        part.push(input[0]);
                        input = &input[1..];
                        if part.len() == 2 {
                            *skip = usize::from(u16::from_le_bytes([part[0], part[1]]));
                            part.clear();
                            *flags &= !FEXTRA;
                        }
                    } else if *flags & (FNAME | FCOMMENT) != 0 {
                        // A zero-terminated string: skipped, never kept.
                        match input.iter().position(|&b| b == 0) {
                            Some(at) => {
                                input = &input[at + 1..];
                                let bit = if *flags & FNAME != 0 { FNAME } else { FCOMMENT };
                                *flags &= !bit;
                            }
                            None => input = &[],
                        }
                    } else if *flags & FHCRC != 0 {
                        *skip = 2;
                        *flags &= !FHCRC;
                    } else {
                        self.state = GzState::Body;
                    }
                }
                GzState::Body => {
                    let crc = &mut self.crc;
                    let used = self.inflate.push(input, &mut |piece| crc.update(piece), out)?;
                    input = &input[used..];
                    if self.inflate.ended {
                        self.state = GzState::Trailer(Vec::new());
                    }
                }
                GzState::Trailer(t) => {
                    let take = (8 - t.len()).min(input.len());
                    t.extend_from_slice(&input[..take]);
                    input = &input[take..];
                    if t.len() == 8 {
                        let crc = u32::from_le_bytes([t[0], t[1], t[2], t[3]]);
                        let size = u32::from_le_bytes([t[4], t[5], t[6], t[7]]);
                        if crc != self.crc.sum() || size != self.crc.amount() {
                            fail("the gzip data does not match its checksum")?;
                        }
                        self.state = GzState::Done;
                    }
                }
                GzState::Done => fail("data after the end of the gzip stream")?,
            }
        }
        // A header whose optional parts are all read ends here, even with no body byte yet.
        if let GzState::Optional { flags: 0, skip: 0, .. } = self.state {
            self.state = GzState::Body;
        }
        Ok(())
    }
}

type BrotliState =
    brotli::BrotliState<brotli::enc::StandardAlloc, brotli::enc::StandardAlloc, brotli::enc::StandardAlloc>;

/// A layer's output buffer of `PIECE` bytes, made on its first use and kept: one allocation per
/// response and layer, not one per network read.
fn output(buf: &mut Vec<u8>) -> &mut [u8] {
    buf.resize(PIECE, 0);
    buf
}

/// `br` (RFC 7932).
struct Brotli {
    began: bool,
    ended: bool,
    state: Box<BrotliState>,
    /// The output buffer, kept from one piece of input to the next.
    piece: Vec<u8>,
}

impl Default for Brotli {
    fn default() -> Self {
        let a = brotli::enc::StandardAlloc::default;
        Brotli {
            began: false,
            ended: false,
            state: Box::new(BrotliState::new(a(), a(), a())),
            piece: Vec::new(),
        }
    }
}

impl Brotli {
    fn push<E>(&mut self, input: &[u8], out: &mut Emit<'_, E>) -> Result<(), Stopped<E>> {
        self.began = true;
        let mut at = 0;
        let piece = output(&mut self.piece);
        while at < input.len() || !self.ended {
            if self.ended {
                fail("data after the end of the brotli stream")?;
            }
            let (mut avail_in, mut avail_out, mut written, mut total) = (input.len() - at, PIECE, 0, 0);
            let result = brotli::BrotliDecompressStream(
                &mut avail_in,
                &mut at,
                input,
                &mut avail_out,
                &mut written,
                piece,
                &mut total,
                &mut self.state,
            );
            if written > 0 {
                out(&piece[..written])?;
            }
            match result {
                brotli::BrotliResult::ResultSuccess => self.ended = true,
                brotli::BrotliResult::NeedsMoreInput => break,
                brotli::BrotliResult::NeedsMoreOutput => {}
                brotli::BrotliResult::ResultFailure => fail("the brotli data is broken")?,
            }
        }
        Ok(())
    }
}

/// `zstd` (RFC 8878): one or more frames, back to back.
struct Zstd {
    began: bool,
    /// The last call finished a frame and flushed it (zstd's hint 0).
    ended: bool,
    d: zstd_safe::DCtx<'static>,
    /// The output buffer, kept from one piece of input to the next.
    piece: Vec<u8>,
}

impl Default for Zstd {
    fn default() -> Self {
        Zstd { began: false, ended: false, d: zstd_safe::DCtx::create(), piece: Vec::new() }
    }
}

impl Zstd {
    fn push<E>(&mut self, input: &[u8], out: &mut Emit<'_, E>) -> Result<(), Stopped<E>> {
        self.began = true;
        let mut inb = zstd_safe::InBuffer::around(input);
        let piece = output(&mut self.piece);
        loop {
            let before = inb.pos();
            let mut outb = zstd_safe::OutBuffer::around(&mut piece[..]);
            let hint = self.d.decompress_stream(&mut outb, &mut inb).map_err(|code| {
                DecodeError(format!("the zstd data is broken: {}", zstd_safe::get_error_name(code)))
            })?;
            let (written, full) = (outb.pos(), outb.pos() == PIECE);
            if written > 0 {
                out(&piece[..written])?;
            }
            // A call that neither read nor wrote says nothing about the frame: after a frame
            // that ended as the output filled up exactly (a size that is a multiple of the
            // piece), the extra call asks for the next frame's header (a hint above 0), and
            // the stream that ended would read as cut short.
            if written > 0 || inb.pos() > before {
                self.ended = hint == 0;
            }
            if inb.pos() == input.len() && !full {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const TEXT: &[u8] = b"toll decodes what the server compressed, as curl does. ";

    fn text() -> Vec<u8> {
        TEXT.repeat(300)
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn raw_deflate(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn brotli(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
            w.write_all(data).unwrap();
        }
        out
    }

    fn zstd(data: &[u8]) -> Vec<u8> {
        let mut out = vec![0u8; data.len() + 1024];
        let n = zstd_safe::compress(&mut out[..], data, 3).unwrap();
        out.truncate(n);
        out
    }

    fn headers(codings: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for c in codings {
            h.append(CONTENT_ENCODING, c.parse().unwrap());
        }
        h
    }

    fn collect(out: &mut Vec<u8>) -> impl FnMut(&[u8]) -> Result<(), Stopped<()>> + '_ {
        |piece: &[u8]| {
            assert!(!piece.is_empty() && piece.len() <= PIECE, "a piece of {}", piece.len());
            out.extend_from_slice(piece);
            Ok(())
        }
    }

    fn decode_error(e: Stopped<()>) -> DecodeError {
        match e {
            Stopped::Decode(e) => e,
            Stopped::Sink(()) => unreachable!("the test's sink takes everything"),
        }
    }

    /// Decodes `body` sent in pieces of `step` bytes.
    fn decode(codings: &[&str], body: &[u8], step: usize) -> Result<Vec<u8>, DecodeError> {
        let mut d = Decoder::for_headers(&headers(codings))?.expect("something to undo");
        let mut out = Vec::new();
        for piece in body.chunks(step.max(1)) {
            d.push(piece, &mut collect(&mut out)).map_err(decode_error)?;
        }
        d.finish()?;
        Ok(out)
    }

    #[test]
    fn each_coding_decodes_whatever_the_pieces() {
        let t = text();
        let cases: [(&str, Vec<u8>); 6] = [
            ("gzip", gzip(&t)),
            ("x-gzip", gzip(&t)),
            ("deflate", zlib(&t)),
            ("deflate", raw_deflate(&t)),
            ("br", brotli(&t)),
            ("zstd", zstd(&t)),
        ];
        for (name, body) in &cases {
            for step in [1, 2, 3, 7, 100, 4096, body.len()] {
                assert_eq!(decode(&[name], body, step).as_deref(), Ok(&t[..]), "{name} in pieces of {step}");
            }
        }
    }

    #[test]
    fn codings_are_undone_last_first_in_one_field_or_several() {
        let t = text();
        let body = zstd(&gzip(&t));
        assert_eq!(decode(&["gzip, zstd"], &body, 50).unwrap(), t);
        assert_eq!(decode(&["gzip", "zstd"], &body, 50).unwrap(), t);
        assert_eq!(decode(&["GZIP,identity", "Zstd"], &body, 50).unwrap(), t);
        assert!(decode(&["zstd, gzip"], &body, 50).is_err(), "the other order is not this body");
        assert!(Decoder::for_headers(&headers(&["identity", "none"])).unwrap().is_none());
        assert!(Decoder::for_headers(&HeaderMap::new()).unwrap().is_none());
    }

    #[test]
    fn a_gzip_header_with_every_optional_part_is_skipped() {
        let t = text();
        let mut b = flate2::GzBuilder::new()
            .filename("name.txt")
            .comment("a comment")
            .extra(vec![1, 2, 3, 4, 5])
            .write(Vec::new(), flate2::Compression::default());
        b.write_all(&t).unwrap();
        let mut body = b.finish().unwrap();
        // FHCRC: flate2 does not write it; set the flag and put two bytes after the comment.
        let end_of_comment = body.windows(10).position(|w| w == b"a comment\0").unwrap() + 10;
        body[3] |= FHCRC;
        body.splice(end_of_comment..end_of_comment, [0xaa, 0xbb]);
        for step in [1, 5, 11, body.len()] {
            assert_eq!(decode(&["gzip"], &body, step).unwrap(), t, "pieces of {step}");
        }
    }

    #[test]
    fn broken_cut_or_trailing_data_is_an_error() {
        let t = text();
        for (name, body) in
            [("gzip", gzip(&t)), ("deflate", zlib(&t)), ("br", brotli(&t)), ("zstd", zstd(&t))]
        {
            let cut = &body[..body.len() - 3];
            let e = decode(&[name], cut, 64).unwrap_err();
            assert!(e.0.contains("cut short") || e.0.contains("checksum"), "{name}: {e:?}");
            let mut more = body.clone();
            more.extend_from_slice(b"GARBAGE");
            assert!(decode(&[name], &more, 64).is_err(), "{name}: bytes after the end");
            // What decoded before the error is still given (curl writes it).
            let mut d = Decoder::for_headers(&headers(&[name])).unwrap().unwrap();
            let mut out = Vec::new();
            assert!(d.push(&more, &mut collect(&mut out)).is_err());
            assert_eq!(out, t, "{name}");
        }
        let mut bad_crc = gzip(&t);
        let n = bad_crc.len();
        bad_crc[n - 6] ^= 1;
        assert!(decode(&["gzip"], &bad_crc, 64).unwrap_err().0.contains("checksum"));
        assert!(decode(&["gzip"], b"abcdefghijkl", 64).unwrap_err().0.contains("not gzip"));
        assert!(decode(&["gzip"], b"abcd", 64).unwrap_err().0.contains("cut short"));
        // Two gzip members: the second is data after the end, as in curl.
        let two = [gzip(b"one"), gzip(b"two")].concat();
        assert!(decode(&["gzip"], &two, 64).is_err());
        // A decoded size that fills the output pieces exactly (the last call reads and writes
        // nothing): still a whole stream.
        for n in [PIECE, 2 * PIECE, 3 * PIECE, 32 * PIECE] {
            let data: Vec<u8> = (0..n).map(|i| (i * 7 % 251) as u8).collect();
            let body = zstd(&data);
            for step in [50, body.len()] {
                assert_eq!(decode(&["zstd"], &body, step).unwrap(), data, "{n} bytes in pieces of {step}");
            }
        }
        // zstd frames back to back are one body.
        let frames = [zstd(b"one"), zstd(b"two")].concat();
        assert_eq!(decode(&["zstd"], &frames, 3).unwrap(), b"onetwo");
    }

    #[test]
    fn an_empty_body_decodes_to_nothing_and_an_unknown_coding_fails_at_its_first_byte() {
        for name in ["gzip", "deflate", "br", "zstd", "xyz"] {
            let mut d = Decoder::for_headers(&headers(&[name])).unwrap().unwrap();
            let mut out = Vec::new();
            d.push(b"", &mut collect(&mut out)).unwrap();
            assert!(out.is_empty());
            assert_eq!(d.finish(), Ok(()), "{name}");
        }
        let e = decode(&["compress"], b"x", 1).unwrap_err();
        assert!(e.0.starts_with("Unrecognized content encoding type 'compress'"), "{e:?}");
        assert!(decode(&["gzip, chunked"], &gzip(b"x"), 1).is_err());
    }

    #[test]
    fn a_bomb_streams_in_bounded_pieces_and_the_sink_can_stop_it() {
        // 64 MiB of zeros in a few KiB of zstd (in the test's sink, every piece is at most 32 KiB).
        let zeros = vec![0u8; 64 << 20];
        let body = zstd(&zeros);
        assert!(body.len() < 64 * 1024, "{}", body.len());
        let mut d = Decoder::for_headers(&headers(&["zstd"])).unwrap().unwrap();
        let mut total = 0usize;
        let r = d.push(&body, &mut |piece: &[u8]| {
            assert!(piece.len() <= PIECE);
            total += piece.len();
            if total > (1 << 20) {
                return Err(Stopped::Sink("enough"));
            }
            Ok(())
        });
        assert_eq!(r, Err(Stopped::Sink("enough")));
        assert!(total <= (1 << 20) + PIECE);
    }

    #[test]
    fn a_piece_that_fills_the_output_exactly_at_the_end_of_its_input_waits_for_more() {
        // One stored deflate block of 40,000 bytes in zlib's wrapper, cut so that the first push
        // holds exactly 32 KiB of its content: that push uses all its input and fills the
        // output to the byte, and the stream goes on in the next push.
        let data: Vec<u8> = (0..40_000u32).map(|i| (i % 251) as u8).collect();
        let len = data.len() as u16;
        let mut body = vec![0x78, 0x01, 0x01];
        body.extend_from_slice(&len.to_le_bytes());
        body.extend_from_slice(&(!len).to_le_bytes());
        body.extend_from_slice(&data);
        let mut adler = (1u32, 0u32);
        for &b in &data {
            adler.0 = (adler.0 + u32::from(b)) % 65521;
            adler.1 = (adler.1 + adler.0) % 65521;
        }
        body.extend_from_slice(&((adler.1 << 16) | adler.0).to_be_bytes());
        let cut = 2 + 5 + PIECE;
        let mut d = Decoder::for_headers(&headers(&["deflate"])).unwrap().unwrap();
        let mut out = Vec::new();
        d.push(&body[..cut], &mut collect(&mut out)).map_err(decode_error).unwrap();
        assert_eq!(out.len(), PIECE);
        d.push(&body[cut..], &mut collect(&mut out)).map_err(decode_error).unwrap();
        d.finish().unwrap();
        assert_eq!(out, data);
    }

    #[test]
    fn more_than_five_codings_are_refused() {
        assert!(Decoder::for_headers(&headers(&["gzip, gzip, gzip, gzip, gzip"])).unwrap().is_some());
        assert!(Decoder::for_headers(&headers(&["gzip, gzip, gzip", "gzip, gzip, gzip"])).is_err());
        // identity is nothing to undo, but counted, as curl counts it.
        assert!(Decoder::for_headers(&headers(&["gzip, gzip, gzip, gzip, gzip, identity"])).is_err());
        assert!(Decoder::for_headers(&headers(&["gzip, identity, gzip"])).unwrap().is_some());
    }
}
