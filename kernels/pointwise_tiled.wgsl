// pointwise_tiled: the pointwise GEMM shaped for a hardware GPU — the same computation, layouts and fusions
// as pointwise.wgsl (1×1 convolutions, the head conv and the classifier):
//   y[m, j] = act( Σ_k x[m, k] · g[n(m), k] · W[j, k] + bias[j] ) + res[m, j]
// m = (n·H + h)·W + w over the M = N·H·W pixels, k over Cin, j over Cout, n(m) = m / HW.
// Fusions, each an override: SE_SCALE (g = the SE gate of the row's own image, else 1), ACT (1 = SiLU after
// the bias), HAS_RES (+ res after the activation; only activation-free projections have one).
// Layouts (C4 = ceil(C/4), padding channels 0), as pointwise.wgsl:
//   x   [M, K4] vec4, the NHWC4 input
//   w   [K4, N4] mat4x4: column i of block (k4, j4) = output channels 4·j4 .. 4·j4+3 of input channel
//       4·k4 + i; zero outside Cin × Cout
//   b   [N4] vec4;  se [N, K4] vec4 (SE_SCALE only);  res [M, N4] vec4 (HAS_RES only);  y [M, N4] vec4
// One workgroup: a (WG_M·TM) × (WG_N·TN vec4) output tile through workgroup memory (lib/gemm_tiled.wgsl);
// the gate is applied as each activation vec4 enters workgroup memory, per row, so a tile may span any
// number of images (the classifier at batch 8 has one row per image).
// A linear workgroup index (see lib/grid.wgsl), column tiles fastest; a TM × TN register tile of vec4s:
// Dispatch: ceil(M / (WG_M * TM)) * ceil(N4 / (WG_N * TN))
// Accumulators: 4 * TM * TN
// Longest dependent chain one invocation walks: its slice's share of the K loop over input vec4s, then the
// slices' reduction tree (split K, KS > 1).
// Serial: ceil(K4 / KS) + ceil(log2(KS))
//!include lib/grid.wgsl
//!include lib/gemm_tiled.wgsl
//!include lib/pointwise_io.wgsl

fn load_a(m: u32, k: u32) -> vec4<f32> {
  if (m >= params.M || k >= params.K4) { return vec4<f32>(0.0); }
  let v = x[m * params.K4 + k];
  if (SE_SCALE) { return v * se[(m / params.HW) * params.K4 + k]; }
  return v;
}

fn load_b(k: u32, j: u32) -> mat4x4<f32> {
  if (k >= params.K4 || j >= params.N4) { return mat4x4<f32>(); }
  return w[k * params.N4 + j];
}

fn store(m: u32, j: u32, acc: vec4<f32>) {
  if (m >= params.M || j >= params.N4) { return; }
  finish_output(m * params.N4 + j, acc + b[j]);
}

@compute @workgroup_size(GEMM_WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let tiles_n = (params.N4 + WG_N * TN - 1u) / (WG_N * TN);
  let t = linear_workgroup(wid, nwg);
  gemm_tile((t / tiles_n) * WG_M * TM, (t % tiles_n) * WG_N * TN, params.K4, lid);
}
