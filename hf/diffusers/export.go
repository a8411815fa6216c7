package diffusers

import (
	"fmt"

	"github.com/locoedit/locoedit/hf/safetensors"
	"github.com/locoedit/locoedit/hf/statedict"
)

// StateDict returns the model's weights by their diffusers names (the current attention naming scheme:
// to_q/to_k/to_v/to_out.0) in PyTorch layout, as float32 tensors: the inverse of NewUNet2D. Saving it with
// safetensors.Write next to the model's config.json gives a folder that diffusers and LoadUNet2D read.
func (m *UNet2DModel) StateDict() (map[string]*safetensors.Tensor, error) {
	if m == nil || m.Config == nil || m.ctx == nil {
		return nil, fmt.Errorf("UNet2DModel.StateDict: the model is not initialised")
	}
	specs, err := m.Config.ParamSpecs()
	if err != nil {
		return nil, err
	}
	sd, err := statedict.Export(m.ctx, specs)
	if err != nil {
		return nil, fmt.Errorf("UNet2DModel.StateDict: %w", err)
	}
	return sd, nil
}
