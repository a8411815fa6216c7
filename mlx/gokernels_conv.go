package mlx

import (
	"reflect"
	"slices"
	"sync/atomic"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"

	"github.com/locoedit/locoedit/mlx/f32"
	"github.com/locoedit/locoedit/mlx/sgemm"
)

// A fast ConvGeneral for simplego: the convolution as one matrix product whose left operand is the implicit
// im2col matrix (rows: batch × output positions; columns: kernel positions × input channels), packed block by
// block straight from the input, so the patches are never materialised. Any axis layout, stride, padding and
// kernel dilation; input dilation and grouped convolutions fall back to simplego's own executor. GoMLX's
// gradients of a convolution are convolutions with other layouts (reversed kernel; input and cotangent as
// kernel), so they run here too.

// winogradConvs selects Winograd's algorithm for the 3×3 stride-1 convolutions it applies to (tests turn it off
// to compare with the direct product).
var winogradConvs = true

// winogradCalls counts the convolutions computed by Winograd's algorithm (for tests).
var winogradCalls atomic.Int64

// convParams is what the executor needs from simplego's convolution node.
type convParams struct {
	axes                   backends.ConvolveAxesConfig
	strides, kernelDilate  []int
	paddings               [][2]int
	inputDilate            []int
	channelGroups, batchGr int
}

// readConvParams reads the parameters of a ConvGeneral node (its private data) by reflection.
func readConvParams(node *simplego.Node) (convParams, bool) {
	v, ok := nodeData(node)
	if !ok || v.Kind() != reflect.Struct {
		return convParams{}, false
	}
	var p convParams
	ax := fieldByName(v, "axes")
	if !ax.IsValid() || ax.Kind() != reflect.Struct {
		return convParams{}, false
	}
	intOf := func(s reflect.Value, name string) (int, bool) {
		f := fieldByName(s, name)
		if !f.IsValid() || f.Kind() != reflect.Int {
			return 0, false
		}
		return int(f.Int()), true
	}
	oks := make([]bool, 0, 20)
	add := func(x int, ok bool) int { oks = append(oks, ok); return x }
	addInts := func(x []int, ok bool) []int { oks = append(oks, ok); return x }
	p.axes.InputBatch = add(intOf(ax, "InputBatch"))
	p.axes.InputChannels = add(intOf(ax, "InputChannels"))
	p.axes.InputSpatial = addInts(intsField(ax, "InputSpatial"))
	p.axes.KernelInputChannels = add(intOf(ax, "KernelInputChannels"))
	p.axes.KernelOutputChannels = add(intOf(ax, "KernelOutputChannels"))
	p.axes.KernelSpatial = addInts(intsField(ax, "KernelSpatial"))
	p.axes.OutputBatch = add(intOf(ax, "OutputBatch"))
	p.axes.OutputChannels = add(intOf(ax, "OutputChannels"))
	p.axes.OutputSpatial = addInts(intsField(ax, "OutputSpatial"))
	p.strides = addInts(intsField(v, "strides"))
	p.inputDilate = addInts(intsField(v, "inputDilations"))
	p.kernelDilate = addInts(intsField(v, "kernelDilations"))
	p.channelGroups = add(intOf(v, "channelGroupCount"))
	p.batchGr = add(intOf(v, "batchGroupCount"))
	pads := fieldByName(v, "paddings")
	if !pads.IsValid() || pads.Kind() != reflect.Slice || pads.Type().Elem().Kind() != reflect.Array || pads.Type().Elem().Len() != 2 {
		return convParams{}, false
	}
	for i := range pads.Len() {
		e := pads.Index(i)
		p.paddings = append(p.paddings, [2]int{int(e.Index(0).Int()), int(e.Index(1).Int())})
	}
	for _, ok := range oks {
		if !ok {
			return convParams{}, false
		}
	}
	return p, true
}

