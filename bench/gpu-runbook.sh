#!/usr/bin/env bash
# The GPU runbook: effnet-webgpu on a machine with an NVIDIA GPU that has no Node.js and no package registry.
#
#   bash bench/gpu-runbook.sh pack             here: build, then put what the GPU machine needs into .gpu-kit/
#                                              (Node xz-compressed, the built CLI with its runtime packages and
#                                              Dawn for linux-x64, the Vulkan loader .deb)
#   bash bench/gpu-runbook.sh run OUTDIR       there (or here, as a dry run on SwiftShader): unpack the kit and
#                                              write the plan, profiles and tuning of B0@224 and V2-S@384 at
#                                              batch 1 and 8 into OUTDIR (at most 8 files: one JSON, one Markdown
#                                              summary, HTML reports, the tuning file)
#   bash bench/gpu-runbook.sh reports OUTDIR   there, as its own command (about 8 minutes): the four `effnet report`
#                                              tables at full size into OUTDIR (a JSON per kind, reports.md, the log);
#                                              make the HTML pages back here: effnet report --from r.json --out r.html
#
# With the `device` tool: `run` with carry ['.gpu-kit'] and the command
#   bash bench/gpu-runbook.sh run "$OUT"
# EFFNET_RUNBOOK_QUICK=1 shrinks every size (res 64, 3 runs, 10 s tuning budget) for a dry run on a CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
KIT=.gpu-kit

