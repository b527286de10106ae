// The conv epilogue after the bias: the activation (ACT 1 = SiLU), then the residual (HAS_RES), stored at
// output vec4 `at` of y. The including kernel declares res, y, ACT and HAS_RES (its interface file,
// lib/pointwise_io.wgsl or lib/fused_conv_io.wgsl), so the pointwise and Fused-MBConv kernels, tiled or not,
// end their outputs with this one function.
//!include lib/act.wgsl

fn finish_output(at: u32, biased: vec4<f32>) {
  var v = biased;
  if (ACT == 1u) { v = silu4(v); }
  if (HAS_RES) { v += res[at]; }
  y[at] = v;
}
