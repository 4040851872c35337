"""Data views in accumulators of aggregate functions (PyFlink's ``pyflink.table.data_view``):
a ``ListView`` or ``MapView`` field of an accumulator, declared with ``DataTypes.LIST_VIEW``
or ``DataTypes.MAP_VIEW`` in the accumulator type. PyFlink keeps them in state; here they
live with their accumulator, which the engine keeps in keyed state (pickled, with the
views), so they behave alike for the function."""


class DataView:
    """A view of data in an accumulator."""

    def clear(self):
        raise NotImplementedError


class ListView(DataView):
    """A list in an accumulator: ``add``, ``add_all``, ``get`` (the values), ``clear``."""

    def __init__(self):
        self._list = []

    def get(self):
        """The values, in the order they were added."""
        return list(self._list)

    def add(self, value):
        self._list.append(value)

    def add_all(self, values):
        self._list.extend(values)

    def clear(self):
        self._list = []

    def __eq__(self, other):
        return isinstance(other, ListView) and self._list == other._list

    def __hash__(self):
        return hash(tuple(self._list))

    def __iter__(self):
        return iter(list(self._list))

    def __repr__(self):
        return f"ListView({self._list!r})"


class MapView(DataView):
    """A map in an accumulator: ``get``, ``put``, ``put_all``, ``remove``, ``contains``,
    ``items``, ``keys``, ``values``, ``is_empty``, ``clear``, and ``view[key]``."""

    def __init__(self):
        self._map = {}

    def get(self, key):
        """The value of ``key``, or ``None``."""
        return self._map.get(key)

    def put(self, key, value):
        self._map[key] = value

    def put_all(self, dict_value):
        self._map.update(dict_value)

    def remove(self, key):
        self._map.pop(key, None)

    def contains(self, key):
        return key in self._map

    def items(self):
        return list(self._map.items())

    def keys(self):
        return list(self._map.keys())

    def values(self):
        return list(self._map.values())

    def is_empty(self):
        return not self._map

    def clear(self):
        self._map = {}

    def __eq__(self, other):
        return isinstance(other, MapView) and self._map == other._map

    def __hash__(self):
        return hash(frozenset(self._map.items()))

    def __getitem__(self, key):
        return self._map[key]

    def __setitem__(self, key, value):
        self._map[key] = value

    def __delitem__(self, key):
        del self._map[key]

    def __contains__(self, key):
        return key in self._map

    def __iter__(self):
        return iter(list(self._map))

    def __repr__(self):
        return f"MapView({self._map!r})"


__all__ = ["DataView", "ListView", "MapView"]
