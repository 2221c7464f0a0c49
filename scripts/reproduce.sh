#!/usr/bin/env bash
# Re-runs the presets behind README.md's measured tables and prints their rows in the README's
# layout (markdown table rows, or the measured sentence where the README has prose), ready to
# paste. It does not edit README.md.
#
#   scripts/reproduce.sh --list                  tables, their commands and approximate cost
#   scripts/reproduce.sh glom sparrow            run two tables
#   scripts/reproduce.sh --seeds 1 glom          only seed 1 of a multi-seed table
#   scripts/reproduce.sh all                     every table that needs no GPU
#   scripts/reproduce.sh --gpu all               ... and the GPU ones
#
# Options:
#   --seeds LIST   seeds of the multi-seed tables (comma-separated; default: the README's)
#   --lambdas LIST PQL penalty weights of the hetnet tables (default 0.1,0.5,1,2; fresh: 1,0.1)
#   --reuse        keep runs whose summary.json already exists (re-print without re-running)
#   --dry-run      print the commands instead of running them
#   --out DIR      output root (default: out/reproduce under the repository); each table
#                  writes to DIR/<table>/<run>/ (summary.json, metrics.csv, log.txt, meta.json)
#   --gpu          let `all` include the tables that need a GPU
#
# The binary: $TRAINSCOPE_BIN if set (for GPU tables it must be built with `--features gpu`),
# else `cargo run -q -p trainscope $TRAINSCOPE_CARGO_FLAGS --` (add `--features gpu` for the GPU
# tables). Examples and tests always go through cargo. Wall times depend on the machine and its
# load: each run's meta.json records how many cores other processes kept busy during it, and a
# run during which that averaged half a core or more is labelled "shared" in the wall-time
# column. summary.json's own wall_seconds (the run alone, no build) fills the wall-time cells.
# Where several worktrees share one CARGO_TARGET_DIR, `cargo run` can rebuild between runs; for
# the long tables copy a built binary aside and point TRAINSCOPE_BIN at it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT_ROOT="$ROOT/out/reproduce"
SEEDS=""
LAMBDAS=""
REUSE=0
DRY=0
WITH_GPU=0
CARGO_FLAGS=(${TRAINSCOPE_CARGO_FLAGS:-})

# name|needs|cost|what (the README place and the command behind it)
TABLES=(
  "ff-quick|cpu|~3-4 min on 2 idle cores (README: 3 min 6 s)|FF headline sentence and the first row of the FF results table: run ff-mnist-quick"
  "ff-race|cpu|~3-6 min (README: 5 min 35 s shared)|FF table rows ff-mnist-race and its one-pass readout: run ff-mnist-race"
  "ff-unsupervised|cpu|~2-4 min (README: 4 min 3 s shared)|FF table row ff-mnist-unsupervised and its part-way errors: run ff-mnist-unsupervised"
  "ff-recurrent|cpu|~10 min on 2 idle cores (README: 10 min 10 s; 34 min heavily shared)|FF table row ff-mnist-recurrent and its part-way errors: run ff-mnist-recurrent"
  "ff-jitter|cpu|~10-17 min (README: 16 min 47 s shared)|FF table row ff-mnist-jitter: run ff-mnist-jitter"
  "ff-inference|cpu|~1-2 min|FF inference-cost sentence: run ff-mnist-race --steps 300 --set eval_every=0 (ff_inference_cost.json)"
  "first-figure|cpu|~7 min on 2 idle cores (30 s per lab's default preset plus its build)|README 'Something to see within 30 seconds' table: bench PRESET --first-seen 30 for every lab's default preset"
  "ff-norm|cpu|~2 min|FF normalisation ablation sentence: run ff-mnist-quick --set bp=false --set eval_every=0 --set test_limit=2000 --steps 150 --set normalize_layers=true|false"
  "ff-fast|cpu|~8 min on 2 idle cores (README: 8 min 7 s)|Speed section, ff-mnist-fast sentence: run ff-mnist-fast"
  "ff-fast-val|cpu|~11 min on 2 idle cores|Speed section, ff-mnist-fast validation table (hard negatives: 2x500 for 12 and 24 epochs, 2x1000 for 24): run ff-mnist-fast --set validation=10000 [--set layers=[500,500] --set epochs=12|24] --set eval_every=..."
  "speed|cpu|~10 min on 2 idle cores (the first time also ~2.8 GB of downloads and a few minutes for the PyTorch venv)|Speed section: bench ff-mnist-quick --steps 300 (with and without bp, with and without host_step), --steps 10000 --window 500, --peer --steps 300 --rounds 6 (with and without bp; and host_step=false against PyTorch)"
  "ff-bench-cpu|cpu|~8-10 min on 2 cores (ff-mnist-recurrent-paper alone ~5 min)|FF 'On the CPU the paper-sized presets were not run' paragraph: bench PRESET --steps 10 for the paper presets and the two CPU presets"
  "ff-paper-gpu|gpu|GPU: ~4 min on an H200 (README: 3 min 52 s) plus a --features gpu build|FF table row ff-mnist-paper --set epochs=13 and the GPU one-pass timing: run ff-mnist-paper --backend gpu --set epochs=13 --set eval_every=0"
  "ff-paper-full|gpu|GPU: ~18 min on an H200 (README's projection; ~25 h on 2 CPU cores)|FF table row 'ff-mnist-paper, not run in full': run ff-mnist-paper --backend gpu"
  "ff-gpu|gpu|GPU: ~3-5 min on the GPU machine|'On a GPU' paragraph: bench ff-mnist-paper / ff-mnist-quick on gpu and cpu; run ff-mnist-paper --steps 30 on gpu and cpu"
  "gpu-test|gpu|GPU: ~1 min plus a --features gpu test build|GPU section: cargo test --workspace --features trainscope-engine/gpu --test gpu -- --nocapture"
  "glom|cpu|~3.5 min per seed on 2 shared cores (seed 1: 196 s), 3 seeds: ~10-12 min|GLOM per-seed table (held-out accuracy, OOD pose and noise points): run glom-eval --set seed=S, S = 1 2 3"
  "gnn|cpu|~5 min per seed on 2 idle cores, 3 seeds: ~15-20 min|GNN scaling table, MLP and over-the-air sentences: run gnn-eval --set seed=S, S = 1 2 3"
  "lm-nanogpt|cpu|~3-6 min on 2 cores|LM core sentence beside nanoGPT's 1.88: run lm-char-nanogpt"
  "fwl|cpu|~5 min per seed on 2 cores, 3 seeds: ~15 min|FWL race table (seeds 1-3): run fwl-eval --set seed=S, S = 1 2 3"
  "retro|cpu|~2 min per seed on 2 cores once the MiniLM keys are cached (first pass ~+1 min), 3 seeds: ~6 min|RETRO per-seed table: run retro-eval --set seed=S, S = 1 2 3 (needs scripts/fetch_minilm.sh, else the fallback retriever runs and the table says so)"
  "hetnet|cpu|12 runs x 1.5 min on 2 idle cores (2.5-4 min shared): ~18-45 min|HetNet lambda table (seeds 1-3): run hetnet-pql --set seed=S --set lambda=L, L = 0.1 0.5 1 2 (IDQN row from the lambda = 1 runs)"
  "hetnet-fresh|cpu|6 runs x 1.5-4 min: ~9-23 min|HetNet 'Fresh seeds 4 / 5 / 6' sentence: run hetnet-pql --set seed=S --set lambda=L, S = 4 5 6, L = 1 0.1"
  "hetnet-drift|cpu|6 runs x 1.5-2.5 min: ~10-15 min|HetNet per-seed drift table (seeds 1-6, the preset's lambda and form): run hetnet-pql --set seed=S, S = 1..6"
  "hetnet-forms|cpu|10 runs x 1.5-2.5 min: ~15-25 min|HetNet penalty-form choice on training seeds 11 and 12: run hetnet-pql --set seed=S --set pql_form=F --set lambda=L for (F, L) = (margin, 0.3), (margin, 1), (proximal, 1), (proximal, 10), (proximal_margin, 1)"
  "hetnet-lambda|cpu|12 runs x 1.5-2.5 min: ~18-30 min|HetNet choice of the preset's lambda on training seeds 11-14 (margin form; the rule is printed with the table): run hetnet-pql --set seed=S --set pql_form=margin --set lambda=L, L = 0.1 0.3 1, S = 11..14"
  "hetnet-bench|cpu|~1-3 min plus an examples build|HetNet WMMSE multi-start numbers (31.7 -> 38.6, 98% / 87%): cargo run -p trainscope-engine --example hetnet_bench (prints its own output)"
  "otafl|cpu|~1 min per seed on 2 cores (README: 55-56 s), 3 seeds|OTA-FL accuracy-per-seed and MSE-vs-power tables: run otafl-eval --set seed=S, S = 1 2 3"
  "otafl-bench|cpu|~1 min plus an examples build|OTA-FL benchmark paragraph: cargo run -p trainscope-engine --example otafl_bench -- 5 (prints its own output)"
  "sparrow|cpu|~15-25 s per seed (README: 13.8 s idle, 21 s shared after the turn-kind classifier), 3 seeds; the first run builds the BM25 index|Sparrow measured table, coverage curve, seeds 2-3 row and the AUC-vs-labels caveat: run sparrow-eval --set seed=S, S = 1 2 3"
  "harms|cpu|~2 min per seed on 2 cores (README: 116 s), 2 seeds|Harms lab measured table (seeds 1-2): run harms-eval --set seed=S, S = 1 2"
  "risks|cpu|~2-3 min on 2 cores|Risks lab map sentence and measurements table: run risks-audit"
  "sparrow-feedback|cpu|~1 min plus an examples build|Sparrow feedback 'Measured' paragraph: cargo run -p trainscope-engine --example sparrow_feedback_bench (prints its own output)"
  "backends|cpu|~2 min plus a build of burn's ndarray backend|Backends paragraph: cargo run -p trainscope-engine --features ndarray --example bench_backends -- 200 (prints its own output)"
)

