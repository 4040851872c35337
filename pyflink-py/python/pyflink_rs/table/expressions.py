"""``pyflink.table.expressions`` on pyflink-rs: ``col``, ``lit``, ``call``, ``concat``,
``if_then_else`` and the operators and properties of ``Expression`` (``.sum``, ``.count``,
``.alias(...)``, ``.cast(...)``, ``.json_value(...)``, ``.seconds`` ...).

An expression is Flink SQL text; the engine's planner reads it as it reads SQL queries, so the
Table API and SQL share one set of functions and rules."""

import datetime
import re
import warnings

from pyflink_rs import _native


def _quote(name):
    return "`" + name.replace("`", "``") + "`"


def _sql_literal(value):
    if isinstance(value, Expression):
        return value._sql
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, datetime.datetime):
        return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
    if isinstance(value, datetime.date):
        return f"DATE '{value.isoformat()}'"
    raise TypeError(f"a literal of Python type {type(value).__name__} is not supported: {value!r}")


def _string_fields(text):
    """Flink 1.10's string expressions (``"a, f(b) as c"``): the list of expressions a string of
    several fields stands for, split at its top-level commas, each ``expr as name`` aliased."""
    parts, depth, quote, start = [], 0, None, 0
    for i, c in enumerate(text):
        if quote:
            quote = None if c == quote else quote
        elif c in "'\"`":
            quote = c
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    fields = []
    for part in (part.strip() for part in parts):
        match = re.match(r"^(.*\S)\s+as\s+([A-Za-z_$][\w$]*)$", part, re.IGNORECASE | re.DOTALL)
        if match and match.group(1).count("(") == match.group(1).count(")"):
            fields.append(_expression(match.group(1)).alias(match.group(2)))
        else:
            fields.append(_expression(part))
    return fields


def _fields(values):
    """``values`` as expressions, strings of several fields (PyFlink 1.x) split into theirs."""
    fields = []
    for value in values:
        if isinstance(value, str) and ("," in value or re.search(r"\s as\s", value, re.IGNORECASE)):
            warnings.warn("string expressions are deprecated (Flink 1.10's Table API): use expressions such as "
                          "col('a').alias('b')", DeprecationWarning, stacklevel=3)
            fields.extend(_string_fields(value))
        else:
            fields.append(_expression(value))
    return fields


def _expression(value):
    """``value`` as an expression: expressions stay, strings are SQL text (a bare name is
    that column), other values are literals."""
    if isinstance(value, Expression):
        return value
    if isinstance(value, str):
        stripped = value.strip()
        if stripped and all(c.isalnum() or c in "_$" for c in stripped):
            return col(stripped)
        return Expression(value)
    return lit(value)


