// Package molrg is a mixture of low-rank Gaussians (MoLRG) used as a diffusion denoiser whose posterior mean
// E[x0 | x_t] is known in closed form.
//
// Component k of the mixture (prior π_k) is x0 ~ N(μ_k, U_k diag(λ_k) U_kᵀ + σ_k² I) with U_k ∈ R^{d×r_k}
// orthonormal. Under VP noising x_t = √ᾱ·x0 + √(1−ᾱ)·ε the posterior mean is a softmax-weighted sum of Gaussian
// posterior means, computed in a GoMLX graph with the Woodbury identity (no d×d matrix is ever formed), so every
// LOCO stage (sampling, inversion, Jacobian products, subspace iteration, editing) runs on it as on a UNet.
//
// Two kinds of models are provided:
//
//   - the embedded "fashion-molrg-32", fitted to Fashion-MNIST (one component per garment class; Open, Fit);
//   - the theory oracle of the paper's §4 (NewOracle): μ = 0, λ = 1, σ² = 0, equal priors and mutually
//     orthogonal planted subspaces, whose Jacobian's rank and subspaces are known exactly (Basis).
package molrg
