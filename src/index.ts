/** effnet-webgpu: the public API, the same in Node and in the browser. */
export { EffnetError, isEffnetError, type ErrorCode } from './errors.js';
export { acquireGpu, formatAdapter, type AdapterReport, type Gpu, type AcquireOptions } from './gpu.js';
export { KernelLibrary } from './kernels/library.js';
export { KERNELS, kernelEntry, kernelSource, type KernelEntry } from './kernels/registry.js';
export { parseSafetensors, serializeSafetensors, type SafetensorsFile, type TensorInfo } from './safetensors.js';
export { ARCHS, getArch, customArch, withFusedStages, type ArchSpec, type StageRow, type BlockType } from './model/tables.js';
export { planLayers, distinctLayerShapes } from './model/layers.js';
export { modelInfo } from './model/info.js';
export { loadModel, type LoadModelOptions } from './api.js';
export { Model, type InputTensor, type RunOptions, type StageDump } from './runtime/model.js';
export { verifyModel, errorStats, type VerifyReport } from './verify.js';
export { resolveWeights, type WeightsSource, type WeightFormat } from './weights/load.js';
export type { ModelParams } from './weights/params.js';
export { classifyImages, type Prediction, type ClassifyOptions } from './classify.js';
export { decodeImage, imageFromBrowserSource, type DecodedImage } from './image/decode.js';
export { PREPROCESS_TFJS, PREPROCESS_TORCHVISION, torchvisionPreset, type PreprocessPreset } from './kernels/preprocess.js';
export { topK } from './kernels/softmax.js';
export { profileModel, type Profile, type StageProfile, type ProfileOptions } from './profile.js';
