"""Row formats of messages and lines: ``json`` and ``csv``."""
