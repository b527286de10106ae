/**
 * GPU acquisition for both hosts. In a browser `navigator.gpu` is used; in Node the npm `webgpu`
 * package (Dawn) is loaded lazily so that browser bundles never reference it.
 *
 * Everything the engine later needs to know about the device (software adapter? timestamp queries?
 * shader-f16? binding-size limits?) is gathered here once into `AdapterReport`.
 */
import { EffnetError } from './errors.js';
import { isNode } from './env.js';
import type * as web from './platform-types.js';

export interface AdapterReport {
  host: 'node' | 'browser';
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A software rasteriser (SwiftShader, WARP, llvmpipe, ...) or an adapter that says it is a fallback. */
  isFallback: boolean;
  features: {
    timestampQuery: boolean;
    shaderF16: boolean;
    subgroups: boolean;
  };
  /**
   * The subgroup sizes the adapter says it may use (GPUAdapterInfo.subgroupMinSize/MaxSize), where it says; the
   * engine's subgroup kernels assume no size and no lane layout, so this is reported, not relied on.
   */
  subgroupSizes?: { min: number; max: number };
  limits: {
    maxStorageBufferBindingSize: number;
    maxBufferSize: number;
    maxComputeWorkgroupSizeX: number;
    maxComputeInvocationsPerWorkgroup: number;
    maxComputeWorkgroupsPerDimension: number;
    maxStorageBuffersPerShaderStage: number;
  };
  /** Set when we had to point Dawn at the SwiftShader Vulkan driver ourselves (Node only). */
  note?: string;
}

export interface Gpu {
  device: web.GPUDevice;
  /** Absent when the application passed in a device. */
  adapter?: web.GPUAdapter;
  report: AdapterReport;
  /** Rejects (never resolves) when the device is lost; race it against GPU work so nothing hangs. */
  lost: Promise<never>;
  /** Uncaptured GPU errors collected since the last call, cleared on read. */
  takeErrors(): EffnetError[];
  destroy(): void;
}

export interface AcquireOptions {
  /** Features to require when the adapter has them (never fails if absent). */
  optionalFeatures?: web.GPUFeatureName[];
  /** Features that must be present: a missing one is an EffnetError('MISSING_FEATURE'). */
  requiredFeatures?: web.GPUFeatureName[];
  powerPreference?: web.GPUPowerPreference;
}

const SOFTWARE_ADAPTER = /swiftshader|llvmpipe|lavapipe|warp|software|basic render/i;
/** Debian's chromium package ships this ICD; it is how Node gets WebGPU on a machine with no GPU. */
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const SUBGROUPS = 'subgroups' as GPUFeatureName;
const WANTED_FEATURES: GPUFeatureName[] = ['timestamp-query', 'shader-f16', SUBGROUPS];

let nodeGpu: { gpu: GPU; note?: string } | undefined;

async function nodeNavigatorGpu(): Promise<{ gpu: GPU; note?: string }> {
  if (nodeGpu) return nodeGpu;
  let note: string | undefined;
  const env = process.env;
  const driverConfigured = env.VK_ICD_FILENAMES || env.VK_DRIVER_FILES || env.VK_ADD_DRIVER_FILES;
  if (!driverConfigured) {
    const fs = await import('node:fs');
    // Without a GPU device node no hardware Vulkan driver can work, and Mesa's lavapipe that Debian may
    // register is too old for Dawn; SwiftShader (shipped with Debian's chromium) is the CPU driver that works.
    const gpuNodes = ['/dev/nvidia0', '/dev/dxg'].some((p) => fs.existsSync(p)) ||
      (fs.existsSync('/dev/dri') && fs.readdirSync('/dev/dri').some((f) => f.startsWith('renderD')));
    if (!gpuNodes && fs.existsSync(SWIFTSHADER_ICD)) {
      env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
      note = `no Vulkan driver configured: using SwiftShader (CPU) from ${SWIFTSHADER_ICD}`;
    }
  }
  let mod: { create(opts: string[]): GPU; globals: object };
  try {
    mod = (await import('webgpu')) as unknown as typeof mod;
  } catch (cause) {
    throw new EffnetError(
      'NO_WEBGPU',
      "WebGPU for Node is missing: run `npm install webgpu` (Dawn). On Linux it also needs libvulkan1 and a Vulkan driver " +
        "(`apt-get install -y libvulkan1 chromium` gives the SwiftShader CPU driver).",
      { cause },
    );
  }
  // Dawn's GPUBufferUsage & co. must be globals for code written against the browser API.
  for (const [k, v] of Object.entries(mod.globals)) if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  // Dawn rounds GPU timestamps to 65536 ns unless told not to (Chrome's --enable-webgpu-developer-features
  // does the same); the profiler needs their real resolution.
  nodeGpu = { gpu: mod.create(['disable-dawn-features=timestamp_quantization']), ...(note ? { note } : {}) };
  return nodeGpu;
}

