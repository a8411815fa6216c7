//go:build unix

package notebooks_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// python returns Debian's python3 (the scripts need only its standard library), or skips.
func python(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	t.Skip("skipping: python3 not found")
	return ""
}

// writeNotebook writes an executed notebook whose single code cell has the given outputs.
func writeNotebook(t *testing.T, path string, outputs ...map[string]any) {
	t.Helper()
	if outputs == nil {
		outputs = []map[string]any{}
	}
	nb := map[string]any{
		"nbformat": 4, "nbformat_minor": 5, "metadata": map[string]any{},
		"cells": []any{map[string]any{
			"cell_type": "code", "id": "c1", "metadata": map[string]any{}, "execution_count": 1,
			"source": []string{"%%\n", "run()"}, "outputs": outputs,
		}},
	}
	data, err := json.Marshal(nb)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func stream(name string, text any) map[string]any {
	return map[string]any{"output_type": "stream", "name": name, "text": text}
}

func TestCheckNotebook(t *testing.T) {
	py := python(t)
	tests := []struct {
		name     string
		outputs  []map[string]any
		wantFail string // "" when the notebook must pass
	}{
		{"clean", []map[string]any{stream("stdout", "exit status 2\npanic: not on stderr\n"),
			stream("stderr", []string{"warning: slow\n", "exit status 2 was expected\n"})}, ""},
		{"no outputs", nil, ""},
		{"error output", []map[string]any{{"output_type": "error", "ename": "ERROR",
			"evalue": "undefined: x", "traceback": []string{}}}, "error output: ERROR: undefined: x"},
		{"exit status", []map[string]any{stream("stderr", "some log\nexit status 3\n")}, "stderr: exit status 3"},
		{"signal", []map[string]any{stream("stderr", []string{"signal: killed\n"})}, "stderr: signal: killed"},
		{"panic", []map[string]any{stream("stderr", []string{"goroutine 1\n", "  panic: boom\n"})}, "stderr: panic: boom"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "nb.ipynb")
			writeNotebook(t, path, tc.outputs...)
			out, err := exec.Command(py, filepath.Join(repoRoot, "scripts", "check-notebook.py"), path).CombinedOutput()
			if tc.wantFail == "" {
				if err != nil || len(out) != 0 {
					t.Errorf("check-notebook failed (%v) on a clean notebook:\n%s", err, out)
				}
				return
			}
			var exitErr *exec.ExitError
			if !errors.As(err, &exitErr) || exitErr.ExitCode() != 1 {
				t.Errorf("check-notebook: err = %v, want exit status 1; output:\n%s", err, out)
			}
			if want := "cell 1 (id c1) [run()]: " + tc.wantFail; !strings.Contains(string(out), want) {
				t.Errorf("check-notebook output lacks %q:\n%s", want, out)
			}
		})
	}
}

