"""Configuration options as text (PyFlink's ``Configuration``). Give one to
``StreamExecutionEnvironment.get_execution_environment(configuration)`` or
``env.configure(configuration)``; the engine reads the options it knows, such as
``python.execution-mode`` (``thread``, the default, or ``process``) and
``python.fn-execution.bundle.size``."""


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
