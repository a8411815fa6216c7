package main

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/locoedit/locoedit/hf/safetensors"
	"github.com/locoedit/locoedit/internal/atomicfile"
	"github.com/locoedit/locoedit/internal/outdir"
	"github.com/locoedit/locoedit/loco"
	"github.com/locoedit/locoedit/loco/imageio"
)

const testImage = "testimages/fashion-0.png"

// cli runs a command line as main does and returns its exit code, stdout and stderr (progress bars, which go
// straight to the process's stderr, are not captured).
func cli(args ...string) (code int, stdout, stderr string) {
	var out, errs bytes.Buffer
	code = run(args, &out, &errs)
	return code, out.String(), errs.String()
}

// writeTensors writes an input file.
func writeTensors(t *testing.T, tensors map[string]*safetensors.Tensor) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "in.safetensors")
	if err := safetensors.Write(path, tensors, nil); err != nil {
		t.Fatal(err)
	}
	return path
}

// listDir lists a folder's entries, hidden ones included ("" for a folder that does not exist).
func listDir(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// writeHugePNGHeader writes the start of a PNG that declares w×h greyscale pixels: the signature and the IHDR
// chunk, all a reader needs for the picture's size (the pixel data is left out).
func writeHugePNGHeader(t *testing.T, path string, w, h uint32) {
	t.Helper()
	chunk := func(kind string, data []byte) []byte {
		out := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
		out = append(append(out, kind...), data...)
		return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(append([]byte(kind), data...)))
	}
	ihdr := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, w), h)
	ihdr = append(ihdr, 8, 0, 0, 0, 0) // 8-bit greyscale, no interlace
	data := append([]byte("\x89PNG\r\n\x1a\n"), chunk("IHDR", ihdr)...)
	if err := os.WriteFile(path, append(data, chunk("IEND", nil)...), 0o666); err != nil {
		t.Fatal(err)
	}
}

// writePNG writes a greyscale picture whose pixels are set by fill.
func writePNG(t *testing.T, path string, w, h int, fill func(x, y int) uint8) {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetGray(x, y, color.Gray{Y: fill(x, y)})
		}
	}
	if err := imageio.WritePNGImage(path, img); err != nil {
		t.Fatal(err)
	}
}

