package loco

import (
	"fmt"

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
	modify := opts.Iteration
	modify.Rank, modify.Init = opts.Rank, opts.InitModify
	problems := []SubspaceProblem{{Mask: mask, SubspaceOptions: modify}}
	if opts.NullRank > 0 {
		null := opts.Iteration
		null.Rank, null.Init, null.Seed = opts.NullRank, opts.InitNull, opts.Iteration.Seed+1
		problems = append(problems, SubspaceProblem{Mask: complement, SubspaceOptions: null})
	}
	subs, err := p.Subspaces(opts.Output, x, t, problems)
	if err != nil {
		return nil, fmt.Errorf("edit direction: %w", err)
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
