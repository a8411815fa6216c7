package hub

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	// DefaultEndpoint is the HuggingFace hub used when HF_ENDPOINT is not set.
	DefaultEndpoint = "https://huggingface.co"

	// DefaultRevision is the revision used when neither Options.Revision nor the model
	// reference ("org/name@revision") names one.
	DefaultRevision = "main"

	// DefaultStallTimeout is how long a request may go without receiving anything (headers or
	// body bytes) before it is abandoned: huggingface_hub's default HF_HUB_DOWNLOAD_TIMEOUT.
	DefaultStallTimeout = 10 * time.Second
)

// Options configure where the cache lives and how the hub is reached.
//
// OptionsFromEnv fills them from the environment. Empty CacheDir and Endpoint fall back to the
// environment's values (see CacheDir and EndpointFromEnv), an empty Revision to the model
// reference's revision or "main", and a zero StallTimeout to DefaultStallTimeout; Offline, Token,
// Verify and Progress are used exactly as given.
type Options struct {
	// CacheDir is the hub cache directory, the one holding the models--org--name folders.
	CacheDir string

	// Revision is a branch, tag, "refs/pr/N" or commit hash. Empty means the revision of the
	// model reference ("org/name@revision"), else "main"; a model reference naming another
	// revision is an error.
	Revision string

	// Offline forbids any network access: only the cache is used.
	Offline bool

	// OfflineSource names the setting that made Offline true, such as "HF_HUB_OFFLINE=1", for
	// the error messages (OptionsFromEnv fills it).
	OfflineSource string

	// Verify re-hashes every requested file already in the cache against the hash the hub gives
	// for it (SHA-256 for large files, the git blob hash for small ones); a file that does not
	// match is removed and, online, downloaded again.
	Verify bool

	// Token is sent as "Authorization: Bearer <Token>", to the endpoint's host only, and only over
	// https or to a loopback address.
	Token string

	// Endpoint is the hub's base URL, such as "https://huggingface.co".
	Endpoint string

	// StallTimeout abandons a request that receives nothing (neither headers nor body bytes) for
	// that long; a stalled download is resumed a few times before giving up. Zero means
	// DefaultStallTimeout.
	StallTimeout time.Duration

	// Progress receives a progress bar for each file downloaded and one-line notices (such as
	// waiting for another process's download); nil shows none.
	Progress io.Writer

	// HTTPClient makes the requests; nil uses a client with connection and header timeouts. Its
	// redirect policy is replaced: the token never goes to another host or over plain http, and
	// no Referer is sent.
	HTTPClient *http.Client
}

// OptionsFromEnv returns the Options that huggingface_hub would use, read from the environment:
// HF_HUB_CACHE (or HUGGINGFACE_HUB_CACHE, or $HF_HOME/hub); offline mode from HF_HUB_OFFLINE or,
// only when that is unset or empty, TRANSFORMERS_OFFLINE (1/ON/YES/TRUE in any case); HF_TOKEN (or
// HUGGING_FACE_HUB_TOKEN, or the file HF_TOKEN_PATH, default $HF_HOME/token); HF_ENDPOINT; and
// HF_HUB_DOWNLOAD_TIMEOUT (seconds) as the stall timeout. Progress bars go to standard error
// unless HF_HUB_DISABLE_PROGRESS_BARS is true.
func OptionsFromEnv() Options {
	opts := Options{
		CacheDir: envCacheDir(),
		Token:    envToken(),
		Endpoint: EndpointFromEnv(),
	}
	opts.Offline, opts.OfflineSource = envOffline()
	if s, err := strconv.ParseFloat(os.Getenv("HF_HUB_DOWNLOAD_TIMEOUT"), 64); err == nil && s > 0 && s < 1e6 {
		opts.StallTimeout = time.Duration(s * float64(time.Second))
	}
	if !envTrue("HF_HUB_DISABLE_PROGRESS_BARS") {
		opts.Progress = os.Stderr
	}
	return opts
}

// envOffline follows huggingface_hub's constants.py: HF_HUB_OFFLINE decides when it is set to a
// non-empty value (even a false one), else TRANSFORMERS_OFFLINE. It also returns the deciding
// setting, to name it in messages.
func envOffline() (bool, string) {
	for _, key := range []string{"HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"} {
		if v := os.Getenv(key); v != "" {
			return isTrue(v), key + "=" + v
		}
	}
	return false, ""
}

