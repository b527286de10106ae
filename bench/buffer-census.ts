/**
 * Live GPU buffers counted through a wrapped device: `createBuffer` on this one device instance is replaced by
 * one that records each buffer until its `destroy()`. A buffer that is dropped without being destroyed stays
 * counted — exactly the leak the soak looks for (WebGPU frees it only when the garbage collector gets to it).
 * Works for any device, including the shared one `loadModel` leases (wrap it before loading).
 */
export interface Census {
  /** Buffers created on the device and not destroyed yet. */
  readonly live: number;
  readonly liveBytes: number;
  /** Buffers created since wrapping. */
  readonly created: number;
  /** Live buffers by label, largest byte total first (for reports when a bound is broken). */
  byLabel(): { label: string; count: number; bytes: number }[];
}

const censuses = new WeakMap<GPUDevice, Census>();

export function bufferCensus(device: GPUDevice): Census {
  const known = censuses.get(device);
  if (known) return known;
  const live = new Map<GPUBuffer, { label: string; bytes: number }>();
  let created = 0;
  const create = device.createBuffer.bind(device);
  device.createBuffer = (desc: GPUBufferDescriptor): GPUBuffer => {
    const b = create(desc);
    created++;
    live.set(b, { label: desc.label ?? '', bytes: desc.size });
    const destroy = b.destroy.bind(b);
    b.destroy = () => {
      live.delete(b);
      destroy();
    };
    return b;
  };
  const census: Census = {
    get live() {
      return live.size;
    },
    get liveBytes() {
      let n = 0;
      for (const v of live.values()) n += v.bytes;
      return n;
    },
    get created() {
      return created;
    },
    byLabel() {
      const m = new Map<string, { label: string; count: number; bytes: number }>();
      for (const { label, bytes } of live.values()) {
        // Labels carry sizes and indices (`readback.4000`, `….arena3`): group by their stem.
        const stem = label.replace(/[.\d]+$/, '');
        const e = m.get(stem) ?? { label: stem, count: 0, bytes: 0 };
        e.count++;
        e.bytes += bytes;
        m.set(stem, e);
      }
      return [...m.values()].sort((a, b) => b.bytes - a.bytes);
    },
  };
  censuses.set(device, census);
  return census;
}