// TestCarelessInputRefused replays the careless and hostile command lines of docs/reliability.md: each one
// exits 1 (2 for a usage error) with a message naming the problem and the fix, before any heavy compute
// (loosely: less than 200 MB allocated), and leaves nothing behind in the output folder.
func TestCarelessInputRefused(t *testing.T) {
	t.Setenv("HF_HUB_OFFLINE", "1")
	base := t.TempDir()
	zeros := func(shape ...int) *safetensors.Tensor {
		n := 1
		for _, d := range shape {
			n *= d
		}
		return safetensors.FromFloat32(shape, make([]float32, n))
	}
	ints := safetensors.FromInt64([]int{1, 1, 32, 32}, make([]int64, 1024))
	tInf := safetensors.FromFloat32([]int{1}, []float32{float32(math.Inf(1))})
	t500 := safetensors.FromFloat32([]int{1}, []float32{500})
	in := func(m map[string]*safetensors.Tensor) string { return writeTensors(t, m) }
	infT := in(map[string]*safetensors.Tensor{"x": zeros(1, 1, 32, 32), "t": tInf})
	hugeT := in(map[string]*safetensors.Tensor{"x": zeros(1, 1, 32, 32), "t": safetensors.FromFloat32([]int{1}, []float32{1e20})})
	emptyBatch := in(map[string]*safetensors.Tensor{"x": zeros(0, 1, 32, 32), "t": t500})
	intX := in(map[string]*safetensors.Tensor{"x": ints, "t": t500})
	nanX := in(map[string]*safetensors.Tensor{"x": safetensors.FromFloat32([]int{1, 1, 32, 32}, append([]float32{float32(math.NaN())}, make([]float32, 1023)...)), "t": t500})
	intV := in(map[string]*safetensors.Tensor{"x": zeros(1, 1, 32, 32), "t": t500, "v": ints})
	good := in(map[string]*safetensors.Tensor{"x": zeros(1, 1, 32, 32), "t": t500, "x0": zeros(1, 1, 32, 32), "mask": zeros(1, 32, 32)})
	huge := filepath.Join(base, "huge.png")
	writeHugePNGHeader(t, huge, 20000, 20000)
	big := filepath.Join(base, "big.png")
	writePNG(t, big, 64, 64, func(x, y int) uint8 { return uint8(x + y) })
	dirOut := filepath.Join(base, "a-folder")
	if err := os.Mkdir(dirOut, 0o777); err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(golden, "tiny-ddpm-unet")
	edit := func(extra ...string) []string {
		return append([]string{"edit", "--image", testImage, "--mask-region", "upper", "--quiet"}, extra...)
	}
	for _, c := range []struct {
		name string
		args []string
		out  string // the output the command must not create ("": the --out in args)
		code int
		want []string
	}{
		{"edit --edit-t NaN", edit("--edit-t", "NaN"), "", 1, []string{"edit time NaN (--edit-t)", "0 picks the model's default"}},
		{"apply --edit-t NaN", []string{"apply", "--image", testImage, "--direction", "d.safetensors", "--edit-t", "NaN"}, "", 1, []string{"edit time NaN (--edit-t)"}},
		{"demo --edit-t NaN", []string{"demo", "--quick", "--edit-t", "NaN"}, "", 1, []string{"edit time NaN (--edit-t)"}},
		{"demo --edit-t 1.5", []string{"demo", "--quick", "--edit-t", "1.5"}, "", 1, []string{"edit time 1.5 (--edit-t): it must lie in (0, 1]"}},
		{"edit --scale NaN", edit("--scale", "NaN"), "", 1, []string{"strength step NaN (--scale): it must be a finite non-zero number"}},
		{"edit --scale Inf", edit("--scale", "Inf"), "", 1, []string{"strength step +Inf (--scale)"}},
		{"edit --scale 1e300", edit("--scale", "1e300"), "", 1, []string{"(--num-steps)", "above 10000: lower the scale or the steps"}},
		{"edit --rank 0", edit("--rank", "0"), "", 1, []string{"edit rank 0 (--rank): it must be at least 1"}},
		{"edit --num-steps 0", edit("--num-steps", "0"), "", 1, []string{"strength steps 0 (--num-steps): it must be between 1"}},
		{"edit --steps 1", edit("--steps", "1"), "", 1, []string{"grid size 1 (--steps)"}},
		{"several problems at once", edit("--rank", "0", "--scale", "NaN", "--method", "fast"), "", 1,
			[]string{"--method: unknown subspace method \"fast\"", "(--scale)", "(--rank)"}},
		{"edit --rank above the mask", edit("--rank", "600"), "", 1, []string{"edit rank 600 (--rank): it is larger than the 512 masked values", "enlarge the mask"}},
		{"edit --null-rank above the complement", edit("--null-rank", "600"), "", 1, []string{"null-space rank 600 (--null-rank)", "0 for no projection"}},
		{"edit --tol NaN", edit("--tol", "NaN"), "", 1, []string{"tolerance NaN (--tol)"}},
		{"edit --pc 1 at rank 1", edit("--pc", "1"), "", 1, []string{"direction index 1 (--pc)", "raise the rank"}},
		{"edit --mask-rect fractional", []string{"edit", "--image", testImage, "--mask-rect", "0,0,1.5,4"}, "", 1, []string{`"1.5" is not an integer`, "e.g. 0,0,16,32"}},
		{"edit --mask-rect outside", []string{"edit", "--image", testImage, "--mask-rect", "40,40,50,50"}, "", 1, []string{"starts outside the model's 32×32 frame"}},
		{"edit --mask-labels unknown class", []string{"edit", "--image", testImage, "--mask-labels", big, "--classes", "wings"}, "", 1, []string{`--classes: imageio: unknown class "wings"`, "l_eye"}},
		{"edit without an image", []string{"edit", "--mask-region", "upper"}, "", 1, []string{"give an input image with --image"}},
		{"edit --max-image-pixels", edit("--image", big, "--max-image-pixels", "1000"), "", 1, []string{"declares 64×64 pixels", "(--max-image-pixels)"}},
		{"edit --image declaring 20000×20000", edit("--image", huge), "", 1, []string{"huge.png declares 20000×20000 pixels (400 megapixels", "above the limit of 64 megapixels", "(--max-image-pixels)"}},
		{"edit --mask-labels declaring 20000×20000", []string{"edit", "--image", testImage, "--mask-labels", huge, "--classes", "hair"}, "", 1, []string{"huge.png declares 20000×20000 pixels"}},
		{"edit --max-image-pixels 0", edit("--max-image-pixels", "0"), "", 1, []string{"--max-image-pixels 0: it must be at least 1"}},
		{"apply --direction with a NaN strength", []string{"apply", "--image", testImage, "--direction", "d.safetensors:NaN"}, "", 1, []string{"strength NaN (λ of --direction PATH:λ)"}},
		{"apply --pc -1", []string{"apply", "--image", testImage, "--direction", "d.safetensors", "--pc", "-1"}, "", 1, []string{"--pc -1: it must be 0"}},
		{"demo --class 12", []string{"demo", "--quick", "--class", "12"}, "", 1, []string{"--class 12: the embedded test images are of classes 0–9"}},
		{"demo --seeds 0", []string{"demo", "--quick", "--seeds", "0"}, "", 1, []string{"random trajectories 0 (--seeds)"}},
		{"eps t = +Inf", []string{"eps", "--in", infT}, "eps.safetensors", 1, []string{"t[0] = +Inf is outside the model's schedule [0, 1000)"}},
		{"eps t = 1e20", []string{"eps", "--in", hugeT}, "eps.safetensors", 1, []string{"t[0] = 1e+20 is outside the model's schedule [0, 1000)"}},
		{"eps batch 0", []string{"eps", "--in", emptyBatch}, "eps.safetensors", 1, []string{"a batch of 0 samples; give at least one"}},
		{"eps integer x", []string{"eps", "--in", intX}, "eps.safetensors", 1, []string{`tensor "x" is I64 (integer): it must be floating point`, "convert it"}},
		{"eps NaN in x", []string{"eps", "--in", nanX}, "eps.safetensors", 1, []string{"holds NaN at value 0 of sample 0"}},
		{"jvp integer v", []string{"jvp", "--in", intV}, "jvp.safetensors", 1, []string{`tensor "v" is I64 (integer)`}},
		{"eps --out a folder", []string{"eps", "--in", good, "--out", dirOut}, "-", 1, []string{"is a folder: --out names the output file"}},
		{"eps --out in a missing folder", []string{"eps", "--in", good, "--out", filepath.Join(base, "no", "x")}, "-", 1, []string{"does not exist: create it"}},
		{"eps --max-params", []string{"eps", "--model", model, "--in", good, "--max-params", "1000"}, "eps.safetensors", 1, []string{"above the limit of 1 k", "(--max-params)"}},
		{"invert --steps 1", []string{"invert", "--in", good, "--steps", "1"}, "xT.safetensors", 1, []string{"grid size 1 (--steps)"}},
		{"sample --eta 2", []string{"sample", "--in", good, "--eta", "2"}, "x.safetensors", 1, []string{"DDIM η 2 (--eta): it must lie in [0, 1]"}},
		{"sample --to-index 500", []string{"sample", "--in", good, "--to-index", "500"}, "x.safetensors", 1, []string{"a grid of 100 points has steps 0 to 98"}},
		{"direction --rank 0", []string{"direction", "--in", good, "--rank", "0"}, "d.safetensors", 1, []string{"edit rank 0 (--rank)"}},
		{"trailing argument", edit("extra", "--force"), "", 2, []string{`unexpected argument "extra"`, "loco help edit"}},
		{"unknown flag", []string{"eps", "--bogus"}, "-", 2, []string{"flag provided but not defined: -bogus"}},
		{"help of an unknown command", []string{"help", "nosuch"}, "-", 2, []string{`unknown command "nosuch"`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			args := c.args
			out := filepath.Join(dir, "out")
			switch c.out {
			case "":
				args = append(slices.Clone(args), "--out", out)
			case "-":
			default:
				out = filepath.Join(dir, c.out)
				args = append(slices.Clone(args), "--out", out)
			}
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			code, _, stderr := cli(args...)
			elapsed := time.Since(start)
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			if code != c.code {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, c.code, stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not mention %q:\n%s", w, stderr)
				}
			}
			if left := listDir(dir); len(left) != 0 {
				t.Errorf("left behind in the output folder: %v", left)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 200<<20 {
				t.Errorf("allocated %d MB before refusing, want < 200 MB", alloc>>20)
			}
			t.Logf("refused in %v, %.1f MB allocated", elapsed.Round(time.Millisecond), float64(after.TotalAlloc-before.TotalAlloc)/(1<<20))
		})
	}
}

