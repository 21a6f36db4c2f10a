//! `--aws-sigv4`: AWS Signature Version 4 (and the same scheme under other providers' names),
//! which signs each request with the secret key instead of answering a challenge. Pure: the
//! request's parts, the key pair and the time (injected) → the headers to add.
//!
//! What is signed, as curl 7.88 signs it (so a script's requests are accepted wherever curl's
//! are): the method, the path as the URL carries it, the query (sorted, as AWS requires and
//! curl 7.88 does not), the headers `host`, the date header and those the caller passes (the
//! request's own: curl signs only those given with `-H`), and the body's SHA-256 (an
//! `UNSIGNED-PAYLOAD` for a body too large to read before it is sent). Where curl 7.88 is wrong toll is not: a
//! date given with `-H 'X-Amz-Date: …'` is used, and not sent a second time; an `s3` service gets
//! the `x-amz-content-sha256` header S3 requires (as curl 8 does); region and service are taken
//! from a host name only when it has them (`SERVICE.REGION.DOMAIN.TLD`), never from an IP address.

use crate::secret::{Credentials, Secret};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// `--aws-sigv4 PROVIDER1[:PROVIDER2[:REGION[:SERVICE]]]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spec {
    /// Names the algorithm (`AWS4-HMAC-SHA256`), the key prefix and the scope's end.
    pub provider1: String,
    /// Names the headers (`X-Amz-Date`); `provider1` when not given.
    pub provider2: String,
    pub region: Option<String>,
    pub service: Option<String>,
}

impl Spec {
    /// Parses the option's value; the error says what is wrong.
    pub fn parse(s: &str) -> Result<Spec, String> {
        let parts: Vec<&str> = s.split(':').collect();
        if parts.len() > 4 {
            return Err("at most four parts: PROVIDER1[:PROVIDER2[:REGION[:SERVICE]]]".into());
        }
        for p in &parts {
            if !Spec::is_name(p) {
                return Err(format!(
                    "{:?} is not a provider, region or service name (letters, digits, '-' and '_')",
                    crate::term::sanitize(p)
                ));
            }
        }
        let provider1 = parts[0].to_string();
        Ok(Spec {
            provider2: parts.get(1).map_or_else(|| provider1.clone(), |p| p.to_string()),
            provider1,
            region: parts.get(2).map(|p| p.to_string()),
            service: parts.get(3).map(|p| p.to_string()),
        })
    }

    /// A provider, region or service name: letters, digits, `-` and `_`.
    fn is_name(p: &str) -> bool {
        !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    }

    /// `X-Amz-Date` for provider2 `amz`.
    pub fn date_header(&self) -> String {
        format!("x-{}-date", self.provider2.to_ascii_lowercase())
    }

    /// `x-amz-content-sha256` for provider2 `amz`.
    pub fn content_header(&self) -> String {
        format!("x-{}-content-sha256", self.provider2.to_ascii_lowercase())
    }

    /// The region and service: given, or the first two labels of a host name with four or more
    /// (`ec2.us-east-1.amazonaws.com`).
    fn scope(&self, host: &str) -> Result<(String, String), String> {
        if let (Some(r), Some(s)) = (&self.region, &self.service) {
            return Ok((r.clone(), s.clone()));
        }
        let name = host.rsplit_once(':').map_or(host, |(h, port)| {
            if port.chars().all(|c| c.is_ascii_digit()) && !h.ends_with(':') {
                h
            } else {
                host
            }
        });
        let labels: Vec<&str> = name.split('.').collect();
        let is_ip = name.parse::<std::net::IpAddr>().is_ok() || name.starts_with('[');
        let named = labels.len() >= 4 && labels[..2].iter().all(|l| Spec::is_name(l));
        if is_ip || !named {
            return Err(format!(
                "the region and service cannot be taken from the host {}: name them, as in \
                 --aws-sigv4 {}:{}:REGION:SERVICE",
                crate::term::sanitize(host),
                self.provider1,
                self.provider2
            ));
        }
        Ok((
            self.region.clone().unwrap_or_else(|| labels[1].to_string()),
            self.service.clone().unwrap_or_else(|| labels[0].to_string()),
        ))
    }
}

