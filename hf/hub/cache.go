package hub

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// repoCache is the cache folder of one model, <cache>/models--org--name.
type repoCache struct {
	dir string
}

func newRepoCache(cacheDir, id string) repoCache {
	return repoCache{dir: filepath.Join(cacheDir, repoFolderName(id))}
}

// revisionInfo is the part of the hub's revision API answer (and of go-huggingface's info/<rev>
// record, which is a copy of it) that is used here.
type revisionInfo struct {
	SHA      string `json:"sha"`
	Siblings []struct {
		RFilename string `json:"rfilename"`
	} `json:"siblings"`
}

// fileNames returns the repository's file names, or nil when the answer listed none.
func (info *revisionInfo) fileNames() []string {
	var names []string
	for _, s := range info.Siblings {
		names = append(names, s.RFilename)
	}
	return names
}

// commits returns the commit hashes the cache records for revision: the revision itself when it
// is a commit hash, else refs/<revision> (huggingface_hub) then info/<revision> (go-huggingface).
func (c repoCache) commits(revision string) []string {
	if isCommitHash(revision) {
		return []string{revision}
	}
	var out []string
	if data, err := os.ReadFile(c.refPath(revision)); err == nil {
		if h := strings.TrimSpace(string(data)); isCommitHash(h) {
			out = append(out, h)
		}
	}
	if info, err := c.readInfo(revision); err == nil && isCommitHash(info.SHA) && (len(out) == 0 || out[0] != info.SHA) {
		out = append(out, info.SHA)
	}
	return out
}

// readInfo reads go-huggingface's record info/<revision>.
func (c repoCache) readInfo(revision string) (*revisionInfo, error) {
	data, err := os.ReadFile(filepath.Join(c.dir, "info", filepath.FromSlash(revision)))
	if err != nil {
		return nil, err
	}
	info := &revisionInfo{}
	if err := json.Unmarshal(data, info); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", filepath.Join(c.dir, "info", revision), err)
	}
	return info, nil
}

func (c repoCache) refPath(revision string) string {
	return filepath.Join(c.dir, "refs", filepath.FromSlash(revision))
}

func (c repoCache) snapshotDir(commit string) string {
	return filepath.Join(c.dir, "snapshots", commit)
}

func (c repoCache) blobPath(etag string) string {
	return filepath.Join(c.dir, "blobs", etag)
}

// missing returns the files that snapshots/<commit> lacks (a broken link counts as missing).
func (c repoCache) missing(commit string, files []string) []string {
	var out []string
	for _, f := range files {
		if !isFile(filepath.Join(c.snapshotDir(commit), filepath.FromSlash(f))) {
			out = append(out, f)
		}
	}
	return out
}

// lookup returns the snapshot directory holding every one of files for revision. With no files
// it returns the recorded snapshot directory if it exists.
func (c repoCache) lookup(revision string, files []string) (string, bool) {
	for _, commit := range c.commits(revision) {
		dir := c.snapshotDir(commit)
		if len(files) == 0 {
			if st, err := os.Stat(dir); err == nil && st.IsDir() {
				return dir, true
			}
			continue
		}
		if len(c.missing(commit, files)) == 0 {
			return dir, true
		}
	}
	return "", false
}

// writeRef records that revision points to commit, in huggingface_hub's format (the bare hash).
func (c repoCache) writeRef(revision, commit string) error {
	return writeFileAtomic(c.refPath(revision), []byte(commit))
}

// writeInfo stores the revision API answer where go-huggingface looks for it.
func (c repoCache) writeInfo(revision string, raw []byte) error {
	return writeFileAtomic(filepath.Join(c.dir, "info", filepath.FromSlash(revision)), raw)
}

// link makes snapshots/<commit>/<file> point to blobs/<etag> with a relative symbolic link, as
// huggingface_hub does; where symbolic links are not available, the blob is copied. The link
// appears atomically: it is made under a temporary name and renamed.
func (c repoCache) link(commit, file, etag string) error {
	dst := filepath.Join(c.snapshotDir(commit), filepath.FromSlash(file))
	blob := c.blobPath(etag)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("creating snapshot directory: %w", err)
	}
	target, err := filepath.Rel(filepath.Dir(dst), blob)
	if err != nil {
		target = blob
	}
	tmp := dst + ".tmp-" + randomSuffix()
	if err := os.Symlink(target, tmp); err != nil {
		if err := copyFile(blob, tmp); err != nil {
			return fmt.Errorf("linking %s to %s: %w", dst, blob, err)
		}
	}
	if err := os.Rename(tmp, dst); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("linking %s to %s: %w", dst, blob, err)
	}
	return nil
}

// isFile reports whether p names (or links to) an existing regular file.
func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// writeFileAtomic writes data to a temporary file next to path and renames it to path.
func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	err = errors.Join(err, f.Close())
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
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
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
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
	return out, nil
}