// TestHelp: `loco help` and `loco help CMD` print on stdout and exit 0, like `loco CMD -h`.
func TestHelp(t *testing.T) {
	code, out, _ := cli("help")
	if code != 0 || !strings.Contains(out, "commands:") || !strings.Contains(out, "demo") {
		t.Errorf("loco help: exit %d, stdout:\n%s", code, out)
	}
	for _, args := range [][]string{{"help", "edit"}, {"edit", "-h"}, {"edit", "--help"}} {
		code, out, errs := cli(args...)
		if code != 0 || errs != "" || !strings.Contains(out, "usage: loco edit [flags]") || !strings.Contains(out, "-edit-t") {
			t.Errorf("loco %v: exit %d, stderr %q, stdout:\n%s", args, code, errs, out)
		}
	}
	if code, out, _ := cli("help", "convert"); code != 0 || !strings.Contains(out, "loco convert [--force] IN.pt OUT.safetensors") {
		t.Errorf("loco help convert: exit %d, stdout:\n%s", code, out)
	}
	if code, _, errs := cli(); code != 2 || !strings.Contains(errs, "usage: loco") {
		t.Errorf("loco without a command: exit %d, stderr %q", code, errs)
	}
}

// TestOutputFolderClaimed: a run into a folder another run holds fails at once with a clear message and does
// not touch the folder; a refused run removes the folder it created.
func TestOutputFolderClaimed(t *testing.T) {
	out := filepath.Join(t.TempDir(), "demo")
	other, err := outdir.New(out, false) // what a concurrent `loco demo --out` holds
	if err != nil {
		t.Fatal(err)
	}
	for _, force := range []string{"--force=false", "--force"} {
		code, _, errs := cli("demo", "--quick", "--quiet", "--out", out, force)
		if code != 1 || !strings.Contains(errs, "is being written by another run") || !strings.Contains(errs, "choose another --out") {
			t.Errorf("demo %s into a claimed folder: exit %d, stderr:\n%s", force, code, errs)
		}
	}
	if left := listDir(out); !slices.Equal(left, []string{outdir.LockName}) {
		t.Errorf("the claimed folder holds %v, want only the other run's lock", left)
	}
	other.Release(false)
	if left := listDir(out); len(left) != 0 {
		t.Errorf("after the other run the folder holds %v", left)
	}
}

