package figures

import (
	"fmt"
	"image"
	"os"
	"os/signal"
	"time"

	"github.com/janpfeifer/gonb/gonbui"
	"github.com/janpfeifer/gonb/gonbui/comms"

	"github.com/locoedit/locoedit/loco"
	"github.com/locoedit/locoedit/loco/imageio"
	"github.com/locoedit/locoedit/nbutil"
)

// ExploreOptions configure Explorer.Interact.
type ExploreOptions struct {
	// MaxLambda bounds the strength slider to [−MaxLambda, MaxLambda] in steps of 1 (default 15, the
	// paper's range); Lambda is its start value (default 8).
	MaxLambda int
	Lambda    int
	// Wait is how long to wait for the browser to answer when the controls are shown (default 10 s: on a loaded
	// machine GoNB's connection to the page takes seconds). Without a browser (headless runs) nothing answers:
	// the initial image is shown and Interact returns.
	Wait time.Duration
	// Idle ends the interaction after this long without a change (default 2 minutes); the controls show the
	// time left.
	Idle time.Duration
}

// connectRetry is how often Interact asks GoNB again for its connection to the page while the panel has not
// answered (GoNB waits 3 s for the page each time).
const connectRetry = 4 * time.Second

// DefaultExploreIdle is how long Interact listens without a change before it ends by itself.
const DefaultExploreIdle = 2 * time.Minute

func (o ExploreOptions) withDefaults() ExploreOptions {
	if o.MaxLambda <= 0 {
		o.MaxLambda = 15
	}
	if o.Lambda == 0 {
		o.Lambda = min(8, o.MaxLambda)
	}
	o.Lambda = max(-o.MaxLambda, min(o.MaxLambda, o.Lambda))
	if o.Wait <= 0 {
		o.Wait = 10 * time.Second
	}
	if o.Idle <= 0 {
		o.Idle = DefaultExploreIdle
	}
	return o
}

// Choice is one direction the explorer offers.
type Choice struct {
	Name string
	V    []float32
}

// Explorer edits one prepared image along a choice of directions with any strength.
type Explorer struct {
	s       *Session
	pt      *loco.Point
	mask    *imageio.Mask
	job     loco.EditJob
	Choices []Choice
	// Reference is the unedited decoding.
	Reference []float32
}

// NewExplorer computes the directions the explorer offers at the prepared image: the top job.Direction.Rank
// (at least 3) singular vectors with null-space projection (r′ = job.Direction.NullRank, 5 if 0) and the top one
// without projection.
func (s *Session) NewExplorer(pt *loco.Point, mask *imageio.Mask, job loco.EditJob) (*Explorer, error) {
	m, err := s.maskValues(mask)
	if err != nil {
		return nil, err
	}
	proj := job
	proj.Direction.Rank, proj.PC = max(job.Direction.Rank, 3), 0
	if proj.Direction.NullRank == 0 {
		proj.Direction.NullRank = 5
	}
	dp, err := s.Pipeline.FindDirection(pt, m, proj)
	if err != nil {
		return nil, err
	}
	plain := proj
	plain.Direction.Rank, plain.Direction.NullRank = 1, 0
	dn, err := s.Pipeline.FindDirection(pt, m, plain)
	if err != nil {
		return nil, err
	}
	e := &Explorer{s: s, pt: pt, mask: mask, job: job}
	for i := range proj.Direction.Rank {
		e.Choices = append(e.Choices, Choice{Name: fmt.Sprintf("pc %d, projected (r′ = %d)", i, proj.Direction.NullRank), V: dp.Row(i)})
	}
	e.Choices = append(e.Choices, Choice{Name: "pc 0, no projection", V: dn.Row(0)})
	if e.Reference, err = s.Reconstruct(pt); err != nil {
		return nil, err
	}
	return e, nil
}

// Render draws the original, the edit along choice with strength lambda, and the change (red brighter,
// blue darker), titled with the edit's locality.
func (e *Explorer) Render(choice int, lambda float64) (image.Image, error) {
	img, _, err := e.render(choice, lambda)
	return img, err
}

// render is Render that also returns a one-line caption of the setting: strength, direction, locality.
func (e *Explorer) render(choice int, lambda float64) (image.Image, string, error) {
	if choice < 0 || choice >= len(e.Choices) {
		return nil, "", fmt.Errorf("choice %d is outside the %d directions", choice, len(e.Choices))
	}
	job := e.job
	job.Lambdas = []float64{lambda}
	o, err := e.s.Apply(e.pt, e.Choices[choice].V, e.mask, job)
	if err != nil {
		return nil, "", err
	}
	orig, err := e.s.Overlay(e.pt.Image, e.mask)
	if err != nil {
		return nil, "", err
	}
	edited, err := e.s.Picture(o.Image(0))
	if err != nil {
		return nil, "", err
	}
	cells := []Cell{{Image: orig, Caption: "original + mask"}, {Image: edited, Caption: FormatLambda(lambda)}}
	if lambda != 0 {
		change, err := imageio.DirectionSignedImage(o.Change(0), e.s.C, e.s.H, e.s.W)
		if err != nil {
			return nil, "", err
		}
		cells = append(cells, Cell{Image: change, Caption: "change"})
	}
	title := fmt.Sprintf("%s, locality %s", e.Choices[choice].Name, F3(o.MeanLocality))
	f := NewFigure(title).AddRow("", cells...)
	f.Scale = max(1, 192/max(e.s.H, e.s.W))
	img, err := f.Render()
	if err != nil {
		return nil, "", err
	}
	return img, fmt.Sprintf("%s · %s · locality %s", FormatLambda(lambda), e.Choices[choice].Name, F3(o.MeanLocality)), nil
}

