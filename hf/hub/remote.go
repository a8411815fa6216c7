package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
)

// maxInfoBytes bounds the revision API answer read into memory.
const maxInfoBytes = 64 << 20

// remote talks to the hub for one model and revision.
type remote struct {
	opts Options // with defaults filled in
	id   string
}

func (r remote) request(file string) request {
	return request{id: r.id, revision: r.opts.Revision, endpoint: r.opts.Endpoint, file: file, withToken: r.opts.Token != ""}
}

func (r remote) newRequest(ctx context.Context, method, target string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, target, nil)
	if err != nil {
		return nil, fmt.Errorf("building request for model %s: %w", r.id, err)
	}
	if r.opts.Token != "" {
		req.Header.Set("Authorization", "Bearer "+r.opts.Token)
	}
	req.Header.Set("User-Agent", "locoedit-hf-hub/1; "+runtime.Version())
	return req, nil
}

// revisionInfo asks GET {endpoint}/api/models/{id}/revision/{revision} for the commit hash and the
// file list. It also returns the raw answer, which go-huggingface keeps in info/<revision>.
func (r remote) revisionInfo(ctx context.Context) (*revisionInfo, []byte, error) {
	infoURL := fmt.Sprintf("%s/api/models/%s/revision/%s", r.opts.Endpoint, r.id, url.PathEscape(r.opts.Revision))
	req, err := r.newRequest(ctx, http.MethodGet, infoURL)
	if err != nil {
		return nil, nil, err
	}
	q := r.request("")
	resp, err := r.client(false).Do(req)
	if err != nil {
		return nil, nil, q.networkError(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, nil, q.statusError(resp)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxInfoBytes))
	if err != nil {
		return nil, nil, q.networkError(err)
	}
	info := &revisionInfo{}
	if err := json.Unmarshal(raw, info); err != nil {
		return nil, nil, fmt.Errorf("parsing the file list of model %s (revision %s) from %s: %w", r.id, r.opts.Revision, infoURL, err)
	}
	if !isCommitHash(info.SHA) {
		return nil, nil, fmt.Errorf("the file list of model %s (revision %s) from %s has no valid commit hash (got %q)",
			r.id, r.opts.Revision, infoURL, info.SHA)
	}
	return info, raw, nil
}

// fileURL is where a file of the model is served at a given commit.
func (r remote) fileURL(commit, file string) string {
	return fmt.Sprintf("%s/%s/resolve/%s/%s", r.opts.Endpoint, r.id, commit, escapePath(file))
}

// fileMeta is what a HEAD on a file tells.
type fileMeta struct {
	etag string // blob name: X-Linked-Etag (large files) or ETag, unquoted
	size int64  // X-Linked-Size or Content-Length; -1 when unknown
}

// head asks for a file's ETag and size with a HEAD request that follows only same-host redirects,
// as huggingface_hub does: a large file answers with a redirect to its storage, and the redirect
// itself carries X-Linked-Etag and X-Linked-Size.
func (r remote) head(ctx context.Context, commit, file string) (fileMeta, error) {
	req, err := r.newRequest(ctx, http.MethodHead, r.fileURL(commit, file))
	if err != nil {
		return fileMeta{}, err
	}
	req.Header.Set("Accept-Encoding", "identity")
	q := r.request(file)
	resp, err := r.client(true).Do(req)
	if err != nil {
		return fileMeta{}, q.networkError(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode >= 400 || resp.StatusCode < 200 {
		return fileMeta{}, q.statusError(resp)
	}
	meta := fileMeta{etag: resp.Header.Get("X-Linked-Etag"), size: -1}
	if meta.etag == "" {
		meta.etag = resp.Header.Get("ETag")
	}
	meta.etag = normalizeETag(meta.etag)
	if meta.etag == "" || strings.ContainsAny(meta.etag, `/\`) || meta.etag == "." || meta.etag == ".." {
		return fileMeta{}, fmt.Errorf("hub %s sent no usable ETag for file %s of model %s (got %q): cannot store it in the cache",
			r.opts.Endpoint, file, r.id, meta.etag)
	}
	if s := resp.Header.Get("X-Linked-Size"); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 {
			meta.size = n
		}
	} else if resp.StatusCode < 300 {
		meta.size = resp.ContentLength
	}
	return meta, nil
}

// get starts downloading a file; the caller closes the body.
func (r remote) get(ctx context.Context, commit, file string) (*http.Response, error) {
	req, err := r.newRequest(ctx, http.MethodGet, r.fileURL(commit, file))
	if err != nil {
		return nil, err
	}
	// The bytes stored must be the file's own, not a compressed transfer encoding of them.
	req.Header.Set("Accept-Encoding", "identity")
	q := r.request(file)
	resp, err := r.client(false).Do(req)
	if err != nil {
		return nil, q.networkError(err)
	}
	if resp.StatusCode != http.StatusOK {
		_ = resp.Body.Close()
		return nil, q.statusError(resp)
	}
	return resp, nil
}

// client returns a copy of the configured client with this package's redirect policy: the token is
// never sent to another host (as in Python's requests), and with sameHostOnly a redirect to another
// host is not followed (its answer is returned instead).
func (r remote) client(sameHostOnly bool) *http.Client {
	c := *r.opts.HTTPClient
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		if req.URL.Host != via[0].URL.Host {
			if sameHostOnly {
				return http.ErrUseLastResponse
			}
			req.Header.Del("Authorization")
		}
		return nil
	}
	return &c
}

// normalizeETag removes a weak-validator prefix and the quotes, as huggingface_hub does.
func normalizeETag(etag string) string {
	etag = strings.TrimSpace(etag)
	etag = strings.TrimPrefix(etag, "W/")
	return strings.Trim(etag, `"`)
}