die() { echo "reproduce.sh: $*" >&2; exit 2; }

table_field() { # table_field NAME INDEX
  local t
  for t in "${TABLES[@]}"; do
    IFS='|' read -r n needs cost what <<<"$t"
    if [[ $n == "$1" ]]; then
      case $2 in 1) echo "$needs" ;; 2) echo "$cost" ;; 3) echo "$what" ;; esac
      return 0
    fi
  done
  return 1
}

list_tables() {
  printf '%-17s %-4s %s\n' TABLE NEED "COST / WHAT"
  local t
  for t in "${TABLES[@]}"; do
    IFS='|' read -r n needs cost what <<<"$t"
    printf '%-17s %-4s %s\n' "$n" "$needs" "$cost"
    printf '%-17s %-4s   %s\n' "" "" "$what"
  done
  echo
  echo "'all' runs every cpu table (about 1.5-2.5 h on 2 cores); '--gpu all' adds the gpu ones."
  echo "Not covered: the README's pure-Python WMMSE cross-check, the GUI observations (Chat tab"
  echo "examples, 'two marks in the GUI'), the projections of the paper presets' CPU run times"
  echo "(printed by ff-bench-cpu as arithmetic), and numbers from runs made before later code"
  echo "changes (e.g. Sparrow's 'before the decline' and 'threshold 0.40' figures)."
}

# ---- running -------------------------------------------------------------------------------

ts() { # the trainscope CLI
  if [[ -n ${TRAINSCOPE_BIN:-} ]]; then
    "$TRAINSCOPE_BIN" "$@"
  else
    (cd "$ROOT" && cargo run -q -p trainscope "${CARGO_FLAGS[@]}" "${EXTRA_FEATURES[@]}" -- "$@")
  fi
}
EXTRA_FEATURES=()

# Machine-wide busy CPU time in clock ticks (user+nice+system+irq+softirq+steal), from /proc/stat.
cpu_busy() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat 2>/dev/null || echo 0; }

# CPU seconds in a saved `times` output: its second line, this shell's waited-for children.
# (`times` itself must run in this shell, not in a $(...) subshell, to see them.)
times_children() { # times_children FILE
  awk 'NR == 2 {
    t = 0
    for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += a[1] * 60 + a[2] }
    print t
  }' "$1"
}

# measured DIR SHOWN CMD... : runs CMD (stdout and stderr into DIR/log.txt) and writes
# DIR/meta.json with the wall time and how many cores other processes kept busy meanwhile
# (machine-wide busy CPU time minus this run's own CPU time, over the wall time), which is
# what decides "shared" in the printed wall-time cells.
measured() {
  local dir=$1 shown=$2
  shift 2
  local b0 c0 t0 rc=0 tick
  tick=$(getconf CLK_TCK 2>/dev/null || echo 100)
  b0=$(cpu_busy)
  times >"$dir/.times0"
  t0=$(date +%s.%N)
  echo "  [run] $shown" >&2
  "$@" >"$dir/log.txt" 2>&1 || rc=$?
  times >"$dir/.times1"
  python3 - "$dir/meta.json" "$shown" "$rc" "$tick" "$b0" "$(cpu_busy)" \
    "$(times_children "$dir/.times0")" "$(times_children "$dir/.times1")" "$t0" "$(date +%s.%N)" \
    "$(nproc)" <<'PY'
import json, sys
path, shown, rc, tick, b0, b1, c0, c1, t0, t1, nproc = sys.argv[1:]
wall = max(float(t1) - float(t0), 1e-9)
busy = (float(b1) - float(b0)) / float(tick)
own = float(c1) - float(c0)
json.dump({"command": shown, "rc": int(rc), "elapsed_s": round(wall, 1), "nproc": int(nproc),
           "own_cpu_s": round(own, 1), "other_busy_cores": round(max(busy - own, 0) / wall, 2)},
          open(path, "w"))
PY
  rm -f "$dir/.times0" "$dir/.times1"
  if [[ $rc != 0 ]]; then
    echo "reproduce.sh: failed (rc $rc): $shown; last lines of $dir/log.txt:" >&2
    tail -n 20 "$dir/log.txt" >&2
    exit 1
  fi
}

# run_one TABLE RUN ARGS... : `trainscope run ARGS --out OUT_ROOT/TABLE/RUN`
run_one() {
  local table=$1 run=$2
  shift 2
  local dir="$OUT_ROOT/$table/$run"
  local shown="trainscope run $* --out $dir"
  if [[ $DRY == 1 ]]; then
    echo "$shown"
    return 0
  fi
  if [[ $REUSE == 1 && -f $dir/summary.json ]]; then
    echo "  [reuse] $dir" >&2
    return 0
  fi
  mkdir -p "$dir"
  rm -f "$dir/summary.json"
  measured "$dir" "$shown" ts run "$@" --out "$dir" --quiet
}

