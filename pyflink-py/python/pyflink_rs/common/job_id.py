"""PyFlink's ``JobID``: the id of a job, 16 bytes shown as 32 hexadecimal digits."""


class JobID:
    """The id of a job (``JobClient.get_job_id()``)."""

    def __init__(self, hex_string):
        if len(hex_string) != 32 or any(c not in "0123456789abcdef" for c in hex_string.lower()):
            raise ValueError(f"a job id is 32 hexadecimal digits, got {hex_string!r}")
        self._hex = hex_string.lower()

    def to_hex_string(self):
        """The id as 32 hexadecimal digits."""
        return self._hex

    def __str__(self):
        return self._hex

    def __repr__(self):
        return f"JobID({self._hex!r})"

    def __eq__(self, other):
        return isinstance(other, JobID) and other._hex == self._hex

    def __hash__(self):
        return hash(self._hex)
