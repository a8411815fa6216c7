//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package safetensors

import (
	"errors"
	"os"
)

// mapFile is unavailable on this platform; Open falls back to reading the file.
func mapFile(path string) ([]byte, func() error, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, nil, err
	}
	return nil, nil, errors.New("memory mapping not supported on this platform")
}
