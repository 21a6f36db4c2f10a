// toll's PAC helpers written in JavaScript: the string helpers whose exact browser behaviour is
// easiest to keep in the language browsers define them in. Native helpers (DNS, addresses,
// dates, alert) are installed from Rust before this runs. Written for toll from the Netscape
// and Microsoft descriptions and the browsers' observable behaviour.

function isPlainHostName(host) {
  // An IPv6 literal has no dot but is not a plain host name either.
  return !/[.:]/.test(String(host));
}

function dnsDomainIs(host, domain) {
  host = String(host);
  domain = String(domain);
  return host.length >= domain.length && host.slice(host.length - domain.length) === domain;
}

function localHostOrDomainIs(host, hostdom) {
  host = String(host);
  hostdom = String(hostdom);
  return host === hostdom || hostdom.indexOf(host + ".") === 0;
}

function dnsDomainLevels(host) {
  return String(host).split(".").length - 1;
}

function convert_addr(ipchars) {
  // The browsers' result is a signed 32-bit integer (the `|` operator), kept for compatibility.
  var b = String(ipchars).split(".");
  return ((b[0] & 255) << 24) | ((b[1] & 255) << 16) | ((b[2] & 255) << 8) | (b[3] & 255);
}

function shExpMatch(str, shexp) {
  // As in the browsers: '.' is literal, '*' any run, '?' one character; other characters keep
  // their regular-expression meaning (so "[a-c]" is a class). Patterns without such characters
  // (nearly all) are matched natively, which gives the same answer without building a RegExp.
  var fast = __tollGlob(str, shexp);
  if (fast !== undefined) return fast;
  var re = String(shexp).replace(/\./g, "\\.").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp("^" + re + "$").test(String(str));
}

function getClientVersion() {
  return "1.0";
}
