package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/locoedit/locoedit/hf/hub/hubtest"
)

// readModelDir reads a model folder's files.
func readModelDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, f := range []string{"config.json", "diffusion_pytorch_model.safetensors"} {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		out[f] = data
	}
	return out
}

// TestRevisionAndVerifyFlags checks that --revision and org/name@revision reach the hub (each
// command taking --model shares the flag), and that --verify re-hashes the cached files.
func TestRevisionAndVerifyFlags(t *testing.T) {
	const id = "test-org/tiny-unet"
	const main1, tag2 = "1111111111111111111111111111111111111111", "2222222222222222222222222222222222222222"
	hub := hubtest.New(t, id, "", main1, readModelDir(t, filepath.Join(golden, "tiny-ddpm-unet")))
	hub.AddCommit(tag2, "v2", readModelDir(t, filepath.Join(golden, "tiny-ddpm-unet-legacy-attn-names")))
	cache := t.TempDir()
	t.Setenv("HF_HUB_CACHE", cache)
	t.Setenv("HF_ENDPOINT", hub.URL)
	t.Setenv("HF_HUB_OFFLINE", "")
	t.Setenv("TRANSFORMERS_OFFLINE", "")
	t.Setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
	in := goldenInputs(t, map[string]string{"x": "in/xt", "t": "in/t_float"})
	dir := t.TempDir()
	repo := filepath.Join(cache, "models--test-org--tiny-unet")
	for i, args := range [][]string{
		{"--model", id, "--revision", "v2"},
		{"--model", id + "@v2"},
	} {
		out := filepath.Join(dir, "eps"+string(rune('a'+i))+".safetensors")
		if err := runEps(append(args, "--in", in, "--out", out, "--quiet")); err != nil {
			t.Fatalf("loco eps %v: %v", args, err)
		}
		if d := maxDiff(readTensor(t, out, "eps"), readTensor(t, filepath.Join(golden, "golden.safetensors"), "out/eps_t_float")); d > 1e-4 {
			t.Errorf("loco eps %v differs from the golden by %.3g", args, d)
		}
	}
	if ref, err := os.ReadFile(filepath.Join(repo, "refs", "v2")); err != nil || string(ref) != tag2 {
		t.Errorf("refs/v2 = %q, %v; want %s", ref, err, tag2)
	}
	if _, err := os.Stat(filepath.Join(repo, "snapshots", main1)); err == nil {
		t.Errorf("main was fetched although --revision v2 was asked")
	}

	// --verify, offline, finds a damaged cached file and says what to do.
	blob := filepath.Join(repo, "blobs", hubtest.ETag("config.json", hub.Files("v2")["config.json"]))
	data, err := os.ReadFile(blob)
	if err != nil {
		t.Fatal(err)
	}
	data[10] ^= 1
	if err := os.WriteFile(blob, data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HF_HUB_OFFLINE", "1")
	err = runEps([]string{"--model", id + "@v2", "--verify", "--in", in, "--out", filepath.Join(dir, "c.safetensors")})
	if err == nil || !strings.Contains(err.Error(), "did not match their hash and were removed") || !strings.Contains(err.Error(), "HF_HUB_OFFLINE=1") {
		t.Errorf("--verify of a damaged cache: err = %v", err)
	}

	for _, args := range [][]string{
		{"--model", "fashion-molrg-32", "--revision", "v2"},
		{"--model", id + "@v2", "--revision", "main"},
		{"--model", id, "--revision", "../x"},
	} {
		err := runEps(append(args, "--in", in, "--out", filepath.Join(dir, "d.safetensors")))
		if err == nil || !strings.Contains(err.Error(), "revision") {
			t.Errorf("loco eps %v: err = %v, want one about the revision", args, err)
		}
	}
}
