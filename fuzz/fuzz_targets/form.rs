//! `-F`: the argument (`cli::parse_form`) and the part encoders (`client::form_encode`, the
//! content of the user's files). An argument parses without a panic into a part named by the
//! text before its first '=', whose parameters hold no line break, and an `@a,b` group holds
//! unnamed file parts; the encodings decode back to the content, keep lines within 76
//! characters, do not depend on how the content is cut, and base64's length is the one
//! announced beforehand.
#![no_main]

use libfuzzer_sys::fuzz_target;
use toll::client::form_encode::{encode, encoded_len, Encoding};
use toll::config::{FormEncoder, FormPart, FormValue};

fn check_part(p: &FormPart, top: bool) {
    for v in p.content_type.iter().chain(&p.filename).chain(&p.headers) {
        assert!(!v.contains(['\r', '\n']), "a line break in a parameter: {v:?}");
    }
    match &p.value {
        FormValue::Files(files) => {
            assert!(top && files.len() >= 2, "a group in a group or of one file");
            assert!(p.encoder.is_none() && p.content_type.is_none() && p.filename.is_none());
            for f in files {
                assert!(f.name.is_empty(), "a named file in a group");
                assert!(matches!(f.value, FormValue::File(_) | FormValue::Stdin { attached: true }));
                check_part(f, false);
            }
        }
        _ => {}
    }
}

fn decode_qp(e: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < e.len() {
        if e[i] == b'=' {
            if e[i + 1] == b'\r' {
                assert_eq!(e[i + 2], b'\n');
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

fuzz_target!(|data: &[u8]| {
    let arg = String::from_utf8_lossy(data);
    // `;headers=@FILE` reads a file: a fuzzer's /dev/zero would never end.
    if !arg.to_ascii_lowercase().contains("headers=") {
        if let Ok(p) = toll::cli::parse_form(&arg) {
            assert_eq!(Some(p.name.as_str()), arg.split_once('=').map(|(n, _)| n));
            check_part(&p, true);
        }
    }

    let Some((&sel, content)) = data.split_first() else { return };
    let e = if sel & 1 == 0 { FormEncoder::Base64 } else { FormEncoder::QuotedPrintable };
    let whole = encode(e, content);
    let cut = usize::from(sel >> 1) % (content.len() + 1);
    let mut enc = Encoding::new(e).unwrap();
    let mut pieces = Vec::new();
    enc.push(&content[..cut], &mut pieces);
    enc.push(&content[cut..], &mut pieces);
    enc.finish(&mut pieces);
    assert_eq!(pieces, whole, "cut at {cut}");
    for line in whole.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        assert!(line.len() <= 76 && !line.contains(&b'\r'), "a line of {} characters", line.len());
    }
    match e {
        FormEncoder::Base64 => {
            use base64::Engine;
            let joined: Vec<u8> = whole.iter().copied().filter(|b| *b != b'\r' && *b != b'\n').collect();
            assert_eq!(base64::engine::general_purpose::STANDARD.decode(&joined).unwrap(), content);
            assert_eq!(encoded_len(e, content.len() as u64), Some(whole.len() as u64));
        }
        _ => {
            assert!(whole.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'!'..=b'~')));
            assert!(!whole.ends_with(b" ") && !whole.ends_with(b"\t"));
            assert!(!whole.windows(3).any(|w| matches!(w, [b' ' | b'\t', b'\r', b'\n'])));
            assert_eq!(decode_qp(&whole), content);
        }
    }
});
