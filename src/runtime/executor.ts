/**
 * Executor: turns a Graph into GPU objects once (pipelines created in parallel and shared across layers
 * with the same kernel configuration, uniforms written, bind groups prebuilt, activations placed by the
 * liveness arena) and records an inference as one command buffer with one compute pass per stage.
 */
import { bufferBytes, createBuffer } from '../buffers.js';
import { EffnetError } from '../errors.js';
import { encodeDispatch, type Dispatch } from '../kernels/launch.js';
import type { KernelLibrary } from '../kernels/library.js';
import { graphArena, type ArenaPlan } from './arena.js';
import type { Graph, Op } from './graph.js';
import type * as web from '../platform-types.js';

export interface CompiledOp extends Dispatch {
  op: Op;
}

export interface CompiledPass {
  stage: string;
  ops: CompiledOp[];
}

/** Where the profiler wants timestamps: one pair per pass, or one pass per op (detail mode). */
export interface TimestampPlan {
  querySet: web.GPUQuerySet;
  perOp: boolean;
}

export class CompiledGraph {
  private constructor(
    readonly graph: Graph,
    readonly passes: CompiledPass[],
    readonly arena: ArenaPlan,
    private readonly slotBuffers: GPUBuffer[],
    private readonly owned: GPUBuffer[],
  ) {}

  /**
   * Compile `graph`. `assertLive` is asked once the pipelines are ready and before any buffer is made, so a
   * compile that its model's dispose() detached allocates nothing.
   */
  static async create(lib: KernelLibrary, graph: Graph, weightBuffers: Map<string, web.GPUBuffer>, label: string, assertLive: () => void = () => undefined): Promise<CompiledGraph> {
    const { device } = lib;
    // One pipeline per distinct (kernel, overrides); all compiled concurrently.
    const pipelines = await Promise.all(graph.ops.map((op) => lib.pipeline(op.kernel, op.overrides)));
    assertLive();
    const arena = graphArena(graph);
    const owned: GPUBuffer[] = [];
    try {
      const slotBuffers = arena.slots.map((bytes, i) => {
        const b = createBuffer(device, { label: `${label}.arena${i}`, bytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST, hint: 'use a smaller batch or resolution' });
        owned.push(b);
        return b;
      });
      const dummy = createBuffer(device, { label: `${label}.unused`, bytes: 16, usage: GPUBufferUsage.STORAGE });
      owned.push(dummy);
      const tensorBytes = new Map(graph.tensors.map((t) => [t.id, t.bytes]));
      const passes: CompiledPass[] = [];
      graph.ops.forEach((op, i) => {
        const resources: Record<string, GPUBufferBinding> = {};
        for (const [name, r] of Object.entries(op.bind)) {
          if ('tensor' in r) {
            resources[name] = { buffer: slotBuffers[arena.slotOf.get(r.tensor)!]!, size: bufferBytes(tensorBytes.get(r.tensor)!) };
          } else if ('weight' in r) {
            const w = weightBuffers.get(r.weight);
            if (!w) throw new EffnetError('WEIGHTS', `${label}: op ${op.name} needs weight '${r.weight}', which was not uploaded`);
            resources[name] = { buffer: w };
          } else {
            resources[name] = { buffer: dummy };
          }
        }
        const params = lib.uniformBuffer(op.kernel, op.uniforms, op.name);
        owned.push(params);
        const uniformName = lib.entry(op.kernel).bindings.find((b) => b.kind === 'uniform')!.name;
        resources[uniformName] = { buffer: params };
        const compiled: CompiledOp = {
          op,
          pipeline: pipelines[i]!,
          bindGroup: lib.bindGroup(op.kernel, resources, op.name),
          grid: lib.grid(op.workgroups),
        };
        const last = passes[passes.length - 1];
        if (last && last.stage === op.stage) last.ops.push(compiled);
        else passes.push({ stage: op.stage, ops: [compiled] });
      });
      return new CompiledGraph(graph, passes, arena, slotBuffers, owned);
    } catch (e) {
      for (const b of owned) b.destroy();
      throw e;
    }
  }

  /** The buffer and byte range holding tensor `id` (valid after a run only for pinned tensors). */
  tensorBinding(id: number): { buffer: web.GPUBuffer; bytes: number } {
    const t = this.graph.tensors.find((x) => x.id === id);
    const slot = this.arena.slotOf.get(id);
    if (!t || slot === undefined) throw new EffnetError('INPUT', `no tensor ${id} in this graph`);
    return { buffer: this.slotBuffers[slot]!, bytes: t.bytes };
  }

  /**
   * Record the whole network. Without timestamps the passes are the same as with them, so a profiled
   * run executes exactly the schedule an unprofiled one does.
   */
  encode(enc: web.GPUCommandEncoder, ts?: TimestampPlan): void {
    let q = 0;
    const begin = (label: string): GPUComputePassEncoder => {
      const desc: GPUComputePassDescriptor = { label };
      if (ts) desc.timestampWrites = { querySet: ts.querySet, beginningOfPassWriteIndex: q, endOfPassWriteIndex: q + 1 };
      q += 2;
      return enc.beginComputePass(desc);
    };
    for (const pass of this.passes) {
      if (ts?.perOp) {
        for (const c of pass.ops) {
          const p = begin(c.op.name);
          encodeDispatch(p, c);
          p.end();
        }
      } else {
        const p = begin(pass.stage);
        for (const c of pass.ops) encodeDispatch(p, c);
        p.end();
      }
    }
  }

  /** GPU bytes this graph holds: its arena slots, uniforms and the placeholder binding. */
  get bytes(): number {
    return this.owned.reduce((a, b) => a + b.size, 0);
  }

  destroy(): void {
    for (const b of this.owned) b.destroy();
    this.owned.length = 0;
  }
}
