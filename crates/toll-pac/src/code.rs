//! The envelope around a PAC's compiled QuickJS bytecode, so a caller can keep it (toll keeps it
//! in its PAC cache) and skip parsing the same PAC in the next process: parsing is most of what
//! a large PAC costs per run (2 ms for 100 KB, 30 ms for 1 MB), loading its bytecode a fraction.
//!
//! QuickJS's bytecode reader trusts its input, so code is only ever loaded back when the
//! envelope proves it is what this engine wrote for exactly this source:
//! - a magic and the engine's version (toll-pac's and QuickJS's, word size and byte order): a
//!   different build never reads another's code;
//! - the SHA-256 of the PAC's name and source: code is never run in place of a changed PAC;
//! - the length and CRC-32 of the bytecode itself: a truncated or corrupted file is never read
//!   (a checksum, not a second SHA-256: this runs on every start and only has to catch accidents).
//!
//! This guards against staleness and accidents, not against an attacker who can write the
//! user's cache directory (who could as well edit the user's settings or shell start-up files).

use sha2::{Digest, Sha256};

const MAGIC: &[u8; 8] = b"TOLLPAC\x01";

/// Everything that must match for bytecode to be loadable by this build.
fn engine_version() -> String {
    // SAFETY: JS_GetVersion returns a static NUL-terminated string.
    let qjs = unsafe { std::ffi::CStr::from_ptr(rquickjs::qjs::JS_GetVersion()) };
    format!(
        "toll-pac {} quickjs {} {}-bit {}",
        env!("CARGO_PKG_VERSION"),
        qjs.to_string_lossy(),
        usize::BITS,
        if cfg!(target_endian = "little") { "le" } else { "be" }
    )
}

fn source_digest(name: &str, source: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update((name.len() as u64).to_le_bytes());
    h.update(name.as_bytes());
    h.update(source.as_bytes());
    h.finalize().into()
}

/// `bytecode` (as QuickJS wrote it for `source` named `name`) in its envelope.
pub(crate) fn seal(name: &str, source: &str, bytecode: &[u8]) -> Vec<u8> {
    let version = engine_version();
    let mut out = Vec::with_capacity(MAGIC.len() + 2 + version.len() + 32 + 12 + bytecode.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(version.len() as u16).to_le_bytes());
    out.extend_from_slice(version.as_bytes());
    out.extend_from_slice(&source_digest(name, source));
    out.extend_from_slice(&(bytecode.len() as u64).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(bytecode).to_le_bytes());
    out.extend_from_slice(bytecode);
    out
}

/// The bytecode inside `code` if the envelope is this engine's, for this `source` and `name`,
/// and intact; `None` otherwise (the caller compiles the source instead).
pub(crate) fn open<'a>(code: &'a [u8], name: &str, source: &str) -> Option<&'a [u8]> {
    let rest = code.strip_prefix(MAGIC.as_slice())?;
    let (len, rest) = rest.split_first_chunk::<2>()?;
    let len = u16::from_le_bytes(*len) as usize;
    if rest.len() < len + 44 || &rest[..len] != engine_version().as_bytes() {
        return None;
    }
    let (source_sum, rest) = rest[len..].split_at(32);
    let (body_len, rest) = rest.split_at(8);
    let (body_sum, body) = rest.split_at(4);
    let intact = u64::from_le_bytes(body_len.try_into().ok()?) == body.len() as u64
        && u32::from_le_bytes(body_sum.try_into().ok()?) == crc32fast::hash(body);
    (intact && source_sum == source_digest(name, source)).then_some(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_opens_only_for_its_own_source_and_name_and_intact() {
        let sealed = seal("a.pac", "function F(){}", b"\x01\x02\x03");
        assert_eq!(open(&sealed, "a.pac", "function F(){}"), Some(&b"\x01\x02\x03"[..]));
        assert_eq!(open(&sealed, "a.pac", "function F(){ }"), None, "changed source");
        assert_eq!(open(&sealed, "b.pac", "function F(){}"), None, "another PAC's code");
        for cut in 0..sealed.len() {
            assert_eq!(open(&sealed[..cut], "a.pac", "function F(){}"), None, "truncated at {cut}");
        }
        let mut flipped = sealed.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(open(&flipped, "a.pac", "function F(){}"), None, "corrupted body");
        let mut other_engine = sealed.clone();
        other_engine[MAGIC.len() + 2] ^= 0x20;
        assert_eq!(open(&other_engine, "a.pac", "function F(){}"), None, "another engine version");
        assert_eq!(open(b"", "a.pac", ""), None);
    }
}
