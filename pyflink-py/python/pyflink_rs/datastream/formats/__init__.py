"""Row formats of messages and lines: ``json``, ``csv`` and ``avro``."""
