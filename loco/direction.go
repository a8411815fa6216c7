package loco

import (
	"fmt"
	"math"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck // graph-building code reads best unqualified
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/locoedit/locoedit/internal/num"
)

// DirectionOptions configure EditDirection (docs/method.md §7).
type DirectionOptions struct {
	// Output is the function whose Jacobian is used: x̂0 (LOCO-Edit) or ε (the ∂ε/∂x variant).
	Output Output
	// Rank r of the edit subspace on the mask, and NullRank r′ of the subspace on the complement (0: no
	// null-space projection; a mask that covers everything has no complement and gets none either).
	Rank, NullRank int
	// Subspace iteration settings shared by both subspaces (Rank and Init are set per subspace).
	Iteration SubspaceOptions
	// InitModify (r×d) and InitNull (r′×d) are optional start bases (e.g. the authors' stored ones).
	InitModify, InitNull []float32
	// Random replaces the edit basis by Gaussian noise (the random-direction baseline; still projected and
	// normalised, like the authors' code).
	Random bool
	// Guided takes the edit direction from the model's edit prompt instead of the masked Jacobian's singular
	// vectors: text-supervised T-LOCO (GuidedDirection; the model must implement EditGuided, Rank must be 1).
	// The null-space projection is the same.
	Guided bool
}

// Direction is the result of EditDirection.
type Direction struct {
	// V holds the r edit directions as unit rows (r×d): the top right singular vectors of the masked Jacobian,
	// projected off the complement's top-r′ subspace and normalised.
	V []float32
	// Modify and Null are the two subspaces (Null is nil without projection).
	Modify, Null *Subspace
	Rank, Dim    int
	T            float32
}

// Row returns direction i (0 is the top singular vector).
func (d *Direction) Row(i int) []float32 { return d.V[i*d.Dim : (i+1)*d.Dim] }

// EditDirection computes LOCO-Edit's directions at x_t (one sample) and time t for a mask (1 inside, 0 outside,
// C·H·W values): the top-r right singular vectors of J restricted to the mask, projected onto the null space of
// J restricted to the complement (top-r′ vectors), and normalised. A mask that selects everything has no
// complement, so there is nothing to project off: the directions are then not projected (Direction.Null is nil).
func (p *Pipeline) EditDirection(x []float32, t float32, mask []float32, opts DirectionOptions) (*Direction, error) {
	if shape := p.outputShape(opts.Output); len(mask) != shape[0]*shape[1]*shape[2] {
		return nil, fmt.Errorf("mask has %d values but the model's outputs have %d (C,H,W = %v): resize the mask to the model", len(mask), shape[0]*shape[1]*shape[2], shape)
	}
	if opts.Rank <= 0 {
		return nil, fmt.Errorf("edit rank must be positive, got %d", opts.Rank)
	}
	complement := make([]float32, len(mask))
	outside := 0
	for i, m := range mask {
		if m == 0 {
			complement[i] = 1
			outside++
		}
	}
	if outside == 0 {
		opts.NullRank = 0 // nothing outside the mask to keep unchanged: no projection
	}
	var problems []SubspaceProblem
	if !opts.Guided {
		modify := opts.Iteration
		modify.Rank, modify.Init = opts.Rank, opts.InitModify
		problems = append(problems, SubspaceProblem{Mask: mask, SubspaceOptions: modify})
	} else if opts.Rank != 1 || opts.Output != OutputX0 {
		return nil, fmt.Errorf("a text-supervised direction has rank 1 and uses the PMP x̂0 (got rank %d, output %s)", opts.Rank, opts.Output)
	}
	if opts.NullRank > 0 {
		null := opts.Iteration
		null.Rank, null.Init, null.Seed = opts.NullRank, opts.InitNull, opts.Iteration.Seed+1
		problems = append(problems, SubspaceProblem{Mask: complement, SubspaceOptions: null})
	}
	subs, err := p.Subspaces(opts.Output, x, t, problems)
	if err != nil {
		return nil, fmt.Errorf("edit direction: %w", err)
	}
	if opts.Guided {
		g, norm, err := p.GuidedDirection(x, t, mask)
		if err != nil {
			return nil, fmt.Errorf("edit direction: %w", err)
		}
		// The guided direction stands in for the edit subspace: one unit row, its "singular value" the norm
		// of J_eᵀ·d before normalisation.
		subs = append([]*Subspace{{V: g, S: []float64{norm}, Rank: 1, Dim: p.dim, Converged: true}}, subs...)
	}
	d := &Direction{Modify: subs[0], Rank: opts.Rank, Dim: p.dim, T: t}
	v := append([]float32(nil), subs[0].V...)
	if opts.Random {
		v = num.Gaussian(num.NewRand(opts.Iteration.Seed, 0xbad), len(v))
	}
	if opts.NullRank > 0 {
		d.Null = subs[1]
		for i := range opts.Rank {
			copy(v[i*p.dim:(i+1)*p.dim], NullSpaceProject(v[i*p.dim:(i+1)*p.dim], subs[1].V, p.dim))
		}
	}
	for i := range opts.Rank {
		if err := num.Normalize(v[i*p.dim : (i+1)*p.dim]); err != nil {
			return nil, fmt.Errorf("edit direction %d: %w (the direction vanished after projection: lower the null-space rank)", i, err)
		}
	}
	d.V = v
	return d, nil
}

