package figures

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/png"
	"time"

	"github.com/janpfeifer/gonb/gonbui"
	"github.com/janpfeifer/gonb/gonbui/widgets"

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
	// Wait is how long to wait for the browser to answer when the widgets are shown (default 3 s). Without
	// a browser (headless runs) nothing answers: the initial image is shown and Interact returns.
	Wait time.Duration
	// Idle ends the interaction after this long without a change (default 10 minutes); interrupting the
	// kernel ends it too.
	Idle time.Duration
}

func (o ExploreOptions) withDefaults() ExploreOptions {
	if o.MaxLambda <= 0 {
		o.MaxLambda = 15
	}
	if o.Lambda == 0 {
		o.Lambda = min(8, o.MaxLambda)
	}
	if o.Wait <= 0 {
		o.Wait = 3 * time.Second
	}
	if o.Idle <= 0 {
		o.Idle = 10 * time.Minute
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
	if choice < 0 || choice >= len(e.Choices) {
		return nil, fmt.Errorf("choice %d is outside the %d directions", choice, len(e.Choices))
	}
	job := e.job
	job.Lambdas = []float64{lambda}
	o, err := e.s.Apply(e.pt, e.Choices[choice].V, e.mask, job)
	if err != nil {
		return nil, err
	}
	orig, err := e.s.Overlay(e.pt.Image, e.mask)
	if err != nil {
		return nil, err
	}
	edited, err := e.s.Picture(o.Image(0))
	if err != nil {
		return nil, err
	}
	cells := []Cell{{Image: orig, Caption: "original + mask"}, {Image: edited, Caption: FormatLambda(lambda)}}
	if lambda != 0 {
		change, err := imageio.DirectionSignedImage(o.Change(0), e.s.C, e.s.H, e.s.W)
		if err != nil {
			return nil, err
		}
		cells = append(cells, Cell{Image: change, Caption: "change"})
	}
	title := fmt.Sprintf("%s, locality %s", e.Choices[choice].Name, F3(o.MeanLocality))
	f := NewFigure(title).AddRow("", cells...)
	f.Scale = max(1, 192/max(e.s.H, e.s.W))
	return f.Render()
}

// Interact shows a strength slider and a direction menu (GoNB widgets) and re-renders the edit whenever
// they change. When no browser answers within opts.Wait (a headless run, e.g. nbconvert), or outside a
// notebook, it shows the initial setting as a PNG and returns at once; otherwise it keeps listening until
// opts.Idle passes without a change, then leaves the last image as a PNG.
func (e *Explorer) Interact(opts ExploreOptions) error {
	opts = opts.withDefaults()
	names := make([]string, len(e.Choices))
	for i, c := range e.Choices {
		names[i] = c.Name
	}
	choice, lambda := 0, opts.Lambda
	if !nbutil.IsNotebook() {
		_, err := e.Render(choice, float64(lambda))
		return err
	}
	slider, menu, ok := showWidgets(-opts.MaxLambda, opts.MaxLambda, lambda, names, opts.Wait)
	if !ok {
		nbutil.DisplayMarkdown(fmt.Sprintf("_No browser answered within %v (a headless run): the controls above are inactive, "+
			"here is the initial setting. Open the notebook in Jupyter to move the slider._", opts.Wait))
		img, err := e.Render(choice, float64(lambda))
		if err != nil {
			return err
		}
		return nbutil.DisplayImage(img)
	}
	lambda, choice = slider.Value(), menu.Value()
	id := "loco-explore-" + gonbui.UniqueId()
	var last image.Image
	update := func() error {
		img, err := e.Render(choice, float64(lambda))
		if err != nil {
			return err
		}
		last = img
		tag, err := imgTag(img)
		if err != nil {
			return err
		}
		gonbui.UpdateHtml(id, tag)
		return nil
	}
	if err := update(); err != nil {
		return err
	}
	lambdas := slider.Listen().LatestOnly()
	choices := menu.Listen().LatestOnly()
	defer lambdas.Close()
	defer choices.Close()
	for {
		select {
		case v := <-lambdas.C:
			lambda = v
		case c := <-choices.C:
			if c >= 0 && c < len(e.Choices) {
				choice = c
			}
		case <-time.After(opts.Idle):
			gonbui.UpdateHtml(id, "")
			return nbutil.DisplayImage(last)
		}
		if err := update(); err != nil {
			return err
		}
	}
}

// showWidgets displays the slider and the menu and waits up to wait for the browser to answer: their Done
// methods block until the front-end reports the widgets' values, which never happens without a browser, so
// they run in goroutines that a headless run simply leaves behind when the cell program exits.
func showWidgets(lo, hi, value int, names []string, wait time.Duration) (*widgets.SliderBuilder, *widgets.SelectBuilder, bool) {
	sliderCh := make(chan *widgets.SliderBuilder, 1)
	menuCh := make(chan *widgets.SelectBuilder, 1)
	nbutil.DisplayMarkdown("**strength λ** (slider) and **direction** (menu):")
	go func() { sliderCh <- widgets.Slider(lo, hi, value).Done() }()
	time.Sleep(200 * time.Millisecond) // lets the slider's HTML go out first, so it shows above the menu
	go func() { menuCh <- widgets.Select(names).Done() }()
	deadline := time.After(wait)
	var slider *widgets.SliderBuilder
	var menu *widgets.SelectBuilder
	for slider == nil || menu == nil {
		select {
		case slider = <-sliderCh:
		case menu = <-menuCh:
		case <-deadline:
			return nil, nil, false
		}
	}
	return slider, menu, true
}

// imgTag encodes img as an inline HTML <img>.
func imgTag(img image.Image) (string, error) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return "", fmt.Errorf("encoding image as PNG: %w", err)
	}
	return `<img src="data:image/png;base64,` + base64.StdEncoding.EncodeToString(buf.Bytes()) + `"/>`, nil
}
