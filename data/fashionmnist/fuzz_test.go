package fashionmnist

import (
	"bytes"
	"testing"
)

// FuzzParseIdx checks that parseIdx never panics and that what it accepts holds exactly the data its
// dimensions declare. Seeds are in testdata/fuzz/FuzzParseIdx.
func FuzzParseIdx(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, magic := range []uint32{0x801, 0x803} {
			idx, err := parseIdx(bytes.NewReader(data), magic, nil)
			if err != nil {
				continue
			}
			n := 1
			for _, d := range idx.dims {
				n *= d
			}
			if len(idx.dims) != int(magic&0xff) || len(idx.data) != n {
				t.Fatalf("dims %v with %d bytes of data", idx.dims, len(idx.data))
			}
		}
	})
}
