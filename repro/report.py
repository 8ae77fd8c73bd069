"""Parse a kernel test robot email (.eml, mbox, or text pasted from an archive page)
into a typed RobotReport. Pure: bytes in, record out. Lines it cannot read are kept
in `unparsed` with their line numbers, never dropped."""
from __future__ import annotations

import email
import re
from dataclasses import asdict, dataclass, field
from email import policy
from pathlib import Path
from urllib.parse import unquote

from common.errors import InputError
from results.model import Splat
from results.splat import find_splats

from .diag import Diagnostic, parse_diagnostics, strip_marker

MSGID_IN_URL = re.compile(r"lore\.kernel\.org/(?:[\w-]+/)?(?:r/)?(?P<id>[^/\s>]+@[^/\s>]+?)/?$")
KEY = re.compile(r"^(?P<key>url|base|patch link|patch subject|config|compiler|commit|"
                 r"in testcase|test machine|version|tree|head|author|date|kernel command line|cmdline|"
                 r"reproduce(?: \(this is a W=1 build\))?)"
                 r":\s*(?P<val>.*)$")
# The reminder form: no "noticed" line, the diagnostics of a commit already in a tree.
REMINDER = re.compile(r"^(?P<what>FYI, the error/warning (?:still remains|was not fixed yet|"
                      r"was bisected to this commit)|First bad commit \(maybe != root cause\))")
# Lines of a diagnostics block that say nothing to read: context, code excerpts,
# carets, counts, linker and make follow-ups, sparse's detail lines, Kconfig's
# unmet-dependency notes.
DIAG_CONTEXT = [r"^\S+: In function [‘'`]", r"^\S+: At top level:", r"^\S+: In member function",
                r"^(?:In file included|\s*from) \S+:\d+", r"^(?:\S*ld(?:\.\w+)?: )?\S+\.o: in function",
                r"^\s*\d*\s*\|", r"^\s+\^", r"^\s*\d+ (?:warnings?|errors?)(?: and \d+ errors?)? generated",
                r"^\s*\S*clang(?:-\d+)?: error: linker command failed", r"^\s*>>> ",
                r"^make(?:\[\d+\])?: \*\*\*", r"^cc1: (?:some|all) warnings being treated as errors",
                r"^\S+:\d+:\d+: sparse:\s{2,}", r"^\S+:\d+(?::\d+)?: note: ",
                r"^Kconfig warnings: \(for reference only\)",
                r"^\s*WARNING: unmet direct dependencies detected for ", r"^\s*Depends on \[",
                r"^\s*Selected by \[", r"^\s*- \S+ \[=", r"^(?:All|sparse) (?:warnings|errors)"]
# After the diagnostics: the source listing (`vim +`), `::::::` lines, the signature.
TAIL = [r"^vim \+", r"^\s*>?\s*\d+\s", r"^\s*>?\s*\d+$", r"^:::::: ", r"^-- ?$", r"^---$",
        r"^0-DAY CI", r"^https?://", r"^\s*\.\.\.\s*$", r"^\s*@\s*\d+"]
# reproduce steps written out in older reports' bodies
STEPS = r"^\s*(?:git (?:clone|remote|fetch|checkout)|wget |chmod |mkdir |cd |cp |pip3? |sudo |# )"
DMESG_CMDLINE = re.compile(r"^\[\s*\d+\.\d+\](?:\[\s*[TC]\d+\])?\s+(?:Kernel )?[Cc]ommand line: "
                           r"(?P<cmd>.*)$")
# a runner's result lines: kselftest's `not ok N selftests: GROUP: TEST`, test_progs' summary
RESULT_LINE = re.compile(r"^(?:(?:not )?ok \d+ \S|Summary: \d+/\d+ PASSED, \d+ SKIPPED, \d+ FAILED)")
TABLE = re.compile(r"^(?:\+[-+]+\+|\|(?P<cells>.*)\|)\s*$")
MACHINE = re.compile(r"(?:-smp\s+(?:cpus=)?(?P<smp>\d+)|(?P<threads>\d+) threads)")
MEMORY = re.compile(r"(?:-m\s+(?P<m>\d+[MG]?)|with (?P<mem>\d+G) memory)")
TESTED = re.compile(r"^\[(?P<what>auto build test|also build test) (?P<kind>WARNING|ERROR)S? on "
                    r"(?P<trees>[^\]]+)\]$")
