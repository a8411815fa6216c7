package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/locoedit/locoedit/hf/safetensors"
	"github.com/locoedit/locoedit/hf/torch"
)

func init() {
	register("convert", "PyTorch checkpoint → safetensors: loco convert IN.pt OUT.safetensors (same tensor names and dtypes)", runConvert)
}

// runConvert reads a PyTorch state dict (zip or legacy format; nothing in it is executed) and writes its
// tensors to safetensors under the same names, in their own dtypes.
func runConvert(args []string) error {
	fs := flag.NewFlagSet("convert", flag.ContinueOnError)
	force := fs.Bool("force", false, "overwrite an existing output")
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	paths := fs.Args()
	if len(paths) > 2 { // flags after the file names
		if err := parseArgs(fs, paths[2:]); err != nil {
			return err
		}
		paths = append(paths[:2:2], fs.Args()...)
	}
	if len(paths) != 2 {
		return usageError{errors.New("give the input checkpoint and the output file: loco convert IN.pt OUT.safetensors")}
	}
	in, out := paths[0], paths[1]
	if _, err := os.Stat(out); err == nil && !*force {
		return fmt.Errorf("%s exists: pass --force to overwrite it", out)
	}
	if err := checkWritable(out, true); err != nil {
		return err
	}
	c, err := torch.Open(in)
	if err != nil {
		return err
	}
	defer c.Close()
	tensors, err := c.StateDict()
	if err != nil {
		return err
	}
	meta := map[string]string{"format": "pt", "source": filepath.Base(in), "torch_format": string(c.Format())}
	if err := safetensors.Write(out, tensors, meta); err != nil {
		return err
	}
	var bytes int
	for _, t := range tensors {
		bytes += len(t.Data)
	}
	fmt.Fprintf(os.Stderr, "wrote %d tensors (%.1f MB) from %s (%s format) to %s\n", len(tensors), float64(bytes)/1e6, in, c.Format(), out)
	return nil
}
