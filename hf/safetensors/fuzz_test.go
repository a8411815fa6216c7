package safetensors

import (
	"bytes"
	"maps"
	"slices"
	"testing"
)

// FuzzParse checks that Parse never panics and that whatever it accepts can be
// read, converted, re-encoded and parsed back to the same tensors.
// Seeds are in testdata/fuzz/FuzzParse; run with go test -fuzz=FuzzParse.
func FuzzParse(f *testing.F) {
	f.Add([]byte{})
	f.Add(rawFile(`{"a":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}`, []byte{1, 2, 3, 4}))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err != nil {
			return
		}
		all := map[string]*Tensor{}
		for _, name := range file.Names() {
			tt, err := file.Tensor(name)
			if err != nil {
				t.Fatalf("listed tensor %q: %v", name, err)
			}
			if err := tt.Validate(); err != nil {
				t.Fatalf("parsed tensor %q is invalid: %v", name, err)
			}
			if v, err := tt.Float32(); err != nil || len(v) != tt.NumElements() {
				t.Fatalf("%q: Float32 gave %d values, %v", name, len(v), err)
			}
			if v, err := tt.Float64(); err != nil || len(v) != tt.NumElements() {
				t.Fatalf("%q: Float64 gave %d values, %v", name, len(v), err)
			}
			if tt.NumElements() <= 1<<12 {
				if _, err := tt.ToGoMLX(); err != nil {
					t.Fatalf("%q: ToGoMLX: %v", name, err)
				}
			}
			all[name] = tt
		}
		var buf bytes.Buffer
		if err := Encode(&buf, all, file.Metadata()); err != nil {
			t.Fatalf("re-encoding a parsed file: %v", err)
		}
		again, err := Parse(buf.Bytes())
		if err != nil {
			t.Fatalf("parsing a re-encoded file: %v", err)
		}
		if !slices.Equal(again.Names(), file.Names()) || !maps.Equal(again.Metadata(), file.Metadata()) {
			t.Fatalf("re-encoded file differs: names %v vs %v, metadata %v vs %v",
				again.Names(), file.Names(), again.Metadata(), file.Metadata())
		}
		for name, want := range all {
			got, _ := again.Tensor(name)
			if got.DType != want.DType || !slices.Equal(got.Shape, want.Shape) || !bytes.Equal(got.Data, want.Data) {
				t.Fatalf("%q re-encoded as %v, want %v", name, got, want)
			}
		}
	})
}
