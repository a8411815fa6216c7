// Package safetensors reads and writes the safetensors file format
// (https://github.com/huggingface/safetensors) without any third-party
// safetensors library.
//
// A safetensors file is laid out as
//
//	[8 bytes]  N, the header length, unsigned little-endian
//	[N bytes]  a JSON object: {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
//	           "__metadata__": {"key": "value", ...}}, padded with spaces
//	[rest]     the byte buffer; data_offsets are relative to its start and all values are little-endian
//
// Reading: [Open] memory-maps a file (falling back to reading it), [ReadFile]
// reads it into memory and [Parse] decodes a byte slice. Every header is
// validated (lengths, JSON, dtypes, shapes, offsets, overlaps) and problems
// are reported as errors, never panics. The tensors handed out by a [File]
// point into its single buffer (no copy); for a memory-mapped file they are
// valid only until [File.Close], so call [Tensor.Clone] or convert them (the
// Float32, Float64, Int64s, Bytes and ToGoMLX methods copy) to keep data
// longer.
//
// Writing: [Encode] serialises tensors deterministically (the same input
// always gives the same bytes, laid out like the reference implementation:
// header padded with spaces to a multiple of 8 bytes, tensors ordered by
// element size then name so each is aligned). [Write] does the same into a
// file atomically: a temporary file in the destination directory is written,
// synced and renamed, so a failed write never leaves a partial file behind.
//
// Diffusers model folders: [FindWeights] locates the weights file of a model
// directory and explains what to do with sharded or PyTorch-pickle
// checkpoints; [OpenSharded] and [OpenWeights] read sharded checkpoints
// (a *.safetensors.index.json plus its shards) as one [File].
package safetensors
