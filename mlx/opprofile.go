package mlx

import (
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
)

// OpStat is the time the pure-Go backend spent in one kind of op while profiling was on.
type OpStat struct {
	Op       string
	Calls    int64
	Time     time.Duration // wall time inside the op's executor
	CPU      time.Duration // CPU time of the process meanwhile (all its threads: the op's workers, and the GC)
	Elements int64         // elements written (outputs' sizes)
	FLOPs    float64       // floating-point operations of DotGeneral (2·batch·M·N·K) and ConvGeneral
}

// GFLOPS is the rate of floating-point operations per second of wall time (DotGeneral and ConvGeneral only).
func (s OpStat) GFLOPS() float64 {
	if s.Time <= 0 {
		return 0
	}
	return s.FLOPs / s.Time.Seconds() / 1e9
}

// GFLOPSPerCPU is the rate of floating-point operations per second of CPU time: a machine shared with other work
// disturbs it much less than the wall-time rate.
func (s OpStat) GFLOPSPerCPU() float64 {
	if s.CPU <= 0 {
		return 0
	}
	return s.FLOPs / s.CPU.Seconds() / 1e9
}

// processCPU is the CPU time (user + system) the process has used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

var (
	profileOn    atomic.Bool
	profileMu    sync.Mutex
	profileStats map[backends.OpType]*OpStat
	profileOnce  sync.Once
)

// StartOpProfile starts timing every op the pure-Go backend executes (per op type), until StopOpProfile. It
// costs two clock readings and two getrusage calls per op. Ops running at the same time on several goroutines add their times.
func StartOpProfile() {
	profileOnce.Do(wrapAllForProfile)
	profileMu.Lock()
	profileStats = map[backends.OpType]*OpStat{}
	profileMu.Unlock()
	profileOn.Store(true)
}

// StopOpProfile stops timing and returns the statistics by op type, most time first.
func StopOpProfile() []OpStat {
	profileOn.Store(false)
	profileMu.Lock()
	defer profileMu.Unlock()
	out := make([]OpStat, 0, len(profileStats))
	for _, s := range profileStats {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Time > out[j].Time })
	return out
}

// wrapAllForProfile wraps every executor of simplego's table (after InstallGoKernels, so the fast kernels are
// timed too) with a timer that is active only while profiling.
func wrapAllForProfile() {
	InstallGoKernels()
	for i, exec := range simplegoExecutors {
		if exec == nil {
			continue
		}
		op := backends.OpType(i)
		simplegoExecutors[i] = func(backend *simplego.Backend, node *simplego.Node, inputs []*simplego.Buffer, owned []bool) (*simplego.Buffer, error) {
			if !profileOn.Load() {
				return exec(backend, node, inputs, owned)
			}
			var flops float64
			switch op {
			case backends.OpTypeDotGeneral:
				flops = dotGeneralFLOPs(backend, node, inputs)
			case backends.OpTypeConvGeneral:
				flops = convFLOPs(backend, node, inputs)
			}
			cpu0, start := processCPU(), time.Now()
			out, err := exec(backend, node, inputs, owned)
			elapsed, cpu := time.Since(start), processCPU()-cpu0
			var elements int64
			if out != nil {
				if s, err := backend.BufferShape(out); err == nil {
					elements = int64(s.Size())
				}
			}
			profileMu.Lock()
			s := profileStats[op]
			if s == nil {
				s = &OpStat{Op: op.String()}
				profileStats[op] = s
			}
			s.Calls++
			s.Time += elapsed
			s.CPU += cpu
			s.Elements += elements
			s.FLOPs += flops
			profileMu.Unlock()
			return out, err
		}
	}
}

// convFLOPs is 2 · (output size) · (kernel positions) · (input channels) for a ConvGeneral node.
func convFLOPs(backend *simplego.Backend, node *simplego.Node, inputs []*simplego.Buffer) float64 {
	p, ok := readConvParams(node)
	dims, ok2 := nodeDims(node)
	if !ok || !ok2 || len(inputs) != 2 || inputs[1] == nil {
		return 0
	}
	ks, err := backend.BufferShape(inputs[1])
	if err != nil {
		return 0
	}
	flops := 2 * float64(ks.Dimensions[p.axes.KernelInputChannels])
	for _, a := range p.axes.KernelSpatial {
		flops *= float64(ks.Dimensions[a])
	}
	for _, d := range dims {
		flops *= float64(d)
	}
	return flops
}

// dotGeneralFLOPs is 2 · (output size) · (contracted size) for a DotGeneral node.
func dotGeneralFLOPs(backend *simplego.Backend, node *simplego.Node, inputs []*simplego.Buffer) float64 {
	lc, _, _, _, ok := dotGeneralAxes(node)
	dims, ok2 := nodeDims(node)
	if !ok || !ok2 || len(inputs) != 2 || inputs[0] == nil {
		return 0
	}
	ls, err := backend.BufferShape(inputs[0])
	if err != nil {
		return 0
	}
	flops := 2.0
	for _, a := range lc {
		flops *= float64(ls.Dimensions[a])
	}
	for _, d := range dims {
		flops *= float64(d)
	}
	return flops
}
