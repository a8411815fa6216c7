package torch

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// Limits of the unpickler. A state dict's pickle is small (tens of bytes per tensor); these bound what a
// hostile file can make the reader hold.
const (
	// maxPickleBytes is the largest pickle stream read.
	maxPickleBytes = 16 << 20
	// maxPickleMemory caps the memory the unpickler's objects may take (an estimate charged per object).
	maxPickleMemory = 32 << 20
	// maxLongBytes is the longest LONG1 integer read (the legacy format's magic number takes 10 bytes).
	maxLongBytes = 16
)

// errTruncated is wrapped by errors for a pickle that ends early.
var errTruncated = errors.New("truncated pickle")

// ErrForbiddenGlobal is wrapped by the error for a pickle that names a global outside the allowed set.
var ErrForbiddenGlobal = errors.New("the checkpoint names a Python global this reader does not allow")

// unpickler runs the subset of the pickle virtual machine a state dict needs. It never calls anything: the
// allowed callables are interpreted by reduce.
type unpickler struct {
	r      *bufio.Reader
	pos    int64 // bytes consumed
	limit  int64 // bytes available to the pickle
	stack  []any
	marks  []int
	memo   map[uint32]any
	memory int // estimated bytes held by objects created so far

	// persistentLoad resolves a persistent id (BINPERSID); nil refuses them.
	persistentLoad func(pid any) (any, error)
	// reduce applies an allowed callable to its arguments.
	reduce func(fn global, args tuple) (any, error)
}

// newUnpickler reads pickles from r, which holds limit bytes.
func newUnpickler(r io.Reader, limit int64) *unpickler {
	return &unpickler{r: bufio.NewReaderSize(r, 64<<10), limit: min(limit, maxPickleBytes), memo: map[uint32]any{}}
}

// reset prepares for the next pickle of the stream (a fresh memo; the memory account carries on).
func (u *unpickler) reset() {
	u.stack, u.marks, u.memo = u.stack[:0], u.marks[:0], map[uint32]any{}
}

// charge accounts for n estimated bytes of new objects.
func (u *unpickler) charge(n int) error {
	if n < 0 || u.memory+n > maxPickleMemory {
		return fmt.Errorf("the pickle builds more than %d MiB of objects: not a state dict of tensors", maxPickleMemory>>20)
	}
	u.memory += n
	return nil
}

func (u *unpickler) push(v any) error {
	if err := u.charge(16); err != nil {
		return err
	}
	u.stack = append(u.stack, v)
	return nil
}

// frameBase is where the current frame starts: items under the topmost mark are out of reach until it is
// popped (as in Python's unpickler, where MARK starts a new stack).
func (u *unpickler) frameBase() int {
	if len(u.marks) == 0 {
		return 0
	}
	return u.marks[len(u.marks)-1]
}

// need checks that the current frame holds at least n items.
func (u *unpickler) need(n int) error {
	if len(u.stack)-u.frameBase() < n {
		return errors.New("stack underflow")
	}
	return nil
}

func (u *unpickler) pop() (any, error) {
	if err := u.need(1); err != nil {
		return nil, err
	}
	v := u.stack[len(u.stack)-1]
	u.stack = u.stack[:len(u.stack)-1]
	return v, nil
}

func (u *unpickler) top() (any, error) {
	if err := u.need(1); err != nil {
		return nil, err
	}
	return u.stack[len(u.stack)-1], nil
}

// popMark pops the items above the topmost mark (and the mark).
func (u *unpickler) popMark() ([]any, error) {
	if len(u.marks) == 0 {
		return nil, errors.New("no MARK on the stack")
	}
	m := u.marks[len(u.marks)-1]
	u.marks = u.marks[:len(u.marks)-1]
	items := append([]any(nil), u.stack[m:]...)
	u.stack = u.stack[:m]
	return items, u.charge(16 * len(items))
}

