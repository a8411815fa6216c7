package clip

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// writeTokenizerDir writes a HuggingFace tokenizer folder (vocab.json, merges.txt, special_tokens_map.json,
// tokenizer_config.json) for CLIP's vocabulary, derived from OpenAI's bpe_simple_vocab_16e6.txt.gz as their
// SimpleTokenizer builds it: the 256 byte symbols, the same as word ends, one token per merge (the first
// 48,894), then the start and end tokens.
func writeTokenizerDir(t testing.TB, dir, pad string) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "bpe_simple_vocab_16e6.txt.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	sc := bufio.NewScanner(zr)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	merges := lines[1 : 49152-256-2+1]
	var order []rune // byte symbols in bytes_to_unicode's order: printable bytes first
	for b := range 256 {
		if byteEncoder[b] == rune(b) {
			order = append(order, byteEncoder[b])
		}
	}
	for b := range 256 {
		if byteEncoder[b] != rune(b) {
			order = append(order, byteEncoder[b])
		}
	}
	var tokens []string
	for _, r := range order {
		tokens = append(tokens, string(r))
	}
	for _, r := range order {
		tokens = append(tokens, string(r)+"</w>")
	}
	for _, m := range merges {
		tokens = append(tokens, strings.Replace(m, " ", "", 1))
	}
	tokens = append(tokens, StartOfText, EndOfText)
	vocab := make(map[string]int, len(tokens))
	for i, tok := range tokens {
		vocab[tok] = i
	}
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := json.Marshal(vocab)
	if err != nil {
		t.Fatal(err)
	}
	write("vocab.json", raw)
	write("merges.txt", []byte("#version: 0.2\n"+strings.Join(merges, "\n")+"\n"))
	special, _ := json.Marshal(map[string]any{"bos_token": map[string]any{"content": StartOfText, "lstrip": false},
		"eos_token": EndOfText, "unk_token": EndOfText, "pad_token": pad})
	write("special_tokens_map.json", special)
	write("tokenizer_config.json", []byte(`{"model_max_length": 77, "do_lower_case": true, "tokenizer_class": "CLIPTokenizer"}`))
}

var (
	sharedOnce sync.Once
	sharedDirs [2]string // SD 1.x (pad <|endoftext|>) and SD 2.x (pad "!") tokenizer folders
	sharedTok  [2]*Tokenizer
	sharedErr  error
)

// tokenizers returns the SD 1.x-style and SD 2.x-style tokenizers, built once.
func tokenizers(t testing.TB) (sd1, sd2 *Tokenizer) {
	t.Helper()
	sharedOnce.Do(func() {
		root, err := os.MkdirTemp("", "clip-tokenizer")
		if err != nil {
			sharedErr = err
			return
		}
		for i, pad := range []string{EndOfText, "!"} {
			sharedDirs[i] = filepath.Join(root, []string{"sd1", "sd2"}[i])
			if sharedErr = os.Mkdir(sharedDirs[i], 0o755); sharedErr != nil {
				return
			}
			writeTokenizerDir(t, sharedDirs[i], pad)
			if sharedTok[i], sharedErr = LoadTokenizer(sharedDirs[i]); sharedErr != nil {
				return
			}
		}
	})
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return sharedTok[0], sharedTok[1]
}

type tokenizerCase struct {
	Text    string `json:"text"`
	IDs     []int  `json:"ids"`
	NoRepai []int  `json:"ids_without_mojibake_repair"`
}

func readTokenizerGolden(t testing.TB) []tokenizerCase {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "tokenizer_golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Cases []tokenizerCase `json:"cases"`
	}
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	return g.Cases
}

