package torch

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// FuzzOpen feeds arbitrary bytes to the reader (seeded with every checkpoint in testdata and the hostile
// files below): it must never panic, and every tensor it serves must be consistent.
func FuzzOpen(f *testing.F) {
	paths, _ := filepath.Glob("testdata/*.pt")
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, h := range hostileFiles() {
		if len(h.data) < 1<<16 {
			f.Add(h.data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := NewReader(bytes.NewReader(data), int64(len(data)), "fuzz.pt")
		if err != nil {
			return
		}
		for _, n := range c.Names() {
			tt, err := c.Tensor(n)
			if err != nil {
				continue
			}
			if err := tt.Validate(); err != nil {
				t.Fatalf("tensor %q: %v", n, err)
			}
			if len(tt.Data) > len(data) {
				t.Fatalf("tensor %q has %d bytes from a %d-byte file", n, len(tt.Data), len(data))
			}
		}
	})
}

type hostile struct {
	name string
	data []byte
}

// hostileFiles are checkpoints built to exhaust memory or time.
func hostileFiles() []hostile {
	// 16 MiB of EMPTY_LIST opcodes: millions of objects.
	lists := append([]byte{opProto, 2}, bytes.Repeat([]byte{opEmptyList}, 16<<20-3)...)
	lists = append(lists, opStop)
	// One list of 100 000 pairs, then OrderedDict(list) 10 000 times from the memo.
	var p pickle
	p.op(opProto, 2, opEmptyList, opBinPut, 0, opMark)
	for range 100_000 {
		p.op(opMark).str("k").op(opNone, opTuple)
	}
	p.op(opAppends, opPop)
	for range 10_000 {
		p.global("collections", "OrderedDict").op(opBinGet, 0, opTuple1, opReduce, opPop)
	}
	p.op(opNone, opStop)
	// Dicts nested as a binary tree (each level refers to the one below twice): 2^depth leaves.
	var tree pickle
	tree.op(opProto, 2, opEmptyDict, opBinPut, 0)
	for i := 1; i < 40; i++ {
		tree.op(opPop, opEmptyDict, opMark).str("a").op(opBinGet, byte(i-1)).str("b").op(opBinGet, byte(i-1), opSetItems, opBinPut, byte(i))
	}
	tree.op(opStop)
	// One 4096-element tensor under 100 000 names: 1.6 GB if all were read.
	var alias pickle
	alias.op(opProto, 2, opEmptyDict, opMark).str("t0")
	alias.tensor("k", 4096, 0, []int{4096}, []int{1}).op(opBinPut, 0)
	for i := 1; i < 100_000; i++ {
		alias.str(fmt.Sprint("t", i)).op(opBinGet, 0)
	}
	alias.op(opSetItems, opStop)
	return []hostile{
		{"aliases", legacyFile(alias.Bytes(), map[string][]float32{"k": make([]float32, 4096)}, []string{"k"})},
		{"memory bomb", legacyFile(lists, nil, nil)},
		{"quadratic dicts", legacyFile(p.Bytes(), nil, nil)},
		{"exponential tree", legacyFile(tree.Bytes(), nil, nil)},
	}
}

// TestHostileFilesBounded checks that each hostile file is refused with bounded allocation (the memory
// target: under 100 MB; time is measured by BenchmarkHostile).
func TestHostileFilesBounded(t *testing.T) {
	for _, h := range hostileFiles() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, err := openBytes(h.data)
		runtime.ReadMemStats(&after)
		if err == nil {
			t.Errorf("%s: accepted", h.name)
			continue
		}
		alloc := after.TotalAlloc - before.TotalAlloc
		t.Logf("%s: %v (allocated %.1f MB for a %.1f MB file)", h.name, err, float64(alloc)/1e6, float64(len(h.data))/1e6)
		if alloc > 100e6 {
			t.Errorf("%s: allocated %.0f MB, want < 100 MB", h.name, float64(alloc)/1e6)
		}
	}
}

func BenchmarkHostile(b *testing.B) {
	for _, h := range hostileFiles() {
		b.Run(h.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				start := time.Now()
				if _, err := openBytes(h.data); err == nil {
					b.Fatal("accepted")
				}
				if d := time.Since(start); d > time.Second {
					b.Logf("took %s", d)
				}
			}
		})
	}
}
