package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
)

// MaxHeaderSize is the largest JSON header accepted (100 MB, as in the reference implementation).
const MaxHeaderSize = 100_000_000

// metadataKey is the reserved header key holding the file's string→string metadata.
const metadataKey = "__metadata__"

// entry is a validated header entry whose data points into the file buffer.
type entry struct {
	dtype DType
	shape []int
	data  []byte
}

// headerInfo is one tensor's record in the JSON header. Pointers tell missing fields apart.
type headerInfo struct {
	DType       *string  `json:"dtype"`
	Shape       *[]int   `json:"shape"`
	DataOffsets *[]int64 `json:"data_offsets"`
}

// parse decodes and validates a whole safetensors file held in data.
func parse(data []byte) (map[string]entry, map[string]string, error) {
	if len(data) < 8 {
		return nil, nil, fmt.Errorf("file is %d bytes, too short for the 8-byte header length", len(data))
	}
	n := binary.LittleEndian.Uint64(data)
	if n > MaxHeaderSize {
		return nil, nil, fmt.Errorf("header length %d exceeds the %d-byte limit (corrupt file or not safetensors)", n, MaxHeaderSize)
	}
	if n > uint64(len(data)-8) {
		return nil, nil, fmt.Errorf("header length %d exceeds the file size (%d bytes after the length): truncated or not a safetensors file", n, len(data)-8)
	}
	header := data[8 : 8+n]
	buf := data[8+n:]
	entries, meta, err := parseHeader(header, len(buf))
	if err != nil {
		return nil, nil, err
	}
	ents := make(map[string]entry, len(entries))
	for name, e := range entries {
		ents[name] = entry{dtype: e.dtype, shape: e.shape, data: buf[e.begin:e.end:e.end]}
	}
	return ents, meta, nil
}

// rawEntry is a validated header entry with offsets into the byte buffer.
type rawEntry struct {
	dtype      DType
	shape      []int
	begin, end int
}

// parseHeader decodes the JSON header and validates every entry against a byte
// buffer of bufLen bytes: dtypes, shapes, offsets, sizes and overlaps.
func parseHeader(header []byte, bufLen int) (map[string]rawEntry, map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(header))
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, fmt.Errorf("header is not valid JSON: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, nil, fmt.Errorf("header is not a JSON object (starts with %v)", tok)
	}
	entries := map[string]rawEntry{}
	var meta map[string]string
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, fmt.Errorf("header is not valid JSON: %w", err)
		}
		name, ok := tok.(string)
		if !ok {
			return nil, nil, fmt.Errorf("header is not valid JSON: unexpected %v", tok)
		}
		if seen[name] {
			return nil, nil, fmt.Errorf("header lists %q twice", name)
		}
		seen[name] = true
		if name == metadataKey {
			if err := dec.Decode(&meta); err != nil {
				return nil, nil, fmt.Errorf("header %s must map strings to strings: %w", metadataKey, err)
			}
			continue
		}
		var info headerInfo
		if err := dec.Decode(&info); err != nil {
			return nil, nil, fmt.Errorf("header entry of tensor %q is invalid: %w", name, err)
		}
		e, err := checkInfo(info, bufLen)
		if err != nil {
			return nil, nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		entries[name] = e
	}
	if _, err := dec.Token(); err != nil { // The closing '}'.
		return nil, nil, fmt.Errorf("header is not valid JSON: %w", err)
	}
	if tok, err := dec.Token(); err != io.EOF {
		if err != nil {
			return nil, nil, fmt.Errorf("unexpected data after the header's JSON object: %w", err)
		}
		return nil, nil, fmt.Errorf("unexpected data after the header's JSON object: %v", tok)
	}
	if err := checkOverlaps(entries); err != nil {
		return nil, nil, err
	}
	return entries, meta, nil
}

// checkInfo validates one header record against a buffer of bufLen bytes.
func checkInfo(info headerInfo, bufLen int) (rawEntry, error) {
	switch {
	case info.DType == nil:
		return rawEntry{}, fmt.Errorf("missing dtype")
	case info.Shape == nil:
		return rawEntry{}, fmt.Errorf("missing shape")
	case info.DataOffsets == nil:
		return rawEntry{}, fmt.Errorf("missing data_offsets")
	}
	dt := DType(*info.DType)
	if !dt.Valid() {
		return rawEntry{}, fmt.Errorf("unknown dtype %q (supported: %s)", dt, knownDTypes)
	}
	shape := *info.Shape
	if shape == nil {
		shape = []int{}
	}
	numel, err := numElements(shape)
	if err != nil {
		return rawEntry{}, err
	}
	offs := *info.DataOffsets
	if len(offs) != 2 {
		return rawEntry{}, fmt.Errorf("data_offsets must be [begin, end], got %d numbers", len(offs))
	}
	begin, end := offs[0], offs[1]
	if begin < 0 || end < begin {
		return rawEntry{}, fmt.Errorf("invalid data_offsets [%d, %d]", begin, end)
	}
	if end > int64(bufLen) {
		return rawEntry{}, fmt.Errorf("data_offsets [%d, %d] run past the end of the data (%d bytes): truncated file?", begin, end, bufLen)
	}
	if numel > math.MaxInt/dt.Size() || int64(numel*dt.Size()) != end-begin {
		return rawEntry{}, fmt.Errorf("data_offsets [%d, %d] hold %d bytes, but a %s tensor of shape %v needs %d×%d",
			begin, end, end-begin, dt, shape, numel, dt.Size())
	}
	return rawEntry{dtype: dt, shape: shape, begin: int(begin), end: int(end)}, nil
}

// checkOverlaps reports two tensors whose byte ranges intersect. Empty tensors never overlap.
func checkOverlaps(entries map[string]rawEntry) error {
	type span struct {
		name       string
		begin, end int
	}
	spans := make([]span, 0, len(entries))
	for name, e := range entries {
		if e.end > e.begin {
			spans = append(spans, span{name, e.begin, e.end})
		}
	}
	sort.Slice(spans, func(i, j int) bool {
		if spans[i].begin != spans[j].begin {
			return spans[i].begin < spans[j].begin
		}
		return spans[i].name < spans[j].name
	})
	for i := 1; i < len(spans); i++ {
		a, b := spans[i-1], spans[i]
		if b.begin < a.end {
			return fmt.Errorf("tensors %q [%d, %d] and %q [%d, %d] overlap", a.name, a.begin, a.end, b.name, b.begin, b.end)
		}
	}
	return nil
}
