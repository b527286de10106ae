#!/usr/bin/env bash
# The GPU runbook: effnet-webgpu on a machine with an NVIDIA GPU that has no Node.js and no package registry.
#
#   bash bench/gpu-runbook.sh pack             here: build, then put what the GPU machine needs into .gpu-kit/
#                                              (Node xz-compressed, the built CLI with its runtime packages and
#                                              Dawn for linux-x64, the Vulkan loader .deb)
#   bash bench/gpu-runbook.sh run OUTDIR       there (or here, as a dry run on SwiftShader): unpack the kit, check
#                                              the machine (preflight), then plan, profile and tune B0@224 and
#                                              V2-S@384 at batch 1 and 8 into OUTDIR (at most 8 files)
#   bash bench/gpu-runbook.sh reports OUTDIR   there, as its own command (about 8 minutes): the same preflight, then
#                                              the four `effnet report` tables at full size into OUTDIR (a JSON per
#                                              kind, reports.md, results.json, doctor.json, the log); make the HTML
#                                              pages back here: effnet report --from r.json --out r.html
#
# With the `device` tool: `run` with carry ['.gpu-kit'] and the command
#   bash bench/gpu-runbook.sh run "$OUT"
#
# A device call is one try at an expensive machine, so `run` and `reports` always return what they measured:
# every step has its own timeout, a failed or timed-out step is recorded and the next one runs, and results.json
# and the summary are rewritten after every step (a run killed at any point returns everything finished before).
# Exit code 0 when the preflight found a usable adapter and at least one measuring step succeeded.
#
# Environment:
#   EFFNET_RUNBOOK_QUICK=1           toy sizes (res 64, 3 runs, 10 s tuning) for a dry run on a CPU (SwiftShader)
#   EFFNET_RUNBOOK_ALLOW_SOFTWARE=1  measure even when the adapter is a software one (otherwise the heavy steps
#                                    are skipped: SwiftShader timings say nothing about a GPU)
#   EFFNET_RUNBOOK_SUBGROUPS=0       pass --no-subgroups to every effnet command from the start
#   EFFNET_RUNBOOK_TIMEOUT_SCALE=F   multiply every step's timeout by F (tests use a small F)
#   EFFNET_RUNBOOK_DEADLINE_S=S      no step starts or runs past S seconds after the start (510 on a GPU)
#   EFFNET_RUNBOOK_KIT=DIR|none      the kit folder (.gpu-kit); `none` runs the local `node dist/effnet.js`
#   EFFNET_RUNBOOK_CLI="CMD ARGS"    the effnet command to run instead (tests: a stub)
set -uo pipefail # no -e: every step's status is checked and recorded; one failure must not lose the rest
here=$PWD
cd "$(dirname "$0")/.."
KIT=${EFFNET_RUNBOOK_KIT:-.gpu-kit}

