package torch

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// legacyMagic is the legacy format's magic number 0x1950a86a20f9469cfc6c as LONG1 bytes (little-endian).
var legacyMagic = bigInt{0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19}

// legacyProtocol is the only legacy protocol version torch ever wrote.
const legacyProtocol = 1001

// readLegacy reads the five pickles of the legacy format (magic number, protocol version, system info, the
// object, the storage keys), then locates each storage: an 8-byte element count followed by its bytes, in the
// order of the keys.
func (c *File) readLegacy() (any, error) {
	byKey := map[string]*storage{}
	u := newCheckpointUnpickler(io.NewSectionReader(c.r, 0, c.size), c.size, byKey)
	magic, err := u.load()
	if err != nil {
		return nil, err
	}
	if m, ok := magic.(bigInt); !ok || !bytes.Equal(m, legacyMagic) {
		return nil, fmt.Errorf("the first pickle is %s, not the magic number of torch.save's legacy format", describe(magic))
	}
	proto, err := u.load()
	if err != nil {
		return nil, err
	}
	if p, ok := proto.(int64); !ok || p != legacyProtocol {
		return nil, fmt.Errorf("legacy protocol version %s is not supported (want %d)", describe(proto), legacyProtocol)
	}
	info, err := u.load()
	if err != nil {
		return nil, err
	}
	if d, ok := info.(*dict); ok {
		if i, ok := d.index["little_endian"]; ok && d.values[i] != true {
			return nil, errors.New("the checkpoint was written on a big-endian machine: not supported")
		}
	}
	obj, err := u.load()
	if err != nil {
		return nil, err
	}
	keysObj, err := u.load()
	if err != nil {
		return nil, err
	}
	keys, ok := keysObj.(*list)
	if !ok {
		return nil, fmt.Errorf("the storage key list is %s", describe(keysObj))
	}
	off := u.pos
	for _, k := range keys.items {
		key, _ := k.(string)
		s, ok := byKey[key]
		if !ok {
			return nil, fmt.Errorf("storage key %s is not used by any tensor", describe(k))
		}
		if s.offset >= 0 {
			return nil, fmt.Errorf("storage %q is listed twice", key)
		}
		var hdr [8]byte
		if off > c.size-8 {
			return nil, fmt.Errorf("storage %q: the file ends at byte %d, before its data", key, c.size)
		}
		if _, err := c.r.ReadAt(hdr[:], off); err != nil {
			return nil, fmt.Errorf("storage %q: %w", key, err)
		}
		numel := int64(binary.LittleEndian.Uint64(hdr[:]))
		if numel != s.numel {
			return nil, fmt.Errorf("storage %q holds %d elements, the pickle says %d", key, numel, s.numel)
		}
		off += 8
		if err := locate(s, off, c.size-off); err != nil {
			return nil, err
		}
		off += numel * int64(s.dtype.Size())
	}
	for key, s := range byKey {
		if s.offset < 0 {
			return nil, fmt.Errorf("storage %q has no data in the file", key)
		}
	}
	return obj, nil
}
