// naive_dwconv: a deliberately naive depthwise k×k conv + bias + SiLU for `effnet kernel-bench --op dwconv`
// (the contract: kernels/README.md, "Bring your own kernel"). Correct, and slower than kernels/dwconv.wgsl:
// one invocation per output vec4, every tap loaded from memory, none reused between neighbouring pixels.
//   y[n, oh, ow, c] = silu(b[c] + Σ_{kh,kw} x[n, oh·S + kh − padTop, ow·S + kw − padLeft, c] · w[kh, kw, c])
// Layouts (ours): x, y NHWC with channels padded to vec4s (C4 of them); w [K, K, C4] vec4; b [C4] vec4.
// SE squeeze (SQUEEZE): se_excite adds up the partial slots `part` [N, rowBlocks·strips, C4]; slot (rb, strip)
// covers output rows rb·rows .. +rows and columns strip·TW .. +TW. The invocation at a slot's first pixel
// recomputes the slot's outputs and writes their sum (naive again: those outputs are computed twice).
// Our Params has no image count: count = N·rowBlocks·strips·C4, so count / (rowBlocks·strips) = N·C4.
// Dispatch: ceil(count / (rowBlocks * strips) * Ho * Wo / 64)

struct Params {
  H: u32,
  W: u32,
  C4: u32,
  Ho: u32,
  Wo: u32,
  padTop: u32,
  padLeft: u32,
  strips: u32,
  rows: u32,
  rowBlocks: u32,
  count: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> y: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> part: array<vec4<f32>>;

// Set by the tool to our launch's values.
override K: u32 = 3;
override S: u32 = 1;
override TW: u32 = 8;
override SQUEEZE: bool = false;

fn conv_at(n: u32, oh: u32, ow: u32, c4: u32) -> vec4<f32> {
  var acc = b[c4];
  for (var kh = 0u; kh < K; kh++) {
    let ih = i32(oh * S + kh) - i32(params.padTop);
    if (ih < 0 || ih >= i32(params.H)) { continue; }
    for (var kw = 0u; kw < K; kw++) {
      let iw = i32(ow * S + kw) - i32(params.padLeft);
      if (iw < 0 || iw >= i32(params.W)) { continue; }
      acc += x[((n * params.H + u32(ih)) * params.W + u32(iw)) * params.C4 + c4] * w[(kh * K + kw) * params.C4 + c4];
    }
  }
  return acc / (vec4<f32>(1.0) + exp(-acc));
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  // The tool folds large workgroup counts into (x, y), as for every engine kernel.
  let i = (wid.x + wid.y * nwg.x) * 64u + lid;
  let C4 = params.C4;
  let images = params.count / (params.rowBlocks * params.strips * C4);
  if (i >= images * params.Ho * params.Wo * C4) { return; }
  let c4 = i % C4;
  let pixel = i / C4;
  let ow = pixel % params.Wo;
  let oh = (pixel / params.Wo) % params.Ho;
  let n = pixel / (params.Wo * params.Ho);
  y[i] = conv_at(n, oh, ow, c4);
  if (SQUEEZE && oh % params.rows == 0u && ow % TW == 0u) {
    var sum = vec4<f32>(0.0);
    for (var r = oh; r < min(oh + params.rows, params.Ho); r++) {
      for (var q = ow; q < min(ow + TW, params.Wo); q++) { sum += conv_at(n, r, q, c4); }
    }
    let slot = (n * params.rowBlocks + oh / params.rows) * params.strips + ow / TW;
    part[slot * C4 + c4] = sum;
  }
}
