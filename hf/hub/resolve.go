package hub

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Resolve returns a local directory holding files (paths relative to the model's root, with "/"
// separators) of idOrDir, which is either an existing directory or a hub model id such as
// "google/ddpm-ema-celebahq-256".
//
// A directory is returned as is once every file is found in it. For a model id, the cache is
// looked up first (refs/<revision> or go-huggingface's info/<revision>, then the snapshot): when
// every file is there, the snapshot directory is returned without any network access. Otherwise,
// unless opts.Offline is set, the missing files are downloaded into the cache and refs/<revision>
// is written. With no files, the whole repository at that revision is meant (like Python's
// snapshot_download): offline, the cached snapshot directory is returned if there is one.
//
// Errors match ErrNotInCache, ErrAccessDenied or ErrNotFound with errors.Is where those apply.
func Resolve(idOrDir string, files []string, opts Options) (string, error) {
	return ResolveContext(context.Background(), idOrDir, files, opts)
}

// ResolveContext is Resolve with a context that can cancel the network requests.
func ResolveContext(ctx context.Context, idOrDir string, files []string, opts Options) (string, error) {
	for _, f := range files {
		if err := validateRelPath("file name", f); err != nil {
			return "", err
		}
	}
	if dir, isDir, err := localDir(idOrDir, files); isDir || err != nil {
		return dir, err
	}
	id := idOrDir
	if err := ValidateModelID(id); err != nil {
		return "", fmt.Errorf("%q is neither an existing directory nor a model id: %w", idOrDir, err)
	}
	opts = opts.withDefaults()
	if err := validateRelPath("revision", opts.Revision); err != nil {
		return "", err
	}
	c := newRepoCache(opts.CacheDir, id)
	if dir, ok := c.lookup(opts.Revision, files); ok {
		return dir, nil
	}
	if opts.Offline {
		return "", offlineMiss(c, id, opts, files)
	}
	return download(ctx, c, remote{opts: opts, id: id}, files)
}

// localDir reports whether path is an existing directory and, if so, checks that it holds files.
func localDir(path string, files []string) (dir string, isDir bool, err error) {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("reading model directory %s: %w", path, err)
	}
	if !st.IsDir() {
		return "", false, fmt.Errorf("%s is a file: pass a model directory or a model id such as \"google/ddpm-ema-celebahq-256\"", path)
	}
	for _, f := range files {
		if !isFile(filepath.Join(path, filepath.FromSlash(f))) {
			return "", true, newError(ErrNotFound, "file %s not found in model directory %s", f, path)
		}
	}
	return path, true, nil
}

// offlineMiss words the error for files that are not in the cache while offline.
func offlineMiss(c repoCache, id string, opts Options, files []string) error {
	what := fmt.Sprintf("model %s revision %s is", id, opts.Revision)
	if commits := c.commits(opts.Revision); len(commits) > 0 && len(files) > 0 {
		if m := c.missing(commits[0], files); len(m) < len(files) {
			what = fmt.Sprintf("file(s) %s of model %s revision %s are", strings.Join(m, ", "), id, opts.Revision)
		}
	}
	return newError(ErrNotInCache,
		"%s not in the cache at %s and HF_HUB_OFFLINE is set: run once with network, or copy a diffusers folder and pass its path",
		what, opts.CacheDir)
}

// download fetches the revision's commit and file list, downloads the files its snapshot lacks,
// then records the revision in refs/ (and go-huggingface's info/).
func download(ctx context.Context, c repoCache, r remote, files []string) (string, error) {
	info, raw, err := r.revisionInfo(ctx)
	if err != nil {
		return "", err
	}
	commit := info.SHA
	listed := info.fileNames()
	if len(files) == 0 {
		files = listed
		for _, f := range files {
			if err := validateRelPath("file name", f); err != nil {
				return "", fmt.Errorf("model %s lists an unusable file: %w", r.id, err)
			}
		}
	} else if len(listed) > 0 {
		if err := checkListed(r, files, listed); err != nil {
			return "", err
		}
	}
	for _, f := range c.missing(commit, files) {
		meta, err := r.head(ctx, commit, f)
		if err != nil {
			return "", err
		}
		if err := r.downloadBlob(ctx, c, commit, f, meta); err != nil {
			return "", err
		}
		if err := c.link(commit, f, meta.etag); err != nil {
			return "", fmt.Errorf("caching file %s of model %s: %w", f, r.id, err)
		}
	}
	dir := c.snapshotDir(commit)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("creating snapshot directory: %w", err)
	}
	if rev := r.opts.Revision; rev != commit {
		if err := c.writeRef(rev, commit); err != nil {
			return "", fmt.Errorf("recording revision %s of model %s: %w", rev, r.id, err)
		}
		if err := c.writeInfo(rev, raw); err != nil {
			return "", fmt.Errorf("recording revision %s of model %s: %w", rev, r.id, err)
		}
	}
	return dir, nil
}

// checkListed reports the first requested file that the hub's file list lacks.
func checkListed(r remote, files, listed []string) error {
	have := make(map[string]bool, len(listed))
	for _, f := range listed {
		have[f] = true
	}
	for _, f := range files {
		if !have[f] {
			return newError(ErrNotFound, "file %s not found in model %s (revision %s) on %s: it has %s",
				f, r.id, r.opts.Revision, r.opts.Endpoint, summarize(listed, 12))
		}
	}
	return nil
}

// summarize joins up to n names, saying how many more there are.
func summarize(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:n], ", "), len(names)-n)
}

// ListFiles returns the files (with "/" separators) of idOrDir: those under a local directory, or
// those of a hub model at opts.Revision. Offline, the file list go-huggingface recorded in
// info/<revision> is used, else the files present in the cached snapshot.
func ListFiles(idOrDir string, opts Options) ([]string, error) {
	return ListFilesContext(context.Background(), idOrDir, opts)
}

// ListFilesContext is ListFiles with a context that can cancel the network request.
func ListFilesContext(ctx context.Context, idOrDir string, opts Options) ([]string, error) {
	if _, isDir, err := localDir(idOrDir, nil); err != nil {
		return nil, err
	} else if isDir {
		return listDir(idOrDir)
	}
	id := idOrDir
	if err := ValidateModelID(id); err != nil {
		return nil, fmt.Errorf("%q is neither an existing directory nor a model id: %w", idOrDir, err)
	}
	opts = opts.withDefaults()
	if err := validateRelPath("revision", opts.Revision); err != nil {
		return nil, err
	}
	if !opts.Offline {
		info, _, err := remote{opts: opts, id: id}.revisionInfo(ctx)
		if err != nil {
			return nil, err
		}
		return info.fileNames(), nil
	}
	c := newRepoCache(opts.CacheDir, id)
	if info, err := c.readInfo(opts.Revision); err == nil && len(info.Siblings) > 0 {
		return info.fileNames(), nil
	}
	if dir, ok := c.lookup(opts.Revision, nil); ok {
		return listDir(dir)
	}
	return nil, offlineMiss(c, id, opts, nil)
}
