// Package atomicfile writes files so that a reader sees either the old content or the new one, never part of
// it: the data goes to a temporary file in the same folder, which is synced and renamed over the target.
//
// The temporary files being written are registered, so that a program interrupted by a signal can remove them
// before it exits (RemoveTemporaries): nothing half-written is left behind, not even a hidden file.
package atomicfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// ErrInterrupted is returned by writes that start or finish after RemoveTemporaries.
var ErrInterrupted = errors.New("interrupted: temporary files were removed")

// temps registers the temporary files being written. Creating, renaming and removing them happens under the
// lock, so RemoveTemporaries never races with a write finishing: a file is either complete under its name or
// gone.
var temps = struct {
	sync.Mutex
	live   map[string]bool
	closed bool
}{live: map[string]bool{}}

// Write writes path through fn. A new file gets mode 0666 less the process's umask (as os.Create gives), an
// existing one keeps its mode; a path that exists but is not a regular file is refused. On any error the
// temporary file is removed and path is left untouched. Errors name the path.
func Write(path string, fn func(w io.Writer) error) (err error) {
	keepMode := fs.FileMode(0)
	if st, err := os.Stat(path); err == nil {
		if !st.Mode().IsRegular() {
			return fmt.Errorf("writing %s: not a regular file", path)
		}
		keepMode = st.Mode().Perm()
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := createTemp(dir, base)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			discard(tmp.Name())
			err = fmt.Errorf("writing %s: %w", path, err)
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err = fn(bw); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return err
	}
	if keepMode != 0 {
		if err = tmp.Chmod(keepMode); err != nil {
			return err
		}
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = commit(tmp.Name(), path); err != nil {
		return err
	}
	syncDir(dir)
	return nil
}

// WriteBytes writes data to path atomically (see Write).
func WriteBytes(path string, data []byte) error {
	return Write(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// TempPattern is how temporary files are named: "." + the target's base name + ".tmp-" + a random suffix.
const TempPattern = ".%s.tmp-"

// IsTemporary reports whether a file's base name is that of a temporary file of this package (TempPattern):
// one left behind by a process killed mid-write (SIGKILL cannot be caught).
func IsTemporary(name string) bool {
	rest, ok := strings.CutPrefix(name, ".")
	if !ok {
		return false
	}
	i := strings.LastIndex(rest, ".tmp-")
	if i < 1 {
		return false
	}
	suffix := rest[i+len(".tmp-"):]
	if suffix == "" || len(suffix) > 13 { // a uint64 in base 36
		return false
	}
	for _, r := range suffix {
		if (r < '0' || r > '9') && (r < 'a' || r > 'z') {
			return false
		}
	}
	return true
}

// createTemp creates and registers a new temporary file for base in dir, with mode 0666 less the umask.
func createTemp(dir, base string) (*os.File, error) {
	temps.Lock()
	defer temps.Unlock()
	if temps.closed {
		return nil, ErrInterrupted
	}
	for range 100 {
		name := filepath.Join(dir, fmt.Sprintf(TempPattern, base)+strconv.FormatUint(rand.Uint64(), 36))
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		temps.live[name] = true
		return f, nil
	}
	return nil, fmt.Errorf("no free temporary name in %s", dir)
}

// commit renames a finished temporary file over path, unless RemoveTemporaries came first.
func commit(tmp, path string) error {
	temps.Lock()
	defer temps.Unlock()
	if temps.closed {
		return ErrInterrupted
	}
	delete(temps.live, tmp)
	return os.Rename(tmp, path)
}

// discard removes a temporary file after a failed write.
func discard(tmp string) {
	temps.Lock()
	defer temps.Unlock()
	delete(temps.live, tmp)
	_ = os.Remove(tmp)
}

// RemoveTemporaries removes every temporary file being written and makes later writes fail with ErrInterrupted:
// a signal handler calls it before the program exits. It returns the files it removed.
func RemoveTemporaries() []string {
	temps.Lock()
	defer temps.Unlock()
	temps.closed = true
	var removed []string
	for name := range temps.live {
		if os.Remove(name) == nil {
			removed = append(removed, name)
		}
		delete(temps.live, name)
	}
	return removed
}

// syncDir makes a rename in dir durable where the platform allows it (best effort).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}
