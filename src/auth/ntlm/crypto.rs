//! The NTLMv2 computations of MS-NLMP §3.3.2 (NTOWFv2, the NTLMv2 and LMv2 responses, the
//! session base key) and the time format of §2.2.2.7. NTLMv1 and LM (§3.3.1) are deliberately
//! absent: only NTOWFv1, the MD4 step that NTOWFv2 is built on, is here.

use hmac::{Hmac, Mac};
use md4::{Digest, Md4};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use zeroize::Zeroizing;

/// A 16-byte key (NT hash, response key, session key), wiped when dropped.
pub(super) type Key = Zeroizing<[u8; 16]>;

/// HMAC_MD5(key, concatenation of `parts`) (MS-NLMP §6, RFC 2104).
pub(super) fn hmac_md5(key: &[u8], parts: &[&[u8]]) -> [u8; 16] {
    let mut mac = <Hmac<md5::Md5> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// UNICODE(s) of MS-NLMP §6: UTF-16LE without a terminator.
pub(super) fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// Uppercase(User) as Windows does it: one UTF-16 unit at a time, so a character whose
/// uppercase is longer (`ß` → `SS`) stays as it is. Rust's full case mapping would change the
/// key for such names, and the domain controller hashes with its own per-character table.
pub(super) fn upcase(s: &str) -> String {
    s.chars()
        .map(|c| {
            let mut up = c.to_uppercase();
            match (up.next(), up.next()) {
                (Some(u), None) if u.len_utf16() == c.len_utf16() => u,
                _ => c,
            }
        })
        .collect()
}

/// NTOWFv1(Passwd) = MD4(UNICODE(Passwd)) (§3.3.1): the NT hash, which NTOWFv2 keys with.
pub(super) fn nt_hash(password: &str) -> Key {
    let unicode = Zeroizing::new(utf16le(password));
    Zeroizing::new(Md4::digest(unicode.as_slice()).into())
}

/// NTOWFv2(Passwd, User, UserDom) = HMAC_MD5(MD4(UNICODE(Passwd)),
/// UNICODE(Uppercase(User) ‖ UserDom)) (§3.3.2). Note the domain keeps its case. This is
/// both ResponseKeyNT and ResponseKeyLM (LMOWFv2 is the same function).
pub(super) fn ntowf_v2(password: &str, user: &str, domain: &str) -> Key {
    let nt = nt_hash(password);
    let who = utf16le(&(upcase(user) + domain));
    Zeroizing::new(hmac_md5(nt.as_slice(), &[&who]))
}

/// The outputs of §3.3.2's ComputeResponse for NTLMv2.
pub(super) struct V2Response {
    /// NtChallengeResponse = NTProofStr ‖ temp (an NTLMv2_RESPONSE, §2.2.2.8).
    pub nt: Vec<u8>,
    /// LmChallengeResponse: the LMv2_RESPONSE (§2.2.2.4), or Z(24) when the server sent a
    /// timestamp (§3.1.5.1.2: then the client SHOULD NOT send LMv2).
    pub lm: [u8; 24],
    pub session_base_key: Key,
}

/// §3.3.2 for NTLMv2, with `av_pairs` the AV_PAIR list (ending in MsvAvEOL) that goes into the
/// NTLMv2_CLIENT_CHALLENGE (§2.2.2.7) and `time` in FILETIME units.
pub(super) fn v2_response(
    key: &[u8; 16],
    server_challenge: &[u8; 8],
    client_challenge: &[u8; 8],
    time: u64,
    av_pairs: &[u8],
    send_lm: bool,
) -> V2Response {
    // temp = Responserversion ‖ HiResponserversion ‖ Z(6) ‖ Time ‖ ClientChallenge ‖ Z(4) ‖
    //        ServerName ‖ Z(4)
    let mut temp = Vec::with_capacity(32 + av_pairs.len());
    temp.extend_from_slice(&[1, 1, 0, 0, 0, 0, 0, 0]);
    temp.extend_from_slice(&time.to_le_bytes());
    temp.extend_from_slice(client_challenge);
    temp.extend_from_slice(&[0; 4]);
    temp.extend_from_slice(av_pairs);
    temp.extend_from_slice(&[0; 4]);
    let nt_proof = hmac_md5(key, &[server_challenge, &temp]);
    let mut nt = nt_proof.to_vec();
    nt.extend_from_slice(&temp);

    let mut lm = [0u8; 24];
    if send_lm {
        lm[..16].copy_from_slice(&hmac_md5(key, &[server_challenge, client_challenge]));
        lm[16..].copy_from_slice(client_challenge);
    }
    let session_base_key = Zeroizing::new(hmac_md5(key, &[&nt_proof]));
    V2Response { nt, lm, session_base_key }
}

/// Seconds from 1601-01-01 (the FILETIME epoch) to 1970-01-01.
const FILETIME_UNIX_OFFSET: u64 = 11_644_473_600;

/// `t` as a FILETIME: 100 ns ticks since 1601-01-01 UTC (§2.2.2.7 TimeStamp). Times before 1601
/// are clamped to 0; there is no such clock.
pub(super) fn filetime(t: SystemTime) -> u64 {
    let epoch_1601 = UNIX_EPOCH.checked_sub(Duration::from_secs(FILETIME_UNIX_OFFSET));
    let since = epoch_1601.and_then(|e| t.duration_since(e).ok()).unwrap_or_default();
    since.as_secs().saturating_mul(10_000_000) + u64::from(since.subsec_nanos() / 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn upcase_is_per_character() {
        assert_eq!(upcase("User"), "USER");
        assert_eq!(upcase("straße"), "STRAßE");
        assert_eq!(upcase("jäsøn"), "JÄSØN");
    }

    #[test]
    fn filetime_epochs() {
        assert_eq!(filetime(UNIX_EPOCH), FILETIME_UNIX_OFFSET * 10_000_000);
        assert_eq!(filetime(UNIX_EPOCH + Duration::from_nanos(1_234)), 116_444_736_000_000_012);
        let before = UNIX_EPOCH.checked_sub(Duration::from_secs(FILETIME_UNIX_OFFSET + 5));
        if let Some(before) = before {
            assert_eq!(filetime(before), 0);
        }
    }

    /// §4.2.2.1.2 NTOWFv1("Password") (the MD4 step).
    #[test]
    fn ms_nlmp_nt_hash() {
        assert_eq!(hex(nt_hash("Password").as_slice()), "a4f49c406510bdcab6824ee7c30fd852");
    }
}
