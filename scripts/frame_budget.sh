#!/usr/bin/env bash
# Frame times of the window while each lab's quick (or only) preset trains on the CPU, under
# Xvfb: `scripts/frame_budget.sh BIN OUTDIR [SECONDS] [PRESET...]` writes OUTDIR/PRESET.json
# (p50_ms, p99_ms, max_ms of whole frames; `draw` for our UI code alone) and prints a table.
set -euo pipefail
bin=${1:?usage: frame_budget.sh BIN OUTDIR [SECONDS] [PRESET...]}
out=${2:?usage: frame_budget.sh BIN OUTDIR [SECONDS] [PRESET...]}
secs=${3:-25}
shift $(( $# < 3 ? $# : 3 ))
presets=("$@")
if [ ${#presets[@]} -eq 0 ]; then
  presets=(ff-mnist-quick glom-quick hetnet-pql gnn-quick sparrow-eval otafl-quick lm-char-nanogpt fwl-quick)
fi
mkdir -p "$out"
for p in "${presets[@]}"; do
  xvfb-run -a -s "-screen 0 1600x1000x24" bash -c \
    "'$bin' gui $p --play --frame-stats '$out/$p.json' & pid=\$!; sleep $secs; \
     import -window root '$out/$p.png' || true; kill \$pid; wait \$pid || true" >/dev/null 2>&1 || true
  python3 - "$out/$p.json" "$p" <<'PY'
import json, sys
try:
    j = json.load(open(sys.argv[1]))
    d = j.get("draw") or {}
    print(f"{sys.argv[2]:<18} frames {j['frames']:>5}  p50 {j['p50_ms']:6.1f} ms  p99 {j['p99_ms']:6.1f} ms  max {j['max_ms']:6.1f} ms  (UI code p50 {d.get('p50_ms', 0):.1f}, p99 {d.get('p99_ms', 0):.1f})")
except Exception as e:
    print(f"{sys.argv[2]:<18} no stats ({e})")
PY
done
