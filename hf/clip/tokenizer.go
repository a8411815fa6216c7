// Package clip holds OpenAI's CLIP text tower as Stable Diffusion uses it: the byte-level BPE tokenizer read
// from a HuggingFace tokenizer/ folder, and the CLIPTextModel encoder in GoMLX with weights by their
// HuggingFace transformers names.
package clip

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
)

// Special tokens of CLIP's vocabulary.
const (
	StartOfText = "<|startoftext|>"
	EndOfText   = "<|endoftext|>"
)

// DefaultContextLength is the number of token positions of CLIP's text encoder.
const DefaultContextLength = 77

// Tokenizer is CLIP's byte-level BPE tokenizer (OpenAI's simple_tokenizer; transformers' CLIPTokenizer).
// A Tokenizer is safe for concurrent use.
type Tokenizer struct {
	encoder map[string]int
	decoder map[int]string
	ranks   map[[2]string]int

	// BOS, EOS and Pad are the ids of the start, end and padding tokens. Stable Diffusion 1.x pads with
	// <|endoftext|>, 2.x with "!" (id 0), as their special_tokens_map.json say.
	BOS, EOS, Pad int
	// ContextLength is the length of Tokenize's output, start and end tokens included.
	ContextLength int

	mu    sync.Mutex
	cache map[string][]string
}

// pretokenize is CLIP's word pattern (applied to cleaned, lower-case text).
var pretokenize = regexp.MustCompile(`<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+`)

// byteEncoder maps each byte to the printable character that stands for it in the vocabulary (GPT-2's
// bytes_to_unicode): printable Latin-1 bytes stand for themselves, the others for U+0100 onwards.
var byteEncoder, byteDecoder = func() ([256]rune, map[rune]byte) {
	var enc [256]rune
	dec := map[rune]byte{}
	n := 0
	for b := range 256 {
		if ('!' <= b && b <= '~') || (0xA1 <= b && b <= 0xAC) || (0xAE <= b && b <= 0xFF) {
			enc[b] = rune(b)
		} else {
			enc[b] = rune(256 + n)
			n++
		}
		dec[enc[b]] = byte(b)
	}
	return enc, dec
}()

// NewTokenizer builds a tokenizer from a vocabulary (token → id), the BPE merges in priority order, the padding
// token and the context length (0: DefaultContextLength). The vocabulary must hold the special tokens, the pad
// token and every byte symbol alone and as a word end ("a" and "a</w>"), so that every text can be encoded.
func NewTokenizer(vocab map[string]int, merges [][2]string, pad string, contextLength int) (*Tokenizer, error) {
	t := &Tokenizer{encoder: vocab, decoder: make(map[int]string, len(vocab)), ranks: make(map[[2]string]int, len(merges)),
		ContextLength: contextLength, cache: map[string][]string{}}
	if t.ContextLength == 0 {
		t.ContextLength = DefaultContextLength
	}
	if t.ContextLength < 2 {
		return nil, fmt.Errorf("clip: context length %d leaves no room for the start and end tokens", t.ContextLength)
	}
	for tok, id := range vocab {
		if id < 0 {
			return nil, fmt.Errorf("clip: vocabulary token %q has the negative id %d", tok, id)
		}
		if other, dup := t.decoder[id]; dup {
			return nil, fmt.Errorf("clip: vocabulary tokens %q and %q share id %d", other, tok, id)
		}
		t.decoder[id] = tok
	}
	for _, b := range byteEncoder {
		for _, s := range []string{string(b), string(b) + "</w>"} {
			if _, ok := vocab[s]; !ok {
				return nil, fmt.Errorf("clip: the vocabulary lacks the byte symbol %q: not a CLIP vocabulary", s)
			}
		}
	}
	for i, m := range merges {
		if _, ok := t.ranks[m]; !ok {
			t.ranks[m] = i
		}
	}
	var ok bool
	for _, s := range []struct {
		name string
		id   *int
	}{{StartOfText, &t.BOS}, {EndOfText, &t.EOS}, {pad, &t.Pad}} {
		if *s.id, ok = vocab[s.name]; !ok {
			return nil, fmt.Errorf("clip: the vocabulary lacks the special token %q", s.name)
		}
	}
	return t, nil
}

