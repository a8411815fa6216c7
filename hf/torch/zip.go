package torch

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"strings"
)

// readZip reads FOLDER/data.pkl (FOLDER is any name: torch names it after the file or "archive") and locates
// FOLDER/data/KEY for every storage the pickle names. Storages must be stored uncompressed, as torch.save
// writes them, so their bytes are read in place.
func (c *File) readZip() (any, error) {
	zr, err := zip.NewReader(c.r, c.size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return nil, fmt.Errorf("reading the zip archive: %w", err)
	}
	var pkl *zip.File
	entries := map[string]*zip.File{}
	for _, f := range zr.File {
		entries[f.Name] = f
		if f.Name == "data.pkl" || (strings.HasSuffix(f.Name, "/data.pkl") && strings.Count(f.Name, "/") == 1) {
			if pkl != nil {
				return nil, fmt.Errorf("the archive holds two pickles, %s and %s", pkl.Name, f.Name)
			}
			pkl = f
		}
	}
	if pkl == nil {
		return nil, errors.New("the zip archive has no data.pkl: not a torch.save checkpoint")
	}
	prefix := strings.TrimSuffix(pkl.Name, "data.pkl")
	if bo, ok := entries[prefix+"byteorder"]; ok {
		b, err := c.readEntry(bo, 16)
		if err != nil {
			return nil, err
		}
		if s := strings.TrimSpace(string(b)); s != "little" {
			return nil, fmt.Errorf("byte order %q: only little-endian checkpoints are supported", s)
		}
	}
	off, n, err := c.storedEntry(pkl)
	if err != nil {
		return nil, err
	}
	byKey := map[string]*storage{}
	obj, err := newCheckpointUnpickler(io.NewSectionReader(c.r, off, n), n, byKey).load()
	if err != nil {
		return nil, err
	}
	for key, s := range byKey {
		f, ok := entries[prefix+"data/"+key]
		if !ok {
			return nil, fmt.Errorf("storage %q has no record %sdata/%s", key, prefix, key)
		}
		off, n, err := c.storedEntry(f)
		if err != nil {
			return nil, err
		}
		if err := locate(s, off, n); err != nil {
			return nil, err
		}
	}
	return obj, nil
}

// storedEntry returns where an uncompressed entry's bytes lie in the file, checked against the file size.
func (c *File) storedEntry(f *zip.File) (offset, n int64, err error) {
	if f.Method != zip.Store {
		return 0, 0, fmt.Errorf("record %s is compressed (method %d): torch.save writes uncompressed archives; re-save the checkpoint with torch.save", f.Name, f.Method)
	}
	off, err := f.DataOffset()
	if err != nil {
		return 0, 0, fmt.Errorf("record %s: %w", f.Name, err)
	}
	n = int64(f.CompressedSize64)
	if f.CompressedSize64 != f.UncompressedSize64 || off < 0 || n < 0 || off > c.size || n > c.size-off {
		return 0, 0, fmt.Errorf("record %s declares %d bytes at offset %d, beyond the file's %d bytes", f.Name, f.UncompressedSize64, off, c.size)
	}
	return off, n, nil
}

// readEntry reads a small entry whole, refusing one over limit bytes.
func (c *File) readEntry(f *zip.File, limit int64) ([]byte, error) {
	off, n, err := c.storedEntry(f)
	if err != nil {
		return nil, err
	}
	if n > limit {
		return nil, fmt.Errorf("record %s has %d bytes, more than the %d this reader accepts", f.Name, n, limit)
	}
	b := make([]byte, n)
	if _, err := c.r.ReadAt(b, off); err != nil && !(errors.Is(err, io.EOF) && n == 0) {
		return nil, fmt.Errorf("reading record %s: %w", f.Name, err)
	}
	return b, nil
}
