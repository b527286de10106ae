// Type-checks the published declarations as an application would use them (strict; bundler and nodenext).
import { EffnetError, IMAGENET_CLASSES, isArchName, loadModel, pretrained, type ArchName, type ErrorCode, type LoadProgress, type Model, type ModelMemory } from 'effnet-webgpu';

const arch: ArchName = 'efficientnet_v2_s';
// @ts-expect-error: a misspelt architecture is a type error
const typo: ArchName = 'efficientnet_b9';

export async function app(device: GPUDevice, weights: Blob, signal: AbortSignal): Promise<string> {
  const progress: LoadProgress[] = [];
  const model: Model = await loadModel({ arch, weights, device, signal, onProgress: (p) => progress.push(p) });
  try {
    const logits: Float32Array = await model.run(new Float32Array(3 * 384 * 384), { signal });
    const memory: ModelMemory = model.memory();
    const name = String(typo);
    return `${IMAGENET_CLASSES[logits.indexOf(Math.max(...logits))]} ${memory.totalBytes} ${progress.length} ${isArchName(name)}`;
  } catch (e) {
    const code: ErrorCode | undefined = e instanceof EffnetError ? e.code : undefined;
    return code ?? 'unknown';
  } finally {
    model.dispose();
  }
}

export const served = pretrained('efficientnet_b0', { url: '/b0.safetensors' });
