/**
 * Other people's numbers that `effnet report` sets beside ours, in one place, each with its source. They are
 * data: the report kinds read these rows and never name a variant in code.
 */

export interface Source {
  /** Short name shown in tables. */
  name: string;
  /** Where the figures are printed. */
  where: string;
  /** How they were measured, so that a reader knows what they compare with. */
  setting: string;
}

export const SOURCES = {
  paddleclas: {
    name: 'PaddleClas',
    where: 'PaddleClas model zoo, ImageNet-1k model list, "EfficientNet and ResNeXt101_wsl series" table (github.com/PaddlePaddle/PaddleClas, docs/zh_CN/models/ImageNet1k/model_list.md)',
    setting: 'Paddle Inference on an NVIDIA V100, FP32, crop as listed, resize short side crop+32; top-1 on ImageNet-1k val of the converted TF weights',
  },
  v2paper: {
    name: 'EfficientNetV2 paper',
    where: 'M. Tan, Q. V. Le, "EfficientNetV2: Smaller Models and Faster Training", ICML 2021, arXiv:2104.00298 (Table 3; Table 7 for V2 top-1)',
    setting: 'Table 3: EfficientNet-B4 trained on ImageNet-1k; throughput is TRAINING images/s per TPUv3 core and per V100 GPU, FLOPs are multiply-adds',
  },
} as const satisfies Record<string, Source>;

export type SourceId = keyof typeof SOURCES;

/** One published model: its ImageNet top-1, and where the source has them, eval sizes and V100 latencies. */
export interface PublishedModel {
  /** Our zoo name for the same network. */
  arch: string;
  /** The name the source uses. */
  published: string;
  /** Grouping for charts (one colour and one Pareto series per family). */
  family: string;
  top1: number;
  top1Source: SourceId;
  /** The source's evaluation crop and the short side it resizes to first. */
  crop?: number;
  resizeShort?: number;
  /** Milliseconds per batch on the source's GPU, by batch size. */
  v100Ms?: Record<number, number>;
  latencySource?: SourceId;
}

const paddle = (arch: string, published: string, family: string, top1: number, crop: number, resizeShort: number, ms: [number, number, number]): PublishedModel => ({
  arch, published, family, top1, top1Source: 'paddleclas', crop, resizeShort,
  v100Ms: { 1: ms[0], 4: ms[1], 8: ms[2] }, latencySource: 'paddleclas',
});
const v2 = (arch: string, published: string, top1: number): PublishedModel => ({ arch, published, family: 'EfficientNetV2', top1, top1Source: 'v2paper' });

const V1 = 'EfficientNet (V1)';

/** In the order tables list them. */
export const PUBLISHED_MODELS: readonly PublishedModel[] = [
  paddle('efficientnet_b0', 'EfficientNetB0', V1, 77.4, 224, 256, [1.96, 3.71, 5.56]),
  paddle('efficientnet_b1', 'EfficientNetB1', V1, 79.2, 240, 272, [2.88, 5.40, 7.63]),
  paddle('efficientnet_b2', 'EfficientNetB2', V1, 79.9, 260, 292, [3.26, 6.20, 9.17]),
  paddle('efficientnet_b3', 'EfficientNetB3', V1, 81.2, 300, 332, [4.52, 8.85, 13.54]),
  paddle('efficientnet_b4', 'EfficientNetB4', V1, 82.9, 380, 412, [6.78, 15.47, 24.95]),
  paddle('efficientnet_b5', 'EfficientNetB5', V1, 83.6, 456, 488, [10.97, 27.24, 45.93]),
  paddle('efficientnet_b6', 'EfficientNetB6', V1, 84.0, 528, 560, [17.09, 43.32, 76.90]),
  paddle('efficientnet_b7', 'EfficientNetB7', V1, 84.3, 600, 632, [25.91, 71.23, 128.20]),
  paddle('efficientnet_b0_small', 'EfficientNetB0_small', 'EfficientNet-B0 without SE (PaddleClas)', 75.8, 224, 256, [1.24, 2.59, 3.92]),
  v2('efficientnet_v2_s', 'EfficientNetV2-S', 83.9),
  v2('efficientnet_v2_m', 'EfficientNetV2-M', 85.1),
  v2('efficientnet_v2_l', 'EfficientNetV2-L', 85.7),
];

export const publishedModel = (arch: string): PublishedModel | undefined => PUBLISHED_MODELS.find((m) => m.arch === arch);

/** The EfficientNetV2 paper's Table 3: EfficientNet-B4 with its first `fusedStages` MBConv stages made Fused-MBConv. */
export interface FusedAblationRow {
  /** withFusedStages(base, fusedStages); 0 is the network as published. */
  fusedStages: number;
  label: string;
  paramsM: number;
  /** The paper's "FLOPs (B)": multiply-adds, half of our FLOP count. */
  macsB: number;
  top1: number;
  /** Training throughput, images/s. */
  tpuImagesPerS: number;
  v100ImagesPerS: number;
}

export const FUSED_ABLATION = {
  base: 'efficientnet_b4',
  source: 'v2paper' as SourceId,
  // "Fused stage1-3 denotes replacing MBConv with Fused-MBConv in stage {2, 3, 4}": the paper counts the stem as
  // stage 1 (EfficientNet's Table 1), so its stages 2–4 are the first three MBConv rows, our withFusedStages(…, 3).
  rows: [
    { fusedStages: 0, label: 'No fused', paramsM: 19.3, macsB: 4.5, top1: 82.8, tpuImagesPerS: 262, v100ImagesPerS: 155 },
    { fusedStages: 3, label: 'Fused stage1-3', paramsM: 20.0, macsB: 7.5, top1: 83.1, tpuImagesPerS: 362, v100ImagesPerS: 216 },
    { fusedStages: 5, label: 'Fused stage1-5', paramsM: 43.4, macsB: 21.3, top1: 83.1, tpuImagesPerS: 327, v100ImagesPerS: 223 },
    { fusedStages: 7, label: 'Fused stage1-7', paramsM: 132.0, macsB: 34.4, top1: 81.7, tpuImagesPerS: 254, v100ImagesPerS: 206 },
  ] satisfies FusedAblationRow[],
};

/** What each kind measures when no --arch/--res/--batch narrows it: the full tables, for real GPUs. */
export const KIND_DEFAULTS = {
  latencyTable: { batches: [1, 4, 8] },
  fusedAblation: { batches: [1, 8] },
  // The V2 paper's motivating example: B6 at its training (380) and a larger size (512), batch growing until memory runs out.
  sweep: { arch: 'efficientnet_b6', resolutions: [380, 512], batches: [1, 2, 4, 8, 16, 32, 64] },
  // B0–B7 against V2-S/M/L: the families the V2 paper compares (B0_small is a PaddleClas variant, not in it).
  v1VsV2: { batches: [1], families: ['EfficientNet (V1)', 'EfficientNetV2'] },
};
