package outdir

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestClaim: a new folder is created and locked; a second claim on it fails at once, naming the holder, until
// the first is released; releasing leaves no lock file; a failed run removes the folder it created while empty.
func TestClaim(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "out")
	c, err := New(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, LockName)); err != nil {
		t.Errorf("no lock file while claimed: %v", err)
	}
	for _, force := range []bool{false, true} {
		_, err := New(dir, force)
		if !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), "another run (process ") || !strings.Contains(err.Error(), "--out") {
			t.Errorf("second claim (force %v): error %v, want ErrInUse naming the process and --out", force, err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "strip.png"), []byte("x"), 0o666); err != nil {
		t.Fatal(err)
	}
	c.Release(true) // failed, but it wrote a file: the folder stays
	c.Release(true)
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "strip.png" {
		t.Errorf("after release the folder holds %v, want only strip.png", entries)
	}
	if _, err := New(dir, false); err == nil || !strings.Contains(err.Error(), "not empty: pass --force") {
		t.Errorf("claim of a non-empty folder: %v", err)
	}
	c2, err := New(dir, true)
	if err != nil {
		t.Fatalf("claim with force after release: %v", err)
	}
	c2.Release(false)

	fresh := filepath.Join(t.TempDir(), "fresh")
	c3, err := New(fresh, false)
	if err != nil {
		t.Fatal(err)
	}
	ReleaseAll() // what the signal handler does
	if _, err := os.Stat(fresh); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed run left the empty folder it created: %v", err)
	}
	c3.Release(false) // already released: nothing happens
}

// TestClaimRefusals: a file in place of the folder, a folder that cannot be created, no folder given.
func TestClaimRefusals(t *testing.T) {
	base := t.TempDir()
	file := filepath.Join(base, "file")
	if err := os.WriteFile(file, nil, 0o666); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ dir, want string }{
		{file, "exists and is not a folder"},
		{filepath.Join(file, "sub"), "creating output folder"},
		{"", "--out (an output folder) is required"},
	} {
		if _, err := New(c.dir, true); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%q): error %v, want one mentioning %q", c.dir, err, c.want)
		}
	}
	if os.Getuid() != 0 { // root writes anywhere
		ro := filepath.Join(base, "ro")
		if err := os.Mkdir(ro, 0o555); err != nil {
			t.Fatal(err)
		}
		if _, err := New(ro, true); err == nil || !strings.Contains(err.Error(), "not writable") {
			t.Errorf("read-only folder: error %v", err)
		}
	}
}

// TestClaimRemovesKilledRunsTemporaries: the temporary files a killed run (SIGKILL) left in a folder are removed
// when the next run claims it, and do not make the folder count as not empty; other hidden files stay.
func TestClaimRemovesKilledRunsTemporaries(t *testing.T) {
	dir := t.TempDir()
	left := filepath.Join(dir, ".strip.png.tmp-1x9zq3")
	kept := filepath.Join(dir, ".notes.tmp-NOT")
	for _, p := range []string{left, kept} {
		if err := os.WriteFile(p, []byte("half"), 0o666); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := New(dir, false); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("claim of a folder holding a hidden file of the user's: %v", err)
	}
	if err := os.Remove(kept); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(left, []byte("half"), 0o666); err != nil {
		t.Fatal(err)
	}
	c, err := New(dir, false)
	if err != nil {
		t.Fatalf("claim of a folder holding only a killed run's temporary file: %v", err)
	}
	defer c.Release(false)
	if _, err := os.Stat(left); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the killed run's temporary file is still there: %v", err)
	}
}
