// pool_subgroup: global average pool, y[n, c] = (1 / HW) · Σ_{h,w} x[n, h, w, c], reduced with subgroup
// operations for adapters with the `subgroups` feature — the same result and layouts as pool.wgsl:
//   x [N, H, W, C4] vec4 (NHWC4), y [N, C4] vec4 (element (n, c) at vec4 n·C4 + c/4); padding stays 0.
// pool.wgsl gives each (image, channel vec4) to one invocation, which at batch 1 is a few hundred
// invocations walking HW pixels each: too few to fill a GPU. Here one workgroup of WG invocations reduces
// one (image, channel vec4): invocation l sums pixels l, l + WG, …, and `subgroupAdd` gives every lane its
// subgroup's total.
// It assumes nothing of the subgroups (WebGPU promises neither their size, 4 to 128, nor which invocations
// share one): exactly one lane per subgroup — the one `subgroupElect` picks — keeps its subgroup's total in
// its own workgroup slot `sums[lid]`, every other lane a zero, and a tree over all WG slots adds them up. The
// tree's order is fixed by the slots, so the sum is the same on every run of an adapter; a subgroup wider
// than the workgroup (only its WG lanes are active) or a workgroup split into any number of subgroups in any
// lane order gives the same total.
// One workgroup per (image, channel vec4), count = N·C4 (a linear workgroup index, see lib/grid.wgsl):
// Dispatch: count
// Accumulators: 4
// Longest dependent chain one invocation walks: a strided sum, then the tree over workgroup slots.
// Serial: ceil(HW / WG) + log2(WG)
enable subgroups;
//!include lib/grid.wgsl
//!include lib/pool_io.wgsl


// A power of two (the tree halves it), at most 256.
override WG: u32 = 64;

var<workgroup> sums: array<vec4<f32>, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  // Uniform per workgroup, so a workgroup past the end leaves as a whole before any barrier.
  let i = linear_workgroup(wid, nwg);
  if (i >= params.count) { return; }
  let C4 = params.C4;
  let HW = params.HW;
  // i = n·C4 + c4, so image n's pixel 0 of this channel vec4 is at n·HW·C4 + c4.
  let base = (i / C4) * HW * C4 + i % C4;
  var s = vec4<f32>(0.0);
  for (var p = lid; p < HW; p += WG) { s += x[base + p * C4]; }
  let total = subgroupAdd(s);
  sums[lid] = select(vec4<f32>(0.0), total, subgroupElect());
  workgroupBarrier();
  for (var half = WG / 2u; half > 0u; half /= 2u) {
    if (lid < half) { sums[lid] += sums[lid + half]; }
    workgroupBarrier();
  }
  if (lid == 0u) { y[i] = sums[0] / f32(HW); }
}
