// Package fashionmnist reads the Fashion-MNIST data set (Zalando SE, MIT licence) from its idx files, as the
// Debian package dataset-fashion-mnist installs them, into 32×32 images in [−1, 1].
package fashionmnist

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// DefaultDir is where the Debian package dataset-fashion-mnist installs the idx files.
const DefaultDir = "/usr/share/datasets/fashion-mnist"

// ClassNames are the ten Fashion-MNIST labels, in label order.
var ClassNames = []string{
	"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
}

// MaxImages bounds the number of images of a split the reader accepts (Fashion-MNIST's train split has 60000):
// the decoded images take 4 kB each.
const MaxImages = 100_000

// maxIdxBytes bounds the data of an idx file; up to exactReadBytes (Fashion-MNIST's 47 MB train images) the
// data is read into one buffer of the declared size, beyond it into a buffer that grows with the file.
const (
	maxIdxBytes    = 1 << 30
	exactReadBytes = 64 << 20
)

// Size is the side of a padded Fashion-MNIST image (28 + 2·Pad).
const (
	Pad  = 2
	Size = 28 + 2*Pad
)

// Read reads the Fashion-MNIST training split (60000 images) from dir; see ReadSplit.
func Read(dir string) (images [][]float32, labels []int, err error) {
	return ReadSplit(dir, "train")
}

// ReadSplit reads split "train" or "t10k" (test) of Fashion-MNIST from dir, which holds the idx files
// (<split>-images-idx3-ubyte and <split>-labels-idx1-ubyte, optionally gzipped, as the Debian package
// dataset-fashion-mnist installs them in DefaultDir). Each image is returned as 32×32 float32 values
// in [−1, 1] (pixel/127.5 − 1), row-major, the 28×28 original padded by 2 pixels of background (−1).
func ReadSplit(dir, split string) (images [][]float32, labels []int, err error) {
	if split != "train" && split != "t10k" {
		return nil, nil, fmt.Errorf("Fashion-MNIST split %q: use \"train\" or \"t10k\"", split)
	}
	imgData, err := readIdx(dir, split+"-images-idx3-ubyte", 0x00000803, func(dims []int) error {
		if dims[1] != 28 || dims[2] != 28 || dims[0] > MaxImages {
			return fmt.Errorf("Fashion-MNIST %s images have dimensions %v, want [n 28 28] with n ≤ %d", split, dims, MaxImages)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	n := imgData.dims[0]
	lblData, err := readIdx(dir, split+"-labels-idx1-ubyte", 0x00000801, func(dims []int) error {
		if dims[0] != n {
			return fmt.Errorf("Fashion-MNIST %s: %d images but labels have dimensions %v", split, n, dims)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	images = make([][]float32, n)
	labels = make([]int, n)
	for i := range n {
		img := make([]float32, Size*Size)
		for j := range img {
			img[j] = -1
		}
		src := imgData.data[i*784 : (i+1)*784]
		for y := range 28 {
			for x := range 28 {
				img[(y+Pad)*Size+x+Pad] = float32(src[y*28+x])/127.5 - 1
			}
		}
		images[i] = img
		labels[i] = int(lblData.data[i])
		if labels[i] >= len(ClassNames) {
			return nil, nil, fmt.Errorf("Fashion-MNIST %s: label %d of image %d is out of range [0, 10)", split, labels[i], i)
		}
	}
	return images, labels, nil
}

type idxFile struct {
	dims []int
	data []byte
}

// readIdx reads dir/name or dir/name.gz, an idx file of unsigned bytes with the given magic number whose
// dimensions check accepts.
func readIdx(dir, name string, magic uint32, check func(dims []int) error) (*idxFile, error) {
	path := filepath.Join(dir, name)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		path += ".gz"
		f, err = os.Open(path)
	}
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("Fashion-MNIST file %s(.gz) not found in %s: install the Debian package dataset-fashion-mnist "+
				"(apt-get install dataset-fashion-mnist, files in %s) or set FASHION_MNIST_DIR to the folder holding the idx files", name, dir, DefaultDir)
		}
		return nil, fmt.Errorf("reading Fashion-MNIST: %w", err)
	}
	defer f.Close()
	var r io.Reader = bufio.NewReaderSize(f, 1<<20)
	if filepath.Ext(path) == ".gz" {
		gz, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", path, err)
		}
		defer gz.Close()
		r = gz
	}
	out, err := parseIdx(r, magic, check)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return out, nil
}

// parseIdx reads an idx file of unsigned bytes with the given magic number from r. The dimensions are checked
// (by check, and against maxIdxBytes) before any data is read, and the data buffer grows with what r actually
// holds, so a header declaring more than the file has costs nothing.
func parseIdx(r io.Reader, magic uint32, check func(dims []int) error) (*idxFile, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	if got := binary.BigEndian.Uint32(hdr[:]); got != magic {
		return nil, fmt.Errorf("magic number %#08x, want %#08x (not an idx file of bytes with %d dimensions)", got, magic, magic&0xff)
	}
	nd := int(magic & 0xff)
	out := &idxFile{dims: make([]int, nd)}
	size := int64(1)
	for i := range nd {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return nil, err
		}
		out.dims[i] = int(binary.BigEndian.Uint32(hdr[:]))
		if size *= int64(out.dims[i]); size > maxIdxBytes {
			return nil, fmt.Errorf("dimensions %v are implausibly large (more than %d bytes)", out.dims[:i+1], int64(maxIdxBytes))
		}
	}
	if check != nil {
		if err := check(out.dims); err != nil {
			return nil, err
		}
	}
	var data []byte
	var err error
	if size <= exactReadBytes {
		data = make([]byte, size)
		var n int
		n, err = io.ReadFull(r, data)
		data = data[:n]
	} else {
		data, err = io.ReadAll(io.LimitReader(r, size))
	}
	if int64(len(data)) != size {
		return nil, fmt.Errorf("dimensions %v need %d bytes of data, the file has %d", out.dims, size, len(data))
	}
	if err != nil {
		return nil, err
	}
	out.data = data
	return out, nil
}

// Dir is the folder to read Fashion-MNIST from: $FASHION_MNIST_DIR when set, else DefaultDir.
func Dir() string {
	if d := os.Getenv("FASHION_MNIST_DIR"); d != "" {
		return d
	}
	return DefaultDir
}
