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
// count = N·rowBlocks·strips·C4 (a linear workgroup index, see lib/grid.wgsl); one output vec4 at a time plus
// the squeeze sum:
// Dispatch: ceil(count / WG)
// Accumulators: 8
// Longest dependent chain one invocation walks: rows × strip pixels × K·K taps, all runtime loops.
// Serial: rows * TW * K * K
//!include lib/act.wgsl
//!include lib/grid.wgsl
//!include lib/dwconv_io.wgsl

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


override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(inv: Invocation) {
  let i = linear_invocation(inv, WG);
  if (i >= params.count) { return; }
  let K = params.K;
  let C4 = params.C4;
  let slot = dw_slot(i);
  let c4 = slot.c4;
  let n = slot.n;
  let bias = b[c4];
  let ow0 = slot.strip * params.TW;
  let ow1 = min(ow0 + params.TW, params.Wo);
  let oh0 = slot.rb * params.rows;
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
