package jobtemplate

import (
	"strings"
)

// Label keys and values are slugified the way prefect-kubernetes does
// (prefect_kubernetes/utilities.py: _slugify_label_key, _slugify_label_value,
// built on python-slugify): runs of disallowed characters become "-",
// repeated dashes collapse, the result is cut to the maximum length and
// stripped of leading and trailing "_-.", and an empty result falls back to
// the original so the API server reports it. Two differences: only keys and
// values Kubernetes would reject are touched (a valid label is never
// rewritten, so selectors on Run.Labels keep working), and non-ASCII
// characters are replaced rather than transliterated.

func slugLabelKey(key string) string {
	if validLabelKey(key) {
		return key
	}
	prefix, name, hasPrefix := strings.Cut(key, "/")
	if !hasPrefix {
		name, prefix = key, ""
	}
	nameSlug := orig(slugify(name, 63, labelNameChar), name)
	if !hasPrefix || prefix == "" {
		return nameSlug
	}
	prefixSlug := orig(slugify(prefix, 253, prefixChar), prefix)
	return prefixSlug + "/" + nameSlug
}

func slugLabelValue(value string) string {
	if validLabelValue(value) {
		return value
	}
	return orig(slugify(value, 63, labelNameChar), value)
}

func orig(slug, original string) string {
	if slug == "" {
		return original
	}
	return slug
}

func labelNameChar(c byte) bool {
	return c == '-' || c == '_' || c == '.' || alnum(c)
}

func prefixChar(c byte) bool { return c == '-' || c == '.' || alnum(c) }

func alnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func slugify(s string, max int, allowed func(byte) bool) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 || !allowed(c) {
			c = '-'
		}
		if c == '-' && b.Len() > 0 && b.String()[b.Len()-1] == '-' {
			continue
		}
		b.WriteByte(c)
	}
	out := strings.Trim(b.String(), "-")
	if len(out) > max {
		out = out[:max]
	}
	return strings.Trim(out, "_-.")
}

// validLabelKey is Kubernetes' IsQualifiedName without regular expressions
// (labels are checked on every Resolve): an optional DNS-1123 subdomain
// prefix and "/", then a name of at most 63 characters.
func validLabelKey(key string) bool {
	prefix, name, hasPrefix := strings.Cut(key, "/")
	if !hasPrefix {
		name = key
	} else if !validDNSSubdomain(prefix) {
		return false
	}
	return name != "" && validLabelValue(name)
}

// validLabelValue is Kubernetes' IsValidLabelValue: empty, or at most 63 of
// [A-Za-z0-9-_.] starting and ending with an alphanumeric character.
func validLabelValue(v string) bool {
	if v == "" {
		return true
	}
	if len(v) > 63 || !alnum(v[0]) || !alnum(v[len(v)-1]) {
		return false
	}
	for i := 0; i < len(v); i++ {
		if !labelNameChar(v[i]) {
			return false
		}
	}
	return true
}

// validDNSSubdomain is Kubernetes' IsDNS1123Subdomain: at most 253
// characters, dot-separated labels of [a-z0-9-] that start and end with
// [a-z0-9].
func validDNSSubdomain(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, part := range strings.Split(s, ".") {
		if part == "" || !lowerAlnum(part[0]) || !lowerAlnum(part[len(part)-1]) {
			return false
		}
		for i := 0; i < len(part); i++ {
			if c := part[i]; c != '-' && !lowerAlnum(c) {
				return false
			}
		}
	}
	return true
}

func lowerAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

// DNSLabel turns a name into a DNS-1123 label (lower case letters, digits
// and '-', at most 63 characters) the way invalid label values are
// slugified: other characters become '-', runs of them one.
func DNSLabel(s string) string {
	return slugify(strings.ToLower(s), 63, func(c byte) bool { return c == '-' || lowerAlnum(c) })
}
