// The depthwise op's bindings and work split, shared by dwconv.wgsl and dwconv_compact.wgsl (each declares its
// own Params: the compact one's adds dwconv's overrides as fields, and WGSL structs cannot extend one another),
// so se_excite reads either kernel's squeeze partials the same way (layouts: dwconv.wgsl's header).

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> y: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> part: array<vec4<f32>>;

// What invocation `i` computes: channel vec4 c4 of `rows` output rows from rb·rows and the strip of output
// pixels from strip·TW, in image n. Channel vec4s run fastest, then strips, row blocks and images, so `i` is
// also the invocation's partial slot ((n·rowBlocks + rb)·strips + strip)·C4 + c4.
struct DwSlot {
  n: u32,
  rb: u32,
  strip: u32,
  c4: u32,
}

fn dw_slot(i: u32) -> DwSlot {
  let strip_index = i / params.C4;
  let row_block = strip_index / params.strips;
  return DwSlot(row_block / params.rowBlocks, row_block % params.rowBlocks, strip_index % params.strips, i % params.C4);
}
