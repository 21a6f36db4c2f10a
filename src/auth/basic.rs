//! Basic (RFC 7617). IMPLEMENTATION PENDING (auth helper).
use super::*;

#[derive(Default)]
pub struct BasicAuth;

impl Authenticator for BasicAuth {
    fn scheme(&self) -> Scheme {
        Scheme::Basic
    }
    fn respond(&mut self, _: &Challenge, _: &Credentials, _: &RequestTarget<'_>, _: &mut dyn Entropy) -> Result<Secret, AuthError> {
        Err(AuthError::Unsupported(Scheme::Basic, "pending".into()))
    }
    fn preemptive(&mut self, _: &Credentials, _: &RequestTarget<'_>, _: &mut dyn Entropy) -> Option<Result<Secret, AuthError>> {
        None
    }
    fn verdict(&self, _: Option<&Challenge>) -> Verdict {
        Verdict::Rejected
    }
}
