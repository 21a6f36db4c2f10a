//! DNS messages in wire format (RFC 1035), only as much as `--doh-url`'s lookups (RFC 8484)
//! need: the query for one name's A or AAAA records, and the addresses an answer gives for it.
//! Pure: no I/O, so the parser of the DoH server's bytes can be unit-tested and fuzzed (target
//! `dns`). The answer is untrusted: every length is checked, compression pointers may only point
//! backwards (so they cannot loop), and a CNAME chain is followed a bounded number of steps.

use std::net::IpAddr;

/// The record types toll asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordType {
    A,
    Aaaa,
}

impl RecordType {
    pub fn code(self) -> u16 {
        match self {
            RecordType::A => 1,
            RecordType::Aaaa => 28,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            RecordType::A => "A",
            RecordType::Aaaa => "AAAA",
        }
    }
}

const CNAME: u16 = 5;
const CLASS_IN: u16 = 1;
/// A query's ID: RFC 8484 §4.1 asks DoH clients for 0 (HTTP caches then see equal queries).
const ID: u16 = 0;
/// How many CNAMEs a chain may have before the answer is taken as a loop.
const MAX_CNAMES: usize = 16;
/// An encoded name's limit (RFC 1035 §2.3.4).
const MAX_NAME: usize = 255;

/// Why an answer gives no addresses.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    /// RCODE 3: the name does not exist.
    #[error("no such name (NXDOMAIN)")]
    NxDomain,
    /// Another RCODE than 0 and 3 (2: SERVFAIL, 5: REFUSED, …).
    #[error("the DNS server answered RCODE {0} ({name})", name = rcode_name(*.0))]
    Rcode(u8),
    /// The TC bit: DoH has no length limit, so a truncated answer is a broken one.
    #[error("the answer is truncated (TC bit)")]
    Truncated,
    /// Not the answer to this query: another ID, question or type.
    #[error("the answer is not for this query: {0}")]
    Mismatch(&'static str),
    #[error("malformed DNS answer: {0}")]
    Malformed(&'static str),
}

fn rcode_name(code: u8) -> &'static str {
    match code {
        1 => "FORMERR",
        2 => "SERVFAIL",
        4 => "NOTIMP",
        5 => "REFUSED",
        _ => "error",
    }
}

/// Why a name cannot be asked for.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a DNS name: {1}")]
pub struct BadName(pub String, pub &'static str);

/// The addresses an answer gives for the name asked, and the smallest TTL of the records that
/// led to them (for `-v`; toll keeps a name's addresses for the run, whatever the TTL).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    pub addresses: Vec<IpAddr>,
    /// The names the chain went through (`CNAME`s), in order.
    pub cnames: Vec<String>,
    pub ttl: u32,
}

/// The query for `name`'s records of type `rtype`: ID 0, recursion desired, one question.
pub fn query(name: &str, rtype: RecordType) -> Result<Vec<u8>, BadName> {
    let mut msg = Vec::with_capacity(12 + name.len() + 6);
    msg.extend_from_slice(&ID.to_be_bytes());
    msg.extend_from_slice(&0x0100u16.to_be_bytes()); // RD
    msg.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]); // QDCOUNT 1
    encode_name(name, &mut msg)?;
    msg.extend_from_slice(&rtype.code().to_be_bytes());
    msg.extend_from_slice(&CLASS_IN.to_be_bytes());
    Ok(msg)
}

fn encode_name(name: &str, out: &mut Vec<u8>) -> Result<(), BadName> {
    let bad = |why| BadName(name.to_string(), why);
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    if trimmed.is_empty() {
        return Err(bad("empty"));
    }
    let start = out.len();
    for label in trimmed.split('.') {
        if label.is_empty() {
            return Err(bad("an empty label"));
        }
        if label.len() > 63 {
            return Err(bad("a label longer than 63 bytes"));
        }
        if !label.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') {
            return Err(bad("a byte DNS names do not hold"));
        }
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    if out.len() - start > MAX_NAME {
        return Err(bad("longer than 255 bytes"));
    }
    Ok(())
}

