use super::*;
use crate::creds::{CredentialSource, FixedSource};
use crate::secret::Secret;

/// Every parser: a message's prefixes all ask for more, and it is read exactly to its end.
fn exact<T: std::fmt::Debug + PartialEq>(parse: impl Fn(&[u8]) -> Result<Parsed<T>, Malformed>, msg: &[u8]) {
    let mut with_more = msg.to_vec();
    with_more.extend_from_slice(b"tunnel bytes");
    let Ok(Parsed::Done(whole, used)) = parse(&with_more) else { panic!("{msg:?} is whole") };
    assert_eq!(used, msg.len(), "{msg:?}");
    for k in 0..msg.len() {
        match parse(&msg[..k]) {
            Ok(Parsed::Need(n)) => assert!(n > k && n <= msg.len(), "{k} → {n}"),
            other => panic!("a prefix of {k} bytes: {other:?}"),
        }
    }
    assert_eq!(parse(msg), Ok(Parsed::Done(whole, used)));
}

#[test]
fn replies_are_read_exactly_to_their_end() {
    exact(method_choice, &[5, 2]);
    exact(password_status, &[1, 0]);
    exact(reply5, &[5, 0, 0, 1, 127, 0, 0, 1, 0x1f, 0x90]);
    exact(reply5, &[5, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 80]);
    exact(reply5, &[5, 5, 0, 3, 3, b'a', b'b', b'c', 0, 80]);
    exact(reply4, &[0, 90, 0, 80, 10, 0, 0, 1]);
    assert_eq!(reply5(&[5, 0, 0, 3, 3, b'a', b'b', b'c', 0, 80]), Ok(Parsed::Done(0, 10)));
    assert_eq!(password_status(&[1, 1]), Ok(Parsed::Done(false, 2)));
    assert!(reply5(&[4, 0, 0, 1, 0]).is_err());
    assert!(reply5(&[5, 0, 0, 9, 0]).is_err(), "unknown address type");
    assert!(method_choice(&[4, 0]).is_err());
    assert!(reply4(&[5, 90, 0, 0, 0, 0, 0, 0]).is_err());
}

#[test]
fn requests_follow_the_rfcs() {
    assert_eq!(greeting(), [5, 2, 0, 2]);
    assert_eq!(
        request5(&Dest::Name("example.com".into()), 443).unwrap(),
        [&[5, 1, 0, 3, 11][..], b"example.com", &[1, 0xbb]].concat()
    );
    assert_eq!(
        request5(&Dest::Ip("10.1.2.3".parse().unwrap()), 80).unwrap(),
        [5, 1, 0, 1, 10, 1, 2, 3, 0, 80]
    );
    let v6 = request5(&Dest::Ip("::1".parse().unwrap()), 80).unwrap();
    assert_eq!((v6[3], v6.len(), v6[19]), (4, 22, 1));
    assert!(request5(&Dest::Name("a".repeat(256)), 80).is_err());
    assert_eq!(password_request("al", b"pw").unwrap(), [1, 2, b'a', b'l', 2, b'p', b'w']);
    assert!(password_request("", b"pw").is_err() && password_request("u", &[b'x'; 256]).is_err());
    assert_eq!(
        request4(&Dest::Ip("10.0.0.1".parse().unwrap()), 80, "bob").unwrap(),
        [4, 1, 0, 80, 10, 0, 0, 1, b'b', b'o', b'b', 0]
    );
    assert_eq!(
        request4(&Dest::Name("h".into()), 80, "").unwrap(),
        [4, 1, 0, 80, 0, 0, 0, 1, 0, b'h', 0],
        "SOCKS4a: 0.0.0.1 and the name after the user id"
    );
    assert!(request4(&Dest::Ip("::1".parse().unwrap()), 80, "").is_err());
    assert!(request4(&Dest::Name("h".into()), 80, "a\0b").is_err());
}

#[test]
fn literals_go_as_addresses_and_names_as_names() {
    assert_eq!(dest_for("host"), Dest::Name("host".into()));
    assert_eq!(dest_for("[::1]"), Dest::Ip("::1".parse().unwrap()));
    assert_eq!(dest_for("10.0.0.1"), Dest::Ip("10.0.0.1".parse().unwrap()));
}

const LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

