//! NTLM (MS-NLMP), NTLMv2 only, as HTTP proxies speak it: `Proxy-Authorization: NTLM <base64>`
//! answering `Proxy-Authenticate: NTLM` (then `NTLM <type-2 base64>`), all on one connection.
//!
//! The handshake (MS-NLMP §1.3.1.1, connection-oriented):
//!
//! 1. bare `NTLM` challenge → NEGOTIATE_MESSAGE (type 1, §2.2.1.1, [`messages::negotiate_message`]);
//! 2. `NTLM <token>` → parse the CHALLENGE_MESSAGE (type 2, §2.2.1.2), then send the
//!    AUTHENTICATE_MESSAGE (type 3, §2.2.1.3) with
//!    - the NTLMv2 response (§3.3.2, [`crypto::v2_response`]): NTOWFv2 of the password, user and
//!      domain; a blob holding the timestamp (the server's MsvAvTimestamp if it sent one, else
//!      the injected clock), a client challenge from the injected [`Entropy`], and the server's
//!      TargetInfo AV_PAIRs;
//!    - the LMv2 response, or Z(24) when the server sent a timestamp (§3.1.5.1.2);
//!    - a MIC over the three messages (§3.1.5.1.2, §3.2.5.1.2) with MsvAvFlags bit 0x2, whenever
//!      the server sent a timestamp (that is when the spec says the client SHOULD send one).
//!
//! No key exchange (NEGOTIATE_KEY_EXCH) is requested, so ExportedSessionKey = KeyExchangeKey =
//! SessionBaseKey (§3.4.5.1 KXKEY for NTLMv2): HTTP authentication signs and seals nothing, so
//! a random session key would only add RC4 to the code. NTLMv1 and LM responses are never sent;
//! a server that can only check those refuses the v2 response and the relay moves on.
//!
//! User names (§3.1.5.1.2 leaves their form to the application; these are Windows'):
//! `DOMAIN\user` (or `DOMAIN/user`); `user@dns.domain` (a UPN: sent whole as the user name with
//! an empty domain, which is how Windows clients send it and how domain controllers check it);
//! plain `user` (domain: the challenge's TargetName, else its MsvAvNbDomainName).
//!
//! No workstation name is sent: the auth engine has no business reading the host name, and
//! servers accept an empty one.

mod crypto;
mod messages;

use super::*;
use base64::engine::{general_purpose, DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use messages::*;

/// The flags of our NEGOTIATE_MESSAGE (§2.2.2.5): Unicode (OEM as fallback), the target name,
/// NTLM, extended session security (which with NTLMv2 changes nothing but is what every
/// current client asks), always-sign, 128/56-bit (harmless, expected by strict servers).
const CLIENT_FLAGS: u32 = NEGOTIATE_UNICODE
    | NEGOTIATE_OEM
    | REQUEST_TARGET
    | NEGOTIATE_NTLM
    | NEGOTIATE_ALWAYS_SIGN
    | NEGOTIATE_EXTENDED_SESSIONSECURITY
    | NEGOTIATE_128
    | NEGOTIATE_56;

/// Longest type-2 token accepted (base64 text). Real ones are a few hundred bytes.
const MAX_TOKEN: usize = 16 * 1024;

/// base64 with or without padding: proxies differ.
const B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

#[derive(Default)]
enum State {
    /// Nothing sent yet on this connection.
    #[default]
    Idle,
    /// Our type 1 went out; its bytes are kept for the MIC.
    Negotiated(Vec<u8>),
    /// Our type 3 went out: any further 407 is a refusal.
    Authenticated,
}

/// NTLM client state for one proxy connection.
#[derive(Default)]
pub struct NtlmAuth {
    state: State,
}

/// The user name split as NTLM wants it (see the module docs).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Identity<'a> {
    pub user: &'a str,
    /// `None`: take it from the challenge.
    pub domain: Option<&'a str>,
}

