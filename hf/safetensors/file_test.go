package safetensors

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// rawFile assembles a safetensors file from a header string and a data buffer.
func rawFile(header string, buf []byte) []byte {
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	out = append(out, header...)
	return append(out, buf...)
}

// allDTypes returns one tensor of every dtype, with awkward shapes and values.
func allDTypes() map[string]*Tensor {
	return map[string]*Tensor{
		"f32":    FromFloat32([]int{2, 3}, []float32{1, -2.5, 3e-20, 4e30, 0, -0.125}),
		"f16":    {DType: F16, Shape: []int{3}, Data: []byte{0x00, 0x3C, 0x01, 0x00, 0x00, 0x7C}},
		"bf16":   {DType: BF16, Shape: []int{1, 2}, Data: []byte{0x49, 0x40, 0x80, 0xBF}},
		"f64":    FromFloat64([]int{2}, []float64{1.0 / 3, -1e300}),
		"i64":    FromInt64([]int{1}, []int64{-1 << 62}),
		"i32":    FromInt32([]int{2, 1}, []int32{-5, 1<<31 - 1}),
		"u8":     FromUint8([]int{3, 1, 1}, []uint8{0, 128, 255}),
		"i8":     {DType: I8, Shape: []int{2}, Data: []byte{0x80, 0x7F}},
		"bool":   FromBool([]int{2, 2}, []bool{true, false, false, true}),
		"scalar": FromFloat32([]int{}, []float32{42}),
		"empty":  FromFloat32([]int{0, 4}, nil),
		"a<b>&c": FromUint8([]int{1}, []uint8{1}), // JSON escaping of names.
	}
}

func checkSame(t *testing.T, f *File, want map[string]*Tensor) {
	t.Helper()
	names := f.Names()
	if len(names) != len(want) || !slices.IsSorted(names) {
		t.Fatalf("Names() = %v, want %d sorted names", names, len(want))
	}
	for name, w := range want {
		got, err := f.Tensor(name)
		if err != nil {
			t.Fatal(err)
		}
		if got.DType != w.DType || !slices.Equal(got.Shape, w.Shape) || !bytes.Equal(got.Data, w.Data) {
			t.Errorf("%s: got %v % x, want %v % x", name, got, got.Data, w, w.Data)
		}
	}
}

func TestRoundTripEveryDType(t *testing.T) {
	want := allDTypes()
	meta := map[string]string{"format": "pt", "note": "ünïcode \"quoted\""}
	var buf bytes.Buffer
	if err := Encode(&buf, want, meta); err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(buf.Bytes())
	header := string(buf.Bytes()[8 : 8+n])
	if n%8 != 0 || !strings.HasSuffix(strings.TrimRight(header, " "), "}") || len(header)-len(strings.TrimRight(header, " ")) >= 8 {
		t.Errorf("header %q (length %d) is not padded with spaces to a multiple of 8", header, n)
	}
	if !strings.HasPrefix(header, `{"__metadata__":{"format":"pt","note":`) || !strings.Contains(header, `"a<b>&c":{"dtype":"U8","shape":[1],`) {
		t.Errorf("header %q: metadata not first or name escaped", header)
	}
	f, err := Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	checkSame(t, f, want)
	if got := f.Metadata(); len(got) != 2 || got["note"] != meta["note"] {
		t.Errorf("Metadata() = %v, want %v", got, meta)
	}

	// Encoding is deterministic and each tensor is aligned to its element size.
	var again bytes.Buffer
	if err := Encode(&again, allDTypes(), meta); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Error("two encodings of the same tensors differ")
	}
	base := &buf.Bytes()[8+n]
	for _, name := range f.Names() {
		tt, _ := f.Tensor(name)
		if len(tt.Data) > 0 {
			off := int(uintptrOf(&tt.Data[0]) - uintptrOf(base))
			if off%tt.DType.Size() != 0 {
				t.Errorf("%s (%s) starts at offset %d, not aligned", name, tt.DType, off)
			}
		}
	}

	// Same through Write, Open (memory-mapped) and ReadFile.
	path := filepath.Join(t.TempDir(), "all.safetensors")
	if err := Write(path, want, meta); err != nil {
		t.Fatal(err)
	}
	onDisk, _ := os.ReadFile(path)
	if !bytes.Equal(onDisk, buf.Bytes()) {
		t.Error("Write and Encode produce different bytes")
	}
	for _, open := range []func(string) (*File, error){Open, ReadFile} {
		f, err := open(path)
		if err != nil {
			t.Fatal(err)
		}
		checkSame(t, f, want)
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		if _, err := f.Tensor("f32"); err == nil || !strings.Contains(err.Error(), "after Close") {
			t.Errorf("Tensor after Close: %v, want an error", err)
		}
	}
}

func TestEmptyFile(t *testing.T) {
	var buf bytes.Buffer
	if err := Encode(&buf, nil, nil); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != "\x08\x00\x00\x00\x00\x00\x00\x00{}      " {
		t.Errorf("empty encoding = %q", got)
	}
	f, err := Parse(buf.Bytes())
	if err != nil || len(f.Names()) != 0 || len(f.Metadata()) != 0 {
		t.Errorf("Parse(empty) = %v, %v", f, err)
	}
}

