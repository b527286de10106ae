// A Node ESM app using the installed package: the fixture's logits from its weights (issue 14's consumer test).
import { readFile } from 'node:fs/promises';
import { loadModel, parseSafetensors, verifyModel } from 'effnet-webgpu';

const [weights, io] = process.argv.slice(2);
const model = await loadModel({ weights });
try {
  const report = await verifyModel(model, parseSafetensors(new Uint8Array(await readFile(io))));
  console.log(JSON.stringify({ arch: model.spec.name, pass: report.pass, relL2: report.logits.relL2, memory: model.memory().totalBytes }));
} finally {
  model.dispose();
}
