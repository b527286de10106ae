/** How a conv pads: torchvision's symmetric k//2, or TensorFlow SAME. */
export type Padding = 'symmetric' | 'same';

/**
 * Output size and leading pad of one conv axis. 'symmetric' pads floor(k/2) on both sides (torchvision);
 * 'same' is TensorFlow SAME: out = ceil(in/s) and the total pad max((out-1)s + k - in, 0) is split with the
 * odd pixel at the end (bottom/right), so it differs from symmetric on even inputs with stride 2.
 */
export function convGeometry(
  size: number,
  kernel: number,
  stride: number,
  padding: Padding,
): { out: number; padBefore: number; padAfter: number } {
  if (padding === 'symmetric') {
    const pad = Math.floor(kernel / 2);
    return { out: Math.floor((size + 2 * pad - kernel) / stride) + 1, padBefore: pad, padAfter: pad };
  }
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + kernel - size, 0);
  return { out, padBefore: Math.floor(total / 2), padAfter: total - Math.floor(total / 2) };
}

/** The smallest input size that gives `out` outputs for a k×k stride-s conv under this padding rule. */
export function inputFor(out: number, k: number, s: number, padding: Padding): number {
  for (let size = 1; ; size++) if (convGeometry(size, k, s, padding).out >= out) return size;
}
