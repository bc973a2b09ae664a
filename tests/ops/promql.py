"""Just enough PromQL and Grafana templating for the operations tests.

- `vector_selectors(expr)` finds every vector selector (metric name plus matchers) in an
  expression, so a misspelt metric is caught even inside a condition that is legitimately
  empty (`x > 0`, `absent(x)`, `a and b`).
- `substitute(expr, values)` replaces Grafana template variables the way Grafana's
  Prometheus data source does: `$v`, `${v}`, `${v:fmt}`, `[[v]]`, with built-ins such as
  `$__rate_interval` set to fixed, sensible durations.
"""
import re

# Words that look like identifiers but are not metric names.
KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless",
    "offset", "atan2", "inf", "nan", "start", "end",
    # Aggregation operators (may be followed by `by (...)` instead of a parenthesis).
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk",
    "topk", "quantile",
}
# Clauses followed by a parenthesised list of label names.
LABEL_LIST_CLAUSES = {"by", "without", "on", "ignoring", "group_left", "group_right"}

IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")


def _skip_string(expr, i):
    """Index after the string literal that starts at expr[i]."""
    quote = expr[i]
    i += 1
    while i < len(expr):
        if expr[i] == "\\" and quote != "`":
            i += 2
            continue
        if expr[i] == quote:
            return i + 1
        i += 1
    raise ValueError(f"unterminated string in {expr!r}")


def _matching(expr, i, open_ch, close_ch):
    """Index after the bracket that closes the one at expr[i] (strings inside are skipped)."""
    depth = 0
    while i < len(expr):
        c = expr[i]
        if c in "\"'`":
            i = _skip_string(expr, i)
            continue
        if c == open_ch:
            depth += 1
        elif c == close_ch:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise ValueError(f"unbalanced {open_ch}{close_ch} in {expr!r}")


def _next_non_space(expr, i):
    while i < len(expr) and expr[i].isspace():
        i += 1
    return i


def vector_selectors(expr):
    """Every vector selector of `expr` as text, e.g. 'wijkpuls_quota_status{status="BEHIND"}',
    in order of appearance, without duplicates. Range brackets and offsets are dropped."""
    out = []
    i = 0
    prev_word = None
    while i < len(expr):
        c = expr[i]
        if c in "\"'`":
            i = _skip_string(expr, i)
            continue
        if c == "#":  # comment to the end of the line
            nl = expr.find("\n", i)
            i = len(expr) if nl < 0 else nl
            continue
        if c == "[":  # range or subquery duration
            i = _matching(expr, i, "[", "]")
            continue
        if c == "{":  # a selector without a metric name: keep it whole
            end = _matching(expr, i, "{", "}")
            out.append(expr[i:end])
            i = end
            continue
        if c.isdigit() or (c == "." and i + 1 < len(expr) and expr[i + 1].isdigit()):
            m = re.compile(r"[0-9.eE+xXa-fA-F]+[smhdwy]*").match(expr, i)  # numbers, durations
            i = m.end()
            prev_word = None
            continue
        m = IDENT.match(expr, i)
        if not m:
            i += 1
            continue
        word = m.group(0)
        j = _next_non_space(expr, m.end())
        if word.lower() in LABEL_LIST_CLAUSES and j < len(expr) and expr[j] == "(":
            i = _matching(expr, j, "(", ")")  # by (a, b): label names, not metrics
            prev_word = word.lower()
            continue
        if word.lower() in KEYWORDS or (j < len(expr) and expr[j] == "("):
            i = m.end()  # keyword or function / aggregation name
            prev_word = word.lower()
            continue
        if prev_word == "offset":
            i = m.end()
            prev_word = None
            continue
        end = m.end()
        if j < len(expr) and expr[j] == "{":
            end = _matching(expr, j, "{", "}")
        out.append(expr[i:end])
        i = end
        prev_word = None
    seen, unique = set(), []
    for s in out:
        key = re.sub(r"\s+", "", s)
        if key not in seen:
            seen.add(key)
            unique.append(s)
    return unique


def metric_name(selector):
    m = IDENT.match(selector)
    if m:
        return m.group(0)
    m = re.search(r'__name__\s*=\s*"([^"]+)"', selector)
    return m.group(1) if m else None


