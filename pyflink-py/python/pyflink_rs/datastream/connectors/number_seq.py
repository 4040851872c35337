"""A parallel source of a range of numbers."""


class NumberSequenceSource:
    """The numbers ``start`` to ``end``, both included, as records of type ``LONG``; split
    over the source's parallel instances."""

    def __init__(self, start, end):
        if start > end:
            raise ValueError(f"a number sequence cannot start ({start}) after its end ({end})")
        self._start = start
        self._end = end

    def _add_to(self, native_environment):
        return native_environment.from_sequence(self._start, self._end)
