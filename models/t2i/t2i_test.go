package t2i_test

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck // graph-building code reads best unqualified
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/locoedit/locoedit/hf/hub/hubtest"
	"github.com/locoedit/locoedit/hf/safetensors"
	"github.com/locoedit/locoedit/internal/num"
	"github.com/locoedit/locoedit/loco"
	"github.com/locoedit/locoedit/models/t2i"
)

// The prompts of testdata/gen_t2i.py (the authors' scripts' prompts).
const (
	sdPrompt, sdEdit   = "a photo of a man", "a photo of a man wearing glasses"
	lcmPrompt, lcmEdit = "A photo of a man", "A photo of a man wearing glasses"
)

var golden *safetensors.File

func goldenTensor(t testing.TB, name string) *safetensors.Tensor {
	t.Helper()
	if golden == nil {
		f, err := safetensors.ReadFile(filepath.Join("testdata", "golden.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		golden = f
	}
	tt, err := golden.Tensor(name)
	if err != nil {
		t.Fatal(err)
	}
	return tt
}

func gold(t testing.TB, name string) []float32 {
	t.Helper()
	v, err := goldenTensor(t, name).Float32()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func load(t testing.TB, name string) *t2i.Model {
	t.Helper()
	m, err := t2i.Load(name, filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// bound returns a pipeline of m bound to c.
func bound(t testing.TB, m *t2i.Model, c loco.Conditioning) *loco.Pipeline {
	t.Helper()
	d, err := m.Condition(c)
	if err != nil {
		t.Fatal(err)
	}
	p, err := loco.NewPipeline(d)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// near checks got against the golden tensor name: max-abs error ≤ tol, or relative to the golden's max |value|
// when rel is set.
func near(t *testing.T, what string, got []float32, name string, tol float64, rel bool) {
	t.Helper()
	want := gold(t, name)
	if len(got) != len(want) {
		t.Errorf("%s: %d values, the golden %s has %d", what, len(got), name, len(want))
		return
	}
	d := num.MaxAbsDiff(got, want)
	kind := "max-abs"
	if rel {
		d, kind = d/num.MaxAbs(want), "relative"
	}
	if !(d <= tol) {
		t.Errorf("%s differs from the reference %s by %.3g (%s), tolerance %.1g", what, name, d, kind, tol)
	}
	t.Logf("%s: %s error %.3g (max |value| %.3g)", what, kind, d, num.MaxAbs(want))
}

func TestTokenizerAndTextEncoder(t *testing.T) {
	for _, c := range []struct {
		dir, key, prompt string
	}{{"tiny-sd", "sd/%s/for", sdPrompt}, {"tiny-sd", "sd/%s/edit", sdEdit}, {"tiny-sd", "sd/%s/null", ""},
		{"tiny-lcm", "lcm/%s/for", lcmPrompt}, {"tiny-lcm", "lcm/%s/edit", lcmEdit}} {
		m := load(t, c.dir)
		ids := m.Tokenizer.Tokenize(c.prompt).IDs
		want, err := goldenTensor(t, fmt.Sprintf(c.key, "ids")).Int64s()
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) != len(want) {
			t.Fatalf("%s %q: %d ids, want %d", c.dir, c.prompt, len(ids), len(want))
		}
		for i := range ids {
			if int64(ids[i]) != want[i] {
				t.Fatalf("%s %q: ids %v, want %v", c.dir, c.prompt, ids, want)
			}
		}
		e, warning, err := m.Encode(c.prompt)
		if err != nil || warning != "" {
			t.Fatal(err, warning)
		}
		near(t, c.dir+" embedding of "+c.prompt, e.Values, fmt.Sprintf(c.key, "emb"), 1e-5, false)
	}
}

func TestLongPromptTruncatedWithWarning(t *testing.T) {
	m := load(t, "tiny-sd")
	long := sdPrompt
	for range 10 {
		long += " wearing glasses"
	}
	var warnings strings.Builder
	p := bound(t, m, loco.Conditioning{Prompt: long, Warnings: &warnings})
	if !slices.Equal(p.SampleShape(), []int{4, 8, 8}) {
		t.Errorf("sample shape %v", p.SampleShape())
	}
	if !strings.Contains(warnings.String(), "longer than the text encoder's 20 tokens") {
		t.Errorf("no truncation warning for a %d-word prompt: %q", 30, warnings.String())
	}
}

// TestStableDiffusion checks the tiny Stable Diffusion pipeline against diffusers and the authors' EditStableDiffusion:
// the decoded PMP with and without classifier-free guidance, the guided ε, one DDIM step on the LOCO-Edit grid,
// the encoder's latent of an image, the Jacobian products of the decoded PMP and the text-supervised direction.
func TestStableDiffusion(t *testing.T) {
	m := load(t, "tiny-sd")
	zt, v, u, mask := gold(t, "in/sd/zt"), gold(t, "in/sd/v"), gold(t, "in/sd/u"), gold(t, "in/mask")
	ts := gold(t, "sd/t")
	p := bound(t, m, loco.Conditioning{Prompt: sdPrompt, Guidance: 7.5})
	if !slices.Equal(p.OutputShape(), []int{3, 32, 32}) || !p.Latent() {
		t.Fatalf("output shape %v, latent %v", p.OutputShape(), p.Latent())
	}
	eps, x0, err := p.Predict(zt, ts)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "guided ε", eps, "sd/eps_cfg", 1e-4, false)
	near(t, "decoded PMP (s = 7.5)", x0, "sd/x0", 1e-4, false)

	grid, err := p.Grid(100, false)
	if err != nil {
		t.Fatal(err)
	}
	if grid.Timesteps[30] != ts[0] || grid.Next[30] != gold(t, "sd/t_next")[0] {
		t.Errorf("grid index 30: t = %g → %g, the authors' %g → %g", grid.Timesteps[30], grid.Next[30], ts[0], gold(t, "sd/t_next")[0])
	}
	next, err := p.Sample(zt, 30, 31, loco.SampleOptions{Steps: 100})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "DDIM step", next, "sd/zt_next", 1e-4, false)

	z0, err := p.Latents(gold(t, "in/image"))
	if err != nil {
		t.Fatal(err)
	}
	near(t, "encoded image", z0, "sd/z0_image", 1e-4, false)

	jv, err := p.JVP(loco.OutputX0, zt, ts[0], v, nil)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "JVP of the decoded PMP", jv, "sd/jvp_x0", 1e-4, true)
	uj, err := p.VJP(loco.OutputX0, zt, ts[0], u, nil)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "VJP of the decoded PMP", uj, "sd/vjp_x0", 1e-4, true)

	plain := bound(t, m, loco.Conditioning{Prompt: sdPrompt, Guidance: 1})
	_, x0, err = plain.Predict(zt, ts)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "decoded PMP (no guidance)", x0, "sd/x0_text", 1e-4, false)
	jv, err = plain.JVP(loco.OutputX0, zt, ts[0], v, nil)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "JVP of the decoded PMP (no guidance)", jv, "sd/jvp_x0_text", 1e-4, true)

	edit := bound(t, m, loco.Conditioning{Prompt: sdPrompt, EditPrompt: sdEdit, Guidance: 7.5, EditGuidance: 4})
	near(t, "edit-guided decoded PMP f^e", editPMP(t, edit, zt, ts), "sd/x0_edit", 1e-4, false)
	dir, norm, err := edit.GuidedDirection(zt, ts[0], mask)
	if err != nil {
		t.Fatal(err)
	}
	if !(norm > 0) {
		t.Errorf("‖J_eᵀd‖ = %g", norm)
	}
	near(t, "text-supervised direction", dir, "sd/direction", 1e-4, false)
}

