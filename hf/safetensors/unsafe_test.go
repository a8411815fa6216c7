package safetensors

import "unsafe"

// uintptrOf returns the address of b, to check data alignment in tests.
func uintptrOf(b *byte) uintptr { return uintptr(unsafe.Pointer(b)) }
