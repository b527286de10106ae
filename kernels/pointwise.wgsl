// pointwise: 1×1 convolution as a GEMM over the flattened pixels (also the head conv and the classifier),
//   y[m, j] = act( Σ_k x[m, k] · g[n(m), k] · W[j, k] + bias[j] ) + res[m, j]
// m = (n·H + h)·W + w runs over the M = N·H·W pixels (the classifier is H = W = 1: one row per image),
// k over Cin, j over Cout; n(m) = m / HW is the row's image. Fusions, each an override:
//   SE_SCALE: g is the SE gate of the row's own image, so the MBConv projection reads the gated tensor
//     without it ever being written; otherwise g = 1.
//   ACT = 1: SiLU after the bias; 0: none.
//   HAS_RES: + res after the activation. Only projections have a residual and they have no activation,
//     so this order and torchvision's (activation-free projection, then add) agree.
// Layouts (C4 = ceil(C/4), padding channels 0):
//   x   [M, K4] vec4, the NHWC4 input (K4 = ceil(Cin/4))
//   w   [K4, N4] mat4x4 (N4 = ceil(Cout/4)): block (k4, j4) has column i = output channels 4·j4 .. 4·j4+3
//       of input channel 4·k4 + i, so `w[k4·N4 + j4] * x4` is what four input channels give four output
//       channels. Zero outside Cin × Cout.
//   b   [N4] vec4, zero padded
//   se  [N, K4] vec4 gate per (image, input channel); read only when SE_SCALE
//   res [M, N4] vec4; read only when HAS_RES
//   y   [M, N4] vec4, the NHWC4 output
// Padding outputs stay 0: their weights and bias lanes are 0, silu(0) = 0 and res's padding is 0.
// One invocation: a TM × TN register tile — TM ≤ 16 rows by TN ≤ 8 vec4 columns — held in named vec4
// accumulators (SwiftShader keeps private arrays indexed in a loop in memory, kernels/README.md). Each K
// step (four input channels) loads TM x vec4s and TN weight blocks and does TM·TN block products:
// SwiftShader gathers every loaded scalar lane by lane, and a large tile is what amortises that. TM and
// TN are constant-folded, so rows and columns beyond them are dead code and every tile up to 16 × 8 is
// this one body. Invocations walk the column tiles fastest, so neighbours share their x rows. The
// epilogue (activation, residual, store) then runs over the finished tile from `tile` below.
// With SE_SCALE the host keeps TM ≤ H·W, so a tile's rows span at most two images (it straddles an image
// boundary when H·W is not a multiple of TM): rows before `split` take image n0's gate, the rest n1's —
// two gate loads per K step instead of one per row.
// A linear workgroup index (see lib/grid.wgsl); a TM × TN register tile of vec4s:
// Dispatch: ceil(ceil(M / TM) * ceil(N4 / TN) / WG)
// Accumulators: 4 * TM * TN
// Longest dependent chain one invocation walks: the K loop over input vec4s.
// Serial: K4
// Tile: TM 1..16, TN 1..8, WG 1..256
// Requires: SE_SCALE == 0 || TM <= HW
//!include lib/grid.wgsl
//!include lib/pointwise_io.wgsl

// Register tile: rows (1 to 16) and vec4 columns (1 to 8) per invocation.
override TM: u32 = 8;
override TN: u32 = 4;
override WG: u32 = 64;

// The finished tile, row r at [8·r, 8·r + TN). The accumulators leave their registers here right after
// the K loop, and the epilogue below is one loop body rather than TM·TN inlined copies each keeping
// every accumulator live: that halves SwiftShader's compile time for a large tile, for one extra private
// read per output.
var<private> tile: array<vec4<f32>, 128>;

// x vec4 `i` of a row, gated by the row's image (g0 before the tile's image split, g1 after).
fn load_a(i: u32, second: bool, g0: vec4<f32>, g1: vec4<f32>) -> vec4<f32> {
  if (SE_SCALE) { return x[i] * select(g0, g1, second); }
  return x[i];
}

