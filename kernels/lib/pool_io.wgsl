// The pool op's interface, shared by pool.wgsl and pool_subgroup.wgsl so a planner can swap one for the other
// over the same tensors and bind group: count = N·C4 (image, channel vec4) pairs, HW pixels per image.

struct Params {
  count: u32,
  C4: u32,
  HW: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4<f32>>;
