"""Background jobs: work too long for a request runs here, reports its progress, and leaves a file.

A job is a row (portal.models.jobs.Job) plus a handler registered under its kind. `submit` adds
the row; once the caller has committed, `start` hands it to the runner named by JOB_BACKEND:

- ``thread`` (default): a small thread pool in this process, each job in its own app context and
  so its own database session;
- ``rq``: a Redis queue (REDIS_URL) served by ``flask jobs worker``, for production;
- ``eager``: at once, in the caller's session (tests: deterministic, no thread).

The runner commits the job's progress as it goes, so the owner's progress page sees it. A handler
gathers what it needs from the database first and renders afterwards: on SQLite the runner's
transactions take the write lock (no request context), so none may stay open through a long render.
"""

import importlib
import logging
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

from flask import Flask, current_app, has_app_context
from sqlalchemy import inspect, update

from portal.models import Job, JobStatus, Role, User
from portal.models.base import db, utcnow
from portal.services import filestore
from portal.services.errors import Conflict, DomainError, NotFound

log = logging.getLogger("mkopo.jobs")

# Modules whose import registers handlers: a worker process must know every kind it may be handed.
HANDLER_MODULES = ("portal.services.statements",)
# A queued or running job that has not moved for this long lost its runner (a restart, a crash).
STALE_AFTER = timedelta(minutes=15)
FAILED_MESSAGE = "Something went wrong while preparing this file. We have been told; please try again."

Progress = Callable[[int, str], None]


@dataclass(frozen=True)
class JobResult:
    """What a handler hands back: the file's bytes and how to offer it for download."""

    data: bytes
    filename: str
    content_type: str


