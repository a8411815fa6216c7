package hub

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/gofrs/flock"
)

// lockBlob takes huggingface_hub's lock on a blob, <cache>/.locks/models--org--name/<etag>.lock
// (an flock(2) lock, as Python's filelock takes it), so that two processes, in Go or in Python,
// never download the same blob at once. While another process holds it, a notice goes to notice
// and the wait lasts until the lock is free or ctx is done.
func (c repoCache) lockBlob(ctx context.Context, etag, file string, notice io.Writer) (unlock func(), err error) {
	p := c.lockPath(etag)
	if err := os.MkdirAll(filepath.Dir(p), 0o777); err != nil {
		return nil, fmt.Errorf("creating the cache's lock folder: %w", err)
	}
	l := flock.New(p, flock.SetPermissions(0o664))
	ok, err := l.TryLock()
	if err == nil && !ok {
		if notice != nil {
			fmt.Fprintf(notice, "waiting for another process downloading %s (lock %s)\n", file, p)
		}
		ok, err = l.TryLockContext(ctx, 50*time.Millisecond)
	}
	if err != nil || !ok {
		if err == nil {
			err = ctx.Err()
		}
		_ = l.Close()
		return nil, fmt.Errorf("locking %s: %w", p, err)
	}
	return func() { _ = l.Unlock() }, nil
}
