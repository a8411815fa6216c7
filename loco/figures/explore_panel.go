package figures

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html/template"
	"image"
	"image/png"
	"os"
	"strconv"
	"strings"
	"time"
)

// exploreSetting is what the controls select: the strength λ and the direction (an index into the choices).
type exploreSetting struct {
	lambda, choice int
}

// controls are the channels the panel's script sends to: the setting after each change of the slider or the menu
// (see parseSetting), and the end of the interaction (endCodeDone: the Done button; endCodeOtherCell: another cell
// was run).
type controls struct {
	setting <-chan string
	end     <-chan int
}

// parseSetting reads a setting message of the panel's script: "SEQ LAMBDA CHOICE", the change's sequence number
// (1, 2, …), the slider's value and the menu's index. GoNB hands each message to the program in a goroutine of its
// own, so messages can arrive out of order; the sequence number tells the newest.
func parseSetting(msg string) (seq int, st exploreSetting, ok bool) {
	f := strings.Fields(msg)
	if len(f) != 3 {
		return 0, st, false
	}
	var v [3]int
	for i, s := range f {
		n, err := strconv.Atoi(s)
		if err != nil {
			return 0, st, false
		}
		v[i] = n
	}
	return v[0], exploreSetting{lambda: v[1], choice: v[2]}, v[0] > 0
}

// Codes the panel's script sends on its end address.
const (
	endCodeDone      = 1
	endCodeOtherCell = 2
)

// endReason is why an interaction ended.
type endReason int

const (
	endNoBrowser endReason = iota
	endDone
	endOtherCell
	endIdle
	endInterrupt
	endError
)

// exploreEnd describes the end of an interaction, for the closed panel's status line.
type exploreEnd struct {
	reason     endReason
	wait, idle time.Duration
}

func (e exploreEnd) String() string {
	switch e.reason {
	case endNoBrowser:
		return fmt.Sprintf("No browser answered within %v (a headless run, e.g. nbconvert): the controls are inactive "+
			"and the picture below is the initial setting. Open the notebook in Jupyter to move the slider.", e.wait)
	case endDone:
		return "Closed with Done. Run the cell again to explore more."
	case endOtherCell:
		return "Closed because another cell was run. Run this cell again to explore more."
	case endIdle:
		return fmt.Sprintf("Closed after %s without a change. Run the cell again to explore more.", formatMinutes(e.idle))
	case endInterrupt:
		return "Closed by the kernel interrupt (■). Run the cell again to explore more."
	default:
		return "Closed after an error (see below)."
	}
}

// formatMinutes writes a duration as "2 min" or "90 s".
func formatMinutes(d time.Duration) string {
	if d >= time.Minute && d%time.Minute == 0 {
		return fmt.Sprintf("%d min", d/time.Minute)
	}
	return fmt.Sprintf("%d s", int(d.Round(time.Second)/time.Second))
}

// listen applies the newest setting of the controls to st and calls update with it, until the panel ends the
// interaction (Done, another cell), idle passes without a change, or an interrupt arrives. Settings older than
// one already applied, and malformed ones, are ignored; when several have arrived while update ran, only the newest
// is drawn. Slider values outside [−maxLambda, maxLambda] are clamped; menu indices outside [0, choices) leave
// the direction as it was. An error of update ends the interaction with that error.
func listen(c controls, interrupts <-chan os.Signal, idle time.Duration, choices, maxLambda int,
	st *exploreSetting, update func(exploreSetting) error) (endReason, error) {
	timer := time.NewTimer(idle)
	defer timer.Stop()
	last := 0 // sequence number of the newest setting applied
	apply := func(msg string) bool {
		seq, s, ok := parseSetting(msg)
		if !ok || seq <= last {
			return false
		}
		last = seq
		st.lambda = max(-maxLambda, min(maxLambda, s.lambda))
		if s.choice >= 0 && s.choice < choices {
			st.choice = s.choice
		}
		return true
	}
	for {
		select {
		case msg := <-c.setting:
			before := *st
			if !apply(msg) {
				continue
			}
			for pending := true; pending; {
				select {
				case msg := <-c.setting:
					apply(msg)
				default:
					pending = false
				}
			}
			if *st == before {
				timer.Reset(idle) // touched, but nothing to redraw
				continue
			}
		case v := <-c.end:
			if v == endCodeOtherCell {
				return endOtherCell, nil
			}
			return endDone, nil
		case <-interrupts:
			return endInterrupt, nil
		case <-timer.C:
			return endIdle, nil
		}
		timer.Reset(idle)
		if err := update(*st); err != nil {
			return endError, err
		}
	}
}

