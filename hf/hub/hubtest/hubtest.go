// Package hubtest is a loopback fake of the HuggingFace hub for tests: the revision API (with
// sizes and hashes), the resolve endpoint (HEAD and GET, large files redirected to a second
// "CDN" server that redirects once more, as signed storage URLs do), Range requests, token checks,
// several commits and moving branches, and transfers that break in chosen ways.
package hubtest

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Ways a GET of a file's content can misbehave (see Hub.Misbehave).
const (
	OK          = ""
	Cut         = "cut"          // each answer sends at most a quarter of the file, then drops the connection
	Die         = "die"          // the first answer sends half the file then drops; later ones drop at once
	Stall       = "stall"        // the first answer sends half the file then stalls; later ones stall at once
	Short       = "short"        // each answer announces and sends half of what is asked (a clean, short end)
	Corrupt     = "corrupt"      // one byte changed
	Long        = "long"         // ten bytes more than the file
	IgnoreRange = "ignore-range" // answers a Range request with the whole file (200)
)

// IsLFS says which files the fake stores in LFS: weights, as on the real hub.
func IsLFS(file string) bool {
	return strings.HasSuffix(file, ".safetensors") || strings.HasSuffix(file, ".bin")
}

// GitBlobID is git's hash of a file's content.
func GitBlobID(data []byte) string {
	g := sha1.New()
	fmt.Fprintf(g, "blob %d\x00", len(data))
	g.Write(data)
	return hex.EncodeToString(g.Sum(nil))
}

// SHA256 is the hexadecimal SHA-256 of data.
func SHA256(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// ETag is the ETag the real hub gives a file: the SHA-256 of a large (LFS) file, the git blob id
// of a small one. huggingface_hub names blobs by it.
func ETag(file string, data []byte) string {
	if IsLFS(file) {
		return SHA256(data)
	}
	return GitBlobID(data)
}

// Request is one request a fake server saw.
type Request struct {
	Method, Path, Auth, Referer, Range string
}

// Hub is a fake hub serving one model.
type Hub struct {
	URL string // the endpoint (HF_ENDPOINT)
	ID  string // the model id
	// Token, when not empty, is required as "Authorization: Bearer <Token>" by the hub (not the CDN).
	Token string

	srv, cdn *httptest.Server

	mu           sync.Mutex
	commits      map[string]map[string][]byte // commit → file → content
	refs         map[string]string            // revision → commit
	requests     []Request                    // seen by the hub
	cdnRequests  []Request                    // seen by the CDN
	misbehave    map[string]string            // file → mode for GET
	answers      map[string]int               // file → GET answers given (for Die, Stall)
	hideSiblings bool
	hideBlobs    bool
	override     func(w http.ResponseWriter, r *http.Request) bool
	stallDone    chan struct{}
	closed       bool
}

// New starts a fake hub serving model id with files as commit, which "main" points to. It is
// closed when the test ends.
func New(t testing.TB, id, token, commit string, files map[string][]byte) *Hub {
	h := &Hub{
		ID: id, Token: token,
		commits:   map[string]map[string][]byte{commit: files},
		refs:      map[string]string{"main": commit},
		misbehave: map[string]string{}, answers: map[string]int{},
		stallDone: make(chan struct{}),
	}
	h.srv = httptest.NewServer(http.HandlerFunc(h.Serve))
	h.cdn = httptest.NewServer(http.HandlerFunc(h.serveCDN))
	h.URL = h.srv.URL
	t.Cleanup(h.Close)
	return h
}

// Close stops both servers, ending stalled answers.
func (h *Hub) Close() {
	h.mu.Lock()
	if !h.closed {
		h.closed = true
		close(h.stallDone)
	}
	h.mu.Unlock()
	h.srv.CloseClientConnections()
	h.cdn.CloseClientConnections()
	h.srv.Close()
	h.cdn.Close()
}

// Listener address of the hub server, for tests that reach it under another name.
func (h *Hub) Addr() string { return h.srv.Listener.Addr().String() }

// AddCommit adds a commit with files and, unless rev is empty, points rev at it.
func (h *Hub) AddCommit(commit, rev string, files map[string][]byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.commits[commit] = files
	if rev != "" {
		h.refs[rev] = commit
	}
}

// SetRef points rev at commit.
func (h *Hub) SetRef(rev, commit string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.refs[rev] = commit
}

// Misbehave makes the GETs of file's content behave as mode says from now on.
func (h *Hub) Misbehave(file, mode string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.misbehave[file] = mode
	h.answers[file] = 0
}

// HideListing makes the revision API answer without a file list (siblings), or without sizes and
// hashes (blobs).
func (h *Hub) HideListing(siblings, blobs bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.hideSiblings, h.hideBlobs = siblings, blobs
}

// Override lets f answer hub requests itself (returning true), to play a hostile hub.
func (h *Hub) Override(f func(w http.ResponseWriter, r *http.Request) bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.override = f
}

// NumRequests counts the requests seen by the hub and the CDN.
func (h *Hub) NumRequests() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.requests) + len(h.cdnRequests)
}

