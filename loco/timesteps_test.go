package loco

import (
	"math"
	"testing"
)

func TestGridMatchesGolden(t *testing.T) {
	g := loadSchedGolden(t)
	for _, inversion := range []bool{false, true} {
		name := "sched/timesteps_forward"
		if inversion {
			name = "sched/timesteps_inversion"
		}
		grid, err := NewGrid(100, 999, inversion)
		if err != nil {
			t.Fatal(err)
		}
		if grid.Len() != 99 || grid.Inversion != inversion || grid.TMax != 999 {
			t.Fatalf("%s: grid has %d transitions (want 99), Inversion %v, TMax %v", name, grid.Len(), grid.Inversion, grid.TMax)
		}
		for _, c := range []struct {
			suffix string
			got    []float32
		}{{"", grid.Timesteps}, {"_next", grid.Next}} {
			want := g.f32(t, name+c.suffix)
			if len(want) != len(c.got) {
				t.Fatalf("%s%s: %d values, golden %d", name, c.suffix, len(c.got), len(want))
			}
			for i := range want {
				if math.Float32bits(c.got[i]) != math.Float32bits(want[i]) {
					t.Errorf("%s%s[%d] = %.9g, golden %.9g", name, c.suffix, i, c.got[i], want[i])
				}
			}
		}
	}
}

func TestGridEndpoints(t *testing.T) {
	fwd, err := NewGrid(100, 999, false)
	if err != nil {
		t.Fatal(err)
	}
	if fwd.Timesteps[0] != 999 || fwd.Next[98] != 0 || fwd.Timesteps[98] != fwd.Next[97] {
		t.Errorf("forward grid runs %v → … → %v → %v", fwd.Timesteps[0], fwd.Timesteps[98], fwd.Next[98])
	}
	inv, err := NewGrid(100, 999, true)
	if err != nil {
		t.Fatal(err)
	}
	if inv.Timesteps[0] != float32(1e-6) || inv.Next[98] != 999 {
		t.Errorf("inversion grid runs %v → … → %v", inv.Timesteps[0], inv.Next[98])
	}
	// The float32 +1e-6 moves the times below 32 (s_1, s_2, s_3: half an ulp there is < 1e-6) up by one ulp and
	// leaves the larger ones alone (the golden agrees; docs/method.md §3).
	for k := 1; k < 99; k++ {
		sk, sInv := fwd.Timesteps[99-k], inv.Timesteps[k]
		want := int64(0)
		if sk < 32 {
			want = 1
		}
		if d := ulpDiff(sInv, sk); d != want || sInv < sk {
			t.Errorf("inversion s'_%d = %.9g vs s_%d = %.9g: %d ulp above, want %d", k, sInv, k, sk, d, want)
		}
	}
}

// TestGridS66 pins s_66 (docs/method.md §3). The golden (PyTorch's vectorised CPU linspace)
// has s_66 = 666 exactly; the purely two-sided formula (lanes = 1, the CUDA kernel) gives 665.99994.
func TestGridS66(t *testing.T) {
	fwd, err := NewGrid(100, 999, false)
	if err != nil {
		t.Fatal(err)
	}
	if s66 := fwd.Timesteps[99-66]; s66 != 666 || LinearSchedule().Index(s66) != 666 {
		t.Errorf("s_66 = %.9g (floor %d), golden 666", s66, LinearSchedule().Index(s66))
	}
	twoSided := float32(torchLinspace(float32(0), 1, 100, 1)[66] * 999)
	if twoSided != math.Nextafter32(666, 0) {
		t.Errorf("two-sided s_66 = %.9g, want 665.99994", twoSided)
	}
}

