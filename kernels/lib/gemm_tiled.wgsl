// A workgroup-memory tiled GEMM for hardware GPUs, shared by the GEMM-shaped kernels (pointwise_tiled,
// fused_conv_tiled). The including kernel supplies the operands and the epilogue:
//   fn load_a(m: u32, k: u32) -> vec4<f32>       activation vec4 k of output row m; 0 outside M × K
//   fn load_b(k: u32, j: u32) -> mat4x4<f32>     weight block (k, j), column i = output channels 4j..4j+3
//                                                of the i-th channel of activation vec4 k; 0 outside K × N4
//   fn store(m: u32, j: u32, acc: vec4<f32>)     bias/activation/residual and the write; ignores m ≥ M, j ≥ N4
// One workgroup: a BM × BN output tile, BM = WG_M·TM rows by BN = WG_N·TN vec4 columns, walking K in
// stages of KT vec4s. Each stage the WG_M·WG_N invocations cooperatively copy the BM × KT activation block
// and the KT × BN weight block into workgroup memory (each global read once per tile instead of once per
// invocation), then each invocation multiplies its TM × TN register tile from there. Its rows are
// r = ty + i·WG_M and columns c = tx + j·WG_N (strided, so neighbouring invocations read neighbouring
// workgroup words), held in up to 4 × 4 named vec4 accumulators: ≤ 64 f32, which a GPU keeps in registers.
// Out-of-range rows and K steps load zeros, so the inner loop has no bounds tests.
// Split K (KS > 1, for grids too small to fill a big GPU: late projections, the head, the classifier at
// batch 1): KS slices of WG_M·WG_N invocations share the tile, a stage holds KT·KS vec4s of K and slice s
// multiplies its KT of them, so each invocation walks ceil(K / KS) steps instead of K. The slices' partial
// sums then join slice 0's by a fixed pairwise tree through workgroup memory (ceil(log2 KS) levels), so the
// reduction order — and every result bit — is the same on every run and device. Split tiles hold one
// accumulator (TM = TN = 1): their point is more, smaller tiles, not register reuse.
// Limits: BM·KT·KS ≤ 256 vec4 and KT·KS·BN ≤ 128 mat4x4 (4 KiB + 8 KiB of the 16 KiB of workgroup memory
// WebGPU guarantees); the host plans within them (src/kernels/gemm_tiles.ts), and a tuning file or the tuner
// can only choose tiles these lines allow (src/kernels/tile-space.ts):
// Tile: WG_M 1..256, WG_N 1..256, TM 1..4, TN 1..4, KT 1..256, KS 1..256
// Requires: WG_M * WG_N * KS <= 256 && WG_M * TM * KT * KS <= 256 && KT * KS * WG_N * TN <= 128 && (KS == 1 || TM * TN == 1)

// Invocations along rows and along vec4 columns; the workgroup has WG_M · WG_N of them.
override WG_M: u32 = 16;
override WG_N: u32 = 4;
// K slices (split K); 1 = none.
override KS: u32 = 1;
// The workgroup size, derived (never set by the host): a kernel's @workgroup_size names it.
override GEMM_WG: u32 = WG_M * WG_N * KS;
// Register tile per invocation: rows (1 to 4) and vec4 columns (1 to 4).
override TM: u32 = 4;
override TN: u32 = 4;
// K vec4s per slice per workgroup-memory stage.
override KT: u32 = 4;

const GEMM_MAX_A: u32 = 256u;
const GEMM_MAX_B: u32 = 128u;
var<workgroup> gemm_a: array<vec4<f32>, GEMM_MAX_A>;
var<workgroup> gemm_b: array<mat4x4<f32>, GEMM_MAX_B>;

