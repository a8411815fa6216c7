package loco

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestLoadModelFromHub serves the golden tiny UNet from a loopback fake of the HuggingFace hub: the first load
// downloads it into the cache, the second works offline with the server gone.
func TestLoadModelFromHub(t *testing.T) {
	const id, commit = "test-org/tiny-ddpm-unet", "0123456789abcdef0123456789abcdef01234567"
	files := map[string][]byte{}
	for _, f := range []string{"config.json", "diffusion_pytorch_model.safetensors"} {
		data, err := os.ReadFile(filepath.Join(goldenDir, "tiny-ddpm-unet", f))
		if err != nil {
			t.Fatal(err)
		}
		files[f] = data
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/models/"+id+"/revision/main" {
			var sib []map[string]string
			for f := range files {
				sib = append(sib, map[string]string{"rfilename": f})
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"id": id, "sha": commit, "siblings": sib})
			return
		}
		rest, ok := strings.CutPrefix(r.URL.Path, "/"+id+"/resolve/")
		_, file, _ := strings.Cut(rest, "/") // revision: main or the commit
		data, exists := files[file]
		if !ok || !exists {
			http.NotFound(w, r)
			return
		}
		sum := sha256.Sum256(data)
		w.Header().Set("X-Repo-Commit", commit)
		w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:])+`"`)
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		if r.Method != http.MethodHead {
			_, _ = w.Write(data)
		}
	}))
	cache := t.TempDir()
	t.Setenv("HF_HUB_CACHE", cache)
	t.Setenv("HF_ENDPOINT", srv.URL)
	t.Setenv("HF_HUB_OFFLINE", "")
	t.Setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
	xt, tf := goldenVec(t, "in/xt"), goldenVec(t, "in/t_float")
	check := func(stage string) {
		m, err := LoadModel(id)
		if err != nil {
			t.Fatalf("%s: %v", stage, err)
		}
		p, err := NewPipeline(m)
		if err != nil {
			t.Fatal(err)
		}
		eps, _, err := p.Predict(xt, tf)
		if err != nil {
			t.Fatal(err)
		}
		if d := maxAbsDiff32(eps, goldenVec(t, "out/eps_t_float")); d > 1e-4 {
			t.Errorf("%s: eps of the downloaded model differs from the golden by %.3g", stage, d)
		}
	}
	check("download")
	srv.Close()
	t.Setenv("HF_HUB_OFFLINE", "1")
	check("offline")
	t.Setenv("HF_HUB_CACHE", t.TempDir())
	if _, err := LoadModel(id); err == nil || !strings.Contains(err.Error(), "HF_HUB_OFFLINE") {
		t.Errorf("offline with an empty cache: error %v, want one that mentions HF_HUB_OFFLINE", err)
	}
}
