package hub

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// maxLocalFiles bounds the files listed under a local model directory, so that a directory passed
// by mistake (a home folder) fails fast.
const maxLocalFiles = 100_000

// Resolve returns a local directory holding the files of idOrDir that want selects (see Files;
// nil means AllFiles). idOrDir is an existing directory, or a hub model reference: a model id such
// as "google/ddpm-ema-celebahq-256", optionally with a revision, "org/name@revision".
//
// A directory is returned as is once the selection is found in it. For a model, online, the hub
// is asked for the revision's commit and file list (one small request; none when the revision is
// a commit whose file list is cached and whose selected files are all there): the selected files
// that snapshots/<commit> lacks are downloaded, and refs/<revision> then points to that commit, so
// a moved branch is followed. Offline (opts.Offline), or when the hub cannot be reached, the cache
// serves the revision if it holds every selected file: the file list recorded for the commit
// (huggingface_hub's trees/<commit>.json, or info/) decides what "every" is, so a partial snapshot
// is never taken for a complete one; without a recorded list, the files present are all there is.
//
// Errors match ErrNotInCache, ErrAccessDenied, ErrNotFound or ErrCorrupt with errors.Is where
// those apply.
func Resolve(idOrDir string, want Files, opts Options) (string, error) {
	return ResolveContext(context.Background(), idOrDir, want, opts)
}

// ResolveContext is Resolve with a context that can cancel the network requests.
func ResolveContext(ctx context.Context, idOrDir string, want Files, opts Options) (string, error) {
	if want == nil {
		want = AllFiles
	}
	if v, ok := want.(interface{ validate() error }); ok {
		if err := v.validate(); err != nil {
			return "", err
		}
	}
	s, isDir, err := newResolver(ctx, idOrDir, want, opts)
	if err != nil {
		return "", err
	}
	if isDir {
		return resolveDir(idOrDir, want)
	}
	if s.opts.Offline {
		return s.cached(nil)
	}
	return s.online()
}

// resolver resolves one model reference.
type resolver struct {
	ctx  context.Context
	opts Options // with defaults filled in; Revision is the one to use
	id   string
	want Files
	c    repoCache
	r    remote
}

// newResolver checks idOrDir and opts; isDir reports that idOrDir is an existing directory (then
// s is nil).
func newResolver(ctx context.Context, idOrDir string, want Files, opts Options) (s *resolver, isDir bool, err error) {
	if isDir, err := isLocalDir(idOrDir); err != nil {
		return nil, false, err
	} else if isDir {
		if opts.Revision != "" {
			return nil, false, fmt.Errorf("%s is a local folder: a revision (%s) applies only to hub model ids", idOrDir, opts.Revision)
		}
		return nil, true, nil
	}
	id, refRev, err := ParseModelRef(idOrDir)
	if err != nil {
		return nil, false, fmt.Errorf("%q is neither an existing directory nor a model id: %w", idOrDir, err)
	}
	if refRev != "" {
		if opts.Revision != "" && opts.Revision != refRev {
			return nil, false, fmt.Errorf("model reference %s names revision %s, but revision %s is given too: give only one", idOrDir, refRev, opts.Revision)
		}
		opts.Revision = refRev
	}
	if opts.Revision != "" {
		if err := ValidateRevision(opts.Revision); err != nil {
			return nil, false, err
		}
	}
	opts = opts.withDefaults()
	r, err := newRemote(opts, id)
	if err != nil && !opts.Offline {
		return nil, false, err
	}
	return &resolver{ctx: ctx, opts: opts, id: id, want: want, c: newRepoCache(opts.CacheDir, id), r: r}, false, nil
}

// isLocalDir reports whether path is an existing directory.
func isLocalDir(path string) (bool, error) {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrInvalid) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading model directory %s: %w", path, err)
	}
	if !st.IsDir() {
		return false, fmt.Errorf("%s is a file: pass a model directory or a model id such as \"google/ddpm-ema-celebahq-256\"", path)
	}
	return true, nil
}

// resolveDir checks that dir holds the selection.
func resolveDir(dir string, want Files) (string, error) {
	if p, ok := want.(Paths); ok { // no need to list the whole folder
		for _, f := range p {
			if !isFile(filepath.Join(dir, filepath.FromSlash(f))) {
				return "", newError(ErrNotFound, "file %s not found in model directory %s", f, dir)
			}
		}
		return dir, nil
	}
	names, err := listLocal(dir)
	if err != nil {
		return "", err
	}
	if _, err := want.Select(names); err != nil {
		return "", fmt.Errorf("model directory %s: %w", dir, err)
	}
	return dir, nil
}

