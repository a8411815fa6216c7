package hub

import (
	"strings"
	"testing"
)

func TestValidateModelID(t *testing.T) {
	for _, id := range []string{"google/ddpm-ema-celebahq-256", "gpt2", "org_1/model.v2", "A/b-c_d.e"} {
		if err := ValidateModelID(id); err != nil {
			t.Errorf("ValidateModelID(%q) = %v, want nil", id, err)
		}
	}
	for _, id := range []string{"", "a/b/c", "/a", "a/", "-a/b", "a/b.", "a--b/c", "a/b..c", "a b/c", "a/b?c", "ü/b",
		strings.Repeat("a", 97)} {
		err := ValidateModelID(id)
		if err == nil || !strings.Contains(err.Error(), "invalid model id") {
			t.Errorf("ValidateModelID(%q) = %v, want an invalid model id error", id, err)
		}
	}
	if got := repoFolderName("google/ddpm-ema-celebahq-256"); got != "models--google--ddpm-ema-celebahq-256" {
		t.Errorf("repoFolderName = %s", got)
	}
}

func TestResolveRejectsBadIDsAndRevisions(t *testing.T) {
	opts := Options{CacheDir: t.TempDir(), Offline: true}
	for _, id := range []string{"a/b/c", "bad id", "org/-x"} {
		if _, err := Resolve(id, nil, opts); err == nil || !strings.Contains(err.Error(), "invalid model id") {
			t.Errorf("Resolve(%q) err = %v, want an invalid model id error", id, err)
		}
	}
	for _, rev := range []string{"../x", "/abs", "a//b", "a b"} {
		opts.Revision = rev
		if _, err := Resolve(testID, nil, opts); err == nil || !strings.Contains(err.Error(), "invalid revision") {
			t.Errorf("revision %q: err = %v, want an invalid revision error", rev, err)
		}
	}
}

func TestParseModelRef(t *testing.T) {
	for ref, want := range map[string][2]string{
		"org/name":               {"org/name", ""},
		"org/name@v1.0":          {"org/name", "v1.0"},
		"org/name@refs/pr/3":     {"org/name", "refs/pr/3"},
		"gpt2@" + testCommit:     {"gpt2", testCommit},
		"org/name@feature/x-y_z": {"org/name", "feature/x-y_z"},
	} {
		id, rev, err := ParseModelRef(ref)
		if err != nil || id != want[0] || rev != want[1] {
			t.Errorf("ParseModelRef(%q) = %q, %q, %v; want %q, %q", ref, id, rev, err, want[0], want[1])
		}
	}
	for _, ref := range []string{"org/name@", "org/name@../x", "org/name@a b", "org/name@x..y", "org/name@/abs",
		"org/name@a//b", "org/name@.hidden", "org/name@x.lock", "org/name@x.", "org/name@a:b", "org/name@a\\b", "org/name@a\x00", "org/name@@{u}",
		"org/name@" + strings.Repeat("x", 300), "bad id@main"} {
		if _, _, err := ParseModelRef(ref); err == nil {
			t.Errorf("ParseModelRef(%q) accepted", ref)
		}
	}
	_, _, err := ParseModelRef("org/name@a b")
	if err == nil || !strings.Contains(err.Error(), `invalid revision "a b": character ' ' is not allowed`) || !strings.Contains(err.Error(), "a revision is a branch") {
		t.Errorf("ParseModelRef error = %v", err)
	}
}

func TestNormalizeETag(t *testing.T) {
	for in, want := range map[string]string{`"abc"`: "abc", `W/"abc"`: "abc", "abc": "abc", ` "x" `: "x"} {
		if got := normalizeETag(in); got != want {
			t.Errorf("normalizeETag(%q) = %q, want %q", in, got, want)
		}
	}
}
