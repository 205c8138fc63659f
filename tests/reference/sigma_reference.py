#!/usr/bin/env python3
"""Independent reference for `ctq detect`: Sigma rules over CloudTrail events.

Written from the Sigma specification (rules, modifiers appendix) and the contract in the
brief for `ctq detect`, not from the Rust code or the rsigma crates. Deliberately plain: a
small YAML reader for the subset Sigma rules use (standard library only, no PyYAML), a
compiler from a rule to Python closures, and the report. ctq_reference.py calls
report_detect() for its `detect` command:

    ctq_reference.py detect [--rules PATH]... [--no-builtin] [--level LEVEL] [--rule TEXT]
                            [--details] [--raw] -s SOURCE... [window/account/region] -o json

    sigma_reference.py --selftest        checks of the YAML reader, every modifier and condition form
    sigma_reference.py --parse FILE...   prints each file's documents as JSON (to check the reader)

How a rule is read and run (the places where the contract leaves room are marked CHOICE):
- Rules: every .yml/.yaml under <repo>/rules/ (unless --no-builtin), then each --rules PATH
  (a file, or a folder walked recursively); folders' files in path order (component by
  component); a file reached twice (same realpath) is read once.
- A file whose YAML cannot be read, or holding a document that is not a mapping, is skipped
  whole. A document is skipped when it has no `detection`, a logsource that is not product aws
  (service, when given, cloudtrail), an unknown modifier, anything invalid (see RuleSkip), or an
  id already loaded. Each skip prints `ref: <path>: <why>` on stderr and makes the exit code 3.
- A document with `correlation` is a correlation rule (class Correlation, with its CHOICES):
  event_count, value_count, temporal and temporal_ordered over sliding windows; anything else
  it cannot run is skipped the same way.
- Matching: see compile_item(); conditions: see parse_condition().
"""

import base64
import ipaddress
import json
import os
import re
import sys
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import ctq_reference as ref

# ======================================================================= YAML subset
#
# Block mappings and sequences by indentation, flow [..] and {..}, plain / single-quoted /
# double-quoted scalars (folded over lines), block scalars | and > (with chomping and an
# indentation digit), comments, documents split by --- and ended by ... . Plain scalars are
# resolved with the YAML 1.2 core schema (null, booleans, integers, floats); keys stay strings.
# Anchors, aliases, tags, directives, complex keys and duplicate keys are errors.
# CHOICE: YAML 1.2 core schema, as serde-style loaders use (yes/no/on/off are strings, 0x1F and
# 0o17 are integers); an explicitly started but empty document (a trailing `---`) is null, so
# its file is skipped; a file with no document at all holds no rule and is not a skip.


class YamlError(Exception):
    pass


SPACE = " \t"
NULLS = ("", "~", "null", "Null", "NULL")
TRUES = ("true", "True", "TRUE")
FALSES = ("false", "False", "FALSE")
INT_RE = re.compile(r"[-+]?[0-9]+")
OCT_RE = re.compile(r"0o[0-7]+")
HEX_RE = re.compile(r"0x[0-9a-fA-F]+")
FLOAT_RE = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
INF_RE = re.compile(r"[-+]?\.(inf|Inf|INF)")
NAN_RE = re.compile(r"\.(nan|NaN|NAN)")
ESCAPES = {"0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v", "f": "\f",
           "r": "\r", "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\", "N": "\x85", "_": "\xa0",
           "L": "\u2028", "P": "\u2029"}
HEX_ESCAPES = {"x": 2, "u": 4, "U": 8}


def resolve_plain(text):
    """The value of a plain (unquoted) scalar."""
    if text in NULLS:
        return None
    if text in TRUES:
        return True
    if text in FALSES:
        return False
    if INT_RE.fullmatch(text):
        return int(text)
    if OCT_RE.fullmatch(text):
        return int(text[2:], 8)
    if HEX_RE.fullmatch(text):
        return int(text[2:], 16)
    if FLOAT_RE.fullmatch(text):
        return float(text)
    if INF_RE.fullmatch(text):
        return float("-inf") if text[0] == "-" else float("inf")
    if NAN_RE.fullmatch(text):
        return float("nan")
    return text


def leading_spaces(line):
    return len(line) - len(line.lstrip(" "))


def is_blank(line):
    """Empty, only white space, or only a comment."""
    stripped = line.strip(SPACE)
    return stripped == "" or stripped.startswith("#")


def is_seq_item(text):
    return text.startswith("-") and (len(text) == 1 or text[1] in SPACE)


class Flow:
    """Reads one scalar or flow collection from `s` (text that may span lines, joined with
    newlines) starting at `p`."""

    def __init__(self, s, where):
        self.s, self.p, self.where = s, 0, where

    def error(self, msg):
        return YamlError(f"{self.where}: {msg}")

    def char(self, k=0):
        return self.s[self.p + k] if self.p + k < len(self.s) else ""

    def skip_space(self, newlines):
        """White space, and when `newlines`, line breaks and comments too."""
        while self.p < len(self.s):
            c = self.s[self.p]
            if c in SPACE or (newlines and c == "\n"):
                self.p += 1
            elif newlines and c == "#" and (self.p == 0 or self.s[self.p - 1] in " \t\n"):
                while self.p < len(self.s) and self.s[self.p] != "\n":
                    self.p += 1
            else:
                return

    def finish(self):
        """After a block value: only white space and comments may follow."""
        self.skip_space(newlines=False)
        if self.char() == ":":
            raise self.error("a mapping value is not allowed here (quote the scalar)")
        self.skip_space(newlines=True)
        if self.p != len(self.s):
            raise self.error(f"unexpected text {self.s[self.p:self.p + 20]!r}")

    def value(self, flow):
        c = self.char()
        if c == "" or (flow and c in ",]}"):
            raise self.error("a value is missing")
        if c in ",]}":
            raise self.error(f"a plain scalar cannot start with {c!r}")
        if c == '"':
            return self.double()
        if c == "'":
            return self.single()
        if c == "[":
            return self.sequence()
        if c == "{":
            return self.mapping()
        if c in "&*!%@`":
            raise self.error(f"{c!r}: anchors, aliases, tags and directives are not supported")
        if c in "|>":
            raise self.error("a block scalar is not allowed here")
        if c in "-?:" and self.char(1) in ("", " ", "\t", "\n"):
            raise self.error(f"unexpected {c!r}")
        return resolve_plain(self.plain(flow))

    def key(self):
        """A key in a flow mapping: a string, quoted or plain (never resolved)."""
        c = self.char()
        if c == '"':
            return self.double()
        if c == "'":
            return self.single()
        if c == "" or c in "[{&*!%@`|>,]}":
            raise self.error(f"unsupported key starting with {c!r}")
        return self.plain(flow=True)

    def fold_break(self, out, protected):
        """At a line break inside a quoted scalar: drop the line's trailing white space, then
        one break is a space and n breaks are n-1 newlines; the next line's indentation goes."""
        while len(out) > protected and out[-1] in SPACE:
            out.pop()
        breaks = 0
        while self.p < len(self.s) and self.s[self.p] in " \t\n":
            breaks += self.s[self.p] == "\n"
            self.p += 1
        out.append(" " if breaks == 1 else "\n" * (breaks - 1))

    def double(self):
        self.p += 1
        out, protected = [], 0
        while True:
            c = self.char()
            if c == "":
                raise self.error("unterminated double-quoted scalar")
            if c == '"':
                self.p += 1
                return "".join(out)
            if c == "\\":
                e = self.char(1)
                if e == "\n":  # escaped line break: joined without a space
                    self.p += 2
                    while self.char() in (" ", "\t") and self.char() != "":
                        self.p += 1
                elif e in ESCAPES:
                    out.append(ESCAPES[e])
                    self.p += 2
                elif e in HEX_ESCAPES:
                    n = HEX_ESCAPES[e]
                    digits = self.s[self.p + 2:self.p + 2 + n]
                    if len(digits) != n or not all(d in "0123456789abcdefABCDEF" for d in digits):
                        raise self.error(f"bad escape \\{e}{digits}")
                    code = int(digits, 16)
                    if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
                        raise self.error(f"escape \\{e}{digits} is not a character")
                    out.append(chr(code))
                    self.p += 2 + n
                else:
                    raise self.error(f"unknown escape \\{e}")
                protected = len(out)
            elif c == "\n":
                self.fold_break(out, protected)
                protected = len(out)
            else:
                out.append(c)
                self.p += 1

    def single(self):
        self.p += 1
        out = []
        while True:
            c = self.char()
            if c == "":
                raise self.error("unterminated single-quoted scalar")
            if c == "'":
                if self.char(1) == "'":
                    out.append("'")
                    self.p += 2
                    continue
                self.p += 1
                return "".join(out)
            if c == "\n":
                self.fold_break(out, 0)
            else:
                out.append(c)
                self.p += 1

    def plain_ends_at(self, q, flow):
        """Would a plain scalar end at s[q] (the first character of a continuation line)?"""
        c = self.s[q] if q < len(self.s) else ""
        nxt = self.s[q + 1] if q + 1 < len(self.s) else ""
        return (c in ("", "#") or (c == ":" and nxt in ("", " ", "\t", "\n"))
                or (flow and c in ",[]{}"))

    def plain(self, flow):
        out = []
        while self.p < len(self.s):
            c = self.s[self.p]
            if c == "\n":
                q, breaks = self.p, 0
                while q < len(self.s) and self.s[q] in " \t\n":
                    breaks += self.s[q] == "\n"
                    q += 1
                if self.plain_ends_at(q, flow):
                    break
                while out and out[-1] in SPACE:
                    out.pop()
                out.append(" " if breaks == 1 else "\n" * (breaks - 1))
                self.p = q
                continue
            if c == "#" and self.p > 0 and self.s[self.p - 1] in SPACE:
                break
            if c == ":" and (self.char(1) in ("", " ", "\t", "\n") or (flow and self.char(1) in ",[]{}")):
                break
            if flow and c in ",[]{}":
                break
            out.append(c)
            self.p += 1
        return "".join(out).rstrip(SPACE)

    def sequence(self):
        self.p += 1
        items = []
        while True:
            self.skip_space(newlines=True)
            if self.char() == "]":
                self.p += 1
                return items
            items.append(self.value(flow=True))
            self.skip_space(newlines=True)
            if self.char() == ",":
                self.p += 1
            elif self.char() != "]":
                raise self.error(f"expected ',' or ']' in a flow sequence, found {self.char()!r}")

    def mapping(self):
        self.p += 1
        out = {}
        while True:
            self.skip_space(newlines=True)
            if self.char() == "}":
                self.p += 1
                return out
            k = self.key()
            self.skip_space(newlines=True)
            v = None
            if self.char() == ":":
                self.p += 1
                self.skip_space(newlines=True)
                if self.char() not in (",", "}"):
                    v = self.value(flow=True)
            if k in out:
                raise self.error(f"duplicate key {k!r}")
            out[k] = v
            self.skip_space(newlines=True)
            if self.char() == ",":
                self.p += 1
            elif self.char() != "}":
                raise self.error(f"expected ',' or '}}' in a flow mapping, found {self.char()!r}")


