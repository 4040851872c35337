"""``InputFormat``: what ``StreamExecutionEnvironment.create_input`` reads (PyFlink's
``pyflink.common.io``)."""

from abc import ABC, abstractmethod


class InputFormat(ABC):
    """A source of records that ``env.create_input(input_format)`` turns into a stream, such as
    ``AvroInputFormat``."""

    @abstractmethod
    def _read(self, native_environment):
        """The engine's stream of the format's records."""

    def _type_info(self):
        """The type of the records read, if the format knows it."""
        return None


__all__ = ["InputFormat"]
