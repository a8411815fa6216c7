package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteReplacesAtomically(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.txt")
	if err := WriteBytes(path, []byte("old")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	// A failing writer leaves the old file and no temporary file behind.
	boom := errors.New("boom")
	err := Write(path, func(w io.Writer) error {
		_, _ = w.Write([]byte("half"))
		return boom
	})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), path) {
		t.Errorf("failing write: error %v, want one wrapping boom and naming %s", err, path)
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Errorf("after a failed write the file holds %q, want the old content", b)
	}
	if err := WriteBytes(path, []byte("new")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "new" {
		t.Errorf("file holds %q, want new", b)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v: an existing file keeps its mode", st.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("folder holds %d entries, want only the file (no temporary left)", len(entries))
	}
	if err := WriteBytes(dir, []byte("x")); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("writing over a folder: error %v", err)
	}
	if err := WriteBytes(filepath.Join(dir, "missing", "x"), nil); err == nil {
		t.Error("writing into a missing folder: no error")
	}
}

// TestRemoveTemporaries: a signal handler's RemoveTemporaries removes the temporary file of a write in progress;
// the write then fails with ErrInterrupted, leaving neither the target nor a hidden file, and later writes are
// refused.
func TestRemoveTemporaries(t *testing.T) {
	defer func() { temps.Lock(); temps.closed = false; temps.Unlock() }()
	dir := t.TempDir()
	path := filepath.Join(dir, "report.md")
	started, resume := make(chan struct{}), make(chan struct{})
	done := make(chan error)
	go func() {
		done <- Write(path, func(w io.Writer) error {
			_, _ = w.Write([]byte("half"))
			close(started)
			<-resume
			return nil
		})
	}()
	<-started
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || !strings.HasPrefix(entries[0].Name(), ".report.md.tmp-") {
		t.Fatalf("during the write the folder holds %v, want one temporary file", entries)
	}
	removed := RemoveTemporaries()
	if len(removed) != 1 || filepath.Base(removed[0]) != entries[0].Name() {
		t.Errorf("RemoveTemporaries removed %v, want %s", removed, entries[0].Name())
	}
	close(resume)
	if err := <-done; !errors.Is(err, ErrInterrupted) {
		t.Errorf("the interrupted write returned %v, want ErrInterrupted", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("after the interruption the folder holds %v, want nothing", entries)
	}
	if err := WriteBytes(path, []byte("x")); !errors.Is(err, ErrInterrupted) {
		t.Errorf("a write after the interruption: %v, want ErrInterrupted", err)
	}
}

func TestIsTemporary(t *testing.T) {
	for name, want := range map[string]bool{
		".strip.png.tmp-1x9zq3": true, "." + "report.md" + ".tmp-3w5e11264sgsf": true,
		"strip.png.tmp-1x9zq3": false, ".strip.png.tmp-": false, ".strip.png.tmp-ABC": false, "..tmp-1": false,
		".a.tmp-3w5e11264sgsg0": false, ".strip.png": false,
	} {
		if got := IsTemporary(name); got != want {
			t.Errorf("IsTemporary(%q) = %v, want %v", name, got, want)
		}
	}
}
