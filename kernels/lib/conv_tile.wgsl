// Register-tile bookkeeping shared by the direct convolutions (stem, fused_conv). An invocation owns TM
// consecutive output pixels of one output row × TN consecutive output vec4s; invocations are ordered output
// group fastest, then pixel tiles along W, H, N, so neighbouring invocations share input rows.
// This file holds the entry point `main`. The including kernel declares `params` (with N, Ho, Wo, Cout4), the
// overrides WG, TM and TN, `fn accumulate(tile: ConvTile) -> Tile` (its tap loop) and
// `fn epilogue(acc: vec4<f32>, pix: u32, co4: u32)` that finishes and stores one output vec4. The tap loops stay
// in the kernels because their input (3 strided floats or a vec4 per channel group) and weight matrix type
// (mat3x4 or mat4x4) differ, and WGSL has no generics: so do their `Wt` and `mac`.
// The tiles a tuning may choose (src/kernels/tile-space.ts): up to 16 pixels (Tile's fields) by 4 output vec4s
// (Px's), the groups of TN reading within the CoutP4 vec4s the weights are packed to (cout_p4 below):
// Tile: TM 1..16, TN 1..4, WG 1..256
// Requires: ceil(Cout4 / TN) * TN <= ceil(Cout4 / 4) * 4

// One pixel's accumulators for the TN output vec4s: members, not an array, so SwiftShader keeps them in registers.
struct Px {
  c0: vec4<f32>,
  c1: vec4<f32>,
  c2: vec4<f32>,
  c3: vec4<f32>,
}

// The TM pixels' accumulators, pixel t in field p<t> (named, for the same reason); fields past TM stay unused.
struct Tile {
  p0: Px, p1: Px, p2: Px, p3: Px, p4: Px, p5: Px, p6: Px, p7: Px,
  p8: Px, p9: Px, p10: Px, p11: Px, p12: Px, p13: Px, p14: Px, p15: Px,
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

// Weight matrices (kh, kw, [ci4,] co4) are padded to CoutP4 = Cout4 rounded up to a multiple of 4 output vec4s,
// so a group of TN (1, 2, 4, or 3 when it divides Cout4) reads in bounds.
fn cout_p4() -> u32 { return (params.Cout4 + 3u) & ~3u; }

// Store one pixel's TN output vec4s; pixels past the row end (the last tile of a row) are dropped.
fn finish(a: Px, n: u32, oh: u32, ow: u32, co4: u32) {
  if (ow >= params.Wo) { return; }
  let pix = (n * params.Ho + oh) * params.Wo + ow;
  epilogue(a.c0, pix, co4);
  if (TN > 1u) { epilogue(a.c1, pix, co4 + 1u); }
  if (TN > 2u) { epilogue(a.c2, pix, co4 + 2u); }
  if (TN > 3u) { epilogue(a.c3, pix, co4 + 3u); }
}

// Store a finished tile: field p<t> is output column ow0 + t.
fn finish_tile(a: Tile, t: ConvTile) {
  finish(a.p0, t.n, t.oh, t.ow0, t.co4);
  if (TM > 1u) { finish(a.p1, t.n, t.oh, t.ow0 + 1u, t.co4); }
  if (TM > 2u) { finish(a.p2, t.n, t.oh, t.ow0 + 2u, t.co4); }
  if (TM > 3u) { finish(a.p3, t.n, t.oh, t.ow0 + 3u, t.co4); }
  if (TM > 4u) { finish(a.p4, t.n, t.oh, t.ow0 + 4u, t.co4); }
  if (TM > 5u) { finish(a.p5, t.n, t.oh, t.ow0 + 5u, t.co4); }
  if (TM > 6u) { finish(a.p6, t.n, t.oh, t.ow0 + 6u, t.co4); }
  if (TM > 7u) { finish(a.p7, t.n, t.oh, t.ow0 + 7u, t.co4); }
  if (TM > 8u) { finish(a.p8, t.n, t.oh, t.ow0 + 8u, t.co4); }
  if (TM > 9u) { finish(a.p9, t.n, t.oh, t.ow0 + 9u, t.co4); }
  if (TM > 10u) { finish(a.p10, t.n, t.oh, t.ow0 + 10u, t.co4); }
  if (TM > 11u) { finish(a.p11, t.n, t.oh, t.ow0 + 11u, t.co4); }
  if (TM > 12u) { finish(a.p12, t.n, t.oh, t.ow0 + 12u, t.co4); }
  if (TM > 13u) { finish(a.p13, t.n, t.oh, t.ow0 + 13u, t.co4); }
  if (TM > 14u) { finish(a.p14, t.n, t.oh, t.ow0 + 14u, t.co4); }
  if (TM > 15u) { finish(a.p15, t.n, t.oh, t.ow0 + 15u, t.co4); }
}

@compute @workgroup_size(WG)
fn main(inv: Invocation) {
  let i = linear_invocation(inv, WG);
  if (i >= conv_tile_count()) { return; }
  let tile = conv_tile(i);
  finish_tile(accumulate(tile), tile);
}
