package torch

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/locoedit/locoedit/hf/safetensors"
)

// The checkpoints in testdata come from torch.save (see testdata/gen_checkpoints.py); small.safetensors holds
// what each must read as.
var smallCheckpoints = map[string]Format{"small-zip.pt": Zip, "small-archive.pt": Zip, "small-legacy.pt": Legacy}

func TestReadsTorchSave(t *testing.T) {
	want, err := safetensors.ReadFile("testdata/small.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	wantNames := []string{"weight", "bias", "transposed", "row1", "base", "half", "bf16", "double", "long", "mask", "scalar", "empty", "param", "ema.weight"}
	for name, format := range smallCheckpoints {
		f, err := Open(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		if f.Format() != format {
			t.Errorf("%s: format %s, want %s", name, f.Format(), format)
		}
		if !slices.Equal(f.Names(), wantNames) {
			t.Errorf("%s: names %v, want %v (state-dict order; non-tensor entries skipped)", name, f.Names(), wantNames)
		}
		for _, n := range wantNames {
			got, err := f.Tensor(n)
			if err != nil {
				t.Fatal(err)
			}
			w, err := want.Tensor(n)
			if err != nil {
				t.Fatal(err)
			}
			if got.DType != w.DType || !slices.Equal(got.Shape, w.Shape) || !bytes.Equal(got.Data, w.Data) {
				t.Errorf("%s: %s is %s %v, want %s %v", name, n, got, got.Data, w, w.Data)
			}
		}
		if _, err := f.Tensor("nope"); err == nil || !strings.Contains(err.Error(), "no tensor named") {
			t.Errorf("%s: missing tensor: error %v", name, err)
		}
		if err := f.Close(); err != nil {
			t.Error(err)
		}
	}
}

func TestRefusesCode(t *testing.T) {
	for _, name := range []string{"evil-zip.pt", "evil-legacy.pt"} {
		_, err := Open(filepath.Join("testdata", name))
		if !errors.Is(err, ErrForbiddenGlobal) || !strings.Contains(err.Error(), "system") {
			t.Errorf("%s: error %v, want ErrForbiddenGlobal naming the system call", name, err)
		}
	}
}

// pickle builds pickle streams by hand, for inputs torch.save does not write.
type pickle struct{ bytes.Buffer }

func (p *pickle) op(b ...byte) *pickle { p.Write(b); return p }

// str writes a Python 2 string (SHORT_BINSTRING), as old checkpoints hold.
func (p *pickle) str(s string) *pickle { return p.op(opShortBinString, byte(len(s))).op([]byte(s)...) }

func (p *pickle) global(module, name string) *pickle {
	return p.op(opGlobal).op([]byte(module + "\n" + name + "\n")...)
}

func (p *pickle) int(v int) *pickle {
	if v >= math.MinInt32 && v <= math.MaxInt32 {
		return p.op(opBinInt).op(binary.LittleEndian.AppendUint32(nil, uint32(v))...)
	}
	return p.op(opLong1, 8).op(binary.LittleEndian.AppendUint64(nil, uint64(v))...)
}

// tensor writes _rebuild_tensor_v2 of storage key (float32, numel elements) with the view's offset, shape and
// stride.
func (p *pickle) tensor(key string, numel, offset int, shape, stride []int) *pickle {
	p.global("torch._utils", "_rebuild_tensor_v2").op(opMark)
	p.op(opMark).str("storage").global("torch", "FloatStorage").str(key).str("cpu").int(numel).op(opTuple, opBinPersID)
	p.int(offset)
	p.op(opMark)
	for _, d := range shape {
		p.int(d)
	}
	p.op(opTuple, opMark)
	for _, s := range stride {
		p.int(s)
	}
	p.op(opTuple, opNewFalse)
	return p.global("collections", "OrderedDict").op(opEmptyTuple, opReduce, opTuple, opReduce)
}

// legacyFile assembles a legacy-format checkpoint: the five pickles, then each storage (float32 values).
func legacyFile(object []byte, storages map[string][]float32, order []string) []byte {
	var out bytes.Buffer
	magic := append([]byte{opProto, 2, opLong1, byte(len(legacyMagic))}, legacyMagic...)
	out.Write(append(magic, opStop))
	out.Write([]byte{opProto, 2, opBinInt2, 0xe9, 0x03, opStop}) // 1001
	var info pickle
	info.op(opProto, 2, opEmptyDict).str("little_endian").op(opNewTrue, opSetItem, opStop)
	out.Write(info.Bytes())
	out.Write(object)
	var keys pickle
	keys.op(opProto, 2, opEmptyList, opMark)
	for _, k := range order {
		keys.str(k)
	}
	keys.op(opAppends, opStop)
	out.Write(keys.Bytes())
	for _, k := range order {
		v := storages[k]
		out.Write(binary.LittleEndian.AppendUint64(nil, uint64(len(v))))
		for _, x := range v {
			out.Write(binary.LittleEndian.AppendUint32(nil, math.Float32bits(x)))
		}
	}
	return out.Bytes()
}

// stateDict writes OrderedDict([[name, tensor], …]) the way Python 2's torch.save did.
func stateDict(entries ...func(p *pickle)) []byte {
	var p pickle
	p.op(opProto, 2).global("collections", "OrderedDict").op(opEmptyList, opMark)
	for _, e := range entries {
		e(&p)
	}
	p.op(opAppends, opTuple1, opReduce, opStop)
	return p.Bytes()
}

func entry(name, key string, numel, offset int, shape, stride []int) func(p *pickle) {
	return func(p *pickle) {
		p.op(opEmptyList, opMark).str(name)
		p.tensor(key, numel, offset, shape, stride)
		p.op(opAppends)
	}
}

func openBytes(b []byte) (*File, error) {
	return NewReader(bytes.NewReader(b), int64(len(b)), "test.pt")
}

func TestPython2Legacy(t *testing.T) {
	obj := stateDict(entry("w", "k1", 6, 0, []int{3, 2}, []int{1, 3}), entry("b", "k2", 2, 1, []int{1}, []int{1}))
	data := legacyFile(obj, map[string][]float32{"k1": {0, 1, 2, 3, 4, 5}, "k2": {7, 8}}, []string{"k1", "k2"})
	f, err := openBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	w, err := f.Tensor("w")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := w.Float32()
	if want := []float32{0, 3, 1, 4, 2, 5}; !slices.Equal(got, want) { // the transpose of [[0,1,2],[3,4,5]]
		t.Errorf("strided view read as %v, want %v", got, want)
	}
	b, _ := f.Tensor("b")
	if got, _ := b.Float32(); !slices.Equal(got, []float32{8}) {
		t.Errorf("view at offset 1 read as %v, want [8]", got)
	}
}

// TestHostileInputs checks that malformed or hostile checkpoints are refused with an error that names the
// problem.
func TestHostileInputs(t *testing.T) {
	okStorages := map[string][]float32{"k": {1, 2, 3, 4}}
	valid := legacyFile(stateDict(entry("w", "k", 4, 0, []int{4}, []int{1})), okStorages, []string{"k"})
	if _, err := openBytes(valid); err != nil {
		t.Fatalf("the valid base file: %v", err)
	}
	hugeNumel := legacyFile(stateDict(entry("w", "k", 1<<40, 0, []int{4}, []int{1})), okStorages, []string{"k"})
	binary.LittleEndian.PutUint64(hugeNumel[len(hugeNumel)-16-8:], 1<<40)
	zipBytes, _ := os.ReadFile("testdata/small-zip.pt")
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "not a PyTorch checkpoint"},
		{"text", []byte("hello world"), "not a PyTorch checkpoint"},
		{"truncated legacy", valid[:len(valid)-5], "declares 4 F32"},
		{"truncated pickle", valid[:40], "truncated"},
		{"huge storage", hugeNumel, "declares 1099511627776"},
		{"view past storage", legacyFile(stateDict(entry("w", "k", 4, 2, []int{4}, []int{1})), okStorages, []string{"k"}), "reaches past its storage"},
		{"overlapping view", legacyFile(stateDict(entry("w", "k", 4, 0, []int{1000, 1000}, []int{0, 0})), okStorages, []string{"k"}), "repeats storage elements"},
		{"overflowing shape", legacyFile(stateDict(entry("w", "k", 4, 0, []int{1 << 30, 1 << 30, 1 << 30}, []int{1, 1, 1})), okStorages, []string{"k"}), "overflows"},
		{"missing storage data", legacyFile(stateDict(entry("w", "k", 4, 0, []int{4}, []int{1})), okStorages, nil), "no data"},
		{"unknown opcode", legacyFile([]byte{opProto, 2, 'i', 'x', '\n', opStop}, nil, nil), "unsupported pickle opcode"},
		{"forbidden global", legacyFile(new(pickle).op(opProto, 2).global("builtins", "eval").op(opStop).Bytes(), nil, nil), "builtins.eval"},
		{"stack underflow", legacyFile([]byte{opProto, 2, opTuple2, opStop}, nil, nil), "stack underflow"},
		{"undefined memo", legacyFile([]byte{opProto, 2, opBinGet, 9, opStop}, nil, nil), "memo entry 9"},
		{"not a dict", legacyFile([]byte{opProto, 2, opNone, opStop}, nil, nil), "not a state dict"},
		{"truncated zip", zipBytes[:len(zipBytes)/2], "zip"},
		{"compressed zip", recompress(t, zipBytes), "compressed"},
	}
	for _, c := range cases {
		_, err := openBytes(c.data)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
	}
}

// recompress rewrites a zip archive with deflated records.
func recompress(t *testing.T, data []byte) []byte {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.Name, Method: zip.Deflate})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(w, r); err != nil {
			t.Fatal(err)
		}
		r.Close()
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}
