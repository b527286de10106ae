// dwconv_compact: the same depthwise k×k convolution + bias + SiLU (+ SE squeeze partials) as dwconv.wgsl,
// written for compile time instead of run time: kernel size, stride, strip width and the squeeze switch
// are uniforms and every loop runs at run time, so one small pipeline serves every depthwise layer of a
// network. The runtime uses it for the first inference while the unrolled dwconv pipelines compile
// (SwiftShader spends seconds on each of those).
//   y[n, oh, ow, c] = silu( b[c] + Σ_{kh,kw} x[n, oh·S + kh - padTop, ow·S + kw - padLeft, c] · w[kh, kw, c] )
// Layouts: exactly dwconv.wgsl's (x, y NHWC4; w [K, K, C4]; b [C4]; part [N, P, C4] with P = rowBlocks·strips
// slots per image, slot (rb, strip) holding Σ y over that invocation's rows and strip), so se_excite reads
// either kernel's partials the same way.
// One invocation: one vec4 of channels, `rows` output rows from rb·rows, and in each the TW output pixels
// strip·TW .. strip·TW + TW - 1 (those inside Wo). Invocations walk channel vec4s fastest, then strips,
// row blocks, images; the linear index is the partial slot ((n·rowBlocks + rb)·strips + strip)·C4 + c4.
// Dispatch: ceil(count / WG) workgroups (linear, see lib/grid.wgsl), count = N·rowBlocks·strips·C4.
//!include lib/act.wgsl
//!include lib/grid.wgsl

// dwconv.wgsl's Params plus its overrides as fields: WGSL structs cannot extend one another, so the shared
// fields are written out in both files.
struct Params {
  H: u32,
  W: u32,
  C4: u32,
  Ho: u32,
  Wo: u32,
  padTop: u32,
  padLeft: u32,
  strips: u32,
  rows: u32,
  rowBlocks: u32,
  count: u32,
  K: u32,
  S: u32,
  TW: u32,
  // 1: write the squeeze partial sums to `part`; 0: `part` is a dummy.
  squeeze: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> y: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> part: array<vec4<f32>>;

override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = linear_workgroup(wid, nwg) * WG + lid;
  if (i >= params.count) { return; }
  let C4 = params.C4;
  let K = params.K;
  let c4 = i % C4;
  let strip_index = i / C4;
  let strip = strip_index % params.strips;
  let row_block = strip_index / params.strips;
  let rb = row_block % params.rowBlocks;
  let n = row_block / params.rowBlocks;
  let bias = b[c4];
  let ow0 = strip * params.TW;
  let ow1 = min(ow0 + params.TW, params.Wo);
  let oh0 = rb * params.rows;
  let oh1 = min(oh0 + params.rows, params.Ho);
  var sq = vec4<f32>(0.0);
  for (var oh = oh0; oh < oh1; oh++) {
    for (var ow = ow0; ow < ow1; ow++) {
      var acc = bias;
      for (var kh = 0u; kh < K; kh++) {
        // Rows above or below the map are the zero padding: skipped, like every tap outside it.
        let ih = i32(oh * params.S + kh) - i32(params.padTop);
        if (ih < 0 || ih >= i32(params.H)) { continue; }
        let row = (n * params.H + u32(ih)) * params.W;
        for (var kw = 0u; kw < K; kw++) {
          let iw = i32(ow * params.S + kw) - i32(params.padLeft);
          if (iw < 0 || iw >= i32(params.W)) { continue; }
          acc += x[(row + u32(iw)) * C4 + c4] * w[(kh * K + kw) * C4 + c4];
        }
      }
      let v = silu4(acc);
      y[((n * params.Ho + oh) * params.Wo + ow) * C4 + c4] = v;
      sq += v;
    }
  }
  if (params.squeeze != 0u) { part[i] = sq; }
}
