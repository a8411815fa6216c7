package clip

import (
	"html"
	"regexp"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Clean normalises a prompt the way CLIP's tokenizer does before splitting it into words:
//
//  1. ftfy's fix_text with its default settings, except mojibake repair (see below): HTML entities decoded
//     (unless the text holds a '<'), C1 control characters read as Windows-1252, Latin ligatures split,
//     full-width forms narrowed, curly quotes straightened, line breaks unified, terminal escapes and invisible
//     control characters removed, NFC normalisation, repeated until nothing changes;
//  2. HTML entities decoded twice more (html.unescape) and surrounding white space trimmed;
//  3. every run of white space replaced by one space;
//  4. lower case, with Python's str.lower rules (final sigma, dotted capital I).
//
// ftfy also guesses whether text is mojibake (UTF-8 decoded with a legacy encoding, such as "cafÃ©") and
// re-decodes it; that statistical repair is not reproduced: such text is tokenised as written.
func Clean(text string) string {
	text = fixText(strings.ToValidUTF8(text, "\uFFFD"))
	text = strings.TrimFunc(html.UnescapeString(html.UnescapeString(text)), isSpace)
	return pythonLower(whitespaceClean(text))
}

// fixText is ftfy.fix_text without fix_encoding: the text is fixed line by line (each segment ends after a
// '\n'); once a segment holds '<', HTML entities are left alone in it and every later segment, as ftfy does.
func fixText(text string) string {
	var out strings.Builder
	unescape := true
	for len(text) > 0 {
		end := strings.IndexByte(text, '\n') + 1
		if end == 0 {
			end = len(text)
		}
		segment := text[:end]
		text = text[end:]
		if strings.Contains(segment, "<") {
			unescape = false
		}
		for {
			orig := segment
			if unescape {
				segment = unescapeHTML(segment)
			}
			segment = fixC1Controls(segment)
			segment = ligatures.Replace(segment)
			segment = strings.Map(narrow, segment)
			segment = quotes.Replace(segment)
			segment = lineBreaks.Replace(segment)
			segment = terminalEscape.ReplaceAllString(segment, "")
			segment = strings.Map(removeControl, segment)
			segment = norm.NFC.String(segment)
			if segment == orig {
				break
			}
		}
		out.WriteString(segment)
	}
	return out.String()
}

// htmlEntity is ftfy's HTML_ENTITY_RE.
var htmlEntity = regexp.MustCompile(`&#?[0-9A-Za-z]{1,24};`)

// unescapeHTML is ftfy's unescape_html: a numeric reference or an HTML5 named entity (with its ';') is
// decoded when the whole match is one entity, and so are all-capital spellings of the lower-case names that are
// not entities themselves (&EACUTE; is É).
func unescapeHTML(text string) string {
	return htmlEntity.ReplaceAllStringFunc(text, func(m string) string {
		dec := html.UnescapeString(m)
		if strings.HasPrefix(m, "&#") {
			if strings.Contains(dec, ";") { // undecodable, or &#59; (ftfy keeps it)
				return m
			}
			return dec
		}
		// A prefix match ("&ampx;" → "&x;") keeps part of the name and the ';'; a full match does not, except
		// &semi; itself.
		if dec != m && (!strings.HasSuffix(dec, ";") || dec == ";") {
			return dec
		}
		name := m[1 : len(m)-1]
		if dec == m && name == strings.ToUpper(name) {
			lower := "&" + strings.ToLower(name) + ";"
			if d := html.UnescapeString(lower); d != lower && !strings.HasSuffix(d, ";") {
				return strings.ReplaceAll(strings.ToUpper(d), "ß", "SS")
			}
		}
		return m
	})
}

// windows1252 maps the C1 control characters U+0080…U+009F to the characters Windows-1252 puts at those bytes;
// the five bytes it leaves undefined stay as they are (ftfy's "sloppy" codec).
var windows1252 = [32]rune{
	0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8D, 0x017D, 0x8F,
	0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D, 0x017E, 0x0178,
}

func fixC1Controls(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 0x80 && r <= 0x9F {
			return windows1252[r-0x80]
		}
		return r
	}, s)
}

// ligatures are ftfy's LIGATURES: Latin typographic ligatures and legacy digraphs, split into their letters.
var ligatures = strings.NewReplacer(
	"Ĳ", "IJ", "ĳ", "ij", "ŉ", "ʼn", "Ǳ", "DZ", "ǲ", "Dz", "ǳ", "dz", "Ǆ", "DŽ", "ǅ", "Dž", "ǆ", "dž",
	"Ǉ", "LJ", "ǈ", "Lj", "ǉ", "lj", "Ǌ", "NJ", "ǋ", "Nj", "ǌ", "nj",
	"ﬀ", "ff", "ﬁ", "fi", "ﬂ", "fl", "ﬃ", "ffi", "ﬄ", "ffl", "ﬅ", "ſt", "ﬆ", "st",
)

