package hub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
)

// remote talks to the hub for one model and revision.
type remote struct {
	opts     Options // with defaults filled in
	id       string
	endpoint *url.URL
}

func newRemote(opts Options, id string) (remote, error) {
	u, err := url.Parse(opts.Endpoint)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return remote{}, fmt.Errorf("hub endpoint %q (HF_ENDPOINT) is not an http(s) URL such as %s", opts.Endpoint, DefaultEndpoint)
	}
	return remote{opts: opts, id: id, endpoint: u}, nil
}

// tokenAllowed reports whether the token may go with a request to u: only to the endpoint's own
// host and port, and only over https, or over http to a loopback endpoint (a hub on this machine).
// So it never crosses to another host (the storage a download is redirected to) nor travels in
// clear over the network, even after a redirect from https to http.
func (r remote) tokenAllowed(u *url.URL) bool {
	if r.opts.Token == "" || !strings.EqualFold(u.Hostname(), r.endpoint.Hostname()) || port(u) != port(r.endpoint) {
		return false
	}
	switch u.Scheme {
	case "https":
		return true
	case "http":
		return r.endpoint.Scheme == "http" && isLoopback(u.Hostname())
	}
	return false
}

// tokenWithheld reports whether a token is set but never sent, the endpoint being plain http.
func (r remote) tokenWithheld() bool {
	return r.opts.Token != "" && !r.tokenAllowed(r.endpoint)
}

func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if u.Scheme == "http" {
		return "80"
	}
	return "443"
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (r remote) request(file string) request {
	return request{id: r.id, revision: r.opts.Revision, endpoint: r.opts.Endpoint, file: file,
		withToken: r.opts.Token != "" && !r.tokenWithheld(), tokenWithheld: r.tokenWithheld()}
}

func (r remote) newRequest(ctx context.Context, method, target string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, target, nil)
	if err != nil {
		return nil, fmt.Errorf("building request for model %s: %w", r.id, err)
	}
	if r.tokenAllowed(req.URL) {
		req.Header.Set("Authorization", "Bearer "+r.opts.Token)
	}
	req.Header.Set("User-Agent", "locoedit-hf-hub/1; "+runtime.Version())
	// The bytes stored must be the file's own, not a compressed transfer encoding of them, and
	// the sizes announced must be theirs.
	req.Header.Set("Accept-Encoding", "identity")
	return req, nil
}

// client returns a copy of the configured client with this package's redirect policy: no Referer
// (it would tell the storage host the model and commit), the token only where tokenAllowed says,
// and, with sameOrigin, only redirects to the same scheme, host and port are followed (the answer
// of any other is returned).
func (r remote) client(sameOrigin bool) *http.Client {
	c := *r.opts.HTTPClient
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		prev := via[len(via)-1].URL
		if sameOrigin && (req.URL.Scheme != prev.Scheme || !strings.EqualFold(req.URL.Hostname(), prev.Hostname()) || port(req.URL) != port(prev)) {
			return http.ErrUseLastResponse
		}
		req.Header.Del("Referer")
		req.Header.Del("Authorization")
		if r.tokenAllowed(req.URL) {
			req.Header.Set("Authorization", "Bearer "+r.opts.Token)
		}
		return nil
	}
	return &c
}

// revisionInfo asks GET {endpoint}/api/models/{id}/revision/{revision}?blobs=true for the commit
// hash and the file list with sizes and hashes. It also returns the raw answer, which
// go-huggingface keeps in info/<revision>.
func (r remote) revisionInfo(ctx context.Context) (*listing, []byte, error) {
	infoURL := fmt.Sprintf("%s/api/models/%s/revision/%s?blobs=true", r.opts.Endpoint, r.id, url.PathEscape(r.opts.Revision))
	gctx, g := guard(ctx, r.opts.StallTimeout)
	defer g.stop()
	req, err := r.newRequest(gctx, http.MethodGet, infoURL)
	if err != nil {
		return nil, nil, err
	}
	q := r.request("")
	resp, err := r.client(true).Do(req)
	if err != nil {
		return nil, nil, q.networkError(g.explain(err))
	}
	defer resp.Body.Close()
	g.progress()
	if resp.StatusCode != http.StatusOK {
		return nil, nil, q.statusError(resp)
	}
	raw, err := io.ReadAll(io.LimitReader(g.reader(resp.Body), maxListingBytes+1))
	if err != nil {
		return nil, nil, q.networkError(g.explain(err))
	}
	l, err := parseRevisionAnswer(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the file list of model %s (revision %s) from %s: %w", r.id, r.opts.Revision, r.opts.Endpoint, err)
	}
	return l, raw, nil
}

