// pool: global average pool, y[n, c] = (1 / HW) · Σ_{h,w} x[n, h, w, c] (the head, before the classifier).
// Layouts (vec4 = 4 channels, C4 = ceil(C/4)): x [N, H, W, C4] vec4 (NHWC4), y [N, C4] vec4, element
// (n, c) at vec4 n·C4 + c/4. Padding channels average zeros and stay 0.
// One invocation: one vec4 of channels of one image, summing its HW pixels (stride C4 vec4s apart) in
// four independent accumulators so consecutive loads do not wait on one add chain. Neighbouring
// invocations read neighbouring vec4s.
// count = N·C4 (a linear workgroup index, see lib/grid.wgsl); four independent vec4 sums:
// Dispatch: ceil(count / WG)
// Accumulators: 16
// Longest dependent chain one invocation walks: one invocation sums every position of its channel vec4.
// Serial: HW
//!include lib/grid.wgsl
//!include lib/pool_io.wgsl


override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(inv: Invocation) {
  let i = linear_invocation(inv, WG);
  if (i >= params.count) { return; }
  let C4 = params.C4;
  let HW = params.HW;
  // i = n·C4 + c4, so image n's pixel 0 of this channel vec4 is at n·HW·C4 + c4.
  var at = (i / C4) * HW * C4 + i % C4;
  var s0 = vec4<f32>(0.0); var s1 = vec4<f32>(0.0); var s2 = vec4<f32>(0.0); var s3 = vec4<f32>(0.0);
  var p = 0u;
  for (; p + 4u <= HW; p += 4u) {
    s0 += x[at]; s1 += x[at + C4]; s2 += x[at + 2u * C4]; s3 += x[at + 3u * C4];
    at += 4u * C4;
  }
  for (; p < HW; p++) {
    s0 += x[at];
    at += C4;
  }
  y[i] = ((s0 + s1) + (s2 + s3)) / f32(HW);
}
