// elementwise: the unfused reference path — the standalone passes the engine fuses away — one kernel, the
// operation an override:
//   OP 0 (silu):  y = silu(x)                         (fused into every conv's epilogue)
//   OP 1 (add):   y = x + other                       (the residual add: pointwise HAS_RES fuses it)
//   OP 2 (scale): y = x · other[n, c]                 (the SE channel scale: pointwise SE_SCALE fuses it)
// No planned graph runs it: bench/kernels.ts times the fusions against it, and its kernel cases check each
// operation against float64 (add and scale bit for bit: one IEEE operation per element).
// Layouts: x, y (and `other` for add) viewed as `count` vec4s of one NHWC tensor, C padded to a multiple of 4
// with zeros (padding stays zero: silu(0) = 0 + 0 = 0 · g = 0); for scale, other is the gate [N, C4] vec4 and
// count = N·HW·C4. `other` is bound for silu too (a placeholder), as every kernel binds all it declares.
// One invocation: one vec4 (a linear workgroup index, see lib/grid.wgsl).
// Dispatch: ceil(count / WG)
// Accumulators: 4
// Serial: 1
//!include lib/act.wgsl
//!include lib/grid.wgsl

// C4 and HW (channel vec4s and pixels per image) are read by scale only.
struct Params { count: u32, C4: u32, HW: u32 }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> other: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> y: array<vec4<f32>>;

override OP: u32 = 0;
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(inv: Invocation) {
  let i = linear_invocation(inv, WG);
  if (i >= params.count) { return; }
  switch OP {
    case 1u: { y[i] = x[i] + other[i]; }
    case 2u: { y[i] = x[i] * other[(i / (params.HW * params.C4)) * params.C4 + i % params.C4]; }
    default: { y[i] = silu4(x[i]); }
  }
}
