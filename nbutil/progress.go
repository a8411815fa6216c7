package nbutil

import (
	"io"
	"os"

	"github.com/schollz/progressbar/v3"

	"github.com/locoedit/locoedit/internal/progress"
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
	return progress.New(w, n, desc)
}
