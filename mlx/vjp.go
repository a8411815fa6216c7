package mlx

import (
	"fmt"
	"reflect"
	"sync"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck // graph-building code reads best unqualified
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// InstallVJPFixes replaces or adds, in GoMLX's public graph.VJPRegistration table, the reverse-mode rules
// this project needs (GoMLX v0.26.0; the table's documentation invites such changes):
//
//   - DotGeneral and Dot: the builtin rule materialises the outer product [batch, M, N, K] (30× slower and
//     gigabytes of memory for a convolution's gradient); the replacement is two DotGenerals and transposes.
//   - Pad (its gradient is a strided Slice), Reverse (itself), Rsqrt (−½·y³·v) and Identity (v): the builtin
//     table has no rule, so gradients of gradients (exact JVPs) fail without them.
//
// Node parameters the rules need (axes, padding) are private to the graph package; nodeParam reads them from the
// node's parameter struct by field name, which this package's tests pin. It is safe to call InstallVJPFixes more
// than once.
func InstallVJPFixes() {
	installOnce.Do(func() {
		builtinVJP = map[NodeType]VJP{NodeTypeDotGeneral: VJPRegistration[NodeTypeDotGeneral]}
		VJPRegistration[NodeTypeDotGeneral] = singleOutput(dotGeneralVJP)
		VJPRegistration[NodeTypePad] = singleOutput(padVJP)
		VJPRegistration[NodeTypeReverse] = singleOutput(reverseVJP)
		VJPRegistration[NodeTypeRsqrt] = singleOutput(rsqrtVJP)
		VJPRegistration[NodeTypeIdentity] = singleOutput(identityVJP)
	})
}

var (
	installOnce sync.Once
	// builtinVJP keeps GoMLX's own rules that InstallVJPFixes replaced, for comparison in tests.
	builtinVJP map[NodeType]VJP
)

func singleOutput(fn func(node, v *Node) []*Node) VJP {
	return func(node *Node, vjpOutputs []*Node, _ shapes.Shape) []*Node {
		return fn(node, vjpOutputs[0])
	}
}

// nodeParam returns the field of node's parameter struct (GoMLX's generated nodeInputs… types) with the given
// name, panicking (inside graph building, where GoMLX reports errors by panicking) with a message that points at
// the GoMLX version when the field is gone.
func nodeParam(node *Node, field string) reflect.Value {
	inputs := reflect.ValueOf(node).Elem().FieldByName("inputs")
	if inputs.IsValid() && inputs.Kind() == reflect.Interface && !inputs.IsNil() {
		if p := inputs.Elem(); p.Kind() == reflect.Pointer && p.Elem().Kind() == reflect.Struct {
			if f := p.Elem().FieldByName(field); f.IsValid() {
				return f
			}
		}
	}
	panic(fmt.Errorf("mlx: cannot read the parameter %s of %s (GoMLX's node layout changed? this project pins gomlx v0.26.0)", field, node))
}

// intsParam reads an []int parameter of node.
func intsParam(node *Node, field string) []int {
	f := nodeParam(node, field)
	if f.Kind() != reflect.Slice || f.Type().Elem().Kind() != reflect.Int {
		panic(fmt.Errorf("mlx: parameter %s of %s is a %s, not []int (GoMLX's node layout changed?)", field, node, f.Type()))
	}
	out := make([]int, f.Len())
	for i := range out {
		out[i] = int(f.Index(i).Int())
	}
	return out
}

// dotGeneralParams returns the contracting and batch axes of a DotGeneral node.
func dotGeneralParams(node *Node) (lhsContract, lhsBatch, rhsContract, rhsBatch []int) {
	return intsParam(node, "lhsContractingAxes"), intsParam(node, "lhsBatchAxes"),
		intsParam(node, "rhsContractingAxes"), intsParam(node, "rhsBatchAxes")
}

// crossAxes lists the axes of an operand that are neither contracted nor batch, in increasing order.
func crossAxes(rank int, contract, batch []int) []int {
	used := make([]bool, rank)
	for _, a := range contract {
		used[a] = true
	}
	for _, a := range batch {
		used[a] = true
	}
	var cross []int
	for a := range rank {
		if !used[a] {
			cross = append(cross, a)
		}
	}
	return cross
}

// dotGeneralVJP computes both operands' adjoints with DotGenerals.
//
// The output of DotGeneral is laid out [batch…, lhsCross…, rhsCross…]. The adjoint of lhs contracts v's
// rhsCross axes with rhs's cross axes (batch aligned), which leaves [batch…, lhsCross…, rhsContract…], then
// transposes to lhs's own axis order (rhs's contracting axes stand for lhs's partner axes). Symmetrically for rhs.
func dotGeneralVJP(node, v *Node) []*Node {
	inputs := node.Inputs()
	lhs, rhs := inputs[0], inputs[1]
	lc, lb, rc, rb := dotGeneralParams(node)
	lx, rx := crossAxes(lhs.Rank(), lc, lb), crossAxes(rhs.Rank(), rc, rb)
	nb := len(lb)
	vBatch := axesRange(0, nb)
	vLhsCross := axesRange(nb, len(lx))
	vRhsCross := axesRange(nb+len(lx), len(rx))

	// Adjoint of lhs: DotGeneral(v, vRhsCross, vBatch; rhs, rx, rb) -> [batch, lhsCross, rhs non-(cross,batch) = rhs contracting in increasing order].
	gl := DotGeneral(v, vRhsCross, vBatch, rhs, rx, rb)
	gl = transposeIfNeeded(gl, adjointPermutation(lhs.Rank(), lb, lx, lc, rc))

	// Adjoint of rhs: DotGeneral(lhs, lx, lb; v, vLhsCross, vBatch) -> [batch, lhs contracting (increasing lhs order), rhsCross].
	gr := DotGeneral(lhs, lx, lb, v, vLhsCross, vBatch)
	gr = transposeIfNeeded(gr, adjointPermutationRHS(rhs.Rank(), rb, rx, rc, lc))
	return []*Node{gl, gr}
}

func transposeIfNeeded(x *Node, perm []int) *Node {
	for i, p := range perm {
		if i != p {
			return TransposeAllAxes(x, perm...)
		}
	}
	return x
}

// adjointPermutation returns, for each axis of the operand ("this"), which axis of the computed adjoint
// [batch…, thisCross…, otherContract-sorted…] holds it. thisContract[i] pairs with otherContract[i].
func adjointPermutation(rank int, thisBatch, thisCross, thisContract, otherContract []int) []int {
	perm := make([]int, rank)
	for i, a := range thisBatch {
		perm[a] = i
	}
	for i, a := range thisCross {
		perm[a] = len(thisBatch) + i
	}
	// The trailing axes of the adjoint are the other operand's contracting axes in increasing order.
	order := sortedPositions(otherContract)
	for pos, idx := range order {
		perm[thisContract[idx]] = len(thisBatch) + len(thisCross) + pos
	}
	return perm
}

// adjointPermutationRHS is adjointPermutation for the rhs adjoint, laid out [batch…, otherContract-sorted…, thisCross…].
func adjointPermutationRHS(rank int, thisBatch, thisCross, thisContract, otherContract []int) []int {
	perm := make([]int, rank)
	for i, a := range thisBatch {
		perm[a] = i
	}
	order := sortedPositions(otherContract)
	for pos, idx := range order {
		perm[thisContract[idx]] = len(thisBatch) + pos
	}
	for i, a := range thisCross {
		perm[a] = len(thisBatch) + len(thisContract) + i
	}
	return perm
}

// sortedPositions returns the indices of axes ordered by increasing axis value.
func sortedPositions(axes []int) []int {
	idx := axesRange(0, len(axes))
	for i := 1; i < len(idx); i++ {
		for j := i; j > 0 && axes[idx[j]] < axes[idx[j-1]]; j-- {
			idx[j], idx[j-1] = idx[j-1], idx[j]
		}
	}
	return idx
}

func axesRange(start, n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = start + i
	}
	return s
}

