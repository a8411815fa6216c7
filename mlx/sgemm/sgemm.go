// Package sgemm multiplies float32 matrices fast on CPUs: packed panels, cache blocking, register-tiled
// micro-kernels in assembly (AVX2+FMA on amd64, chosen at run time from the CPU's features; a pure-Go kernel
// elsewhere) and several cores.
//
// Operands are strided views (View), so transposed and batched layouts need no copies beyond the packing every
// fast matrix multiply does, or any Operand that packs its own blocks (an implicit im2col matrix, for instance).
// The result is written row-major.
package sgemm

import (
	"fmt"
	"runtime"
	"sync"
	"unsafe"
)

// Operand is a matrix that copies blocks of itself into packed buffers.
type Operand interface {
	// Pack writes element (r0+i, c0+j) to dst[i·ld+j] for i < rows, j < cols.
	Pack(dst []float32, ld, r0, rows, c0, cols int)
}

// rowReader is implemented by operands whose rows can be read in place: row r is data[off+r·ld:] with
// consecutive columns.
type rowReader interface {
	rows() (data []float32, off, ld int, ok bool)
}

// View is a batch of matrices inside a flat slice: element (b, i, j) is Data[b*BatchStride + i*RowStride +
// j*ColStride]. Strides are in elements and may be anything that stays inside Data (zero repeats a value).
type View struct {
	Data                              []float32
	BatchStride, RowStride, ColStride int
}

// matrix is batch element b of a View, as an Operand.
type matrix struct {
	v   View
	off int
}

func (m matrix) Pack(dst []float32, ld, r0, rows, c0, cols int) {
	v := m.v
	for i := range rows {
		out := dst[i*ld : i*ld+cols]
		off := m.off + (r0+i)*v.RowStride + c0*v.ColStride
		if v.ColStride == 1 {
			copy(out, v.Data[off:off+cols])
			continue
		}
		for j := range out {
			out[j] = v.Data[off+j*v.ColStride]
		}
	}
}

func (m matrix) rows() ([]float32, int, int, bool) {
	return m.v.Data, m.off, m.v.RowStride, m.v.ColStride == 1
}

// Problem is C = A·B for a batch of matrices: A is batch×M×K, B batch×K×N, C batch×M×N (row-major, contiguous).
type Problem struct {
	Batch, M, N, K int
	A, B           View
}

// FLOPs is the number of floating-point operations of p (2·batch·M·N·K).
func (p Problem) FLOPs() float64 {
	return 2 * float64(p.Batch) * float64(p.M) * float64(p.N) * float64(p.K)
}

// Register tile of the micro-kernel and cache blocks.
const (
	mr = 6   // rows of C per micro-kernel call
	nr = 16  // columns of C per micro-kernel call (two 8-wide AVX vectors)
	kc = 320 // greatest depth of one pass (a 6×kc A panel and a kc×16 B panel stay in L1)
	mc = 96  // rows of one task (its A block, mc×kc, stays in L2)
	nc = 256 // columns of one task
)

// minParallelFLOPs is the least work worth splitting over goroutines.
const minParallelFLOPs = 1 << 18

// Workers is the number of goroutines a large product is split over (default: GOMAXPROCS at start-up).
var Workers = runtime.GOMAXPROCS(0)

// Kernel names the micro-kernel in use ("avx2-fma" or "go").
func Kernel() string { return kernelName }

// Mul computes C = A·B into c (len ≥ Batch·M·N), overwriting it.
func Mul(c []float32, p Problem) error {
	if err := p.check(len(c)); err != nil {
		return err
	}
	mulBatched(c, p, Workers)
	return nil
}

// MulSerial is Mul on the calling goroutine only (for callers that split the work themselves).
func MulSerial(c []float32, p Problem) error {
	if err := p.check(len(c)); err != nil {
		return err
	}
	mulBatched(c, p, 1)
	return nil
}

