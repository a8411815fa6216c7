package loco

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// DirectionOptions configure EditDirection (spec §4.1 step 3).
type DirectionOptions struct {
	// Output is the function whose Jacobian is used: x̂0 (LOCO-Edit) or ε (the ∂ε/∂x variant).
	Output Output
	// Rank r of the edit subspace on the mask, and NullRank r′ of the subspace on the complement (0: no
	// null-space projection).
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
// J restricted to the complement (top-r′ vectors), and normalised.
func (p *Pipeline) EditDirection(x []float32, t float32, mask []float32, opts DirectionOptions) (*Direction, error) {
	if len(mask) != p.dim {
		return nil, fmt.Errorf("mask has %d values but the model's samples have %d (C,H,W = %v): resize the mask to the model", len(mask), p.dim, p.shape)
	}
	if opts.Rank <= 0 {
		return nil, fmt.Errorf("edit rank must be positive, got %d", opts.Rank)
	}
	complement := make([]float32, len(mask))
	for i, m := range mask {
		if m == 0 {
			complement[i] = 1
		}
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
		rng := rand.New(rand.NewPCG(opts.Iteration.Seed, 0xbad))
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
	}
	if opts.NullRank > 0 {
		d.Null = subs[1]
		for i := range opts.Rank {
			copy(v[i*p.dim:(i+1)*p.dim], NullSpaceProject(v[i*p.dim:(i+1)*p.dim], subs[1].V, p.dim))
		}
	}
	for i := range opts.Rank {
		if err := Normalize(v[i*p.dim : (i+1)*p.dim]); err != nil {
			return nil, fmt.Errorf("edit direction %d: %w", i, err)
		}
	}
	d.V = v
	return d, nil
}

// NullSpaceProject returns v − V̄ᵀ(V̄ v): v with its components along the orthonormal rows of basis (k×dim)
// removed.
func NullSpaceProject(v, basis []float32, dim int) []float32 {
	out := toF64(v)
	for r := 0; r+dim <= len(basis); r += dim {
		row := basis[r : r+dim]
		var dot float64
		for i := range dim {
			dot += float64(row[i]) * float64(v[i])
		}
		for i := range dim {
			out[i] -= dot * float64(row[i])
		}
	}
	return toF32(out)
}

// Normalize scales v to unit L2 norm in place.
func Normalize(v []float32) error {
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	n = math.Sqrt(n)
	if n == 0 || math.IsNaN(n) {
		return fmt.Errorf("cannot normalise a vector of norm %g (the direction vanished after projection: lower the null-space rank)", n)
	}
	for i := range v {
		v[i] = float32(float64(v[i]) / n)
	}
	return nil
}

// Cosine is the cosine similarity of two vectors.
func Cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	return ab / math.Sqrt(aa*bb)
}
