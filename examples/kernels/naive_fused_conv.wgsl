// naive_fused_conv: the Fused-MBConv k×k conv + bias (+ SiLU) (+ residual) for
// `effnet kernel-bench --op fused_conv --arch efficientnet_v2_s` (contract: kernels/README.md, "Bring your
// own kernel"), written as plainly as possible — a starting point for your own.
//   y[n, oh, ow, co] = act(b[co] + Σ_{kh,kw,ci} x[n, oh·s + kh − padTop, ow·s + kw − padLeft, ci] · w[co, ci, kh, kw])
//                      (+ res[n, oh, ow, co] when HAS_RES)
// Layouts (ours): x [N, H, W, Cin4] vec4; w [K][K][Cin4][CoutP4] mat4x4 (CoutP4 = Cout4 rounded up to 4; column j
// = input channel 4·ci4 + j for 4 output channels); b [CoutP4] vec4; res, y [N, Ho, Wo, Cout4] vec4.
// One invocation per output vec4.
// Dispatch: ceil(N * Ho * Wo * Cout4 / 64)

struct Params {
  N: u32,
  H: u32,
  W: u32,
  Cin4: u32,
  Ho: u32,
  Wo: u32,
  Cout4: u32,
  K: u32,
  stride: u32,
  padTop: u32,
  padLeft: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> w: array<mat4x4<f32>>;
@group(0) @binding(3) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> res: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> y: array<vec4<f32>>;

// Set by the tool to our launch's fusions.
override ACT: u32 = 1;
override HAS_RES: bool = false;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 64u + lid;
  let Cout4 = params.Cout4;
  if (i >= params.N * params.Ho * params.Wo * Cout4) { return; }
  let co4 = i % Cout4;
  let pixel = i / Cout4;
  let ow = pixel % params.Wo;
  let oh = (pixel / params.Wo) % params.Ho;
  let n = pixel / (params.Wo * params.Ho);
  let coutP4 = (Cout4 + 3u) / 4u * 4u;
  var acc = b[co4];
  for (var kh = 0u; kh < params.K; kh++) {
    let ih = i32(oh * params.stride + kh) - i32(params.padTop);
    if (ih < 0 || ih >= i32(params.H)) { continue; }
    for (var kw = 0u; kw < params.K; kw++) {
      let iw = i32(ow * params.stride + kw) - i32(params.padLeft);
      if (iw < 0 || iw >= i32(params.W)) { continue; }
      let row = ((n * params.H + u32(ih)) * params.W + u32(iw)) * params.Cin4;
      for (var ci4 = 0u; ci4 < params.Cin4; ci4++) {
        acc += w[((kh * params.K + kw) * params.Cin4 + ci4) * coutP4 + co4] * x[row + ci4];
      }
    }
  }
  if (ACT == 1u) { acc = acc / (vec4<f32>(1.0) + exp(-acc)); }
  if (HAS_RES) { acc += res[i]; }
  y[i] = acc;
}
