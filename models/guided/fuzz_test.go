package guided

import (
	"testing"

	"github.com/locoedit/locoedit/hf/diffusers"
)

// FuzzParseConfig checks the config parser on arbitrary bytes: it never panics, an accepted config is within
// the limits, and a small accepted config builds (ParamSpecs) with exactly the estimated number of parameters,
// so validation lets nothing through that the architecture code cannot build. Seeds: testdata/fuzz.
func FuzzParseConfig(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig(data)
		if err != nil {
			return
		}
		est := cfg.Estimate()
		l := diffusers.CurrentLimits()
		if est.Params > l.MaxParams || est.Layers > l.MaxLayers || est.ForwardBytes > l.MaxActivationBytes {
			t.Fatalf("accepted config above the limits: %+v", est)
		}
		if est.Params > 2_000_000 || est.Layers > 48 || est.ForwardBytes > 1<<28 {
			return // too slow to build while fuzzing
		}
		n, err := cfg.NumParams()
		if err != nil {
			t.Fatalf("accepted config does not build: %v", err)
		}
		if int64(n) != est.Params {
			t.Fatalf("estimate %d parameters, the weights hold %d", est.Params, n)
		}
	})
}
