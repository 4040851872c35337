"""Row formats of messages, lines and files: ``json``, ``csv``, ``avro``, ``parquet`` and ``orc``."""