// CacheDir returns the hub cache directory opts use: opts.CacheDir (with a leading "~" expanded) or,
// when empty, the one the environment names (HF_HUB_CACHE, HUGGINGFACE_HUB_CACHE or $HF_HOME/hub).
func CacheDir(opts Options) string {
	if opts.CacheDir != "" {
		return expandHome(opts.CacheDir)
	}
	return envCacheDir()
}

// EndpointFromEnv returns HF_ENDPOINT without its trailing slash, or DefaultEndpoint.
func EndpointFromEnv() string {
	if e := strings.TrimRight(strings.TrimSpace(os.Getenv("HF_ENDPOINT")), "/"); e != "" {
		return e
	}
	return DefaultEndpoint
}

// HFHome returns huggingface_hub's home directory: HF_HOME, else $XDG_CACHE_HOME/huggingface, else
// ~/.cache/huggingface.
func HFHome() string {
	if h := os.Getenv("HF_HOME"); h != "" {
		return expandHome(h)
	}
	if x := os.Getenv("XDG_CACHE_HOME"); x != "" {
		return filepath.Join(expandHome(x), "huggingface")
	}
	return filepath.Join(expandHome("~/.cache"), "huggingface")
}

// withDefaults returns opts with the empty fields that have defaults filled in.
func (opts Options) withDefaults() Options {
	opts.CacheDir = CacheDir(opts)
	if opts.Revision == "" {
		opts.Revision = DefaultRevision
	}
	if opts.Endpoint == "" {
		opts.Endpoint = EndpointFromEnv()
	}
	opts.Endpoint = strings.TrimRight(opts.Endpoint, "/")
	if opts.StallTimeout <= 0 {
		opts.StallTimeout = DefaultStallTimeout
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = defaultClient()
	}
	return opts
}

// offlineReason words why no request is made, naming the setting that caused it.
func (opts Options) offlineReason() string {
	switch {
	case strings.HasPrefix(opts.OfflineSource, "TRANSFORMERS_OFFLINE"):
		return opts.OfflineSource + " forbids downloads (unset it, or set HF_HUB_OFFLINE=0, to go online)"
	case opts.OfflineSource != "":
		return opts.OfflineSource + " forbids downloads (unset it to go online)"
	}
	return "offline mode forbids downloads"
}

func envCacheDir() string {
	for _, key := range []string{"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"} {
		if d := os.Getenv(key); d != "" {
			return expandHome(d)
		}
	}
	return filepath.Join(HFHome(), "hub")
}

// envToken follows huggingface_hub's order: HF_TOKEN, HUGGING_FACE_HUB_TOKEN, then the token file.
func envToken() string {
	for _, key := range []string{"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"} {
		if t := strings.TrimSpace(os.Getenv(key)); t != "" {
			return t
		}
	}
	path := os.Getenv("HF_TOKEN_PATH")
	if path == "" {
		path = filepath.Join(HFHome(), "token")
	}
	data, err := os.ReadFile(expandHome(path))
	if err != nil {
		return "" // No token file: anonymous access, as in huggingface_hub.
	}
	return strings.TrimSpace(string(data))
}

// envTrue reports whether the variable holds one of huggingface_hub's true values.
func envTrue(key string) bool { return isTrue(os.Getenv(key)) }

// isTrue is huggingface_hub's _is_true: 1, ON, YES or TRUE in any case, with no surrounding spaces.
func isTrue(v string) bool {
	switch strings.ToUpper(v) {
	case "1", "ON", "YES", "TRUE":
		return true
	}
	return false
}

// expandHome replaces a leading "~" by the user's home directory.
func expandHome(p string) string {
	if p != "~" && !strings.HasPrefix(p, "~/") && !strings.HasPrefix(p, `~\`) {
		return p
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return p
	}
	return filepath.Join(home, p[1:])
}

// defaultClient is shared by every call that is given no HTTPClient.
var defaultClient = sync.OnceValue(func() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = time.Minute
	return &http.Client{Transport: t}
})
