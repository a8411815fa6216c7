// Command loco runs LOCO-Edit and its reference checks from the command line: every stage reads and writes
// safetensors (NCHW float32), so each one can be checked against the authors' code or diffusers.
//
//	loco demo      the main job: invert a test image, find a local edit direction, write strip, plots, report
//	loco eps       noise prediction ε and x̂0 for a batch
//	loco jvp       exact Jacobian products of x̂0 (and ε)
//	loco invert    DDIM inversion of images
//	loco sample    DDIM sampling between two grid indices
//	loco samples   a PNG grid of new samples (one column per class for class-conditional models)
//	loco direction the masked, null-space-projected edit direction (Algorithm 1)
//	loco edit      image + mask → edit strip (inversion, direction, editing end to end)
//	loco apply     a saved direction (or several, composed) → another image or timestep
//	loco fit       refit the embedded Fashion-MNIST mixture of low-rank Gaussians
//	loco convert   a PyTorch checkpoint (.pt) → safetensors with the same tensor names
//
// Models: --model takes an embedded name (fashion-molrg-32), a local model folder (diffusers, or guided-diffusion with
// config.json), a HuggingFace model id (resolved offline-first through the standard cache), or a weights file
// with its architecture (--model ffhq_p2.pt --arch p2-256). The backend comes from GOMLX_BACKEND (default: the
// pure-Go backend; xla:cuda on a GPU).
package main

import (
	"fmt"
	"os"
	"sort"
	"strings"

	_ "github.com/locoedit/locoedit/models/guided" // guided-diffusion UNets (P2 checkpoints)
	_ "github.com/locoedit/locoedit/models/molrg"  // embedded models
)

type command struct {
	summary string
	run     func(args []string) error
}

var commands = map[string]command{}

func register(name, summary string, run func(args []string) error) {
	commands[name] = command{summary, run}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: loco <command> [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(os.Stderr, "\nRun 'loco <command> -h' for a command's flags.")
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		usage()
		os.Exit(2)
	}
	cmd, ok := commands[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "loco: unknown command %q\n\n", os.Args[1])
		usage()
		os.Exit(2)
	}
	if err := cmd.run(os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "loco %s: %s\n", os.Args[1], strings.TrimSpace(err.Error()))
		os.Exit(1)
	}
}
