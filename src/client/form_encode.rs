//! `-F …;encoder=base64|quoted-printable`: a form part's content encodings (RFC 2045 §6.8 and
//! §6.7) written byte for byte as curl 7.88's lib/mime.c writes them, and their lengths. Pure:
//! an [`Encoding`] is fed the content chunk by chunk (files are streamed) and keeps back only
//! the few bytes it cannot decide on yet; the output does not depend on how the input is cut.
//!
//! curl's choices, measured against curl 7.88 and kept: base64 lines of 76 characters joined by
//! CRLF, none after the last; quoted-printable escapes every byte but `!`…`~` (less `=`), space
//! and tab, and passes only CRLF pairs through as line ends (a lone CR or LF is `=0D`/`=0A`);
//! a space or tab before a CRLF or at the very end is escaped; a line is broken softly (`=`
//! CRLF) so that it never exceeds 76 characters, the 76th used only before a CRLF or the end.

use crate::config::FormEncoder;

/// curl's MAX_ENCODED_LINE_LENGTH.
const LINE: usize = 76;
const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const HEX: &[u8; 16] = b"0123456789ABCDEF";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Base64,
    QuotedPrintable,
}

/// A streaming encoder for one part's content.
#[derive(Debug)]
pub struct Encoding {
    kind: Kind,
    /// Input not encoded yet (at most a few bytes between calls).
    pending: Vec<u8>,
    /// Characters on the current output line.
    pos: usize,
}

impl Encoding {
    /// The encoder that transforms content, `None` for those that send it as it is (`binary`,
    /// `8bit`, `7bit` only name it).
    pub fn new(e: FormEncoder) -> Option<Encoding> {
        let kind = match e {
            FormEncoder::Base64 => Kind::Base64,
            FormEncoder::QuotedPrintable => Kind::QuotedPrintable,
            FormEncoder::Binary | FormEncoder::EightBit | FormEncoder::SevenBit => return None,
        };
        Some(Encoding { kind, pending: Vec::new(), pos: 0 })
    }

    /// Encodes what can be of `input` (after what was kept back) onto `out`.
    pub fn push(&mut self, input: &[u8], out: &mut Vec<u8>) {
        self.pending.extend_from_slice(input);
        self.run(false, out);
    }

    /// The end of the content: encodes what was kept back.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        self.run(true, out);
    }

    fn run(&mut self, at_eof: bool, out: &mut Vec<u8>) {
        let used = match self.kind {
            Kind::Base64 => self.base64(at_eof, out),
            Kind::QuotedPrintable => self.quoted_printable(at_eof, out),
        };
        self.pending.drain(..used);
    }

    /// curl's encoder_base64_read: groups of three bytes, a CRLF once a line holds more than 72
    /// characters and more is to come; the last one or two bytes padded with `=` at the end.
    fn base64(&mut self, at_eof: bool, out: &mut Vec<u8>) -> usize {
        let buf = &self.pending;
        let mut i = 0;
        while i < buf.len() {
            if self.pos > LINE - 4 {
                out.extend_from_slice(b"\r\n");
                self.pos = 0;
            }
            if buf.len() - i < 3 {
                break;
            }
            let n = u32::from(buf[i]) << 16 | u32::from(buf[i + 1]) << 8 | u32::from(buf[i + 2]);
            out.extend((0..4).rev().map(|k| B64[(n >> (6 * k)) as usize & 63]));
            self.pos += 4;
            i += 3;
        }
        if at_eof && i < buf.len() {
            let rest = &buf[i..];
            let n = u32::from(rest[0]) << 16 | rest.get(1).map_or(0, |b| u32::from(*b) << 8);
            out.push(B64[(n >> 18) as usize & 63]);
            out.push(B64[(n >> 12) as usize & 63]);
            out.push(if rest.len() == 2 { B64[(n >> 6) as usize & 63] } else { b'=' });
            out.push(b'=');
            self.pos += 4;
            i = buf.len();
        }
        i
    }

    /// curl's encoder_qp_read. Returns how much of the input was encoded: it stops where it
    /// must see bytes not given yet (whether a CRLF follows) to decide.
    fn quoted_printable(&mut self, at_eof: bool, out: &mut Vec<u8>) -> usize {
        let buf = &self.pending;
        let mut i = 0;
        while i < buf.len() {
            let c = buf[i];
            let mut enc = [c, HEX[usize::from(c >> 4)], HEX[usize::from(c & 15)], 0];
            let mut len = 1;
            let mut used = 1;
            match class(c) {
                Class::Plain => {}
                Class::Space => match eol_at(buf, i + 1, at_eof) {
                    None => return i,
                    Some(false) => {}
                    Some(true) => (enc[0], len) = (b'=', 3),
                },
                Class::Cr => match eol_at(buf, i, at_eof) {
                    None => return i,
                    Some(true) => (enc[1], len, used) = (b'\n', 2, 2),
                    Some(false) => (enc[0], len) = (b'=', 3),
                },
                Class::Escaped => (enc[0], len) = (b'=', 3),
            }
            if enc[len - 1] != b'\n' {
                let mut soft = self.pos + len > LINE;
                if !soft && self.pos + len == LINE {
                    // The line's last column only before a line end or the end of the data.
                    match eol_at(buf, i + used, at_eof) {
                        None => return i,
                        Some(eol) => soft = !eol,
                    }
                }
                if soft {
                    // `=` CRLF, and the byte again on the next line.
                    enc[..3].copy_from_slice(b"=\r\n");
                    (len, used) = (3, 0);
                }
            }
            out.extend_from_slice(&enc[..len]);
            self.pos = if enc[len - 1] == b'\n' { 0 } else { self.pos + len };
            i += used;
        }
        i
    }
}

