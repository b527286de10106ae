// A browser app using the package as a bundler resolves it (issue 14's consumer test). `consumerRun` loads the
// pretrained B0 from the one file the app serves, classifies photos handed over as ImageBitmaps, and runs them
// again with the output left on the GPU, read back by this page's own WebGPU code.
import { classifyImages, loadModel } from 'effnet-webgpu';

/** NHWC [0, 1] RGB of the centre crop (size/(size+32), as TF.js' reference) drawn at the model's size. */
function pixelsOf(bitmap, size) {
  const side = Math.min(bitmap.width, bitmap.height) * (size / (size + 32));
  const canvas = new OffscreenCanvas(size, size);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(bitmap, (bitmap.width - side) / 2, (bitmap.height - side) / 2, side, side, 0, 0, size, size);
  const rgba = ctx.getImageData(0, 0, size, size).data;
  const x = new Float32Array(size * size * 3);
  for (let i = 0; i < size * size; i++) for (let c = 0; c < 3; c++) x[i * 3 + c] = rgba[i * 4 + c] / 255;
  return x;
}

async function argmaxOnGpu(model, x, size) {
  const { buffer, shape } = await model.run({ data: x, shape: [1, size, size, 3], layout: 'NHWC' }, { output: 'gpu-buffer' });
  const device = model.gpu.device;
  const read = device.createBuffer({ size: buffer.size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  try {
    const enc = device.createCommandEncoder();
    enc.copyBufferToBuffer(buffer, 0, read, 0, buffer.size);
    device.queue.submit([enc.finish()]);
    await read.mapAsync(GPUMapMode.READ);
    const logits = new Float32Array(read.getMappedRange().slice(0), 0, shape[1]);
    read.unmap();
    return logits.indexOf(Math.max(...logits));
  } finally {
    read.destroy();
    buffer.destroy();
  }
}

globalThis.consumerRun = async (weightsUrl, imageUrls) => {
  const model = await loadModel({ weights: weightsUrl });
  try {
    const bitmaps = await Promise.all(imageUrls.map(async (u) => createImageBitmap(await (await fetch(u)).blob())));
    // The preprocessing the weights expect and the ImageNet class names are the defaults.
    const top = await classifyImages(model, bitmaps, { top: 1 });
    const size = model.spec.resolution;
    const gpuBuffer = [];
    for (const b of bitmaps) gpuBuffer.push(await argmaxOnGpu(model, pixelsOf(b, size), size));
    return { bitmap: top.map(([p]) => ({ index: p.index, label: p.label })), gpuBuffer };
  } finally {
    model.dispose();
  }
};
