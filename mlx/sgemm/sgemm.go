// Package sgemm multiplies float32 matrices fast on CPUs: packed panels, cache blocking, register-tiled
// micro-kernels in assembly (AVX2+FMA on amd64, chosen at run time from the CPU's features; a pure-Go kernel
// elsewhere) and several cores.
//
// Operands are strided views, so transposed and batched layouts need no copies beyond the packing every fast
// matrix multiply does. The result is written row-major and contiguous.
package sgemm

import (
	"fmt"
	"runtime"
	"sync"
	"unsafe"
)

// View is a batch of matrices inside a flat slice: element (b, i, j) is Data[b*BatchStride + i*RowStride +
// j*ColStride]. Strides are in elements and may be anything that stays inside Data (zero repeats a value).
type View struct {
	Data                              []float32
	BatchStride, RowStride, ColStride int
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
	kc = 256 // depth of one pass (a 6×kc A panel and a kc×16 B panel stay in L1)
	mc = 96  // rows of one task (its A block, mc×kc, stays in L2)
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
	mulInto(c, p, Workers)
	return nil
}

func (p Problem) check(lenC int) error {
	if p.Batch <= 0 || p.M <= 0 || p.N <= 0 || p.K <= 0 {
		return fmt.Errorf("sgemm: sizes must be positive, got batch %d, M %d, N %d, K %d", p.Batch, p.M, p.N, p.K)
	}
	if lenC < p.Batch*p.M*p.N {
		return fmt.Errorf("sgemm: C has %d elements, need %d", lenC, p.Batch*p.M*p.N)
	}
	last := func(v View, rows, cols int) int {
		return (p.Batch-1)*v.BatchStride + (rows-1)*v.RowStride + (cols-1)*v.ColStride
	}
	for _, v := range []struct {
		name       string
		view       View
		rows, cols int
	}{{"A", p.A, p.M, p.K}, {"B", p.B, p.K, p.N}} {
		if v.view.BatchStride < 0 || v.view.RowStride < 0 || v.view.ColStride < 0 {
			return fmt.Errorf("sgemm: %s has negative strides", v.name)
		}
		if n := last(v.view, v.rows, v.cols); n >= len(v.view.Data) {
			return fmt.Errorf("sgemm: %s reaches element %d of %d", v.name, n, len(v.view.Data))
		}
	}
	return nil
}

// packedB is B of one batch element in panels of nr columns: panel j holds rows 0..K-1 of columns
// [j·nr, j·nr+nr), row-major (nr floats per row), zero-padded past N.
func packB(dst []float32, p Problem, b int) {
	v := p.B
	base := b * v.BatchStride
	panels := (p.N + nr - 1) / nr
	for jp := range panels {
		j0 := jp * nr
		cols := min(nr, p.N-j0)
		out := dst[jp*p.K*nr : (jp+1)*p.K*nr]
		if v.ColStride == 1 {
			for k := range p.K {
				row := out[k*nr : k*nr+nr]
				src := v.Data[base+k*v.RowStride+j0:]
				copy(row[:cols], src[:cols])
				clear(row[cols:])
			}
			continue
		}
		for k := range p.K {
			row := out[k*nr : k*nr+nr]
			off := base + k*v.RowStride + j0*v.ColStride
			for j := range cols {
				row[j] = v.Data[off+j*v.ColStride]
			}
			clear(row[cols:])
		}
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

func mulInto(c []float32, p Problem, workers int) {
	panels := (p.N + nr - 1) / nr
	bSize := panels * nr * p.K
	packedBuf := getFloats(p.Batch * bSize)
	defer floatPool.Put(packedBuf)
	packed := *packedBuf

	if workers < 1 || p.FLOPs() < minParallelFLOPs {
		workers = 1
	}
	// Tasks: (batch element, block of mc rows).
	mBlocks := (p.M + mc - 1) / mc
	tasks := p.Batch * mBlocks
	workers = min(workers, tasks)
	if workers == 1 {
		for b := range p.Batch {
			packB(packed[b*bSize:(b+1)*bSize], p, b)
		}
		var ws workspace
		for t := range tasks {
			ws.task(c, p, packed, bSize, t/mBlocks, (t%mBlocks)*mc)
		}
		ws.release()
		return
	}
	parallel(workers, p.Batch, func(b int) { packB(packed[b*bSize:(b+1)*bSize], p, b) })
	parallelWithState(workers, tasks, func(ws *workspace, t int) {
		ws.task(c, p, packed, bSize, t/mBlocks, (t%mBlocks)*mc)
	})
}

// parallel runs fn(0..n-1) on up to workers goroutines, handing out indices in order.
func parallel(workers, n int, fn func(i int)) {
	parallelWithState(workers, n, func(_ *workspace, i int) { fn(i) })
}

func parallelWithState(workers, n int, fn func(ws *workspace, i int)) {
	workers = min(workers, n)
	var next int64
	var mu sync.Mutex
	take := func() int {
		mu.Lock()
		defer mu.Unlock()
		i := int(next)
		next++
		return i
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var ws workspace
			defer ws.release()
			for i := take(); i < n; i = take() {
				fn(&ws, i)
			}
		}()
	}
	wg.Wait()
}

// workspace holds one goroutine's scratch memory: a packed copy of A when its rows are not contiguous, the
// zero-padded last rows, and an edge tile of C.
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

// task computes rows [m0, m0+mc) of C for batch element b.
func (w *workspace) task(c []float32, p Problem, packed []float32, bSize, b, m0 int) {
	rows := min(mc, p.M-m0)
	a := p.A
	aBase := b*a.BatchStride + m0*a.RowStride
	aData, lda := a.Data, a.RowStride
	if a.ColStride != 1 {
		// Pack this block of A row-major (rows × K).
		if w.aBuf == nil || cap(*w.aBuf) < rows*p.K {
			w.release()
			w.aBuf = getFloats(mc * p.K)
		}
		buf := (*w.aBuf)[:rows*p.K]
		for i := range rows {
			row := buf[i*p.K : (i+1)*p.K]
			off := aBase + i*a.RowStride
			for k := range row {
				row[k] = a.Data[off+k*a.ColStride]
			}
		}
		aData, aBase, lda = buf, 0, p.K
	}
	bPacked := packed[b*bSize : (b+1)*bSize]
	cBlock := c[(b*p.M+m0)*p.N:]
	panels := (p.N + nr - 1) / nr
	for k0 := 0; k0 < p.K; k0 += kc {
		depth := min(kc, p.K-k0)
		accumulate := k0 > 0
		for i0 := 0; i0 < rows; i0 += mr {
			h := min(mr, rows-i0)
			aPtr := &aData[aBase+i0*lda+k0]
			aStride := lda
			if h < mr {
				// Copy the last rows into a zero-padded block so the kernel reads nothing out of range.
				clear(w.tail[:mr*depth])
				for i := range h {
					copy(w.tail[i*depth:(i+1)*depth], aData[aBase+(i0+i)*lda+k0:][:depth])
				}
				aPtr, aStride = &w.tail[0], depth
			}
			for jp := range panels {
				j0 := jp * nr
				wdt := min(nr, p.N-j0)
				bPtr := &bPacked[jp*p.K*nr+k0*nr]
				if h == mr && wdt == nr {
					kernel(depth, aPtr, aStride, bPtr, &cBlock[i0*p.N+j0], p.N, accumulate)
					continue
				}
				kernel(depth, aPtr, aStride, bPtr, &w.tile[0], nr, false)
				for i := range h {
					dst := cBlock[(i0+i)*p.N+j0:][:wdt]
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
