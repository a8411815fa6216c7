package mlx

import (
	"strings"
	"testing"
)

// The XLA backend is compiled in (cgo builds); without a PJRT plugin it must fail with an error that says what to
// do, not panic or hang.
func TestBackendErrors(t *testing.T) {
	t.Setenv("GOMLX_NO_AUTO_INSTALL", "1")
	t.Setenv("PJRT_PLUGIN_LIBRARY_PATH", t.TempDir())
	if _, err := NewBackend("xla:/nonexistent/pjrt_c_api_cuda_plugin.so"); err == nil || !strings.Contains(err.Error(), "GOMLX_BACKEND=go") {
		t.Errorf("missing XLA plugin: error %v, want one that explains the choices", err)
	}
	if _, err := NewBackend("go:no_such_option"); err == nil {
		t.Error("bad pure-Go option: no error")
	}
	if _, err := NewBackend("nosuchbackend"); err == nil {
		t.Error("unknown backend: no error")
	}
	b, err := NewBackend("")
	if err != nil || !IsPureGo(b) {
		t.Errorf("default backend: %v, %v; want the pure-Go backend", b, err)
	}
}
