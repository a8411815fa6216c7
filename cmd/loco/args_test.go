package main

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/locoedit/locoedit/loco"
	"github.com/locoedit/locoedit/loco/imageio"
)

func TestParseMaskRect(t *testing.T) {
	if r, err := parseMaskRect(" 0, 4,16 ,32"); err != nil || r != [4]int{0, 4, 16, 32} {
		t.Errorf("parseMaskRect = %v, %v", r, err)
	}
	for _, c := range []struct{ in, want string }{
		{"0,0,16", "3 values"},
		{"0,0,1.5,4", `"1.5" is not an integer`},
		{"0,0,NaN,4", `"NaN" is not an integer`},
		{"-1,0,4,4", "-1 is outside"},
		{"0,0,99999999,4", "is outside"},
		{"3,3,3,3", "the rectangle is empty"},
		{"", "1 values"},
	} {
		if _, err := parseMaskRect(c.in); err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "want y0,x0,y1,x1") {
			t.Errorf("parseMaskRect(%q): error %v, want one mentioning %q and the syntax", c.in, err, c.want)
		}
	}
}

func TestParseMaskEllipse(t *testing.T) {
	if e, err := parseMaskEllipse("15.5,15.5,8,11"); err != nil || e != [4]float64{15.5, 15.5, 8, 11} {
		t.Errorf("parseMaskEllipse = %v, %v", e, err)
	}
	for _, c := range []struct{ in, want string }{
		{"1,2,3", "3 values"},
		{"NaN,1,2,3", `"NaN" is not a number`},
		{"1,1,Inf,3", `"Inf" is not a number`},
		{"1,1,0,3", "radii must be positive"},
		{"1,1,-2,3", "radii must be positive"},
	} {
		if _, err := parseMaskEllipse(c.in); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("parseMaskEllipse(%q): error %v, want one mentioning %q", c.in, err, c.want)
		}
	}
}

func TestParseDirections(t *testing.T) {
	got, err := parseDirections("a.safetensors,b/c.safetensors:-4,C:\\dirs\\d.safetensors,e.safetensors: 2.5")
	want := []directionSpec{{"a.safetensors", 0, false}, {"b/c.safetensors", -4, true}, {"C:\\dirs\\d.safetensors", 0, false}, {"e.safetensors", 2.5, true}}
	if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("parseDirections = %v, %v; want %v", got, err, want)
	}
	for _, c := range []struct{ in, want string }{
		{"", "--direction is required"},
		{"d.safetensors:x", `the strength "x" after the colon is not a number`},
		{"d.safetensors:NaN", "strength NaN"},
		{"d.safetensors:1e9", "|λ| must be at most 10000"},
		{":4", "has no file name"},
		{"a,,b", `entry "" has no file name`},
		{strings.Repeat("d,", 70) + "d", "at most 64"},
	} {
		if _, err := parseDirections(c.in); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("parseDirections(%q): error %v, want one mentioning %q", c.in, err, c.want)
		}
	}
}

// FuzzParseMaskRect: any --mask-rect value is either refused or gives a non-empty rectangle in range, which
// MaskRect draws on any model size without panicking.
func FuzzParseMaskRect(f *testing.F) {
	// Seeds: testdata/fuzz/FuzzParseMaskRect.
	f.Fuzz(func(t *testing.T, s string) {
		r, err := parseMaskRect(s)
		if err != nil {
			if !strings.Contains(err.Error(), "--mask-rect") {
				t.Errorf("error %v does not name the flag", err)
			}
			return
		}
		if r[0] < 0 || r[1] < 0 || r[0] >= r[2] || r[1] >= r[3] || r[2] > maxCoordinate+1 || r[3] > maxCoordinate+1 {
			t.Fatalf("accepted %q as %v", s, r)
		}
		m, err := imageio.MaskRect(1, 8, 8, r[0], r[1], r[2], r[3])
		if err != nil || len(m.In) != 64 {
			t.Fatalf("MaskRect of %v: %v", r, err)
		}
	})
}

// FuzzParseMaskEllipse: any --mask-ellipse value is either refused or gives finite numbers with positive radii.
func FuzzParseMaskEllipse(f *testing.F) {
	// Seeds: testdata/fuzz/FuzzParseMaskEllipse.
	f.Fuzz(func(t *testing.T, s string) {
		e, err := parseMaskEllipse(s)
		if err != nil {
			return
		}
		for _, v := range e {
			if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > maxCoordinate {
				t.Fatalf("accepted %q as %v", s, e)
			}
		}
		if !(e[2] > 0 && e[3] > 0) {
			t.Fatalf("accepted non-positive radii in %q", s)
		}
		if _, err := imageio.MaskEllipse(1, 8, 8, e[0], e[1], e[2], e[3]); err != nil {
			t.Fatalf("MaskEllipse of %v: %v", e, err)
		}
	})
}

// FuzzParseDirections: any --direction value is either refused or gives entries with a file name and, where
// given, a strength loco.Combination accepts.
func FuzzParseDirections(f *testing.F) {
	// Seeds: testdata/fuzz/FuzzParseDirections.
	f.Fuzz(func(t *testing.T, s string) {
		specs, err := parseDirections(s)
		if err != nil {
			return
		}
		if len(specs) == 0 || len(specs)+1 > loco.MaxStrengths {
			t.Fatalf("accepted %q as %d entries", s, len(specs))
		}
		for _, sp := range specs {
			if strings.TrimSpace(sp.Path) == "" {
				t.Fatalf("accepted an entry without a file name in %q", s)
			}
			if err := (loco.Combination{Lambda: sp.Lambda}).Validate(); err != nil {
				t.Fatalf("accepted strength %v in %q: %v", sp.Lambda, s, err)
			}
		}
	})
}
