package demo

import "github.com/locoedit/locoedit/loco"

// analyses runs the rank and linearity analyses and writes their plots and data.
func analyses(p *loco.Pipeline, cfg Config, rep *loco.EditReport) ([]Artifact, error) {
	return nil, nil
}
