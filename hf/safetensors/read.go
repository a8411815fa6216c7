package safetensors

import (
	"fmt"
	"slices"
)

// ReadFloat32 reads one tensor of the file at path converted to float32, with its shape: the common case of
// reference data and inputs.
func ReadFloat32(path, name string) ([]float32, []int, error) {
	f, err := Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	t, err := f.Tensor(name)
	if err != nil {
		return nil, nil, err
	}
	data, err := t.Float32()
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors: %s tensor %q: %w", path, name, err)
	}
	return data, slices.Clone(t.Shape), nil
}
