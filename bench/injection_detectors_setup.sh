#!/usr/bin/env bash
# Install open prompt-injection detectors that run offline (regex/heuristic, no model download)
# into their own venv, bench/.injection-venv, for scripts/injection_eval.py --compare. Never
# into keel's .venv. Idempotent.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.injection-venv"
STAMP="$VENV/.installed-injectionshield-0.1.0-ai-injection-guard-0.3.0"
if [[ -f "$STAMP" ]]; then echo "detectors already installed in $VENV"; exit 0; fi
test -x "$VENV/bin/python" || "${PYTHON:-python3}" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q "injectionshield==0.1.0" "ai-injection-guard==0.3.0"
touch "$STAMP"
echo "detectors installed in $VENV: run scripts/injection_eval.py --compare $VENV/bin/python"
