"""Worst-case stack depth of an image, from gcc's ``-fstack-usage -fcallgraph-info=su`` output.

Every object the project compiles comes with a ``.ci`` call graph whose nodes carry their
frame size (bytes, "static" when fixed, "dynamic"/"bounded" otherwise). :func:`stack_usage`
joins them and takes the deepest path from the entry points. What gcc cannot know is named in
the result, not guessed:

* ``external``: called functions without a graph (newlib's memcpy, printf, ...): counted as 0
  bytes, and listed;
* indirect calls (function pointers): resolved to ``indirect_targets`` when given (the callbacks
  this program passes), else to the deepest function of the graph that is not already on the
  path (an upper bound);
* ``dynamic`` frames (alloca, VLAs): listed (the project's C has none).

Calls the link redirects with ``--wrap`` (``wrapped``) are followed to ``__wrap_<name>``, as
the linker sends them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

_NODE = re.compile(r'node: \{ title: "([^"]+)" label: "([^"]*)"')
_EDGE = re.compile(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"')
_FRAME = re.compile(r"\\n(\d+) bytes \((static|dynamic|bounded)[^)]*\)")
_INDIRECT = "__indirect_call"


@dataclass(frozen=True)
class StackUsage:
    bytes: int  # deepest path, bytes
    path: tuple[str, ...]  # that path, entry first
    external: tuple[str, ...]  # called functions without stack information (counted as 0)
    dynamic: tuple[str, ...]  # functions with non-static frames

    def to_dict(self) -> dict:
        return {"bytes": self.bytes, "path": list(self.path), "not_measured": list(self.external),
                "dynamic_frames": list(self.dynamic)}


def _read_graphs(files: Iterable[Path]) -> tuple[dict[str, tuple[int, str]], dict[str, set[str]]]:
    frames: dict[str, tuple[int, str]] = {}
    calls: dict[str, set[str]] = {}
    for path in files:
        text = path.read_text()
        for title, label in _NODE.findall(text):
            match = _FRAME.search(label)
            if match:  # a defined function (external callees have no frame line)
                frames[title] = (int(match.group(1)), match.group(2))
        for source, target in _EDGE.findall(text):
            calls.setdefault(source, set()).add(target)
    return frames, calls


def stack_usage(callgraph_files: Iterable[Path], entries: Iterable[str],
                indirect_targets: Iterable[str] | None = None, wrapped: Iterable[str] = ()) -> StackUsage:
    """Deepest stack over ``entries`` (e.g. main and the interrupt handlers: their depths add
    up when an interrupt can preempt main, so pass them separately and combine as needed)."""
    frames, calls = _read_graphs(callgraph_files)
    redirected = {name: f"__wrap_{name}" for name in wrapped}
    calls = {source: {redirected.get(target, target) for target in targets} for source, targets in calls.items()}
    # File-local (static) functions are titled "file:name"; callbacks are named by their name.
    local = {title.rsplit(":", 1)[1]: title for title in frames if ":" in title}
    targets = (tuple(local.get(name, name) for name in indirect_targets if local.get(name, name) in frames)
               if indirect_targets is not None else None)
    external: set[str] = set()
    memo: dict[str, tuple[int, tuple[str, ...]]] = {}

    def depth(function: str, on_path: frozenset[str]) -> tuple[int, tuple[str, ...]]:
        if function in on_path:
            raise ValueError(f"recursion through {function}: no static stack bound")
        if function == _INDIRECT:
            candidates = targets if targets is not None else tuple(f for f in frames if f not in on_path)
            best = (0, ())
            for candidate in candidates:
                if candidate not in on_path:
                    best = max(best, depth(candidate, on_path), key=lambda item: item[0])
            return best
        if function not in frames:
            external.add(function)
            return 0, (function,)
        if function in memo and targets is not None:
            return memo[function]
        own = frames[function][0]
        deepest = (0, ())
        for callee in sorted(calls.get(function, ())):
            deepest = max(deepest, depth(callee, on_path | {function}), key=lambda item: item[0])
        result = (own + deepest[0], (function, *deepest[1]))
        if targets is not None:
            memo[function] = result
        return result

    best = (0, ())
    for entry in entries:
        if entry in frames:
            best = max(best, depth(entry, frozenset()), key=lambda item: item[0])
    dynamic = sorted(f for f, (_, kind) in frames.items() if kind != "static")
    return StackUsage(best[0], best[1], tuple(sorted(external)), tuple(dynamic))
