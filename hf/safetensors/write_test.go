package safetensors

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// listDir returns the names in dir.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteKeepsOldFileOnError(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "w.safetensors")
	old := map[string]*Tensor{"x": FromFloat32([]int{2}, []float32{1, 2})}
	if err := Write(path, old, nil); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)

	bad := map[string]*Tensor{
		"good": FromFloat32([]int{1}, []float32{3}),
		"bad":  FromFloat32([]int{2, 2}, []float32{1, 2, 3}), // 3 values for 4 elements.
	}
	err := Write(path, bad, nil)
	if err == nil || !strings.Contains(err.Error(), `tensor "bad"`) || !strings.Contains(err.Error(), path) {
		t.Fatalf("Write of a mis-sized tensor: %v, want an error naming the tensor and the file", err)
	}
	for _, tensors := range []map[string]*Tensor{
		{"nil": nil},
		{metadataKey: FromUint8([]int{1}, []uint8{1})},
		{"dtype": {DType: "Q4", Shape: []int{1}, Data: []byte{1}}},
	} {
		if err := Write(path, tensors, nil); err == nil {
			t.Errorf("Write(%v) succeeded, want an error", tensors)
		}
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Error("a failed Write changed the existing file")
	}
	if names := listDir(t, dir); len(names) != 1 || names[0] != "w.safetensors" {
		t.Errorf("directory holds %v after failed writes, want only w.safetensors", names)
	}

	// A successful overwrite replaces the content and keeps the file's mode.
	newT := map[string]*Tensor{"y": FromInt64([]int{1}, []int64{5})}
	if err := Write(path, newT, map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	f, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if names := f.Names(); len(names) != 1 || names[0] != "y" || f.Metadata()["k"] != "v" {
		t.Errorf("after overwrite: names %v, metadata %v", names, f.Metadata())
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("overwrite changed the mode to %v, want 0600", st.Mode().Perm())
	}
	if names := listDir(t, dir); len(names) != 1 {
		t.Errorf("directory holds %v after a successful write", names)
	}
}

func TestWriteErrors(t *testing.T) {
	dir := t.TempDir()
	ok := map[string]*Tensor{"x": FromUint8([]int{1}, []uint8{1})}
	if err := Write(filepath.Join(dir, "missing", "x.safetensors"), ok, nil); err == nil {
		t.Error("Write into a missing directory succeeded")
	}
	if err := Write(dir, ok, nil); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("Write over a directory: %v", err)
	}
	if names := listDir(t, dir); len(names) != 0 {
		t.Errorf("failed writes left %v behind", names)
	}
}

// failingWriter accepts n bytes and then fails.
type failingWriter struct{ n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		k := w.n
		w.n = 0
		return k, errors.New("disk full")
	}
	w.n -= len(p)
	return len(p), nil
}

func TestEncodeWriterError(t *testing.T) {
	err := Encode(&failingWriter{n: 20}, allDTypes(), nil)
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Encode into a failing writer: %v, want the writer's error", err)
	}
}
