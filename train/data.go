package train

import (
	"fmt"
	"image"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/locoedit/locoedit/data/fashionmnist"
	"github.com/locoedit/locoedit/loco/imageio"
)

// FashionMNIST is the --data name of the Fashion-MNIST training split, read from fashionmnist.Dir().
const FashionMNIST = "fashion-mnist"

// Limits that keep a data set's memory bounded whatever its folder holds.
const (
	maxDatasetValues = 1 << 29 // float32 values held in memory (2 GiB)
	maxImagePixels   = 1 << 26 // pixels of one source image (64 megapixels)
)

// Dataset is a set of training images held in memory, each C·H·W float32 values in [−1, 1] at the model's
// sample size.
type Dataset struct {
	// Name says where the images came from.
	Name    string
	C, H, W int
	images  [][]float32
}

// Len is the number of images.
func (d *Dataset) Len() int { return len(d.images) }

// Image returns image i (C·H·W values; do not modify).
func (d *Dataset) Image(i int) []float32 { return d.images[i] }

// Dim is C·H·W.
func (d *Dataset) Dim() int { return d.C * d.H * d.W }

// NewDataset wraps images (each c·h·w values in [−1, 1]) as a data set, e.g. for tests or data made in memory.
func NewDataset(name string, c, h, w int, images [][]float32) (*Dataset, error) {
	if len(images) == 0 {
		return nil, fmt.Errorf("data set %s holds no images", name)
	}
	for i, img := range images {
		if len(img) != c*h*w {
			return nil, fmt.Errorf("data set %s: image %d has %d values, want %d×%d×%d", name, i, len(img), c, h, w)
		}
	}
	return &Dataset{Name: name, C: c, H: h, W: w, images: images}, nil
}

// OpenData reads the training images named by spec for a model with the given channels and sample size:
//   - "fashion-mnist": the Fashion-MNIST training split (60000 images, 28² padded to 32² with background, as
//     the embedded fashion-molrg-32 model was fitted), from $FASHION_MNIST_DIR or the Debian package's folder;
//   - a folder holding Fashion-MNIST/MNIST idx files (train-images-idx3-ubyte, optionally gzipped): that split;
//   - any other folder: every PNG and JPEG file in it and its subfolders, centre-cropped to a square and resized
//     to the sample size (colour images become greyscale by luminance for a 1-channel model).
//
// Greyscale images are repeated over the channels of a 3-channel model; images of another size are resized.
func OpenData(spec string, channels, size int) (*Dataset, error) {
	if channels != 1 && channels != 3 {
		return nil, fmt.Errorf("training data: the model has %d input channels; only 1 (greyscale) and 3 (RGB) images are supported", channels)
	}
	dir := spec
	if spec == FashionMNIST {
		dir = fashionmnist.Dir()
	}
	st, err := os.Stat(dir)
	if err != nil {
		if spec == FashionMNIST {
			return nil, fmt.Errorf("--data fashion-mnist: %w (install the Debian package dataset-fashion-mnist, or set FASHION_MNIST_DIR)", err)
		}
		return nil, fmt.Errorf("--data %q is neither %q nor a folder of images: %w", spec, FashionMNIST, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("--data %q is a file: give a folder of PNG/JPEG images, a folder of idx files, or %q", spec, FashionMNIST)
	}
	if spec == FashionMNIST || hasIdx(dir) {
		return readIdxImages(dir, channels, size)
	}
	return readFolder(dir, channels, size)
}

func hasIdx(dir string) bool {
	for _, n := range []string{"train-images-idx3-ubyte", "train-images-idx3-ubyte.gz"} {
		if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
			return true
		}
	}
	return false
}

func readIdxImages(dir string, channels, size int) (*Dataset, error) {
	if int64(60000)*int64(channels*size*size) > maxDatasetValues {
		return nil, fmt.Errorf("Fashion-MNIST at %d×%d×%d would need more than %d MiB: use a smaller sample size", channels, size, size, maxDatasetValues*4>>20)
	}
	raw, _, err := fashionmnist.Read(dir)
	if err != nil {
		return nil, err
	}
	d := &Dataset{Name: "Fashion-MNIST train (" + dir + ")", C: channels, H: size, W: size, images: raw}
	if size == fashionmnist.Size && channels == 1 {
		return d, nil
	}
	for i, img := range raw {
		src := &imageio.Image{C: 1, H: fashionmnist.Size, W: fashionmnist.Size, Pix: img}
		if d.images[i], err = fit(src, channels, size); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// fit resizes img to size×size and repeats a grey channel over channels.
func fit(img *imageio.Image, channels, size int) ([]float32, error) {
	if img.H != size || img.W != size {
		var err error
		if img, err = imageio.Resize(img, size, size); err != nil {
			return nil, err
		}
	}
	if img.C == channels {
		return img.Pix, nil
	}
	out := make([]float32, 0, channels*size*size)
	for range channels {
		out = append(out, img.Pix...)
	}
	return out, nil
}

func imageFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch strings.ToLower(filepath.Ext(path)) {
		case ".png", ".jpg", ".jpeg":
			if !e.IsDir() {
				files = append(files, path)
			}
		}
		return nil
	})
	slices.Sort(files)
	return files, err
}

func readFolder(dir string, channels, size int) (*Dataset, error) {
	files, err := imageFiles(dir)
	if err != nil {
		return nil, fmt.Errorf("listing training images: %w", err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("--data %s holds no PNG or JPEG images (also looked in subfolders)", dir)
	}
	if int64(len(files))*int64(channels*size*size) > maxDatasetValues {
		return nil, fmt.Errorf("--data %s: %d images of %d×%d×%d need more than %d MiB in memory: use fewer images or a smaller sample size",
			dir, len(files), channels, size, size, maxDatasetValues*4>>20)
	}
	d := &Dataset{Name: fmt.Sprintf("%d images from %s", len(files), dir), C: channels, H: size, W: size}
	for _, f := range files {
		if err := checkImageSize(f); err != nil {
			return nil, err
		}
		img, err := imageio.LoadImage(f, channels, size, size, imageio.Convert, imageio.CenterCrop)
		if err != nil {
			return nil, fmt.Errorf("training image %s: %w", f, err)
		}
		d.images = append(d.images, img.Pix)
	}
	return d, nil
}

// checkImageSize refuses images whose header declares more pixels than maxImagePixels, before decoding them.
func checkImageSize(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	cfg, _, err := image.DecodeConfig(f)
	if err != nil {
		return fmt.Errorf("training image %s: %w", path, err)
	}
	if int64(cfg.Width)*int64(cfg.Height) > maxImagePixels {
		return fmt.Errorf("training image %s is %d×%d: larger than %d megapixels, shrink it first", path, cfg.Width, cfg.Height, maxImagePixels>>20)
	}
	return nil
}

// sampler hands out the images of each epoch in a fresh random order (a permutation drawn from the seed and the
// epoch number), so batch s is a function of (seed, s) alone and a resumed run sees the same data.
type sampler struct {
	n     int
	seed  uint64
	epoch int
	perm  []int
}

func newSampler(n int, seed uint64) *sampler { return &sampler{n: n, seed: seed, epoch: -1} }

// index returns the data index of the k-th image drawn since the start of training.
func (s *sampler) index(k int64) int {
	e := int(k / int64(s.n))
	if e != s.epoch {
		s.perm = rand.New(rand.NewPCG(s.seed, 0xe9c4<<32|uint64(e))).Perm(s.n)
		s.epoch = e
	}
	return s.perm[k%int64(s.n)]
}
