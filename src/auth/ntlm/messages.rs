//! The NTLM messages on the wire (MS-NLMP §2.2.1): NEGOTIATE_MESSAGE (§2.2.1.1) out,
//! CHALLENGE_MESSAGE (§2.2.1.2) in, AUTHENTICATE_MESSAGE (§2.2.1.3) out, and the AV_PAIR lists
//! (§2.2.2.1) inside them.
//!
//! The challenge comes from the network, so its parser treats every length and offset as hostile:
//! each field is read through [`Reader`], which checks bounds, and any inconsistency is an
//! error, never a panic or an out-of-range slice.

/// "NTLMSSP\0" (§2.2.1).
pub(super) const SIGNATURE: &[u8; 8] = b"NTLMSSP\0";

// NegotiateFlags (§2.2.2.5), the ones this client uses or looks at.
pub(super) const NEGOTIATE_UNICODE: u32 = 0x0000_0001;
pub(super) const NEGOTIATE_OEM: u32 = 0x0000_0002;
pub(super) const REQUEST_TARGET: u32 = 0x0000_0004;
pub(super) const NEGOTIATE_NTLM: u32 = 0x0000_0200;
pub(super) const NEGOTIATE_ALWAYS_SIGN: u32 = 0x0000_8000;
pub(super) const NEGOTIATE_EXTENDED_SESSIONSECURITY: u32 = 0x0008_0000;
pub(super) const NEGOTIATE_TARGET_INFO: u32 = 0x0080_0000;
pub(super) const NEGOTIATE_128: u32 = 0x2000_0000;
pub(super) const NEGOTIATE_56: u32 = 0x8000_0000;

// AvId values (§2.2.2.1).
pub(super) const MSV_AV_EOL: u16 = 0x0000;
pub(super) const MSV_AV_NB_DOMAIN_NAME: u16 = 0x0002;
pub(super) const MSV_AV_FLAGS: u16 = 0x0006;
pub(super) const MSV_AV_TIMESTAMP: u16 = 0x0007;

/// MsvAvFlags bit 0x2: "the client is providing message integrity in the MIC field".
pub(super) const AV_FLAG_MIC_PROVIDED: u32 = 0x0000_0002;

/// Where the MIC sits in an AUTHENTICATE_MESSAGE that has Version and MIC (§2.2.1.3).
pub(super) const MIC_OFFSET: usize = 72;

/// A NEGOTIATE_MESSAGE (§2.2.1.1) with no domain or workstation (so no OEM_*_SUPPLIED flags) and
/// no Version (so no NEGOTIATE_VERSION): the 32-byte form every server accepts.
pub(super) fn negotiate_message(flags: u32) -> Vec<u8> {
    let mut m = Vec::with_capacity(32);
    m.extend_from_slice(SIGNATURE);
    m.extend_from_slice(&1u32.to_le_bytes());
    m.extend_from_slice(&flags.to_le_bytes());
    // DomainNameFields and WorkstationFields: empty, offset at the end of the message.
    for _ in 0..2 {
        m.extend_from_slice(&0u16.to_le_bytes());
        m.extend_from_slice(&0u16.to_le_bytes());
        m.extend_from_slice(&32u32.to_le_bytes());
    }
    m
}

/// One AV_PAIR (§2.2.2.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct AvPair {
    pub id: u16,
    pub value: Vec<u8>,
}

/// A parsed CHALLENGE_MESSAGE (§2.2.1.2).
#[derive(Clone, Debug)]
pub(super) struct ChallengeMessage {
    pub flags: u32,
    pub server_challenge: [u8; 8],
    /// TargetName as sent (UTF-16LE when NEGOTIATE_UNICODE is set, else OEM).
    pub target_name: Vec<u8>,
    /// The TargetInfo AV_PAIRs without the closing MsvAvEOL; empty when the server sent none.
    pub target_info: Vec<AvPair>,
}

