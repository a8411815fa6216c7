package hub

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// maxListingBytes bounds a file list read into memory (the hub's answer or a cached record): about
// 80,000 files with their hashes.
const maxListingBytes = 16 << 20

// fileEntry is what the hub says about one file of a commit.
type fileEntry struct {
	Size      int64  // bytes; -1 when unknown
	BlobID    string // git blob id (SHA-1) as committed (of the pointer, for an LFS file); "" when unknown
	LFSSHA256 string // SHA-256 of a large (LFS) file's content; "" otherwise
	LFSSize   int64  // size of a large file's content
}

// contentHash returns the hash of the file's content that the hub gives: the SHA-256 of a large
// file, the git blob id of a regular one.
func (e fileEntry) contentHash() contentHash {
	switch {
	case e.LFSSHA256 != "":
		return contentHash{algo: hashSHA256, hex: e.LFSSHA256}
	case e.BlobID != "":
		return contentHash{algo: hashGitSHA1, hex: e.BlobID}
	}
	return contentHash{}
}

// contentSize returns the size of the file's content, or -1.
func (e fileEntry) contentSize() int64 {
	if e.LFSSHA256 != "" {
		return e.LFSSize
	}
	return e.Size
}

// listing is the file list of one commit of a model.
type listing struct {
	commit  string
	names   []string // sorted; nil when the hub did not list the files
	entries map[string]fileEntry
}

func (l *listing) entry(name string) (fileEntry, bool) {
	if l == nil {
		return fileEntry{}, false
	}
	e, ok := l.entries[name]
	return e, ok
}

// complete reports whether every file's size and blob id are known (what huggingface_hub's tree
// cache needs).
func (l *listing) complete() bool {
	if l.names == nil {
		return false
	}
	for _, e := range l.entries {
		if e.Size < 0 || e.BlobID == "" {
			return false
		}
	}
	return true
}

// add records a file, skipping names that cannot be stored under a snapshot folder and repeats.
func (l *listing) add(name string, e fileEntry) {
	if validateRelPath("file name", name) != nil {
		return
	}
	if _, dup := l.entries[name]; dup {
		return
	}
	l.entries[name] = e
	l.names = append(l.names, name)
}

func newListing(commit string, listed bool) *listing {
	l := &listing{commit: commit, entries: map[string]fileEntry{}}
	if listed {
		l.names = []string{}
	}
	return l
}

// revisionAnswer is the hub's answer to GET /api/models/{id}/revision/{revision}?blobs=true (and
// go-huggingface's info/<revision> record, a copy of it without ?blobs=true).
type revisionAnswer struct {
	SHA      string `json:"sha"`
	Siblings *[]struct {
		RFilename string  `json:"rfilename"`
		BlobID    *string `json:"blobId"`
		Size      *int64  `json:"size"`
		LFS       *struct {
			SHA256 string `json:"sha256"`
			Size   int64  `json:"size"`
		} `json:"lfs"`
	} `json:"siblings"`
}

// parseRevisionAnswer reads the revision API's answer: the commit hash and, when the answer lists
// them, the files with their sizes and hashes. File names that cannot be stored are skipped; a
// malformed commit, size or hash is an error.
func parseRevisionAnswer(raw []byte) (*listing, error) {
	if len(raw) > maxListingBytes {
		return nil, fmt.Errorf("the answer is larger than %d MiB", maxListingBytes>>20)
	}
	var ans revisionAnswer
	if err := json.Unmarshal(raw, &ans); err != nil {
		return nil, fmt.Errorf("the answer is not the expected JSON: %w", err)
	}
	if !isCommitHash(ans.SHA) {
		return nil, fmt.Errorf("the answer has no valid commit hash (got %.80q)", ans.SHA)
	}
	l := newListing(ans.SHA, ans.Siblings != nil)
	if ans.Siblings == nil {
		return l, nil
	}
	for _, s := range *ans.Siblings {
		e := fileEntry{Size: -1, LFSSize: -1}
		if s.Size != nil {
			e.Size = *s.Size
		}
		if s.BlobID != nil {
			e.BlobID = *s.BlobID
		}
		if s.LFS != nil {
			e.LFSSHA256, e.LFSSize = s.LFS.SHA256, s.LFS.Size
		}
		if err := e.check(s.RFilename, s.LFS != nil); err != nil {
			return nil, err
		}
		l.add(s.RFilename, e)
	}
	slices.Sort(l.names)
	return l, nil
}

// check validates the metadata of file name.
func (e fileEntry) check(name string, lfs bool) error {
	bad := func(what string) error {
		return fmt.Errorf("the file list gives file %.200q an invalid %s", name, what)
	}
	switch {
	case e.Size < -1:
		return bad("size")
	case e.BlobID != "" && !(len(e.BlobID) == 40 && isLowerHex(e.BlobID)):
		return bad("blob id")
	case lfs && !(len(e.LFSSHA256) == 64 && isLowerHex(e.LFSSHA256)):
		return bad("SHA-256")
	case lfs && e.LFSSize < 0:
		return bad("LFS size")
	}
	return nil
}

