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
//
// Every flag and input is checked before any heavy work; errors name the problem and the fix. Exit codes: 0
// success (and `loco help`), 1 an error, 2 a usage error (unknown command or flag, stray argument), 128+n when
// stopped by signal n (SIGINT, SIGTERM: the temporary files being written are removed first).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/locoedit/locoedit/internal/atomicfile"
	"github.com/locoedit/locoedit/internal/outdir"
	_ "github.com/locoedit/locoedit/models/guided" // guided-diffusion UNets (P2 checkpoints)
	_ "github.com/locoedit/locoedit/models/molrg"  // embedded models
	_ "github.com/locoedit/locoedit/models/t2i"    // text-to-image pipelines (Stable Diffusion, latent consistency models)
)

type command struct {
	summary string
	run     func(args []string) error
	// ownSignals marks a command that handles SIGINT and SIGTERM itself (train saves its state and stops).
	ownSignals bool
}

var commands = map[string]command{}

func register(name, summary string, run func(args []string) error) {
	commands[name] = command{summary: summary, run: run}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: loco <command> [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'loco help <command>' (or 'loco <command> -h') for a command's flags.")
}

func main() {
	if len(os.Args) > 1 {
		if cmd, ok := commands[os.Args[1]]; ok && !cmd.ownSignals {
			cleanUpOnSignal(os.Args[1])
		}
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// helpOut receives the flags printed by -h and `loco help CMD`.
var helpOut io.Writer = os.Stdout

// run runs the command line args (without the program name) and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	helpOut = stdout
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	name := args[0]
	if name == "help" || name == "-h" || name == "--help" {
		if len(args) == 1 {
			usage(stdout)
			return 0
		}
		if len(args) > 2 {
			fmt.Fprintf(stderr, "loco help: give one command, not %q\n", args[1:])
			return 2
		}
		name, args = args[1], []string{args[1], "-h"}
	}
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "loco: unknown command %q\n\n", name)
		usage(stderr)
		return 2
	}
	err := cmd.run(args[1:])
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "loco %s: %s\nRun 'loco help %s' for its flags.\n", name, err, name)
		return 2
	}
	fmt.Fprintf(stderr, "loco %s: %s\n", name, strings.TrimSpace(explain(err).Error()))
	return 1
}

// cleanUpOnSignal makes SIGINT and SIGTERM remove the temporary files being written and give up the output
// folders claimed (removing those created and still empty) before the process exits with 128 + the signal.
func cleanUpOnSignal(name string) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sigs
		removed := atomicfile.RemoveTemporaries()
		outdir.ReleaseAll()
		msg := ""
		if len(removed) > 0 {
			msg = fmt.Sprintf("; removed the unfinished %s", strings.Join(removed, ", "))
		}
		fmt.Fprintf(os.Stderr, "\nloco %s: stopped (%v)%s\n", name, s, msg)
		code := 130
		if sig, ok := s.(syscall.Signal); ok {
			code = 128 + int(sig)
		}
		os.Exit(code)
	}()
}

// usageError is a mistake in the command line itself: an unknown flag, a stray argument.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// synopses are the usage lines of the commands that take arguments besides flags.
var synopses = map[string]string{
	"convert": "[--force] IN.pt OUT.safetensors",
	"lpips":   "[--lpips-weights DIR] REF.png IMG.png…",
}

// parse parses the flags of a command that takes no other arguments.
func parse(fs *flag.FlagSet, args []string) error {
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q: loco %s takes flags only (--name value); flags after it were not read",
			fs.Arg(0), fs.Name())}
	}
	return nil
}

// parseArgs parses the flags of a command and leaves its other arguments in fs.Args(). -h prints the flags on
// stdout and returns flag.ErrHelp; a bad flag is a usageError.
func parseArgs(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(helpOut)
		synopsis := "[flags]"
		if s, ok := synopses[fs.Name()]; ok {
			synopsis = s
		}
		fmt.Fprintf(helpOut, "usage: loco %s %s\n\n%s\n\nflags:\n", fs.Name(), synopsis, commands[fs.Name()].summary)
		fs.PrintDefaults()
		return err
	}
	if err != nil {
		return usageError{err}
	}
	return nil
}
