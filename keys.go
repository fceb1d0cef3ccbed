package flagstore

import (
	"strings"
	"unicode/utf8"
)

// maxKeyLength bounds user-chosen keys and tags, as LaunchDarkly does.
const maxKeyLength = 256

// validKey reports an invalid_request error unless key is a LaunchDarkly key:
// letters, digits, '.', '_' and '-', starting with a letter or digit.
func validKey(attribute, key string) *Error {
	if key == "" {
		return invalidf(attribute, "%s must be present", attribute)
	}
	if len(key) > maxKeyLength {
		return invalidf(attribute, "%s must be at most %d characters", attribute, maxKeyLength)
	}
	if !isAlnum(key[0]) {
		return invalidf(attribute, "%s %q must start with a letter or a digit", attribute, key)
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; !isAlnum(c) && c != '.' && c != '_' && c != '-' {
			return invalidf(attribute, "%s %q may contain only letters, digits, '.', '_' and '-'", attribute, key)
		}
	}
	return nil
}

// validTags checks each tag like a key (LaunchDarkly allows the same
// characters in tags) and refuses duplicates.
func validTags(attribute string, tags []string) *Error {
	seen := make(map[string]bool, len(tags))
	for _, t := range tags {
		if t == "" || len(t) > maxKeyLength || strings.ContainsFunc(t, func(r rune) bool {
			return !(r < 128 && (isAlnum(byte(r)) || r == '.' || r == '_' || r == '-'))
		}) {
			return invalidf(attribute, "tag %q may contain only letters, digits, '.', '_' and '-'", t)
		}
		if seen[t] {
			return invalidf(attribute, "tag %q is listed twice", t)
		}
		seen[t] = true
	}
	return nil
}

// validName refuses an empty, overlong or non-UTF-8 display name.
func validName(attribute, name string) *Error {
	if strings.TrimSpace(name) == "" {
		return invalidf(attribute, "%s must be present", attribute)
	}
	if len(name) > 1024 {
		return invalidf(attribute, "%s must be at most 1024 bytes", attribute)
	}
	if !utf8.ValidString(name) {
		// JSON would store U+FFFD instead, so reads would differ.
		return invalidf(attribute, "%s must be valid UTF-8", attribute)
	}
	return nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
