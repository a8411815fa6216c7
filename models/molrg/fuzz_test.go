package molrg

import (
	"math"
	"testing"
)

// FuzzParseConfig checks that ParseConfig never panics and that an accepted config is bounded and has a usable
// schedule (every ᾱ in (0, 1]). Seeds are in testdata/fuzz/FuzzParseConfig.
func FuzzParseConfig(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig(data)
		if err != nil {
			return
		}
		p := &Params{Config: *cfg}
		if d := p.Dim(); d < 1 || d > MaxDim || cfg.NumClasses < 1 || cfg.NumClasses > MaxClasses || cfg.Rank > d {
			t.Fatalf("accepted sizes: d %d, classes %d, rank %d", d, cfg.NumClasses, cfg.Rank)
		}
		s, err := p.Schedule()
		if err != nil {
			t.Fatalf("accepted config has no schedule: %v", err)
		}
		for i, ab := range s.AlphasCumprod {
			if !(ab > 0 && ab <= 1) || math.IsNaN(ab) {
				t.Fatalf("ᾱ[%d] = %v", i, ab)
			}
		}
	})
}