pack() {
  set -e # nothing to salvage here: stop at the first error
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

say() { echo "gpu-runbook: $*" | tee -a "$log" >&2; }

# Before any helper can run: the reason in the two files that always come back, and stop.
fatal() {
  say "$1"
  printf '# GPU runbook (%s): nothing measured\n\n%s\n' "$mode" "$1" > "$out/$summary"
  exit 2
}

# The kit unpacked into /tmp/effnet-kit (the Vulkan loader too, when the machine has none), or with
# EFFNET_RUNBOOK_KIT=none this checkout's node and dist/. Sets `work`, `node`, `cli` and `dawn_dir`.
unpack() {
  if [ "$KIT" = none ]; then
    work=$(mktemp -d "${TMPDIR:-/tmp}/effnet-runbook.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    node=(node)
    cli=(node dist/effnet.js)
    dawn_dir=node_modules/webgpu/dist/linux-x64
  else
    [ -f "$KIT/app.tar.xz" ] || fatal "no $KIT/app.tar.xz: run 'bash bench/gpu-runbook.sh pack' first and carry $KIT"
    work=/tmp/effnet-kit
    rm -rf "$work" && mkdir -p "$work"
    xz -dc "$KIT/node.xz" > "$work/node" && chmod +x "$work/node" || fatal "could not unpack $KIT/node.xz"
    tar -C "$work" -xJf "$KIT/app.tar.xz" || fatal "could not unpack $KIT/app.tar.xz"
    if ! ldconfig -p | grep -q 'libvulkan\.so\.1'; then
      say "no Vulkan loader on this machine: unpacking $KIT/debs/*.deb"
      for f in "$KIT"/debs/*.deb; do dpkg -x "$f" / || say "dpkg -x $f failed"; done
      ldconfig
    fi
    node=("$work/node")
    cli=("$work/node" "$work/app/dist/effnet.js")
    dawn_dir=$work/app/node_modules/webgpu/dist/linux-x64
    export EFFNET_CACHE=$work/cache
  fi
  if [ -n "${EFFNET_RUNBOOK_CLI:-}" ]; then read -ra cli <<< "$EFFNET_RUNBOOK_CLI"; fi
  # The NVIDIA driver's Vulkan ICD where the container keeps it; elsewhere the loader's own search finds it.
  local icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  if [ -f "$icd" ]; then export VK_DRIVER_FILES=$icd; fi
  # A tuning cache of this run only: "tuned" means tuned by this run, never by an earlier one.
  export EFFNET_TUNING_DIR=$work/tuning
  mkdir -p "$work/steps" "$work/out" "$work/md" "$work/preflight"
  "${node[@]}" -e 0 2>>"$log" || fatal "node does not run on this machine: ${node[*]}"
  "${node[@]}" --version > "$work/preflight/node.txt" 2>&1
  write_helper
}

# Settings shared by `run` and `reports`; the output folder is resolved against the caller's directory.
setup() {
  mode=$1 summary=$2 out=${3:?usage: gpu-runbook.sh $1 OUTDIR}
  case $out in /*) ;; *) out=$here/$out ;; esac
  mkdir -p "$out" && out=$(cd "$out" && pwd)
  log=$out/$mode.log
  [ "$mode" = run ] && log=$out/runbook.log
  : > "$log"
  quick=${EFFNET_RUNBOOK_QUICK:-}
  allow=${EFFNET_RUNBOOK_ALLOW_SOFTWARE:-}
  scale=${EFFNET_RUNBOOK_TIMEOUT_SCALE:-1}
  # SwiftShader on a busy 2-core machine takes 30-60 s for what a GPU does in seconds: the dry run's steps get
  # 6 times the time (and no deadline to speak of).
  slow=1
  if [ -n "$quick" ]; then slow=6; fi
  # On a GPU every step takes seconds; the deadline keeps the whole command inside the device tool's 10
  # minutes even if every step hangs. SwiftShader (the quick dry run) is far slower and has no such limit.
  deadline=${EFFNET_RUNBOOK_DEADLINE_S:-$([ -n "$quick" ] && echo 3600 || echo 510)}
  nosub=0 sg_used=unknown
  if [ "${EFFNET_RUNBOOK_SUBGROUPS:-1}" = 0 ]; then nosub=1; fi
  proceed=1 skip_reason=''
  measured=0
  unpack
  export RB_WORK=$work RB_OUT=$out RB_MODE=$mode RB_LOG=$log RB_QUICK=$quick RB_DEADLINE=$deadline
  if [ "$nosub" = 1 ]; then note "subgroups off from the start (EFFNET_RUNBOOK_SUBGROUPS=0): every effnet command ran with --no-subgroups"; fi
}

helper() { "${node[@]}" "$work/runbook.mjs" "$@"; }

# skip NAME KIND REASON: a step not run, recorded without starting node (the next step or the finish rewrites
# results.json and the summary with it).
skip() {
  local n s=$3
  n=$(find "$work/steps" -type f | wc -l)
  s=${s//\\/\\\\} s=${s//\"/\\\"} s=${s//$'\n'/ } s=${s//$'\t'/ }
  printf '{"name":"%s","kind":"%s","status":"skipped","attempt":1,"result":{"skipped":"%s"}}\n' "$1" "$2" "$s" > "$work/steps/$(printf %03d "$n")-$1.1.json"
}
note() { echo "$*" >> "$work/notes.txt"; say "$*"; }

# A step's timeout in seconds: its own (times 6 in the dry run) scaled by EFFNET_RUNBOOK_TIMEOUT_SCALE, cut to
# what is left before the deadline; fails when less than 5 s are left (the step is then skipped, not started).
limit() {
  local left=$((deadline - SECONDS))
  awk -v s="$1" -v f="$scale" -v q="$slow" -v left="$left" 'BEGIN { if (left < 5) exit 1; t = s * q * f; if (t < 1) t = 1; if (t > left) t = left; printf "%g", t }'
}

takes_subgroups() { case $1 in doctor | plan | profile | tune | detail) return 0 ;; *) return 1 ;; esac; }

# attempt NAME KIND SECONDS N ARGS...: run the effnet command once under `timeout`, its stdout to a file and
# its stderr to the log (so a run killed mid-step still has it), and record it. Prints the recorded status.
attempt() {
  local name=$1 kind=$2 secs=$3 n=$4
  shift 4
  local args=("$@") t
  if takes_subgroups "$kind" && [ "$nosub" = 1 ]; then args+=(--no-subgroups); fi
  if ! t=$(limit "$secs"); then
    skip "$name" "$kind" "no time left before the run's ${deadline} s deadline"
    echo skipped
    return
  fi
  local ka
  ka=$(awk -v f="$scale" 'BEGIN { k = 10 * f; printf "%g", (k < 1 ? 1 : k) }')
  local off
  off=$(stat -c %s "$log")
  say "$name: effnet ${args[*]} (timeout ${t} s)"
  local t0 rc
  t0=$(date +%s.%N)
  timeout --kill-after="$ka" "$t" "${cli[@]}" "${args[@]}" > "$work/out/$name.$n.json" 2>> "$log" < /dev/null
  rc=$?
  local s
  s=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  local sg=1
  if ! takes_subgroups "$kind" || [ "$nosub" = 1 ]; then sg=0; fi
  local r
  r=$(helper record "$name" "$kind" "$rc" "$s" "$t" "$sg" "$n" "$off" "$work/out/$name.$n.json") || r="failed	(the runbook's helper failed)"
  say "$name: ${r//	/: }"
  echo "${r%%	*}"
}

# step NAME KIND SECONDS ARGS...: one attempt; a failure (not a timeout) with subgroups on is tried once more
# with --no-subgroups. When that passes, subgroups were the cause: every later step runs without them. (No
# retry where doctor said the engine uses no subgroup kernels on this adapter: it would fail the same way.)
# Returns 0 when the step finally succeeded.
step() {
  local name=$1 kind=$2 secs=$3
  shift 3
  local status
  status=$(attempt "$name" "$kind" "$secs" 1 "$@")
  if [ "$status" = failed ] && [ "$nosub" = 0 ] && [ "$sg_used" != off ] && takes_subgroups "$kind"; then
    say "$name failed with subgroups on: trying it once more with --no-subgroups"
    nosub=1
    status=$(attempt "$name" "$kind" "$secs" 2 "$@")
    if [ "$status" = ok ] || [ "$status" = warn ]; then
      note "subgroups switched off: $name failed with them on and passed with --no-subgroups, so every later step ran with --no-subgroups"
    else
      nosub=0
      note "$name failed with and without subgroups (so not because of them): later steps keep subgroups on"
    fi
  fi
  case $status in
    ok | warn) case $kind in profile | tune | detail | bench | report) measured=$((measured + 1)) ;; esac; return 0 ;;
    *) return 1 ;;
  esac
}

# heavy NAME KIND SECONDS ARGS...: a measuring step, skipped (with the reason) when the preflight found no
# adapter worth timing.
heavy() {
  if [ "$proceed" = 1 ]; then
    step "$@"
  else
    skip "$1" "$2" "$skip_reason"
    say "$1: skipped ($skip_reason)"
    return 1
  fi
}

# The machine, before anything runs a shader: Dawn's shared libraries, the Vulkan loader and the NVIDIA ICD,
# nvidia-smi, then `effnet doctor` (the adapter, and every kernel variant self-tested on a small B0). Writes
# doctor.json and results.json's "preflight"; a software adapter or none stops the heavy steps.
preflight() {
  local pf=$work/preflight
  local dawn
  dawn=$(find "$dawn_dir" -name '*.node' 2>/dev/null | head -1)
  echo "$dawn" > "$pf/dawn.txt"
  if [ -n "$dawn" ]; then ldd "$dawn" > "$pf/ldd.txt" 2>&1; fi
  # Dawn opens the Vulkan loader with dlopen, so ldd does not list it.
  ldconfig -p 2>/dev/null | grep 'libvulkan\.so\.1' > "$pf/loader.txt"
  {
    local f
    for f in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/*nvidia*.json /etc/vulkan/icd.d/*nvidia*.json; do
      if [ -f "$f" ]; then echo "$f"; fi
    done
  } > "$pf/icd.txt"
  ls /usr/share/vulkan/icd.d /etc/vulkan/icd.d 2>/dev/null | grep '\.json$' > "$pf/icd-all.txt"
  if command -v nvidia-smi >/dev/null; then
    timeout 20 nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > "$pf/nvidia-smi.txt" 2>&1
  fi
  helper preflight
  say "preflight: $(helper line preflight)"
  step doctor doctor 90 doctor --arch efficientnet_b0 --res 64 --json
  local v decision reason
  v=$(helper verdict "${quick:+EFFNET_RUNBOOK_QUICK}${allow:+ EFFNET_RUNBOOK_ALLOW_SOFTWARE}")
  IFS=$'\t' read -r decision sg_used reason <<< "$v"
  if [ "$decision" != proceed ]; then
    proceed=0
    skip_reason=$reason
  fi
  say "preflight: $decision: $reason (subgroup kernels: $sg_used)"
}

run() {
  setup run summary.md "$@"
  local runs=20 budget=60 b0=224 v2=384
  if [ -n "$quick" ]; then runs=3 budget=10 b0=64 v2=64; fi
  say "node $(cat "$work/preflight/node.txt"); effnet: ${cli[*]}; deadline ${deadline} s${quick:+; quick dry run}"
  preflight
  step plan-b0 plan 30 plan --arch efficientnet_b0 --res "$b0" --target auto --json
  # The planned profiles of both models first: they are what the run is for, so a hang later costs less.
  local m spec arch res batch
  for m in b0 v2s; do
    spec=$([ $m = b0 ] && echo "efficientnet_b0 $b0" || echo "efficientnet_v2_s $v2")
    read -r arch res <<< "$spec"
    for batch in 1 8; do
      heavy "profile-$m-b$batch" profile 45 profile --arch "$arch" --res "$res" --batch "$batch" --runs "$runs" --tuning none --json
    done
  done
  for m in b0 v2s; do
    spec=$([ $m = b0 ] && echo "efficientnet_b0 $b0" || echo "efficientnet_v2_s $v2")
    read -r arch res <<< "$spec"
    # Tuning itself has the budget; compiling the planned schedule, the second load and the comparison come on top.
    if heavy "tune-$m" tune $((budget + 60)) tune --arch "$arch" --res "$res" --batch 1 --budget-s "$budget" --runs "$runs" --out "$out/tuning.json" --json; then
      for batch in 1 8; do
        heavy "profile-$m-b$batch-tuned" profile 45 profile --arch "$arch" --res "$res" --batch "$batch" --runs "$runs" --tuning cache --json
      done
    else
      for batch in 1 8; do skip "profile-$m-b$batch-tuned" profile "${skip_reason:-tune-$m failed or timed out: nothing tuned to profile}"; done
    fi
  done
  heavy detail-b0 detail 60 profile --arch efficientnet_b0 --res "$b0" --runs "$runs" --detail --tuning cache --json --out "$out/profile-b0-detail.html"
  heavy detail-v2s detail 60 profile --arch efficientnet_v2_s --res "$v2" --runs "$runs" --detail --tuning cache --json --out "$out/profile-v2s-detail.html"
  # The peers benchmark runs in headless Chromium, which is too large to travel: it runs where a Chromium,
  # the reference fixtures and puppeteer-core are all there (not at toy sizes).
  local modules=$work/app/node_modules
  [ "$KIT" = none ] && modules=node_modules
  if [ -n "$quick" ]; then
    skip bench bench "quick dry run: the peers benchmark runs at full sizes only"
  elif command -v chromium >/dev/null && [ -d ../shared/fixtures ] && [ -d "$modules/puppeteer-core" ]; then
    heavy bench bench 150 bench --fixtures ../shared/fixtures --batch 1,8 --runs "$runs" --json --out "$out/bench.md"
  else
    skip bench bench "the peers benchmark needs chromium, ../shared/fixtures and puppeteer-core, none of which travel in the kit"
  fi
  finish
}

# The papers' tables (`effnet report`) on the GPU, apart from `run` so that each fits one device command.
reports() {
  setup reports reports.md "$@"
  local runs=20
  [ -n "$quick" ] && runs=2
  say "node $(cat "$work/preflight/node.txt"); effnet: ${cli[*]}; deadline ${deadline} s${quick:+; quick dry run}"
  preflight
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
  if [ "$nosub" = 1 ]; then note "effnet report has no --no-subgroups: the reports ran with the engine's default"; fi
  local kind
  for kind in latency-table fused-ablation sweep v1-vs-v2; do
    # shellcheck disable=SC2086 # the grid is a list of flags
    if heavy "report-$kind" report $((rbudget + 40)) report "$kind" ${grid[$kind]} --runs "$runs" --budget-s "$rbudget" --json; then
      # The report JSON comes back as it is (render it here with `effnet report --from`), and its Markdown
      # goes into reports.md.
      cp "$work/out/report-$kind.1.json" "$out/report-$kind.json"
      timeout --kill-after=5 30 "${cli[@]}" report --from "$out/report-$kind.json" > "$work/md/report-$kind.md" 2>> "$log" < /dev/null ||
        say "report $kind: rendering its Markdown failed (the JSON is there)"
      helper rebuild
    fi
  done
  finish
}

# The last word: the summary again (it already is up to date) and the exit code.
finish() {
  helper rebuild
  say "done in ${SECONDS} s: $measured measuring step(s) succeeded; $(ls "$out" | wc -l) files in $out"
  cat "$out/$summary" >&2
  if [ "$proceed" = 1 ] && [ "$measured" -gt 0 ]; then exit 0; fi
  exit 1
}

# The bookkeeping in JavaScript (JSON in, JSON and Markdown out), written next to the kit's node at run time.
# Every step leaves one record in $RB_WORK/steps/; `rebuild` makes results.json, the summary and doctor.json
# from all records so far.
write_helper() {
  cat > "$work/runbook.mjs" <<'EOF'
import { existsSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';

const { RB_WORK: work, RB_OUT: out, RB_MODE: mode, RB_LOG: logFile, RB_QUICK: quick, RB_DEADLINE: deadline } = process.env;
const [cmd, ...args] = process.argv.slice(2);
const read = (f) => (existsSync(f) ? readFileSync(f, 'utf8').trim() : '');
const readJson = (f) => (existsSync(f) ? JSON.parse(readFileSync(f, 'utf8')) : undefined);
// Written next to its final name and renamed: a run killed mid-write still leaves the previous version whole.
const put = (name, text) => {
  writeFileSync(`${out}/.${name}.tmp`, text);
  renameSync(`${out}/.${name}.tmp`, `${out}/${name}`);
};
const summaryName = mode === 'reports' ? 'reports.md' : 'summary.md';
const MEASURING = new Set(['profile', 'tune', 'detail', 'bench', 'report']);

function records() {
  const dir = `${work}/steps`;
  return readdirSync(dir).sort().map((f) => JSON.parse(readFileSync(`${dir}/${f}`, 'utf8')));
}
function addRecord(r) {
  const n = readdirSync(`${work}/steps`).length;
  writeFileSync(`${work}/steps/${String(n).padStart(3, '0')}-${r.name}.${r.attempt}.json`, JSON.stringify(r));
}

/** The JSON a command printed; commands print one document, but take the first `{` on if anything precedes it. */
function parseOutput(text) {
  if (!text.trim()) return undefined;
  for (const s of [text, text.slice(text.indexOf('{'))]) {
    try {
      return JSON.parse(s);
    } catch {}
  }
  return undefined;
}

/** Why a step failed, in one line: the command's own JSON error, else its last `effnet:` line on stderr. */
function why(parsed, exit, stderr, timedOut, timeoutS) {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  const last = [...lines].reverse().find((l) => l.startsWith('effnet:')) ?? lines.at(-1);
  const said = last ? `; last said: ${last}` : '';
  return oneLine(whyLong(parsed, exit, timedOut, timeoutS, last, said));
}
// The summary has one line per failed step: GPU validation errors come over several.
const oneLine = (s) => {
  const t = s.replace(/\s*\n\s*/g, ' ').trim();
  return t.length > 500 ? `${t.slice(0, 500)}…` : t;
};
function whyLong(parsed, exit, timedOut, timeoutS, last, said) {
  if (timedOut) return `timed out after ${timeoutS} s${exit === 137 ? ' (killed: it ignored SIGTERM)' : ''}${said}`;
  if (parsed?.error) return typeof parsed.error === 'object' ? `${parsed.error.code ?? 'error'}: ${parsed.error.message}` : String(parsed.error);
  if (exit > 128) {
    const sig = Object.entries(constants.signals).find(([, v]) => v === exit - 128)?.[0];
    return `killed by ${sig ?? `signal ${exit - 128}`}${said}`;
  }
  if (exit === 0) return `exit 0 but no JSON on stdout${said}`;
  return last ?? `exit ${exit}`;
}

const fmt = (x, d = 3) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : '?');
const exp = (x) => (typeof x === 'number' ? x.toExponential(1) : '?');
const adapterName = (a) => (a ? [a.vendor, a.architecture, a.device, a.description].filter(Boolean).join(' / ') + (a.isFallback ? ' (software)' : '') : '?');

/** One line about a finished step, for the log and the summary. */
function digest(kind, r) {
  if (r.error) return r.error;
  switch (kind) {
    case 'doctor':
      return `${adapterName(r.adapter)}; ${r.engine?.target} target, subgroups ${r.engine?.subgroups ? 'on' : 'off'}; ` +
        `self-test ${r.selfTest?.checked} variants, ${r.selfTest?.failed?.length ? `${r.selfTest.failed.length} FAILED (${r.selfTest.failed.map((f) => f.variant).join(', ')})` : 'all passed'}; ` +
        `quick vs tuned relL2 ${exp(r.tiers?.relL2)}${r.tiers?.ok === false ? ' BEYOND bound' : ''}`;
    case 'plan':
      return `${r.launches?.length} launches, ${r.target} target, ${r.tier} tier${r.subgroups ? ', subgroups' : ''}`;
    case 'profile':
    case 'detail':
      return `GPU ${fmt(r.totalMs)} ms (sum of stages), wall ${fmt(r.unprofiledMs)} ms, batch ${r.batch}, ${r.timer}`;
    case 'tune':
      return `tuned ${r.tuned}/${r.launches} launches in ${fmt(r.spentS, 1)} s; model ${fmt(r.beforeMs)} ms planned -> ${fmt(r.afterMs)} ms tuned ` +
        `(ratio ${fmt(r.ratio)}), logits relL2 ${exp(r.logitsRelL2)}, ${r.rejected ?? 0} candidate(s) rejected, ${r.accepted ? 'kept' : 'NOT kept'}; ` +
        `second load compiled ${r.secondLoad?.pipelines} pipelines (only the schedule's: ${r.secondLoad?.onlyScheduled})`;
    case 'bench': {
      const failed = (r.runs ?? []).filter((x) => x.status === 'failed').length;
      return `${r.runs?.length ?? '?'} rows${failed ? `, ${failed} FAILED` : ''}; the table is in bench.md`;
    }
    case 'report':
      return `${r.kind ?? 'report'} written`;
    default:
      return 'done';
  }
}

function record([name, kind, exitS, secondsS, timeoutS, sg, attemptS, offsetS, stdoutFile]) {
  const exit = Number(exitS), seconds = Number(secondsS), timeout = Number(timeoutS);
  const parsed = parseOutput(read(stdoutFile));
  const stderr = existsSync(logFile) ? readFileSync(logFile).subarray(Number(offsetS)).toString('utf8') : '';
  // `timeout` exits 124 after SIGTERM, 137 when it had to SIGKILL too.
  const timedOut = exit === 124 || (exit === 137 && seconds >= timeout - 0.5);
  let status, result;
  if (timedOut) status = 'timeout';
  else if (exit === 0 && parsed && typeof parsed === 'object' && !parsed.error) status = 'ok';
  // doctor exits 1 when a variant failed its self-test (the engine runs the replacement it names), bench when
  // a peer's row failed: findings in a whole report, not a broken step.
  else if ((kind === 'doctor' || kind === 'bench') && parsed && typeof parsed === 'object' && !parsed.error && (parsed.adapter || parsed.runs)) status = 'warn';
  else status = 'failed';
  if (status === 'ok' || status === 'warn') result = parsed;
  else result = { error: why(parsed, exit, stderr, timedOut, timeout), exit, seconds };
  addRecord({ name, kind, status, exit, seconds, timeoutS: timeout, subgroups: sg === '1', attempt: Number(attemptS), result });
  rebuild();
  process.stdout.write(`${status}\t${digest(kind, result)} (${fmt(seconds, 1)} s)\n`);
}

/** The machine's facts gathered by the shell (files in $RB_WORK/preflight/). */
function preflightFacts() {
  const pf = `${work}/preflight`;
  const dawnPath = read(`${pf}/dawn.txt`);
  const ldd = read(`${pf}/ldd.txt`).split('\n').map((l) => l.trim()).filter(Boolean);
  const missing = ldd.filter((l) => /not found/.test(l)).map((l) => l.split(/\s+/)[0]);
  const icd = read(`${pf}/icd.txt`).split('\n').filter(Boolean);
  return {
    node: read(`${pf}/node.txt`) || null,
    nvidiaSmi: read(`${pf}/nvidia-smi.txt`) || null,
    vulkanLoader: read(`${pf}/loader.txt`).split('\n')[0] || null,
    icd: { nvidia: icd[0] ?? null, all: read(`${pf}/icd-all.txt`).split('\n').filter(Boolean), VK_DRIVER_FILES: process.env.VK_DRIVER_FILES ?? null },
    dawn: dawnPath ? { path: dawnPath, missing, ldd } : { path: null, missing: [], ldd: [], note: 'no dawn.node found' },
  };
}

function preflight() {
  writeFileSync(`${work}/preflight.json`, JSON.stringify(preflightFacts()));
  rebuild();
}

function preflightLine(p) {
  const parts = [
    p.dawn.path ? (p.dawn.missing.length ? `dawn.node MISSING libraries: ${p.dawn.missing.join(', ')}` : 'dawn.node libraries all resolve') : 'no dawn.node found',
    p.vulkanLoader ? 'Vulkan loader found' : 'NO Vulkan loader (libvulkan.so.1)',
    p.icd.nvidia ? `NVIDIA ICD ${p.icd.nvidia}` : `no NVIDIA Vulkan ICD (ICDs: ${p.icd.all.join(', ') || 'none'})`,
    p.nvidiaSmi ? `nvidia-smi: ${p.nvidiaSmi.split('\n')[0]}` : 'no nvidia-smi',
    p.node ? `node ${p.node}` : 'node ?',
  ];
  return parts.join('; ');
}

/** Whether the heavy steps run: a hardware adapter, or a software one when the caller allows it (arg: why). */
function verdict([allowedBy]) {
  const p = JSON.parse(readFileSync(`${work}/preflight.json`, 'utf8'));
  const doc = records().filter((r) => r.name === 'doctor').at(-1)?.result;
  const a = doc?.adapter;
  const allowed = allowedBy?.trim();
  let v;
  if (!a) {
    const lib = p.dawn.missing.length ? ` (dawn.node misses ${p.dawn.missing.join(', ')})` : !p.vulkanLoader ? ' (no Vulkan loader)' : '';
    v = allowed
      ? { adapter: 'none', proceed: true, reason: `doctor got no adapter (${doc?.error ?? doc?.skipped ?? 'no report'})${lib}; measuring anyway (${allowed})` }
      : { adapter: 'none', proceed: false, reason: `doctor got no adapter: ${doc?.error ?? doc?.skipped ?? 'no report'}${lib}` };
  } else if (a.isFallback) {
    v = allowed
      ? { adapter: 'software', proceed: true, reason: `software adapter ${adapterName(a)}; measuring anyway (${allowed}): timings say nothing about a GPU` }
      : { adapter: 'software', proceed: false, reason: `the adapter is a software one (${adapterName(a)}${p.icd.nvidia ? '' : '; no NVIDIA Vulkan ICD found'}): its timings would say nothing about a GPU (EFFNET_RUNBOOK_ALLOW_SOFTWARE=1 measures anyway)` };
  } else {
    v = { adapter: 'hardware', proceed: true, reason: adapterName(a) };
  }
  // Whether the engine runs subgroup kernels here (the adapter has them, the target is a GPU): without them a
  // failure is never the subgroups', and no step is retried without them.
  v.subgroupKernels = a ? (doc.engine?.subgroups ? 'on' : 'off') : 'unknown';
  p.verdict = v;
  writeFileSync(`${work}/preflight.json`, JSON.stringify(p));
  rebuild();
  process.stdout.write(`${v.proceed ? 'proceed' : 'skip'}\t${v.subgroupKernels}\t${v.reason}\n`);
}

/** results.json, the summary and doctor.json from every record so far. */
function rebuild() {
  const recs = records();
  const results = {};
  const pre = readJson(`${work}/preflight.json`);
  const doc = recs.filter((r) => r.name === 'doctor').at(-1);
  if (pre) {
    results.preflight = { ...pre, doctor: doc?.result ?? null };
    put('doctor.json', JSON.stringify(results.preflight, null, 1) + '\n');
  }
  // One key per step: its last attempt's output (or error, or why it was skipped). Reports are files of their own.
  for (const r of recs) {
    if (r.name === 'doctor') continue;
    results[r.name] = r.kind === 'report' && r.status === 'ok' ? { file: `${r.name}.json`, seconds: r.seconds } : r.result;
  }
  const notes = read(`${work}/notes.txt`).split('\n').filter(Boolean);
  results.runbook = {
    mode,
    quick: !!quick,
    deadlineS: Number(deadline),
    notes,
    steps: recs.map(({ result, ...meta }) => ({ ...meta, ...(result.error ? { error: result.error } : {}), ...(result.skipped ? { skipped: result.skipped } : {}) })),
  };
  put('results.json', JSON.stringify(results, null, 1) + '\n');
  put(summaryName, summarize(recs, results, notes));
}

function summarize(recs, results, notes) {
  const last = new Map();
  for (const r of recs) last.set(r.name, r);
  const final = [...last.values()];
  const pre = results.preflight;
  const L = [];
  L.push(`# GPU runbook: ${mode}${quick ? ' (quick dry run: toy sizes, not a measurement)' : ''}`, '');
  const doc = pre?.doctor;
  if (doc?.adapter) L.push(`Adapter: ${adapterName(doc.adapter)}${pre.nvidiaSmi ? ` (nvidia-smi: ${pre.nvidiaSmi.split('\n')[0]})` : ''}`);
  if (pre) L.push(`Preflight: ${preflightLine(pre)}`);
  if (doc) L.push(`Doctor: ${digest('doctor', doc)}`);
  if (pre?.verdict) L.push(`Verdict: ${pre.verdict.proceed ? 'measured' : 'heavy steps SKIPPED'} (${pre.verdict.reason})`);
  const count = (s) => final.filter((r) => r.status === s).length;
  L.push(`Steps: ${count('ok') + count('warn')} ok, ${count('failed')} failed, ${count('timeout')} timed out, ${count('skipped')} skipped`);
  L.push('');
  const profiles = final.filter((r) => (r.kind === 'profile' || r.kind === 'detail') && r.status === 'ok');
  // 'on' only where the engine runs subgroup kernels; 'off' where the runbook passed --no-subgroups.
  const sg = (r) => (!r.subgroups ? 'off' : pre?.verdict?.subgroupKernels === 'off' ? 'unused' : 'on');
  if (profiles.length) {
    L.push('| step | target | tuning entries | subgroups | batch | GPU ms (sum of stages) | wall ms | timer | took s |');
    L.push('| --- | --- | ---: | --- | ---: | ---: | ---: | --- | ---: |');
    for (const r of profiles) {
      const p = r.result;
      L.push(`| ${r.name} | ${p.schedule?.target ?? '?'} | ${p.schedule?.tuning?.entries ?? 0} | ${sg(r)} | ${p.batch} | ${fmt(p.totalMs)} | ${fmt(p.unprofiledMs)} | ${p.timer ?? '?'} | ${fmt(r.seconds, 1)} |`);
    }
    L.push('');
  }
  for (const r of final) {
    if (['plan', 'tune', 'bench', 'report'].includes(r.kind) && (r.status === 'ok' || r.status === 'warn')) L.push(`- ${r.name}: ${digest(r.kind, r.result)} (${fmt(r.seconds, 1)} s)`);
  }
  const bad = final.filter((r) => !['ok', 'warn'].includes(r.status));
  const retried = recs.filter((r) => r.attempt === 1 && r.status === 'failed' && recs.some((x) => x.name === r.name && x.attempt === 2));
  if (bad.length || notes.length || retried.length) {
    L.push('', '## Not measured, retried, notes', '');
    for (const n of notes) L.push(`- note: ${n}`);
    for (const r of bad) {
      const label = { failed: 'FAILED', timeout: 'TIMED OUT', skipped: 'SKIPPED' }[r.status];
      L.push(`- ${r.name}: ${label}${r.status === 'skipped' ? '' : ` (exit ${r.exit}, ${fmt(r.seconds, 1)} s${sg(r) === 'on' ? ', subgroups on' : ''})`}: ${r.result.error ?? r.result.skipped}`);
    }
    for (const r of retried) L.push(`- ${r.name}: first attempt with subgroups on FAILED (exit ${r.exit}, ${fmt(r.seconds, 1)} s): ${r.result.error}; retried with --no-subgroups: ${last.get(r.name).status}`);
  }
  // The rendered reports (reports mode), in the order they ran.
  for (const r of final) {
    const md = r.kind === 'report' && read(`${work}/md/${r.name}.md`);
    if (md) L.push('', md);
  }
  return L.join('\n') + '\n';
}

const commands = {
  record,
  preflight,
  verdict,
  rebuild,
  line: () => process.stdout.write(preflightLine(JSON.parse(readFileSync(`${work}/preflight.json`, 'utf8'))) + '\n'),
};
if (!commands[cmd]) throw new Error(`runbook helper: unknown command ${cmd}`);
commands[cmd](args);
EOF
}

case "${1:-}" in
  pack) pack ;;
  run) shift; run "$@" ;;
  reports) shift; reports "$@" ;;
  *) echo "usage: bash bench/gpu-runbook.sh pack | run OUTDIR | reports OUTDIR" >&2; exit 2 ;;
esac
