package mlx

import (
	"math"
	"slices"
	"sync"
	"unsafe"

	"github.com/locoedit/locoedit/mlx/f32"
	"github.com/locoedit/locoedit/mlx/sgemm"
)

// Winograd's F(2×2, 3×3) for the stride-1 3×3 convolutions of the fast ConvGeneral executor (Lavin & Gray,
// 2016): each 4×4 input tile d becomes V = Bᵀ·d·B, the kernel U = G·g·Gᵀ, the 16 tile positions are 16
// matrix products over the channels M = V·U, and each M tile gives a 2×2 output tile Aᵀ·M·A: 2.25× fewer
// multiplications than the direct product. Tiles are processed in blocks small enough for the transforms and
// the products to stay in cache, the blocks shared among the cores.

// winogradBlock is the number of tiles per block (a multiple of sgemm's 6-row micro-tile).
const winogradBlock = 96

// winogradApplicable reports whether the convolution is one the Winograd path computes: two spatial axes, a
// 3×3 kernel, stride and dilation 1, channels innermost in input and output (NHWC-like), output in
// (batch, y, x, channel) order, and enough channels for the 16 products to pay.
func (g *convGeometry) winogradApplicable(outChannelsLast bool) bool {
	return g.spatial == 2 && g.kDims[0] == 3 && g.kDims[1] == 3 && g.stride[0] == 1 && g.stride[1] == 1 &&
		g.dilate[0] == 1 && g.dilate[1] == 1 && g.inChanStride == 1 && outChannelsLast &&
		slices.Equal(g.outOrder, []int{-1, 0, 1}) && g.cin >= 16 && g.cout >= 16
}

// winogradKernel returns U [16][cin][cout] = G·g·Gᵀ for every (cin, cout), G = [[1,0,0], [½,½,½], [½,−½,½], [0,0,1]].
func winogradKernel(g *convGeometry, ker []float32) []float32 {
	cin, cout := g.cin, g.cout
	u := make([]float32, 16*cin*cout)
	if g.kOutStride == 1 {
		winogradKernelRows(g, ker, u)
		return u
	}
	var w [3][3]float32
	for ci := range cin {
		for co := range cout {
			for y := range 3 {
				for x := range 3 {
					w[y][x] = ker[ci*g.kInStride+co*g.kOutStride+y*g.kSpatialStride[0]+x*g.kSpatialStride[1]]
				}
			}
			// t = G·w (4×3), then U = t·Gᵀ (4×4).
			var t [4][3]float32
			for x := range 3 {
				t[0][x] = w[0][x]
				t[1][x] = 0.5 * (w[0][x] + w[1][x] + w[2][x])
				t[2][x] = 0.5 * (w[0][x] - w[1][x] + w[2][x])
				t[3][x] = w[2][x]
			}
			for a := range 4 {
				row := [4]float32{t[a][0], 0.5 * (t[a][0] + t[a][1] + t[a][2]), 0.5 * (t[a][0] - t[a][1] + t[a][2]), t[a][2]}
				for b, v := range row {
					u[((4*a+b)*cin+ci)*cout+co] = v
				}
			}
		}
	}
	return u
}

// winogradKernelRows is winogradKernel for kernels with contiguous output channels: whole rows of cout at a time.
func winogradKernelRows(g *convGeometry, ker, u []float32) {
	cin, cout := g.cin, g.cout
	var t [4][3][]float32
	for a := range t {
		for x := range t[a] {
			t[a][x] = make([]float32, cout)
		}
	}
	for ci := range cin {
		var w [3][3][]float32
		for y := range 3 {
			for x := range 3 {
				off := ci*g.kInStride + y*g.kSpatialStride[0] + x*g.kSpatialStride[1]
				w[y][x] = ker[off : off+cout]
			}
		}
		for x := range 3 {
			w0, w1, w2 := w[0][x], w[1][x], w[2][x]
			t0, t1, t2, t3 := t[0][x], t[1][x], t[2][x], t[3][x]
			for c := range cout {
				t0[c] = w0[c]
				t1[c] = 0.5 * (w0[c] + w1[c] + w2[c])
				t2[c] = 0.5 * (w0[c] - w1[c] + w2[c])
				t3[c] = w2[c]
			}
		}
		for a := range 4 {
			a0, a1, a2 := t[a][0], t[a][1], t[a][2]
			u0 := u[((4*a+0)*cin+ci)*cout:][:cout]
			u1 := u[((4*a+1)*cin+ci)*cout:][:cout]
			u2 := u[((4*a+2)*cin+ci)*cout:][:cout]
			u3 := u[((4*a+3)*cin+ci)*cout:][:cout]
			for c := range cout {
				u0[c] = a0[c]
				u1[c] = 0.5 * (a0[c] + a1[c] + a2[c])
				u2[c] = 0.5 * (a0[c] - a1[c] + a2[c])
				u3[c] = a2[c]
			}
		}
	}
}