/// What a request's signature covers, besides the credentials and the time.
#[derive(Clone, Copy)]
pub struct Request<'a> {
    pub method: &'a str,
    /// The `Host` header's value.
    pub host: &'a str,
    /// The path as the URL carries it (percent-encoded), and the query without `?`.
    pub path: &'a str,
    pub query: Option<&'a str>,
    /// The request's headers to sign besides `host` (which one of them replaces) and the ones
    /// added here.
    pub headers: &'a [(String, String)],
    /// The body, when it is known before sending; `None`: too large to read first.
    pub body: Option<&'a [u8]>,
}

/// The headers to add to the request: the date (unless the user gave it), the content hash
/// (for S3), and `Authorization`.
#[derive(Debug)]
pub struct Signed {
    pub headers: Vec<(String, String)>,
    pub authorization: Secret,
}

/// Signs `req` for `spec` with the key pair `creds` (user: the access key; password: the
/// secret) at `now` (`YYYYMMDDTHHMMSSZ`, used unless the user gave the date header).
pub fn sign(spec: &Spec, creds: &Credentials, req: &Request<'_>, now: &str) -> Result<Signed, String> {
    let (region, service) = spec.scope(req.host)?;
    let date_name = spec.date_header();
    let given_date = req.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(&date_name));
    let date = given_date.map_or(now, |(_, v)| v.trim());
    if date.len() < 8 || !date.is_char_boundary(8) || !date[..8].chars().all(|c| c.is_ascii_digit()) {
        return Err(format!("the {date_name} header must start with the date as YYYYMMDD"));
    }
    let mut added = Vec::new();
    if given_date.is_none() {
        added.push((date_name.clone(), date.to_string()));
    }
    let payload = match req.body {
        Some(b) => hex(&Sha256::digest(b)),
        None => "UNSIGNED-PAYLOAD".to_string(),
    };
    let content_name = spec.content_header();
    let given_content = req.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(&content_name));
    if service == "s3" && !given_content {
        added.push((content_name, payload.clone()));
    }

    // Canonical headers: lower-case names, values trimmed with inner runs of spaces as one,
    // sorted by name; several of one name are joined with commas.
    let mut headers: Vec<(String, String)> = vec![("host".into(), req.host.to_string())];
    for (n, v) in req.headers.iter().chain(added.iter()) {
        // A name that is not an HTTP token cannot be sent, so it is not signed either.
        if n.is_empty() || !n.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)) {
            continue;
        }
        let name = n.to_ascii_lowercase();
        if name == "host" {
            headers[0].1 = v.trim().to_string();
            continue;
        }
        headers.push((name, v.split_whitespace().collect::<Vec<_>>().join(" ")));
    }
    headers.sort_by(|a, b| a.0.cmp(&b.0));
    let mut canonical_headers = String::new();
    let mut names: Vec<&str> = Vec::new();
    for (name, value) in &headers {
        if names.last() == Some(&name.as_str()) {
            canonical_headers.pop();
            canonical_headers.push(',');
        } else {
            canonical_headers.push_str(name);
            canonical_headers.push(':');
            names.push(name);
        }
        canonical_headers.push_str(value);
        canonical_headers.push('\n');
    }
    let signed_headers = names.join(";");

    let path = if req.path.is_empty() { "/" } else { req.path };
    let canonical = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method,
        path,
        canonical_query(req.query.unwrap_or("")),
        canonical_headers,
        signed_headers,
        payload
    );

    let p1_upper = spec.provider1.to_ascii_uppercase();
    let p1_lower = spec.provider1.to_ascii_lowercase();
    let algorithm = format!("{p1_upper}4-HMAC-SHA256");
    let day = &date[..8];
    let scope = format!("{day}/{region}/{service}/{p1_lower}4_request");
    let to_sign = format!("{algorithm}\n{date}\n{scope}\n{}", hex(&Sha256::digest(canonical.as_bytes())));
    let mut key = hmac(format!("{p1_upper}4{}", creds.password.expose()).as_bytes(), day.as_bytes());
    for part in [region.as_str(), service.as_str(), &format!("{p1_lower}4_request")] {
        key = hmac(&key, part.as_bytes());
    }
    let signature = hex(&hmac(&key, to_sign.as_bytes()));
    let authorization = Secret::new(format!(
        "{algorithm} Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
        creds.user
    ));
    Ok(Signed { headers: added, authorization })
}

