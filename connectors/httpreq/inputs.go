package httpreq

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/warroom-bot/warroom/connectors"
)

// inputs are a call's with: values, checked and converted.
type inputs struct {
	method  string
	url     *url.URL
	header  http.Header
	body    []byte // nil: no body
	json    bool   // body is JSON from with.json
	expect  int
	timeout time.Duration
}

// parseInputs checks with and converts it. The engine has already checked
// types against the Spec, but an action may be called from elsewhere
// (commands, tests), so it checks again rather than panic on a bad type.
func parseInputs(with map[string]any) (*inputs, error) {
	in := &inputs{method: http.MethodGet, timeout: DefaultTimeout}
	if v, ok := with["method"]; ok && v != nil {
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("with.method: expected text, got %T", v)
		}
		if s = strings.ToUpper(strings.TrimSpace(s)); s != "" {
			in.method = s
		}
	}

	raw, _ := with["url"].(string)
	if strings.TrimSpace(raw) == "" {
		return nil, errors.New("with.url: required input missing")
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		// url.Parse quotes the whole URL, secrets included; keep its
		// reason only.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("with.url: invalid URL: %v", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("with.url: must be an absolute http or https URL")
	}
	in.url = u

	if in.header, err = parseHeaders(with["headers"]); err != nil {
		return nil, err
	}

	jv, hasJSON := with["json"]
	hasJSON = hasJSON && jv != nil
	bv, hasBody := with["body"]
	hasBody = hasBody && bv != nil
	switch {
	case hasJSON && hasBody:
		return nil, errors.New("with: json and body are mutually exclusive; give one")
	case hasJSON:
		b, err := json.Marshal(jv)
		if err != nil {
			return nil, fmt.Errorf("with.json: cannot encode: %v", err)
		}
		in.body, in.json = b, true
	case hasBody:
		s, ok := bv.(string)
		if !ok {
			return nil, fmt.Errorf("with.body: expected text, got %T", bv)
		}
		in.body = []byte(s)
	}

	if v, ok := with["expect_status"]; ok && v != nil {
		n, err := toInt(v)
		if err != nil {
			return nil, fmt.Errorf("with.expect_status: %v", err)
		}
		if n != 0 && (n < 100 || n > 599) {
			return nil, fmt.Errorf("with.expect_status: %d is not an HTTP status (0 means any 2xx)", n)
		}
		in.expect = n
	}

	if v, ok := with["timeout"]; ok && v != nil {
		d, err := connectors.ToDuration(v)
		if err != nil {
			return nil, fmt.Errorf("with.timeout: %v", err)
		}
		if d <= 0 {
			return nil, fmt.Errorf("with.timeout: must be positive, got %s", d)
		}
		in.timeout = min(d, MaxTimeout)
	}
	return in, nil
}

// parseHeaders converts with.headers. Values are text; numbers and bools
// are accepted as their text because YAML makes `X-Count: 3` a number.
// Errors name the header, never its value.
func parseHeaders(v any) (http.Header, error) {
	h := http.Header{}
	var m map[string]any
	switch x := v.(type) {
	case nil:
		return h, nil
	case map[string]any:
		m = x
	case map[string]string:
		m = make(map[string]any, len(x))
		for k, s := range x {
			m[k] = s
		}
	default:
		return nil, fmt.Errorf("with.headers: expected a mapping, got %T", v)
	}
	for k, v := range m {
		var s string
		switch x := v.(type) {
		case string:
			s = x
		case bool:
			s = strconv.FormatBool(x)
		case int:
			s = strconv.Itoa(x)
		case int64:
			s = strconv.FormatInt(x, 10)
		case float64:
			s = strconv.FormatFloat(x, 'f', -1, 64)
		default:
			return nil, fmt.Errorf("with.headers.%s: expected text, got %T", k, v)
		}
		if strings.ContainsAny(s, "\r\n\x00") {
			return nil, fmt.Errorf("with.headers.%s: value contains a line break or NUL", k)
		}
		h.Add(k, s)
	}
	return h, nil
}

// secrets lists the request values an error must not repeat: header values
// (and their words, for "Bearer TOKEN" echoed as TOKEN), query values and
// the userinfo password. Longest first, so that a value is masked whole
// before a word of it is.
func (in *inputs) secrets() []string {
	var out []string
	add := func(s string) {
		out = append(out, s)
		if f := strings.Fields(s); len(f) > 1 {
			out = append(out, f...)
		}
	}
	for k, vs := range in.header {
		switch k {
		case "Content-Type", "Accept", "User-Agent", "Host":
			continue
		}
		for _, v := range vs {
			add(v)
		}
	}
	for _, vs := range in.url.Query() {
		for _, v := range vs {
			add(v)
		}
	}
	if p, ok := in.url.User.Password(); ok {
		add(p)
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// toInt converts the forms a rendered whole number takes.
func toInt(v any) (int, error) {
	switch x := v.(type) {
	case int:
		return x, nil
	case int64:
		if int64(int(x)) == x {
			return int(x), nil
		}
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int(x), nil
		}
	case json.Number:
		if i, err := x.Int64(); err == nil && int64(int(i)) == i {
			return int(i), nil
		}
	case string:
		if i, err := strconv.Atoi(strings.TrimSpace(x)); err == nil {
			return i, nil
		}
	}
	return 0, fmt.Errorf("expected a whole number, got %v", v)
}

// truncate returns at most n bytes of b as text, cut at a character
// boundary so that the result is not broken UTF-8 where b was not.
func truncate(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	cut := n
	for cut > 0 && cut > n-utf8.UTFMax && !utf8.RuneStart(b[cut]) {
		cut--
	}
	return string(b[:cut])
}