// winogradConv computes the convolution into dst ([batch, ho, wo, cout], row-major).
func winogradConv(g *convGeometry, in, ker, dst []float32) {
	ho, wo := g.outDims[0], g.outDims[1]
	th, tw := (ho+1)/2, (wo+1)/2
	tiles := g.batch * th * tw
	packed := winogradKernels.get(g, ker)
	blocks := (tiles + winogradBlock - 1) / winogradBlock
	// Blocks in contiguous ranges, one per worker (each a few milliseconds of work at least).
	f32.Parallel(blocks, 1<<20, func(lo, hi int) {
		vBuf, mBuf := getScratch(16*winogradBlock*g.cin), getScratch(16*winogradBlock*g.cout)
		defer scratchPool.Put(vBuf)
		defer scratchPool.Put(mBuf)
		v, m := *vBuf, *mBuf
		vView := sgemm.View{Data: v, BatchStride: winogradBlock * g.cin, RowStride: g.cin, ColStride: 1}
		for blk := lo; blk < hi; blk++ {
			t0 := blk * winogradBlock
			n := min(winogradBlock, tiles-t0)
			winogradInput(g, in, v, t0, n, th, tw)
			// M is [16][n][cout]: with n < winogradBlock the positions lie closer together.
			for p := range 16 {
				if err := sgemm.MulPackedSerial(m[p*n*g.cout:], g.cout, n, sgemm.MatrixOf(vView, p), packed[p], false); err != nil {
					panic(err) // sizes are consistent by construction
				}
			}
			winogradOutput(g, m, dst, t0, n, th, tw)
		}
	})
}

// winogradPacked is a kernel's transform U, packed for the 16 products.
type winogradPacked [16]*sgemm.PackedB

func newWinogradPacked(g *convGeometry, ker []float32) *winogradPacked {
	u := winogradKernel(g, ker)
	uView := sgemm.View{Data: u, BatchStride: g.cin * g.cout, RowStride: g.cout, ColStride: 1}
	var packed winogradPacked
	for p := range packed {
		packed[p] = sgemm.PackB(sgemm.MatrixOf(uView, p), g.cin, g.cout)
	}
	return &packed
}

// kernelCache keeps the transformed kernels of recent convolutions: a model's weights come back unchanged at
// every call (and so do the reversed kernels of their gradients), and at small batch the transform costs as much
// as the convolution. Entries are found by a hash of the values and used only when the values equal the stored
// copy.
type kernelCache struct {
	mu      sync.Mutex
	entries []*kernelEntry // most recently used last
	bytes   int
}

type kernelEntry struct {
	key    kernelKey
	ptr    *float32 // where the kernel was last seen
	values []float32
	packed *winogradPacked
	bytes  int
}

type kernelKey struct {
	hash                       uint64 // of the kernel's values: a kernel rebuilt in a new buffer (a reversed one) still hits
	n, cin, cout               int
	kIn, kOut, kSpatial0, kSp1 int
}

// sameFloats reports whether a and b hold the same bits.
func sameFloats(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) == 0 {
		return true
	}
	ab := unsafe.Slice((*byte)(unsafe.Pointer(&a[0])), 4*len(a))
	bb := unsafe.Slice((*byte)(unsafe.Pointer(&b[0])), 4*len(b))
	return string(ab) == string(bb)
}

// hashFloats hashes the values' bits, eight bytes at a time (FNV-1a style): the cache checks equality anyway.
func hashFloats(x []float32) uint64 {
	h := uint64(14695981039346656037)
	if len(x) > 1 && uintptr(unsafe.Pointer(&x[0]))%8 == 0 {
		for _, w := range unsafe.Slice((*uint64)(unsafe.Pointer(&x[0])), len(x)/2) {
			h ^= w
			h *= 1099511628211
		}
		x = x[len(x)/2*2:]
	}
	for _, v := range x {
		h ^= uint64(math.Float32bits(v))
		h *= 1099511628211
	}
	return h
}

// kernelCacheBytes bounds the memory the cache holds (stored kernels and their packed transforms).
const kernelCacheBytes = 64 << 20

var winogradKernels kernelCache

