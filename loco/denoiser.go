// Package loco implements LOCO-Edit (Chen et al., NeurIPS 2024): the low-rank, locally linear Jacobian of a
// diffusion model's posterior-mean predictor, its subspaces, and training-free local edits built on them.
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
// fed to the network as they are). ctx is Context() (or a Reuse() of it) and holds the model's weights.
type Denoiser interface {
	// Name identifies the model (hub id, directory or embedded name).
	Name() string
	// SampleShape is [C, H, W].
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