CANNOT = re.compile(r"^\[cannot apply to (?P<trees>[^\]]+)\]$")
NOTICED_BUILD = re.compile(r"kernel test robot noticed the following build (?P<what>\w+)")
NOTICED_RUN = re.compile(r'kernel test robot noticed "(?P<title>[^"]+)" on:')
TAG = re.compile(r"^\|?\s*(?P<tag>Reported-by|Closes):\s*(?P<val>\S.*)$")
PARAM = re.compile(r"^\s+(?P<k>[\w-]+):\s*(?P<v>.*)$")
MAKE_LINE = re.compile(r"^(?P<env>(?:[A-Z_]+=\S+\s+)*)(?:\S*/)?make(?:\.cross)?\s+(?P<args>.*)$")
BOILERPLATE = [r"^(Hi|Hello)\b.*,$", r"^\[This is a private test report", STEPS,
               r"^(?:TO|CC): ", r"^reproduce:$", r"^please ignore it if it's irrelevant", r"^If you fix the issue",
               r"^the same patch/commit\)", r"^\[If your patch is applied", r"^And when submitting",
               r"^https?://", r"^\(please refer to attached", r"^The kernel config and materials",
               r"^kindly add following tag", r"^-- ?$", r"^---$", r"^0-DAY CI", r"^vim \+",
               r"^(All|sparse) (warnings|errors)", r"^with following parameters:",
               r"^#", r"^\s*\d+\s*\|", r"^\s+\^", r"^\s*>?\s*\d+\t", r"^\s+\d+ warnings? "]


@dataclass
class Compiler:
    name: str                  # gcc or clang
    version: str | None
    cross_prefix: str | None   # e.g. loongarch64-linux for loongarch64-linux-gcc
    raw: str

    @property
    def major(self) -> int | None:
        return int(self.version.split(".")[0]) if self.version else None


@dataclass
class RobotReport:
    kind: str                                   # build or runtime
    source: str
    message_id: str | None = None
    subject: str | None = None
    headline: str = ""                          # "build warnings" or the runtime title
    tested_on: list[str] = field(default_factory=list)
    also_tested: list[str] = field(default_factory=list)
    cannot_apply: list[str] = field(default_factory=list)
    url: str | None = None
    base: str | None = None
    patch_link: str | None = None
    patch_message_id: str | None = None
    patch_subject: str | None = None
    config_name: str | None = None
    config_url: str | None = None
    compiler: Compiler | None = None
    reproduce_url: str | None = None
    w1: bool = False
    make_flags: list[str] = field(default_factory=list)
    make_arch: str | None = None
    make_compiler: str | None = None            # make.cross's COMPILER=gcc-13.2.0
    compiler_install_path: str | None = None    # make.cross's COMPILER_INSTALL_PATH=
    make_targets: list[str] = field(default_factory=list)
    reported_by: list[str] = field(default_factory=list)
    closes: list[str] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    commit: str | None = None
    commit_subject: str | None = None
    reminder: str | None = None                 # "FYI, the error/warning still remains"
    tree: str | None = None                     # a reminder's tree: and head: lines
    head: str | None = None
    author: str | None = None
    date: str | None = None
    machine_cpus: int | None = None             # the test machine's CPUs and memory
    machine_memory: str | None = None
    cmdline: str | None = None                  # the test machine's kernel command line
    runtime_table: dict = field(default_factory=dict)   # row -> values per commit
    kconfig_warnings: list[str] = field(default_factory=list)
    testcase: str | None = None
    params: dict = field(default_factory=dict)
    test_machine: str | None = None
    splats: list[Splat] = field(default_factory=list)
    failing_tests: list[str] = field(default_factory=list)
    attachments: dict = field(default_factory=dict)   # name -> text
    unparsed: list[tuple[int, str]] = field(default_factory=list)

    @property
    def arch(self) -> str | None:
        if self.make_arch:
            return self.make_arch
        return self.config_name.split("-", 1)[0] if self.config_name else None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["arch"] = self.arch
        d["splats"] = [s.to_dict() for s in self.splats]
        d.pop("attachments")
        d["attachments"] = sorted(self.attachments)
        return d


def load_report(path: str | Path) -> RobotReport:
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise InputError(f"cannot read report: {e.strerror}", path=str(path)) from e
    return parse_report(data, str(path))


