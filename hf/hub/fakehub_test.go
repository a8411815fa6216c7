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
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
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

// Ways the fake hub can misbehave on a GET of a file.
const (
	serveOK      = ""
	serveCut     = "cut"     // announces the full length, sends half, then drops the connection
	serveShort   = "short"   // sends half with a matching Content-Length (clean end, wrong size)
	serveCorrupt = "corrupt" // sends the full length with one byte changed
)

// fakeHub plays the HuggingFace hub on loopback: the revision API, the resolve endpoint (HEAD and
// GET; large files redirect to a second "CDN" server as on the real hub), and token checks.
type fakeHub struct {
	t      *testing.T
	srv    *httptest.Server
	cdn    *httptest.Server
	id     string
	commit string
	files  map[string][]byte
	token  string // required bearer token; "" = public model

	mu           sync.Mutex
	requests     []string            // "METHOD path" seen by srv
	cdnAuth      []string            // Authorization headers the CDN saw
	misbehave    map[string]string   // file → serve* mode for GET
	hideSiblings bool                // answer the revision API without a file list
	revisions    map[string]struct{} // accepted revision names besides the commit
}

func newFakeHub(t *testing.T, token string) *fakeHub {
	t.Helper()
	h := &fakeHub{
		t: t, id: testID, commit: testCommit, files: goldenFiles(t), token: token,
		misbehave: map[string]string{},
		revisions: map[string]struct{}{"main": {}, "refs/pr/1": {}},
	}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serveHub))
	h.cdn = httptest.NewServer(http.HandlerFunc(h.serveCDN))
	t.Cleanup(h.close)
	return h
}

func (h *fakeHub) close() {
	h.srv.Close()
	h.cdn.Close()
}

func (h *fakeHub) setMisbehave(file, mode string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.misbehave[file] = mode
}

func (h *fakeHub) numRequests() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.requests)
}

// etag returns the ETag the real hub uses: the SHA-256 of a large (LFS) file, the git blob id of
// a small one.
func (h *fakeHub) etag(file string) string {
	data := h.files[file]
	if file == lfsFile {
		s := sha256.Sum256(data)
		return hex.EncodeToString(s[:])
	}
	g := sha1.New()
	fmt.Fprintf(g, "blob %d\x00", len(data))
	g.Write(data)
	return hex.EncodeToString(g.Sum(nil))
}

func (h *fakeHub) knownRevision(rev string) bool {
	_, ok := h.revisions[rev]
	return ok || rev == h.commit
}

func (h *fakeHub) serveHub(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.requests = append(h.requests, r.Method+" "+r.URL.EscapedPath())
	hide := h.hideSiblings
	h.mu.Unlock()
	if h.token != "" && r.Header.Get("Authorization") != "Bearer "+h.token {
		w.Header().Set("X-Error-Message", "Invalid credentials in Authorization header")
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	path := r.URL.EscapedPath()
	if rest, ok := strings.CutPrefix(path, "/api/models/"); ok {
		id, rev, ok := strings.Cut(rest, "/revision/")
		rev, _ = url.PathUnescape(rev)
		switch {
		case !ok || id != h.id:
			w.Header().Set("X-Error-Code", "RepoNotFound")
			http.Error(w, "Repository not found", http.StatusNotFound)
		case !h.knownRevision(rev):
			w.Header().Set("X-Error-Code", "RevisionNotFound")
			http.Error(w, "Invalid rev id", http.StatusNotFound)
		default:
			answer := map[string]any{"id": h.id, "sha": h.commit}
			if !hide {
				var sib []map[string]string
				for _, f := range testFiles {
					sib = append(sib, map[string]string{"rfilename": f})
				}
				answer["siblings"] = sib
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
	data, exists := h.files[file]
	switch {
	case !h.knownRevision(rev):
		w.Header().Set("X-Error-Code", "RevisionNotFound")
		http.Error(w, "Invalid rev id", http.StatusNotFound)
		return
	case !exists:
		w.Header().Set("X-Error-Code", "EntryNotFound")
		http.Error(w, "Entry not found", http.StatusNotFound)
		return
	}
	w.Header().Set("X-Repo-Commit", h.commit)
	if file == lfsFile {
		w.Header().Set("X-Linked-Etag", `"`+h.etag(file)+`"`)
		w.Header().Set("X-Linked-Size", strconv.Itoa(len(data)))
		http.Redirect(w, r, h.cdn.URL+"/blobs/"+file, http.StatusFound)
		return
	}
	w.Header().Set("ETag", `"`+h.etag(file)+`"`)
	h.serveBody(w, r, file)
}

// serveCDN serves large files after the hub's redirect, recording the Authorization it gets.
func (h *fakeHub) serveCDN(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.cdnAuth = append(h.cdnAuth, r.Header.Get("Authorization"))
	h.mu.Unlock()
	file, _ := strings.CutPrefix(r.URL.Path, "/blobs/")
	if _, ok := h.files[file]; !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("ETag", `"`+h.etag(file)+`"`)
	h.serveBody(w, r, file)
}

func (h *fakeHub) serveBody(w http.ResponseWriter, r *http.Request, file string) {
	data := h.files[file]
	h.mu.Lock()
	mode := h.misbehave[file]
	h.mu.Unlock()
	if r.Method == http.MethodHead {
		mode = serveOK
	}
	switch mode {
	case serveCut:
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(data[:len(data)/2])
		w.(http.Flusher).Flush()
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			h.t.Errorf("hijacking: %v", err)
			return
		}
		_ = conn.Close()
	case serveShort:
		w.Header().Set("Content-Length", strconv.Itoa(len(data)/2))
		_, _ = w.Write(data[:len(data)/2])
	case serveCorrupt:
		bad := append([]byte(nil), data...)
		bad[len(bad)/3] ^= 0xff
		w.Header().Set("Content-Length", strconv.Itoa(len(bad)))
		_, _ = w.Write(bad)
	default:
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		if r.Method != http.MethodHead {
			_, _ = w.Write(data)
		}
	}
}

// testOptions are explicit options that never read the environment.
func (h *fakeHub) testOptions(cacheDir string) Options {
	return Options{CacheDir: cacheDir, Revision: "main", Token: h.token, Endpoint: h.srv.URL}
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

// checkSameFiles checks that dir holds the golden files byte for byte.
func checkSameFiles(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("reading resolved %s: %v", name, err)
			continue
		}
		if string(got) != string(want) {
			t.Errorf("resolved %s differs from the golden file (%d vs %d bytes)", name, len(got), len(want))
		}
	}
}
