
use builtin;
use str;

set edit:completion:arg-completer[toll] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'toll'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'toll'= {
            cand -x 'Use this proxy: [SCHEME://][USER[:PASSWORD]@]HOST[:PORT]. Schemes: http (default), https, socks4, socks4a, socks5, socks5h; default port 1080 (443 for https). Overrides the *_proxy environment variables; an empty string means no proxy at all'
            cand --proxy 'Use this proxy: [SCHEME://][USER[:PASSWORD]@]HOST[:PORT]. Schemes: http (default), https, socks4, socks4a, socks5, socks5h; default port 1080 (443 for https). Overrides the *_proxy environment variables; an empty string means no proxy at all'
            cand -U 'User name and password for the proxy, split at the first '':'' (so the password may contain '':''). Without '':PASSWORD'' toll asks for it when the proxy wants one'
            cand --proxy-user 'User name and password for the proxy, split at the first '':'' (so the password may contain '':''). Without '':PASSWORD'' toll asks for it when the proxy wants one'
            cand --noproxy 'Hosts to reach without the proxy, separated by commas or spaces; overrides no_proxy and NO_PROXY. Entries: ''*'' (everything), a domain (matches its subdomains too: example.com, .example.com), an IP address or CIDR block (10.0.0.0/8, ::1/128), each optionally with '':PORT''. An empty LIST clears the environment''s list'
            cand --proxy-cacert 'Verify an https:// proxy''s certificate against the CA certificates in FILE (PEM)'
            cand -X 'Request method (default GET; POST with a body; HEAD with -I)'
            cand --request 'Request method (default GET; POST with a body; HEAD with -I)'
            cand -H 'Extra request header, ''Name: value'' (''Name;'' sends an empty value). Repeatable'
            cand --header 'Extra request header, ''Name: value'' (''Name;'' sends an empty value). Repeatable'
            cand -d 'Send DATA as a form body (POST, Content-Type application/x-www-form-urlencoded unless set with -H). @FILE reads a file and @- standard input, dropping CR and LF. Repeat to join pieces with ''&'''
            cand --data 'Send DATA as a form body (POST, Content-Type application/x-www-form-urlencoded unless set with -H). @FILE reads a file and @- standard input, dropping CR and LF. Repeat to join pieces with ''&'''
            cand --data-binary 'Like -d, but @FILE and @- are sent byte for byte'
            cand --json 'Send JSON (POST, Content-Type and Accept application/json unless set with -H). @FILE and @- as for --data-binary; repeated pieces are concatenated'
            cand --max-redirs 'With -L, follow at most N redirects (-1: no limit)'
            cand -A 'User-Agent header to send'
            cand --user-agent 'User-Agent header to send'
            cand -o 'Write the body to FILE instead of standard output (''-'' is standard output)'
            cand --output 'Write the body to FILE instead of standard output (''-'' is standard output)'
            cand -m 'Give up after this many seconds in total (fractions allowed; 0: no limit)'
            cand --max-time 'Give up after this many seconds in total (fractions allowed; 0: no limit)'
            cand --connect-timeout 'Give up connecting after this many seconds (fractions allowed; 0: no limit)'
            cand --cacert 'Verify servers against the CA certificates in FILE (PEM) instead of the system''s'
            cand --proxy-basic 'Only answer the proxy with Basic authentication (sends the password in clear text unless the proxy is https://)'
            cand --proxy-digest 'Only answer the proxy with Digest authentication'
            cand --proxy-anyauth 'Answer with the strongest scheme the proxy offers (the default). Of --proxy-basic, --proxy-digest and --proxy-anyauth the last one given wins'
            cand --proxy-insecure 'Do not verify an https:// proxy''s certificate (dangerous)'
            cand --no-prompt 'Never ask for a password on the terminal; fail instead. Also: TOLL_NO_PROMPT=1'
            cand -I 'Send only a HEAD request and show the response headers'
            cand --head 'Send only a HEAD request and show the response headers'
            cand -L 'Follow redirects (3xx with Location)'
            cand --location 'Follow redirects (3xx with Location)'
            cand --compressed 'Ask for a compressed response (gzip, deflate, br, zstd) and decompress it'
            cand -O 'Write the body to a file named like the URL''s last path segment'
            cand --remote-name 'Write the body to a file named like the URL''s last path segment'
            cand -i 'Show the response headers before the body'
            cand --include 'Show the response headers before the body'
            cand -f 'Fail (exit code 22) on HTTP errors (status 400 and above) without writing the body'
            cand --fail 'Fail (exit code 22) on HTTP errors (status 400 and above) without writing the body'
            cand -s 'No progress meter and no error messages'
            cand --silent 'No progress meter and no error messages'
            cand -S 'With -s, still show error messages'
            cand --show-error 'With -s, still show error messages'
            cand -v 'Show the proxy conversation and the request and response headers on standard error (secrets redacted)'
            cand --verbose 'Show the proxy conversation and the request and response headers on standard error (secrets redacted)'
            cand -k 'Do not verify the server''s certificate (dangerous)'
            cand --insecure 'Do not verify the server''s certificate (dangerous)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand demo 'Try toll without a real proxy: run a local proxy that demands authentication and fetch a page through it'
        }
        &'toll;demo'= {
            cand --scheme 'The authentication scheme the demo proxy asks for'
            cand -h 'Print help'
            cand --help 'Print help'
        }
    ]
    $completions[$command]
}
