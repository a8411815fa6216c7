package diffusers

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// PyTorch beside the Go UNet in the same benchmark run.
//
// When PyTorch and a diffusers source tree are present, BenchmarkTinyUNet also times diffusers' UNet2DModel on the
// same model, pass and batch right after each of its own measurements (scripts/torch-unet-bench.py, started once
// and kept running), and reports torch-ms/sample, torch-cpu-ms/sample and x-torch (our wall time over PyTorch's).
// With -count N the two alternate N times. Prerequisites (scripts/torch-bench-setup.sh prepares them):
//
//   - $LOCO_TORCH_PYTHON, default /usr/bin/python3 (Debian's python3-torch): a Python with torch;
//   - $LOCO_DIFFUSERS_SRC, default build/diffusers/src at the repository root: diffusers' src/ folder (v0.29.x).
//
// LOCO_TORCH=0 turns the comparison off; LOCO_TORCH_THREADS sets PyTorch's threads (default 2).

const repoRoot = "../.."

// torchYardstick is the running PyTorch timing server.
type torchYardstick struct {
	mu      sync.Mutex
	cmd     *exec.Cmd
	in      io.WriteCloser
	out     *bufio.Scanner
	version string
}

var (
	torchOnce sync.Once
	torch     *torchYardstick
	torchWhy  string // why there is no yardstick
)

// torchResult is one answer of the timing server.
type torchResult struct {
	Pass        string  `json:"pass"`
	Batch       int     `json:"batch"`
	MsPerSample float64 `json:"ms_per_sample"`
	CPUMs       float64 `json:"cpu_ms_per_sample"`
	Torch       string  `json:"torch"`
	Error       string  `json:"error"`
}

// startTorch starts the timing server once, or records why it cannot.
func startTorch(tb testing.TB) *torchYardstick {
	torchOnce.Do(func() {
		if os.Getenv("LOCO_TORCH") == "0" {
			torchWhy = "LOCO_TORCH=0"
			return
		}
		python := os.Getenv("LOCO_TORCH_PYTHON")
		if python == "" {
			python = "/usr/bin/python3"
		}
		src := os.Getenv("LOCO_DIFFUSERS_SRC")
		if src == "" {
			src = filepath.Join(repoRoot, "build", "diffusers", "src")
		}
		if _, err := os.Stat(filepath.Join(src, "diffusers", "models", "unets", "unet_2d.py")); err != nil {
			torchWhy = fmt.Sprintf("no diffusers source at %s (set LOCO_DIFFUSERS_SRC or run scripts/torch-bench-setup.sh)", src)
			return
		}
		threads := os.Getenv("LOCO_TORCH_THREADS")
		if threads == "" {
			threads = "2"
		}
		cmd := exec.Command(python, filepath.Join(repoRoot, "scripts", "torch-unet-bench.py"), "--serve",
			"--diffusers-src", src, "--model", filepath.Join(goldenDir, "tiny-ddpm-unet"), "--threads", threads)
		cmd.Stderr = os.Stderr
		in, err := cmd.StdinPipe()
		if err != nil {
			torchWhy = err.Error()
			return
		}
		outPipe, err := cmd.StdoutPipe()
		if err != nil {
			torchWhy = err.Error()
			return
		}
		if err := cmd.Start(); err != nil {
			torchWhy = fmt.Sprintf("starting %s: %v", python, err)
			return
		}
		out := bufio.NewScanner(outPipe)
		var ready struct {
			Ready bool   `json:"ready"`
			Torch string `json:"torch"`
		}
		if !out.Scan() || json.Unmarshal(out.Bytes(), &ready) != nil || !ready.Ready {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			torchWhy = fmt.Sprintf("%s could not load PyTorch or diffusers (see its messages above)", python)
			return
		}
		torch = &torchYardstick{cmd: cmd, in: in, out: out, version: ready.Torch}
	})
	if torch == nil {
		tb.Logf("no PyTorch comparison: %s", torchWhy)
	}
	return torch
}

// time asks for PyTorch's time per sample of a pass, repeating it for at least minSeconds.
func (y *torchYardstick) time(pass benchPass, batch int, minSeconds float64) (torchResult, error) {
	y.mu.Lock()
	defer y.mu.Unlock()
	if _, err := fmt.Fprintf(y.in, "%s %d 1 %.3f\n", pass, batch, minSeconds); err != nil {
		return torchResult{}, err
	}
	if !y.out.Scan() {
		return torchResult{}, fmt.Errorf("the PyTorch timing server stopped: %v", y.out.Err())
	}
	var r torchResult
	if err := json.Unmarshal(y.out.Bytes(), &r); err != nil {
		return r, err
	}
	if r.Error != "" {
		return r, fmt.Errorf("PyTorch: %s", r.Error)
	}
	return r, nil
}

// compareWithTorch times PyTorch on the same pass and batch right after our own measurement and reports both.
func compareWithTorch(b *testing.B, pass benchPass, batch int, oursMS float64) {
	y := startTorch(b)
	if y == nil {
		return
	}
	seconds := max(0.5, oursMS*float64(b.N*batch)/1e3)
	r, err := y.time(pass, batch, seconds)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(r.MsPerSample, "torch-ms/sample")
	b.ReportMetric(r.CPUMs, "torch-cpu-ms/sample")
	b.ReportMetric(oursMS/r.MsPerSample, "x-torch")
}