// narrow is ftfy's fix_character_width: the ideographic space becomes a space, and the half- and full-width
// forms U+FF01…U+FFEF their NFKC equivalents (each a single character).
func narrow(r rune) rune {
	if r == 0x3000 {
		return ' '
	}
	if r >= 0xFF01 && r < 0xFFF0 {
		if s := norm.NFKC.String(string(r)); s != string(r) {
			if rs := []rune(s); len(rs) == 1 {
				return rs[0]
			}
		}
	}
	return r
}

// quotes is ftfy's uncurl_quotes.
var quotes = strings.NewReplacer(
	"\u02bc", "'", "\u2018", "'", "\u2019", "'", "\u201a", "'", "\u201b", "'",
	"\u201c", `"`, "\u201d", `"`, "\u201e", `"`, "\u201f", `"`,
)

// lineBreaks is ftfy's fix_line_breaks.
var lineBreaks = strings.NewReplacer("\r\n", "\n", "\r", "\n", "\u2028", "\n", "\u2029", "\n", "\u0085", "\n")

// terminalEscape is ftfy's ANSI_RE (Python's \d matches any decimal digit).
var terminalEscape = regexp.MustCompile(`\x1b\[[\p{Nd};]*[a-zA-Z]`)

// removeControl is ftfy's remove_control_chars: it drops C0 controls other than tab, line feed, form feed and
// carriage return, DEL, the deprecated format characters U+206A…U+206F, the byte-order mark and the
// interlinear annotation characters U+FFF9…U+FFFC.
func removeControl(r rune) rune {
	switch {
	case r <= 0x08, r == 0x0B, r >= 0x0E && r <= 0x1F, r == 0x7F,
		r >= 0x206A && r <= 0x206F, r == 0xFEFF, r >= 0xFFF9 && r <= 0xFFFC:
		return -1
	}
	return r
}

// isSpace is Python's str.isspace: Unicode white space plus the information separators U+001C…U+001F.
func isSpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1C && r <= 0x1F)
}

// whitespaceClean is CLIP's whitespace_clean: runs of white space become one space, and the ends are trimmed.
func whitespaceClean(s string) string {
	return strings.Join(strings.FieldsFunc(s, isSpace), " ")
}

// pythonLower is Python's str.lower: each character's lower-case mapping, with the two context rules Python
// applies — capital I with dot above becomes i + combining dot, and capital sigma becomes final ς at the end
// of a word.
func pythonLower(s string) string {
	rs := []rune(s)
	var out strings.Builder
	out.Grow(len(s))
	for i, r := range rs {
		switch r {
		case 'İ':
			out.WriteString("i\u0307")
		case 'Σ':
			if finalSigma(rs, i) {
				out.WriteRune('ς')
			} else {
				out.WriteRune('σ')
			}
		default:
			out.WriteRune(unicode.ToLower(r))
		}
	}
	return out.String()
}

// finalSigma is Unicode's Final_Sigma condition at rs[i]: a cased letter before it and none after it, skipping
// case-ignorable characters.
func finalSigma(rs []rune, i int) bool {
	j := i - 1
	for j >= 0 && caseIgnorable(rs[j]) {
		j--
	}
	if j < 0 || !cased(rs[j]) {
		return false
	}
	j = i + 1
	for j < len(rs) && caseIgnorable(rs[j]) {
		j++
	}
	return j == len(rs) || !cased(rs[j])
}

func cased(r rune) bool {
	return unicode.IsUpper(r) || unicode.IsLower(r) || unicode.IsTitle(r) ||
		unicode.Is(unicode.Other_Lowercase, r) || unicode.Is(unicode.Other_Uppercase, r)
}

// caseIgnorable approximates Unicode's Case_Ignorable: marks, format characters, modifier letters and
// symbols, and the word-internal punctuation of Word_Break MidLetter, MidNumLet and Single_Quote.
func caseIgnorable(r rune) bool {
	if unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk) {
		return true
	}
	return strings.ContainsRune("'.:·\u0387\u055f\u05f4\u2018\u2019\u2024\u2027\ufe13\ufe52\ufe55\uff07\uff0e\uff1a", r)
}
