// The pointwise op's interface, shared by pointwise.wgsl and pointwise_tiled.wgsl so a planner can swap one for
// the other over the same weights, tensors and bind group (layouts: the kernels' headers), and its fusion
// switches: ACT (epilogue activation, 0 = none, 1 = SiLU), SE_SCALE (scale x by the row's image's SE gate),
// HAS_RES (add res after the activation; when false, res is a placeholder never read).
//!include lib/epilogue.wgsl

struct Params {
  M: u32,
  K4: u32,
  N4: u32,
  // Rows per image, H·W.
  HW: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> w: array<mat4x4<f32>>;
@group(0) @binding(3) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> se: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> res: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> y: array<vec4<f32>>;

override ACT: u32 = 0;
override SE_SCALE: bool = false;
override HAS_RES: bool = false;
