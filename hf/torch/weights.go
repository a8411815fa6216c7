package torch

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/locoedit/locoedit/hf/safetensors"
)

// Weights is an opened weights file: a PyTorch checkpoint (*File) or a safetensors file.
type Weights interface {
	Names() []string
	Tensor(name string) (*safetensors.Tensor, error)
	Close() error
}

// OpenWeights opens a weights file by its content, whatever its name: a PyTorch checkpoint (zip or legacy
// format; nothing in it is executed) or safetensors.
func OpenWeights(path string) (Weights, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening weights: %w", err)
	}
	head := make([]byte, 4)
	_, err = io.ReadFull(f, head)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("%s: too short for a weights file: %w", path, err)
	}
	if bytes.Equal(head, []byte("PK\x03\x04")) || head[0] == opProto {
		return Open(path)
	}
	s, err := safetensors.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s is neither a PyTorch checkpoint nor safetensors: %w", path, err)
	}
	return s, nil
}
