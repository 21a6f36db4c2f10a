# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_toll_global_optspecs
    string join \n x/proxy= proxy1.0= socks4= socks4a= socks5= socks5-hostname= preproxy= U/proxy-user= pac= wpad noproxy= proxy-basic proxy-digest proxy-ntlm proxy-negotiate proxy-anyauth proxy-service-name= delegation= no-sessionid proxy-cacert= proxy-insecure proxy-pinnedpubkey= proxy-capath= proxy-cert= proxy-key= proxy-cert-type= proxy-key-type= proxy-pass= proxy-tlsv1 proxy-ssl-allow-beast socks5-basic proxy-http2 proxy-crlfile= proxy-ciphers= proxy-tls13-ciphers= no-prompt no-save X/request= H/header= d/data= data-binary= json= I/head L/location follow max-redirs= A/user-agent= compressed u/user= basic digest ntlm negotiate anyauth aws-sigv4= service-name= n/netrc netrc-optional netrc-file= location-trusted retry= retry-delay= retry-max-time= retry-all-errors retry-connrefused G/get data-raw= data-urlencode= e/referer= T/upload-file= r/range= b/cookie= c/cookie-jar= hsts= alt-svc= j/junk-session-cookies K/config= variable= url= path-as-is request-target= http1.1 http2 http2-prior-knowledge 4/ipv4 resolve= proto= proto-redir= disallow-username-in-url proto-default= 1/tlsv1 tlsv1.0 tlsv1.1 tlsv1.2 tlsv1.3 tls-max= ssl-reqd ssl 6/ipv6 0/http1.0 N/no-buffer no-progress-meter q/disable raw g/globoff connect-to= interface= unix-socket= abstract-unix-socket= capath= pinnedpubkey= crlfile= ciphers= tls13-ciphers= curves= E/cert= key= cert-type= key-type= p/proxytunnel proxy-header= suppress-connect-headers trace= trace-ascii= trace-time styled-output no-styled-output tcp-nodelay keepalive-time= no-keepalive expect100-timeout= tcp-fastopen ssl-no-revoke ssl-revoke-best-effort ssl-auto-client-cert proxy-ssl-auto-client-cert ca-native proxy-ca-native 2/sslv2 3/sslv3 random-file= egd-file= pass= false-start ssl-allow-beast no-alpn no-npn tr-encoding doh-url= doh-insecure doh-cert-status o/output= O/remote-name out-null i/include f/fail s/silent S/show-error v/verbose w/write-out= D/dump-header= create-dirs output-dir= fail-with-body #/progress-bar m/max-time= connect-timeout= k/insecure cacert= F/form= form-string= form-escape C/continue-at= J/remote-header-name R/remote-time remote-name-all z/time-cond= etag-save= etag-compare= max-filesize= limit-rate= Y/speed-limit= y/speed-time= Z/parallel parallel-max= parallel-max-host= parallel-immediate rate= fail-early :/next url-query= stderr= no-clobber skip-existing xattr create-file-mode= remove-on-error ignore-content-length post301 post302 post303 oauth2-bearer= h/help V/version
end

