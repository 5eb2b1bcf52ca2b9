#!/usr/bin/env bash
# Install Evidently into its own venv, bench/.evidently-venv (never into keel's .venv), for
# bench/drift_compare.py, which runs Evidently's default DataDriftPreset there as a child
# process. pandas<3: Evidently's releases of this time do not support pandas 3.
# Idempotent: a stamp file records what was installed; a second run does nothing.
set -euo pipefail

VERSION="${EVIDENTLY_VERSION:-}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.evidently-venv"
STAMP="$VENV/.installed-${VERSION:-latest}"
PY="${PYTHON:-python3}"

if [[ -f "$STAMP" && -x "$VENV/bin/python" ]]; then
    echo "evidently ${VERSION:-latest} already installed in $VENV"
    exit 0
fi

echo "installing evidently ${VERSION:-latest} into $VENV (first time: minutes)" >&2
test -x "$VENV/bin/python" || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
spec="evidently"
if [[ -n "$VERSION" ]]; then
    spec="evidently==$VERSION"
fi
"$VENV/bin/python" -m pip install -q "$spec" "pandas<3"
touch "$STAMP"
"$VENV/bin/python" -c "import evidently; print('evidently', evidently.__version__, 'installed')"
