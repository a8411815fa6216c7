// Package nbutil holds small helpers for the project's GoNB notebooks: rich display (images,
// Markdown), progress bars that render in a notebook, and the notebook-run settings.
//
// Every function also works outside a notebook (in tests or command-line programs): the display
// functions then do nothing and the progress bar writes to stderr.
//
// Importing this package makes the module require github.com/janpfeifer/gonb, which GoNB needs to
// resolve its gonbui package without asking the module proxy for the latest version.
package nbutil

import (
	"os"

	"github.com/janpfeifer/gonb/gonbui"
)

// QuickEnv is the environment variable that asks notebooks for a quick run (smaller data, fewer
// steps). scripts/run-notebooks.sh --quick sets it to "1".
const QuickEnv = "LOCO_QUICK"

// IsNotebook reports whether the program runs as a cell of a GoNB notebook.
func IsNotebook() bool {
	return gonbui.IsNotebook
}

// Quick reports whether the notebook run asked for quick mode ($LOCO_QUICK=1, see QuickEnv).
func Quick() bool {
	return os.Getenv(QuickEnv) == "1"
}

// Sync waits until GoNB has received all display data sent so far. End a cell that displays
// something with Sync: otherwise the last output can be lost when the cell program exits.
// Outside a notebook it does nothing.
func Sync() {
	gonbui.Sync()
}