// NullSpaceProject returns v − V̄ᵀ(V̄ v): v with its components along the orthonormal rows of basis (k×dim)
// removed.
func NullSpaceProject(v, basis []float32, dim int) []float32 {
	out := num.Float64s(v)
	for r := 0; r+dim <= len(basis); r += dim {
		row := basis[r : r+dim]
		var dot float64
		for i := range dim {
			dot += float64(row[i]) * float64(v[i])
		}
		num.Axpy(out, -dot, row)
	}
	return num.Float32s(out)
}

// GuidedDirection returns the text-supervised direction of T-LOCO at x_t (one sample) and time t for a mask of
// the output's shape (1 inside): with f^o the model's PMP and f^e the PMP of its edit-guided prediction
// (EditGuided), d = P_Ω(f^e(x_t) − f^o(x_t)) is held fixed and v = J_eᵀ·d = ∇_x⟨d, P_Ω f^e(x)⟩ at x_t, one
// reverse-mode product (docs/method.md §13). It returns v/‖v‖ (Dim values) and ‖v‖.
func (p *Pipeline) GuidedDirection(x []float32, t float32, mask []float32) ([]float32, float64, error) {
	eg, ok := p.Model.(EditGuided)
	if !ok {
		return nil, 0, fmt.Errorf("model %s has no edit prompt: a text-supervised direction needs a text-conditioned model bound to an edit prompt", p.Model.Name())
	}
	if len(x) != p.dim {
		return nil, 0, fmt.Errorf("x has %d values, want one sample of %d (C,H,W = %v)", len(x), p.dim, p.shape)
	}
	if len(mask) != p.outDim {
		return nil, 0, fmt.Errorf("mask has %d values but the model's outputs have %d (C,H,W = %v): resize the mask to the model", len(mask), p.outDim, p.out)
	}
	if countNonzero(mask) == 0 {
		return nil, 0, ErrEmptyMask
	}
	abs, err := p.alphaBars([]float32{t})
	if err != nil {
		return nil, 0, err
	}
	outs, err := p.RunFloat32("guided-direction", func(ctx *context.Context, in []*Node) []*Node {
		x, t, ab, mask := in[0], in[1], in[2], in[3]
		pred, edit := eg.PredictGuided(ctx, x, t)
		_, z0 := p.fromPrediction(pred, x, ab)
		_, z0e := p.fromPrediction(edit, x, ab)
		img := p.toImage(ctx, Concatenate([]*Node{z0, z0e}, 0)) // one decoder pass for f^o and f^e
		fo := Slice(img, AxisRange(0, 1))
		fe := Slice(img, AxisRange(1, 2))
		d := StopGradient(Mul(mask, Sub(fe, fo)))
		v := Gradient(ReduceAllSum(Mul(d, Mul(mask, fe))), x)[0]
		return []*Node{v}
	}, [][]float32{x, {t}, abs, mask}, [][]int{batchDims(1, p.shape), {1}, {1}, batchDims(1, p.out)})
	if err != nil {
		return nil, 0, err
	}
	v := outs[0]
	norm := math.Sqrt(num.Dot(v, v))
	if err := num.Normalize(v); err != nil {
		return nil, 0, fmt.Errorf("text-supervised direction: %w (the edit prompt does not change x̂0 inside the mask)", err)
	}
	return v, norm, nil
}
