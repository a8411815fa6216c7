package clip

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck // graph-building code reads best unqualified
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/locoedit/locoedit/hf/diffusers"
	"github.com/locoedit/locoedit/hf/statedict"
	"github.com/locoedit/locoedit/mlx"
)

// TextConfig is the config.json of a HuggingFace transformers CLIPTextModel (a Stable Diffusion pipeline's
// text_encoder/).
type TextConfig struct {
	Architectures         []string `json:"architectures"`
	ModelType             string   `json:"model_type"`
	VocabSize             int      `json:"vocab_size"`
	HiddenSize            int      `json:"hidden_size"`
	IntermediateSize      int      `json:"intermediate_size"`
	NumHiddenLayers       int      `json:"num_hidden_layers"`
	NumAttentionHeads     int      `json:"num_attention_heads"`
	MaxPositionEmbeddings int      `json:"max_position_embeddings"`
	// HiddenAct is the MLP activation: "quick_gelu" (OpenAI's CLIP, Stable Diffusion 1.x) or "gelu" (OpenCLIP,
	// Stable Diffusion 2.x).
	HiddenAct    string  `json:"hidden_act"`
	LayerNormEps float64 `json:"layer_norm_eps"`
	BOSTokenID   int     `json:"bos_token_id"`
	EOSTokenID   int     `json:"eos_token_id"`
	PadTokenID   int     `json:"pad_token_id"`
}

// DefaultTextConfig returns transformers' CLIPTextConfig defaults, which config.json files override.
func DefaultTextConfig() *TextConfig {
	return &TextConfig{ModelType: "clip_text_model", VocabSize: 49408, HiddenSize: 512, IntermediateSize: 2048,
		NumHiddenLayers: 12, NumAttentionHeads: 8, MaxPositionEmbeddings: 77, HiddenAct: "quick_gelu",
		LayerNormEps: 1e-5, BOSTokenID: 49406, EOSTokenID: 49407, PadTokenID: 1}
}

// activations are the supported hidden_act values.
var activations = map[string]func(*Node) *Node{"quick_gelu": mlx.QuickGELU, "gelu": mlx.GELU}

// ParseTextConfig parses and validates the JSON of a CLIPTextModel config.
func ParseTextConfig(data []byte) (*TextConfig, error) {
	c := DefaultTextConfig()
	if err := json.Unmarshal(data, c); err != nil {
		return nil, fmt.Errorf("parsing CLIPTextModel config.json: %w", err)
	}
	if c.ModelType != "" && c.ModelType != "clip_text_model" {
		return nil, fmt.Errorf("config model_type is %q: want a CLIPTextModel config (clip_text_model)", c.ModelType)
	}
	for _, a := range c.Architectures {
		if a != "CLIPTextModel" {
			return nil, fmt.Errorf("config architectures lists %q: only CLIPTextModel is supported", a)
		}
	}
	if _, ok := activations[c.HiddenAct]; !ok {
		return nil, fmt.Errorf("config hidden_act %q is not supported (supported: quick_gelu, gelu)", c.HiddenAct)
	}
	for _, f := range []struct {
		name string
		v    int
		hi   int
	}{{"vocab_size", c.VocabSize, maxVocab}, {"hidden_size", c.HiddenSize, maxWidth}, {"intermediate_size", c.IntermediateSize, maxWidth},
		{"num_hidden_layers", c.NumHiddenLayers, maxLayers}, {"num_attention_heads", c.NumAttentionHeads, maxWidth},
		{"max_position_embeddings", c.MaxPositionEmbeddings, maxPositions}} {
		if f.v <= 0 || f.v > f.hi {
			return nil, fmt.Errorf("config %s = %d is out of range: it must lie in [1, %d]", f.name, f.v, f.hi)
		}
	}
	if n := c.NumParams(); n > MaxParams {
		return nil, fmt.Errorf("config describes a CLIPTextModel of %d parameters (%.3g GB as float32), above the limit of %d: "+
			"check hidden_size, intermediate_size, num_hidden_layers and vocab_size", n, float64(4*n)/1e9, int64(MaxParams))
	}
	if c.HiddenSize%c.NumAttentionHeads != 0 {
		return nil, fmt.Errorf("config hidden_size %d is not divisible by num_attention_heads %d", c.HiddenSize, c.NumAttentionHeads)
	}
	if !(c.LayerNormEps > 0) || math.IsInf(c.LayerNormEps, 0) {
		return nil, fmt.Errorf("config layer_norm_eps must be a positive finite number, got %g", c.LayerNormEps)
	}
	return c, nil
}