// Requests returns copies of the requests seen so far by the hub and by the CDN.
func (h *Hub) Requests() (hub, cdn []Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.requests), slices.Clone(h.cdnRequests)
}

// Fetched returns the base names of the files whose content was requested (GETs), skipping the
// first skip of them.
func (h *Hub) Fetched(skip int) []string {
	hub, cdn := h.Requests()
	var out []string
	for _, s := range append(hub, cdn...) {
		if s.Method != http.MethodGet || strings.Contains(s.Path, "/api/") || strings.HasPrefix(s.Path, "/sign/") {
			continue
		}
		out = append(out, s.Path[strings.LastIndex(s.Path, "/")+1:])
	}
	if skip > len(out) {
		return nil
	}
	return out[skip:]
}

// Files returns the files of the commit rev names (a revision or a commit).
func (h *Hub) Files(rev string) map[string][]byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	if c, ok := h.refs[rev]; ok {
		rev = c
	}
	return h.commits[rev]
}

// ETag is the ETag of file at main.
func (h *Hub) ETag(file string) string { return ETag(file, h.Files("main")[file]) }

func (h *Hub) commitOf(rev string) (string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if c, ok := h.refs[rev]; ok {
		return c, true
	}
	_, ok := h.commits[rev]
	return rev, ok
}

func record(r *http.Request) Request {
	return Request{r.Method, r.URL.EscapedPath(), r.Header.Get("Authorization"), r.Header.Get("Referer"), r.Header.Get("Range")}
}

func fail(w http.ResponseWriter, code int, errorCode, msg string) {
	w.Header().Set("X-Error-Code", errorCode)
	http.Error(w, msg, code)
}

