package figures

import (
	"bytes"
	"encoding/base64"
	"errors"
	"image"
	"image/png"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// listenRun drives listen from a goroutine: settings are sent one at a time (after those queued before it
// started), and each update is reported.
type listenRun struct {
	setting    chan string
	end        chan int
	interrupts chan os.Signal
	updates    chan exploreSetting
	result     chan endReason
	err        error
	fail       error // returned by update when set
}

func startListen(idle time.Duration, fail error, queued ...string) *listenRun {
	r := &listenRun{setting: make(chan string, len(queued)), end: make(chan int),
		interrupts: make(chan os.Signal, 1), updates: make(chan exploreSetting, 16), result: make(chan endReason, 1), fail: fail}
	for _, msg := range queued {
		r.setting <- msg
	}
	st := &exploreSetting{lambda: 8}
	go func() {
		reason, err := listen(controls{setting: r.setting, end: r.end}, r.interrupts, idle, 4, 15, st,
			func(s exploreSetting) error {
				r.updates <- s
				return r.fail
			})
		r.err = err
		r.result <- reason
	}()
	return r
}

func (r *listenRun) wantUpdate(t *testing.T, want exploreSetting) {
	t.Helper()
	select {
	case got := <-r.updates:
		if got != want {
			t.Errorf("update %+v, want %+v", got, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no update, want %+v", want)
	}
}

func (r *listenRun) wantEnd(t *testing.T, want endReason) {
	t.Helper()
	select {
	case got := <-r.result:
		if got != want {
			t.Errorf("ended with %v, want %v", got, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("listen did not end, want %v", want)
	}
	if len(r.updates) != 0 {
		t.Errorf("%d unexpected updates", len(r.updates))
	}
}

func TestParseSetting(t *testing.T) {
	for _, tc := range []struct {
		msg  string
		seq  int
		st   exploreSetting
		want bool
	}{
		{"1 -3 0", 1, exploreSetting{lambda: -3}, true},
		{" 12 15  2 ", 12, exploreSetting{lambda: 15, choice: 2}, true},
		{"0 1 1", 0, exploreSetting{lambda: 1, choice: 1}, false}, // sequence numbers start at 1
		{"1 2", 0, exploreSetting{}, false},
		{"1 2 3 4", 0, exploreSetting{}, false},
		{"1 x 0", 0, exploreSetting{}, false},
		{"", 0, exploreSetting{}, false},
	} {
		seq, st, ok := parseSetting(tc.msg)
		if ok != tc.want || (ok && (seq != tc.seq || st != tc.st)) {
			t.Errorf("parseSetting(%q) = %d, %+v, %v; want %d, %+v, %v", tc.msg, seq, st, ok, tc.seq, tc.st, tc.want)
		}
	}
}

func TestListen(t *testing.T) {
	t.Run("changes then Done", func(t *testing.T) {
		r := startListen(time.Minute, nil)
		r.setting <- "1 -3 0"
		r.wantUpdate(t, exploreSetting{lambda: -3})
		r.setting <- "2 -3 2"
		r.wantUpdate(t, exploreSetting{lambda: -3, choice: 2})
		r.setting <- "3 99 2" // clamped to the slider's range
		r.wantUpdate(t, exploreSetting{lambda: 15, choice: 2})
		r.setting <- "4 15 -1" // not a choice, and nothing else changed: no update
		r.setting <- "not a setting"
		r.setting <- "5 0 4" // not a choice: the direction stays
		r.wantUpdate(t, exploreSetting{lambda: 0, choice: 2})
		r.end <- endCodeDone
		r.wantEnd(t, endDone)
	})
	t.Run("out of order", func(t *testing.T) {
		// GoNB may deliver λ = 10 (sent last) before λ = 9: the older message must not win.
		r := startListen(time.Minute, nil)
		r.setting <- "7 10 0"
		r.wantUpdate(t, exploreSetting{lambda: 10})
		r.setting <- "6 9 0"
		r.setting <- "7 3 1" // a repeated sequence number is not newer either
		r.end <- endCodeDone
		r.wantEnd(t, endDone)
	})
	t.Run("only the newest of those waiting is drawn", func(t *testing.T) {
		r := startListen(time.Minute, nil, "1 1 0", "3 3 1", "2 2 0", "4 3 1")
		r.wantUpdate(t, exploreSetting{lambda: 3, choice: 1})
		r.end <- endCodeDone
		r.wantEnd(t, endDone)
	})
	t.Run("another cell", func(t *testing.T) {
		r := startListen(time.Minute, nil)
		r.end <- endCodeOtherCell
		r.wantEnd(t, endOtherCell)
	})
	t.Run("interrupt", func(t *testing.T) {
		r := startListen(time.Minute, nil)
		r.setting <- "1 5 0"
		r.wantUpdate(t, exploreSetting{lambda: 5})
		r.interrupts <- os.Interrupt
		r.wantEnd(t, endInterrupt)
	})
	t.Run("idle", func(t *testing.T) {
		r := startListen(300*time.Millisecond, nil)
		start := time.Now()
		r.setting <- "1 1 0"
		r.wantUpdate(t, exploreSetting{lambda: 1})
		r.wantEnd(t, endIdle)
		if d := time.Since(start); d < 300*time.Millisecond {
			t.Errorf("ended after %v, before the idle time", d)
		}
	})
	t.Run("update error", func(t *testing.T) {
		boom := errors.New("boom")
		r := startListen(time.Minute, boom)
		r.setting <- "1 8 1"
		r.wantUpdate(t, exploreSetting{lambda: 8, choice: 1})
		r.wantEnd(t, endError)
		if !errors.Is(r.err, boom) {
			t.Errorf("error %v, want %v", r.err, boom)
		}
	})
}

func TestExplorePanelHTML(t *testing.T) {
	p := newExplorePanel("loco-explore-x", "/loco-explore/x", ExploreOptions{Idle: 90 * time.Second}.withDefaults(),
		[]string{"pc 0, projected (r′ = 5)", "pc 1 <b>"})
	live, err := p.HTML(exploreSetting{lambda: -4, choice: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`data-state="live"`,
		`<label for="loco-explore-x-lambda"`, `>strength λ</label>`,
		`<span>−15</span>`, `<span>15</span>`, // the range, with a true minus sign
		`min="-15" max="15" step="1" value="-4"`,
		`>λ = −4</output>`, // the value
		`<option value="1" selected>pc 1 &lt;b&gt;</option>`,
		`>Done</button>`,
		`const id = "loco-explore-x", address = "/loco-explore/x", idle =  90 ;`,
		`Closes after " + "90 s" +`,
		`events.on("execute.CodeCell", onRun)`,
		`c.send(address + "/ready", 1)`, // repeated until the first picture (data-panel = the panel's id) arrives
		`'.loco-explorer-figure[data-panel="' + id + '"]'`,
		`waited >=  10  * 1000`, // gives up as the cell program does (Wait, 10 s by default)
		`comm()?.send(address + "/setting", ++seq + " " + Number(slider.value) + " " + Number(menu.value))`,
		`.output_area:has(> .output_subarea.output_html:empty)`, // hides GoNB's emptied outputs
	} {
		if !strings.Contains(live, want) {
			t.Errorf("live panel lacks %q:\n%s", want, live)
		}
	}
	if strings.Contains(live, " disabled>") {
		t.Errorf("live panel has disabled controls:\n%s", live)
	}

	for _, tc := range []struct {
		end  exploreEnd
		want string
	}{
		{exploreEnd{reason: endDone}, "Closed with Done."},
		{exploreEnd{reason: endOtherCell}, "Closed because another cell was run."},
		{exploreEnd{reason: endIdle, idle: 2 * time.Minute}, "Closed after 2 min without a change."},
		{exploreEnd{reason: endInterrupt}, "Closed by the kernel interrupt (■)."},
		{exploreEnd{reason: endNoBrowser, wait: 3 * time.Second}, "No browser answered within 3s"},
	} {
		closed, err := p.HTML(exploreSetting{lambda: 6}, &tc.end)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(closed, tc.want) || !strings.Contains(closed, `data-state="closed"`) {
			t.Errorf("closed panel (%v) lacks %q:\n%s", tc.end.reason, tc.want, closed)
		}
		if n := strings.Count(closed, " disabled>"); n != 3 || strings.Contains(closed, "<script") {
			t.Errorf("closed panel has %d disabled controls (want 3) or a script:\n%s", n, closed)
		}
		if !strings.Contains(closed, `value="6"`) || !strings.Contains(closed, `>λ = 6</output>`) {
			t.Errorf("closed panel does not show the last setting λ = 6:\n%s", closed)
		}
	}
}

func TestFigureHTML(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 7, 3))
	img.Pix[4] = 200
	html, err := figureHTML("loco-explore-x", img, "λ = −2 · pc 0 & more", exploreSetting{lambda: -2, choice: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`data-panel="loco-explore-x" data-lambda="-2" data-choice="3"`, `<figcaption style="font-family: sans-serif">λ = −2 · pc 0 &amp; more</figcaption>`} {
		if !strings.Contains(html, want) {
			t.Errorf("figure lacks %q:\n%s", want, html)
		}
	}
	m := regexp.MustCompile(`src="data:image/png;base64,([^"]+)"`).FindStringSubmatch(html)
	if m == nil {
		t.Fatalf("no inline PNG in %s", html)
	}
	data, err := base64.StdEncoding.DecodeString(m[1])
	if err != nil {
		t.Fatal(err)
	}
	back, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if b := back.Bounds(); b.Dx() != 7 || b.Dy() != 3 {
		t.Errorf("inline PNG is %v, want 7×3", b)
	}
	if r, _, _, _ := back.At(4, 0).RGBA(); r>>8 != 200 {
		t.Errorf("pixel (4,0) = %d, want 200", r>>8)
	}
}