// Bounds on a CLIPTextModel config, checked when it is parsed, before any graph or weight is allocated; they
// are far beyond the released text encoders (a vocabulary of 49408, width ≤ 1280, ≤ 32 layers, 77 positions).
const (
	maxVocab     = 1 << 20
	maxWidth     = 1 << 15
	maxLayers    = 256
	maxPositions = 1 << 14
	// MaxParams bounds the parameter count (16 GB as float32; Stable Diffusion 2.x's text encoder has 340 M).
	MaxParams = 4_000_000_000
)

// NumParams is the number of parameters the config describes: the token and position embeddings, per layer
// two layer norms, the q/k/v/out projections and the MLP, and the final layer norm.
func (c *TextConfig) NumParams() int64 {
	h, i := int64(c.HiddenSize), int64(c.IntermediateSize)
	layer := 2*2*h + 4*(h*h+h) + h*i + i + i*h + h
	return int64(c.VocabSize)*h + int64(c.MaxPositionEmbeddings)*h + int64(c.NumHiddenLayers)*layer + 2*h
}

// TextModel is transformers' CLIPTextModel in GoMLX: token and position embeddings, a pre-LayerNorm transformer
// with causal self-attention, and the final LayerNorm. Its weights live in a context whose scopes mirror the
// transformers state-dict names (text_model.encoder.layers.0.self_attn.q_proj.weight, …).
type TextModel struct {
	Config *TextConfig
	ctx    *context.Context
	run    mlx.Graphs
}

// Context returns the context holding the model's weights.
func (m *TextModel) Context() *context.Context { return m.ctx }

// Forward builds the hidden states [B,L,hidden_size] of the token ids [B,L] (any integer dtype, L at most
// max_position_embeddings): the output of all layers but the last skip, then the final LayerNorm. skip 0 is
// last_hidden_state, what Stable Diffusion pipelines feed the UNet; skip 1 is diffusers' clip_skip=1 (the
// penultimate layer).
func (m *TextModel) Forward(ctx *context.Context, ids *Node, skip int) *Node {
	if ctx == nil {
		ctx = m.ctx
	}
	return m.forward(statedict.NewBuilder(ctx, ids.Graph()), ids, skip)
}

func (m *TextModel) forward(p statedict.Builder, ids *Node, skip int) *Node {
	c := m.Config
	if ids.Rank() != 2 || ids.Shape().Dimensions[1] > c.MaxPositionEmbeddings || !ids.DType().IsInt() {
		panic(fmt.Errorf("CLIPTextModel: token ids must be integer [B,L] with L ≤ %d, got %s", c.MaxPositionEmbeddings, ids.Shape()))
	}
	if skip < 0 || skip >= c.NumHiddenLayers {
		panic(fmt.Errorf("CLIPTextModel: cannot skip %d of %d layers", skip, c.NumHiddenLayers))
	}
	b, l, d := ids.Shape().Dimensions[0], ids.Shape().Dimensions[1], c.HiddenSize
	p = p.In("text_model")
	emb := p.In("embeddings")
	table := emb.In("token_embedding").Get("weight", statedict.Embedding, c.VocabSize, d)
	h := Gather(table, Reshape(ConvertDType(ids, dtypes.Int32), b, l, 1)) // [B,L,D]
	pos := emb.In("position_embedding").Get("weight", statedict.Embedding, c.MaxPositionEmbeddings, d)
	pos = Slice(pos, AxisRange(0, l), AxisRange())
	h = Add(h, BroadcastToDims(Reshape(pos, 1, l, d), b, l, d))
	act := activations[c.HiddenAct]
	for i := range c.NumHiddenLayers - skip {
		h = encoderLayer(p.In(fmt.Sprintf("encoder.layers.%d", i)), h, c, act)
	}
	return p.LayerNorm("final_layer_norm", h, c.LayerNormEps)
}

// encoderLayer is CLIPEncoderLayer: causal self-attention and the MLP, each pre-normed and residual.
func encoderLayer(p statedict.Builder, h *Node, c *TextConfig, act func(*Node) *Node) *Node {
	d := c.HiddenSize
	a := p.In("self_attn")
	x := p.LayerNorm("layer_norm1", h, c.LayerNormEps)
	q, k, v := a.Linear("q_proj", x, d, d), a.Linear("k_proj", x, d, d), a.Linear("v_proj", x, d, d)
	h = Add(h, a.Linear("out_proj", mlx.Attention(q, k, v, c.NumAttentionHeads, true), d, d))
	mlp := p.In("mlp")
	x = p.LayerNorm("layer_norm2", h, c.LayerNormEps)
	return Add(h, mlp.Linear("fc2", act(mlp.Linear("fc1", x, d, c.IntermediateSize)), c.IntermediateSize, d))
}

