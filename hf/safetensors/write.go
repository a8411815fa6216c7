package safetensors

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/locoedit/locoedit/internal/atomicfile"
)

// Encode writes tensors and metadata (which may be nil) to w in safetensors format.
// Every tensor is validated before anything is written. The output is
// deterministic: tensors are laid out by decreasing element size, then name
// (so each one is aligned to its element size, as the reference implementation
// does), and the header is padded with spaces to a multiple of 8 bytes.
func Encode(w io.Writer, tensors map[string]*Tensor, metadata map[string]string) error {
	header, order, err := buildHeader(tensors, metadata)
	if err != nil {
		return fmt.Errorf("safetensors: encoding: %w", err)
	}
	if err := writeBody(w, header, order, tensors); err != nil {
		return fmt.Errorf("safetensors: encoding: %w", err)
	}
	return nil
}

// writeBody writes the length, the header and the tensors' data in order.
func writeBody(w io.Writer, header []byte, order []string, tensors map[string]*Tensor) error {
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(header)))
	if _, err := w.Write(n[:]); err != nil {
		return err
	}
	if _, err := w.Write(header); err != nil {
		return err
	}
	for _, name := range order {
		if _, err := w.Write(tensors[name].Data); err != nil {
			return err
		}
	}
	return nil
}

// buildHeader validates the tensors and returns the padded JSON header and the data order.
func buildHeader(tensors map[string]*Tensor, metadata map[string]string) ([]byte, []string, error) {
	order := make([]string, 0, len(tensors))
	for name, t := range tensors {
		if name == metadataKey {
			return nil, nil, fmt.Errorf("%q is reserved and cannot name a tensor", metadataKey)
		}
		if err := t.Validate(); err != nil {
			return nil, nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		order = append(order, name)
	}
	slices.SortFunc(order, func(a, b string) int {
		if c := cmp.Compare(tensors[b].DType.Size(), tensors[a].DType.Size()); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})

	var h bytes.Buffer
	h.WriteByte('{')
	if len(metadata) > 0 {
		h.WriteString(`"` + metadataKey + `":`)
		if err := writeJSON(&h, metadata); err != nil {
			return nil, nil, fmt.Errorf("metadata: %w", err)
		}
	}
	offset := 0
	for i, name := range order {
		if i > 0 || len(metadata) > 0 {
			h.WriteByte(',')
		}
		t := tensors[name]
		if err := writeJSON(&h, name); err != nil {
			return nil, nil, fmt.Errorf("tensor name %q: %w", name, err)
		}
		h.WriteString(`:{"dtype":"` + string(t.DType) + `","shape":[`)
		for j, d := range t.Shape {
			if j > 0 {
				h.WriteByte(',')
			}
			h.WriteString(strconv.Itoa(d))
		}
		end := offset + len(t.Data)
		h.WriteString(`],"data_offsets":[` + strconv.Itoa(offset) + "," + strconv.Itoa(end) + "]}")
		offset = end
	}
	h.WriteByte('}')
	for h.Len()%8 != 0 {
		h.WriteByte(' ')
	}
	if h.Len() > MaxHeaderSize {
		return nil, nil, fmt.Errorf("header would be %d bytes, over the %d-byte limit readers accept: too many tensors", h.Len(), MaxHeaderSize)
	}
	return h.Bytes(), order, nil
}

// writeJSON appends v as compact JSON without HTML escaping (as serde_json writes it).
func writeJSON(buf *bytes.Buffer, v any) error {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	buf.Truncate(buf.Len() - 1) // Encode appends a newline.
	return nil
}

// Write saves tensors and metadata (which may be nil) to path in safetensors format,
// atomically: the data goes to a temporary file in the same directory, which is
// synced and then renamed over path. On any error the temporary file is removed
// and an existing file at path is left untouched. A new file gets mode 0644; an
// existing one keeps its mode.
func Write(path string, tensors map[string]*Tensor, metadata map[string]string) error {
	header, order, err := buildHeader(tensors, metadata)
	if err != nil {
		return fmt.Errorf("safetensors: writing %s: %w", path, err)
	}
	if err := atomicfile.Write(path, func(w io.Writer) error { return writeBody(w, header, order, tensors) }); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	return nil
}
