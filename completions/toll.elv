
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
            cand -x 'Use this proxy: [SCHEME://][USER[:PASSWORD]@]HOST[:PORT]'
            cand --proxy 'Use this proxy: [SCHEME://][USER[:PASSWORD]@]HOST[:PORT]'
            cand -U 'User name and password for the proxy'
            cand --proxy-user 'User name and password for the proxy'
            cand --noproxy 'Hosts to reach without the proxy (overrides no_proxy and NO_PROXY)'
            cand --proxy-cacert 'Verify an https:// proxy''s certificate against the CA certificates in FILE (PEM)'
            cand -X 'Request method (default GET; POST with a body; HEAD with -I)'
            cand --request 'Request method (default GET; POST with a body; HEAD with -I)'
            cand -H 'Extra request header, ''Name: value''. Repeatable'
            cand --header 'Extra request header, ''Name: value''. Repeatable'
            cand -d 'Send DATA as a form body (POST). @FILE reads a file, @- standard input'
            cand --data 'Send DATA as a form body (POST). @FILE reads a file, @- standard input'
            cand --data-binary 'Like -d, but @FILE and @- are sent byte for byte'
            cand --json 'Send JSON (POST), with Content-Type and Accept application/json'
            cand --max-redirs 'With -L, follow at most N redirects (-1: no limit)'
            cand -A 'User-Agent header to send'
            cand --user-agent 'User-Agent header to send'
            cand -u 'User name and password for the server (not the proxy: that is -U)'
            cand --user 'User name and password for the server (not the proxy: that is -U)'
            cand --retry 'Retry a transient failure up to N times: a timeout, or HTTP 408, 429, 500, 502, 503, 504'
            cand --retry-delay 'Wait this long between retries instead of the backoff (0: the backoff)'
            cand --retry-max-time 'Retry only while less than this much time has passed since the first attempt (0: no limit)'
            cand --data-raw 'Like -d, but ''@'' has no special meaning. Repeatable'
            cand --data-urlencode 'Like -d, URL-encoding the content: ''content'', ''=content'', ''name=content'', ''@file'', ''name@file''. Repeatable'
            cand -e 'Send ''Referer: URL''. ''URL;auto'' (or '';auto'') also sets it to the previous URL when following a redirect'
            cand --referer 'Send ''Referer: URL''. ''URL;auto'' (or '';auto'') also sets it to the previous URL when following a redirect'
            cand -T 'Upload FILE with PUT (''-'': standard input); a URL ending in ''/'' gets the file name'
            cand --upload-file 'Upload FILE with PUT (''-'': standard input); a URL ending in ''/'' gets the file name'
            cand -r 'Ask for only part of the body: ''START-END'', ''START-'', ''-LAST'', or several, comma-separated'
            cand --range 'Ask for only part of the body: ''START-END'', ''START-'', ''-LAST'', or several, comma-separated'
            cand --url 'The URL to fetch (instead of the positional URL)'
            cand --resolve 'Connect to ADDR for HOST:PORT instead of resolving HOST. Repeatable'
            cand -o 'Write the body to FILE instead of standard output (''-'' is standard output)'
            cand --output 'Write the body to FILE instead of standard output (''-'' is standard output)'
            cand -w 'After the transfer, print FORMAT: %{http_code}, %{url_effective}, %{time_total}, … as curl'
            cand --write-out 'After the transfer, print FORMAT: %{http_code}, %{url_effective}, %{time_total}, … as curl'
            cand -D 'Write the response head(s) to FILE (''-'': standard output, before the body)'
            cand --dump-header 'Write the response head(s) to FILE (''-'': standard output, before the body)'
            cand --output-dir 'Put -o and -O files in DIR (-o with an absolute path excepted)'
            cand -m 'Give up after this many seconds in total (fractions allowed; 0: no limit)'
            cand --max-time 'Give up after this many seconds in total (fractions allowed; 0: no limit)'
            cand --connect-timeout 'Give up connecting after this many seconds (fractions allowed; 0: no limit)'
            cand --cacert 'Verify servers against the CA certificates in FILE (PEM) instead of the system''s'
            cand --proxy-basic 'Only answer the proxy with Basic authentication'
            cand --proxy-digest 'Only answer the proxy with Digest authentication'
            cand --proxy-ntlm 'Only answer the proxy with NTLM (v2) authentication'
            cand --proxy-negotiate 'Only answer the proxy with Negotiate (Kerberos): your ticket is used, no password is needed'
            cand --proxy-anyauth 'Answer with the strongest scheme the proxy offers (the default): Negotiate, then NTLM, Digest, Basic, falling back when one cannot be used'
            cand --proxy-insecure 'Do not verify an https:// proxy''s certificate (dangerous)'
            cand --no-prompt 'Never ask for a password on the terminal; fail instead'
            cand --no-save 'Do not offer to save a password typed at the prompt in the OS keyring'
            cand -I 'Send only a HEAD request and show the response headers'
            cand --head 'Send only a HEAD request and show the response headers'
            cand -L 'Follow redirects (3xx with Location)'
            cand --location 'Follow redirects (3xx with Location)'
            cand --compressed 'Ask for a compressed response (gzip, deflate, br, zstd) and decompress it'
            cand --basic 'Answer the server with Basic authentication, sent with the first request (the default)'
            cand --digest 'Answer the server''s 401 with Digest authentication'
            cand --ntlm 'Answer the server''s 401 with NTLM (v2) authentication'
            cand --negotiate 'Answer the server''s 401 with Negotiate (Kerberos; use -u : to need no password)'
            cand --anyauth 'Answer the server''s 401 with the strongest scheme it offers'
            cand --location-trusted 'With -L, send the -u credentials to every host redirected to (dangerous)'
            cand --retry-all-errors 'With --retry, retry any error, not only transient ones (rejected credentials and usage errors excepted)'
            cand --retry-connrefused 'With --retry, a refused connection counts as transient'
            cand -G 'Send the -d/--data-urlencode/--data-raw data in the URL''s query with a GET (or HEAD with -I)'
            cand --get 'Send the -d/--data-urlencode/--data-raw data in the URL''s query with a GET (or HEAD with -I)'
            cand --http1.1 'Use HTTP/1.1 only'
            cand --http2 'Use HTTP/2 when the server offers it in the TLS handshake (the default)'
            cand --http2-prior-knowledge 'Speak HTTP/2 from the start, without asking (also on http:// URLs)'
            cand -4 'Connect over IPv4 only'
            cand --ipv4 'Connect over IPv4 only'
            cand -O 'Write the body to a file named like the URL''s last path segment'
            cand --remote-name 'Write the body to a file named like the URL''s last path segment'
            cand -i 'Show the response headers before the body'
            cand --include 'Show the response headers before the body'
            cand -f 'Fail on HTTP errors (status 400 and above) without writing the body'
            cand --fail 'Fail on HTTP errors (status 400 and above) without writing the body'
            cand -s 'No progress meter and no error messages'
            cand --silent 'No progress meter and no error messages'
            cand -S 'With -s, still show error messages'
            cand --show-error 'With -s, still show error messages'
            cand -v 'Show the proxy conversation and the headers on standard error'
            cand --verbose 'Show the proxy conversation and the headers on standard error'
            cand --create-dirs 'Create the directories -o FILE needs'
            cand --fail-with-body 'Like -f, but the body of the error answer is still written (exit 22)'
            cand -# 'Accepted for curl''s sake: toll shows a progress bar for -o/-O on a terminal anyway'
            cand --progress-bar 'Accepted for curl''s sake: toll shows a progress bar for -o/-O on a terminal anyway'
            cand -k 'Do not verify the server''s certificate (dangerous)'
            cand --insecure 'Do not verify the server''s certificate (dangerous)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand demo 'Try toll without a real proxy: fetch a page through a local proxy that demands authentication'
            cand auth 'Store, remove, list and check proxy passwords in the OS keyring'
            cand doctor 'Find out why the proxy refuses (407, 403, …), step by step, and say how to fix it'
        }
        &'toll;demo'= {
            cand --scheme 'The authentication scheme the demo proxy asks for'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'toll;auth'= {
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand login 'Store the password for a proxy, after checking it against the proxy'
            cand logout 'Remove the stored password for a proxy'
            cand list 'List the proxies with a stored password (never the passwords)'
            cand status 'Show where a run would get the credentials for a proxy, and how fast the keyring answers'
        }
        &'toll;auth;login'= {
            cand --user 'The user name (asked for when not given)'
            cand --verify-url 'The URL requested through the proxy to check the password: any answer but 407 means the proxy accepted it'
            cand --proxy-cacert 'Verify an https:// proxy''s certificate against the CA certificates in FILE (PEM)'
            cand --password-stdin 'Read the password from the first line of standard input instead of asking'
            cand --no-verify 'Store the password without checking it against the proxy'
            cand --proxy-insecure 'Do not verify an https:// proxy''s certificate (dangerous)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'toll;auth;logout'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'toll;auth;list'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'toll;auth;status'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'toll;doctor'= {
            cand --verify-url 'The URL the one authenticated attempt is made for, before URL itself: if the proxy accepts the credentials there but answers 407 for URL, URL is restricted for this user (the password is fine)'
            cand -x 'Use this proxy: [SCHEME://][USER[:PASSWORD]@]HOST[:PORT]'
            cand --proxy 'Use this proxy: [SCHEME://][USER[:PASSWORD]@]HOST[:PORT]'
            cand -U 'User name and password for the proxy'
            cand --proxy-user 'User name and password for the proxy'
            cand --noproxy 'Hosts to reach without the proxy (overrides no_proxy and NO_PROXY)'
            cand --proxy-cacert 'Verify an https:// proxy''s certificate against the CA certificates in FILE (PEM)'
            cand -m 'Give up after this many seconds in total (fractions allowed; 0: no limit)'
            cand --max-time 'Give up after this many seconds in total (fractions allowed; 0: no limit)'
            cand --connect-timeout 'Give up connecting after this many seconds (fractions allowed; 0: no limit)'
            cand --cacert 'Verify servers against the CA certificates in FILE (PEM) instead of the system''s'
            cand --json 'Print the steps as JSON (for scripts and support tooling)'
            cand --report 'Print a report to paste into a ticket: versions, steps, timings, the proxy''s raw status lines and challenges; no secrets'
            cand --proxy-basic 'Only answer the proxy with Basic authentication'
            cand --proxy-digest 'Only answer the proxy with Digest authentication'
            cand --proxy-ntlm 'Only answer the proxy with NTLM (v2) authentication'
            cand --proxy-negotiate 'Only answer the proxy with Negotiate (Kerberos): your ticket is used, no password is needed'
            cand --proxy-anyauth 'Answer with the strongest scheme the proxy offers (the default): Negotiate, then NTLM, Digest, Basic, falling back when one cannot be used'
            cand --proxy-insecure 'Do not verify an https:// proxy''s certificate (dangerous)'
            cand --no-prompt 'Never ask for a password on the terminal; fail instead'
            cand --no-save 'Do not offer to save a password typed at the prompt in the OS keyring'
            cand -k 'Do not verify the server''s certificate (dangerous)'
            cand --insecure 'Do not verify the server''s certificate (dangerous)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
    ]
    $completions[$command]
}