def parse_report(data: bytes, path: str = "<report>") -> RobotReport:
    if not data.strip():
        raise InputError("empty report", path=path, line=1)
    msg, body, attachments = _split_email(data)
    rep = RobotReport(kind=_kind(body, path), source=path, attachments=attachments)
    if msg is not None:
        rep.subject = _clean(msg.get("Subject"))
        mid = msg.get("Message-ID")
        rep.message_id = mid.strip().strip("<>") if mid else None
    _parse_body(rep, body.splitlines())
    repro = attachments.get("reproduce")
    if repro:
        _parse_reproduce(rep, repro.splitlines())
    return rep


def _clean(value) -> str | None:
    return re.sub(r"\s+", " ", str(value)).strip() if value else None


def _part_text(part) -> str:
    """A text part's content; with a charset Python does not know (or bytes that do
    not decode in it), its bytes as UTF-8 with bad bytes replaced."""
    try:
        return part.get_content()
    except (LookupError, UnicodeError):
        return (part.get_payload(decode=True) or b"").decode("utf-8", "replace")


def _split_email(data: bytes):
    """(message or None, main text body, {attachment name: text})."""
    if data.startswith(b"From ") and b"\n" in data:
        data = data.split(b"\n", 1)[1]
    head = data.split(b"\n\n", 1)[0]
    looks_like_mail = re.match(rb"^[\w-]+: ", head) and re.search(rb"^(Subject|From|Message-ID):",
                                                                    head, re.M | re.I)
    if not looks_like_mail:
        return None, data.decode("utf-8", "replace"), {}
    msg = email.message_from_bytes(data, policy=policy.default)
    body, attachments = None, {}
    for part in msg.walk():
        if part.is_multipart() or part.get_content_maintype() != "text":
            continue
        name = part.get_filename()
        text = _part_text(part)
        if name:
            attachments[name] = text
        elif body is None:
            body = text
    return msg, body or "", attachments


def _kind(body: str, path: str) -> str:
    if NOTICED_RUN.search(body):
        return "runtime"
    if NOTICED_BUILD.search(body) or re.search(r"^\[auto build test", body, re.M):
        return "build"
    if re.search(REMINDER.pattern, body, re.M):
        return "build"
    raise InputError("not a kernel test robot report: no 'kernel test robot noticed' line, "
                     "no '[auto build test ...]' line and no reminder ('FYI, the "
                     "error/warning still remains')", path=path)


def _parse_body(rep: RobotReport, lines: list[str]) -> None:
    diag_start = _find_diag_start(lines)
    header = lines if diag_start is None else lines[:diag_start]
    _parse_header(rep, header)
    if rep.kind == "build":
        if diag_start is None:
            rep.unparsed.append((len(lines), "no diagnostics section ('All warnings ...') found; "
                                              "the report may be truncated"))
        else:
            block = _diag_block(lines[diag_start:])
            rep.diagnostics = parse_diagnostics(block)
            _check_block(rep, block, diag_start)
            _check_tail(rep, lines, diag_start + len(block))
    else:
        rep.splats = find_splats(lines)
        rep.failing_tests = _failing_tests(lines)
        rep.cmdline = rep.cmdline or rep.params.get("kernel_cmdline") or _dmesg_cmdline(lines)


def _find_diag_start(lines: list[str]) -> int | None:
    for i, line in enumerate(lines):
        if re.match(r"^(All|sparse) (warnings|errors)", line):
            return i
    return None


def _diag_block(lines: list[str]) -> list[str]:
    """The diagnostics, up to the source listing or the signature. The robot puts a
    `--` line between the objects' diagnostics; one followed by another diagnostic
    stays in the block (as a blank line, so line numbers hold)."""
    out = []
    for i, line in enumerate(lines):
        if line.rstrip() == "--" and _diagnostic_at(lines, i + 1):
            out.append("")
            continue
        if line.startswith("vim +") or line.startswith("--") or line.startswith("0-DAY"):
            break
        out.append(line)
    return out


def _diagnostic_at(lines: list[str], i: int) -> bool:
    if i >= len(lines):
        return False
    text, _ = strip_marker(lines[i])
    return bool(text) and (bool(parse_diagnostics([lines[i]]))
                           or any(re.match(p, text) for p in DIAG_CONTEXT))


