// pointwise_off_by_one: a 1×1 conv for `effnet kernel-bench --op pointwise` with a deliberate off-by-one, to
// show how the tool reports a kernel that is right on some layer shapes and wrong on others:
//   y[m, j] = act(Σ_k x[m, k] · g[n(m), k] · W[j, k] + b[j]) + res[m, j]
// where the SE gate's image index is computed as (m + 1) / HW instead of m / HW, so the last pixel of every
// image reads the next image's gate. Only the layers that apply the gate (SE_SCALE: the MBConv projections)
// are wrong; expansions, the head conv and the classifier pass.
// Layouts (ours): x [M, K4] vec4, w [K4, N4] mat4x4 (w[k4·N4 + j4] · x4 gives four outputs from four inputs),
// b [N4] vec4, se [N, K4] vec4, res and y [M, N4] vec4. One invocation per output vec4.
// Dispatch: ceil(M * N4 / 64)

struct Params {
  M: u32,
  K4: u32,
  N4: u32,
  HW: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> w: array<mat4x4<f32>>;
@group(0) @binding(3) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> se: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> res: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> y: array<vec4<f32>>;

// Set by the tool to our launch's fusions.
override ACT: u32 = 0;
override SE_SCALE: bool = false;
override HAS_RES: bool = false;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 64u + lid;
  if (i >= params.M * params.N4) { return; }
  let m = i / params.N4;
  let j = i % params.N4;
  let n = (m + 1u) / params.HW;
  var acc = b[j];
  for (var k = 0u; k < params.K4; k++) {
    var a = x[m * params.K4 + k];
    if (SE_SCALE) { a *= se[n * params.K4 + k]; }
    acc += w[k * params.N4 + j] * a;
  }
  if (ACT == 1u) { acc = acc / (vec4<f32>(1.0) + exp(-acc)); }
  if (HAS_RES) { acc += res[i]; }
  y[i] = acc;
}
