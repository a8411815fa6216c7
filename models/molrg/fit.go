package molrg

import (
	"fmt"
	"math"
	"runtime"
	"sync"

	"gonum.org/v1/gonum/mat"

	"github.com/locoedit/locoedit/data/fashionmnist"
)

// FitOptions configures Fit. The zero value fits square single-channel images with one component per label.
type FitOptions struct {
	// Channels, Height and Width give the sample shape [C, H, W]; all zero means [1, s, s] with s² = d.
	Channels, Height, Width int
	// NumClasses is the number of components K; 0 means 1 + the largest label.
	NumClasses int
	// ClassNames names the classes (optional, K entries).
	ClassNames []string
	// Dataset describes the data, recorded in config.json.
	Dataset string
	// Workers is the number of classes fitted in parallel; 0 means GOMAXPROCS.
	Workers int
}

// Fit fits one low-rank Gaussian per class by probabilistic PCA (maximum likelihood): for class k with n_k images,
// μ_k is the class mean, the covariance S_k = (1/n_k) Σ (x−μ_k)(x−μ_k)ᵀ is eigendecomposed (gonum, float64),
// U_k holds its top-rank eigenvectors, σ_k² is the mean of the remaining d − rank eigenvalues and
// λ_{k,i} = e_{k,i} − σ_k² (so the model's variance along u_i is the PCA variance e_i). The prior π_k is the class
// frequency. images are flat float32 vectors of length d = C·H·W (e.g. from ReadFashionMNIST), labels in [0, K).
func Fit(images [][]float32, labels []int, rank int, opts FitOptions) (*Params, error) {
	if len(images) == 0 || len(images) != len(labels) {
		return nil, fmt.Errorf("MoLRG fit: %d images and %d labels: need the same positive number of each", len(images), len(labels))
	}
	d := len(images[0])
	c, h, w := opts.Channels, opts.Height, opts.Width
	if c == 0 && h == 0 && w == 0 {
		s := int(math.Round(math.Sqrt(float64(d))))
		c, h, w = 1, s, s
	}
	if c*h*w != d || c < 1 {
		return nil, fmt.Errorf("MoLRG fit: images have %d values, which is not C·H·W = %d·%d·%d: set FitOptions.Channels, Height and Width", d, c, h, w)
	}
	if rank < 1 || rank >= d {
		return nil, fmt.Errorf("MoLRG fit: rank %d must lie in [1, d = %d)", rank, d)
	}
	k := opts.NumClasses
	for i, l := range labels {
		if l < 0 || (opts.NumClasses > 0 && l >= opts.NumClasses) {
			return nil, fmt.Errorf("MoLRG fit: label %d of image %d is out of range", l, i)
		}
		if opts.NumClasses == 0 {
			k = max(k, l+1)
		}
		if len(images[i]) != d {
			return nil, fmt.Errorf("MoLRG fit: image %d has %d values, image 0 has %d", i, len(images[i]), d)
		}
	}
	if len(opts.ClassNames) > 0 && len(opts.ClassNames) != k {
		return nil, fmt.Errorf("MoLRG fit: %d class names for %d classes", len(opts.ClassNames), k)
	}
	byClass := make([][]int, k)
	for i, l := range labels {
		byClass[l] = append(byClass[l], i)
	}
	for j, idx := range byClass {
		if len(idx) < 2 {
			return nil, fmt.Errorf("MoLRG fit: class %d has %d images: each class needs at least 2", j, len(idx))
		}
	}

	cfg := defaultConfig(c, h, w, k, rank)
	cfg.ClassNames = append([]string(nil), opts.ClassNames...)
	cfg.Dataset = opts.Dataset
	cfg.Fit = fmt.Sprintf("probabilistic PCA per class (maximum likelihood, covariance normalised by n): top-%d eigenvectors, "+
		"residual variance = mean of the other %d eigenvalues, variances = eigenvalue - residual variance, priors = class frequencies", rank, d-rank)
	p := &Params{
		Config: cfg, Means: make([][]float32, k), Bases: make([][]float32, k), Variances: make([][]float32, k),
		ResidualVariances: make([]float32, k), Priors: make([]float32, k),
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	jobs := make(chan int)
	errs := make([]error, k)
	var wg sync.WaitGroup
	for range min(workers, k) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				errs[j] = fitClass(p, j, images, byClass[j], rank)
			}
		}()
	}
	for j := range k {
		jobs <- j
	}
	close(jobs)
	wg.Wait()
	for j, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("MoLRG fit: class %d: %w", j, err)
		}
	}
	for j, idx := range byClass {
		p.Priors[j] = float32(float64(len(idx)) / float64(len(images)))
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("MoLRG fit: %w", err)
	}
	return p, nil
}

// fitClass computes the parameters of class j from the images idx.
func fitClass(p *Params, j int, images [][]float32, idx []int, rank int) error {
	n, d := len(idx), len(images[idx[0]])
	mean := make([]float64, d)
	for _, i := range idx {
		for l, v := range images[i] {
			mean[l] += float64(v)
		}
	}
	for l := range mean {
		mean[l] /= float64(n)
	}
	x := mat.NewDense(n, d, nil)
	for a, i := range idx {
		row := x.RawRowView(a)
		for l, v := range images[i] {
			row[l] = float64(v) - mean[l]
		}
	}
	cov := mat.NewSymDense(d, nil)
	cov.SymRankK(cov, 1/float64(n), x.T())
	var eig mat.EigenSym
	if !eig.Factorize(cov, true) {
		return fmt.Errorf("the eigendecomposition of the %d×%d covariance did not converge", d, d)
	}
	vals := eig.Values(nil) // ascending
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	trace, top := 0.0, 0.0
	for i, v := range vals {
		v = max(v, 0)
		trace += v
		if i >= d-rank {
			top += v
		}
	}
	sigma2 := max((trace-top)/float64(d-rank), 0)
	basis := make([]float32, rank*d)
	vars := make([]float32, rank)
	for a := range rank {
		col := d - 1 - a // largest first
		// Sign convention: the entry of largest magnitude is positive (reproducible across LAPACK builds).
		sign, big := 1.0, 0.0
		for l := range d {
			if v := vecs.At(l, col); math.Abs(v) > big {
				big, sign = math.Abs(v), math.Copysign(1, v)
			}
		}
		for l := range d {
			basis[a*d+l] = float32(sign * vecs.At(l, col))
		}
		vars[a] = float32(max(vals[col]-sigma2, 0))
	}
	m32 := make([]float32, d)
	for l, v := range mean {
		m32[l] = float32(v)
	}
	p.Means[j], p.Bases[j], p.Variances[j], p.ResidualVariances[j] = m32, basis, vars, float32(sigma2)
	return nil
}

// FitFashionMNIST reads the Fashion-MNIST training split from dir (fashionmnist.DefaultDir when empty) and fits
// the class-conditional MoLRG of the given rank: what `loco fit` runs to reproduce fashion-molrg-32
// (rank FashionRank).
func FitFashionMNIST(dir string, rank int) (*Params, error) {
	if dir == "" {
		dir = fashionmnist.DefaultDir
	}
	images, labels, err := fashionmnist.Read(dir)
	if err != nil {
		return nil, err
	}
	return Fit(images, labels, rank, FitOptions{
		NumClasses: len(fashionmnist.ClassNames), ClassNames: fashionmnist.ClassNames,
		Dataset: "Fashion-MNIST training split (60000 images; Zalando SE, MIT/Expat licence; Debian package dataset-fashion-mnist), " +
			"28x28 padded to 32x32 with background, scaled to [-1, 1]",
	})
}