// editPMP is f^e at zt: the decoded posterior mean of the edit-guided prediction.
func editPMP(t *testing.T, p *loco.Pipeline, zt, ts []float32) []float32 {
	t.Helper()
	eg := p.Model.(loco.EditGuided)
	lm := p.Model.(loco.LatentModel)
	ab := p.Model.Schedule().AlphaBar32(ts[0])
	pred := p.Model.Prediction()
	outs, err := p.RunFloat32("edit-pmp", func(ctx *context.Context, in []*Node) []*Node {
		x := in[0]
		_, e := eg.PredictGuided(ctx, x, in[1])
		z0 := e
		if pred == loco.PredictEpsilon {
			z0 = DivScalar(Sub(x, MulScalar(e, math.Sqrt(float64(1-ab)))), math.Sqrt(float64(ab)))
		}
		return []*Node{lm.DecodeLatents(ctx, z0)}
	}, [][]float32{zt, ts}, [][]int{{1, 4, 8, 8}, {1}})
	if err != nil {
		t.Fatal(err)
	}
	return outs[0]
}

// TestLatentConsistency checks the tiny latent consistency pipeline against diffusers' LCMScheduler and the authors'
// EditLatentConsistency: timesteps, guidance embedding, the decoded consistency output for the prompt and the edit
// prompt, one sampler step, its Jacobian products and the text-supervised direction.
func TestLatentConsistency(t *testing.T) {
	m := load(t, "tiny-lcm")
	ts, err := t2i.LCMTimesteps(1000, 50, 4)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "LCM timesteps", ts, "lcm/timesteps", 0, false)
	// sin and cos of arguments up to 6500 in float32: one rounding of the argument moves them by ~1e-4.
	near(t, "guidance embedding of w = 6.5", t2i.GuidanceEmbedding(6.5, 8), "lcm/w_embedding", 1e-4, false)

	zt, v, u, mask := gold(t, "in/lcm/zt"), gold(t, "in/lcm/v"), gold(t, "in/lcm/u"), gold(t, "in/mask")
	tt := gold(t, "lcm/t")
	p := bound(t, m, loco.Conditioning{Prompt: lcmPrompt})
	_, x0, err := p.Predict(zt, tt)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "decoded consistency output", x0, "lcm/x0", 1e-4, false)
	_, denoised, err := p.PredictLatent(zt, tt)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "LCM denoised latent", denoised, "lcm/denoised", 1e-4, false)
	near(t, "LCM step", t2i.LCMStep(denoised, p.Model.Schedule().AlphaBar32(259), gold(t, "in/lcm/noise")), "lcm/prev_sample", 1e-4, false)
	_, last, err := p.PredictLatent(zt, []float32{259})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "LCM last step", last, "lcm/last_sample", 1e-4, false)

	jv, err := p.JVP(loco.OutputX0, zt, tt[0], v, nil)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "JVP of the decoded consistency output", jv, "lcm/jvp_x0", 1e-4, true)
	uj, err := p.VJP(loco.OutputX0, zt, tt[0], u, nil)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "VJP of the decoded consistency output", uj, "lcm/vjp_x0", 1e-4, true)

	_, x0e, err := bound(t, m, loco.Conditioning{Prompt: lcmEdit}).Predict(zt, tt)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "decoded consistency output for the edit prompt", x0e, "lcm/x0_edit", 1e-4, false)

	edit := bound(t, m, loco.Conditioning{Prompt: lcmPrompt, EditPrompt: lcmEdit})
	dir, _, err := edit.GuidedDirection(zt, tt[0], mask)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "text-supervised direction", dir, "lcm/direction", 1e-4, false)

	g, err := p.Grid(0, false)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(g.Timesteps, ts) || g.EditIndex(t2i.LCMEditT) != 2 {
		t.Errorf("LCM grid %v (edit index %d), want %v and index 2", g.Timesteps, g.EditIndex(t2i.LCMEditT), ts)
	}
	if _, err := p.Grid(0, true); err == nil {
		t.Error("an LCM inversion grid was accepted")
	}
}