enum Class {
    Plain,
    Space,
    Cr,
    Escaped,
}

/// curl's qp_class table: which bytes stand for themselves.
fn class(c: u8) -> Class {
    match c {
        b' ' | b'\t' => Class::Space,
        b'\r' => Class::Cr,
        b'=' => Class::Escaped,
        b'!'..=b'~' => Class::Plain,
        _ => Class::Escaped,
    }
}

/// curl's qp_lookahead_eol: is there a line end (CRLF, or the end of the data) at `at`?
/// `None`: not known until more input comes.
fn eol_at(buf: &[u8], at: usize, at_eof: bool) -> Option<bool> {
    if at >= buf.len() && at_eof {
        return Some(true);
    }
    if at + 2 > buf.len() {
        return at_eof.then_some(false);
    }
    Some(buf[at] == b'\r' && buf[at + 1] == b'\n')
}

/// All of `data` encoded.
pub fn encode(e: FormEncoder, data: &[u8]) -> Vec<u8> {
    let Some(mut enc) = Encoding::new(e) else { return data.to_vec() };
    let mut out = Vec::with_capacity(data.len() * 4 / 3 + 8);
    enc.push(data, &mut out);
    enc.finish(&mut out);
    out
}

/// The encoded length of `len` bytes when it follows from the length alone (curl's size
/// functions): quoted-printable depends on the bytes (`None`, except for no data at all).
pub fn encoded_len(e: FormEncoder, len: u64) -> Option<u64> {
    match e {
        FormEncoder::Base64 if len > 0 => {
            let chars = 4 * (1 + (len - 1) / 3);
            Some(chars + 2 * ((chars - 1) / LINE as u64))
        }
        FormEncoder::QuotedPrintable if len > 0 => None,
        _ => Some(len),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use FormEncoder::{Base64, QuotedPrintable as Qp};

    /// Encoded in pieces of every size from 1 to 7 bytes: the result must not depend on it.
    fn in_pieces(e: FormEncoder, data: &[u8]) -> Vec<u8> {
        let whole = encode(e, data);
        for step in 1..8 {
            let mut enc = Encoding::new(e).unwrap();
            let mut out = Vec::new();
            for chunk in data.chunks(step) {
                enc.push(chunk, &mut out);
            }
            enc.finish(&mut out);
            assert_eq!(out, whole, "pieces of {step}");
        }
        whole
    }

    fn s(b: Vec<u8>) -> String {
        String::from_utf8(b).unwrap()
    }

    #[test]
    fn base64_as_curl_writes_it() {
        assert_eq!(s(in_pieces(Base64, b"hello\n")), "aGVsbG8K");
        assert_eq!(s(in_pieces(Base64, b"hello world")), "aGVsbG8gd29ybGQ=");
        assert_eq!(s(in_pieces(Base64, b"\x00\x01\xff")), "AAH/");
        assert_eq!(s(in_pieces(Base64, b"")), "");
        // 57 bytes fill one 76-character line exactly: no CRLF after it.
        let line = in_pieces(Base64, &[b'x'; 57]);
        assert_eq!(line.len(), 76);
        assert!(!line.contains(&b'\r'));
        // One more byte starts a second line (padded).
        let two = s(in_pieces(Base64, &[b'x'; 58]));
        assert_eq!(two, format!("{}\r\neA==", "eHh4".repeat(19)));
        let data: Vec<u8> = (0..=255).collect();
        let out = s(in_pieces(Base64, &data));
        let lines: Vec<&str> = out.split("\r\n").collect();
        assert!(lines[..lines.len() - 1].iter().all(|l| l.len() == 76));
        assert!(lines[0].starts_with("AAECAwQFBgcICQoLDA0ODxAR"));
        assert!(out.ends_with("+/w=="));
    }

    #[test]
    fn base64_length_follows_the_content_length() {
        for n in [0usize, 1, 2, 3, 56, 57, 58, 113, 114, 115, 1000, 3000] {
            let data = vec![0xa5u8; n];
            assert_eq!(encoded_len(Base64, n as u64), Some(encode(Base64, &data).len() as u64), "{n}");
        }
        assert_eq!(encoded_len(Qp, 0), Some(0));
        assert_eq!(encoded_len(Qp, 1), None);
        assert_eq!(encoded_len(FormEncoder::EightBit, 7), Some(7));
    }

    #[test]
    fn quoted_printable_as_curl_writes_it() {
        // curl 7.88's bytes for these inputs (captured from its request).
        assert_eq!(
            s(in_pieces(Qp, b"line one = equals\tand tab \r\nspaces at end   \r\n")),
            "line one =3D equals\tand tab=20\r\nspaces at end  =20\r\n"
        );
        let mut x = vec![b'x'; 74];
        x.extend_from_slice(b"\xe9\r\n");
        assert_eq!(s(in_pieces(Qp, &x)), format!("{}=\r\n=E9\r\n", "x".repeat(74)));
        // 75 and 76 characters before a CRLF stay on one line.
        for n in [75, 76] {
            let mut y = vec![b'y'; n];
            y.extend_from_slice(b"\r\n");
            assert_eq!(in_pieces(Qp, &y), y);
        }
        // A long line breaks after 75 characters and '='; a lone LF or CR is escaped.
        let mut w = vec![b'w'; 200];
        w.extend_from_slice(b"\nbare lf\rbare cr ");
        let want = format!(
            "{w75}=\r\n{w75}=\r\n{w50}=0Abare lf=0Dbare cr=20",
            w75 = "w".repeat(75),
            w50 = "w".repeat(50)
        );
        assert_eq!(s(in_pieces(Qp, &w)), want);
        // The last column is used at the very end of the data.
        assert_eq!(in_pieces(Qp, &[b'z'; 76]), vec![b'z'; 76]);
        assert_eq!(s(in_pieces(Qp, &[b'z'; 77])), format!("{}=\r\nzz", "z".repeat(75)));
        assert_eq!(s(in_pieces(Qp, b"end \t")), "end =09");
        assert_eq!(s(in_pieces(Qp, b"a b")), "a b");
        assert_eq!(s(in_pieces(Qp, b"~\x7f\x00")), "~=7F=00");
        assert_eq!(s(in_pieces(Qp, b"")), "");
    }

    #[test]
    fn quoted_printable_lines_never_exceed_76() {
        let data: Vec<u8> = (0..4000u32).map(|i| (i * 7 % 251) as u8).collect();
        let out = in_pieces(Qp, &data);
        for line in out.split(|b| *b == b'\n') {
            assert!(line.len() <= 77, "{}", line.len()); // 76 and the CR
        }
        assert_eq!(decode_qp(&out), data);
    }

    /// RFC 2045 §6.7 decoding, to check the encoding loses nothing.
    fn decode_qp(e: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < e.len() {
            if e[i] == b'=' {
                if e[i + 1] == b'\r' {
                    i += 3;
                    continue;
                }
                let hex = std::str::from_utf8(&e[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            } else {
                out.push(e[i]);
                i += 1;
            }
        }
        out
    }
}
