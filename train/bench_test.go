package train

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkTrainStep reports training images/s on the current backend (GOMLX_BACKEND; the pure-Go one by default)
// for the tiny preset (batch 8) and fashion-unet-32 (batch 16), after one untimed step that compiles the graph.
// scripts/torchref/train_bench.py times diffusers' UNet2DModel on the same configs and batches (docs/training.md):
//
//	go test -run XXX -bench TrainStep -benchtime 5x ./train
func BenchmarkTrainStep(b *testing.B) {
	for _, c := range []struct {
		preset string
		batch  int
	}{{"tiny", 8}, {"fashion-unet-32", 16}} {
		b.Run(fmt.Sprintf("%s/batch%d", c.preset, c.batch), func(b *testing.B) {
			cfg, err := ResolveConfig(c.preset)
			if err != nil {
				b.Fatal(err)
			}
			o := DefaultOptions(cfg)
			o.Batch = c.batch
			tr := newTrainer(b, o, rectangles(b, 64, cfg.InChannels, cfg.SampleSize, 1))
			t0 := time.Now()
			if _, err := tr.Step(); err != nil {
				b.Fatal(err)
			}
			compile := time.Since(t0)
			b.ResetTimer()
			for range b.N {
				if _, err := tr.Step(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*c.batch)/b.Elapsed().Seconds(), "images/s")
			b.ReportMetric(compile.Seconds(), "first-step-s")
		})
	}
}
