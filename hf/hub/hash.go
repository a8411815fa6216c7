package hub

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
)

// Hashes the hub gives for a file's content.
const (
	hashSHA256  = "sha256"   // large (LFS) files: their ETag and blob name
	hashGitSHA1 = "git-sha1" // regular files: the git blob id, SHA-1 of "blob <size>\x00" + content
)

// contentHash is the expected hash of a file's content; the zero value means unknown.
type contentHash struct {
	algo, hex string
}

func (h contentHash) known() bool { return h.algo != "" }

func (h contentHash) String() string {
	if h.algo == hashGitSHA1 {
		return "git blob hash " + h.hex
	}
	return "SHA-256 " + h.hex
}

// hashFromName reads a blob name or ETag as a hash: 64 hexadecimal digits are a SHA-256, 40 a git
// blob id, as on the hub; anything else is unknown.
func hashFromName(name string) contentHash {
	switch {
	case len(name) == 64 && isLowerHex(name):
		return contentHash{hashSHA256, name}
	case len(name) == 40 && isLowerHex(name):
		return contentHash{hashGitSHA1, name}
	}
	return contentHash{}
}

// newHash starts hashing a content of the given size (a git blob hash needs it first); nil when
// the hash is unknown, or is a git blob hash and the size is unknown.
func (h contentHash) newHash(size int64) hash.Hash {
	switch {
	case h.algo == hashSHA256:
		return sha256.New()
	case h.algo == hashGitSHA1 && size >= 0:
		s := sha1.New()
		fmt.Fprintf(s, "blob %d\x00", size)
		return s
	}
	return nil
}

// hashMismatch is the error of content that does not have its expected hash.
type hashMismatch struct{ msg string }

func (e *hashMismatch) Error() string { return e.msg }

// check compares a finished hash with the expected one; a difference is a *hashMismatch.
func (h contentHash) check(sum hash.Hash) error {
	if got := hex.EncodeToString(sum.Sum(nil)); got != h.hex {
		return &hashMismatch{fmt.Sprintf("its %s is %s, the hub gives %s", h.kind(), got, h.hex)}
	}
	return nil
}

func (h contentHash) kind() string {
	if h.algo == hashGitSHA1 {
		return "git blob hash"
	}
	return "SHA-256"
}

// checkFile hashes the file at path and compares it with h, which must be known; a difference is
// a *hashMismatch, other errors are the file's.
func (h contentHash) checkFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	sum := h.newHash(st.Size())
	if _, err := io.Copy(sum, f); err != nil {
		return err
	}
	return h.check(sum)
}
