"""How sinks encode records (PyFlink's ``Encoder``)."""


class Encoder:
    """Turns a record into the bytes of one row of a file."""

    def __init__(self, charset):
        self.charset = charset

    @staticmethod
    def simple_string_encoder(charset_name="UTF-8"):
        """Each record's string form in ``charset_name``, one per line."""
        return Encoder(charset_name)

    def encode(self, record):
        """The row of ``record``."""
        return (str(record) + "\n").encode(self.charset)