func (p Problem) check(lenC int) error {
	if p.Batch <= 0 || p.M <= 0 || p.N <= 0 || p.K <= 0 {
		return fmt.Errorf("sgemm: sizes must be positive, got batch %d, M %d, N %d, K %d", p.Batch, p.M, p.N, p.K)
	}
	if lenC < p.Batch*p.M*p.N {
		return fmt.Errorf("sgemm: C has %d elements, need %d", lenC, p.Batch*p.M*p.N)
	}
	for _, v := range []struct {
		name       string
		view       View
		rows, cols int
	}{{"A", p.A, p.M, p.K}, {"B", p.B, p.K, p.N}} {
		if v.view.BatchStride < 0 || v.view.RowStride < 0 || v.view.ColStride < 0 {
			return fmt.Errorf("sgemm: %s has negative strides", v.name)
		}
		last := (p.Batch-1)*v.view.BatchStride + (v.rows-1)*v.view.RowStride + (v.cols-1)*v.view.ColStride
		if last >= len(v.view.Data) {
			return fmt.Errorf("sgemm: %s reaches element %d of %d", v.name, last, len(v.view.Data))
		}
	}
	return nil
}

func mulBatched(c []float32, p Problem, workers int) {
	if p.M < smallRows || p.N < smallCols {
		// Matrix-vector-like: no packing (each element of the large operand is used a few times only).
		parallel(min(workers, p.Batch), p.Batch, func(_ *workspace, b int) {
			mulSmall(c[b*p.M*p.N:(b+1)*p.M*p.N], p.N, p.M, p.N, p.K,
				matrix{p.A, b * p.A.BatchStride}, matrix{p.B, b * p.B.BatchStride})
		})
		return
	}
	if p.FLOPs() < minParallelFLOPs {
		workers = 1
	}
	ops := make([]product, p.Batch)
	for b := range ops {
		ops[b] = product{
			c: c[b*p.M*p.N : (b+1)*p.M*p.N], ldc: p.N, m: p.M, n: p.N, k: p.K,
			a: matrix{p.A, b * p.A.BatchStride}, b: matrix{p.B, b * p.B.BatchStride},
		}
	}
	run(ops, workers)
}

// MulOperands computes C = A·B (A is m×k, B k×n) into c, whose rows are ldc elements apart; with accumulate,
// C += A·B.
func MulOperands(c []float32, ldc, m, n, k int, a, b Operand, accumulate bool) error {
	if m <= 0 || n <= 0 || k <= 0 || ldc < n {
		return fmt.Errorf("sgemm: bad sizes M %d, N %d, K %d, ldc %d", m, n, k, ldc)
	}
	if len(c) < (m-1)*ldc+n {
		return fmt.Errorf("sgemm: C has %d elements, need %d", len(c), (m-1)*ldc+n)
	}
	workers := Workers
	if 2*float64(m)*float64(n)*float64(k) < minParallelFLOPs {
		workers = 1
	}
	run([]product{{c: c, ldc: ldc, m: m, n: n, k: k, a: a, b: b, accumulate: accumulate}}, workers)
	return nil
}

// PackedB is a right-hand operand packed once for several products (PackB, MulPackedSerial).
type PackedB struct {
	k, n int
	data []float32
}

// Data returns the packed values (for tests).
func (p *PackedB) Data() []float32 { return p.data }

// PackB packs the k×n operand b for MulPackedSerial.
func PackB(b Operand, k, n int) *PackedB {
	p := product{k: k, n: n, b: b}
	p.packedB = make([]float32, p.panels()*nr*k)
	p.packB()
	return &PackedB{k: k, n: n, data: p.packedB}
}

// MulPackedSerial computes C = A·B (or C += A·B) on the calling goroutine for A m×k and B packed by PackB; C's
// rows are ldc elements apart.
func MulPackedSerial(c []float32, ldc, m int, a Operand, b *PackedB, accumulate bool) error {
	if m <= 0 || ldc < b.n || len(c) < (m-1)*ldc+b.n {
		return fmt.Errorf("sgemm: bad sizes M %d, ldc %d, len(C) %d for N %d", m, ldc, len(c), b.n)
	}
	run([]product{{c: c, ldc: ldc, m: m, n: b.n, k: b.k, a: a, accumulate: accumulate, packedB: b.data, prepacked: true}}, 1)
	return nil
}