function __fish_toll_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_toll_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_toll_using_subcommand
    set -l cmd (__fish_toll_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c toll -n "__fish_toll_needs_command" -s x -l proxy -d 'Use this proxy: [SCHEME://][USER[:PASSWORD]@]HOST[:PORT]' -r
complete -c toll -n "__fish_toll_needs_command" -l proxy1.0 -d 'Use this HTTP proxy and send it CONNECT as HTTP/1.0 (for proxies that do not take HTTP/1.1\'s): -x http://HOST[:PORT] otherwise. Of -x, --proxy1.0 and the --socks options, the last one given wins' -r
complete -c toll -n "__fish_toll_needs_command" -l socks4 -d 'Use this SOCKS4 proxy: -x socks4://HOST[:PORT] (curl\'s older form; of -x and the --socks options, the last one given wins)' -r
complete -c toll -n "__fish_toll_needs_command" -l socks4a -d 'Use this SOCKS4a proxy (it resolves names): -x socks4a://HOST[:PORT]' -r
complete -c toll -n "__fish_toll_needs_command" -l socks5 -d 'Use this SOCKS5 proxy, names resolved here: -x socks5://HOST[:PORT]' -r
complete -c toll -n "__fish_toll_needs_command" -l socks5-hostname -d 'Use this SOCKS5 proxy, names resolved by it: -x socks5h://HOST[:PORT]' -r
complete -c toll -n "__fish_toll_needs_command" -l preproxy -d 'Reach the HTTP or HTTPS proxy through this SOCKS proxy first: [SCHEME://][USER[:PASSWORD]@]HOST[:PORT]' -r
complete -c toll -n "__fish_toll_needs_command" -s U -l proxy-user -d 'User name and password for the proxy' -r
complete -c toll -n "__fish_toll_needs_command" -l pac -d 'Route by this proxy auto-config (PAC) file or http(s):// URL, as a browser does' -r
complete -c toll -n "__fish_toll_needs_command" -l noproxy -d 'Hosts to reach without the proxy (overrides no_proxy and NO_PROXY)' -r
complete -c toll -n "__fish_toll_needs_command" -l proxy-service-name -d 'The Kerberos service of the proxy\'s principal for Negotiate: a ticket for NAME/proxy-host instead of HTTP/proxy-host' -r
complete -c toll -n "__fish_toll_needs_command" -l delegation -d 'Let Negotiate hand the proxy (and, with --negotiate, the server) your Kerberos credentials so it can act as you: none (the default), policy (only where the KDC marks the service ok-as-delegate) or always (needs a forwardable ticket: kinit -f)' -r
complete -c toll -n "__fish_toll_needs_command" -l proxy-cacert -d 'Verify an https:// proxy\'s certificate against the CA certificates in FILE (PEM)' -r -F
complete -c toll -n "__fish_toll_needs_command" -l proxy-pinnedpubkey -d 'An https:// proxy\'s public key must be this one: sha256//BASE64 digests joined by \';\', or a PEM or DER public key file (checked with --proxy-insecure too; a mismatch is exit 90)' -r
complete -c toll -n "__fish_toll_needs_command" -l proxy-capath -d 'Also trust the CA certificates in the PEM files of DIR for an https:// proxy (with --proxy-cacert\'s), as --capath' -r -F
complete -c toll -n "__fish_toll_needs_command" -l proxy-cert -d 'Client certificate for an https:// proxy (PEM), with the key in the same file unless --proxy-key, as -E for the server' -r
complete -c toll -n "__fish_toll_needs_command" -l proxy-key -d 'The private key for --proxy-cert (PEM)' -r -F
complete -c toll -n "__fish_toll_needs_command" -l proxy-cert-type -d 'The type of --proxy-cert\'s file: PEM (the only one toll reads)' -r
complete -c toll -n "__fish_toll_needs_command" -l proxy-key-type -d 'The type of --proxy-key\'s file: PEM (the only one toll reads)' -r
complete -c toll -n "__fish_toll_needs_command" -l proxy-pass -d 'The passphrase of --proxy-cert\'s key, as --proxy-cert CERT:PASSWORD; toll cannot use an encrypted key (exit 58)' -r
complete -c toll -n "__fish_toll_needs_command" -l proxy-crlfile -d 'Check an https:// proxy\'s certificate against the CRLs in FILE (PEM), as --crlfile' -r -F
complete -c toll -n "__fish_toll_needs_command" -l proxy-ciphers -d 'TLS 1.2 cipher suites for an https:// proxy, as --ciphers' -r
complete -c toll -n "__fish_toll_needs_command" -l proxy-tls13-ciphers -d 'TLS 1.3 cipher suites for an https:// proxy, as --tls13-ciphers' -r
complete -c toll -n "__fish_toll_needs_command" -s X -l request -d 'Request method (default GET; POST with a body; HEAD with -I)' -r
complete -c toll -n "__fish_toll_needs_command" -s H -l header -d 'Extra request header, \'Name: value\'. Repeatable' -r
complete -c toll -n "__fish_toll_needs_command" -s d -l data -l data-ascii -d 'Send DATA as a form body (POST). @FILE reads a file, @- standard input' -r
complete -c toll -n "__fish_toll_needs_command" -l data-binary -d 'Like -d, but @FILE and @- are sent byte for byte' -r
complete -c toll -n "__fish_toll_needs_command" -l json -d 'Send JSON (POST), with Content-Type and Accept application/json' -r
complete -c toll -n "__fish_toll_needs_command" -l max-redirs -d 'With -L, follow at most N redirects (-1: no limit)' -r
complete -c toll -n "__fish_toll_needs_command" -s A -l user-agent -d 'User-Agent header to send' -r
complete -c toll -n "__fish_toll_needs_command" -s u -l user -d 'User name and password for the server (not the proxy: that is -U)' -r
complete -c toll -n "__fish_toll_needs_command" -l aws-sigv4 -d 'Sign every request with AWS Signature Version 4, the -u user as the access key and its password as the secret key' -r
complete -c toll -n "__fish_toll_needs_command" -l service-name -d 'The Kerberos service of the server\'s principal for --negotiate: a ticket for NAME/host instead of HTTP/host' -r
complete -c toll -n "__fish_toll_needs_command" -l netrc-file -d 'Like -n, with FILE instead of ~/.netrc' -r -F
complete -c toll -n "__fish_toll_needs_command" -l retry -d 'Retry a transient failure up to N times: a timeout, a host or proxy name that did not resolve, or HTTP 408, 429, 500, 502, 503, 504' -r
complete -c toll -n "__fish_toll_needs_command" -l retry-delay -d 'Wait this long between retries instead of the backoff (0: the backoff)' -r
complete -c toll -n "__fish_toll_needs_command" -l retry-max-time -d 'Retry only while less than this much time has passed since the first attempt (0: no limit)' -r
complete -c toll -n "__fish_toll_needs_command" -l data-raw -d 'Like -d, but \'@\' has no special meaning. Repeatable' -r
complete -c toll -n "__fish_toll_needs_command" -l data-urlencode -d 'Like -d, URL-encoding the content: \'content\', \'=content\', \'name=content\', \'@file\', \'name@file\'. Repeatable' -r
complete -c toll -n "__fish_toll_needs_command" -s e -l referer -d 'Send \'Referer: URL\'. \'URL;auto\' (or \';auto\') also sets it to the previous URL when following a redirect' -r
complete -c toll -n "__fish_toll_needs_command" -s T -l upload-file -d 'Upload FILE with PUT (\'-\' or \'.\': standard input); a URL ending in \'/\' gets the file name' -r -F
complete -c toll -n "__fish_toll_needs_command" -s r -l range -d 'Ask for only part of the body: \'START-END\', \'START-\', \'-LAST\', or several, comma-separated' -r
complete -c toll -n "__fish_toll_needs_command" -s b -l cookie -d 'Send cookies: \'NAME=VALUE; NAME2=VALUE2\', or read them from FILE (Netscape format, or HTTP headers\' Set-Cookie lines as -D writes them) and turn on the cookie engine (cookies set by the server are sent on, e.g. with -L)' -r
complete -c toll -n "__fish_toll_needs_command" -s c -l cookie-jar -d 'Write all cookies to FILE at the end, in the Netscape format (\'-\': standard output)' -r -F
complete -c toll -n "__fish_toll_needs_command" -l hsts -d 'Use HSTS: hosts that asked for https only (Strict-Transport-Security) are reached over https, also from http:// URLs; the cache is read from FILE and written back ("": memory only)' -r -F
complete -c toll -n "__fish_toll_needs_command" -l alt-svc -d 'Use HTTP alternative services (Alt-Svc): an https origin that advertised one is reached there (h1 and h2 only; its certificate must cover the origin\'s name); the cache is read from FILE and written back ("": memory only)' -r -F
complete -c toll -n "__fish_toll_needs_command" -s K -l config -d 'Read options from FILE, in curl\'s config-file syntax (\'-\': standard input)' -r -F
complete -c toll -n "__fish_toll_needs_command" -l variable -d 'Set a variable (curl 8): NAME=TEXT, NAME@FILE (\'-\': standard input), %NAME from the environment (%NAME=TEXT or %NAME@FILE: with a default)' -r
complete -c toll -n "__fish_toll_needs_command" -l url -d 'A URL to fetch, as a positional one (repeatable; a -K file\'s \'url = …\' lines)' -r
complete -c toll -n "__fish_toll_needs_command" -l request-target -d 'Send TARGET as the request target instead of the URL\'s path and query (\'*\' for OPTIONS *); the URL still says where to connect' -r
complete -c toll -n "__fish_toll_needs_command" -l resolve -d 'Connect to ADDR for HOST:PORT instead of resolving HOST. Repeatable' -r
complete -c toll -n "__fish_toll_needs_command" -l proto -d 'Only use these protocols for the URL: \'=https\', \'-all,+https\', \'all,-http\', …' -r
complete -c toll -n "__fish_toll_needs_command" -l proto-redir -d 'Only follow redirects (-L) to these protocols (same syntax as --proto)' -r
complete -c toll -n "__fish_toll_needs_command" -l proto-default -d 'The scheme for a URL given without one (default http)' -r
complete -c toll -n "__fish_toll_needs_command" -l tls-max -d 'Use at most this TLS version: 1.0, 1.1, 1.2, 1.3 or default' -r
complete -c toll -n "__fish_toll_needs_command" -l connect-to -d 'For HOST1:PORT1, connect to HOST2:PORT2 instead. Repeatable' -r
complete -c toll -n "__fish_toll_needs_command" -l interface -d 'Leave from this interface (its address) or this address of the machine: connections to the server, or to the proxy' -r
complete -c toll -n "__fish_toll_needs_command" -l unix-socket -d 'Connect through this Unix domain socket instead of TCP (no proxy is used)' -r -F
complete -c toll -n "__fish_toll_needs_command" -l abstract-unix-socket -d 'Like --unix-socket, in the abstract namespace (Linux)' -r -F
complete -c toll -n "__fish_toll_needs_command" -l capath -d 'Also trust the CA certificates in the PEM files of DIR (with --cacert\'s)' -r -F
complete -c toll -n "__fish_toll_needs_command" -l pinnedpubkey -d 'The server\'s public key must be this one: \'sha256//BASE64\' (several joined by \';\'), or a FILE with the key (PEM or DER). Checked with -k too; a mismatch is exit 90' -r
complete -c toll -n "__fish_toll_needs_command" -l crlfile -d 'Check the server\'s certificate against the CRLs in FILE (PEM): revoked, or no CRL of its issuer, is exit 60 (only the server\'s own certificate is checked, as curl does)' -r -F
complete -c toll -n "__fish_toll_needs_command" -l ciphers -d 'TLS 1.2 cipher suites to offer, in this order: OpenSSL names joined by \':\' (ECDHE-RSA-AES128-GCM-SHA256:…) or OpenSSL\'s words (HIGH:!aNULL, ECDHE+AESGCM)' -r
complete -c toll -n "__fish_toll_needs_command" -l tls13-ciphers -d 'TLS 1.3 cipher suites to offer, in this order: TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256 joined by \':\' (none usable: exit 59)' -r
complete -c toll -n "__fish_toll_needs_command" -l curves -d 'Key exchange groups to offer, in this order: X25519, P-256 (prime256v1, secp256r1), P-384 (secp384r1) joined by \':\'. A name OpenSSL does not know is exit 59, as in curl' -r
complete -c toll -n "__fish_toll_needs_command" -s E -l cert -d 'Client certificate for the server (PEM), with the key in the same file unless --key' -r
complete -c toll -n "__fish_toll_needs_command" -l key -d 'The private key for -E (PEM)' -r -F
complete -c toll -n "__fish_toll_needs_command" -l cert-type -d 'The type of -E\'s file: PEM (the only one toll reads)' -r
complete -c toll -n "__fish_toll_needs_command" -l key-type -d 'The type of --key\'s file: PEM (the only one toll reads)' -r
complete -c toll -n "__fish_toll_needs_command" -l proxy-header -d 'Extra header for the HTTP proxy only, \'Name: value\' (never sent to a server). Repeatable' -r
complete -c toll -n "__fish_toll_needs_command" -l trace -d 'Write a trace of the transfer to FILE (\'-\': standard output), heads and body bytes as a hex dump; secrets are redacted' -r -F
complete -c toll -n "__fish_toll_needs_command" -l trace-ascii -d 'Like --trace, as text without the hex dump' -r -F
complete -c toll -n "__fish_toll_needs_command" -l keepalive-time -d 'Send TCP keepalive probes after this many seconds idle (toll\'s default: 15)' -r
complete -c toll -n "__fish_toll_needs_command" -l expect100-timeout -d 'How long a request body over 1 MiB sent through a proxy waits for its \'100 Continue\' (or 407) before it is sent anyway (default 1)' -r
complete -c toll -n "__fish_toll_needs_command" -l random-file -d 'Accepted and ignored, as curl 7.88 ignores it: toll\'s TLS takes its randomness from the operating system' -r -F
complete -c toll -n "__fish_toll_needs_command" -l egd-file -d 'Accepted and ignored, as curl 7.88 ignores it (see --random-file)' -r -F
complete -c toll -n "__fish_toll_needs_command" -l pass -d 'The passphrase of -E\'s key, as -E CERT:PASSWORD; toll cannot use an encrypted key (exit 58)' -r
complete -c toll -n "__fish_toll_needs_command" -l doh-url -d 'Look host names up through this DNS-over-HTTPS server (https://HOST/dns-query)' -r
complete -c toll -n "__fish_toll_needs_command" -s o -l output -d 'Write the body to FILE instead of standard output (\'-\' is standard output)' -r -F
complete -c toll -n "__fish_toll_needs_command" -s w -l write-out -d 'After the transfer, print FORMAT: %{http_code}, %{url_effective}, %{time_total}, … as curl' -r
complete -c toll -n "__fish_toll_needs_command" -s D -l dump-header -d 'Write the response head(s) to FILE (\'-\': standard output, before the body)' -r -F
complete -c toll -n "__fish_toll_needs_command" -l output-dir -d 'Put -o and -O files in DIR (-o with an absolute path excepted)' -r -F
complete -c toll -n "__fish_toll_needs_command" -s m -l max-time -d 'Give up after this many seconds in total (fractions allowed; 0: no limit)' -r
complete -c toll -n "__fish_toll_needs_command" -l connect-timeout -d 'Give up connecting after this many seconds (fractions allowed; 0: no limit)' -r
complete -c toll -n "__fish_toll_needs_command" -l cacert -d 'Verify servers against the CA certificates in FILE (PEM) instead of the system\'s' -r -F
complete -c toll -n "__fish_toll_needs_command" -s F -l form -d 'Send a multipart/form-data POST with this part: \'name=value\', \'name=@FILE\' (attached, with its file name), \'name=<FILE\' (its content as the value), \'@-\'/\'<-\' standard input, \'name=@A,B\' several files in one multipart/mixed part' -r
complete -c toll -n "__fish_toll_needs_command" -l form-string -d 'Like -F, but the value is sent as given (\'@\', \'<\' and \';\' have no special meaning). These parts follow the -F ones' -r
complete -c toll -n "__fish_toll_needs_command" -s C -l continue-at -d 'Resume a download at OFFSET bytes, or with \'-\' where the output file ends' -r
complete -c toll -n "__fish_toll_needs_command" -s z -l time-cond -d 'Only fetch if changed since DATE (an HTTP date) or FILE\'s modification time; \'-DATE\'/\'-FILE\': only if not changed since' -r
complete -c toll -n "__fish_toll_needs_command" -l etag-save -d 'Write the response\'s ETag to FILE' -r -F
complete -c toll -n "__fish_toll_needs_command" -l etag-compare -d 'Only fetch if the ETag differs from the one in FILE (sent as If-None-Match)' -r -F
complete -c toll -n "__fish_toll_needs_command" -l max-filesize -d 'Refuse a body larger than BYTES (k, M, G suffixes): exit 63' -r
complete -c toll -n "__fish_toll_needs_command" -l limit-rate -d 'Receive at most this many bytes per second (k, M, G suffixes)' -r
complete -c toll -n "__fish_toll_needs_command" -s Y -l speed-limit -d 'Abort (exit 28) when slower than BYTES per second for --speed-time seconds (default 30)' -r
complete -c toll -n "__fish_toll_needs_command" -s y -l speed-time -d 'With --speed-limit (default 1 byte/s): how many seconds of slowness abort the transfer' -r
complete -c toll -n "__fish_toll_needs_command" -l parallel-max -d 'With -Z: at most NUM transfers at once (default 50, at most 300, as in curl)' -r
complete -c toll -n "__fish_toll_needs_command" -l parallel-max-host -d 'With -Z: at most NUM transfers at once to the same scheme, host and port (curl 8.16; 0: no limit, the default; at most 65535). The others wait for their turn' -r
complete -c toll -n "__fish_toll_needs_command" -l rate -d 'Start the URLs at most N per unit, as curl: N/s, N/m, N/h, N/d (N alone: per hour). A transfer that took less waits out the rest before the next starts (not with -Z)' -r
complete -c toll -n "__fish_toll_needs_command" -l url-query -d 'Add DATA to the URL\'s query, encoded as --data-urlencode encodes it (\'+DATA\': as given). Repeatable; pieces are joined with \'&\'' -r
complete -c toll -n "__fish_toll_needs_command" -l stderr -d 'Write error messages and warnings to FILE instead of standard error (\'-\': standard output)' -r -F
complete -c toll -n "__fish_toll_needs_command" -l create-file-mode -d 'The permission bits (octal, at most 0777) of the -o/-O and -D files toll creates; the umask still applies, and an existing file keeps its own. Default 0666 less the umask' -r
complete -c toll -n "__fish_toll_needs_command" -l oauth2-bearer -d 'Send \'Authorization: Bearer TOKEN\' (an -H Authorization wins)' -r
complete -c toll -n "__fish_toll_needs_command" -l wpad -d 'When nothing else says which proxy to use, look for a PAC by WPAD (http://wpad.<your DNS domain>/wpad.dat)'
complete -c toll -n "__fish_toll_needs_command" -l proxy-basic -d 'Only answer the proxy with Basic authentication'
complete -c toll -n "__fish_toll_needs_command" -l proxy-digest -d 'Only answer the proxy with Digest authentication'
complete -c toll -n "__fish_toll_needs_command" -l proxy-ntlm -d 'Only answer the proxy with NTLM (v2) authentication'
complete -c toll -n "__fish_toll_needs_command" -l proxy-negotiate -d 'Only answer the proxy with Negotiate (Kerberos): your ticket is used, no password is needed'
complete -c toll -n "__fish_toll_needs_command" -l proxy-anyauth -d 'Answer with the strongest scheme the proxy offers (the default): Negotiate, then NTLM, Digest, Basic, falling back when one cannot be used'
complete -c toll -n "__fish_toll_needs_command" -l no-sessionid -d 'Resume no TLS session: every TLS connection (to servers and https:// proxies) makes a full handshake'
complete -c toll -n "__fish_toll_needs_command" -l proxy-insecure -d 'Do not verify an https:// proxy\'s certificate (dangerous)'
complete -c toll -n "__fish_toll_needs_command" -l proxy-tlsv1 -d 'Accepted: an https:// proxy gets TLS 1.2 or 1.3, which is "TLS 1.0 or later"'
complete -c toll -n "__fish_toll_needs_command" -l proxy-ssl-allow-beast -d 'Accepted: the BEAST workaround concerns TLS 1.0, which toll does not speak'
complete -c toll -n "__fish_toll_needs_command" -l socks5-basic -d 'Accepted: toll offers a SOCKS5 proxy its user name and password whenever it has them'
complete -c toll -n "__fish_toll_needs_command" -l proxy-http2 -d 'Accepted (curl 8.1): toll speaks HTTP/1.1 to an https:// proxy, which is what curl falls back to when the proxy does not offer HTTP/2'
complete -c toll -n "__fish_toll_needs_command" -l no-prompt -d 'Never ask for a password on the terminal; fail instead'
complete -c toll -n "__fish_toll_needs_command" -l no-save -d 'Do not offer to save a password typed at the prompt in the OS keyring'
complete -c toll -n "__fish_toll_needs_command" -s I -l head -d 'Send only a HEAD request and show the response headers'
complete -c toll -n "__fish_toll_needs_command" -s L -l location -d 'Follow redirects (3xx with Location). A method set with -X is used on every one'
complete -c toll -n "__fish_toll_needs_command" -l follow -d 'Follow redirects as HTTP says: a method set with -X is kept for 307 and 308, while 301 and 302 after a POST and every 303 turn it into GET (curl 8.16). The last of -L, --location-trusted and --follow wins'
complete -c toll -n "__fish_toll_needs_command" -l compressed -d 'Ask for a compressed response (gzip, deflate, br, zstd) and decompress it'
complete -c toll -n "__fish_toll_needs_command" -l basic -d 'Answer the server with Basic authentication, sent with the first request (the default)'
complete -c toll -n "__fish_toll_needs_command" -l digest -d 'Answer the server\'s 401 with Digest authentication'
complete -c toll -n "__fish_toll_needs_command" -l ntlm -d 'Answer the server\'s 401 with NTLM (v2) authentication'
complete -c toll -n "__fish_toll_needs_command" -l negotiate -d 'Answer the server\'s 401 with Negotiate (Kerberos; use -u : to need no password)'
complete -c toll -n "__fish_toll_needs_command" -l anyauth -d 'Answer the server\'s 401 with the strongest scheme it offers'
complete -c toll -n "__fish_toll_needs_command" -s n -l netrc -d 'Take the server\'s user name and password from ~/.netrc when -u does not give them'
complete -c toll -n "__fish_toll_needs_command" -l netrc-optional -d 'Like -n (kept for curl\'s sake: a missing file is fine with both)'
complete -c toll -n "__fish_toll_needs_command" -l location-trusted -d 'Follow redirects as -L does, and send the -u credentials to every host redirected to (dangerous)'
complete -c toll -n "__fish_toll_needs_command" -l retry-all-errors -d 'With --retry, retry any error, not only transient ones (rejected credentials and usage errors excepted)'
complete -c toll -n "__fish_toll_needs_command" -l retry-connrefused -d 'With --retry, a refused connection counts as transient'
complete -c toll -n "__fish_toll_needs_command" -s G -l get -d 'Send the -d/--data-urlencode/--data-raw data in the URL\'s query with a GET (or HEAD with -I)'
complete -c toll -n "__fish_toll_needs_command" -s j -l junk-session-cookies -d 'Drop the session cookies read with -b FILE (start a new session)'
complete -c toll -n "__fish_toll_needs_command" -l path-as-is -d 'Send the URL\'s path as written: /a/../b is not made /b (for servers that must be asked so; the request then goes on toll\'s own HTTP path, see the README)'
complete -c toll -n "__fish_toll_needs_command" -l http1.1 -d 'Use HTTP/1.1 only'
complete -c toll -n "__fish_toll_needs_command" -l http2 -d 'Use HTTP/2 when the server offers it in the TLS handshake (the default)'
complete -c toll -n "__fish_toll_needs_command" -l http2-prior-knowledge -d 'Speak HTTP/2 from the start, without asking (also on http:// URLs)'
complete -c toll -n "__fish_toll_needs_command" -s 4 -l ipv4 -d 'Connect over IPv4 only'
complete -c toll -n "__fish_toll_needs_command" -l disallow-username-in-url -d 'Refuse a URL (also one redirected to) that holds a user name or password: exit 67'
complete -c toll -n "__fish_toll_needs_command" -s 1 -l tlsv1 -d 'Use TLS 1.0 or later with the server (toll\'s TLS speaks 1.2 and 1.3)'
complete -c toll -n "__fish_toll_needs_command" -l tlsv1.0 -d 'Use TLS 1.0 or later'
complete -c toll -n "__fish_toll_needs_command" -l tlsv1.1 -d 'Use TLS 1.1 or later'
complete -c toll -n "__fish_toll_needs_command" -l tlsv1.2 -d 'Use TLS 1.2 or later'
complete -c toll -n "__fish_toll_needs_command" -l tlsv1.3 -d 'Use TLS 1.3'
complete -c toll -n "__fish_toll_needs_command" -l ssl-reqd -d 'Require TLS (accepted as curl does for HTTP: it applies to protocols that upgrade to TLS)'
complete -c toll -n "__fish_toll_needs_command" -l ssl -d 'Try TLS (accepted as curl does for HTTP, where it changes nothing)'
complete -c toll -n "__fish_toll_needs_command" -s 6 -l ipv6 -d 'Connect to the server over IPv6 only (direct connections; a proxy is reached as usual)'
complete -c toll -n "__fish_toll_needs_command" -s 0 -l http1.0 -d 'Use HTTP/1.0'
complete -c toll -n "__fish_toll_needs_command" -s N -l no-buffer -d 'Write the body to standard output as it arrives (no buffering)'
complete -c toll -n "__fish_toll_needs_command" -l no-progress-meter -d 'No progress bar (error messages are still shown, unlike -s)'
complete -c toll -n "__fish_toll_needs_command" -s q -l disable -d 'Do not read curl\'s default config file (toll never reads ~/.curlrc: accepted for curl\'s sake)'
complete -c toll -n "__fish_toll_needs_command" -l raw -d 'Do not decode the body: turns --compressed\'s decompression off'
complete -c toll -n "__fish_toll_needs_command" -s g -l globoff -d 'Take \'{}\' and \'[]\' in the URL literally (no URL globbing: without -g, \'x/{a,b}\' and \'x/[1-3]\' stand for several URLs, and \'#1\' in -o for the first glob\'s value)'
complete -c toll -n "__fish_toll_needs_command" -s p -l proxytunnel -d 'Tunnel http:// URLs through the proxy with CONNECT too (https:// always is)'
complete -c toll -n "__fish_toll_needs_command" -l suppress-connect-headers -d 'With -i, -I and -D, leave out the proxy\'s answer to the CONNECT of an https:// URL (\'HTTP/1.1 200 Connection established\'), which is printed before the server\'s head'
complete -c toll -n "__fish_toll_needs_command" -l trace-time -d 'Start every --trace line with the time of day'
complete -c toll -n "__fish_toll_needs_command" -l styled-output -d 'Accepted for curl\'s sake (toll\'s -i output has no styling)'
complete -c toll -n "__fish_toll_needs_command" -l no-styled-output -d 'Accepted for curl\'s sake (toll\'s -i output has no styling)'
complete -c toll -n "__fish_toll_needs_command" -l tcp-nodelay -d 'Accepted: toll sets TCP_NODELAY on every connection already'
complete -c toll -n "__fish_toll_needs_command" -l no-keepalive -d 'Send no TCP keepalive probes'
complete -c toll -n "__fish_toll_needs_command" -l tcp-fastopen -d 'Accepted: TCP Fast Open only saves a round trip when connecting; toll connects normally'
complete -c toll -n "__fish_toll_needs_command" -l ssl-no-revoke -d 'Accepted: certificate revocation settings of curl on Windows (Schannel); curl elsewhere does not check revocation, nor does toll, so there is nothing to turn off'
complete -c toll -n "__fish_toll_needs_command" -l ssl-revoke-best-effort -d 'Accepted, as --ssl-no-revoke'
complete -c toll -n "__fish_toll_needs_command" -l ssl-auto-client-cert -d 'Accepted: curl on Windows finds a client certificate in the system store with it; toll sends one only with -E/--cert, as curl elsewhere'
complete -c toll -n "__fish_toll_needs_command" -l proxy-ssl-auto-client-cert -d 'Accepted: the https:// proxy\'s twin of --ssl-auto-client-cert (Windows only in curl)'
complete -c toll -n "__fish_toll_needs_command" -l ca-native -d 'Accepted (curl 8.2): check servers against the operating system\'s CA store, which toll does unless --cacert or --capath give the roots (curl\'s option is for its Windows builds)'
complete -c toll -n "__fish_toll_needs_command" -l proxy-ca-native -d 'Accepted, as --ca-native, for https:// proxies (unless --proxy-cacert/--proxy-capath)'
complete -c toll -n "__fish_toll_needs_command" -s 2 -l sslv2 -d 'Ignored with a warning, as curl 7.88 ignores it: no TLS library still speaks SSLv2'
complete -c toll -n "__fish_toll_needs_command" -s 3 -l sslv3 -d 'Ignored with a warning, as curl 7.88 ignores it: no TLS library still speaks SSLv3'
complete -c toll -n "__fish_toll_needs_command" -l false-start -d 'Accepted: TLS False Start (data before the handshake ends) is not used, as by curl 7.88 with OpenSSL'
complete -c toll -n "__fish_toll_needs_command" -l ssl-allow-beast -d 'Accepted: the BEAST workaround concerns TLS 1.0, which toll does not speak'
complete -c toll -n "__fish_toll_needs_command" -l no-alpn -d 'Offer no ALPN in the TLS handshake with the server: no HTTP/2 over TLS'
complete -c toll -n "__fish_toll_needs_command" -l no-npn -d 'Accepted: NPN, ALPN\'s predecessor, is never offered'
complete -c toll -n "__fish_toll_needs_command" -l tr-encoding -d 'Accepted: toll does not ask for a compressed transfer coding (TE: gzip); the body written is the same'
complete -c toll -n "__fish_toll_needs_command" -l doh-insecure -d 'Do not verify the DoH server\'s certificate (-k for --doh-url only)'
complete -c toll -n "__fish_toll_needs_command" -l doh-cert-status -d 'Require the DoH server\'s certificate status (OCSP stapling): toll cannot check it, so --doh-url with this option fails with exit 4'
complete -c toll -n "__fish_toll_needs_command" -s O -l remote-name -d 'Write the body to a file named like the URL\'s last path segment'
complete -c toll -n "__fish_toll_needs_command" -l out-null -d 'Read the body in full and write it nowhere (curl 8.16; like -o /dev/null). Goes with the next URL, as -o does'
complete -c toll -n "__fish_toll_needs_command" -s i -l include -d 'Show the response headers before the body'
complete -c toll -n "__fish_toll_needs_command" -s f -l fail -d 'Fail on HTTP errors (status 400 and above) without writing the body'
complete -c toll -n "__fish_toll_needs_command" -s s -l silent -d 'No progress meter and no error messages'
complete -c toll -n "__fish_toll_needs_command" -s S -l show-error -d 'With -s, still show error messages'
complete -c toll -n "__fish_toll_needs_command" -s v -l verbose -d 'Show the proxy conversation and the headers on standard error'
complete -c toll -n "__fish_toll_needs_command" -l create-dirs -d 'Create the directories -o FILE needs'
complete -c toll -n "__fish_toll_needs_command" -l fail-with-body -d 'Like -f, but the body of the error answer is still written (exit 22)'
complete -c toll -n "__fish_toll_needs_command" -s # -l progress-bar -d 'Accepted for curl\'s sake: toll shows a progress bar for -o/-O on a terminal anyway'
complete -c toll -n "__fish_toll_needs_command" -s k -l insecure -d 'Do not verify the server\'s certificate (dangerous)'
complete -c toll -n "__fish_toll_needs_command" -l form-escape -d 'In -F part names and file names, escape \'"\' and \'\\\' with a backslash (curl 7.81+) instead of the default: \'"\' as %22, \'\\\' as it is. CR and LF stay %0D and %0A either way'
complete -c toll -n "__fish_toll_needs_command" -s J -l remote-header-name -d 'With -O, name the file as the server\'s Content-Disposition says'
complete -c toll -n "__fish_toll_needs_command" -s R -l remote-time -d 'Give the output file the server\'s Last-Modified time'
complete -c toll -n "__fish_toll_needs_command" -l remote-name-all -d 'Save every URL under its remote name, as -O does'
complete -c toll -n "__fish_toll_needs_command" -s Z -l parallel -d 'Fetch several URLs at the same time (with -i, -I, -D, -w or --trace they run one after the other, so each head and report belongs to its transfer)'
complete -c toll -n "__fish_toll_needs_command" -l parallel-immediate -d 'Accepted with -Z'
complete -c toll -n "__fish_toll_needs_command" -l fail-early -d 'Stop at the first URL that fails (the others are not fetched)'
complete -c toll -n "__fish_toll_needs_command" -s : -l next -d 'Start a new operation: the URLs after it get only the options after it, as in curl (the global ones, -v, -s, -S, --trace, --stderr, --fail-early, -Z, …, hold for all)'
complete -c toll -n "__fish_toll_needs_command" -l no-clobber -d 'Never overwrite an output file: save as NAME.1, NAME.2, … NAME.100 instead'
complete -c toll -n "__fish_toll_needs_command" -l skip-existing -d 'Skip a URL whose output file (-o FILE, or -O\'s name from the URL) exists already: it is not fetched, and counts as a success (curl 8.10)'
complete -c toll -n "__fish_toll_needs_command" -l xattr -d 'Store the URL and the Content-Type in the -o/-O file\'s extended attributes (user.xdg.origin.url, user.mime_type), as curl does. The URL is the one given (not a redirect\'s), without user name or password. Linux only (elsewhere: nothing is stored)'
complete -c toll -n "__fish_toll_needs_command" -l remove-on-error -d 'Remove the output file when the transfer fails after writing it (--fail-with-body)'
complete -c toll -n "__fish_toll_needs_command" -l ignore-content-length -d 'Accepted for curl\'s sake (toll reads the body as the server frames it)'
complete -c toll -n "__fish_toll_needs_command" -l post301 -d 'With -L, keep POST after a 301 (instead of turning it into GET)'
complete -c toll -n "__fish_toll_needs_command" -l post302 -d 'With -L, keep POST after a 302'
complete -c toll -n "__fish_toll_needs_command" -l post303 -d 'With -L, keep POST after a 303'
complete -c toll -n "__fish_toll_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c toll -n "__fish_toll_needs_command" -s V -l version -d 'Print version'
complete -c toll -n "__fish_toll_needs_command" -a "demo" -d 'Try toll without a real proxy: fetch a page through a local proxy that demands authentication'
complete -c toll -n "__fish_toll_needs_command" -a "auth" -d 'Store, remove, list and check proxy passwords in the OS keyring'
complete -c toll -n "__fish_toll_needs_command" -a "doctor" -d 'Find out why the proxy refuses (407, 403, …), step by step, and say how to fix it'
complete -c toll -n "__fish_toll_needs_command" -a "serve" -d 'Be the authenticating proxy for other programs (git, pip, npm, curl, …) on loopback'
complete -c toll -n "__fish_toll_needs_command" -a "run" -d 'Run one command with its proxy settings pointing at a private toll serve'
complete -c toll -n "__fish_toll_needs_command" -a "pac" -d 'Evaluate a proxy auto-config (PAC) file for a URL and print its answer'
complete -c toll -n "__fish_toll_using_subcommand demo" -l scheme -d 'The authentication scheme the demo proxy asks for' -r -f -a "basic\t''
digest\t''"
complete -c toll -n "__fish_toll_using_subcommand demo" -s h -l help -d 'Print help'
complete -c toll -n "__fish_toll_using_subcommand auth; and not __fish_seen_subcommand_from login logout list status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c toll -n "__fish_toll_using_subcommand auth; and not __fish_seen_subcommand_from login logout list status" -f -a "login" -d 'Store the password for a proxy, after checking it against the proxy'
complete -c toll -n "__fish_toll_using_subcommand auth; and not __fish_seen_subcommand_from login logout list status" -f -a "logout" -d 'Remove the stored password for a proxy'
complete -c toll -n "__fish_toll_using_subcommand auth; and not __fish_seen_subcommand_from login logout list status" -f -a "list" -d 'List the proxies with a stored password (never the passwords)'
complete -c toll -n "__fish_toll_using_subcommand auth; and not __fish_seen_subcommand_from login logout list status" -f -a "status" -d 'Show where a run would get the credentials for a proxy, and how fast the keyring answers'
complete -c toll -n "__fish_toll_using_subcommand auth; and __fish_seen_subcommand_from login" -l user -d 'The user name (asked for when not given)' -r
complete -c toll -n "__fish_toll_using_subcommand auth; and __fish_seen_subcommand_from login" -l verify-url -d 'The URL requested through the proxy to check the password: any answer but 407 means the proxy accepted it' -r
complete -c toll -n "__fish_toll_using_subcommand auth; and __fish_seen_subcommand_from login" -l proxy-cacert -d 'Verify an https:// proxy\'s certificate against the CA certificates in FILE (PEM)' -r -F
complete -c toll -n "__fish_toll_using_subcommand auth; and __fish_seen_subcommand_from login" -l password-stdin -d 'Read the password from the first line of standard input instead of asking (typed at a terminal, it is not echoed)'
complete -c toll -n "__fish_toll_using_subcommand auth; and __fish_seen_subcommand_from login" -l no-verify -d 'Store the password without checking it against the proxy'
complete -c toll -n "__fish_toll_using_subcommand auth; and __fish_seen_subcommand_from login" -l proxy-insecure -d 'Do not verify an https:// proxy\'s certificate (dangerous)'
complete -c toll -n "__fish_toll_using_subcommand auth; and __fish_seen_subcommand_from login" -s h -l help -d 'Print help'
complete -c toll -n "__fish_toll_using_subcommand auth; and __fish_seen_subcommand_from logout" -s h -l help -d 'Print help'
complete -c toll -n "__fish_toll_using_subcommand auth; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c toll -n "__fish_toll_using_subcommand auth; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help'
complete -c toll -n "__fish_toll_using_subcommand doctor" -l verify-url -d 'The URL the one authenticated attempt is made for, before URL itself: if the proxy accepts the credentials there but answers 407 for URL, URL is restricted for this user (the password is fine)' -r
complete -c toll -n "__fish_toll_using_subcommand doctor" -s x -l proxy -d 'Use this proxy: [SCHEME://][USER[:PASSWORD]@]HOST[:PORT]' -r
complete -c toll -n "__fish_toll_using_subcommand doctor" -l proxy1.0 -d 'Use this HTTP proxy and send it CONNECT as HTTP/1.0 (for proxies that do not take HTTP/1.1\'s): -x http://HOST[:PORT] otherwise. Of -x, --proxy1.0 and the --socks options, the last one given wins' -r
complete -c toll -n "__fish_toll_using_subcommand doctor" -l socks4 -d 'Use this SOCKS4 proxy: -x socks4://HOST[:PORT] (curl\'s older form; of -x and the --socks options, the last one given wins)' -r
complete -c toll -n "__fish_toll_using_subcommand doctor" -l socks4a -d 'Use this SOCKS4a proxy (it resolves names): -x socks4a://HOST[:PORT]' -r
complete -c toll -n "__fish_toll_using_subcommand doctor" -l socks5 -d 'Use this SOCKS5 proxy, names resolved here: -x socks5://HOST[:PORT]' -r
complete -c toll -n "__fish_toll_using_subcommand doctor" -l socks5-hostname -d 'Use this SOCKS5 proxy, names resolved by it: -x socks5h://HOST[:PORT]' -r
complete -c toll -n "__fish_toll_using_subcommand doctor" -l preproxy -d 'Reach the HTTP or HTTPS proxy through this SOCKS proxy first: [SCHEME://][USER[:PASSWORD]@]HOST[:PORT]' -r
complete -c toll -n "__fish_toll_using_subcommand doctor" -s U -l proxy-user -d 'User name and password for the proxy' -r
complete -c toll -n "__fish_toll_using_subcommand doctor" -l pac -d 'Route by this proxy auto-config (PAC) file or http(s):// URL, as a browser does' -r
complete -c toll -n "__fish_toll_using_subcommand doctor" -l noproxy -d 'Hosts to reach without the proxy (overrides no_proxy and NO_PROXY)' -r
complete -c toll -n "__fish_toll_using_subcommand doctor" -l proxy-service-name -d 'The Kerberos service of the proxy\'s principal for Negotiate: a ticket for NAME/proxy-host instead of HTTP/proxy-host' -r
complete -c toll -n "__fish_toll_using_subcommand doctor" -l delegation -d 'Let Negotiate hand the proxy (and, with --negotiate, the server) your Kerberos credentials so it can act as you: none (the default), policy (only where the KDC marks the service ok-as-delegate) or always (needs a forwardable ticket: kinit -f)' -r
complete -c toll -n "__fish_toll_using_subcommand doctor" -l proxy-cacert -d 'Verify an https:// proxy\'s certificate against the CA certificates in FILE (PEM)' -r -F
complete -c toll -n "__fish_toll_using_subcommand doctor" -l proxy-pinnedpubkey -d 'An https:// proxy\'s public key must be this one: sha256//BASE64 digests joined by \';\', or a PEM or DER public key file (checked with --proxy-insecure too; a mismatch is exit 90)' -r
complete -c toll -n "__fish_toll_using_subcommand doctor" -l proxy-capath -d 'Also trust the CA certificates in the PEM files of DIR for an https:// proxy (with --proxy-cacert\'s), as --capath' -r -F
complete -c toll -n "__fish_toll_using_subcommand doctor" -l proxy-cert -d 'Client certificate for an https:// proxy (PEM), with the key in the same file unless --proxy-key, as -E for the server' -r
complete -c toll -n "__fish_toll_using_subcommand doctor" -l proxy-key -d 'The private key for --proxy-cert (PEM)' -r -F
complete -c toll -n "__fish_toll_using_subcommand doctor" -l proxy-cert-type -d 'The type of --proxy-cert\'s file: PEM (the only one toll reads)' -r
complete -c toll -n "__fish_toll_using_subcommand doctor" -l proxy-key-type -d 'The type of --proxy-key\'s file: PEM (the only one toll reads)' -r
complete -c toll -n "__fish_toll_using_subcommand doctor" -l proxy-pass -d 'The passphrase of --proxy-cert\'s key, as --proxy-cert CERT:PASSWORD; toll cannot use an encrypted key (exit 58)' -r
complete -c toll -n "__fish_toll_using_subcommand doctor" -l proxy-crlfile -d 'Check an https:// proxy\'s certificate against the CRLs in FILE (PEM), as --crlfile' -r -F
complete -c toll -n "__fish_toll_using_subcommand doctor" -l proxy-ciphers -d 'TLS 1.2 cipher suites for an https:// proxy, as --ciphers' -r
complete -c toll -n "__fish_toll_using_subcommand doctor" -l proxy-tls13-ciphers -d 'TLS 1.3 cipher suites for an https:// proxy, as --tls13-ciphers' -r
complete -c toll -n "__fish_toll_using_subcommand doctor" -s m -l max-time -d 'Give up after this many seconds in total (fractions allowed; 0: no limit)' -r
complete -c toll -n "__fish_toll_using_subcommand doctor" -l connect-timeout -d 'Give up connecting after this many seconds (fractions allowed; 0: no limit)' -r
complete -c toll -n "__fish_toll_using_subcommand doctor" -l cacert -d 'Verify servers against the CA certificates in FILE (PEM) instead of the system\'s' -r -F
complete -c toll -n "__fish_toll_using_subcommand doctor" -l json -d 'Print the steps as JSON (for scripts and support tooling)'
complete -c toll -n "__fish_toll_using_subcommand doctor" -l report -d 'Print a report to paste into a ticket: versions, steps, timings, the proxy\'s raw status lines and challenges; no secrets'
complete -c toll -n "__fish_toll_using_subcommand doctor" -l wpad -d 'When nothing else says which proxy to use, look for a PAC by WPAD (http://wpad.<your DNS domain>/wpad.dat)'
complete -c toll -n "__fish_toll_using_subcommand doctor" -l proxy-basic -d 'Only answer the proxy with Basic authentication'
complete -c toll -n "__fish_toll_using_subcommand doctor" -l proxy-digest -d 'Only answer the proxy with Digest authentication'
complete -c toll -n "__fish_toll_using_subcommand doctor" -l proxy-ntlm -d 'Only answer the proxy with NTLM (v2) authentication'
complete -c toll -n "__fish_toll_using_subcommand doctor" -l proxy-negotiate -d 'Only answer the proxy with Negotiate (Kerberos): your ticket is used, no password is needed'
complete -c toll -n "__fish_toll_using_subcommand doctor" -l proxy-anyauth -d 'Answer with the strongest scheme the proxy offers (the default): Negotiate, then NTLM, Digest, Basic, falling back when one cannot be used'
complete -c toll -n "__fish_toll_using_subcommand doctor" -l no-sessionid -d 'Resume no TLS session: every TLS connection (to servers and https:// proxies) makes a full handshake'
complete -c toll -n "__fish_toll_using_subcommand doctor" -l proxy-insecure -d 'Do not verify an https:// proxy\'s certificate (dangerous)'
complete -c toll -n "__fish_toll_using_subcommand doctor" -l proxy-tlsv1 -d 'Accepted: an https:// proxy gets TLS 1.2 or 1.3, which is "TLS 1.0 or later"'
complete -c toll -n "__fish_toll_using_subcommand doctor" -l proxy-ssl-allow-beast -d 'Accepted: the BEAST workaround concerns TLS 1.0, which toll does not speak'
complete -c toll -n "__fish_toll_using_subcommand doctor" -l socks5-basic -d 'Accepted: toll offers a SOCKS5 proxy its user name and password whenever it has them'
complete -c toll -n "__fish_toll_using_subcommand doctor" -l proxy-http2 -d 'Accepted (curl 8.1): toll speaks HTTP/1.1 to an https:// proxy, which is what curl falls back to when the proxy does not offer HTTP/2'
complete -c toll -n "__fish_toll_using_subcommand doctor" -l no-prompt -d 'Never ask for a password on the terminal; fail instead'
complete -c toll -n "__fish_toll_using_subcommand doctor" -l no-save -d 'Do not offer to save a password typed at the prompt in the OS keyring'
complete -c toll -n "__fish_toll_using_subcommand doctor" -s k -l insecure -d 'Do not verify the server\'s certificate (dangerous)'
complete -c toll -n "__fish_toll_using_subcommand doctor" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c toll -n "__fish_toll_using_subcommand serve" -l listen -d 'Listen on this address; localhost:PORT listens on 127.0.0.1 and ::1, so that a client told "localhost" reaches it whichever it tries first (Node.js: ::1)' -r
complete -c toll -n "__fish_toll_using_subcommand serve" -l allow -d 'Also admit clients from this range (gateway mode: containers, a VM); they must show the key, and never reach this machine\'s loopback. May be repeated' -r
complete -c toll -n "__fish_toll_using_subcommand serve" -l log -d 'Append the access log to FILE: toll serve\'s instead of on stderr, toll run\'s instead of nowhere (its command keeps the terminal)' -r -F
complete -c toll -n "__fish_toll_using_subcommand serve" -s x -l proxy -d 'Use this proxy: [SCHEME://][USER[:PASSWORD]@]HOST[:PORT]' -r
complete -c toll -n "__fish_toll_using_subcommand serve" -l proxy1.0 -d 'Use this HTTP proxy and send it CONNECT as HTTP/1.0 (for proxies that do not take HTTP/1.1\'s): -x http://HOST[:PORT] otherwise. Of -x, --proxy1.0 and the --socks options, the last one given wins' -r
complete -c toll -n "__fish_toll_using_subcommand serve" -l socks4 -d 'Use this SOCKS4 proxy: -x socks4://HOST[:PORT] (curl\'s older form; of -x and the --socks options, the last one given wins)' -r
complete -c toll -n "__fish_toll_using_subcommand serve" -l socks4a -d 'Use this SOCKS4a proxy (it resolves names): -x socks4a://HOST[:PORT]' -r
complete -c toll -n "__fish_toll_using_subcommand serve" -l socks5 -d 'Use this SOCKS5 proxy, names resolved here: -x socks5://HOST[:PORT]' -r
complete -c toll -n "__fish_toll_using_subcommand serve" -l socks5-hostname -d 'Use this SOCKS5 proxy, names resolved by it: -x socks5h://HOST[:PORT]' -r
complete -c toll -n "__fish_toll_using_subcommand serve" -l preproxy -d 'Reach the HTTP or HTTPS proxy through this SOCKS proxy first: [SCHEME://][USER[:PASSWORD]@]HOST[:PORT]' -r
complete -c toll -n "__fish_toll_using_subcommand serve" -s U -l proxy-user -d 'User name and password for the proxy' -r
complete -c toll -n "__fish_toll_using_subcommand serve" -l pac -d 'Route by this proxy auto-config (PAC) file or http(s):// URL, as a browser does' -r
complete -c toll -n "__fish_toll_using_subcommand serve" -l noproxy -d 'Hosts to reach without the proxy (overrides no_proxy and NO_PROXY)' -r
complete -c toll -n "__fish_toll_using_subcommand serve" -l proxy-service-name -d 'The Kerberos service of the proxy\'s principal for Negotiate: a ticket for NAME/proxy-host instead of HTTP/proxy-host' -r
complete -c toll -n "__fish_toll_using_subcommand serve" -l delegation -d 'Let Negotiate hand the proxy (and, with --negotiate, the server) your Kerberos credentials so it can act as you: none (the default), policy (only where the KDC marks the service ok-as-delegate) or always (needs a forwardable ticket: kinit -f)' -r
complete -c toll -n "__fish_toll_using_subcommand serve" -l proxy-cacert -d 'Verify an https:// proxy\'s certificate against the CA certificates in FILE (PEM)' -r -F
complete -c toll -n "__fish_toll_using_subcommand serve" -l proxy-pinnedpubkey -d 'An https:// proxy\'s public key must be this one: sha256//BASE64 digests joined by \';\', or a PEM or DER public key file (checked with --proxy-insecure too; a mismatch is exit 90)' -r
complete -c toll -n "__fish_toll_using_subcommand serve" -l proxy-capath -d 'Also trust the CA certificates in the PEM files of DIR for an https:// proxy (with --proxy-cacert\'s), as --capath' -r -F
complete -c toll -n "__fish_toll_using_subcommand serve" -l proxy-cert -d 'Client certificate for an https:// proxy (PEM), with the key in the same file unless --proxy-key, as -E for the server' -r
complete -c toll -n "__fish_toll_using_subcommand serve" -l proxy-key -d 'The private key for --proxy-cert (PEM)' -r -F
complete -c toll -n "__fish_toll_using_subcommand serve" -l proxy-cert-type -d 'The type of --proxy-cert\'s file: PEM (the only one toll reads)' -r
complete -c toll -n "__fish_toll_using_subcommand serve" -l proxy-key-type -d 'The type of --proxy-key\'s file: PEM (the only one toll reads)' -r
complete -c toll -n "__fish_toll_using_subcommand serve" -l proxy-pass -d 'The passphrase of --proxy-cert\'s key, as --proxy-cert CERT:PASSWORD; toll cannot use an encrypted key (exit 58)' -r
complete -c toll -n "__fish_toll_using_subcommand serve" -l proxy-crlfile -d 'Check an https:// proxy\'s certificate against the CRLs in FILE (PEM), as --crlfile' -r -F
complete -c toll -n "__fish_toll_using_subcommand serve" -l proxy-ciphers -d 'TLS 1.2 cipher suites for an https:// proxy, as --ciphers' -r
complete -c toll -n "__fish_toll_using_subcommand serve" -l proxy-tls13-ciphers -d 'TLS 1.3 cipher suites for an https:// proxy, as --tls13-ciphers' -r
complete -c toll -n "__fish_toll_using_subcommand serve" -l connect-timeout -d 'Give up connecting to the proxy (TLS with an https:// proxy included) or a direct origin after this many seconds (default 30; the client gets 504)' -r
complete -c toll -n "__fish_toll_using_subcommand serve" -l answer-timeout -d 'Give up waiting for the proxy\'s (or a direct origin\'s) answer to a CONNECT or a request after this many seconds (the client gets 504), counted from the last byte of the request body however long the upload took, or from when the proxy stopped taking the upload; 0: wait as long as the client does' -r
complete -c toll -n "__fish_toll_using_subcommand serve" -l idle-timeout -d 'Close a tunnel (CONNECT) that has carried no data either way for this many seconds (checked at that interval: closed after one to two of them); 0: never' -r
complete -c toll -n "__fish_toll_using_subcommand serve" -l spare-tunnels -d 'Keep N connections to each proxy opened ahead (an NTLM handshake started) so that a new tunnel costs one round trip; 0 turns it off' -r
complete -c toll -n "__fish_toll_using_subcommand serve" -l threads -d 'Serve with N threads. One goes a long way (a tunnel costs about 0.2 ms of CPU, a request on a kept-alive connection under 0.1 ms) and leaves the other cores to the programs it serves; more help only when one core is saturated' -r
complete -c toll -n "__fish_toll_using_subcommand serve" -l verify-url -d 'Started by hand on a terminal, before serving (toll serve) or before CMD starts (toll run): request this URL through the proxy chosen for it (none: no request), asking for the password if the proxy wants one that is not stored (so toll\'s prompt never meets a client\'s output or CMD\'s)' -r
complete -c toll -n "__fish_toll_using_subcommand serve" -l print-env -d 'Print the environment settings for programs to use this server (with the key), then exit'
complete -c toll -n "__fish_toll_using_subcommand serve" -s v -l verbose -d 'Print the proxy conversation on stderr'
complete -c toll -n "__fish_toll_using_subcommand serve" -l wpad -d 'When nothing else says which proxy to use, look for a PAC by WPAD (http://wpad.<your DNS domain>/wpad.dat)'
complete -c toll -n "__fish_toll_using_subcommand serve" -l proxy-basic -d 'Only answer the proxy with Basic authentication'
complete -c toll -n "__fish_toll_using_subcommand serve" -l proxy-digest -d 'Only answer the proxy with Digest authentication'
complete -c toll -n "__fish_toll_using_subcommand serve" -l proxy-ntlm -d 'Only answer the proxy with NTLM (v2) authentication'
complete -c toll -n "__fish_toll_using_subcommand serve" -l proxy-negotiate -d 'Only answer the proxy with Negotiate (Kerberos): your ticket is used, no password is needed'
complete -c toll -n "__fish_toll_using_subcommand serve" -l proxy-anyauth -d 'Answer with the strongest scheme the proxy offers (the default): Negotiate, then NTLM, Digest, Basic, falling back when one cannot be used'
complete -c toll -n "__fish_toll_using_subcommand serve" -l no-sessionid -d 'Resume no TLS session: every TLS connection (to servers and https:// proxies) makes a full handshake'
complete -c toll -n "__fish_toll_using_subcommand serve" -l proxy-insecure -d 'Do not verify an https:// proxy\'s certificate (dangerous)'
complete -c toll -n "__fish_toll_using_subcommand serve" -l proxy-tlsv1 -d 'Accepted: an https:// proxy gets TLS 1.2 or 1.3, which is "TLS 1.0 or later"'
complete -c toll -n "__fish_toll_using_subcommand serve" -l proxy-ssl-allow-beast -d 'Accepted: the BEAST workaround concerns TLS 1.0, which toll does not speak'
complete -c toll -n "__fish_toll_using_subcommand serve" -l socks5-basic -d 'Accepted: toll offers a SOCKS5 proxy its user name and password whenever it has them'
complete -c toll -n "__fish_toll_using_subcommand serve" -l proxy-http2 -d 'Accepted (curl 8.1): toll speaks HTTP/1.1 to an https:// proxy, which is what curl falls back to when the proxy does not offer HTTP/2'
complete -c toll -n "__fish_toll_using_subcommand serve" -l no-prompt -d 'Never ask for a password on the terminal; fail instead'
complete -c toll -n "__fish_toll_using_subcommand serve" -l no-save -d 'Do not offer to save a password typed at the prompt in the OS keyring'
complete -c toll -n "__fish_toll_using_subcommand serve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c toll -n "__fish_toll_using_subcommand run" -l log -d 'Append the access log to FILE: toll serve\'s instead of on stderr, toll run\'s instead of nowhere (its command keeps the terminal)' -r -F
complete -c toll -n "__fish_toll_using_subcommand run" -s x -l proxy -d 'Use this proxy: [SCHEME://][USER[:PASSWORD]@]HOST[:PORT]' -r
complete -c toll -n "__fish_toll_using_subcommand run" -l proxy1.0 -d 'Use this HTTP proxy and send it CONNECT as HTTP/1.0 (for proxies that do not take HTTP/1.1\'s): -x http://HOST[:PORT] otherwise. Of -x, --proxy1.0 and the --socks options, the last one given wins' -r
complete -c toll -n "__fish_toll_using_subcommand run" -l socks4 -d 'Use this SOCKS4 proxy: -x socks4://HOST[:PORT] (curl\'s older form; of -x and the --socks options, the last one given wins)' -r
complete -c toll -n "__fish_toll_using_subcommand run" -l socks4a -d 'Use this SOCKS4a proxy (it resolves names): -x socks4a://HOST[:PORT]' -r
complete -c toll -n "__fish_toll_using_subcommand run" -l socks5 -d 'Use this SOCKS5 proxy, names resolved here: -x socks5://HOST[:PORT]' -r
complete -c toll -n "__fish_toll_using_subcommand run" -l socks5-hostname -d 'Use this SOCKS5 proxy, names resolved by it: -x socks5h://HOST[:PORT]' -r
complete -c toll -n "__fish_toll_using_subcommand run" -l preproxy -d 'Reach the HTTP or HTTPS proxy through this SOCKS proxy first: [SCHEME://][USER[:PASSWORD]@]HOST[:PORT]' -r
complete -c toll -n "__fish_toll_using_subcommand run" -s U -l proxy-user -d 'User name and password for the proxy' -r
complete -c toll -n "__fish_toll_using_subcommand run" -l pac -d 'Route by this proxy auto-config (PAC) file or http(s):// URL, as a browser does' -r
complete -c toll -n "__fish_toll_using_subcommand run" -l noproxy -d 'Hosts to reach without the proxy (overrides no_proxy and NO_PROXY)' -r
complete -c toll -n "__fish_toll_using_subcommand run" -l proxy-service-name -d 'The Kerberos service of the proxy\'s principal for Negotiate: a ticket for NAME/proxy-host instead of HTTP/proxy-host' -r
complete -c toll -n "__fish_toll_using_subcommand run" -l delegation -d 'Let Negotiate hand the proxy (and, with --negotiate, the server) your Kerberos credentials so it can act as you: none (the default), policy (only where the KDC marks the service ok-as-delegate) or always (needs a forwardable ticket: kinit -f)' -r
complete -c toll -n "__fish_toll_using_subcommand run" -l proxy-cacert -d 'Verify an https:// proxy\'s certificate against the CA certificates in FILE (PEM)' -r -F
complete -c toll -n "__fish_toll_using_subcommand run" -l proxy-pinnedpubkey -d 'An https:// proxy\'s public key must be this one: sha256//BASE64 digests joined by \';\', or a PEM or DER public key file (checked with --proxy-insecure too; a mismatch is exit 90)' -r
complete -c toll -n "__fish_toll_using_subcommand run" -l proxy-capath -d 'Also trust the CA certificates in the PEM files of DIR for an https:// proxy (with --proxy-cacert\'s), as --capath' -r -F
complete -c toll -n "__fish_toll_using_subcommand run" -l proxy-cert -d 'Client certificate for an https:// proxy (PEM), with the key in the same file unless --proxy-key, as -E for the server' -r
complete -c toll -n "__fish_toll_using_subcommand run" -l proxy-key -d 'The private key for --proxy-cert (PEM)' -r -F
complete -c toll -n "__fish_toll_using_subcommand run" -l proxy-cert-type -d 'The type of --proxy-cert\'s file: PEM (the only one toll reads)' -r
complete -c toll -n "__fish_toll_using_subcommand run" -l proxy-key-type -d 'The type of --proxy-key\'s file: PEM (the only one toll reads)' -r
complete -c toll -n "__fish_toll_using_subcommand run" -l proxy-pass -d 'The passphrase of --proxy-cert\'s key, as --proxy-cert CERT:PASSWORD; toll cannot use an encrypted key (exit 58)' -r
complete -c toll -n "__fish_toll_using_subcommand run" -l proxy-crlfile -d 'Check an https:// proxy\'s certificate against the CRLs in FILE (PEM), as --crlfile' -r -F
complete -c toll -n "__fish_toll_using_subcommand run" -l proxy-ciphers -d 'TLS 1.2 cipher suites for an https:// proxy, as --ciphers' -r
complete -c toll -n "__fish_toll_using_subcommand run" -l proxy-tls13-ciphers -d 'TLS 1.3 cipher suites for an https:// proxy, as --tls13-ciphers' -r
complete -c toll -n "__fish_toll_using_subcommand run" -l connect-timeout -d 'Give up connecting to the proxy (TLS with an https:// proxy included) or a direct origin after this many seconds (default 30; the client gets 504)' -r
complete -c toll -n "__fish_toll_using_subcommand run" -l answer-timeout -d 'Give up waiting for the proxy\'s (or a direct origin\'s) answer to a CONNECT or a request after this many seconds (the client gets 504), counted from the last byte of the request body however long the upload took, or from when the proxy stopped taking the upload; 0: wait as long as the client does' -r
complete -c toll -n "__fish_toll_using_subcommand run" -l idle-timeout -d 'Close a tunnel (CONNECT) that has carried no data either way for this many seconds (checked at that interval: closed after one to two of them); 0: never' -r
complete -c toll -n "__fish_toll_using_subcommand run" -l spare-tunnels -d 'Keep N connections to each proxy opened ahead (an NTLM handshake started) so that a new tunnel costs one round trip; 0 turns it off' -r
complete -c toll -n "__fish_toll_using_subcommand run" -l threads -d 'Serve with N threads. One goes a long way (a tunnel costs about 0.2 ms of CPU, a request on a kept-alive connection under 0.1 ms) and leaves the other cores to the programs it serves; more help only when one core is saturated' -r
complete -c toll -n "__fish_toll_using_subcommand run" -l verify-url -d 'Started by hand on a terminal, before serving (toll serve) or before CMD starts (toll run): request this URL through the proxy chosen for it (none: no request), asking for the password if the proxy wants one that is not stored (so toll\'s prompt never meets a client\'s output or CMD\'s)' -r
complete -c toll -n "__fish_toll_using_subcommand run" -s v -l verbose -d 'Print the proxy conversation on stderr'
complete -c toll -n "__fish_toll_using_subcommand run" -l wpad -d 'When nothing else says which proxy to use, look for a PAC by WPAD (http://wpad.<your DNS domain>/wpad.dat)'
complete -c toll -n "__fish_toll_using_subcommand run" -l proxy-basic -d 'Only answer the proxy with Basic authentication'
complete -c toll -n "__fish_toll_using_subcommand run" -l proxy-digest -d 'Only answer the proxy with Digest authentication'
complete -c toll -n "__fish_toll_using_subcommand run" -l proxy-ntlm -d 'Only answer the proxy with NTLM (v2) authentication'
complete -c toll -n "__fish_toll_using_subcommand run" -l proxy-negotiate -d 'Only answer the proxy with Negotiate (Kerberos): your ticket is used, no password is needed'
complete -c toll -n "__fish_toll_using_subcommand run" -l proxy-anyauth -d 'Answer with the strongest scheme the proxy offers (the default): Negotiate, then NTLM, Digest, Basic, falling back when one cannot be used'
complete -c toll -n "__fish_toll_using_subcommand run" -l no-sessionid -d 'Resume no TLS session: every TLS connection (to servers and https:// proxies) makes a full handshake'
complete -c toll -n "__fish_toll_using_subcommand run" -l proxy-insecure -d 'Do not verify an https:// proxy\'s certificate (dangerous)'
complete -c toll -n "__fish_toll_using_subcommand run" -l proxy-tlsv1 -d 'Accepted: an https:// proxy gets TLS 1.2 or 1.3, which is "TLS 1.0 or later"'
complete -c toll -n "__fish_toll_using_subcommand run" -l proxy-ssl-allow-beast -d 'Accepted: the BEAST workaround concerns TLS 1.0, which toll does not speak'
complete -c toll -n "__fish_toll_using_subcommand run" -l socks5-basic -d 'Accepted: toll offers a SOCKS5 proxy its user name and password whenever it has them'
complete -c toll -n "__fish_toll_using_subcommand run" -l proxy-http2 -d 'Accepted (curl 8.1): toll speaks HTTP/1.1 to an https:// proxy, which is what curl falls back to when the proxy does not offer HTTP/2'
complete -c toll -n "__fish_toll_using_subcommand run" -l no-prompt -d 'Never ask for a password on the terminal; fail instead'
complete -c toll -n "__fish_toll_using_subcommand run" -l no-save -d 'Do not offer to save a password typed at the prompt in the OS keyring'
complete -c toll -n "__fish_toll_using_subcommand run" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c toll -n "__fish_toll_using_subcommand pac" -s m -l max-time -d 'Give up fetching an http(s):// PAC after this many seconds (default 30)' -r
complete -c toll -n "__fish_toll_using_subcommand pac" -l cacert -d 'Verify an https:// PAC server against the CA certificates in FILE (PEM)' -r -F
complete -c toll -n "__fish_toll_using_subcommand pac" -s v -l verbose -d 'Also show alert() output, the entry point, the arguments passed, the parsed proxy list and timings (on stderr)'
complete -c toll -n "__fish_toll_using_subcommand pac" -l transfer -d 'Pass the URL as a transfer would (https:// path and query stripped)'
complete -c toll -n "__fish_toll_using_subcommand pac" -s k -l insecure -d 'Do not verify the certificate of an https:// PAC server (dangerous)'
complete -c toll -n "__fish_toll_using_subcommand pac" -s h -l help -d 'Print help (see more with \'--help\')'
