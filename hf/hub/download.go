package hub

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/schollz/progressbar/v3"
)

const (
	// maxFailedAttempts is how many attempts in a row may bring no new byte before a download
	// gives up (each stalled one lasts the stall timeout).
	maxFailedAttempts = 3
	// maxAttempts bounds the attempts of one download, however each of them ends.
	maxAttempts = 50
)

// fetch makes file (at commit) available in snapshots/<commit>: a HEAD gives its ETag, size and
// location; under huggingface_hub's lock on that blob, a blob already in the cache (from another
// commit, say) is linked, else the content is downloaded from the location into
// blobs/<etag>.incomplete, resumed if it was interrupted before, checked, and renamed.
func (r remote) fetch(ctx context.Context, c repoCache, commit, file string, l *listing) error {
	meta, err := r.head(ctx, commit, file)
	if err != nil {
		return err
	}
	want, err := r.expected(file, l, &meta)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(c.blobPath(meta.etag)), 0o777); err != nil {
		return fmt.Errorf("creating the cache's blobs folder: %w", err)
	}
	tagCache(c.root)
	unlock, err := c.lockBlob(ctx, meta.etag, file, r.opts.Progress)
	if err != nil {
		return err
	}
	defer unlock()
	blob := c.blobPath(meta.etag)
	if st, err := os.Stat(blob); err == nil && st.Mode().IsRegular() {
		good := meta.size < 0 || st.Size() == meta.size
		if good && r.opts.Verify && want.known() {
			good = want.checkFile(blob) == nil
		}
		if good {
			return c.link(commit, file, meta.etag)
		}
		if err := os.Remove(blob); err != nil {
			return fmt.Errorf("removing the damaged cached copy of file %s of model %s: %w", file, r.id, err)
		}
	}
	if err := r.download(ctx, c, file, meta, want); err != nil {
		return err
	}
	if err := c.link(commit, file, meta.etag); err != nil {
		return fmt.Errorf("caching file %s of model %s: %w", file, r.id, err)
	}
	return nil
}

// expected returns the hash the file's content must have: the one of the file list when it gives
// one, else the one the ETag is. The file list and the HEAD must agree on the hash and the size.
func (r remote) expected(file string, l *listing, meta *fileMeta) (contentHash, error) {
	fromETag := hashFromName(meta.etag)
	e, ok := l.entry(file)
	if !ok {
		return fromETag, nil
	}
	want := e.contentHash()
	if want.known() && fromETag.known() && want.algo == fromETag.algo && want.hex != fromETag.hex {
		return contentHash{}, newError(ErrCorrupt, "hub %s gives file %s of model %s two hashes: %s in its file list, %s as its ETag: try again later",
			r.opts.Endpoint, file, r.id, want, fromETag)
	}
	if size := e.contentSize(); size >= 0 {
		if meta.size >= 0 && meta.size != size {
			return contentHash{}, newError(ErrCorrupt, "hub %s gives file %s of model %s two sizes: %d bytes in its file list, %d in its headers: try again later",
				r.opts.Endpoint, file, r.id, size, meta.size)
		}
		meta.size = size
	}
	if !want.known() {
		want = fromETag
	}
	return want, nil
}

// download stores the content at meta.location in blobs/<etag>. The bytes go to
// blobs/<etag>.incomplete, which a previous interrupted attempt (of this package or of
// huggingface_hub) may have started: the transfer resumes there with an HTTP Range request, and
// again after each interruption while bytes keep coming. Only once the size and the hash match is
// the file renamed to its blob name. A transfer that keeps failing leaves the partial file for the
// next run to resume; a corrupt one is removed.
func (r remote) download(ctx context.Context, c repoCache, file string, meta fileMeta, want contentHash) (err error) {
	inc := c.incompletePath(meta.etag)
	f, err := os.OpenFile(inc, os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		return fmt.Errorf("creating %s: %w", inc, err)
	}
	keep := false
	defer func() {
		if f != nil {
			_ = f.Close()
		}
		if err != nil && !keep {
			_ = os.Remove(inc)
		}
	}()
	d := &transfer{r: r, f: f, file: file, meta: meta, want: want}
	if err := d.start(); err != nil {
		return fmt.Errorf("resuming %s: %w", inc, err)
	}
	d.bar = r.progressBar(meta.size, file, d.have)
	best, failures := d.have, 0
	for attempt := 1; ; attempt++ {
		retry, terr := d.attempt(ctx)
		if terr == nil && (meta.size < 0 || d.have == meta.size) {
			break
		}
		if terr == nil {
			terr = fmt.Errorf("the transfer ended after %d of %d bytes", d.have, meta.size)
			retry = d.have < meta.size
		}
		if d.have > best {
			best, failures = d.have, 0
		} else {
			failures++
		}
		if !retry || failures >= maxFailedAttempts || attempt >= maxAttempts || ctx.Err() != nil {
			d.finishBar(false)
			keep = retry && d.have > 0
			if keep {
				return fmt.Errorf("downloading file %s of model %s: %w; %d of %d bytes are kept in %s: run again to resume",
					file, r.id, terr, d.have, meta.size, inc)
			}
			return fmt.Errorf("downloading file %s of model %s: %w", file, r.id, terr)
		}
		if failures > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(time.Duration(failures) * 300 * time.Millisecond):
			}
		}
	}
	d.finishBar(true)
	if err := d.check(); err != nil {
		return fmt.Errorf("downloading file %s of model %s: %w", file, r.id, err)
	}
	if err = f.Sync(); err == nil {
		err = f.Close()
	}
	f = nil
	if err == nil {
		err = os.Rename(inc, c.blobPath(meta.etag))
	}
	if err != nil {
		return fmt.Errorf("storing file %s of model %s in %s: %w", file, r.id, c.blobPath(meta.etag), err)
	}
	return nil
}

