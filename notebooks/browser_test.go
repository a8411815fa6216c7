//go:build unix

package notebooks_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// browserSummary is the JSON line scripts/notebook-browser.py ends with.
type browserSummary struct {
	OK      bool               `json:"ok"`
	Seconds float64            `json:"seconds"`
	Timings map[string]float64 `json:"timings"`
	Checks  []struct {
		Check  string `json:"check"`
		OK     bool   `json:"ok"`
		Detail string `json:"detail"`
	} `json:"checks"`
}

// requireBrowserTools skips the test (fails it under CI, whose set-up installs them) unless Debian's chromium,
// chromium-driver and python3-selenium are there.
func requireBrowserTools(t *testing.T) {
	t.Helper()
	var missing []string
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromedriver", "/usr/bin/python3"} {
		if info, err := os.Stat(p); err != nil || info.IsDir() {
			missing = append(missing, p)
		}
	}
	if len(missing) == 0 {
		if err := exec.Command("/usr/bin/python3", "-c", "import selenium").Run(); err != nil {
			missing = append(missing, "python3-selenium (import selenium failed)")
		}
	}
	if len(missing) == 0 {
		return
	}
	toolsMissing(t, "browser test", fmt.Sprintf("%s not found: install chromium, chromium-driver and "+
		"python3-selenium (scripts/setup.sh does)", strings.Join(missing, ", ")))
}

// TestNotebooksInBrowser opens the notebooks in Jupyter Notebook in headless Chromium, as a person would, through
// scripts/notebook-browser.py: every notebook's Markdown and math render without errors, and 00-quickstart runs
// with Restart & Run All without an error output; its slider and menu re-render the edit; Done and a kernel
// interrupt end the interactive cell cleanly, and a Run All while its controls are live is not blocked by it; Tab
// completion and Shift+Tab help work (gopls). With LOCO_BROWSER_SCREENSHOTS=DIR it saves its screenshots there.
func TestNotebooksInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the browser test in -short mode (it takes about two minutes)")
	}
	requireNotebookTools(t)
	requireBrowserTools(t)

	ctx := t.Context()
	deadline := time.Now().Add(8 * time.Minute)
	if d, ok := t.Deadline(); ok && d.Add(-30*time.Second).Before(deadline) {
		deadline = d.Add(-30 * time.Second)
	}
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	script, err := filepath.Abs(filepath.Join(repoRoot, "scripts", "notebook-browser.py"))
	if err != nil {
		t.Fatal(err)
	}
	args := []string{script}
	if dir := os.Getenv("LOCO_BROWSER_SCREENSHOTS"); dir != "" {
		// e.g. $PWD/docs/figures from the repository root (a relative DIR is relative to notebooks/).
		abs, err := filepath.Abs(dir)
		if err != nil {
			t.Fatal(err)
		}
		args = append(args, "--screenshots", abs)
	}
	cmd := exec.CommandContext(ctx, "/usr/bin/python3", args...)
	// SIGTERM on timeout, so that the script stops the Jupyter server and the browser it started.
	inProcessGroup(cmd, syscall.SIGTERM, 30*time.Second)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	elapsed := time.Since(start)
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("running %s: %v\n%s", script, err, out)
	}
	if exitErr != nil && exitErr.ExitCode() == 2 {
		t.Fatalf("the browser test could not run:\n%s", out)
	}

	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var sum browserSummary
	if jerr := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); jerr != nil {
		t.Fatalf("no summary line (%v); exit %v; output:\n%s", jerr, err, out)
	}
	t.Logf("browser test: %v; timings %v", elapsed.Round(time.Second), sum.Timings)
	if err != nil || !sum.OK {
		t.Errorf("the browser test failed (%v); output:\n%s", err, out)
	}
	// Every notebook was checked, and every step of the quickstart ran.
	passed := map[string]bool{}
	for _, c := range sum.Checks {
		passed[c.Check] = c.OK
	}
	sources, _ := filepath.Glob("*.ipynb")
	for _, src := range sources {
		if name := src + ": Markdown and math render"; !passed[name] {
			t.Errorf("check %q did not pass", name)
		}
	}
	for _, name := range []string{"quickstart: no error output", "explorer: slider re-renders the edit",
		"explorer: menu re-renders the edit", "explorer: Done ends the cell cleanly",
		"explorer: a kernel interrupt ends the cell cleanly, with the last picture and the controls disabled",
		"explorer: Run All is not blocked by the live controls", "explorer: Done after Run All",
		"completion: Tab completes the project's names", "help: Shift+Tab shows a name's signature and documentation"} {
		if !passed[name] {
			t.Errorf("check %q did not pass", name)
		}
	}
}
