package molrg

import "github.com/locoedit/locoedit/loco"

// The embedded models load by name, and MoLRG folders load by path, through loco.LoadModel.
func init() {
	for _, name := range Names() {
		loco.RegisterModel(name, func() (loco.Denoiser, error) { return LoadEmbedded(name) })
	}
	loco.RegisterArchitecture(ClassName, func(dir string) (loco.Denoiser, error) { return Load(dir) })
}