BLOCK_HEADER = re.compile(r"([|>])([+-]?)([1-9]?)([+-]?)(?:[ \t]+#.*|[ \t]*)")


class Block:
    """The block structure of one document: a list of lines, read by indentation."""

    def __init__(self, lines, first_line):
        self.lines = list(lines)
        self.first_line = first_line  # line number of lines[0] in the file, for messages
        self.i = 0

    def where(self, j):
        return f"line {self.first_line + j}"

    def next_content(self):
        """Index of the next line that is not blank or a comment (from self.i), or None."""
        j = self.i
        while j < len(self.lines) and is_blank(self.lines[j]):
            j += 1
        self.i = j
        if j == len(self.lines):
            return None
        line = self.lines[j]
        if "\t" in line[:len(line) - len(line.lstrip(SPACE))]:
            raise YamlError(f"{self.where(j)}: a tab in indentation")
        return j

    def document(self):
        j = self.next_content()
        if j is None:
            return None
        v = self.node_at(leading_spaces(self.lines[j]), -1)
        j = self.next_content()
        if j is not None:
            raise YamlError(f"{self.where(j)}: unexpected content (bad indentation?)")
        return v

    def node_after(self, parent):
        """The block node under a key or dash with nothing after it: its lines are indented
        more than `parent`; none means null."""
        j = self.next_content()
        if j is None or leading_spaces(self.lines[j]) <= parent:
            return None
        return self.node_at(leading_spaces(self.lines[j]), parent)

    def node_at(self, n, parent):
        """The node starting at line self.i, column n."""
        text = self.lines[self.i][n:]
        if is_seq_item(text):
            return self.sequence(n)
        if self.key_of(self.i, n) is not None:
            return self.mapping(n)
        return self.inline(self.i, n, parent)

    def sequence(self, n):
        items = []
        while True:
            j = self.next_content()
            if j is None or leading_spaces(self.lines[j]) != n or not is_seq_item(self.lines[j][n:]):
                if j is not None and leading_spaces(self.lines[j]) > n:
                    raise YamlError(f"{self.where(j)}: bad indentation in a sequence")
                return items
            rest = self.lines[j][n + 1:]
            content = rest.lstrip(SPACE)
            if content == "" or content.startswith("#"):
                self.i = j + 1
                items.append(self.node_after(n))
            else:
                # the item starts on the dash's line: blank out the dash and read the item as
                # a node at its own column (so "- key: value" starts a mapping there)
                col = n + 1 + len(rest) - len(content)
                self.lines[j] = " " * col + content
                self.i = j
                items.append(self.node_at(col, n))

    def key_of(self, j, n):
        """(key, column after the colon) when line j holds `key:` at column n, else None."""
        line = self.lines[j]
        text = line[n:]
        if text[:1] in ('"', "'"):
            f = Flow(text, self.where(j))
            try:
                k = f.double() if text[0] == '"' else f.single()
            except YamlError:
                return None  # a quoted scalar over several lines: not a key
            f.skip_space(newlines=False)
            if f.char() == ":" and f.char(1) in ("", " ", "\t"):
                return k, n + f.p + 1
            return None
        if text[:1] in ("[", "{") or (text[:1] in ("?", "-", ":") and text[1:2] in ("", " ", "\t")):
            return None
        for idx, c in enumerate(text):
            if c == "#" and idx > 0 and text[idx - 1] in SPACE:
                return None
            if c == ":" and (idx + 1 == len(text) or text[idx + 1] in SPACE):
                k = text[:idx].rstrip(SPACE)
                if k == "":
                    return None
                if k[0] in "&*!%@`|>,]}":
                    raise YamlError(f"{self.where(j)}: a key cannot start with {k[0]!r} (anchors, aliases and tags are not supported)")
                return k, n + idx + 1
        return None

    def mapping(self, n):
        out = {}
        while True:
            j = self.next_content()
            if j is None or leading_spaces(self.lines[j]) < n:
                return out
            if leading_spaces(self.lines[j]) > n:
                raise YamlError(f"{self.where(j)}: bad indentation in a mapping")
            found = self.key_of(j, n)
            if found is None:
                if is_seq_item(self.lines[j][n:]):
                    return out  # a sequence at the parent's level ends this mapping
                raise YamlError(f"{self.where(j)}: expected 'key: value'")
            k, col = found
            if k in out:
                raise YamlError(f"{self.where(j)}: duplicate key {k!r}")
            rest = self.lines[j][col:]
            content = rest.lstrip(SPACE)
            if content == "" or content.startswith("#"):
                self.i = j + 1
                nxt = self.next_content()
                if nxt is not None and leading_spaces(self.lines[nxt]) == n and is_seq_item(self.lines[nxt][n:]):
                    out[k] = self.sequence(n)  # "key:" then "- item" at the key's own column
                else:
                    out[k] = self.node_after(n)
            else:
                out[k] = self.inline(j, col + len(rest) - len(content), n)

    def inline(self, j, col, parent):
        """A value starting at line j, column col: a block scalar, or a scalar or flow
        collection that may continue on the lines indented more than `parent`."""
        text = self.lines[j][col:]
        if text[:1] in ("|", ">"):
            return self.block_scalar(j, text, parent)
        if text[:1] in ("[", "{", "'", '"'):
            # a flow collection or a quoted scalar ends at its closing bracket or quote,
            # wherever that line is indented (as libyaml-based readers accept)
            f = Flow("\n".join([text] + self.lines[j + 1:]), self.where(j))
            v = f.value(flow=False)
            f.skip_space(newlines=False)
            if f.char() not in ("", "\n", "#"):
                raise f.error(f"unexpected text after a value: {f.s[f.p:f.p + 20]!r}")
            self.i = j + f.s.count("\n", 0, f.p) + 1
            return v
        end = j + 1
        while end < len(self.lines) and (is_blank(self.lines[end]) or leading_spaces(self.lines[end]) > parent):
            end += 1
        f = Flow("\n".join([text] + self.lines[j + 1:end]), self.where(j))
        v = f.value(flow=False)
        f.finish()
        self.i = end
        return v

    def block_scalar(self, j, header, parent):
        m = BLOCK_HEADER.fullmatch(header)
        if not m or (m.group(2) and m.group(4)):
            raise YamlError(f"{self.where(j)}: bad block scalar header {header!r}")
        style, chomp, digit = m.group(1), m.group(2) or m.group(4), m.group(3)
        k = j + 1
        if digit:
            indent = max(parent, 0) + int(digit)
        else:
            indent = None
            for line in self.lines[k:]:
                if line.strip(" ") != "":
                    indent = leading_spaces(line)
                    break
            if indent is None or indent <= parent:
                indent = parent + 1  # no content line: an empty scalar
        body = []
        while k < len(self.lines):
            line = self.lines[k]
            if line.strip(" ") == "":
                body.append(line[indent:])
            elif leading_spaces(line) >= indent:
                body.append(line[indent:])
            else:
                break
            k += 1
        self.i = k
        trailing = 0
        while body and body[-1].strip(" ") == "":
            body.pop()
            trailing += 1
        if style == "|":
            text = "\n".join(body)
        else:
            text = fold_lines(body)
        if chomp == "-":
            return text
        if chomp == "+":
            return text + "\n" * (trailing + 1) if body else "\n" * trailing
        return text + "\n" if body else ""


def fold_lines(body):
    """The content of a folded (>) block scalar: a single break between two normal lines is
    a space, n empty lines are n newlines, breaks next to more-indented lines are kept."""
    lead = 0
    while lead < len(body) and body[lead] == "":
        lead += 1
    body = body[lead:]
    if not body:
        return "\n" * lead
    out = [body[0]]
    prev = body[0]
    k = 1
    while k < len(body):
        empties = 0
        while body[k] == "":
            empties += 1
            k += 1
        line = body[k]
        if prev[:1] in (" ", "\t") or line[:1] in (" ", "\t"):
            out.append("\n" * (empties + 1))
        else:
            out.append(" " if empties == 0 else "\n" * empties)
        out.append(line)
        prev = line
        k += 1
    return "\n" * lead + "".join(out)


def load_yaml_documents(text):
    """Every document of a YAML stream, in order. Raises YamlError."""
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # the text's final line break ends the last line, it starts none
    lines = [line[:-1] if line.endswith("\r") else line for line in lines]
    docs = []  # (first line number, lines, explicitly started)
    cur, start, explicit = [], 1, False

    def close():
        if explicit or any(not is_blank(line) for line in cur):
            docs.append((start, cur, explicit))

    for number, line in enumerate(lines, 1):
        if line == "---" or line.startswith(("--- ", "---\t")):
            close()
            rest = line[3:].strip(SPACE)
            if rest and not rest.startswith("#"):
                raise YamlError(f"line {number}: content after '---' is not supported")
            cur, start, explicit = [], number + 1, True
        elif line == "..." or line.startswith(("... ", "...\t")):
            close()
            cur, start, explicit = [], number + 1, False
        elif line.startswith("%"):
            raise YamlError(f"line {number}: directives are not supported")
        else:
            cur.append(line)
    close()
    return [Block(ls, first).document() for first, ls, _ in docs]


# ======================================================================= values

