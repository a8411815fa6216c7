package hub

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofrs/flock"

	"github.com/locoedit/locoedit/hf/hub/hubtest"
)

// The tests in this file replay, against the loopback fake hub, the cache layouts Python's
// huggingface_hub leaves behind, written here by hand the way it writes them: blobs named by the
// hub's ETag, relative links under snapshots/<commit>, bare commit hashes under refs/ (written
// before the files), <etag>.incomplete for an interrupted download, .locks/ lock files, and, in
// recent versions, trees/<commit>.json file lists.

const (
	commit1 = "1111111111111111111111111111111111111111"
	commit2 = "2222222222222222222222222222222222222222"
)

// smallRepo is a model repository as found on the hub: a config and weights in two formats, plus
// what a diffusers loader never needs (README, images, git attributes).
func smallRepo(seed uint64) map[string][]byte {
	r := rand.New(rand.NewPCG(seed, 7))
	weights := make([]byte, 200_000+int(seed))
	for i := range weights {
		weights[i] = byte(r.Uint32())
	}
	return map[string][]byte{
		".gitattributes":                      []byte("*.safetensors filter=lfs diff=lfs merge=lfs -text\n"),
		"README.md":                           []byte("# a model\n"),
		"images/sample.png":                   bytes.Repeat([]byte{0x89, 'P', 'N', 'G'}, 1000),
		"config.json":                         fmt.Appendf(nil, `{"_class_name": "UNet2DModel", "seed": %d}`, seed),
		"scheduler_config.json":               []byte(`{"_class_name": "DDPMScheduler"}`),
		"diffusion_pytorch_model.safetensors": weights,
		"diffusion_pytorch_model.bin":         append([]byte("torch"), weights[:50_000]...),
	}
}

// neededFiles are what Diffusers() selects from smallRepo.
var neededFiles = []string{"config.json", "diffusion_pytorch_model.safetensors", "scheduler_config.json"}

// newRepoHub serves smallRepo(1) as commit1 at main.
func newRepoHub(t *testing.T) *hubtest.Hub {
	return hubtest.New(t, testID, "", commit1, smallRepo(1))
}

// pyCache writes one model's cache folder as huggingface_hub does.
type pyCache struct {
	t *testing.T
	c repoCache
}

func newPyCache(t *testing.T, cache string) pyCache {
	return pyCache{t, newRepoCache(cache, testID)}
}

// ref writes refs/<rev>: the bare commit hash.
func (p pyCache) ref(rev, commit string) {
	writeBlobFile(p.t, p.c.refPath(rev), []byte(commit))
}

// put stores a file of commit: blobs/<etag> and the relative link snapshots/<commit>/<file>.
func (p pyCache) put(commit, file string, data []byte) {
	etag := hubtest.ETag(file, data)
	writeBlobFile(p.t, p.c.blobPath(etag), data)
	link := p.c.snapshotPath(commit, file)
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		p.t.Fatal(err)
	}
	target, _ := filepath.Rel(filepath.Dir(link), p.c.blobPath(etag))
	if err := os.Symlink(target, link); err != nil {
		p.t.Fatal(err)
	}
}

// putAll stores the files of commit that names lists.
func (p pyCache) putAll(commit string, files map[string][]byte, names ...string) {
	for _, f := range names {
		p.put(commit, f, files[f])
	}
}

// trees writes the file list of commit as huggingface_hub's tree cache does.
func (p pyCache) trees(commit string, files map[string][]byte) {
	var entries []string
	for _, f := range slices.Sorted(mapKeys(files)) {
		data := files[f]
		e := fmt.Sprintf(`  %q: {"size": %d, "blob_id": %q`, f, len(data), hubtest.GitBlobID(data))
		if hubtest.IsLFS(f) {
			e += fmt.Sprintf(`, "lfs_sha256": %q, "lfs_size": %d`, hubtest.SHA256(data), len(data))
		}
		entries = append(entries, e+"}")
	}
	writeBlobFile(p.t, p.c.treeCachePath(commit), []byte("{\n \"format_version\": 1,\n \"files\": {\n"+strings.Join(entries, ",\n")+"\n }\n}"))
}

