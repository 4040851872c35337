"""PyFlink's ``SlotSharingGroup`` and ``MemorySize``: the resources a group of operators asks
for. Every operator here runs in the job's worker threads in one process, so a group's
resources are described and kept (``register_slot_sharing_group``, ``slot_sharing_group()``),
not reserved."""

from functools import total_ordering


@total_ordering
class MemorySize:
    """An amount of memory in bytes, printed as Flink prints it (``64 mb``)."""

    def __init__(self, j_memory_size=None, bytes_size=None):
        if j_memory_size is not None:
            raise TypeError("pyflink-rs has no JVM: create MemorySize(bytes_size=...) without a Java object")
        if bytes_size is None or int(bytes_size) < 0:
            raise ValueError(f"a memory size is a number of bytes of at least 0, not {bytes_size}")
        self._bytes = int(bytes_size)

    @staticmethod
    def of_mebi_bytes(mebi_bytes):
        return MemorySize(bytes_size=int(mebi_bytes) << 20)

    def get_bytes(self):
        return self._bytes

    def get_kibi_bytes(self):
        return self._bytes >> 10

    def get_mebi_bytes(self):
        return self._bytes >> 20

    def get_gibi_bytes(self):
        return self._bytes >> 30

    def get_tebi_bytes(self):
        return self._bytes >> 40

    def __eq__(self, other):
        return isinstance(other, MemorySize) and self._bytes == other._bytes

    def __hash__(self):
        return hash(self._bytes)

    def __lt__(self, other):
        if not isinstance(other, MemorySize):
            return NotImplemented
        return self._bytes < other._bytes

    def __str__(self):
        # The largest unit that divides the size, as Flink's toHumanReadableString does not
        # round: 64 MiB prints as "64 mb", 1000 bytes as "1000 bytes".
        for shift, unit in ((40, "tb"), (30, "gb"), (20, "mb"), (10, "kb")):
            if self._bytes and self._bytes % (1 << shift) == 0:
                return f"{self._bytes >> shift} {unit}"
        return f"{self._bytes} bytes"

    def __repr__(self):
        return f"MemorySize({self})"


class SlotSharingGroup:
    """A named group of operators and the resources it asks for (``SlotSharingGroup.builder``)."""

    def __init__(self, name, cpu_cores=None, task_heap=None, task_off_heap=None, managed=None, external=None):
        self._name = name
        self._cpu_cores = cpu_cores
        self._task_heap = task_heap
        self._task_off_heap = task_off_heap
        self._managed = managed
        self._external = dict(external or {})

    def get_name(self):
        return self._name

    def get_managed_memory(self):
        return self._managed

    def get_task_heap_memory(self):
        return self._task_heap

    def get_task_off_heap_memory(self):
        return self._task_off_heap

    def get_cpu_cores(self):
        return self._cpu_cores

    def get_external_resources(self):
        return dict(self._external)

    @staticmethod
    def builder(name):
        """A builder of the group ``name``."""
        return SlotSharingGroup.Builder(name)

    def _key(self):
        return (self._name, self._cpu_cores, self._task_heap, self._task_off_heap, self._managed,
                tuple(sorted(self._external.items())))

    def __eq__(self, other):
        return isinstance(other, SlotSharingGroup) and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        return f"SlotSharingGroup({self._name})"

    class Builder:
        """Sets a group's resources; ``build()`` checks them as Flink does: CPU cores and the
        task heap memory come together or not at all."""

        def __init__(self, name):
            if not name:
                raise ValueError("a slot sharing group needs a name")
            self._name = name
            self._cpu_cores = None
            self._task_heap = None
            self._task_off_heap = None
            self._managed = None
            self._external = {}

        def set_cpu_cores(self, cpu_cores):
            if float(cpu_cores) <= 0:
                raise ValueError(f"the CPU cores must be positive, not {cpu_cores}")
            self._cpu_cores = float(cpu_cores)
            return self

        def set_task_heap_memory(self, task_heap_memory):
            if task_heap_memory.get_bytes() <= 0:
                raise ValueError("the task heap memory must be positive")
            self._task_heap = task_heap_memory
            return self

        def set_task_heap_memory_mb(self, task_heap_memory_mb):
            return self.set_task_heap_memory(MemorySize.of_mebi_bytes(task_heap_memory_mb))

        def set_task_off_heap_memory(self, task_off_heap_memory):
            self._task_off_heap = task_off_heap_memory
            return self

        def set_task_off_heap_memory_mb(self, task_off_heap_memory_mb):
            return self.set_task_off_heap_memory(MemorySize.of_mebi_bytes(task_off_heap_memory_mb))

        def set_managed_memory(self, managed_memory):
            self._managed = managed_memory
            return self

        def set_managed_memory_mb(self, managed_memory_mb):
            return self.set_managed_memory(MemorySize.of_mebi_bytes(managed_memory_mb))

        def set_external_resource(self, name, value):
            if float(value) <= 0:
                raise ValueError(f"the amount of external resource '{name}' must be positive, not {value}")
            self._external[name] = float(value)
            return self

        def build(self):
            if (self._cpu_cores is None) != (self._task_heap is None):
                raise ValueError(
                    "the CPU cores and the task heap memory of a slot sharing group are set together "
                    "or not at all"
                )
            return SlotSharingGroup(self._name, self._cpu_cores, self._task_heap, self._task_off_heap,
                                    self._managed, self._external)