// listLocal lists a local model directory, refusing one with more than maxLocalFiles files.
func listLocal(dir string) ([]string, error) {
	n := 0
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if n++; n > maxLocalFiles {
				return fmt.Errorf("model directory %s holds more than %d files: pass the model's own folder", dir, maxLocalFiles)
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return listDir(dir)
}

// online asks the hub for the revision's commit and file list, then downloads what the snapshot
// lacks; when the hub cannot be reached, the cache stands in if it can.
func (s *resolver) online() (string, error) {
	if commit := s.opts.Revision; isCommitHash(commit) && !s.opts.Verify {
		if l := s.c.readListing(commit, ""); l != nil {
			if need, err := s.want.Select(l.names); err == nil && len(s.c.missing(commit, need)) == 0 {
				return s.c.snapshotDir(commit), nil // a pinned, complete commit: no request at all
			}
		}
	}
	l, raw, err := s.r.revisionInfo(s.ctx)
	if err != nil {
		if errors.Is(err, ErrNotFound) || s.ctx.Err() != nil {
			return "", err
		}
		dir, cerr := s.cached(err)
		if cerr != nil {
			return "", fmt.Errorf("%w; %w", err, cerr)
		}
		s.notice("hub: %v\nhub: using the cached copy of model %s in %s\n", err, s.id, dir)
		return dir, nil
	}
	s.c.saveListing(l, raw)
	need, err := s.want.Select(l.names)
	if err != nil {
		return "", fmt.Errorf("model %s (revision %s) on %s: %w", s.id, s.opts.Revision, s.opts.Endpoint, err)
	}
	if s.opts.Verify {
		if _, err := s.verify(l.commit, need, l); err != nil {
			return "", err
		}
	}
	for _, f := range s.c.missing(l.commit, need) {
		if err := s.r.fetch(s.ctx, s.c, l.commit, f, l); err != nil {
			return "", err
		}
	}
	dir := s.c.snapshotDir(l.commit)
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return "", fmt.Errorf("creating snapshot directory: %w", err)
	}
	if rev := s.opts.Revision; rev != l.commit {
		if err := s.c.writeRef(rev, l.commit); err != nil {
			return "", fmt.Errorf("recording revision %s of model %s: %w", rev, s.id, err)
		}
		_ = writeFileAtomic(s.c.infoPath(rev), raw) // go-huggingface's record; optional
	}
	return dir, nil
}

// cached serves the revision from the cache. cause is why the hub is not asked: nil when offline,
// else the error reaching it.
func (s *resolver) cached(cause error) (string, error) {
	commits := s.c.commits(s.opts.Revision)
	if len(commits) == 0 {
		return "", s.notInCache(cause, fmt.Sprintf("model %s revision %s is not in the cache at %s", s.id, s.opts.Revision, s.opts.CacheDir))
	}
	var first error
	for _, commit := range commits {
		dir, err := s.cachedCommit(commit, cause)
		if err == nil {
			return dir, nil
		}
		if first == nil {
			first = err
		}
	}
	return "", first
}

// cachedCommit serves snapshots/<commit> if it holds the selection.
func (s *resolver) cachedCommit(commit string, cause error) (string, error) {
	l := s.c.readListing(commit, s.opts.Revision)
	var names []string
	if l != nil {
		names = l.names
	} else if names = s.c.snapshotFiles(commit); names == nil {
		return "", s.notInCache(cause, fmt.Sprintf("model %s revision %s (commit %s) is not in the cache at %s", s.id, s.opts.Revision, commit, s.opts.CacheDir))
	}
	need, err := s.want.Select(names)
	if err != nil {
		if l != nil { // the model itself lacks it
			return "", fmt.Errorf("model %s (revision %s, commit %s): %w", s.id, s.opts.Revision, commit, err)
		}
		return "", s.notInCache(cause, fmt.Sprintf("the cached copy of model %s revision %s (commit %s, in %s) is partial: %v",
			s.id, s.opts.Revision, commit, s.opts.CacheDir, err))
	}
	if m := s.c.missing(commit, need); len(m) > 0 {
		return "", s.notInCache(cause, fmt.Sprintf("file(s) %s of model %s revision %s (commit %s) are not in the cache at %s",
			summarize(m, 12), s.id, s.opts.Revision, commit, s.opts.CacheDir))
	}
	if s.opts.Verify {
		bad, err := s.verify(commit, need, l)
		if err != nil {
			return "", err
		}
		if len(bad) > 0 {
			what := fmt.Sprintf("file(s) of model %s revision %s in the cache did not match their hash and were removed: %s",
				s.id, s.opts.Revision, summarize(bad, 4))
			return "", &hubError{kind: ErrCorrupt, msg: s.notInCache(cause, what).Error()}
		}
	}
	return s.c.snapshotDir(commit), nil
}

