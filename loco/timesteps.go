package loco

import (
	"fmt"
	"math"
)

// Vector widths of PyTorch's AVX2 CPU kernels (256-bit registers).
const (
	avx2Lanes32 = 8
	avx2Lanes64 = 4
)

// torchLinspace reproduces torch.linspace(start, end, n) on the CPU bit for bit, in the precision of T.
//
// PyTorch's kernel computes step = (end−start)/(n−1) in T and is two-sided: index k < n/2 gets start + step·k,
// the others end − step·(n−1−k). Its vectorised loop, however, evaluates only the first element of each block of
// `lanes` elements that way and fills the rest of the block with base + i·step (Vectorized::arange); the loop runs
// over whole pairs of blocks and the tail (< 2·lanes elements) falls back to the scalar formula. With AVX2 (8
// float32 or 4 float64 lanes) this is what the golden data holds (docs/method.md §3); lanes = 1 gives the purely two-sided
// formula (the CUDA kernel). Exact for n up to PyTorch's parallel grain size (32768).
func torchLinspace[T float32 | float64](start, end T, n, lanes int) []T {
	if n <= 0 {
		return nil
	}
	out := make([]T, n)
	if n == 1 {
		out[0] = start
		return out
	}
	step := (end - start) / T(n-1)
	half := n / 2
	scalar := func(k int) T {
		if k < half {
			return start + T(step*T(k))
		}
		return end - T(step*T(n-1-k))
	}
	vectorEnd := 0
	if lanes > 1 && n >= 2*lanes {
		vectorEnd = n / (2 * lanes) * (2 * lanes)
	}
	for k := 0; k < vectorEnd; k += lanes {
		base := scalar(k)
		out[k] = base
		for i := 1; i < lanes; i++ {
			out[k+i] = base + T(T(i)*step)
		}
	}
	for k := vectorEnd; k < n; k++ {
		out[k] = scalar(k)
	}
	return out
}

// InversionOffset is the float32 shift the reference adds to every time of the inversion grid (docs/method.md §3).
const InversionOffset float32 = 1e-6

// Grid is the LOCO-Edit ("yh") DDIM time grid (docs/method.md §3): transition i goes from Timesteps[i] to Next[i].
//
// With N inference steps there are N−1 transitions. Times are fractional float32 values: the network sees them as
// they are and ᾱ is read at floor(t) (Schedule.AlphaBar).
type Grid struct {
	// Timesteps holds the start time of each transition.
	Timesteps []float32
	// Next holds the end time of each transition.
	Next []float32
	// Inversion is true for the x0 → x_T grid (increasing times), false for generation (decreasing times).
	Inversion bool
	// TMax is the largest time (999 for DDPM-style models, 990 for DeepFloyd IF).
	TMax float32
}

// NewGrid builds the LOCO-Edit time grid exactly as the authors' set_timesteps does in float32 (docs/method.md §3):
// s_k = float32(torch.linspace(0, 1, numSteps)[k]) · tMax, k = 0..numSteps−1.
//
// Generation (inversion false): Timesteps = [s_{N−1}, …, s_1], Next = [s_{N−2}, …, s_0] (for N = 100: 99 transitions
// 999 → 988.909 → … → 10.0909 → 0). Inversion: s'_k = s_k + float32(1e-6), Timesteps = [s'_0, …, s'_{N−2}],
// Next = [s'_1, …, s'_{N−1}].
//
// The reference's CPU linspace is vectorised (see torchLinspace), and with it s_66·999 is exactly 666, not
// 665.99994 as the purely two-sided formula gives; the golden grid confirms 666 (docs/method.md §3).
func NewGrid(numSteps int, tMax float32, inversion bool) (Grid, error) {
	if numSteps < 2 {
		return Grid{}, fmt.Errorf("LOCO time grid: numSteps is %d, it must be at least 2 (the paper uses 100)", numSteps)
	}
	if !(tMax > 0) || math.IsInf(float64(tMax), 0) {
		return Grid{}, fmt.Errorf("LOCO time grid: tMax is %v, it must be a positive finite time (999, or 990 for DeepFloyd IF)", tMax)
	}
	s := torchLinspace(float32(0), float32(1), numSteps, avx2Lanes32)
	for k := range s {
		s[k] = float32(s[k] * tMax) // the conversion forbids fusing with the add below
		if inversion {
			s[k] += InversionOffset
		}
	}
	n := numSteps - 1
	g := Grid{Timesteps: make([]float32, n), Next: make([]float32, n), Inversion: inversion, TMax: tMax}
	for i := 0; i < n; i++ {
		if inversion {
			g.Timesteps[i], g.Next[i] = s[i], s[i+1]
		} else {
			g.Timesteps[i], g.Next[i] = s[n-i], s[n-1-i]
		}
	}
	return g, nil
}

// Len is the number of transitions (numSteps − 1).
func (g Grid) Len() int { return len(g.Timesteps) }

// IndexOf is the position of t in Timesteps, by exact float32 equality, like the reference's
// timesteps.tolist().index(t) (docs/method.md §3). It is an error when t is not a grid time.
func (g Grid) IndexOf(t float32) (int, error) {
	for i, ti := range g.Timesteps {
		if ti == t {
			return i, nil
		}
	}
	return -1, fmt.Errorf("time %v is not a start time of this %d-transition LOCO grid: pass a value taken from Grid.Timesteps", t, g.Len())
}

// NextOf is the time that follows t on the grid (the authors' get_timesteps "neighbour rule", docs/method.md §3): t must
// be an exact member of Timesteps.
func (g Grid) NextOf(t float32) (float32, error) {
	i, err := g.IndexOf(t)
	if err != nil {
		return 0, err
	}
	return g.Next[i], nil
}

// EditIndex is argmin_i |Timesteps[i] − 1000·editT|, the first index on ties (docs/method.md §3: note ×1000, not ×TMax).
// The difference is taken in float32 as the reference's tensor arithmetic does. It returns −1 for an empty grid.
// For the 100-step grid with TMax 999: 0.2 → 79, 0.5 → 49, 0.6 → 40 (t = 595.36359), 0.7 → 30.
func (g Grid) EditIndex(editT float64) int {
	target := float32(editT * 1000)
	best, bestD := -1, float32(math.Inf(1))
	for i, t := range g.Timesteps {
		d := t - target
		if d < 0 {
			d = -d
		}
		if d < bestD {
			best, bestD = i, d
		}
	}
	return best
}

// PerformanceBoostT is the time fraction below which the unconditional editor denoises with η = 1 (docs/method.md §5.3).
const PerformanceBoostT = 0.2

// PerformanceBoostIndex is EditIndex(0.2), the first step that uses η = 1 in "performance boosting"
// (docs/method.md §5.3; 79 for the 100-step grid).
func (g Grid) PerformanceBoostIndex() int { return g.EditIndex(PerformanceBoostT) }