// TestTokenizerMatchesOpenAI compares Encode with OpenAI's simple_tokenizer on every golden prompt (unicode in
// many scripts, punctuation, numbers, HTML entities, control characters, long prompts). For the few prompts ftfy
// repairs as mojibake, the reference is simple_tokenizer with that repair switched off (see Clean).
func TestTokenizerMatchesOpenAI(t *testing.T) {
	sd1, _ := tokenizers(t)
	cases := readTokenizerGolden(t)
	if len(cases) < 200 {
		t.Fatalf("only %d golden prompts", len(cases))
	}
	same, mojibake := 0, 0
	for _, c := range cases {
		want := c.IDs
		if c.NoRepai != nil {
			want = c.NoRepai
			mojibake++
		}
		got := sd1.Encode(c.Text)
		if !slices.Equal(got, want) {
			t.Errorf("Encode(%q) = %v\n  simple_tokenizer: %v\n  cleaned: %q", c.Text, got, want, Clean(c.Text))
			continue
		}
		same++
	}
	t.Logf("%d/%d prompts tokenised identically to openai/CLIP (%d of them with ftfy's mojibake repair off)", same, len(cases), mojibake)
	if mojibake > 5 {
		t.Errorf("%d golden prompts depend on ftfy's mojibake repair: the comparison mostly tests the fallback", mojibake)
	}
}

// TestTokenize checks the context window: start token, tokens, end token, padding with the folder's pad token
// (SD 1.x <|endoftext|>, SD 2.x "!"), truncation with a warning naming the dropped text.
func TestTokenize(t *testing.T) {
	sd1, sd2 := tokenizers(t)
	if sd1.BOS != 49406 || sd1.EOS != 49407 || sd1.Pad != 49407 || sd2.Pad != 0 || sd1.VocabSize() != 49408 || sd1.ContextLength != 77 {
		t.Fatalf("special ids bos %d eos %d pad %d/%d, vocab %d, context %d: want 49406, 49407, 49407/0, 49408, 77",
			sd1.BOS, sd1.EOS, sd1.Pad, sd2.Pad, sd1.VocabSize(), sd1.ContextLength)
	}
	ids := sd1.Encode("a photo of a man")
	if want := []int{320, 1125, 539, 320, 786}; !slices.Equal(ids, want) {
		t.Fatalf("Encode(a photo of a man) = %v, want %v", ids, want)
	}
	for _, tok := range []*Tokenizer{sd1, sd2} {
		e := tok.Tokenize("a photo of a man")
		want := append(append([]int{49406}, ids...), 49407)
		if len(e.IDs) != 77 || !slices.Equal(e.IDs[:7], want) || e.Length != 7 || e.Truncated != "" || e.Warning() != "" {
			t.Errorf("pad %d: Tokenize = %v (length %d, truncated %q)", tok.Pad, e.IDs, e.Length, e.Truncated)
		}
		for _, id := range e.IDs[7:] {
			if id != tok.Pad {
				t.Fatalf("pad %d: padding holds %d", tok.Pad, id)
			}
		}
	}
	long := strings.Repeat("red ", 75) + "blue green"
	e := sd2.Tokenize(long)
	if len(e.IDs) != 77 || e.Length != 77 || e.IDs[76] != sd2.EOS || e.IDs[75] != sd2.Encode("red")[0] {
		t.Errorf("long prompt: %d ids, length %d, last %v", len(e.IDs), e.Length, e.IDs[74:])
	}
	if e.Truncated != "blue green" || !strings.Contains(e.Warning(), `"blue green"`) || !strings.Contains(e.Warning(), "77") {
		t.Errorf("long prompt: truncated %q, warning %q", e.Truncated, e.Warning())
	}
	if e := sd1.Tokenize(""); e.Length != 2 || e.IDs[0] != sd1.BOS || e.IDs[1] != sd1.EOS {
		t.Errorf("empty prompt: %v", e.IDs[:3])
	}
}

// TestDecodeInvertsEncode: decoding gives the cleaned text back, with a space after every word.
func TestDecodeInvertsEncode(t *testing.T) {
	sd1, _ := tokenizers(t)
	for _, c := range readTokenizerGolden(t) {
		clean := Clean(c.Text)
		got := sd1.Decode(sd1.Encode(c.Text))
		if strip(got) != strip(clean) {
			t.Errorf("Decode(Encode(%q)) = %q, cleaned text %q", c.Text, got, clean)
		}
	}
}

func strip(s string) string { return strings.ReplaceAll(s, " ", "") }