fn put_row(r: u32, v0: vec4<f32>, v1: vec4<f32>, v2: vec4<f32>, v3: vec4<f32>,
           v4: vec4<f32>, v5: vec4<f32>, v6: vec4<f32>, v7: vec4<f32>) {
  tile[8u * r] = v0;
  if (TN > 1u) { tile[8u * r + 1u] = v1; }
  if (TN > 2u) { tile[8u * r + 2u] = v2; }
  if (TN > 3u) { tile[8u * r + 3u] = v3; }
  if (TN > 4u) { tile[8u * r + 4u] = v4; }
  if (TN > 5u) { tile[8u * r + 5u] = v5; }
  if (TN > 6u) { tile[8u * r + 6u] = v6; }
  if (TN > 7u) { tile[8u * r + 7u] = v7; }
}

@compute @workgroup_size(WG)
fn main(inv: Invocation) {
  let M = params.M;
  let K4 = params.K4;
  let N4 = params.N4;
  let tiles_n = (N4 + TN - 1u) / TN;
  let t = linear_invocation(inv, WG);
  let m0 = (t / tiles_n) * TM;
  if (m0 >= M) { return; }
  let j0 = (t % tiles_n) * TN;
  // Rows past M and columns past N4 re-read the last real one, so the K loop needs no bounds tests; the
  // epilogue does not store them.
  let last = M - 1u;
  let n1 = min(m0 + TM - 1u, last) / params.HW;
  let split = n1 * params.HW;
  let s0 = m0 / params.HW * K4;
  let s1 = n1 * K4;
  let j1 = min(j0 + 1u, N4 - 1u); let j2 = min(j0 + 2u, N4 - 1u); let j3 = min(j0 + 3u, N4 - 1u);
  let j4 = min(j0 + 4u, N4 - 1u); let j5 = min(j0 + 5u, N4 - 1u); let j6 = min(j0 + 6u, N4 - 1u);
  let j7 = min(j0 + 7u, N4 - 1u);
  let x0 = min(m0, last) * K4; let h0 = m0 >= split;
  let x1 = min(m0 + 1u, last) * K4; let h1 = m0 + 1u >= split;
  let x2 = min(m0 + 2u, last) * K4; let h2 = m0 + 2u >= split;
  let x3 = min(m0 + 3u, last) * K4; let h3 = m0 + 3u >= split;
  let x4 = min(m0 + 4u, last) * K4; let h4 = m0 + 4u >= split;
  let x5 = min(m0 + 5u, last) * K4; let h5 = m0 + 5u >= split;
  let x6 = min(m0 + 6u, last) * K4; let h6 = m0 + 6u >= split;
  let x7 = min(m0 + 7u, last) * K4; let h7 = m0 + 7u >= split;
  let x8 = min(m0 + 8u, last) * K4; let h8 = m0 + 8u >= split;
  let x9 = min(m0 + 9u, last) * K4; let h9 = m0 + 9u >= split;
  let x10 = min(m0 + 10u, last) * K4; let h10 = m0 + 10u >= split;
  let x11 = min(m0 + 11u, last) * K4; let h11 = m0 + 11u >= split;
  let x12 = min(m0 + 12u, last) * K4; let h12 = m0 + 12u >= split;
  let x13 = min(m0 + 13u, last) * K4; let h13 = m0 + 13u >= split;
  let x14 = min(m0 + 14u, last) * K4; let h14 = m0 + 14u >= split;
  let x15 = min(m0 + 15u, last) * K4; let h15 = m0 + 15u >= split;
  let zero = vec4<f32>(0.0);
  var c0_0 = zero; var c0_1 = zero; var c0_2 = zero; var c0_3 = zero; var c0_4 = zero; var c0_5 = zero; var c0_6 = zero; var c0_7 = zero;
  var c1_0 = zero; var c1_1 = zero; var c1_2 = zero; var c1_3 = zero; var c1_4 = zero; var c1_5 = zero; var c1_6 = zero; var c1_7 = zero;
  var c2_0 = zero; var c2_1 = zero; var c2_2 = zero; var c2_3 = zero; var c2_4 = zero; var c2_5 = zero; var c2_6 = zero; var c2_7 = zero;
  var c3_0 = zero; var c3_1 = zero; var c3_2 = zero; var c3_3 = zero; var c3_4 = zero; var c3_5 = zero; var c3_6 = zero; var c3_7 = zero;
  var c4_0 = zero; var c4_1 = zero; var c4_2 = zero; var c4_3 = zero; var c4_4 = zero; var c4_5 = zero; var c4_6 = zero; var c4_7 = zero;
  var c5_0 = zero; var c5_1 = zero; var c5_2 = zero; var c5_3 = zero; var c5_4 = zero; var c5_5 = zero; var c5_6 = zero; var c5_7 = zero;
  var c6_0 = zero; var c6_1 = zero; var c6_2 = zero; var c6_3 = zero; var c6_4 = zero; var c6_5 = zero; var c6_6 = zero; var c6_7 = zero;
  var c7_0 = zero; var c7_1 = zero; var c7_2 = zero; var c7_3 = zero; var c7_4 = zero; var c7_5 = zero; var c7_6 = zero; var c7_7 = zero;
  var c8_0 = zero; var c8_1 = zero; var c8_2 = zero; var c8_3 = zero; var c8_4 = zero; var c8_5 = zero; var c8_6 = zero; var c8_7 = zero;
  var c9_0 = zero; var c9_1 = zero; var c9_2 = zero; var c9_3 = zero; var c9_4 = zero; var c9_5 = zero; var c9_6 = zero; var c9_7 = zero;
  var c10_0 = zero; var c10_1 = zero; var c10_2 = zero; var c10_3 = zero; var c10_4 = zero; var c10_5 = zero; var c10_6 = zero; var c10_7 = zero;
  var c11_0 = zero; var c11_1 = zero; var c11_2 = zero; var c11_3 = zero; var c11_4 = zero; var c11_5 = zero; var c11_6 = zero; var c11_7 = zero;
  var c12_0 = zero; var c12_1 = zero; var c12_2 = zero; var c12_3 = zero; var c12_4 = zero; var c12_5 = zero; var c12_6 = zero; var c12_7 = zero;
  var c13_0 = zero; var c13_1 = zero; var c13_2 = zero; var c13_3 = zero; var c13_4 = zero; var c13_5 = zero; var c13_6 = zero; var c13_7 = zero;
  var c14_0 = zero; var c14_1 = zero; var c14_2 = zero; var c14_3 = zero; var c14_4 = zero; var c14_5 = zero; var c14_6 = zero; var c14_7 = zero;
  var c15_0 = zero; var c15_1 = zero; var c15_2 = zero; var c15_3 = zero; var c15_4 = zero; var c15_5 = zero; var c15_6 = zero; var c15_7 = zero;
  var wk = 0u;
  for (var k = 0u; k < K4; k++) {
    var g0 = zero;
    var g1 = zero;
    if (SE_SCALE) {
      g0 = se[s0 + k];
      g1 = se[s1 + k];
    }
    let b0 = w[wk + j0]; let b1 = w[wk + j1]; let b2 = w[wk + j2]; let b3 = w[wk + j3];
    let b4 = w[wk + j4]; let b5 = w[wk + j5]; let b6 = w[wk + j6]; let b7 = w[wk + j7];
    let a0 = load_a(x0 + k, h0, g0, g1); let a1 = load_a(x1 + k, h1, g0, g1); let a2 = load_a(x2 + k, h2, g0, g1); let a3 = load_a(x3 + k, h3, g0, g1);
    let a4 = load_a(x4 + k, h4, g0, g1); let a5 = load_a(x5 + k, h5, g0, g1); let a6 = load_a(x6 + k, h6, g0, g1); let a7 = load_a(x7 + k, h7, g0, g1);
    let a8 = load_a(x8 + k, h8, g0, g1); let a9 = load_a(x9 + k, h9, g0, g1); let a10 = load_a(x10 + k, h10, g0, g1); let a11 = load_a(x11 + k, h11, g0, g1);
    let a12 = load_a(x12 + k, h12, g0, g1); let a13 = load_a(x13 + k, h13, g0, g1); let a14 = load_a(x14 + k, h14, g0, g1); let a15 = load_a(x15 + k, h15, g0, g1);
    c0_0 += b0 * a0; c0_1 += b1 * a0; c0_2 += b2 * a0; c0_3 += b3 * a0; c0_4 += b4 * a0; c0_5 += b5 * a0; c0_6 += b6 * a0; c0_7 += b7 * a0;
    c1_0 += b0 * a1; c1_1 += b1 * a1; c1_2 += b2 * a1; c1_3 += b3 * a1; c1_4 += b4 * a1; c1_5 += b5 * a1; c1_6 += b6 * a1; c1_7 += b7 * a1;
    c2_0 += b0 * a2; c2_1 += b1 * a2; c2_2 += b2 * a2; c2_3 += b3 * a2; c2_4 += b4 * a2; c2_5 += b5 * a2; c2_6 += b6 * a2; c2_7 += b7 * a2;
    c3_0 += b0 * a3; c3_1 += b1 * a3; c3_2 += b2 * a3; c3_3 += b3 * a3; c3_4 += b4 * a3; c3_5 += b5 * a3; c3_6 += b6 * a3; c3_7 += b7 * a3;
    c4_0 += b0 * a4; c4_1 += b1 * a4; c4_2 += b2 * a4; c4_3 += b3 * a4; c4_4 += b4 * a4; c4_5 += b5 * a4; c4_6 += b6 * a4; c4_7 += b7 * a4;
    c5_0 += b0 * a5; c5_1 += b1 * a5; c5_2 += b2 * a5; c5_3 += b3 * a5; c5_4 += b4 * a5; c5_5 += b5 * a5; c5_6 += b6 * a5; c5_7 += b7 * a5;
    c6_0 += b0 * a6; c6_1 += b1 * a6; c6_2 += b2 * a6; c6_3 += b3 * a6; c6_4 += b4 * a6; c6_5 += b5 * a6; c6_6 += b6 * a6; c6_7 += b7 * a6;
    c7_0 += b0 * a7; c7_1 += b1 * a7; c7_2 += b2 * a7; c7_3 += b3 * a7; c7_4 += b4 * a7; c7_5 += b5 * a7; c7_6 += b6 * a7; c7_7 += b7 * a7;
    c8_0 += b0 * a8; c8_1 += b1 * a8; c8_2 += b2 * a8; c8_3 += b3 * a8; c8_4 += b4 * a8; c8_5 += b5 * a8; c8_6 += b6 * a8; c8_7 += b7 * a8;
    c9_0 += b0 * a9; c9_1 += b1 * a9; c9_2 += b2 * a9; c9_3 += b3 * a9; c9_4 += b4 * a9; c9_5 += b5 * a9; c9_6 += b6 * a9; c9_7 += b7 * a9;
    c10_0 += b0 * a10; c10_1 += b1 * a10; c10_2 += b2 * a10; c10_3 += b3 * a10; c10_4 += b4 * a10; c10_5 += b5 * a10; c10_6 += b6 * a10; c10_7 += b7 * a10;
    c11_0 += b0 * a11; c11_1 += b1 * a11; c11_2 += b2 * a11; c11_3 += b3 * a11; c11_4 += b4 * a11; c11_5 += b5 * a11; c11_6 += b6 * a11; c11_7 += b7 * a11;
    c12_0 += b0 * a12; c12_1 += b1 * a12; c12_2 += b2 * a12; c12_3 += b3 * a12; c12_4 += b4 * a12; c12_5 += b5 * a12; c12_6 += b6 * a12; c12_7 += b7 * a12;
    c13_0 += b0 * a13; c13_1 += b1 * a13; c13_2 += b2 * a13; c13_3 += b3 * a13; c13_4 += b4 * a13; c13_5 += b5 * a13; c13_6 += b6 * a13; c13_7 += b7 * a13;
    c14_0 += b0 * a14; c14_1 += b1 * a14; c14_2 += b2 * a14; c14_3 += b3 * a14; c14_4 += b4 * a14; c14_5 += b5 * a14; c14_6 += b6 * a14; c14_7 += b7 * a14;
    c15_0 += b0 * a15; c15_1 += b1 * a15; c15_2 += b2 * a15; c15_3 += b3 * a15; c15_4 += b4 * a15; c15_5 += b5 * a15; c15_6 += b6 * a15; c15_7 += b7 * a15;
    wk += N4;
  }
  let d0 = b[j0]; let d1 = b[j1]; let d2 = b[j2]; let d3 = b[j3]; let d4 = b[j4]; let d5 = b[j5]; let d6 = b[j6]; let d7 = b[j7];
  put_row(0u, c0_0 + d0, c0_1 + d1, c0_2 + d2, c0_3 + d3, c0_4 + d4, c0_5 + d5, c0_6 + d6, c0_7 + d7);
  if (TM > 1u) { put_row(1u, c1_0 + d0, c1_1 + d1, c1_2 + d2, c1_3 + d3, c1_4 + d4, c1_5 + d5, c1_6 + d6, c1_7 + d7); }
  if (TM > 2u) { put_row(2u, c2_0 + d0, c2_1 + d1, c2_2 + d2, c2_3 + d3, c2_4 + d4, c2_5 + d5, c2_6 + d6, c2_7 + d7); }
  if (TM > 3u) { put_row(3u, c3_0 + d0, c3_1 + d1, c3_2 + d2, c3_3 + d3, c3_4 + d4, c3_5 + d5, c3_6 + d6, c3_7 + d7); }
  if (TM > 4u) { put_row(4u, c4_0 + d0, c4_1 + d1, c4_2 + d2, c4_3 + d3, c4_4 + d4, c4_5 + d5, c4_6 + d6, c4_7 + d7); }
  if (TM > 5u) { put_row(5u, c5_0 + d0, c5_1 + d1, c5_2 + d2, c5_3 + d3, c5_4 + d4, c5_5 + d5, c5_6 + d6, c5_7 + d7); }
  if (TM > 6u) { put_row(6u, c6_0 + d0, c6_1 + d1, c6_2 + d2, c6_3 + d3, c6_4 + d4, c6_5 + d5, c6_6 + d6, c6_7 + d7); }
  if (TM > 7u) { put_row(7u, c7_0 + d0, c7_1 + d1, c7_2 + d2, c7_3 + d3, c7_4 + d4, c7_5 + d5, c7_6 + d6, c7_7 + d7); }
  if (TM > 8u) { put_row(8u, c8_0 + d0, c8_1 + d1, c8_2 + d2, c8_3 + d3, c8_4 + d4, c8_5 + d5, c8_6 + d6, c8_7 + d7); }
  if (TM > 9u) { put_row(9u, c9_0 + d0, c9_1 + d1, c9_2 + d2, c9_3 + d3, c9_4 + d4, c9_5 + d5, c9_6 + d6, c9_7 + d7); }
  if (TM > 10u) { put_row(10u, c10_0 + d0, c10_1 + d1, c10_2 + d2, c10_3 + d3, c10_4 + d4, c10_5 + d5, c10_6 + d6, c10_7 + d7); }
  if (TM > 11u) { put_row(11u, c11_0 + d0, c11_1 + d1, c11_2 + d2, c11_3 + d3, c11_4 + d4, c11_5 + d5, c11_6 + d6, c11_7 + d7); }
  if (TM > 12u) { put_row(12u, c12_0 + d0, c12_1 + d1, c12_2 + d2, c12_3 + d3, c12_4 + d4, c12_5 + d5, c12_6 + d6, c12_7 + d7); }
  if (TM > 13u) { put_row(13u, c13_0 + d0, c13_1 + d1, c13_2 + d2, c13_3 + d3, c13_4 + d4, c13_5 + d5, c13_6 + d6, c13_7 + d7); }
  if (TM > 14u) { put_row(14u, c14_0 + d0, c14_1 + d1, c14_2 + d2, c14_3 + d3, c14_4 + d4, c14_5 + d5, c14_6 + d6, c14_7 + d7); }
  if (TM > 15u) { put_row(15u, c15_0 + d0, c15_1 + d1, c15_2 + d2, c15_3 + d3, c15_4 + d4, c15_5 + d5, c15_6 + d6, c15_7 + d7); }
  let rows = min(TM, M - m0);
  let cols = min(TN, N4 - j0);
  for (var r = 0u; r < rows; r++) {
    for (var c = 0u; c < cols; c++) {
      finish_output((m0 + r) * N4 + j0 + c, tile[8u * r + c]);
    }
  }
}
