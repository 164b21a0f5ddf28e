"""DuckDB SQL to Spark SQL: the one set of definitions (formats, path shapes, rollups) runs on both engines.

strangler writes its SQL once, in DuckDB's dialect (`strangler.formats`, `attribute.shape_sql`, the rollup
aggregation). The Spark job does not keep a second copy: sqlglot parses that SQL and writes it in Spark's dialect,
and `to_spark` rewrites on the syntax tree the few functions whose meaning differs between the engines or that
Spark lacks. Every rewrite keeps DuckDB's result on the inputs strangler gives it; `tests/test_spark.py` runs every
built-in format on the same sample lines in both engines and compares every column.

What differs and how it is bridged (the Spark session runs with ANSI mode off and the UTC time zone, see
`strangler.spark_job.session`):

* list indexes are 1-based in DuckDB, 0-based in Spark (sqlglot shifts literal indexes; a lambda's index
  argument is shifted here);
* `regexp_full_match` anchors the whole string; Spark's RLIKE finds a match anywhere, and Java's `$` also
  matches before a final line terminator: the pattern becomes `(?d)^(?:p)$` (`(?d)`: only '\\n' ends a line,
  and lines never hold one);
* `try_strptime` takes strftime codes, `to_timestamp` its Java pattern; `timezone(zone, naive)` is
  `to_utc_timestamp`; `to_timestamp(epoch)` keeps microseconds;
* a DOUBLE cast to an integer rounds half to even in DuckDB and truncates in Spark: `bround` first; text cast
  to an integer ('12.5') rounds half away from zero in DuckDB and is NULL in Spark: read as a decimal, `round`ed;
* a list slice `l[a:b]` is `slice(l, a, b - a + 1)`; `isfinite` is spelled out (`isnan`, infinity); `epoch_us` is `unix_micros`; `strlen` counts bytes (`octet_length`), `left(s, -n)` drops the last n characters, `suffix` is `endswith`;
* `json_extract_string(line, [paths])` gives a list: one `get_json_object` per path (`$."a"."b"` becomes
  `$['a']['b']`); `json_valid(x) AND json_type(x) = 'OBJECT'` holds for a JSON object in both;
* `regexp_extract(s, p, [names])` gives a struct: one `regexp_extract` per group in a `named_struct`;
* `regexp_replace`: DuckDB's backreferences `\\1` are Java's `$1`; without the 'g' option DuckDB replaces the first
  match only, Spark every one: the pattern becomes `^(.*?)(p)` with the text before it put back;
* `list_position` is `array_position` with 0 (not found) as NULL; a computed list index `l[i]` is `element_at`
  (1-based, index 0 NULL); `try(url_decode(x))` is `try_url_decode` with '+' kept and a result holding U+FFFD (bytes
  that are not UTF-8, where DuckDB fails) as NULL; any other `try(x)` is x (ANSI mode off gives NULL); text cast to
  JSON is read as text; a `%z` offset written +HH:MM or +HH is rewritten +HHMM for Java's `Z`;
* a window without PARTITION BY is partitioned by the file when the lines of many files are read at once (W3C);
* parameters (`$name`, `?`) become literals: they are the user's options and the routes' regexes, written as
  SQL string literals by sqlglot (never log content, which only ever flows through columns).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import sqlglot
from sqlglot import exp

from strangler.errors import StranglerError

# strftime code -> Java DateTimeFormatter pattern (the codes strangler's formats use, and the common others)
_STRFTIME = {
    "%d": "dd",
    "%b": "MMM",
    "%m": "MM",
    "%Y": "yyyy",
    "%y": "yy",
    "%H": "HH",
    "%M": "mm",
    "%S": "ss",
    "%z": "Z",
    "%f": "SSSSSS",
    "%g": "SSS",  # DuckDB: milliseconds, 3 digits
    "%%": "%",
}
_INT_TYPES = {exp.DataType.Type.TINYINT, exp.DataType.Type.SMALLINT, exp.DataType.Type.INT, exp.DataType.Type.BIGINT}


def java_time_format(strftime: str) -> str:
    """The Java pattern of a strftime format (literal text quoted)."""
    out, i = [], 0
    while i < len(strftime):
        code = strftime[i : i + 2]
        if code in _STRFTIME:
            out.append(_STRFTIME[code])
            i += 2
        elif strftime[i] == "%":
            raise StranglerError(f"strftime code {code!r} has no Spark equivalent here")
        else:
            j = i
            while j < len(strftime) and strftime[j] != "%":
                j += 1
            text = strftime[i:j]
            out.append("".join(ch if ch in " :/-.," else f"'{ch}'" for ch in text).replace("''", ""))
            i = j
    return "".join(out)


def _json_path(duck_path: str) -> str:
    """DuckDB's `$."a"."b"` as Spark's `$['a']['b']`."""
    parts = re.findall(r'\."([^"]*)"|\[(\d+)\]', duck_path)
    rebuilt = "".join(f'."{key}"' if not index else f"[{index}]" for key, index in parts)
    if not duck_path.startswith("$") or rebuilt != duck_path[1:]:
        raise StranglerError(f"JSON path {duck_path!r} cannot be written for Spark")
    if any("'" in key or "]" in key for key, _ in parts):
        raise StranglerError(f"JSON key in {duck_path!r} may not contain ' or ] for the Spark engine")
    return "$" + "".join(f"['{key}']" if not index else f"[{index}]" for key, index in parts)


def _literal(value: object) -> exp.Expression:
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, (int, float)):
        return exp.Literal.number(value)
    return exp.Literal.string(str(value))


def _fn(name: str, *args: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this=name, expressions=list(args))


def _rewrite(
    node: exp.Expression,
    params: dict[str, object],
    positional: list[object],
    lists: frozenset[str] = frozenset(),
    partition: str | None = None,
) -> exp.Expression:
    """One node of the DuckDB tree in Spark's terms (called children first); `lists` names the columns that
    hold lists (DuckDB's `len` counts their items: Spark's `size`); `partition`, an expression every window
    without a PARTITION BY is partitioned by (the file, when the lines of many files are read at once)."""
    if isinstance(node, exp.Window) and partition and not node.args.get("partition_by"):
        node.set("partition_by", [sqlglot.parse_one(partition, read="spark")])
        return node
    if isinstance(node, exp.Length) and isinstance(node.this, exp.Column) and node.this.name in lists:
        return exp.ArraySize(this=node.this)
    if isinstance(node, exp.Placeholder):
        name = node.name
        if name and name != "?":
            if name not in params:
                raise StranglerError(f"SQL parameter ${name} has no value")
            return _literal(params[name])
        if not positional:
            raise StranglerError("more ? parameters than values")
        return _literal(positional.pop(0))
    if isinstance(node, exp.Parameter):
        name = node.name
        if name not in params:
            raise StranglerError(f"SQL parameter ${name} has no value")
        return _literal(params[name])
    if isinstance(node, exp.RegexpFullMatch):
        pattern = node.expression
        if not isinstance(pattern, exp.Literal):
            raise StranglerError("regexp_full_match needs a literal pattern for Spark")
        return exp.RegexpLike(this=node.this, expression=exp.Literal.string(f"(?d)^(?:{pattern.this})$"))
    if isinstance(node, exp.RegexpReplace):
        return _regexp_replace(node)
    if isinstance(node, exp.Try):
        inner = node.this
        if isinstance(inner, exp.Anonymous) and inner.name.lower() == "url_decode":
            # DuckDB keeps '+' and fails on bytes that are not UTF-8; Java decodes '+' as a space and puts U+FFFD
            decoded = _fn("try_url_decode", _fn("replace", inner.expressions[0], _literal("+"), _literal("%2B")))
            bad = _fn("contains", decoded.copy(), _literal("\ufffd"))
            return exp.Case(ifs=[exp.If(this=bad, true=exp.Null())], default=decoded)
        return inner  # with ANSI mode off, Spark gives NULL where DuckDB's try catches an error
    if (
        isinstance(node, exp.JSONExtractScalar)
        and isinstance(node.this, exp.Cast)
        and node.this.to.this == exp.DataType.Type.JSON
    ):
        node.set("this", node.this.this)  # text cast to JSON: Spark's JSON functions read the text itself
    if isinstance(node, exp.Anonymous):
        name = node.name.lower()
        args = node.expressions
        if name == "try_strptime":
            fmt = args[1]
            if not isinstance(fmt, exp.Literal):
                raise StranglerError("try_strptime needs a literal format for Spark")
            value = args[0]
            if fmt.this.endswith("%z"):  # DuckDB's %z reads +HH:MM, +HHMM and +HH; Java's Z only +HHMM
                value = _fn(
                    "regexp_replace",
                    _fn("regexp_replace", value, _literal("([+-][0-9][0-9]):([0-9][0-9])$"), _literal("$1$2")),
                    _literal("([+-][0-9][0-9])$"),
                    _literal("$100"),
                )
            return _fn("to_timestamp", value, exp.Literal.string(java_time_format(fmt.this)))
        if name == "isfinite":  # not NaN and not ±infinity (NULL stays NULL)
            x = args[0]
            inf = exp.Cast(this=exp.Literal.string("Infinity"), to=exp.DataType.build("DOUBLE"))
            return exp.Paren(
                this=exp.and_(exp.Not(this=_fn("isnan", x)), exp.NEQ(this=_fn("abs", x.copy()), expression=inf))
            )
        if name == "list_position":  # 1-based in both; not found: NULL in DuckDB, 0 in Spark
            return _fn("nullif", _fn("array_position", *args), exp.Literal.number(0))
        if name == "epoch_us":
            return _fn("unix_micros", *args)
        if name == "strlen":
            return _fn("octet_length", *args)
        if name == "suffix":
            return _fn("endswith", *args)
        if name == "timezone":
            return _fn("to_utc_timestamp", args[1], args[0])
        if name == "json_valid":
            return exp.Paren(
                this=exp.or_(
                    exp.Not(this=exp.Is(this=_fn("json_object_keys", args[0]), expression=exp.Null())),
                    exp.Not(this=exp.Is(this=_fn("json_array_length", args[0].copy()), expression=exp.Null())),
                )
            )
    if isinstance(node, exp.Bracket) and len(node.expressions) == 1 and isinstance(node.expressions[0], exp.Slice):
        # DuckDB's l[a:b] (1-based, both ends in) is Spark's slice(l, a, b - a + 1), never a negative length
        bounds = node.expressions[0]
        start, end = bounds.this, bounds.expression
        if start is None or end is None:
            raise StranglerError("a list slice needs both bounds for Spark")
        length = _fn(
            "greatest",
            exp.Literal.number(0),
            exp.Add(
                this=exp.Sub(this=exp.Paren(this=end), expression=exp.Paren(this=start.copy())),
                expression=exp.Literal.number(1),
            ),
        )
        return _fn("slice", node.this, start, length)
    if (
        isinstance(node, exp.Bracket)
        and len(node.expressions) == 1
        and not isinstance(node.expressions[0], (exp.Literal, exp.Slice, exp.Neg))
    ):
        # a computed list index (sqlglot shifts only literal ones): element_at counts from 1 as DuckDB does, and
        # index 0 (NULL in DuckDB, an error in element_at) becomes NULL
        index = exp.Cast(this=_fn("nullif", node.expressions[0], exp.Literal.number(0)), to=exp.DataType.build("INT"))
        return _fn("element_at", node.this, index)
    if isinstance(node, exp.JSONType):
        # only compared with 'OBJECT' in strangler's SQL: objects are told apart exactly
        keys = _fn("json_object_keys", node.this)
        return exp.Case(
            ifs=[exp.If(this=exp.Not(this=exp.Is(this=keys, expression=exp.Null())), true=exp.Literal.string("OBJECT"))]
        )
    if isinstance(node, exp.JSONExtractScalar) and isinstance(node.expression, exp.Array):
        paths = node.expression.expressions
        if not all(isinstance(p, exp.Literal) for p in paths):
            raise StranglerError("json_extract_string needs literal paths for Spark")
        return exp.Array(
            expressions=[
                _fn("get_json_object", node.this.copy(), exp.Literal.string(_json_path(p.this))) for p in paths
            ]
        )
    if isinstance(node, exp.RegexpExtract) and isinstance(node.args.get("group"), exp.Array):
        names = node.args["group"].expressions
        fields: list[exp.Expression] = []
        for k, name_lit in enumerate(names, 1):
            fields += [
                exp.Literal.string(name_lit.this),
                _fn("regexp_extract", node.this.copy(), node.expression.copy(), exp.Literal.number(k)),
            ]
        return _fn("named_struct", *fields)
    if isinstance(node, exp.UnixToTime) and not node.args.get("scale") and not node.args.get("format"):
        # epoch seconds (DOUBLE) with microseconds kept
        micros = exp.Cast(
            this=_fn("round", exp.Mul(this=exp.Paren(this=node.this), expression=exp.Literal.number(1000000))),
            to=exp.DataType.build("BIGINT"),
        )
        return _fn("timestamp_micros", micros)
    if isinstance(node, exp.Left):
        n = node.expression
        if isinstance(n, exp.Neg) or (isinstance(n, exp.Literal) and str(n.this).startswith("-")):
            cut: exp.Expression = n.this if isinstance(n, exp.Neg) else exp.Literal.number(str(n.this)[1:])
            return exp.Substring(
                this=node.this,
                start=exp.Literal.number(1),
                length=exp.Sub(this=exp.Length(this=node.this.copy()), expression=cut),
            )
    if isinstance(node, (exp.Cast, exp.TryCast)) and node.to.this in _INT_TYPES:
        inner = node.this
        if isinstance(inner, (exp.Cast, exp.TryCast)) and inner.to.this == exp.DataType.Type.DOUBLE:
            node.set("this", _fn("bround", inner))  # DuckDB: a DOUBLE rounds half to even
        elif not (isinstance(inner, (exp.Cast, exp.TryCast)) and inner.to.this in _INT_TYPES):
            # DuckDB reads text such as '12.5' as a number rounded half away from zero; Spark gives NULL
            exact = exp.TryCast(this=inner, to=exp.DataType.build("DECIMAL(38, 9)"))
            node.set("this", _fn("round", exact))
    if isinstance(node, exp.Transform) and isinstance(node.expression, exp.Lambda):
        lam = node.expression
        if len(lam.expressions) == 2:  # DuckDB's lambda index counts from 1, Spark's from 0
            index = lam.expressions[1].name
            lam.set(
                "this",
                _post_order(
                    lam.this,
                    lambda n: (
                        exp.Paren(this=exp.Add(this=n, expression=exp.Literal.number(1)))
                        if isinstance(n, (exp.Column, exp.Identifier))
                        and n.name == index
                        and not isinstance(n.parent, exp.Column)
                        and not (isinstance(n, exp.Column) and n.table)
                        else n
                    ),
                ),
            )
    return node


def _java_replacement(text: str, shift: int) -> str:
    """A DuckDB (RE2) replacement string in Java's terms: \\N (group N, \\0 the match) is $(N + shift), \\\\ stays
    a backslash, a literal $ is escaped."""
    out, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1].isdigit():
            out.append(f"${int(text[i + 1]) + shift}")
            i += 2
        elif ch == "\\" and i + 1 < len(text):
            out.append("\\" + text[i + 1])
            i += 2
        else:
            out.append("\\$" if ch == "$" else ch)
            i += 1
    return "".join(out)


def _regexp_replace(node: exp.RegexpReplace) -> exp.Expression:
    """DuckDB's regexp_replace in Spark's: backreferences \\N become $N, and without the 'g' flag only the first
    match is replaced (Spark replaces every one): the pattern is anchored as ^(.*?)(p) and the text before it put
    back, unless it is anchored at the start already (it can then match only once)."""
    pattern, repl, mods = node.expression, node.args.get("replacement"), node.args.get("modifiers")
    if not isinstance(pattern, exp.Literal) or not isinstance(repl, exp.Literal):
        raise StranglerError("regexp_replace needs a literal pattern and replacement for Spark")
    flags = mods.this if isinstance(mods, exp.Literal) else ""
    if (mods is not None and not isinstance(mods, exp.Literal)) or set(flags) - {"g"}:
        raise StranglerError(f"regexp_replace options {flags!r}: only 'g' has a Spark equivalent here")
    if "g" in flags or pattern.this.startswith("^"):
        regex, replacement = pattern.this, _java_replacement(repl.this, 0)
    else:
        regex, replacement = f"(?s)^(.*?)({pattern.this})", "$1" + _java_replacement(repl.this, 2)
    return _fn("regexp_replace", node.this, exp.Literal.string(regex), exp.Literal.string(replacement))


def _post_order(node: exp.Expression, fn) -> exp.Expression:
    """`fn` applied to every node, children first (a rewritten node's arguments are already rewritten)."""
    for key, value in list(node.args.items()):
        if isinstance(value, exp.Expression):
            node.set(key, _post_order(value, fn))
        elif isinstance(value, list):
            node.set(key, [_post_order(v, fn) if isinstance(v, exp.Expression) else v for v in value])
    return fn(node)


def to_spark(
    sql: str,
    params: dict[str, object] | None = None,
    positional: Sequence[object] = (),
    lists: frozenset[str] = frozenset(),
    partition: str | None = None,
) -> str:
    """Spark SQL for a DuckDB query or expression, with `$name` parameters from `params` and `?` ones from
    `positional` written in as literals; `lists` names the columns that hold lists; every window without a
    PARTITION BY is partitioned by the expression `partition` (Spark SQL), when given."""
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except sqlglot.errors.ParseError as exc:
        raise StranglerError(f"cannot read this DuckDB SQL for Spark: {exc}") from None
    rest = list(positional)
    assert isinstance(tree, exp.Expression)
    tree = _post_order(tree, lambda n: _rewrite(n, params or {}, rest, lists, partition))
    if rest:
        raise StranglerError(f"{len(rest)} ? parameters left without a place")
    return tree.sql(dialect="spark")
