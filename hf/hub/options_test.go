package hub

import (
	"os"
	"path/filepath"
	"testing"
)

// clearHFEnv unsets (for the test) every variable OptionsFromEnv reads.
func clearHFEnv(t *testing.T) {
	for _, key := range []string{"HF_HOME", "XDG_CACHE_HOME", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HUB_OFFLINE",
		"TRANSFORMERS_OFFLINE", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "HF_ENDPOINT",
		"HF_HUB_DISABLE_PROGRESS_BARS"} {
		t.Setenv(key, "")
	}
}

func TestOptionsFromEnv(t *testing.T) {
	clearHFEnv(t)
	home := t.TempDir()
	t.Setenv("HF_HOME", home)
	if err := os.WriteFile(filepath.Join(home, "token"), []byte("hf_fromfile\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := OptionsFromEnv()
	if want := filepath.Join(home, "hub"); opts.CacheDir != want || CacheDir(Options{}) != want {
		t.Errorf("cache dir = %s (CacheDir: %s), want %s", opts.CacheDir, CacheDir(Options{}), want)
	}
	if opts.Token != "hf_fromfile" || opts.Offline || opts.Endpoint != DefaultEndpoint || opts.Revision != "main" || opts.Progress != os.Stderr {
		t.Errorf("defaults = %+v", opts)
	}

	t.Setenv("HF_TOKEN", "hf_fromenv")
	t.Setenv("HF_HUB_CACHE", filepath.Join(home, "elsewhere"))
	t.Setenv("HF_ENDPOINT", "http://127.0.0.1:9/")
	t.Setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
	opts = OptionsFromEnv()
	if opts.Token != "hf_fromenv" || opts.CacheDir != filepath.Join(home, "elsewhere") ||
		opts.Endpoint != "http://127.0.0.1:9" || opts.Progress != nil {
		t.Errorf("overridden options = %+v", opts)
	}
	if got := CacheDir(Options{CacheDir: "/explicit"}); got != "/explicit" {
		t.Errorf("CacheDir with an explicit dir = %s", got)
	}

	for value, want := range map[string]bool{"1": true, "true": true, "TRUE": true, "yes": true, "on": true, "0": false, "false": false, "": false} {
		t.Setenv("HF_HUB_OFFLINE", value)
		if got := OptionsFromEnv().Offline; got != want {
			t.Errorf("HF_HUB_OFFLINE=%q: Offline = %v, want %v", value, got, want)
		}
	}

	t.Setenv("HF_HOME", "")
	t.Setenv("HF_HUB_CACHE", "")
	t.Setenv("XDG_CACHE_HOME", filepath.Join(home, "xdg"))
	if got, want := OptionsFromEnv().CacheDir, filepath.Join(home, "xdg", "huggingface", "hub"); got != want {
		t.Errorf("cache dir from XDG_CACHE_HOME = %s, want %s", got, want)
	}
}

// TestResolveFromEnv runs Resolve with OptionsFromEnv only: the token, endpoint and cache come
// from HF_TOKEN, HF_ENDPOINT and HF_HOME, then HF_HUB_OFFLINE serves the cache with the hub gone.
func TestResolveFromEnv(t *testing.T) {
	clearHFEnv(t)
	hub := newFakeHub(t, testToken)
	home := t.TempDir()
	t.Setenv("HF_HOME", home)
	t.Setenv("HF_TOKEN", testToken)
	t.Setenv("HF_ENDPOINT", hub.srv.URL)
	t.Setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
	dir, err := Resolve(testID, testFiles, OptionsFromEnv())
	if err != nil {
		t.Fatalf("Resolve with options from the environment: %v", err)
	}
	if want := filepath.Join(home, "hub", "models--org--tiny-ddpm-unet", "snapshots", testCommit); dir != want {
		t.Errorf("Resolve = %s, want %s", dir, want)
	}
	checkSameFiles(t, dir, hub.files)

	hub.close()
	t.Setenv("HF_HUB_OFFLINE", "1")
	t.Setenv("HF_TOKEN", "")
	if got, err := Resolve(testID, testFiles, OptionsFromEnv()); err != nil || got != dir {
		t.Errorf("offline Resolve from the environment = %s, %v; want %s", got, err, dir)
	}
	t.Setenv("HF_HOME", t.TempDir())
	if _, err := Resolve(testID, testFiles, OptionsFromEnv()); err == nil {
		t.Errorf("offline Resolve with an empty HF_HOME succeeded")
	}
}
