// channel_scale: y[n, h, w, c] = x[n, h, w, c] · se[n, c] — the SE gate applied as its own pass. The unfused
// reference: no planned graph uses it (the projection's prologue applies the gate, pointwise SE_SCALE);
// bench/kernels.ts times that fusion against it.
// Layouts: x, y NHWC with C padded to 4 (C4 vec4s per pixel); se [N, C4] vec4.
// One invocation: one vec4; its image is i / (HW·C4) and its channel group i % C4.
// Dispatch: ceil(count / WG) workgroups, count = N·HW·C4 (linear, see lib/grid.wgsl).
//!include lib/grid.wgsl

struct Params { count: u32, C4: u32, HW: u32 }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> se: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> y: array<vec4<f32>>;

override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = linear_workgroup(wid, nwg) * WG + lid;
  if (i >= params.count) { return; }
  let n = i / (params.HW * params.C4);
  y[i] = x[i] * se[n * params.C4 + i % params.C4];
}