impl ChallengeMessage {
    pub fn av(&self, id: u16) -> Option<&[u8]> {
        self.target_info.iter().find(|p| p.id == id).map(|p| p.value.as_slice())
    }

    /// MsvAvTimestamp, a FILETIME (§2.2.2.1), when the server sent one of the right size.
    pub fn timestamp(&self) -> Option<u64> {
        let v: [u8; 8] = self.av(MSV_AV_TIMESTAMP)?.try_into().ok()?;
        Some(u64::from_le_bytes(v))
    }

    /// A string the server sent, decoded per its NEGOTIATE_UNICODE flag (§2.2.2.5 "A").
    pub fn decode_string(&self, raw: &[u8]) -> String {
        if self.flags & NEGOTIATE_UNICODE != 0 {
            let units: Vec<u16> = raw.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
            String::from_utf16_lossy(&units)
        } else {
            // OEM code page unknown: ASCII is the common subset.
            raw.iter().map(|&b| if b.is_ascii() { b as char } else { '\u{fffd}' }).collect()
        }
    }
}

/// Bounds-checked little-endian reads over a message.
struct Reader<'a> {
    msg: &'a [u8],
}

impl<'a> Reader<'a> {
    fn bytes(&self, at: usize, len: usize) -> Result<&'a [u8], String> {
        at.checked_add(len)
            .and_then(|end| self.msg.get(at..end))
            .ok_or_else(|| format!("{len} bytes at offset {at} run past its end ({} bytes)", self.msg.len()))
    }

    fn u16(&self, at: usize) -> Result<u16, String> {
        let b = self.bytes(at, 2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&self, at: usize) -> Result<u32, String> {
        let b = self.bytes(at, 4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// The payload a `Len, MaxLen, BufferOffset` field triple (§2.2.1.2) at `at` points to.
    fn payload(&self, at: usize, what: &str) -> Result<&'a [u8], String> {
        let len = usize::from(self.u16(at)?);
        let offset = self.u32(at + 4)? as usize;
        if len == 0 {
            return Ok(&[]);
        }
        self.bytes(offset, len).map_err(|e| format!("its {what}: {e}"))
    }
}

/// Parses a CHALLENGE_MESSAGE. Accepts the old 32-byte form (no TargetInfo fields), as servers
/// predating NTLMv2 sent it, and ignores an unusable TargetName; anything else malformed is an
/// error describing what is wrong.
pub(super) fn parse_challenge(msg: &[u8]) -> Result<ChallengeMessage, String> {
    let r = Reader { msg };
    if r.bytes(0, 8).ok() != Some(SIGNATURE.as_slice()) {
        return Err("it does not start with the NTLMSSP signature".into());
    }
    let kind = r.u32(8).map_err(|_| "it is too short".to_string())?;
    if kind != 2 {
        return Err(format!("it is message type {kind}, not a challenge (type 2)"));
    }
    if msg.len() < 32 {
        return Err(format!("it is {} bytes long, shorter than a challenge message's 32", msg.len()));
    }
    // The TargetName only names the server's domain (a default for a user given without one),
    // so one that points outside the message is ignored rather than fatal: Squid 5.7's
    // ntlm_fake_auth sends an uninitialised offset there.
    let target_name = r.payload(12, "target name").map(<[u8]>::to_vec).unwrap_or_default();
    let flags = r.u32(20)?;
    let server_challenge: [u8; 8] = r.bytes(24, 8)?.try_into().expect("8 bytes read");
    // TargetInfoFields (bytes 40..48) exist only in messages long enough to hold them; the
    // payload usually starts right after them (or after Version at 48..56). The AV pairs go
    // into the NTLMv2 response, so here a bad length or offset is an error.
    let target_info = if flags & NEGOTIATE_TARGET_INFO == 0 {
        Vec::new()
    } else if msg.len() < 48 {
        return Err("it announces target info but is too short to hold its fields".into());
    } else {
        parse_av_pairs(r.payload(40, "target info")?)?
    };
    Ok(ChallengeMessage { flags, server_challenge, target_name, target_info })
}

/// An AV_PAIR list up to its MsvAvEOL (§2.2.2.1). Bytes after the EOL are ignored, as the spec
/// allows padding; a list that ends without an EOL is an error.
pub(super) fn parse_av_pairs(raw: &[u8]) -> Result<Vec<AvPair>, String> {
    let r = Reader { msg: raw };
    let mut pairs = Vec::new();
    let mut at = 0usize;
    loop {
        let id = r.u16(at).map_err(|_| "its target info ends without MsvAvEOL".to_string())?;
        let len =
            usize::from(r.u16(at + 2).map_err(|_| "its target info has a truncated AV_PAIR".to_string())?);
        if id == MSV_AV_EOL {
            return Ok(pairs);
        }
        let value = r.bytes(at + 4, len).map_err(|e| format!("its target info AV_PAIR {id}: {e}"))?;
        pairs.push(AvPair { id, value: value.to_vec() });
        at += 4 + len;
    }
}

/// The AV_PAIR list with its closing MsvAvEOL.
pub(super) fn encode_av_pairs(pairs: &[AvPair]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in pairs {
        out.extend_from_slice(&p.id.to_le_bytes());
        // Values come from a parsed message whose lengths were u16, or are 4-byte flags.
        out.extend_from_slice(&(p.value.len() as u16).to_le_bytes());
        out.extend_from_slice(&p.value);
    }
    out.extend_from_slice(&[0, 0, 0, 0]);
    out
}

/// The fields of an AUTHENTICATE_MESSAGE (§2.2.1.3), already encoded.
pub(super) struct Authenticate<'a> {
    pub flags: u32,
    pub lm_response: &'a [u8],
    pub nt_response: &'a [u8],
    pub domain: &'a [u8],
    pub user: &'a [u8],
    pub workstation: &'a [u8],
    pub encrypted_session_key: &'a [u8],
    /// The Version field (only debugging information; zeros unless NEGOTIATE_VERSION).
    pub version: Option<[u8; 8]>,
    /// Leave room for a MIC (zeros, filled in afterwards at [`MIC_OFFSET`]); needs Version.
    pub mic: bool,
}