func TestExtractFigures(t *testing.T) {
	py := python(t)
	dir, figs := t.TempDir(), t.TempDir()
	first, second := []byte("\x89PNG first"), []byte("\x89PNG second")
	b64 := base64.StdEncoding.EncodeToString
	// The second image is stored as a list of strings, as nbformat may write it.
	enc2 := b64(second)
	nbPath := filepath.Join(dir, "demo.ipynb")
	writeNotebook(t, nbPath,
		map[string]any{"output_type": "display_data", "metadata": map[string]any{},
			"data": map[string]any{"image/png": b64(first), "text/plain": "img"}},
		stream("stdout", "text\n"),
		map[string]any{"output_type": "execute_result", "execution_count": 1, "metadata": map[string]any{},
			"data": map[string]any{"image/png": []string{enc2[:4], enc2[4:]}}},
	)
	// Left from an earlier run: demo-3.png is stale; the others belong to other names.
	for _, name := range []string{"demo-3.png", "demo-extra.png", "other-1.png"} {
		if err := os.WriteFile(filepath.Join(figs, name), []byte("old"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command(py, filepath.Join(repoRoot, "scripts", "extract-figures.py"), nbPath, figs).CombinedOutput()
	if err != nil {
		t.Fatalf("extract-figures: %v\n%s", err, out)
	}
	for name, want := range map[string][]byte{"demo-1.png": first, "demo-2.png": second,
		"demo-extra.png": []byte("old"), "other-1.png": []byte("old")} {
		got, err := os.ReadFile(filepath.Join(figs, name))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s = %q (err %v), want %q", name, got, err, want)
		}
	}
	if _, err := os.Stat(filepath.Join(figs, "demo-3.png")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale demo-3.png still there (stat err %v)", err)
	}
	if entries, _ := os.ReadDir(figs); len(entries) != 4 {
		t.Errorf("figure folder holds %d entries, want 4 (no temporary files left)", len(entries))
	}
}

func TestPublishNotebook(t *testing.T) {
	py := python(t)
	script := filepath.Join(repoRoot, "scripts", "publish-notebook.py")
	dir, pub := t.TempDir(), t.TempDir()
	connection := map[string]any{"output_type": "display_data", "metadata": map[string]any{},
		"data": map[string]any{"text/html": []string{"<script>\"use strict\";\n", "globalThis.gonb_comm = {};\n", "</script>"}}}
	image := map[string]any{"output_type": "display_data", "metadata": map[string]any{},
		"data": map[string]any{"image/png": "iVBORw0KGgo="}}
	panel := map[string]any{"output_type": "display_data", "metadata": map[string]any{},
		"data": map[string]any{"text/html": "<div class=\"loco-explorer\">closed</div>"}}
	nbPath := filepath.Join(dir, "demo.ipynb")
	writeNotebook(t, nbPath, connection, stream("stdout", "locality 0.953\n"), connection, panel, image)

	out, err := exec.Command(py, script, "--note", "quick mode, 2026-11-30", nbPath, pub).CombinedOutput()
	if err != nil {
		t.Fatalf("publish-notebook: %v\n%s", err, out)
	}
	data, err := os.ReadFile(filepath.Join(pub, "demo.ipynb"))
	if err != nil {
		t.Fatal(err)
	}
	var nb struct {
		Cells []struct {
			CellType string           `json:"cell_type"`
			Source   []string         `json:"source"`
			Outputs  []map[string]any `json:"outputs"`
		} `json:"cells"`
	}
	if err := json.Unmarshal(data, &nb); err != nil {
		t.Fatalf("published copy is not JSON: %v", err)
	}
	if len(nb.Cells) != 2 || nb.Cells[0].CellType != "markdown" {
		t.Fatalf("published copy has %d cells, want the header and the code cell:\n%s", len(nb.Cells), data)
	}
	header := strings.Join(nb.Cells[0].Source, "")
	for _, want := range []string{"[`notebooks/demo.ipynb`](../../notebooks/demo.ipynb)", "quick mode, 2026-11-30"} {
		if !strings.Contains(header, want) {
			t.Errorf("header %q lacks %q", header, want)
		}
	}
	// The two connection scripts are gone; the text, the panel and the image stay, in order.
	var kinds []string
	for _, o := range nb.Cells[1].Outputs {
		kind := o["output_type"].(string)
		if d, ok := o["data"].(map[string]any); ok {
			for k := range d {
				kind += " " + k
			}
		}
		kinds = append(kinds, kind)
	}
	if got, want := strings.Join(kinds, ", "), "stream, display_data text/html, display_data image/png"; got != want {
		t.Errorf("published outputs: %s, want %s", got, want)
	}

	// An output that shows the repository's absolute path is not published.
	abs, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	leaky := filepath.Join(dir, "leaky.ipynb")
	writeNotebook(t, leaky, stream("stderr", "open "+filepath.Join(abs, "loco", "x.go")+": no such file\n"))
	out, err = exec.Command(py, script, leaky, pub).CombinedOutput()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 1 || !strings.Contains(string(out), "machine path") {
		t.Errorf("publish-notebook on a leaking notebook: err %v, output %q; want exit status 1 naming the machine path", err, out)
	}
	if _, err := os.Stat(filepath.Join(pub, "leaky.ipynb")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("leaky.ipynb was published (stat err %v)", err)
	}
}
