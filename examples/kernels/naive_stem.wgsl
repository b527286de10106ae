// naive_stem: the network's first conv (3×3, stride 2, 3 input channels) + bias + SiLU for
// `effnet kernel-bench --op stem` (contract: kernels/README.md, "Bring your own kernel"), written as plainly as
// possible — a starting point for your own.
//   y[n, oh, ow, co] = silu(b[co] + Σ_{kh,kw,c} x'[n, c, 2·oh + kh − padTop, 2·ow + kw − padLeft] · w[co, c, kh, kw])
// x' = x · inScale + inShift inside the image, 0 outside it.
// Layouts (ours): x the raw input, element (n, c, h, w) at n·sN + c·sC + h·sH + w·sW; w [3][3][CoutP4] mat3x4
// (CoutP4 = Cout4 rounded up to 4; column c = input channel c for 4 output channels); b [CoutP4] vec4;
// y [N, Ho, Wo, Cout4] vec4.
// One invocation per output vec4.
// Dispatch: ceil(N * Ho * Wo * Cout4 / 64)

struct Params {
  N: u32,
  H: u32,
  W: u32,
  Ho: u32,
  Wo: u32,
  Cout4: u32,
  padTop: u32,
  padLeft: u32,
  sN: u32,
  sC: u32,
  sH: u32,
  sW: u32,
  inScale: vec4<f32>,
  inShift: vec4<f32>,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<mat3x4<f32>>;
@group(0) @binding(3) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> y: array<vec4<f32>>;

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
  for (var kh = 0u; kh < 3u; kh++) {
    let ih = i32(2u * oh + kh) - i32(params.padTop);
    if (ih < 0 || ih >= i32(params.H)) { continue; }
    for (var kw = 0u; kw < 3u; kw++) {
      let iw = i32(2u * ow + kw) - i32(params.padLeft);
      if (iw < 0 || iw >= i32(params.W)) { continue; }
      let at = n * params.sN + u32(ih) * params.sH + u32(iw) * params.sW;
      let rgb = vec3<f32>(x[at], x[at + params.sC], x[at + 2u * params.sC]) * params.inScale.xyz + params.inShift.xyz;
      acc += w[(kh * 3u + kw) * coutP4 + co4] * rgb;
    }
  }
  y[i] = acc / (vec4<f32>(1.0) + exp(-acc));
}
