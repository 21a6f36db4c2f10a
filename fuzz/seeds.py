#!/usr/bin/env python3
"""Writes the seed corpora, fuzz/corpus/<target>/seed-NN, from the inputs of toll's unit tests
(src/auth/challenge.rs, digest.rs, ntlm/tests.rs, negotiate.rs, proxy_env/tests.rs, store.rs,
remembered.rs). Re-run after changing it; the files are committed. Grown corpora are not."""
import base64, json, os, shutil, struct, sys

HERE = os.path.dirname(os.path.abspath(__file__))

CHALLENGES = [
    'Basic realm="WallyWorld"',
    'Basic realm="corp proxy", charset="UTF-8"',
    r'Digest realm="a, b", nonce="x\"y\\z", Basic realm="c"',
    'Negotiate\nNTLM\nDigest realm="r", nonce="n"\nBasic realm="r"',
    'digest REALM="r", Nonce="n", algorithm=md5, QOP="auth"',
    ' ,, Basic  realm = "x" ,\t, charset=UTF-8 ,\n\n , ',
    'Digest opaque="", nonce=abc/def==, realm="caf\u00e9"',
    r'Digest realm="x" nonce="y", qop="auth", Basic realm="z"',
    r'@@@ realm="a,b", Basic realm="z", Digest realm=, nonce="n"',
    'Basic realm="z"\nDigest realm="unterminated, Basic realm="q"',
    'NTLM TlRMTVNTUAACAAAADAAMADAAAAA1goniT+/8ag==, Basic realm="x"\n'
    'Negotiate oRUwE6ADCgEBoQwGCisGAQQBgjcCAgo=\nNegotiate, NTLM',
    r'Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple"',
    'Bearer, Mutual abc=, Digest realm="d", nonce="n"',
    'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, '
    'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", '
    'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"',
    'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, '
    'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", '
    'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"',
    'Digest realm="api@example.org", qop="auth", algorithm=SHA-512-256, '
    'nonce="5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK", '
    'opaque="HRPCssKJSGjCrkzDg8OhwpzCiGPChXYjwrI2QmXDnsOS", charset=UTF-8, userhash=true',
    'Digest realm="r", nonce="n", qop="auth-int", algorithm=SHA-256-sess',
    'Digest realm="r", nonce="n", algorithm=MD5-sess, stale=true',
    'Digest realm="r", nonce="n", algorithm=SHA-999',
    'Digest realm="r", nonce="n", qop="auth-conf"',
    'Digest realm="r", nonce="n", domain="/a /b", opaque=o',
    'Digest realm="r", nonce="n", userhash=true, charset="UTF-8"',
    'Basic realm="\u00e9t\u00e9", charset="ISO-8859-1"',
]

SPEC_CHALLENGE = bytes.fromhex(
    "4e544c4d53535000020000000c000c003800000033828ae20123456789abcdef"
    "00000000000000002400240044000000060070170000000f5300650072007600650072000200"
    "0c0044006f006d00610069006e0001000c0053006500720076006500720000000000")
SQUID_FAKE = base64.b64decode("TlRMTVNTUAACAAAACQAJAK6qqqoHggig/8uVL+4SlFAAAAAAAAA6AFdPUktHUk9VUA==")


def ntlm_variants():
    out = [SPEC_CHALLENGE, SQUID_FAKE]
    m = bytearray(SPEC_CHALLENGE); m[12:14] = b"\0\0"; out.append(bytes(m))  # empty TargetName
    m = bytearray(SPEC_CHALLENGE)  # OEM only
    m[20:24] = struct.pack("<I", 0xE28A8233 & ~1); m[12:14] = b"\x06\0"; m[56:62] = b"Server"
    out.append(bytes(m))
    m = bytearray(SPEC_CHALLENGE[:32]); m[12:14] = b"\0\0"  # the old 32-byte form
    m[20:24] = struct.pack("<I", 0xE28A8233 & ~0x00800000); out.append(bytes(m))
    # With MsvAvTimestamp and MsvAvFlags (MIC path).
    av = (struct.pack("<HH", 2, 12) + "Domain".encode("utf-16-le")
          + struct.pack("<HH", 7, 8) + struct.pack("<Q", 132_000_000_000_000_000)
          + struct.pack("<HHI", 6, 4, 0) + struct.pack("<HH", 0, 0))
    head = (b"NTLMSSP\0" + struct.pack("<I", 2) + struct.pack("<HHI", 12, 12, 56)
            + struct.pack("<I", 0xE28A8235) + bytes(range(8)) + bytes(8)
            + struct.pack("<HHI", len(av), len(av), 68) + bytes.fromhex("0600701700000000f"[:16]))
    out.append(head + "Server".encode("utf-16-le") + av)
    return out