Handler = Callable[..., JobResult]
_handlers: dict[str, Handler] = {}


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Register `fn(params, *, actor, progress) -> JobResult` as the handler of jobs of `kind`."""

    def register(fn: Handler) -> Handler:
        _handlers[kind] = fn
        return fn
    return register


def _handler_for(kind: str) -> Handler:
    if kind not in _handlers:
        for module in HANDLER_MODULES:
            importlib.import_module(module)
    try:
        return _handlers[kind]
    except KeyError:
        raise LookupError(f"no handler registered for job kind {kind!r}") from None


def submit(kind: str, params: dict, *, actor: User, message: str = "Waiting to start…") -> Job:
    """Add a queued job owned by `actor`; commit, then `start` it."""
    _handler_for(kind)  # an unknown kind is a programming error: refuse it now, not in the worker
    job = Job(id=secrets.token_urlsafe(16), kind=kind, owner_id=actor.id, params=params,
              status=JobStatus.QUEUED, progress=0, message=message)
    db.session.add(job)
    db.session.flush()
    return job


def start(job: Job) -> None:
    """Hand a committed job to the runner (the runner reads it from its own session)."""
    # The id without a reload: after the commit, touching `job.id` would open a transaction, and
    # on SQLite one opened outside a request holds the write lock the runner is about to need.
    job_id = inspect(job).identity[0]
    backend = current_app.config["JOB_BACKEND"]
    if backend == "eager":
        run(job_id)
    elif backend == "thread":
        app = current_app._get_current_object()
        _executor(app).submit(_run_in_thread, app, job_id)
    elif backend == "rq":
        from redis.exceptions import RedisError

        queue = _queue()
        try:
            queue.enqueue(run_from_queue, job_id, job_timeout=int(STALE_AFTER.total_seconds()),
                          description=f"job {job_id}")
        except RedisError:  # the owner sees why on the job's page, rather than an error page
            log.exception("job %s: could not be queued", job_id)
            _finish(job_id, JobStatus.FAILED, message="The job queue cannot be reached just now; please try again.")
    else:
        raise RuntimeError(f"JOB_BACKEND must be eager, thread or rq, not {backend!r}")


def _executor(app: Flask) -> ThreadPoolExecutor:
    executor = app.extensions.get("mkopo.jobs")
    if executor is None:
        executor = app.extensions.setdefault("mkopo.jobs", ThreadPoolExecutor(
            max_workers=app.config["JOB_THREADS"], thread_name_prefix="mkopo-job"))
    return executor


def _run_in_thread(app: Flask, job_id: str) -> None:
    with app.app_context():
        try:
            run(job_id)
        except Exception:  # nothing above a pool thread would report it
            log.exception("job %s: the runner itself failed", job_id)


def _queue():
    from redis import Redis
    from rq import Queue

    url = current_app.config.get("REDIS_URL")
    if not url:
        raise RuntimeError("JOB_BACKEND=rq needs REDIS_URL")
    return Queue(current_app.config["JOB_QUEUE"], connection=Redis.from_url(url))


def run_from_queue(job_id: str) -> None:
    """The rq entry point: run the job in an app context of its own."""
    if has_app_context():  # `flask jobs worker` runs inside the app
        app = current_app._get_current_object()
    else:  # a bare `rq worker`
        from portal import create_app

        app = create_app()
    with app.app_context():
        run(job_id)


def work(*, burst: bool = False) -> None:
    """Serve the rq queue until stopped (or, with `burst`, until it is empty).

    rq's SimpleWorker runs each job in this process (no fork), so no database connection is ever
    shared with a child; start more workers for more jobs at once.
    """
    from rq import SimpleWorker

    queue = _queue()
    SimpleWorker([queue], connection=queue.connection).work(burst=burst)


def run(job_id: str) -> None:
    """Run one queued job to its end: done with a file, or failed with a message (never raised)."""
    claimed = db.session.execute(
        update(Job).where(Job.id == job_id, Job.status == JobStatus.QUEUED)
        .values(status=JobStatus.RUNNING, started_at=utcnow(), updated_at=utcnow(), message="Starting…")).rowcount
    db.session.commit()
    if claimed != 1:  # delivered twice, or already taken by another runner
        return
    job = db.session.get(Job, job_id, populate_existing=True)
    kind, params, owner_id = job.kind, dict(job.params), job.owner_id
    reporter = _Reporter(job_id)
    try:
        owner = db.session.get(User, owner_id)
        if owner is None or not owner.is_active:
            raise Conflict("The account that asked for this file is no longer active.")
        result = _handler_for(kind)(params, actor=owner, progress=reporter)
        key = filestore.put(result.data)
    except Exception as exc:
        db.session.rollback()
        if isinstance(exc, DomainError):
            message = exc.message
        else:
            log.exception("job %s (%s) failed", job_id, kind)
            message = FAILED_MESSAGE
        _finish(job_id, JobStatus.FAILED, message=message[:500])
        return
    _finish(job_id, JobStatus.DONE, progress=100, message="Ready to download.", result_key=key,
            filename=result.filename[:200], content_type=result.content_type)


def _finish(job_id: str, status: JobStatus, **values) -> None:
    now = utcnow()
    db.session.execute(update(Job).where(Job.id == job_id)
                       .values(status=status, finished_at=now, updated_at=now, **values))
    db.session.commit()


class _Reporter:
    """The `progress(percent, message)` a handler calls; each report is committed at once."""

    def __init__(self, job_id: str):
        self.job_id = job_id
        self.last = -1

    def __call__(self, percent: int, message: str = "") -> None:
        percent = max(0, min(99, int(percent)))  # 100 only once the file is stored
        if percent == self.last and not message:
            return
        self.last = percent
        values = {"progress": percent, "updated_at": utcnow()}
        if message:
            values["message"] = message[:500]
        db.session.execute(update(Job).where(Job.id == self.job_id).values(**values))
        db.session.commit()


def get_owned(job_id: str, *, actor: User) -> Job:
    """The job, for its owner or an admin; anyone else is told it does not exist."""
    job = db.session.get(Job, job_id) if isinstance(job_id, str) and len(job_id) <= 32 else None
    if job is None or not (job.owner_id == actor.id or actor.role == Role.ADMIN):
        raise NotFound("No such job.")
    if not job.status.finished and utcnow() - job.updated_at > STALE_AFTER:
        # Its runner is gone (a restart): say so rather than leave the owner watching forever.
        job.status, job.finished_at = JobStatus.FAILED, utcnow()
        job.message = "This job was interrupted before it finished. Please ask for the file again."
        db.session.flush()
    return job


def result_of(job: Job) -> bytes:
    """The finished job's file (`get_owned` first: it decides who may have it)."""
    if job.status != JobStatus.DONE or not job.result_key:
        raise Conflict("This file is not ready yet.")
    return filestore.read(job.result_key)
