package main

import (
	"errors"
	"strings"

	"github.com/locoedit/locoedit/loco"
	"github.com/locoedit/locoedit/loco/imageio"
)

// The library's errors name its own settings (loco.OptionError's field paths, imageio.SetMaxPixels,
// diffusers.SetLimits); explain renames them to the flags that set them, so that every message names what to
// type.

// optionFlags maps the library's option names (loco.OptionError.Option, without a "Direction." prefix) to flags.
var optionFlags = map[string]string{
	"EditT": "--edit-t", "Steps": "--steps", "PC": "--pc", "Eta": "--eta",
	"Rank": "--rank", "NullRank": "--null-rank", "Output": "--output",
	"Iteration.MaxIter": "--max-iter", "Iteration.MinIter": "--min-iter", "Iteration.Tol": "--tol",
	"Iteration.Method": "--method", "Iteration.Stop": "--stop",
	"InitModify": "tensor vinit_modify", "InitNull": "tensor vinit_null",
	"Scale": "--scale", "LambdaStep": "--scale", "NumSteps": "--num-steps", "VisNum": "--vis-num",
	"Lambdas": "--scale and --num-steps", "Lambda": "λ of --direction PATH:λ", "Seeds": "--seeds",
}

// libraryRemedies maps the library's advice on raising a limit to the flag that does it.
var libraryRemedies = []struct{ library, flag string }{
	{"(imageio.SetMaxPixels)", "(--max-image-pixels)"},
	{"(diffusers.SetLimits, MaxParams)", "(--max-params)"},
	{"(diffusers.SetLimits, MaxLayers)", "(--max-layers)"},
	{"(diffusers.SetLimits, MaxActivationBytes)", "(--max-activation-gb)"},
}

// explained is an error whose message names flags instead of library settings.
type explained struct {
	msg string
	err error
}

func (e *explained) Error() string { return e.msg }
func (e *explained) Unwrap() error { return e.err }

// explain returns err with the library's setting names replaced by the flags that set them.
func explain(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	for _, oe := range loco.OptionErrors(err) {
		flag, ok := optionFlags[strings.TrimPrefix(oe.Option, "Direction.")]
		if !ok {
			continue
		}
		renamed := *oe
		renamed.Option = flag
		msg = strings.ReplaceAll(msg, oe.Error(), renamed.Error())
	}
	if errors.Is(err, imageio.ErrImageTooLarge) || strings.Contains(msg, "diffusers.SetLimits") {
		for _, r := range libraryRemedies {
			msg = strings.ReplaceAll(msg, r.library, r.flag)
		}
	}
	if msg == err.Error() {
		return err
	}
	return &explained{msg, err}
}
