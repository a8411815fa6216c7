package figures

import (
	"fmt"

	"github.com/locoedit/locoedit/loco"
	"github.com/locoedit/locoedit/loco/imageio"
	_ "github.com/locoedit/locoedit/models/t2i" // text-to-image pipelines open with loco.LoadModel
)

// TinySD and TinyLCM are the tiny random text-to-image pipelines the repository ships (models/t2i/testdata),
// relative to the repository root: they run T-LOCO end to end on any CPU, with noise for pictures.
const (
	TinySD  = "models/t2i/testdata/tiny-sd"
	TinyLCM = "models/t2i/testdata/tiny-lcm"
)

// TinyPipeline returns the path of the tiny Stable Diffusion (or, with lcm, latent consistency) pipeline from
// the current folder, which may be the repository root or one of its subfolders (a notebook's).
func TinyPipeline(lcm bool) string {
	name := TinySD
	if lcm {
		name = TinyLCM
	}
	return repoPath(name)
}

// OpenText loads a text-to-image pipeline (a folder or a HuggingFace id, see loco.LoadModel) and binds it to a
// conditioning: the prompt, and for text-supervised T-LOCO the edit prompt.
func OpenText(model string, c loco.Conditioning) (*Session, error) {
	m, err := loco.LoadModel(model)
	if err != nil {
		return nil, err
	}
	tc, ok := m.(loco.Conditioner)
	if !ok {
		return nil, fmt.Errorf("model %s is not a text-to-image pipeline (model_index.json with a UNet2DConditionModel)", model)
	}
	d, err := tc.Condition(c)
	if err != nil {
		return nil, err
	}
	return NewSession(d)
}

// EditFromNoise runs a job from x_T ~ N(0, I) drawn with seed (loco.Pipeline.RunEditFromNoise), as the authors'
// text-to-image edits start: generation to the edit time, then the direction for the mask (on the image) and
// the decoded strengths. A session bound to an edit prompt finds the text-supervised direction.
func (s *Session) EditFromNoise(seed uint64, mask *imageio.Mask, job loco.EditJob) (*Outcome, error) {
	if _, guided := s.Model.(loco.EditGuided); guided {
		job.Direction.Guided = true
	}
	m, err := s.maskValues(mask)
	if err != nil {
		return nil, err
	}
	res, err := s.Pipeline.RunEditFromNoise(seed, m, job)
	if err != nil {
		return nil, err
	}
	return &Outcome{EditResult: res, Mask: mask}, nil
}
