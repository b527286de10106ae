// naive_se_excite: the Squeeze-and-Excitation gate for `effnet kernel-bench --op se_excite` (contract:
// kernels/README.md, "Bring your own kernel"), written as plainly as possible — a starting point for your own.
//   m[c]  = (Σ_p part[n, p, c]) / HW                   the mean, from the depthwise conv's squeeze partial sums
//   h[j]  = silu(b1[j] + Σ_c w1[j, c] · m[c])           fc1, seC = 4·seC4 squeeze units (padding units are 0)
//   se[c] = sigmoid(b2[c] + Σ_j w2[j, c] · h[j])        fc2; padding channels (c ≥ C) are written 0
// Layouts (ours): part [N, P, C4] vec4; w1 [seC4, C4, 4] vec4 (w1[(j4·C4 + c4)·4 + jj] = fc1 row 4·j4 + jj,
// channels 4·c4 .. +3); b1 [seC4] vec4; w2 [seC, C4] vec4 (w2[j·C4 + c4] = fc2 column j, channels 4·c4 .. +3);
// b2 [C4] vec4; se [N, C4] vec4.
// One invocation per output vec4 (n, c4), recomputing every mean and every squeeze unit it needs.
// Dispatch: ceil(N * C4 / 64)

struct Params {
  N: u32,
  C: u32,
  C4: u32,
  seC4: u32,
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

fn mean(n: u32, c4: u32) -> vec4<f32> {
  var sum = vec4<f32>(0.0);
  for (var p = 0u; p < params.P; p++) { sum += part[(n * params.P + p) * params.C4 + c4]; }
  return sum / f32(params.HW);
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 64u + lid;
  let C4 = params.C4;
  if (i >= params.N * C4) { return; }
  let n = i / C4;
  let c4 = i % C4;
  var gate = b2[c4];
  for (var j = 0u; j < 4u * params.seC4; j++) {
    var h = b1[j / 4u][j % 4u];
    for (var k4 = 0u; k4 < C4; k4++) { h += dot(w1[((j / 4u) * C4 + k4) * 4u + j % 4u], mean(n, k4)); }
    gate += (h / (1.0 + exp(-h))) * w2[j * C4 + c4];
  }
  let s = vec4<f32>(1.0) / (vec4<f32>(1.0) + exp(-gate));
  let c = vec4<u32>(4u * c4) + vec4<u32>(0u, 1u, 2u, 3u);
  se[i] = select(vec4<f32>(0.0), s, c < vec4<u32>(params.C));
}