def rust_float_text(x):
    """An f64 as Rust's Display prints it: the shortest round-trip digits, never an
    exponent, no trailing '.0' (1.5 -> "1.5", 2.0 -> "2", 1e20 -> "100000000000000000000")."""
    if x != x:
        return "NaN"
    if x in (float("inf"), float("-inf")):
        return "inf" if x > 0 else "-inf"
    text = format(Decimal(repr(x)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def scalar_text(v):
    """A JSON or YAML scalar as the text string matching sees; None for null (and for
    arrays and objects, which are never compared as a whole)."""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        # serde_json keeps integers in i64/u64; a bigger one becomes an f64
        return str(v) if -(2 ** 63) <= v < 2 ** 64 else rust_float_text(float(v))
    if isinstance(v, float):
        return rust_float_text(v)
    return None


# CHOICE (ctq's contract): a numeric string is what Rust's f64 parser takes: a decimal with an
# optional sign and exponent, or inf, infinity, nan in any letter case; no spaces, no hex, no
# underscores.
NUMBER_RE = re.compile(r"[-+]?(([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?|inf|infinity|nan)", re.IGNORECASE)


def number_of(v):
    """A JSON number, or a string holding a decimal number, as a float; else None."""
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str) and NUMBER_RE.fullmatch(v):
        return float(v)
    return None


def is_null(vals):
    """Whether the values a field reached make it null: none, or exactly one, null."""
    return not vals or (len(vals) == 1 and vals[0] is None)


def single_scalar(vals):
    """The one scalar a field reached, or None (absent, null, several values, an array or an
    object)."""
    if len(vals) == 1 and not isinstance(vals[0], (list, dict)) and vals[0] is not None:
        return vals[0]
    return None


def leaves(v):
    """The scalars in a value: itself, or everything inside an array or object (any depth)."""
    if isinstance(v, list):
        for x in v:
            yield from leaves(x)
    elif isinstance(v, dict):
        for x in v.values():
            yield from leaves(x)
    else:
        yield v


def field_values(event, name):
    """The values of a dotted field: a top-level key spelled like the whole name, else the
    walk segment by segment, following every element of an array met on the way."""
    if name in event:
        return [event[name]]
    out = []

    def walk(v, segments):
        if not segments:
            out.append(v)
        elif isinstance(v, list):
            for x in v:
                walk(x, segments)
        elif isinstance(v, dict) and segments[0] in v:
            walk(v[segments[0]], segments[1:])

    walk(event, name.split("."))
    return out


class EventView:
    """An event as the rules see it, with each field's values and texts looked up once."""

    def __init__(self, event):
        self.event = event
        self.cache = {}

    def values(self, name):
        if name not in self.cache:
            self.cache[name] = field_values(self.event, name)
        return self.cache[name]

    def texts(self, name, lower=False):
        """The text of every non-null scalar in the field (lowercased when asked); with
        name None, every string anywhere in the event (values, not keys), for keywords."""
        key = ("texts", name, lower)
        if key not in self.cache:
            if lower:
                found = [t.lower() for t in self.texts(name)]
            elif name is None:
                found = [v for v in leaves(self.event) if isinstance(v, str)]
            else:
                found = [t for v in self.values(name) for t in map(scalar_text, leaves(v)) if t is not None]
            self.cache[key] = found
        return self.cache[key]


# ======================================================================= rules

class RuleSkip(Exception):
    """The rule document is skipped with this reason."""


LEVELS = ("informational", "low", "medium", "high", "critical")
STRING_MODIFIERS = {"contains", "startswith", "endswith", "windash", "base64", "base64offset"}
KIND_MODIFIERS = {"re", "cidr", "exists", "fieldref", "gt", "gte", "lt", "lte"}
RE_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL}
MODIFIERS = STRING_MODIFIERS | KIND_MODIFIERS | {"all", "cased"} | set(RE_FLAGS)
WINDASH = "-/\u2013\u2014\u2015"  # hyphen, slash, en dash, em dash, horizontal bar
ANY, ONE = ("any",), ("one",)  # wildcard tokens; other tokens are one-character strings or ("set", chars)


def wildcard_tokens(text):
    """A Sigma string value as tokens: ANY for *, ONE for ?, characters otherwise. \\*, \\?
    and \\\\ are the plain characters; a backslash before anything else is itself."""
    out, k = [], 0
    while k < len(text):
        c = text[k]
        if c == "\\" and k + 1 < len(text) and text[k + 1] in "*?\\":
            out.append(text[k + 1])
            k += 2
            continue
        out.append(ANY if c == "*" else ONE if c == "?" else c)
        k += 1
    return out


def token_texts(tokens):
    """Every plain text a token list stands for (sets expanded; wildcards as the characters
    themselves): what base64 encodes."""
    texts = [""]
    for t in tokens:
        if t is ANY or t is ONE:
            choices = "*" if t is ANY else "?"
        elif isinstance(t, tuple):
            choices = t[1]
        else:
            choices = t
        texts = [x + c for x in texts for c in choices]
    return texts


def base64_offsets(data):
    """The three base64 forms of `data` at offsets 0, 1 and 2 of an encoded stream, without
    the leading and trailing characters that depend on the neighbouring bytes."""
    starts, ends = (0, 2, 3), (None, -3, -2)
    return [base64.b64encode(b" " * i + data)[starts[i]:ends[(len(data) + i) % 3]].decode("ascii")
            for i in range(3)]


def text_matcher(tokens, cased):
    """A test text -> bool for a whole-string match of the tokens (case-insensitively
    unless cased; the text is lowered by the caller)."""
    def low(text):
        return text if cased else text.lower()

    inner = tokens[1:-1] if len(tokens) >= 2 else []
    if all(isinstance(t, str) for t in tokens):
        lit = low("".join(tokens))
        return lambda text: text == lit
    if len(tokens) >= 2 and tokens[0] is ANY and tokens[-1] is ANY and all(isinstance(t, str) for t in inner):
        lit = low("".join(inner))
        return lambda text: lit in text
    if tokens[-1] is ANY and all(isinstance(t, str) for t in tokens[:-1]):
        lit = low("".join(tokens[:-1]))
        return lambda text: text.startswith(lit)
    if tokens[0] is ANY and all(isinstance(t, str) for t in tokens[1:]):
        lit = low("".join(tokens[1:]))
        return lambda text: text.endswith(lit)
    parts, run = [], []
    for t in tokens + [None]:
        if isinstance(t, str):
            run.append(t)
            continue
        if run:
            parts.append(re.escape(low("".join(run))))
            run = []
        if t is ANY:
            parts.append(".*")
        elif t is ONE:
            parts.append(".")
        elif t is not None:
            parts.append("[" + "".join(re.escape(c) for c in t[1]) + "]")
    rx = re.compile("".join(parts), re.DOTALL)
    return lambda text: rx.fullmatch(text) is not None


def string_test(value, mods):
    """text -> bool for a string-matched rule value under its modifiers (the text already
    lowered unless cased)."""
    variants = [wildcard_tokens(scalar_text(value))]
    for m in mods:  # transformations, in the order written
        if m == "windash":
            variants = [[("set", WINDASH) if t == "-" else t for t in v] for v in variants]
        elif m in ("base64", "base64offset"):
            encoded = []
            for v in variants:
                for text in token_texts(v):
                    data = text.encode("utf-8")
                    encoded.extend(base64_offsets(data) if m == "base64offset"
                                   else [base64.b64encode(data).decode("ascii")])
            variants = [list(e) for e in encoded]
    # CHOICE: contains/startswith/endswith apply after the transformations, wherever they are
    # written; base64 encodes the value's text once \* \? \\ are read (a bare * or ? as itself);
    # the encoded text is then matched case-insensitively unless cased, like any other value;
    # windash varies the value's '-' only (the brief's wording), not a '/' it holds.
    if "contains" in mods:
        variants = [[ANY] + v + [ANY] for v in variants]
    elif "startswith" in mods:
        variants = [v + [ANY] for v in variants]
    elif "endswith" in mods:
        variants = [[ANY] + v for v in variants]
    tests = [text_matcher(v, "cased" in mods) for v in variants]
    return lambda text: any(t(text) for t in tests)


def check_modifiers(mods, keyword):
    """The one kind modifier among mods (re, cidr, ...) or None. CHOICE: combinations with no
    clear meaning (two kinds, contains with startswith, re|contains, i/m/s without re, ...)
    and field-less keys with a kind other than re make the rule invalid."""
    for m in mods:
        if m not in MODIFIERS:
            raise RuleSkip(f"unsupported modifier {m!r}")
    kinds = [m for m in mods if m in KIND_MODIFIERS]
    if len(set(kinds)) > 1:
        raise RuleSkip(f"modifiers {'|'.join(kinds)} cannot be combined")
    kind = kinds[0] if kinds else None
    if len({m for m in mods if m in ("contains", "startswith", "endswith")}) > 1:
        raise RuleSkip("contains, startswith and endswith cannot be combined")
    if "base64" in mods and "base64offset" in mods:
        raise RuleSkip("base64 and base64offset cannot be combined")
    if any(m in RE_FLAGS for m in mods) and kind != "re":
        raise RuleSkip("i, m and s go with re only")
    if kind in ("re", "cidr", "exists", "gt", "gte", "lt", "lte") and any(m in STRING_MODIFIERS for m in mods):
        raise RuleSkip(f"{kind} cannot be combined with {'|'.join(m for m in mods if m in STRING_MODIFIERS)}")
    if kind == "fieldref" and any(m in ("windash", "base64", "base64offset") for m in mods):
        raise RuleSkip("fieldref cannot be combined with windash or base64")
    if keyword and kind not in (None, "re"):
        raise RuleSkip(f"{kind} needs a field")
    return kind


def compile_value(field, mods, kind, value):
    """EventView -> bool for one rule value of one field (or of a keyword search when field
    is None)."""
    if isinstance(value, (dict, list)):
        raise RuleSkip(f"{field or 'keyword'}: a value is a {'mapping' if isinstance(value, dict) else 'list'}")
    cased = "cased" in mods

    # CHOICE: a value the modifier cannot use (exists without a boolean, gt without a number,
    # cidr without a network, re that does not compile, fieldref without a name, a null with
    # re/cidr/gt/fieldref) makes the rule invalid: it is skipped, as pySigma refuses it.
    if kind == "exists":
        if not isinstance(value, bool):
            raise RuleSkip(f"{field}|exists needs true or false")
        # CHOICE (ctq's contract): a field exists when it is not null (as `null` below): an
        # array reached through a path exists whatever it holds.
        return lambda ev: (not is_null(ev.values(field))) == value

    if value is None:
        if field is None:
            raise RuleSkip("a keyword is null")
        if kind is not None:
            raise RuleSkip(f"{field}|{kind}: the value is null")

        # CHOICE (ctq's contract): null is the field itself being absent or JSON null. An
        # array or object is not null, even one that holds nulls; a path that crosses arrays
        # is null only when it reaches exactly one value and that value is null.
        return lambda ev: is_null(ev.values(field))

    if kind == "fieldref":
        if not isinstance(value, str):
            raise RuleSkip(f"{field}|fieldref needs a field name")
        if "contains" in mods:
            op = lambda mine, other: other in mine
        elif "startswith" in mods:
            op = lambda mine, other: mine.startswith(other)
        elif "endswith" in mods:
            op = lambda mine, other: mine.endswith(other)
        else:
            op = lambda mine, other: mine == other

        # CHOICE (ctq's contract): compared as text (5 equals "5"). The other field must be
        # one scalar (an array, object, null or absent one matches nothing); for equality this
        # field too, while contains/startswith/endswith take any of this field's scalars.
        exact = not any(m in mods for m in ("contains", "startswith", "endswith"))

        def refers(ev):
            other = single_scalar(ev.values(value))
            if other is None:
                return False
            other = scalar_text(other)
            if exact:
                mine = single_scalar(ev.values(field))
                mine = [] if mine is None else [scalar_text(mine)]
            else:
                mine = ev.texts(field)
            if not cased:
                other = other.lower()
                mine = [t.lower() for t in mine]
            return any(op(t, other) for t in mine)
        return refers

    if kind in ("gt", "gte", "lt", "lte"):
        bound = number_of(value)
        if bound is None:
            raise RuleSkip(f"{field}|{kind} needs a number")
        cmp = {"gt": lambda x: x > bound, "gte": lambda x: x >= bound,
               "lt": lambda x: x < bound, "lte": lambda x: x <= bound}[kind]
        return lambda ev: any(n is not None and cmp(n) for v in ev.values(field) for n in map(number_of, leaves(v)))

    if kind == "cidr":
        if not isinstance(value, str) or "%" in value:
            raise RuleSkip(f"{field}|cidr needs a network")
        try:
            net = ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise RuleSkip(f"{field}|cidr: not a network: {value!r}")

        def inside(ev):
            for v in ev.values(field):
                for leaf in leaves(v):
                    addr = ref.parse_ip(leaf)
                    if addr is not None and addr.version == net.version and addr in net:
                        return True
            return False
        return inside

    if kind == "re":
        flags = 0
        for m in mods:
            flags |= RE_FLAGS.get(m, 0)
        pattern = scalar_text(value)
        if "m" not in mods:
            # CHOICE (ctq's contract): Rust's regex syntax, where `$` without m matches only
            # at the very end (Python's also matches before a final newline).
            pattern = rust_dollar(pattern)
        try:
            rx = re.compile(pattern, flags)
        except re.error as err:
            raise RuleSkip(f"{field or 'keyword'}|re: bad regular expression: {err}")
        test, lower = (lambda text: rx.search(text) is not None), False
    elif (isinstance(value, (int, float)) and not isinstance(value, bool) and kind is None
          and not any(m in STRING_MODIFIERS for m in mods)):
        # CHOICE (ctq's contract): a YAML number matches a number or numeric string of the
        # same value (1.10 matches "1.1" and "1.10"; 3600 matches "3600.0").
        want = float(value)
        return lambda ev: any(n is not None and n == want
                              for v in ev.values(field) for n in map(number_of, leaves(v)))
    else:
        if "windash" in mods and any(t in (ANY, ONE) for t in wildcard_tokens(scalar_text(value))):
            raise RuleSkip(f"{field or 'keyword'}|windash with a wildcard is not supported")
        test, lower = string_test(value, mods), not cased

    return lambda ev: any(test(t) for t in ev.texts(field, lower))


