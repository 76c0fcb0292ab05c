package ioc

import "strings"

// refang undoes the common ways analysts defang indicators. It returns the
// refanged text and the offsets in it at which a replacement was written,
// which lets the extractor know that the writer deliberately marked a name as
// an indicator.
//
// The scan is a single pass. Dot and at replacements need a name character
// on both sides so that ordinary bracketed punctuation in prose is left
// alone; the scheme replacement (hxxp) is unconditional so that no defanged
// scheme survives in a value.
func refang(s string) (string, []int) {
	if !mayBeDefanged(s) {
		return s, nil
	}
	out := make([]byte, 0, len(s))
	var marks []int
	for i := 0; i < len(s); {
		// Copy ordinary bytes in bulk; only a few bytes can start a token.
		// A scheme token (hxxp, fxp) is found by its 'x', which is rare
		// in prose, rather than by its 'h' or 'f', which are not: the
		// scan stops on the letter before an 'x' only when it is one of
		// those, so every position a token can start at is still seen.
		j := i
		for j < len(s) {
			if c := s[j]; refangStop[c] {
				if c|0x20 != 'x' {
					break
				}
				if j > i && refangStart[s[j-1]] {
					j--
					break
				}
			}
			j++
		}
		out = append(out, s[i:j]...)
		if i = j; i == len(s) {
			break
		}
		c := s[i]
		switch c {
		case 'h', 'H', 'f', 'F':
			if n, repl := schemeDefang(s, i); n > 0 {
				marks = append(marks, len(out))
				out = append(out, repl...)
				i += n
				continue
			}
		case '[', '(', '{':
			n, tok := bracketToken(s, i)
			if n == 0 {
				break
			}
			switch tok {
			case ".", "@":
				// Look through blanks on both sides: "example [.] com".
				o := len(out)
				for o > 0 && isBlank(out[o-1]) {
					o--
				}
				j := i + n
				for j < len(s) && isBlank(s[j]) {
					j++
				}
				prevOK := o > 0 && (isLabel(out[o-1]) || tok == "@" && isLocal(out[o-1]))
				if !prevOK || j >= len(s) || !isAlnum(s[j]) {
					break
				}
				out = out[:o]
				marks = append(marks, len(out))
				out = append(out, tok...)
				i = j
				continue
			default: // ":", "://", "/"
				if len(out) == 0 || !isAlnum(out[len(out)-1]) {
					break
				}
				marks = append(marks, len(out))
				out = append(out, tok...)
				i += n
				continue
			}
		}
		out = append(out, c)
		i++
	}
	if len(marks) == 0 {
		return s, nil // nothing replaced: out equals s, skip the copy
	}
	return string(out), marks
}

// refangStart marks the bytes that can begin a defang token.
var refangStart = [256]bool{'h': true, 'H': true, 'f': true, 'F': true, '[': true, '(': true, '{': true}

// refangStop marks the bytes the bulk copy stops at: brackets, and the 'x'
// that follows the first letter of a defanged scheme.
var refangStop = [256]bool{'x': true, 'X': true, '[': true, '(': true, '{': true}

// mayBeDefanged is a cheap pre-check so that ordinary text, which is most of
// what the bot sees, is not copied.
func mayBeDefanged(s string) bool {
	if strings.ContainsAny(s, "[({") {
		return true
	}
	for i := 0; ; {
		j := strings.IndexAny(s[i:], "xX")
		if j < 0 {
			return false
		}
		i += j
		if i > 0 && i+1 < len(s) && (s[i+1]|0x20 == 'x' || s[i+1]|0x20 == 'p') {
			return true
		}
		i++
	}
}

// schemeDefang matches hxxp, hxxps and fxp (any case) followed by a scheme
// separator, plain or bracketed, and returns the length of the defanged
// scheme and its replacement.
func schemeDefang(s string, i int) (int, string) {
	if i+1 >= len(s) || s[i+1]|0x20 != 'x' {
		return 0, ""
	}
	var n int
	var repl string
	switch {
	case hasFoldPrefix(s[i:], "hxxps"):
		n, repl = 5, "https"
	case hasFoldPrefix(s[i:], "hxxp"):
		n, repl = 4, "http"
	case hasFoldPrefix(s[i:], "fxp"):
		n, repl = 3, "ftp"
	default:
		return 0, ""
	}
	rest := s[i+n:]
	if strings.HasPrefix(rest, "://") || strings.HasPrefix(rest, "[:]//") || strings.HasPrefix(rest, "[://]") {
		return n, repl
	}
	return 0, ""
}

// bracketToken matches a defang token such as [.], (dot), { at }, [@], [:],
// [://] or [/] at s[i] and returns its length and the text it stands for.
func bracketToken(s string, i int) (int, string) {
	var closer byte
	switch s[i] {
	case '[':
		closer = ']'
	case '(':
		closer = ')'
	case '{':
		closer = '}'
	default:
		return 0, ""
	}
	j := i + 1
	for j < len(s) && s[j] == ' ' {
		j++
	}
	var tok string
	switch {
	case strings.HasPrefix(s[j:], "://"):
		tok = "://"
	case j < len(s) && (s[j] == '.' || s[j] == '@' || s[j] == ':' || s[j] == '/'):
		tok = s[j : j+1]
	case hasFoldPrefix(s[j:], "dot"):
		tok = "dot"
	case hasFoldPrefix(s[j:], "at"):
		tok = "at"
	default:
		return 0, ""
	}
	j += len(tok)
	for j < len(s) && s[j] == ' ' {
		j++
	}
	if j >= len(s) || s[j] != closer {
		return 0, ""
	}
	switch tok {
	case "dot":
		tok = "."
	case "at":
		tok = "@"
	}
	return j + 1 - i, tok
}

// defangTokenAt reports whether a defang token starts at s[i]; URLs are cut
// short there because a token that survived refang was not between two
// name characters and so cannot be part of a real indicator.
func defangTokenAt(s string, i int) bool {
	switch s[i] {
	case '[', '(', '{':
		n, _ := bracketToken(s, i)
		return n > 0
	}
	return false
}

func hasFoldPrefix(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
