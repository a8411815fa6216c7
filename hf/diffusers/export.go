package diffusers

import (
	"fmt"
	"slices"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/locoedit/locoedit/hf/safetensors"
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
	out := make(map[string]*safetensors.Tensor, len(specs))
	for _, spec := range specs {
		scope, leaf := scopeAndName(spec.Name)
		v := m.ctx.GetVariableByScopeAndName(scope, leaf)
		if v == nil {
			return nil, fmt.Errorf("UNet2DModel.StateDict: weight %q is not in the model", spec.Name)
		}
		value, err := v.Value()
		if err != nil {
			return nil, fmt.Errorf("UNet2DModel.StateDict: reading weight %q: %w", spec.Name, err)
		}
		if value.DType() != dtypes.Float32 || !slices.Equal(value.Shape().Dimensions, spec.localShape()) {
			return nil, fmt.Errorf("UNet2DModel.StateDict: weight %q is %s, want float32%v", spec.Name, value.Shape(), spec.localShape())
		}
		local, err := tensors.CopyFlatData[float32](value)
		if err != nil {
			return nil, fmt.Errorf("UNet2DModel.StateDict: reading weight %q: %w", spec.Name, err)
		}
		out[spec.Name] = safetensors.FromFloat32(slices.Clone(spec.Shape), convertLayout(spec, local, false))
	}
	return out, nil
}