def rust_dollar(pattern):
    """`pattern` with each `$` that is an anchor (not escaped, not in a class) made `\Z`."""
    out, i, in_class = [], 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if c == "[" and not in_class:
            in_class = True
        elif c == "]" and in_class:
            in_class = False
        elif c == "$" and not in_class:
            c = r"\Z"
        out.append(c)
        i += 1
    return "".join(out)


def compile_item(key, value):
    """One `field|modifiers: values` item of a mapping: EventView -> bool. A list of values is
    an OR (AND with `all`). A key with an empty field name (`'|all':`) is a keyword search."""
    field, *mods = key.split("|")
    keyword = field == ""
    kind = check_modifiers(mods, keyword)
    values = value if isinstance(value, list) else [value]
    if not values:
        raise RuleSkip(f"{key}: an empty list of values")
    # CHOICE (ctq's contract): what rsigma cannot run as the specification means it is refused.
    if keyword and "all" in mods:
        raise RuleSkip("keyword lists with |all are not supported")
    if "all" in mods and len(values) < 2:
        raise RuleSkip(f"{key}: |all needs two values or more")
    if len(values) > 1 and any(v is None for v in values):
        raise RuleSkip(f"{key}: a list that mixes null with other values is not supported")
    tests = [compile_value(None if keyword else field, mods, kind, v) for v in values]
    if "all" in mods:
        return lambda ev: all(t(ev) for t in tests)
    return lambda ev: any(t(ev) for t in tests)


def compile_detection(name, d):
    """A named detection: a mapping (AND of its items), a list of mappings (OR of them), or
    plain values (a keyword search, OR)."""
    if isinstance(d, dict):
        if not d:
            raise RuleSkip(f"detection {name!r} is empty")
        items = [compile_item(k, v) for k, v in d.items()]
        return lambda ev: all(t(ev) for t in items)
    values = d if isinstance(d, list) else [d]
    if not values or d is None:
        raise RuleSkip(f"detection {name!r} is empty")
    if all(isinstance(x, dict) for x in values):
        subs = [compile_detection(name, x) for x in values]
        return lambda ev: any(t(ev) for t in subs)
    if any(isinstance(x, (dict, list)) for x in values):
        raise RuleSkip(f"detection {name!r} mixes mappings with plain values")
    # CHOICE (ctq's contract): a keyword is found anywhere in a string value, as if it were
    # written *keyword* (the full-text search that Sigma's keywords stand for).
    tests = [compile_value(None, ["contains"], None, v) for v in values]
    return lambda ev: any(t(ev) for t in tests)


# ----------------------------------------------------------------- conditions
#
#   expr := and ("or" and)*        and := not ("and" not)*        not := "not" not | primary
#   primary := "(" expr ")" | ("1" | "any" | "all") "of" (PATTERN | "them") | NAME
#
# CHOICE: keywords are lowercase only; a NAME must be a detection and a PATTERN (only *
# is special) must match at least one, else the rule is invalid; `them` is every detection
# whose name does not start with "_" (the specification says so; the brief says "every named
# detection").

def parse_condition(text, names):
    tokens = re.findall(r"\(|\)|[^\s()]+", text)
    pos = 0

    def peek():
        return tokens[pos] if pos < len(tokens) else None

    def take(expected=None):
        nonlocal pos
        tok = peek()
        if tok is None or (expected is not None and tok != expected):
            raise RuleSkip(f"condition {text!r}: expected {expected or 'more'}, found {tok!r}")
        pos += 1
        return tok

    def expr():
        parts = [and_expr()]
        while peek() == "or":
            take()
            parts.append(and_expr())
        return parts[0] if len(parts) == 1 else ("or", parts)

    def and_expr():
        parts = [not_expr()]
        while peek() == "and":
            take()
            parts.append(not_expr())
        return parts[0] if len(parts) == 1 else ("and", parts)

    def not_expr():
        if peek() == "not":
            take()
            return ("not", not_expr())
        return primary()

    def primary():
        tok = take()
        if tok == "(":
            inner = expr()
            take(")")
            return inner
        if tok in ("1", "any", "all") and peek() == "of":
            take()
            pattern = take()
            if pattern == "them":
                chosen = [n for n in names if not n.startswith("_")]
            else:
                rx = re.compile(".*".join(re.escape(p) for p in pattern.split("*")))
                chosen = [n for n in names if rx.fullmatch(n)]
            if not chosen:
                raise RuleSkip(f"condition {text!r}: {pattern!r} names no detection")
            return ("all" if tok == "all" else "any", chosen)
        if tok in ("and", "or", "not", "of", ")", "them") or tok not in names:
            raise RuleSkip(f"condition {text!r}: {tok!r} is not a detection")
        return ("name", tok)

    tree = expr()
    if peek() is not None:
        raise RuleSkip(f"condition {text!r}: unexpected {peek()!r}")
    return tree


def evaluate(tree, hit):
    op = tree[0]
    if op == "name":
        return hit(tree[1])
    if op == "not":
        return not evaluate(tree[1], hit)
    if op == "and":
        return all(evaluate(t, hit) for t in tree[1])
    if op == "or":
        return any(evaluate(t, hit) for t in tree[1])
    if op == "any":
        return any(hit(n) for n in tree[1])
    return all(hit(n) for n in tree[1])  # "all"


def read_header(rule, doc):
    """The fields a detection rule and a correlation rule share: title, id, name, level, author.
    CHOICE: a rule needs a string title; an id must be a string; a level must be one of the
    five, spelled in lowercase; an author that is not a string is shown as null; a name that is
    not a string is no name."""
    rule.title = doc.get("title")
    if not isinstance(rule.title, str):
        raise RuleSkip("no title")
    rule.id = doc.get("id")
    if rule.id is not None and not isinstance(rule.id, str):
        raise RuleSkip(f"id {rule.id!r} is not a string")
    name = doc.get("name")
    rule.name = name if isinstance(name, str) else None
    rule.level = doc.get("level")
    if rule.level is not None and rule.level not in LEVELS:
        raise RuleSkip(f"unknown level {rule.level!r}")
    author = doc.get("author")
    rule.author = author if isinstance(author, str) else None


class Rule:
    """A detection rule (a document with `detection`; correlation documents are Correlation)."""

    def __init__(self, doc):
        if "correlation" in doc:
            raise RuleSkip("a correlation document is not a detection rule")
        det = doc.get("detection")
        if not isinstance(det, dict):
            raise RuleSkip("no detection")
        logsource = doc.get("logsource")
        if not isinstance(logsource, dict):
            raise RuleSkip("no logsource")
        product, service = logsource.get("product"), logsource.get("service")
        if not isinstance(product, str) or product.lower() != "aws":
            raise RuleSkip(f"logsource product {product!r} is not aws")
        if service is not None and (not isinstance(service, str) or service.lower() != "cloudtrail"):
            raise RuleSkip(f"logsource service {service!r} is not cloudtrail")
        # CHOICE: a logsource service that is null counts as absent.
        read_header(self, doc)

        self.detections = {}
        for name, d in det.items():
            if name in ("condition", "timeframe"):
                continue
            self.detections[name] = compile_detection(name, d)
        condition = det.get("condition")
        conditions = condition if isinstance(condition, list) else [condition]
        if not conditions or not all(isinstance(c, str) for c in conditions):
            raise RuleSkip("the condition is missing or not text")
        self.conditions = [parse_condition(c, list(self.detections)) for c in conditions]

    def matches(self, ev):
        memo = {}

        def hit(name):
            if name not in memo:
                memo[name] = self.detections[name](ev)
            return memo[name]
        return any(evaluate(c, hit) for c in self.conditions)


