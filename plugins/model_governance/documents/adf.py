"""Jira wiki markup (the subset our ticket templates use) to an Atlassian Document Format document.

Ticket templates are written once, in wiki markup, and rendered with every value wiki-escaped. Jira Data
Center takes that text as it is; Jira Cloud's REST API v3 wants ADF, which this module builds. Because
every value was escaped, a value can only ever become a text node here: its ``[``, ``*``, ``{{`` and
friends arrive as escapes and are decoded to plain characters.

Supported blocks: ``h1.``-``h6.`` headings, paragraphs (single newlines are line breaks, as in Jira),
``*`` / ``#`` lists (nesting by repeating the marker), ``||header||`` and ``|cell|`` table rows, ``----``
rules and ``{noformat}`` blocks. Inline: ``*strong*``, ``_emphasis_``, ``{{monospace}}``, ``[text|url]``
links (http/https only), ``\\\\`` line breaks, backslash escapes and ``&#NN;`` / ``&amp;`` references.
Anything else is kept as literal text, so an unsupported construct degrades to its source, never to markup.
"""

from __future__ import annotations

import re
from typing import Any

from model_governance.documents.escaping import safe_url

__all__ = ["wiki_to_adf"]

Node = dict[str, Any]

_HEADING = re.compile(r"^h([1-6])\.\s+(.*)$")
_LIST = re.compile(r"^([*#]+)\s+(.*)$")
_RULE = re.compile(r"^-{4,}\s*$")
_NOFORMAT = "{noformat}"

# Inline tokens, in priority order. Escapes come first so an escaped marker is never a marker.
_INLINE = re.compile(
    r"(?P<br>\\\\)"
    r"|(?P<esc>\\(?P<escaped>.))"
    r"|(?P<ref>&#(?P<code>\d{1,7});|&amp;)"
    r"|(?P<link>\[(?P<label>(?:\\.|&#\d{1,7};|&amp;|[^\]|\\])*)\|(?P<url>[^\]\s|]+)\])"
    r"|(?P<mono>\{\{(?P<code_text>(?:\\.|[^}\\]|\}(?!\}))*)\}\})"
    r"|(?P<mark>[*_])"
)


def _text(text: str, marks: list[Node]) -> Node:
    node: Node = {"type": "text", "text": text}
    if marks:
        node["marks"] = [dict(mark) for mark in marks]
    return node


def _append(out: list[Node], text: str, marks: list[Node]) -> None:
    if not text:
        return
    if out and out[-1]["type"] == "text" and out[-1].get("marks", []) == (marks or []):
        out[-1]["text"] += text
        return
    out.append(_text(text, marks))


def _decode(text: str) -> str:
    """Plain text of a span that holds only escapes and character references."""
    out = []
    for match in re.finditer(r"\\(.)|&#(\d{1,7});|&amp;|(.)", text, re.S):
        if match.group(1) is not None:
            out.append(match.group(1))
        elif match.group(2) is not None:
            out.append(chr(min(int(match.group(2)), 0x10FFFF)))
        elif match.group(3) is not None:
            out.append(match.group(3))
        else:
            out.append("&")
    return "".join(out)


def _opens(line: str, start: int, marker: str) -> bool:
    before = line[start - 1] if start > 0 else " "
    after = line[start + 1] if start + 1 < len(line) else " "
    return not before.isalnum() and not after.isspace() and after != marker


def _closes(line: str, start: int) -> bool:
    before = line[start - 1] if start > 0 else " "
    after = line[start + 1] if start + 1 < len(line) else " "
    return not before.isspace() and not after.isalnum()


def inline(line: str) -> list[Node]:
    """ADF inline nodes of one line of wiki text."""
    out: list[Node] = []
    active: list[str] = []  # "strong" / "em", in the order they opened
    pos = 0
    for match in _INLINE.finditer(line):
        marks = [{"type": name} for name in active]
        _append(out, line[pos : match.start()], marks)
        pos = match.end()
        kind = match.lastgroup
        if match.group("br") is not None:
            out.append({"type": "hardBreak"})
        elif match.group("esc") is not None:
            _append(out, match.group("escaped"), marks)
        elif match.group("ref") is not None:
            _append(out, _decode(match.group("ref")), marks)
        elif match.group("link") is not None:
            label = _decode(match.group("label"))
            href = safe_url(match.group("url"))
            if href is None:
                _append(out, label, marks)
            else:
                _append(out, label or href, [*marks, {"type": "link", "attrs": {"href": href}}])
        elif match.group("mono") is not None:
            _append(out, _decode(match.group("code_text")), [{"type": "code"}])
        elif kind == "mark":
            marker = match.group("mark")
            name = "strong" if marker == "*" else "em"
            if name in active and _closes(line, match.start()):
                active.remove(name)
            elif (
                name not in active and _opens(line, match.start(), marker) and _has_closer(line, pos, marker)
            ):
                active.append(name)
            else:
                _append(out, marker, marks)
    _append(out, line[pos:], [{"type": name} for name in active])
    return out