def _check_block(rep: RobotReport, block: list[str], start: int) -> None:
    """Every line of the diagnostics block is read: a diagnostic, a context line, a
    code excerpt under one, or blank; the rest is listed by line number."""
    after_read = False
    for n, line in enumerate(block, start + 1):
        text, _ = strip_marker(line)
        if not text:
            after_read = False
            continue
        if parse_diagnostics([line]) or any(re.match(p, text) for p in DIAG_CONTEXT) \
                or any(re.match(p, line) for p in DIAG_CONTEXT):
            if re.match(r"^\s*(WARNING: unmet|Depends on|Selected by|- \S+ \[=)", line):
                rep.kconfig_warnings.append(line.strip())
            after_read = True
            continue
        if after_read and line[:1].isspace() and not line.startswith(">>"):
            continue                      # a code excerpt or caret under a diagnostic
        rep.unparsed.append((n, line))


def _check_tail(rep: RobotReport, lines: list[str], start: int) -> None:
    """After the diagnostics: the source listing and the signature, nothing to read."""
    listing = False
    for n, line in enumerate(lines[start:], start + 1):
        if not line.strip():
            continue
        if line.startswith("vim +"):
            listing = True
            continue
        if any(re.match(p, line) for p in TAIL) or (listing and line[:1].isspace()):
            continue
        rep.unparsed.append((n, line))


def _parse_header(rep: RobotReport, lines: list[str]) -> None:
    in_params = False
    for n, line in enumerate(lines, 1):
        stripped = line.strip()
        if not stripped:
            in_params = in_params and not rep.params
            continue
        if in_params and PARAM.match(line):
            m = PARAM.match(line)
            rep.params[m["k"]] = m["v"].strip()
            continue
        if _header_line(rep, line, stripped):
            in_params = stripped.startswith("with following parameters")
            continue
        if rep.kind == "runtime" and _runtime_line(rep, line, stripped):
            continue
        if not any(re.match(p, line) for p in BOILERPLATE):
            rep.unparsed.append((n, line))


def _runtime_line(rep: RobotReport, line: str, stripped: str) -> bool:
    """A runtime report's kernel log lines (the splat, read by find_splats), its
    runner's result lines (read by _failing_tests) and its table of results per commit."""
    if re.match(r"^\[\s*\d+\.\d+\]", stripped) or RESULT_LINE.match(stripped):
        return True
    m = TABLE.match(stripped)
    if m:
        cells = [c.strip() for c in (m["cells"] or "").split("|")]
        if cells and cells[0]:
            rep.runtime_table[cells[0]] = cells[1:]
        elif cells and len(cells) > 1:
            rep.runtime_table.setdefault("commits", cells[1:])
        return True
    return False


def _header_line(rep: RobotReport, line: str, stripped: str) -> bool:
    m = NOTICED_BUILD.search(stripped)
    if m:
        rep.headline = f"build {m['what'].rstrip(':')}"
        return True
    m = NOTICED_RUN.search(stripped)
    if m:
        rep.headline = m["title"]
        return True
    m = REMINDER.match(stripped)
    if m:
        rep.reminder = m["what"]
        rep.headline = rep.headline or "build warnings (reminder)"
        return True
    m = TESTED.match(stripped)
    if m:
        trees = m["trees"].split()
        (rep.tested_on if m["what"] == "auto build test" else rep.also_tested).extend(trees)
        return True
    m = CANNOT.match(stripped)
    if m:
        rep.cannot_apply.extend(m["trees"].split())
        return True
    m = TAG.match(stripped)
    if m:
        (rep.reported_by if m["tag"] == "Reported-by" else rep.closes).append(m["val"].strip())
        return True
    if stripped.startswith("with following parameters"):
        return True
    m = KEY.match(stripped)
    if m:
        _set_key(rep, m["key"], m["val"].strip())
        return True
    m = MAKE_LINE.search(stripped)
    if m:
        _parse_make(rep, m["args"], m["env"])
        return True
    return False


def _set_key(rep: RobotReport, key: str, val: str) -> None:
    if key == "url":
        rep.url = val
    elif key == "base":
        rep.base = val
    elif key == "patch link":
        rep.patch_link = val
        m = MSGID_IN_URL.search(unquote(val))
        rep.patch_message_id = m["id"] if m else None
    elif key == "patch subject":
        rep.patch_subject = val
    elif key == "config":
        name, _, rest = val.partition(" ")
        rep.config_name = name
        url = re.search(r"\((https?://[^)]+)\)", rest)
        rep.config_url = url.group(1) if url else None
    elif key == "compiler":
        rep.compiler = parse_compiler(val)
    elif key.startswith("reproduce"):
        rep.w1 = "W=1" in key
        url = re.search(r"\((https?://[^)]+)\)", val)
        rep.reproduce_url = url.group(1) if url else None
    elif key == "commit":
        m = re.match(r"(?P<sha>[0-9a-f]{7,40})\s*(?:\(\"(?P<subj>.*)\"\)|(?P<bare>\S.*))?$", val)
        rep.commit = m["sha"] if m else val
        rep.commit_subject = (m["subj"] or m["bare"]) if m else None
    elif key in ("tree", "head", "author", "date"):
        setattr(rep, key, val)
    elif key in ("kernel command line", "cmdline"):
        rep.cmdline = val
    elif key == "in testcase":
        rep.testcase = val
    elif key == "test machine":
        rep.test_machine = val
        m = MACHINE.search(val)
        rep.machine_cpus = int(m["smp"] or m["threads"]) if m else None
        m = MEMORY.search(val)
        rep.machine_memory = (m["m"] or m["mem"]) if m else None


