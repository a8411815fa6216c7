// Package hub resolves a HuggingFace model id (such as "google/ddpm-ema-celebahq-256") or a local
// directory to a local directory that holds the requested files, the way Python's huggingface_hub
// does, offline first.
//
// The cache is shared with Python's huggingface_hub and with github.com/gomlx/go-huggingface:
//
//	<cache>/models--org--name/
//	    blobs/<etag>                        file contents, named by their ETag
//	    snapshots/<commit>/<path>           relative symbolic links to ../../blobs/<etag>
//	    refs/<revision>                     the commit hash the revision pointed to
//	    info/<revision>                     go-huggingface's copy of the revision API answer
//
// A lookup reads refs/<revision> (Python) or info/<revision> (go-huggingface); a revision that is
// already a 40-hex commit hash is used as is. When every requested file is in that snapshot, no
// network call is made. On a miss the files are downloaded (unless offline), each one to a temporary
// file in blobs/ that is renamed only once it is complete and checked, so an interrupted transfer
// never leaves a corrupt blob or snapshot link behind; refs/<revision> is then written so that a
// later offline run works with this package and with Python alike.
//
// The downloads are made here rather than by go-huggingface v0.3.1, whose downloader reports success
// for a transfer cut midway and stores the truncated file as a blob, and which cannot run offline.
//
// Environment (read by OptionsFromEnv, as huggingface_hub reads it): HF_HOME (default
// $XDG_CACHE_HOME/huggingface or ~/.cache/huggingface), HF_HUB_CACHE (default $HF_HOME/hub),
// HF_HUB_OFFLINE, HF_TOKEN (or the file $HF_HOME/token), HF_ENDPOINT (default
// https://huggingface.co) and HF_HUB_DISABLE_PROGRESS_BARS.
package hub