# capture TABLE RUN CMD... : any command, its stdout+stderr into OUT_ROOT/TABLE/RUN/log.txt
capture() {
  local table=$1 run=$2
  shift 2
  local dir="$OUT_ROOT/$table/$run" shown="$*"
  shown=${shown/#ts /trainscope }
  shown=${shown/#cargo_in_root /cargo }
  if [[ $DRY == 1 ]]; then
    echo "$shown"
    return 0
  fi
  if [[ $REUSE == 1 && -f $dir/done ]]; then
    echo "  [reuse] $dir" >&2
    return 0
  fi
  mkdir -p "$dir"
  rm -f "$dir/done"
  measured "$dir" "$shown" "$@"
  touch "$dir/done"
}

cargo_in_root() { (cd "$ROOT" && cargo "$@"); }

seeds_or() { # seeds_or DEFAULT... : the --seeds list, else the defaults
  if [[ -n $SEEDS ]]; then tr ',' ' ' <<<"$SEEDS"; else echo "$@"; fi
}
lambdas_or() { # lambdas_or DEFAULT... : the --lambdas list, else the defaults
  if [[ -n $LAMBDAS ]]; then tr ',' ' ' <<<"$LAMBDAS"; else echo "$@"; fi
}

# ---- the tables ----------------------------------------------------------------------------

do_table() {
  local t=$1 s l
  case $t in
    ff-quick) run_one "$t" run ff-mnist-quick ;;
    ff-race) run_one "$t" run ff-mnist-race ;;
    ff-unsupervised) run_one "$t" run ff-mnist-unsupervised ;;
    ff-recurrent) run_one "$t" run ff-mnist-recurrent ;;
    ff-jitter) run_one "$t" run ff-mnist-jitter ;;
    ff-inference) run_one "$t" run ff-mnist-race --steps 300 --set eval_every=0 ;;
    ff-fast) run_one "$t" run ff-mnist-fast ;;
    ff-fast-val)
      run_one "$t" hard12 ff-mnist-fast --set validation=10000 --set 'layers=[500,500]' --set epochs=12
      run_one "$t" hard24 ff-mnist-fast --set validation=10000 --set 'layers=[500,500]' --set epochs=24 --set eval_every=3000
      run_one "$t" wide24 ff-mnist-fast --set validation=10000 --set eval_every=1500
      ;;
    speed)
      capture "$t" bench_bp ts bench ff-mnist-quick --steps 300
      capture "$t" bench_ff ts bench ff-mnist-quick --steps 300 --set bp=false
      capture "$t" bench_bp_autodiff ts bench ff-mnist-quick --steps 300 --set host_step=false
      capture "$t" bench_ff_autodiff ts bench ff-mnist-quick --steps 300 --set bp=false --set host_step=false
      capture "$t" window ts bench ff-mnist-quick --steps 10000 --window 500
      capture "$t" peer_bp ts bench ff-mnist-quick --peer --steps 300 --rounds 6
      capture "$t" peer_ff ts bench ff-mnist-quick --peer --steps 300 --rounds 6 --set bp=false
      capture "$t" peer_bp_autodiff ts bench ff-mnist-quick --peer --numpy false --steps 300 --rounds 6 --set host_step=false
      ;;
    first-figure)
      for l in ff-mnist-quick glom-quick hetnet-pql sparrow-eval otafl-quick gnn-quick \
        lm-char-nanogpt fwl-quick retro-quick harms-quick risks-audit; do
        capture "$t" "$l" ts bench "$l" --first-seen 30
      done
      ;;
    ff-norm)
      for l in true false; do
        run_one "$t" "normalize_$l" ff-mnist-quick --set bp=false --set eval_every=0 \
          --set test_limit=2000 --steps 150 --set normalize_layers=$l
      done
      ;;
    ff-bench-cpu)
      capture "$t" paper ts bench ff-mnist-paper --steps 10
      capture "$t" paper_ff_only ts bench ff-mnist-paper --steps 10 --set bp=false --set one_pass=false
      capture "$t" unsupervised_paper ts bench ff-mnist-unsupervised-paper --steps 10
      capture "$t" recurrent_paper ts bench ff-mnist-recurrent-paper --steps 10
      capture "$t" unsupervised ts bench ff-mnist-unsupervised --steps 10
      capture "$t" recurrent ts bench ff-mnist-recurrent --steps 10
      ;;
    ff-paper-gpu) run_one "$t" run ff-mnist-paper --backend gpu --set epochs=13 --set eval_every=0 ;;
    ff-paper-full) run_one "$t" run ff-mnist-paper --backend gpu ;;
    ff-gpu)
      capture "$t" bench_paper_gpu ts bench ff-mnist-paper --backend gpu --steps 100
      capture "$t" bench_paper_cpu ts bench ff-mnist-paper --backend cpu --steps 20
      capture "$t" bench_quick_gpu ts bench ff-mnist-quick --backend gpu --steps 300
      capture "$t" bench_quick_cpu ts bench ff-mnist-quick --backend cpu --steps 300
      run_one "$t" steps30_gpu ff-mnist-paper --backend gpu --steps 30
      run_one "$t" steps30_cpu ff-mnist-paper --backend cpu --steps 30
      ;;
    gpu-test)
      capture "$t" test cargo_in_root test --workspace --features trainscope-engine/gpu --test gpu -- --nocapture
      ;;
    glom)
      for s in $(seeds_or 1 2 3); do run_one "$t" "seed$s" glom-eval --set seed="$s"; done
      ;;
    gnn)
      for s in $(seeds_or 1 2 3); do run_one "$t" "seed$s" gnn-eval --set seed="$s"; done
      ;;
    lm-nanogpt) run_one "$t" run lm-char-nanogpt ;;
    fwl)
      for s in $(seeds_or 1 2 3); do run_one "$t" "seed$s" fwl-eval --set seed="$s"; done
      ;;
    retro)
      for s in $(seeds_or 1 2 3); do run_one "$t" "seed$s" retro-eval --set seed="$s"; done
      ;;
    hetnet)
      for l in $(lambdas_or 0.1 0.5 1 2); do
        for s in $(seeds_or 1 2 3); do
          run_one "$t" "lambda${l}_seed$s" hetnet-pql --set seed="$s" --set lambda="$l"
        done
      done
      ;;
    hetnet-fresh)
      for l in $(lambdas_or 1 0.1); do
        for s in $(seeds_or 4 5 6); do
          run_one "$t" "lambda${l}_seed$s" hetnet-pql --set seed="$s" --set lambda="$l"
        done
      done
      ;;
    hetnet-drift)
      for s in $(seeds_or 1 2 3 4 5 6); do run_one "$t" "seed$s" hetnet-pql --set seed="$s"; done
      ;;
    hetnet-forms)
      for fl in margin:0.3 margin:1 proximal:1 proximal:10 proximal_margin:1; do
        for s in $(seeds_or 11 12); do
          run_one "$t" "${fl%%:*}_lambda${fl##*:}_seed$s" hetnet-pql --set seed="$s" \
            --set pql_form="${fl%%:*}" --set lambda="${fl##*:}"
        done
      done
      ;;
    hetnet-lambda)
      for l in $(lambdas_or 0.1 0.3 1); do
        for s in $(seeds_or 11 12 13 14); do
          run_one "$t" "lambda${l}_seed$s" hetnet-pql --set seed="$s" --set pql_form=margin \
            --set lambda="$l"
        done
      done
      ;;
    hetnet-bench) capture "$t" example cargo_in_root run -q -p trainscope-engine "${CARGO_FLAGS[@]}" --example hetnet_bench ;;
    otafl)
      for s in $(seeds_or 1 2 3); do run_one "$t" "seed$s" otafl-eval --set seed="$s"; done
      ;;
    otafl-bench) capture "$t" example cargo_in_root run -q -p trainscope-engine "${CARGO_FLAGS[@]}" --example otafl_bench -- 5 ;;
    sparrow)
      for s in $(seeds_or 1 2 3); do run_one "$t" "seed$s" sparrow-eval --set seed="$s"; done
      ;;
    harms)
      for s in $(seeds_or 1 2); do run_one "$t" "seed$s" harms-eval --set seed="$s"; done
      ;;
    risks) run_one "$t" "seed1" risks-audit ;;
    sparrow-feedback)
      capture "$t" example cargo_in_root run -q -p trainscope-engine "${CARGO_FLAGS[@]}" --example sparrow_feedback_bench
      ;;
    backends)
      capture "$t" example cargo_in_root run -q -p trainscope-engine "${CARGO_FLAGS[@]}" --features ndarray --example bench_backends -- 200
      ;;
    *) die "unknown table '$t' (see --list)" ;;
  esac
}

# ---- printing ------------------------------------------------------------------------------

