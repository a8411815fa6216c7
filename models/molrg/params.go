package molrg

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"

	"github.com/locoedit/locoedit/hf/diffusers"
	"github.com/locoedit/locoedit/loco"
)

// ClassName is the "_class_name" of a MoLRG config.json.
const ClassName = "MoLRG"

// Config is the config.json of a MoLRG model folder (diffusers style).
type Config struct {
	// ClassName is always "MoLRG".
	ClassName string `json:"_class_name"`
	// SampleSize is the image size: an int for square images, [H, W] otherwise (as diffusers writes it).
	SampleSize SampleSize `json:"sample_size"`
	// InChannels is the number of image channels C.
	InChannels int `json:"in_channels"`
	// NumClasses is the number of mixture components K.
	NumClasses int `json:"num_classes"`
	// Rank is the largest component rank R (the bases tensor is [K, R, d]).
	Rank int `json:"rank"`
	// Ranks holds each component's rank r_k ≤ Rank; when empty every component has rank Rank.
	Ranks []int `json:"ranks,omitempty"`
	// ClassNames names the components (optional).
	ClassNames []string `json:"class_names,omitempty"`
	// BetaSchedule, BetaStart, BetaEnd and NumTrainTimesteps define the VP noise schedule.
	BetaSchedule      string  `json:"beta_schedule"`
	BetaStart         float64 `json:"beta_start"`
	BetaEnd           float64 `json:"beta_end"`
	NumTrainTimesteps int     `json:"num_train_timesteps"`
	// PredictionType is always "sample": the model returns x̂0 = E[x0 | x_t].
	PredictionType string `json:"prediction_type"`
	// Dataset and Fit describe where the parameters come from (free text, optional).
	Dataset string `json:"dataset,omitempty"`
	Fit     string `json:"fit,omitempty"`
}

// SampleSize is an image size that reads and writes as diffusers' sample_size: an int (square) or [H, W].
type SampleSize struct{ H, W int }

// MarshalJSON writes an int for square sizes and [H, W] otherwise.
func (s SampleSize) MarshalJSON() ([]byte, error) {
	if s.H == s.W {
		return json.Marshal(s.H)
	}
	return json.Marshal([]int{s.H, s.W})
}

// UnmarshalJSON reads an int or a two-element array.
func (s *SampleSize) UnmarshalJSON(b []byte) error {
	var n int
	if err := json.Unmarshal(b, &n); err == nil {
		s.H, s.W = n, n
		return nil
	}
	var hw []int
	if err := json.Unmarshal(b, &hw); err != nil || len(hw) != 2 {
		return fmt.Errorf("sample_size %s: want an int or [height, width]", b)
	}
	s.H, s.W = hw[0], hw[1]
	return nil
}

// Params are the parameters of a MoLRG, as stored in model.safetensors (float32).
//
// With d = C·H·W, K components and R = Config.Rank, component k is
// x0 ~ N(Means[k], Σ_i Variances[k][i]·u_i u_iᵀ + ResidualVariances[k]·I), u_i = Bases[k][i·d:(i+1)·d], with
// prior Priors[k]. Variances are the variances along the basis directions in excess of the residual variance
// (the probabilistic-PCA λ_i = e_i − σ² of a PCA eigenvalue e_i). Rows i ≥ r_k of a basis and their variances
// are zero.
type Params struct {
	Config Config
	// Means holds μ_k, K rows of length d.
	Means [][]float32
	// Bases holds U_kᵀ row-major, K rows of length R·d (row i of U_kᵀ is the i-th orthonormal direction).
	Bases [][]float32
	// Variances holds λ_k, K rows of length R.
	Variances [][]float32
	// ResidualVariances holds σ_k², one per component.
	ResidualVariances []float32
	// Priors holds π_k (positive, summing to 1).
	Priors []float32
}

// Dim is d = C·H·W.
func (p *Params) Dim() int {
	return p.Config.InChannels * p.Config.SampleSize.H * p.Config.SampleSize.W
}

// SampleShape is [C, H, W].
func (p *Params) SampleShape() []int {
	return []int{p.Config.InChannels, p.Config.SampleSize.H, p.Config.SampleSize.W}
}

