package hub

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestResolveDownloadsThenWorksOffline(t *testing.T) {
	hub := newFakeHub(t, testToken)
	cache := t.TempDir()
	opts := hub.testOptions(cache)
	var progress bytes.Buffer
	opts.Progress = &progress

	dir, err := Resolve(testID, testFiles, opts)
	if err != nil {
		t.Fatalf("first Resolve: %v", err)
	}
	repoDir := filepath.Join(cache, "models--org--tiny-ddpm-unet")
	if want := filepath.Join(repoDir, "snapshots", testCommit); dir != want {
		t.Fatalf("Resolve returned %s, want %s", dir, want)
	}
	checkSameFiles(t, dir, hub.files)

	// Python's layout: relative links to blobs named by ETag, refs/main holding the commit.
	for _, f := range testFiles {
		link, err := os.Readlink(filepath.Join(dir, f))
		if err != nil {
			t.Fatalf("snapshot entry %s is not a symbolic link: %v", f, err)
		}
		if want := filepath.Join("..", "..", "blobs", hub.etag(f)); link != want {
			t.Errorf("snapshot link %s -> %s, want %s", f, link, want)
		}
	}
	if ref, err := os.ReadFile(filepath.Join(repoDir, "refs", "main")); err != nil || string(ref) != testCommit {
		t.Errorf("refs/main = %q, %v; want %q", ref, err, testCommit)
	}
	if info, err := newRepoCache(cache, testID).readInfo("main"); err != nil || info.SHA != testCommit || len(info.Siblings) != 2 {
		t.Errorf("info/main = %+v, %v; want go-huggingface's record of commit %s with 2 files", info, err, testCommit)
	}
	if got := cacheFiles(t, filepath.Join(repoDir, "blobs")); !slices.Equal(got, []string{hub.etag(smallFile), hub.etag(lfsFile)}) &&
		!slices.Equal(got, []string{hub.etag(lfsFile), hub.etag(smallFile)}) {
		t.Errorf("blobs = %v, want exactly the two ETags", got)
	}
	if !strings.Contains(progress.String(), lfsFile) {
		t.Errorf("progress output %q does not name %s", progress.String(), lfsFile)
	}

	// The token reaches the hub but not the storage host the hub redirects to.
	hub.mu.Lock()
	cdnAuth := slices.Clone(hub.cdnAuth)
	hub.mu.Unlock()
	if len(cdnAuth) != 1 || cdnAuth[0] != "" {
		t.Errorf("CDN requests carried Authorization %q, want one request without it", cdnAuth)
	}

	// Cached: no request at all, even online.
	before := hub.numRequests()
	if again, err := Resolve(testID, testFiles, opts); err != nil || again != dir {
		t.Fatalf("second online Resolve = %s, %v; want %s", again, err, dir)
	}
	if n := hub.numRequests() - before; n != 0 {
		t.Errorf("a cached Resolve made %d requests, want 0", n)
	}

	hub.close()
	opts.Offline = true
	for _, rev := range []string{"main", "", testCommit} {
		opts.Revision = rev
		got, err := Resolve(testID, testFiles, opts)
		if err != nil || got != dir {
			t.Errorf("offline Resolve at revision %q = %s, %v; want %s", rev, got, err, dir)
		}
	}
	opts.Revision = "main"
	if got, err := Resolve(testID, nil, opts); err != nil || got != dir {
		t.Errorf("offline Resolve of the whole snapshot = %s, %v; want %s", got, err, dir)
	}
	if list, err := ListFiles(testID, opts); err != nil || !slices.Equal(list, testFiles) {
		t.Errorf("offline ListFiles = %v, %v; want %v", list, err, testFiles)
	}
}

