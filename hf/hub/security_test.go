package hub

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestTokenAllowed(t *testing.T) {
	for _, tc := range []struct {
		endpoint, target string
		want             bool
	}{
		{"https://huggingface.co", "https://huggingface.co/api/models/x", true},
		{"https://huggingface.co", "https://huggingface.co:443/x", true},
		{"https://huggingface.co", "https://HuggingFace.co/x", true},
		{"https://huggingface.co", "http://huggingface.co/x", false},     // downgrade
		{"https://huggingface.co", "http://huggingface.co:443/x", false}, // downgrade, same port
		{"https://huggingface.co", "https://cdn-lfs.huggingface.co/x", false},
		{"https://huggingface.co", "https://huggingface.co:8443/x", false},
		{"https://huggingface.co", "https://huggingface.co.evil.com/x", false},
		{"http://hub.internal", "http://hub.internal/x", false}, // plain http over the network
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080/x", true},
		{"http://localhost:8080", "http://localhost:8080/x", true},
		{"http://[::1]:8080", "http://[::1]:8080/x", true},
		{"http://127.0.0.1:8080", "http://127.0.0.1:9090/x", false},
	} {
		ep, _ := url.Parse(tc.endpoint)
		u, _ := url.Parse(tc.target)
		r := remote{opts: Options{Token: "t"}, endpoint: ep}
		if got := r.tokenAllowed(u); got != tc.want {
			t.Errorf("endpoint %s, request %s: token sent = %v, want %v", tc.endpoint, tc.target, got, tc.want)
		}
		if (remote{endpoint: ep}).tokenAllowed(u) {
			t.Errorf("an empty token was sent to %s", tc.target)
		}
	}
}

// dialer returns an HTTP client that reaches addrs[host:port] whatever the name resolves to, so
// that loopback servers can play hosts on the network.
func dialer(addrs map[string]string, tlsConfig *tls.Config) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if a, ok := addrs[addr]; ok {
				addr = a
			}
			return d.DialContext(ctx, network, addr)
		},
		TLSClientConfig: tlsConfig,
	}
	return &http.Client{Transport: tr}
}

// TestNoTokenOverPlainHTTP: with HF_ENDPOINT a plain http URL on the network, HF_TOKEN is never
// sent, and the access error says why and what to do.
func TestNoTokenOverPlainHTTP(t *testing.T) {
	hub := newFakeHub(t, testToken)
	_, port, _ := net.SplitHostPort(hub.Addr())
	endpoint := "http://hub.example:" + port
	opts := Options{CacheDir: t.TempDir(), Endpoint: endpoint, Token: testToken,
		HTTPClient: dialer(map[string]string{"hub.example:" + port: hub.Addr()}, nil)}
	_, err := Resolve(testID, Paths(testFiles), opts)
	if !errors.Is(err, ErrAccessDenied) {
		t.Fatalf("err = %v, want ErrAccessDenied", err)
	}
	contains(t, err, "HF_TOKEN was not sent because the endpoint "+endpoint+" is plain http", "use an https endpoint")
	hubLog, _ := hub.Requests()
	for _, s := range hubLog {
		if s.Auth != "" {
			t.Errorf("request %s %s carried the token over plain http", s.Method, s.Path)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestNoTokenAfterDowngrade: an https hub that redirects a file to http on the same host gets the
// token; the http request does not.
func TestNoTokenAfterDowngrade(t *testing.T) {
	hub := newFakeHub(t, "")
	var plainAuth []string
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		plainAuth = append(plainAuth, r.Header.Get("Authorization"))
		hub.Serve(w, r)
	}))
	defer plain.Close()
	var tlsAuth []string
	secure := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tlsAuth = append(tlsAuth, r.Header.Get("Authorization"))
		if strings.Contains(r.URL.Path, "/resolve/") {
			w.Header().Set("X-Linked-Etag", hub.ETag(smallFile))
			w.Header().Set("X-Linked-Size", itoa(len(hub.Files("main")[smallFile])))
			http.Redirect(w, r, "http://hub.example"+r.URL.Path, http.StatusFound)
			return
		}
		hub.Serve(w, r)
	}))
	defer secure.Close()
	pool := secure.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	client := dialer(map[string]string{
		"hub.example:443": secure.Listener.Addr().String(),
		"hub.example:80":  plain.Listener.Addr().String(),
	}, &tls.Config{RootCAs: pool, ServerName: "example.com"})
	cache := t.TempDir()
	dir, err := Resolve(testID, Paths{smallFile}, Options{CacheDir: cache, Endpoint: "https://hub.example", Token: testToken, HTTPClient: client})
	if err != nil {
		t.Fatal(err)
	}
	checkSameFiles(t, dir, pick(hub.Files("main"), smallFile))
	if len(tlsAuth) == 0 || tlsAuth[0] != "Bearer "+testToken {
		t.Errorf("the https hub got Authorization %q, want the token", tlsAuth)
	}
	if len(plainAuth) == 0 {
		t.Fatal("the http location was not used")
	}
	for _, a := range plainAuth {
		if a != "" {
			t.Errorf("the token went over http after a downgrade: %q", a)
		}
	}
}

