"""ORC files (PyFlink's ``pyflink.datastream.formats.orc``): rows of a ``DataTypes.ROW``
written with ``OrcBulkWriters``.

Fields are ORC columns of their names, holding BOOLEAN, TINYINT, SMALLINT, INT, BIGINT, FLOAT,
DOUBLE and string values, each nullable. Part files roll at checkpoints and are written without
compression (``orc.compress`` may be ``NONE``; other codecs are refused rather than ignored).
``hadoop_config`` is accepted and has nothing to configure here (no Hadoop).
"""

from pyflink_rs import _native
from pyflink_rs.common.serialization import RowDataBulkWriterFactory
from pyflink_rs.datastream.formats.parquet import _row_type_info


class OrcBulkWriters:
    """Writers of ORC part files of rows (``FileSink.for_bulk_format(path,
    OrcBulkWriters.for_row_type(row_type))``)."""

    @staticmethod
    def for_row_type(row_type, writer_properties=None, hadoop_config=None):
        """Writes the stream's rows (``Row``s, tuples or lists of ``row_type``'s fields);
        ``writer_properties`` is a ``Configuration`` of ORC writer options."""
        if writer_properties is not None:
            codec = writer_properties.to_dict().get("orc.compress", "NONE")
            if codec.upper() != "NONE":
                raise ValueError(f"ORC files are written without compression here; orc.compress={codec} is not supported")
        type_info = _row_type_info(row_type, "OrcBulkWriters.for_row_type")
        return RowDataBulkWriterFactory(None, type_info, _native.BulkFileFormat.ORC_ROWS(type_info._native()))


__all__ = ["OrcBulkWriters"]