# Built-in Grafana variables: fixed values that suit a 1 s scrape interval and a test that
# has run for well under a minute (`rate` needs two samples in the window).
BUILTINS = {
    "__rate_interval": "1m",
    "__interval": "15s",
    "__interval_ms": "15000",
    "__range": "1h",
    "__range_s": "3600",
    "__range_ms": "3600000",
}

_VAR = re.compile(r"\$\{([A-Za-z0-9_]+)(?::([A-Za-z0-9_]+))?\}|\[\[([A-Za-z0-9_]+)(?::[A-Za-z0-9_]+)?\]\]|\$([A-Za-z0-9_]+)")


def regex_escape(value):
    """Grafana's prometheusSpecialRegexEscape: regex metacharacters escaped, the backslash
    doubled for the PromQL string literal."""
    return re.sub(r"([\\^$*+?.()|{}\[\]])", r"\\\\\1", value)


def substitute(expr, values):
    """`values` maps a variable name to its text (already formatted for its use)."""
    def repl(m):
        name = m.group(1) or m.group(3) or m.group(4)
        if name in BUILTINS:
            return BUILTINS[name]
        if name in values:
            return values[name]
        raise KeyError(f"template variable ${name} is not defined in the dashboard")
    return _VAR.sub(repl, expr)


def format_value(variable, chosen):
    """How Grafana writes the chosen values of `variable` into a Prometheus query.
    `chosen` is a list of values or the string "$__all"."""
    multi = variable.get("multi") or variable.get("includeAll")
    if chosen == "$__all":
        if variable.get("allValue"):
            return variable["allValue"]
        chosen = variable["_options"]
    if not multi:
        return chosen[0].replace("\\", "\\\\").replace("'", "\\'")
    escaped = [regex_escape(v) for v in chosen]
    return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"


LABEL_VALUES = re.compile(r"^\s*label_values\(\s*(?:(.*),\s*)?([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$", re.S)


def parse_label_values(query):
    """('selector' or None, 'label') of a `label_values(...)` variable query."""
    m = LABEL_VALUES.match(query)
    if not m:
        raise ValueError(f"unsupported variable query {query!r} (only label_values(...) is)")
    return (m.group(1).strip() if m.group(1) else None), m.group(2)


def self_check():
    """The parser's own cases (run by the static test)."""
    cases = {
        'up{job="wijkpuls"} == 0': ['up{job="wijkpuls"}'],
        'absent(up{job="wijkpuls"})': ['up{job="wijkpuls"}'],
        'sum by (job, instance) (increase(wijkpuls_records_total[10m])) == 0': ['wijkpuls_records_total'],
        'a > 0 and on (job, instance) time() - b{x=~"a|b", y!="}"} > 900': ['a', 'b{x=~"a|b", y!="}"}'],
        'histogram_quantile(0.95, sum by (le) (rate(h_bucket{i=~".*"}[$__rate_interval])))': ['h_bucket{i=~".*"}'],
        'x offset 5m + y[5m:1m] * 1e3 - 0x1f': ['x', 'y'],
        'sum without (status) (1 * s{status="BEHIND"}) + sum without (status) (2 * s{status="AT_RISK"})':
            ['s{status="BEHIND"}', 's{status="AT_RISK"}'],
        'max by (component) (nr) == 1 unless ignoring (component) group_left () z': ['nr', 'z'],
        '{__name__="m"}': ['{__name__="m"}'],
    }
    for expr, expected in cases.items():
        got = vector_selectors(expr)
        if got != expected:
            raise AssertionError(f"vector_selectors({expr!r}) = {got}, expected {expected}")
    assert substitute('r[$__rate_interval] ${a} [[a]] $a ${a:regex}', {"a": "x"}) == "r[1m] x x x x"
    assert format_value({"multi": True, "_options": ["a.b", "c"]}, "$__all") == "(a\\\\.b|c)"
    assert format_value({"multi": True, "includeAll": True, "allValue": ".*"}, "$__all") == ".*"
    assert format_value({}, ["127.0.0.1:1"]) == "127.0.0.1:1"
    assert parse_label_values('label_values(m{a="$b"}, wave)') == ('m{a="$b"}', "wave")
    assert parse_label_values("label_values(wave)") == (None, "wave")
