// Package mlx is the GoMLX plumbing the rest of the project stands on: choosing a backend, filling the gaps
// of GoMLX's pure-Go backend (ops it lacks, gradients it gets wrong or slow), and a few NHWC layers that can
// be differentiated twice on every backend, which exact Jacobian-vector products need.
//
// Every graph built by this project is backend-agnostic: the same code runs on the pure-Go backend
// ("go", always available, used by the tests) and on XLA/PJRT ("xla:cuda" on a GPU, "xla:cpu" where the
// CPU plugin is installed).
package mlx

import (
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/default" // registers "go" and, with cgo, "xla"
	"github.com/gomlx/gomlx/backends/simplego"
)

// DefaultBackendConfig is used when GOMLX_BACKEND is not set: GoMLX's pure-Go backend with sequential op
// execution (its default parallel executor can deadlock on 2 cores; intra-op parallelism stays on).
const DefaultBackendConfig = "go:ops_sequential"

var (
	sharedOnce    sync.Once
	sharedBackend backends.Backend
	sharedErr     error
)

// Backend returns the process-wide backend, created on first use by NewBackend from $GOMLX_BACKEND.
// Sharing one backend lets tensors move freely between models and pipelines.
func Backend() (backends.Backend, error) {
	sharedOnce.Do(func() {
		sharedBackend, sharedErr = NewBackend(os.Getenv(backends.ConfigEnvVar))
	})
	return sharedBackend, sharedErr
}

// NewBackend creates a backend from a GOMLX_BACKEND-style configuration ("go", "go:ops_sequential",
// "xla:cuda", "xla:/abs/path/pjrt_c_api_cuda_plugin.so"; empty means DefaultBackendConfig).
//
// The pure-Go backend is wrapped by PlusBackend, which adds the ops it lacks, and runs with this package's fast
// float32 kernels (InstallGoKernels). Both cases install the
// autodiff fixes (InstallVJPFixes), which every graph of this project relies on.
func NewBackend(config string) (b backends.Backend, err error) {
	InstallVJPFixes()
	config = strings.TrimSpace(config)
	if config == "" {
		config = DefaultBackendConfig
	}
	name, opts, _ := strings.Cut(config, ":")
	var buildErr error
	err = Call(func() {
		switch name {
		case "go":
			if opts == "" {
				opts = "ops_sequential"
			}
			var inner backends.Backend
			InstallGoKernels()
			if inner, buildErr = simplego.New(opts); buildErr == nil {
				b = &PlusBackend{Backend: inner}
			}
		default:
			b, buildErr = backends.NewWithConfig(config)
		}
	})
	if err == nil {
		err = buildErr
	}
	if err != nil {
		hint := ""
		if name == "xla" {
			hint = " (the XLA backend needs a PJRT plugin: on a GPU machine set GOMLX_BACKEND=xla:cuda with the CUDA " +
				"plugin installed, or GOMLX_BACKEND=xla:/absolute/path/to/pjrt_c_api_cuda_plugin.so; " +
				"use GOMLX_BACKEND=go for the pure-Go CPU backend)"
		}
		return nil, fmt.Errorf("creating GoMLX backend %q%s: %w", config, hint, err)
	}
	return b, nil
}

// IsPureGo reports whether b is GoMLX's pure-Go backend (possibly wrapped by PlusBackend).
func IsPureGo(b backends.Backend) bool {
	if b == nil {
		return false
	}
	if _, ok := b.(*PlusBackend); ok {
		return true
	}
	return strings.Contains(b.Name(), "(go)")
}

// Call runs fn and turns a panic raised inside it (GoMLX reports most graph-building and execution errors by
// panicking) into an error, so that no panic crosses this project's package boundaries.
func Call(fn func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			switch e := r.(type) {
			case error:
				err = e
			default:
				err = fmt.Errorf("%v", r)
			}
		}
	}()
	fn()
	return nil
}
