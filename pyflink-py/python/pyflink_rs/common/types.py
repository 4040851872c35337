"""Rows: records of named or positional fields, with a change kind (PyFlink's ``Row``)."""

from enum import Enum


class RowKind(Enum):
    """What a row means in a changelog."""

    INSERT = 0
    UPDATE_BEFORE = 1
    UPDATE_AFTER = 2
    DELETE = 3

    def short_string(self):
        """``+I``, ``-U``, ``+U`` or ``-D``, as a row prints."""
        return ("+I", "-U", "+U", "-D")[self.value]

    def __str__(self):
        return self.short_string()


class Row(tuple):
    """A record of fields, by position or by name.

    ``Row(1, "a")`` has positional fields; ``Row(id=1, name="a")`` named ones, in the order
    given, readable as ``row.id``, ``row["id"]`` or ``row[0]``. ``Row("id", "name")`` with only
    strings can also serve as a factory: ``Row("id", "name")(1, "a")``.
    """

    def __new__(cls, *args, **kwargs):
        if args and kwargs:
            raise ValueError("a Row takes positional or named fields, not both")
        if kwargs:
            row = tuple.__new__(cls, kwargs.values())
            row._fields = list(kwargs.keys())
        else:
            row = tuple.__new__(cls, args)
            row._fields = None
        row._row_kind = RowKind.INSERT
        return row

    @classmethod
    def of_kind(cls, row_kind, *args, **kwargs):
        """A row of the fields given, with change kind ``row_kind``."""
        row = cls(*args, **kwargs)
        row.set_row_kind(row_kind)
        return row

    @classmethod
    def _of(cls, values, names):
        """A row of ``values`` with ``names`` (empty: positional), without checks (the engine
        builds rows through ``pyflink_rs.bridge.build_row``)."""
        row = tuple.__new__(cls, values)
        row._fields = list(names) if names else None
        row._row_kind = RowKind.INSERT
        return row

    def as_dict(self, recursive=False):
        """The fields as a dict of name to value (named rows only)."""
        if self._fields is None:
            raise TypeError("as_dict() needs a row with named fields")

        def convert(value):
            if recursive and isinstance(value, Row):
                return value.as_dict(True)
            return value

        return {name: convert(value) for name, value in zip(self._fields, self)}

    def get_row_kind(self):
        """The row's change kind (``RowKind.INSERT`` unless set)."""
        return self._row_kind

    def set_row_kind(self, row_kind):
        """Sets the row's change kind."""
        self._row_kind = row_kind

    def get_fields_by_names(self, names):
        """The values of the fields called ``names``."""
        return [self[name] for name in names]

    def set_field_names(self, field_names):
        """Names the row's fields."""
        if len(field_names) != len(self):
            raise ValueError(f"{len(field_names)} names for a row of {len(self)} fields")
        self._fields = list(field_names)

    def __call__(self, *args):
        # A row of field names used as a factory: Row("a", "b")(1, 2).
        if self._fields is not None or not all(isinstance(name, str) for name in self):
            raise TypeError("only a Row of field names can build rows")
        if len(args) != len(self):
            raise ValueError(f"expected {len(self)} values, got {len(args)}")
        return Row._of(args, list(self))

    def __getitem__(self, item):
        if isinstance(item, str):
            if self._fields is None or item not in self._fields:
                raise KeyError(item)
            return tuple.__getitem__(self, self._fields.index(item))
        return tuple.__getitem__(self, item)

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        fields = self.__dict__.get("_fields")
        if fields is None or name not in fields:
            raise AttributeError(f"Row has no field {name!r}")
        return tuple.__getitem__(self, fields.index(name))

    def __setattr__(self, name, value):
        if not name.startswith("_"):
            raise RuntimeError("a Row is read-only")
        object.__setattr__(self, name, value)

    def __eq__(self, other):
        if not isinstance(other, Row):
            return False
        return self._row_kind == other._row_kind and tuple.__eq__(self, other) and (
            self._fields == other._fields or self._fields is None or other._fields is None
        )

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return tuple.__hash__(self)

    def __reduce__(self):
        return (Row._restore, (tuple(self), self._fields, self._row_kind.value))

    @staticmethod
    def _restore(values, names, kind):
        row = Row._of(values, names)
        row._row_kind = RowKind(kind)
        return row

    def __repr__(self):
        if self._fields is not None:
            return "Row(" + ", ".join(f"{name}={value!r}" for name, value in zip(self._fields, self)) + ")"
        return "Row(" + ", ".join(repr(value) for value in self) + ")"
