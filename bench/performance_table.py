"""Put a results file's table, targets and machine into docs/performance.md.

.venv/bin/python bench/performance_table.py bench/results/<date>-full.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

START, END = "<!-- bench-table:start -->\n", "<!-- bench-table:end -->"
PAGE = Path(__file__).resolve().parents[1] / "docs" / "performance.md"


def section(results: dict) -> str:  # type: ignore[type-arg]
    m, v = results["machine"], results["versions"]
    head = (
        f"Measured {results['date'][:10]} (`{results['label']}` run): {m['nproc']} cores "
        f"({m['cpu_model']}), {m['memory_gib']} GiB, Linux {m['kernel']}, Python {m['python']}; "
        f"keel {v['keel']}, uvicorn {v['uvicorn']}, starlette {v['starlette']}, "
        f"aiohttp {v['aiohttp']}, LiteLLM {v.get('litellm', '-')}, {v['wrk']}.\n"
    )
    targets = "\n".join(
        f"| {t['target']} | {t['value']:.3g} {t['unit']} | {t['verdict']} |"
        for t in results["targets"]
    )
    return (
        head
        + "\n"
        + results["table_markdown"].strip()
        + "\n\nTargets (one keel worker, full hot path):\n\n"
        + "| target | measured | |\n|---|---|---|\n"
        + targets
        + "\n"
    )


def main() -> None:
    results = json.loads(Path(sys.argv[1]).read_text())
    text = PAGE.read_text()
    before, rest = text.split(START, 1)
    PAGE.write_text(before + START + section(results) + END + rest.split(END, 1)[1])


if __name__ == "__main__":
    main()
