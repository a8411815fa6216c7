//go:build unix

package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDryRun builds what the GPU run carries (scripts/gpu/build.sh) and runs scripts/gpu/run.sh --dry-run: every
// step of the GPU run at toy size on the CPU, the report in the layout the GPU run fills. The PyTorch step runs
// when $DIFFUSERS_SRC names a diffusers source folder and /usr/bin/python3 has torch; otherwise the report says
// it was skipped.
func TestDryRun(t *testing.T) {
	for _, tool := range []string{"bash", "xz", "timeout", "tar"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("skipping: %s not found", tool)
		}
	}
	cc, err := exec.Command("go", "env", "CGO_ENABLED", "CC").Output()
	if err != nil {
		t.Skipf("skipping: go env: %v", err)
	}
	if f := strings.Fields(string(cc)); len(f) < 2 || f[0] != "1" {
		t.Skip("skipping: cgo is off (the GPU binaries need it)")
	} else if _, err := exec.LookPath(f[1]); err != nil {
		t.Skipf("skipping: no C compiler (%s) for cgo", f[1])
	}
	repo, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	build, out, work := filepath.Join(tmp, "build"), filepath.Join(tmp, "out"), filepath.Join(tmp, "work")
	t0 := time.Now()
	args := []string{filepath.Join(repo, "scripts/gpu/build.sh"), "--out", build, "--no-data"}
	if src := os.Getenv("DIFFUSERS_SRC"); src != "" {
		args = append(args, "--diffusers-src", src)
	}
	cmd := exec.Command("bash", args...)
	cmd.Env = append(os.Environ(), "XZ_LEVEL=1")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build.sh: %v\n%s", err, b)
	}
	built := time.Since(t0)
	t0 = time.Now()
	cmd = exec.Command("bash", filepath.Join(repo, "scripts/gpu/run.sh"), "--dry-run", "--build", build, "--out", out, "--work", work)
	b, err := cmd.CombinedOutput()
	ran := time.Since(t0)
	t.Logf("build %v, dry run %v", built.Round(time.Second), ran.Round(time.Second))
	if err != nil {
		t.Fatalf("run.sh --dry-run: %v\n%s", err, b)
	}
	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Golden checks", "| jvp_x0 |", "## Timings", "| forward ε | 1 |", "| JVP (∂ε/∂x)v | 8 |",
		"| whole LOCO edit", "## Training", "| tiny: 1×16²", "## T-LOCO", "| jvp_x0 | 1 |"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q:\n%s", want, md)
		}
	}
	var res report
	data, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &res); err != nil {
		t.Fatal(err)
	}
	if res.GoldenStrict == nil || !res.GoldenStrict.OK || res.GoldenTF32 == nil || !res.GoldenTF32.OK {
		t.Errorf("golden checks did not pass: %+v / %+v", res.GoldenStrict, res.GoldenTF32)
	}
	if res.Train == nil || res.Train.Steps != 3 {
		t.Errorf("training summary %+v, want 3 steps", res.Train)
	}
	if res.BenchOurs == nil || len(res.BenchOurs.Timings) != 6 || len(res.BenchOurs.Edit) != 1 || res.BenchOurs.EditWork == nil {
		t.Errorf("benchmark results %+v: want forward/VJP/JVP at 2 batch sizes and one edit", res.BenchOurs)
	}
	if res.TLOCO == nil || len(res.TLOCO.Timings) != 3 || res.TLOCO.Params != 100483 {
		t.Errorf("T-LOCO results %+v: want the decoded PMP, its JVP and VJP on the tiny pipeline's architecture", res.TLOCO)
	} else {
		for _, tm := range res.TLOCO.Timings {
			if tm.Error != "" || !(tm.MedianMS > 0) {
				t.Errorf("T-LOCO %s: %+v", tm.What, tm)
			}
		}
	}
	for _, s := range res.Steps {
		if s.Status != "ok" && !(s.Name == "bench-torch" && s.Status == "skipped") {
			t.Errorf("step %s: %s (%s)", s.Name, s.Status, s.Note)
		}
	}
	for _, f := range []string{"model/config.json", "model/diffusion_pytorch_model.safetensors", "model/scheduler_config.json", "samples.png", "loss.png", "logs.tar.gz"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("output missing: %v", err)
		}
	}
	if entries, _ := os.ReadDir(out); len(entries) > 8 {
		t.Errorf("%d entries in the output folder: the device tool brings back at most 8 files", len(entries))
	}
	if ran > 3*time.Minute {
		t.Logf("the dry run took %v, more than its 3-minute target (a busy machine?)", ran)
	}
}
