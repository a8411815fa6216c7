package hub

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	ghub "github.com/gomlx/go-huggingface/hub"
)

// TestGoHuggingfaceInterop checks that the cache is shared both ways with go-huggingface v0.3.1:
// what it downloads resolves offline here (it writes info/main, not refs/main), and the record
// written here lets it list the files without a network.
func TestGoHuggingfaceInterop(t *testing.T) {
	hub := newFakeHub(t, testToken)
	cache := t.TempDir()
	repo := ghub.New(testID).WithCacheDir(cache).WithEndpoint(hub.URL).WithAuth(testToken).WithProgressBar(false)
	repo.Verbosity = 0
	// One file per call: DownloadFiles with several files has a data race in v0.3.1.
	var paths []string
	for _, f := range testFiles {
		p, err := repo.DownloadFile(f)
		if err != nil {
			t.Fatalf("go-huggingface download from the fake hub: %v", err)
		}
		paths = append(paths, p)
	}
	if _, err := os.Stat(filepath.Join(cache, "models--org--tiny-ddpm-unet", "refs", "main")); err == nil {
		t.Log("go-huggingface now writes refs/main")
	}
	dir, err := Resolve(testID, Paths(testFiles), Options{CacheDir: cache, Offline: true})
	if err != nil {
		t.Fatalf("offline Resolve of go-huggingface's cache: %v", err)
	}
	if want := filepath.Dir(paths[0]); dir != want {
		t.Errorf("Resolve = %s, want go-huggingface's snapshot %s", dir, want)
	}
	checkSameFiles(t, dir, hub.Files("main"))

	// The other way round: a cache written here, read by go-huggingface with the hub gone.
	cache2 := t.TempDir()
	if _, err := Resolve(testID, Paths(testFiles), testOptions(hub, cache2)); err != nil {
		t.Fatal(err)
	}
	hub.Close()
	var names []string
	for name, err := range ghub.New(testID).WithCacheDir(cache2).WithEndpoint(hub.URL).IterFileNames() {
		if err != nil {
			t.Fatalf("go-huggingface listing our cache offline: %v", err)
		}
		names = append(names, name)
	}
	if !slices.Equal(names, testFiles) {
		t.Errorf("go-huggingface lists %v, want %v", names, testFiles)
	}
}
