// fused_conv_tiled: the Fused-MBConv k×k convolution shaped for a hardware GPU — the same computation and
// layouts as fused_conv.wgsl, as an implicit GEMM through workgroup memory:
//   y[n, oh, ow, co] = act(b[co] + Σ_{kh, kw, ci} x[n, oh·s + kh − padTop, ow·s + kw − padLeft, ci]
//                                                 · w[co, ci, kh, kw])  (+ res[n, oh, ow, co] when HAS_RES)
// GEMM rows m = (n·Ho + oh)·Wo + ow (the output pixels), columns the output vec4s, and the reduction over
// k = (kh·K + kw)·Cin4 + ci4, which is exactly the order the weights are packed in, so the weight block
// (k, co4) is w[k·CoutP4 + co4]. Input taps outside the map read 0 (symmetric k//2 and TensorFlow SAME are
// the same code with different padTop/padLeft and output size).
// Layouts: x [N, H, W, Cin4] vec4; y and res [N, Ho, Wo, Cout4] vec4 (NHWC, channels zero-padded to 4);
//   w [k][k][Cin4][CoutP4] mat4x4, CoutP4 = Cout4 rounded up to 4 (column j of (kh, kw, ci4, co4) = the
//   weights of input channel 4·ci4 + j into output channels 4·co4 .. 4·co4+3); b [CoutP4] vec4.
// One workgroup: a (WG_M·TM pixels) × (WG_N·TN vec4) output tile (lib/gemm_tiled.wgsl); the activation
// block is gathered tap by tap as it enters workgroup memory.
// A linear workgroup index (see lib/grid.wgsl); a TM × TN register tile of vec4s per invocation:
// Dispatch: ceil(N * Ho * Wo / (WG_M * TM)) * ceil(Cout4 / (WG_N * TN))
// Accumulators: 4 * TM * TN
// Longest dependent chain one invocation walks: its slice's share of the implicit GEMM's K loop (taps × input
// vec4s), then the slices' reduction tree (split K, KS > 1).
// Serial: ceil(K * K * Cin4 / KS) + ceil(log2(KS))
//!include lib/grid.wgsl
//!include lib/gemm_tiled.wgsl
//!include lib/fused_conv_io.wgsl

fn rows() -> u32 { return params.N * params.Ho * params.Wo; }

fn load_a(m: u32, k: u32) -> vec4<f32> {
  let cin4 = params.Cin4;
  if (m >= rows() || k >= params.K * params.K * cin4) { return vec4<f32>(0.0); }
  let ow = m % params.Wo;
  let oh = (m / params.Wo) % params.Ho;
  let n = m / (params.Wo * params.Ho);
  let t = k / cin4;
  let ih = i32(oh * params.stride + t / params.K) - i32(params.padTop);
  let iw = i32(ow * params.stride + t % params.K) - i32(params.padLeft);
  if (ih < 0 || ih >= i32(params.H) || iw < 0 || iw >= i32(params.W)) { return vec4<f32>(0.0); }
  return x[((n * params.H + u32(ih)) * params.W + u32(iw)) * cin4 + k % cin4];
}

fn load_b(k: u32, j: u32) -> mat4x4<f32> {
  if (k >= params.K * params.K * params.Cin4 || j >= params.Cout4) { return mat4x4<f32>(); }
  return w[k * ((params.Cout4 + 3u) & ~3u) + j];
}

fn store(m: u32, j: u32, acc: vec4<f32>) {
  if (m >= rows() || j >= params.Cout4) { return; }
  finish_output(m * params.Cout4 + j, acc + b[j]);
}

@compute @workgroup_size(GEMM_WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let tiles_n = (params.Cout4 + WG_N * TN - 1u) / (WG_N * TN);
  let t = linear_workgroup(wid, nwg);
  gemm_tile((t / tiles_n) * WG_M * TM, (t % tiles_n) * WG_N * TN, params.K * params.K * params.Cin4, lid);
}
