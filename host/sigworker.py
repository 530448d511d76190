"""Signature checks in a second process, while the verifier reads on (CPython, two cores).

Checking an Ed25519 signature is about half of what verifying a ledger costs, and the rest
(reading, parsing, chaining) is Python, which one process runs on one core at a time. A
worker process checks batches of signatures while this one parses the next entries, so on
a machine with a free core the two halves overlap. The outcomes are ``SignatureChecker``'s
own, taken in the order submitted; a worker that cannot be started or that fails hands its
batches back to be checked here, so the report never depends on it.

Threads would share one interpreter lock: the checking thread would wait for it after every
signature while the parsing thread holds it. A process has its own.

``LedgerWorker`` goes further for a caller that holds a ledger, or a span of one, parsed: a
forked process verifies all of it (chain and signatures) while the caller does other work
with the entries (an export copies the recording's fragments meanwhile), and answers with
the report.
"""

from collections import deque
from typing import TypeGuard

from host import forking
from protocol.signer import HAVE_NACL, SignatureChecker
from protocol.verify import CheckPipeline, Report, verify_records

BATCH = 32  # signatures sent to the worker at once
# Records below which a whole ledger is verified here, when its report is asked for: a
# worker's start costs more than verifying them (about 0.15 ms a record).
LEDGER_WORKER_MIN = 256
IN_FLIGHT = 4  # batches sent and not yet answered: bounds what the pipe and worker hold


def _serve(conn, public_key: bytes) -> None:
    """The worker: answer each batch of (message, signature) with one byte per outcome."""
    checker = SignatureChecker(public_key)
    while True:
        try:
            batch = conn.recv()
            conn.send_bytes(bytes(checker.check(m, s) for m, s in batch))
        except (EOFError, OSError):
            return  # the command has gone


def _outcomes(answer: bytes, batch: list) -> bool:
    """Whether ``answer`` is one outcome (0 or 1) for each of ``batch``."""
    return len(answer) == len(batch) and not answer.translate(None, b"\x00\x01")


class WorkerChecks(CheckPipeline):
    """A ``CheckPipeline`` whose checks run in a worker process, started at the first full
    batch (a short ledger is checked here and starts nothing)."""

    def __init__(self, public_key: bytes) -> None:
        self._key = bytes(public_key)
        self._checker = SignatureChecker(self._key)
        self._batch: list = []  # submitted, not yet sent
        self._sent: deque = deque()  # batches sent, oldest first, kept until answered
        self._outcomes: deque = deque()  # outcomes in hand, oldest first
        self._proc: forking.Forked | None = None  # the worker, from the first full batch
        self._broken = False  # no worker could start, or it failed: every check is made here

    def submit(self, message: bytes, signature: bytes) -> None:
        self._batch.append((message, signature))
        if len(self._batch) >= BATCH:
            self._send()

    def ready(self) -> bool:
        # Answers are collected once a batch, when the next is sent (a poll per record
        # would cost a system call each): an outcome waits a batch or so longer.
        return len(self._outcomes) > 0

    def take(self) -> bool:
        while not self._outcomes:
            if self._sent:
                self._receive()
            elif self._batch:
                # The last, partial batch: checked here, as waiting for a worker would be
                # no faster.
                self._check_here(self._batch)
                self._batch = []
            else:
                raise IndexError("no signature check is waiting")
        return self._outcomes.popleft()

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.close()  # every answer wanted is in, or none is wanted any more

    def _send(self) -> None:
        batch, self._batch = self._batch, []
        if self._proc is None and not self._broken:
            self._start()
        if self._proc is None:
            self._check_here(batch)
            return
        self._sent.append(batch)
        if not self._proc.send(batch):
            self._fail()
            return
        while self._sent and self._proc is not None and self._proc.poll():
            self._receive()
        while len(self._sent) > IN_FLIGHT:
            self._receive()

    def _receive(self) -> None:
        batch = self._sent[0]
        answer = None
        if self._proc is not None:
            answer = self._proc.receive_bytes(lambda got: _outcomes(got, batch))
        if answer is None:
            self._fail()
            return
        self._sent.popleft()
        self._outcomes.extend(b == 1 for b in answer)

    def _start(self) -> None:
        # ``worker_checks`` weighed the cores; ``Forked`` looks again for other threads,
        # which may have started since, and where it forks nothing the checks are made here.
        self._proc = forking.Forked.start(_serve, self._key, duplex=True)
        self._broken = self._proc is None

    def _fail(self) -> None:
        """The worker is gone or garbled: check what it held here, and go on without it."""
        self._broken = True
        sent, self._sent = self._sent, deque()
        for batch in sent:
            self._check_here(batch)
        self.close()

    def _check_here(self, batch: list) -> None:
        check = self._checker.check
        self._outcomes.extend(check(m, s) for m, s in batch)


def worker_checks(public_key: bytes) -> "CheckPipeline | None":
    """Checks in a worker process where that can help (PyNaCl, fork, two or more cores);
    None where the verifier had better check each signature itself, or where no process may
    be forked: with another thread running, a lock it holds at the fork would stay held in
    the worker for ever (``host.forking``)."""
    if not HAVE_NACL or not forking.can_fork(2):
        return None
    return WorkerChecks(public_key)


# --- a whole ledger, parsed, verified beside the caller ------------------------------------


def _verify(
    conn,
    records: list,
    device_id: str,
    public_key: bytes,
    resume: "tuple | None",
    held_to: "int | None" = None,
) -> None:
    """The worker: verify the records it was forked with and send the report."""
    try:
        conn.send(verify_records(records, device_id, public_key, resume=resume, held_to=held_to))
    except (EOFError, OSError):
        pass  # the command has gone


def _is_report(message: object) -> TypeGuard[Report]:
    return isinstance(message, Report)


class LedgerWorker:
    """A ledger's verification (its hash chain and every signature) in a forked process,
    while this one goes on: the worker gets the parsed records by the fork itself, so
    nothing is sent to it, and answers with the report once.

    An export reads the ledger once, finds the recording's chunks in it, and starts copying
    them while the worker verifies; it takes the ``report`` before anything is made final.
    Where no process can be forked (one core, no fork, other threads: ``host.forking``), or
    the worker fails, the report is made here, so it never depends on the worker; a ledger
    of fewer than LEDGER_WORKER_MIN records is verified here too."""

    def __init__(
        self,
        records: list,
        device_id: str,
        public_key: bytes,
        at_least: int = 0,
        resume: "tuple | None" = None,
        held_to: "int | None" = None,
    ) -> None:
        """``at_least``: the fewest records worth a worker (default LEDGER_WORKER_MIN);
        ``resume``: where a span of the ledger starts and what it chains to; ``held_to``:
        the highest seq the store once held (``verify_records``)."""
        self._args = (records, device_id, bytes(public_key), resume, held_to)
        self._report: Report | None = None
        self._proc: forking.Forked | None = None  # the worker, until its report is in
        if len(records) >= (at_least or LEDGER_WORKER_MIN):
            self._proc = forking.Forked.start(_verify, *self._args, cores=2)

    def report(self) -> Report:
        """The report (waiting for the worker if it is still at work)."""
        if self._report is None:
            if self._proc is not None:
                self._report = self._proc.receive(_is_report)
            self.close()
            if self._report is None:
                records, device_id, key, resume, held_to = self._args
                self._report = verify_records(
                    records, device_id, key, resume=resume, held_to=held_to
                )
        return self._report

    def close(self) -> None:
        """End the worker (at once, when its report is no longer wanted)."""
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.close()