// LoadTokenizer reads a HuggingFace CLIP tokenizer folder (a diffusers pipeline's tokenizer/): vocab.json,
// merges.txt, and optionally special_tokens_map.json (the pad token; default <|endoftext|>) and
// tokenizer_config.json (model_max_length; default 77).
func LoadTokenizer(dir string) (*Tokenizer, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "vocab.json"))
	if err != nil {
		return nil, fmt.Errorf("clip: reading the tokenizer: %w", err)
	}
	var vocab map[string]int
	if err := json.Unmarshal(raw, &vocab); err != nil {
		return nil, fmt.Errorf("clip: %s: %w", filepath.Join(dir, "vocab.json"), err)
	}
	merges, err := readMerges(filepath.Join(dir, "merges.txt"))
	if err != nil {
		return nil, err
	}
	pad := EndOfText
	var special struct {
		Pad json.RawMessage `json:"pad_token"`
	}
	if ok, err := readOptionalJSON(filepath.Join(dir, "special_tokens_map.json"), &special); err != nil {
		return nil, err
	} else if ok && len(special.Pad) > 0 {
		if pad, err = tokenContent(special.Pad); err != nil {
			return nil, fmt.Errorf("clip: %s: pad_token: %w", filepath.Join(dir, "special_tokens_map.json"), err)
		}
	}
	var config struct {
		MaxLength *float64 `json:"model_max_length"`
	}
	if _, err := readOptionalJSON(filepath.Join(dir, "tokenizer_config.json"), &config); err != nil {
		return nil, err
	}
	length := 0
	if config.MaxLength != nil && *config.MaxLength >= 2 && *config.MaxLength <= 1<<16 {
		length = int(*config.MaxLength) // transformers writes a huge number when there is no limit
	}
	t, err := NewTokenizer(vocab, merges, pad, length)
	if err != nil {
		return nil, fmt.Errorf("%w (tokenizer folder %s)", err, dir)
	}
	return t, nil
}

// readMerges reads merges.txt: an optional "#version" line, then one merge ("a b") per line.
func readMerges(path string) ([][2]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("clip: reading the tokenizer: %w", err)
	}
	defer f.Close()
	var merges [][2]string
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimRight(sc.Text(), "\r")
		if (line == 1 && strings.HasPrefix(text, "#version")) || text == "" {
			continue
		}
		a, b, ok := strings.Cut(text, " ")
		if !ok || a == "" || b == "" || strings.Contains(b, " ") {
			return nil, fmt.Errorf("clip: %s line %d: %q is not a merge (two symbols separated by one space)", path, line, text)
		}
		merges = append(merges, [2]string{a, b})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("clip: reading %s: %w", path, err)
	}
	return merges, nil
}

// readOptionalJSON decodes path into v; a missing file is not an error (ok false).
func readOptionalJSON(path string, v any) (ok bool, err error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("clip: %w", err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return false, fmt.Errorf("clip: %s: %w", path, err)
	}
	return true, nil
}