# ----------------------------------------------------------------- correlation rules
#
# A correlation document (`correlation:` with type, rules, group-by, timespan, condition) counts
# the matches of other rules over time, as the README's contract says (tests/detect/correlation/
# README.md lists the cases). Run literally: the correlation's events are collected, sorted in
# the contract's order, and each group's sliding window is replayed event by event.
# CHOICES where the contract leaves room (the Rust side does the same):
# - `rules` and `group-by` take one string or a list of strings; `rules` missing, empty or
#   holding a non-string, or `group-by` holding a non-string, skips the correlation.
# - `timespan` is read first, `timeframe` when there is no `timespan`; its text is digits then
#   one unit letter (`0s` keeps just the entries of the same second; no sign, spaces or fraction).
# - A `window` key (in `correlation:`) or a top-level `rsigma.window` key whose value is not the
#   string `sliding` skips; any `gap` (in `correlation:`) or top-level `rsigma.gap` key skips.
# - `condition:` with a null value is the same as no condition. Condition values are YAML
#   integers (not booleans, not 2.0) from 0 to 2^63-1; keys other
#   than the six operators and `field` are ignored; `field` is read for value_count only, and
#   must be a string or a non-empty list of strings.
# - `aliases` must be a map of maps of strings, else the correlation is skipped. An alias's
#   entry for a rule is looked up by the rule's id, then by its name (however `rules` named
#   it); with no entry for that rule, the alias name itself is the field name. Entries for
#   rules the correlation does not reference are ignored.
# - `generate`: the top-level one when it is a boolean, else the one inside `correlation:`.
# - A reference is looked up among the loaded detection rules: by id, then by name (the first
#   loaded rule with that name). With no match, the reason says whether it names a correlation
#   document (loaded or skipped), a skipped detection document, or nothing.
# - Order of the events: time, eventID (a string; anything else is absent, first), group key
#   (element by element, null first, then by code point), value (value_count; no value first),
#   the rules the event matched as a number (the first rule of `rules` is 1, the second 2, the
#   third 4...), then the order of reading (file order, then position in the file). An event is
#   one step of its group's window: for temporal kinds it adds one entry per rule it matched,
#   then the condition is checked once.
# - An event without a value (value_count) still drops old entries and checks the condition
#   (so with `lt` it can fire).
# - A rule no longer reported on its own (referenced by a correlation, none with generate:
#   true) is so whatever --level/--rule choose: every correlation loaded counts, chosen or not.
#   A detection rule is reported when --level/--rule choose it and it is not thus silenced.

CORRELATION_TYPES = ("event_count", "value_count", "temporal", "temporal_ordered")
UNSUPPORTED_TYPES = ("value_sum", "value_avg", "value_percentile", "value_median")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "M": 2629746, "y": 31556952}
OPERATORS = {"gt": lambda m, n: m > n, "gte": lambda m, n: m >= n, "lt": lambda m, n: m < n,
             "lte": lambda m, n: m <= n, "eq": lambda m, n: m == n, "neq": lambda m, n: m != n}
TIMESPAN_RE = re.compile(r"\+?([0-9]+)([smhdwMy])", re.ASCII)
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def string_list(v):
    """One string or a list of strings, as a list; None for anything else."""
    if isinstance(v, str):
        return [v]
    if isinstance(v, list) and all(isinstance(x, str) for x in v):
        return v
    return None


def field_text(event, name):
    """A field's text for group-by and value_count: the value at the dotted path (a top-level
    key spelled like the whole name first, else object by object; a path that meets an array
    gives nothing), as text: a string as it is, an integer in decimal, another number as Rust
    prints an f64, true/false. None when absent, null, an object or an array."""
    if name in event:
        v = event[name]
    else:
        v = event
        for segment in name.split("."):
            if not isinstance(v, dict) or segment not in v:
                return None
            v = v[segment]
    return scalar_text(v)  # None for null, arrays and objects; booleans are not integers


def order_key(v):
    """Sort key of an optional text: None first, then by code point."""
    return (0, "") if v is None else (1, v)


class Correlation:
    """A correlation document. __init__ checks it alone; resolve() finds its rules."""

    def __init__(self, doc):
        read_header(self, doc)
        corr = doc["correlation"]
        if not isinstance(corr, dict):
            raise RuleSkip("correlation is not a mapping")
        self.type = corr.get("type")
        if self.type in UNSUPPORTED_TYPES:
            raise RuleSkip(f"correlation type {self.type} is not supported")
        if self.type not in CORRELATION_TYPES:
            raise RuleSkip(f"unknown correlation type {self.type!r}")
        for key, where in (("rsigma.window", doc), ("window", corr)):
            if key in where and where[key] != "sliding":
                raise RuleSkip(f"{key} {where[key]!r}: only sliding windows are supported")
        for key, where in (("rsigma.gap", doc), ("gap", corr)):
            if key in where:
                raise RuleSkip(f"{key}: session windows are not supported")
        self.rule_refs = string_list(corr.get("rules"))
        if not self.rule_refs:
            raise RuleSkip("rules: needs the ids or names of one rule or more")
        # CHOICE: as rsigma reads it, `timeframe` first when it is text, then `timespan`.
        span = corr["timeframe"] if isinstance(corr.get("timeframe"), str) else corr.get("timespan")
        m = TIMESPAN_RE.fullmatch(span) if isinstance(span, str) else None
        if span is None:
            raise RuleSkip("no timespan")
        if m is None:
            raise RuleSkip(f"timespan {span!r} is not a number and a unit (s m h d w M y)")
        self.timespan = int(m.group(1)) * UNITS[m.group(2)]
        group_by = corr.get("group-by")
        self.group_by = [] if group_by is None else string_list(group_by)
        if self.group_by is None:
            raise RuleSkip("group-by: must be a field name or a list of them")

        if "condition" in corr and corr["condition"] is None:
            raise RuleSkip("condition: is null")
        cond = corr.get("condition")
        if isinstance(cond, str):
            raise RuleSkip("a condition written as text is not supported")
        if cond is None:
            if self.type in ("event_count", "value_count"):
                raise RuleSkip(f"{self.type} needs a condition")
            cond = {"gte": len(self.rule_refs)}
        if not isinstance(cond, dict):
            raise RuleSkip("condition: must be a map of gt, gte, lt, lte, eq, neq")
        self.condition = {op: cond[op] for op in OPERATORS if op in cond}
        if not self.condition:
            raise RuleSkip("condition: has none of gt, gte, lt, lte, eq, neq")
        for op, n in self.condition.items():
            if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n < 2 ** 63:
                raise RuleSkip(f"condition: {op} {n!r} is not a whole number from 0 to 2^63-1")
        self.fields = None
        if self.type == "value_count":
            self.fields = string_list(cond.get("field"))
            if not self.fields:
                raise RuleSkip("value_count needs condition.field (a field name or a list of them)")

        aliases = corr.get("aliases")
        self.aliases = {} if aliases is None else aliases
        if not isinstance(self.aliases, dict) or not all(
                isinstance(m, dict) and all(isinstance(f, str) for f in m.values()) for m in self.aliases.values()):
            raise RuleSkip("aliases: must map each alias to {rule id or name: field}")
        # CHOICE: as rsigma reads it, the top-level `generate` when it is a boolean, else the
        # one inside `correlation:`.
        g = doc.get("generate")
        self.generate = (g if isinstance(g, bool) else corr.get("generate")) is True
        self.refs = None  # the Rule objects, once resolved

    def resolve(self, rules, correlation_names, skipped_names):
        """Finds the referenced rules among the loaded detection rules (RuleSkip if not)."""
        self.refs = []
        for name in self.rule_refs:
            rule = next((r for r in rules if r.id == name), None) or next((r for r in rules if r.name == name), None)
            if rule is None:
                if name in correlation_names:
                    raise RuleSkip(f"rules: {name} is a correlation rule (correlations of correlations are not supported)")
                if name in skipped_names:
                    raise RuleSkip(f"rules: {name} names a rule that was skipped")
                raise RuleSkip(f"rules: {name} matches no rule")
            if any(rule is r for r in self.refs):
                raise RuleSkip(f"rules: {name} names a rule already referenced")
            self.refs.append(rule)

    def group_key(self, e, rule):
        """The event's group key; rule (the first of `rules` the event matches) names aliased fields."""
        key = []
        for f in self.group_by:
            if f in self.aliases:
                names = self.aliases[f]
                if rule.id is not None and rule.id in names:
                    f = names[rule.id]
                elif rule.name is not None and rule.name in names:
                    f = names[rule.name]
            key.append(field_text(e, f))
        return tuple(key)

    def value(self, e):
        """value_count's value: the fields' texts joined with U+001F; None if one is missing."""
        texts = [field_text(e, f) for f in self.fields]
        return None if any(t is None for t in texts) else "\x1f".join(texts)

    def measure(self, window):
        """window: (time in seconds, value, rule position) entries."""
        if self.type == "event_count":
            return len(window)
        if self.type == "value_count":
            return len({v for _, v, _ in window})
        if self.type == "temporal":
            return len({i for _, _, i in window})
        before = None  # temporal_ordered: an entry per rule, in order, each no earlier than the last
        for i in range(len(self.refs)):
            times = [t for t, _, j in window if j == i and (before is None or t >= before)]
            if not times:
                return 0
            before = min(times)
        return len(self.refs)

    def holds(self, measure):
        return all(OPERATORS[op](measure, n) for op, n in self.condition.items())

    def firings(self, events, hits):
        """The index of the completing event of each firing, in order. hits: per referenced
        rule, the set of indexes of the events it matches."""
        temporal = self.type in ("temporal", "temporal_ordered")
        items = []
        for k, (e, t, _) in enumerate(events):
            if t is None:
                continue
            matched = [i for i, h in enumerate(hits) if k in h]
            if not matched:
                continue
            key = self.group_key(e, self.refs[matched[0]])
            event_id = e.get("eventID") if isinstance(e.get("eventID"), str) else None
            value = self.value(e) if self.type == "value_count" else None
            seconds = (t - EPOCH) // timedelta(seconds=1)
            # One step per event; the rules it matched, as a number (the first rule is 1, the
            # second 2, the third 4...), break ties.
            mask = sum(1 << i for i in matched)
            items.append((seconds, event_id, key, value, mask, k, matched if temporal else matched[:1]))
        items.sort(key=lambda it: (it[0], order_key(it[1]), tuple(order_key(x) for x in it[2]),
                                   order_key(it[3]), it[4], it[5]))
        windows, fired = {}, []
        for t, _, key, value, _, k, matched in items:
            window = [entry for entry in windows.get(key, []) if entry[0] >= t - self.timespan]
            if self.type != "value_count" or value is not None:
                window.extend((t, value, i) for i in matched)
            if self.holds(self.measure(window)):
                fired.append(k)
                window = []
            windows[key] = window
        return fired


# ----------------------------------------------------------------- loading

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def yaml_files(folder):
    """Every .yml/.yaml file under folder, in path order compared component by component
    (as Rust orders paths; CHOICE: extensions in lowercase only, symlinked folders not followed)."""
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in filenames:
            if name.endswith((".yml", ".yaml")):
                found.append(os.path.join(dirpath, name))
    return sorted(found, key=lambda p: os.path.relpath(p, folder).split(os.sep))


def rule_paths(a):
    paths = []
    builtin = os.path.join(REPO, "rules")
    if not a["no_builtin"] and os.path.isdir(builtin):
        paths.extend(yaml_files(builtin))
    for p in a["rules"]:
        if not os.path.exists(p):
            print(f"ref: {p}: no such file or directory", file=sys.stderr)
            sys.exit(1)
        paths.extend(yaml_files(p) if os.path.isdir(p) else [p])
    seen, out = set(), []
    for p in paths:
        real = os.path.realpath(p)
        if real not in seen:
            seen.add(real)
            out.append(p)
    return out


