"""Configuration options as text (PyFlink's ``Configuration``). Give one to
``StreamExecutionEnvironment.get_execution_environment(configuration)`` or
``env.configure(configuration)``; the engine reads the options it knows, such as
``python.execution-mode`` (``thread``, the default, or ``process``) and
``python.fn-execution.bundle.size``."""

import base64


class Configuration:
    """A map of option names to text values."""

    def __init__(self, other=None):
        self._options = dict(other._options) if other is not None else {}

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