// tokenContent reads a special token written as a string or as {"content": "…", …}.
func tokenContent(raw json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var obj struct {
		Content *string `json:"content"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil || obj.Content == nil {
		return "", fmt.Errorf("want a string or an object with a content field, got %s", raw)
	}
	return *obj.Content, nil
}

// VocabSize is the number of tokens of the vocabulary.
func (t *Tokenizer) VocabSize() int { return len(t.encoder) }

// Encode returns the BPE token ids of text after Clean, without start, end or padding tokens (OpenAI's
// SimpleTokenizer.encode).
func (t *Tokenizer) Encode(text string) []int {
	var ids []int
	for _, word := range pretokenize.FindAllString(Clean(text), -1) {
		for _, sym := range t.bpe(word) {
			ids = append(ids, t.encoder[sym])
		}
	}
	return ids
}

// bpe splits one pre-token into vocabulary symbols.
func (t *Tokenizer) bpe(word string) []string {
	if word == StartOfText || word == EndOfText {
		return []string{word}
	}
	t.mu.Lock()
	cached, ok := t.cache[word]
	t.mu.Unlock()
	if ok {
		return cached
	}
	var symbols []string
	for _, b := range []byte(word) {
		symbols = append(symbols, string(byteEncoder[b]))
	}
	symbols[len(symbols)-1] += "</w>"
	for len(symbols) > 1 {
		best, rank := -1, 0
		for i := range len(symbols) - 1 {
			if r, ok := t.ranks[[2]string{symbols[i], symbols[i+1]}]; ok && (best < 0 || r < rank) {
				best, rank = i, r
			}
		}
		if best < 0 {
			break
		}
		// Merge every occurrence of the pair, left to right.
		first, second := symbols[best], symbols[best+1]
		merged := symbols[:0:0]
		for i := 0; i < len(symbols); i++ {
			if i < len(symbols)-1 && symbols[i] == first && symbols[i+1] == second {
				merged = append(merged, first+second)
				i++
			} else {
				merged = append(merged, symbols[i])
			}
		}
		symbols = merged
	}
	t.mu.Lock()
	if len(t.cache) < 1<<16 {
		t.cache[word] = symbols
	}
	t.mu.Unlock()
	return symbols
}

// Encoding is a prompt tokenised for the text encoder.
type Encoding struct {
	// IDs holds ContextLength ids: the start token, the prompt's tokens, the end token, then padding.
	IDs []int
	// Length counts the start and end tokens and the prompt's tokens kept.
	Length int
	// Truncated is the text of the tokens cut off because the prompt did not fit ("" if it fit).
	Truncated string
}

// Warning is the notice to show for a truncated prompt ("" when nothing was cut).
func (e Encoding) Warning() string {
	if e.Truncated == "" {
		return ""
	}
	return fmt.Sprintf("the prompt is longer than the text encoder's %d tokens; this part was dropped: %q", len(e.IDs), e.Truncated)
}

// Tokenize encodes a prompt as Stable Diffusion pipelines do (padding to the context length, truncating): the
// start token, at most ContextLength−2 of its tokens, the end token, then the pad token up to ContextLength.
// What does not fit is dropped, as the paper's code does; Encoding.Truncated says what.
func (t *Tokenizer) Tokenize(prompt string) Encoding {
	tokens := t.Encode(prompt)
	keep := min(len(tokens), t.ContextLength-2)
	ids := make([]int, 0, t.ContextLength)
	ids = append(ids, t.BOS)
	ids = append(ids, tokens[:keep]...)
	ids = append(ids, t.EOS)
	e := Encoding{Length: len(ids)}
	for len(ids) < t.ContextLength {
		ids = append(ids, t.Pad)
	}
	e.IDs = ids
	if keep < len(tokens) {
		e.Truncated = strings.TrimSpace(t.Decode(tokens[keep:]))
	}
	return e
}

// Decode turns ids back into text (OpenAI's SimpleTokenizer.decode): word ends become spaces (so words are
// followed by one); unknown ids are skipped.
func (t *Tokenizer) Decode(ids []int) string {
	var sb strings.Builder
	for _, id := range ids {
		sb.WriteString(t.decoder[id])
	}
	var raw []byte
	for _, r := range sb.String() {
		if b, ok := byteDecoder[r]; ok {
			raw = append(raw, b)
		} else {
			raw = append(raw, string(r)...)
		}
	}
	return strings.ReplaceAll(strings.ToValidUTF8(string(raw), "\uFFFD"), "</w>", " ")
}
