//go:build unix

package notebooks_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// This file checks the notebooks' Markdown for what Jupyter and GitHub would render wrong: Markdown syntax
// that fires by accident (~ pairs strike text through, * and _ start emphasis, | splits table cells, < starts
// HTML), math outside $…$ (the notebooks write formulas in LaTeX, which both render), and LaTeX that MathJax
// would show in red (unbalanced braces, unknown commands). The browser test (browser_test.go) checks the
// rendering itself.

// markdownMode selects the rules: sourceRules for the notebooks' Markdown cells (formulas must be LaTeX),
// outputRules for the Markdown the cells display (tables and numbers written by Go code: only real
// accidents).
type markdownMode int

const (
	sourceRules markdownMode = iota
	outputRules
)

// markdownProblem is one finding: the line (1-based, in the cell) and what is wrong there.
type markdownProblem struct {
	Line int
	Msg  string
}

func (p markdownProblem) String() string { return fmt.Sprintf("line %d: %s", p.Line, p.Msg) }

// checkMarkdown returns the problems of one Markdown text.
func checkMarkdown(text string, mode markdownMode) []markdownProblem {
	var problems []markdownProblem
	add := func(line int, format string, args ...any) {
		problems = append(problems, markdownProblem{line, fmt.Sprintf(format, args...)})
	}
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")

	// Paragraphs (runs of non-blank lines outside fenced code), with the line number of each line.
	type para struct {
		lines []string
		first int
	}
	var paras []para
	var cur *para
	fence := ""
	for i, l := range lines {
		trimmed := strings.TrimSpace(l)
		if fence != "" {
			if strings.HasPrefix(trimmed, fence) {
				fence = ""
			}
			continue
		}
		if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			fence = trimmed[:3]
			cur = nil
			continue
		}
		if trimmed == "" {
			cur = nil
			continue
		}
		if cur == nil {
			paras = append(paras, para{first: i + 1})
			cur = &paras[len(paras)-1]
		}
		cur.lines = append(cur.lines, l)
	}
	if fence != "" {
		add(len(lines), "code fence %s is not closed", fence)
	}

	for _, p := range paras {
		if isTable(p.lines) {
			checkTable(p.lines, p.first, mode, add)
			continue
		}
		prose, math := splitMath(strings.Join(p.lines, "\n"), p.first, add)
		for _, m := range math {
			checkLaTeX(m.text, m.line, add)
		}
		for n, l := range strings.Split(prose, "\n") {
			checkProseLine(l, p.first+n, n == 0, mode, add)
		}
		checkEmphasis(prose, p.first, add)
	}
	return problems
}

// mathSpan is the LaTeX inside one $…$ or $$…$$, and the line it starts on.
type mathSpan struct {
	text string
	line int
}

// splitMath removes code spans and math from a paragraph: it returns the prose (code spans and math replaced
// by a placeholder letter, so that line numbers and word boundaries stay) and the math spans. Unclosed
// backticks or dollars, and $ next to a space on its inner side (neither Jupyter nor GitHub then reads math),
// are problems.
func splitMath(text string, first int, add func(int, string, ...any)) (string, []mathSpan) {
	var prose strings.Builder
	var math []mathSpan
	line := first
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case c == '\\' && i+1 < len(text) && (text[i+1] == '$' || text[i+1] == '`'):
			prose.WriteString("x")
			i += 2
		case c == '`':
			n := runLength(text, i, '`')
			end := strings.Index(text[i+n:], strings.Repeat("`", n))
			if end < 0 {
				add(line, "unclosed code span %s", strings.Repeat("`", n))
				return prose.String(), math
			}
			inner := text[i+n : i+n+end]
			prose.WriteString("x" + strings.Repeat("\n", strings.Count(inner, "\n")))
			line += strings.Count(inner, "\n")
			i += 2*n + end
		case c == '$':
			n := min(runLength(text, i, '$'), 2)
			delim := text[i : i+n]
			end := strings.Index(text[i+n:], delim)
			if end < 0 {
				add(line, "unclosed math %s", delim)
				return prose.String(), math
			}
			inner := text[i+n : i+n+end]
			if n == 1 {
				if inner == "" || unicode.IsSpace(rune(inner[0])) || unicode.IsSpace(rune(inner[len(inner)-1])) {
					add(line, "math $%s$ has a space inside a $: write $x$, not $ x $", inner)
				}
			}
			math = append(math, mathSpan{inner, line})
			prose.WriteString("x" + strings.Repeat("\n", strings.Count(inner, "\n")))
			line += strings.Count(inner, "\n")
			i += 2*n + end
		default:
			if c == '\n' {
				line++
			}
			prose.WriteByte(c)
			i++
		}
	}
	return prose.String(), math
}

