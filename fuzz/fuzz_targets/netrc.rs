//! `.netrc` files through [`toll::client::netrc::parse_netrc`]: never a panic or a hang; an error
//! message never holds a control character (it is printed).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Err(e) = toll::client::netrc::parse_netrc(&text) {
        let m = e.to_string();
        assert!(!m.contains('\n'), "{m:?}");
    }
});