export async function acquireGpu(opts: AcquireOptions = {}): Promise<Gpu> {
  let gpu: GPU | undefined;
  let note: string | undefined;
  if (isNode) {
    ({ gpu, note } = await nodeNavigatorGpu());
  } else {
    gpu = (globalThis as { navigator?: Navigator }).navigator?.gpu;
    if (!gpu) {
      throw new EffnetError(
        'NO_WEBGPU',
        'This browser exposes no WebGPU (navigator.gpu is undefined): use a current Chrome/Edge, or start Chromium with --enable-unsafe-webgpu.',
      );
    }
  }
  const adapter = await gpu.requestAdapter(opts.powerPreference ? { powerPreference: opts.powerPreference } : undefined);
  if (!adapter) {
    throw new EffnetError(
      'NO_ADAPTER',
      isNode
        ? 'WebGPU found no adapter: install a Vulkan driver, or `apt-get install -y chromium libvulkan1` and set VK_ICD_FILENAMES=' + SWIFTSHADER_ICD
        : 'WebGPU found no adapter (the GPU is blocklisted or WebGPU is disabled in this browser).',
    );
  }
  for (const f of opts.requiredFeatures ?? []) {
    if (!adapter.features.has(f)) {
      throw new EffnetError('MISSING_FEATURE', `this GPU adapter lacks the WebGPU feature '${f}', which was required`);
    }
  }
  const want = new Set<GPUFeatureName>([...(opts.requiredFeatures ?? []), ...(opts.optionalFeatures ?? WANTED_FEATURES)]);
  // Dawn's Node build (npm webgpu 0.6.2) on SwiftShader compiles subgroup shaders and then kills the process
  // (std::system_error from the driver's thread pool) when one runs; Chromium's SwiftShader runs them. Unless
  // the caller insists, Node on a software adapter goes without, so the planners take the plain kernels.
  const a = adapter.info;
  if (isNode && SOFTWARE_ADAPTER.test(`${a?.vendor} ${a?.architecture} ${a?.device} ${a?.description}`) && !opts.requiredFeatures?.includes(SUBGROUPS)) {
    if (want.delete(SUBGROUPS) && adapter.features.has(SUBGROUPS)) {
      note = [note, 'subgroups left off: running subgroup shaders crashes Dawn on SwiftShader in Node'].filter(Boolean).join('; ');
    }
  }
  const requiredFeatures = [...want].filter((f) => adapter.features.has(f));
  const al = adapter.limits;
  // Ask for the adapter's maxima on the limits our kernels size against; defaults are far below what GPUs offer.
  const requiredLimits: Record<string, number> = {
    maxStorageBufferBindingSize: al.maxStorageBufferBindingSize,
    maxBufferSize: al.maxBufferSize,
    maxComputeWorkgroupSizeX: al.maxComputeWorkgroupSizeX,
    maxComputeInvocationsPerWorkgroup: al.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupsPerDimension: al.maxComputeWorkgroupsPerDimension,
    maxStorageBuffersPerShaderStage: al.maxStorageBuffersPerShaderStage,
  };
  const device = await adapter.requestDevice({ requiredFeatures, requiredLimits });
  return wrapDevice(device, { adapter, note, owned: true });
}

/**
 * The device models share when the application passes none (`loadModel` without `device`). Creating and
 * destroying a device per model grows the process with every cycle — Dawn on SwiftShader keeps each device's
 * compiled shader code: 587 → 957 MB RSS over 30 load/run/dispose cycles, flat at ~400 MB on one device —
 * so one device is acquired on first use and kept for the process's life. Each model takes a lease; its
 * `destroy()` ends the lease and never the device. A lost device (driver reset, `device.destroy()` by someone)
 * is dropped, and the next lease acquires a fresh one.
 */
let shared: Promise<Gpu> | undefined;

