package hub

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	testID     = "org/tiny-ddpm-unet"
	testCommit = "0123456789abcdef0123456789abcdef01234567"
	testToken  = "hf_testtoken"
	lfsFile    = "diffusion_pytorch_model.safetensors"
	smallFile  = "config.json"
	goldenDir  = "../../testdata/golden/tiny-ddpm-unet"
)

var testFiles = []string{smallFile, lfsFile}

// goldenFiles reads the tiny model the fake hub serves.
func goldenFiles(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, f := range testFiles {
		data, err := os.ReadFile(filepath.Join(goldenDir, f))
		if err != nil {
			t.Fatalf("reading golden model: %v", err)
		}
		out[f] = data
	}
	return out
}

// Ways the fake hub can misbehave on a GET of a file's content.
const (
	serveOK          = ""
	serveCut         = "cut"          // each answer sends at most a quarter of the file, then drops the connection
	serveDie         = "die"          // the first answer sends half the file then drops; later ones drop at once
	serveStall       = "stall"        // the first answer sends half the file then stalls; later ones stall at once
	serveShort       = "short"        // each answer announces and sends half of what is asked (a clean, short end)
	serveCorrupt     = "corrupt"      // one byte changed
	serveLong        = "long"         // ten bytes more than the file
	serveIgnoreRange = "ignore-range" // answers a Range request with the whole file (200)
)

// isLFS says which files the fake hub stores in LFS: weights, as on the real hub.
func isLFS(file string) bool {
	return strings.HasSuffix(file, ".safetensors") || strings.HasSuffix(file, ".bin")
}

// gitBlobID is git's hash of a file's content.
func gitBlobID(data []byte) string {
	g := sha1.New()
	fmt.Fprintf(g, "blob %d\x00", len(data))
	g.Write(data)
	return hex.EncodeToString(g.Sum(nil))
}

func sha256Hex(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// hubETag is the ETag the real hub gives a file: the SHA-256 of a large (LFS) file, the git blob
// id of a small one. huggingface_hub names blobs by it.
func hubETag(file string, data []byte) string {
	if isLFS(file) {
		return sha256Hex(data)
	}
	return gitBlobID(data)
}

// seen is one request a fake server saw.
type seen struct {
	method, path, auth, referer, rng string
}

// fakeHub plays the HuggingFace hub on loopback: the revision API (with ?blobs=true metadata),
// the resolve endpoint (HEAD and GET; large files redirect to a second "CDN" server, which
// redirects once more before serving, as signed storage URLs do), Range requests, token checks,
// several commits and moving branches.
type fakeHub struct {
	t     *testing.T
	srv   *httptest.Server
	cdn   *httptest.Server
	id    string
	token string // required bearer token; "" = public model

	mu           sync.Mutex
	commits      map[string]map[string][]byte // commit → file → content
	refs         map[string]string            // revision → commit
	requests     []seen                       // seen by srv
	cdnRequests  []seen                       // seen by cdn
	misbehave    map[string]string            // file → serve* mode for GET
	answers      map[string]int               // file → GET answers given (for serveDie, serveStall)
	hideSiblings bool                         // answer the revision API without a file list
	hideBlobs    bool                         // answer it without sizes and hashes
	stallDone    chan struct{}                // closed when the hub closes, to end stalled answers

	// override, when set, may answer a hub request itself (returning true) to play a hostile hub.
	override func(w http.ResponseWriter, r *http.Request) bool
}

func newFakeHub(t *testing.T, token string) *fakeHub {
	t.Helper()
	h := &fakeHub{
		t: t, id: testID, token: token,
		commits:   map[string]map[string][]byte{testCommit: goldenFiles(t)},
		refs:      map[string]string{"main": testCommit, "refs/pr/1": testCommit},
		misbehave: map[string]string{}, answers: map[string]int{},
		stallDone: make(chan struct{}),
	}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serveHub))
	h.cdn = httptest.NewServer(http.HandlerFunc(h.serveCDN))
	t.Cleanup(h.close)
	return h
}

