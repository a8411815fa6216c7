package hub

import (
	"fmt"
	"net/url"
	"strings"
)

// maxRepoIDLen is huggingface_hub's limit on the length of a repository id.
const maxRepoIDLen = 96

// ValidateModelID checks that id is a hub model id as huggingface_hub accepts it: "name" or
// "org/name", each part made of ASCII letters, digits, '_', '-' and '.', starting and ending with a
// letter, digit or '_', without "--" or "..", at most 96 characters.
func ValidateModelID(id string) error {
	bad := func(why string) error {
		return fmt.Errorf("invalid model id %q: %s; a model id looks like \"google/ddpm-ema-celebahq-256\"", id, why)
	}
	if id == "" {
		return bad("it is empty")
	}
	if len(id) > maxRepoIDLen {
		return bad(fmt.Sprintf("it is longer than %d characters", maxRepoIDLen))
	}
	if strings.Contains(id, "--") || strings.Contains(id, "..") {
		return bad(`it contains "--" or ".."`)
	}
	parts := strings.Split(id, "/")
	if len(parts) > 2 {
		return bad(`it has more than one "/"`)
	}
	for _, p := range parts {
		if p == "" {
			return bad("a part is empty")
		}
		for _, r := range p {
			if !isWordChar(r) && r != '-' && r != '.' {
				return bad(fmt.Sprintf("character %q is not allowed", r))
			}
		}
		if !isWordChar(rune(p[0])) || !isWordChar(rune(p[len(p)-1])) {
			return bad("each part must start and end with a letter, a digit or '_'")
		}
	}
	return nil
}

func isWordChar(r rune) bool {
	return r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
}

// repoFolderName is the cache folder of a model: "models--org--name".
func repoFolderName(id string) string {
	return "models--" + strings.ReplaceAll(id, "/", "--")
}

// validateRelPath checks a "/"-separated relative path taken from the user or the hub (a file name or
// a revision), so that it can be joined under a cache directory without escaping it.
func validateRelPath(what, p string) error {
	if p == "" {
		return fmt.Errorf("invalid %s: it is empty", what)
	}
	if strings.HasPrefix(p, "/") || strings.Contains(p, `\`) || strings.ContainsRune(p, 0) {
		return fmt.Errorf("invalid %s %q: use a relative path with \"/\" separators", what, p)
	}
	for _, part := range strings.Split(p, "/") {
		if part == "" || part == "." || part == ".." {
			return fmt.Errorf("invalid %s %q: empty, \".\" and \"..\" components are not allowed", what, p)
		}
	}
	return nil
}

// isCommitHash reports whether s is a full hexadecimal git commit hash (40 digits, SHA-1; or 64,
// SHA-256), lower case as the hub writes them.
func isCommitHash(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}

// escapePath escapes each "/"-separated part of p for use in a URL path.
func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, part := range parts {
		parts[i] = url.PathEscape(part)
	}
	return strings.Join(parts, "/")
}
