package hub

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/locoedit/locoedit/hf/hub/hubtest"
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

// newFakeHub serves the golden tiny model as testCommit, at main and refs/pr/1.
func newFakeHub(t *testing.T, token string) *hubtest.Hub {
	t.Helper()
	h := hubtest.New(t, testID, token, testCommit, goldenFiles(t))
	h.SetRef("refs/pr/1", testCommit)
	return h
}

// testOptions are explicit options for the fake hub that never read the environment.
func testOptions(h *hubtest.Hub, cacheDir string) Options {
	return Options{CacheDir: cacheDir, Token: h.Token, Endpoint: h.URL}
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