func runLength(s string, i int, c byte) int {
	n := 0
	for i+n < len(s) && s[i+n] == c {
		n++
	}
	return n
}

// outsideMath are characters that belong in LaTeX: Greek letters (ϵ, ᾱ …), combining accents (x̂), super- and
// subscripts, primes and the operators of the paper's formulas.
func outsideMath(r rune) bool {
	switch {
	case r >= 0x0370 && r <= 0x03FF, r >= 0x1F00 && r <= 0x1FFF: // Greek, Greek extended
		return true
	case r >= 0x0300 && r <= 0x036F: // combining accents
		return true
	case r >= 0x2070 && r <= 0x209F, r == '²', r == '³', r == '¹': // super- and subscripts
		return true
	case r >= 0x1D2C && r <= 0x1DBF: // modifier letters (ᶜ, ᵀ)
		return true
	}
	return strings.ContainsRune("′″‖√∂∑∏∫∇∈∉⊂⊆∞ᵀ", r)
}

var headingNoSpace = regexp.MustCompile(`^#{1,6}[^#\s]`)

// checkProseLine checks one line of prose (code and math removed).
func checkProseLine(l string, line int, firstOfPara bool, mode markdownMode, add func(int, string, ...any)) {
	if firstOfPara && headingNoSpace.MatchString(l) {
		add(line, "heading %q needs a space after the #", l)
	}
	if strings.Contains(l, "~") {
		add(line, "~ outside math: a pair of ~ strikes text through (single ones too, on GitHub); write ≈, or $\\sim$")
	}
	if strings.Contains(l, "|") {
		add(line, "| outside a table or math: write |x| as $\\lvert x \\rvert$")
	}
	for i := 0; i < len(l); i++ {
		switch c := l[i]; {
		case c == '<' && i+1 < len(l) && (isLetter(l[i+1]) || l[i+1] == '/' || l[i+1] == '!'):
			add(line, "< starts HTML here (%q): write ‹, ≤, or put it in `code` or math", excerpt(l, i))
		case c == '\\' && i+1 < len(l) && isLetter(l[i+1]):
			add(line, "LaTeX command %q outside $…$", excerpt(l, i))
		case c == '_':
			boundary := i == 0 || i == len(l)-1 || !isWordByte(l[i-1]) || !isWordByte(l[i+1])
			if mode == sourceRules || boundary {
				add(line, "_ outside math and code (%q): subscripts go in $x_t$, names in `code`, emphasis in *…*", excerpt(l, i))
			}
		}
	}
	if mode == sourceRules {
		for _, r := range l {
			if outsideMath(r) {
				add(line, "%q outside $…$: write the formula in LaTeX (%q)", r, excerpt(l, strings.IndexRune(l, r)))
				break
			}
		}
	}
}

