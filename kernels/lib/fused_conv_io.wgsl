// The Fused-MBConv conv's interface, shared by fused_conv.wgsl and fused_conv_tiled.wgsl so a planner can swap
// one for the other over the same weights, tensors and bind group (layouts: the kernels' headers), and its
// fusion switches: ACT (0 = none, 1 = SiLU), HAS_RES (add res after the activation; when false, res is a
// placeholder never read).
//!include lib/epilogue.wgsl

struct Params {
  N: u32,
  H: u32,
  W: u32,
  Cin4: u32,
  Ho: u32,
  Wo: u32,
  Cout4: u32,
  K: u32,
  stride: u32,
  padTop: u32,
  padLeft: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> w: array<mat4x4<f32>>;
@group(0) @binding(3) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> res: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> y: array<vec4<f32>>;

override ACT: u32 = 1;
override HAS_RES: bool = false;