def parse_compiler(text: str) -> Compiler | None:
    """gcc or clang, its version, and a cross prefix (loongarch64-linux-gcc)."""
    text = text.strip()
    m = re.match(r"^(?:(?P<prefix>[\w-]+?)-)?(?P<name>gcc|clang)\b", text)
    if not m:
        return None
    ver = (re.search(r"(?:\(GCC\)|version)\s+(\d+(?:\.\d+)*)", text)
           or re.search(r"\s(\d+\.\d+(?:\.\d+)?)\s*$", text)
           or re.match(r"^(?:[\w-]+?-)?(?:gcc|clang)-(\d+)", text))
    return Compiler(m["name"], ver.group(1) if ver else None, m["prefix"], text)


def _parse_make(rep: RobotReport, args: str, env: str = "") -> None:
    """A make (or make.cross) line: `VAR=value` words are make flags (ARCH= also
    sets make_arch), other words are targets; make.cross's own variables before it
    (COMPILER=gcc-13.2.0, COMPILER_INSTALL_PATH=...) say which compiler it fetched."""
    for tok in _split_args(env):
        var, eq, val = tok.partition("=")
        if eq and var == "COMPILER":
            rep.make_compiler = val
        elif eq and var == "COMPILER_INSTALL_PATH":
            rep.compiler_install_path = val
    flags, targets = [], []
    for tok in _split_args(args):
        var, eq, val = tok.partition("=")
        if eq and re.match(r"^[A-Za-z_]\w*$", var):
            if var == "ARCH":
                rep.make_arch = val
            flags.append(_unquote(tok))
        elif tok.startswith("-") or tok in ("olddefconfig", "oldconfig"):
            continue
        else:
            targets.append(tok)
    for f in flags:
        if f not in rep.make_flags:
            rep.make_flags.append(f)
    rep.make_targets = [t for t in targets if t not in rep.make_targets] + rep.make_targets
    rep.w1 = rep.w1 or "W=1" in rep.make_flags


def _unquote(tok: str) -> str:
    """CF='-fdiagnostic-prefix -D__CHECK_ENDIAN__' -> CF=-fdiagnostic-prefix -D__CHECK_ENDIAN__
    (make gets one argument; no shell reads it)."""
    var, _, val = tok.partition("=")
    if len(val) >= 2 and val[0] == val[-1] and val[0] in "'\"":
        val = val[1:-1]
    return f"{var}={val}"


def _split_args(args: str) -> list[str]:
    return re.findall(r"\w+='[^']*'|\S+", args)


def _parse_reproduce(rep: RobotReport, lines: list[str]) -> None:
    for line in lines:
        m = MAKE_LINE.search(line.strip())
        if m:
            _parse_make(rep, m["args"], m["env"])


def _dmesg_cmdline(lines: list[str]) -> str | None:
    """The kernel command line the report's dmesg printed (`Command line: ...`)."""
    for line in lines:
        m = DMESG_CMDLINE.match(line.strip())
        if m:
            return m["cmd"].strip()
    return None


def _failing_tests(lines: list[str]) -> list[str]:
    """The tests a runtime report says failed: kselftest's `not ok N selftests: GROUP:
    TEST` (as GROUP:TEST, the runner's own name) and test_progs' `#N name:FAIL`."""
    names = []
    for line in lines:
        m = re.match(r"^\s*(?:not ok \d+ (?:selftests: (?P<g>\S+): )?|#\d+(?:/\d+)?\s+)"
                     r"(?P<t>[\w/.-]+)(?::FAIL)?", line)
        if m and ("not ok" in line or ":FAIL" in line):
            names.append(f"{m['g']}:{m['t']}" if m["g"] else m["t"])
    return names
