//! Digest (RFC 7616). IMPLEMENTATION PENDING (auth helper).
use super::*;

#[derive(Default)]
pub struct DigestAuth;

impl Authenticator for DigestAuth {
    fn scheme(&self) -> Scheme {
        Scheme::Digest
    }
    fn respond(&mut self, _: &Challenge, _: &Credentials, _: &RequestTarget<'_>, _: &mut dyn Entropy) -> Result<Secret, AuthError> {
        Err(AuthError::Unsupported(Scheme::Digest, "pending".into()))
    }
    fn preemptive(&mut self, _: &Credentials, _: &RequestTarget<'_>, _: &mut dyn Entropy) -> Option<Result<Secret, AuthError>> {
        None
    }
    fn verdict(&self, _: Option<&Challenge>) -> Verdict {
        Verdict::Rejected
    }
}
