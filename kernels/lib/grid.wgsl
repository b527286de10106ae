// Linear workgroup index. Large tensors need more than the 65535 workgroups one dispatch dimension allows,
// so the host splits a linear count into (x, y) (KernelLibrary.grid) and every kernel folds it back here.
fn linear_workgroup(wid: vec3<u32>, nwg: vec3<u32>) -> u32 { return wid.x + wid.y * nwg.x; }
