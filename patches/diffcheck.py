"""Check that a patch is a diff, and that every path it names stays inside the tree.

Also splits a diff into files and hunks, for the per-hunk failure report.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from common.errors import InputError

# Characters a shell would treat specially; no kernel file name has one.
SHELL_META = set(" \t;|&$`\\<>*?!'\"(){}[]~#")
HUNK_RE = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
DIFF_GIT_RE = re.compile(r"^diff --git (\S+) (\S+)$")
NAMED_RE = re.compile(r"^(rename from|rename to|copy from|copy to) (.*)$")


@dataclass
class Hunk:
    index: int           # 1-based within its file
    header: str          # the @@ line
    lines: list[str]     # the @@ line and its body, each ending in "\n"
    line: int            # 1-based line of the @@ within the patch text


@dataclass
class FileDiff:
    path: str                                   # the path inside the tree
    header: list[str] = field(default_factory=list)  # diff --git / --- / +++ lines
    hunks: list[Hunk] = field(default_factory=list)
    line: int = 0


def bad_name_chars(name: str) -> str:
    """The shell metacharacters or control characters in `name`, as one string."""
    return "".join(sorted({c for c in name if c in SHELL_META or ord(c) < 32 or ord(c) == 127}))


def check_tree_path(raw: str, strip: int, where: tuple[str, int]) -> str | None:
    """The in-tree path for a path named in a diff header, or an InputError."""
    path, lineno = where
    name = raw.split("\t", 1)[0].rstrip()
    if name == "/dev/null":
        return None
    bad = bad_name_chars(name)
    if bad or name.startswith('"'):
        raise InputError(f"file name with shell metacharacters or quoting: {name!r}",
                         path=path, line=lineno,
                         hint="kernel file names never need quoting; this patch is suspect")
    parts = name.split("/")
    if len(parts) <= strip:
        raise InputError(f"path {name!r} has fewer than {strip + 1} components for -p{strip}",
                         path=path, line=lineno)
    inner = parts[strip:]
    if ".." in parts or (strip == 0 and name.startswith("/")):
        raise InputError(f"path outside the tree: {name!r}", path=path, line=lineno)
    return "/".join(inner)


def _hunk_end(lines: list[str], start: int, old: int, new: int) -> int:
    """Index just past the hunk body that starts at lines[start]."""
    i = start
    while i < len(lines) and (old > 0 or new > 0):
        c = lines[i][:1]
        if c == " " or lines[i] in ("\n", ""):
            old, new = old - 1, new - 1
        elif c == "-":
            old -= 1
        elif c == "+":
            new -= 1
        elif c != "\\":
            break
        i += 1
    while i < len(lines) and lines[i].startswith("\\"):
        i += 1
    return i


def parse_diff(text: str, path: str, first_line: int = 1, strip: int = 1) -> list[FileDiff]:
    """Files and hunks of a patch text; InputError (naming `path` and the line) when it
    is not a diff or names a path outside the tree."""
    lines = text.splitlines(keepends=True)
    files: list[FileDiff] = []
    cur: FileDiff | None = None
    i = 0
    while i < len(lines):
        ln = lines[i].rstrip("\n")
        where = (path, first_line + i)
        m = DIFF_GIT_RE.match(ln)
        if ln.startswith("diff --git "):
            if not m:
                raise InputError(f"file name with shell metacharacters or quoting: {ln!r}",
                                 path=path, line=first_line + i)
            a = check_tree_path(m.group(1), 1, where)
            b = check_tree_path(m.group(2), 1, where)
            cur = FileDiff(path=b or a or "", header=[lines[i]], line=first_line + i)
            files.append(cur)
        elif ln.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ "):
            old = check_tree_path(ln[4:], strip, where)
            new = check_tree_path(lines[i + 1].rstrip("\n")[4:], strip, (path, first_line + i + 1))
            if cur is None or cur.hunks or any(h.startswith("+++ ") for h in cur.header):
                cur = FileDiff(path=new or old or "", line=first_line + i)
                files.append(cur)
            cur.header += [lines[i], lines[i + 1]]
            i += 2
            continue
        elif NAMED_RE.match(ln) and cur is not None:
            check_tree_path(NAMED_RE.match(ln).group(2), 0, where)
            cur.header.append(lines[i])
        elif (hm := HUNK_RE.match(ln)) and cur is not None:
            old_n = int(hm.group(2)) if hm.group(2) is not None else 1
            new_n = int(hm.group(4)) if hm.group(4) is not None else 1
            end = _hunk_end(lines, i + 1, old_n, new_n)
            cur.hunks.append(Hunk(len(cur.hunks) + 1, ln, lines[i:end], first_line + i))
            i = end
            continue
        elif cur is not None and not cur.hunks and ln and not ln.startswith("+++"):
            cur.header.append(lines[i])
        i += 1
    if not files or not any(f.hunks or _is_meta_only(f) for f in files):
        raise InputError("not a diff: no 'diff --git' or '---'/'+++' file headers with hunks",
                         path=path, line=first_line)
    return files


def _is_meta_only(f: FileDiff) -> bool:
    """A git diff with no hunks: rename, mode change, empty new file, binary."""
    text = "".join(f.header)
    return f.header[0].startswith("diff --git") and any(
        k in text for k in ("rename from", "new file mode", "deleted file mode", "old mode",
                            "Binary files", "GIT binary patch", "copy from"))


def single_hunk_patch(f: FileDiff, hunk: Hunk) -> str:
    """A patch holding `f`'s file header and only `hunk`, for checking it alone."""
    header = [h for h in f.header if h.startswith(("diff --git", "--- ", "+++ "))]
    if not any(h.startswith("--- ") for h in header):
        header += [f"--- a/{f.path}\n", f"+++ b/{f.path}\n"]
    body = "".join(hunk.lines)
    if not body.endswith("\n"):
        body += "\n"
    return "".join(header) + body