fn ways(password: &str) -> Arc<Ways> {
    let password = password.to_string();
    let sources: SourceFactory = Arc::new(move |_: &ProxySpec| {
        vec![Box::new(FixedSource::new("-U", "alice", Some(Secret::from(password.clone()))))
            as Box<dyn CredentialSource>]
    });
    Arc::new(Ways::new(sources, Default::default(), Box::new(|_| {})))
}

fn spec(scheme: &str) -> ProxySpec {
    ProxySpec {
        scheme: scheme.into(),
        host: "127.0.0.1".into(),
        port: 1080,
        user: None,
        password: None,
        origin: "-x".into(),
    }
}

/// A proxy is one way per URL and credentials in it: the same URL again shares the broker
/// (and its verdicts); a new password in it (desktop settings read again on SIGHUP) gets a
/// broker of its own, so it is tried.
#[test]
fn a_new_password_in_the_proxy_url_is_a_new_way() {
    let ways = ways("pw");
    let with = |user: Option<&str>, password: Option<&str>| ProxySpec {
        user: user.map(Into::into),
        password: password.map(Secret::new),
        ..spec("socks5h")
    };
    let first = ways.broker(&with(Some("alice"), Some("one")));
    assert!(Arc::ptr_eq(&first, &ways.broker(&with(Some("alice"), Some("one")))));
    for other in [with(Some("alice"), Some("two")), with(Some("alice"), None), with(Some("bob"), Some("one"))]
    {
        assert!(!Arc::ptr_eq(&first, &ways.broker(&other)));
        assert!(key(&other) != key(&with(Some("alice"), Some("one"))));
    }
    assert!(key(&spec("socks5h")) != key(&spec("socks5")), "the scheme is part of the URL");
}

/// A SOCKS5 server on the other end of a pipe: wants `password` for alice, grants CONNECTs.
async fn server(mut s: tokio::io::DuplexStream, password: &'static str) -> Vec<Vec<u8>> {
    let mut seen = Vec::new();
    let mut g = [0u8; 4];
    s.read_exact(&mut g).await.unwrap();
    seen.push(g.to_vec());
    s.write_all(&[5, USER_PASSWORD]).await.unwrap();
    let mut head = [0u8; 2];
    s.read_exact(&mut head).await.unwrap();
    let mut user = vec![0u8; head[1] as usize];
    s.read_exact(&mut user).await.unwrap();
    let mut plen = [0u8; 1];
    s.read_exact(&mut plen).await.unwrap();
    let mut pw = vec![0u8; plen[0] as usize];
    s.read_exact(&mut pw).await.unwrap();
    seen.push(pw.clone());
    if pw != password.as_bytes() {
        s.write_all(&[1, 1]).await.unwrap();
        return seen;
    }
    s.write_all(&[1, 0]).await.unwrap();
    let mut req = [0u8; 10];
    s.read_exact(&mut req).await.unwrap();
    seen.push(req.to_vec());
    // The reply and the tunnel's first bytes in one write: the handshake must leave them.
    s.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 80, b'H', b'I']).await.unwrap();
    seen
}

#[tokio::test]
async fn a_password_is_sent_when_asked_and_a_rejected_one_never_again() {
    let ways = ways("right");
    let hop = Hop::new(&ways, spec("socks5h")).unwrap();
    let dest = Dest::Ip("127.0.0.1".parse().unwrap());
    let (mut a, b) = tokio::io::duplex(1024);
    let srv = tokio::spawn(server(b, "right"));
    hop.handshake(&mut a, &dest, 80, LIMIT).await.unwrap();
    let mut first = [0u8; 2];
    a.read_exact(&mut first).await.unwrap();
    assert_eq!(&first, b"HI", "the tunnel's first bytes are left for it");
    assert_eq!(srv.await.unwrap()[1], b"right");

    let ways = self::ways("wrong");
    let hop = Hop::new(&ways, spec("socks5h")).unwrap();
    let (mut a, b) = tokio::io::duplex(1024);
    let srv = tokio::spawn(server(b, "right"));
    let e = hop.handshake(&mut a, &dest, 80, LIMIT).await.unwrap_err();
    assert!(e.login.is_some() && e.message.contains("rejected the password for user \"alice\""), "{e}");
    assert!(!e.message.contains("wrong"), "{e}");
    assert_eq!(srv.await.unwrap().len(), 2, "refused after the password");
    // The next request, on another connection of the same server, does not send it again.
    let again = Hop::new(&ways, spec("socks5h")).unwrap();
    let (mut a, b) = tokio::io::duplex(1024);
    let srv = tokio::spawn(async move {
        let mut b = b;
        let mut g = [0u8; 4];
        b.read_exact(&mut g).await.unwrap();
        b.write_all(&[5, USER_PASSWORD]).await.unwrap();
        let mut rest = Vec::new();
        b.read_to_end(&mut rest).await.unwrap();
        rest
    });
    let e = again.handshake(&mut a, &dest, 80, LIMIT).await.unwrap_err();
    drop(a);
    assert!(
        e.message.contains("it is not sent again") && e.login.as_deref() == Some("socks5h://127.0.0.1:1080"),
        "{e}"
    );
    assert!(srv.await.unwrap().is_empty(), "nothing after the method choice");
}