// ComponentRanks returns r_k for every component.
func (p *Params) ComponentRanks() []int {
	if len(p.Config.Ranks) > 0 {
		return slices.Clone(p.Config.Ranks)
	}
	r := make([]int, p.Config.NumClasses)
	for i := range r {
		r[i] = p.Config.Rank
	}
	return r
}

// Schedule builds the noise schedule named by the config.
func (p *Params) Schedule() (*loco.Schedule, error) {
	return loco.NewSchedule(loco.BetaSchedule(p.Config.BetaSchedule), p.Config.BetaStart, p.Config.BetaEnd, p.Config.NumTrainTimesteps)
}

// Basis returns the r_k orthonormal directions of component k (as float64 vectors of length d), or nil when k
// is out of range.
func (p *Params) Basis(k int) [][]float64 {
	if k < 0 || k >= len(p.Bases) {
		return nil
	}
	d, r := p.Dim(), p.ComponentRanks()[k]
	out := make([][]float64, r)
	for i := range out {
		out[i] = make([]float64, d)
		for j := range d {
			out[i][j] = float64(p.Bases[k][i*d+j])
		}
	}
	return out
}

// defaultConfig fills the schedule fields with the paper's linear schedule.
func defaultConfig(c, h, w, k, rank int) Config {
	return Config{
		ClassName: ClassName, SampleSize: SampleSize{H: h, W: w}, InChannels: c, NumClasses: k, Rank: rank,
		BetaSchedule: string(loco.BetaLinear), BetaStart: 1e-4, BetaEnd: 0.02, NumTrainTimesteps: 1000,
		PredictionType: "sample",
	}
}

// Bounds on what a MoLRG config.json may declare, checked before anything is allocated. Together they bound the
// weights to MaxValues float32 values (8 GB).
const (
	// MaxDim bounds d = C·H·W.
	MaxDim = 1 << 24
	// MaxClasses bounds num_classes.
	MaxClasses = 1 << 16
	// MaxValues bounds K·(R+1)·d, the number of values of the means and bases.
	MaxValues = 1 << 31
)

// Validate checks the config alone: the class and prediction type, positive sizes within MaxDim, 1 ≤ K ≤
// MaxClasses, 0 ≤ R ≤ d, the per-class lists, the weights' size within MaxValues and a schedule loco knows with
// bounded numbers (diffusers.CheckBetaSchedule). Errors name the field and the fix.
func (c *Config) Validate() error {
	if c.ClassName != ClassName {
		return fmt.Errorf("config _class_name is %q, want %q", c.ClassName, ClassName)
	}
	if c.PredictionType != "sample" {
		return fmt.Errorf("config prediction_type is %q: a MoLRG predicts %q", c.PredictionType, "sample")
	}
	if c.InChannels < 1 || c.SampleSize.H < 1 || c.SampleSize.W < 1 {
		return fmt.Errorf("config sample shape [%d %d %d] (in_channels, sample_size) must be positive", c.InChannels, c.SampleSize.H, c.SampleSize.W)
	}
	d := int64(c.InChannels) * int64(c.SampleSize.H)
	if d > MaxDim || d*int64(c.SampleSize.W) > MaxDim {
		return fmt.Errorf("config sample shape [%d %d %d] (in_channels, sample_size) has more than %d values: not a MoLRG image size",
			c.InChannels, c.SampleSize.H, c.SampleSize.W, MaxDim)
	}
	d *= int64(c.SampleSize.W)
	k := c.NumClasses
	if k < 1 || k > MaxClasses {
		return fmt.Errorf("config num_classes = %d is out of range: it must lie in [1, %d]", k, MaxClasses)
	}
	if c.Rank < 0 || int64(c.Rank) > d {
		return fmt.Errorf("config rank = %d must lie in [0, d = %d]", c.Rank, d)
	}
	if v := int64(k) * (int64(c.Rank) + 1) * d; v > MaxValues {
		return fmt.Errorf("config num_classes %d, rank %d and sample shape [%d %d %d] need %d values of weights, above the limit of %d (8 GB): "+
			"lower the rank or the number of classes", k, c.Rank, c.InChannels, c.SampleSize.H, c.SampleSize.W, v, int64(MaxValues))
	}
	if len(c.Ranks) > 0 && len(c.Ranks) != k {
		return fmt.Errorf("config ranks has %d entries for %d classes: give one per class, or none", len(c.Ranks), k)
	}
	for j, r := range c.Ranks {
		if r < 0 || r > c.Rank {
			return fmt.Errorf("config ranks[%d] = %d must lie in [0, rank = %d]", j, r, c.Rank)
		}
	}
	if len(c.ClassNames) > 0 && len(c.ClassNames) != k {
		return fmt.Errorf("config class_names has %d entries for %d classes: give one per class, or none", len(c.ClassNames), k)
	}
	if err := diffusers.CheckBetaSchedule(c.BetaSchedule, c.BetaStart, c.BetaEnd, c.NumTrainTimesteps); err != nil {
		return fmt.Errorf("config %w", err)
	}
	return nil
}