PROXY_URLS = [
    "proxy.corp", "https://proxy.corp", "socks5h://proxy.corp", "socks4://proxy.corp",
    "http://proxy.corp:3128/", "proxy.corp:", "HTTP://Proxy.Corp:8080",
    "http://proxy.corp:8080/ignored/path?q", "  proxy:1  ", "http://al%40ice:p%3Ass%2Fw@proxy:3128",
    "http://bob@proxy", "http://bob:@proxy", "http://bob:a:b@c@proxy:1", "http://@proxy", "[::1]:3128",
    "https://[2001:DB8::1]", "ftp://proxy", "", "http://", "http://:80", "proxy:0", "proxy:65536",
    "proxy:http", "proxy:+80", "::1:80", "[::1", "[nothex]:1", "[::1]x", "pro xy", "http://u:p@",
    "http://alice:s3cret@proxy:99999", "http://u:%ff@proxy", "socks4a://u:p@[fe80::1]:1080/x#y",
]

NO_PROXY = [
    ("*", "http://example.com/"), ("a.com,*", "http://b.com/"), ("*.", "http://b.com/"),
    ("example.com", "http://example.com./"), ("a.example.com", "http://example.com/"),
    ("", "http://e.com/"), (" , ,", "http://e.com/"), ("localhost", "http://127.0.0.1/"),
    ("localhost", "http://LOCALHOST/"), ("10.1.2.3", "http://10.1.2.3/"),
    ("::1", "http://[::1]:8080/"), ("[::1]", "http://[::1]/"), ("[0:0::1]", "http://[::1]/"),
    ("1.2", "http://1.2.3.4/"), ("10.0.0.1", "http://10.0.0.1.nip.io/"),
    ("10.0.0.0/8", "http://10.200.3.4/"), ("192.168.1.77/24", "http://192.168.1.5/"),
    ("0.0.0.0/0", "http://[::1]/"), ("fd00::/8", "http://[fd12:3456::1]/"),
    ("[fd00::]/8", "http://[fd12::1]/"), ("[fd00::/8]", "http://[fd12::1]/"),
    ("10.0.0.0/33,fd00::/129", "http://10.0.0.1/"), ("example.com:8080", "http://a.example.com:8080/"),
    ("example.com:443", "https://example.com/"), ("10.0.0.1:81", "http://10.0.0.1/"),
    ("[::1]:8080", "http://[::1]:8081/"), ("example.com:notaport", "http://example.com/"),
    (".corp.example *.example.org\tintranet", "http://wiki.corp.example/"),
]

SETTINGS = [
    "save_credentials = ask\nkeyring = auto\n",
    "# comment\n\nsave_credentials = \"always\"\n",
    "keyring=secret-service", "keyring = keyutils\nsave_credentials = never\n",
    "save_credentials = yes\r\nkeyring = none\r\n", "bogus = 1\n", "no equals sign\n",
    "  save_credentials=no  \n#x=y\n",
]

DIGEST_MEMORY = {"scheme": "Digest", "params": [["realm", "r"], ["nonce", "n"], ["qop", "auth"],
                 ["algorithm", "SHA-256"], ["opaque", "o"]], "cnonce": "0a4f113b", "next_nc": 3}