impl Authenticate<'_> {
    /// The message, payloads in the order the §4.2 examples use: domain, user, workstation, LM
    /// response, NT response, session key.
    pub fn encode(&self) -> Result<Vec<u8>, String> {
        let header = match (self.version.is_some() || self.mic, self.mic) {
            (false, _) => 64,
            (true, false) => 72,
            (true, true) => 88,
        };
        let payloads: [&[u8]; 6] = [
            self.lm_response,
            self.nt_response,
            self.domain,
            self.user,
            self.workstation,
            self.encrypted_session_key,
        ];
        let order = [2usize, 3, 4, 0, 1, 5];
        let mut offsets = [0usize; 6];
        let mut at = header;
        for i in order {
            offsets[i] = at;
            at += payloads[i].len();
        }
        if payloads.iter().any(|p| p.len() > usize::from(u16::MAX)) || at > u32::MAX as usize {
            return Err("a field is too long for an NTLM message".into());
        }
        let mut m = Vec::with_capacity(at);
        m.extend_from_slice(SIGNATURE);
        m.extend_from_slice(&3u32.to_le_bytes());
        for (p, off) in payloads.iter().zip(offsets) {
            m.extend_from_slice(&(p.len() as u16).to_le_bytes());
            m.extend_from_slice(&(p.len() as u16).to_le_bytes());
            m.extend_from_slice(&(off as u32).to_le_bytes());
        }
        m.extend_from_slice(&self.flags.to_le_bytes());
        if header >= 72 {
            m.extend_from_slice(&self.version.unwrap_or_default());
        }
        if header == 88 {
            m.extend_from_slice(&[0; 16]);
        }
        for i in order {
            m.extend_from_slice(payloads[i]);
        }
        Ok(m)
    }
}