class Expression:
    """A Table API expression."""

    def __init__(self, sql, column=None, names=(), descending=False):
        self._sql = sql
        self._column = column
        self._names = tuple(names)
        self._descending = descending

    def _spec(self):
        return _native.ExpressionSpec(
            sql=self._sql, column=self._column, names=list(self._names), descending=self._descending)

    def __str__(self):
        if self._names:
            return f"{self._sql} AS {', '.join(_quote(n) for n in self._names)}"
        return self._sql

    __repr__ = __str__

    def _infix(self, operator, other):
        return Expression(f"({self._sql} {operator} {_expression_or_literal(other)._sql})")

    def _rinfix(self, operator, other):
        return Expression(f"({_expression_or_literal(other)._sql} {operator} {self._sql})")

    def _call(self, function, *arguments):
        rest = "".join(", " + _expression_or_literal(a)._sql for a in arguments)
        return Expression(f"{function}({self._sql}{rest})")

    # Arithmetic, comparison and logic.
    def __add__(self, other): return self._infix("+", other)
    def __radd__(self, other): return self._rinfix("+", other)
    def __sub__(self, other): return self._infix("-", other)
    def __rsub__(self, other): return self._rinfix("-", other)
    def __mul__(self, other): return self._infix("*", other)
    def __rmul__(self, other): return self._rinfix("*", other)
    def __truediv__(self, other): return self._infix("/", other)
    def __rtruediv__(self, other): return self._rinfix("/", other)
    def __mod__(self, other): return self._infix("%", other)
    def __rmod__(self, other): return self._rinfix("%", other)
    def __eq__(self, other): return self._infix("=", other)
    def __ne__(self, other): return self._infix("<>", other)
    def __gt__(self, other): return self._infix(">", other)
    def __ge__(self, other): return self._infix(">=", other)
    def __lt__(self, other): return self._infix("<", other)
    def __le__(self, other): return self._infix("<=", other)
    def __and__(self, other): return self._infix("AND", other)
    def __rand__(self, other): return self._rinfix("AND", other)
    def __or__(self, other): return self._infix("OR", other)
    def __ror__(self, other): return self._rinfix("OR", other)
    def __invert__(self): return Expression(f"(NOT {self._sql})")
    def __neg__(self): return Expression(f"(- {self._sql})")
    def __pos__(self): return self
    def __pow__(self, other): return Expression(f"POWER({self._sql}, {_expression_or_literal(other)._sql})")

    __hash__ = object.__hash__

    def alias(self, name, *extra_names):
        return Expression(self._sql, self._column, (name,) + extra_names, self._descending)

    def cast(self, data_type):
        return Expression(f"CAST({self._sql} AS {data_type!r})")

    try_cast = cast

    def json_value(self, path, returning_type=None, on_empty=None, default_on_empty=None,
                   on_error=None, default_on_error=None):
        value = Expression(f"JSON_VALUE({self._sql}, {_sql_literal(path)})")
        if returning_type is not None and repr(returning_type) not in ("STRING", "VARCHAR(2147483647)"):
            value = value.cast(returning_type)
        return value

    def is_null(self): return Expression(f"({self._sql} IS NULL)")
    def is_not_null(self): return Expression(f"({self._sql} IS NOT NULL)")
    def like(self, pattern): return self._infix("LIKE", pattern)
    def between(self, low, high):
        return Expression(f"({self._sql} BETWEEN {_expression_or_literal(low)._sql} "
                          f"AND {_expression_or_literal(high)._sql})")

    def in_(self, *values):
        return Expression(f"({self._sql} IN ({', '.join(_expression_or_literal(v)._sql for v in values)}))")

    def substring(self, begin, length=None):
        return self._call("SUBSTRING", begin) if length is None else self._call("SUBSTRING", begin, length)

    def replace(self, search, replacement): return self._call("REPLACE", search, replacement)
    def char_length_of(self): return self._call("CHAR_LENGTH")
    def if_null(self, null_replacement): return self._call("COALESCE", null_replacement)

    # Properties, as PyFlink has them.
    def _distinct_call(self):
        sql = self._sql
        open_at = sql.find("(")
        if open_at >= 0 and sql.endswith(")"):
            return Expression(f"{sql[:open_at]}(DISTINCT {sql[open_at + 1:]}")
        return Expression(f"DISTINCT {sql}")

    sum = property(lambda self: self._call("SUM"))
    sum0 = property(lambda self: Expression(f"COALESCE(SUM({self._sql}), 0)"))
    count = property(lambda self: self._call("COUNT"))
    avg = property(lambda self: self._call("AVG"))
    min = property(lambda self: self._call("MIN"))
    max = property(lambda self: self._call("MAX"))
    stddev_pop = property(lambda self: self._call("STDDEV_POP"))
    stddev_samp = property(lambda self: self._call("STDDEV_SAMP"))
    var_pop = property(lambda self: self._call("VAR_POP"))
    var_samp = property(lambda self: self._call("VAR_SAMP"))
    distinct = property(_distinct_call)
    upper_case = property(lambda self: self._call("UPPER"))
    lower_case = property(lambda self: self._call("LOWER"))
    char_length = property(lambda self: self._call("CHAR_LENGTH"))
    trim = property(lambda self: self._call("TRIM"))
    abs = property(lambda self: self._call("ABS"))
    sqrt = property(lambda self: self._call("SQRT"))
    floor = property(lambda self: self._call("FLOOR"))
    ceil = property(lambda self: self._call("CEIL"))
    asc = property(lambda self: Expression(self._sql, self._column, self._names, False))
    desc = property(lambda self: Expression(self._sql, self._column, self._names, True))

    def _interval(self, unit):
        amount = self._sql.strip("'")
        return Expression(f"INTERVAL '{amount}' {unit}")

    seconds = second = property(lambda self: self._interval("SECOND"))
    minutes = minute = property(lambda self: self._interval("MINUTE"))
    hours = hour = property(lambda self: self._interval("HOUR"))
    days = day = property(lambda self: self._interval("DAY"))

    # Properties of a group window's alias (``col("w").start``).
    start = property(lambda self: Expression("window_start"))
    end = property(lambda self: Expression("window_end"))
    rowtime = property(lambda self: Expression("window_time"))
    proctime = property(lambda self: Expression("window_time"))

    def over(self, alias):
        """This aggregate over the OVER window ``alias`` (see ``Table.over_window``)."""
        window = alias._column if isinstance(alias, Expression) and alias._column else str(alias)
        return Expression(f"{self._sql} OVER {_quote(window)}")

    @property
    def milli(self):
        millis = int(self._sql)
        return Expression(f"INTERVAL '{millis // 1000}.{millis % 1000:03d}' SECOND")

    millis = milli


