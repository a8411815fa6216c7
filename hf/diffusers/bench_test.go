package diffusers

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/locoedit/locoedit/mlx"
)

// Benchmarks of the UNet on the pure-Go backend (with PyTorch's times beside ours where it is installed, see
// torchbench_test.go):
//
//	GOMLX_BACKEND=go:ops_sequential go test -bench . -run XXX ./hf/diffusers
//	LOCO_SLOW=1 go test -bench CelebAHQ256 -benchtime 1x -run XXX -timeout 30m ./hf/diffusers
//
// Metrics:
//   - ms/sample: wall time per sample;
//   - cpu-ms/sample: CPU time of the whole process per sample (on an idle 2-core machine up to twice ms/sample;
//     close to ms/sample means the work effectively ran on one core, e.g. because other processes held the other);
//   - x-forward, x-forward-cpu: wall and CPU time relative to the forward pass at the same batch (when the forward
//     benchmark ran first); the CPU ratio is much less disturbed by other processes;
//   - heap-peak-MB: largest live Go heap, sampled every 2 ms while timing (simplego keeps every buffer on the heap);
//   - rss-peak-MB: VmHWM, reset before the benchmark through /proc/self/clear_refs (0 where unavailable).
//
// LOCO_SLOW=all also runs the VJP and JVP of the 256² model (about 10 and 20 GB of memory before the Winograd
// convolutions; set GOMEMLIMIT).

// benchPass is what a benchmark runs: the forward pass, a VJP or a JVP of ε with respect to x.
type benchPass string

const (
	passForward benchPass = "forward"
	passVJP     benchPass = "vjp"
	passJVP     benchPass = "jvp"
)

