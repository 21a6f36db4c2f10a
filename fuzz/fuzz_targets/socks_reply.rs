//! What a SOCKS proxy answers toll serve or `--preproxy` ([`toll::socks`]): the method choice, the
//! RFC 1929 status, the SOCKS5 and SOCKS4 replies. Never a panic; a message is taken from
//! exactly its own bytes (what follows a granted CONNECT is the tunnel's), every shorter prefix
//! asks for more (and for no more than the message's length), and at most 262 bytes are asked
//! for (a SOCKS5 reply with a 255-byte name).
#![no_main]

use libfuzzer_sys::fuzz_target;
use toll::socks::{method_choice, password_status, reply4, reply5, Malformed, Parsed};

fn exact<T: std::fmt::Debug + PartialEq>(parse: fn(&[u8]) -> Result<Parsed<T>, Malformed>, data: &[u8]) {
    let (whole, used) = match parse(data) {
        Ok(Parsed::Done(t, used)) => (t, used),
        Ok(Parsed::Need(n)) => {
            assert!(n > data.len() && n <= 262, "asked for {n} with {} given", data.len());
            return;
        }
        Err(e) => {
            assert!(!e.0.is_empty());
            return;
        }
    };
    assert!(used <= data.len() && used <= 262);
    assert_eq!(parse(&data[..used]), Ok(Parsed::Done(whole, used)), "taken from exactly its bytes");
    for k in 0..used {
        match parse(&data[..k]) {
            Ok(Parsed::Need(n)) => assert!(n > k && n <= used, "prefix {k} asked for {n} of {used}"),
            other => panic!("a prefix of {k} of {used} bytes: {other:?}"),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else { return };
    match which % 4 {
        0 => exact(method_choice, rest),
        1 => exact(password_status, rest),
        2 => exact(reply5, rest),
        _ => exact(reply4, rest),
    }
});
