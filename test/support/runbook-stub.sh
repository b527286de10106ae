#!/usr/bin/env bash
# A stand-in for the effnet CLI in test/gpu-runbook.test.ts (bash, not node, so that a whole runbook run takes
# seconds): takes the runbook's commands and flags, answers in the real commands' JSON shapes, and misbehaves
# where the test says, each a bash regular expression matched against the command line (e.g.
# 'profile --arch efficientnet_v2_s'):
#   STUB_FAIL             exit 1 with the CLI's JSON error
#   STUB_FAIL_SUBGROUPS   the same, but only without --no-subgroups (a subgroup shader that breaks)
#   STUB_HANG             never finish (until the runbook's timeout kills it)
#   STUB_SOFTWARE=1       doctor reports a software adapter (SwiftShader)
#   STUB_NO_ADAPTER=1     doctor finds no adapter at all
#   STUB_LOG=FILE         one line per call: its arguments, so the test sees what ran and how
#   STUB_PIDFILE=FILE     a hanging stub writes its pid here (the test ends it after killing the runbook)
line="$*"
[ -n "${STUB_LOG:-}" ] && echo "$line" >> "$STUB_LOG"
flag() {
  local want=--$1 prev=
  for a in "${args[@]}"; do
    if [ "$prev" = "$want" ]; then echo "$a"; return; fi
    prev=$a
  done
  echo "${2:-}"
}
args=("$@")
has() { [[ " $line " == *" $1 "* ]]; }
fail() {
  echo "effnet: $2" >&2
  printf '{"error":{"code":"%s","message":"%s"}}\n' "$1" "$2"
  exit 1
}
if [ -n "${STUB_HANG:-}" ] && [[ $line =~ $STUB_HANG ]]; then
  echo "effnet: compiling (the stub hangs here)" >&2
  [ -n "${STUB_PIDFILE:-}" ] && echo $$ > "$STUB_PIDFILE"
  exec sleep 1000
fi
if [ -n "${STUB_FAIL:-}" ] && [[ $line =~ $STUB_FAIL ]]; then fail DEVICE_LOST "stub failure of '$line'"; fi
if [ -n "${STUB_FAIL_SUBGROUPS:-}" ] && ! has --no-subgroups && [[ $line =~ $STUB_FAIL_SUBGROUPS ]]; then
  fail GPU_VALIDATION "subgroup shader failed in '$line'"
fi

arch=$(flag arch efficientnet_b0) res=$(flag res 224) batch=$(flag batch 1) out=$(flag out)
sub=true
has --no-subgroups && sub=false
if [ "${STUB_SOFTWARE:-}" = 1 ]; then
  sub=false # SwiftShader has no subgroups: the engine runs none of its subgroup kernels
  adapter='{"host":"node","vendor":"google","architecture":"swiftshader","device":"","description":"SwiftShader Device (Subzero)","isFallback":true,"features":{"timestampQuery":true,"shaderF16":true,"subgroups":false},"limits":{}}'
else
  adapter='{"host":"node","vendor":"nvidia","architecture":"hopper","device":"","description":"NVIDIA H200","isFallback":false,"features":{"timestampQuery":true,"shaderF16":true,"subgroups":true},"limits":{}}'
fi
target=gpu
[ "${STUB_SOFTWARE:-}" = 1 ] && target=fallback
case $1 in
  doctor)
    [ "${STUB_NO_ADAPTER:-}" = 1 ] && fail NO_ADAPTER 'no WebGPU adapter (requestAdapter returned null)'
    echo "{\"adapter\":$adapter,\"engine\":{\"target\":\"$target\",\"subgroups\":$sub,\"tuning\":{\"source\":\"none\",\"entries\":0,\"warnings\":[]}},\"selfTest\":{\"arch\":\"$arch\",\"res\":$res,\"batch\":$batch,\"compileMs\":10,\"ms\":2,\"checked\":12,\"failed\":[],\"variants\":[]},\"tiers\":{\"relL2\":1e-8,\"bound\":1e-4,\"ok\":true},\"ok\":true}" ;;
  plan)
    echo "{\"arch\":\"$arch\",\"res\":$res,\"batch\":$batch,\"target\":\"gpu\",\"tier\":\"tuned\",\"subgroups\":$sub,\"launches\":[{\"op\":\"stem\"},{\"op\":\"head\"}]}" ;;
  profile)
    entries=0
    has 'cache' && entries=3
    [ -n "$out" ] && echo '<!doctype html><title>stub profile</title>' > "$out"
    echo "{\"arch\":\"$arch\",\"res\":$res,\"batch\":$batch,\"adapter\":$adapter,\"schedule\":{\"target\":\"gpu\",\"tuning\":{\"source\":\"stub\",\"entries\":$entries,\"warnings\":[]}},\"timer\":\"timestamp-query\",\"totalMs\":$((batch * 125))e-2,\"unprofiledMs\":$((batch * 150))e-2,\"stages\":[]}" ;;
  tune)
    [ -n "$out" ] && echo '{"stub":true}' > "$out"
    echo "{\"adapter\":$adapter,\"arch\":\"$arch\",\"res\":$res,\"batch\":$batch,\"launches\":10,\"tuned\":8,\"spentS\":1.5,\"rejected\":1,\"beforeMs\":2,\"afterMs\":1.8,\"ratio\":0.9,\"logitsRelL2\":1e-8,\"accepted\":true,\"choices\":[],\"secondLoad\":{\"tuningEntries\":8,\"pipelines\":12,\"onlyScheduled\":true}}" ;;
  bench)
    [ -n "$out" ] && echo '# stub bench' > "$out"
    echo '{"runs":[]}' ;;
  report)
    if has --from; then echo "## stub report from $(flag from)"; else echo "{\"kind\":\"$2\",\"rows\":[]}"; fi ;;
  *) fail USAGE "unknown command '$1'" ;;
esac
