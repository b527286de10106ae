// add: y = a + b, elementwise: the standalone residual add. The unfused reference: no planned graph uses it (the
// projection adds the residual in its epilogue, pointwise HAS_RES); bench/kernels.ts times that fusion against it.
// Layout: both inputs and the output viewed as `count` vec4s of the same NHWC (C padded to 4) tensor.
// One invocation: one vec4. Dispatch: ceil(count / WG) workgroups (linear, see lib/grid.wgsl).
//!include lib/grid.wgsl

struct Params { count: u32 }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> y: array<vec4<f32>>;

override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = linear_workgroup(wid, nwg) * WG + lid;
  if (i >= params.count) { return; }
  y[i] = a[i] + b[i];
}
