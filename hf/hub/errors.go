package hub

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Errors that the errors returned by this package match with errors.Is.
var (
	// ErrNotInCache is matched when the requested files are not (all) in the cache and the hub
	// cannot be asked: offline, or unreachable.
	ErrNotInCache = errors.New("not in the cache")

	// ErrAccessDenied is matched when the hub refused the request (HTTP 401 or 403).
	ErrAccessDenied = errors.New("access denied")

	// ErrNotFound is matched when the model, revision or file does not exist (HTTP 404, or not in
	// the model's file list), or when a file is missing from a local model directory.
	ErrNotFound = errors.New("not found")

	// ErrCorrupt is matched when a file's content does not match the hash or size the hub gives.
	ErrCorrupt = errors.New("corrupt file")
)

// hubError carries a complete message and matches one of the sentinel errors.
type hubError struct {
	kind error
	msg  string
}

func (e *hubError) Error() string        { return e.msg }
func (e *hubError) Is(target error) bool { return target == e.kind }

func newError(kind error, format string, args ...any) error {
	return &hubError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// request describes what a request was for, to word its errors.
type request struct {
	id, revision, endpoint string
	file                   string // "" for the revision API
	withToken              bool   // a token was sent
	tokenWithheld          bool   // a token is set but the endpoint is plain http, so it was not sent
}

// statusError turns a failed HTTP answer into an error that says what is wrong and what to do.
func (q request) statusError(resp *http.Response) error {
	code := resp.Header.Get("X-Error-Code")
	detail := ""
	if m := strings.TrimSpace(resp.Header.Get("X-Error-Message")); m != "" {
		detail = fmt.Sprintf(" (the hub says: %.300s)", m)
	}
	tokenHint := "set HF_TOKEN (or $HF_HOME/token) to a token that can read it"
	switch {
	case q.tokenWithheld:
		tokenHint = fmt.Sprintf("the token in HF_TOKEN was not sent because the endpoint %s is plain http on another machine: use an https endpoint (HF_ENDPOINT)", q.endpoint)
	case q.withToken:
		tokenHint = "check that the token in HF_TOKEN (or $HF_HOME/token) is valid and can read it"
	}
	switch {
	case code == "RepoNotFound":
		// The hub answers 401 for private and gated repositories as well as missing ones.
		return newError(ErrNotFound, "model %s (revision %s) not found on %s%s: check the id; if the model is private or gated, %s",
			q.id, q.revision, q.endpoint, detail, tokenHint)
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden || code == "GatedRepo":
		return newError(ErrAccessDenied, "access denied for model %s (HTTP %d)%s: %s, and accept the model's terms on %s/%s if it is gated",
			q.id, resp.StatusCode, detail, tokenHint, q.endpoint, q.id)
	case resp.StatusCode == http.StatusNotFound && (code == "EntryNotFound" || q.file != "" && code != "RevisionNotFound"):
		return newError(ErrNotFound, "file %s not found in model %s (revision %s) on %s%s", q.file, q.id, q.revision, q.endpoint, detail)
	case resp.StatusCode == http.StatusNotFound:
		return newError(ErrNotFound, "model %s (revision %s) not found on %s%s: check the model id and the revision",
			q.id, q.revision, q.endpoint, detail)
	}
	what := "the file list"
	if q.file != "" {
		what = "file " + q.file
	}
	return fmt.Errorf("hub %s answered %q for %s of model %s (revision %s)%s", q.endpoint, resp.Status, what, q.id, q.revision, detail)
}

// networkError wraps a failed or stalled connection.
func (q request) networkError(err error) error {
	what := "the file list"
	if q.file != "" {
		what = "file " + q.file
	}
	return fmt.Errorf("reaching %s for %s of model %s: %w: check the network connection and HF_ENDPOINT", q.endpoint, what, q.id, err)
}