print_table() {
  python3 - "$1" "$OUT_ROOT/$1" "$SEEDS" "$LAMBDAS" <<'PY'
import csv, json, os, re, sys

table, d, seeds_arg, lambdas_arg = sys.argv[1:5]

def load(run):
    p = os.path.join(d, run, "summary.json")
    with open(p) as f:
        return json.load(f)

def meta(run):
    try:
        with open(os.path.join(d, run, "meta.json")) as f:
            return json.load(f)
    except OSError:
        return {}

def artifact(run, stem):
    with open(os.path.join(d, run, stem + ".json")) as f:
        return json.load(f)

def series(run, name):
    """(step, value) points of one series in metrics.csv, one per step (the last one written:
    the final evaluation can land on the step of a periodic one)."""
    out = {}
    with open(os.path.join(d, run, "metrics.csv")) as f:
        for row in csv.DictReader(f):
            if row["series"] == name:
                out[int(row["step"])] = float(row["value"])
    return sorted(out.items())

def log(run):
    with open(os.path.join(d, run, "log.txt")) as f:
        return f.read()

def pct(x, nd=2):
    return f"{100 * x:.{nd}f}%"

def p1(x):
    return "0" if x == 0 else f"{100 * x:.1f}"

def wall(s):
    s = float(s)
    if s < 60:
        return f"{s:.1f} s"
    m, r = divmod(int(round(s)), 60)
    if m >= 60:
        h, m = divmod(m, 60)
        return f"{h} h {m} min"
    return f"{m} min {r} s"

def shared(run):
    """Other processes kept at least half a core busy on average during the run."""
    m = meta(run)
    return float(m.get("other_busy_cores", m.get("load1_before", 0))) >= 0.5

def wall_cell(run, s, idle_text=""):
    """The README's wall-time cell: 'shared' when the run started on a busy machine."""
    return wall(s["wall_seconds"]) + (", shared" if shared(run) else idle_text)

def mean(v):
    return sum(v) / len(v)

def seeds(default):
    return [int(x) for x in seeds_arg.split(",")] if seeds_arg else default

def have(run):
    return os.path.exists(os.path.join(d, run, "summary.json"))

def steps_per_s(run):
    m = re.search(r"= ([0-9.]+) steps/s", log(run))
    return float(m.group(1)) if m else float("nan")

def note(text):
    print(f"  ({text})")

def ff_evals(run, s, per_epoch):
    pts = series(run, "test_error")
    return [(st / per_epoch, v) for st, v in pts]

print(f"### {table}")
if table in ("ff-paper-gpu", "ff-paper-full", "ff-gpu"):
    for run in sorted(os.listdir(d)):
        try:
            text = log(run)
        except OSError:
            continue
        if "GPU unavailable" in text:
            note(f"WARNING: {run} ran on the CPU (GPU unavailable; see {run}/log.txt): "
                 "these are not GPU numbers")

if table == "ff-quick":
    r = "run"; s = load(r)
    n_eval = len(series(r, "test_error"))
    print(f"Measured on two CPU cores (`trainscope run ff-mnist-quick`, seed {s['seed']}): FF "
          f"**{pct(s['test_error'])}** test error on the 10,000 test digits, backprop of the same "
          f"widths **{pct(s['bp_test_error'])}**, in {wall(s['wall_seconds'])} wall "
          f"({s['steps']:,} steps and {n_eval} full evaluations).")
    print(f"(average {s['steps_per_second']:.0f} steps/s including evaluations)")
    print()
    label = "(`ff-mnist-quick`)" if shared(r) else "(`ff-mnist-quick`, idle cores)"
    print(f"| supervised, 2×500, all-labels {label} | {pct(s['test_error'])} "
          f"(BP {pct(s['bp_test_error'])}) | {s['config']['epochs']:g} | {wall_cell(r, s)} | "
          f"{s['backend']} | 1.36% (4×2000, 60 ep.) |")

elif table == "ff-race":
    r = "run"; s = load(r)
    ep = f"{s['config']['epochs']:g}"
    print(f"| supervised, 2×500, all-labels (`ff-mnist-race`) | {pct(s['test_error'])} "
          f"(BP {pct(s['bp_test_error'])}) | {ep} | {wall_cell(r, s)} | {s['backend']} | 1.36% |")
    print(f"| same run, one-pass readout (neutral label, softmax on layer 2) | "
          f"{pct(s['one_pass_test_error'])} | {ep} | (same run) | {s['backend']} | not reported for MNIST |")

elif table == "ff-unsupervised":
    r = "run"; s = load(r); c = s["config"]
    print(f"| unsupervised, hybrid negatives, linear readout, 2×500 (`ff-mnist-unsupervised`) | "
          f"{pct(s['test_error'])} | {c['epochs']:g} + {c['readout_epochs']:g} readout | "
          f"{wall_cell(r, s)} | {s['backend']} | 1.37% (4×2000, 100 ep.) |")
    per_epoch = 60000 / c["batch_size"]
    ev = ff_evals(r, s, per_epoch)
    during = [v for e, v in ev if e <= c["epochs"] + 1e-9]
    after = [v for e, v in ev if e > c["epochs"] + 1e-9]
    print()
    print("unsupervised " + ", ".join(pct(v) for v in during) +
          f" after epochs 1–{len(during)} (the readout trained along with FF), "
          + (f"{pct(after[-1])} after the frozen-readout epoch" if after else "(no readout evaluation)"))

elif table == "ff-recurrent":
    r = "run"; s = load(r); c = s["config"]
    cell = wall(s["wall_seconds"]) + (", shared" if shared(r) else " on idle cores")
    print(f"| recurrent top-down, 2×500, 8 iterations, vote 3–5 (`ff-mnist-recurrent`) | "
          f"{pct(s['test_error'])} | {c['epochs']:g} | {cell} | {s['backend']} | 1.31% (60 ep.) |")
    ev = ff_evals(r, s, 60000 / c["batch_size"])
    print()
    print("recurrent " + ", ".join(f"{pct(v)} after {e:.3g} epochs" for e, v in ev) + ".")
    print(f"(average {s['steps_per_second']:.1f} steps/s)")

elif table == "ff-jitter":
    r = "run"; s = load(r)
    print(f"| supervised, 2×500, ±2 px jitter (`ff-mnist-jitter`) | {pct(s['test_error'])} "
          f"(BP {pct(s['bp_test_error'])}) | {s['config']['epochs']:g} | {wall_cell(r, s)} | "
          f"{s['backend']} | 0.64% (4×2000, 500 ep.) |")

elif table == "ff-inference":
    a = artifact("run", "ff_inference_cost")
    print(f"all-labels sweep {a['all_labels_ms'] / 1000:.1f} s, one-pass readout "
          f"{a['one_pass_ms'] / 1000:.2f} s, {a['ratio']:.1f} times cheaper "
          f"({a['test_images']:,} test digits)")

elif table == "ff-norm":
    def gap(run, layer, step):
        pos = dict(series(run, f"goodness_pos_l{layer}"))
        neg = dict(series(run, f"goodness_neg_l{layer}"))
        return pos[step] - neg[step]
    w, wo = "normalize_true", "normalize_false"
    sw, swo = load(w), load(wo)
    last = sw["steps"]
    print(f"with normalisation, layer 2's gap is {gap(w, 2, 30):.0f} after 30 steps and "
          f"{gap(w, 2, last):.0f} after {last}, behind layer 1's {gap(w, 1, 30):.0f} and "
          f"{gap(w, 1, last):.0f}; without it, layer 2's gap is {gap(wo, 2, 30):.0f} after 30 "
          f"steps and {gap(wo, 2, last):.0f} after {last}, ahead of layer 1 "
          f"({gap(wo, 1, 30):.0f} and {gap(wo, 1, last):.0f}) from the start")
    print(f"The test error after {last} steps hardly differs ({p1(sw['test_error'])}% with, "
          f"{p1(swo['test_error'])}% without, on 2,000 test digits)")

elif table == "ff-fast":
    r = "run"; s = load(r)
    print(f"`ff-mnist-fast`: FF {pct(s['test_error'])} test error on the 10,000 test digits in "
          f"{wall(s['wall_seconds'])} ({s['steps']:,} steps, {s['steps_per_second']:.0f} steps/s)")

elif table == "ff-fast-val":
    for r in ("hard12", "hard24", "wide24"):
        s = load(r)
        widths = "×".join(str(w) for w in s['config']['layers'])
        print(f"{widths}, hard negatives, {s['config']['epochs']:g} epochs: validation error "
              f"{pct(s['val_error'])} in {wall(s['wall_seconds'])}")
elif table == "first-figure":
    # The first held-out figure of each lab's default preset (README table), by series name.
    held = {
        "ff-mnist-quick": ["test_error_est", "test_error"],
        "glom-quick": ["acc_attn"],
        "hetnet-pql": ["pql_wmmse_ratio"],
        "sparrow-eval": ["val_coverage", "coverage"],
        "otafl-quick": ["acc_cellfree_central", "acc_error_free"],
        "gnn-quick": ["val_ratio_gnn"],
        "lm-char-nanogpt": ["val_loss_est", "val_loss"],
        "fwl-quick": ["val_fwl"],
        "retro-quick": ["val_retro"],
        "harms-quick": ["held_out_auc"],
        "risks-audit": ["harms_held_out_auc_live", "risks_measured"],
    }
    for preset, names in held.items():
        rows = {}
        for line in log(preset).splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[0] in names:
                rows[parts[0]] = (int(parts[1]), float(parts[2]))
        first = next(((n, rows[n]) for n in names if n in rows), None)
        cell = f"`{first[0]}`, step {first[1][0]}, {first[1][1]:.1f} s" if first else "none in 30 s"
        print(f"| `{preset}` | {cell} |")

elif table == "speed":
    print(f"FF + BP {steps_per_s('bench_bp'):.1f} steps/s, FF alone {steps_per_s('bench_ff'):.1f} "
          f"(through autodiff, `--set host_step=false`: {steps_per_s('bench_bp_autodiff'):.1f} and "
          f"{steps_per_s('bench_ff_autodiff'):.1f})")
    for run in ("window", "peer_bp", "peer_ff", "peer_bp_autodiff"):
        for line in log(run).splitlines():
            if line.startswith(("round", "first window", "trainscope:", "pytorch", "numpy", "paired", "ratio_vs")):
                print(f"{run}: {line}")

elif table == "ff-bench-cpu":
    paper, ffo = steps_per_s("paper"), steps_per_s("paper_ff_only")
    up, rp = steps_per_s("unsupervised_paper"), steps_per_s("recurrent_paper")
    u, rc = steps_per_s("unsupervised"), steps_per_s("recurrent")
    h = lambda steps, rate: steps / rate / 3600
    print(f"`ff-mnist-paper` {paper:.1f} steps/s with the backprop twin and the one-pass readout, "
          f"{ffo:.1f} steps/s for FF alone (`--set bp=false --set one_pass=false`), so its 60 epochs "
          f"(36,000 steps) project to about {h(36000, paper):.0f} hours ({h(36000, ffo):.0f} hours for FF "
          f"alone) before evaluations; `ff-mnist-unsupervised-paper` {up:.1f} steps/s (100 epochs: "
          f"about {h(60000, up):.0f} hours); `ff-mnist-recurrent-paper` {rp:.2f} steps/s (60 epochs: "
          f"about {h(36000, rp) / 24:.0f} days). For the CPU presets the same bench gave {u:.1f} "
          f"steps/s for `ff-mnist-unsupervised` and {rc:.1f} steps/s for `ff-mnist-recurrent`")
    note(f"{os.cpu_count()} CPUs visible; the README's figures are from 2 shared cores")

elif table in ("ff-paper-gpu", "ff-paper-full"):
    r = "run"; s = load(r)
    ep = f"{s['config']['epochs']:g}"
    if table == "ff-paper-gpu":
        print(f"| supervised 4×2000 (`ff-mnist-paper --set epochs={ep}`, schedule squeezed into {ep} "
              f"epochs) | **{pct(s['test_error'])}** (BP {pct(s['bp_test_error'])}), one-pass "
              f"{pct(s['one_pass_test_error'])} | {ep} | {wall(s['wall_seconds'])} | {s['backend']} | "
              f"1.36% (60 ep.) |")
    else:
        print(f"| supervised 4×2000 (`ff-mnist-paper`) | **{pct(s['test_error'])}** "
              f"(BP {pct(s['bp_test_error'])}), one-pass {pct(s['one_pass_test_error'])} | {ep} | "
              f"{wall(s['wall_seconds'])} | {s['backend']} | 1.36% |")
    try:
        a = artifact(r, "ff_inference_cost")
        print()
        print(f"On this backend the one-pass readout took {a['one_pass_ms'] / 1000:.2f} s against "
              f"{a['all_labels_ms'] / 1000:.2f} s for the all-labels sweep of {a['test_images']:,} digits.")
    except OSError:
        pass
    note("backend column: the README writes 'gpu (burn wgpu), NVIDIA H200'; summary.json says "
         f"'{s['backend']}'")

elif table == "ff-gpu":
    pg, pc = steps_per_s("bench_paper_gpu"), steps_per_s("bench_paper_cpu")
    qg, qc = steps_per_s("bench_quick_gpu"), steps_per_s("bench_quick_cpu")
    g, c = load("steps30_gpu"), load("steps30_cpu")
    lg, lc = series("steps30_gpu", "ff_loss"), series("steps30_cpu", "ff_loss")
    rel = max(abs(a[1] - b[1]) / max(abs(b[1]), 1e-12) for a, b in zip(lg, lc)) if lg and lc else float("nan")
    print(f"`ff-mnist-paper` trains at {pg:.1f} steps/s on the GPU against {pc:.1f} steps/s on the "
          f"same machine's {os.cpu_count()} CPU cores ({pg / pc:.1f}×); the small `ff-mnist-quick` net "
          f"gains little ({qg:.0f} against {qc:.0f} steps/s). The same preset and seed for 30 steps on "
          f"the GPU and on the CPU gave test errors {pct(g['test_error'])} / {pct(c['test_error'])} FF, "
          f"{pct(g['bp_test_error'])} / {pct(c['bp_test_error'])} BP at that point, and FF losses equal "
          f"to {rel * 1e6:.0f} parts in a million.")
    note(f"GPU backend: {g['backend']}")

elif table in ("gpu-test", "hetnet-bench", "otafl-bench", "sparrow-feedback", "backends"):
    text = log("test" if table == "gpu-test" else "example")
    note("the README quotes this command's own output; its last lines:")
    lines = text.rstrip().splitlines()
    for line in lines[-40:]:
        print("    " + line)

elif table == "otafl":
    ss = [x for x in seeds([1, 2, 3]) if have(f"seed{x}")]
    runs = {x: load(f"seed{x}") for x in ss}
    schemes = [("error_free", "error-free averaging"), ("cellfree_central", "cell-free central MMSE"),
               ("cellfree_central_perfect", "cell-free central, perfect CSI"),
               ("cellfree_lsfd", "cell-free local + LSFD"),
               ("cellfree_lsfd_perfect", "cell-free local + LSFD, perfect CSI"),
               ("cellular", "cellular MMSE (64 antennas)")]
    print("| scheme | " + " | ".join(f"seed {x}" for x in ss) + " | mean |")
    print("|---|" + "---|" * (len(ss) + 1))
    for stem, label in schemes:
        v = [100 * runs[x][f"acc_{stem}"] for x in ss]
        print(f"| {label} | " + " | ".join(f"{a:.2f}%" for a in v) + f" | **{mean(v):.2f}%** |")
    print()
    rx = [x for x in schemes if x[0] != "error_free"]
    print("| client power | " + " | ".join(l for _, l in rx) + " |")
    print("|---|" + "---|" * len(rx))
    for p in [-10, -5, 0, 5, 10, 15, 20]:
        key = f"m{-p}" if p < 0 else f"{p}"
        cells = [mean([runs[x][f"mse_{stem}_{key}dbm"] for x in ss]) for stem, _ in rx]
        print(f"| {p} dBm | " + " | ".join(f"{c:.2e}" for c in cells) + " |")
    print()
    note("MSE cells are means over the seeds run; wall times: " +
         ", ".join(f"seed {x} {wall(runs[x]['wall_seconds'])}" for x in ss))

elif table == "gnn":
    ss = [x for x in seeds([1, 2, 3]) if have(f"seed{x}")]
    runs = {x: load(f"seed{x}") for x in ss}
    ks = runs[ss[0]]["config"]["eval_ks"]
    per = lambda key: " / ".join(f"{100 * runs[x][key]:.1f}" for x in ss)
    ms = lambda key: " / ".join(f"{runs[x][key]:.3g}" for x in ss)
    sp = lambda key: " / ".join(f"{runs[x][key]:.2g}x" for x in ss)
    print("| K | layouts | GNN % of WMMSE | FP % | greedy % | max % | random % | GNN ms/layout | WMMSE ms/layout | WMMSE / GNN time | multi-start WMMSE / GNN |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for k in ks:
        lay = runs[ss[0]]["config"]["test_layouts" if k <= 50 else "test_layouts_large"]
        print(f"| {k} | {lay} | {per(f'ratio_k{k}')} | {per(f'fp_ratio_k{k}')} | {per(f'greedy_ratio_k{k}')} | "
              f"{per(f'max_ratio_k{k}')} | {per(f'random_ratio_k{k}')} | {ms(f'gnn_ms_k{k}')} | "
              f"{ms(f'wmmse_ms_k{k}')} | {sp(f'speedup_k{k}')} | {sp(f'speedup_multi_k{k}')} |")
    print()
    print(f"MLP baseline at K = 20: {per('mlp_ratio_k20')}% of WMMSE (GNN {per('ratio_k20')}%); "
          f"mean-aggregation twin {per('mean_twin_ratio_k20')}%.")
    snrs = runs[ss[0]]["config"]["air_snrs_db"]
    tag = lambda v: f"{v:.0f}".replace("-", "m")
    for name, key in (("clean-trained", "air_clean_trained_snr"), ("noise-trained", "air_noise_trained_snr")):
        print(f"Over the air, {name} twin (% of WMMSE at " + ", ".join(f"{v:g}" for v in snrs) + " dB): " +
              "; ".join(" / ".join(f"{100 * runs[x][key + tag(v)]:.1f}" for x in ss) for v in snrs))
    note("cells are seed " + " / ".join(map(str, ss)) + "; wall: " +
         ", ".join(wall(runs[x]["wall_seconds"]) for x in ss))
elif table == "lm-nanogpt":
    s = load("run")
    print(f"`lm-char-nanogpt`: validation loss **{s['val_loss']:.3f}** nats/char on two held-out plays "
          f"(test plays {s['test_loss']:.3f}) in {wall(s['wall_seconds'])}; nanoGPT's recipe: about 1.88 on "
          f"its tiny-Shakespeare split.")

elif table == "fwl":
    ss = [x for x in seeds([1, 2, 3]) if have(f"seed{x}")]
    for x in ss:
        s = load(f"seed{x}")
        a = artifact(f"seed{x}", "fwl_eval")
        share = (s["ppl_base"] - s["ppl_fwl"]) / (s["ppl_base"] - s["ppl_dyneval"])
        mc = a["measured_cost"]
        print(f"| {x} | {s['ppl_base']:.3f} | {s['ppl_dyneval']:.3f} | {s['ppl_fwl']:.3f} | "
              f"{100 * share:.0f}% | {s['cost_dyneval']:.2f} ({mc['dyneval']:.2f}) | "
              f"{s['cost_fwl']:.2f} ({mc['fwl']:.2f}) | {wall(s['wall_seconds'])} |")

elif table == "retro":
    ss = [x for x in seeds([1, 2, 3]) if have(f"seed{x}")]
    print("| seed | retriever | base | RETRO on | RETRO off | retrofit | base α=0.125 | RETRO α=0.125 | "
          "dup: base α=1 / 0.125 | dup: RETRO α=1 / 0.125 | dup: retrofit α=1 | "
          "dup slope base / RETRO / retrofit | k=1 / 4 / 16 | db 10% / 50% / 100% | "
          "retrofit below base (validation step) | wall |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for x in ss:
        s = load(f"seed{x}")
        f = lambda k: f"{s[k]:.4f}"
        slope = lambda p: f"{(s[p + '_alpha_1'] - s[p + '_alpha_0125']) / 0.875:.3f}".replace("-", "−")
        beat = s["retrofit_steps_to_beat_base"]
        beat = "never" if beat < 0 else f"from step {beat:.0f}"
        print(f"| {x} | {s['retriever']} | {f('bpb_base')} | {f('bpb_retro')} | {f('bpb_retro_off')} | "
              f"{f('bpb_retrofit')} | {f('bpb_base_alpha_0125')} | {f('bpb_retro_alpha_0125')} | "
              f"{f('dup_bpb_base_alpha_1')} / {f('dup_bpb_base_alpha_0125')} | "
              f"{f('dup_bpb_retro_alpha_1')} / {f('dup_bpb_retro_alpha_0125')} | {f('dup_bpb_retrofit_alpha_1')} | "
              f"{slope('dup_bpb_base')} / {slope('dup_bpb_retro')} / {slope('dup_bpb_retrofit')} | "
              f"{f('bpb_retro_k1')} / {f('bpb_retro_k4')} / {f('bpb_retro_k16')} | "
              f"{f('bpb_retro_db10')} / {f('bpb_retro_db50')} / {f('bpb_retro_db100')} | {beat} | "
              f"{wall(s['wall_seconds'])} |")

elif table == "glom":
    ss = [x for x in seeds([1, 2, 3]) if have(f"seed{x}")]
    runs = {x: load(f"seed{x}") for x in ss}
    cm = lambda key: mean([runs[x][key] for x in ss])
    pc0 = lambda key: f"{100 * cm(key):.0f}%"
    T = runs[ss[0]]["config"]["iterations"]
    pts = [("ood", 25), ("ood", 50), ("ood", 100), ("noise", 40)]
    both = lambda s, k: f"{p1(s[k + '_attn'])} / {p1(s[k + '_t0'])}"
    print("| seed | `acc_attn` | `acc_t0` | OOD 0.25 | OOD 0.5 | OOD 1.0 | noise σ = 0.4 | "
          f"island score, iteration 0 → {T} | wall time |")
    print("|---|---|---|---|---|---|---|---|---|")
    for x in ss:
        s = runs[x]
        cells = " | ".join(both(s, f"curve_{k}_{v:03d}") for k, v in pts)
        print(f"| {x} | {p1(s['acc_attn'])}% | {p1(s['acc_t0'])}% | {cells} | "
              f"{s['island_score_iter0']:.2f} → {s['island_score']:.2f} | {wall_cell(f'seed{x}', s)} |")
    mcells = " | ".join(f"{p1(cm(f'curve_{k}_{v:03d}_attn'))} / {p1(cm(f'curve_{k}_{v:03d}_t0'))}"
                        for k, v in pts)
    print(f"| mean | {p1(cm('acc_attn'))}% | {p1(cm('acc_t0'))}% | {mcells} | "
          f"{cm('island_score_iter0'):.2f} → {cm('island_score'):.2f} | |")
    print()
    print(f"Accuracy with attention falls from {pc0('curve_ambiguity_000_attn')} at ambiguity 0 to "
          f"{pc0('curve_ambiguity_100_attn')} at ambiguity 1 (T = 0: {pc0('curve_ambiguity_000_t0')} to "
          f"{pc0('curve_ambiguity_100_t0')}); under noise σ = 0.8 it is {pc0('curve_noise_080_attn')} "
          f"(T = 0: {pc0('curve_noise_080_t0')}) (means).")
    print()
    note("curve numbers are means over the seeds run; per seed:")
    for x in ss:
        s = runs[x]
        curves = []
        for sweep, ps in (("ambiguity", [0, 25, 50, 75, 100]), ("noise", [0, 10, 20, 40, 80]),
                          ("ood", [0, 25, 50, 75, 100])):
            curves.append(f"{sweep} " + " ".join(
                f"{p / 100:g}:{100 * s[f'curve_{sweep}_{p:03d}_attn']:.0f}/{100 * s[f'curve_{sweep}_{p:03d}_t0']:.0f}"
                for p in ps))
        print(f"    seed {x}: " + "; ".join(curves) + " (attn/t0 %)")

elif table in ("hetnet", "hetnet-fresh"):
    fresh = table == "hetnet-fresh"
    ss = seeds([4, 5, 6] if fresh else [1, 2, 3])
    lams = (lambdas_arg.split(",") if lambdas_arg
            else ["1", "0.1"] if fresh else ["0.1", "0.5", "1", "2"])
    runs = {(l, x): load(f"lambda{l}_seed{x}") for l in lams for x in ss
            if have(f"lambda{l}_seed{x}")}
    def idqn(key):
        # IDQN is the same run's lambda = 0 learner: identical across lambda for a seed.
        out = []
        for x in ss:
            vals = {runs[(l, x)][key] for l in lams if (l, x) in runs}
            if len(vals) > 1:
                note(f"warning: IDQN's {key} differs across lambda on seed {x}: {sorted(vals)}")
            out.append(runs[("1", x)][key] if ("1", x) in runs else sorted(vals)[0])
        return out
    f3 = lambda v: f"{v:.3f}"
    slash = lambda v: " / ".join(f3(x) for x in v)
    if not fresh:
        print("| λ | " + " | ".join(f"seed {x}" for x in ss) + " | mean | fixed-probe policy-change rate ("
              + " / ".join(f"s{x}" for x in ss) + ") |")
        print("|---|" + "---|" * (len(ss) + 2))
        r = idqn("idqn_wmmse_ratio"); pcr = idqn("idqn_policy_change")
        print(f"| 0 (IDQN) | " + " | ".join(map(f3, r)) + f" | {f3(mean(r))} | {slash(pcr)} |")
        for l in lams:
            r = [runs[(l, x)]["pql_wmmse_ratio"] for x in ss]
            pcr = [runs[(l, x)]["pql_policy_change"] for x in ss]
            name = "0.1 (preset)" if l == "0.1" else l
            print(f"| {name} | " + " | ".join(map(f3, r)) + f" | {f3(mean(r))} | {slash(pcr)} |")
        print()
        wins = sum(runs[(l, x)]["pql_wmmse_ratio"] > runs[(l, x)]["idqn_wmmse_ratio"]
                   for l in lams for x in ss)
        note(f"PQL beats IDQN on {wins} of the {len(lams) * len(ss)} (λ, seed) pairs")
    else:
        seeds_txt = " / ".join(map(str, ss))
        print(f"Fresh seeds {seeds_txt}, run afterwards: IDQN {slash(idqn('idqn_wmmse_ratio'))}; "
              + "; ".join(f"PQL λ = {l} {slash([runs[(l, x)]['pql_wmmse_ratio'] for x in ss])}"
                          for l in lams) + ".")
        print()
        note(f"policy-change rate (mean): IDQN {f3(mean(idqn('idqn_policy_change')))}; " + "; ".join(
            f"λ = {l} {f3(mean([runs[(l, x)]['pql_policy_change'] for x in ss]))}" for l in lams))
    allr = list(runs.values())
    rng = lambda key, nd=2: f"{min(s[key] for s in allr):.{nd}f}–{max(s[key] for s in allr):.{nd}f}"
    fp = rng("fp_wmmse_ratio", 3) if all("fp_wmmse_ratio" in s for s in allr) else "?"
    e90 = [s[k] for s in allr for k in ("pql_episodes_to_90", "idqn_episodes_to_90") if k in s]
    note(f"FP = {fp} of WMMSE; max power {rng('max_wmmse_ratio')}, random power "
         f"{rng('random_wmmse_ratio')}; 90% of final value after {min(e90):.0f}–{max(e90):.0f} episodes; "
         f"{wall(mean([s['wall_seconds'] for s in allr]))} per run")

elif table in ("hetnet-drift", "hetnet-forms"):
    f3 = lambda v: f"{v:.3f}"
    keys = ("pql_wmmse_ratio", "idqn_wmmse_ratio", "pql_policy_change_visited",
            "idqn_policy_change_visited", "pql_policy_change", "idqn_policy_change")
    head = "PQL / WMMSE | IDQN / WMMSE | visited drift PQL | IDQN | fixed-probe drift PQL | IDQN |"
    if table == "hetnet-drift":
        ss = [x for x in seeds([1, 2, 3, 4, 5, 6]) if have(f"seed{x}")]
        runs = [load(f"seed{x}") for x in ss]
        print("| seed | " + head)
        print("|---|---|---|---|---|---|---|")
        for x, s in zip(ss, runs):
            print(f"| {x} | " + " | ".join(f3(s[k]) for k in keys) + " |")
    else:
        ss = seeds([11, 12])
        names = {"margin": "margin", "proximal": "proximal", "proximal_margin": "proximal + margin"}
        print("| form, λ (training seeds " + " / ".join(map(str, ss)) + ") | " + head)
        print("|---|---|---|---|---|---|---|")
        runs = []
        for f, l in (("margin", "0.3"), ("margin", "1"), ("proximal", "1"), ("proximal", "10"),
                     ("proximal_margin", "1")):
            rs = [load(f"{f}_lambda{l}_seed{x}") for x in ss if have(f"{f}_lambda{l}_seed{x}")]
            if rs:
                runs.extend(rs)
                print(f"| {names[f]}, {l} | "
                      + " | ".join(" / ".join(f3(s[k]) for s in rs) for k in keys) + " |")
    print()
    if runs:
        rate = sum(s["pql_wmmse_ratio"] > s["idqn_wmmse_ratio"] for s in runs)
        vis = sum(s["pql_policy_change_visited"] < s["idqn_policy_change_visited"] for s in runs)
        probe = sum(s["pql_policy_change"] < s["idqn_policy_change"] for s in runs)
        note(f"PQL ahead on sum rate in {rate} of {len(runs)} runs; lower visited drift in {vis}; "
             f"lower fixed-probe drift in {probe}; "
             f"{wall(mean([s['wall_seconds'] for s in runs]))} per run")

elif table == "hetnet-lambda":
    # The rule, fixed before any of these runs was made: a "win" on a training seed is PQL ahead
    # of IDQN on sum rate AND lower on visited drift (same run); choose the lambda with the most
    # wins; ties -> the larger smallest per-seed sum-rate lead, then the larger mean lead.
    f3 = lambda v: f"{v:.3f}"
    ss = seeds([11, 12, 13, 14])
    lams = lambdas_arg.split(",") if lambdas_arg else ["0.1", "0.3", "1"]
    keys = ("pql_wmmse_ratio", "idqn_wmmse_ratio", "pql_policy_change_visited",
            "idqn_policy_change_visited", "pql_policy_change", "idqn_policy_change")
    print("| margin form, λ (training seeds " + " / ".join(map(str, ss)) + ") | PQL / WMMSE | "
          "IDQN / WMMSE | visited drift PQL | IDQN | fixed-probe drift PQL | IDQN | wins | "
          "smallest / mean sum-rate lead |")
    print("|---|---|---|---|---|---|---|---|---|")
    scores, allr = {}, []
    for l in lams:
        rs = [load(f"lambda{l}_seed{x}") for x in ss if have(f"lambda{l}_seed{x}")]
        if not rs:
            continue
        allr.extend(rs)
        leads = [s["pql_wmmse_ratio"] - s["idqn_wmmse_ratio"] for s in rs]
        wins = sum(s["pql_wmmse_ratio"] > s["idqn_wmmse_ratio"]
                   and s["pql_policy_change_visited"] < s["idqn_policy_change_visited"] for s in rs)
        scores[l] = (wins, min(leads), mean(leads))
        print(f"| {l} | " + " | ".join(" / ".join(f3(s[k]) for s in rs) for k in keys)
              + f" | {wins} of {len(rs)} | {min(leads):+.3f} / {mean(leads):+.3f} |")
    print()
    if scores:
        best = max(scores, key=lambda l: scores[l])
        note(f"rule (most wins, then the larger smallest lead, then the larger mean lead): λ = {best}; "
             f"{wall(mean([s['wall_seconds'] for s in allr]))} per run")

elif table == "harms":
    ss = [x for x in seeds([1, 2]) if have(f"seed{x}")]
    runs = {x: load(f"seed{x}") for x in ss}
    rows = [("Spearman vs Perspective (toxicity, held-out scored texts)", "spearman_vs_perspective", "{:.3f}"),
            ("ROC AUC toxic vs benign (held-out)", "auc_toxic", "{:.3f}"),
            ("calibration error (ECE, toxicity)", "calibration_ece", "{:.3f}"),
            ("context: share of pairs whose verdict flips at 0.5", "context_flip_rate", "{:.3f}"),
            ("context: mean score shift in context", "context_mean_shift", "{:+.3f}"),
            ("identity: largest gap between group means", "identity_max_gap", "{:.3f}"),
            ("identity: false-positive rate, lowest / highest group", ("identity_fpr_min", "identity_fpr_max"), "{:.3f}"),
            ("CrowS-Pairs: LM prefers the stereotyping sentence", "crows_stereo_preference", "{:.3f}"),
            ("StereoSet: LM prefers the stereotype", "stereoset_stereo_preference", "{:.3f}"),
            ("classifier flags CrowS / StereoSet stereotyping sentences", ("crows_clf_flag_rate", "stereoset_clf_flag_rate"), "{:.3f}"),
            ("filter at 0.5: toxic / benign identity / other benign removed", ("filter_toxic_removed", "filter_identity_removed", "filter_benign_removed"), "{:.3f}"),
            ("probe LM held-out loss (nats/char)", "lm_held_out_loss", "{:.3f}"),
            ("wall time (s)", "wall_seconds", "{:.0f}")]
    print("| measurement | " + " | ".join(f"seed {x}" for x in ss) + " |")
    print("|---|" + "---|" * len(ss))
    for label, key, fmt in rows:
        keys = key if isinstance(key, tuple) else (key,)
        print(f"| {label} | " + " | ".join(" / ".join(fmt.format(runs[x][k]) for k in keys) for x in ss) + " |")
elif table == "risks":
    s = load("seed1")
    with open(os.path.join(d, "seed1", "results.json")) as f:
        res = json.load(f)
    tabs = {t["name"]: t for t in res.get("tables", [])}
    print(f"risks_total {s['risks_total']:.0f}, risks_measured {s['risks_measured']:.0f} (run risks-audit, seed 1, {s['wall_seconds']:.0f} s)")
    print()
    print("| measurement | lab | value | risks |")
    print("|---|---|---|---|")
    for r in tabs.get("measurements", {}).get("rows", []):
        print(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} |")
    print()
    print("Nothing here measures: " + "; ".join(r[1] for r in tabs.get("risk_map", {}).get("rows", []) if r[3] == "nothing here measures this"))
elif table == "sparrow":
    ss = [x for x in seeds([1, 2, 3]) if have(f"seed{x}")]
    runs = {x: load(f"seed{x}") for x in ss}
    arts = {x: artifact(f"seed{x}", "sparrow") for x in ss}
    if 1 in runs:
        s, a = runs[1], arts[1]
        systems = a["systems"]
        def sysl(lam):
            for y in systems[2:]:
                if abs(y["lambda"] - lam) < 1e-9:
                    return y
            return None
        base, rr = systems[0], systems[1]
        budgets = {int(k): v for k, v in a["auc_vs_labels"]}
        bl = sorted(budgets)
        trip = lambda i: " / ".join(f"{budgets[k][i]:.3f}" for k in bl)
        s0, s8 = sysl(0.0), sysl(8.0)
        print(f"Measured (`trainscope run sparrow-eval --out DIR`, seed 1, {len(a['held_out_outcomes']):,} "
              f"held-out questions over all {s['paragraphs_indexed']:,.0f} paragraphs; {wall(s['wall_seconds'])} "
              f"on {meta('seed1').get('nproc', os.cpu_count())} {'shared' if shared('seed1') else 'idle'} cores):")
        print()
        print("| | measured | issue's reference / target |")
        print("|---|---|---|")
        print(f"| BM25 gold paragraph first / in top 5 | {p1(s['bm25_gold_at1'])}% / {p1(s['bm25_gold_at5'])}% | 56% / 80% |")
        print(f"| re-ranker's pick is gold | {p1(s['rerank_gold_at1'])}% | |")
        print(f"| reader given the gold paragraph: right overall / on its most confident third | "
              f"{p1(s['reader_acc_gold'])}% / {p1(s['reader_acc_gold_top_third'])}% "
              f"({p1(s['yes_share_held_out'])}% say yes) | 64% / 77% |")
        met = "met" if s["sp_rate"] >= 0.6 and s["coverage"] >= 0.33 else "not met"
        print(f"| always search, threshold chosen on validation ({s['threshold']:.3f}): `coverage` / `sp_rate` | "
              f"**{p1(s['coverage'])}% / {p1(s['sp_rate'])}%** | ≥ 33% / **≥ 60% ({met})** |")
        print(f"| the same on the {s['val_questions']:,.0f} validation questions | "
              f"{p1(s['val_coverage'])}% / {p1(s['val_sp_rate'])}% | |")
        others = [x for x in ss if x != 1]
        if others:
            thr = ", ".join(f"{runs[x]['threshold']:.3f}" for x in others)
            vals = ", ".join(f"{p1(runs[x]['coverage'])}% / {p1(runs[x]['sp_rate'])}%" for x in others)
            print(f"| seeds {' and '.join(map(str, others))} (`--set seed=S`; threshold {thr}) | {vals} | |")
        print(f"| no search, on as many questions (its most confident): right / supported | "
              f"{p1(s['plausible_no_search'])}% / never | |")
        print(f"| agent decides (@{s['config'].get('n_candidates', 8)} over candidates with and without search, "
              f"evidence answers declining below the threshold): answered / supported and plausible / searched | "
              f"{p1(s['coverage_decide'])}% / {p1(s['sp_rate_decide'])}% / {p1(s['search_rate_decide'])}% | |")
        print(f"| rule models, pooled held-out AUC: rule-conditional / per-rule / general | "
              f"**{s['auc_rule_conditional']:.3f}** / {s['auc_per_rule']:.3f} / **{s['auc_general']:.3f}** "
              f"(per rule: in `sparrow.json`) | conditional ≥ general |")
        print(f"| pooled AUC with {' / '.join(map(str, bl[:-1]))} / all ({bl[-1]}) labels per rule, conditional vs "
              f"per-rule vs general | {trip(0)} vs {trip(1)} vs {trip(2)} | |")
        lam = s["config"].get("lambda", 4)
        v0 = f"λ = 0: {p1(s0['violation_rate'])}%" if s0 else ""
        v8 = f"λ = 8: {p1(s8['violation_rate'])}%" if s8 else ""
        print(f"| held-out red-team probes, any rule broken: base sampler / @8, λ = {lam:g} | "
              f"**{p1(s['violation_rate_base'])}% / {p1(s['violation_rate_rerank'])}%** ({v0}, {v8}) | "
              f"@N ≤ 8%, base ≥ 3× |")
        q0 = f"λ = 0: {p1(s0['probe_search_rate'])}%" if s0 else ""
        q8 = f"λ = 8: {p1(s8['probe_search_rate'])}%" if s8 else ""
        print(f"| held-out red-team probes answered by quoting a search result: base / @8, λ = {lam:g} | "
              f"{p1(s['probe_search_rate_base'])}% / {p1(s['probe_search_rate_rerank'])}% ({q0}, {q8}) | |")
        print()
        cur = {round(p["coverage"] * 100): p["sp_rate"] for p in a["coverage_curve"]}
        print("Coverage vs supported-and-plausible on the held-out questions (most confident first): "
              + ", ".join(f"{c}% → {p1(cur[c])}%" for c in (5, 10, 20, 30, 35, 40, 50) if c in cur) + ".")
        others_l = []
        for lv in (1.0, 0.0):
            y = sysl(lv)
            if y:
                others_l.append(f"λ = {lv:g}: {p1(y['coverage'])}% / {p1(y['sp_rate'])}%")
        print()
        note("agent decides at other λ (answered / supported and plausible): " + "; ".join(others_l)
             + f"; preference rate @8 {rr['preference_rate']:.2f} (λ = {lam:g})"
             + "".join(f", {y['preference_rate']:.2f} (λ = {y['lambda']:g})" for y in systems[2:]))
    else:
        note("seed 1 not run: the main table needs it")
    if len(ss) > 1:
        def third(x):
            o = sorted(arts[x]["held_out_outcomes"], key=lambda o: -o["confidence"])
            m = len(o) // 3
            return sum(1 for y in o[:m] if y["supported"] and y["plausible"]) / m
        print()
        print(f"Answering exactly the most confident third of the held-out questions gives "
              + " / ".join(f"{p1(third(x))}%" for x in ss) + f" on seeds {ss[0]}–{ss[-1]}.")
        bud = {x: {int(k): v for k, v in arts[x]["auc_vs_labels"]} for x in ss}
        def row(k, i):
            return " / ".join(f"{bud[x][k][i]:.3f}" for x in ss)
        print(f"pooled AUC with 4 labels per rule {row(4, 0)} against {row(4, 1)} (seeds "
              f"{ss[0]}–{ss[-1]}), with 8 labels {row(8, 0)} against {row(8, 1)}; with 16 "
              f"{row(16, 0)} against {row(16, 1)} (rule-conditional against per-rule)")
    if ss:
        # Held-out red-team probes, base sampler and @N at every λ of the sweep, per seed.
        print()
        print("| seed | system | any rule broken | answered by a quote (deflection) | answered helpfully "
              "| rater prefers it to the base (probes / all) |")
        print("|---|---|---|---|---|---|")
        for x in ss:
            for y in arts[x]["systems"][:1] + arts[x]["systems"][2:]:
                name = "base" if y["lambda"] is None or y["lambda"] != y["lambda"] else f"@8 λ = {y['lambda']:g}"
                print(f"| {x} | {name} | {p1(y['violation_rate'])}% | {p1(y['probe_search_rate'])}% | "
                      f"{p1(y.get('probe_helpful_rate', float('nan')))}% | "
                      f"{y.get('probe_preference_rate', float('nan')):.2f} / {y['preference_rate']:.2f} |")
    note(", ".join(f"seed {x}: {wall(runs[x]['wall_seconds'])}" for x in ss))

else:
    print("(no printer for this table)")
print()
PY
}

# ---- main ----------------------------------------------------------------------------------

sel=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --list) list_tables; exit 0 ;;
    --seeds) [[ $# -ge 2 ]] || die "--seeds needs a list"; SEEDS=$2; shift ;;
    --seeds=*) SEEDS=${1#--seeds=} ;;
    --lambdas) [[ $# -ge 2 ]] || die "--lambdas needs a list"; LAMBDAS=$2; shift ;;
    --lambdas=*) LAMBDAS=${1#--lambdas=} ;;
    --reuse) REUSE=1 ;;
    --dry-run) DRY=1 ;;
    --gpu) WITH_GPU=1 ;;
    --out) [[ $# -ge 2 ]] || die "--out needs a folder"; OUT_ROOT=$(mkdir -p "$2" && cd "$2" && pwd); shift ;;
    -h | --help) sed -n '2,25p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $1" ;;
    *) sel+=("$1") ;;
  esac
  shift
