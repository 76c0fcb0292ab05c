package ioc

import (
	"unicode"
	"unicode/utf8"
)

// Byte classes used by the scanners. Tables keep the hot loops free of
// branches on ranges; every class is ASCII-only because indicators are, and
// bytes of multi-byte UTF-8 sequences must act as separators.
const (
	cDigit = 1 << iota
	cLower
	cUpper
	cHex
	cLabel  // letter, digit, '-' ,'_': characters of a host name label
	cLocal  // characters accepted in the local part of an e-mail address
	cURL    // characters accepted inside a URL
	cDomRun // letter, digit, '.', '-', '_': a run that may hold a dotted name
	cWord   // letter, digit, '_': the \w of regular expressions
	cIP6Run // hex digit, ':', '.': a run that may hold an IPv6 address
	cIP4Run // digit, '.': a run that may hold an IPv4 address
)

var class [256]uint16

func init() {
	for c := 0; c < 256; c++ {
		var k uint16
		switch {
		case c >= '0' && c <= '9':
			k |= cDigit | cHex | cLabel | cLocal | cDomRun | cWord | cIP6Run | cIP4Run
		case c >= 'a' && c <= 'z':
			k |= cLower | cLabel | cLocal | cDomRun | cWord
			if c <= 'f' {
				k |= cHex | cIP6Run
			}
		case c >= 'A' && c <= 'Z':
			k |= cUpper | cLabel | cLocal | cDomRun | cWord
			if c <= 'F' {
				k |= cHex | cIP6Run
			}
		}
		switch c {
		case '-':
			k |= cLabel | cLocal | cDomRun
		case '_':
			k |= cLabel | cLocal | cDomRun | cWord
		case '.':
			k |= cLocal | cDomRun | cIP6Run | cIP4Run
		case ':':
			k |= cIP6Run
		case '%', '+':
			k |= cLocal
		}
		if c > 0x20 && c < 0x7f {
			switch c {
			case '<', '>', '"', '\'', '`', '{', '}', '|', '\\', '^':
			default:
				k |= cURL
			}
		}
		class[c] = k
	}
}

func isDigit(c byte) bool  { return class[c]&cDigit != 0 }
func isAlpha(c byte) bool  { return class[c]&(cLower|cUpper) != 0 }
func isAlnum(c byte) bool  { return class[c]&(cDigit|cLower|cUpper) != 0 }
func isHex(c byte) bool    { return class[c]&cHex != 0 }
func isLabel(c byte) bool  { return class[c]&cLabel != 0 }
func isLocal(c byte) bool  { return class[c]&cLocal != 0 }
func isURL(c byte) bool    { return class[c]&cURL != 0 }
func isDomRun(c byte) bool { return class[c]&cDomRun != 0 }
func isBlank(c byte) bool  { return c == ' ' || c == '\t' }

// isWord matches the \b word class of regular expressions: hashes and CVE ids
// must not touch such a character on either side.
func isWord(c byte) bool { return class[c]&cWord != 0 }

func toLowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if class[s[i]]&cUpper != 0 {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if class[b[j]]&cUpper != 0 {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// uniWordBefore and uniWordAt report whether a non-ASCII letter, digit or
// mark touches position i. ASCII scanners stop at such bytes, so without
// this check "exämple.com" would yield "mple.com" and "jürgen@example.com"
// "rgen@example.com". Non-ASCII punctuation such as curly quotes still
// separates.
func uniWordBefore(s string, i int) bool {
	if i == 0 || s[i-1] < utf8.RuneSelf {
		return false
	}
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return isUniWord(r)
}

func uniWordAt(s string, i int) bool {
	if i >= len(s) || s[i] < utf8.RuneSelf {
		return false
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	return isUniWord(r)
}

func isUniWord(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}
