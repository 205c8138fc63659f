"""The filters on any field (issue 15), for ctq_reference.py: --where, --match, --resource.

Written from the README's "Filters on any field", not from the Rust code, and kept plain: the
event's own text is parsed again with every number kept as the text it was written as, and
paths are followed over the parsed values.

    --where PATH=VALUE | PATH!=VALUE | PATH~REGEX | PATH*=TEXT | PATH?
    --match TEXT        the event's JSON text contains TEXT, any letter case
    --resource ARN|NAME resources[].ARN names it, or a string value of requestParameters is it
"""

import json
import re


class Bad(Exception):
    """A usage error."""


class Number(str):
    """A JSON number, as its text."""


def parse_path(text):
    keys = []
    for part in text.split("."):
        key = part[:-2] if part.endswith("[]") else part
        if key == "" or any(c in key for c in "[]=~?"):
            raise Bad(f"'{text}' is not a field path")
        keys.append(key)
    return keys


def parse_where(arg):
    """(path keys, operator, operand): the first of =, ~, != or *= splits path and value."""
    for i, c in enumerate(arg):
        op = None
        if arg.startswith("!=", i):
            op, n = "!=", 2
        elif arg.startswith("*=", i):
            op, n = "*=", 2
        elif c in "=~":
            op, n = c, 1
        if op:
            value = arg[i + n:]
            if value == "":
                raise Bad(f"'{arg}' has an empty value")
            if op == "~":
                try:
                    value = re.compile(value)
                except re.error as err:
                    raise Bad(f"'{arg}': not a regular expression: {err}")
            return parse_path(arg[:i]), op, value
    if arg.endswith("?"):
        return parse_path(arg[:-1]), "?", None
    raise Bad(f"'{arg}' has no test")


def parse(raw):
    """The event's text parsed again, numbers kept as written."""
    return json.loads(raw, parse_int=Number, parse_float=Number, parse_constant=Number)


def values(event, keys):
    """The values at a path: objects followed key by key, arrays crossed one level (objects in
    them followed), an array at the end gives its elements; None (JSON null) is no value."""
    cur = [event]
    for key in keys:
        nxt = []
        for v in cur:
            if isinstance(v, dict):
                if key in v:
                    nxt.append(v[key])
            elif isinstance(v, list):
                nxt.extend(e[key] for e in v if isinstance(e, dict) and key in e)
        cur = nxt
    out = []
    for v in cur:
        out.extend(v if isinstance(v, list) else [v])
    return [v for v in out if v is not None]


def text_of(v):
    """A value's text: a string itself, a number as written, true/false; objects and arrays
    have none."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return str(v)
    return None


def where_holds(event, keys, op, operand):
    vals = values(event, keys)
    texts = [t for t in map(text_of, vals) if t is not None]
    if op == "=":
        return operand in texts
    if op == "!=":
        return operand not in texts
    if op == "~":
        # Python's re and Rust's regex agree on the patterns the tests use.
        return any(operand.search(t) for t in texts)
    if op == "*=":
        return any(operand in t for t in texts)
    return len(vals) > 0


def string_leaves(v):
    """Every string inside v, at any depth (keys are not values)."""
    stack = [v]
    while stack:
        x = stack.pop()
        if isinstance(x, dict):
            stack.extend(x.values())
        elif isinstance(x, list):
            stack.extend(x)
        elif isinstance(x, str) and not isinstance(x, Number):
            yield x


def arn_names(arn, wanted):
    if wanted.startswith("arn:"):
        return arn == wanted or arn.startswith(wanted + "/")
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return False
    res = parts[5]
    return (res == wanted or res.startswith(wanted + "/")
            or res.endswith("/" + wanted) or res.endswith(":" + wanted))


def names_resource(event, wanted):
    for arn in values(event, ["resources", "ARN"]):
        if isinstance(arn, str) and not isinstance(arn, Number):
            if any(arn_names(arn, w) for w in wanted):
                return True
    if "requestParameters" in event:
        return any(s in wanted for s in string_leaves(event["requestParameters"]))
    return False


class Filters:
    def __init__(self, wheres, matches, resources):
        for t in matches:
            if t == "":
                raise Bad("--match: an empty text")
        for r in resources:
            if r == "":
                raise Bad("--resource: an empty ARN or name")
        self.tests = [parse_where(w) for w in wheres]
        # Letter case as Rust's regex folds it (simple case folding), which re.IGNORECASE does
        # too; str.casefold would also fold ß into ss.
        self.matches = [re.compile(re.escape(m), re.IGNORECASE) for m in matches]
        self.resources = resources

    def __bool__(self):
        return bool(self.tests or self.matches or self.resources)

    def accepts(self, raw):
        event = parse(raw)
        # Tests of one path are OR; != tests are each required; different paths are AND.
        groups = {}
        for keys, op, operand in self.tests:
            if op == "!=":
                if not where_holds(event, keys, op, operand):
                    return False
            else:
                groups.setdefault(".".join(keys), []).append((keys, op, operand))
        for tests in groups.values():
            if not any(where_holds(event, *t) for t in tests):
                return False
        if self.resources and not names_resource(event, self.resources):
            return False
        if self.matches:
            if not any(m.search(raw) for m in self.matches):
                return False
        return True
