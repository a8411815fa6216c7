package main

import (
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/locoedit/locoedit/hf/safetensors"
	"github.com/locoedit/locoedit/loco"
)

// goldenCheck is one comparison against the diffusers references.
type goldenCheck struct {
	Name      string  `json:"name"`
	MaxAbsErr float64 `json:"max_abs_err"`
	MaxAbsRef float64 `json:"max_abs_ref"`
	// Tol is 1e-4·max(1, max|ref|): the bound the CPU golden tests use.
	Tol float64 `json:"tol"`
	OK  bool    `json:"ok"`
}

type goldenResult struct {
	Mode        string        `json:"mode"`
	Backend     string        `json:"backend"`
	Description string        `json:"description"`
	Model       string        `json:"model"`
	Checks      []goldenCheck `json:"checks"`
	OK          bool          `json:"ok"`
	Seconds     float64       `json:"seconds"`
	Error       string        `json:"error,omitempty"`
}

// runGolden compares ε, x̂0, J·v, Jᵀ·u (of x̂0) and ∂ε/∂x·v of the golden tiny UNet with diffusers' values.
func runGolden(args []string) error {
	fs := flag.NewFlagSet("golden", flag.ContinueOnError)
	dir := fs.String("golden", "testdata/golden", "folder of the golden references (golden.safetensors, tiny-ddpm-unet/)")
	mode := fs.String("mode", "", "label of the precision settings (recorded in the JSON)")
	out := fs.String("json", "", "write the result here")
	if err := fs.Parse(args); err != nil {
		return err
	}
	start := time.Now()
	res := goldenResult{Mode: *mode, Model: filepath.Join(*dir, "tiny-ddpm-unet")}
	err := golden(*dir, &res)
	res.Seconds = time.Since(start).Seconds()
	if err != nil {
		res.Error = err.Error()
	}
	for _, c := range res.Checks {
		fmt.Printf("%-12s max|err| %.3g (max|ref| %.3g, tol %.3g) %s\n", c.Name, c.MaxAbsErr, c.MaxAbsRef, c.Tol, map[bool]string{true: "ok", false: "FAIL"}[c.OK])
	}
	if werr := writeJSON(*out, res); werr != nil {
		return werr
	}
	if err != nil {
		return err
	}
	if !res.OK {
		return fmt.Errorf("golden checks failed (%s)", res.Mode)
	}
	return nil
}

func golden(dir string, res *goldenResult) error {
	var err error
	if res.Backend, res.Description, err = backendInfo(); err != nil {
		return err
	}
	f, err := safetensors.ReadFile(filepath.Join(dir, "golden.safetensors"))
	if err != nil {
		return err
	}
	get := func(name string) []float32 {
		if err != nil {
			return nil
		}
		var t *safetensors.Tensor
		if t, err = f.Tensor(name); err == nil {
			var v []float32
			v, err = t.Float32()
			return v
		}
		return nil
	}
	xt, x0, tf, v, u := get("in/xt"), get("in/x0"), get("in/t_float"), get("in/jvp_dir"), get("in/vjp_dir")
	if err != nil {
		return err
	}
	if _, err := os.Stat(res.Model); err != nil {
		return err
	}
	m, err := loco.LoadModel(res.Model)
	if err != nil {
		return err
	}
	p, err := loco.NewPipeline(m)
	if err != nil {
		return err
	}
	check := func(name string, got []float32, ref string) {
		want := get(ref)
		if err != nil {
			return
		}
		c := goldenCheck{Name: name, MaxAbsErr: math.Inf(1)}
		if len(got) == len(want) {
			c.MaxAbsErr = 0
			for i := range got {
				c.MaxAbsErr = max(c.MaxAbsErr, math.Abs(float64(got[i])-float64(want[i])))
				c.MaxAbsRef = max(c.MaxAbsRef, math.Abs(float64(want[i])))
			}
		}
		c.Tol = 1e-4 * max(1, c.MaxAbsRef)
		c.OK = c.MaxAbsErr <= c.Tol
		res.Checks = append(res.Checks, c)
	}
	eps, x0p, err := p.Predict(append(append([]float32{}, xt...), x0...), tf)
	if err != nil {
		return err
	}
	d := p.Dim()
	check("eps", eps[:d], "out/eps_t_float")
	check("x0_pred", x0p[:d], "out/x0_pred")
	check("eps_batch2", eps, "out/eps_batch2")
	products := []struct {
		name, ref string
		run       func() ([]float32, error)
	}{
		{"jvp_x0", "out/jvp_x0", func() ([]float32, error) { return p.JVP(loco.OutputX0, xt, tf[0], v, nil) }},
		{"vjp_x0", "out/vjp_x0", func() ([]float32, error) { return p.VJP(loco.OutputX0, xt, tf[0], u, nil) }},
		{"jvp_eps", "out/jvp_eps", func() ([]float32, error) { return p.JVP(loco.OutputEps, xt, tf[0], v, nil) }},
	}
	for _, pr := range products {
		got, perr := pr.run()
		if perr != nil {
			return fmt.Errorf("%s: %w", pr.name, perr)
		}
		check(pr.name, got, pr.ref)
	}
	if err != nil {
		return err
	}
	res.OK = len(res.Checks) == 6
	for _, c := range res.Checks {
		res.OK = res.OK && c.OK
	}
	return nil
}