// Serve is the hub's handler, for tests that put it behind other servers.
func (h *Hub) Serve(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.requests = append(h.requests, record(r))
	hideSib, hideBlobs, override := h.hideSiblings, h.hideBlobs, h.override
	h.mu.Unlock()
	if override != nil && override(w, r) {
		return
	}
	if h.Token != "" && r.Header.Get("Authorization") != "Bearer "+h.Token {
		w.Header().Set("X-Error-Message", "Invalid credentials in Authorization header")
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	path := r.URL.EscapedPath()
	if rest, ok := strings.CutPrefix(path, "/api/models/"); ok {
		id, rev, ok := strings.Cut(rest, "/revision/")
		rev, _ = url.PathUnescape(rev)
		commit, known := h.commitOf(rev)
		switch {
		case !ok || id != h.ID:
			fail(w, http.StatusNotFound, "RepoNotFound", "Repository not found")
		case !known:
			fail(w, http.StatusNotFound, "RevisionNotFound", "Invalid rev id")
		default:
			answer := map[string]any{"id": h.ID, "sha": commit}
			if !hideSib {
				answer["siblings"] = siblings(h.Files(commit), !hideBlobs && r.URL.Query().Get("blobs") == "true")
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(answer)
		}
		return
	}
	rest, ok := strings.CutPrefix(path, "/"+h.ID+"/resolve/")
	if !ok {
		fail(w, http.StatusNotFound, "RepoNotFound", "Repository not found")
		return
	}
	rev, file, _ := strings.Cut(rest, "/")
	rev, _ = url.PathUnescape(rev)
	file, _ = url.PathUnescape(file)
	commit, known := h.commitOf(rev)
	if !known {
		fail(w, http.StatusNotFound, "RevisionNotFound", "Invalid rev id")
		return
	}
	data, exists := h.Files(commit)[file]
	if !exists {
		fail(w, http.StatusNotFound, "EntryNotFound", "Entry not found")
		return
	}
	w.Header().Set("X-Repo-Commit", commit)
	if IsLFS(file) {
		w.Header().Set("X-Linked-Etag", `"`+ETag(file, data)+`"`)
		w.Header().Set("X-Linked-Size", strconv.Itoa(len(data)))
		http.Redirect(w, r, h.cdn.URL+"/sign/"+commit+"/"+escapePath(file), http.StatusFound)
		return
	}
	w.Header().Set("ETag", `"`+ETag(file, data)+`"`)
	h.serveBody(w, r, file, data)
}

func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, part := range parts {
		parts[i] = url.PathEscape(part)
	}
	return strings.Join(parts, "/")
}

// siblings is the revision API's file list; with blobs, each file's size and hashes.
func siblings(files map[string][]byte, blobs bool) []map[string]any {
	names := make([]string, 0, len(files))
	for f := range files {
		names = append(names, f)
	}
	sort.Strings(names)
	var out []map[string]any
	for _, f := range names {
		s := map[string]any{"rfilename": f}
		if blobs {
			data := files[f]
			s["size"] = len(data)
			s["blobId"] = GitBlobID(data)
			if IsLFS(f) {
				pointer := fmt.Sprintf("version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n", SHA256(data), len(data))
				s["blobId"] = GitBlobID([]byte(pointer))
				s["lfs"] = map[string]any{"sha256": SHA256(data), "size": len(data), "pointerSize": len(pointer)}
			}
		}
		out = append(out, s)
	}
	return out
}

// serveCDN serves large files after the hub's redirect: /sign/<commit>/<file> redirects to
// /blobs/<commit>/<file>, which serves the bytes.
func (h *Hub) serveCDN(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.cdnRequests = append(h.cdnRequests, record(r))
	h.mu.Unlock()
	if rest, ok := strings.CutPrefix(r.URL.EscapedPath(), "/sign/"); ok {
		http.Redirect(w, r, "/blobs/"+rest, http.StatusFound)
		return
	}
	rest, _ := strings.CutPrefix(r.URL.Path, "/blobs/")
	commit, file, _ := strings.Cut(rest, "/")
	data, ok := h.Files(commit)[file]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("ETag", `"`+ETag(file, data)+`"`)
	h.serveBody(w, r, file, data)
}

// serveBody answers a HEAD or GET of a file's content, honouring "Range: bytes=N-" and the file's
// misbehaviour mode.
func (h *Hub) serveBody(w http.ResponseWriter, r *http.Request, file string, data []byte) {
	if r.Method == http.MethodHead {
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		return
	}
	h.mu.Lock()
	mode := h.misbehave[file]
	answer := h.answers[file]
	h.answers[file]++
	h.mu.Unlock()
	start := 0
	if rng := r.Header.Get("Range"); rng != "" && mode != IgnoreRange {
		n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(rng, "bytes="), "-"))
		if err != nil || n >= len(data) {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", len(data)))
			http.Error(w, "range not satisfiable", http.StatusRequestedRangeNotSatisfiable)
			return
		}
		start = n
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", n, len(data)-1, len(data)))
	}
	body := data[start:]
	status := http.StatusOK
	if start > 0 {
		status = http.StatusPartialContent
	}
	switch mode {
	case Cut, Die, Stall:
		send := min(len(body), len(data)/4)
		if mode != Cut {
			send = min(len(body), len(data)/2)
			if answer > 0 {
				send = 0
			}
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(status)
		_, _ = w.Write(body[:send])
		w.(http.Flusher).Flush()
		if mode == Stall {
			select {
			case <-r.Context().Done():
			case <-h.stallDone:
			case <-time.After(time.Minute):
			}
			return
		}
		if send < len(body) {
			if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
				_ = conn.Close()
			}
		}
	case Short:
		half := max(1, len(body)/2)
		w.Header().Set("Content-Length", strconv.Itoa(half))
		w.WriteHeader(status)
		_, _ = w.Write(body[:half])
	case Corrupt:
		bad := slices.Clone(body)
		bad[len(bad)/3] ^= 0xff
		w.Header().Set("Content-Length", strconv.Itoa(len(bad)))
		w.WriteHeader(status)
		_, _ = w.Write(bad)
	case Long:
		w.Header().Set("Content-Length", strconv.Itoa(len(body)+10))
		w.WriteHeader(status)
		_, _ = w.Write(append(slices.Clone(body), make([]byte, 10)...))
	default:
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}
}
