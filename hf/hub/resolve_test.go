package hub

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/locoedit/locoedit/hf/hub/hubtest"
	"time"
)

func TestResolveDownloadsThenWorksOffline(t *testing.T) {
	hub := newFakeHub(t, testToken)
	cache := t.TempDir()
	opts := testOptions(hub, cache)
	var progress bytes.Buffer
	opts.Progress = &progress

	dir, err := Resolve(testID, Paths(testFiles), opts)
	if err != nil {
		t.Fatalf("first Resolve: %v", err)
	}
	repoDir := filepath.Join(cache, "models--org--tiny-ddpm-unet")
	if want := filepath.Join(repoDir, "snapshots", testCommit); dir != want {
		t.Fatalf("Resolve returned %s, want %s", dir, want)
	}
	checkSameFiles(t, dir, hub.Files("main"))

	// huggingface_hub's layout: relative links to blobs named by ETag, refs/main holding the
	// commit, the lock files under .locks/, the file list under trees/ in its format.
	for _, f := range testFiles {
		link, err := os.Readlink(filepath.Join(dir, f))
		if err != nil {
			t.Fatalf("snapshot entry %s is not a symbolic link: %v", f, err)
		}
		if want := filepath.Join("..", "..", "blobs", hub.ETag(f)); link != want {
			t.Errorf("snapshot link %s -> %s, want %s", f, link, want)
		}
		if lock := filepath.Join(cache, ".locks", "models--org--tiny-ddpm-unet", hub.ETag(f)+".lock"); !isFile(lock) {
			t.Errorf("no lock file %s", lock)
		}
	}
	if ref, err := os.ReadFile(filepath.Join(repoDir, "refs", "main")); err != nil || string(ref) != testCommit {
		t.Errorf("refs/main = %q, %v; want %q", ref, err, testCommit)
	}
	if l := newRepoCache(cache, testID).readListing(testCommit, ""); l == nil || !slices.Equal(l.names, testFiles) {
		t.Errorf("recorded file list = %+v, want %v", l, testFiles)
	}
	if raw, err := os.ReadFile(filepath.Join(repoDir, "trees", testCommit+".json")); err != nil ||
		!strings.Contains(string(raw), `"format_version": 1`) || !strings.Contains(string(raw), `"lfs_sha256": "`+hub.ETag(lfsFile)+`"`) {
		t.Errorf("trees/%s.json = %s, %v; want huggingface_hub's tree cache with the LFS hash", testCommit, raw, err)
	}
	if !isFile(filepath.Join(cache, "CACHEDIR.TAG")) {
		t.Error("no CACHEDIR.TAG in the cache")
	}
	if got := cacheFiles(t, filepath.Join(repoDir, "blobs")); !slices.Equal(got, sorted(hub.ETag(smallFile), hub.ETag(lfsFile))) {
		t.Errorf("blobs = %v, want exactly the two ETags", got)
	}
	if l := leftovers(t, cache); len(l) > 0 {
		t.Errorf("leftovers in the cache: %v", l)
	}
	if !strings.Contains(progress.String(), lfsFile) {
		t.Errorf("progress output %q does not name %s", progress.String(), lfsFile)
	}

	// The token reaches the hub but not the storage host; the GET goes straight to the location
	// the HEAD was redirected to (one resolve request per file), with no Referer anywhere.
	hubLog, cdnLog := hub.Requests()
	resolves := 0
	for _, s := range hubLog {
		if s.Auth != "Bearer "+testToken {
			t.Errorf("hub request %s %s without the token", s.Method, s.Path)
		}
		if strings.Contains(s.Path, "/resolve/") && strings.HasSuffix(s.Path, lfsFile) {
			resolves++
		}
	}
	if resolves != 1 {
		t.Errorf("%d resolve requests for %s, want 1 (the HEAD; the GET reuses its redirect)", resolves, lfsFile)
	}
	if len(cdnLog) != 2 {
		t.Errorf("CDN requests = %+v, want the signed URL and its redirect", cdnLog)
	}
	for _, s := range append(hubLog, cdnLog...) {
		if s.Referer != "" {
			t.Errorf("request %s %s carried Referer %q", s.Method, s.Path, s.Referer)
		}
	}
	for _, s := range cdnLog {
		if s.Auth != "" {
			t.Errorf("CDN request %s carried Authorization %q", s.Path, s.Auth)
		}
	}

	// Cached: online, only the revision request (to follow a moved branch), no download.
	before := hub.NumRequests()
	if again, err := Resolve(testID, Paths(testFiles), opts); err != nil || again != dir {
		t.Fatalf("second online Resolve = %s, %v; want %s", again, err, dir)
	}
	if n := hub.NumRequests() - before; n != 1 {
		t.Errorf("a cached Resolve made %d requests, want 1 (the revision)", n)
	}
	// Pinned to the commit, with its file list cached: no request at all.
	before = hub.NumRequests()
	if again, err := Resolve(testID+"@"+testCommit, Paths(testFiles), opts); err != nil || again != dir {
		t.Fatalf("Resolve at the commit = %s, %v; want %s", again, err, dir)
	}
	if n := hub.NumRequests() - before; n != 0 {
		t.Errorf("a pinned, cached Resolve made %d requests, want 0", n)
	}

	hub.Close()
	opts.Offline = true
	for _, rev := range []string{"main", "", testCommit} {
		opts.Revision = rev
		got, err := Resolve(testID, Paths(testFiles), opts)
		if err != nil || got != dir {
			t.Errorf("offline Resolve at revision %q = %s, %v; want %s", rev, got, err, dir)
		}
	}
	opts.Revision = ""
	if got, err := Resolve(testID, nil, opts); err != nil || got != dir {
		t.Errorf("offline Resolve of the whole snapshot = %s, %v; want %s", got, err, dir)
	}
	if list, err := ListFiles(testID, opts); err != nil || !slices.Equal(list, testFiles) {
		t.Errorf("offline ListFiles = %v, %v; want %v", list, err, testFiles)
	}
}

