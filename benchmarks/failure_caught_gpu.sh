#!/usr/bin/env bash
# GPU phases 2-4 of benchmarks/failure_caught.py on the base model trained by phase 1
# (carried in .models/base): fine-tune, merge, evaluate, judge, promote; then the conditions sweep.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
python3 -m pip install -q --no-index --no-deps --no-build-isolation --target /tmp/cogumi . || exit 1
export PYTHONPATH=/tmp/cogumi:/tmp/site PATH=/tmp/cogumi/bin:/tmp/site/bin:$PATH PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
export COGUMI_CACHE_DIR=/tmp/cache INSPECT_LOG_DIR=/tmp/w/logs
W=/tmp/w; mkdir -p $W; cp -r .models/base $W/base
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT/card.txt"
start=$(date +%s)
python3 benchmarks/failure_caught.py data --work $W   # the same problems phase 1 trained on (seeded)
python3 benchmarks/failure_caught.py finetune --work $W 2>&1 | grep -v "Loading weights\|Writing model" | tee "$OUT/finetune.log" | tail -5
python3 benchmarks/failure_caught.py evaluate --work $W "$@" 2>&1 | grep -v "Loading weights\|Writing model" > "$OUT/evaluate.log"; tail -40 "$OUT/evaluate.log"
echo "elapsed $(( $(date +%s) - start )) s"
(cd $W && tar cf "$OUT/results.tar" finetune_result.json evaluate_result.json finetune.log evaluate.log registry.toml promote-*.json adapters/*/cogumi_lineage.json adapters/*/loss*.json merged/*/cogumi_lineage.json 2>/dev/null)
(cd $W && tar cf "$OUT/judged.tar" judged)
if [ $(( $(date +%s) - start )) -lt 400 ]; then
  timeout $(( 560 - ($(date +%s) - start) )) python3 benchmarks/failure_caught.py conditions --work $W 2>&1 | grep -v "Loading weights\|Writing model" > "$OUT/conditions.log"
  cp $W/conditions_result.json "$OUT/" 2>/dev/null
fi
tail -5 "$OUT/conditions.log" 2>/dev/null
ls -la "$OUT"