// TestExistingOutputKept: an --out file that exists is refused before the model is loaded and kept byte for byte;
// --force replaces it with a complete file.
func TestExistingOutputKept(t *testing.T) {
	in := writeTensors(t, map[string]*safetensors.Tensor{
		"x": safetensors.FromFloat32([]int{1, 1, 32, 32}, make([]float32, 1024)),
		"t": safetensors.FromFloat32([]int{1}, []float32{500}),
	})
	out := filepath.Join(t.TempDir(), "eps.safetensors")
	if err := os.WriteFile(out, []byte("the user's file"), 0o666); err != nil {
		t.Fatal(err)
	}
	code, _, errs := cli("eps", "--in", in, "--out", out)
	if data, _ := os.ReadFile(out); code != 1 || !strings.Contains(errs, "exists: pass --force to overwrite it") || string(data) != "the user's file" {
		t.Errorf("eps into an existing file: exit %d, file %q, stderr:\n%s", code, data, errs)
	}
	if code, _, errs := cli("eps", "--in", in, "--out", out, "--force"); code != 0 {
		t.Fatalf("eps --force: exit %d, stderr:\n%s", code, errs)
	}
	f, err := safetensors.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if !f.Has("eps") || !f.Has("x0") {
		t.Errorf("eps --force wrote %v, want the tensors eps and x0", f.Names())
	}
	if left := listDir(filepath.Dir(out)); len(left) != 1 {
		t.Errorf("the output folder holds %v, want only eps.safetensors", left)
	}
}

