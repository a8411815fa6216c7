package hub

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// clearHFEnv unsets (for the test) every variable OptionsFromEnv reads.
func clearHFEnv(t *testing.T) {
	for _, key := range []string{"HF_HOME", "XDG_CACHE_HOME", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HUB_OFFLINE",
		"TRANSFORMERS_OFFLINE", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "HF_ENDPOINT",
		"HF_HUB_DISABLE_PROGRESS_BARS", "HF_HUB_DOWNLOAD_TIMEOUT"} {
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
	if opts.Token != "hf_fromfile" || opts.Offline || opts.Endpoint != DefaultEndpoint || opts.Revision != "" || opts.Progress != os.Stderr || opts.StallTimeout != 0 {
		t.Errorf("defaults = %+v", opts)
	}

	t.Setenv("HF_TOKEN", "hf_fromenv")
	t.Setenv("HF_HUB_CACHE", filepath.Join(home, "elsewhere"))
	t.Setenv("HF_ENDPOINT", "http://127.0.0.1:9/")
	t.Setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
	t.Setenv("HF_HUB_DOWNLOAD_TIMEOUT", "2.5")
	opts = OptionsFromEnv()
	if opts.Token != "hf_fromenv" || opts.CacheDir != filepath.Join(home, "elsewhere") ||
		opts.Endpoint != "http://127.0.0.1:9" || opts.Progress != nil || opts.StallTimeout != 2500*time.Millisecond {
		t.Errorf("overridden options = %+v", opts)
	}
	if got := CacheDir(Options{CacheDir: "/explicit"}); got != "/explicit" {
		t.Errorf("CacheDir with an explicit dir = %s", got)
	}

	for value, want := range map[string]bool{"1": true, "true": true, "TRUE": true, "yes": true, "on": true, "0": false, "false": false, "": false, " 1": false} {
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
	t.Setenv("HF_ENDPOINT", hub.URL)
	t.Setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
	dir, err := Resolve(testID, Paths(testFiles), OptionsFromEnv())
	if err != nil {
		t.Fatalf("Resolve with options from the environment: %v", err)
	}
	if want := filepath.Join(home, "hub", "models--org--tiny-ddpm-unet", "snapshots", testCommit); dir != want {
		t.Errorf("Resolve = %s, want %s", dir, want)
	}
	checkSameFiles(t, dir, hub.Files("main"))

	hub.Close()
	t.Setenv("HF_HUB_OFFLINE", "1")
	t.Setenv("HF_TOKEN", "")
	if got, err := Resolve(testID, Paths(testFiles), OptionsFromEnv()); err != nil || got != dir {
		t.Errorf("offline Resolve from the environment = %s, %v; want %s", got, err, dir)
	}
	t.Setenv("HF_HOME", t.TempDir())
	_, err = Resolve(testID, Paths(testFiles), OptionsFromEnv())
	contains(t, err, "is not in the cache", "HF_HUB_OFFLINE=1 forbids downloads")
}

// TestOfflinePrecedence follows huggingface_hub's constants.py: HF_HUB_OFFLINE decides whenever
// it is set to a non-empty value, TRANSFORMERS_OFFLINE only otherwise; the message names the
// variable that decided.
func TestOfflinePrecedence(t *testing.T) {
	for _, tc := range []struct {
		hf, tr      string
		offline     bool
		source, fix string
	}{
		{"", "", false, "", ""},
		{"1", "", true, "HF_HUB_OFFLINE=1", "(unset it to go online)"},
		{"0", "1", false, "HF_HUB_OFFLINE=0", ""},
		{"", "1", true, "TRANSFORMERS_OFFLINE=1", "(unset it, or set HF_HUB_OFFLINE=0, to go online)"},
		{"", "yes", true, "TRANSFORMERS_OFFLINE=yes", "HF_HUB_OFFLINE=0"},
		{"false", "1", false, "HF_HUB_OFFLINE=false", ""},
		{"ON", "0", true, "HF_HUB_OFFLINE=ON", "unset it"},
	} {
		clearHFEnv(t)
		t.Setenv("HF_HUB_OFFLINE", tc.hf)
		t.Setenv("TRANSFORMERS_OFFLINE", tc.tr)
		opts := OptionsFromEnv()
		if opts.Offline != tc.offline || opts.OfflineSource != tc.source {
			t.Errorf("HF_HUB_OFFLINE=%q TRANSFORMERS_OFFLINE=%q: Offline %v from %q, want %v from %q",
				tc.hf, tc.tr, opts.Offline, opts.OfflineSource, tc.offline, tc.source)
		}
		if !tc.offline {
			continue
		}
		opts.CacheDir = t.TempDir()
		_, err := Resolve(testID, Paths(testFiles), opts)
		contains(t, err, tc.source+" forbids downloads", tc.fix)
	}
}