func TestMissingTensorError(t *testing.T) {
	f, err := Parse(rawFile(`{"down.0.weight":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},`+
		`"down.0.bias":{"dtype":"U8","shape":[1],"data_offsets":[1,2]},"up.x":{"dtype":"U8","shape":[],"data_offsets":[2,3]}}`,
		[]byte{1, 2, 3}))
	if err != nil {
		t.Fatal(err)
	}
	if !f.Has("up.x") || f.Has("up") || f.Len() != 3 {
		t.Errorf("Has/Len wrong: %v %v %d", f.Has("up.x"), f.Has("up"), f.Len())
	}
	_, err = f.Tensor("down.0.wieght")
	if err == nil {
		t.Fatal("missing tensor gave no error")
	}
	for _, s := range []string{`"down.0.wieght"`, `"down.0.weight"`, "3 tensors"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %s", err, s)
		}
	}
}

func TestCorruptInputs(t *testing.T) {
	good := rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, make([]byte, 8))
	if _, err := Parse(good); err != nil {
		t.Fatalf("the valid base case fails: %v", err)
	}
	huge := binary.LittleEndian.AppendUint64(nil, 200_000_000)
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "too short"},
		{"short length", []byte{1, 2, 3}, "too short"},
		{"huge header", append(huge, "{}"...), "limit"},
		{"header past end", binary.LittleEndian.AppendUint64(nil, 100), "exceeds the file size"},
		{"truncated", good[:len(good)-1], "past the end"},
		{"truncated header", good[:20], "exceeds the file size"},
		{"not json", rawFile(`hello`, nil), "not valid JSON"},
		{"json array", rawFile(`[1,2]`, nil), "not a JSON object"},
		{"unterminated", rawFile(`{"a":{"dtype":"F32"`, nil), "invalid"},
		{"trailing garbage", rawFile(`{} x`, nil), "after the header"},
		{"two objects", rawFile(`{}{}`, nil), "after the header"},
		{"unknown dtype", rawFile(`{"a":{"dtype":"F8","shape":[1],"data_offsets":[0,1]}}`, []byte{0}), `unknown dtype "F8"`},
		{"missing dtype", rawFile(`{"a":{"shape":[1],"data_offsets":[0,1]}}`, []byte{0}), "missing dtype"},
		{"missing shape", rawFile(`{"a":{"dtype":"U8","data_offsets":[0,1]}}`, []byte{0}), "missing shape"},
		{"missing offsets", rawFile(`{"a":{"dtype":"U8","shape":[1]}}`, []byte{0}), "missing data_offsets"},
		{"negative dim", rawFile(`{"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,0]}}`, nil), "negative"},
		{"fractional dim", rawFile(`{"a":{"dtype":"U8","shape":[1.5],"data_offsets":[0,1]}}`, []byte{0}), `tensor "a"`},
		{"overflowing shape", rawFile(`{"a":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,0]}}`, nil), "overflows"},
		{"three offsets", rawFile(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1,2]}}`, []byte{0, 0}), "[begin, end]"},
		{"negative offset", rawFile(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[-1,0]}}`, []byte{0}), "invalid data_offsets"},
		{"reversed offsets", rawFile(`{"a":{"dtype":"U8","shape":[0],"data_offsets":[1,0]}}`, []byte{0}), "invalid data_offsets"},
		{"size mismatch", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, make([]byte, 8)), "needs 2×4"},
		{"overlap", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)), "overlap"},
		{"duplicate", rawFile(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, []byte{0, 0}), "twice"},
		{"metadata not strings", rawFile(`{"__metadata__":{"n":1}}`, nil), "strings to strings"},
		{"entry not object", rawFile(`{"a":[1]}`, nil), `tensor "a"`},
	}
	for _, c := range cases {
		f, err := Parse(c.data)
		if err == nil {
			t.Errorf("%s: Parse succeeded (%v), want an error containing %q", c.name, f.Names(), c.want)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q does not contain %q", c.name, err, c.want)
		}
	}

	// Opening a corrupt file names the file.
	path := filepath.Join(t.TempDir(), "bad.safetensors")
	if err := os.WriteFile(path, good[:len(good)-3], 0o644); err != nil {
		t.Fatal(err)
	}
	for _, open := range []func(string) (*File, error){Open, ReadFile} {
		if _, err := open(path); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("opening a truncated file: %v, want an error naming %s", err, path)
		}
	}
	if _, err := Open(filepath.Join(t.TempDir(), "none.safetensors")); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("opening a missing file: %v", err)
	}
}

func TestEmptyTensorsDoNotOverlap(t *testing.T) {
	f, err := Parse(rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"z":{"dtype":"F32","shape":[0,3],"data_offsets":[4,4]}}`, make([]byte, 8)))
	if err != nil {
		t.Fatal(err)
	}
	z, _ := f.Tensor("z")
	if z.NumElements() != 0 || len(z.Data) != 0 {
		t.Errorf("empty tensor: %v with %d bytes", z, len(z.Data))
	}
}