STATE = [
    {"version": 1, "proxies": {"http://proxy:3128": {"user": "alice", "realm": "r", "memory": DIGEST_MEMORY}}},
    {"version": 1, "proxies": {"http://proxy:3128": {"user": "bob", "memory": {"scheme": "Basic"}}}},
    {"version": 1, "proxies": {"http://p:1": {"user": "alice", "realm": None,
                                              "memory": dict(DIGEST_MEMORY, next_nc=10000)},
                               "http://q:2": {"user": "bob", "memory": dict(DIGEST_MEMORY, next_nc=0)}}},
    {"version": 1, "proxies": {"http://p:1": {"user": "alice", "store": "keyutils", "scheme": "Digest",
                                              "updated": 1700000000},
                               "http://q:2": {"user": "bob", "store": "secret-service"}}},
    {"version": 1, "proxies": {}},
]


def dns_name(n):
    return b"".join(bytes([len(l)]) + l.encode() for l in n.split(".")) + b"\0"


def dns_seed(qtype, name, flags, records):
    """A dns target input: selector (0 A, 1 AAAA), the name's length, the name, then a DoH
    answer to toll's query for it (ID 0, one question) with these answer records."""
    code = 1 if qtype == 0 else 28
    msg = struct.pack(">HHHHHH", 0, flags, 1, len(records), 0, 0) + dns_name(name) + struct.pack(">HH", code, 1)
    for owner, rtype, data in records:
        msg += owner + struct.pack(">HHIH", rtype, 1, 60, len(data)) + data
    return bytes([qtype, len(name)]) + name.encode() + msg


def dns_seeds():
    q = b"\xc0\x0c"  # a pointer to the question's name
    six = bytes(15) + b"\x01"
    return [
        dns_seed(0, "doh-a.test", 0x8180, [(q, 1, bytes([127, 0, 0, 1]))]),
        dns_seed(1, "doh-six.test", 0x8180, [(q, 28, six)]),
        dns_seed(0, "doh-cname.test", 0x8180, [(q, 5, dns_name("mid.test")),
                                               (dns_name("mid.test"), 5, dns_name("doh-a.test")),
                                               (dns_name("doh-a.test"), 1, bytes([127, 0, 0, 1]))]),
        dns_seed(0, "a.test", 0x8180, [(q, 5, dns_name("b.test")), (dns_name("b.test"), 5, b"\xc0\x0c")]),
        dns_seed(0, "nx.test", 0x8183, []),
        dns_seed(1, "f.test", 0x8182, []),
        dns_seed(0, "t.test", 0x8380, []),
        dns_seed(0, "x.test", 0x8180, [(dns_name("other.test"), 1, bytes(4)), (q, 16, b"\x03txt"),
                                       (q, 1, bytes([10, 0, 0, 2]))]),
    ]


def write(target, items):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    for name in os.listdir(d):
        if name.startswith("seed-"):
            os.remove(os.path.join(d, name))
    for i, item in enumerate(items):
        data = item.encode() if isinstance(item, str) else item
        with open(os.path.join(d, f"seed-{i:02}"), "wb") as f:
            f.write(data)


PAC_SCRIPTS = [
    # What corporate PACs look like: the Netscape helpers, lists with fail-over, SOCKS.
    'function FindProxyForURL(url, host) {\n'
    '  if (isPlainHostName(host) || dnsDomainIs(host, ".corp") || shExpMatch(host, "10.*")) return "DIRECT";\n'
    '  if (isInNet(dnsResolve(host), "10.0.0.0", "255.0.0.0")) return "DIRECT";\n'
    '  if (url.substring(0, 6) == "https:") return "PROXY proxy.corp:8443; PROXY 10.0.0.9:3128; DIRECT";\n'
    '  return "PROXY proxy.corp:3128; SOCKS5 10.0.0.7:1080";\n}\n',
    'var pool = ["PROXY a.corp:1", "PROXY b.corp:2"];\nvar n = 0;\n'
    'function FindProxyForURL(url, host) { n++; return pool[n % 2] + "; DIRECT"; }\n',
    'function FindProxyForURLEx(url, host) {\n'
    '  if (isInNetEx(myIpAddressEx(), "10.0.0.0/8")) return "HTTPS secure.corp:443";\n'
    '  return sortIpAddressList(dnsResolveEx(host)) ? "PROXY [fd00::1]:3128" : "DIRECT";\n}\n',
    'function FindProxyForURL(url, host) {\n'
    '  if (weekdayRange("MON", "FRI") && timeRange(8, 18) && dateRange("JAN", "DEC")) return "PROXY p:80";\n'
    '  if (localHostOrDomainIs(host, "www.example.com") || dnsDomainLevels(host) > 3) return "DIRECT";\n'
    '  alert("fell through for " + url); return "SOCKS s:1080";\n}\n',
    '/* a PAC that misbehaves */ function FindProxyForURL(u, h) { for (;;) {} }',
    'function FindProxyForURL(u, h) { return /^(a+)+$/.test("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!") ? "DIRECT" : "PROXY x:1"; }',
    'var s = "x"; while (true) s += s; function FindProxyForURL() { return "DIRECT"; }',
    'function f(n) { return f(n + 1); } function FindProxyForURL(u, h) { return f(0); }',
    'function FindProxyForURL(u, h) { return shExpMatch(u, "*://*.example.com/*") ? "PROXY [::1]:8080" : 42; }',
    '<html><body>Please log in</body></html>',
    '\ufefffunction FindProxyForURL(url, host) { return "PROXY " + host + ":" + convert_addr("10.1.2.3"); }',
]

