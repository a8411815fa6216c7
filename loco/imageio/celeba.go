package imageio

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// CelebAMaskHQClasses are the CelebAMask-HQ semantic classes in the dataset authors' index order (label
// value i in a label map means class CelebAMaskHQClasses[i]; the LOCO-Edit loader uses the same order).
var CelebAMaskHQClasses = []string{
	"background", "skin", "nose", "eye_g", "l_eye", "r_eye", "l_brow", "r_brow", "l_ear", "r_ear",
	"mouth", "u_lip", "l_lip", "hair", "hat", "ear_r", "neck_l", "neck", "cloth",
}

// LabelMap is a segmentation as one class index per pixel.
type LabelMap struct {
	// H, W are the height and width.
	H, W int
	// Labels holds H·W class indices, row-major.
	Labels []uint8
	// Classes names the indices; nil means CelebAMaskHQClasses.
	Classes []string
}

// LabelMapFromImage reads the class indices of a label picture: the palette index of a palette image, the
// grey value of a greyscale image (a colour image whose pixels are all grey is accepted as greyscale).
func LabelMapFromImage(src image.Image) (*LabelMap, error) {
	if src == nil {
		return nil, fmt.Errorf("imageio: nil label image")
	}
	b := src.Bounds()
	h, w := b.Dy(), b.Dx()
	if err := checkSize(1, h, w); err != nil {
		return nil, fmt.Errorf("imageio: label map: %w", err)
	}
	lm := &LabelMap{H: h, W: w, Labels: make([]uint8, h*w)}
	if p, ok := src.(*image.Paletted); ok {
		for y := 0; y < h; y++ {
			copy(lm.Labels[y*w:(y+1)*w], p.Pix[y*p.Stride:])
		}
		return lm, nil
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.NRGBA64Model.Convert(src.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA64)
			if c.R != c.G || c.G != c.B {
				return nil, fmt.Errorf("imageio: label map pixel (%d, %d) is coloured: a label map must be a "+
					"greyscale or palette picture whose values are class indices", x, y)
			}
			v := c.R
			if _, deep := src.(*image.Gray16); deep {
				if v > 255 {
					return nil, fmt.Errorf("imageio: label map pixel (%d, %d) holds %d: class indices must be 0…255", x, y, v)
				}
				lm.Labels[y*w+x] = uint8(v)
				continue
			}
			lm.Labels[y*w+x] = uint8(v >> 8)
		}
	}
	return lm, nil
}

// ReadLabelMap reads a label PNG (see LabelMapFromImage); its classes are CelebAMaskHQClasses.
func ReadLabelMap(path string) (*LabelMap, error) {
	src, err := decodeFile(path)
	if err != nil {
		return nil, err
	}
	lm, err := LabelMapFromImage(src)
	if err != nil {
		return nil, fmt.Errorf("reading label map %s: %w", path, err)
	}
	return lm, nil
}

// ClassIndices returns the indices of names in classes, or an error naming the valid classes.
func ClassIndices(classes []string, names ...string) ([]int, error) {
	if len(names) == 0 {
		return nil, fmt.Errorf("imageio: no class chosen: name at least one of %s", strings.Join(classes, ", "))
	}
	idx := make([]int, len(names))
	for k, name := range names {
		idx[k] = -1
		for i, c := range classes {
			if c == name {
				idx[k] = i
				break
			}
		}
		if idx[k] < 0 {
			return nil, fmt.Errorf("imageio: unknown class %q: valid classes are %s", name, strings.Join(classes, ", "))
		}
	}
	return idx, nil
}

// MaskFromLabelMap returns the 1×h×w mask of the pixels whose label is one of classNames (names from
// lm.Classes, or CelebAMaskHQClasses when that is nil), resized by nearest neighbour (Mask.Resize) when the
// label map has another size; h = w = 0 keeps its size. The label map must have the aspect ratio of h×w: one
// drawn on a photo of another shape goes through the photo's Framing (Framing.LabelMask).
func MaskFromLabelMap(lm *LabelMap, h, w int, classNames ...string) (*Mask, error) {
	if lm == nil {
		return nil, fmt.Errorf("imageio: nil label map")
	}
	if err := checkSize(1, lm.H, lm.W); err != nil {
		return nil, fmt.Errorf("imageio: label map: %w", err)
	}
	if len(lm.Labels) != lm.H*lm.W {
		return nil, fmt.Errorf("imageio: label map is %d×%d but holds %d labels", lm.H, lm.W, len(lm.Labels))
	}
	classes := lm.Classes
	if classes == nil {
		classes = CelebAMaskHQClasses
	}
	idx, err := ClassIndices(classes, classNames...)
	if err != nil {
		return nil, err
	}
	var chosen [256]bool
	for _, i := range idx {
		if i < 256 {
			chosen[i] = true
		}
	}
	m := &Mask{C: 1, H: lm.H, W: lm.W, In: make([]bool, len(lm.Labels))}
	for i, l := range lm.Labels {
		m.In[i] = chosen[l]
	}
	if f := modelFraming(h, w); f != nil {
		return f.Mask(m)
	}
	return m, nil
}