// passExec compiles pass of m for inputs x [B,C,H,W], t [B] and (for VJP/JVP) a direction shaped like x.
func passExec(tb testing.TB, m *UNet2DModel, pass benchPass) *context.Exec {
	tb.Helper()
	backend, err := mlx.Backend()
	if err != nil {
		tb.Fatal(err)
	}
	var e *context.Exec
	switch pass {
	case passForward:
		e, err = context.NewExec(backend, m.Context(), func(ctx *context.Context, x, t *Node) *Node {
			return m.Forward(ctx, x, t)
		})
	case passVJP, passJVP:
		e, err = context.NewExec(backend, m.Context(), func(ctx *context.Context, x, t, dir *Node) []*Node {
			f := func(x *Node) *Node { return m.Forward(ctx, x, t) }
			var y, d *Node
			if pass == passVJP {
				y, d = mlx.VectorJacobian(f, x, dir)
			} else {
				y, d = mlx.JacobianVector(f, x, dir)
			}
			return []*Node{y, d}
		})
	}
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

// passArgs returns random inputs for pass at the given batch and spatial size.
func passArgs(cfg *UNet2DConfig, pass benchPass, batch, size int) []any {
	rng := rand.New(rand.NewPCG(1, uint64(batch)))
	randn := func(dims ...int) *tensors.Tensor {
		n := 1
		for _, d := range dims {
			n *= d
		}
		data := make([]float32, n)
		for i := range data {
			data[i] = float32(rng.NormFloat64())
		}
		return tensors.FromFlatDataAndDimensions(data, dims...)
	}
	ts := make([]float32, batch)
	for i := range ts {
		ts[i] = 595.36359 - 50*float32(i)
	}
	args := []any{randn(batch, cfg.InChannels, size, size), tensors.FromFlatDataAndDimensions(ts, batch)}
	if pass != passForward {
		args = append(args, randn(batch, cfg.InChannels, size, size))
	}
	return args
}

func runPass(tb testing.TB, e *context.Exec, args []any) {
	outs, err := e.Exec(args...)
	if err != nil {
		tb.Fatal(err)
	}
	for _, o := range outs {
		o.FinalizeAll()
	}
}

// forwardMS remembers the forward wall and CPU time per sample of each benchmark family, for the x-forward metrics.
var forwardMS sync.Map

func BenchmarkTinyUNet(b *testing.B) {
	m := loadTiny(b, "tiny-ddpm-unet")
	size := m.Config.SampleSize
	for _, batch := range []int{1, 8} {
		for _, pass := range []benchPass{passForward, passVJP, passJVP} {
			b.Run(fmt.Sprintf("%s/batch=%d", pass, batch), func(b *testing.B) {
				benchPassRun(b, m, pass, batch, size, fmt.Sprintf("tiny/%d", batch))
			})
		}
	}
}

// BenchmarkCelebAHQ256 is the google/ddpm-ema-celebahq-256 architecture (random weights) at its native 256²,
// batch 1. A forward pass takes about two minutes on two cores: it only runs with LOCO_SLOW=1.
func BenchmarkCelebAHQ256(b *testing.B) {
	if os.Getenv("LOCO_SLOW") == "" {
		b.Skip("set LOCO_SLOW=1 to run (about 2 min per forward pass and 8+ GB of memory)")
	}
	cfg, err := ReadUNet2DConfig(filepath.Join("testdata", "ddpm-ema-celebahq-256", "config.json"))
	if err != nil {
		b.Fatal(err)
	}
	m, err := NewRandomUNet2D(cfg, 1)
	if err != nil {
		b.Fatal(err)
	}
	passes := []benchPass{passForward}
	if os.Getenv("LOCO_SLOW") == "all" {
		passes = append(passes, passVJP, passJVP)
	}
	for _, pass := range passes {
		b.Run(fmt.Sprintf("%s/batch=1", pass), func(b *testing.B) {
			benchPassRun(b, m, pass, 1, cfg.SampleSize, "celebahq256/1")
		})
	}
}

func benchPassRun(b *testing.B, m *UNet2DModel, pass benchPass, batch, size int, family string) {
	e := passExec(b, m, pass)
	defer e.Finalize()
	args := passArgs(m.Config, pass, batch, size)
	if err := e.PreCompile(args...); err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	profile := os.Getenv("LOCO_OP_PROFILE") != ""
	if profile {
		mlx.StartOpProfile()
	}
	probe := startMemProbe()
	cpu0 := processCPU()
	b.ResetTimer()
	for range b.N {
		runPass(b, e, args)
	}
	b.StopTimer()
	if profile {
		logOpProfile(b, mlx.StopOpProfile(), b.N, batch)
	}
	cpu := processCPU() - cpu0
	heapPeak, rssPeak := probe.stop()
	msPerSample := float64(b.Elapsed().Microseconds()) / 1e3 / float64(b.N*batch)
	cpuPerSample := cpu.Seconds() * 1e3 / float64(b.N*batch)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(msPerSample, "ms/sample")
	b.ReportMetric(cpuPerSample, "cpu-ms/sample")
	if pass == passForward {
		forwardMS.Store(family, [2]float64{msPerSample, cpuPerSample})
	} else if fwd, ok := forwardMS.Load(family); ok {
		f := fwd.([2]float64)
		b.ReportMetric(msPerSample/f[0], "x-forward")
		b.ReportMetric(cpuPerSample/f[1], "x-forward-cpu")
	}
	b.ReportMetric(heapPeak, "heap-peak-MB")
	b.ReportMetric(rssPeak, "rss-peak-MB")
	if strings.HasPrefix(family, "tiny/") {
		compareWithTorch(b, pass, batch, msPerSample)
	}
}

// logOpProfile prints the time per sample spent in each kind of op (LOCO_OP_PROFILE=1): wall and CPU
// milliseconds and millions of elements written per sample, calls per pass, and for products GFLOP per second
// of wall and of CPU time.
func logOpProfile(b *testing.B, stats []mlx.OpStat, passes, batch int) {
	samples := passes * batch
	var sb strings.Builder
	var wall, cpu time.Duration
	for _, s := range stats {
		wall += s.Time
		cpu += s.CPU
	}
	per := func(d time.Duration) float64 { return d.Seconds() * 1e3 / float64(samples) }
	fmt.Fprintf(&sb, "ops (go kernels %v), per sample: %.1f ms, %.1f cpu-ms in ops\n", mlx.GoKernelsOn(), per(wall), per(cpu))
	fmt.Fprintf(&sb, "%-16s %6s %9s %9s %6s %8s %8s %10s\n", "op", "calls/pass", "ms", "cpu-ms", "cpu-%", "Melem", "GFLOP/s", "GFLOP/cpu-s")
	for _, s := range stats {
		if s.CPU < cpu/500 && s.Time < wall/500 {
			continue
		}
		gflops, gcpu := "", ""
		if s.FLOPs > 0 {
			gflops, gcpu = fmt.Sprintf("%.1f", s.GFLOPS()), fmt.Sprintf("%.1f", s.GFLOPSPerCPU())
		}
		fmt.Fprintf(&sb, "%-16s %6.1f %9.2f %9.2f %6.1f %8.2f %8s %10s\n", s.Op, float64(s.Calls)/float64(passes), per(s.Time),
			per(s.CPU), 100*s.CPU.Seconds()/cpu.Seconds(), float64(s.Elements)/1e6/float64(samples), gflops, gcpu)
	}
	b.Log("\n" + sb.String())
}

// memProbe samples the live Go heap while a benchmark runs and resets and reads the process's peak RSS.
type memProbe struct {
	done     chan struct{}
	finished chan struct{}
	peak     uint64
}

const heapMetric = "/memory/classes/heap/objects:bytes"

func startMemProbe() *memProbe {
	resetPeakRSS()
	p := &memProbe{done: make(chan struct{}), finished: make(chan struct{})}
	go func() {
		defer close(p.finished)
		sample := []metrics.Sample{{Name: heapMetric}}
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			p.peak = max(p.peak, sample[0].Value.Uint64())
			select {
			case <-p.done:
				return
			case <-tick.C:
			}
		}
	}()
	return p
}

// stop ends sampling and returns the peak live heap and the peak RSS since start, in MB (1e6 bytes).
func (p *memProbe) stop() (heapMB, rssMB float64) {
	close(p.done)
	<-p.finished
	return float64(p.peak) / 1e6, float64(peakRSSKiB()) * 1024 / 1e6
}

// processCPU is the CPU time (user + system) the process has used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// resetPeakRSS resets VmHWM (Linux: writing 5 to /proc/self/clear_refs); errors leave it as it is.
func resetPeakRSS() {
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// peakRSSKiB returns VmHWM from /proc/self/status, or 0 where there is none.
func peakRSSKiB() int {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return n
		}
	}
	return 0
}
