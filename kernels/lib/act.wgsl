// Activations shared by the kernels' epilogues.
// silu(x) = x * sigmoid(x), written as x / (1 + exp(-x)): for x << 0, exp(-x) overflows to +inf and the
// quotient is a correctly signed zero instead of the NaN that x * (1 / inf) * ... forms can produce.
fn silu4(x: vec4<f32>) -> vec4<f32> { return x / (vec4<f32>(1.0) + exp(-x)); }
fn sigmoid4(x: vec4<f32>) -> vec4<f32> { return vec4<f32>(1.0) / (vec4<f32>(1.0) + exp(-x)); }
fn silu1(x: f32) -> f32 { return x / (1.0 + exp(-x)); }
fn sigmoid1(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }
