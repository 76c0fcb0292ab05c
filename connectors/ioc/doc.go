// Package ioc extracts indicators of compromise (IOCs) from incident text and
// structured alert fields so that warroom can look them up in threat-intel
// sources.
//
// Alert text written by people and by security tools is messy: analysts
// defang indicators so nobody clicks them (hxxps[:]//evil[.]example[.]com),
// logs are full of file names and version strings that look like domains or
// addresses, and the same indicator appears many times. Extract turns such
// text into a deduplicated, typed list in order of first appearance, with
// every value refanged and normalised so that it can be compared, allowlisted
// and sent to a lookup service as is.
//
// # Decisions
//
// Hosts are reported on their own. When a URL or an e-mail address is found,
// its host is also reported as a domain (or as an IP address), because
// reputation services answer questions about hosts much more often than about
// exact URLs. The rule is the same for every URL and address, so the output
// always holds both or, when the host is allowlisted, neither.
//
// Inside a URL only the host is looked at for network indicators. Paths and
// query strings are full of names such as login.do, update.zip or
// config.properties whose last label happens to be a top-level domain, and
// reporting them would send file names to external services. Hashes and CVE
// ids are different: their shape is unambiguous, so one that sits in a URL
// (a sandbox report link, an advisory link) is still reported.
//
// A domain must end in a suffix that ICANN manages and have a registrable
// label in front of it, which the golang.org/x/net/publicsuffix table decides;
// that is what keeps invoice.pdf and setup.exe out. For names under a
// privately managed suffix, such as free hosting or dynamic DNS zones, the
// ICANN part of the suffix is used instead (org for duckdns.org), because
// attackers use those services heavily and their subdomains must be reported.
// Some top-level domains are also common file extensions (zip, mov, py, sh,
// md, pl, one and a few more). A bare name.ext with such a suffix, or one that
// follows a path separator or another file extension, is taken as a file name
// unless the writer defanged it, which shows that they meant a domain.
//
// Only addresses with a public Scope may be looked up externally (see
// Indicator.External): sending an RFC 1918 address or an internal host name
// to a third party leaks information and cannot return anything useful.
package ioc