// TestStallTimeout: a hub that accepts the connection and never answers, or stops sending midway,
// is abandoned after the stall timeout instead of hanging.
func TestStallTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // never answers
		}
	}()
	start := time.Now()
	_, err = Resolve(testID, Paths(testFiles), Options{CacheDir: t.TempDir(), Endpoint: "http://" + ln.Addr().String(), StallTimeout: 300 * time.Millisecond})
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("a silent hub held Resolve for %v", d)
	}
	contains(t, err, "nothing received for 300ms", "HF_HUB_DOWNLOAD_TIMEOUT", "is not in the cache")
}

// TestHostileHub: file names that would escape the cache are skipped, unusable ETags refused, and
// a hub whose file list and headers disagree on a file's hash or size is not trusted.
func TestHostileHub(t *testing.T) {
	t.Run("names", func(t *testing.T) {
		hub := newFakeHub(t, "")
		hub.Override(func(w http.ResponseWriter, r *http.Request) bool {
			if !strings.HasPrefix(r.URL.Path, "/api/") {
				return false
			}
			_, _ = w.Write([]byte(`{"sha":"` + testCommit + `","siblings":[{"rfilename":"../../../escape.json"},{"rfilename":"/etc/passwd"},` +
				`{"rfilename":"a\\b"},{"rfilename":"x/./y"},{"rfilename":"config.json"},{"rfilename":"config.json"},{"rfilename":"` + lfsFile + `"}]}`))
			return true
		})
		cache := t.TempDir()
		dir, err := Resolve(testID, AllFiles, Options{CacheDir: cache, Endpoint: hub.URL})
		if err != nil {
			t.Fatal(err)
		}
		if list, _ := listDir(dir); len(list) != 2 {
			t.Errorf("snapshot holds %v, want the two usable files", list)
		}
		if exists(filepath.Join(cache, "..", "escape.json")) || exists(filepath.Join(filepath.Dir(cache), "escape.json")) {
			t.Error("a file escaped the cache")
		}
	})
	for _, tc := range []struct {
		name   string
		header func(h http.Header)
		want   string
	}{
		{"etag with a slash", func(h http.Header) { h.Set("ETag", `"../../x"`) }, "no usable ETag"},
		{"etag naming a temporary", func(h http.Header) { h.Set("ETag", `"abc.incomplete"`) }, "no usable ETag"},
		{"two hashes", func(h http.Header) { h.Set("ETag", `"`+strings.Repeat("a", 40)+`"`) }, "two hashes"},
		{"two sizes", func(h http.Header) { h.Set("Content-Length", "3") }, "two sizes"},
		{"bad size", func(h http.Header) { h.Set("X-Linked-Size", "-5") }, "invalid X-Linked-Size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hub := newFakeHub(t, "")
			hub.Override(func(w http.ResponseWriter, r *http.Request) bool {
				if r.Method != http.MethodHead || !strings.HasSuffix(r.URL.Path, smallFile) {
					return false
				}
				w.Header().Set("ETag", `"`+hub.ETag(smallFile)+`"`)
				w.Header().Set("Content-Length", itoa(len(hub.Files("main")[smallFile])))
				tc.header(w.Header())
				w.WriteHeader(http.StatusOK)
				return true
			})
			cache := t.TempDir()
			_, err := Resolve(testID, Paths(testFiles), Options{CacheDir: cache, Endpoint: hub.URL})
			contains(t, err, smallFile, tc.want)
			if got := cacheFiles(t, filepath.Join(cache, "models--org--tiny-ddpm-unet", "snapshots")); len(got) > 1 {
				t.Errorf("the refused file left %v", got)
			}
		})
	}
}

