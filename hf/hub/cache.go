package hub

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// repoCache is the cache folder of one model, <cache>/models--org--name, laid out as
// huggingface_hub lays it out (see the package documentation).
type repoCache struct {
	root string // the cache directory, holding .locks/ and the models--org--name folders
	dir  string // <root>/models--org--name
	name string // models--org--name
}

func newRepoCache(cacheDir, id string) repoCache {
	name := repoFolderName(id)
	return repoCache{root: cacheDir, dir: filepath.Join(cacheDir, name), name: name}
}

// maxRefBytes bounds what is read of a refs/ file (a commit hash and maybe a newline).
const maxRefBytes = 256

// parseRef reads a refs/<revision> file: a commit hash, as huggingface_hub writes it (no newline;
// surrounding white space is tolerated).
func parseRef(data []byte) (string, error) {
	if len(data) > maxRefBytes {
		return "", fmt.Errorf("it is %d bytes long, a commit hash is 40 or 64", len(data))
	}
	h := strings.TrimSpace(string(data))
	if !isCommitHash(h) {
		return "", fmt.Errorf("it holds %q, not a commit hash", h)
	}
	return h, nil
}

// readRef returns the commit refs/<revision> records.
func (c repoCache) readRef(revision string) (string, error) {
	f, err := os.Open(c.refPath(revision))
	if err != nil {
		return "", err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxRefBytes+1))
	if err != nil {
		return "", err
	}
	commit, err := parseRef(data)
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", c.refPath(revision), err)
	}
	return commit, nil
}

// commits returns the commit hashes the cache records for revision: the revision itself when it
// is a commit hash, else refs/<revision> (huggingface_hub) then info/<revision> (go-huggingface).
func (c repoCache) commits(revision string) []string {
	if isCommitHash(revision) {
		return []string{revision}
	}
	var out []string
	if h, err := c.readRef(revision); err == nil {
		out = append(out, h)
	}
	if raw, err := readLimited(c.infoPath(revision)); err == nil {
		if l, err := parseRevisionAnswer(raw); err == nil && (len(out) == 0 || out[0] != l.commit) {
			out = append(out, l.commit)
		}
	}
	return out
}

func (c repoCache) refPath(revision string) string {
	return filepath.Join(c.dir, "refs", filepath.FromSlash(revision))
}

func (c repoCache) snapshotDir(commit string) string {
	return filepath.Join(c.dir, "snapshots", commit)
}

func (c repoCache) snapshotPath(commit, file string) string {
	return filepath.Join(c.snapshotDir(commit), filepath.FromSlash(file))
}

func (c repoCache) blobPath(etag string) string {
	return filepath.Join(c.dir, "blobs", etag)
}

// incompletePath is where a blob is downloaded before it is complete: huggingface_hub's name (up
// to version 0.x), so that either client resumes the other's interrupted download.
func (c repoCache) incompletePath(etag string) string {
	return c.blobPath(etag) + ".incomplete"
}

// lockPath is huggingface_hub's lock file for a blob, <cache>/.locks/models--org--name/<etag>.lock.
func (c repoCache) lockPath(etag string) string {
	return filepath.Join(c.root, ".locks", c.name, etag+".lock")
}

// missing returns the files that snapshots/<commit> lacks (a broken link counts as missing).
func (c repoCache) missing(commit string, files []string) []string {
	var out []string
	for _, f := range files {
		if !isFile(c.snapshotPath(commit, f)) {
			out = append(out, f)
		}
	}
	return out
}

// snapshotFiles lists the files present in snapshots/<commit>, or returns nil when there is no
// such snapshot.
func (c repoCache) snapshotFiles(commit string) []string {
	dir := c.snapshotDir(commit)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil
	}
	files, err := listDir(dir)
	if err != nil || files == nil {
		return []string{}
	}
	return files
}

// blobName returns the name of the blob snapshots/<commit>/<file> links to, or "" when it is not a
// link into blobs/ (a copy, as made where links are not available).
func (c repoCache) blobName(commit, file string) string {
	p := c.snapshotPath(commit, file)
	target, err := os.Readlink(p)
	if err != nil {
		return ""
	}
	if !filepath.IsAbs(target) {
		target = filepath.Join(filepath.Dir(p), target)
	}
	if filepath.Dir(filepath.Clean(target)) != filepath.Join(c.dir, "blobs") {
		return ""
	}
	return filepath.Base(target)
}

// writeRef records that revision points to commit, in huggingface_hub's format (the bare hash),
// unless it already does (so that a read-only cache that is up to date works).
func (c repoCache) writeRef(revision, commit string) error {
	if h, err := c.readRef(revision); err == nil && h == commit {
		return nil
	}
	return writeFileAtomic(c.refPath(revision), []byte(commit))
}

// link makes snapshots/<commit>/<file> point to blobs/<etag> with a relative symbolic link, as
// huggingface_hub does, replacing whatever was there; where symbolic links are not available, the
// blob is copied (to a temporary name, then renamed).
func (c repoCache) link(commit, file, etag string) error {
	dst := c.snapshotPath(commit, file)
	blob := c.blobPath(etag)
	if err := os.MkdirAll(filepath.Dir(dst), 0o777); err != nil {
		return fmt.Errorf("creating snapshot directory: %w", err)
	}
	target, err := filepath.Rel(filepath.Dir(dst), blob)
	if err != nil {
		target = blob
	}
	if err := os.Remove(dst); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("replacing %s: %w", dst, err)
	}
	if err := os.Symlink(target, dst); err == nil {
		return nil
	}
	tmp := dst + ".tmp-" + randomSuffix()
	if err := copyFile(blob, tmp); err != nil {
		return fmt.Errorf("linking %s to %s: %w", dst, blob, err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("linking %s to %s: %w", dst, blob, err)
	}
	return nil
}

// tagCache writes the cache directory tag (https://bford.info/cachedir/) that backup tools honour,
// as huggingface_hub does, if there is none.
func tagCache(root string) {
	p := filepath.Join(root, "CACHEDIR.TAG")
	if exists(p) {
		return
	}
	_ = os.MkdirAll(root, 0o777)
	_ = writeFileAtomic(p, []byte("Signature: 8a477f597d28d172789f06886806bc55\n"+
		"# This file is a cache directory tag: a HuggingFace hub cache.\n"+
		"# For information about cache directory tags, see https://bford.info/cachedir/\n"))
}

// isFile reports whether p names (or links to) an existing regular file.
func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// writeFileAtomic writes data to a temporary file next to path and renames it to path, with the
// permissions of a new file under the user's umask.
func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o777); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmp := path + "." + randomSuffix()[:8] + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	_, err = f.Write(data)
	err = errors.Join(err, f.Close())
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// copyFile copies src to a new file dst.
func copyFile(src, dst string) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
	if err != nil {
		return err
	}
	if _, err = io.Copy(out, in); err == nil {
		err = out.Close()
	} else {
		_ = out.Close()
	}
	if err != nil {
		_ = os.Remove(dst)
	}
	return err
}

// randomSuffix returns a short random hexadecimal string for temporary names.
func randomSuffix() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails.
	return hex.EncodeToString(b[:])
}

// listDir returns the "/"-separated paths of the regular files under dir (following links), sorted.
func listDir(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !isFile(p) {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", dir, err)
	}
	slices.Sort(out) // WalkDir's order puts "a/b" before "a.json"
	return out, nil
}
