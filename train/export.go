package train

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/locoedit/locoedit/hf/diffusers"
	"github.com/locoedit/locoedit/hf/safetensors"
	"github.com/locoedit/locoedit/internal/atomicfile"
)

// Files of the diffusers model folder a run writes.
const (
	ConfigFile          = "config.json"
	WeightsFile         = "diffusion_pytorch_model.safetensors"
	SchedulerConfigFile = "scheduler_config.json"
)

// WriteModel writes the EMA weights as a diffusers UNet2DModel folder: config.json, diffusion_pytorch_model.safetensors
// (diffusers names and PyTorch layouts) and scheduler_config.json (a DDPMScheduler with the training schedule). The
// folder loads with loco.LoadModel and `loco … --model DIR`, and with diffusers' UNet2DModel.from_pretrained(DIR)
// and DDPMScheduler.from_pretrained(DIR). Each file is replaced atomically.
func (tr *Trainer) WriteModel(dir string) error {
	m, err := tr.EMAModel()
	if err != nil {
		return err
	}
	return WriteModelFolder(dir, m, tr.opts.Scheduler, map[string]string{"format": "pt", "loco_train_step": fmt.Sprint(tr.step)})
}

// WriteModelFolder writes m as a diffusers model folder (see Trainer.WriteModel); metadata goes into the
// safetensors header.
func WriteModelFolder(dir string, m *diffusers.UNet2DModel, sched *diffusers.SchedulerConfig, metadata map[string]string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	sd, err := m.StateDict()
	if err != nil {
		return err
	}
	if err := safetensors.Write(filepath.Join(dir, WeightsFile), sd, metadata); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(dir, ConfigFile), normalized(m.Config)); err != nil {
		return err
	}
	return writeJSON(filepath.Join(dir, SchedulerConfigFile), ddpmSchedulerConfig(sched))
}

// ddpmSchedulerConfig is scheduler_config.json for diffusers' DDPMScheduler with the given schedule (the
// DDPMScheduler defaults of diffusers 0.29 for everything else).
func ddpmSchedulerConfig(s *diffusers.SchedulerConfig) map[string]any {
	return map[string]any{
		"_class_name":                "DDPMScheduler",
		"_diffusers_version":         "0.29.2",
		"num_train_timesteps":        s.NumTrainTimesteps,
		"beta_start":                 s.BetaStart,
		"beta_end":                   s.BetaEnd,
		"beta_schedule":              s.BetaSchedule,
		"trained_betas":              nil,
		"variance_type":              "fixed_small",
		"clip_sample":                true,
		"clip_sample_range":          1.0,
		"prediction_type":            s.PredictionType,
		"thresholding":               false,
		"dynamic_thresholding_ratio": 0.995,
		"sample_max_value":           1.0,
		"timestep_spacing":           "leading",
		"steps_offset":               0,
		"rescale_betas_zero_snr":     false,
	}
}

// writeJSON writes v as indented JSON to path atomically (a temporary file renamed over path).
func writeJSON(path string, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("encoding %s: %w", filepath.Base(path), err)
	}
	return atomicfile.WriteBytes(path, buf.Bytes())
}