var closeOnce sync.Map

func (h *fakeHub) close() {
	if _, done := closeOnce.LoadOrStore(h, true); !done {
		close(h.stallDone)
	}
	h.srv.CloseClientConnections()
	h.cdn.CloseClientConnections()
	h.srv.Close()
	h.cdn.Close()
}

// addCommit makes a new commit with files and points rev at it.
func (h *fakeHub) addCommit(commit, rev string, files map[string][]byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.commits[commit] = files
	if rev != "" {
		h.refs[rev] = commit
	}
}

func (h *fakeHub) setMisbehave(file, mode string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.misbehave[file] = mode
	h.answers[file] = 0
}

func (h *fakeHub) numRequests() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.requests) + len(h.cdnRequests)
}

// log returns copies of the requests seen so far, by the hub and by the CDN.
func (h *fakeHub) log() (hub, cdn []seen) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.requests), slices.Clone(h.cdnRequests)
}

// files returns the files of the commit rev names.
func (h *fakeHub) files(rev string) map[string][]byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	if c, ok := h.refs[rev]; ok {
		rev = c
	}
	return h.commits[rev]
}

// etag is the ETag of a file at main.
func (h *fakeHub) etag(file string) string { return hubETag(file, h.files("main")[file]) }

func (h *fakeHub) commitOf(rev string) (string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if c, ok := h.refs[rev]; ok {
		return c, true
	}
	_, ok := h.commits[rev]
	return rev, ok
}

func record(r *http.Request) seen {
	return seen{r.Method, r.URL.EscapedPath(), r.Header.Get("Authorization"), r.Header.Get("Referer"), r.Header.Get("Range")}
}

func (h *fakeHub) serveHub(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.requests = append(h.requests, record(r))
	hideSib, hideBlobs, override := h.hideSiblings, h.hideBlobs, h.override
	h.mu.Unlock()
	if override != nil && override(w, r) {
		return
	}
	if h.token != "" && r.Header.Get("Authorization") != "Bearer "+h.token {
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
		case !ok || id != h.id:
			w.Header().Set("X-Error-Code", "RepoNotFound")
			http.Error(w, "Repository not found", http.StatusNotFound)
		case !known:
			w.Header().Set("X-Error-Code", "RevisionNotFound")
			http.Error(w, "Invalid rev id", http.StatusNotFound)
		default:
			answer := map[string]any{"id": h.id, "sha": commit}
			if !hideSib {
				answer["siblings"] = siblings(h.files(commit), !hideBlobs && r.URL.Query().Get("blobs") == "true")
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(answer)
		}
		return
	}
	rest, ok := strings.CutPrefix(path, "/"+h.id+"/resolve/")
	if !ok {
		w.Header().Set("X-Error-Code", "RepoNotFound")
		http.Error(w, "Repository not found", http.StatusNotFound)
		return
	}
	rev, file, _ := strings.Cut(rest, "/")
	rev, _ = url.PathUnescape(rev)
	file, _ = url.PathUnescape(file)
	commit, known := h.commitOf(rev)
	if !known {
		w.Header().Set("X-Error-Code", "RevisionNotFound")
		http.Error(w, "Invalid rev id", http.StatusNotFound)
		return
	}
	data, exists := h.files(commit)[file]
	if !exists {
		w.Header().Set("X-Error-Code", "EntryNotFound")
		http.Error(w, "Entry not found", http.StatusNotFound)
		return
	}
	w.Header().Set("X-Repo-Commit", commit)
	if isLFS(file) {
		w.Header().Set("X-Linked-Etag", `"`+hubETag(file, data)+`"`)
		w.Header().Set("X-Linked-Size", strconv.Itoa(len(data)))
		http.Redirect(w, r, h.cdn.URL+"/sign/"+commit+"/"+escapePath(file), http.StatusFound)
		return
	}
	w.Header().Set("ETag", `"`+hubETag(file, data)+`"`)
	h.serveBody(w, r, file, data)
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
			s["blobId"] = gitBlobID(data)
			if isLFS(f) {
				pointer := fmt.Sprintf("version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n", sha256Hex(data), len(data))
				s["blobId"] = gitBlobID([]byte(pointer))
				s["lfs"] = map[string]any{"sha256": sha256Hex(data), "size": len(data), "pointerSize": len(pointer)}
			}
		}
		out = append(out, s)
	}
	return out
}