// convGeometry is a convolution resolved to sizes and strides (in elements) of its operands.
type convGeometry struct {
	spatial int // number of spatial axes

	batch, cin, cout int
	outDims          []int // output spatial dimensions
	kDims            []int // kernel spatial dimensions

	inBatchStride, inChanStride int
	inSpatialStride, inDims     []int
	kInStride, kOutStride       int
	kSpatialStride              []int
	stride, dilate, padLow      []int

	outOrder []int // output non-channel axes in memory order, as positions: -1 batch, i spatial i
}

func newConvGeometry(p convParams, inDims, kDims, outDims []int) (convGeometry, bool) {
	a := p.axes
	n := len(a.InputSpatial)
	if n == 0 || len(a.KernelSpatial) != n || len(a.OutputSpatial) != n || p.channelGroups > 1 || p.batchGr > 1 ||
		len(p.paddings) != n || len(p.strides) != n {
		return convGeometry{}, false
	}
	for _, d := range p.inputDilate {
		if d > 1 {
			return convGeometry{}, false
		}
	}
	inS, kS := f32.RowMajorStrides(inDims), f32.RowMajorStrides(kDims)
	g := convGeometry{
		spatial: n,
		batch:   inDims[a.InputBatch], cin: inDims[a.InputChannels], cout: kDims[a.KernelOutputChannels],
		inBatchStride: inS[a.InputBatch], inChanStride: inS[a.InputChannels],
		kInStride: kS[a.KernelInputChannels], kOutStride: kS[a.KernelOutputChannels],
	}
	if kDims[a.KernelInputChannels] != g.cin || outDims[a.OutputBatch] != g.batch || outDims[a.OutputChannels] != g.cout {
		return convGeometry{}, false
	}
	for i := range n {
		g.inDims = append(g.inDims, inDims[a.InputSpatial[i]])
		g.inSpatialStride = append(g.inSpatialStride, inS[a.InputSpatial[i]])
		g.kDims = append(g.kDims, kDims[a.KernelSpatial[i]])
		g.kSpatialStride = append(g.kSpatialStride, kS[a.KernelSpatial[i]])
		g.outDims = append(g.outDims, outDims[a.OutputSpatial[i]])
		d := 1
		if len(p.kernelDilate) > 0 {
			d = p.kernelDilate[i]
		}
		g.dilate = append(g.dilate, d)
		g.stride = append(g.stride, p.strides[i])
		g.padLow = append(g.padLow, p.paddings[i][0])
		if p.strides[i] < 1 || d < 1 {
			return convGeometry{}, false
		}
		want := (g.inDims[i]+p.paddings[i][0]+p.paddings[i][1]-(g.kDims[i]-1)*d-1)/p.strides[i] + 1
		if want != g.outDims[i] {
			return convGeometry{}, false
		}
	}
	for axis := range outDims {
		switch {
		case axis == a.OutputChannels:
		case axis == a.OutputBatch:
			g.outOrder = append(g.outOrder, -1)
		default:
			i := slices.Index(a.OutputSpatial, axis)
			if i < 0 {
				return convGeometry{}, false
			}
			g.outOrder = append(g.outOrder, i)
		}
	}
	return g, true
}

// rows is the number of rows of the product (batch × output positions); depth its inner dimension.
func (g *convGeometry) rows() int {
	n := g.batch
	for _, d := range g.outDims {
		n *= d
	}
	return n
}

func (g *convGeometry) depth() int {
	n := g.cin
	for _, d := range g.kDims {
		n *= d
	}
	return n
}

// im2col is the implicit patch matrix: row r = output position in the output's memory order, column
// k = (kernel position, input channel), input channel fastest.
type im2col struct {
	g  *convGeometry
	in []float32
}