def load_rules(paths):
    """(detection rules, correlation rules, number of skipped files and documents), each skip
    named on stderr. Correlations resolve their `rules` once every file is read."""
    rules, correlations, skipped, ids = [], [], 0, set()
    correlation_names, skipped_names = set(), set()  # ids and names, for the reasons

    def skip(path, why):
        nonlocal skipped
        print(f"ref: {path}: {why}", file=sys.stderr)
        skipped += 1

    def names(doc):
        return {v for v in (doc.get("id"), doc.get("name")) if isinstance(v, str)}

    for path in paths:
        try:
            with open(path, "rb") as f:
                text = f.read().decode("utf-8")
            docs = load_yaml_documents(text)
        except OSError as err:
            skip(path, f"cannot read: {err.strerror}")
            continue
        except UnicodeDecodeError:
            skip(path, "not UTF-8")
            continue
        except YamlError as err:
            skip(path, f"YAML: {err}")
            continue
        if not all(isinstance(d, dict) for d in docs):
            skip(path, "a YAML document is not a mapping")
            continue
        for number, doc in enumerate(docs, 1):
            is_correlation = "correlation" in doc
            if is_correlation:
                correlation_names |= names(doc)
            try:
                rule = Correlation(doc) if is_correlation else Rule(doc)
            except RuleSkip as why:
                skip(path, f"document {number}: {why}")
                if not is_correlation:
                    skipped_names |= names(doc)
                continue
            if rule.id is not None and rule.id in ids:
                skip(path, f"document {number}: id {rule.id} is already loaded")
                if not is_correlation:
                    skipped_names |= names(doc)
                continue
            if rule.id is not None:
                ids.add(rule.id)
            if is_correlation:
                rule.where = (path, number)
                correlations.append(rule)
            else:
                rules.append(rule)
    resolved = []
    for c in correlations:
        try:
            c.resolve(rules, correlation_names, skipped_names)
        except RuleSkip as why:
            skip(c.where[0], f"document {c.where[1]}: {why}")
            continue
        resolved.append(c)
    return rules, resolved, skipped


def select_rules(rules, a):
    if a["level"] is not None:
        floor = LEVELS.index(a["level"])
        rules = [r for r in rules if r.level is not None and LEVELS.index(r.level) >= floor]
    if a["rule"] is not None:
        text = a["rule"].lower()
        rules = [r for r in rules if text in r.title.lower() or (r.id is not None and text in r.id.lower())]
    return rules


# ======================================================================= the report

def report_detect(events, a):
    """events: (event, whole-second time or None, raw text) after the window/account/region
    filters. Returns (rows, or raw lines with --raw; number of skipped rule files/documents)."""
    rules, correlations, skipped = load_rules(rule_paths(a))
    chosen, chosen_correlations = select_rules(rules, a), select_rules(correlations, a)
    # A rule that a correlation refers to is reported on its own only when one of the
    # correlations referring to it has generate: true (every correlation loaded counts).
    silenced = {r for c in correlations for r in c.refs} - {r for c in correlations if c.generate for r in c.refs}
    reported = [r for r in chosen if r not in silenced]
    if not reported and not chosen_correlations:
        # As ctq: with nothing left to report, the run fails (exit 1) and prints nothing.
        print("ref: no rules to run", file=sys.stderr)
        sys.exit(1)
    run = reported + [r for c in chosen_correlations for r in c.refs]
    hits = {rule: [] for rule in run}  # per rule run: indexes into events
    for k, (e, _, _) in enumerate(events):
        ev = EventView(e)
        for rule, h in hits.items():
            if rule.matches(ev):
                h.append(k)
    # What is reported: each rule with its matching events, each correlation with the
    # completing event of each firing.
    found = [(rule, hits[rule]) for rule in reported]
    found += [(c, c.firings(events, [set(hits[r]) for r in c.refs])) for c in chosen_correlations]
    rules, hits = [r for r, _ in found], [h for _, h in found]

    if a["raw"]:
        items = []
        for k in sorted({k for h in hits for k in h}):
            e, t, raw = events[k]
            row = ref.default_row(e, t)
            items.append((t, ref.s(e.get("eventID")), tuple(row.values()), raw))
        ref.sort_event_list(items)
        return [ref.minified(it[3]) for it in items], skipped

    if a["details"]:
        rows = []
        for rule, h in zip(rules, hits):
            for k in h:
                e, t, _ = events[k]
                rows.append({
                    "event_time": ref.fmt_time(t),
                    "rule_id": rule.id,
                    "title": rule.title,
                    "level": rule.level,
                    "event_id": ref.s(e.get("eventID")),
                    "event_name": ref.s(e.get("eventName")),
                    "event_source": ref.s(e.get("eventSource")),
                    "principal": ref.principal(e),
                    "source_ip": ref.s(e.get("sourceIPAddress")),
                })
        # The order: newest first (whole seconds, rows without a time last), then
        # rule_id ascending (null first), then title, then event_id ascending (null first);
        # rows that still tie, by the whole row.
        rows.sort(key=lambda r: tuple(ref.null_first(v) for v in r.values()))
        rows.sort(key=lambda r: (ref.null_first(r["rule_id"]), r["title"], ref.null_first(r["event_id"])))
        rows.sort(key=lambda r: ref.null_first(r["event_time"]), reverse=True)
        return rows, skipped

    rows = []
    for rule, h in zip(rules, hits):
        if not h:
            continue
        times = [events[k][1] for k in h if events[k][1] is not None]
        rows.append({
            "rule_id": rule.id,
            "title": rule.title,
            "level": rule.level,
            "author": rule.author,
            "count": len(h),
            "first_seen": ref.fmt_time(min(times)) if times else None,
            "last_seen": ref.fmt_time(max(times)) if times else None,
            "principals": len({ref.principal(events[k][0]) for k in h}),
        })
    rank = {level: n for n, level in enumerate(reversed(LEVELS))}  # critical first
    rows.sort(key=lambda r: (rank.get(r["level"], len(LEVELS)), -r["count"],
                             ref.null_first(r["rule_id"]), r["title"]))
    return rows, skipped


# ======================================================================= self-test

