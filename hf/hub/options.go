package hub

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

const (
	// DefaultEndpoint is the HuggingFace hub used when HF_ENDPOINT is not set.
	DefaultEndpoint = "https://huggingface.co"

	// DefaultRevision is the revision used when Options.Revision is empty.
	DefaultRevision = "main"
)

// Options configure where the cache lives and how the hub is reached.
//
// OptionsFromEnv fills them from the environment. Empty CacheDir and Endpoint fall back to the
// environment's values (see CacheDir and EndpointFromEnv) and an empty Revision to "main"; Offline,
// Token and Progress are used exactly as given.
type Options struct {
	// CacheDir is the hub cache directory, the one holding the models--org--name folders.
	CacheDir string

	// Revision is a branch, tag or commit hash; "main" when empty.
	Revision string

	// Offline forbids any network access: only the cache is used.
	Offline bool

	// Token is sent as "Authorization: Bearer <Token>" when not empty.
	Token string

	// Endpoint is the hub's base URL, such as "https://huggingface.co".
	Endpoint string

	// Progress receives a progress bar for each file downloaded; nil shows none.
	Progress io.Writer

	// HTTPClient makes the requests; nil uses a client with connection and header timeouts but no
	// overall timeout. Its redirect policy is replaced (the token is never sent to another host).
	HTTPClient *http.Client
}

// OptionsFromEnv returns the Options that huggingface_hub would use, read from the environment:
// HF_HUB_CACHE (or HUGGINGFACE_HUB_CACHE, or $HF_HOME/hub), HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE)
// set to 1/true/yes/on, HF_TOKEN (or HUGGING_FACE_HUB_TOKEN, or the file HF_TOKEN_PATH, default
// $HF_HOME/token) and HF_ENDPOINT. Progress bars go to standard error unless
// HF_HUB_DISABLE_PROGRESS_BARS is true.
func OptionsFromEnv() Options {
	opts := Options{
		CacheDir: envCacheDir(),
		Revision: DefaultRevision,
		Offline:  envTrue("HF_HUB_OFFLINE") || envTrue("TRANSFORMERS_OFFLINE"),
		Token:    envToken(),
		Endpoint: EndpointFromEnv(),
	}
	if !envTrue("HF_HUB_DISABLE_PROGRESS_BARS") {
		opts.Progress = os.Stderr
	}
	return opts
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
	if opts.HTTPClient == nil {
		opts.HTTPClient = defaultClient()
	}
	return opts
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
func envTrue(key string) bool {
	switch strings.ToUpper(strings.TrimSpace(os.Getenv(key))) {
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