export async function leaseSharedGpu(): Promise<Gpu> {
  const pending = (shared ??= acquireGpu());
  let gpu: Gpu;
  try {
    gpu = await pending;
  } catch (e) {
    if (shared === pending) shared = undefined;
    throw e;
  }
  // Dropped once lost, whichever lease notices first (device.lost settles exactly once).
  gpu.lost.catch(() => shared === pending && (shared = undefined));
  // The lease's destroy() is the model's goodbye; the device stays for the next model.
  return { ...gpu, destroy: () => undefined };
}

/**
 * Wrap a device: collect uncaptured errors, turn device loss into a rejection we can race GPU work
 * against, and describe the adapter. Used for devices we request and for ones an application passes in.
 */
export function wrapDevice(device: web.GPUDevice, opts: { adapter?: web.GPUAdapter; note?: string; owned?: boolean } = {}): Gpu {
  const errors: EffnetError[] = [];
  device.addEventListener('uncapturederror', (ev) => {
    const e = (ev as GPUUncapturedErrorEvent).error;
    const oom = typeof GPUOutOfMemoryError !== 'undefined' && e instanceof GPUOutOfMemoryError;
    errors.push(new EffnetError(oom ? 'GPU_OUT_OF_MEMORY' : 'GPU_VALIDATION', `GPU error: ${e.message}`));
  });
  let destroyed = false;
  const lost = device.lost.then((info) => {
    throw new EffnetError('DEVICE_LOST', `GPU device lost (${info.reason}): ${info.message || 'no message'}`);
  });
  // A lost-device rejection nobody awaits must not become an unhandled rejection that kills Node.
  lost.catch(() => undefined);
  const info = opts.adapter?.info ?? (device as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo;
  const report = describeAdapter(info, opts.adapter, device, isNode ? 'node' : 'browser', opts.note);
  return {
    device,
    adapter: opts.adapter,
    report,
    lost,
    takeErrors: () => errors.splice(0, errors.length),
    destroy() {
      // A device the application handed us is the application's to destroy.
      if (destroyed || !opts.owned) return;
      destroyed = true;
      device.destroy();
    },
  };
}

function describeAdapter(info: GPUAdapterInfo | undefined, adapter: GPUAdapter | undefined, device: GPUDevice, host: 'node' | 'browser', note?: string): AdapterReport {
  const vendor = info?.vendor ?? '';
  const architecture = info?.architecture ?? '';
  const dev = info?.device ?? '';
  const description = info?.description ?? '';
  const fallbackFlag = (adapter as (GPUAdapter & { isFallbackAdapter?: boolean }) | undefined)?.isFallbackAdapter === true ||
    (info as GPUAdapterInfo & { isFallbackAdapter?: boolean })?.isFallbackAdapter === true;
  const isFallback = fallbackFlag || SOFTWARE_ADAPTER.test(`${vendor} ${architecture} ${dev} ${description}`);
  const l = device.limits;
  const sg = info as (GPUAdapterInfo & { subgroupMinSize?: number; subgroupMaxSize?: number }) | undefined;
  const subgroupSizes = Number.isInteger(sg?.subgroupMinSize) && Number.isInteger(sg?.subgroupMaxSize) && sg!.subgroupMinSize! > 0 ? { min: sg!.subgroupMinSize!, max: sg!.subgroupMaxSize! } : undefined;
  return {
    host,
    vendor,
    architecture,
    device: dev,
    description,
    isFallback,
    features: {
      timestampQuery: device.features.has('timestamp-query'),
      shaderF16: device.features.has('shader-f16'),
      subgroups: device.features.has(SUBGROUPS),
    },
    limits: {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
    },
    ...(subgroupSizes ? { subgroupSizes } : {}),
    ...(note ? { note } : {}),
  };
}

/** Vendor / architecture / device, as short as the adapter allows. */
export function adapterName(r: AdapterReport): string {
  return [r.vendor, r.architecture, r.device || r.description].filter(Boolean).join(' / ') || 'unknown adapter';
}

export function formatAdapter(r: AdapterReport): string {
  const name = adapterName(r);
  const feats = Object.entries(r.features)
    .map(([k, v]) => `${k}=${v ? 'yes' : 'no'}`)
    .join(' ');
  return `${name} (${r.host}${r.isFallback ? ', software/fallback adapter' : ''}) ${feats}`;
}
