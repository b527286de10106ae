// Register-tile bookkeeping shared by the direct convolutions (stem, fused_conv). An invocation owns TM
// consecutive output pixels of one output row × TN consecutive output vec4s; invocations are ordered output
// group fastest, then pixel tiles along W, H, N, so neighbouring invocations share input rows.
// The including kernel declares `params` (with N, Ho, Wo, Cout4), the overrides TM and TN, and
// `fn epilogue(acc: vec4<f32>, pix: u32, co4: u32)` that finishes and stores one output vec4.

// One pixel's accumulators for the TN output vec4s: members, not an array, so SwiftShader keeps them in registers.
struct Px {
  c0: vec4<f32>,
  c1: vec4<f32>,
  c2: vec4<f32>,
  c3: vec4<f32>,
}

struct ConvTile {
  n: u32,
  oh: u32,
  ow0: u32,
  co4: u32,
}

fn conv_tile_count() -> u32 {
  return params.N * params.Ho * ((params.Wo + TM - 1u) / TM) * ((params.Cout4 + TN - 1u) / TN);
}

fn conv_tile(i: u32) -> ConvTile {
  let groups = (params.Cout4 + TN - 1u) / TN;
  let tilesW = (params.Wo + TM - 1u) / TM;
  let t = i / groups;
  let r = t / tilesW;
  return ConvTile(r / params.Ho, r % params.Ho, (t % tilesW) * TM, (i % groups) * TN);
}

// Store one pixel's TN output vec4s; pixels past the row end (the last tile of a row) are dropped.
fn finish(a: Px, n: u32, oh: u32, ow: u32, co4: u32) {
  if (ow >= params.Wo) { return; }
  let pix = (n * params.Ho + oh) * params.Wo + ow;
  epilogue(a.c0, pix, co4);
  if (TN > 1u) { epilogue(a.c1, pix, co4 + 1u); }
  if (TN > 2u) { epilogue(a.c2, pix, co4 + 2u); }
  if (TN > 3u) { epilogue(a.c3, pix, co4 + 3u); }
}