// TestHugeListing: a file list larger than the bound is refused without reading it all.
func TestHugeListing(t *testing.T) {
	hub := newFakeHub(t, "")
	hub.Override(func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasPrefix(r.URL.Path, "/api/") {
			return false
		}
		_, _ = w.Write([]byte(`{"sha":"` + testCommit + `","siblings":[`))
		entry := []byte(`{"rfilename":"` + strings.Repeat("x", 1000) + `"},`)
		for i := 0; i < 20_000; i++ {
			if _, err := w.Write(entry); err != nil {
				break
			}
		}
		return true
	})
	_, err := Resolve(testID, Paths(testFiles), Options{CacheDir: t.TempDir(), Endpoint: hub.URL})
	contains(t, err, "larger than 16 MiB")
}

func TestVerify(t *testing.T) {
	hub := newFakeHub(t, "")
	cache := t.TempDir()
	opts := testOptions(hub, cache)
	dir, err := Resolve(testID, Paths(testFiles), opts)
	if err != nil {
		t.Fatal(err)
	}
	c := newRepoCache(cache, testID)
	damage := func(file string) {
		t.Helper()
		p := c.blobPath(hub.ETag(file))
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		data[len(data)/2] ^= 1 // same size: only a hash finds it
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	offline := opts
	offline.Offline, offline.Verify = true, true
	if _, err := Resolve(testID, Paths(testFiles), offline); err != nil {
		t.Fatalf("verifying a good cache: %v", err)
	}
	for _, file := range testFiles { // regular files by their git blob hash, LFS ones by SHA-256
		if _, err := Resolve(testID, Paths(testFiles), opts); err != nil { // complete again
			t.Fatal(err)
		}
		damage(file)
		_, err := Resolve(testID, Paths(testFiles), offline)
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("verifying a damaged %s offline: err = %v, want ErrCorrupt", file, err)
		}
		contains(t, err, file, "did not match their hash and were removed", "offline mode forbids downloads")
		if exists(c.blobPath(hub.ETag(file))) || exists(c.snapshotPath(testCommit, file)) {
			t.Errorf("the damaged %s was kept", file)
		}
	}
	if _, err := Resolve(testID, Paths(testFiles), opts); err != nil {
		t.Fatal(err)
	}
	damage(lfsFile)
	online := opts
	online.Verify = true
	before := len(hub.Fetched(0))
	if got, err := Resolve(testID, Paths(testFiles), online); err != nil || got != dir {
		t.Fatalf("online verification = %s, %v", got, err)
	}
	checkSameFiles(t, dir, hub.Files("main"))
	if got := hub.Fetched(before); len(got) != 1 || got[0] != lfsFile {
		t.Errorf("online verification fetched %v, want the damaged file again", got)
	}

	// A file whose hash nobody gives cannot be verified: it says so.
	cache2 := t.TempDir()
	snap := writeUnnamedCache(t, cache2, hub.Files("main"))
	_, err = Resolve(testID, Paths(testFiles), Options{CacheDir: cache2, Offline: true, Verify: true})
	contains(t, err, "cannot verify file", "no hash is known", snap)
}

// writeUnnamedCache lays out a cache whose blobs are not named by their hash (as an old or hand-made
// copy might be).
func writeUnnamedCache(t *testing.T, cache string, files map[string][]byte) string {
	c := newRepoCache(cache, testID)
	writeBlobFile(t, c.refPath("main"), []byte(testCommit))
	for name, data := range files {
		blob := c.blobPath("blob-" + strings.ReplaceAll(name, ".", "-"))
		writeBlobFile(t, blob, data)
		link := c.snapshotPath(testCommit, name)
		_ = os.MkdirAll(filepath.Dir(link), 0o755)
		target, _ := filepath.Rel(filepath.Dir(link), blob)
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
	}
	return c.snapshotDir(testCommit)
}

func TestBadEndpoint(t *testing.T) {
	for _, ep := range []string{"ftp://hub.example", "huggingface.co", "https://user:pw@hub.example", "http://"} {
		_, err := Resolve(testID, Paths(testFiles), Options{CacheDir: t.TempDir(), Endpoint: ep})
		contains(t, err, "(HF_ENDPOINT) is not an http(s) URL such as https://huggingface.co")
	}
}
