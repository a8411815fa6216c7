// Package outdir claims an output folder for one run of a command, so that two runs can never mix their files
// in one folder: the folder is created if it does not exist, and a lock file in it (LockName, an flock(2) lock,
// released by the system when the process ends, however it ends) says which run writes there. A second run
// into the same folder fails at once. Messages name the flags the commands share: --out and --force.
package outdir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"

	"github.com/gofrs/flock"

	"github.com/locoedit/locoedit/internal/atomicfile"
)

// LockName is the lock file a run keeps in its output folder while it writes there.
const LockName = ".loco.lock"

// ErrInUse is what errors.Is finds in the error of a claim on a folder another run holds.
var ErrInUse = errors.New("output folder in use by another run")

// A Claim is an output folder held by this process.
type Claim struct {
	// Dir is the folder.
	Dir     string
	created bool // the folder did not exist before the claim
	lock    *flock.Flock
	once    sync.Once
}

// live holds the claims not yet released, for ReleaseAll.
var live = struct {
	sync.Mutex
	claims map[*Claim]bool
}{claims: map[*Claim]bool{}}

// New claims dir for this run: it creates the folder (and its parents) if needed, takes the lock, and refuses a
// folder that another run holds, or one that already holds files unless force is set (they may then be
// overwritten). Temporary files a killed run left behind (atomicfile.IsTemporary) are removed. The check is complete before any work starts: a folder that cannot be created or written to
// is refused here too.
func New(dir string, force bool) (*Claim, error) {
	if dir == "" {
		return nil, errors.New("--out (an output folder) is required")
	}
	c := &Claim{Dir: dir}
	if err := os.MkdirAll(filepath.Dir(filepath.Clean(dir)), 0o777); err != nil {
		return nil, fmt.Errorf("creating output folder %s: %w", dir, err)
	}
	switch err := os.Mkdir(dir, 0o777); {
	case err == nil:
		c.created = true
	case errors.Is(err, fs.ErrExist):
		st, err := os.Stat(dir)
		if err != nil {
			return nil, fmt.Errorf("output folder %s: %w", dir, err)
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("output folder %s exists and is not a folder: choose another --out", dir)
		}
	default:
		return nil, fmt.Errorf("creating output folder %s: %w", dir, err)
	}
	if err := c.takeLock(); err != nil {
		c.removeCreated()
		return nil, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		c.Release(false)
		return nil, fmt.Errorf("output folder %s: %w", dir, err)
	}
	// With the lock held no other run writes here: temporary files are those of a run that was killed mid-write.
	entries = slices.DeleteFunc(entries, func(e fs.DirEntry) bool {
		return e.Type().IsRegular() && atomicfile.IsTemporary(e.Name()) && os.Remove(filepath.Join(dir, e.Name())) == nil
	})
	if len(entries) > 1 && !force { // the lock file is one of them
		c.Release(false)
		return nil, fmt.Errorf("output folder %s is not empty: pass --force to overwrite its files, or choose another --out", dir)
	}
	live.Lock()
	live.claims[c] = true
	live.Unlock()
	return c, nil
}

// takeLock takes the folder's lock file, making sure the file locked is the one the folder holds (a run that
// releases its claim removes the file, which another process may have opened just before).
func (c *Claim) takeLock() error {
	path := filepath.Join(c.Dir, LockName)
	for range 10 {
		l := flock.New(path, flock.SetPermissions(0o666))
		ok, err := l.TryLock()
		if err != nil {
			_ = l.Close()
			if errors.Is(err, fs.ErrPermission) {
				return fmt.Errorf("output folder %s is not writable: %w", c.Dir, err)
			}
			return fmt.Errorf("locking output folder %s: %w", c.Dir, err)
		}
		if !ok {
			_ = l.Close()
			holder := ""
			if pid, err := os.ReadFile(path); err == nil && len(pid) > 0 && len(pid) < 32 {
				holder = " (process " + string(pid) + ")"
			}
			return fmt.Errorf("%w: %s is being written by another run%s, which holds %s: wait for it to end, or choose another --out",
				ErrInUse, c.Dir, holder, path)
		}
		held, err1 := l.Stat()
		named, err2 := os.Stat(path)
		if err1 == nil && err2 == nil && os.SameFile(held, named) {
			c.lock = l
			_ = os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())), 0o666)
			return nil
		}
		_ = l.Unlock() // the file was removed meanwhile: lock the new one
		_ = l.Close()
	}
	return fmt.Errorf("locking output folder %s: the lock file %s keeps changing", c.Dir, path)
}

// Release gives the folder up: the lock file is removed and, when failed is set, a folder the claim created is
// removed too if nothing was written into it. Releasing twice does nothing.
func (c *Claim) Release(failed bool) {
	c.once.Do(func() {
		live.Lock()
		delete(live.claims, c)
		live.Unlock()
		if c.lock != nil {
			_ = os.Remove(c.lock.Path()) // before unlocking: see takeLock
			_ = c.lock.Unlock()
			_ = c.lock.Close()
		}
		if failed {
			c.removeCreated()
		}
	})
}

// removeCreated removes the folder if the claim created it and it is empty.
func (c *Claim) removeCreated() {
	if c.created {
		_ = os.Remove(c.Dir) // fails, as it should, when the folder holds anything
	}
}

// ReleaseAll releases every claim of the process as failed: a signal handler calls it before the program
// exits.
func ReleaseAll() {
	live.Lock()
	claims := make([]*Claim, 0, len(live.claims))
	for c := range live.claims {
		claims = append(claims, c)
	}
	live.Unlock()
	for _, c := range claims {
		c.Release(true)
	}
}
