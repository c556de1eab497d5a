"""python -m refpos.script: runs a checkout script through the Python package.

The script format is refpos-terminal's --script (README.md, "Script
format"; terminal/src/script_runner.hpp), so one script tests both hosts:

    {"op": "preview"|"commit"|"reverse"|"issue_code"|"customer",
     "request": {...}, "expect": "OK", "as": "alice"}
    {"op": "lead"|"ask_outcome"|"contact"|"forget", "request": {...}}
                                          ABI 1.2's call, under its own name
    {"op": "sync", "request": {}}         ABI 1.3, progress on stderr
    {"op": "reprint", "request": {"txn_id": "T-1"}}   the text receipt again
    {"op": "echo", "text": "..."}

One JSON object per line; blank lines and lines starting with '#' are
ignored. Strings in a request may hold ${NAME.code} (the normalised code the
step saved as NAME issued) or ${NAME.dotted.path} (any field of its answer;
numbers index arrays); a string that is exactly one placeholder takes the
field's JSON type. The whole script is read and checked before the store is
opened, so a broken script changes nothing.

Exit codes, as refpos-terminal's: 0 every step returned what it expected;
1 a step did not; 2 usage, config or script error (nothing was run);
3 the plugin could not be loaded or does not provide ABI 1.x.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, TextIO, Tuple

from .errors import STATUS_NAMES, LoadError, RefposError, VersionError, status_name
from .plugin import Plugin, Store

__all__ = ["Step", "Script", "ScriptError", "parse_script", "run_script", "substitute", "main"]

EXIT_OK = 0
EXIT_FAILED_STEP = 1
EXIT_USAGE = 2
EXIT_PLUGIN = 3

MAX_LINE_BYTES = 512 * 1024  # requests are at most 256 KiB
MAX_STEPS = 100_000
MAX_CONFIG_BYTES = 1024 * 1024

# In refpos-terminal's order, so that the list in messages reads the same.
CALL_OPS = ("preview", "commit", "reverse", "issue_code", "customer", "reprint",
            "sync", "lead", "ask_outcome", "contact", "forget")
LOOP_OPS = ("lead", "ask_outcome", "contact", "forget")  # call's operations
_SAVE_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


class ScriptError(ValueError):
    """The script cannot run; the message says where and why."""


@dataclass
class Step:
    line_number: int
    op: str
    request: Any = None
    expect: int = 0
    save_as: str = ""
    text: str = ""  # echo only


@dataclass
class Script:
    source_name: str
    steps: List[Step] = field(default_factory=list)


# ---- placeholders ----


@dataclass
class _Placeholder:
    begin: int
    end: int  # one past "}"
    name: str
    path: str


def _next_placeholder(text: str, start: int) -> Optional[_Placeholder]:
    begin = text.find("${", start)
    if begin < 0:
        return None
    close = text.find("}", begin)
    if close < 0:
        raise ScriptError('"%s": "${" without a closing "}"' % text)
    inner = text[begin + 2 : close]
    name, dot, path = inner.partition(".")
    if not dot or not path or not _SAVE_NAME.fullmatch(name):
        raise ScriptError('"${%s}": expected ${NAME.field}, e.g. ${alice.code}' % inner)
    return _Placeholder(begin, close + 1, name, path)


def _find_path(node: Any, path: str) -> Tuple[bool, Any]:
    for segment in path.split("."):
        if isinstance(node, dict):
            if segment not in node:
                return False, None
            node = node[segment]
        elif isinstance(node, list):
            if not segment.isdigit() or int(segment) >= len(node):
                return False, None
            node = node[int(segment)]
        else:
            return False, None
    return True, node


def _resolve(placeholder: _Placeholder, saved: Dict[str, Any]) -> Any:
    if placeholder.name not in saved:
        raise ScriptError(
            '${%s.%s}: no step was saved as "%s"'
            % (placeholder.name, placeholder.path, placeholder.name)
        )
    answer = saved[placeholder.name]
    if placeholder.path == "code":
        # A commit's issued_code, or an issue_code answer.
        for path in ("issued_code.normalized", "normalized"):
            found, value = _find_path(answer, path)
            if found:
                return value
        raise ScriptError(
            '${%s.code}: step "%s" issued no code (its answer has no '
            "issued_code.normalized or normalized)" % (placeholder.name, placeholder.name)
        )
    found, value = _find_path(answer, placeholder.path)
    if not found:
        raise ScriptError(
            '${%s.%s}: the answer saved as "%s" has no field %s'
            % (placeholder.name, placeholder.path, placeholder.name, placeholder.path)
        )
    return value


def _substitute_text(text: str, saved: Dict[str, Any]) -> Any:
    placeholder = _next_placeholder(text, 0)
    if placeholder is None:
        return text
    if placeholder.begin == 0 and placeholder.end == len(text):
        return _resolve(placeholder, saved)  # keeps the field's JSON type
    parts: List[str] = []
    copied = 0
    while placeholder is not None:
        value = _resolve(placeholder, saved)
        parts.append(text[copied : placeholder.begin])
        parts.append(value if isinstance(value, str) else json.dumps(value, separators=(",", ":")))
        copied = placeholder.end
        placeholder = _next_placeholder(text, copied)
    parts.append(text[copied:])
    return "".join(parts)


def substitute(request: Any, saved: Dict[str, Any]) -> Any:
    """``request`` with every placeholder resolved from ``saved``."""
    if isinstance(request, str):
        return _substitute_text(request, saved)
    if isinstance(request, list):
        return [substitute(item, saved) for item in request]
    if isinstance(request, dict):
        return {key: substitute(value, saved) for key, value in request.items()}
    return request


def _placeholder_names(node: Any) -> List[str]:
    if isinstance(node, str):
        names = []
        placeholder = _next_placeholder(node, 0)
        while placeholder is not None:
            names.append(placeholder.name)
            placeholder = _next_placeholder(node, placeholder.end)
        return names
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else []
    return [name for child in children for name in _placeholder_names(child)]


# ---- parsing ----


def _parse_step(line: str, line_number: int, defined: set) -> Step:
    try:
        obj = json.loads(line)
    except ValueError as e:
        raise ScriptError("not valid JSON: %s" % e) from None
    if not isinstance(obj, dict):
        raise ScriptError("expected a JSON object, got %s" % type(obj).__name__)
    op = obj.get("op")
    ops = "echo, " + ", ".join(CALL_OPS[:-1]) + " or " + CALL_OPS[-1]
    if not isinstance(op, str):
        raise ScriptError('"op" must be a string: %s' % ops)
    echo = op == "echo"
    if not echo and op not in CALL_OPS:
        raise ScriptError('unknown op "%s"; expected %s' % (op, ops))
    allowed = {"op", "text"} if echo else {"op", "request", "expect", "as"}
    for key in obj:
        if key not in allowed:
            raise ScriptError('unknown member "%s" for op %s' % (key, op))
    if echo:
        if not isinstance(obj.get("text"), str):
            raise ScriptError('echo needs "text": a string')
        return Step(line_number, op, text=obj["text"])

    step = Step(line_number, op)
    step.request = obj.get("request")
    if not isinstance(step.request, dict):
        raise ScriptError('"request" must be a JSON object')
    if op == "reprint" and (
        list(step.request) != ["txn_id"] or not isinstance(step.request["txn_id"], str)
    ):
        raise ScriptError('reprint\'s "request" must be {"txn_id": "..."}')
    if "expect" in obj:
        expect = obj["expect"]
        if not isinstance(expect, str) or expect not in STATUS_NAMES:
            raise ScriptError(
                '"expect" must be a status name such as OK, CODE_REJECTED or CONFLICT, got %s'
                % json.dumps(expect)
            )
        step.expect = STATUS_NAMES.index(expect)
    if "as" in obj:
        name = obj["as"]
        if not isinstance(name, str) or not _SAVE_NAME.fullmatch(name):
            raise ScriptError(
                "\"as\" must be a name of 1 to 64 letters, digits, '_' or '-', got %s"
                % json.dumps(name)
            )
        step.save_as = name
    for name in _placeholder_names(step.request):
        if name not in defined:
            raise ScriptError(
                '${%s.…} refers to no earlier step saved with "as": "%s"' % (name, name)
            )
    return step


def parse_script(lines: TextIO, source_name: str) -> Script:
    """Reads and checks a whole script; ScriptError names the line."""
    script = Script(source_name)
    defined: set = set()
    for line_number, line in enumerate(lines, start=1):
        where = "%s:%d" % (source_name, line_number)
        if len(line.encode("utf-8")) > MAX_LINE_BYTES:
            raise ScriptError("%s: line longer than %d bytes" % (where, MAX_LINE_BYTES))
        content = line.strip(" \t\r\n")
        if not content or content.startswith("#"):
            continue
        if len(script.steps) == MAX_STEPS:
            raise ScriptError("%s: more than %d steps" % (where, MAX_STEPS))
        try:
            step = _parse_step(content, line_number, defined)
        except ScriptError as e:
            raise ScriptError("%s: %s" % (where, e)) from None
        if step.save_as:
            defined.add(step.save_as)
        script.steps.append(step)
    return script


# ---- running ----


def _call(store: Store, step: Step, request: Any, err: TextIO) -> Tuple[int, str, Any]:
    """(status, message, answer) of one call step; answer is None, a dict,
    or for reprint the receipt text."""

    def progress(stage: str, done: int, total: int) -> None:
        # On err, as the terminal does, so that out stays the answers.
        err.write("sync %s: %d of %d\n" % (stage, done, total))

    try:
        if step.op == "reprint":
            text = store.render(request["txn_id"], "receipt", "text")
            return 0, "", text.decode("utf-8", "replace")
        if step.op in LOOP_OPS:
            return 0, "", store.call(step.op, request)
        if step.op == "sync":
            return 0, "", store.sync(request, progress=progress)
        return 0, "", getattr(store, step.op)(request)
    except RefposError as e:
        return e.status, e.message, e.answer


def run_script(store: Store, script: Script, out: TextIO, err: TextIO) -> int:
    """Runs every step in order; stops at the first one whose status is not
    its "expect". Returns the exit code (0 or 1)."""
    saved: Dict[str, Any] = {}
    number = 0
    for step in script.steps:
        if step.op == "echo":
            out.write("\n%s\n" % step.text)
            continue
        number += 1
        where = "%s:%d" % (script.source_name, step.line_number)
        header = "=== %d. %s  (%s" % (number, step.op, where)
        if step.save_as:
            header += ", as " + step.save_as
        out.write("\n%s, expect %s)\n" % (header, status_name(step.expect)))
        try:
            request = substitute(step.request, saved)
        except ScriptError as e:
            out.flush()
            err.write("refpos.script: %s: %s\n" % (where, e))
            return EXIT_FAILED_STEP
        status, message, answer = _call(store, step, request, err)
        as_expected = status == step.expect
        line = "status: " + status_name(status)
        if status != 0 and as_expected:
            line += " (as expected): " + message
        out.write(line + "\n")
        if isinstance(answer, str):
            out.write(answer if answer.endswith("\n") else answer + "\n")
        elif answer is not None:
            out.write(json.dumps(answer, indent=2, ensure_ascii=False) + "\n")
        if step.save_as:
            saved[step.save_as] = answer
        if not as_expected:
            out.flush()
            err.write(
                "refpos.script: %s: %s: expected %s, got %s%s\n"
                % (
                    where,
                    step.op,
                    status_name(step.expect),
                    status_name(status),
                    ": " + message if message else "",
                )
            )
            return EXIT_FAILED_STEP
    out.write("\n%s: %d steps, each returned what it expected\n" % (script.source_name, number))
    return EXIT_OK


def _read_config(path: str) -> str:
    try:
        size = os.path.getsize(path)
        if size > MAX_CONFIG_BYTES:
            raise ScriptError("%s: larger than %d bytes" % (path, MAX_CONFIG_BYTES))
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except (OSError, UnicodeDecodeError) as e:
        raise ScriptError("cannot read %s: %s" % (path, e)) from None
    try:
        config = json.loads(text)
    except ValueError:
        config = None
    if not isinstance(config, dict):
        raise ScriptError("%s is not a JSON object" % path)
    return text


def _load_script(path: str) -> Script:
    if path == "-":
        return parse_script(sys.stdin, "stdin")
    try:
        with open(path, encoding="utf-8") as file:
            return parse_script(file, path)
    except (OSError, UnicodeDecodeError) as e:
        raise ScriptError("cannot read script %s: %s" % (path, e)) from None


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m refpos.script",
        description="Runs a refpos checkout script (refpos-terminal's --script format).",
        epilog="Exit codes: 0 ok, 1 a step did not return its expected status, "
        "2 usage, config or script error, 3 plugin not loadable or ABI incompatible.",
    )
    parser.add_argument("--config", metavar="FILE", default=os.environ.get("REFPOS_CONFIG"),
                        help="the store configuration, JSON (or $REFPOS_CONFIG)")
    parser.add_argument("--script", metavar="FILE", required=True,
                        help="the script of JSON lines ('-' reads stdin)")
    parser.add_argument("--plugin", metavar="PATH",
                        help="the plugin (default: $REFPOS_PLUGIN, else librefpos.so)")
    try:
        options = parser.parse_args(argv)
    except SystemExit as e:  # argparse exits 2 on errors, 0 on --help
        return int(e.code or 0)
    if not options.config:
        sys.stderr.write("refpos.script: --config FILE (or REFPOS_CONFIG) is required\n")
        return EXIT_USAGE

    try:
        config_text = _read_config(options.config)
        script = _load_script(options.script)
    except ScriptError as e:
        sys.stderr.write("refpos.script: %s\n" % e)
        return EXIT_USAGE

    try:
        plugin = Plugin(options.plugin)
    except (LoadError, VersionError) as e:
        sys.stderr.write("refpos.script: %s\n" % e)
        return EXIT_PLUGIN
    out = sys.stdout
    out.write("refpos.script, plugin %s %s\n" % (plugin.path, json.dumps(plugin.version())))
    try:
        store = plugin.open(config_text)
    except RefposError as e:
        out.flush()
        sys.stderr.write("refpos.script: cannot open the store of %s: %s\n" % (options.config, e))
        return EXIT_USAGE
    with store:
        code = run_script(store, script, out, sys.stderr)
    out.flush()
    return code


if __name__ == "__main__":
    sys.exit(main())