// MatrixOf returns batch element b of v as an Operand.
func MatrixOf(v View, b int) Operand { return matrix{v, b * v.BatchStride} }

// product is one C = A·B (or C += A·B).
type product struct {
	c          []float32
	ldc        int
	m, n, k    int
	a, b       Operand
	accumulate bool
	packedB    []float32 // B in panels of nr columns: panel j is k×nr, row-major, zero-padded past n
	prepacked  bool      // packedB was supplied by the caller
}

func (p *product) panels() int { return (p.n + nr - 1) / nr }

func (p *product) packB() {
	for jp := range p.panels() {
		j0 := jp * nr
		panel := p.packedB[jp*p.k*nr : (jp+1)*p.k*nr]
		if cols := min(nr, p.n-j0); cols < nr {
			clear(panel)
		}
		p.b.Pack(panel, nr, 0, p.k, j0, min(nr, p.n-j0))
	}
}

var floatPool sync.Pool

func getFloats(n int) *[]float32 {
	if p, ok := floatPool.Get().(*[]float32); ok && cap(*p) >= n {
		*p = (*p)[:n]
		return p
	}
	s := make([]float32, n)
	return &s
}

// task is a block of rows and columns of one product.
type task struct {
	p          *product
	m0, j0, j1 int // first row; panels [j0, j1)
}

func run(ops []product, workers int) {
	total := 0
	for i := range ops {
		total += ops[i].panels() * nr * ops[i].k
	}
	buf := getFloats(total)
	defer floatPool.Put(buf)
	var tasks []task
	pos := 0
	for i := range ops {
		p := &ops[i]
		if !p.prepacked {
			size := p.panels() * nr * p.k
			p.packedB = (*buf)[pos : pos+size]
			pos += size
		}
		panelsPerTask := nc / nr
		if mBlocks := (p.m + mc - 1) / mc; mBlocks >= 2*workers {
			panelsPerTask = p.panels() // enough row blocks to share: keep whole rows together
		}
		for m0 := 0; m0 < p.m; m0 += mc {
			for j0 := 0; j0 < p.panels(); j0 += panelsPerTask {
				tasks = append(tasks, task{p, m0, j0, min(p.panels(), j0+panelsPerTask)})
			}
		}
	}
	workers = min(workers, len(tasks))
	if workers <= 1 {
		for i := range ops {
			if !ops[i].prepacked {
				ops[i].packB()
			}
		}
		var ws workspace
		for _, t := range tasks {
			ws.do(t)
		}
		ws.release()
		return
	}
	parallel(workers, len(ops), func(_ *workspace, i int) {
		if !ops[i].prepacked {
			ops[i].packB()
		}
	})
	parallel(workers, len(tasks), func(ws *workspace, i int) { ws.do(tasks[i]) })
}

// parallel runs fn(0..n-1) on up to workers goroutines (the caller's included), handing out indices in order.
func parallel(workers, n int, fn func(ws *workspace, i int)) {
	workers = min(workers, n)
	var mu sync.Mutex
	next := 0
	take := func() int {
		mu.Lock()
		defer mu.Unlock()
		i := next
		next++
		return i
	}
	work := func() {
		var ws workspace
		defer ws.release()
		for i := take(); i < n; i = take() {
			fn(&ws, i)
		}
	}
	var wg sync.WaitGroup
	for range workers - 1 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work()
		}()
	}
	work()
	wg.Wait()
}

// workspace holds one goroutine's scratch memory: a packed block of A, the zero-padded last rows, and an
// edge tile of C.
type workspace struct {
	aBuf *[]float32
	tail [mr * kc]float32
	tile [mr * nr]float32
}