// ParamSpecs lists every weight of the configuration with its transformers name and PyTorch shape.
func (c *TextConfig) ParamSpecs() ([]statedict.Spec, error) {
	m := &TextModel{Config: c}
	specs, err := statedict.Record("clip_text_param_specs", func(b statedict.Builder, g *Graph) {
		m.forward(b, Parameter(g, "ids", shapes.Make(dtypes.Int32, 1, 1)), 0)
	})
	if err != nil {
		return nil, fmt.Errorf("listing CLIPTextModel weights: %w", err)
	}
	return specs, nil
}

// textLoad are the loading rules of transformers checkpoints: the position_ids buffer some hold is not a weight.
var textLoad = statedict.LoadOptions{Ignore: func(name string) bool {
	return strings.HasSuffix(name, "embeddings.position_ids")
}}

// LoadTextModel loads a CLIPTextModel folder (config.json and model.safetensors, single-file or sharded).
func LoadTextModel(dir string) (*TextModel, error) {
	raw, err := diffusers.ReadConfigFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("reading the text encoder config: %w", err)
	}
	cfg, err := ParseTextConfig(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "config.json"), err)
	}
	return buildTextModel(cfg, statedict.FromDir(dir, textLoad))
}

// NewTextModel builds the model for cfg with weights from src by their transformers names; every weight must be
// present with the shape the config implies, and nothing else may be left over.
func NewTextModel(cfg *TextConfig, src statedict.Source) (*TextModel, error) {
	return buildTextModel(cfg, statedict.FromSource(src, textLoad))
}

// NewRandomTextModel builds the model for cfg with random weights (statedict.Random), for tests and benchmarks.
func NewRandomTextModel(cfg *TextConfig, seed uint64) (*TextModel, error) {
	return buildTextModel(cfg, statedict.FromRandom(seed))
}

// Encode returns the hidden states [B,L,hidden_size] for a batch of token-id rows of equal length (see Forward
// for skip). Ids outside the vocabulary and rows longer than max_position_embeddings are errors. Never panics;
// safe for concurrent use.
func (m *TextModel) Encode(ids [][]int, skip int) (*tensors.Tensor, error) {
	if m == nil || m.Config == nil || m.ctx == nil {
		return nil, fmt.Errorf("CLIPTextModel.Encode: the model is not initialised (use LoadTextModel, NewTextModel or NewRandomTextModel)")
	}
	c := m.Config
	if len(ids) == 0 || len(ids[0]) == 0 {
		return nil, fmt.Errorf("CLIPTextModel.Encode: no token ids")
	}
	if skip < 0 || skip >= c.NumHiddenLayers {
		return nil, fmt.Errorf("CLIPTextModel.Encode: cannot skip %d of the %d layers", skip, c.NumHiddenLayers)
	}
	l := len(ids[0])
	if l > c.MaxPositionEmbeddings {
		return nil, fmt.Errorf("CLIPTextModel.Encode: %d tokens, the model has %d positions (tokenize with truncation)", l, c.MaxPositionEmbeddings)
	}
	flat := make([]int32, 0, len(ids)*l)
	for r, row := range ids {
		if len(row) != l {
			return nil, fmt.Errorf("CLIPTextModel.Encode: row %d has %d ids, row 0 has %d: pad the rows to one length", r, len(row), l)
		}
		for _, id := range row {
			if id < 0 || id >= c.VocabSize {
				return nil, fmt.Errorf("CLIPTextModel.Encode: token id %d in row %d is outside the vocabulary of %d", id, r, c.VocabSize)
			}
			flat = append(flat, int32(id))
		}
	}
	out, err := m.run.Run(m.ctx, fmt.Sprintf("encode-skip%d", skip), func(ctx *context.Context, in []*Node) []*Node {
		return []*Node{m.Forward(ctx, in[0], skip)}
	}, tensors.FromFlatDataAndDimensions(flat, len(ids), l))
	if err != nil {
		return nil, fmt.Errorf("CLIPTextModel.Encode: %w", err)
	}
	return out[0], nil
}

// buildTextModel builds the model for cfg with weights from w.
func buildTextModel(cfg *TextConfig, w statedict.Weights) (*TextModel, error) {
	ctx, err := statedict.Build(cfg.ParamSpecs, w)
	if err != nil {
		return nil, err
	}
	return &TextModel{Config: cfg, ctx: ctx}, nil
}
