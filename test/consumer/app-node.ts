// Type-checks the published declarations as a Node application would use them: `"types": ["node"]`, skipLibCheck
// off, without the DOM lib (tsconfig.node-nodenext/-bundler) and with it (tsconfig.node-dom). Images are paths,
// URLs, encoded bytes and decoded pixels; the browser and WebGPU types the declarations name and this project does
// not declare are opaque (never `any`: a number is still refused).
import { readFile } from 'node:fs/promises';
import { EffnetError, classify, loadModel, pretrained, readImageFile, type Classification, type DecodedImage, type ImageInput } from 'effnet-webgpu';

export async function app(path: string, signal: AbortSignal): Promise<string> {
  const { arch, weights } = await pretrained('efficientnet_b0');
  const model = await loadModel({ arch, weights, signal, prepare: ['classify'] });
  try {
    const bytes = new Uint8Array(await readFile(path));
    const pixels: DecodedImage = await readImageFile(path);
    const inputs: ImageInput[] = [path, new URL(`file://${path}`), bytes, bytes.slice().buffer, pixels, { width: 1, height: 1, rgba: new Uint8Array(4) }];
    const { predictions }: Classification = await classify(model, inputs, { top: 3 });
    // Either backend's run gives the logits as an array.
    const logits: Float32Array = await model.run(new Float32Array(3 * 224 * 224), { signal });
    // @ts-expect-error a number is not an image
    await classify(model, [42]);
    // @ts-expect-error nor is an <img>'s description
    await classify(model, [{ src: path }]);
    // @ts-expect-error backend 'auto' may have chosen the CPU runtime: narrow the model before reaching for its GPU
    void model.gpu;
    if (!('gpu' in model)) return `${predictions[0]?.[0]?.label} ${logits.length} on the CPU (${model.backend.runtime}: ${model.backend.reason})`;
    // @ts-expect-error the device is opaque where WebGPU is not declared, or a GPUDevice: never a string, nor `any`
    const device: string = model.gpu.device;
    return `${predictions[0]?.[0]?.label} on ${model.gpu.report.device} ${device}`;
  } catch (e) {
    return e instanceof EffnetError ? e.code : 'unknown';
  } finally {
    model.dispose();
  }
}