// The tile at rows m0.., vec4 columns j0.., over K vec4s. Called by every invocation of the workgroup
// (the barriers need uniform control flow): a tile past the end still loads zeros and stores nothing.
fn gemm_tile(m0: u32, j0: u32, K: u32, lid: u32) {
  let BM = WG_M * TM;
  let BN = WG_N * TN;
  // K vec4s per stage, and this invocation's slice and place in the slice's WG_M × WG_N grid.
  let KTS = KT * KS;
  let slice_size = WG_M * WG_N;
  let s = lid / slice_size;
  let tx = (lid % slice_size) % WG_N;
  let ty = (lid % slice_size) / WG_N;
  let zero = vec4<f32>(0.0);
  var c00 = zero; var c01 = zero; var c02 = zero; var c03 = zero;
  var c10 = zero; var c11 = zero; var c12 = zero; var c13 = zero;
  var c20 = zero; var c21 = zero; var c22 = zero; var c23 = zero;
  var c30 = zero; var c31 = zero; var c32 = zero; var c33 = zero;
  for (var k0 = 0u; k0 < K; k0 += KTS) {
    for (var e = lid; e < BM * KTS; e += GEMM_WG) {
      gemm_a[e] = load_a(m0 + e / KTS, k0 + e % KTS);
    }
    for (var e = lid; e < KTS * BN; e += GEMM_WG) {
      gemm_b[e] = load_b(k0 + e / BN, j0 + e % BN);
    }
    workgroupBarrier();
    for (var kk = s * KT; kk < s * KT + KT; kk++) {
      let a0 = gemm_a[ty * KTS + kk];
      var a1 = zero; var a2 = zero; var a3 = zero;
      if (TM > 1u) { a1 = gemm_a[(ty + WG_M) * KTS + kk]; }
      if (TM > 2u) { a2 = gemm_a[(ty + 2u * WG_M) * KTS + kk]; }
      if (TM > 3u) { a3 = gemm_a[(ty + 3u * WG_M) * KTS + kk]; }
      let b0 = gemm_b[kk * BN + tx];
      c00 += b0 * a0; c10 += b0 * a1; c20 += b0 * a2; c30 += b0 * a3;
      if (TN > 1u) {
        let b1 = gemm_b[kk * BN + tx + WG_N];
        c01 += b1 * a0; c11 += b1 * a1; c21 += b1 * a2; c31 += b1 * a3;
      }
      if (TN > 2u) {
        let b2 = gemm_b[kk * BN + tx + 2u * WG_N];
        c02 += b2 * a0; c12 += b2 * a1; c22 += b2 * a2; c32 += b2 * a3;
      }
      if (TN > 3u) {
        let b3 = gemm_b[kk * BN + tx + 3u * WG_N];
        c03 += b3 * a0; c13 += b3 * a1; c23 += b3 * a2; c33 += b3 * a3;
      }
    }
    workgroupBarrier();
  }
  if (KS > 1u) {
    // The pairwise tree: at level h, slice s (a multiple of 2h) adds slice s + h's sum so far. gemm_a is
    // free (the K loop ended on a barrier) and holds one vec4 per invocation (GEMM_WG ≤ 256).
    for (var h = 1u; h < KS; h *= 2u) {
      gemm_a[lid] = c00;
      workgroupBarrier();
      if (s % (2u * h) == 0u && s + h < KS) { c00 += gemm_a[lid + h * slice_size]; }
      workgroupBarrier();
    }
    if (s != 0u) { return; }
  }
  gemm_store_row(m0 + ty, j0 + tx, c00, c01, c02, c03);
  if (TM > 1u) { gemm_store_row(m0 + ty + WG_M, j0 + tx, c10, c11, c12, c13); }
  if (TM > 2u) { gemm_store_row(m0 + ty + 2u * WG_M, j0 + tx, c20, c21, c22, c23); }
  if (TM > 3u) { gemm_store_row(m0 + ty + 3u * WG_M, j0 + tx, c30, c31, c32, c33); }
}

fn gemm_store_row(m: u32, j: u32, v0: vec4<f32>, v1: vec4<f32>, v2: vec4<f32>, v3: vec4<f32>) {
  store(m, j, v0);
  if (TN > 1u) { store(m, j + WG_N, v1); }
  if (TN > 2u) { store(m, j + 2u * WG_N, v2); }
  if (TN > 3u) { store(m, j + 3u * WG_N, v3); }
}