// CelebAMaskHQ reads the per-class annotation PNGs of CelebAMask-HQ as the dataset ships them:
// CelebAMask-HQ-mask-anno/<idx/2000>/<idx:05d>_<class>.png (512×512, white on black, 15 folders of 2000).
type CelebAMaskHQ struct {
	// Dir is the dataset root (the folder holding CelebAMask-HQ-mask-anno and CelebA-HQ-img) or the
	// CelebAMask-HQ-mask-anno folder itself.
	Dir string
	// Resampling says how the 512² pictures are brought to the model's size (default MaskNearest;
	// MaskPILBicubicNonzero reproduces the LOCO-Edit loader's slightly dilated masks).
	Resampling MaskResampling
}

// annoDir returns the annotation folder.
func (d CelebAMaskHQ) annoDir() string {
	sub := filepath.Join(d.Dir, "CelebAMask-HQ-mask-anno")
	if st, err := os.Stat(sub); err == nil && st.IsDir() {
		return sub
	}
	return d.Dir
}

// AnnotationPath returns the path of the annotation PNG of image idx for class.
func (d CelebAMaskHQ) AnnotationPath(idx int, class string) string {
	return filepath.Join(d.annoDir(), fmt.Sprint(idx/2000), fmt.Sprintf("%05d_%s.png", idx, class))
}

// ImagePath returns the path of CelebA-HQ image idx (<Dir>/CelebA-HQ-img/<idx>.jpg, 1024×1024).
func (d CelebAMaskHQ) ImagePath(idx int) string {
	return filepath.Join(d.Dir, "CelebA-HQ-img", fmt.Sprintf("%d.jpg", idx))
}

// Classes lists the classes annotated for image idx (the files present), in CelebAMaskHQClasses order.
func (d CelebAMaskHQ) Classes(idx int) ([]string, error) {
	folder := filepath.Join(d.annoDir(), fmt.Sprint(idx/2000))
	entries, err := os.ReadDir(folder)
	if err != nil {
		return nil, fmt.Errorf("imageio: listing CelebAMask-HQ annotations: %w", err)
	}
	prefix := fmt.Sprintf("%05d_", idx)
	have := map[string]bool{}
	for _, e := range entries {
		if n := e.Name(); strings.HasPrefix(n, prefix) && strings.HasSuffix(n, ".png") {
			have[strings.TrimSuffix(strings.TrimPrefix(n, prefix), ".png")] = true
		}
	}
	var out []string
	for _, c := range CelebAMaskHQClasses {
		if have[c] {
			out = append(out, c)
			delete(have, c)
		}
	}
	var extra []string
	for c := range have {
		extra = append(extra, c)
	}
	sort.Strings(extra)
	return append(out, extra...), nil
}

// Mask returns the 1×h×w union of the chosen classes' regions for image idx. A class without an annotation
// file (for example a hidden eye) adds nothing; it is an error when none of the chosen classes has one.
func (d CelebAMaskHQ) Mask(idx, h, w int, classNames ...string) (*Mask, error) {
	if idx < 0 || idx >= 30000 {
		return nil, fmt.Errorf("imageio: CelebAMask-HQ image index %d: must be in 0…29999", idx)
	}
	if _, err := ClassIndices(CelebAMaskHQClasses, classNames...); err != nil {
		return nil, err
	}
	var union *Mask
	var missing []string
	for _, class := range classNames {
		path := d.AnnotationPath(idx, class)
		m, err := ReadMask(path, h, w, d.Resampling)
		if errors.Is(err, fs.ErrNotExist) {
			missing = append(missing, path)
			continue
		}
		if err != nil {
			return nil, err
		}
		if union == nil {
			union = m
			continue
		}
		if union, err = union.Union(m); err != nil {
			return nil, fmt.Errorf("imageio: CelebAMask-HQ image %d: %w", idx, err)
		}
	}
	if union == nil {
		have, err := d.Classes(idx)
		if err != nil {
			return nil, fmt.Errorf("imageio: no CelebAMask-HQ annotation found at %s: %w",
				strings.Join(missing, ", "), err)
		}
		return nil, fmt.Errorf("imageio: image %d has no annotation for %s (looked for %s); its annotated classes are: %s",
			idx, strings.Join(classNames, ", "), strings.Join(missing, ", "), strings.Join(have, ", "))
	}
	return union, nil
}

// MaskFromCelebAMaskHQDir is CelebAMaskHQ{Dir: dir}.Mask(idx, h, w, classNames...): the nearest-neighbour
// resized union of the chosen classes' annotation PNGs of image idx.
func MaskFromCelebAMaskHQDir(dir string, idx, h, w int, classNames ...string) (*Mask, error) {
	return CelebAMaskHQ{Dir: dir}.Mask(idx, h, w, classNames...)
}