// explorePanel is the HTML of the explorer's controls: a labelled slider that shows its value and range, the
// direction menu, a Done button and a status line. While the interaction runs, its script sends the controls'
// changes to the cell program through GoNB's connection (gonb_comm), counts down the idle time, and in Jupyter
// Notebook ends the interaction when another cell is run, so that a re-run is not queued behind it.
type explorePanel struct {
	ID, Address string
	Min, Max    int
	Choices     []string
	IdleSeconds int
	// ConnectSeconds is how long the script looks for GoNB's connection before it gives up (the cell program
	// waits as long for its first message).
	ConnectSeconds int
}

func newExplorePanel(id, address string, opts ExploreOptions, choices []string) *explorePanel {
	return &explorePanel{ID: id, Address: address, Min: -opts.MaxLambda, Max: opts.MaxLambda, Choices: choices,
		IdleSeconds: int(opts.Idle.Round(time.Second) / time.Second), ConnectSeconds: int(opts.Wait.Round(time.Second) / time.Second)}
}

// HTML renders the panel at setting st: live (with its script) when end is nil, otherwise closed, with the
// controls disabled and end as the status line.
func (p *explorePanel) HTML(st exploreSetting, end *exploreEnd) (string, error) {
	data := struct {
		*explorePanel
		Lambda, Choice            int
		MinText, MaxText, Value   string
		Live                      bool
		Status, IdleText          string
		EndCodeDone, EndCodeOther int
	}{explorePanel: p, Lambda: st.lambda, Choice: st.choice,
		MinText: formatSigned(float64(p.Min)), MaxText: formatSigned(float64(p.Max)),
		Value: FormatLambda(float64(st.lambda)), Live: end == nil, IdleText: formatMinutes(time.Duration(p.IdleSeconds) * time.Second),
		EndCodeDone: endCodeDone, EndCodeOther: endCodeOtherCell}
	if end != nil {
		data.Status = end.String()
	}
	var buf bytes.Buffer
	if err := panelTemplate.Execute(&buf, data); err != nil {
		return "", fmt.Errorf("explorer controls: %w", err)
	}
	return buf.String(), nil
}

