// Command gpucheck is the Go side of the prepared GPU run (scripts/gpu/run.sh): golden checks of the UNet
// against diffusers, timings of forward/VJP/JVP and a whole LOCO edit, and the run's report. It runs on the
// backend GOMLX_BACKEND names (XLA/CUDA on the GPU machine, the pure-Go backend for the dry run).
//
//	gpucheck golden --golden testdata/golden --json golden.json
//	gpucheck bench  --config CONFIG --batch 1,8 --edit --save-model DIR --json bench.json
//	gpucheck tloco  --unet-config CONFIG --vae-config CONFIG --size 512 --json tloco.json
//	gpucheck report --work DIR --out report.md --json results.json
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/locoedit/locoedit/internal/atomicfile"
	"github.com/locoedit/locoedit/mlx"
)

func main() {
	cmds := map[string]func([]string) error{"golden": runGolden, "bench": runBench, "tloco": runTLOCO, "report": runReport}
	if len(os.Args) < 2 || cmds[os.Args[1]] == nil {
		fmt.Fprintln(os.Stderr, "usage: gpucheck golden|bench|tloco|report [flags] (-h for the flags)")
		os.Exit(2)
	}
	if err := cmds[os.Args[1]](os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "gpucheck %s: %s\n", os.Args[1], strings.TrimSpace(err.Error()))
		os.Exit(1)
	}
}

// backendInfo describes the backend in use.
func backendInfo() (name, desc string, err error) {
	b, err := mlx.Backend()
	if err != nil {
		return "", "", err
	}
	return b.Name(), b.Description(), nil
}

// writeJSON writes v to path atomically (indented).
func writeJSON(path string, v any) error {
	if path == "" {
		return nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", " ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	return atomicfile.WriteBytes(path, buf.Bytes())
}

// readJSON reads path into v; a missing file leaves v alone and returns false.
func readJSON(path string, v any) (bool, error) {
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return true, nil
}