func TestTorchLinspaceFloat64(t *testing.T) {
	b := torchLinspace(1e-4, 0.02, 1000, avx2Lanes64)
	if b[0] != 1e-4 || b[999] != 0.02 {
		t.Errorf("linspace ends %v, %v", b[0], b[999])
	}
	for i, v := range b {
		if want := 1e-4 + (0.02-1e-4)*float64(i)/999; math.Abs(v-want) > 1e-17 {
			t.Fatalf("β[%d] = %v, want %v", i, v, want)
		}
	}
	if got := torchLinspace(float32(2), 5, 1, 8); len(got) != 1 || got[0] != 2 {
		t.Errorf("one-point linspace = %v, want [2]", got)
	}
}

func TestEditIndex(t *testing.T) {
	fwd, err := NewGrid(100, 999, false)
	if err != nil {
		t.Fatal(err)
	}
	tFloat := loadSchedGolden(t).f32(t, "in/t_float")[0]
	cases := []struct {
		editT float64
		idx   int
		t     float32
	}{
		{0.6, 40, tFloat},
		{0.7, 30, 696.272705},
		{0.2, 79, 201.818176},
		{0.5, 49, 504.545502},
		{0.75, 25, 746.727295},
		{0.8, 20, 797.181824},
	}
	for _, c := range cases {
		i := fwd.EditIndex(c.editT)
		if i != c.idx || fwd.Timesteps[i] != c.t {
			t.Errorf("EditIndex(%v) = %d (t = %.9g), want %d (t = %.9g)", c.editT, i, fwd.Timesteps[i], c.idx, c.t)
		}
	}
	if got := fwd.PerformanceBoostIndex(); got != 79 {
		t.Errorf("PerformanceBoostIndex = %d, want 79", got)
	}
	if tFloat != 595.3635864257812 {
		t.Errorf("golden in/t_float = %.9g, want 595.363586", tFloat)
	}
	// DeepFloyd IF uses tMax 990: edit_t 0.75 is exactly t = 750 at index 24 (docs/method.md §3).
	ifGrid, err := NewGrid(100, 990, false)
	if err != nil {
		t.Fatal(err)
	}
	if i := ifGrid.EditIndex(0.75); i != 24 || ifGrid.Timesteps[i] != 750 {
		t.Errorf("IF EditIndex(0.75) = %d (t = %v), want 24 (t = 750)", i, ifGrid.Timesteps[i])
	}
	// Ties go to the first index: 1000·0.5 is halfway between the two times of a 3-step grid over [0, 1000].
	tie, err := NewGrid(3, 1000, false) // Timesteps [1000, 500], i.e. distances 500 and 0
	if err != nil {
		t.Fatal(err)
	}
	if i := tie.EditIndex(0.75); i != 0 {
		t.Errorf("tie EditIndex(0.75) on %v = %d, want 0", tie.Timesteps, i)
	}
	if i := (Grid{}).EditIndex(0.5); i != -1 {
		t.Errorf("EditIndex on an empty grid = %d, want -1", i)
	}
}

func TestNextOf(t *testing.T) {
	fwd, err := NewGrid(100, 999, false)
	if err != nil {
		t.Fatal(err)
	}
	next, err := fwd.NextOf(fwd.Timesteps[40])
	if err != nil || next != fwd.Next[40] || next != 585.272705 {
		t.Errorf("NextOf(%v) = %v, %v; want %v", fwd.Timesteps[40], next, err, fwd.Next[40])
	}
	if _, err := fwd.NextOf(595.36); err == nil {
		t.Error("NextOf accepted a time that is not on the grid")
	}
	if _, err := fwd.NextOf(0); err == nil {
		t.Error("NextOf(0) accepted the final time, which starts no transition")
	}
	for _, c := range []struct {
		n    int
		tMax float32
	}{{1, 999}, {100, 0}, {100, float32(math.NaN())}, {100, float32(math.Inf(1))}} {
		if _, err := NewGrid(c.n, c.tMax, false); err == nil {
			t.Errorf("NewGrid(%d, %v) accepted", c.n, c.tMax)
		}
	}
}
