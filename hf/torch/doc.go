// Package torch reads PyTorch checkpoints (`torch.save` of a state dict) without Python and without running
// anything the file says: both the zip format (PyTorch ≥ 1.6; any archive folder name) and the legacy format
// (a sequence of pickles followed by raw storages).
//
// The pickle inside is read by a restricted unpickler that knows only what a state dict of tensors needs:
// dicts and collections.OrderedDict, tuples, lists, numbers, strings, persistent storage ids, and the globals
// torch._utils._rebuild_tensor_v2 (with _rebuild_tensor and _rebuild_parameter) and the typed storage classes
// (torch.FloatStorage, HalfStorage, BFloat16Storage, DoubleStorage, LongStorage, IntStorage, ByteStorage,
// CharStorage, BoolStorage). Any other global — the way a pickle runs code — is refused with an error naming it.
//
// Memory stays bounded whatever the file declares: every size is checked against the bytes the file really
// holds before anything is allocated, the pickle's own objects are accounted for and capped, and tensor data is
// read only when asked for, one tensor at a time.
//
// A File serves tensors by their state-dict names as safetensors.Tensors (same dtype and PyTorch shape), so it
// can stand wherever a safetensors file of the same weights would (see hf/diffusers.TensorSource).
package torch
