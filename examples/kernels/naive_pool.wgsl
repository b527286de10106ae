// naive_pool: the global average pool for `effnet kernel-bench --op pool` (contract: kernels/README.md,
// "Bring your own kernel"), written as plainly as possible — a starting point for your own.
//   y[n, c] = (1 / HW) · Σ_{h,w} x[n, h, w, c]
// Layouts (ours): x [N, HW, C4] vec4 (NHWC, channels padded to vec4s), y [N, C4] vec4. count = N·C4.
// One invocation per output vec4, one accumulator.
// Dispatch: ceil(count / 64)

struct Params {
  count: u32,
  C4: u32,
  HW: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4<f32>>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 64u + lid;
  if (i >= params.count) { return; }
  let n = i / params.C4;
  let c4 = i % params.C4;
  var sum = vec4<f32>(0.0);
  for (var p = 0u; p < params.HW; p++) { sum += x[(n * params.HW + p) * params.C4 + c4]; }
  y[i] = sum / f32(params.HW);
}
