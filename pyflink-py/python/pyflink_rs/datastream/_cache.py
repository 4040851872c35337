"""Cached intermediate results (``DataStream.cache()``): the first job that computes a cached
stream also writes its records to files, one per parallel instance; once that job has finished,
later jobs read the stream from those files instead of computing it again.

A writer truncates its file when it opens, so a job restarted from the beginning writes the
result again from scratch; that is why caching needs a bounded job without checkpoints (Flink
caches only in BATCH mode), where a restart starts over.
"""

import os
import pickle
import shutil
import tempfile

from pyflink_rs.datastream.functions import SinkFunction


class _CacheWriter(SinkFunction):
    """Appends each record, pickled, to the file of its parallel instance."""

    def __init__(self, directory):
        self._directory = directory
        self._file = None

    def open(self, runtime_context):
        index = runtime_context.get_index_of_this_subtask()
        self._file = open(os.path.join(self._directory, f"part-{index:05d}"), "wb")

    def invoke(self, value, context):
        pickle.dump(value, self._file, protocol=pickle.HIGHEST_PROTOCOL)

    def close(self):
        if self._file is not None:
            self._file.close()
            self._file = None


class IntermediateResult:
    """The cached records of one stream: where they are written, by which job, and whether that
    job finished."""

    def __init__(self):
        self._directory = None
        # Tells whether the job that writes the result has finished, once one was started.
        self._finished = None
        self._records = None

    def writer(self):
        """A fresh writer for the next job, dropping what an earlier attempt wrote."""
        self.invalidate()
        self._directory = tempfile.mkdtemp(prefix="pyflink-rs-cache-")
        return _CacheWriter(self._directory)

    def written_by(self, finished):
        """Records the job that writes the result: ``finished()`` tells whether it finished."""
        self._finished = finished

    def is_complete(self):
        return self._directory is not None and self._finished is not None and self._finished()

    def is_pending(self):
        """Whether a writer was made but no job has taken it yet."""
        return self._directory is not None and self._finished is None

    def records(self):
        """The cached records, in the order each instance wrote them, instance by instance."""
        if self._records is None:
            records = []
            for name in sorted(os.listdir(self._directory)):
                with open(os.path.join(self._directory, name), "rb") as part:
                    while True:
                        try:
                            records.append(pickle.load(part))
                        except EOFError:
                            break
            self._records = records
        return self._records

    def invalidate(self):
        """Deletes the cached records; the next job that uses the stream computes it again."""
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
        self._directory = None
        self._finished = None
        self._records = None
