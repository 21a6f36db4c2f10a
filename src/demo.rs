//! demo PENDING
pub async fn run(_s: crate::auth::Scheme, _t: crate::term::Terminal) -> crate::error::Result<()> { Ok(()) }
