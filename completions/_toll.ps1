
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'toll' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'toll'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'toll' {
            [CompletionResult]::new('-x', '-x', [CompletionResultType]::ParameterName, 'Use this proxy: [SCHEME://][USER[:PASSWORD]@]HOST[:PORT]')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'Use this proxy: [SCHEME://][USER[:PASSWORD]@]HOST[:PORT]')
            [CompletionResult]::new('-U', '-U ', [CompletionResultType]::ParameterName, 'User name and password for the proxy')
            [CompletionResult]::new('--proxy-user', '--proxy-user', [CompletionResultType]::ParameterName, 'User name and password for the proxy')
            [CompletionResult]::new('--pac', '--pac', [CompletionResultType]::ParameterName, 'Route by this proxy auto-config (PAC) file or http(s):// URL, as a browser does')
            [CompletionResult]::new('--noproxy', '--noproxy', [CompletionResultType]::ParameterName, 'Hosts to reach without the proxy (overrides no_proxy and NO_PROXY)')
            [CompletionResult]::new('--proxy-cacert', '--proxy-cacert', [CompletionResultType]::ParameterName, 'Verify an https:// proxy''s certificate against the CA certificates in FILE (PEM)')
            [CompletionResult]::new('-X', '-X ', [CompletionResultType]::ParameterName, 'Request method (default GET; POST with a body; HEAD with -I)')
            [CompletionResult]::new('--request', '--request', [CompletionResultType]::ParameterName, 'Request method (default GET; POST with a body; HEAD with -I)')
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'Extra request header, ''Name: value''. Repeatable')
            [CompletionResult]::new('--header', '--header', [CompletionResultType]::ParameterName, 'Extra request header, ''Name: value''. Repeatable')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'Send DATA as a form body (POST). @FILE reads a file, @- standard input')
            [CompletionResult]::new('--data', '--data', [CompletionResultType]::ParameterName, 'Send DATA as a form body (POST). @FILE reads a file, @- standard input')
            [CompletionResult]::new('--data-binary', '--data-binary', [CompletionResultType]::ParameterName, 'Like -d, but @FILE and @- are sent byte for byte')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Send JSON (POST), with Content-Type and Accept application/json')
            [CompletionResult]::new('--max-redirs', '--max-redirs', [CompletionResultType]::ParameterName, 'With -L, follow at most N redirects (-1: no limit)')
            [CompletionResult]::new('-A', '-A ', [CompletionResultType]::ParameterName, 'User-Agent header to send')
            [CompletionResult]::new('--user-agent', '--user-agent', [CompletionResultType]::ParameterName, 'User-Agent header to send')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'User name and password for the server (not the proxy: that is -U)')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'User name and password for the server (not the proxy: that is -U)')
            [CompletionResult]::new('--netrc-file', '--netrc-file', [CompletionResultType]::ParameterName, 'Like -n, with FILE instead of ~/.netrc')
            [CompletionResult]::new('--retry', '--retry', [CompletionResultType]::ParameterName, 'Retry a transient failure up to N times: a timeout, or HTTP 408, 429, 500, 502, 503, 504')
            [CompletionResult]::new('--retry-delay', '--retry-delay', [CompletionResultType]::ParameterName, 'Wait this long between retries instead of the backoff (0: the backoff)')
            [CompletionResult]::new('--retry-max-time', '--retry-max-time', [CompletionResultType]::ParameterName, 'Retry only while less than this much time has passed since the first attempt (0: no limit)')
            [CompletionResult]::new('--data-raw', '--data-raw', [CompletionResultType]::ParameterName, 'Like -d, but ''@'' has no special meaning. Repeatable')
            [CompletionResult]::new('--data-urlencode', '--data-urlencode', [CompletionResultType]::ParameterName, 'Like -d, URL-encoding the content: ''content'', ''=content'', ''name=content'', ''@file'', ''name@file''. Repeatable')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'Send ''Referer: URL''. ''URL;auto'' (or '';auto'') also sets it to the previous URL when following a redirect')
            [CompletionResult]::new('--referer', '--referer', [CompletionResultType]::ParameterName, 'Send ''Referer: URL''. ''URL;auto'' (or '';auto'') also sets it to the previous URL when following a redirect')
            [CompletionResult]::new('-T', '-T ', [CompletionResultType]::ParameterName, 'Upload FILE with PUT (''-'': standard input); a URL ending in ''/'' gets the file name')
            [CompletionResult]::new('--upload-file', '--upload-file', [CompletionResultType]::ParameterName, 'Upload FILE with PUT (''-'': standard input); a URL ending in ''/'' gets the file name')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Ask for only part of the body: ''START-END'', ''START-'', ''-LAST'', or several, comma-separated')
            [CompletionResult]::new('--range', '--range', [CompletionResultType]::ParameterName, 'Ask for only part of the body: ''START-END'', ''START-'', ''-LAST'', or several, comma-separated')
            [CompletionResult]::new('-b', '-b', [CompletionResultType]::ParameterName, 'Send cookies: ''NAME=VALUE; NAME2=VALUE2'', or read them from FILE (Netscape format) and turn on the cookie engine (cookies set by the server are sent on, e.g. with -L)')
            [CompletionResult]::new('--cookie', '--cookie', [CompletionResultType]::ParameterName, 'Send cookies: ''NAME=VALUE; NAME2=VALUE2'', or read them from FILE (Netscape format) and turn on the cookie engine (cookies set by the server are sent on, e.g. with -L)')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Write all cookies to FILE at the end, in the Netscape format (''-'': standard output)')
            [CompletionResult]::new('--cookie-jar', '--cookie-jar', [CompletionResultType]::ParameterName, 'Write all cookies to FILE at the end, in the Netscape format (''-'': standard output)')
            [CompletionResult]::new('-K', '-K ', [CompletionResultType]::ParameterName, 'Read options from FILE, in curl''s config-file syntax (''-'': standard input)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Read options from FILE, in curl''s config-file syntax (''-'': standard input)')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'The URL to fetch (instead of the positional URL)')
            [CompletionResult]::new('--resolve', '--resolve', [CompletionResultType]::ParameterName, 'Connect to ADDR for HOST:PORT instead of resolving HOST. Repeatable')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Write the body to FILE instead of standard output (''-'' is standard output)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Write the body to FILE instead of standard output (''-'' is standard output)')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'After the transfer, print FORMAT: %{http_code}, %{url_effective}, %{time_total}, … as curl')
            [CompletionResult]::new('--write-out', '--write-out', [CompletionResultType]::ParameterName, 'After the transfer, print FORMAT: %{http_code}, %{url_effective}, %{time_total}, … as curl')
            [CompletionResult]::new('-D', '-D ', [CompletionResultType]::ParameterName, 'Write the response head(s) to FILE (''-'': standard output, before the body)')
            [CompletionResult]::new('--dump-header', '--dump-header', [CompletionResultType]::ParameterName, 'Write the response head(s) to FILE (''-'': standard output, before the body)')
            [CompletionResult]::new('--output-dir', '--output-dir', [CompletionResultType]::ParameterName, 'Put -o and -O files in DIR (-o with an absolute path excepted)')
            [CompletionResult]::new('-m', '-m', [CompletionResultType]::ParameterName, 'Give up after this many seconds in total (fractions allowed; 0: no limit)')
            [CompletionResult]::new('--max-time', '--max-time', [CompletionResultType]::ParameterName, 'Give up after this many seconds in total (fractions allowed; 0: no limit)')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Give up connecting after this many seconds (fractions allowed; 0: no limit)')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'Verify servers against the CA certificates in FILE (PEM) instead of the system''s')
            [CompletionResult]::new('--wpad', '--wpad', [CompletionResultType]::ParameterName, 'When nothing else says which proxy to use, look for a PAC by WPAD (http://wpad.<your DNS domain>/wpad.dat)')
            [CompletionResult]::new('--proxy-basic', '--proxy-basic', [CompletionResultType]::ParameterName, 'Only answer the proxy with Basic authentication')
            [CompletionResult]::new('--proxy-digest', '--proxy-digest', [CompletionResultType]::ParameterName, 'Only answer the proxy with Digest authentication')
            [CompletionResult]::new('--proxy-ntlm', '--proxy-ntlm', [CompletionResultType]::ParameterName, 'Only answer the proxy with NTLM (v2) authentication')
            [CompletionResult]::new('--proxy-negotiate', '--proxy-negotiate', [CompletionResultType]::ParameterName, 'Only answer the proxy with Negotiate (Kerberos): your ticket is used, no password is needed')
            [CompletionResult]::new('--proxy-anyauth', '--proxy-anyauth', [CompletionResultType]::ParameterName, 'Answer with the strongest scheme the proxy offers (the default): Negotiate, then NTLM, Digest, Basic, falling back when one cannot be used')
            [CompletionResult]::new('--proxy-insecure', '--proxy-insecure', [CompletionResultType]::ParameterName, 'Do not verify an https:// proxy''s certificate (dangerous)')
            [CompletionResult]::new('--no-prompt', '--no-prompt', [CompletionResultType]::ParameterName, 'Never ask for a password on the terminal; fail instead')
            [CompletionResult]::new('--no-save', '--no-save', [CompletionResultType]::ParameterName, 'Do not offer to save a password typed at the prompt in the OS keyring')
            [CompletionResult]::new('-I', '-I ', [CompletionResultType]::ParameterName, 'Send only a HEAD request and show the response headers')
            [CompletionResult]::new('--head', '--head', [CompletionResultType]::ParameterName, 'Send only a HEAD request and show the response headers')
            [CompletionResult]::new('-L', '-L ', [CompletionResultType]::ParameterName, 'Follow redirects (3xx with Location)')
            [CompletionResult]::new('--location', '--location', [CompletionResultType]::ParameterName, 'Follow redirects (3xx with Location)')
            [CompletionResult]::new('--compressed', '--compressed', [CompletionResultType]::ParameterName, 'Ask for a compressed response (gzip, deflate, br, zstd) and decompress it')
            [CompletionResult]::new('--basic', '--basic', [CompletionResultType]::ParameterName, 'Answer the server with Basic authentication, sent with the first request (the default)')
            [CompletionResult]::new('--digest', '--digest', [CompletionResultType]::ParameterName, 'Answer the server''s 401 with Digest authentication')
            [CompletionResult]::new('--ntlm', '--ntlm', [CompletionResultType]::ParameterName, 'Answer the server''s 401 with NTLM (v2) authentication')
            [CompletionResult]::new('--negotiate', '--negotiate', [CompletionResultType]::ParameterName, 'Answer the server''s 401 with Negotiate (Kerberos; use -u : to need no password)')
            [CompletionResult]::new('--anyauth', '--anyauth', [CompletionResultType]::ParameterName, 'Answer the server''s 401 with the strongest scheme it offers')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Take the server''s user name and password from ~/.netrc when -u does not give them')
            [CompletionResult]::new('--netrc', '--netrc', [CompletionResultType]::ParameterName, 'Take the server''s user name and password from ~/.netrc when -u does not give them')
            [CompletionResult]::new('--netrc-optional', '--netrc-optional', [CompletionResultType]::ParameterName, 'Like -n (kept for curl''s sake: a missing file is fine with both)')
            [CompletionResult]::new('--location-trusted', '--location-trusted', [CompletionResultType]::ParameterName, 'With -L, send the -u credentials to every host redirected to (dangerous)')
            [CompletionResult]::new('--retry-all-errors', '--retry-all-errors', [CompletionResultType]::ParameterName, 'With --retry, retry any error, not only transient ones (rejected credentials and usage errors excepted)')
            [CompletionResult]::new('--retry-connrefused', '--retry-connrefused', [CompletionResultType]::ParameterName, 'With --retry, a refused connection counts as transient')
            [CompletionResult]::new('-G', '-G ', [CompletionResultType]::ParameterName, 'Send the -d/--data-urlencode/--data-raw data in the URL''s query with a GET (or HEAD with -I)')
            [CompletionResult]::new('--get', '--get', [CompletionResultType]::ParameterName, 'Send the -d/--data-urlencode/--data-raw data in the URL''s query with a GET (or HEAD with -I)')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Drop the session cookies read with -b FILE (start a new session)')
            [CompletionResult]::new('--junk-session-cookies', '--junk-session-cookies', [CompletionResultType]::ParameterName, 'Drop the session cookies read with -b FILE (start a new session)')
            [CompletionResult]::new('--http1.1', '--http1.1', [CompletionResultType]::ParameterName, 'Use HTTP/1.1 only')
            [CompletionResult]::new('--http2', '--http2', [CompletionResultType]::ParameterName, 'Use HTTP/2 when the server offers it in the TLS handshake (the default)')
            [CompletionResult]::new('--http2-prior-knowledge', '--http2-prior-knowledge', [CompletionResultType]::ParameterName, 'Speak HTTP/2 from the start, without asking (also on http:// URLs)')
            [CompletionResult]::new('-4', '-4', [CompletionResultType]::ParameterName, 'Connect over IPv4 only')
            [CompletionResult]::new('--ipv4', '--ipv4', [CompletionResultType]::ParameterName, 'Connect over IPv4 only')
            [CompletionResult]::new('-O', '-O ', [CompletionResultType]::ParameterName, 'Write the body to a file named like the URL''s last path segment')
            [CompletionResult]::new('--remote-name', '--remote-name', [CompletionResultType]::ParameterName, 'Write the body to a file named like the URL''s last path segment')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Show the response headers before the body')
            [CompletionResult]::new('--include', '--include', [CompletionResultType]::ParameterName, 'Show the response headers before the body')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Fail on HTTP errors (status 400 and above) without writing the body')
            [CompletionResult]::new('--fail', '--fail', [CompletionResultType]::ParameterName, 'Fail on HTTP errors (status 400 and above) without writing the body')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'No progress meter and no error messages')
            [CompletionResult]::new('--silent', '--silent', [CompletionResultType]::ParameterName, 'No progress meter and no error messages')
            [CompletionResult]::new('-S', '-S ', [CompletionResultType]::ParameterName, 'With -s, still show error messages')
            [CompletionResult]::new('--show-error', '--show-error', [CompletionResultType]::ParameterName, 'With -s, still show error messages')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Show the proxy conversation and the headers on standard error')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Show the proxy conversation and the headers on standard error')
            [CompletionResult]::new('--create-dirs', '--create-dirs', [CompletionResultType]::ParameterName, 'Create the directories -o FILE needs')
            [CompletionResult]::new('--fail-with-body', '--fail-with-body', [CompletionResultType]::ParameterName, 'Like -f, but the body of the error answer is still written (exit 22)')
            [CompletionResult]::new('-#', '-#', [CompletionResultType]::ParameterName, 'Accepted for curl''s sake: toll shows a progress bar for -o/-O on a terminal anyway')
            [CompletionResult]::new('--progress-bar', '--progress-bar', [CompletionResultType]::ParameterName, 'Accepted for curl''s sake: toll shows a progress bar for -o/-O on a terminal anyway')
            [CompletionResult]::new('-k', '-k', [CompletionResultType]::ParameterName, 'Do not verify the server''s certificate (dangerous)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the server''s certificate (dangerous)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('demo', 'demo', [CompletionResultType]::ParameterValue, 'Try toll without a real proxy: fetch a page through a local proxy that demands authentication')
            [CompletionResult]::new('auth', 'auth', [CompletionResultType]::ParameterValue, 'Store, remove, list and check proxy passwords in the OS keyring')
            [CompletionResult]::new('doctor', 'doctor', [CompletionResultType]::ParameterValue, 'Find out why the proxy refuses (407, 403, …), step by step, and say how to fix it')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Be the authenticating proxy for other programs (git, pip, npm, curl, …) on loopback')
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'Run one command with its proxy settings pointing at a private toll serve')
            [CompletionResult]::new('pac', 'pac', [CompletionResultType]::ParameterValue, 'Evaluate a proxy auto-config (PAC) file for a URL and print its answer')
            break
        }
        'toll;demo' {
            [CompletionResult]::new('--scheme', '--scheme', [CompletionResultType]::ParameterName, 'The authentication scheme the demo proxy asks for')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'toll;auth' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('login', 'login', [CompletionResultType]::ParameterValue, 'Store the password for a proxy, after checking it against the proxy')
            [CompletionResult]::new('logout', 'logout', [CompletionResultType]::ParameterValue, 'Remove the stored password for a proxy')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the proxies with a stored password (never the passwords)')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show where a run would get the credentials for a proxy, and how fast the keyring answers')
            break
        }
        'toll;auth;login' {
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'The user name (asked for when not given)')
            [CompletionResult]::new('--verify-url', '--verify-url', [CompletionResultType]::ParameterName, 'The URL requested through the proxy to check the password: any answer but 407 means the proxy accepted it')
            [CompletionResult]::new('--proxy-cacert', '--proxy-cacert', [CompletionResultType]::ParameterName, 'Verify an https:// proxy''s certificate against the CA certificates in FILE (PEM)')
            [CompletionResult]::new('--password-stdin', '--password-stdin', [CompletionResultType]::ParameterName, 'Read the password from the first line of standard input instead of asking')
            [CompletionResult]::new('--no-verify', '--no-verify', [CompletionResultType]::ParameterName, 'Store the password without checking it against the proxy')
            [CompletionResult]::new('--proxy-insecure', '--proxy-insecure', [CompletionResultType]::ParameterName, 'Do not verify an https:// proxy''s certificate (dangerous)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'toll;auth;logout' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'toll;auth;list' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'toll;auth;status' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'toll;doctor' {
            [CompletionResult]::new('--verify-url', '--verify-url', [CompletionResultType]::ParameterName, 'The URL the one authenticated attempt is made for, before URL itself: if the proxy accepts the credentials there but answers 407 for URL, URL is restricted for this user (the password is fine)')
            [CompletionResult]::new('-x', '-x', [CompletionResultType]::ParameterName, 'Use this proxy: [SCHEME://][USER[:PASSWORD]@]HOST[:PORT]')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'Use this proxy: [SCHEME://][USER[:PASSWORD]@]HOST[:PORT]')
            [CompletionResult]::new('-U', '-U ', [CompletionResultType]::ParameterName, 'User name and password for the proxy')
            [CompletionResult]::new('--proxy-user', '--proxy-user', [CompletionResultType]::ParameterName, 'User name and password for the proxy')
            [CompletionResult]::new('--pac', '--pac', [CompletionResultType]::ParameterName, 'Route by this proxy auto-config (PAC) file or http(s):// URL, as a browser does')
            [CompletionResult]::new('--noproxy', '--noproxy', [CompletionResultType]::ParameterName, 'Hosts to reach without the proxy (overrides no_proxy and NO_PROXY)')
            [CompletionResult]::new('--proxy-cacert', '--proxy-cacert', [CompletionResultType]::ParameterName, 'Verify an https:// proxy''s certificate against the CA certificates in FILE (PEM)')
            [CompletionResult]::new('-m', '-m', [CompletionResultType]::ParameterName, 'Give up after this many seconds in total (fractions allowed; 0: no limit)')
            [CompletionResult]::new('--max-time', '--max-time', [CompletionResultType]::ParameterName, 'Give up after this many seconds in total (fractions allowed; 0: no limit)')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Give up connecting after this many seconds (fractions allowed; 0: no limit)')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'Verify servers against the CA certificates in FILE (PEM) instead of the system''s')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the steps as JSON (for scripts and support tooling)')
            [CompletionResult]::new('--report', '--report', [CompletionResultType]::ParameterName, 'Print a report to paste into a ticket: versions, steps, timings, the proxy''s raw status lines and challenges; no secrets')
            [CompletionResult]::new('--wpad', '--wpad', [CompletionResultType]::ParameterName, 'When nothing else says which proxy to use, look for a PAC by WPAD (http://wpad.<your DNS domain>/wpad.dat)')
            [CompletionResult]::new('--proxy-basic', '--proxy-basic', [CompletionResultType]::ParameterName, 'Only answer the proxy with Basic authentication')
            [CompletionResult]::new('--proxy-digest', '--proxy-digest', [CompletionResultType]::ParameterName, 'Only answer the proxy with Digest authentication')
            [CompletionResult]::new('--proxy-ntlm', '--proxy-ntlm', [CompletionResultType]::ParameterName, 'Only answer the proxy with NTLM (v2) authentication')
            [CompletionResult]::new('--proxy-negotiate', '--proxy-negotiate', [CompletionResultType]::ParameterName, 'Only answer the proxy with Negotiate (Kerberos): your ticket is used, no password is needed')
            [CompletionResult]::new('--proxy-anyauth', '--proxy-anyauth', [CompletionResultType]::ParameterName, 'Answer with the strongest scheme the proxy offers (the default): Negotiate, then NTLM, Digest, Basic, falling back when one cannot be used')
            [CompletionResult]::new('--proxy-insecure', '--proxy-insecure', [CompletionResultType]::ParameterName, 'Do not verify an https:// proxy''s certificate (dangerous)')
            [CompletionResult]::new('--no-prompt', '--no-prompt', [CompletionResultType]::ParameterName, 'Never ask for a password on the terminal; fail instead')
            [CompletionResult]::new('--no-save', '--no-save', [CompletionResultType]::ParameterName, 'Do not offer to save a password typed at the prompt in the OS keyring')
            [CompletionResult]::new('-k', '-k', [CompletionResultType]::ParameterName, 'Do not verify the server''s certificate (dangerous)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the server''s certificate (dangerous)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'toll;serve' {
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Listen on this address')
            [CompletionResult]::new('--allow', '--allow', [CompletionResultType]::ParameterName, 'Also admit clients from this range (gateway mode: containers, a VM); they must show the key. May be repeated')
            [CompletionResult]::new('--log', '--log', [CompletionResultType]::ParameterName, 'Append the access log to FILE instead of stderr')
            [CompletionResult]::new('-x', '-x', [CompletionResultType]::ParameterName, 'Use this proxy: [SCHEME://][USER[:PASSWORD]@]HOST[:PORT]')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'Use this proxy: [SCHEME://][USER[:PASSWORD]@]HOST[:PORT]')
            [CompletionResult]::new('-U', '-U ', [CompletionResultType]::ParameterName, 'User name and password for the proxy')
            [CompletionResult]::new('--proxy-user', '--proxy-user', [CompletionResultType]::ParameterName, 'User name and password for the proxy')
            [CompletionResult]::new('--pac', '--pac', [CompletionResultType]::ParameterName, 'Route by this proxy auto-config (PAC) file or http(s):// URL, as a browser does')
            [CompletionResult]::new('--noproxy', '--noproxy', [CompletionResultType]::ParameterName, 'Hosts to reach without the proxy (overrides no_proxy and NO_PROXY)')
            [CompletionResult]::new('--proxy-cacert', '--proxy-cacert', [CompletionResultType]::ParameterName, 'Verify an https:// proxy''s certificate against the CA certificates in FILE (PEM)')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Give up connecting to the proxy (or a direct origin) after this many seconds')
            [CompletionResult]::new('--answer-timeout', '--answer-timeout', [CompletionResultType]::ParameterName, 'Give up waiting for the proxy''s answer to a CONNECT or to a request without a body after this many seconds (the client gets 504); 0: wait as long as the client does')
            [CompletionResult]::new('--spare-tunnels', '--spare-tunnels', [CompletionResultType]::ParameterName, 'Keep N connections to each proxy opened ahead (an NTLM handshake started) so that a new tunnel costs one round trip; 0 turns it off')
            [CompletionResult]::new('--print-env', '--print-env', [CompletionResultType]::ParameterName, 'Print the environment settings for programs to use this server (with the key), then exit')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print the proxy conversation on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print the proxy conversation on stderr')
            [CompletionResult]::new('--wpad', '--wpad', [CompletionResultType]::ParameterName, 'When nothing else says which proxy to use, look for a PAC by WPAD (http://wpad.<your DNS domain>/wpad.dat)')
            [CompletionResult]::new('--proxy-basic', '--proxy-basic', [CompletionResultType]::ParameterName, 'Only answer the proxy with Basic authentication')
            [CompletionResult]::new('--proxy-digest', '--proxy-digest', [CompletionResultType]::ParameterName, 'Only answer the proxy with Digest authentication')
            [CompletionResult]::new('--proxy-ntlm', '--proxy-ntlm', [CompletionResultType]::ParameterName, 'Only answer the proxy with NTLM (v2) authentication')
            [CompletionResult]::new('--proxy-negotiate', '--proxy-negotiate', [CompletionResultType]::ParameterName, 'Only answer the proxy with Negotiate (Kerberos): your ticket is used, no password is needed')
            [CompletionResult]::new('--proxy-anyauth', '--proxy-anyauth', [CompletionResultType]::ParameterName, 'Answer with the strongest scheme the proxy offers (the default): Negotiate, then NTLM, Digest, Basic, falling back when one cannot be used')
            [CompletionResult]::new('--proxy-insecure', '--proxy-insecure', [CompletionResultType]::ParameterName, 'Do not verify an https:// proxy''s certificate (dangerous)')
            [CompletionResult]::new('--no-prompt', '--no-prompt', [CompletionResultType]::ParameterName, 'Never ask for a password on the terminal; fail instead')
            [CompletionResult]::new('--no-save', '--no-save', [CompletionResultType]::ParameterName, 'Do not offer to save a password typed at the prompt in the OS keyring')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'toll;run' {
            [CompletionResult]::new('-x', '-x', [CompletionResultType]::ParameterName, 'Use this proxy: [SCHEME://][USER[:PASSWORD]@]HOST[:PORT]')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'Use this proxy: [SCHEME://][USER[:PASSWORD]@]HOST[:PORT]')
            [CompletionResult]::new('-U', '-U ', [CompletionResultType]::ParameterName, 'User name and password for the proxy')
            [CompletionResult]::new('--proxy-user', '--proxy-user', [CompletionResultType]::ParameterName, 'User name and password for the proxy')
            [CompletionResult]::new('--pac', '--pac', [CompletionResultType]::ParameterName, 'Route by this proxy auto-config (PAC) file or http(s):// URL, as a browser does')
            [CompletionResult]::new('--noproxy', '--noproxy', [CompletionResultType]::ParameterName, 'Hosts to reach without the proxy (overrides no_proxy and NO_PROXY)')
            [CompletionResult]::new('--proxy-cacert', '--proxy-cacert', [CompletionResultType]::ParameterName, 'Verify an https:// proxy''s certificate against the CA certificates in FILE (PEM)')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Give up connecting to the proxy (or a direct origin) after this many seconds')
            [CompletionResult]::new('--answer-timeout', '--answer-timeout', [CompletionResultType]::ParameterName, 'Give up waiting for the proxy''s answer to a CONNECT or to a request without a body after this many seconds (the client gets 504); 0: wait as long as the client does')
            [CompletionResult]::new('--spare-tunnels', '--spare-tunnels', [CompletionResultType]::ParameterName, 'Keep N connections to each proxy opened ahead (an NTLM handshake started) so that a new tunnel costs one round trip; 0 turns it off')
            [CompletionResult]::new('--verify-url', '--verify-url', [CompletionResultType]::ParameterName, 'On a terminal, before CMD starts: request this URL through the proxy, asking for the password if the proxy wants one that is not stored (so toll''s prompt never meets CMD''s)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print the proxy conversation on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print the proxy conversation on stderr')
            [CompletionResult]::new('--wpad', '--wpad', [CompletionResultType]::ParameterName, 'When nothing else says which proxy to use, look for a PAC by WPAD (http://wpad.<your DNS domain>/wpad.dat)')
            [CompletionResult]::new('--proxy-basic', '--proxy-basic', [CompletionResultType]::ParameterName, 'Only answer the proxy with Basic authentication')
            [CompletionResult]::new('--proxy-digest', '--proxy-digest', [CompletionResultType]::ParameterName, 'Only answer the proxy with Digest authentication')
            [CompletionResult]::new('--proxy-ntlm', '--proxy-ntlm', [CompletionResultType]::ParameterName, 'Only answer the proxy with NTLM (v2) authentication')
            [CompletionResult]::new('--proxy-negotiate', '--proxy-negotiate', [CompletionResultType]::ParameterName, 'Only answer the proxy with Negotiate (Kerberos): your ticket is used, no password is needed')
            [CompletionResult]::new('--proxy-anyauth', '--proxy-anyauth', [CompletionResultType]::ParameterName, 'Answer with the strongest scheme the proxy offers (the default): Negotiate, then NTLM, Digest, Basic, falling back when one cannot be used')
            [CompletionResult]::new('--proxy-insecure', '--proxy-insecure', [CompletionResultType]::ParameterName, 'Do not verify an https:// proxy''s certificate (dangerous)')
            [CompletionResult]::new('--no-prompt', '--no-prompt', [CompletionResultType]::ParameterName, 'Never ask for a password on the terminal; fail instead')
            [CompletionResult]::new('--no-save', '--no-save', [CompletionResultType]::ParameterName, 'Do not offer to save a password typed at the prompt in the OS keyring')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'toll;pac' {
            [CompletionResult]::new('-m', '-m', [CompletionResultType]::ParameterName, 'Give up fetching an http(s):// PAC after this many seconds (default 30)')
            [CompletionResult]::new('--max-time', '--max-time', [CompletionResultType]::ParameterName, 'Give up fetching an http(s):// PAC after this many seconds (default 30)')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'Verify an https:// PAC server against the CA certificates in FILE (PEM)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Also show alert() output, the entry point, the arguments passed, the parsed proxy list and timings (on stderr)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Also show alert() output, the entry point, the arguments passed, the parsed proxy list and timings (on stderr)')
            [CompletionResult]::new('--transfer', '--transfer', [CompletionResultType]::ParameterName, 'Pass the URL as a transfer would (https:// path and query stripped)')
            [CompletionResult]::new('-k', '-k', [CompletionResultType]::ParameterName, 'Do not verify the certificate of an https:// PAC server (dangerous)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the certificate of an https:// PAC server (dangerous)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