// fileURL is where a file of the model is served at a given commit.
func (r remote) fileURL(commit, file string) string {
	return fmt.Sprintf("%s/%s/resolve/%s/%s", r.opts.Endpoint, r.id, commit, escapePath(file))
}

// fileMeta is what a HEAD on a file tells.
type fileMeta struct {
	etag     string // blob name: X-Linked-Etag (large files) or ETag, unquoted
	size     int64  // X-Linked-Size or Content-Length; -1 when unknown
	location string // where to GET the content: the redirect's target, or the file's URL
}

// head asks for a file's ETag, size and location with a HEAD request that follows only
// same-origin redirects, as huggingface_hub does: a large file answers with a redirect to its
// storage, and the redirect itself carries X-Linked-Etag and X-Linked-Size. The GET then goes
// straight to that location.
func (r remote) head(ctx context.Context, commit, file string) (fileMeta, error) {
	gctx, g := guard(ctx, r.opts.StallTimeout)
	defer g.stop()
	req, err := r.newRequest(gctx, http.MethodHead, r.fileURL(commit, file))
	if err != nil {
		return fileMeta{}, err
	}
	q := r.request(file)
	resp, err := r.client(true).Do(req)
	if err != nil {
		return fileMeta{}, q.networkError(g.explain(err))
	}
	_ = resp.Body.Close()
	if resp.StatusCode >= 400 || resp.StatusCode < 200 {
		return fileMeta{}, q.statusError(resp)
	}
	meta, err := parseFileMeta(resp.StatusCode, resp.Header, resp.Request.URL)
	if err != nil {
		return fileMeta{}, fmt.Errorf("hub %s answered a HEAD on file %s of model %s with %w", r.opts.Endpoint, file, r.id, err)
	}
	return meta, nil
}

// parseFileMeta reads the headers of the answer to a HEAD on a file's URL (reqURL).
func parseFileMeta(status int, h http.Header, reqURL *url.URL) (fileMeta, error) {
	etag := h.Get("X-Linked-Etag")
	if etag == "" {
		etag = h.Get("ETag")
	}
	etag = normalizeETag(etag)
	if err := validateETag(etag); err != nil {
		return fileMeta{}, fmt.Errorf("no usable ETag (%w): the file cannot be named in the cache", err)
	}
	meta := fileMeta{etag: etag, size: -1, location: reqURL.String()}
	redirect := status >= 300 && status < 400
	sizeHeader := "X-Linked-Size"
	s := h.Get(sizeHeader)
	if s == "" && !redirect {
		sizeHeader, s = "Content-Length", h.Get("Content-Length")
	}
	if s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return fileMeta{}, fmt.Errorf("an invalid %s %.40q", sizeHeader, s)
		}
		meta.size = n
	}
	if redirect {
		loc, err := reqURL.Parse(h.Get("Location"))
		if err != nil || h.Get("Location") == "" || (loc.Scheme != "https" && loc.Scheme != "http") || loc.Host == "" {
			return fileMeta{}, fmt.Errorf("a redirect (HTTP %d) to an unusable location %.200q", status, h.Get("Location"))
		}
		meta.location = loc.String()
	}
	return meta, nil
}

// get starts downloading from location, from byte offset on (with a Range request) when offset is
// positive; the caller closes the body.
func (r remote) get(ctx context.Context, location string, offset int64) (*http.Response, error) {
	req, err := r.newRequest(ctx, http.MethodGet, location)
	if err != nil {
		return nil, err
	}
	if offset > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", offset))
	}
	return r.client(false).Do(req)
}

// parseContentRange reads the first byte position and the total size of "bytes first-last/total"
// (total -1 when "*").
func parseContentRange(s string) (first, total int64, err error) {
	spec, ok := strings.CutPrefix(s, "bytes ")
	rng, tot, ok2 := strings.Cut(spec, "/")
	firstS, lastS, ok3 := strings.Cut(rng, "-")
	if !ok || !ok2 || !ok3 {
		return 0, 0, fmt.Errorf("malformed Content-Range %.80q", s)
	}
	first, err1 := strconv.ParseInt(firstS, 10, 64)
	last, err2 := strconv.ParseInt(lastS, 10, 64)
	total = -1
	var err3 error
	if tot != "*" {
		total, err3 = strconv.ParseInt(tot, 10, 64)
	}
	if err1 != nil || err2 != nil || err3 != nil || first < 0 || last < first || (tot != "*" && (total < 0 || last >= total)) {
		return 0, 0, fmt.Errorf("malformed Content-Range %.80q", s)
	}
	return first, total, nil
}

// normalizeETag removes a weak-validator prefix and the quotes, as huggingface_hub does.
func normalizeETag(etag string) string {
	etag = strings.TrimSpace(etag)
	etag = strings.TrimPrefix(etag, "W/")
	return strings.Trim(etag, `"`)
}
