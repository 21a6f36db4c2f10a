//! The test DoH responder (RFC 8484): the HTTPS origin's `/dns-query` answers a POSTed DNS query
//! from a table of made-up names, and the origin records each query's body so tests can see
//! what was asked ([`asked`]). Only names under `.test` are in it; everything else is NXDOMAIN.

/// The table: `doh-a.test` → 127.0.0.1 (A only), `doh-six.test` → ::1 (AAAA only),
/// `doh-cname.test` → CNAME `doh-mid.test` → CNAME `doh-a.test`, `doh-proxy.test` → 127.0.0.1,
/// `doh-fail.test` → SERVFAIL; any other name → NXDOMAIN.
enum Entry {
    Addr(&'static str),
    Alias(&'static str),
    ServFail,
}

fn lookup(name: &str) -> Option<Entry> {
    Some(match name.to_ascii_lowercase().as_str() {
        "doh-a.test" | "doh-proxy.test" => Entry::Addr("127.0.0.1"),
        "doh-six.test" => Entry::Addr("::1"),
        "doh-cname.test" => Entry::Alias("doh-mid.test"),
        "doh-mid.test" => Entry::Alias("doh-a.test"),
        "doh-fail.test" => Entry::ServFail,
        _ => return None,
    })
}

fn wire(name: &str) -> Vec<u8> {
    let mut v = Vec::new();
    for l in name.split('.') {
        v.push(l.len() as u8);
        v.extend_from_slice(l.as_bytes());
    }
    v.push(0);
    v
}

/// The question of a query: (name, "A"/"AAAA"/type number), and where it ends.
pub fn question(q: &[u8]) -> Option<(String, String, usize)> {
    let mut at = 12;
    let mut labels = Vec::new();
    loop {
        let n = *q.get(at)? as usize;
        if n == 0 {
            break;
        }
        labels.push(String::from_utf8_lossy(q.get(at + 1..at + 1 + n)?).into_owned());
        at += 1 + n;
    }
    let t = u16::from_be_bytes([*q.get(at + 1)?, *q.get(at + 2)?]);
    let t = match t {
        1 => "A".to_string(),
        28 => "AAAA".to_string(),
        n => n.to_string(),
    };
    Some((labels.join("."), t, at + 5))
}

/// The answer to a query: (HTTP status, body).
pub fn answer(q: &[u8]) -> (u16, Vec<u8>) {
    let Some((name, qtype, end)) = question(q) else { return (400, b"not a DNS query\n".to_vec()) };
    let mut records = Vec::new();
    let mut rcode = 0u16;
    let mut current = name.clone();
    for _ in 0..8 {
        match lookup(&current) {
            None if current == name => rcode = 3,
            None => {}
            Some(Entry::ServFail) => rcode = 2,
            Some(Entry::Alias(to)) => {
                records.push((current.clone(), 5u16, wire(to)));
                current = to.to_string();
                continue;
            }
            Some(Entry::Addr(a)) => {
                let ip: std::net::IpAddr = a.parse().unwrap();
                match (ip, qtype.as_str()) {
                    (std::net::IpAddr::V4(v4), "A") => {
                        records.push((current.clone(), 1, v4.octets().to_vec()))
                    }
                    (std::net::IpAddr::V6(v6), "AAAA") => {
                        records.push((current.clone(), 28, v6.octets().to_vec()))
                    }
                    _ => {}
                }
            }
        }
        break;
    }
    let mut m = q[..2].to_vec();
    m.extend_from_slice(&(0x8180u16 | rcode).to_be_bytes());
    m.extend_from_slice(&[0, 1]);
    m.extend_from_slice(&(records.len() as u16).to_be_bytes());
    m.extend_from_slice(&[0, 0, 0, 0]);
    m.extend_from_slice(&q[12..end]);
    for (owner, t, data) in records {
        m.extend_from_slice(&wire(&owner));
        m.extend_from_slice(&t.to_be_bytes());
        m.extend_from_slice(&[0, 1, 0, 0, 0, 60]);
        m.extend_from_slice(&(data.len() as u16).to_be_bytes());
        m.extend_from_slice(&data);
    }
    (200, m)
}

/// The queries `origin`'s `/dns-query` got, as `name TYPE`, in order.
pub fn asked(origin: &crate::origin::Origin) -> Vec<String> {
    origin
        .requests_to("/dns-query")
        .iter()
        .filter_map(|r| question(&r.body).map(|(n, t, _)| format!("{n} {t}")))
        .collect()
}
