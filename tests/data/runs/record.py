"""Copy a real job dir the harness wrote into tests/data/runs, small enough to keep.

    .venv/bin/python tests/data/runs/record.py RESULTS/<series>/<rev>/<job> NAME

What is left out or cut, and why:
- `guest/` (the VM's rw dir) and `reproduce/` (copies of the inputs): not results.
- A text file over LIMIT bytes keeps its first HEAD and last TAIL lines, with one
  line in between saying how many were cut. A full kernel build's build.log is
  megabytes of `CC` lines; its warnings are in build/warnings.json, which is kept
  whole, and the console, dmesg and test_progs logs are far below the limit.
Nothing else is changed: every kept line is a line the harness wrote.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SKIP_DIRS = {"guest", "reproduce"}
LIMIT = 256 * 1024
HEAD, TAIL = 200, 300


def cut_marker(n: int) -> str:
    return f"[... {n} lines cut by tests/data/runs/record.py ...]"


def trim_lines(lines: list[str]) -> list[str]:
    """The first HEAD and last TAIL lines, and one marker line for the rest."""
    if len(lines) <= HEAD + TAIL + 1:
        return lines
    return lines[:HEAD] + [cut_marker(len(lines) - HEAD - TAIL) + "\n"] + lines[-TAIL:]


def copy_file(src: Path, dest: Path) -> bool:
    """Copy one file; True when it was cut."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if src.stat().st_size <= LIMIT:
        shutil.copy2(src, dest)
        return False
    data = src.read_bytes()
    if b"\0" in data[:8192]:
        raise SystemExit(f"{src}: a binary file over {LIMIT} bytes; leave it out")
    lines = data.decode("utf-8", errors="surrogateescape").splitlines(keepends=True)
    dest.write_text("".join(trim_lines(lines)), encoding="utf-8", errors="surrogateescape")
    return True


def record(src: Path, dest: Path) -> list[str]:
    """Copy the job dir src to dest; returns the files that were cut."""
    if not (src / "summary.json").is_file():
        raise SystemExit(f"{src}: not a job dir (no summary.json)")
    if dest.exists():
        shutil.rmtree(dest)
    cut = []
    for p in sorted(src.rglob("*")):
        rel = p.relative_to(src)
        if rel.parts[0] in SKIP_DIRS or not p.is_file() or p.is_symlink():
            continue
        if copy_file(p, dest / rel):
            cut.append(str(rel))
    return cut


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    src, dest = Path(argv[0]), HERE / argv[1]
    for rel in record(src, dest):
        print(f"cut: {argv[1]}/{rel}")
    print(f"recorded {src} -> {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