// padAxes returns the padding configuration of a Pad node.
func padAxes(node *Node) []backends.PadAxis {
	f := nodeParam(node, "axesConfig")
	axes := make([]backends.PadAxis, f.Len())
	for i := range axes {
		a := f.Index(i)
		axes[i] = backends.PadAxis{Start: int(a.FieldByName("Start").Int()), End: int(a.FieldByName("End").Int()),
			Interior: int(a.FieldByName("Interior").Int())}
	}
	return axes
}

// padVJP: the adjoint of padding is the strided slice that picks the original elements back.
func padVJP(node, v *Node) []*Node {
	x := node.Inputs()[0]
	cfg := padAxes(node)
	specs := make([]SliceAxisSpec, x.Rank())
	for axis := range x.Rank() {
		n := x.Shape().Dimensions[axis]
		if axis >= len(cfg) {
			specs[axis] = AxisRange()
			continue
		}
		c := cfg[axis]
		if c.Start < 0 || c.End < 0 {
			panic(fmt.Errorf("mlx: gradient of Pad with negative padding %+v is not supported", c))
		}
		step := c.Interior + 1
		specs[axis] = AxisRange(c.Start, c.Start+(n-1)*step+1).Stride(step)
	}
	// The fill value is treated as a constant.
	return []*Node{Slice(v, specs...), nil}
}

func reverseVJP(node, v *Node) []*Node {
	axes := intsParam(node, "axes")
	return []*Node{Reverse(v, axes...)}
}

// rsqrtVJP: d/dx x^(−½) = −½·x^(−3/2) = −½·y³.
func rsqrtVJP(node, v *Node) []*Node {
	y := node
	return []*Node{Mul(v, MulScalar(Mul(y, Mul(y, y)), -0.5))}
}

func identityVJP(_, v *Node) []*Node {
	return []*Node{v}
}