// checkEmphasis pairs the * of a paragraph the way CommonMark does (a run opens when a non-space follows it,
// closes when a non-space precedes it) and reports the ones left over, which would start or end emphasis
// somewhere else. List bullets are not emphasis.
func checkEmphasis(prose string, first int, add func(int, string, ...any)) {
	type run struct{ n, line int }
	var open []run
	for n, l := range strings.Split(prose, "\n") {
		line := first + n
		body := strings.TrimLeft(l, " ")
		if strings.HasPrefix(body, "* ") || strings.HasPrefix(body, "- ") {
			body = body[2:]
		}
		for i := 0; i < len(body); {
			if body[i] == '\\' && i+1 < len(body) {
				i += 2
				continue
			}
			if body[i] != '*' {
				i++
				continue
			}
			k := runLength(body, i, '*')
			before, after := byte(' '), byte(' ')
			if i > 0 {
				before = body[i-1]
			}
			if i+k < len(body) {
				after = body[i+k]
			}
			closes := before != ' ' && len(open) > 0 && open[len(open)-1].n == k
			switch {
			case closes:
				open = open[:len(open)-1]
			case after != ' ':
				open = append(open, run{k, line})
			default:
				add(line, "%s between spaces is literal in Jupyter but may be emphasis elsewhere: write × or $\\ast$ (%q)",
					strings.Repeat("*", k), excerpt(body, i))
			}
			i += k
		}
	}
	for _, r := range open {
		add(r.line, "%s opens emphasis that is never closed", strings.Repeat("*", r.n))
	}
}

// isTable reports whether a paragraph is a GFM table: a header row and a delimiter row of |, - and :.
func isTable(lines []string) bool {
	return len(lines) >= 2 && strings.Contains(lines[0], "|") && tableDelimiter.MatchString(strings.TrimSpace(lines[1]))
}

var tableDelimiter = regexp.MustCompile(`^\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?$`)

// checkTable checks that every row of a table has as many cells as its header: a | inside a cell (say, |x|)
// splits it. The cells themselves are checked as prose.
func checkTable(lines []string, first int, mode markdownMode, add func(int, string, ...any)) {
	want := len(tableCells(lines[0]))
	for n, l := range lines {
		line := first + n
		if n == 1 {
			continue
		}
		cells := tableCells(l)
		if len(cells) != want {
			add(line, "table row has %d cells, its header %d: a | inside a cell splits it (write $\\lvert x \\rvert$)", len(cells), want)
		}
		for _, c := range cells {
			prose, math := splitMath(c, line, add)
			for _, m := range math {
				checkLaTeX(m.text, m.line, add)
			}
			checkProseLine(strings.ReplaceAll(prose, "|", ""), line, false, mode, add)
			checkEmphasis(prose, line, add)
		}
	}
}

// tableCells splits a table row at the | that are not escaped, not in code and not in math.
func tableCells(row string) []string {
	row = strings.TrimSpace(row)
	row = strings.TrimPrefix(row, "|")
	if strings.HasSuffix(row, "|") && !strings.HasSuffix(row, `\|`) {
		row = row[:len(row)-1]
	}
	var cells []string
	var cell strings.Builder
	inCode, inMath := false, false
	for i := 0; i < len(row); i++ {
		c := row[i]
		switch {
		case c == '\\' && i+1 < len(row):
			cell.WriteByte(c)
			cell.WriteByte(row[i+1])
			i++
			continue
		case c == '`' && !inMath:
			inCode = !inCode
		case c == '$' && !inCode:
			inMath = !inMath
		case c == '|' && !inCode && !inMath:
			cells = append(cells, cell.String())
			cell.Reset()
			continue
		}
		cell.WriteByte(c)
	}
	return append(cells, cell.String())
}