/// The addresses of type `rtype` that `msg` gives for `name`, following CNAMEs. An answer
/// without any (NODATA) is `Ok` with none: the name exists, without that type.
pub fn parse_answer(msg: &[u8], name: &str, rtype: RecordType) -> Result<Answer, AnswerError> {
    let mut r = Reader { msg, pos: 0 };
    let id = r.u16()?;
    let flags = r.u16()?;
    let (qd, an) = (r.u16()?, r.u16()?);
    r.u16()?; // NSCOUNT
    r.u16()?; // ARCOUNT
    if flags & 0x8000 == 0 {
        return Err(AnswerError::Mismatch("a query, not a response"));
    }
    if id != ID {
        return Err(AnswerError::Mismatch("another ID"));
    }
    if (flags >> 11) & 0xf != 0 {
        return Err(AnswerError::Mismatch("another opcode"));
    }
    if flags & 0x0200 != 0 {
        return Err(AnswerError::Truncated);
    }
    match (flags & 0xf) as u8 {
        0 => {}
        3 => return Err(AnswerError::NxDomain),
        code => return Err(AnswerError::Rcode(code)),
    }
    if qd != 1 {
        return Err(AnswerError::Mismatch("not one question"));
    }
    let asked = r.name()?;
    let (qtype, qclass) = (r.u16()?, r.u16()?);
    if !same_name(&asked, name) {
        return Err(AnswerError::Mismatch("another name"));
    }
    if qtype != rtype.code() || qclass != CLASS_IN {
        return Err(AnswerError::Mismatch("another type or class"));
    }
    let mut records = Vec::new();
    for _ in 0..an {
        let owner = r.name()?;
        let (rt, class, ttl, len) = (r.u16()?, r.u16()?, r.u32()?, r.u16()? as usize);
        let data_at = r.pos;
        let data = r.take(len)?;
        if class != CLASS_IN {
            continue;
        }
        let value = match rt {
            CNAME => {
                let mut inner = Reader { msg, pos: data_at };
                let target = inner.name()?;
                if inner.pos != data_at + len {
                    return Err(AnswerError::Malformed("a CNAME's length is not its name's"));
                }
                Value::Alias(target)
            }
            t if t == rtype.code() => Value::Address(address(rtype, data)?),
            _ => continue,
        };
        records.push((owner, ttl, value));
    }
    follow(name, records)
}

enum Value {
    Address(IpAddr),
    Alias(String),
}

/// The chain from `name` through CNAMEs to the addresses of its last name.
fn follow(name: &str, records: Vec<(String, u32, Value)>) -> Result<Answer, AnswerError> {
    let mut current = name.trim_end_matches('.').to_string();
    let mut answer = Answer { addresses: Vec::new(), cnames: Vec::new(), ttl: u32::MAX };
    for _ in 0..=MAX_CNAMES {
        let mut alias = None;
        for (owner, ttl, value) in &records {
            if !same_name(owner, &current) {
                continue;
            }
            match value {
                Value::Address(ip) => {
                    answer.addresses.push(*ip);
                    answer.ttl = answer.ttl.min(*ttl);
                }
                Value::Alias(to) if alias.is_none() => alias = Some((to.clone(), *ttl)),
                Value::Alias(_) => {}
            }
        }
        if !answer.addresses.is_empty() {
            return Ok(answer);
        }
        let Some((to, ttl)) = alias else {
            // NODATA (or a chain that ends without addresses).
            answer.ttl = if answer.cnames.is_empty() { 0 } else { answer.ttl };
            return Ok(answer);
        };
        answer.ttl = answer.ttl.min(ttl);
        answer.cnames.push(to.clone());
        current = to;
    }
    Err(AnswerError::Malformed("a CNAME chain longer than 16 names (a loop?)"))
}

fn address(rtype: RecordType, data: &[u8]) -> Result<IpAddr, AnswerError> {
    match rtype {
        RecordType::A => <[u8; 4]>::try_from(data).map(IpAddr::from),
        RecordType::Aaaa => <[u8; 16]>::try_from(data).map(IpAddr::from),
    }
    .map_err(|_| AnswerError::Malformed("an address record of the wrong length"))
}

