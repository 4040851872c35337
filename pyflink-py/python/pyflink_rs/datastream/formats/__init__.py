"""Row formats of messages, lines and files: ``json``, ``csv``, ``avro`` and ``parquet``."""