// TestLoadPipelineFromHub serves the tiny Stable Diffusion pipeline folder, with files a pipeline does not need,
// from a fake of the HuggingFace hub: loco.LoadModel resolves the id through the cache, fetches the components'
// configs, weights and tokenizer files only, and gives the same decoded PMP as the local folder.
func TestLoadPipelineFromHub(t *testing.T) {
	const id, commit = "test-org/tiny-sd", "89abcdef0123456789abcdef0123456789abcdef"
	files := map[string][]byte{"safety_checker/model.safetensors": []byte("not needed"), "README.md": []byte("# tiny")}
	root := filepath.Join("testdata", "tiny-sd")
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		files[filepath.ToSlash(rel)], err = os.ReadFile(path)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	h := hubtest.New(t, id, "", commit, files)
	cache := t.TempDir()
	t.Setenv("HF_HUB_CACHE", cache)
	t.Setenv("HF_ENDPOINT", h.URL)
	t.Setenv("HF_HUB_OFFLINE", "")
	t.Setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
	m, err := loco.LoadModel(id)
	if err != nil {
		t.Fatal(err)
	}
	c, ok := m.(loco.Conditioner)
	if !ok {
		t.Fatalf("%s loaded as %T, not a text-to-image pipeline", id, m)
	}
	d, err := c.Condition(loco.Conditioning{Prompt: sdPrompt, Guidance: 7.5})
	if err != nil {
		t.Fatal(err)
	}
	p, err := loco.NewPipeline(d)
	if err != nil {
		t.Fatal(err)
	}
	_, x0, err := p.Predict(gold(t, "in/sd/zt"), gold(t, "sd/t"))
	if err != nil {
		t.Fatal(err)
	}
	near(t, "decoded PMP of the downloaded pipeline", x0, "sd/x0", 1e-4, false)
	var fetched []string
	_ = filepath.WalkDir(cache, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.Contains(path, "snapshots") {
			fetched = append(fetched, filepath.Base(filepath.Dir(path))+"/"+d.Name())
		}
		return nil
	})
	for _, f := range fetched {
		if strings.Contains(f, "safety_checker") || strings.HasSuffix(f, "README.md") {
			t.Errorf("fetched %s, which the pipeline does not need", f)
		}
	}
	if len(fetched) < 12 {
		t.Errorf("fetched %d files: %v", len(fetched), fetched)
	}
}

