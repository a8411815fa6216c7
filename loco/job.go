package loco

import "io"

// DefaultEditT is the edit time of the authors' UNet scripts (CelebA-HQ, LSUN-Church): 0.6 of the 1000 training
// steps, grid index 40 (t = 595.36). An EditJob with EditT 0 uses it unless the model suggests another time
// (EditTimeSuggester).
const DefaultEditT = 0.6

// Strip is the authors' description of an edit strip: λ_j = j·Scale for j = 0..NumSteps, VisNum strengths per
// sign (their x_space_guidance_scale, num_step and vis_num).
type Strip struct {
	Scale    float64
	NumSteps int
	VisNum   int
}

// DefaultStrip is the authors' CelebA-HQ strip: λ ∈ {−8, −4, 0, 4, 8}.
var DefaultStrip = Strip{Scale: 0.5, NumSteps: 16, VisNum: 2}

// Lambdas returns the strip's signed strengths (see Strengths), after checking the strip (Validate).
func (s Strip) Lambdas() ([]float64, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return Strengths(s.Scale, s.NumSteps, s.VisNum)
}

// EditJob holds every setting of one LOCO-Edit run (Algorithm 1 of the paper; docs/method.md §7): where
// the edit happens, how its direction is found and which strengths are decoded. The inputs — image, mask, or a
// direction to transfer — are passed beside it. Start from DefaultEditJob.
type EditJob struct {
	// EditT is the edit time as a fraction of the 1000 training steps (the grid index is argmin |t − 1000·EditT|);
	// 0 means the model's suggestion or DefaultEditT.
	EditT float64
	// Steps is the grid size N used for inversion, sampling and decoding (0: the model's default, DefaultSteps
	// on the LOCO-Edit grid).
	Steps int
	// AllPairs runs every DDIM inversion pair, ending at t_max where generation starts; false reproduces the
	// authors' loop, which stops one pair early (some images then regenerate as another one).
	AllPairs bool
	// Direction configures the subspaces: the output differentiated, the rank r on the mask, the null-space rank
	// r′ on its complement (0: no projection), the subspace iteration, start bases, the random baseline.
	Direction DirectionOptions
	// PC is the singular vector edited along (0 = top; < Direction.Rank).
	PC int
	// NoMask takes the direction from the Jacobian of the whole output instead of the masked one, without
	// projection (the ∂ε/∂x column of Table 1 was computed this way); the mask still measures locality.
	NoMask bool
	// Lambdas are the strengths decoded; 0 is the unedited image. Empty: the direction only.
	Lambdas []float64
	// LambdaStep, if positive, builds x_t + λ·v as the authors' loop does: |λ|/LambdaStep float32 additions of
	// ±LambdaStep·v (when λ is a multiple of it); 0 adds λ·v at once.
	LambdaStep float64
	// Boost decodes with the authors' performance boosting (η = 1 below t = 201.8, seeded by Seed); false decodes
	// deterministically (DDIM η = 0), so that locality and transfer measure the edit and not sampling noise.
	Boost bool
	Seed  uint64
	// Progress, if set, receives stage messages and progress bars.
	Progress io.Writer
}

// DefaultEditJob is the project's one set of edit defaults: the model's edit time (DefaultEditT for the paper's
// UNets, 0.5 for fashion-molrg-32, 0.7 for Stable Diffusion), the model's grid (the 100-step LOCO-Edit grid; a
// latent consistency model's 4 steps) with every inversion pair, r = 1 and r′ = 5 (the paper's),
// the default subspace iteration (Krylov), the authors' strip λ ∈ {−8, −4, 0, 4, 8} built by their float32
// accumulation, and deterministic decoding.
func DefaultEditJob() EditJob {
	lambdas, _ := DefaultStrip.Lambdas()
	return EditJob{AllPairs: true, Direction: DirectionOptions{Rank: 1, NullRank: 5},
		Lambdas: lambdas, LambdaStep: DefaultStrip.Scale}
}

// EditT resolves a job's edit time: editT itself, or for 0 the model's suggestion or DefaultEditT.
func (p *Pipeline) EditT(editT float64) float64 {
	if editT != 0 {
		return editT
	}
	if s, ok := p.Model.(EditTimeSuggester); ok {
		return s.SuggestedEditT()
	}
	return DefaultEditT
}
