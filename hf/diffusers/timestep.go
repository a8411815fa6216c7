package diffusers

import (
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck // graph-building code reads best unqualified
)

// TimestepEmbedding is the sinusoidal embedding of times t [B] (fractional times as they are) into dim
// channels: [sin | cos] of t·10000^(−i/(dim/2 − freqShift)), halves swapped when flipSinToCos, computed in
// float32 like PyTorch. OpenAI's guided-diffusion timestep_embedding is (flipSinToCos = true, freqShift = 0).
func TimestepEmbedding(t *Node, dim int, flipSinToCos bool, freqShift float64) *Node {
	return timestepEmbedding(t, dim, flipSinToCos, freqShift)
}