// TestNonSquarePhotoMask: a mask drawn on a 64×48 photo follows the photo's centre crop (finding 4): the
// photo is cropped to its columns 8–55 and resized from 48 to 32 pixels (nearest neighbour: model column j shows
// crop column ⌊1.5j⌋), so the selected photo columns 40–43 (crop columns 32–35) are model columns 22–23, where
// the selected content is; stretching the mask would have put it at columns 20–21.
func TestNonSquarePhotoMask(t *testing.T) {
	dir := t.TempDir()
	photo, mask := filepath.Join(dir, "photo.png"), filepath.Join(dir, "mask.png")
	writePNG(t, photo, 64, 48, func(x, y int) uint8 { return uint8(4 * x) })
	writePNG(t, mask, 64, 48, func(x, y int) uint8 {
		if x >= 40 && x < 44 {
			return 255
		}
		return 0
	})
	out := filepath.Join(dir, "edit")
	if code, _, errs := cli("edit", "--image", photo, "--mask", mask, "--steps", "10", "--quiet", "--out", out); code != 0 {
		t.Fatalf("edit: exit %d\n%s", code, errs)
	}
	sd, err := loco.LoadDirection(filepath.Join(out, "direction.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if sd.MaskSummary != "64 of 1024 values inside, rows 0–31, cols 22–23" {
		t.Errorf("mask %q, want the photo's columns 40–43 at model columns 22–23", sd.MaskSummary)
	}
	// A mask of another aspect ratio is refused, naming both sizes, before any compute.
	odd := filepath.Join(dir, "odd.png")
	writePNG(t, odd, 30, 10, func(x, y int) uint8 { return 255 })
	code, _, errs := cli("edit", "--image", photo, "--mask", odd, "--quiet", "--out", filepath.Join(dir, "odd"))
	if code != 1 || !strings.Contains(errs, "the mask is 30×10, but the image is 64×48") || !strings.Contains(errs, "stretching") {
		t.Errorf("odd mask: exit %d, stderr:\n%s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "odd")); !os.IsNotExist(err) {
		t.Errorf("the refused run left its output folder: %v", err)
	}
}

// TestFullMaskRegion: the documented --mask-region full works with the default null-space rank (nothing lies
// outside the mask, so nothing is projected off).
func TestFullMaskRegion(t *testing.T) {
	out := filepath.Join(t.TempDir(), "edit")
	if code, _, errs := cli("edit", "--image", testImage, "--mask-region", "full", "--steps", "10", "--quiet", "--out", out); code != 0 {
		t.Fatalf("edit --mask-region full: exit %d\n%s", code, errs)
	}
	sd, err := loco.LoadDirection(filepath.Join(out, "direction.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if sd.NullRank != 0 || !strings.HasPrefix(sd.MaskSummary, "1024 of 1024") {
		t.Errorf("saved direction: r′ %d, mask %q; want no projection and the whole image", sd.NullRank, sd.MaskSummary)
	}
}

// TestJobFlagDefaults: the edit flags' defaults are loco.DefaultEditJob's (docs/usage.md), and --no-boost is
// --boost=false (and --no-boost=false is --boost).
func TestJobFlagDefaults(t *testing.T) {
	parseJob := func(args ...string) loco.EditJob {
		cmd := newJobCommand("edit", true, true, "")
		if err := cmd.fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		job, err := cmd.jf.job()
		if err != nil {
			t.Fatal(err)
		}
		return job
	}
	def, got := loco.DefaultEditJob(), parseJob()
	if got.Boost != def.Boost || got.AllPairs != def.AllPairs || got.Steps != def.Steps || got.EditT != def.EditT ||
		!slices.Equal(got.Lambdas, def.Lambdas) || got.LambdaStep != def.LambdaStep || got.Direction.Rank != def.Direction.Rank ||
		got.Direction.NullRank != def.Direction.NullRank || got.Direction.Iteration.Method != def.Direction.Iteration.Method {
		t.Errorf("flag defaults %+v differ from DefaultEditJob %+v", got, def)
	}
	if def.Boost || !def.AllPairs {
		t.Errorf("docs/usage.md documents deterministic decoding and every inversion pair by default; DefaultEditJob has boost %v, all pairs %v", def.Boost, def.AllPairs)
	}
	for _, c := range []struct {
		args  []string
		boost bool
	}{{[]string{"--boost"}, true}, {[]string{"--boost", "--no-boost"}, false}, {[]string{"--no-boost=false"}, true}, {[]string{"--boost=false"}, false}} {
		if b := parseJob(c.args...).Boost; b != c.boost {
			t.Errorf("%v: boost %v, want %v", c.args, b, c.boost)
		}
	}
	if parseJob("--all-pairs=false").AllPairs {
		t.Error("--all-pairs=false kept every pair")
	}
}

// TestSignalCleanup: SIGTERM during a write removes the temporary file and the claimed (still empty) output
// folder, and the process exits 128 + 15. The handler runs in a child process (this test binary, re-executed).
func TestSignalCleanup(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGTERM")
	}
	if dir := os.Getenv("LOCO_TEST_SIGNAL_DIR"); dir != "" {
		signalChild(dir)
		return
	}
	dir := filepath.Join(t.TempDir(), "out")
	cmd := exec.Command(os.Args[0], "-test.run", "^TestSignalCleanup$")
	cmd.Env = append(os.Environ(), "LOCO_TEST_SIGNAL_DIR="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	code := -1
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	if code != 128+int(syscall.SIGTERM) || !strings.Contains(stderr.String(), "stopped (terminated); removed the unfinished") {
		t.Errorf("child: %v (exit %d), stderr:\n%s", err, code, stderr.String())
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the output folder was left (%v): %v", err, listDir(dir))
	}
}

// signalChild claims dir, starts writing a file into it, and sends itself SIGTERM mid-write.
func signalChild(dir string) {
	cleanUpOnSignal("test")
	if _, err := outdir.New(dir, false); err != nil {
		panic(err)
	}
	_ = atomicfile.Write(filepath.Join(dir, "report.md"), func(w io.Writer) error {
		_, _ = w.Write([]byte("half a report"))
		_ = syscall.Kill(os.Getpid(), syscall.SIGTERM)
		time.Sleep(10 * time.Second) // the handler exits the process
		return nil
	})
	os.Exit(3) // not reached
}

// TestImageFramingFlags: --x0 inputs use the model's framing; a picture above --max-image-pixels is refused from
// its header.
func TestImageFramingFlags(t *testing.T) {
	p, err := (&commonFlags{model: "fashion-molrg-32"}).pipeline()
	if err != nil {
		t.Fatal(err)
	}
	x0 := writeTensors(t, map[string]*safetensors.Tensor{"x0": safetensors.FromFloat32([]int{1, 1, 32, 32}, make([]float32, 1024))})
	f := imageFlags{tensor: x0, maxPixels: imageio.DefaultMaxPixels}
	_, framing, err := f.load(p)
	if err != nil || framing != imageio.ModelFraming(32, 32) {
		t.Errorf("--x0: framing %+v, %v; want the model's", framing, err)
	}
}

// TestReadOnlyOutput: an --out in a folder that refuses files is found before the model is loaded (root writes
// anywhere: skipped as root).
func TestReadOnlyOutput(t *testing.T) {
	if os.Getuid() == 0 || runtime.GOOS == "windows" {
		t.Skip("root (or Windows) writes into read-only folders")
	}
	ro := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(ro, 0o555); err != nil {
		t.Fatal(err)
	}
	in := writeTensors(t, map[string]*safetensors.Tensor{"x": safetensors.FromFloat32([]int{1, 1, 32, 32}, make([]float32, 1024)),
		"t": safetensors.FromFloat32([]int{1}, []float32{500})})
	code, _, errs := cli("eps", "--in", in, "--out", filepath.Join(ro, "eps.safetensors"))
	if code != 1 || !strings.Contains(errs, "is not writable") || !strings.Contains(errs, "choose another --out") {
		t.Errorf("eps into a read-only folder: exit %d, stderr:\n%s", code, errs)
	}
	code, _, errs = cli("edit", "--image", testImage, "--mask-region", "upper", "--out", ro)
	if code != 1 || !strings.Contains(errs, "not writable") {
		t.Errorf("edit into a read-only folder: exit %d, stderr:\n%s", code, errs)
	}
}