/// The query's `name=value` pairs sorted (as bytes), each as the URL carries it; a pair without
/// `=` gets an empty value. (curl 7.88 keeps the URL's order, which AWS refuses unless it is
/// already sorted.)
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<String> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| if p.contains('=') { p.to_string() } else { format!("{p}=") })
        .collect();
    pairs.sort();
    pairs.join("&")
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `YYYYMMDDTHHMMSSZ` for seconds since the Unix epoch (UTC).
pub fn amz_date(unix: u64) -> String {
    let (y, m, d, hour, minute, second) = crate::utc::civil(i64::try_from(unix).unwrap_or(i64::MAX));
    format!("{y:04}{m:02}{d:02}T{hour:02}{minute:02}{second:02}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example_creds() -> Credentials {
        // The key pair of AWS's published SigV4 examples.
        Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    }

    fn spec(s: &str) -> Spec {
        Spec::parse(s).unwrap()
    }

    /// AWS's worked example (General Reference, "Signature Version 4 signing process"): IAM
    /// ListUsers, 2015-08-30 12:36:00 UTC.
    #[test]
    fn the_aws_documentation_example() {
        let headers = vec![(
            "Content-Type".to_string(),
            "application/x-www-form-urlencoded; charset=utf-8".to_string(),
        )];
        let req = Request {
            method: "GET",
            host: "iam.amazonaws.com",
            path: "/",
            query: Some("Action=ListUsers&Version=2010-05-08"),
            headers: &headers,
            body: Some(b""),
        };
        let signed =
            sign(&spec("aws:amz:us-east-1:iam"), &example_creds(), &req, "20150830T123600Z").unwrap();
        assert_eq!(
            signed.authorization.expose(),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, \
             Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        );
        assert_eq!(signed.headers, vec![("x-amz-date".to_string(), "20150830T123600Z".to_string())]);
    }

    /// Signatures curl 7.88.1 computed for the same requests (`curl --aws-sigv4
    /// aws:amz:us-east-1:svc -u AKIDEXAMPLE:secret -H 'X-Amz-Date: 20150830T123600Z' …
    /// http://127.0.0.1:18090/a/b?a=2&x=1`, as an echo server received them). curl 7.88 does not
    /// sort the query (AWS requires it sorted): its `?x=1&a=2` gives another signature, one that
    /// AWS would refuse.
    #[test]
    fn curls_signatures() {
        let creds = Credentials::new("AKIDEXAMPLE", "secret");
        let date = vec![("X-Amz-Date".to_string(), "20150830T123600Z".to_string())];
        let mut more = date.clone();
        more.push(("X-Foo".into(), "  bar  baz ".into()));
        more.push(("content-type".into(), "text/plain".into()));
        let get = Request {
            method: "GET",
            host: "127.0.0.1:18090",
            path: "/a/b",
            query: Some("a=2&x=1"),
            headers: &date,
            body: Some(b""),
        };
        let cases = [
            (get, "host;x-amz-date", "9f2392aff5b7b5e1c6d2b39bff4bc2def3d5eff0ca7fce859950e337696601ad"),
            (
                Request { headers: &more, ..get },
                "content-type;host;x-amz-date;x-foo",
                "f6c3a72337d792cb5c2dbba9ba4f7811728cb07c17fa06cf1a29a27af3f01b05",
            ),
            (
                Request { method: "POST", query: None, body: Some(b"hello"), ..get },
                "host;x-amz-date",
                "688a072ba748cee66935ad98047f548e0292d9093186102b83a24c850cf58ea1",
            ),
        ];
        for (req, names, signature) in cases {
            let signed = sign(&spec("aws:amz:us-east-1:svc"), &creds, &req, "20261204T000000Z").unwrap();
            assert!(signed.headers.is_empty(), "the date was given, no content hash: nothing added");
            assert_eq!(
                signed.authorization.expose(),
                format!(
                    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/svc/aws4_request, \
                     SignedHeaders={names}, Signature={signature}"
                )
            );
        }
    }

    #[test]
    fn region_and_service_come_from_a_host_name_that_has_them() {
        let s = spec("aws:amz");
        assert_eq!(s.scope("ec2.us-east-1.amazonaws.com").unwrap(), ("us-east-1".into(), "ec2".into()));
        assert_eq!(s.scope("ec2.us-east-1.amazonaws.com:443").unwrap(), ("us-east-1".into(), "ec2".into()));
        for host in ["127.0.0.1:9000", "[::1]:9000", "localhost", "s3.amazonaws.com", "a b.r\n.x.y"] {
            let e = s.scope(host).unwrap_err();
            assert!(e.contains("aws:amz:REGION:SERVICE"), "{e}");
        }
        assert_eq!(spec("aws:amz:eu-west-1").scope("ec2.x.example.com").unwrap().0, "eu-west-1");
    }

    #[test]
    fn the_spec_is_checked() {
        assert_eq!(
            spec("aws"),
            Spec { provider1: "aws".into(), provider2: "aws".into(), region: None, service: None }
        );
        assert_eq!(spec("goog:goog:auto:storage").date_header(), "x-goog-date");
        for bad in ["", "aws::r:s", "a:b:c:d:e", "aws:amz:us east:s3", "aws:amz:r:\u{1b}[31m"] {
            assert!(Spec::parse(bad).is_err(), "{bad:?}");
        }
        assert!(!Spec::parse("aws:amz:r:\u{1b}[31m").unwrap_err().contains('\u{1b}'));
    }

    #[test]
    fn s3_gets_the_content_hash_and_large_bodies_go_unsigned() {
        let creds = example_creds();
        let req = Request { method: "PUT", host: "h", path: "/k", query: None, headers: &[], body: None };
        let signed = sign(&spec("aws:amz:us-east-1:s3"), &creds, &req, "20150830T123600Z").unwrap();
        assert_eq!(
            signed.headers,
            vec![
                ("x-amz-date".to_string(), "20150830T123600Z".to_string()),
                ("x-amz-content-sha256".to_string(), "UNSIGNED-PAYLOAD".to_string()),
            ]
        );
        assert!(signed
            .authorization
            .expose()
            .contains("SignedHeaders=host;x-amz-content-sha256;x-amz-date,"));
        let req = Request { body: Some(b""), ..req };
        let signed = sign(&spec("aws:amz:us-east-1:s3"), &creds, &req, "20150830T123600Z").unwrap();
        assert_eq!(signed.headers[1].1, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }

    #[test]
    fn a_bad_given_date_is_an_error() {
        let date = vec![("x-amz-date".to_string(), "yesterday".to_string())];
        let req = Request { method: "GET", host: "h", path: "/", query: None, headers: &date, body: None };
        assert!(sign(&spec("aws:amz:r:s"), &example_creds(), &req, "20150830T123600Z").is_err());
    }

    #[test]
    fn dates() {
        assert_eq!(amz_date(0), "19700101T000000Z");
        assert_eq!(amz_date(1_440_938_160), "20150830T123600Z");
        assert_eq!(amz_date(1_709_210_096), "20240229T123456Z");
        assert_eq!(amz_date(4_102_444_799), "20991231T235959Z");
    }
}
