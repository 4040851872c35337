"""PyFlink's ``ConfigOptions``: typed descriptions of configuration options (a key, a type and
a default), as ``ConfigOptions.key("pipeline.name").string_type().default_value("job")``
builds them. ``Configuration.get(option)`` reads one, converted to its type."""


class ConfigOption:
    """A configuration option: its key, its type and its default value, if any."""

    def __init__(self, key, value_type, default, has_default):
        self._key = key
        self._type = value_type
        self._default = default
        self._has_default = has_default

    def key(self):
        return self._key

    def default_value(self):
        return self._default

    def has_default_value(self):
        return self._has_default

    def _parse(self, text):
        """The option's value from its text in a ``Configuration``."""
        if self._type is bool:
            lowered = text.strip().lower()
            if lowered not in ("true", "false"):
                raise ValueError(f"option '{self._key}' takes true or false, not '{text}'")
            return lowered == "true"
        try:
            return self._type(text.strip() if self._type is not str else text)
        except ValueError:
            raise ValueError(f"option '{self._key}' takes a {self._type.__name__}, not '{text}'") from None

    def __eq__(self, other):
        return isinstance(other, ConfigOption) and (self._key, self._type, self._default) == (
            other._key, other._type, other._default)

    def __hash__(self):
        return hash((self._key, self._type))

    def __repr__(self):
        return f"Key: '{self._key}' , default: {self._default} (fallback keys: [])"


class ConfigOptions:
    """Starts building a ``ConfigOption``: ``ConfigOptions.key(name)``."""

    @staticmethod
    def key(key):
        if not key:
            raise ValueError("a configuration option needs a key")
        return ConfigOptions.OptionBuilder(key)

    class OptionBuilder:
        """Chooses the option's type."""

        def __init__(self, key):
            self._key = key

        def boolean_type(self):
            return ConfigOptions.TypedConfigOptionBuilder(self._key, bool)

        def int_type(self):
            return ConfigOptions.TypedConfigOptionBuilder(self._key, int)

        def long_type(self):
            return ConfigOptions.TypedConfigOptionBuilder(self._key, int)

        def float_type(self):
            return ConfigOptions.TypedConfigOptionBuilder(self._key, float)

        def double_type(self):
            return ConfigOptions.TypedConfigOptionBuilder(self._key, float)

        def string_type(self):
            return ConfigOptions.TypedConfigOptionBuilder(self._key, str)

    class TypedConfigOptionBuilder:
        """Sets the option's default value, or says it has none."""

        def __init__(self, key, value_type):
            self._key = key
            self._type = value_type

        def default_value(self, value):
            return ConfigOption(self._key, self._type, value, True)

        def no_default_value(self):
            return ConfigOption(self._key, self._type, None, False)
