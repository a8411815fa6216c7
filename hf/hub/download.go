package hub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/schollz/progressbar/v3"
)

// downloadBlob stores the content of file (at commit) in blobs/<etag>, unless a blob of the
// expected size is already there. The bytes go to a temporary file in blobs/ that is renamed only
// after the transfer is complete: its size matches the announced one and, for a large (LFS) file
// whose ETag is a SHA-256, its hash matches too. On any failure the temporary file is removed.
func (r remote) downloadBlob(ctx context.Context, c repoCache, commit, file string, meta fileMeta) (err error) {
	blob := c.blobPath(meta.etag)
	if st, err := os.Stat(blob); err == nil && st.Mode().IsRegular() && (meta.size < 0 || st.Size() == meta.size) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(blob), 0o755); err != nil {
		return fmt.Errorf("creating the cache's blobs directory: %w", err)
	}
	resp, err := r.get(ctx, commit, file)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	size := meta.size
	if size < 0 {
		size = resp.ContentLength
	}

	f, err := os.CreateTemp(filepath.Dir(blob), meta.etag+".*.incomplete")
	if err != nil {
		return fmt.Errorf("creating a temporary file for %s: %w", file, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()

	writers := []io.Writer{f}
	var sum hash.Hash
	if len(meta.etag) == 64 && isCommitHash(meta.etag) { // LFS files are named by their SHA-256.
		sum = sha256.New()
		writers = append(writers, sum)
	}
	bar := r.progressBar(size, file)
	if bar != nil {
		writers = append(writers, bar)
	}
	n, err := io.Copy(io.MultiWriter(writers...), resp.Body)
	if bar != nil {
		if err == nil {
			_ = bar.Finish()
		} else {
			_ = bar.Exit()
		}
	}
	if err != nil {
		return fmt.Errorf("downloading file %s of model %s: the transfer stopped after %d bytes: %w", file, r.id, n, err)
	}
	if size >= 0 && n != size {
		return fmt.Errorf("downloading file %s of model %s: got %d bytes, expected %d: the transfer was cut, try again", file, r.id, n, size)
	}
	if sum != nil {
		if got := hex.EncodeToString(sum.Sum(nil)); got != meta.etag {
			return fmt.Errorf("downloading file %s of model %s: its SHA-256 is %s, expected %s: the transfer was corrupted, try again",
				file, r.id, got, meta.etag)
		}
	}
	if err = f.Sync(); err == nil {
		err = f.Close()
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, blob)
	}
	if err != nil {
		return fmt.Errorf("storing file %s of model %s in %s: %w", file, r.id, blob, err)
	}
	return nil
}

// progressBar returns a byte progress bar writing to opts.Progress, or nil when that is nil.
func (r remote) progressBar(size int64, file string) *progressbar.ProgressBar {
	w := r.opts.Progress
	if w == nil {
		return nil
	}
	return progressbar.NewOptions64(size,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(file),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowTotalBytes(true),
		progressbar.OptionShowCount(),
		progressbar.OptionSetWidth(20),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetRenderBlankState(true),
		progressbar.OptionOnCompletion(func() { _, _ = fmt.Fprintln(w) }),
	)
}