func sorted(s ...string) []string {
	slices.Sort(s)
	return s
}

func TestResolveWholeRepoAndNestedRevision(t *testing.T) {
	hub := newFakeHub(t, "")
	cache := t.TempDir()
	opts := testOptions(hub, cache)
	opts.Revision = "refs/pr/1"
	dir, err := Resolve(testID, nil, opts)
	if err != nil {
		t.Fatalf("Resolve of the whole repository: %v", err)
	}
	checkSameFiles(t, dir, hub.Files("main"))
	ref := filepath.Join(cache, "models--org--tiny-ddpm-unet", "refs", "refs", "pr", "1")
	if data, err := os.ReadFile(ref); err != nil || string(data) != testCommit {
		t.Errorf("%s = %q, %v; want %q", ref, data, err, testCommit)
	}
	if list, err := ListFiles(testID, opts); err != nil || !slices.Equal(list, testFiles) {
		t.Errorf("online ListFiles = %v, %v; want %v", list, err, testFiles)
	}
	hub.Close()
	opts.Offline = true
	if got, err := Resolve(testID, Paths{lfsFile}, opts); err != nil || got != dir {
		t.Errorf("offline Resolve at refs/pr/1 = %s, %v; want %s", got, err, dir)
	}
}

func TestResolveOfflineMiss(t *testing.T) {
	cache := t.TempDir()
	_, err := Resolve(testID, Paths(testFiles), Options{CacheDir: cache, Offline: true, OfflineSource: "HF_HUB_OFFLINE=1", Endpoint: "http://127.0.0.1:1"})
	want := "model org/tiny-ddpm-unet revision main is not in the cache at " + cache +
		", and HF_HUB_OFFLINE=1 forbids downloads (unset it to go online); or pass the path of a local diffusers folder"
	if !errors.Is(err, ErrNotInCache) || err.Error() != want {
		t.Errorf("offline miss error = %v\nwant %s", err, want)
	}
	if got := cacheFiles(t, cache); len(got) != 0 {
		t.Errorf("an offline miss wrote to the cache: %v", got)
	}
}

