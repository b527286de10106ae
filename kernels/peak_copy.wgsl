// peak_copy: the adapter's memory ceiling for the kernel-bench roofline (src/kernel-bench/ceilings.ts) — a
// straight copy y = x, each invocation moving one vec4 in each of `PER` consecutive blocks of the launch, so
// neighbouring invocations touch neighbouring addresses (coalesced) and every byte is read once, written once.
// Layouts: x, y are `count` vec4s; invocation t copies vec4s t, t + T, …, t + (PER-1)·T with T = ceil(count / PER).
// One invocation: PER vec4s (a linear workgroup index, see lib/grid.wgsl).
// Dispatch: ceil(ceil(count / PER) / WG)
// Accumulators: 4
// Serial: PER
//!include lib/grid.wgsl

struct Params { count: u32 }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4<f32>>;

override WG: u32 = 64;
override PER: u32 = 4;

@compute @workgroup_size(WG)
fn main(inv: Invocation) {
  let t = linear_invocation(inv, WG);
  let stride = (params.count + PER - 1u) / PER;
  if (t >= stride) { return; }
  for (var k = 0u; k < PER; k++) {
    let i = t + k * stride;
    if (i < params.count) { y[i] = x[i]; }
  }
}