def _has_closer(line: str, start: int, marker: str) -> bool:
    """An unescaped ``marker`` later on the line that can close (so a lone ``*`` stays literal)."""
    index = start
    while index < len(line):
        char = line[index]
        if char == "\\":
            index += 2
            continue
        if char == marker and _closes(line, index):
            return True
        index += 1
    return False


def _split_cells(row: str, separator: str) -> list[str]:
    """Cells of a table row, splitting on unescaped separators."""
    cells, current, index = [], [], 0
    while index < len(row):
        if row[index] == "\\" and index + 1 < len(row):
            current.append(row[index : index + 2])
            index += 2
            continue
        if row.startswith(separator, index):
            cells.append("".join(current))
            current = []
            index += len(separator)
            continue
        current.append(row[index])
        index += 1
    cells.append("".join(current))
    # A row starts and ends with its separator: drop the empty edges.
    if cells and not cells[0].strip():
        cells = cells[1:]
    if cells and not cells[-1].strip():
        cells = cells[:-1]
    return cells


def _paragraph(lines: list[str]) -> Node:
    content: list[Node] = []
    for index, line in enumerate(lines):
        if index:
            content.append({"type": "hardBreak"})
        content.extend(inline(line.strip()))
    return {"type": "paragraph", "content": content}


def _cell(kind: str, text: str) -> Node:
    para: Node = {"type": "paragraph", "content": inline(text.strip())}
    return {"type": kind, "attrs": {}, "content": [para]}


def _table_row(line: str) -> Node:
    if line.startswith("||"):
        cells = [_cell("tableHeader", cell) for cell in _split_cells(line, "||")]
    else:
        cells = [_cell("tableCell", cell) for cell in _split_cells(line, "|")]
    return {"type": "tableRow", "content": cells}


def _lists(items: list[tuple[str, str]]) -> list[Node]:
    """Nested lists from (marker, text) items; the marker's length is the depth, its last char the kind."""
    top: list[Node] = []
    stack: list[tuple[int, Node]] = []  # open lists, outermost first
    for marker, text in items:
        depth = len(marker)
        kind = "bulletList" if marker[-1] == "*" else "orderedList"
        item: Node = {"type": "listItem", "content": [{"type": "paragraph", "content": inline(text)}]}
        while stack and stack[-1][0] > depth:
            stack.pop()
        if stack and stack[-1][0] == depth:
            if stack[-1][1]["type"] == kind:
                stack[-1][1]["content"].append(item)
                continue
            stack.pop()  # the kind changed at this depth: a new sibling list
        new: Node = {"type": kind, "content": [item]}
        if stack:
            stack[-1][1]["content"][-1]["content"].append(new)  # nested in the parent's last item
        else:
            top.append(new)
        stack.append((depth, new))
    return top


def wiki_to_adf(text: str) -> dict[str, Any]:
    """An ADF ``doc`` (version 1) equivalent to ``text``; see the module docstring for the subset."""
    blocks: list[Node] = []
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    paragraph: list[str] = []
    list_items: list[tuple[str, str]] = []
    table: list[Node] = []

    def flush() -> None:
        if paragraph:
            blocks.append(_paragraph(paragraph))
            paragraph.clear()
        if list_items:
            blocks.extend(_lists(list_items))
            list_items.clear()
        if table:
            blocks.append(
                {
                    "type": "table",
                    "attrs": {"isNumberColumnEnabled": False, "layout": "default"},
                    "content": list(table),
                }
            )
            table.clear()

    index = 0
    while index < len(lines):
        raw = lines[index]
        line = raw.strip()
        index += 1
        if line.startswith(_NOFORMAT):
            flush()
            body: list[str] = []
            rest = line[len(_NOFORMAT) :]
            if rest:
                body.append(rest)
            while index < len(lines) and _NOFORMAT not in lines[index]:
                body.append(lines[index])
                index += 1
            if index < len(lines):
                before = lines[index].split(_NOFORMAT, 1)[0]
                if before:
                    body.append(before)
                index += 1
            code = "\n".join(body)
            node: Node = {"type": "codeBlock", "attrs": {}}
            if code:
                node["content"] = [{"type": "text", "text": code}]
            blocks.append(node)
            continue
        if not line:
            flush()
            continue
        if (heading := _HEADING.match(line)) is not None:
            flush()
            blocks.append(
                {
                    "type": "heading",
                    "attrs": {"level": int(heading.group(1))},
                    "content": inline(heading.group(2)),
                }
            )
            continue
        if _RULE.match(line):
            flush()
            blocks.append({"type": "rule"})
            continue
        if line.startswith("|"):
            if paragraph or list_items:
                saved = list(table)
                table.clear()
                flush()
                table.extend(saved)
            table.append(_table_row(line))
            continue
        if (item := _LIST.match(line)) is not None:
            if paragraph or table:
                saved_items = list(list_items)
                list_items.clear()
                flush()
                list_items.extend(saved_items)
            list_items.append((item.group(1), item.group(2)))
            continue
        if list_items or table:
            flush()
        paragraph.append(line)
    flush()
    return {"type": "doc", "version": 1, "content": blocks}
