package progress

import (
	"bytes"
	"strings"
	"testing"
)

func TestBarWritesCountAndDescription(t *testing.T) {
	var buf bytes.Buffer
	bar := New(&buf, 4, "fitting")
	for range 4 {
		Add(bar, 1)
	}
	out := buf.String()
	if !strings.Contains(out, "fitting") || !strings.Contains(out, "(4/4") {
		t.Errorf("progress output %q lacks the description or the final count (4/4", out)
	}
	if !strings.HasSuffix(out, "\n") {
		t.Errorf("progress output %q does not end with a newline on completion", out)
	}
	if New(nil, 3, "none") != nil {
		t.Error("New(nil, …) is not nil")
	}
	Add(nil, 1) // does nothing
}