func (w *workspace) release() {
	if w.aBuf != nil {
		floatPool.Put(w.aBuf)
		w.aBuf = nil
	}
}

// do computes a block of mc rows and up to nc columns of C.
func (w *workspace) do(t task) {
	p := t.p
	rows := min(mc, p.m-t.m0)
	data, off, lda, direct := []float32(nil), 0, 0, false
	if rr, ok := p.a.(rowReader); ok {
		data, off, lda, direct = rr.rows()
	}
	// Passes of equal depth, at most kc.
	step := (p.k + (p.k+kc-1)/kc - 1) / ((p.k + kc - 1) / kc)
	for k0 := 0; k0 < p.k; k0 += step {
		depth := min(step, p.k-k0)
		accumulate := p.accumulate || k0 > 0
		var aData []float32
		var aBase, aStride int
		if direct {
			aData, aBase, aStride = data, off+t.m0*lda+k0, lda
		} else {
			if w.aBuf == nil {
				w.aBuf = getFloats(mc * kc)
			}
			if cap(*w.aBuf) < mc*kc {
				panic("sgemm: workspace too small")
			}
			aData, aBase, aStride = *w.aBuf, 0, depth
			p.a.Pack(aData, depth, t.m0, rows, k0, depth)
		}
		for i0 := 0; i0 < rows; i0 += mr {
			h := min(mr, rows-i0)
			aPtr, stride := &aData[aBase+i0*aStride], aStride
			if h < mr {
				// Copy the last rows into a zero-padded block so the kernel reads nothing out of range.
				clear(w.tail[:mr*depth])
				for i := range h {
					copy(w.tail[i*depth:(i+1)*depth], aData[aBase+(i0+i)*aStride:][:depth])
				}
				aPtr, stride = &w.tail[0], depth
			}
			cRow := (t.m0 + i0) * p.ldc
			for jp := t.j0; jp < t.j1; jp++ {
				j0 := jp * nr
				wdt := min(nr, p.n-j0)
				bPtr := &p.packedB[jp*p.k*nr+k0*nr]
				if h == mr && wdt == nr {
					kernel(depth, aPtr, stride, bPtr, &p.c[cRow+j0], p.ldc, accumulate)
					continue
				}
				kernel(depth, aPtr, stride, bPtr, &w.tile[0], nr, false)
				for i := range h {
					dst := p.c[cRow+i*p.ldc+j0:][:wdt]
					src := w.tile[i*nr:][:wdt]
					if accumulate {
						for j := range dst {
							dst[j] += src[j]
						}
					} else {
						copy(dst, src)
					}
				}
			}
		}
	}
}

// kernel computes the mr×nr tile C = A·B (or C += A·B when accumulate), for A rows at a, a+lda, … (lda in
// elements, k contiguous), B packed (nr floats per k) and C rows ldc elements apart.
func kernel(depth int, a *float32, lda int, b *float32, c *float32, ldc int, accumulate bool) {
	if useAsm {
		kernel6x16(depth, a, lda*4, b, c, ldc*4, accumulate)
		return
	}
	kernelGo(depth, unsafe.Slice(a, (mr-1)*lda+depth), lda, unsafe.Slice(b, depth*nr), unsafe.Slice(c, (mr-1)*ldc+nr), ldc, accumulate)
}

// kernelGo is the portable micro-kernel.
func kernelGo(depth int, a []float32, lda int, b []float32, c []float32, ldc int, accumulate bool) {
	var acc [mr][nr]float32
	for k := range depth {
		bk := (*[nr]float32)(b[k*nr:])
		for i := range mr {
			ai := a[i*lda+k]
			row := &acc[i]
			for j := range nr {
				row[j] += ai * bk[j]
			}
		}
	}
	for i := range mr {
		dst := (*[nr]float32)(c[i*ldc:])
		if accumulate {
			for j := range nr {
				dst[j] += acc[i][j]
			}
		} else {
			*dst = acc[i]
		}
	}
}