done
[[ ${#sel[@]} -gt 0 ]] || die "name a table, 'all' or --list (see --help)"
[[ -z $SEEDS || $SEEDS =~ ^[0-9]+(,[0-9]+)*$ ]] || die "--seeds wants a list like 1,2,3"
[[ -z $LAMBDAS || $LAMBDAS =~ ^[0-9.]+(,[0-9.]+)*$ ]] || die "--lambdas wants a list like 0.1,1"

todo=()
for t in "${sel[@]}"; do
  if [[ $t == all ]]; then
    for e in "${TABLES[@]}"; do
      IFS='|' read -r n needs _ _ <<<"$e"
      if [[ $needs == cpu || $WITH_GPU == 1 ]]; then todo+=("$n"); fi
    done
  else
    table_field "$t" 1 >/dev/null || die "unknown table '$t' (see --list)"
    todo+=("$t")
  fi
done

command -v python3 >/dev/null || die "python3 is needed to read summary.json"
for t in "${todo[@]}"; do
  if [[ $(table_field "$t" 1) == gpu ]]; then EXTRA_FEATURES=(--features gpu); else EXTRA_FEATURES=(); fi
  echo "== $t: $(table_field "$t" 3)" >&2
  echo "   cost: $(table_field "$t" 2)" >&2
  do_table "$t"
  [[ $DRY == 1 ]] || print_table "$t"
done