// TestLoadErrors checks that incomplete pipeline folders and conditionings that cannot work are refused with errors
// that say what is missing.
func TestLoadErrors(t *testing.T) {
	copyPipeline := func(skip ...string) string {
		dir := t.TempDir()
		root := filepath.Join("testdata", "tiny-sd")
		err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, path)
			if slices.Contains(skip, rel) {
				return filepath.SkipDir
			}
			if d.IsDir() {
				return os.MkdirAll(filepath.Join(dir, rel), 0o755)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, rel), data, 0o644)
		})
		if err != nil {
			t.Fatal(err)
		}
		return dir
	}
	for _, c := range []struct {
		skip []string
		want string
	}{
		{[]string{"vae"}, "no vae/ folder"},
		{[]string{"tokenizer"}, "one of text_encoder/ and tokenizer/"},
	} {
		if _, err := t2i.Load("x", copyPipeline(c.skip...)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("without %v: error %v, want one saying %q", c.skip, err, c.want)
		}
	}
	m, err := t2i.Load("no-encoder", copyPipeline("text_encoder", "tokenizer"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Condition(loco.Conditioning{Prompt: sdPrompt}); err == nil || !strings.Contains(err.Error(), "text embeddings") {
		t.Errorf("a prompt without a text encoder: error %v", err)
	}
	emb := &loco.TextEmbedding{Tokens: 20, Dim: 16, Values: gold(t, "sd/emb/for")}
	if _, err := m.Condition(loco.Conditioning{Text: emb, Guidance: 1}); err != nil {
		t.Errorf("text embeddings without a text encoder: %v", err)
	}
	bad := &loco.TextEmbedding{Tokens: 20, Dim: 8, Values: make([]float32, 160)}
	if _, err := m.Condition(loco.Conditioning{Text: bad, Guidance: 1}); err == nil || !strings.Contains(err.Error(), "cross_attention_dim") {
		t.Errorf("an embedding of the wrong width: error %v", err)
	}
	sd := load(t, "tiny-sd")
	for _, c := range []struct {
		c    loco.Conditioning
		want string
	}{
		{loco.Conditioning{Prompt: sdPrompt, Height: 30, Width: 32}, "multiples of 8"},
		{loco.Conditioning{Prompt: sdPrompt, EditGuidance: 3}, "without an edit prompt"},
		{loco.Conditioning{Prompt: sdPrompt, EditPrompt: sdEdit, EditMode: "edit"}, "edit guidance mode"},
		{loco.Conditioning{Prompt: sdPrompt, GuidanceEmbedding: []float32{1}}, "no guidance embedding"},
	} {
		if _, err := sd.Condition(c.c); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want one saying %q", c.c, err, c.want)
		}
	}
	if _, err := load(t, "tiny-lcm").Condition(loco.Conditioning{Prompt: lcmPrompt, NegativePrompt: "x"}); err == nil || !strings.Contains(err.Error(), "no negative prompt") {
		t.Errorf("a negative prompt for an LCM: error %v", err)
	}
}

