package diffusers

import (
	"testing"
)

// model is what the config fuzzers check of an accepted config.
type model interface {
	Estimate() (Estimate, error)
	ParamSpecs() ([]ParamSpec, error)
}

// fuzzConfig checks a config parser on arbitrary bytes: it never panics, an accepted config is within the
// limits, and a small accepted config builds (ParamSpecs) with exactly the estimated parameter count, so
// validation lets nothing through that the architecture code cannot build.
func fuzzConfig[C model](f *testing.F, parse func([]byte) (C, error)) {
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := parse(data)
		if err != nil {
			return
		}
		est, err := cfg.Estimate()
		if err != nil {
			t.Fatalf("accepted config has no estimate: %v", err)
		}
		l := CurrentLimits()
		if est.Params > l.MaxParams || est.Layers > l.MaxLayers || est.ForwardBytes > l.MaxActivationBytes {
			t.Fatalf("accepted config above the limits: %+v", est)
		}
		if est.Params > 2_000_000 || est.Layers > 48 || est.ForwardBytes > 1<<28 {
			return // too slow to build while fuzzing
		}
		specs, err := cfg.ParamSpecs()
		if err != nil {
			t.Fatalf("accepted config does not build: %v", err)
		}
		n := int64(0)
		for _, s := range specs {
			n += int64(s.Size())
		}
		if n != est.Params {
			t.Fatalf("estimate %d parameters, the weights hold %d", est.Params, n)
		}
	})
}

// Seeds of the config fuzzers are in testdata/fuzz/<name>; run one with go test -fuzz=<name>.

func FuzzParseUNet2DConfig(f *testing.F) { fuzzConfig(f, ParseUNet2DConfig) }

func FuzzParseUNet2DConditionConfig(f *testing.F) { fuzzConfig(f, ParseUNet2DConditionConfig) }

func FuzzParseAutoencoderKLConfig(f *testing.F) { fuzzConfig(f, ParseAutoencoderKLConfig) }

// FuzzParseSchedulerConfig checks that an accepted scheduler config has a bounded, usable schedule.
func FuzzParseSchedulerConfig(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseSchedulerConfig(data)
		if err != nil {
			return
		}
		if cfg.NumTrainTimesteps < 1 || cfg.NumTrainTimesteps > MaxTrainTimesteps {
			t.Fatalf("accepted num_train_timesteps %d", cfg.NumTrainTimesteps)
		}
		if cfg.BetaSchedule != "squaredcos_cap_v2" && !(cfg.BetaStart > 0 && cfg.BetaStart < 1 && cfg.BetaEnd > 0 && cfg.BetaEnd < 1) {
			t.Fatalf("accepted betas %v, %v", cfg.BetaStart, cfg.BetaEnd)
		}
	})
}