def _expression_or_literal(value):
    """``value`` as an operand: an expression, or a literal of any other value (a string
    operand is a string literal, as in PyFlink)."""
    return value if isinstance(value, Expression) else lit(value)


def col(name):
    """The column ``name``."""
    if name == "*":
        return Expression("*")
    return Expression(_quote(name), column=name)


def lit(value, data_type=None):
    """A literal value; with ``data_type``, of that type."""
    literal = Expression(_sql_literal(value))
    return literal.cast(data_type) if data_type is not None else literal


def call(f, *args):
    """A call of the function named ``f`` (built in or registered) on ``args``."""
    name = f if isinstance(f, str) else getattr(f, "_name", None) or getattr(f, "__name__")
    return Expression(f"{name}({', '.join(_expression_or_literal(a)._sql for a in args)})")


call_sql = Expression


def concat(first, *others):
    """The strings joined."""
    return call("CONCAT", first, *others)


def concat_ws(separator, first, *others):
    """The strings joined with ``separator``."""
    return call("CONCAT_WS", separator, first, *others)


def if_then_else(condition, if_true, if_false):
    """``if_true`` where ``condition`` holds, otherwise ``if_false``."""
    return Expression(f"(CASE WHEN {_expression_or_literal(condition)._sql} THEN "
                      f"{_expression_or_literal(if_true)._sql} ELSE {_expression_or_literal(if_false)._sql} END)")


def null_of(data_type):
    """SQL ``NULL`` of ``data_type``."""
    return Expression(f"CAST(NULL AS {data_type!r})")


def and_(predicate0, predicate1, *predicates):
    result = _expression_or_literal(predicate0) & predicate1
    for predicate in predicates:
        result = result & predicate
    return result


def or_(predicate0, predicate1, *predicates):
    result = _expression_or_literal(predicate0) | predicate1
    for predicate in predicates:
        result = result | predicate
    return result


def not_(expression):
    return ~_expression_or_literal(expression)


def current_timestamp():
    return Expression("CURRENT_TIMESTAMP")


def row_interval(rows):
    """An OVER window bound of ``rows`` rows (``preceding(row_interval(2))``)."""
    return Expression(f"{int(rows)} ROWS")


# OVER window bounds: every row before the current one (counted in rows, or by time), and the
# current row (alone, or with the rows of its time).
UNBOUNDED_ROW = Expression("UNBOUNDED ROWS")
UNBOUNDED_RANGE = Expression("UNBOUNDED")
CURRENT_ROW = Expression("CURRENT ROWS")
CURRENT_RANGE = Expression("CURRENT")


__all__ = [
    "CURRENT_RANGE", "CURRENT_ROW", "Expression", "UNBOUNDED_RANGE", "UNBOUNDED_ROW", "and_", "call",
    "call_sql", "col", "concat", "concat_ws", "current_timestamp", "if_then_else", "lit", "not_", "null_of",
    "or_", "row_interval",
]