// knownLaTeX are the commands the notebooks may use: MathJax (Jupyter) and GitHub's math both know them.
// Add a command here when a notebook needs a new one that MathJax 2 and 3 render.
var knownLaTeX = setOf(`alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu xi pi
	rho sigma tau upsilon phi varphi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma Phi Psi Omega
	hat bar tilde widetilde widehat vec dot ddot check breve overline underline
	sqrt frac dfrac tfrac cdot cdots ldots dots times div pm mp approx sim simeq cong equiv propto neq ne le leq ge geq
	ll gg lesssim gtrsim in notin subset subseteq cup cap setminus to mapsto rightarrow leftarrow Rightarrow Leftrightarrow
	partial nabla infty varnothing emptyset sum prod int min max arg log exp ln cos sin tan lim sup inf det dim ker top perp
	left right big Big bigl bigr lvert rvert lVert rVert vert Vert langle rangle lceil rceil lfloor rfloor
	mathrm mathbf mathit mathcal mathbb mathsf operatorname text textrm textbf boldsymbol
	quad qquad , ; ! { } | % _ \ ast star circ bullet prime mid colon`)

func setOf(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}

// checkLaTeX checks one formula: balanced braces and \left/\right, known commands.
func checkLaTeX(tex string, line int, add func(int, string, ...any)) {
	depth := 0
	lefts := 0
	for i := 0; i < len(tex); i++ {
		switch tex[i] {
		case '\\':
			j := i + 1
			for j < len(tex) && isLetter(tex[j]) {
				j++
			}
			if j == i+1 && j < len(tex) {
				j++ // \{, \,, \\ …
			}
			cmd := tex[i+1 : j]
			switch {
			case cmd == "left":
				lefts++
			case cmd == "right":
				lefts--
			case !knownLaTeX[cmd]:
				add(line, "unknown LaTeX command \\%s in $%s$ (add it to knownLaTeX if MathJax renders it)", cmd, tex)
			}
			i = j - 1
		case '{':
			depth++
		case '}':
			depth--
			if depth < 0 {
				add(line, "unbalanced } in $%s$", tex)
				depth = 0
			}
		}
	}
	if depth != 0 {
		add(line, "unbalanced { in $%s$", tex)
	}
	if lefts != 0 {
		add(line, "\\left without \\right (or the other way) in $%s$", tex)
	}
}

