// peak_fma: the adapter's arithmetic ceiling for the kernel-bench roofline (src/kernel-bench/ceilings.ts) —
// `iters` rounds of 8 independent vec4 chains a ← a·m + c, so 32 multiply-adds per round issue back to back
// with no memory traffic but one vec4 load and one store per invocation.
// Layouts: x, y are `count` vec4s; y[i] = Σ over the 8 chains of chain j started at x[i] + j·0.125, after `iters`
// rounds with m = params.m, c = params.c (|m| < 1 keeps every value bounded for the float64 reference).
// One invocation: one vec4 of y (a linear workgroup index, see lib/grid.wgsl).
// Dispatch: ceil(count / WG)
// Accumulators: 32
// Serial: iters
//!include lib/grid.wgsl

struct Params { count: u32, iters: u32, m: f32, c: f32 }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4<f32>>;

override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(inv: Invocation) {
  let i = linear_invocation(inv, WG);
  if (i >= params.count) { return; }
  let m = vec4<f32>(params.m);
  let c = vec4<f32>(params.c);
  let x0 = x[i];
  var a0 = x0;
  var a1 = x0 + 0.125;
  var a2 = x0 + 0.25;
  var a3 = x0 + 0.375;
  var a4 = x0 + 0.5;
  var a5 = x0 + 0.625;
  var a6 = x0 + 0.75;
  var a7 = x0 + 0.875;
  for (var r = 0u; r < params.iters; r++) {
    a0 = fma(a0, m, c);
    a1 = fma(a1, m, c);
    a2 = fma(a2, m, c);
    a3 = fma(a3, m, c);
    a4 = fma(a4, m, c);
    a5 = fma(a5, m, c);
    a6 = fma(a6, m, c);
    a7 = fma(a7, m, c);
  }
  y[i] = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7));
}
