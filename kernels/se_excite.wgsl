// se_excite: the Squeeze-and-Excitation gate from the squeeze partial sums a conv wrote (dwconv SQUEEZE):
//   m[c]  = (Σ_p part[n, p, c]) / HW                          the global average pool of the activation
//   h[j]  = silu( b1[j] + Σ_c w1[j, c] · m[c] )                fc1: C → seC
//   se[c] = sigmoid( b2[c] + Σ_j w2[j, c] · h[j] )             fc2: seC → C
// Layouts (vec4 = 4 channels, C4 = ceil(C/4); the squeeze is padded to seC4 = ceil(seC/4) groups of 4):
//   part [N, P, C4] vec4 partial sums (P slots per image)
//   w1   [seC4, C4, 4] vec4: w1[(j4·C4 + c4)·4 + jj] = fc1.weight[4·j4 + jj][4·c4 .. 4·c4+3]
//   b1   [seC4] vec4
//   w2   [seC4, 4, C4] vec4: w2[(4·j4 + jj)·C4 + c4] = fc2.weight[4·c4 .. 4·c4+3][4·j4 + jj]
//   b2   [C4] vec4
//   se   [N, C4] vec4, element (n, c) at vec4 n·C4 + c/4; padding channels are written 0 (not
//        sigmoid(0) = 0.5) so a consumer that scales by it keeps its padding 0.
//   Padding (channels ≥ C, squeeze rows ≥ seC) is 0 in every weight and bias, so the padded squeeze
//   units compute silu(0) = 0 and contribute nothing to fc2.
// One workgroup per image; `se` doubles as the scratch for the mean vector (so C is unbounded), h lives in
// workgroup memory (seC ≤ 4·MAX_SEC4). fc1 computes 4 squeeze units per invocation and fc2 4 channels, so
// every mean vec4 and every h vec4 loaded serves 4 weight vectors. The mean and fc1 are reductions of P
// and C4 terms: when there are fewer outputs than invocations, G = WG / lanes invocations share one output,
// each summing every G-th term, and the G partials join by a fixed pairwise tree through workgroup memory
// (ceil(log2 G) steps: a lone invocation adding 64 partials would be most of the gate's chain on a GPU).
// One workgroup per image (a linear workgroup index, see lib/grid.wgsl), one vec4 accumulator:
// Dispatch: N
// Accumulators: 4
// Longest dependent chain one invocation walks: the mean over P slots, fc1 over C4 (each with its tree), fc2 over seC4, one workgroup doing all three in turn.
// Serial: ceil(C4 / min(C4, WG)) * (ceil(P / floor(WG / min(C4, WG))) + ceil(log2(floor(WG / min(C4, WG))))) + ceil(seC4 / min(seC4, WG)) * (ceil(C4 / floor(WG / min(seC4, WG))) + ceil(log2(floor(WG / min(seC4, WG))))) + ceil(C4 / WG) * seC4
//!include lib/act.wgsl
//!include lib/grid.wgsl

struct Params {
  N: u32,
  C: u32,
  C4: u32,
  seC4: u32,
  // Partial slots per image, and the number of positions they sum (Ho·Wo).
  P: u32,
  HW: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> part: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> w1: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> b1: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> w2: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> b2: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> se: array<vec4<f32>>;

override WG: u32 = 64;
// The launch planner refuses wider squeezes (4 KiB of workgroup memory).
const MAX_SEC4: u32 = 256u;

var<workgroup> red: array<vec4<f32>, WG>;
var<workgroup> hidden: array<vec4<f32>, MAX_SEC4>;

// red[g·lanes + l] over g < G into red[l]: at step h, group g (a multiple of 2h) adds group g + h's sum so far,
// which no invocation writes in that step. Called by every invocation (uniform G: the barriers need it).
fn tree_sum(lid: u32, g: u32, G: u32, lanes: u32) {
  for (var h = 1u; h < G; h *= 2u) {
    if (g % (2u * h) == 0u && g + h < G) { red[lid] += red[lid + h * lanes]; }
    workgroupBarrier();
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let n = linear_workgroup(wid, nwg);
  if (n >= params.N) { return; }
  let C4 = params.C4;
  let P = params.P;
  let seC4 = params.seC4;
  let out = n * C4;

  // Mean: `lanes` channel vec4s at a time, G invocations per channel vec4 (lanes with lid ≥ G·lanes idle).
  let lanes = min(C4, WG);
  let G = WG / lanes;
  let cl = lid % lanes;
  let g = lid / lanes;
  let inv = 1.0 / f32(params.HW);
  for (var c0 = 0u; c0 < C4; c0 += lanes) {
    let c4 = c0 + cl;
    var s = vec4<f32>(0.0);
    if (c4 < C4 && g < G) {
      for (var p = g; p < P; p += G) { s += part[(n * P + p) * C4 + c4]; }
    }
    red[lid] = s;
    workgroupBarrier();
    tree_sum(lid, g, G, lanes);
    if (g == 0u && c4 < C4) { se[out + c4] = red[lid] * inv; }
    workgroupBarrier();
  }
  // Makes the mean written to `se` above visible to every invocation of the workgroup.
  storageBarrier();

  // fc1 + SiLU: `lanes1` groups of 4 squeeze units at a time, G1 invocations per group splitting the C4
  // terms. Lane jj of the accumulator is unit 4·j4 + jj.
  let lanes1 = min(seC4, WG);
  let G1 = WG / lanes1;
  let jl = lid % lanes1;
  let g1 = lid / lanes1;
  for (var j0 = 0u; j0 < seC4; j0 += lanes1) {
    let j4 = j0 + jl;
    var s = vec4<f32>(0.0);
    if (j4 < seC4 && g1 < G1) {
      for (var c4 = g1; c4 < C4; c4 += G1) {
        let m = se[out + c4];
        let at = (j4 * C4 + c4) * 4u;
        s += vec4<f32>(dot(w1[at], m), dot(w1[at + 1u], m), dot(w1[at + 2u], m), dot(w1[at + 3u], m));
      }
    }
    red[lid] = s;
    workgroupBarrier();
    tree_sum(lid, g1, G1, lanes1);
    if (g1 == 0u && j4 < seC4) { hidden[j4] = silu4(red[lid] + b1[j4]); }
    workgroupBarrier();
  }

  // fc2 + sigmoid overwrites the mean in `se`: the storage barrier orders every fc1 read of it first.
  storageBarrier();
  for (var c4 = lid; c4 < C4; c4 += WG) {
    var a = b2[c4];
    for (var j4 = 0u; j4 < seC4; j4++) {
      let h = hidden[j4];
      let at = 4u * j4 * C4 + c4;
      a += w2[at] * h.x + w2[at + C4] * h.y + w2[at + 2u * C4] * h.z + w2[at + 3u * C4] * h.w;
    }
    let ch = vec4<u32>(4u * c4) + vec4<u32>(0u, 1u, 2u, 3u);
    se[out + c4] = select(vec4<f32>(0.0), sigmoid4(a), ch < vec4<u32>(params.C));
  }
}
