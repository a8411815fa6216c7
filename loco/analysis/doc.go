// Package analysis measures the properties of a diffusion model's Jacobians that LOCO-Edit relies on
// (docs/method.md §11, figures 2, 10, 12 and 13 of the paper): the numerical rank of the posterior-mean predictor's Jacobian
// ∂x̂0/∂x_t (and of ∂ε/∂x_t) along DDIM trajectories, its local linearity, its symmetry and its Frobenius norm.
//
// Jacobians come from a loco.Pipeline as exact Jacobian-vector products. For inputs of dimension d ≤ MaxExactDim
// the full d×d Jacobian is formed (FullJacobian, Spectrum); above, loco's block Krylov iteration and Hutchinson
// probes estimate the spectrum, the Frobenius norm and the asymmetry with error bounds (EstimateSpectrum,
// Symmetry).
//
// Through a network's bottleneck h, a UNet's mid-block output (Fig. 12, 13; models that have one implement
// loco.BottleneckSplitter), Bottleneck gives exact products of ∂h/∂x_t,
// ∂ε/∂h and ∂x̂0/∂h (skip connections held at their values for x_t), the spectra of these rectangular Jacobians
// (exact from the Gram matrix of the smaller side, or estimated) and the linearity of h; JacobianRanksAlongTrajectories
// measures the rank and norm of all five Jacobians of Fig. 12 along DDIM trajectories (only ∂ε/∂x_t and ∂x̂0/∂x_t
// for models without a bottleneck, such as the MoLRG). Trajectories start from Pipeline.Noise and are visited
// through the sampler's per-step callback.
//
// Results are plain structs that convert to tables (RankTable, LinearityTable, SymmetryTable), which are written
// as CSV (WriteCSV) or safetensors (WriteSafetensors), and plotted as PNG with gonum/plot (PlotRankVsT,
// PlotLinearity, PlotSymmetry). Every file is written atomically (temporary file + rename).
package analysis
