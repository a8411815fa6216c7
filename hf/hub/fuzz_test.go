package hub

import (
	"net/http"
	"net/url"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The fuzz targets cover every reader of outside input in this package: the hub's revision answer
// (the file list), huggingface_hub's tree cache, refs/ files, the headers of a HEAD (ETag, sizes,
// redirect), Content-Range, model references and the file selection over any file list. Seeds
// live in testdata/fuzz/<target>/ besides the ones added here.

func FuzzParseRevisionAnswer(f *testing.F) {
	f.Add([]byte(`{"sha":"` + testCommit + `","siblings":[{"rfilename":"config.json","blobId":"` + strings.Repeat("a", 40) + `","size":3}]}`))
	f.Add([]byte(`{"sha":"` + testCommit + `"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		l, err := parseRevisionAnswer(raw)
		if err != nil {
			return
		}
		if !isCommitHash(l.commit) {
			t.Fatalf("commit %q accepted", l.commit)
		}
		checkListing(t, l)
		if !l.complete() {
			return
		}
		data, err := treeCacheJSON(l)
		if err != nil {
			t.Fatal(err)
		}
		back, err := parseTreeCache(l.commit, data)
		if err != nil || !slices.Equal(back.names, l.names) {
			t.Fatalf("tree cache round trip: %v, %v vs %v", err, back, l.names)
		}
		for _, n := range l.names {
			if back.entries[n] != l.entries[n] {
				t.Fatalf("tree cache round trip of %q: %+v vs %+v", n, back.entries[n], l.entries[n])
			}
		}
	})
}

func FuzzParseTreeCache(f *testing.F) {
	f.Add([]byte(`{"format_version": 1, "files": {"a.json": {"size": 1, "blob_id": "` + strings.Repeat("b", 40) + `"}}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		if l, err := parseTreeCache(testCommit, raw); err == nil {
			checkListing(t, l)
		}
	})
}

// checkListing checks what a parsed file list promises: sorted, unique, storable names, sane
// metadata.
func checkListing(t *testing.T, l *listing) {
	t.Helper()
	if !slices.IsSorted(l.names) || len(slices.Compact(slices.Clone(l.names))) != len(l.names) || len(l.names) != len(l.entries) {
		t.Fatalf("names not sorted and unique: %q", l.names)
	}
	for _, n := range l.names {
		if err := validateRelPath("file name", n); err != nil {
			t.Fatalf("unusable name %q accepted: %v", n, err)
		}
		if !escapesNot(n) {
			t.Fatalf("name %q escapes the snapshot", n)
		}
		e := l.entries[n]
		if h := e.contentHash(); h.known() && hashFromName(h.hex) != h {
			t.Fatalf("file %q: hash %+v is not a valid %s", n, h, h.algo)
		}
		if e.Size < -1 {
			t.Fatalf("file %q: size %d", n, e.Size)
		}
	}
}

// escapesNot reports whether name, joined under a snapshot folder, stays inside it.
func escapesNot(name string) bool {
	return inside(filepath.Join("cache", "snapshots", testCommit), name)
}

// inside reports whether base joined with the "/"-separated rel is a path strictly under base.
func inside(base, rel string) bool {
	r, err := filepath.Rel(base, filepath.Join(base, filepath.FromSlash(rel)))
	return err == nil && r != "." && r != ".." && !strings.HasPrefix(r, ".."+string(filepath.Separator))
}

func FuzzParseRef(f *testing.F) {
	f.Add([]byte(testCommit))
	f.Add([]byte(testCommit + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := parseRef(data)
		if err == nil && !isCommitHash(h) {
			t.Fatalf("ref %q read as %q", data, h)
		}
	})
}

func FuzzParseFileMeta(f *testing.F) {
	f.Add(200, `"`+strings.Repeat("a", 40)+`"`, "", "12", "", "")
	f.Add(302, "", `"`+strings.Repeat("b", 64)+`"`, "", "4032644", "https://cdn.example/x?sig=1")
	f.Add(307, `W/"x"`, "", "5", "", "/org/model/resolve/main/config.json")
	f.Fuzz(func(t *testing.T, status int, etag, linkedETag, contentLength, linkedSize, location string) {
		h := http.Header{}
		for k, v := range map[string]string{"ETag": etag, "X-Linked-Etag": linkedETag, "Content-Length": contentLength, "X-Linked-Size": linkedSize, "Location": location} {
			if v != "" {
				h.Set(k, v)
			}
		}
		req, _ := url.Parse("https://huggingface.co/org/model/resolve/" + testCommit + "/config.json")
		meta, err := parseFileMeta(status, h, req)
		if err != nil {
			return
		}
		if validateETag(meta.etag) != nil || meta.size < -1 {
			t.Fatalf("accepted %+v", meta)
		}
		if u, err := url.Parse(meta.location); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			t.Fatalf("accepted location %q", meta.location)
		}
		if strings.ContainsAny(meta.etag, `/\`) || filepath.Base(meta.etag) != meta.etag {
			t.Fatalf("ETag %q is not one path component", meta.etag)
		}
	})
}

func FuzzParseContentRange(f *testing.F) {
	f.Add("bytes 100-199/200")
	f.Add("bytes 0-0/*")
	f.Fuzz(func(t *testing.T, s string) {
		first, total, err := parseContentRange(s)
		if err == nil && (first < 0 || total < -1 || total >= 0 && first >= total) {
			t.Fatalf("%q read as first %d, total %d", s, first, total)
		}
	})
}

func FuzzParseModelRef(f *testing.F) {
	f.Add("google/ddpm-ema-celebahq-256")
	f.Add("org/name@refs/pr/1")
	f.Add("gpt2@" + testCommit)
	f.Fuzz(func(t *testing.T, ref string) {
		id, rev, err := ParseModelRef(ref)
		if err != nil {
			return
		}
		if ValidateModelID(id) != nil || strings.Contains(id, "@") {
			t.Fatalf("%q: id %q", ref, id)
		}
		if rev == "" {
			if ref != id {
				t.Fatalf("%q: lost a part: %q", ref, id)
			}
			return
		}
		if id+"@"+rev != ref {
			t.Fatalf("%q split as %q @ %q", ref, id, rev)
		}
		if !inside(filepath.Join("cache", repoFolderName(id), "refs"), rev) {
			t.Fatalf("revision %q escapes refs/", rev)
		}
	})
}

func FuzzDiffusersSelect(f *testing.F) {
	f.Add(strings.Join(sd21Base, "\n"), "unet,vae,text_encoder,tokenizer,scheduler")
	f.Add("config.json\ndiffusion_pytorch_model.bin\nREADME.md\nimages/a.png", "")
	f.Fuzz(func(t *testing.T, files, components string) {
		listed := slices.Compact(slices.Sorted(slices.Values(strings.Split(files, "\n"))))
		var comps []string
		if components != "" {
			comps = strings.Split(components, ",")
		}
		got, err := Diffusers(comps...).Select(listed)
		if err != nil {
			return
		}
		if !slices.IsSorted(got) {
			t.Fatalf("selection not sorted: %q", got)
		}
		weights := 0
		for _, g := range got {
			if _, found := slices.BinarySearch(listed, g); !found {
				t.Fatalf("selected %q, which is not listed", g)
			}
			switch path.Ext(g) {
			case ".png", ".jpg", ".md", ".msgpack", ".h5", ".onnx":
				t.Fatalf("selected %q", g)
			}
			if weightGroup(g) >= 0 {
				weights++
			}
			if strings.Count(g, "/") > 1 {
				t.Fatalf("selected %q, deeper than a component folder", g)
			}
		}
		if weights == 0 {
			t.Fatalf("a selection without weights: %q", got)
		}
	})
}
