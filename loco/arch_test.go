package loco

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadModelArchErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "ffhq_p2.pt")
	if err := os.WriteFile(file, []byte("not a checkpoint"), 0o644); err != nil {
		t.Fatal(err)
	}
	if !IsWeightsFile(file) || IsWeightsFile(filepath.Dir(file)) || IsWeightsFile("google/ddpm-ema-celebahq-256") {
		t.Error("IsWeightsFile: want true for a file only")
	}
	RegisterPreset("test-arch", func(string) (Denoiser, error) { return nil, os.ErrInvalid })
	defer delete(presets, "test-arch")
	for _, c := range []struct{ path, arch, want string }{
		{file, "", "give its architecture (--arch, one of: test-arch)"},
		{file, "p2-1024", `unknown architecture "p2-1024" (known: test-arch)`},
		{filepath.Join(filepath.Dir(file), "missing.pt"), "test-arch", "needs a local weights file"},
		{filepath.Dir(file), "test-arch", "is a folder"},
		{file, "test-arch", os.ErrInvalid.Error()},
	} {
		if _, err := LoadModelArch(c.path, c.arch); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("LoadModelArch(%s, %q): error %v, want one mentioning %q", c.path, c.arch, err, c.want)
		}
	}
}