pack() {
  npm run build --silent
  rm -rf "$KIT" && mkdir -p "$KIT/debs"
  # Node: the same binary that builds and tests here (x86-64 Linux, like the GPU machine).
  xz -T0 -6 -c "$(readlink -f "$(command -v node)")" > "$KIT/node.xz"
  # The CLI bundle keeps packages external: take exactly the ones it loads at run time, and of Dawn's five
  # platform builds only linux-x64.
  local stage
  stage=$(mktemp -d)
  mkdir -p "$stage/app/node_modules/webgpu/dist"
  cp -r package.json dist "$stage/app/"
  rm -f "$stage"/app/dist/*.map "$stage"/app/dist/browser/*.map
  for p in wgsl_reflect jpeg-js pngjs; do cp -r "node_modules/$p" "$stage/app/node_modules/"; done
  cp node_modules/webgpu/{index.js,package.json} "$stage/app/node_modules/webgpu/"
  cp -r node_modules/webgpu/dist/linux-x64 "$stage/app/node_modules/webgpu/dist/"
  tar -C "$stage" -cJf "$KIT/app.tar.xz" app
  rm -rf "$stage"
  # The Vulkan loader Dawn opens (the NVIDIA ICD comes with the driver there), for amd64 whatever this machine is.
  local lists=/tmp/effnet-apt-amd64
  mkdir -p "$lists/partial"
  local o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 "-oDir::State::Lists=$lists")
  apt-get "${o[@]}" update -qq
  (cd "$KIT/debs" && apt-get "${o[@]}" download libvulkan1 >/dev/null)
  du -sh "$KIT"/* | sed 's/^/gpu-runbook: /'
  echo "gpu-runbook: carry ['.gpu-kit'] and run: bash bench/gpu-runbook.sh run \"\$OUT\""
}

# Unpack the kit into /tmp/effnet-kit and point Dawn at the NVIDIA Vulkan driver; sets `root` and `effnet`.
unpack() {
  [ -f "$KIT/app.tar.xz" ] || { echo "gpu-runbook: no $KIT/app.tar.xz: run 'bash bench/gpu-runbook.sh pack' first and carry $KIT" >&2; exit 2; }
  root=/tmp/effnet-kit
  rm -rf "$root" && mkdir -p "$root"
  xz -dc "$KIT/node.xz" > "$root/node" && chmod +x "$root/node"
  tar -C "$root" -xJf "$KIT/app.tar.xz"
  if ! ldconfig -p | grep -q 'libvulkan\.so\.1'; then
    for f in "$KIT"/debs/*.deb; do dpkg -x "$f" /; done
    ldconfig
  fi
  # The NVIDIA driver's Vulkan ICD where the container keeps it; elsewhere the loader's own search finds it.
  local icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  [ -f "$icd" ] && export VK_DRIVER_FILES=$icd
  export EFFNET_TUNING_DIR=$root/tuning EFFNET_CACHE=$root/cache
  effnet=("$root/node" "$root/app/dist/effnet.js")
}

run() {
  local out=${1:?usage: gpu-runbook.sh run OUTDIR}
  mkdir -p "$out"
  out=$(cd "$out" && pwd)
  unpack
  local quick=${EFFNET_RUNBOOK_QUICK:-}
  local runs=20 budget=60 b0=224 v2=384
  [ -n "$quick" ] && runs=3 budget=10 b0=64 v2=64
  local log="$out/runbook.log"
  : > "$log"
  step() { echo "gpu-runbook: $*" | tee -a "$log" >&2; }

  step "node $("$root/node" --version); $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null || echo 'no nvidia-smi')"
  local results="$root/results" && mkdir -p "$results"
  "${effnet[@]}" plan --arch efficientnet_b0 --res "$b0" --target auto --json > "$results/plan-b0.json" 2>>"$log"
  step "plan: $(grep -c '"op"' "$results/plan-b0.json") launches of B0"
  for spec in "efficientnet_b0 $b0" "efficientnet_v2_s $v2"; do
    set -- $spec
    for batch in 1 8; do
      step "profile $1@$2 batch $batch (planned tiles)"
      "${effnet[@]}" profile --arch "$1" --res "$2" --batch "$batch" --runs "$runs" --tuning none --json > "$results/profile-$1-b$batch.json" 2>>"$log"
    done
    step "tune $1@$2 batch 1 (budget $budget s)"
    "${effnet[@]}" tune --arch "$1" --res "$2" --batch 1 --budget-s "$budget" --runs "$runs" --out "$out/tuning.json" --json > "$results/tune-$1.json" 2>>"$log"
    for batch in 1 8; do
      step "profile $1@$2 batch $batch (tuned)"
      "${effnet[@]}" profile --arch "$1" --res "$2" --batch "$batch" --runs "$runs" --tuning cache --json > "$results/profile-$1-b$batch-tuned.json" 2>>"$log"
    done
  done
  "${effnet[@]}" profile --arch efficientnet_b0 --res "$b0" --runs "$runs" --detail --tuning cache --out "$out/profile-b0-detail.html" 2>>"$log"
  "${effnet[@]}" profile --arch efficientnet_v2_s --res "$v2" --runs "$runs" --detail --tuning cache --out "$out/profile-v2s-detail.html" 2>>"$log"
  # The peers benchmark runs in headless Chromium, which is too large to travel: it runs where a Chromium,
  # the reference fixtures and puppeteer-core are all there (not at toy sizes).
  if [ -z "$quick" ] && command -v chromium >/dev/null && [ -d ../shared/fixtures ] && [ -d "$root/app/node_modules/puppeteer-core" ]; then
    step "bench vs ONNX Runtime Web and TensorFlow.js in headless Chromium"
    "${effnet[@]}" bench --fixtures ../shared/fixtures --batch 1,8 --runs "$runs" --out "$out/bench.md" 2>>"$log" || step "bench failed (see the log)"
  else
    step "peers benchmark skipped: it needs chromium, ../shared/fixtures and puppeteer-core (not in the kit), and full sizes"
  fi
  # One JSON with everything, and a Markdown summary of the medians.
  "$root/node" --input-type=module - "$results" "$out" <<'EOF'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
const [dir, out] = process.argv.slice(2);
const all = Object.fromEntries(readdirSync(dir).map((f) => [f.replace(/\.json$/, ''), JSON.parse(readFileSync(`${dir}/${f}`, 'utf8'))]));
writeFileSync(`${out}/results.json`, JSON.stringify(all, null, 1));
const lines = ['| run | adapter | target | tuning | batch | GPU ms (sum of stages) | wall ms |', '| --- | --- | --- | --- | ---: | ---: | ---: |'];
for (const [name, r] of Object.entries(all)) {
  if (!name.startsWith('profile-')) continue;
  const a = r.adapter;
  lines.push(`| ${name} | ${[a.vendor, a.architecture, a.device].filter(Boolean).join(' / ')} | ${r.schedule?.target} | ${r.schedule?.tuning?.entries ?? 0} | ${r.batch} | ${r.totalMs.toFixed(3)} | ${r.unprofiledMs.toFixed(3)} |`);
}
for (const [name, r] of Object.entries(all)) {
  if (name.startsWith('tune-')) lines.push('', `${name}: tuned ${r.tuned}/${r.launches} launches in ${r.spentS.toFixed(1)} s; model ${r.beforeMs.toFixed(3)} ms planned -> ${r.afterMs.toFixed(3)} ms tuned (ratio ${r.ratio.toFixed(3)}); second load compiled ${r.secondLoad.pipelines} pipelines (only the schedule's: ${r.secondLoad.onlyScheduled})`);
}
writeFileSync(`${out}/summary.md`, lines.join('\n') + '\n');
console.log(lines.join('\n'));
EOF
}

# The papers' tables (`effnet report`) on the GPU, apart from `run` so that each fits one device command.
reports() {
  local out=${1:?usage: gpu-runbook.sh reports OUTDIR}
  mkdir -p "$out"
  out=$(cd "$out" && pwd)
  unpack
  local quick=${EFFNET_RUNBOOK_QUICK:-}
  local runs=20
  [ -n "$quick" ] && runs=2
  local log="$out/reports.log" results="$out"
  : > "$log"
  step() { echo "gpu-runbook: $*" | tee -a "$log" >&2; }
  # The papers' tables on this GPU (`effnet report`), at full size: B0–B7 and B0_small at their crops, batch 1/4/8;
  # B4 with Fused-MBConv in no stage, 1–3, 1–5, 1–7 at batch 1 and 8; B6 at 380 and 512, batch 1…64, cells over
  # the device's limits marked; B0–B7 against V2-S/M/L. Each gets a time budget; cells past it are marked skipped.
  # The quick dry run shrinks every grid to B0-sized toys.
  local rbudget=100
  local -A grid=(
    [latency-table]=""
    [fused-ablation]=""
    [sweep]=""
    [v1-vs-v2]=""
  )
  if [ -n "$quick" ]; then
    rbudget=30
    grid=(
      [latency-table]="--arch efficientnet_b0,efficientnet_b0_small --res 64 --batch 1,4"
      [fused-ablation]="--arch efficientnet_b0 --res 64 --batch 1,4 --fused 0,3"
      [sweep]="--arch efficientnet_b0 --res 64,96 --batch 1,4"
      [v1-vs-v2]="--arch efficientnet_b0,efficientnet_v2_s --res 64"
    )
  fi
  : > "$out/reports.md"
  for kind in latency-table fused-ablation sweep v1-vs-v2; do
    step "report $kind (budget $rbudget s)"
    # shellcheck disable=SC2086 # the grid is a list of flags
    "${effnet[@]}" report "$kind" ${grid[$kind]} --runs "$runs" --budget-s "$rbudget" --json > "$results/report-$kind.json" 2>>"$log" \
      && "${effnet[@]}" report --from "$results/report-$kind.json" >> "$out/reports.md" 2>>"$log" \
      || step "report $kind failed (see the log)"
  done
}

case "${1:-}" in
  pack) pack ;;
  run) shift; run "$@" ;;
  reports) shift; reports "$@" ;;
  *) echo "usage: bash bench/gpu-runbook.sh pack | run OUTDIR | reports OUTDIR" >&2; exit 2 ;;
esac
