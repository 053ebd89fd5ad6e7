"""C text for the generated sources: arrays, strings, defines, comments and header guards.

One way to write each, for every generator (:mod:`kws.firmware.tables`,
:mod:`kws.firmware.generate`, :mod:`kws.firmware.pipeline_config`).
"""

from __future__ import annotations

from typing import Iterable, Mapping

import numpy as np

#: Array values per line.
VALUES_PER_LINE = 12


def c_string(text: str) -> str:
    """``text`` as a C string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def c_comment_text(text: str) -> str:
    """``text`` made safe inside a /* */ comment."""
    return text.replace("*/", "* /")


def c_list(values: Iterable) -> str:
    """Integers as a comma-separated list, e.g. for an initialiser on one line."""
    return ", ".join(str(int(v)) for v in values)


def c_array(ctype: str, name: str, values, *, length: str | None = None, storage: str = "static const",
            attributes: str = "") -> str:
    """The definition ``STORAGE CTYPE ATTRIBUTES NAME[LENGTH] = {...};`` of ``values``: integers
    (any shape, flattened) or C expressions given as strings (e.g. :func:`c_string`'s). Without
    ``length`` the array is as long as the values, at least 1 (C has no empty arrays; an empty
    one holds a single 0)."""
    if isinstance(values, (list, tuple)) and values and all(isinstance(v, str) for v in values):
        items = list(values)
    else:
        items = [str(int(v)) for v in np.asarray(values).reshape(-1)]
    lines = [f"    {', '.join(items[i:i + VALUES_PER_LINE])}," for i in range(0, len(items), VALUES_PER_LINE)]
    declared = " ".join(part for part in (storage, ctype, attributes, name) if part)
    body = "\n".join(lines) if lines else "    0,"
    return f"{declared}[{length or max(len(items), 1)}] = {{\n{body}\n}};\n"


def c_defines(prefix: str, constants: Mapping[str, object], *, suffix: str = "") -> str:
    """``#define PREFIX_KEY VALUE`` lines, integers with ``suffix`` (e.g. "u")."""
    return "".join(f"#define {prefix}{key} {value}{suffix if isinstance(value, int) else ''}\n"
                   for key, value in constants.items())


def c_header(guard: str, body: str, *, banner: str = "") -> str:
    """A header: ``banner`` (a comment), then ``body`` inside an include guard."""
    return f"{banner}#ifndef {guard}\n#define {guard}\n\n{body.strip()}\n\n#endif /* {guard} */\n"


def c_banner(lines: Iterable[str]) -> str:
    """A block comment of ``lines`` (each made comment-safe)."""
    return "/*\n" + "".join(f" * {c_comment_text(line)}".rstrip() + "\n" for line in lines) + " */\n"
