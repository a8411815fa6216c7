// Package analysis measures the properties of a diffusion model's Jacobians that LOCO-Edit relies on (spec §9,
// figures 2, 10, 12 and 13 of the paper): the numerical rank of the posterior-mean predictor's Jacobian
// ∂x̂0/∂x_t (and of ∂ε/∂x_t) along DDIM trajectories, its local linearity, its symmetry and its Frobenius norm.
//
// Jacobians come from a loco.Pipeline as exact Jacobian-vector products. For inputs of dimension d ≤ MaxExactDim
// the full d×d Jacobian is formed (FullJacobian, Spectrum); above, randomised subspace iteration and Hutchinson
// probes estimate the spectrum, the Frobenius norm and the asymmetry with error bounds (EstimateSpectrum,
// Symmetry).
//
// Results are plain structs that convert to tables (RankTable, LinearityTable, SymmetryTable), which are written
// as CSV (WriteCSV) or safetensors (WriteSafetensors), and plotted as PNG with gonum/plot (PlotRankVsT,
// PlotLinearity, PlotSymmetry). Every file is written atomically (temporary file + rename).
package analysis
