// Package loco implements LOCO-Edit (Chen et al., NeurIPS 2024): the low-rank, locally linear Jacobian of a
// diffusion model's posterior-mean predictor, its subspaces, and training-free local edits built on them.
//
// A model plugs in as a Denoiser; what only some models can do (class labels, a bottleneck, a data set, an edit
// time of their own, a sampler of their own) are the small optional interfaces below, which the model packages
// implement and the rest of the project asks for with a type assertion.
package loco

import (
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// Prediction says what a Denoiser's network predicts.
type Prediction int

const (
	// PredictEpsilon: the network predicts the noise ε(x_t, t) (DDPM, diffusers "epsilon").
	PredictEpsilon Prediction = iota
	// PredictSample: the network predicts x̂0 directly (diffusers "sample").
	PredictSample
)

// String implements fmt.Stringer.
func (p Prediction) String() string {
	if p == PredictSample {
		return "sample"
	}
	return "epsilon"
}

// A Denoiser is a VP diffusion model as a GoMLX graph function plus its ᾱ table.
//
// Predict builds the network output for x [B,C,H,W] (float32, NCHW) and t [B] (float32; fractional times are
// fed to the network as they are). ctx is Context() (or a Reuse() of it) and holds the model's weights. Graph
// building reports errors by panicking, as GoMLX does; the Pipeline recovers them (mlx.Call).
type Denoiser interface {
	// Name identifies the model (hub id, directory or embedded name).
	Name() string
	// SampleShape is [C, H, W], the shape of the variable the model denoises (and LOCO-Edit edits).
	SampleShape() []int
	// Schedule is the model's noise schedule (ᾱ table).
	Schedule() *Schedule
	// Prediction says whether Predict returns ε or x̂0.
	Prediction() Prediction
	// Context holds the model's variables (weights); it may hold none.
	Context() *context.Context
	// Predict builds the network output (ε or x̂0, per Prediction) with the same shape as x.
	Predict(ctx *context.Context, x, t *graph.Node) *graph.Node
}

// ClassConditional is implemented by denoisers of labelled data that can be restricted to one class (e.g. one
// component of a mixture): figures draw new images of a class with it.
type ClassConditional interface {
	// ClassNames names the classes 0, 1, … (its length is the number of classes).
	ClassNames() []string
	// ForClass returns the denoiser of class k alone.
	ForClass(k int) (Denoiser, error)
}

// BottleneckSplitter is implemented by denoisers whose network passes through a bottleneck h (a UNet's mid
// block): the analyses of the paper's Fig. 12 and 13 take Jacobians through it.
type BottleneckSplitter interface {
	// SplitAtBottleneck builds, for a batch x [B,C,H,W] at times t [B] or [1], the bottleneck h [B, …] (NCHW)
	// and a function that finishes the network's prediction (ε or x̂0, per Prediction) from k bottlenecks
	// hs [k, …] while every other input of the decoder (skip connections, time embedding) keeps its value for x;
	// decode needs B = 1 (the values are repeated k times).
	SplitAtBottleneck(ctx *context.Context, x, t *graph.Node) (h *graph.Node, decode func(hs *graph.Node) *graph.Node)
}

// Example is a named image of a data set, in the model's sample shape.
type Example struct {
	Name  string
	Image []float32
}

// ExampleSource is implemented by denoisers that know their data set and can give real images of a class (e.g.
// the test split), for figures that transfer directions to other images.
type ExampleSource interface {
	// Examples returns up to n images of class k in the data set's order.
	Examples(class, n int) ([]Example, error)
}

// EditTimeSuggester is implemented by denoisers whose edits are best at another time than DefaultEditT; an
// EditJob with EditT 0 uses the suggestion.
type EditTimeSuggester interface {
	// SuggestedEditT is the edit time as a fraction of the 1000 training steps.
	SuggestedEditT() float64
}

// SamplerProvider is implemented by denoisers that need their own sampler (e.g. a consistency model's multistep
// sampler) instead of DDIM on the LOCO-Edit grid.
type SamplerProvider interface {
	Sampler() Sampler
}