/// A source that takes its time, as a person at the prompt does.
struct Slow;

impl CredentialSource for Slow {
    fn label(&self) -> String {
        "the prompt".into()
    }

    fn lookup(&self, _: &CredentialRequest) -> crate::creds::Lookup {
        std::thread::sleep(std::time::Duration::from_millis(400));
        crate::creds::Lookup::Found(crate::secret::Credentials::new("alice", "right"))
    }
}

#[tokio::test]
async fn the_limit_is_for_the_proxy_not_for_a_person_typing() {
    let limit = std::time::Duration::from_millis(150);
    let sources: SourceFactory = Arc::new(|_: &ProxySpec| vec![Box::new(Slow) as Box<dyn CredentialSource>]);
    let ways = Arc::new(Ways::new(sources, Default::default(), Box::new(|_| {})));
    let hop = Hop::new(&ways, spec("socks5h")).unwrap();
    let dest = Dest::Ip("127.0.0.1".parse().unwrap());
    let (mut a, b) = tokio::io::duplex(1024);
    let srv = tokio::spawn(server(b, "right"));
    hop.handshake(&mut a, &dest, 80, limit).await.expect("a slow lookup is not the proxy's delay");
    assert_eq!(srv.await.unwrap()[1], b"right");
    // A proxy that does not answer the greeting: 504 once the limit is over.
    let (mut a, _silent) = tokio::io::duplex(1024);
    let e = hop.handshake(&mut a, &dest, 80, limit).await.unwrap_err();
    assert_eq!(e.status, StatusCode::GATEWAY_TIMEOUT, "{e}");
    assert!(e.message.contains("no answer within"), "{e}");
}

#[tokio::test]
async fn refusals_become_the_right_status() {
    let ways = ways("x");
    let dest = Dest::Name("intranet".into());
    for (code, status) in [(2u8, 403u16), (5, 502), (6, 504), (1, 502)] {
        let hop = Hop::new(&ways, spec("socks5h")).unwrap();
        let (mut a, mut b) = tokio::io::duplex(1024);
        let srv = tokio::spawn(async move {
            let mut g = [0u8; 4];
            b.read_exact(&mut g).await.unwrap();
            b.write_all(&[5, NO_AUTH]).await.unwrap();
            let mut req = [0u8; 5 + 8 + 2];
            b.read_exact(&mut req).await.unwrap();
            b.write_all(&[5, code, 0, 1, 0, 0, 0, 0, 0, 0]).await.unwrap();
            req
        });
        let e = hop.handshake(&mut a, &dest, 8080, LIMIT).await.unwrap_err();
        assert_eq!(e.status.as_u16(), status, "{e}");
        assert!(e.message.contains("intranet:8080") && e.message.contains(&format!("(code {code})")), "{e}");
        assert_eq!(&srv.await.unwrap()[4..13], b"\x08intranet", "socks5h: the name goes to the proxy");
    }
    let hop = Hop::new(&ways, spec("socks4a")).unwrap();
    let (mut a, mut b) = tokio::io::duplex(1024);
    tokio::spawn(async move {
        let mut req = [0u8; 8 + 1 + 9];
        b.read_exact(&mut req).await.unwrap();
        b.write_all(&[0, 91, 0, 0, 0, 0, 0, 0]).await.unwrap();
    });
    let e = hop.handshake(&mut a, &dest, 80, LIMIT).await.unwrap_err();
    assert!(e.message.contains("rejected or failed (code 91)"), "{e}");
    assert!(Hop::new(&ways, spec("http")).is_none());
}