func (m im2col) Pack(dst []float32, ld, r0, rows, c0, cols int) {
	g := m.g
	n := g.spatial
	pos := make([]int, n) // output position of the row
	kpos := make([]int, n)
	for i := range rows {
		// Decode row r0+i into batch and output position (outOrder: last axis fastest).
		r := r0 + i
		b := 0
		for j := len(g.outOrder) - 1; j >= 0; j-- {
			if o := g.outOrder[j]; o < 0 {
				b = r % g.batch
				r /= g.batch
			} else {
				pos[o] = r % g.outDims[o]
				r /= g.outDims[o]
			}
		}
		out := dst[i*ld : i*ld+cols]
		base := b * g.inBatchStride
		k := c0
		for k < c0+cols {
			q, ci := k/g.cin, k%g.cin
			run := min(g.cin-ci, c0+cols-k)
			// Kernel position q (last spatial axis fastest) and the input position it reads.
			inside := true
			off := base + ci*g.inChanStride
			for s := n - 1; s >= 0; s-- {
				kpos[s] = q % g.kDims[s]
				q /= g.kDims[s]
				x := pos[s]*g.stride[s] + kpos[s]*g.dilate[s] - g.padLow[s]
				if x < 0 || x >= g.inDims[s] {
					inside = false
				}
				off += x * g.inSpatialStride[s]
			}
			seg := out[k-c0 : k-c0+run]
			switch {
			case !inside:
				clear(seg)
			case g.inChanStride == 1:
				copy(seg, m.in[off:off+run])
			default:
				for j := range seg {
					seg[j] = m.in[off+j*g.inChanStride]
				}
			}
			k += run
		}
	}
}

// convKernel is the kernel as a (kernel position, input channel) × output channel matrix.
type convKernel struct {
	g *convGeometry
	k []float32
}

func (m convKernel) Pack(dst []float32, ld, r0, rows, c0, cols int) {
	g := m.g
	n := g.spatial
	for i := range rows {
		q, ci := (r0+i)/g.cin, (r0+i)%g.cin
		off := ci * g.kInStride
		for s := n - 1; s >= 0; s-- {
			off += (q % g.kDims[s]) * g.kSpatialStride[s]
			q /= g.kDims[s]
		}
		off += c0 * g.kOutStride
		out := dst[i*ld : i*ld+cols]
		if g.kOutStride == 1 {
			copy(out, m.k[off:off+cols])
			continue
		}
		for j := range out {
			out[j] = m.k[off+j*g.kOutStride]
		}
	}
}

func fastConvGeneral(backend *simplego.Backend, node *simplego.Node, inputs []*simplego.Buffer, _ []bool) (*simplego.Buffer, bool) {
	in, is, ok1 := float32Data(backend, inputs[0])
	ker, ks, ok2 := float32Data(backend, inputs[1])
	if !ok1 || !ok2 {
		return nil, false
	}
	p, ok := readConvParams(node)
	if !ok {
		return nil, false
	}
	outDims, ok := nodeDims(node)
	if !ok {
		return nil, false
	}
	g, ok := newConvGeometry(p, is.Dimensions, ks.Dimensions, outDims)
	if !ok {
		return nil, false
	}
	out, dst, ok := newFloat32(backend, outDims)
	if !ok {
		return nil, false
	}
	m, k := g.rows(), g.depth()
	a, b := im2col{&g, in}, convKernel{&g, ker}
	channelsLast := p.axes.OutputChannels == len(outDims)-1
	if winogradConvs && g.winogradApplicable(channelsLast) {
		winogradConv(&g, in, ker, dst)
		winogradCalls.Add(1)
		return out, true
	}
	if channelsLast {
		if sgemm.MulOperands(dst, g.cout, m, g.cout, k, a, b, false) != nil {
			_ = backend.BufferFinalize(out)
			return nil, false
		}
		return out, true
	}
	// Channels not innermost: compute [rows, cout] and move the channels into place.
	tmp := make([]float32, m*g.cout)
	if sgemm.MulOperands(tmp, g.cout, m, g.cout, k, a, b, false) != nil {
		_ = backend.BufferFinalize(out)
		return nil, false
	}
	// tmp is [non-channel axes in memory order..., cout].
	tmpStrides := make([]int, len(outDims))
	acc := g.cout
	for axis := len(outDims) - 1; axis >= 0; axis-- {
		if axis == p.axes.OutputChannels {
			tmpStrides[axis] = 1
			continue
		}
		tmpStrides[axis] = acc
		acc *= outDims[axis]
	}
	f32.Copy(dst, tmp, 0, outDims, tmpStrides)
	return out, true
}