func mapKeys(m map[string][]byte) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestPythonPartialSnapshot: Python fetched only config.json (or was interrupted; it writes refs/
// before the files). Offline, that snapshot is refused with a message saying what to do; online,
// only the missing files are fetched, the interrupted one resumed; the duplicate .bin weights,
// the README and the images are never fetched.
func TestPythonPartialSnapshot(t *testing.T) {
	hub := newRepoHub(t)
	files := hub.Files("main")
	cache := t.TempDir()
	py := newPyCache(t, cache)
	py.ref("main", commit1)
	py.put(commit1, "config.json", files["config.json"])
	weights := files["diffusion_pytorch_model.safetensors"]
	writeBlobFile(t, py.c.incompletePath(hubtest.ETag("diffusion_pytorch_model.safetensors", weights)), weights[:len(weights)/2])

	offline := Options{CacheDir: cache, Offline: true, OfflineSource: "HF_HUB_OFFLINE=1", Endpoint: hub.URL}
	_, err := Resolve(testID, Diffusers(), offline)
	if !errors.Is(err, ErrNotInCache) {
		t.Errorf("offline Resolve of a partial snapshot: err = %v, want ErrNotInCache", err)
	}
	contains(t, err, "the cached copy of model org/tiny-ddpm-unet revision main (commit "+commit1, "is partial: no weights",
		"HF_HUB_OFFLINE=1 forbids downloads (unset it to go online)")
	if dir, err := Resolve(testID, Paths{"config.json"}, offline); err != nil || dir != py.c.snapshotDir(commit1) {
		t.Errorf("offline Resolve of the one cached file = %s, %v", dir, err)
	}
	if n := hub.NumRequests(); n != 0 {
		t.Fatalf("offline Resolve made %d requests", n)
	}

	dir, err := Resolve(testID, Diffusers(), Options{CacheDir: cache, Endpoint: hub.URL})
	if err != nil {
		t.Fatalf("online Resolve of a partial snapshot: %v", err)
	}
	checkSameFiles(t, dir, pick(files, neededFiles...))
	if got := hub.Fetched(0); !slices.Equal(sorted(got...), []string{"diffusion_pytorch_model.safetensors", "scheduler_config.json"}) {
		t.Errorf("fetched %v, want only the weights and the scheduler config", got)
	}
	_, cdnLog := hub.Requests()
	if want := fmt.Sprintf("bytes=%d-", len(weights)/2); !slices.ContainsFunc(cdnLog, func(s hubtest.Request) bool { return s.Range == want }) {
		t.Errorf("Python's interrupted download was not resumed with Range %s: %+v", want, cdnLog)
	}
	for _, f := range []string{"README.md", "images/sample.png", "diffusion_pytorch_model.bin", ".gitattributes"} {
		if exists(py.c.snapshotPath(commit1, f)) {
			t.Errorf("%s was downloaded", f)
		}
	}
	if l := leftovers(t, cache); len(l) > 0 {
		t.Errorf("leftovers: %v", l)
	}
	// Now complete: offline works, with the file list recorded for the commit.
	if got, err := Resolve(testID, Diffusers(), offline); err != nil || got != dir {
		t.Errorf("offline Resolve after completion = %s, %v", got, err)
	}
	// And a file the selection never fetched is named, offline, as missing from the cache.
	_, err = Resolve(testID, Paths{"README.md"}, offline)
	contains(t, err, "file(s) README.md of model org/tiny-ddpm-unet revision main (commit "+commit1+") are not in the cache")
}

func pick(files map[string][]byte, names ...string) map[string][]byte {
	out := map[string][]byte{}
	for _, n := range names {
		out[n] = files[n]
	}
	return out
}

// TestPythonRevisions: a second revision (a tag), refs/pr/N and a pinned commit, all written by
// Python, are read offline and online without any download; a pinned commit whose file list is
// cached makes no request at all.
func TestPythonRevisions(t *testing.T) {
	hub := newRepoHub(t)
	files1, files2 := smallRepo(1), smallRepo(2)
	hub.AddCommit(commit2, "v2", files2)
	hub.SetRef("refs/pr/3", commit2)
	cache := t.TempDir()
	py := newPyCache(t, cache)
	py.ref("main", commit1)
	py.ref("v2", commit2)
	py.ref("refs/pr/3", commit2)
	py.putAll(commit1, files1, neededFiles...)
	py.putAll(commit2, files2, neededFiles...)
	py.trees(commit2, files2)

	for _, offline := range []bool{true, false} {
		for _, tc := range []struct{ ref, rev, commit string }{
			{testID, "", commit1},
			{testID + "@v2", "", commit2},
			{testID, "v2", commit2},
			{testID, "refs/pr/3", commit2},
			{testID + "@refs/pr/3", "refs/pr/3", commit2},
			{testID + "@" + commit2, "", commit2},
		} {
			before := hub.NumRequests()
			opts := Options{CacheDir: cache, Endpoint: hub.URL, Offline: offline, Revision: tc.rev}
			dir, err := Resolve(tc.ref, Diffusers(), opts)
			if err != nil || dir != py.c.snapshotDir(tc.commit) {
				t.Errorf("offline=%v Resolve(%s, revision %q) = %s, %v; want snapshot %s", offline, tc.ref, tc.rev, dir, err, tc.commit)
				continue
			}
			want := 1 // the revision request
			if offline || tc.ref == testID+"@"+commit2 {
				want = 0
			}
			if n := hub.NumRequests() - before; n != want {
				t.Errorf("offline=%v Resolve(%s, revision %q) made %d requests, want %d", offline, tc.ref, tc.rev, n, want)
			}
		}
	}
	if got := hub.Fetched(0); len(got) != 0 {
		t.Errorf("fetched %v from a complete cache", got)
	}
	_, err := Resolve(testID+"@v2", Diffusers(), Options{CacheDir: cache, Revision: "main", Offline: true})
	contains(t, err, "names revision v2, but revision main is given too")
}

// TestMovedMain: the hub moves main to a new commit. Online, the new commit is used: only the
// changed file is downloaded (an unchanged blob is linked, not fetched again), refs/main moves,
// the old snapshot stays. A partial new commit is refused offline and completed online (from the
// blobs already there).
func TestMovedMain(t *testing.T) {
	hub := newRepoHub(t)
	files1 := smallRepo(1)
	cache := t.TempDir()
	py := newPyCache(t, cache)
	py.ref("main", commit1)
	py.putAll(commit1, files1, neededFiles...)

	files2 := smallRepo(1)
	files2["config.json"] = []byte(`{"_class_name": "UNet2DModel", "moved": true}`)
	hub.AddCommit(commit2, "main", files2)

	// Offline, Python's refs/main (commit 1) is all there is.
	offline := Options{CacheDir: cache, Offline: true}
	if dir, err := Resolve(testID, Diffusers(), offline); err != nil || dir != py.c.snapshotDir(commit1) {
		t.Fatalf("offline before the move is seen = %s, %v", dir, err)
	}
	dir, err := Resolve(testID, Diffusers(), Options{CacheDir: cache, Endpoint: hub.URL})
	if err != nil || dir != py.c.snapshotDir(commit2) {
		t.Fatalf("online after main moved = %s, %v; want the new commit's snapshot", dir, err)
	}
	checkSameFiles(t, dir, pick(files2, neededFiles...))
	checkSameFiles(t, py.c.snapshotDir(commit1), pick(files1, neededFiles...))
	if got := hub.Fetched(0); !slices.Equal(got, []string{"config.json"}) {
		t.Errorf("fetched %v, want only the changed config.json", got)
	}
	if ref, _ := os.ReadFile(py.c.refPath("main")); string(ref) != commit2 {
		t.Errorf("refs/main = %s, want %s", ref, commit2)
	}
	if got, err := Resolve(testID, Diffusers(), offline); err != nil || got != dir {
		t.Errorf("offline after the move = %s, %v; want %s", got, err, dir)
	}

	// A partial new commit, as Python leaves it when interrupted (refs first): refused offline,
	// completed online.
	cache2 := t.TempDir()
	py2 := newPyCache(t, cache2)
	py2.putAll(commit1, files1, neededFiles...)
	py2.ref("main", commit2)
	py2.put(commit2, "config.json", files2["config.json"])
	_, err = Resolve(testID, Diffusers(), Options{CacheDir: cache2, Offline: true, OfflineSource: "TRANSFORMERS_OFFLINE=1"})
	contains(t, err, "(commit "+commit2, "is partial", "TRANSFORMERS_OFFLINE=1 forbids downloads (unset it, or set HF_HUB_OFFLINE=0, to go online)")
	before := len(hub.Fetched(0))
	if dir, err := Resolve(testID, Diffusers(), Options{CacheDir: cache2, Endpoint: hub.URL}); err != nil || dir != py2.c.snapshotDir(commit2) {
		t.Fatalf("online completion of a partial new commit = %s, %v", dir, err)
	}
	if got := hub.Fetched(before); len(got) != 0 {
		t.Errorf("fetched %v, want nothing: the missing files' blobs are those of commit 1", got)
	}
	checkSameFiles(t, py2.c.snapshotDir(commit2), pick(files2, neededFiles...))
}

// TestPythonTreeCacheOffline: a trees/<commit>.json written by a recent huggingface_hub makes an
// offline run see that a snapshot is partial even for files the selection can't infer.
func TestPythonTreeCacheOffline(t *testing.T) {
	files := smallRepo(1)
	cache := t.TempDir()
	py := newPyCache(t, cache)
	py.ref("main", commit1)
	py.putAll(commit1, files, "config.json", "diffusion_pytorch_model.safetensors")
	offline := Options{CacheDir: cache, Offline: true}
	if _, err := Resolve(testID, Diffusers(), offline); err != nil {
		t.Fatalf("without a file list, the present files are all there is: %v", err)
	}
	py.trees(commit1, files)
	_, err := Resolve(testID, Diffusers(), offline)
	contains(t, err, "file(s) scheduler_config.json of model org/tiny-ddpm-unet revision main (commit "+commit1+") are not in the cache")
	// A record in an unknown format is ignored, as huggingface_hub ignores it.
	writeBlobFile(t, py.c.treeCachePath(commit1), []byte(`{"format_version": 99, "files": {}}`))
	if _, err := Resolve(testID, Diffusers(), offline); err != nil {
		t.Errorf("an unknown tree cache format was not ignored: %v", err)
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader in two goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestPythonLock: while another process (Python, here a second lock handle) holds the blob's
// lock in .locks/, Resolve waits and says so; when that process has stored the blob and released
// the lock, the blob is used, not downloaded again.
func TestPythonLock(t *testing.T) {
	hub := newRepoHub(t)
	files := hub.Files("main")
	cache := t.TempDir()
	c := newRepoCache(cache, testID)
	weights := files["diffusion_pytorch_model.safetensors"]
	etag := hubtest.ETag("diffusion_pytorch_model.safetensors", weights)
	writeBlobFile(t, c.lockPath(etag), nil)
	other := flock.New(c.lockPath(etag))
	if ok, err := other.TryLock(); !ok || err != nil {
		t.Fatalf("taking the lock: %v %v", ok, err)
	}
	var progress syncBuffer
	type result struct {
		dir string
		err error
	}
	done := make(chan result, 1)
	go func() {
		dir, err := Resolve(testID, Diffusers(), Options{CacheDir: cache, Endpoint: hub.URL, Progress: &progress})
		done <- result{dir, err}
	}()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(progress.String(), "waiting for another process downloading diffusion_pytorch_model.safetensors") {
		if time.Now().After(deadline) {
			t.Fatalf("no waiting notice; progress: %q", progress.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case r := <-done:
		t.Fatalf("Resolve returned while the lock was held: %v", r)
	default:
	}
	writeBlobFile(t, c.blobPath(etag), weights) // what the other process downloaded
	if err := other.Unlock(); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	checkSameFiles(t, r.dir, pick(files, neededFiles...))
	if got := hub.Fetched(0); slices.Contains(got, "diffusion_pytorch_model.safetensors") {
		t.Errorf("the blob another process stored was downloaded again (fetched %v)", got)
	}
}