pub(crate) fn identity(name: &str) -> Identity<'_> {
    if let Some((domain, user)) = name.split_once(['\\', '/']) {
        Identity { user, domain: Some(domain) }
    } else if name.contains('@') {
        Identity { user: name, domain: Some("") }
    } else {
        Identity { user: name, domain: None }
    }
}

fn malformed(why: impl Into<String>) -> AuthError {
    AuthError::Malformed(Scheme::Ntlm, why.into())
}

/// Decodes the type-2 token of an `NTLM <token>` challenge.
fn challenge_message(token: &str) -> Result<(Vec<u8>, ChallengeMessage), AuthError> {
    if token.len() > MAX_TOKEN {
        return Err(malformed(format!("its challenge message is {} characters long", token.len())));
    }
    let raw =
        B64.decode(token).map_err(|e| malformed(format!("its challenge message is not base64: {e}")))?;
    let parsed =
        parse_challenge(&raw).map_err(|e| malformed(format!("its challenge message is bad: {e}")))?;
    Ok((raw, parsed))
}

/// A string for the AUTHENTICATE_MESSAGE in the negotiated character set (§2.2.2.5 "A"/"O").
fn encode_string(s: &str, unicode: bool) -> Result<Vec<u8>, AuthError> {
    if unicode {
        Ok(crypto::utf16le(s))
    } else if s.is_ascii() {
        Ok(s.as_bytes().to_vec())
    } else {
        Err(AuthError::Unsupported(
            Scheme::Ntlm,
            format!("the proxy does not speak Unicode and {s:?} is not ASCII"),
        ))
    }
}

/// The AUTHENTICATE_MESSAGE answering `challenge` (raw bytes `challenge_raw`) after our
/// `negotiate` (§3.1.5.1.2).
fn authenticate(
    negotiate: &[u8],
    challenge_raw: &[u8],
    challenge: &ChallengeMessage,
    creds: &Credentials,
    rng: &mut dyn Entropy,
) -> Result<Vec<u8>, AuthError> {
    let id = identity(&creds.user);
    let domain = match id.domain {
        Some(d) => d.to_owned(),
        None => {
            let name = challenge.decode_string(&challenge.target_name);
            match challenge.av(MSV_AV_NB_DOMAIN_NAME) {
                Some(nb) if name.is_empty() => utf16_lossy(nb),
                _ => name,
            }
        }
    };

    let server_time = challenge.timestamp();
    // §3.1.5.1.2: with the server's timestamp, use it and provide a MIC (flagged in MsvAvFlags);
    // then send Z(24) instead of the LMv2 response.
    let with_mic = server_time.is_some();
    let time = server_time.unwrap_or_else(|| crypto::filetime(rng.now()));
    let mut pairs = challenge.target_info.clone();
    if with_mic {
        match pairs.iter_mut().find(|p| p.id == MSV_AV_FLAGS && p.value.len() == 4) {
            Some(p) => {
                let v = u32::from_le_bytes(p.value[..4].try_into().expect("4 bytes")) | AV_FLAG_MIC_PROVIDED;
                p.value = v.to_le_bytes().to_vec();
            }
            None => {
                pairs.push(AvPair { id: MSV_AV_FLAGS, value: AV_FLAG_MIC_PROVIDED.to_le_bytes().to_vec() })
            }
        }
    }
    let mut client_challenge = [0u8; 8];
    rng.fill(&mut client_challenge);

    let key = crypto::ntowf_v2(creds.password.expose(), id.user, &domain);
    let resp = crypto::v2_response(
        &key,
        &challenge.server_challenge,
        &client_challenge,
        time,
        &encode_av_pairs(&pairs),
        !with_mic,
    );

    // Answer with what both sides support (§3.1.5.1.2: the client's flags as negotiated), in the
    // character set the server chose (§2.2.2.5 "A": Unicode wins when both are set).
    let unicode = challenge.flags & NEGOTIATE_UNICODE != 0;
    let charset = if unicode { NEGOTIATE_UNICODE } else { NEGOTIATE_OEM };
    let flags =
        challenge.flags & (CLIENT_FLAGS | NEGOTIATE_TARGET_INFO) & !(NEGOTIATE_UNICODE | NEGOTIATE_OEM)
            | charset
            | NEGOTIATE_NTLM;
    let mut message = Authenticate {
        flags,
        lm_response: &resp.lm,
        nt_response: &resp.nt,
        domain: &encode_string(&domain, unicode)?,
        user: &encode_string(id.user, unicode)?,
        workstation: &[],
        encrypted_session_key: &[],
        version: None,
        mic: with_mic,
    }
    .encode()
    .map_err(|e| AuthError::Unsupported(Scheme::Ntlm, e))?;
    if with_mic {
        // MIC = HMAC_MD5(ExportedSessionKey, NEGOTIATE ‖ CHALLENGE ‖ AUTHENTICATE with MIC zero).
        let mic = crypto::hmac_md5(resp.session_base_key.as_slice(), &[negotiate, challenge_raw, &message]);
        message[MIC_OFFSET..MIC_OFFSET + 16].copy_from_slice(&mic);
    }
    Ok(message)
}