fn same_name(a: &str, b: &str) -> bool {
    a.trim_end_matches('.').eq_ignore_ascii_case(b.trim_end_matches('.'))
}

struct Reader<'a> {
    msg: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], AnswerError> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.msg.len());
        let end = end.ok_or(AnswerError::Malformed("the message ends too early"))?;
        let s = &self.msg[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u16(&mut self) -> Result<u16, AnswerError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, AnswerError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A name at the current position, compression pointers followed (RFC 1035 §4.1.4). Each
    /// pointer must point before where the previous jump landed (the first: before the name):
    /// the jumps go ever further back, so they end. The reader moves past the name as it is in
    /// the message.
    fn name(&mut self) -> Result<String, AnswerError> {
        let mut at = self.pos;
        let mut floor = self.pos;
        let mut resume = None;
        let (mut out, mut encoded) = (String::new(), 1usize);
        loop {
            let len = *self.msg.get(at).ok_or(AnswerError::Malformed("a name runs past the end"))? as usize;
            match len & 0xc0 {
                0x00 if len == 0 => {
                    self.pos = resume.unwrap_or(at + 1);
                    return Ok(out);
                }
                0x00 => {
                    let label = self
                        .msg
                        .get(at + 1..at + 1 + len)
                        .ok_or(AnswerError::Malformed("a label runs past the end"))?;
                    encoded += len + 1;
                    if encoded > MAX_NAME {
                        return Err(AnswerError::Malformed("a name longer than 255 bytes"));
                    }
                    if !out.is_empty() {
                        out.push('.');
                    }
                    // Bytes other than printable ASCII are kept visible but harmless.
                    out.extend(label.iter().map(|&b| if b.is_ascii_graphic() { b as char } else { '?' }));
                    at += 1 + len;
                }
                0xc0 => {
                    let low =
                        *self.msg.get(at + 1).ok_or(AnswerError::Malformed("a pointer runs past the end"))?;
                    let to = ((len & 0x3f) << 8) | low as usize;
                    if to >= floor {
                        return Err(AnswerError::Malformed("a compression pointer that does not point back"));
                    }
                    resume.get_or_insert(at + 2);
                    (at, floor) = (to, to);
                }
                _ => return Err(AnswerError::Malformed("a label type DNS does not use")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An answer to `query(name, rtype)` with `flags` and these answer records (already encoded).
    fn answer(name: &str, rtype: RecordType, flags: u16, records: &[Vec<u8>]) -> Vec<u8> {
        let q = query(name, rtype).unwrap();
        let mut m = q[..2].to_vec();
        m.extend_from_slice(&flags.to_be_bytes());
        m.extend_from_slice(&[0, 1]);
        m.extend_from_slice(&(records.len() as u16).to_be_bytes());
        m.extend_from_slice(&[0, 0, 0, 0]);
        m.extend_from_slice(&q[12..]);
        for r in records {
            m.extend_from_slice(r);
        }
        m
    }

    fn rr(owner: &[u8], rtype: u16, ttl: u32, data: &[u8]) -> Vec<u8> {
        let mut r = owner.to_vec();
        r.extend_from_slice(&rtype.to_be_bytes());
        r.extend_from_slice(&CLASS_IN.to_be_bytes());
        r.extend_from_slice(&ttl.to_be_bytes());
        r.extend_from_slice(&(data.len() as u16).to_be_bytes());
        r.extend_from_slice(data);
        r
    }

    fn wire(name: &str) -> Vec<u8> {
        let mut v = Vec::new();
        encode_name(name, &mut v).unwrap();
        v
    }

    /// The question's name starts at byte 12: a pointer to it.
    const QNAME: [u8; 2] = [0xc0, 12];

    #[test]
    fn query_is_id_zero_rd_one_question() {
        let q = query("doh-a.test", RecordType::Aaaa).unwrap();
        assert_eq!(&q[..12], &[0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&q[12..], b"\x05doh-a\x04test\x00\x00\x1c\x00\x01");
        assert_eq!(query("doh-a.test.", RecordType::A).unwrap()[12..24], q[12..24]);
        for bad in ["", ".", "a..b", &"x".repeat(64), &["abc"; 70].join("."), "a b", "a\\.b"] {
            assert!(query(bad, RecordType::A).is_err(), "{bad:?}");
        }
        assert!(query(&"x".repeat(63), RecordType::A).is_ok());
    }

    #[test]
    fn addresses_of_a_and_aaaa() {
        let m = answer("doh-a.test", RecordType::A, 0x8180, &[rr(&QNAME, 1, 60, &[127, 0, 0, 1])]);
        let a = parse_answer(&m, "doh-a.test", RecordType::A).unwrap();
        assert_eq!((a.addresses, a.ttl), (vec!["127.0.0.1".parse::<IpAddr>().unwrap()], 60));
        let six = [0u8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        let m = answer("Six.Test", RecordType::Aaaa, 0x8180, &[rr(&wire("six.test"), 28, 5, &six)]);
        let a = parse_answer(&m, "six.test", RecordType::Aaaa).unwrap();
        assert_eq!(a.addresses, vec!["::1".parse::<IpAddr>().unwrap()]);
        let short = answer("x.test", RecordType::A, 0x8180, &[rr(&QNAME, 1, 5, &[1, 2, 3])]);
        assert!(matches!(parse_answer(&short, "x.test", RecordType::A), Err(AnswerError::Malformed(_))));
    }

    #[test]
    fn records_of_other_types_and_names_are_skipped() {
        let m = answer(
            "x.test",
            RecordType::A,
            0x8180,
            &[
                rr(&wire("other.test"), 1, 5, &[10, 0, 0, 1]),
                rr(&QNAME, 16, 5, b"\x03txt"),
                rr(&QNAME, 1, 5, &[10, 0, 0, 2]),
            ],
        );
        let a = parse_answer(&m, "x.test", RecordType::A).unwrap();
        assert_eq!(a.addresses, vec!["10.0.0.2".parse::<IpAddr>().unwrap()]);
    }

    #[test]
    fn cname_chains_are_followed_and_loops_end() {
        let m = answer(
            "doh-cname.test",
            RecordType::A,
            0x8180,
            &[
                rr(&QNAME, CNAME, 30, &wire("mid.test")),
                rr(&wire("mid.test"), CNAME, 90, &wire("doh-a.test")),
                rr(&wire("doh-a.test"), 1, 60, &[127, 0, 0, 1]),
            ],
        );
        let a = parse_answer(&m, "doh-cname.test", RecordType::A).unwrap();
        assert_eq!(a.addresses, vec!["127.0.0.1".parse::<IpAddr>().unwrap()]);
        assert_eq!((a.cnames, a.ttl), (vec!["mid.test".to_string(), "doh-a.test".to_string()], 30));
        let looped = answer(
            "a.test",
            RecordType::A,
            0x8180,
            &[rr(&QNAME, CNAME, 1, &wire("b.test")), rr(&wire("b.test"), CNAME, 1, &wire("a.test"))],
        );
        assert!(parse_answer(&looped, "a.test", RecordType::A).is_err());
        // A chain that ends without addresses, and no records at all: NODATA, no error.
        let dangling = answer("a.test", RecordType::A, 0x8180, &[rr(&QNAME, CNAME, 1, &wire("b.test"))]);
        assert!(parse_answer(&dangling, "a.test", RecordType::A).unwrap().addresses.is_empty());
        let nodata = answer("a.test", RecordType::A, 0x8180, &[]);
        assert!(parse_answer(&nodata, "a.test", RecordType::A).unwrap().addresses.is_empty());
    }

    #[test]
    fn rcodes_and_flags() {
        let nx = answer("nx.test", RecordType::A, 0x8183, &[]);
        assert_eq!(parse_answer(&nx, "nx.test", RecordType::A), Err(AnswerError::NxDomain));
        let fail = answer("f.test", RecordType::A, 0x8182, &[]);
        assert_eq!(parse_answer(&fail, "f.test", RecordType::A), Err(AnswerError::Rcode(2)));
        assert!(AnswerError::Rcode(2).to_string().contains("SERVFAIL"));
        let tc = answer("t.test", RecordType::A, 0x8380, &[]);
        assert_eq!(parse_answer(&tc, "t.test", RecordType::A), Err(AnswerError::Truncated));
        let not_response = answer("t.test", RecordType::A, 0x0100, &[]);
        assert!(matches!(
            parse_answer(&not_response, "t.test", RecordType::A),
            Err(AnswerError::Mismatch(_))
        ));
    }

    #[test]
    fn an_answer_to_another_query_is_refused() {
        let mut m = answer("doh-a.test", RecordType::A, 0x8180, &[rr(&QNAME, 1, 60, &[127, 0, 0, 1])]);
        assert!(matches!(parse_answer(&m, "other.test", RecordType::A), Err(AnswerError::Mismatch(_))));
        assert!(matches!(parse_answer(&m, "doh-a.test", RecordType::Aaaa), Err(AnswerError::Mismatch(_))));
        m[1] = 7;
        assert_eq!(parse_answer(&m, "doh-a.test", RecordType::A), Err(AnswerError::Mismatch("another ID")));
    }

    #[test]
    fn truncated_messages_are_errors_at_every_length() {
        let m = answer(
            "doh-cname.test",
            RecordType::A,
            0x8180,
            &[rr(&QNAME, CNAME, 30, &wire("doh-a.test")), rr(&wire("doh-a.test"), 1, 60, &[127, 0, 0, 1])],
        );
        assert!(parse_answer(&m, "doh-cname.test", RecordType::A).is_ok());
        for n in 0..m.len() {
            assert!(parse_answer(&m[..n], "doh-cname.test", RecordType::A).is_err(), "{n} bytes");
        }
    }

    #[test]
    fn compression_pointers_cannot_loop() {
        // An answer record whose owner points at itself, and one that points forward.
        let at = answer("a.test", RecordType::A, 0x8180, &[]).len() as u8;
        for owner in [vec![0xc0u8, at], vec![0xc0, 0xff]] {
            let m = answer("a.test", RecordType::A, 0x8180, &[rr(&owner, 1, 1, &[1, 2, 3, 4])]);
            assert!(matches!(parse_answer(&m, "a.test", RecordType::A), Err(AnswerError::Malformed(_))));
        }
        // A label, then a pointer back to it: a loop through a label, refused too.
        let mut m = answer("a.test", RecordType::A, 0x8180, &[]);
        m[7] = 1;
        m.extend_from_slice(&[1, b'x', 0xc0, at]);
        m.extend_from_slice(&rr(&[], 1, 1, &[1, 2, 3, 4]));
        assert_eq!(
            parse_answer(&m, "a.test", RecordType::A),
            Err(AnswerError::Malformed("a compression pointer that does not point back"))
        );
        // Two labels pointing at each other: the second one points forward, refused.
        let mut m = answer("a.test", RecordType::A, 0x8180, &[]);
        m[12..14].copy_from_slice(&[0xc0, 14]);
        assert!(parse_answer(&m, "a.test", RecordType::A).is_err());
        // The 0x40 and 0x80 label types are not DNS names.
        let m = answer("a.test", RecordType::A, 0x8180, &[rr(&[0x41, 0], 1, 1, &[1, 2, 3, 4])]);
        assert!(parse_answer(&m, "a.test", RecordType::A).is_err());
    }

    #[test]
    fn names_longer_than_255_bytes_are_refused_even_through_pointers() {
        // 4 labels of 63 bytes, then a pointer to the question's name: 256+ bytes.
        let mut m = answer("a.test", RecordType::A, 0x8180, &[]);
        m[7] = 1; // ANCOUNT 1
        let start = m.len();
        for _ in 0..4 {
            m.push(63);
            m.extend_from_slice(&[b'x'; 63]);
        }
        m.extend_from_slice(&QNAME);
        m.extend_from_slice(&rr(&[], 1, 1, &[1, 2, 3, 4])[..]);
        assert!(start > 12);
        assert!(parse_answer(&m, "a.test", RecordType::A).is_err());
    }
}
