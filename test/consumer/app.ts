// Type-checks the published declarations as a browser application would use them (strict; bundler, node16 and
// nodenext; the DOM lib, and for TypeScript 5 `@webgpu/types`): the browser and WebGPU types they name are the
// app's own — a GPUBuffer out is one, an ImageBitmap in is taken.
import { EffnetError, IMAGENET_CLASSES, classify, isArchName, loadModel, pretrained, type ArchName, type ErrorCode, type LoadProgress, type Model, type ModelMemory } from 'effnet-webgpu';

const arch: ArchName = 'efficientnet_v2_s';
// @ts-expect-error: a misspelt architecture is a type error
const typo: ArchName = 'efficientnet_b9';

export async function app(device: GPUDevice, weights: Blob, signal: AbortSignal): Promise<string> {
  const progress: LoadProgress[] = [];
  const model: Model = await loadModel({ arch, weights, device, signal, onProgress: (p) => progress.push(p) });
  try {
    const logits: Float32Array = await model.run(new Float32Array(3 * 384 * 384), { signal });
    const out: GPUBuffer = (await model.run(new Float32Array(3 * 384 * 384), { output: 'gpu-buffer' })).buffer;
    out.destroy();
    // @ts-expect-error the output is a GPUBuffer, not `any`
    const notBuffer: Float32Array = out;
    const shared: GPUDevice = model.gpu.device;
    const bitmap: ImageBitmap = await createImageBitmap(weights);
    const { predictions } = await classify(model, [bitmap, document.createElement('img'), new OffscreenCanvas(1, 1)]);
    // @ts-expect-error a number is not an image
    await classify(model, [42]);
    const memory: ModelMemory = model.memory();
    const name = String(typo);
    return `${IMAGENET_CLASSES[logits.indexOf(Math.max(...logits))]} ${memory.totalBytes} ${progress.length} ${isArchName(name)} ${shared.label} ${predictions.length} ${String(notBuffer)}`;
  } catch (e) {
    const code: ErrorCode | undefined = e instanceof EffnetError ? e.code : undefined;
    return code ?? 'unknown';
  } finally {
    model.dispose();
  }
}

export const served = pretrained('efficientnet_b0', { url: '/b0.safetensors' });
