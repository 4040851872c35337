"""Configuration options as text (PyFlink's ``Configuration``). Give one to
``StreamExecutionEnvironment.get_execution_environment(configuration)`` or
``env.configure(configuration)``; the engine reads the options it knows, such as
``python.execution-mode`` (``thread``, the default, or ``process``) and
``python.fn-execution.bundle.size``."""

import base64

# Milliseconds per unit of Flink's duration notation.
_UNIT_MILLISECONDS = {
    "": 1, "ms": 1, "milli": 1, "millis": 1, "millisecond": 1, "milliseconds": 1,
    "s": 1000, "sec": 1000, "secs": 1000, "second": 1000, "seconds": 1000,
    "m": 60_000, "min": 60_000, "minute": 60_000, "minutes": 60_000,
    "h": 3_600_000, "hour": 3_600_000, "hours": 3_600_000,
    "d": 86_400_000, "day": 86_400_000, "days": 86_400_000,
}


def duration_millis(text):
    """Milliseconds of a duration option in Flink's notation (``'500 ms'``, ``'10 s'``,
    ``'1 min'``; a bare number is milliseconds)."""
    text = str(text).strip().lower()
    digits = len(text) - len(text.lstrip("0123456789"))
    unit = text[digits:].strip()
    if digits == 0 or unit not in _UNIT_MILLISECONDS:
        raise ValueError(f"'{text}' is not a duration such as '500 ms', '10 s' or '1 min'")
    return int(text[:digits]) * _UNIT_MILLISECONDS[unit]


def local_path(path, what):
    """The local directory of an option's path or ``file://`` URI; ``what`` names the option in
    the error for other schemes."""
    text = str(path)
    if text.startswith("file://"):
        return text[len("file://"):]
    if "://" in text:
        raise ValueError(f"{what} must be a local directory or a file:// URI, not '{text}'")
    return text


class DescribedByOptions:
    """A setting object (a restart strategy, a state backend, a checkpoint storage) that is the
    configuration options it sets: equal when they are."""

    def _options(self):
        raise NotImplementedError

    def __eq__(self, other):
        return type(self) is type(other) and self._options() == other._options()

    def __hash__(self):
        return hash(tuple(sorted(self._options().items())))

    def __repr__(self):
        return f"{type(self).__name__}({self._options()})"


class Configuration:
    """A map of option names to text values."""

    def __init__(self, other=None):
        self._options = dict(other._options) if other is not None else {}

    @classmethod
    def from_dict(cls, map):
        """A configuration of the options in ``map`` (their values as text)."""
        configuration = cls()
        for key, value in map.items():
            configuration.set_string(key, value)
        return configuration

    def get(self, option):
        """The value of a ``ConfigOption`` (see ``ConfigOptions``), converted to its type: its
        default when it is not set."""
        from pyflink_rs.common.config_options import ConfigOption

        if not isinstance(option, ConfigOption):
            raise TypeError(f"expected a ConfigOption, got {type(option).__name__}")
        if option.key() not in self._options:
            return option.default_value()
        return option._parse(self._options[option.key()])

    def set(self, option, value):
        """Sets a ``ConfigOption`` (its value as text)."""
        self._options[option.key()] = str(value).lower() if isinstance(value, bool) else str(value)
        return self

    def get_string(self, key, default_value):
        return self._options.get(key, default_value)

    def set_string(self, key, value):
        self._options[key] = str(value)
        return self

    def get_integer(self, key, default_value):
        return int(self._options[key]) if key in self._options else default_value

    def set_integer(self, key, value):
        self._options[key] = str(int(value))
        return self

    def get_float(self, key, default_value):
        return float(self._options[key]) if key in self._options else default_value

    def set_float(self, key, value):
        self._options[key] = str(float(value))
        return self

    def get_boolean(self, key, default_value):
        if key not in self._options:
            return default_value
        return self._options[key].strip().lower() == "true"

    def set_boolean(self, key, value):
        self._options[key] = "true" if value else "false"
        return self

    def keys_set(self):
        return set(self._options)

    def key_set(self):
        """The keys set (PyFlink's name of ``keys_set``)."""
        return set(self._options)

    def get_bytearray(self, key, default_value):
        """The bytes of ``key``, stored as Flink stores them (base64 text)."""
        if key not in self._options:
            return default_value
        return bytearray(base64.b64decode(self._options[key]))

    def set_bytearray(self, key, value):
        """Sets ``key`` to the bytes ``value`` (kept as base64 text, as Flink keeps them)."""
        self._options[key] = base64.b64encode(bytes(value)).decode("ascii")
        return self

    def add_all_to_dict(self, target_dict):
        """Copies every option into ``target_dict``."""
        target_dict.update(self._options)

    @staticmethod
    def parse_list_value(value):
        """Flink's list option text, values separated by ``;``; a value quoted with ``'`` or
        ``"`` may hold ``;`` (a doubled quote inside is one quote)."""
        values, current, quote, i = [], [], None, 0
        while i < len(value):
            c = value[i]
            if quote is not None:
                if c == quote and value[i + 1:i + 2] == quote:
                    current.append(c)
                    i += 1
                elif c == quote:
                    quote = None
                else:
                    current.append(c)
            elif c in "'\"" and not "".join(current).strip():
                current, quote = [], c
            elif c == ";":
                values.append("".join(current).strip() if quote is None else "".join(current))
                current = []
            else:
                current.append(c)
            i += 1
        if quote is not None:
            raise ValueError(f"an unclosed quote in the list value {value!r}")
        if current or values:
            values.append("".join(current).strip())
        return values

    def contains_key(self, key):
        return key in self._options

    def remove_config(self, key):
        return self._options.pop(key, None) is not None

    def add_all(self, other, prefix=None):
        for key, value in other._options.items():
            self._options[(prefix or "") + key] = value
        return self

    def to_dict(self):
        return dict(self._options)

    def __eq__(self, other):
        return isinstance(other, Configuration) and self._options == other._options

    def __repr__(self):
        return f"Configuration({self._options!r})"
