package clip

import (
	"testing"

	"github.com/locoedit/locoedit/hf/statedict"
)

// FuzzParseTextConfig checks the text-encoder config parser on arbitrary bytes: it never panics, an accepted
// config is within MaxParams, and a small accepted config builds (ParamSpecs) with exactly NumParams
// parameters. Seeds: testdata/fuzz.
func FuzzParseTextConfig(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseTextConfig(data)
		if err != nil {
			return
		}
		n := cfg.NumParams()
		if n <= 0 || n > MaxParams {
			t.Fatalf("accepted a config of %d parameters", n)
		}
		if n > 2_000_000 || cfg.NumHiddenLayers > 8 {
			return // too slow to build while fuzzing
		}
		specs, err := cfg.ParamSpecs()
		if err != nil {
			t.Fatalf("accepted config does not build: %v", err)
		}
		if got := int64(statedict.NumParams(specs)); got != n {
			t.Fatalf("NumParams %d, the weights hold %d", n, got)
		}
	})
}