// transfer is one download in progress: the partial file, how much of it is there, and the hash
// of those bytes.
type transfer struct {
	r    remote
	f    *os.File
	file string
	meta fileMeta
	want contentHash
	have int64
	sum  hash.Hash // nil when the hash is unknown (then checked from the file at the end)
	bar  *progressbar.ProgressBar
}

// start takes up a partial file: its bytes are hashed, or it is emptied when it is longer than
// the file.
func (d *transfer) start() error {
	n, err := d.f.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	if d.meta.size >= 0 && n > d.meta.size {
		return d.restart()
	}
	d.have, d.sum = n, d.want.newHash(d.meta.size)
	if n > 0 && d.sum != nil {
		if _, err := d.f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		if _, err := io.CopyN(d.sum, d.f, n); err != nil {
			return err
		}
	}
	return nil
}

// restart empties the partial file.
func (d *transfer) restart() error {
	if err := d.f.Truncate(0); err != nil {
		return err
	}
	if _, err := d.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	d.have, d.sum = 0, d.want.newHash(d.meta.size)
	if d.bar != nil {
		_ = d.bar.Set64(0)
	}
	return nil
}

// attempt runs one GET from d.have on and appends what arrives. retry says whether another
// attempt may do better (a network error, a stall, a busy server).
func (d *transfer) attempt(ctx context.Context) (retry bool, err error) {
	gctx, g := guard(ctx, d.r.opts.StallTimeout)
	defer g.stop()
	q := d.r.request(d.file)
	resp, err := d.r.get(gctx, d.meta.location, d.have)
	if err != nil {
		return true, q.networkError(g.explain(err))
	}
	defer resp.Body.Close()
	g.progress()
	switch {
	case resp.StatusCode == http.StatusPartialContent && d.have > 0:
		first, total, err := parseContentRange(resp.Header.Get("Content-Range"))
		if err != nil || first != d.have || (d.meta.size >= 0 && total >= 0 && total != d.meta.size) {
			if rerr := d.restart(); rerr != nil {
				return false, rerr
			}
			return true, fmt.Errorf("the server resumed at the wrong place (Content-Range %.80q)", resp.Header.Get("Content-Range"))
		}
	case resp.StatusCode == http.StatusOK:
		if d.have > 0 { // the server ignored the Range: start over
			if err := d.restart(); err != nil {
				return false, err
			}
		}
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && d.have > 0:
		if err := d.restart(); err != nil {
			return false, err
		}
		return true, errors.New("the server refused to resume the transfer")
	default:
		s := resp.StatusCode
		return s >= 500 || s == http.StatusRequestTimeout || s == http.StatusTooManyRequests, q.statusError(resp)
	}
	if ce := resp.Header.Get("Content-Encoding"); ce != "" && ce != "identity" {
		return false, fmt.Errorf("the server sent the file compressed (Content-Encoding %.40q) although asked not to", ce)
	}
	body := g.reader(resp.Body)
	if d.meta.size >= 0 {
		body = io.LimitReader(body, d.meta.size-d.have+1)
	}
	writers := []io.Writer{d.f}
	if d.sum != nil {
		writers = append(writers, d.sum)
	}
	if d.bar != nil {
		writers = append(writers, d.bar)
	}
	n, err := io.Copy(io.MultiWriter(writers...), body)
	d.have += n
	if d.meta.size >= 0 && d.have > d.meta.size {
		return false, newError(ErrCorrupt, "the server sent more than the announced %d bytes", d.meta.size)
	}
	if err != nil {
		return true, fmt.Errorf("the transfer stopped after %d bytes: %w", d.have, g.explain(err))
	}
	return false, nil
}

// check compares the complete file with its expected size and hash.
func (d *transfer) check() error {
	if d.meta.size >= 0 && d.have != d.meta.size {
		return newError(ErrCorrupt, "got %d bytes, expected %d: the transfer was cut, try again", d.have, d.meta.size)
	}
	if !d.want.known() {
		return nil
	}
	var err error
	if d.sum != nil {
		err = d.want.check(d.sum)
	} else {
		err = d.want.checkFile(d.f.Name())
	}
	if err != nil {
		return &hubError{kind: ErrCorrupt, msg: err.Error() + ": the transfer was corrupted, run again to download it anew"}
	}
	return nil
}

func (d *transfer) finishBar(ok bool) {
	if d.bar == nil {
		return
	}
	if ok {
		_ = d.bar.Finish()
	} else {
		_ = d.bar.Exit()
	}
}

// progressBar returns a byte progress bar writing to opts.Progress, starting at done bytes, or nil
// when opts.Progress is nil.
func (r remote) progressBar(size int64, file string, done int64) *progressbar.ProgressBar {
	w := r.opts.Progress
	if w == nil {
		return nil
	}
	bar := progressbar.NewOptions64(size,
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
	if done > 0 {
		_ = bar.Set64(done)
	}
	return bar
}