func TestResolveWholeRepoAndNestedRevision(t *testing.T) {
	hub := newFakeHub(t, "")
	cache := t.TempDir()
	opts := hub.testOptions(cache)
	opts.Revision = "refs/pr/1"
	dir, err := Resolve(testID, nil, opts)
	if err != nil {
		t.Fatalf("Resolve of the whole repository: %v", err)
	}
	checkSameFiles(t, dir, hub.files)
	ref := filepath.Join(cache, "models--org--tiny-ddpm-unet", "refs", "refs", "pr", "1")
	if data, err := os.ReadFile(ref); err != nil || string(data) != testCommit {
		t.Errorf("%s = %q, %v; want %q", ref, data, err, testCommit)
	}
	if list, err := ListFiles(testID, opts); err != nil || !slices.Equal(list, testFiles) {
		t.Errorf("online ListFiles = %v, %v; want %v", list, err, testFiles)
	}
	hub.close()
	opts.Offline = true
	if got, err := Resolve(testID, []string{lfsFile}, opts); err != nil || got != dir {
		t.Errorf("offline Resolve at refs/pr/1 = %s, %v; want %s", got, err, dir)
	}
}

// writePythonCache lays out a cache by hand the way huggingface_hub writes it.
func writePythonCache(t *testing.T, cache string, files map[string][]byte, withRef bool) string {
	t.Helper()
	repo := filepath.Join(cache, "models--org--tiny-ddpm-unet")
	snap := filepath.Join(repo, "snapshots", testCommit)
	for _, dir := range []string{filepath.Join(repo, "blobs"), snap, filepath.Join(repo, "refs")} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, data := range files {
		blob := "blob-" + strings.ReplaceAll(name, ".", "-")
		if err := os.WriteFile(filepath.Join(repo, "blobs", blob), data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join("..", "..", "blobs", blob), filepath.Join(snap, name)); err != nil {
			t.Fatal(err)
		}
	}
	if withRef {
		if err := os.WriteFile(filepath.Join(repo, "refs", "main"), []byte(testCommit), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return snap
}

func TestResolvePythonCacheOffline(t *testing.T) {
	cache := t.TempDir()
	files := goldenFiles(t)
	snap := writePythonCache(t, cache, files, true)
	// An endpoint that cannot answer: any network use would fail.
	opts := Options{CacheDir: cache, Offline: true, Endpoint: "http://127.0.0.1:1"}
	dir, err := Resolve(testID, testFiles, opts)
	if err != nil || dir != snap {
		t.Fatalf("Resolve of a Python cache = %s, %v; want %s", dir, err, snap)
	}
	checkSameFiles(t, dir, files)
	if list, err := ListFiles(testID, opts); err != nil || !slices.Equal(list, testFiles) {
		t.Errorf("offline ListFiles of a Python cache = %v, %v; want %v", list, err, testFiles)
	}

	// A file the snapshot lacks is a miss that names the file.
	_, err = Resolve(testID, []string{smallFile, "scheduler_config.json"}, opts)
	if !errors.Is(err, ErrNotInCache) || !strings.Contains(err.Error(), "file(s) scheduler_config.json of model org/tiny-ddpm-unet revision main are not in the cache") {
		t.Errorf("partial miss error = %v", err)
	}
}

func TestResolveGoHuggingfaceRecordOffline(t *testing.T) {
	cache := t.TempDir()
	files := goldenFiles(t)
	snap := writePythonCache(t, cache, files, false)
	info := filepath.Join(cache, "models--org--tiny-ddpm-unet", "info", "main")
	if err := os.MkdirAll(filepath.Dir(info), 0o755); err != nil {
		t.Fatal(err)
	}
	record := `{"id":"org/tiny-ddpm-unet","sha":"` + testCommit + `","siblings":[{"rfilename":"config.json"},{"rfilename":"diffusion_pytorch_model.safetensors"},{"rfilename":"README.md"}]}`
	if err := os.WriteFile(info, []byte(record), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := Options{CacheDir: cache, Offline: true, Endpoint: "http://127.0.0.1:1"}
	if dir, err := Resolve(testID, testFiles, opts); err != nil || dir != snap {
		t.Fatalf("Resolve from go-huggingface's info/main = %s, %v; want %s", dir, err, snap)
	}
	want := []string{"config.json", "diffusion_pytorch_model.safetensors", "README.md"}
	if list, err := ListFiles(testID, opts); err != nil || !slices.Equal(list, want) {
		t.Errorf("offline ListFiles from info/main = %v, %v; want %v", list, err, want)
	}
}

func TestResolveOfflineMiss(t *testing.T) {
	cache := t.TempDir()
	_, err := Resolve(testID, testFiles, Options{CacheDir: cache, Offline: true, Endpoint: "http://127.0.0.1:1"})
	want := "model org/tiny-ddpm-unet revision main is not in the cache at " + cache +
		" and HF_HUB_OFFLINE is set: run once with network, or copy a diffusers folder and pass its path"
	if !errors.Is(err, ErrNotInCache) || err.Error() != want {
		t.Errorf("offline miss error = %v\nwant %s", err, want)
	}
	if got := cacheFiles(t, cache); len(got) != 0 {
		t.Errorf("an offline miss wrote to the cache: %v", got)
	}
}

func TestResolveInterruptedTransfer(t *testing.T) {
	for _, tc := range []struct {
		file, mode, wantErr string
	}{
		{lfsFile, serveCut, "transfer stopped after"},
		{smallFile, serveCut, "transfer stopped after"},
		{lfsFile, serveShort, "expected 4032644"},
		{lfsFile, serveCorrupt, "SHA-256"},
	} {
		t.Run(tc.mode+"-"+tc.file, func(t *testing.T) {
			hub := newFakeHub(t, testToken)
			hub.setMisbehave(tc.file, tc.mode)
			cache := t.TempDir()
			opts := hub.testOptions(cache)
			_, err := Resolve(testID, testFiles, opts)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), tc.file) {
				t.Fatalf("Resolve with a broken transfer: err = %v, want one naming %s and containing %q", err, tc.file, tc.wantErr)
			}
			repo := filepath.Join(cache, "models--org--tiny-ddpm-unet")
			for _, p := range cacheFiles(t, repo) {
				if strings.HasPrefix(p, "blobs/"+hub.etag(tc.file)) || strings.HasSuffix(p, tc.file) ||
					strings.Contains(p, "incomplete") || strings.Contains(p, ".tmp") || strings.HasPrefix(p, "refs/") {
					t.Errorf("the failed transfer left %s in the cache (cache holds %v)", p, cacheFiles(t, repo))
				}
			}

			hub.setMisbehave(tc.file, serveOK)
			dir, err := Resolve(testID, testFiles, opts)
			if err != nil {
				t.Fatalf("retry with a good server: %v", err)
			}
			checkSameFiles(t, dir, hub.files)
		})
	}
}

func TestResolveHTTPErrors(t *testing.T) {
	hub := newFakeHub(t, testToken)
	cache := t.TempDir()
	for _, tc := range []struct {
		name, id, token, rev string
		files                []string
		hideSiblings         bool
		kind                 error
		want                 []string
	}{
		{name: "no token", id: testID, files: testFiles, kind: ErrAccessDenied,
			want: []string{"access denied for model org/tiny-ddpm-unet (HTTP 401)", "set HF_TOKEN", "Invalid credentials"}},
		{name: "wrong token", id: testID, token: "hf_wrong", files: testFiles, kind: ErrAccessDenied,
			want: []string{"access denied for model org/tiny-ddpm-unet", "check that the token in HF_TOKEN"}},
		{name: "unknown model", id: "org/missing", token: testToken, files: testFiles, kind: ErrNotFound,
			want: []string{"model org/missing (revision main) not found on " + hub.srv.URL}},
		{name: "unknown revision", id: testID, token: testToken, rev: "v9", files: testFiles, kind: ErrNotFound,
			want: []string{"model org/tiny-ddpm-unet (revision v9) not found on " + hub.srv.URL}},
		{name: "unlisted file", id: testID, token: testToken, files: []string{"unet/nope.json"}, kind: ErrNotFound,
			want: []string{"file unet/nope.json not found in model org/tiny-ddpm-unet (revision main)", "it has config.json, " + lfsFile}},
		{name: "file 404", id: testID, token: testToken, files: []string{"nope.json"}, hideSiblings: true, kind: ErrNotFound,
			want: []string{"file nope.json not found in model org/tiny-ddpm-unet (revision main) on " + hub.srv.URL}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hub.mu.Lock()
			hub.hideSiblings = tc.hideSiblings
			hub.mu.Unlock()
			opts := Options{CacheDir: cache, Endpoint: hub.srv.URL, Token: tc.token, Revision: tc.rev}
			_, err := Resolve(tc.id, tc.files, opts)
			if !errors.Is(err, tc.kind) {
				t.Fatalf("err = %v, want one matching %v", err, tc.kind)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	if got := cacheFiles(t, cache); slices.ContainsFunc(got, func(p string) bool { return strings.Contains(p, "blobs/") }) {
		t.Errorf("failed requests left blobs: %v", got)
	}
}

func TestResolveNetworkFailure(t *testing.T) {
	hub := newFakeHub(t, "")
	endpoint := hub.srv.URL
	hub.close()
	_, err := Resolve(testID, testFiles, Options{CacheDir: t.TempDir(), Endpoint: endpoint})
	if err == nil || !strings.Contains(err.Error(), "reaching "+endpoint+" for model org/tiny-ddpm-unet") ||
		!strings.Contains(err.Error(), "HF_HUB_OFFLINE=1") || errors.Unwrap(err) == nil {
		t.Errorf("network failure error = %v, want a wrapped error naming the endpoint and HF_HUB_OFFLINE", err)
	}
}

func TestResolveLocalDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "unet"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"model_index.json", "unet/config.json"} {
		if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(f)), []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// An offline option and an unusable cache must not matter for a directory.
	opts := Options{CacheDir: filepath.Join(dir, "no-cache"), Offline: true}
	got, err := Resolve(dir, []string{"model_index.json", "unet/config.json"}, opts)
	if err != nil || got != dir {
		t.Fatalf("Resolve of a directory = %s, %v; want %s", got, err, dir)
	}
	if _, err := Resolve(dir, []string{"unet/missing.safetensors"}, opts); !errors.Is(err, ErrNotFound) ||
		!strings.Contains(err.Error(), "file unet/missing.safetensors not found in model directory "+dir) {
		t.Errorf("missing file in directory: err = %v", err)
	}
	if _, err := Resolve(dir, []string{"unet"}, opts); !errors.Is(err, ErrNotFound) {
		t.Errorf("a directory named as a file: err = %v, want ErrNotFound", err)
	}
	if _, err := Resolve(filepath.Join(dir, "model_index.json"), nil, opts); err == nil || !strings.Contains(err.Error(), "is a file") {
		t.Errorf("a file passed as the model: err = %v", err)
	}
	if list, err := ListFiles(dir, opts); err != nil || !slices.Equal(list, []string{"model_index.json", "unet/config.json"}) {
		t.Errorf("ListFiles of a directory = %v, %v", list, err)
	}
	for _, bad := range []string{"../x", "/etc/passwd", "a//b", `a\b`, ""} {
		if _, err := Resolve(dir, []string{bad}, opts); err == nil || !strings.Contains(err.Error(), "invalid file name") {
			t.Errorf("file name %q: err = %v, want an invalid file name error", bad, err)
		}
	}
	if _, err := Resolve(filepath.Join(dir, "does-not-exist"), nil, opts); err == nil ||
		!strings.Contains(err.Error(), "is neither an existing directory nor a model id") {
		t.Errorf("missing directory: err = %v", err)
	}
}