// notInCache words a cache miss; offline (cause nil), it says which setting forbids downloading.
func (s *resolver) notInCache(cause error, what string) error {
	if cause != nil {
		return newError(ErrNotInCache, "%s", what)
	}
	return newError(ErrNotInCache, "%s, and %s; or pass the path of a local diffusers folder", what, s.opts.offlineReason())
}

// verify re-hashes the files of need present in snapshots/<commit> against the hash the file list
// (or else the blob's name) gives. Each one that does not match is removed, blob and link, and
// reported in bad; it then counts as missing.
func (s *resolver) verify(commit string, need []string, l *listing) (bad []string, err error) {
	for _, f := range need {
		p := s.c.snapshotPath(commit, f)
		if !isFile(p) {
			continue
		}
		blob := s.c.blobName(commit, f)
		want := contentHash{}
		if e, ok := l.entry(f); ok {
			want = e.contentHash()
		}
		if !want.known() {
			want = hashFromName(blob)
		}
		if !want.known() {
			return nil, fmt.Errorf("cannot verify file %s of model %s (commit %s): no hash is known for it (its blob name %q is not one); delete %s to download it again, or do not ask for verification",
				f, s.id, commit, blob, p)
		}
		err := want.checkFile(p)
		var mismatch *hashMismatch
		if errors.As(err, &mismatch) {
			bad = append(bad, fmt.Sprintf("%s (%v)", f, err))
			if blob != "" {
				_ = os.Remove(s.c.blobPath(blob))
			}
			_ = os.Remove(p)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("verifying file %s of model %s: %w", f, s.id, err)
		}
	}
	return bad, nil
}

// notice writes a one-line message where progress goes.
func (s *resolver) notice(format string, args ...any) {
	if s.opts.Progress != nil {
		fmt.Fprintf(s.opts.Progress, format, args...)
	}
}

// ListFiles returns the files (with "/" separators, sorted) of idOrDir: those under a local
// directory, or those of a hub model at its revision (see Resolve for model references). Offline,
// or when the hub cannot be reached, the file list recorded in the cache is used, else the files
// present in the cached snapshot.
func ListFiles(idOrDir string, opts Options) ([]string, error) {
	return ListFilesContext(context.Background(), idOrDir, opts)
}

// ListFilesContext is ListFiles with a context that can cancel the network request.
func ListFilesContext(ctx context.Context, idOrDir string, opts Options) ([]string, error) {
	s, isDir, err := newResolver(ctx, idOrDir, AllFiles, opts)
	if err != nil {
		return nil, err
	}
	if isDir {
		return listLocal(idOrDir)
	}
	var cause error
	if !s.opts.Offline {
		l, _, err := s.r.revisionInfo(ctx)
		switch {
		case err == nil && l.names == nil:
			return nil, fmt.Errorf("model %s (revision %s) on %s: %w", s.id, s.opts.Revision, s.opts.Endpoint, errNoList)
		case err == nil:
			return l.names, nil
		case errors.Is(err, ErrNotFound) || ctx.Err() != nil:
			return nil, err
		}
		cause = err
	}
	for _, commit := range s.c.commits(s.opts.Revision) {
		if l := s.c.readListing(commit, s.opts.Revision); l != nil {
			return l.names, nil
		}
		if names := s.c.snapshotFiles(commit); names != nil {
			return names, nil
		}
	}
	miss := s.notInCache(cause, fmt.Sprintf("model %s revision %s is not in the cache at %s", s.id, s.opts.Revision, s.opts.CacheDir))
	if cause != nil {
		return nil, fmt.Errorf("%w; %w", cause, miss)
	}
	return nil, miss
}
