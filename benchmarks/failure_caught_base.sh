#!/usr/bin/env bash
# GPU phase 1 of benchmarks/failure_caught.py: train the base model and send it back.
# Run from the repository root with the wheels in .whl/ (see benchmarks/failure_caught.py).
set -euo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/card.txt"
python3 -c "import torch, transformers, peft, bitsandbytes, inspect_ai; print('torch', torch.__version__, 'transformers', transformers.__version__, 'peft', peft.__version__, 'bitsandbytes', bitsandbytes.__version__, 'inspect_ai', inspect_ai.__version__)" | tee -a "$OUT/card.txt"
python3 benchmarks/failure_caught.py base --work /tmp/w "$@" 2>&1 | tee "$OUT/base.log"
cp /tmp/w/base_result.json "$OUT/"
mkdir -p "$OUT/base"
cp /tmp/w/base/*.safetensors "$OUT/base/"
(cd /tmp/w/base && tar cf "$OUT/base/meta.tar" --exclude='*.safetensors' .)
ls -la "$OUT" "$OUT/base"
