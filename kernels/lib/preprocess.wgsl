// The preprocessing kernels' shared body (preprocess.wgsl reads an RGBA8 storage buffer, preprocess_texture.wgsl
// an rgba8unorm texture): the uniform Params, the overrides, the resamplers, the normalisation and the entry point
// `main`, so both produce the same floats from the same pixels. The including kernel declares the bindings
// `params: Params` and `y: array<f32>` (the output) and `fn texel(ix: i32, iy: i32) -> vec4<f32>`: the source
// pixel (ix, iy) — always inside the tap window, which lies inside the image — as R, G, B, A in byte units
// (0..255, integral), and includes lib/grid.wgsl (`main` uses it) before this file. What the kernels compute, their
// layouts and dispatch: the header of preprocess.wgsl.

struct Params {
  // The source's width in pixels: the buffer kernel's row stride (a texture knows its own).
  srcW: u32,
  outW: u32,
  outH: u32,
  n: u32,
  sN: u32,
  sC: u32,
  sH: u32,
  sW: u32,
  loX: i32,
  hiX: i32,
  loY: i32,
  hiY: i32,
  x0: f32,
  y0: f32,
  stepX: f32,
  stepY: f32,
  scale: vec4<f32>,
  shift: vec4<f32>,
}

override WG: u32 = 64;
override MODE: u32 = 0;
override ANTIALIAS: bool = false;

fn clamped(ix: i32, iy: i32) -> vec4<f32> {
  return texel(clamp(ix, params.loX, params.hiX), clamp(iy, params.loY, params.hiY));
}

// a + (b − a)·t rather than mix(): the form TF's kernel evaluates, so MODE 0 rounds as the reference does.
fn lerp(a: vec4<f32>, b: vec4<f32>, t: f32) -> vec4<f32> { return a + (b - a) * t; }

// The samplers take positions relative to the integer pixel `base` (floor of the crop origin): for an
// integer crop origin the fractional arithmetic is then exactly the crop-local arithmetic of a resize of
// the sliced crop, with no rounding from adding a large offset first.
fn bilinear(base: vec2<i32>, s: vec2<f32>) -> vec4<f32> {
  let f = floor(s);
  let t = s - f;
  let i = base + vec2<i32>(f);
  let top = lerp(clamped(i.x, i.y), clamped(i.x + 1, i.y), t.x);
  let bottom = lerp(clamped(i.x, i.y + 1), clamped(i.x + 1, i.y + 1), t.x);
  return lerp(top, bottom, t.y);
}

// Keys cubic weights, a = −0.75, of the taps at offsets −1, 0, 1, 2 from floor(s), for t = s − floor(s).
fn cubicWeights(t: f32) -> vec4<f32> {
  let a = -0.75;
  let d = vec4<f32>(t + 1.0, t, 1.0 - t, 2.0 - t);
  let near = ((a + 2.0) * d - (a + 3.0)) * d * d + 1.0;
  let far = ((a * d - 5.0 * a) * d + 8.0 * a) * d - 4.0 * a;
  return vec4<f32>(far.x, near.y, near.z, far.w);
}

fn cubicRow(ix: i32, iy: i32, wx: vec4<f32>) -> vec4<f32> {
  return wx.x * clamped(ix - 1, iy) + wx.y * clamped(ix, iy) + wx.z * clamped(ix + 1, iy) + wx.w * clamped(ix + 2, iy);
}

fn bicubic(base: vec2<i32>, s: vec2<f32>) -> vec4<f32> {
  let f = floor(s);
  let i = base + vec2<i32>(f);
  let wx = cubicWeights(s.x - f.x);
  let wy = cubicWeights(s.y - f.y);
  return wy.x * cubicRow(i.x, i.y - 1, wx) + wy.y * cubicRow(i.x, i.y, wx) + wy.z * cubicRow(i.x, i.y + 1, wx) + wy.w * cubicRow(i.x, i.y + 2, wx);
}

// The antialiasing filter at distance d (in filter units): triangle for MODE 1, Keys a = −0.5 for MODE 2.
fn aaFilter(d: f32) -> f32 {
  let x = abs(d);
  if (MODE == 1u) { return max(0.0, 1.0 - x); }
  if (x < 1.0) { return (1.5 * x - 2.5) * x * x + 1.0; }
  if (x < 2.0) { return ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0; }
  return 0.0;
}

// Taps [first, end) of one axis (absolute indices): the pixels within the stretched support of centre c
// (relative to base), cut to the window. floor(c ± support + ½) is PyTorch's and PIL's rounding of the
// support's ends to pixel indices.
fn aaSpan(base: i32, c: f32, support: f32, lo: i32, hi: i32) -> vec2<i32> {
  return vec2<i32>(max(base + i32(floor(c - support + 0.5)), lo), min(base + i32(floor(c + support + 0.5)), hi + 1));
}

fn antialiased(base: vec2<i32>, c: vec2<f32>) -> vec4<f32> {
  let radius = select(2.0, 1.0, MODE == 1u);
  let stretch = max(vec2<f32>(params.stepX, params.stepY), vec2<f32>(1.0));
  let xs = aaSpan(base.x, c.x, radius * stretch.x, params.loX, params.hiX);
  let ys = aaSpan(base.y, c.y, radius * stretch.y, params.loY, params.hiY);
  var acc = vec4<f32>(0.0);
  var total = 0.0;
  for (var iy = ys.x; iy < ys.y; iy++) {
    let wy = aaFilter((f32(iy - base.y) + 0.5 - c.y) / stretch.y);
    for (var ix = xs.x; ix < xs.y; ix++) {
      let w = wy * aaFilter((f32(ix - base.x) + 0.5 - c.x) / stretch.x);
      acc += w * texel(ix, iy);
      total += w;
    }
  }
  // Normalising by the sum of the 2-D weights equals PyTorch's per-axis normalisation (the weights factor).
  return acc / total;
}

@compute @workgroup_size(WG)
fn main(inv: Invocation) {
  let i = linear_invocation(inv, WG);
  if (i >= params.outW * params.outH) { return; }
  let ox = i % params.outW;
  let oy = i / params.outW;
  let origin = vec2<f32>(params.x0, params.y0);
  let base = floor(origin);
  let step = vec2<f32>(params.stepX, params.stepY);
  let o = vec2<f32>(f32(ox), f32(oy));
  // Centre of the output pixel relative to base, in source pixels (the half-pixel modes' frame).
  let c = (origin - base) + (o + 0.5) * step;
  var v: vec4<f32>;
  if (ANTIALIAS) {
    v = antialiased(vec2<i32>(base), c);
  } else if (MODE == 0u) {
    v = bilinear(vec2<i32>(base), (origin - base) + o * step);
  } else if (MODE == 1u) {
    v = bilinear(vec2<i32>(base), c - 0.5);
  } else {
    v = bicubic(vec2<i32>(base), c - 0.5);
  }
  let norm = v / 255.0 * params.scale + params.shift;
  let at = params.n * params.sN + oy * params.sH + ox * params.sW;
  y[at] = norm.x;
  y[at + params.sC] = norm.y;
  y[at + 2u * params.sC] = norm.z;
}
