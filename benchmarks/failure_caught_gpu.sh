#!/usr/bin/env bash
# GPU phases of benchmarks/failure_caught.py after phase 1 (failure_caught_base.sh), on the base
# model it sent back (carried in .models/base, with the wheels in .whl/):
#
#   bash benchmarks/failure_caught_gpu.sh finetune evaluate   # ~10 min: may stop after 4 evaluations
#   bash benchmarks/failure_caught_gpu.sh evaluate            # resumes: the last model, judge, promote
#   bash benchmarks/failure_caught_gpu.sh conditions --sweep-lrs 4e-3
#
# Each call must follow the last within the machine's idle window, since the work folder /tmp/w
# lives on the machine. Logs and results are copied to $OUT after every phase.
set -uo pipefail
if [ ! -d /tmp/cogumi ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
  python3 -m pip install -q --no-index --no-deps --no-build-isolation --target /tmp/cogumi . || exit 1
fi
export PYTHONPATH=/tmp/cogumi:/tmp/site PATH=/tmp/cogumi/bin:/tmp/site/bin:$PATH PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
export COGUMI_CACHE_DIR=/tmp/cache
W=/tmp/w
if [ ! -d $W/base ]; then
  mkdir -p $W && cp -r .models/base $W/base
  python3 benchmarks/failure_caught.py data --work $W   # the same problems phase 1 trained on (seeded)
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT/card.txt"
phases=(); while [ $# -gt 0 ] && [[ "$1" != --* ]]; do phases+=("$1"); shift; done
for phase in "${phases[@]}"; do
  python3 benchmarks/failure_caught.py "$phase" --work $W "$@" 2>&1 | grep -v "Loading weights\|Writing model" > "$OUT/$phase.log"
  tail -20 "$OUT/$phase.log"
done
cd $W || exit 1
tar cf "$OUT/results.tar" --ignore-failed-read ./*_result.json ./*.log registry.toml promote-*.json \
  adapters/*/cogumi_lineage.json adapters/*/loss.json merged/*/cogumi_lineage.json 2>/dev/null
for n in judged/*/; do cp "$n"*.eval "$OUT/$(basename "$n").eval" 2>/dev/null; done
ls -la "$OUT"