// read returns the next n bytes, after checking the stream holds them (so a declared length never allocates
// more than the file has).
func (u *unpickler) read(n int) ([]byte, error) {
	if n < 0 || int64(n) > u.limit-u.pos {
		if u.limit == maxPickleBytes {
			return nil, fmt.Errorf("the pickle is longer than %d MiB: not a state dict of tensors", maxPickleBytes>>20)
		}
		return nil, fmt.Errorf("%w: %d bytes wanted at offset %d, %d left", errTruncated, n, u.pos, u.limit-u.pos)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(u.r, b); err != nil {
		return nil, fmt.Errorf("%w at offset %d: %v", errTruncated, u.pos, err)
	}
	u.pos += int64(n)
	return b, nil
}

func (u *unpickler) readByte() (byte, error) {
	if u.pos >= u.limit {
		_, err := u.read(1)
		return 0, err
	}
	b, err := u.r.ReadByte()
	if err != nil {
		return 0, fmt.Errorf("%w at offset %d: %v", errTruncated, u.pos, err)
	}
	u.pos++
	return b, nil
}

func (u *unpickler) readUint(n int) (uint64, error) {
	var v uint64
	for i := range n {
		b, err := u.readByte()
		if err != nil {
			return 0, err
		}
		v |= uint64(b) << (8 * i)
	}
	return v, nil
}

// readLine reads up to a newline (GLOBAL's text arguments), at most 256 bytes.
func (u *unpickler) readLine() (string, error) {
	var s []byte
	for len(s) <= 256 {
		b, err := u.readByte()
		if err != nil {
			return "", err
		}
		if b == '\n' {
			return string(s), nil
		}
		s = append(s, b)
	}
	return "", fmt.Errorf("text argument at offset %d is longer than 256 bytes", u.pos)
}

// readString reads a length-prefixed string (n-byte little-endian length).
func (u *unpickler) readString(lenBytes int) (string, error) {
	n, err := u.readUint(lenBytes)
	if err != nil {
		return "", err
	}
	if n > uint64(u.limit-u.pos) {
		return "", fmt.Errorf("%w: string of %d bytes at offset %d runs past the end", errTruncated, n, u.pos)
	}
	if err := u.charge(int(n) + 16); err != nil {
		return "", err
	}
	b, err := u.read(int(n))
	return string(b), err
}

func (u *unpickler) memoPut(i uint32) error {
	v, err := u.top()
	if err != nil {
		return err
	}
	if err := u.charge(48); err != nil {
		return err
	}
	u.memo[i] = v
	return nil
}

func (u *unpickler) memoGet(i uint32) error {
	v, ok := u.memo[i]
	if !ok {
		return fmt.Errorf("memo entry %d is not defined", i)
	}
	return u.push(v)
}

// Pickle opcodes (protocols 0–5, the binary ones a state dict uses).
const (
	opMark           = '('
	opStop           = '.'
	opPop            = '0'
	opPopMark        = '1'
	opDup            = '2'
	opBinInt         = 'J'
	opBinInt1        = 'K'
	opBinInt2        = 'M'
	opNone           = 'N'
	opBinPersID      = 'Q'
	opReduce         = 'R'
	opBinString      = 'T'
	opShortBinString = 'U'
	opBinUnicode     = 'X'
	opAppend         = 'a'
	opBuild          = 'b'
	opGlobal         = 'c'
	opDict           = 'd'
	opEmptyDict      = '}'
	opAppends        = 'e'
	opBinGet         = 'h'
	opLongBinGet     = 'j'
	opList           = 'l'
	opEmptyList      = ']'
	opBinPut         = 'q'
	opLongBinPut     = 'r'
	opSetItem        = 's'
	opTuple          = 't'
	opEmptyTuple     = ')'
	opSetItems       = 'u'
	opBinFloat       = 'G'
	opBinBytes       = 'B'
	opShortBinBytes  = 'C'
	opProto          = 0x80
	opTuple1         = 0x85
	opTuple2         = 0x86
	opTuple3         = 0x87
	opNewTrue        = 0x88
	opNewFalse       = 0x89
	opLong1          = 0x8a
	opShortBinUni    = 0x8c
	opBinUnicode8    = 0x8d
	opBinBytes8      = 0x8e
	opStackGlobal    = 0x93
	opMemoize        = 0x94
	opFrame          = 0x95
)

// load runs the pickle from the current position to its STOP and returns the object. The stream is then just
// past the STOP (the legacy format stores several pickles back to back; call load again for the next one).
func (u *unpickler) load() (any, error) {
	u.reset()
	for {
		at := u.pos
		op, err := u.readByte()
		if err != nil {
			return nil, err
		}
		done, err := u.step(op)
		if err != nil {
			return nil, fmt.Errorf("pickle opcode 0x%02x at offset %d: %w", op, at, err)
		}
		if done {
			if len(u.stack) != 1 || len(u.marks) != 0 {
				return nil, fmt.Errorf("pickle stops with %d objects and %d marks on the stack, want one object", len(u.stack), len(u.marks))
			}
			v := u.stack[0]
			u.stack = u.stack[:0]
			return v, nil
		}
	}
}

// step executes one opcode; done reports STOP.
func (u *unpickler) step(op byte) (done bool, err error) {
	switch op {
	case opStop:
		return true, nil
	case opProto:
		v, err := u.readByte()
		if err != nil {
			return false, err
		}
		if v > 5 {
			return false, fmt.Errorf("pickle protocol %d is not supported (at most 5)", v)
		}
	case opFrame:
		_, err = u.readUint(8) // framing only groups opcodes: nothing to do
	case opMark:
		if err := u.charge(16); err != nil {
			return false, err
		}
		u.marks = append(u.marks, len(u.stack))
	case opPop:
		if len(u.marks) > 0 && u.marks[len(u.marks)-1] == len(u.stack) {
			u.marks = u.marks[:len(u.marks)-1]
			return false, nil
		}
		_, err = u.pop()
	case opPopMark:
		_, err = u.popMark()
	case opDup:
		var v any
		if v, err = u.top(); err == nil {
			err = u.push(v)
		}
	case opNone:
		err = u.push(nil)
	case opNewTrue:
		err = u.push(true)
	case opNewFalse:
		err = u.push(false)
	case opBinInt:
		var v uint64
		if v, err = u.readUint(4); err == nil {
			err = u.push(int64(int32(uint32(v))))
		}
	case opBinInt1:
		var v uint64
		if v, err = u.readUint(1); err == nil {
			err = u.push(int64(v))
		}
	case opBinInt2:
		var v uint64
		if v, err = u.readUint(2); err == nil {
			err = u.push(int64(v))
		}
	case opLong1:
		err = u.long1()
	case opBinFloat:
		var b []byte
		if b, err = u.read(8); err == nil {
			err = u.push(math.Float64frombits(binary.BigEndian.Uint64(b)))
		}
	case opShortBinUni, opShortBinString, opShortBinBytes:
		err = u.pushString(1)
	case opBinUnicode, opBinString, opBinBytes:
		err = u.pushString(4)
	case opBinUnicode8, opBinBytes8:
		err = u.pushString(8)
	case opEmptyTuple:
		err = u.push(tuple{})
	case opTuple:
		var items []any
		if items, err = u.popMark(); err == nil {
			err = u.push(tuple(items))
		}
	case opTuple1, opTuple2, opTuple3:
		err = u.tupleN(int(op-opTuple1) + 1)
	case opEmptyList:
		err = u.pushContainer(&list{})
	case opList:
		var items []any
		if items, err = u.popMark(); err == nil {
			err = u.pushContainer(&list{items: items})
		}
	case opAppend:
		err = u.appends(false)
	case opAppends:
		err = u.appends(true)
	case opEmptyDict:
		err = u.pushContainer(newDict())
	case opDict:
		d := newDict()
		if err = u.setItems(d, true); err == nil {
			err = u.pushContainer(d)
		}
	case opSetItem, opSetItems:
		var v any
		if v, err = u.stackBelow(op == opSetItems); err == nil {
			d, ok := v.(*dict)
			if !ok {
				return false, fmt.Errorf("SETITEM on a %s, want a dict", typeName(v))
			}
			err = u.setItems(d, op == opSetItems)
		}
	case opGlobal:
		var module, name string
		if module, err = u.readLine(); err == nil {
			if name, err = u.readLine(); err == nil {
				err = u.pushGlobal(module, name)
			}
		}
	case opStackGlobal:
		err = u.stackGlobal()
	case opReduce:
		err = u.doReduce()
	case opBuild:
		err = u.build()
	case opBinPersID:
		err = u.persID()
	case opBinPut:
		var i uint64
		if i, err = u.readUint(1); err == nil {
			err = u.memoPut(uint32(i))
		}
	case opLongBinPut:
		var i uint64
		if i, err = u.readUint(4); err == nil {
			err = u.memoPut(uint32(i))
		}
	case opMemoize:
		err = u.memoPut(uint32(len(u.memo)))
	case opBinGet:
		var i uint64
		if i, err = u.readUint(1); err == nil {
			err = u.memoGet(uint32(i))
		}
	case opLongBinGet:
		var i uint64
		if i, err = u.readUint(4); err == nil {
			err = u.memoGet(uint32(i))
		}
	default:
		return false, fmt.Errorf("unsupported pickle opcode %q: not part of a state dict of tensors", rune(op))
	}
	return false, err
}

func (u *unpickler) long1() error {
	n, err := u.readUint(1)
	if err != nil {
		return err
	}
	if n > maxLongBytes {
		return fmt.Errorf("integer of %d bytes is too long", n)
	}
	b, err := u.read(int(n))
	if err != nil {
		return err
	}
	if n > 8 {
		return u.push(bigInt(append([]byte(nil), b...)))
	}
	var buf [8]byte
	copy(buf[:], b)
	if n > 0 && b[n-1]&0x80 != 0 { // sign-extend
		for i := n; i < 8; i++ {
			buf[i] = 0xff
		}
	}
	return u.push(int64(binary.LittleEndian.Uint64(buf[:])))
}

func (u *unpickler) pushString(lenBytes int) error {
	s, err := u.readString(lenBytes)
	if err != nil {
		return err
	}
	return u.push(s)
}

func (u *unpickler) pushContainer(v any) error {
	if err := u.charge(48); err != nil {
		return err
	}
	return u.push(v)
}

func (u *unpickler) tupleN(n int) error {
	if err := u.need(n); err != nil {
		return err
	}
	items := append(tuple(nil), u.stack[len(u.stack)-n:]...)
	u.stack = u.stack[:len(u.stack)-n]
	return u.push(items)
}

// stackBelow returns the object under the topmost mark (withMark) or under the two items of a SETITEM,
// which must lie in its frame.
func (u *unpickler) stackBelow(withMark bool) (any, error) {
	if !withMark {
		if err := u.need(3); err != nil {
			return nil, err
		}
		return u.stack[len(u.stack)-3], nil
	}
	if len(u.marks) == 0 {
		return nil, errors.New("no MARK on the stack")
	}
	i, base := u.marks[len(u.marks)-1]-1, 0
	if len(u.marks) > 1 {
		base = u.marks[len(u.marks)-2]
	}
	if i < base {
		return nil, errors.New("stack underflow")
	}
	return u.stack[i], nil
}

func (u *unpickler) setItems(d *dict, withMark bool) error {
	var items []any
	if withMark {
		var err error
		if items, err = u.popMark(); err != nil {
			return err
		}
	} else {
		if err := u.need(2); err != nil {
			return err
		}
		items = u.stack[len(u.stack)-2:]
		u.stack = u.stack[:len(u.stack)-2]
	}
	if len(items)%2 != 0 {
		return fmt.Errorf("odd number of items (%d) for a dict", len(items))
	}
	if err := u.charge(32 * len(items)); err != nil {
		return err
	}
	for i := 0; i < len(items); i += 2 {
		if err := d.set(items[i], items[i+1]); err != nil {
			return err
		}
	}
	return nil
}

func (u *unpickler) appends(many bool) error {
	var items []any
	if many {
		var err error
		if items, err = u.popMark(); err != nil {
			return err
		}
	} else {
		v, err := u.pop()
		if err != nil {
			return err
		}
		items = []any{v}
	}
	target, err := u.top()
	if err != nil {
		return err
	}
	l, ok := target.(*list)
	if !ok {
		return fmt.Errorf("APPEND to a %s, want a list", typeName(target))
	}
	if err := u.charge(16 * len(items)); err != nil {
		return err
	}
	l.items = append(l.items, items...)
	return nil
}

func (u *unpickler) pushGlobal(module, name string) error {
	g := global{module, name}
	if !allowedGlobals[g] {
		return fmt.Errorf("%w: %s (only tensors in dicts are read; nothing was executed)", ErrForbiddenGlobal, g)
	}
	return u.push(g)
}

func (u *unpickler) stackGlobal() error {
	name, err := u.pop()
	if err != nil {
		return err
	}
	module, err := u.pop()
	if err != nil {
		return err
	}
	m, ok1 := module.(string)
	n, ok2 := name.(string)
	if !ok1 || !ok2 {
		return errors.New("STACK_GLOBAL needs two strings")
	}
	return u.pushGlobal(m, n)
}

func (u *unpickler) doReduce() error {
	args, err := u.pop()
	if err != nil {
		return err
	}
	fn, err := u.pop()
	if err != nil {
		return err
	}
	g, ok := fn.(global)
	if !ok {
		return fmt.Errorf("REDUCE calls a %s, not an allowed global", typeName(fn))
	}
	a, ok := args.(tuple)
	if !ok {
		return fmt.Errorf("REDUCE of %s with %s arguments, want a tuple", g, typeName(args))
	}
	if u.reduce == nil {
		return fmt.Errorf("%s cannot be called here", g)
	}
	// The result may copy the items of its argument (OrderedDict(pairs)): account for them first.
	cost := 48 * len(a)
	if len(a) > 0 {
		switch x := a[0].(type) {
		case *list:
			cost += 48 * len(x.items)
		case tuple:
			cost += 48 * len(x)
		}
	}
	if err := u.charge(cost); err != nil {
		return err
	}
	v, err := u.reduce(g, a)
	if err != nil {
		return fmt.Errorf("%s: %w", g, err)
	}
	return u.pushContainer(v)
}

// build applies BUILD: only setting attributes (state) on an OrderedDict, which a state dict does for its
// _metadata; the state is data and is dropped.
func (u *unpickler) build() error {
	state, err := u.pop()
	if err != nil {
		return err
	}
	target, err := u.top()
	if err != nil {
		return err
	}
	if _, ok := target.(*dict); !ok {
		return fmt.Errorf("BUILD on a %s: only dict attributes are allowed", typeName(target))
	}
	switch state.(type) {
	case nil, *dict, tuple:
		return nil
	}
	return fmt.Errorf("BUILD with a %s state", typeName(state))
}

func (u *unpickler) persID() error {
	pid, err := u.pop()
	if err != nil {
		return err
	}
	if u.persistentLoad == nil {
		return errors.New("persistent ids are not allowed here")
	}
	v, err := u.persistentLoad(pid)
	if err != nil {
		return err
	}
	return u.push(v)
}
