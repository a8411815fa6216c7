package train

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/locoedit/locoedit/hf/diffusers"
	"github.com/locoedit/locoedit/hf/safetensors"
	"github.com/locoedit/locoedit/mlx"
)

// CheckpointFile is the name of the checkpoint inside a run's --out folder.
const CheckpointFile = "checkpoint.safetensors"

// checkpointKey is the safetensors metadata key that holds the run state (JSON).
const checkpointKey = "loco_train_state"

// checkpointState is what a checkpoint records besides the variables. Everything random in step s is a function
// of (Seed, s), so Step is the whole random-number state.
type checkpointState struct {
	Format    int                     `json:"format"`
	Step      int64                   `json:"step"`
	Seed      uint64                  `json:"seed"`
	Batch     int                     `json:"batch"`
	Flip      bool                    `json:"flip"`
	Data      string                  `json:"data"`
	DataLen   int                     `json:"data_len"`
	Config    *diffusers.UNet2DConfig `json:"config"`
	Trainable []string                `json:"trainable"`
}

// SaveCheckpoint writes every training variable (weights, AdamW moments and step counters, EMA, learning rate)
// and the step to path as one safetensors file, atomically: a crash leaves the previous checkpoint intact.
func (tr *Trainer) SaveCheckpoint(path string) error {
	st := checkpointState{Format: 1, Step: tr.step, Seed: tr.opts.Seed, Batch: tr.opts.Batch, Flip: tr.opts.Flip,
		Data: tr.data.Name, DataLen: tr.data.Len(), Config: tr.opts.Config}
	out := map[string]*safetensors.Tensor{}
	err := mlx.Call(func() {
		for v := range tr.model.Context().IterVariables() {
			value, err := v.Value()
			if err != nil {
				panic(err)
			}
			t, err := safetensors.FromGoMLX(value)
			if err != nil {
				panic(fmt.Errorf("variable %s: %w", variableName(v), err))
			}
			out[variableName(v)] = t
			if v.Trainable {
				st.Trainable = append(st.Trainable, variableName(v))
			}
		}
	})
	if err != nil {
		return fmt.Errorf("saving checkpoint: %w", err)
	}
	meta, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return safetensors.Write(path, out, map[string]string{checkpointKey: string(meta)})
}

// LoadCheckpoint restores a checkpoint written by SaveCheckpoint into a trainer that has not stepped yet. The
// model config, batch size, seed, flips and data set size must be those of the checkpoint (they define what the
// next steps draw); the number of steps and the learning-rate settings may change.
func (tr *Trainer) LoadCheckpoint(path string) error {
	if tr.exec != nil || tr.step != 0 {
		return fmt.Errorf("loading a checkpoint into a trainer that already ran %d steps", tr.step)
	}
	f, err := safetensors.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading checkpoint: %w", err)
	}
	var st checkpointState
	raw, ok := f.Metadata()[checkpointKey]
	if !ok {
		return fmt.Errorf("%s is not a training checkpoint (no %q metadata)", path, checkpointKey)
	}
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		return fmt.Errorf("%s: reading the training state: %w", path, err)
	}
	if st.Format != 1 {
		return fmt.Errorf("%s: checkpoint format %d is not supported (want 1)", path, st.Format)
	}
	if err := tr.compatible(st); err != nil {
		return fmt.Errorf("cannot resume from %s: %w", path, err)
	}
	trainable := map[string]bool{}
	for _, n := range st.Trainable {
		trainable[n] = true
	}
	err = mlx.Call(func() {
		ctx := tr.model.Context()
		for _, name := range f.Names() {
			t, err := f.Tensor(name)
			if err != nil {
				panic(err)
			}
			value, err := t.ToGoMLX()
			if err != nil {
				panic(fmt.Errorf("variable %s: %w", name, err))
			}
			i := strings.LastIndexByte(name, '/')
			scope, leaf := name[:i], name[i+1:]
			if scope == "" {
				scope = context.RootScope
			}
			if v := ctx.GetVariableByScopeAndName(scope, leaf); v != nil {
				if !v.Shape().Equal(value.Shape()) {
					panic(fmt.Errorf("variable %s has shape %s in the checkpoint but %s in the model", name, value.Shape(), v.Shape()))
				}
				if err := v.SetValue(value); err != nil {
					panic(err)
				}
				continue
			}
			ctx.Checked(false).InAbsPath(scope).VariableWithValue(leaf, value).SetTrainable(trainable[name])
		}
	})
	if err != nil {
		return fmt.Errorf("restoring checkpoint %s: %w", path, err)
	}
	for _, v := range tr.weights() {
		if !trainable[variableName(v)] {
			return fmt.Errorf("checkpoint %s lacks weight %s", path, variableName(v))
		}
	}
	tr.step = st.Step
	return nil
}

// compatible reports why the checkpoint state cannot continue this trainer's run.
func (tr *Trainer) compatible(st checkpointState) error {
	o := tr.opts
	switch {
	case st.Config == nil || !reflect.DeepEqual(normalized(st.Config), normalized(o.Config)):
		return fmt.Errorf("the checkpoint is of another model config (use the same --config)")
	case st.Batch != o.Batch:
		return fmt.Errorf("the checkpoint used --batch %d, not %d", st.Batch, o.Batch)
	case st.Seed != o.Seed:
		return fmt.Errorf("the checkpoint used --seed %d, not %d", st.Seed, o.Seed)
	case st.Flip != o.Flip:
		return fmt.Errorf("the checkpoint used --flip=%v", st.Flip)
	case st.DataLen != tr.data.Len():
		return fmt.Errorf("the checkpoint was trained on %d images (%s), this data set has %d (use the same --data)", st.DataLen, st.Data, tr.data.Len())
	case st.Step > int64(o.Steps):
		return fmt.Errorf("the checkpoint is at step %d, past --steps %d", st.Step, o.Steps)
	}
	return nil
}

// FindCheckpoint returns the checkpoint named by path: a checkpoint file, or a run folder holding one.
func FindCheckpoint(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("--resume %s: %w", path, err)
	}
	if st.IsDir() {
		p := filepath.Join(path, CheckpointFile)
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("--resume %s: the folder holds no %s (was it written by loco train?)", path, CheckpointFile)
		}
		return p, nil
	}
	return path, nil
}