// Validate checks that the parameters are consistent and usable: the config (Config.Validate), shapes,
// positive priors summing to 1, non-negative variances and orthonormal bases (to float32 accuracy).
func (p *Params) Validate() error {
	c := p.Config
	if err := c.Validate(); err != nil {
		return err
	}
	d, k := p.Dim(), c.NumClasses
	if len(p.Means) != k || len(p.Bases) != k || len(p.Variances) != k || len(p.ResidualVariances) != k || len(p.Priors) != k {
		return fmt.Errorf("parameters hold %d means, %d bases, %d variance rows, %d residual variances and %d priors; the config has %d classes",
			len(p.Means), len(p.Bases), len(p.Variances), len(p.ResidualVariances), len(p.Priors), k)
	}
	if _, err := p.Schedule(); err != nil {
		return err
	}
	ranks := p.ComponentRanks()
	sum := 0.0
	for j := range k {
		if ranks[j] < 0 || ranks[j] > c.Rank {
			return fmt.Errorf("class %d: rank %d must lie in [0, %d]", j, ranks[j], c.Rank)
		}
		if len(p.Means[j]) != d || len(p.Bases[j]) != c.Rank*d || len(p.Variances[j]) != c.Rank {
			return fmt.Errorf("class %d: mean, basis and variances have %d, %d and %d values, want %d, %d and %d",
				j, len(p.Means[j]), len(p.Bases[j]), len(p.Variances[j]), d, c.Rank*d, c.Rank)
		}
		if err := checkFinite(p.Means[j]); err != nil {
			return fmt.Errorf("class %d mean: %w", j, err)
		}
		for i, v := range p.Variances[j] {
			if !(v >= 0) || math.IsInf(float64(v), 0) || (i >= ranks[j] && v != 0) {
				return fmt.Errorf("class %d: variance %d is %v; variances must be finite, ≥ 0 and 0 beyond the rank %d", j, i, v, ranks[j])
			}
		}
		if s := p.ResidualVariances[j]; !(s >= 0) || math.IsInf(float64(s), 0) {
			return fmt.Errorf("class %d: residual variance %v must be finite and ≥ 0", j, s)
		}
		if pr := p.Priors[j]; !(pr > 0) || pr > 1 {
			return fmt.Errorf("class %d: prior %v must lie in (0, 1]", j, pr)
		}
		sum += float64(p.Priors[j])
		if err := checkOrthonormal(p.Bases[j], ranks[j], c.Rank, d); err != nil {
			return fmt.Errorf("class %d basis: %w", j, err)
		}
	}
	if math.Abs(sum-1) > 1e-5 {
		return fmt.Errorf("priors sum to %v, want 1", sum)
	}
	return nil
}

func checkFinite(v []float32) error {
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("value %d is %v", i, x)
		}
	}
	return nil
}

// checkOrthonormal checks that the first r rows (of length d) of basis are orthonormal and the rest are zero.
func checkOrthonormal(basis []float32, r, rows, d int) error {
	for i := range rows {
		for j := i; j < rows; j++ {
			dot := 0.0
			for l := range d {
				dot += float64(basis[i*d+l]) * float64(basis[j*d+l])
			}
			want := 0.0
			if i == j && i < r {
				want = 1
			}
			if math.Abs(dot-want) > 1e-4 || math.IsNaN(dot) {
				return fmt.Errorf("rows %d and %d have dot product %v, want %v (rows beyond the rank %d must be zero)", i, j, dot, want, r)
			}
		}
	}
	return nil
}
