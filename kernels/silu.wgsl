// silu: y = x * sigmoid(x), elementwise. The unfused reference: no planned graph uses it (every conv epilogue
// applies silu4 itself); the kernel cases check it against float64, as they do the fused epilogues.
// Layout: any tensor viewed as `count` vec4s (NHWC with C padded to a multiple of 4 keeps padding at 0,
// and silu(0) = 0, so padded channels stay zero).
// One invocation: one vec4. Dispatch: ceil(count / WG) workgroups (linear, see lib/grid.wgsl).
//!include lib/act.wgsl
//!include lib/grid.wgsl

struct Params { count: u32 }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4<f32>>;

override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = linear_workgroup(wid, nwg) * WG + lid;
  if (i >= params.count) { return; }
  y[i] = silu4(x[i]);
}
