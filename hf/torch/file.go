package torch

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/locoedit/locoedit/hf/safetensors"
)

// Format names a checkpoint's container format.
type Format string

const (
	// Zip is torch.save's format since PyTorch 1.6: a zip archive with FOLDER/data.pkl and FOLDER/data/KEY.
	Zip Format = "zip"
	// Legacy is the format before it (and with _use_new_zipfile_serialization=False): magic number, protocol,
	// system info and the object as pickles, then the storage keys and each storage's size and bytes.
	Legacy Format = "legacy"
)

// maxNesting bounds how deep dicts may nest in a checkpoint, maxEntries how many entries may be walked while
// listing its tensors, and maxNameBytes the total length of their names.
const (
	maxNesting   = 16
	maxEntries   = 1 << 20
	maxNameBytes = 16 << 20
)

// File is an opened PyTorch checkpoint. Its tensors are read from the file on demand; a File is safe for use
// by one goroutine at a time.
type File struct {
	path    string
	format  Format
	r       io.ReaderAt
	size    int64
	closer  io.Closer
	names   []string
	tensors map[string]*tensor

	nameBytes, dataBytes int64 // totals while collecting
}

// Open reads the structure of the checkpoint at path (zip or legacy format) and checks every tensor against
// the bytes the file holds. Tensor data is read later, by Tensor.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening PyTorch checkpoint: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("opening PyTorch checkpoint: %w", err)
	}
	c, err := NewReader(f, st.Size(), path)
	if err != nil {
		f.Close()
		return nil, err
	}
	c.closer = f
	return c, nil
}

// NewReader reads a checkpoint of the given size from r; name is used in errors.
func NewReader(r io.ReaderAt, size int64, name string) (*File, error) {
	c := &File{path: name, r: r, size: size, tensors: map[string]*tensor{}}
	head := make([]byte, 4)
	if _, err := r.ReadAt(head, 0); err != nil {
		return nil, fmt.Errorf("%s: not a PyTorch checkpoint (%d bytes): %w", name, size, err)
	}
	var obj any
	var err error
	switch {
	case bytes.Equal(head, []byte("PK\x03\x04")):
		c.format = Zip
		obj, err = c.readZip()
	case head[0] == opProto:
		c.format = Legacy
		obj, err = c.readLegacy()
	default:
		return nil, fmt.Errorf("%s: not a PyTorch checkpoint: neither a zip archive nor a pickle (starts with % x)", name, head)
	}
	if err != nil {
		return nil, fmt.Errorf("%s (PyTorch %s checkpoint): %w", name, c.format, err)
	}
	entries := 0
	if err := c.collect(obj, "", 0, &entries); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(c.names) == 0 {
		return nil, fmt.Errorf("%s: the checkpoint holds no tensors", name)
	}
	return c, nil
}

// collect walks the loaded object, naming each tensor by its dotted path ("a.b.weight" for nested dicts).
// Entries that are not tensors (numbers, strings, None, lists: training state kept beside the weights) are
// skipped.
func (c *File) collect(v any, prefix string, depth int, entries *int) error {
	switch x := v.(type) {
	case *dict:
		if depth > maxNesting {
			return fmt.Errorf("dicts nest deeper than %d levels at %q", maxNesting, prefix)
		}
		for i, k := range x.keys {
			if *entries++; *entries > maxEntries {
				return fmt.Errorf("more than %d entries: not a state dict", maxEntries)
			}
			name := fmt.Sprint(k)
			if prefix != "" {
				name = prefix + "." + name
			}
			if c.nameBytes += int64(len(name)); c.nameBytes > maxNameBytes {
				return fmt.Errorf("the tensor names add up to more than %d MiB: not a state dict", maxNameBytes>>20)
			}
			if err := c.collect(x.values[i], name, depth+1, entries); err != nil {
				return err
			}
		}
	case *tensor:
		if depth == 0 {
			return errors.New("the checkpoint is a single tensor, not a state dict")
		}
		if _, dup := c.tensors[prefix]; dup {
			return fmt.Errorf("tensor name %q occurs twice", prefix)
		}
		// Tied weights name one tensor twice; a view repeated under thousands of names would make reading
		// them all (loco convert) take far more memory than the file holds.
		if c.dataBytes += int64(x.numel()) * int64(x.storage.dtype.Size()); c.dataBytes > 2*c.size+16<<20 {
			return fmt.Errorf("the tensors add up to more than twice the file's %d bytes: one storage is repeated under many names", c.size)
		}
		c.tensors[prefix] = x
		c.names = append(c.names, prefix)
	default:
		if depth == 0 {
			return fmt.Errorf("the checkpoint holds a %s, not a state dict (a dict of tensors)", typeName(v))
		}
	}
	return nil
}

// Close releases the file.
func (c *File) Close() error {
	if c.closer == nil {
		return nil
	}
	err := c.closer.Close()
	c.closer = nil
	return err
}

// Format is the container format read.
func (c *File) Format() Format { return c.format }

// Names lists the tensors in the order the checkpoint stores them (a state dict's module order).
func (c *File) Names() []string { return slices.Clone(c.names) }

// Has reports whether the checkpoint holds a tensor named name.
func (c *File) Has(name string) bool { _, ok := c.tensors[name]; return ok }

// Tensor reads one tensor: its dtype is the storage's, its shape the PyTorch shape, its data row-major
// (strided views are made contiguous).
func (c *File) Tensor(name string) (*safetensors.Tensor, error) {
	t, ok := c.tensors[name]
	if !ok {
		return nil, fmt.Errorf("%s: no tensor named %q (%d tensors, e.g. %s)", c.path, name, len(c.names), strings.Join(c.names[:min(3, len(c.names))], ", "))
	}
	es := int64(t.storage.dtype.Size())
	raw := make([]byte, t.span()*es)
	if len(raw) > 0 {
		if _, err := c.r.ReadAt(raw, t.storage.offset+t.offset*es); err != nil {
			return nil, fmt.Errorf("%s: reading tensor %q: %w", c.path, name, err)
		}
	}
	if !t.contiguous() {
		raw = t.gather(raw)
	}
	return &safetensors.Tensor{DType: t.storage.dtype, Shape: slices.Clone(t.shape), Data: raw}, nil
}

// StateDict reads every tensor.
func (c *File) StateDict() (map[string]*safetensors.Tensor, error) {
	out := make(map[string]*safetensors.Tensor, len(c.names))
	for _, n := range c.names {
		t, err := c.Tensor(n)
		if err != nil {
			return nil, err
		}
		out[n] = t
	}
	return out, nil
}

// newCheckpointUnpickler reads the pickles of a checkpoint (n bytes from r): tensors rebuilt on the storages
// their persistent ids name, collected in byKey.
func newCheckpointUnpickler(r io.Reader, n int64, byKey map[string]*storage) *unpickler {
	u := newUnpickler(r, n)
	u.reduce = reduceTensor
	u.persistentLoad = func(pid any) (any, error) { return storageFromPID(pid, byKey) }
	return u
}

// locate records where storage s's bytes start, after checking that avail bytes hold all its elements.
func locate(s *storage, offset, avail int64) error {
	if need := s.numel * int64(s.dtype.Size()); need > avail {
		return fmt.Errorf("storage %q declares %d %s elements (%d bytes) but the file holds %d bytes for it", s.key, s.numel, s.dtype, need, avail)
	}
	s.offset = offset
	return nil
}