def selftest():
    failures = []

    def check(name, got, want):
        if got != want:
            failures.append(f"{name}: got {got!r}, want {want!r}")

    # --- YAML
    y = load_yaml_documents
    check("mapping", y("a: 1\nb: x\n"), [{"a": 1, "b": "x"}])
    check("nested", y("a:\n  b:\n    c: d\n  e: f\n"), [{"a": {"b": {"c": "d"}, "e": "f"}}])
    check("sequence", y("a:\n  - x\n  - 'y'\n"), [{"a": ["x", "y"]}])
    check("sequence at key column", y("a:\n- x\n- y\nb: 1\n"), [{"a": ["x", "y"], "b": 1}])
    check("list of mappings", y("s:\n  - a: 1\n    b: 2\n  - c: 3\n"), [{"s": [{"a": 1, "b": 2}, {"c": 3}]}])
    check("nested sequences", y("- - a\n  - b\n- c\n"), [[["a", "b"], "c"]])
    check("dash then block", y("-\n  a: 1\n-\n"), [[{"a": 1}, None]])
    check("flow", y("a: [x, 'y z', 3, {k: v, n: }]\nb: {}\nc: []\n"),
          [{"a": ["x", "y z", 3, {"k": "v", "n": None}], "b": {}, "c": []}])
    check("flow over lines", y("a: [x,\n  y, # c\n  z]\n"), [{"a": ["x", "y", "z"]}])
    check("scalars", y("a: null\nb: ~\nc:\nd: true\ne: False\nf: -12\ng: 1.5\nh: 2e3\ni: 0x1F\nj: yes\nk: '5'\nl: 1.2.3\n"),
          [{"a": None, "b": None, "c": None, "d": True, "e": False, "f": -12, "g": 1.5, "h": 2000.0,
            "i": 31, "j": "yes", "k": "5", "l": "1.2.3"}])
    check("single quotes", y("a: 'it''s # not a comment'\n"), [{"a": "it's # not a comment"}])
    check("double quotes", y('a: "q\\" b\\\\s \\n\\t\\u00e9\\x41"\n'), [{"a": 'q" b\\s \n\té' + "A"}])
    check("quoted folding", y("a: 'one\n  two\n\n  three'\n"), [{"a": "one two\nthree"}])
    check("double escaped break", y('a: "one\\\n   two"\n'), [{"a": "onetwo"}])
    check("plain folding", y("a: one\n  two\n\n  three\nb: x\n"), [{"a": "one two\nthree", "b": "x"}])
    check("comments", y("# top\na: b # c\n# mid\nd: e#f\n"), [{"a": "b", "d": "e#f"}])
    check("literal", y("a: |\n  one\n   two\n\n  three\n\nb: x\n"), [{"a": "one\n two\n\nthree\n", "b": "x"}])
    check("literal strip", y("a: |-\n  one\n  two\n"), [{"a": "one\ntwo"}])
    check("literal keep", y("a: |+\n  one\n\n"), [{"a": "one\n\n"}])
    check("folded", y("a: >\n  one\n  two\n\n  three\n    more\n  four\n"), [{"a": "one two\nthree\n  more\nfour\n"}])
    check("folded strip", y("a: >-\n  one\n  two\n"), [{"a": "one two"}])
    check("block indicator", y("a: |2\n    x\n  y\n"), [{"a": "  x\ny\n"}])
    check("quoted keys", y("'a b': 1\n\"c|d\": 2\n"), [{"a b": 1, "c|d": 2}])
    check("key with pipe and dots", y("x.y|contains|all:\n  - a\n"), [{"x.y|contains|all": ["a"]}])
    check("url value", y("a: http://x/y?z=1\n"), [{"a": "http://x/y?z=1"}])
    check("documents", y("a: 1\n---\nb: 2\n...\n---\nc: 3\n"), [{"a": 1}, {"b": 2}, {"c": 3}])
    check("leading marker", y("---\na: 1\n"), [{"a": 1}])
    check("empty explicit doc", y("a: 1\n---\n"), [{"a": 1}, None])
    check("crlf", y("a: 1\r\nb:\r\n  - x\r\n"), [{"a": 1, "b": ["x"]}])
    for bad in ("a: &x 1\n", "a: *x\n", "a: !!str 1\n", "%YAML 1.2\n---\na: 1\n", "a: 1\na: 2\n",
                "a: b: c\n", "a: 'x\n", "a:\n  b: 1\n c: 2\n", "? a\n: b\n", "a: [1, 2\n", "a: - b\n",
                "a:\n\t- b\n", "a: \"\\q\"\n", "- a\nb: 1\n"):
        try:
            load_yaml_documents(bad)
            failures.append(f"YAML {bad!r}: no error")
        except YamlError:
            pass

    # --- values
    check("f64 text", [rust_float_text(x) for x in (1.5, 2.0, 1e20, 1e-7, -0.0, 0.1)],
          ["1.5", "2", "100000000000000000000", "0.0000001", "-0", "0.1"])
    check("int text", [scalar_text(x) for x in (5, True, False, 2 ** 70, None)],
          ["5", "true", "false", "1180591620717411300000", None])
    check("base64offset", base64_offsets(b"/bin/bash"), ["L2Jpbi9iYXNo", "9iaW4vYmFza", "vYmluL2Jhc2"])
    event = {
        "eventName": "PutBucketVersioning", "eventSource": "s3.amazonaws.com",
        "a.b": "top-level dotted", "a": {"b": "nested"},
        "list": [{"x": "one"}, {"x": "two"}, {"y": "three"}, [{"x": "four"}]],
        "n": 42, "f": 2.0, "flag": True, "nothing": None, "empty": "",
        "requestParameters": {"VersioningConfiguration": {"Status": "Suspended"}, "tags": ["k-1", "v/2"]},
        "ip": "10.1.2.3", "ip6": "2001:db8::1", "num": "17.5",
        "userIdentity": {"arn": "arn:aws:iam::1:user/Alice", "userName": "alice"},
        "text": "Hello*World? C:\\tmp\\x", "multi": "line1\nline2", "cmd": "run \u2013flag",
        "blob": base64.b64encode(b"xx /bin/bash yy").decode(), "b64": base64.b64encode(b"secret").decode(),
    }
    ev = EventView(event)

    def item(key, value):
        return compile_item(key, value)(ev)

    def case(name, key, good, bad):
        check(f"{name}: {key}: {good!r}", item(key, good), True)
        check(f"{name}: {key}: {bad!r} (near miss)", item(key, bad), False)

    check("field top-level dotted", field_values(event, "a.b"), ["top-level dotted"])
    check("field through arrays", field_values(event, "list.x"), ["one", "two", "four"])
    check("field absent", field_values(event, "list.z"), [])
    case("equal, any case", "eventName", "putbucketversioning", "PutBucketVersionin")
    case("list is OR", "eventName", ["x", "PutBucketVersioning"], ["x", "y"])
    case("through arrays", "list.x", "TWO", "three")
    case("integer as text", "n", "42", "4")
    case("integer rule value", "n", 42, 43)
    case("float as Rust prints", "f", "2", "2.0")
    case("boolean", "flag", True, False)
    case("boolean text", "flag", "TRUE", "yes")
    case("empty string", "empty", "", "x")
    case("null matches null", "nothing", None, "None")
    case("null matches absent", "missing", None, "")
    check("null does not match a value", item("eventName", None), False)
    case("wildcard *", "eventName", "put*versioning", "put*version")
    case("wildcard ?", "eventName", "PutBucketVersionin?", "PutBucketVersioni?")
    case("escaped wildcards", "text", "hello\\*world\\? c:\\tmp\\x", "hello\\*world\\?*x\\*")
    case("escaped wildcard is literal", "text", "Hello\\*W*", "Hello\\?W*")
    case("contains", "eventName|contains", "bucketver", "bucketvr")
    case("startswith", "eventName|startswith", "putbucket", "bucket")
    case("endswith", "eventName|endswith", "versioning", "bucket")
    case("contains object", "requestParameters|contains", "suspend", "enabled")
    case("contains in an array inside an object", "requestParameters|contains", "k-1", "k-3")
    case("all", "eventName|contains|all", ["put", "bucket"], ["put", "object"])
    case("all over leaves", "list.x|all", ["one", "two"], ["one", "three"])
    case("cased", "eventName|cased", "PutBucketVersioning", "putbucketversioning")
    case("cased contains", "eventName|contains|cased", "Bucket", "bucket")
    case("re anywhere", "eventName|re", "Bucket.er", "^Bucket")
    case("re case-sensitive", "eventName|re", "PutB", "putb")
    case("re i", "eventName|re|i", "^putb", "^putx")
    case("re m", "multi|re|m", "^line2$", "^line3$")
    check("re without m: ^ is the start", item("multi|re", "^line2"), False)
    case("re s", "multi|re|s", "line1.line2", "line1.line3")
    check("re without s: . is not a newline", item("multi|re", "line1.line2"), False)
    case("cidr v4", "ip|cidr", "10.0.0.0/8", "10.2.0.0/16")
    case("cidr v6", "ip6|cidr", "2001:db8::/32", "2001:db9::/32")
    check("cidr of a non-address", item("eventName|cidr", "0.0.0.0/0"), False)
    case("exists true", "eventName|exists", True, False)
    case("exists false", "missing|exists", False, True)
    check("exists on null", item("nothing|exists", False), True)
    case("fieldref equal", "userIdentity.userName|fieldref", "userIdentity.userName", "eventName")
    case("fieldref contains", "userIdentity.arn|fieldref|contains", "userIdentity.userName", "eventName")
    check("fieldref cased", item("userIdentity.arn|fieldref|contains|cased", "userIdentity.userName"), False)
    case("fieldref startswith", "userIdentity.arn|fieldref|startswith", "userIdentity.arn", "userIdentity.userName")
    case("fieldref endswith", "userIdentity.arn|fieldref|endswith", "userIdentity.userName", "eventSource")
    check("fieldref to an absent field", item("eventName|fieldref", "missing"), False)
    case("gt", "n|gt", 41, 42)
    case("gte", "n|gte", 42, 42.5)
    case("lt", "num|lt", 18, "17.5")
    case("lte", "num|lte", "17.5", 17)
    check("gt on a non-number", item("eventName|gt", 0), False)
    case("base64", "b64|base64", "secret", "Secret!")
    case("base64offset contains", "blob|base64offset|contains", "/bin/bash", "/bin/zsh")
    case("windash", "cmd|windash|contains", "-flag", "-flog")
    check("windash slash", compile_item("x|windash", "-a")(EventView({"x": "/A"})), True)
    check("windash both dashes", compile_item("x|windash", "-a-b")(EventView({"x": "\u2014a/b"})), True)

    # keyword searches
    def det(d):
        return compile_detection("k", d)(ev)
    check("keyword whole string", det(["s3.amazonaws.com"]), True)
    check("a keyword is found inside a value", det(["amazonaws"]), True)
    check("keyword substring", det(["*AMAZONAWS*"]), True)
    check("keyword list is OR", det(["nope", "*suspend*"]), True)
    check("keyword not numbers", det(["42"]), False)
    for refused in ({"|all": ["*hello*", "*bucket*"]}, {"f|contains|all": "x"}, {"f": [None, "x"]},
                    {"f|windash": "* -x *"}):
        try:
            det(refused)
            failures.append(f"{refused}: not refused")
        except RuleSkip:
            pass
    check("keyword single value", det("alice"), True)
    check("list of mappings is OR", det([{"eventName": "x"}, {"n": 42}]), True)
    check("list of mappings miss", det([{"eventName": "x"}, {"n": 41}]), False)
    check("mapping is AND", det({"eventName": "PutBucketVersioning", "n": 41}), False)

    # conditions
    names = ["sel_a", "sel_b", "filter_x", "_hidden"]
    truth = {"sel_a": True, "sel_b": False, "filter_x": True, "_hidden": True}

    def cond(text):
        return evaluate(parse_condition(text, names), truth.__getitem__)
    for text, want in [("sel_a", True), ("sel_b", False), ("not sel_b", True), ("sel_a and sel_b", False),
                       ("sel_a or sel_b", True), ("sel_b or sel_a and filter_x", True),
                       ("(sel_b or sel_a) and not filter_x", False), ("not sel_a or filter_x", True),
                       ("not (sel_a and filter_x)", False), ("1 of sel_*", True), ("any of sel_*", True),
                       ("all of sel_*", False), ("all of sel_a", True), ("1 of them", True),
                       ("all of them", False), ("sel_a and not 1 of filter*", False), ("1 of *_b", False)]:
        check(f"condition {text!r}", cond(text), want)
    check("them skips _names", parse_condition("all of them", names), ("all", ["sel_a", "sel_b", "filter_x"]))
    for bad in ("nope", "sel_a and", "1 of nothing*", "(sel_a", "sel_a sel_b", "2 of sel_*", "sel_a | count() > 5"):
        try:
            parse_condition(bad, names)
            failures.append(f"condition {bad!r}: no error")
        except RuleSkip:
            pass

    # whole rules
    base = "title: T\nid: x\nlevel: high\nlogsource:\n  product: AWS\n  service: CloudTrail\n"
    good = base + "detection:\n  sel:\n    eventName: PutBucketVersioning\n  condition:\n    - sel and not sel\n    - sel\n"
    check("rule with a list of conditions", Rule(y(good)[0]).matches(ev), True)
    for why, text in [("product", good.replace("AWS", "gcp")), ("service", good.replace("CloudTrail", "s3")),
                      ("no detection", base), ("correlation", good + "correlation: {}\n"),
                      ("modifier", good.replace("eventName:", "eventName|utf16le:")),
                      ("level", good.replace("high", "severe")),
                      ("bad re", good.replace("eventName:", "eventName|re:").replace("PutBucketVersioning", "'('")),
                      ("bad cidr", good.replace("eventName:", "eventName|cidr:")),
                      ("gt text", good.replace("eventName:", "n|gt:")),
                      ("exists text", good.replace("eventName:", "n|exists:"))]:
        try:
            Rule(y(text)[0])
            failures.append(f"rule ({why}): not skipped")
        except RuleSkip:
            pass
    check("no service is fine", Rule(y(good.replace("  service: CloudTrail\n", ""))[0]).matches(ev), True)

    # --- correlation rules
    def base_rule(name, event_name):
        return Rule(y(f"title: {name}\nid: id-{name}\nname: {name}\nlogsource:\n  product: aws\n"
                      f"detection:\n  sel:\n    eventName: {event_name}\n  condition: sel\n")[0])
    bases = [base_rule("a", "A"), base_rule("b", "B"), base_rule("c", "C"), base_rule("ab", "A*")]

    def correlation(body, top=""):
        return Correlation(y(f"title: T\nid: corr\n{top}correlation:\n" + body)[0])

    def at(second, name="A", event_id=None, **fields):
        e = {"eventName": name, "eventTime": f"2025-03-04T10:{second // 60:02d}:{second % 60:02d}Z"}
        if event_id is not None:
            e["eventID"] = event_id
        e.update(fields)
        return e

    def fire(body, evs, top=""):
        """The indexes of the completing events of the correlation over evs."""
        c = correlation(body, top)
        c.resolve(bases, set(), set())
        events = [(e, ref.parse_time(e.get("eventTime")), "") for e in evs]
        hits = [{k for k, (e, _, _) in enumerate(events) if r.matches(EventView(e))} for r in c.refs]
        return c.firings(events, hits)

    count2 = "  type: event_count\n  rules: [a]\n  timespan: 5m\n  condition: {gte: 2}\n"
    check("window keeps t - timespan", fire(count2, [at(0), at(300)]), [1])
    check("window drops older", fire(count2, [at(0), at(301)]), [])
    check("fraction read in whole seconds", fire(count2, [at(0), {"eventName": "A", "eventTime": "2025-03-04T10:05:00.999Z"}]), [1])
    check("reset after firing", fire(count2, [at(0), at(1), at(2), at(3), at(4)]), [1, 3])
    check("no time takes no part", fire(count2, [at(0), {"eventName": "A"}, {"eventName": "A", "eventTime": "x"}, at(400)]), [])
    check("time order, not input order", fire(count2, [at(200), at(0), at(100)]), [2])
    check("ties by eventID, absent first", fire(count2, [at(0, event_id="c"), at(0, event_id="a"), at(0), at(0, event_id="b")]), [1, 0])
    check("lt fires at every event", fire("  type: event_count\n  rules: [a]\n  timespan: 1h\n  condition: {lt: 2}\n",
                                          [at(0), at(1), at(2)]), [0, 1, 2])
    check("range gt and lte", fire("  type: event_count\n  rules: [a]\n  timespan: 1h\n  condition: {gt: 1, lte: 3}\n",
                                   [at(0), at(1), at(2), at(3)]), [1, 3])
    check("eq and neq", fire("  type: event_count\n  rules: [a]\n  timespan: 1h\n  condition: {eq: 2, neq: 3}\n",
                             [at(0), at(1), at(2)]), [1])
    check("each event once (event_count)", fire("  type: event_count\n  rules: [a, ab]\n  timespan: 1h\n  condition: {gte: 2}\n",
                                                [at(0), at(1)]), [1])
    by_user = "  type: event_count\n  rules: [a]\n  group-by: [u]\n  timespan: 1h\n  condition: {gte: 2}\n"
    check("groups apart", fire(by_user, [at(0, u="x"), at(1, u="y"), at(2, u="x")]), [2])
    check("null is a group", fire(by_user, [at(0), at(1, u=None), at(2, u="x"), at(3, u={"k": 1}), at(4, u=[1])]), [1, 4])
    check("group key is text", fire(by_user, [at(0, u=1), at(1, u="1"), at(2, u=True), at(3, u=1), at(4, u="true"),
                                              at(5, u=2.0), at(6, u="2")]), [1, 4, 6])
    check("field text", [field_text({"a.b": 1, "a": {"b": 2}}, "a.b"), field_text({"a": {"b": 2.5}}, "a.b"),
                         field_text({"a": [{"b": "x"}]}, "a.b"), field_text({"a": {"b": False}}, "a.b"),
                         field_text({"a": {"b": None}}, "a.b"), field_text({"a": "s"}, "a.b")],
          ["1", "2.5", None, "false", None, None])
    two = ("  type: event_count\n  rules: [a, b]\n  group-by: [user]\n  timespan: 1h\n  condition: {gte: 2}\n"
           "  aliases:\n    user:\n      a: x\n      id-b: y\n")
    check("aliases", fire(two, [at(0, x="u1", y="u2"), at(1, "B", x="u2", y="u1"), at(2, "B", x="u1", y="u2")]), [1])
    check("alias without an entry: the alias name", fire(two.replace("      id-b: y\n", "      c: y\n"),
                                                         [at(0, x="u1"), at(1, "B", user="u1")]), [1])
    vc = "  type: value_count\n  rules: [a]\n  timespan: 1h\n  condition: {gte: 3, field: v}\n"
    check("value_count distinct, case-sensitive", fire(vc, [at(0, v="x"), at(1, v="x"), at(2, v="X"), at(3), at(4, v="y")]), [4])
    check("value_count two fields", fire(vc.replace("field: v", "field: [v, w]"),
                                         [at(0, v="x", w="1"), at(1, v="x"), at(2, v="x", w="2"), at(3, v="y", w="1")]), [3])
    check("value_count, an event without the value still checks", fire(vc.replace("gte: 3", "lte: 1"), [at(0, v="x"), at(1)]), [0, 1])
    temporal = "  type: temporal\n  rules: [a, b, c]\n  timespan: 10m\n"
    check("temporal all rules, any order", fire(temporal, [at(0, "C"), at(1, "A"), at(2, "A"), at(3, "B"), at(4, "B")]), [3])
    check("temporal window", fire(temporal, [at(0, "C"), at(1, "A"), at(601, "B")]), [])
    check("temporal gte 2", fire(temporal + "  condition: {gte: 2}\n", [at(0, "A"), at(1, "A"), at(2, "C"), at(3, "B")]), [2])
    both = "  type: temporal\n  rules: [a, ab]\n  timespan: 10m\n"
    check("temporal: one event, two rules", fire(both, [at(0)]), [0])
    check("temporal: one step per event, however many rules it matches", fire(both + "  condition: {gte: 1}\n", [at(0), at(1, "AB")]), [0, 1])
    ordered = "  type: temporal_ordered\n  rules: [a, b]\n  timespan: 10m\n"
    check("temporal_ordered in order", fire(ordered, [at(0, "A"), at(5, "B")]), [1])
    check("temporal_ordered out of order", fire(ordered, [at(0, "B"), at(5, "A")]), [])
    check("temporal_ordered later B", fire(ordered, [at(0, "B"), at(5, "A"), at(6, "B")]), [2])
    check("temporal_ordered ties are in order", fire(ordered, [at(0, "A", event_id="2"), at(0, "B", event_id="1")]), [0])
    check("temporal_ordered 3 rules", fire(ordered.replace("[a, b]", "[a, b, c]"),
                                           [at(0, "B"), at(1, "A"), at(2, "C"), at(3, "B"), at(4, "C")]), [4])
    for why, body in [("unknown type", count2.replace("event_count", "event_sum")),
                      ("value_sum", count2.replace("event_count", "value_sum")),
                      ("value_avg", count2.replace("event_count", "value_avg")),
                      ("value_percentile", count2.replace("event_count", "value_percentile")),
                      ("value_median", count2.replace("event_count", "value_median")),
                      ("window", count2 + "  window: tumbling\n"), ("gap", count2 + "  gap: 5m\n"),
                      ("text condition", temporal + "  condition: a and b\n"),
                      ("no timespan", count2.replace("  timespan: 5m\n", "")),
                      ("bad timespan", count2.replace("5m", "5 m")), ("fraction", count2.replace("5m", "1.5h")),
                      ("unit", count2.replace("5m", "5x")), ("no condition", count2.replace("  condition: {gte: 2}\n", "")),
                      ("no field", vc.replace(", field: v", "")), ("no operator", count2.replace("gte", "ge")),
                      ("float", count2.replace("2}", "2.0}")), ("bool", count2.replace("2}", "true}")),
                      ("text value", count2.replace("2}", "'2'}")), ("no rules", count2.replace("  rules: [a]\n", "")),
                      ("group-by", count2 + "  group-by: [[x]]\n"), ("aliases", count2 + "  aliases: {u: x}\n")]:
        try:
            correlation(body)
            failures.append(f"correlation ({why}): not skipped")
        except RuleSkip:
            pass
    for why, top in [("rsigma.window", "rsigma.window: session\n"), ("rsigma.gap", "rsigma.gap: 5m\n")]:
        try:
            correlation(count2, top)
            failures.append(f"correlation ({why}): not skipped")
        except RuleSkip:
            pass
    check("window sliding is fine", correlation(count2 + "  window: sliding\n", "rsigma.window: sliding\n").timespan, 300)
    check("timeframe is read too", correlation(count2.replace("timespan", "timeframe").replace("5m", "2M")).timespan, 2 * 2629746)
    check("generate", [correlation(count2, t).generate for t in ("", "generate: true\n", "generate: false\n")]
          + [correlation(count2 + "  generate: true\n").generate], [False, True, False, True])
    check("default temporal condition", correlation(temporal).condition, {"gte": 3})
    for why, refs, names, skipped_names in [("no rule", "[a, z]", set(), set()), ("twice", "[a, id-a]", set(), set()),
                                            ("correlation", "[a, k]", {"k"}, set()), ("skipped", "[s]", set(), {"s"})]:
        try:
            correlation(count2.replace("[a]", refs)).resolve(bases, names, skipped_names)
            failures.append(f"reference ({why}): not skipped")
        except RuleSkip:
            pass

    # whole runs: documents in one file, generate, --level/--rule
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "r.yml"), "w") as f:
            f.write("title: C\nid: corr-c\nlevel: high\ncorrelation:\n  type: event_count\n  rules: [base-a]\n"
                    "  timespan: 1h\n  condition: {gte: 2}\n---\n"
                    "title: Base A\nid: base-a\nlevel: low\nlogsource: {product: aws}\n"
                    "detection: {sel: {eventName: A}, condition: sel}\n---\n"
                    "title: Base B\nname: base-b\nlevel: low\nlogsource: {product: aws}\n"
                    "detection: {sel: {eventName: B}, condition: sel}\n---\n"
                    "title: D\nid: corr-d\nlevel: medium\ngenerate: true\ncorrelation:\n  type: event_count\n"
                    "  rules: [base-b]\n  timespan: 1h\n  condition: {gte: 2}\n")
        events = [(e, ref.parse_time(e["eventTime"]), json.dumps(e))
                  for e in (at(0, "A"), at(1, "A"), at(2, "B"), at(3, "B"), at(4, "A"))]

        def run(**opts):
            a = {"no_builtin": True, "rules": [tmp], "level": None, "rule": None, "raw": False, "details": False}
            a.update(opts)
            rows, skipped = report_detect(events, a)
            return [(r["title"], r["count"]) for r in rows] if not a["raw"] and not a["details"] else rows
        check("generate false hides, true keeps", sorted(run()), [("Base B", 2), ("C", 1), ("D", 1)])
        check("--level chooses correlations by their level", run(level="high"), [("C", 1)])
        try:
            run(rule="base a")
            failures.append("--rule choosing only a hidden base rule: no exit")
        except SystemExit as e:
            check("--rule: a hidden base rule alone is nothing to report (exit 1)", e.code, 1)
        check("--details: one row per firing", [(r["title"], r["event_time"]) for r in run(details=True) if r["title"] == "C"],
              [("C", "2025-03-04T10:00:01Z")])
        check("--raw: completing events and the reported rules' events", len(run(raw=True)), 3)

    for f in failures:
        print("FAIL", f)
    print(f"selftest: {len(failures)} failure(s)")
    return 1 if failures else 0


def main(argv):
    if argv == ["--selftest"]:
        return selftest()
    if argv[:1] == ["--parse"] and len(argv) > 1:
        status = 0
        for path in argv[1:]:
            with open(path, encoding="utf-8") as f:
                try:
                    docs = load_yaml_documents(f.read())
                except YamlError as err:
                    print(f"{path}: YAML: {err}", file=sys.stderr)
                    status = 1
                    continue
            print(json.dumps({"file": path, "documents": docs}, indent=1, ensure_ascii=False))
        return status
    print("usage: sigma_reference.py --selftest | --parse FILE... "
          "(the detect command is `ctq_reference.py detect ...`)", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
