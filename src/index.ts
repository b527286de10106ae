/**
 * effnet-webgpu: the public API, the same in Node and in the browser. Load a model, run it, classify images,
 * verify it against a reference dump and profile it; the planner, kernels and executor stay internal.
 */
export { EffnetError, isEffnetError, type ErrorCode } from './errors.js';
export { acquireGpu, adapterName, formatAdapter, type AdapterReport, type Gpu, type AcquireOptions } from './gpu.js';
export { parseSafetensors, serializeSafetensors, type SafetensorsFile, type TensorInfo } from './safetensors.js';
export { parsePytorchCheckpoint } from './weights/pytorch.js';
export { ARCHS, getArch, isArchName, type ArchName, customArch, withFusedStages, scaledArch, zooVariants, type ArchSpec, type StageRow, type BlockType } from './model/tables.js';
export { modelInfo, type ModelInfo } from './model/info.js';
export { defineBlock, type BlockDef } from './model/blocks.js';
export type { Step } from './model/ops.js';
export { loadModel, exportWeights, isSupported, type LoadModelOptions, type LoadedModel, type Support } from './api.js';
export { CpuModel, type CpuModelMemory } from './cpu/model.js';
export { profileCpuModel, type CpuProfile, type CpuProfileOptions } from './cpu/profile.js';
export type { CpuRuntimeOptions } from './cpu/runtime.js';
export { pretrained, IMAGENET_CLASSES, PRETRAINED_ARCHS, TORCHVISION_WEIGHTS, torchvisionEval, type Pretrained, type PretrainedOptions, type TorchvisionWeights } from './pretrained.js';
export { Model, type BackendInfo, type InputTensor, type InputShape, type RunOptions, type StageDump, type ModelMemory, type ModelOptions, type GpuInputTensor, type GpuOutput } from './runtime/model.js';
export { verifyModel, errorStats, type VerifyReport } from './verify.js';
export { MODEL_TOLERANCE, CPU_BACKEND_TOLERANCE } from './tolerance.js';
export { inferArch } from './weights/infer.js';
export type { WeightsSource, WeightFormat, LoadProgress } from './weights/types.js';
export type { ModelParams } from './weights/params.js';
export { classify, classifyImages, classifyEach, classifyPreset, classifySize, type ImageInput, type EncodedImage, type ImageOutcome, type Prediction, type ClassifyOptions, type Classification } from './classify.js';
export type { StageTime } from './runtime/timing.js';
export { decodeImage, readImageFile, imageFromBrowserSource, type DecodedImage } from './image/decode.js';
export type { GpuImageSource } from './image/gpu.js';
export { PREPROCESS_TFJS, PREPROCESS_TORCHVISION, torchvisionPreset, type PreprocessPreset } from './kernels/preprocess.js';
export { topK } from './kernels/softmax.js';
export { profileModel, type Profile, type StageProfile, type KernelProfile, type Timing, type ProfileOptions } from './profile.js';
export type { Spread } from './stats.js';
export { tuneModel, type TuneOptions, type TuneResult, type TunedLaunch } from './tuning/measure.js';
export { mergeTuning, parseTuningFile, choicesFor, adapterKey, TUNING_FORMAT, type TuningFile, type TuningChoice, type TuningSource } from './tuning/file.js';
export type { ScheduleTarget } from './runtime/model.js';
