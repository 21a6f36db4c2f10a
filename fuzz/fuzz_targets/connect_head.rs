//! The first request head toll serve reads itself ([`toll::serve::first::parse`]): never a
//! panic; a CONNECT it takes has a port and a length within the bytes, is taken the same from
//! exactly those bytes, and is never taken from fewer (a head is whole or hyper's).
#![no_main]

use libfuzzer_sys::fuzz_target;
use toll::serve::first::{parse, Parsed};

fuzz_target!(|data: &[u8]| {
    let Parsed::Connect { authority, len, .. } = parse(data) else { return };
    assert!(len <= data.len());
    assert!(authority.port_u16().is_some(), "{authority}");
    match parse(&data[..len]) {
        Parsed::Connect { authority: again, len: l, .. } => {
            assert_eq!((again, l), (authority, len));
        }
        other => panic!("the head alone: {other:?}"),
    }
    if len > 0 {
        assert!(!matches!(parse(&data[..len - 1]), Parsed::Connect { .. }), "taken before its end");
    }
});
