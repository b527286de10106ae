// softmax: y[n, k] = exp(x[n, k] - max_k x[n, k]) / Σ_k exp(x[n, k] - max_k x[n, k]) over the K logits of
// each row (numerically stable: the largest exponent is 0, so no overflow and the sum is ≥ 1).
// Layout: x and y are [N, K4] vec4 with K4 = ceil(K/4), row n at vec4 n·K4 — the logits densely in the
// first K lanes of the row, as the classifier (a 1×1 conv on a 1×1 map) writes its NHWC4 output. The
// K4·4 - K padding lanes are ignored on input and written 0.
// One workgroup per row: each invocation strides over the row's vec4s (max, then Σ exp, then the
// normalised write), with a tree reduction over workgroup memory after each of the first two passes.
// One workgroup per row (a linear workgroup index, see lib/grid.wgsl), one vec4 accumulator:
// Dispatch: N
// Accumulators: 4
// Longest dependent chain one invocation walks: three strided passes and two tree reductions.
// Serial: 3 * ceil(K4 / WG) + 2 * log2(WG)
//!include lib/grid.wgsl

struct Params {
  N: u32,
  K: u32,
  K4: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4<f32>>;

// A power of two (the tree reduction halves it).
override WG: u32 = 64;

var<workgroup> red: array<f32, WG>;

// Lanes of vec4 k4 that hold logits (the last vec4 of a row may be part padding).
fn live(k4: u32) -> vec4<bool> {
  return vec4<u32>(4u * k4) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(params.K);
}

fn reduce_max(lid: u32, v: f32) -> f32 {
  red[lid] = v;
  for (var span = WG / 2u; span > 0u; span /= 2u) {
    workgroupBarrier();
    if (lid < span) { red[lid] = max(red[lid], red[lid + span]); }
  }
  workgroupBarrier();
  let r = red[0];
  workgroupBarrier();
  return r;
}

fn reduce_sum(lid: u32, v: f32) -> f32 {
  red[lid] = v;
  for (var span = WG / 2u; span > 0u; span /= 2u) {
    workgroupBarrier();
    if (lid < span) { red[lid] = red[lid] + red[lid + span]; }
  }
  workgroupBarrier();
  let r = red[0];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let n = linear_workgroup(wid, nwg);
  if (n >= params.N) { return; }
  let K4 = params.K4;
  let row = n * K4;
  // -FLT_MAX: the max of any finite logits is at least this, and padding lanes never win.
  let lowest = vec4<f32>(-0x1.fffffep+127f);

  var m = lowest;
  for (var k4 = lid; k4 < K4; k4 += WG) { m = max(m, select(lowest, x[row + k4], live(k4))); }
  let mx = reduce_max(lid, max(max(m.x, m.y), max(m.z, m.w)));

  var s = vec4<f32>(0.0);
  for (var k4 = lid; k4 < K4; k4 += WG) { s += select(vec4<f32>(0.0), exp(x[row + k4] - mx), live(k4)); }
  let inv = 1.0 / reduce_sum(lid, (s.x + s.y) + (s.z + s.w));

  for (var k4 = lid; k4 < K4; k4 += WG) { y[row + k4] = select(vec4<f32>(0.0), exp(x[row + k4] - mx) * inv, live(k4)); }
}
