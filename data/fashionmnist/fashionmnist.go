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
	imgData, err := readIdx(dir, split+"-images-idx3-ubyte", 0x00000803)
	if err != nil {
		return nil, nil, err
	}
	lblData, err := readIdx(dir, split+"-labels-idx1-ubyte", 0x00000801)
	if err != nil {
		return nil, nil, err
	}
	if len(imgData.dims) != 3 || imgData.dims[1] != 28 || imgData.dims[2] != 28 {
		return nil, nil, fmt.Errorf("Fashion-MNIST %s images have dimensions %v, want [n 28 28]", split, imgData.dims)
	}
	n := imgData.dims[0]
	if len(lblData.dims) != 1 || lblData.dims[0] != n {
		return nil, nil, fmt.Errorf("Fashion-MNIST %s: %d images but labels have dimensions %v", split, n, lblData.dims)
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

// readIdx reads dir/name or dir/name.gz, an idx file of unsigned bytes with the given magic number.
func readIdx(dir, name string, magic uint32) (*idxFile, error) {
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
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if got := binary.BigEndian.Uint32(hdr[:]); got != magic {
		return nil, fmt.Errorf("reading %s: magic number %#08x, want %#08x (not an idx file of bytes with %d dimensions)", path, got, magic, magic&0xff)
	}
	nd := int(magic & 0xff)
	out := &idxFile{dims: make([]int, nd)}
	size := 1
	for i := range nd {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return nil, fmt.Errorf("reading %s: %w", path, err)
		}
		out.dims[i] = int(binary.BigEndian.Uint32(hdr[:]))
		size *= out.dims[i]
	}
	if size > 1<<30 {
		return nil, fmt.Errorf("reading %s: dimensions %v are implausibly large", path, out.dims)
	}
	out.data = make([]byte, size)
	if _, err := io.ReadFull(r, out.data); err != nil {
		return nil, fmt.Errorf("reading %s: %d bytes of data expected: %w", path, size, err)
	}
	return out, nil
}

// Dir is the folder to read Fashion-MNIST from: $FASHION_MNIST_DIR when set, else DefaultDir.
func Dir() string {
	if d := os.Getenv("FASHION_MNIST_DIR"); d != "" {
		return d
	}
	return DefaultDir
}