// TestResolveInterruptedTransfer replays transfers that break in every way: cut ones are resumed
// with Range requests (in the same run while bytes keep coming, else in the next run from the
// kept .incomplete file), corrupt ones are refused and removed.
func TestResolveInterruptedTransfer(t *testing.T) {
	for _, tc := range []struct {
		mode    string
		ok      bool   // the first Resolve succeeds (resumed within the run)
		wantErr string // else its error contains this
		kept    bool   // and the partial file is kept for the next run
	}{
		{mode: hubtest.Cut, ok: true},
		{mode: hubtest.Short, ok: true},
		{mode: hubtest.Die, wantErr: "run again to resume", kept: true},
		{mode: hubtest.Stall, wantErr: "nothing received for 1s", kept: true},
		{mode: hubtest.Corrupt, wantErr: "the transfer was corrupted"},
		{mode: hubtest.Long, wantErr: "more than the announced"},
	} {
		for _, file := range testFiles {
			if tc.mode == hubtest.Stall && file != lfsFile {
				continue // the same code path, and each stalled attempt costs a second
			}
			t.Run(tc.mode+"/"+file, func(t *testing.T) {
				hub := newFakeHub(t, testToken)
				hub.Misbehave(file, tc.mode)
				cache := t.TempDir()
				opts := testOptions(hub, cache)
				opts.StallTimeout = time.Second
				start := time.Now()
				dir, err := Resolve(testID, Paths(testFiles), opts)
				if d := time.Since(start); d > 30*time.Second {
					t.Errorf("Resolve through a %s transfer took %v", tc.mode, d)
				}
				repo := filepath.Join(cache, "models--org--tiny-ddpm-unet")
				if tc.ok {
					if err != nil {
						t.Fatalf("Resolve through a %s transfer: %v", tc.mode, err)
					}
					checkSameFiles(t, dir, hub.Files("main"))
					_, cdn := hub.Requests()
					hubLog, _ := hub.Requests()
					if !slices.ContainsFunc(append(hubLog, cdn...), func(s hubtest.Request) bool { return s.Range != "" }) {
						t.Errorf("no Range request resumed the %s transfer", tc.mode)
					}
					if l := leftovers(t, cache); len(l) > 0 {
						t.Errorf("leftovers: %v", l)
					}
					return
				}
				contains(t, err, file, tc.wantErr)
				inc := filepath.Join(repo, "blobs", hub.ETag(file)+".incomplete")
				if tc.kept != isFile(inc) {
					t.Errorf("partial file %s kept = %v, want %v (cache: %v)", inc, isFile(inc), tc.kept, cacheFiles(t, repo))
				}
				for _, p := range cacheFiles(t, repo) {
					if strings.HasPrefix(p, "blobs/"+hub.ETag(file)) && !strings.HasSuffix(p, ".incomplete") ||
						strings.HasSuffix(p, "/"+file) || strings.Contains(p, ".tmp") || strings.HasPrefix(p, "refs/") {
						t.Errorf("the failed transfer left %s in the cache", p)
					}
				}

				hub.Misbehave(file, hubtest.OK)
				opts.StallTimeout = 0
				dir, err = Resolve(testID, Paths(testFiles), opts)
				if err != nil {
					t.Fatalf("retry with a good server: %v", err)
				}
				checkSameFiles(t, dir, hub.Files("main"))
				if l := leftovers(t, cache); len(l) > 0 {
					t.Errorf("leftovers after the retry: %v", l)
				}
				if tc.kept {
					hubLog, cdn := hub.Requests()
					want := "bytes=" + strconv.Itoa(len(hub.Files("main")[file])/2) + "-"
					if !slices.ContainsFunc(append(hubLog, cdn...), func(s hubtest.Request) bool { return s.Range == want }) {
						t.Errorf("the retry did not resume with Range %s", want)
					}
				}
			})
		}
	}
}