// Interact shows a labelled strength slider, a direction menu and a Done button, and re-renders the edit
// whenever the slider or the menu changes. The interaction ends, leaving the last picture and the controls
// disabled, when the user presses Done, runs another cell (Jupyter Notebook), lets opts.Idle pass without a
// change, or interrupts the kernel (■): GoNB passes the interrupt to the cell as SIGINT, which Interact
// catches, so the cell ends normally instead of with "signal: interrupt".
//
// When no browser answers within opts.Wait (a headless run, e.g. nbconvert) it shows the initial setting as a
// PNG and returns at once; outside a notebook it only renders the initial setting (to check that it can).
func (e *Explorer) Interact(opts ExploreOptions) error {
	opts = opts.withDefaults()
	st := exploreSetting{lambda: opts.Lambda}
	if !nbutil.IsNotebook() {
		_, err := e.Render(st.choice, float64(st.lambda))
		return err
	}

	// Catch the kernel interrupt from the start, so that it always ends the cell cleanly.
	interrupts := make(chan os.Signal, 1)
	signal.Notify(interrupts, os.Interrupt)
	defer signal.Stop(interrupts)

	uid := gonbui.UniqueId()
	p := newExplorePanel("loco-explore-"+uid, "/loco-explore/"+uid, opts, e.choiceNames())
	c := listenControls(p.Address)
	defer c.close()
	panelID, figureID := "loco-explore-panel-"+uid, "loco-explore-figure-"+uid
	html, err := p.HTML(st, nil)
	if err != nil {
		return err
	}
	gonbui.UpdateHtml(panelID, html)

	img, caption, err := e.render(st.choice, float64(st.lambda))
	if err != nil {
		return err
	}
	finish := func(end exploreEnd) error {
		html, err := p.HTML(st, &end)
		if err != nil {
			return err
		}
		gonbui.UpdateHtml(panelID, html)
		gonbui.Sync()
		return nil
	}

	// GoNB gives the page 3 s to open its connection, after which the subscriptions above hear nothing; on a loaded
	// machine the page can be slower. Until the panel says ready, ask GoNB to install the connection again every
	// connectRetry (the subscriptions stay; the panel repeats ready on whichever connection is current).
	retry := time.NewTicker(connectRetry)
	defer retry.Stop()
	deadline := time.After(opts.Wait)
connecting:
	for {
		select {
		case <-c.ready:
			break connecting
		case <-retry.C:
			comms.Start()
		case <-deadline:
			if err := finish(exploreEnd{reason: endNoBrowser, wait: opts.Wait}); err != nil {
				return err
			}
			return nbutil.DisplayImage(img)
		case <-interrupts:
			if err := finish(exploreEnd{reason: endInterrupt}); err != nil {
				return err
			}
			return nbutil.DisplayImage(img)
		}
	}
	retry.Stop()

	show := func(img image.Image, caption string) error {
		tag, err := figureHTML(p.ID, img, caption, st)
		if err != nil {
			return err
		}
		gonbui.UpdateHtml(figureID, tag)
		return nil
	}
	if err := show(img, caption); err != nil {
		return err
	}
	reason, err := listen(c.controls, interrupts, opts.Idle, len(e.Choices), opts.MaxLambda, &st, func(s exploreSetting) error {
		img, caption, err := e.render(s.choice, float64(s.lambda))
		if err != nil {
			return err
		}
		return show(img, caption)
	})
	if err != nil {
		_ = finish(exploreEnd{reason: endError})
		return err
	}
	return finish(exploreEnd{reason: reason, idle: opts.Idle})
}

// choiceNames are the names of the directions, in menu order.
func (e *Explorer) choiceNames() []string {
	names := make([]string, len(e.Choices))
	for i, c := range e.Choices {
		names[i] = c.Name
	}
	return names
}

// liveControls are the browser's messages to the running cell, from the panel's script.
type liveControls struct {
	controls
	ready   <-chan int
	closers []func()
}

// listenControls subscribes to the panel's addresses. It must run before the panel is displayed: the
// subscription makes GoNB install its connection script in the page, which the panel's script uses.
func listenControls(address string) *liveControls {
	// The panel repeats ready until its first picture arrives: keep one.
	ready := comms.Listen[int](address + "/ready").LatestOnly()
	// Buffered, not LatestOnly: GoNB delivers each message from its own goroutine, so LatestOnly could keep an older
	// setting over a newer one; listen orders them by their sequence numbers and draws only the newest.
	setting := comms.Listen[string](address + "/setting").WithBuffer(64)
	end := comms.Listen[int](address + "/end").WithBuffer(4)
	return &liveControls{
		controls: controls{setting: setting.C, end: end.C},
		ready:    ready.C,
		closers:  []func(){ready.Close, setting.Close, end.Close},
	}
}

func (c *liveControls) close() {
	for _, f := range c.closers {
		f()
	}
}
