//! What a DoH server answers `--doh-url` lookups ([`toll::dns`]): untrusted DNS wire format.
//! Never a panic nor a hang (compression pointers, CNAME loops); an answer's addresses are of
//! the type asked for and its chain is at most 16 names. Any name a query can be built for comes
//! back from its own query turned into an empty response (the question round-trips).
#![no_main]

use libfuzzer_sys::fuzz_target;
use toll::dns::{parse_answer, query, RecordType};

fuzz_target!(|data: &[u8]| {
    // 1 selector byte (bit 0: A or AAAA), 1 byte: the name's length, the name, the message.
    let Some((&sel, rest)) = data.split_first() else { return };
    let Some((&n, rest)) = rest.split_first() else { return };
    let n = (n as usize).min(rest.len());
    let (name, msg) = rest.split_at(n);
    let Ok(name) = std::str::from_utf8(name) else { return };
    let rtype = if sel & 1 == 0 { RecordType::A } else { RecordType::Aaaa };
    if let Ok(a) = parse_answer(msg, name, rtype) {
        assert!(a.cnames.len() <= 16);
        assert!(a.addresses.iter().all(|ip| ip.is_ipv4() == (rtype == RecordType::A)));
    }
    if let Ok(q) = query(name, rtype) {
        assert!(q.len() <= 12 + 255 + 4, "{} bytes", q.len());
        let mut response = q.clone();
        response[2] |= 0x80;
        let a = parse_answer(&response, name, rtype).expect("its own question");
        assert!(a.addresses.is_empty() && a.cnames.is_empty());
    }
});