// treeCacheVersion is the format of huggingface_hub's tree cache, trees/<commit>.json.
const treeCacheVersion = 1

// treeCacheFile is huggingface_hub's record of a commit's files, trees/<commit>.json in the
// model's cache folder: {"format_version": 1, "files": {path: {"size", "blob_id", "lfs_sha256",
// "lfs_size", "xet_hash"}}}.
type treeCacheFile struct {
	FormatVersion int                       `json:"format_version"`
	Files         map[string]treeCacheEntry `json:"files"`
}

type treeCacheEntry struct {
	Size      *int64  `json:"size"`
	BlobID    *string `json:"blob_id"`
	LFSSHA256 *string `json:"lfs_sha256,omitempty"`
	LFSSize   *int64  `json:"lfs_size,omitempty"`
	XetHash   *string `json:"xet_hash,omitempty"`
}

// parseTreeCache reads a trees/<commit>.json record. As huggingface_hub does, an unknown format
// version or an entry without size or blob id makes the whole record unusable (an error here).
func parseTreeCache(commit string, raw []byte) (*listing, error) {
	if len(raw) > maxListingBytes {
		return nil, fmt.Errorf("the record is larger than %d MiB", maxListingBytes>>20)
	}
	var f treeCacheFile
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, fmt.Errorf("the record is not the expected JSON: %w", err)
	}
	if f.FormatVersion != treeCacheVersion || f.Files == nil {
		return nil, fmt.Errorf("the record has format version %d, want %d", f.FormatVersion, treeCacheVersion)
	}
	l := newListing(commit, true)
	for name, t := range f.Files {
		if t.Size == nil || t.BlobID == nil {
			return nil, fmt.Errorf("the record gives file %.200q no size or blob id", name)
		}
		e := fileEntry{Size: *t.Size, BlobID: *t.BlobID, LFSSize: -1}
		lfs := t.LFSSHA256 != nil
		if lfs {
			e.LFSSHA256 = *t.LFSSHA256
			if t.LFSSize != nil {
				e.LFSSize = *t.LFSSize
			}
		}
		if err := e.check(name, lfs); err != nil {
			return nil, err
		}
		l.add(name, e)
	}
	slices.Sort(l.names)
	return l, nil
}

// treeCacheJSON renders l as huggingface_hub's trees/<commit>.json record.
func treeCacheJSON(l *listing) ([]byte, error) {
	f := treeCacheFile{FormatVersion: treeCacheVersion, Files: map[string]treeCacheEntry{}}
	for _, name := range l.names {
		e := l.entries[name]
		t := treeCacheEntry{Size: &e.Size, BlobID: &e.BlobID}
		if e.LFSSHA256 != "" {
			t.LFSSHA256, t.LFSSize = &e.LFSSHA256, &e.LFSSize
		}
		f.Files[name] = t
	}
	return json.MarshalIndent(f, "", " ")
}

// readListing returns the file list the cache records for commit: huggingface_hub's
// trees/<commit>.json, else the revision answer kept in info/<commit>, else go-huggingface's
// info/<revision> when it is about commit. Unreadable records are skipped, as huggingface_hub
// skips them; nil when there is none.
func (c repoCache) readListing(commit, revision string) *listing {
	if raw, err := readLimited(c.treeCachePath(commit)); err == nil {
		if l, err := parseTreeCache(commit, raw); err == nil {
			return l
		}
	}
	for _, name := range []string{commit, revision} {
		if name == "" || validateRelPath("revision", name) != nil {
			continue
		}
		raw, err := readLimited(c.infoPath(name))
		if err != nil {
			continue
		}
		if l, err := parseRevisionAnswer(raw); err == nil && l.commit == commit && l.names != nil {
			return l
		}
	}
	return nil
}

// saveListing records a commit's file list where a later offline run finds it: the hub's answer
// in info/<commit> (go-huggingface's format) and, when sizes and hashes are all known,
// huggingface_hub's trees/<commit>.json. Existing records are kept (a commit never changes), and
// failures are ignored (a read-only cache still serves what it holds).
func (c repoCache) saveListing(l *listing, raw []byte) {
	if l.names == nil {
		return
	}
	_ = os.MkdirAll(filepath.Join(c.dir, "snapshots"), 0o777) // huggingface_hub's cache scan needs it
	if !exists(c.infoPath(l.commit)) {
		_ = writeFileAtomic(c.infoPath(l.commit), raw)
	}
	if l.complete() && !exists(c.treeCachePath(l.commit)) {
		if data, err := treeCacheJSON(l); err == nil {
			_ = writeFileAtomic(c.treeCachePath(l.commit), data)
		}
	}
}

func (c repoCache) infoPath(revision string) string {
	return filepath.Join(c.dir, "info", filepath.FromSlash(revision))
}

func (c repoCache) treeCachePath(commit string) string {
	return filepath.Join(c.dir, "trees", commit+".json")
}

// readLimited reads a small metadata file, refusing one larger than maxListingBytes.
func readLimited(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if st.Size() > maxListingBytes {
		return nil, fmt.Errorf("%s is larger than %d MiB", path, maxListingBytes>>20)
	}
	return os.ReadFile(path)
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
