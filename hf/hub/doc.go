// Package hub resolves a HuggingFace model reference (such as "google/ddpm-ema-celebahq-256" or
// "org/name@revision") or a local directory to a local directory that holds the files the caller
// needs, sharing the cache with Python's huggingface_hub and with go-huggingface.
//
// The caller says which files it needs (Files: Paths, Match, Diffusers, AllFiles), so that a model
// id never downloads the whole repository: Diffusers("unet", "scheduler") takes configs and one
// weight format (safetensors before .bin), and a pipeline's named subfolders only.
//
// The cache is huggingface_hub's:
//
//	<cache>/models--org--name/
//	    blobs/<etag>                        file contents, named by their ETag (SHA-256 for LFS files,
//	                                        the git blob id for the others)
//	    blobs/<etag>.incomplete             a download in progress, resumed by either client
//	    snapshots/<commit>/<path>           relative symbolic links to ../../blobs/<etag>
//	    refs/<revision>                     the commit hash the revision pointed to
//	    trees/<commit>.json                 the commit's file list (huggingface_hub's tree cache)
//	    info/<revision or commit>           the hub's revision answer (go-huggingface's record)
//	<cache>/.locks/models--org--name/<etag>.lock   flock(2) locks, as Python's filelock takes them
//
// Online, one request asks the hub for the revision's commit and file list (with sizes and
// hashes); none when the revision is a commit whose file list is cached and whose files are all
// there. The selected files the snapshot lacks are fetched: a HEAD gives each one's ETag, size and
// location (a large file's redirect to its storage, which the GET then uses directly, with no
// token and no Referer), and the content goes to blobs/<etag>.incomplete under the blob's lock,
// resumed with HTTP Range requests after an interruption, then checked against the size and the
// hash the hub gives before it is renamed. A transfer that receives nothing for the stall timeout
// is abandoned and resumed. refs/<revision> is written last, so a moved branch is followed.
//
// Offline, or when the hub cannot be reached, a cached revision serves only if every selected file
// is there: the recorded file list of the commit (trees/ or info/) decides, so a partial snapshot
// (huggingface_hub writes refs/ before the files) is never taken for a complete one.
//
// The token goes only to the endpoint's own host, over https (or to a hub on this machine), never
// to another host nor after a redirect to plain http. Options.Verify re-hashes cached files.
//
// Environment (read by OptionsFromEnv, as huggingface_hub reads it): HF_HOME (default
// $XDG_CACHE_HOME/huggingface or ~/.cache/huggingface), HF_HUB_CACHE (default $HF_HOME/hub),
// HF_HUB_OFFLINE (or, when it is unset or empty, TRANSFORMERS_OFFLINE), HF_TOKEN (or the file
// $HF_HOME/token), HF_ENDPOINT (default https://huggingface.co), HF_HUB_DOWNLOAD_TIMEOUT (the
// stall timeout in seconds, default 10) and HF_HUB_DISABLE_PROGRESS_BARS.
//
// Package hubtest is a loopback fake of the hub for tests.
package hub
