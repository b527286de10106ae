// pool_subgroup: global average pool, y[n, c] = (1 / HW) · Σ_{h,w} x[n, h, w, c], reduced with subgroup
// operations for adapters with the `subgroups` feature — the same result and layouts as pool.wgsl:
//   x [N, H, W, C4] vec4 (NHWC4), y [N, C4] vec4 (element (n, c) at vec4 n·C4 + c/4); padding stays 0.
// pool.wgsl gives each (image, channel vec4) to one invocation, which at batch 1 is a few hundred
// invocations walking HW pixels each: too few to fill a GPU. Here one workgroup of WG invocations reduces
// one (image, channel vec4): invocation l sums pixels l, l + WG, …, `subgroupAdd` folds each subgroup
// (any size the adapter has: 4 on SwiftShader, 32 on NVIDIA, up to 128), and the subgroups' sums meet in
// workgroup memory, added by invocation 0 in subgroup order (deterministic for a given adapter).
// Dispatch: count = N·C4 workgroups (linear, see lib/grid.wgsl).
enable subgroups;
//!include lib/grid.wgsl

struct Params {
  count: u32,
  C4: u32,
  HW: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4<f32>>;

override WG: u32 = 64;

// One slot per subgroup; the smallest subgroup WebGPU allows is 4 invocations.
var<workgroup> sums: array<vec4<f32>, WG / 4u>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32, @builtin(subgroup_size) sg_size: u32,
        @builtin(subgroup_invocation_id) sg_lane: u32) {
  // Uniform per workgroup, so a workgroup past the end leaves as a whole before any barrier.
  let i = linear_workgroup(wid, nwg);
  if (i >= params.count) { return; }
  let C4 = params.C4;
  let HW = params.HW;
  // i = n·C4 + c4, so image n's pixel 0 of this channel vec4 is at n·HW·C4 + c4.
  let base = (i / C4) * HW * C4 + i % C4;
  var s = vec4<f32>(0.0);
  for (var p = lid; p < HW; p += WG) { s += x[base + p * C4]; }
  s = subgroupAdd(s);
  // Subgroups hold consecutive local invocation indices, so lid / sg_size numbers them.
  if (sg_lane == 0u) { sums[lid / sg_size] = s; }
  workgroupBarrier();
  if (lid == 0u) {
    var total = vec4<f32>(0.0);
    for (var g = 0u; g < WG / sg_size; g++) { total += sums[g]; }
    y[i] = total / f32(HW);
  }
}
