/**
 * Model-level agreement bounds, used by `verifyModel`, the CLI, the parity tests and the benchmarks alike.
 * Kernel-level tolerances (each with its reason) live in src/reference/tolerances.ts (the kernel tests and `effnet kernel-bench` share them).
 */
export const MODEL_TOLERANCE = {
  /**
   * ‖got − want‖₂ / ‖want‖₂ of every `features.i` output and the logits against a float32 PyTorch/TF run:
   * both sides round every product and sum to f32 in different orders, which measures ~1e-7–1e-6 through
   * 80+ layers; 1e-5 leaves an order of magnitude of margin and still catches any wrong weight or index.
   */
  relL2: 1e-5,
  /** Max |Δ| of softmax probabilities (in [0, 1]) against TensorFlow.js: its own f32 graph differs by ≤ ~1e-6. */
  probAbs: 1e-4,
  /**
   * Logits of a tuned schedule against the planned one on the same device: tiles cut the work up differently but
   * sum every output in the same order, so the two agree to f32 rounding (FMA contraction, measured ≤ 1e-7);
   * `effnet tune` keeps a tuning only within this, and a tuning file can change logits by no more.
   */
  retileRelL2: 1e-6,
  /**
   * Logits with a user's kernel for one op kind in place of ours (`effnet kernel-bench`) against the stock ones, on
   * random weights: a correct kernel sums each output in its own order, so every layer of that kind differs from
   * ours by f32 rounding (each within TOL.conv of float64), and random weights — unlike trained ones — carry that
   * through dozens of layers undamped: the correct naive depthwise example measures 1.8e-5 (issue 24's device)
   * and 3.6e-5 (SwiftShader) on V2-S @128, over the 1e-5 of `relL2`. A wrong kernel moves them by far more: the
   * pointwise example whose SE gate index is off by one, 7.9e-3 on B0 @32. 5e-4 sits between, 14× above the
   * largest correct and 16× below that wrong one.
   */
  kernelSwapRelL2: 5e-4,
} as const;

/** The CPU backend (src/cpu/: our weights written as a model file, run by onnxruntime-node or LiteRT.js). */
export const CPU_BACKEND_TOLERANCE = {
  /**
   * ‖got − want‖₂ / ‖want‖₂ of the logits against torchvision's (and against our WebGPU kernels): the CPU runtime
   * sums in its own order (im2col GEMMs, XNNPACK/MLAS micro-kernels with FMA, a fused sigmoid), so it differs from
   * either reference by f32 rounding only, as our kernels do; the same bound as MODEL_TOLERANCE.relL2, measured
   * (test/cpu-backend.node.test.ts prints it) ~1e-7 on B0 and V2-S.
   */
  relL2: 1e-5,
} as const;
