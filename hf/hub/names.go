package hub

import (
	"fmt"
	"net/url"
	"strings"
)

// maxRepoIDLen is huggingface_hub's limit on the length of a repository id.
const maxRepoIDLen = 96

// maxRevisionLen bounds a revision name (a branch, tag or "refs/pr/N").
const maxRevisionLen = 255

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

// ParseModelRef splits a model reference "org/name" or "org/name@revision" into the model id and
// the revision ("" when the reference names none), and checks both.
func ParseModelRef(ref string) (id, revision string, err error) {
	id, revision, hasRev := strings.Cut(ref, "@")
	if err := ValidateModelID(id); err != nil {
		return "", "", err
	}
	if hasRev {
		if err := ValidateRevision(revision); err != nil {
			return "", "", fmt.Errorf("model reference %q: %w", ref, err)
		}
	}
	return id, revision, nil
}

// ValidateRevision checks a branch, tag, "refs/pr/N" or commit hash the way git checks reference
// names, so that it can name a file under refs/ and a URL path segment: no control characters,
// spaces or any of ~^:?*[\@{, no empty, "." or ".."-containing parts, no part starting with "." or
// ending with ".lock", at most 255 bytes.
func ValidateRevision(rev string) error {
	bad := func(why string) error {
		return fmt.Errorf("invalid revision %q: %s; a revision is a branch, a tag, \"refs/pr/N\" or a commit hash", rev, why)
	}
	if rev == "" {
		return bad("it is empty")
	}
	if len(rev) > maxRevisionLen {
		return bad(fmt.Sprintf("it is longer than %d bytes", maxRevisionLen))
	}
	for _, r := range rev {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(" ~^:?*[\\", r) {
			return bad(fmt.Sprintf("character %q is not allowed", r))
		}
	}
	if strings.Contains(rev, "@{") || strings.Contains(rev, "..") || rev == "@" {
		return bad(`it contains "@{" or ".."`)
	}
	for _, part := range strings.Split(rev, "/") {
		if part == "" || strings.HasPrefix(part, ".") || strings.HasSuffix(part, ".lock") {
			return bad(`a "/"-separated part is empty, starts with "." or ends with ".lock"`)
		}
	}
	if strings.HasSuffix(rev, ".") {
		return bad(`it ends with "."`)
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

// validateRelPath checks a "/"-separated relative path taken from the user or the hub (a file name),
// so that it can be joined under a cache directory without escaping it.
func validateRelPath(what, p string) error {
	if p == "" {
		return fmt.Errorf("invalid %s: it is empty", what)
	}
	if strings.HasPrefix(p, "/") || strings.Contains(p, `\`) {
		return fmt.Errorf("invalid %s %q: use a relative path with \"/\" separators", what, p)
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("invalid %s %q: control characters are not allowed", what, p)
		}
	}
	for _, part := range strings.Split(p, "/") {
		if part == "" || part == "." || part == ".." {
			return fmt.Errorf("invalid %s %q: empty, \".\" and \"..\" components are not allowed", what, p)
		}
	}
	return nil
}

// validateETag checks that an ETag can name a blob: one path component of letters, digits, '-',
// '_' and '.', not starting with '.', at most 128 bytes, and not ending like this package's or
// huggingface_hub's temporary and lock files.
func validateETag(etag string) error {
	if etag == "" || len(etag) > 128 || etag[0] == '.' {
		return fmt.Errorf("ETag %q is empty, too long or starts with \".\"", etag)
	}
	for _, r := range etag {
		if !isWordChar(r) && r != '-' && r != '.' {
			return fmt.Errorf("ETag %q has character %q", etag, r)
		}
	}
	for _, suffix := range []string{".incomplete", ".lock", ".tmp"} {
		if strings.HasSuffix(etag, suffix) {
			return fmt.Errorf("ETag %q ends with %q", etag, suffix)
		}
	}
	return nil
}

// isCommitHash reports whether s is a full hexadecimal git commit hash (40 digits, SHA-1; or 64,
// SHA-256), lower case as the hub writes them.
func isCommitHash(s string) bool {
	return (len(s) == 40 || len(s) == 64) && isLowerHex(s)
}

// isLowerHex reports whether s is made of lower-case hexadecimal digits only.
func isLowerHex(s string) bool {
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