func (c *kernelCache) get(g *convGeometry, ker []float32) *winogradPacked {
	key := kernelKey{0, len(ker), g.cin, g.cout, g.kInStride, g.kOutStride, g.kSpatialStride[0], g.kSpatialStride[1]}
	hit := func(match func(e *kernelEntry) bool) *winogradPacked {
		c.mu.Lock()
		defer c.mu.Unlock()
		for i, e := range c.entries {
			if match(e) && sameFloats(e.values, ker) {
				e.ptr = &ker[0]
				c.entries = append(append(c.entries[:i:i], c.entries[i+1:]...), e)
				return e.packed
			}
		}
		return nil
	}
	// The same buffer as last time (model weights) needs no hash; otherwise look the values up by hash.
	sameGeometry := func(e *kernelEntry) bool { k := e.key; k.hash = 0; return k == key }
	if p := hit(func(e *kernelEntry) bool { return e.ptr == &ker[0] && sameGeometry(e) }); p != nil {
		return p
	}
	key.hash = hashFloats(ker)
	if p := hit(func(e *kernelEntry) bool { return e.key == key }); p != nil {
		return p
	}
	packed := newWinogradPacked(g, ker)
	e := &kernelEntry{key: key, ptr: &ker[0], values: slices.Clone(ker), packed: packed, bytes: 4 * (len(ker) + 16*((g.cout+15)/16*16)*g.cin)}
	if e.bytes > kernelCacheBytes/4 {
		return packed
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, old := range c.entries {
		if old.key == key { // replaced contents
			c.bytes -= old.bytes
			c.entries = append(c.entries[:i:i], c.entries[i+1:]...)
			break
		}
	}
	for c.bytes+e.bytes > kernelCacheBytes && len(c.entries) > 0 {
		c.bytes -= c.entries[0].bytes
		c.entries = c.entries[1:]
	}
	c.entries = append(c.entries, e)
	c.bytes += e.bytes
	return packed
}

var scratchPool sync.Pool

// getScratch returns a float32 buffer of n elements (contents undefined) from a pool.
func getScratch(n int) *[]float32 {
	if p, ok := scratchPool.Get().(*[]float32); ok && cap(*p) >= n {
		*p = (*p)[:n]
		return p
	}
	s := make([]float32, n)
	return &s
}

// winogradInput writes V = Bᵀ·d·B for tiles [t0, t0+n) into v [16][winogradBlock][cin].
// Bᵀ = [[1,0,−1,0], [0,1,1,0], [0,−1,1,0], [0,1,0,−1]].
func winogradInput(g *convGeometry, in, v []float32, t0, n, th, tw int) {
	cin := g.cin
	h, w := g.inDims[0], g.inDims[1]
	sy, sx := g.inSpatialStride[0], g.inSpatialStride[1]
	var d [4][4][]float32 // rows of the tile, nil where outside the input
	zero := make([]float32, cin)
	var r [4][4][]float32 // Bᵀ·d, per channel vector
	for i := range 4 {
		for j := range 4 {
			r[i][j] = make([]float32, cin)
		}
	}
	for k := range n {
		t := t0 + k
		b, rem := t/(th*tw), t%(th*tw)
		y0, x0 := 2*(rem/tw)-g.padLow[0], 2*(rem%tw)-g.padLow[1]
		base := b * g.inBatchStride
		for i := range 4 {
			for j := range 4 {
				y, x := y0+i, x0+j
				if y < 0 || y >= h || x < 0 || x >= w {
					d[i][j] = zero
				} else {
					off := base + y*sy + x*sx
					d[i][j] = in[off : off+cin]
				}
			}
		}
		// Rows (for each column j), then columns into v[4i+j][k][:].
		for j := range 4 {
			f32.WinogradInput(r[0][j], r[1][j], r[2][j], r[3][j], d[0][j], d[1][j], d[2][j], d[3][j])
		}
		for i := range 4 {
			f32.WinogradInput(v[((4*i+0)*winogradBlock+k)*cin:][:cin], v[((4*i+1)*winogradBlock+k)*cin:][:cin],
				v[((4*i+2)*winogradBlock+k)*cin:][:cin], v[((4*i+3)*winogradBlock+k)*cin:][:cin],
				r[i][0], r[i][1], r[i][2], r[i][3])
		}
	}
}

// winogradOutput applies Aᵀ·M·A (Aᵀ = [[1,1,1,0], [0,1,−1,−1]]) to tiles [t0, t0+n) of m [16][n][cout] and
// writes the 2×2 output tiles that fall inside the output.
func winogradOutput(g *convGeometry, m, dst []float32, t0, n, th, tw int) {
	cout := g.cout
	ho, wo := g.outDims[0], g.outDims[1]
	var s [2][4][]float32
	for i := range 2 {
		for j := range 4 {
			s[i][j] = make([]float32, cout)
		}
	}
	last := make([]float32, cout)
	pos := func(p, k int) []float32 { return m[(p*n+k)*cout:][:cout] }
	for k := range n {
		t := t0 + k
		b, rem := t/(th*tw), t%(th*tw)
		y0, x0 := 2*(rem/tw), 2*(rem%tw)
		for j := range 4 {
			f32.WinogradOutput(s[0][j], s[1][j], pos(j, k), pos(4+j, k), pos(8+j, k), pos(12+j, k))
		}
		for i := range 2 {
			y := y0 + i
			if y >= ho {
				continue
			}
			row := dst[((b*ho+y)*wo+x0)*cout:]
			if x0+1 < wo {
				f32.WinogradOutput(row[:cout], row[cout:2*cout], s[i][0], s[i][1], s[i][2], s[i][3])
				continue
			}
			f32.WinogradOutput(row[:cout], last, s[i][0], s[i][1], s[i][2], s[i][3]) // the second column is outside
		}
	}
}