// TestResolveServerIgnoresRange checks that a resumed transfer answered with the whole file (200
// instead of 206) starts over rather than appending.
func TestResolveServerIgnoresRange(t *testing.T) {
	hub := newFakeHub(t, "")
	cache := t.TempDir()
	c := newRepoCache(cache, testID)
	data := hub.Files("main")[lfsFile]
	writeBlobFile(t, c.incompletePath(hub.ETag(lfsFile)), data[:len(data)/3])
	hub.Misbehave(lfsFile, hubtest.IgnoreRange)
	dir, err := Resolve(testID, Paths(testFiles), testOptions(hub, cache))
	if err != nil {
		t.Fatal(err)
	}
	checkSameFiles(t, dir, hub.Files("main"))
}

func writeBlobFile(t *testing.T, p string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestResolveHTTPErrors(t *testing.T) {
	hub := newFakeHub(t, testToken)
	cache := t.TempDir()
	for _, tc := range []struct {
		name, id, token, rev string
		files                Files
		hideSiblings         bool
		kind                 error
		want                 []string
	}{
		{name: "no token", id: testID, files: Paths(testFiles), kind: ErrAccessDenied,
			want: []string{"access denied for model org/tiny-ddpm-unet (HTTP 401)", "set HF_TOKEN", "Invalid credentials"}},
		{name: "wrong token", id: testID, token: "hf_wrong", files: Paths(testFiles), kind: ErrAccessDenied,
			want: []string{"access denied for model org/tiny-ddpm-unet", "check that the token in HF_TOKEN"}},
		{name: "unknown model", id: "org/missing", token: testToken, files: Paths(testFiles), kind: ErrNotFound,
			want: []string{"model org/missing (revision main) not found on " + hub.URL}},
		{name: "unknown revision", id: testID, token: testToken, rev: "v9", files: Paths(testFiles), kind: ErrNotFound,
			want: []string{"model org/tiny-ddpm-unet (revision v9) not found on " + hub.URL}},
		{name: "unknown revision in the reference", id: testID + "@v9", token: testToken, files: Paths(testFiles), kind: ErrNotFound,
			want: []string{"model org/tiny-ddpm-unet (revision v9) not found on " + hub.URL}},
		{name: "unlisted file", id: testID, token: testToken, files: Paths{"unet/nope.json"}, kind: ErrNotFound,
			want: []string{"model org/tiny-ddpm-unet (revision main) on " + hub.URL + ": file unet/nope.json not found (the model has config.json, " + lfsFile}},
		{name: "file 404", id: testID, token: testToken, files: Paths{"nope.json"}, hideSiblings: true, kind: ErrNotFound,
			want: []string{"file nope.json not found in model org/tiny-ddpm-unet (revision main) on " + hub.URL}},
		{name: "no weights", id: testID, token: testToken, files: Match("*.json"), kind: ErrNotFound},
		{name: "unlisted model", id: testID, token: testToken, files: Diffusers(), hideSiblings: true, kind: ErrNotFound,
			want: []string{"the hub did not list the model's files", "hub.Paths"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hub.HideListing(tc.hideSiblings, false)
			opts := Options{CacheDir: cache, Endpoint: hub.URL, Token: tc.token, Revision: tc.rev}
			_, err := Resolve(tc.id, tc.files, opts)
			if tc.name == "no weights" { // a selection of configs only is fine
				if err != nil {
					t.Fatalf("Match(*.json): %v", err)
				}
				return
			}
			if !errors.Is(err, tc.kind) {
				t.Fatalf("err = %v, want one matching %v", err, tc.kind)
			}
			contains(t, err, tc.want...)
		})
	}
	if got := cacheFiles(t, cache); slices.ContainsFunc(got, func(p string) bool {
		return strings.Contains(p, "/blobs/") && !strings.HasSuffix(p, "/") && !strings.Contains(p, "blobs/"+hub.ETag(smallFile))
	}) {
		t.Errorf("failed requests left blobs: %v", got)
	}
}

// TestResolveNetworkFailure checks that an unreachable hub is said so, and that a complete cached
// copy then stands in (as huggingface_hub does), while a partial one is refused.
func TestResolveNetworkFailure(t *testing.T) {
	hub := newFakeHub(t, "")
	endpoint := hub.URL
	cache := t.TempDir()
	opts := Options{CacheDir: cache, Endpoint: endpoint}
	dir, err := Resolve(testID, Paths(testFiles), opts)
	if err != nil {
		t.Fatal(err)
	}
	hub.Close()

	var notice bytes.Buffer
	opts.Progress = &notice
	if got, err := Resolve(testID, Paths(testFiles), opts); err != nil || got != dir {
		t.Errorf("Resolve with the hub down and the model cached = %s, %v; want %s", got, err, dir)
	}
	if !strings.Contains(notice.String(), "using the cached copy of model org/tiny-ddpm-unet") {
		t.Errorf("no notice that the cache stood in: %q", notice.String())
	}

	_, err = Resolve(testID, Paths{"scheduler_config.json"}, opts)
	contains(t, err, "reaching "+endpoint+" for the file list of model org/tiny-ddpm-unet", "check the network connection")
	if !errors.Is(err, ErrNotFound) && errors.Unwrap(err) == nil {
		t.Errorf("error %v wraps nothing", err)
	}

	_, err = Resolve(testID, Paths(testFiles), Options{CacheDir: t.TempDir(), Endpoint: endpoint})
	contains(t, err, "reaching "+endpoint, "is not in the cache at")
	if !errors.Is(err, ErrNotInCache) {
		t.Errorf("err = %v, want one matching ErrNotInCache", err)
	}
}

func TestResolveLocalDirectory(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"model_index.json", "unet/config.json", "unet/diffusion_pytorch_model.safetensors"} {
		writeBlobFile(t, filepath.Join(dir, filepath.FromSlash(f)), []byte("{}"))
	}
	// An offline option and an unusable cache must not matter for a directory.
	opts := Options{CacheDir: filepath.Join(dir, "no-cache"), Offline: true}
	got, err := Resolve(dir, Paths{"model_index.json", "unet/config.json"}, opts)
	if err != nil || got != dir {
		t.Fatalf("Resolve of a directory = %s, %v; want %s", got, err, dir)
	}
	if got, err := Resolve(dir, Diffusers("unet"), opts); err != nil || got != dir {
		t.Fatalf("Resolve of a pipeline directory = %s, %v; want %s", got, err, dir)
	}
	_, err = Resolve(dir, Paths{"unet/missing.safetensors"}, opts)
	contains(t, err, "file unet/missing.safetensors not found in model directory "+dir)
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("missing file in directory: err = %v, want ErrNotFound", err)
	}
	if _, err := Resolve(dir, Paths{"unet"}, opts); !errors.Is(err, ErrNotFound) {
		t.Errorf("a directory named as a file: err = %v, want ErrNotFound", err)
	}
	_, err = Resolve(dir, Diffusers("vae"), opts)
	contains(t, err, "model directory "+dir, "no weights")
	_, err = Resolve(filepath.Join(dir, "model_index.json"), nil, opts)
	contains(t, err, "is a file")
	if list, err := ListFiles(dir, opts); err != nil || !slices.Equal(list, []string{"model_index.json", "unet/config.json", "unet/diffusion_pytorch_model.safetensors"}) {
		t.Errorf("ListFiles of a directory = %v, %v", list, err)
	}
	for _, bad := range []string{"../x", "/etc/passwd", "a//b", `a\b`, "", "a\nb"} {
		_, err := Resolve(dir, Paths{bad}, opts)
		contains(t, err, "invalid file name")
	}
	_, err = Resolve(dir, Paths{"x"}, Options{Revision: "v1"})
	contains(t, err, "is a local folder", "applies only to hub model ids")
	_, err = Resolve(filepath.Join(dir, "does-not-exist"), nil, opts)
	contains(t, err, "is neither an existing directory nor a model id")
}
