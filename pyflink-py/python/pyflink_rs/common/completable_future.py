"""PyFlink's ``CompletableFuture``: the answer to a request made of a running job."""

import threading

# How long one wait for a request's thread lasts before the interpreter sees signals again.
_WAIT_STEP_SECONDS = 0.1


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

    @staticmethod
    def _in_background(compute):
        """A future of ``compute()``, run at once on a thread of its own (a request the job
        answers later, such as a savepoint)."""
        outcome = []

        def run():
            try:
                outcome.append((True, compute()))
            except Exception as error:  # the failure is the future's outcome
                outcome.append((False, error))

        thread = threading.Thread(target=run, name="pyflink-rs job request", daemon=True)
        thread.start()

        def wait():
            while thread.is_alive():
                thread.join(_WAIT_STEP_SECONDS)
            succeeded, value = outcome[0]
            if not succeeded:
                raise value
            return value

        return CompletableFuture(wait, lambda: not thread.is_alive())

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