func isLetter(c byte) bool   { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isWordByte(c byte) bool { return isLetter(c) || c >= '0' && c <= '9' || c >= utf8.RuneSelf }

func excerpt(s string, i int) string {
	lo, hi := max(0, i-12), min(len(s), i+12)
	for lo > 0 && !utf8.RuneStart(s[lo]) {
		lo--
	}
	for hi < len(s) && !utf8.RuneStart(s[hi]) {
		hi++
	}
	return s[lo:hi]
}

// notebookMarkdown returns the Markdown cells of a notebook: their ids and texts.
func notebookMarkdown(t *testing.T, path string) (ids, texts []string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var nb struct {
		Cells []struct {
			Type   string          `json:"cell_type"`
			ID     string          `json:"id"`
			Source json.RawMessage `json:"source"`
		} `json:"cells"`
	}
	if err := json.Unmarshal(data, &nb); err != nil {
		t.Fatalf("parsing %s: %v", path, err)
	}
	for _, c := range nb.Cells {
		if c.Type == "markdown" {
			ids = append(ids, c.ID)
			texts = append(texts, notebookText(t, c.Source))
		}
	}
	return ids, texts
}

// TestNotebookMarkdown checks the Markdown cells of every notebook.
func TestNotebookMarkdown(t *testing.T) {
	paths, err := filepath.Glob("*.ipynb")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no notebooks/*.ipynb (err %v)", err)
	}
	for _, path := range paths {
		ids, texts := notebookMarkdown(t, path)
		if len(texts) == 0 {
			t.Errorf("%s has no Markdown cell", path)
		}
		for i, text := range texts {
			for _, p := range checkMarkdown(text, sourceRules) {
				t.Errorf("%s, Markdown cell %q, %v", path, ids[i], p)
			}
		}
	}
}

// checkOutputMarkdown reports the problems of the text/markdown outputs of an executed notebook.
func checkOutputMarkdown(t *testing.T, path string) []string {
	t.Helper()
	var found []string
	for i, md := range outputsOfType(t, path, "text/markdown") {
		for _, p := range checkMarkdown(md, outputRules) {
			found = append(found, fmt.Sprintf("%s, Markdown output %d, %v", filepath.Base(path), i+1, p))
		}
	}
	return found
}

func TestCheckMarkdown(t *testing.T) {
	tests := []struct {
		name, text string
		mode       markdownMode
		want       []string // substrings of the problems, in order; none: clean
	}{
		{"clean prose and math", "# Title\n\nThe PMP $\\hat x_0(x_t)$ of **a** *model*:\n\n$$J = \\frac{\\partial \\hat x_0}{\\partial x_t}$$\n\n" +
			"* a bullet with `rank_ratio` and ≈ 0.95 × 2 − 1 → ok\n* another", sourceRules, nil},
		{"strikethrough", "rank~(J) … rank~/d", sourceRules, []string{"line 1: ~ outside math"}},
		{"tilde in math is fine", "$\\tilde r = \\operatorname{rank}$ and $x \\sim y$", sourceRules, nil},
		{"underscore", "the time x_t is", sourceRules, []string{`_ outside math and code ("the time x_t is")`}},
		{"greek", "strength λ = 8", sourceRules, []string{`'λ' outside $…$`}},
		{"hat", "the PMP x̂0", sourceRules, []string{`'̂' outside $…$`}},
		{"prime and super", "r′ = 5 and 10⁻⁸", sourceRules, []string{`'′' outside $…$`}},
		{"greek in outputs is fine", "Locality per λ: −8: 0.95", outputRules, nil},
		{"intraword underscore in outputs", "| t | rank_ratio |\n|---|---|\n| 0.5 | 0.01 |", outputRules, nil},
		{"boundary underscore in outputs", "see _this and that", outputRules, []string{"_ outside math"}},
		{"lone star", "2 * 3 is six", sourceRules, []string{"* between spaces"}},
		{"unclosed emphasis", "a *b c", sourceRules, []string{"* opens emphasis that is never closed"}},
		{"emphasis across lines", "a *b\nc* d and **e\nf**", sourceRules, nil},
		{"pipe in prose", "the |cosine| of", sourceRules, []string{"| outside a table"}},
		{"pipe in table cell", "| a | b |\n|---|---|\n| x | |y| |", outputRules, []string{"line 3: table row has 4 cells, its header 2"}},
		{"pipe in math in a table", "| a | b |\n|---|---|\n| x | $\\lvert y \\rvert$ |", sourceRules, nil},
		{"html", "if x <b and", sourceRules, []string{"< starts HTML"}},
		{"less than is fine", "t < 0.2 and t<0.3", sourceRules, nil},
		{"unclosed math", "the $x_t time", sourceRules, []string{"unclosed math $"}},
		{"space in math", "the $ x_t$ time", sourceRules, []string{"has a space inside"}},
		{"latex outside math", "write \\lambda here", sourceRules, []string{`LaTeX command "write \\lambda here" outside`}},
		{"unknown command", "$\\lamda$", sourceRules, []string{"unknown LaTeX command \\lamda"}},
		{"unbalanced brace", "$\\frac{a}{b$", sourceRules, []string{"unbalanced {"}},
		{"left right", "$\\left( x$", sourceRules, []string{"\\left without \\right"}},
		{"code is exempt", "`a_b ~ c | d * e` and\n```\nx_t ~ y | z\n```", sourceRules, nil},
		{"unclosed code", "a `b c", sourceRules, []string{"unclosed code span"}},
		{"heading", "#Title", sourceRules, []string{"needs a space"}},
		{"escaped dollar", "costs \\$5", sourceRules, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, p := range checkMarkdown(tc.text, tc.mode) {
				got = append(got, p.String())
			}
			if len(got) != len(tc.want) {
				t.Fatalf("problems %q, want %d matching %q", got, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("problem %d = %q, want it to contain %q", i, got[i], w)
				}
			}
		})
	}
}
