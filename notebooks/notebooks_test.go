//go:build unix

// Package notebooks_test runs the project's GoNB notebooks headless through
// scripts/run-notebooks.sh and tests the scripts that check them.
//
// The notebook tests need jupyter and gonb (scripts/setup.sh installs both). Without them they
// are skipped, except under CI (CI set in the environment), where they fail: CI must run
// scripts/setup.sh before go test.
package notebooks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// repoRoot is the repository root, relative to this package's folder (the test's working directory).
const repoRoot = ".."

// notebookRun is the result of one run of scripts/run-notebooks.sh.
type notebookRun struct {
	Output  string // combined stdout and stderr of the runner
	Err     error  // nil when every notebook passed; an *exec.ExitError otherwise
	OutDir  string // executed notebooks and their logs: OutDir/<name>.ipynb, OutDir/<name>.log
	FigDir  string // extracted figures: FigDir/<name>-<n>.png
	Elapsed time.Duration
}

// runNotebooks runs scripts/run-notebooks.sh --quick on the given notebooks (paths relative to
// notebooks/; none means every notebooks/*.ipynb), writing executed notebooks and figures to
// temporary folders. It skips the test when jupyter or gonb is missing (fails under CI). The
// caller checks the result: a failing notebook is not a test failure here.
func runNotebooks(t *testing.T, paths ...string) notebookRun {
	t.Helper()
	requireNotebookTools(t)
	r := notebookRun{OutDir: t.TempDir(), FigDir: t.TempDir()}
	args := append([]string{filepath.Join(repoRoot, "scripts", "run-notebooks.sh"),
		"--quick", "--out", r.OutDir, "--figures", r.FigDir, "--"}, paths...)

	ctx := t.Context()
	if deadline, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline.Add(-30*time.Second))
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, "bash", args...)
	// A timeout also stops nbconvert and the GoNB kernel.
	inProcessGroup(cmd, syscall.SIGKILL, 10*time.Second)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	r.Output, r.Err, r.Elapsed = string(out), err, time.Since(start)
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("running scripts/run-notebooks.sh: %v\n%s", err, out)
	}
	if exitErr != nil && exitErr.ExitCode() != 1 {
		// 1 means "a notebook failed"; anything else is a usage or set-up error of the runner.
		t.Fatalf("scripts/run-notebooks.sh exited with status %d (want 0 or 1):\n%s", exitErr.ExitCode(), out)
	}
	t.Logf("run-notebooks %v: %v", paths, r.Elapsed.Round(100*time.Millisecond))
	return r
}

// inProcessGroup makes cmd run in a process group of its own, which its context's end signals with sig (so
// that the processes it started end too); after that, Wait gives up waiting for its output after wait.
func inProcessGroup(cmd *exec.Cmd, sig syscall.Signal, wait time.Duration) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, sig) }
	cmd.WaitDelay = wait
}

// requireNotebookTools skips the test (fails it under CI) unless jupyter and gonb can be found on
// PATH or in the Go bin folder, where scripts/setup.sh installs gonb and where the runner looks.
func requireNotebookTools(t *testing.T) {
	t.Helper()
	gobin, err := goBinDir()
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	for _, tool := range []string{"jupyter", "gonb"} {
		if _, err := exec.LookPath(tool); err == nil {
			continue
		}
		if info, err := os.Stat(filepath.Join(gobin, tool)); err == nil && !info.IsDir() {
			continue
		}
		missing = append(missing, tool)
	}
	if len(missing) == 0 {
		return
	}
	toolsMissing(t, "notebook test", fmt.Sprintf("%s not found on PATH or in %s: run scripts/setup.sh to install "+
		"Jupyter and GoNB", strings.Join(missing, " and "), gobin))
}

// toolsMissing skips the test, saying which tools are missing, except under CI (CI set in the environment), where
// it fails it: CI must run scripts/setup.sh, which installs them, before go test.
func toolsMissing(t *testing.T, test, msg string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("%s (CI must run scripts/setup.sh before go test)", msg)
	}
	t.Skipf("skipping the %s: %s", test, msg)
}

