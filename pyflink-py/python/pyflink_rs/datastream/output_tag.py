"""Side outputs (PyFlink's ``OutputTag``): a process function yields ``(output_tag, value)``
to send ``value`` to the side output, which ``DataStream.get_side_output(output_tag)`` reads."""

from pyflink_rs.common.typeinfo import TypeInformation


class OutputTag:
    """Names a side output and the type of its records (any Python object when not given)."""

    def __init__(self, tag_id, type_info=None):
        if not isinstance(tag_id, str) or not tag_id:
            raise ValueError("an OutputTag needs a non-empty string id")
        if type_info is not None and not isinstance(type_info, TypeInformation):
            raise TypeError(f"expected a type from Types, got {type(type_info).__name__}")
        self.tag_id = tag_id
        self.type_info = type_info

    def __eq__(self, other):
        return isinstance(other, OutputTag) and self.tag_id == other.tag_id

    def __hash__(self):
        return hash(self.tag_id)

    def __repr__(self):
        return f"OutputTag({self.tag_id!r}, {self.type_info!r})"