func TestCleanRules(t *testing.T) {
	for in, want := range map[string]string{
		"  A  Photo\tOF\n\n a  MAN ":       "a photo of a man",
		"ΟΔΟΣ ΣΟΦΟΣ.":                      "οδος σοφος.",
		"İz":                               "i\u0307z",
		"ﬁne “quote” ＡＢＣ":                  `fine "quote" abc`,
		"&EACUTE;t&eacute; &#59; &amp;lt;": "été ; <",
		"<b>&amp;</b>":                     "<b>&</b>",
		"cafe\u0301":                       "café",
		"red\x1b[31m\x01text\ufeff":        "redtext",
		"\u0093quoted\u0094":               `"quoted"`,
	} {
		if got := Clean(in); got != want {
			t.Errorf("Clean(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLoadTokenizerErrors(t *testing.T) {
	sd1, _ := tokenizers(t)
	_ = sd1
	good := sharedDirs[0]
	copyDir := func() string {
		dir := t.TempDir()
		for _, name := range []string{"vocab.json", "merges.txt", "special_tokens_map.json", "tokenizer_config.json"} {
			raw, err := os.ReadFile(filepath.Join(good, name))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name), raw, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	mustFail := func(what, dir string, want ...string) {
		t.Helper()
		_, err := LoadTokenizer(dir)
		if err == nil {
			t.Errorf("%s: loaded", what)
			return
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", what, err, w)
			}
		}
	}
	dir := copyDir()
	os.Remove(filepath.Join(dir, "merges.txt"))
	mustFail("no merges", dir, "merges.txt")
	dir = copyDir()
	os.WriteFile(filepath.Join(dir, "merges.txt"), []byte("#version: 0.2\na b c\n"), 0o644)
	mustFail("bad merge", dir, "merges.txt line 2", "not a merge")
	dir = copyDir()
	os.WriteFile(filepath.Join(dir, "special_tokens_map.json"), []byte(`{"pad_token": "<pad>"}`), 0o644)
	mustFail("unknown pad", dir, `"<pad>"`, "special token")
	dir = copyDir()
	os.WriteFile(filepath.Join(dir, "vocab.json"), []byte(`{"a": 0, "b": 1}`), 0o644)
	mustFail("not a CLIP vocabulary", dir, "byte symbol", "not a CLIP vocabulary")
	dir = copyDir()
	os.Remove(filepath.Join(dir, "special_tokens_map.json"))
	os.Remove(filepath.Join(dir, "tokenizer_config.json"))
	tok, err := LoadTokenizer(dir)
	if err != nil || tok.Pad != tok.EOS || tok.ContextLength != 77 {
		t.Errorf("folder without the optional files: %v (pad %d, context %d)", err, tok.Pad, tok.ContextLength)
	}
}

// FuzzTokenizer checks, for any input: no panic, ids inside the vocabulary, a full context window that starts
// with the start token and holds the end token, and lossless BPE (decoding gives the cleaned text back, up to
// spaces).
func FuzzTokenizer(f *testing.F) {
	for _, c := range readTokenizerGolden(f)[:40] {
		f.Add(c.Text)
	}
	sd1, _ := tokenizers(f)
	f.Fuzz(func(t *testing.T, text string) {
		ids := sd1.Encode(text)
		for _, id := range ids {
			if id < 0 || id >= sd1.VocabSize() {
				t.Fatalf("Encode(%q) gave id %d outside the vocabulary", text, id)
			}
		}
		e := sd1.Tokenize(text)
		if len(e.IDs) != sd1.ContextLength || e.IDs[0] != sd1.BOS || e.IDs[e.Length-1] != sd1.EOS || e.Length > sd1.ContextLength {
			t.Fatalf("Tokenize(%q) = %v (length %d)", text, e.IDs, e.Length)
		}
		if (e.Truncated != "") != (len(ids) > sd1.ContextLength-2) {
			t.Fatalf("Tokenize(%q): %d tokens but truncated %q", text, len(ids), e.Truncated)
		}
		clean := Clean(text)
		if !utf8.ValidString(clean) {
			t.Fatalf("Clean(%q) = %q is not valid UTF-8", text, clean)
		}
		if back := sd1.Decode(ids); strip(back) != strip(clean) {
			t.Fatalf("Decode(Encode(%q)) = %q, cleaned text %q", text, back, clean)
		}
		if strings.TrimSpace(clean) != clean || strings.Contains(clean, "  ") || strings.ToLower(clean) != clean {
			t.Fatalf("Clean(%q) = %q: untrimmed, doubled spaces or upper case left", text, clean)
		}
	})
}
