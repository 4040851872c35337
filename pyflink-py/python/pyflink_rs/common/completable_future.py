"""PyFlink's ``CompletableFuture``: the answer to a request made of a running job."""


class CompletableFuture:
    """A value that is ready now or once a job has ended. ``result()`` waits for it (Ctrl-C
    interrupts the wait); ``done()`` says whether it is ready."""

    def __init__(self, compute, is_done=lambda: True):
        self._compute = compute
        self._is_done = is_done
        self._outcome = None

    def _settle(self):
        if self._outcome is None:
            try:
                self._outcome = (True, self._compute())
            except Exception as error:  # the failure is the future's outcome
                self._outcome = (False, error)
        return self._outcome

    def result(self):
        """The value, once ready; raises what computing it raised."""
        succeeded, value = self._settle()
        if not succeeded:
            raise value
        return value

    def exception(self):
        """What computing the value raised, or ``None``."""
        succeeded, value = self._settle()
        return None if succeeded else value

    def done(self):
        """Whether the value is ready."""
        return self._outcome is not None or self._is_done()

    def cancel(self):
        """A request already made of the job cannot be taken back: returns ``False``."""
        return False

    def cancelled(self):
        return False

    def add_done_callback(self, fn):
        """Calls ``fn(self)`` once the value is ready (waiting for it now if need be)."""
        self._settle()
        fn(self)

    def __repr__(self):
        return f"CompletableFuture(done={self.done()})"
