// Type-checks the published declarations in a project with neither the DOM lib nor @types/node (`"types": []`, a
// bundler app for some other JS host): every platform type the declarations name is opaque there, never `any`.
import { EffnetError, classify, loadModel, pretrained, readImageFile, type LoadedModel } from 'effnet-webgpu';

export async function app(path: string): Promise<string> {
  const { arch, weights } = await pretrained('efficientnet_b0');
  const model: LoadedModel = await loadModel({ arch, weights });
  try {
    const { predictions } = await classify(model, [await readImageFile(path), path]);
    // @ts-expect-error a number is not an image
    await classify(model, [42]);
    const logits: Float32Array = await model.run(new Float32Array(3 * 224 * 224));
    return `${predictions[0]?.[0]?.label} ${logits.length} ${model.backend.name}: ${model.backend.reason}`;
  } catch (e) {
    return e instanceof EffnetError ? e.code : 'unknown';
  } finally {
    model.dispose();
  }
}