// serveCDN serves large files after the hub's redirect: /sign/<commit>/<file> redirects to
// /blobs/<commit>/<file>, which serves the bytes.
func (h *fakeHub) serveCDN(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.cdnRequests = append(h.cdnRequests, record(r))
	h.mu.Unlock()
	if rest, ok := strings.CutPrefix(r.URL.EscapedPath(), "/sign/"); ok {
		http.Redirect(w, r, "/blobs/"+rest, http.StatusFound)
		return
	}
	rest, _ := strings.CutPrefix(r.URL.Path, "/blobs/")
	commit, file, _ := strings.Cut(rest, "/")
	data, ok := h.files(commit)[file]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("ETag", `"`+hubETag(file, data)+`"`)
	h.serveBody(w, r, file, data)
}

// serveBody answers a HEAD or GET of a file's content, honouring "Range: bytes=N-" and the file's
// misbehaviour mode.
func (h *fakeHub) serveBody(w http.ResponseWriter, r *http.Request, file string, data []byte) {
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
	if rng := r.Header.Get("Range"); rng != "" && mode != serveIgnoreRange {
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
	case serveCut, serveDie, serveStall:
		send := min(len(body), len(data)/4)
		if mode != serveCut {
			send = min(len(body), len(data)/2)
			if answer > 0 {
				send = 0
			}
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(status)
		_, _ = w.Write(body[:send])
		w.(http.Flusher).Flush()
		if mode == serveStall {
			select {
			case <-r.Context().Done():
			case <-h.stallDone:
			case <-time.After(time.Minute):
			}
			return
		}
		if send < len(body) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = conn.Close()
			}
		}
	case serveShort:
		half := max(1, len(body)/2)
		w.Header().Set("Content-Length", strconv.Itoa(half))
		w.WriteHeader(status)
		_, _ = w.Write(body[:half])
	case serveCorrupt:
		bad := slices.Clone(body)
		bad[len(bad)/3] ^= 0xff
		w.Header().Set("Content-Length", strconv.Itoa(len(bad)))
		w.WriteHeader(status)
		_, _ = w.Write(bad)
	case serveLong:
		w.Header().Set("Content-Length", strconv.Itoa(len(body)+10))
		w.WriteHeader(status)
		_, _ = w.Write(append(slices.Clone(body), make([]byte, 10)...))
	default:
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}
}

// testOptions are explicit options that never read the environment.
func (h *fakeHub) testOptions(cacheDir string) Options {
	return Options{CacheDir: cacheDir, Token: h.token, Endpoint: h.srv.URL}
}

// cacheFiles lists every path under dir (directories with a trailing "/"), sorted, for messages and
// leftover checks.
func cacheFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	_ = filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || p == dir {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if info.IsDir() {
			rel += "/"
		}
		out = append(out, rel)
		return nil
	})
	sort.Strings(out)
	return out
}

// checkSameFiles checks that dir holds the files byte for byte.
func checkSameFiles(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil {
			t.Errorf("reading resolved %s: %v", name, err)
			continue
		}
		if string(got) != string(want) {
			t.Errorf("resolved %s differs from the hub's (%d vs %d bytes)", name, len(got), len(want))
		}
	}
}

// leftovers returns the temporary, partial and lock-free junk files under dir: anything a failed
// or finished run should not leave behind.
func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, p := range cacheFiles(t, dir) {
		if strings.HasSuffix(p, ".incomplete") || strings.Contains(p, ".tmp") {
			out = append(out, p)
		}
	}
	return out
}

// contains fails the test unless err's text contains every one of want.
func contains(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one containing %q", want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q\ndoes not contain %q", err, w)
		}
	}
}
