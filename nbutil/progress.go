package nbutil

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
)

// Progress returns a progress bar for n steps labelled desc; call Add(1) after each step.
//
// In a notebook it writes to stdout, which GoNB shows as a normal output line (stderr would be
// shown as an error stream, and the notebook checker scans stderr). Outside a notebook it writes
// to stderr.
func Progress(n int, desc string) *progressbar.ProgressBar {
	w := io.Writer(os.Stderr)
	if IsNotebook() {
		w = os.Stdout
	}
	return newProgress(w, n, desc)
}

// newProgress builds the bar used by Progress on writer w.
func newProgress(w io.Writer, n int, desc string) *progressbar.ProgressBar {
	return progressbar.NewOptions(n,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionSetWidth(30), // notebooks have no terminal width to measure
		progressbar.OptionShowCount(),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
	)
}