var panelTemplate = template.Must(template.New("panel").Parse(strings.TrimSpace(`
<div id="{{.ID}}" class="loco-explorer" data-state="{{if .Live}}live{{else}}closed{{end}}" style="font-family: sans-serif">
<style>
/* GoNB leaves an empty output behind (its connection script, once it has run): no gap for it. */
.output_area:has(> .output_subarea.output_html:empty), .jp-OutputArea-child:has(.jp-RenderedHTMLCommon:empty) { display: none; }
</style>
<div style="display: flex; align-items: center; gap: 0.6em; margin: 0.3em 0">
<label for="{{.ID}}-lambda" style="font-weight: bold; min-width: 6.5em; margin: 0">strength λ</label>
<span>{{.MinText}}</span>
<input type="range" id="{{.ID}}-lambda" min="{{.Min}}" max="{{.Max}}" step="1" value="{{.Lambda}}" style="display: inline-block; width: 20em; margin: 0"{{if not .Live}} disabled{{end}}>
<span>{{.MaxText}}</span>
<output id="{{.ID}}-value" for="{{.ID}}-lambda" style="min-width: 5em; margin-left: 0.6em; font-weight: bold">{{.Value}}</output>
</div>
<div style="display: flex; align-items: center; gap: 0.6em; margin: 0.3em 0">
<label for="{{.ID}}-choice" style="font-weight: bold; min-width: 6.5em; margin: 0">direction</label>
<select id="{{.ID}}-choice"{{if not .Live}} disabled{{end}}>
{{- range $i, $name := .Choices}}
<option value="{{$i}}"{{if eq $i $.Choice}} selected{{end}}>{{$name}}</option>
{{- end}}
</select>
<button type="button" id="{{.ID}}-done" style="margin-left: 1em"{{if not .Live}} disabled{{end}}>Done</button>
</div>
<div id="{{.ID}}-status" style="color: #555; margin: 0.3em 0">{{if .Live}}Connecting to the kernel…{{else}}{{.Status}}{{end}}</div>
{{- if .Live}}
<script>
(() => {
	const id = {{.ID}}, address = {{.Address}}, idle = {{.IdleSeconds}};
	const el = (suffix) => document.getElementById(id + suffix);
	const status = el("-status"), slider = el("-lambda"), value = el("-value"), menu = el("-choice"), done = el("-done");
	// GoNB's connection script (globalThis.gonb_comm) may arrive after this script on a loaded machine, and a kernel
	// restart replaces it: look it up at each use.
	const comm = () => globalThis.gonb_comm;
	const lambdaText = (v) => "λ = " + (v < 0 ? "\u2212" + (-v) : String(v));
	const clock = (s) => Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
	let left = idle, live = true, seq = 0;
	const show = () => {
		status.textContent = "Listening: move the slider or pick a direction. Closes after " + {{.IdleText}} +
			" without a change (" + clock(left) + " left); Done, or running another cell, closes it now.";
	};
	const timer = setInterval(() => {
		if (!live || !document.getElementById(id)) { clearInterval(timer); return; }
		left = Math.max(0, left - 1);
		show();
	}, 1000);
	const touched = () => { left = idle; show(); };
	const events = globalThis.Jupyter?.notebook?.events;
	const onRun = () => end({{.EndCodeOther}});
	const end = (code) => {
		if (!live) return;
		live = false;
		clearInterval(timer);
		if (events) events.off("execute.CodeCell", onRun);
		slider.disabled = menu.disabled = done.disabled = true;
		status.textContent = "Closing…";
		comm()?.send(address + "/end", code);
	};
	// The whole setting, numbered: the cell program may receive the messages out of order and keeps the newest.
	const send = () => { comm()?.send(address + "/setting", ++seq + " " + Number(slider.value) + " " + Number(menu.value)); touched(); };
	slider.addEventListener("input", () => { value.textContent = lambdaText(Number(slider.value)); send(); });
	menu.addEventListener("change", send);
	done.addEventListener("click", () => end({{.EndCodeDone}}));
	if (events) events.on("execute.CodeCell", onRun);
	// Say ready until the cell's first picture arrives (a message sent through a connection that is being replaced is
	// lost); without a connection after as long as the cell program waits, say so.
	const picture = () => document.querySelector('.loco-explorer-figure[data-panel="' + id + '"]');
	let waited = 0;
	const connect = () => {
		if (!live || !document.getElementById(id) || picture()) return;
		const c = comm();
		if (waited >= {{.ConnectSeconds}} * 1000) {
			if (!c) status.textContent = "Not connected to the kernel (GoNB's connection script did not run): run the cell again.";
			return;
		}
		if (c) {
			c.send(address + "/ready", 1);
			show();
		}
		waited += c ? 1000 : 100;
		setTimeout(connect, c ? 1000 : 100);
	};
	connect();
})();
</script>
{{- end}}
</div>`)))

// figureHTML is the explorer's picture as an inline PNG with the setting as its caption; data-lambda and
// data-choice carry the setting for scripts and tests.
func figureHTML(panelID string, img image.Image, caption string, st exploreSetting) (string, error) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return "", fmt.Errorf("encoding image as PNG: %w", err)
	}
	var out bytes.Buffer
	err := figureTemplate.Execute(&out, struct {
		Panel          string
		Src            template.URL
		Caption        string
		Lambda, Choice int
	}{panelID, template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())), caption, st.lambda, st.choice})
	if err != nil {
		return "", fmt.Errorf("explorer picture: %w", err)
	}
	return out.String(), nil
}

var figureTemplate = template.Must(template.New("figure").Parse(
	`<figure class="loco-explorer-figure" data-panel="{{.Panel}}" data-lambda="{{.Lambda}}" data-choice="{{.Choice}}" style="margin: 0">` +
		`<img src="{{.Src}}" alt="{{.Caption}}"/><figcaption style="font-family: sans-serif">{{.Caption}}</figcaption></figure>`))