PAC_HELPER_CALLS = [
    b"\x04example.com\x0010.0.0.0\x00255.0.0.0", b"\x05intranet.corp", b"\x06n1e3",
    b"\x09www.example.com\x00*.example.*", b"\x09a\nb\x00a?b", b"\x09abc\x00[a-c]*(", b"\x14x.y\x00*.?",
    b"\x0aMON\x00FRI\x00GMT", b"\x0bn1\x00JAN\x00n2030\x00n31\x00DEC\x00n1990", b"\x0cn8\x00n30\x00n17\x00n0\x00GMT",
    b"\x0f2001:db8::1\x002001:db8::/32", b"\x10v6.only", b"\x1210.0.0.1;fd00::1; ::1 ;192.0.2.1",
    b"\x02www\x00owww.example.com", b"\x0d\xe2\x80\xae\x1b[2J", b"\x15\x00u",
]


def pem_der(name):
    """The DER bytes of a PEM certificate among the test fixtures (tests/it/x509v1)."""
    path = os.path.join(HERE, "..", "tests", "it", "x509v1", name)
    with open(path) as f:
        body = "".join(l.strip() for l in f if not l.startswith("-----"))
    return base64.b64decode(body)


def main():
    write("challenges", CHALLENGES)
    write("pac_script", PAC_SCRIPTS)
    write("pac_helpers", PAC_HELPER_CALLS)
    write("x509v1", [pem_der(n) for n in ("leaf.pem", "self.pem", "ca.pem", "fake-ca.pem")])
    write("respond", [bytes([i % 8]) + c.encode() for i, c in enumerate(CHALLENGES)])
    write("ntlm_type2", [bytes([i % 5]) + m for i, m in enumerate(ntlm_variants())])
    write("negotiate_token", ["oRUwE6ADCgEBoQwGCisGAQQBgjcCAgo=", "YIIBzwYGKwYBBQUCoIIBwzCCAb8=",
                              "oRUwE6ADCgEBoQwGCisGAQQBgjcCAgo", "/w==", "not base64!", "===", ""])
    write("proxy_url", PROXY_URLS)
    write("no_proxy", [f"{a}\n{a.split(',')[0]}\n{u}" for a, u in NO_PROXY])
    write("settings", SETTINGS)
    write("state_files", [json.dumps(s, indent=2) + "\n" for s in STATE] + ["{ not json", ""])
    # digest_params takes structured input (arbitrary): seed it with a few byte strings that
    # decode to non-trivial inputs; the fuzzer finds the structure from there.
    write("digest_params", [bytes(range(i, i + 64)) for i in range(0, 192, 32)]
          + [c.encode() for c in CHALLENGES[13:18]])
    # forwarded_head: a selector byte (method, version, `*`), then `name: value` lines, from
    # src/serve/via.rs and max_forwards.rs's tests.
    write("forwarded_head", [
        b"\x01max-forwards: 1\nvia: 1.1 squid.corp (squid/5.7), 1.0 fred",
        b"\x02max-forwards: 0\nauthorization: Basic b3JpZ2luOnNlY3JldA==\ncookie: session=s3cret",
        b"\x0aconnection: via, keep-alive\nvia: toll-00000000 x (toll-00000000)",
        b"\x05max-forwards: 99999999999999999999999\nvia: 1.1 proxy.corp (Stra\xc3\x9fe)",
        b"\x00max-forwards: two\nvia: ,, 1.1 a (b, c)",
    ])
    # socks_reply: a selector byte (0 method choice, 1 RFC 1929 status, 2 SOCKS5 reply,
    # 3 SOCKS4 reply), then what the proxy sent, from src/serve/socks.rs's tests.
    # dns: a selector byte (A or AAAA), the name's length and the name, then a DoH server's
    # answer, from src/dns.rs's tests.
    write("dns", dns_seeds())
    write("socks_reply", [
        b"\x00\x05\x02",
        b"\x01\x01\x00",
        b"\x02\x05\x00\x00\x01\x7f\x00\x00\x01\x1f\x90tunnel bytes",
        b"\x02\x05\x05\x00\x03\x03abc\x00\x50",
        b"\x02\x05\x00\x00\x04" + bytes(15) + b"\x01\x00\x50",
        b"\x03\x00\x5a\x00\x50\x0a\x00\x00\x01",
    ])
    # aws_sigv4: the --aws-sigv4 value, then host, path, query and `name:value` header lines,
    # from src/auth/sigv4.rs's tests (the body is the whole input).
    write("aws_sigv4", [
        "aws:amz:us-east-1:iam\niam.amazonaws.com\n/\nAction=ListUsers&Version=2010-05-08\n"
        "Content-Type:application/x-www-form-urlencoded; charset=utf-8\nX-Amz-Date:20150830T123600Z",
        "aws:amz:us-east-1:svc\n127.0.0.1:18090\n/a/b\na=2&x=1\nX-Foo:  bar  baz \ncontent-type:text/plain",
        "aws:amz\nec2.us-east-1.amazonaws.com:443\n/\n\nhost:other\nHOST:again",
        "goog:goog:auto:storage\nh\n/k\nb&a=&c=3\nx-goog-date:yesterday",
        "aws:amz:eu-west-1:s3\nbucket.s3.eu-west-1.amazonaws.com\n/%20k\n\nx-amz-content-sha256:UNSIGNED-PAYLOAD",
    ])
    # hsts: an --hsts cache file, then NUL, then `host Strict-Transport-Security` lines, from
    # src/client/hsts.rs's tests.
    write("hsts", [
        "# comment\n.example.com \"20300101 00:00:00\"\nPlain.Test. \"unlimited\"\nold.test \"20000101 00:00:00\"\n"
        "bad line\nno.date \"soon\"\n\0a.test max-age=60\nb.test max-age=0",
        "\0A.Test max-age=60; includeSubDomains\n127.0.0.1 max-age=60\n[::1] max-age=60\nbig.test max-age=99999999999999999999",
        "x \"20240229 23:59:59\"\n\0x  INCLUDESUBDOMAINS ;MAX-AGE=\"60\" ; preload\nx max-age=0",
        "\0a.test max-age=1; max-age=2\na.test includeSubDomains\na.test max-age=\"5",
    ])
    # alt_svc: an --alt-svc cache file, then NUL, then `alpn host port Alt-Svc-value` lines (what
    # servers sent), from src/client/alt_svc.rs's tests.
    write("alt_svc", [
        "# c\nh1 localhost 4431 h2 localhost 4432 \"20300101 00:00:00\" 0 0\n\th2   a.test   1 h3 b.test 2 "
        "\"20000101 00:00:00\" 1 5 extra\nh1 a.test 99999 h2 b.test 2 \"20300101 00:00:00\" 0 0\n"
        "h1 [::1] 1 h2 [::1] 2 \"20300101 00:00:00\" 0 0\nbad line\n\0h1 localhost 4431 h2=\":4432\"; ma=60",
        "\0h1 o.test 443 h2=\"other.test:443\", h1=\":4432\"; ma=100\nh2 o.test 443 clear\n"
        "h1 o.test 443 h3=\":4433\", foo=\":1\", h1=\":4435\"; persist=1",
        "\0h1 o.test 443 h2=\":4432\"; ma=-5\nh1 o.test 443 h2=\":4432\"; ma=99999999999\n"
        "h1 ::1 1 h2=\":4432\", h1=\"b.test\"\nh1 x 1 h2=\":4432\"; persist\nh1 x 1 clear;",
    ])
    # form: a -F argument (its bytes after the first also the content to encode, the first the
    # encoder and the cut), from src/cli/form_parse.rs's and src/client/form_encode.rs's tests.
    write("form", [
        "f=@a.txt;type=text/x;encoder=base64,\"b,c.bin\";filename=z.png, -",
        "a=b;type=text/plain; charset=x ;x=1;filename=f.txt",
        "m=\" a \\\" b\";encoder=quoted-printable",
        "g=<note.txt;filename=x.png;encoder=BASE64",
        "f=@a;type=a/b;q=1,b;encoder=8bit",
        b"\x01line one = equals\tand tab \r\nspaces at end   \r\n" + b"x" * 74 + b"\xe9\r\n" + b"w" * 200
        + b"\nbare lf\rbare cr end \t",
        b"\x40" + bytes(range(256)),
    ])

    # wire_heads: chunks of (selector: bit 0 a write, length, bytes) — a request written, then a
    # server's 1xx and final heads read, cut anywhere; from src/client/wire.rs's tests.
    def chunks(*parts):
        out = b""
        for sent, data in parts:
            data = data if isinstance(data, bytes) else data.encode()
            out += bytes([1 if sent else 0, len(data)]) + data
        return out
    req = (True, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    write("wire_heads", [
        chunks(req, (False, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")),
        chunks(req, (False, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n"),
               (False, "\r\nHTTP/1.1 201 Created\r\n"), (False, "X-A: 1\r\n\r\nbody")),
        chunks(req, (False, "HTTP/1.0 302 Found\nLocation: /x\n\n"), req, (False, "HTTP/1.1 204 No Content\r\n\r\n")),
        chunks(req, (False, "\x00\x00\x12\x04\x00\x00\x00\x00\x00"), req, (False, "HTTP/1.1 200 OK\r\n\r\n")),
    ])
    # redirect_hop: a selector (status, body, -X, --follow), the first URL's index, the Location;
    # from src/client/redirect.rs's tests.
    write("redirect_hop", [
        b"\x00\x00/next",
        b"\x09\x01https://b.test/x?y#z",
        b"\x1a\x02//other.test:81/p",
        b"\x2b\x03../up/\xc3\xa9 t",
        b"\x0c\x00  \t ",
        b"\x03\x02[::2]/x",
        b"\x04\x01?only-a-query",
    ])

    # content_decode: a selector (first coding in bits 0-2, second in 3-5, bit 6 both), the piece
    # size, the body; codings as in src/client/decode.rs's tests (brotli and zstd: fixed bytes
    # below, as Python's standard library has neither).
    import gzip as gz, zlib
    text = b"toll decodes what the server compressed, as curl does. " * 8
    raw = zlib.compressobj(wbits=-15)
    raw = raw.compress(text) + raw.flush()
    write("content_decode", [
        b"\x00\x07" + gz.compress(text),
        b"\x01\x03" + zlib.compress(text),
        b"\x01\x40" + raw,
        b"\x02\x05" + BROTLI_HELLO,
        b"\x03\x02" + ZSTD_HELLO,
        b"\x40\x09" + gz.compress(gz.compress(text)),
        b"\x43\x10" + ZSTD_HELLO,
        b"\x07\x01abc",
        b"\x00\x04" + gz.compress(text)[:40],
    ])


# "hello, hello, hello\n" coded by brotli (quality 5) and zstd (level 3).
BROTLI_HELLO = bytes.fromhex("1b13000024154058721045a2a9c4737a27")
ZSTD_HELLO = bytes.fromhex("28b52ffd04587500004068656c6c6f2c200a0100e28a1121699d87")


if __name__ == "__main__":
    sys.exit(main())