// TestDirectionsPerCall checks that Jacobian products split into calls of at most DirectionsPerCall vectors give
// the results of one call, for the JVP, the VJP and the subspace iteration's JᵀJ product of the decoded PMP.
func TestDirectionsPerCall(t *testing.T) {
	m := load(t, "tiny-sd")
	zt, ts, mask := gold(t, "in/sd/zt"), gold(t, "sd/t"), gold(t, "in/mask")
	v, u := gold(t, "in/sd/v"), gold(t, "in/sd/u")
	vs := slices.Concat(v, zt, v)
	us := slices.Concat(u, mask, u)
	results := map[int][][]float32{}
	for _, per := range []int{0, 1, 2} {
		p := bound(t, m, loco.Conditioning{Prompt: sdPrompt, Guidance: 7.5})
		p.DirectionsPerCall = per
		jv, err := p.JVP(loco.OutputX0, zt, ts[0], vs, mask)
		if err != nil {
			t.Fatal(err)
		}
		uj, err := p.VJP(loco.OutputX0, zt, ts[0], us, nil)
		if err != nil {
			t.Fatal(err)
		}
		jv2, jtj, err := p.JTJ(loco.OutputX0, zt, ts[0], vs, mask)
		if err != nil {
			t.Fatal(err)
		}
		results[per] = [][]float32{jv, uj, jv2, jtj}
	}
	for _, per := range []int{1, 2} {
		for i, name := range []string{"JVP", "VJP", "JTJ's JVP", "JᵀJv"} {
			if d := num.MaxAbsDiff(results[per][i], results[0][i]); !(d <= 1e-5*num.MaxAbs(results[0][i])) || len(results[per][i]) != len(results[0][i]) {
				t.Errorf("%s with %d directions per call differs from one call by %.3g", name, per, d)
			}
		}
	}
	// The unmasked VJP of the first vector is the reference's.
	near(t, "VJP of the first of three vectors, one per call", results[1][1][:len(v)], "sd/vjp_x0", 1e-4, true)
	if len(results[0][0]) != 3*3*32*32 || len(results[0][3]) != 3*4*8*8 {
		t.Errorf("JVP gave %d values, JᵀJv %d", len(results[0][0]), len(results[0][3]))
	}
}
