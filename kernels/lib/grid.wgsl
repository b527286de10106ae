// Linear workgroup index. Large tensors need more than the 65535 workgroups one dispatch dimension allows,
// so the host splits a linear count into (x, y) (KernelLibrary.grid) and every kernel folds it back here.
fn linear_workgroup(wid: vec3<u32>, nwg: vec3<u32>) -> u32 { return wid.x + wid.y * nwg.x; }

// The entry-point inputs of a kernel that gives each invocation one item of a `count`-item launch.
struct Invocation {
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
}

// The invocation's item: its index among all of the launch's invocations, in workgroups of `wg`.
fn linear_invocation(inv: Invocation, wg: u32) -> u32 { return linear_workgroup(inv.wid, inv.nwg) * wg + inv.lid; }