// goBinDir returns the folder where go install puts binaries: $GOBIN, or $GOPATH/bin.
func goBinDir() (string, error) {
	out, err := exec.Command("go", "env", "GOBIN", "GOPATH").Output()
	if err != nil {
		return "", fmt.Errorf("running go env GOBIN GOPATH: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) == 2 && lines[0] != "" {
		return lines[0], nil
	}
	gopath := strings.TrimSpace(lines[len(lines)-1])
	if gopath == "" {
		return "", errors.New("go env GOPATH is empty")
	}
	return filepath.Join(strings.Split(gopath, string(os.PathListSeparator))[0], "bin"), nil
}

func TestBrokenNotebookFails(t *testing.T) {
	r := runNotebooks(t, "testdata/broken.ipynb")
	if r.Err == nil {
		t.Fatalf("run-notebooks passed on testdata/broken.ipynb, whose second cell panics:\n%s", r.Output)
	}
	for _, want := range []string{
		"panic: deliberate failure in broken.ipynb", // found by check-notebook.py
		"FAIL broken",
		"0 PASS, 1 FAIL",
	} {
		if !strings.Contains(r.Output, want) {
			t.Errorf("runner output lacks %q:\n%s", want, r.Output)
		}
	}
}

func TestSmokeNotebook(t *testing.T) {
	r := runNotebooks(t, "00-smoke.ipynb")
	if r.Err != nil {
		t.Fatalf("run-notebooks failed on 00-smoke.ipynb: %v\n%s", r.Err, r.Output)
	}
	if !strings.Contains(r.Output, "PASS 00-smoke") {
		t.Errorf("runner output lacks %q:\n%s", "PASS 00-smoke", r.Output)
	}

	// The Markdown cell output shows that the cell ran against this checkout's nbutil and saw
	// LOCO_QUICK=1 from --quick.
	markdown := outputsOfType(t, filepath.Join(r.OutDir, "00-smoke.ipynb"), "text/markdown")
	const wantMD = "**smoke**: 64×32 gradient displayed (quick mode: true)"
	if len(markdown) != 1 || markdown[0] != wantMD {
		t.Errorf("text/markdown outputs = %q, want [%q]", markdown, wantMD)
	}

	// The one image output was extracted to FigDir/00-smoke-1.png: a 64×32 gradient.
	data, err := os.ReadFile(filepath.Join(r.FigDir, "00-smoke-1.png"))
	if err != nil {
		t.Fatalf("extracted figure: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("decoding 00-smoke-1.png: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 64 || b.Dy() != 32 {
		t.Errorf("00-smoke-1.png is %dx%d, want 64x32", b.Dx(), b.Dy())
	}
	for _, c := range []struct {
		x, y    int
		r, g, b uint32
	}{{0, 0, 0, 0, 128}, {63, 31, 255, 255, 128}} {
		r16, g16, b16, _ := img.At(c.x, c.y).RGBA()
		if r16>>8 != c.r || g16>>8 != c.g || b16>>8 != c.b {
			t.Errorf("pixel (%d,%d) = (%d,%d,%d), want (%d,%d,%d)", c.x, c.y, r16>>8, g16>>8, b16>>8, c.r, c.g, c.b)
		}
	}
	if entries, err := os.ReadDir(r.FigDir); err != nil || len(entries) != 1 {
		t.Errorf("figure folder holds %d entries (err %v), want only 00-smoke-1.png", len(entries), err)
	}
}

// outputsOfType returns the display outputs of MIME type mime in the executed notebook at path.
func outputsOfType(t *testing.T, path, mime string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading executed notebook: %v", err)
	}
	var nb struct {
		Cells []struct {
			Outputs []struct {
				Data map[string]json.RawMessage `json:"data"`
			} `json:"outputs"`
		} `json:"cells"`
	}
	if err := json.Unmarshal(data, &nb); err != nil {
		t.Fatalf("parsing %s: %v", path, err)
	}
	var found []string
	for _, cell := range nb.Cells {
		for _, out := range cell.Outputs {
			raw, ok := out.Data[mime]
			if !ok {
				continue
			}
			found = append(found, notebookText(t, raw))
		}
	}
	return found
}

// notebookText decodes notebook text, stored either as a string or as a list of strings.
func notebookText(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s
	}
	var parts []string
	if err := json.Unmarshal(raw, &parts); err != nil {
		t.Fatalf("notebook text %s is neither a string nor a list of strings", raw)
	}
	return strings.Join(parts, "")
}

// TestAllNotebooks runs every notebooks/*.ipynb in quick mode, as CI does, and checks that each one passed
// and displayed at least one image (every notebook shows its figure as a PNG).
func TestAllNotebooks(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the full notebook run in -short mode (it takes several minutes)")
	}
	sources, err := filepath.Glob("*.ipynb")
	if err != nil {
		t.Fatal(err)
	}
	if len(sources) == 0 {
		t.Fatal("no notebooks/*.ipynb found")
	}
	r := runNotebooks(t)
	if r.Err != nil {
		t.Fatalf("run-notebooks failed: %v\n%s", r.Err, r.Output)
	}
	for _, src := range sources {
		name := strings.TrimSuffix(src, ".ipynb")
		if !strings.Contains(r.Output, "PASS "+name) {
			t.Errorf("runner output lacks %q", "PASS "+name)
		}
		executed := filepath.Join(r.OutDir, src)
		if _, err := os.Stat(executed); err != nil {
			t.Errorf("%s: no executed copy: %v", src, err)
			continue
		}
		if images := outputsOfType(t, executed, "image/png"); len(images) == 0 {
			t.Errorf("%s displayed no image/png output", src)
		}
	}
}