fn utf16_lossy(raw: &[u8]) -> String {
    let units: Vec<u16> = raw.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
    String::from_utf16_lossy(&units)
}

fn header(message: &[u8]) -> Secret {
    Secret::from(format!("NTLM {}", general_purpose::STANDARD.encode(message)))
}

impl Authenticator for NtlmAuth {
    fn scheme(&self) -> Scheme {
        Scheme::Ntlm
    }

    fn connection_bound(&self) -> bool {
        true
    }

    /// The type 1 carries no credential and always draws a 407: the relay sends that leg
    /// without the request body.
    fn final_leg(&self) -> bool {
        !matches!(self.state, State::Negotiated(_))
    }

    fn respond(
        &mut self,
        challenge: &Challenge,
        creds: &Credentials,
        _target: &RequestTarget<'_>,
        rng: &mut dyn Entropy,
    ) -> Result<Secret, AuthError> {
        if challenge.scheme != Some(Scheme::Ntlm) {
            return Err(malformed(format!("{} is not an NTLM challenge", challenge.scheme_name)));
        }
        let Some(token) = challenge.token68.as_deref() else {
            // A bare `NTLM`: start (or restart) the handshake.
            let negotiate = negotiate_message(CLIENT_FLAGS);
            let value = header(&negotiate);
            self.state = State::Negotiated(negotiate);
            return Ok(value);
        };
        let State::Negotiated(negotiate) = std::mem::take(&mut self.state) else {
            return Err(malformed("its challenge message came before toll's negotiate message"));
        };
        let (raw, parsed) = challenge_message(token)?;
        let message = authenticate(&negotiate, &raw, &parsed, creds, rng)?;
        self.state = State::Authenticated;
        Ok(header(&message))
    }

    /// After a completed handshake: the scheme (not the handshake) is worth remembering.
    fn memory(&self) -> Option<Memory> {
        matches!(self.state, State::Authenticated).then_some(Memory::Ntlm)
    }

    /// After our type 1, a type-2 challenge is the next step. After our type 3 any 407 is a
    /// refusal (§3.2.5.1.2 has the server fail the whole handshake). A bare `NTLM` after our
    /// type 1 is a proxy that lost the handshake; the password was not sent in it.
    fn verdict(&self, challenge: Option<&Challenge>) -> Verdict {
        match (&self.state, challenge.and_then(|c| c.token68.as_deref())) {
            (State::Negotiated(_), Some(token)) if challenge_message(token).is_ok() => Verdict::Continue,
            _ => Verdict::Rejected,
        }
    }
}

#[cfg(test)]
mod tests;
