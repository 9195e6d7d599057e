"""The job facility: queued -> running -> done with progress, failures kept as messages, owners only."""

import time
from datetime import timedelta

import pytest
from flask_migrate import upgrade

from portal import create_app
from portal.models import Job, JobStatus, Role, User
from portal.models.base import db, utcnow
from portal.services import filestore, jobs, statements
from portal.services.errors import Conflict, NotFound, ValidationFailed
from tests import factories
from tests.statements.conftest import pdf_text

seen_while_running: list[tuple] = []


@jobs.handler("test.echo")
def _echo(params, *, actor, progress):
    job = db.session.scalars(db.select(Job).where(Job.kind == "test.echo").order_by(Job.created_at.desc())).first()
    seen_while_running.append((job.status, job.started_at is not None))
    progress(40, "Halfway")
    seen_while_running.append((db.session.get(Job, job.id).progress, db.session.get(Job, job.id).message))
    return jobs.JobResult(f"{params['text']} for {actor.username}".encode(), "echo.txt", "text/plain")


@jobs.handler("test.broken")
def _broken(params, *, actor, progress):
    progress(10, "About to break")
    raise RuntimeError("the renderer fell over: /srv/secret/path")


@jobs.handler("test.refused")
def _refused(params, *, actor, progress):
    raise ValidationFailed({"start": ["Give the start date (YYYY-MM-DD)."]}, "Check the statement period.")


def test_job_goes_queued_running_done_with_progress_and_a_stored_file(make_user):
    seen_while_running.clear()
    owner = make_user(Role.LOAN_OFFICER)
    job = jobs.submit("test.echo", {"text": "hello"}, actor=owner)
    assert (job.status, job.progress, job.started_at) == (JobStatus.QUEUED, 0, None)
    assert len(job.id) >= 20  # a random token, not a counter

    jobs.run(job.id)

    assert seen_while_running == [(JobStatus.RUNNING, True), (40, "Halfway")]
    db.session.refresh(job)
    assert (job.status, job.progress, job.message) == (JobStatus.DONE, 100, "Ready to download.")
    assert (job.filename, job.content_type) == ("echo.txt", "text/plain")
    assert job.started_at <= job.finished_at
    assert jobs.result_of(job) == filestore.read(job.result_key) == f"hello for {owner.username}".encode()


def test_a_job_runs_once_however_often_it_is_delivered(make_user):
    seen_while_running.clear()
    job = jobs.submit("test.echo", {"text": "once"}, actor=make_user())
    jobs.run(job.id)
    jobs.run(job.id)
    assert len(seen_while_running) == 2  # one run: two observations


def test_failing_job_ends_failed_with_a_message_and_no_traceback(make_user, caplog):
    job = jobs.submit("test.broken", {}, actor=make_user())
    jobs.run(job.id)  # never raises
    db.session.refresh(job)
    assert job.status == JobStatus.FAILED and job.finished_at is not None
    assert job.message == jobs.FAILED_MESSAGE and "/srv/secret" not in job.message
    assert "the renderer fell over" in caplog.text  # the details go to the log
    with pytest.raises(Conflict):
        jobs.result_of(job)


def test_refused_job_keeps_the_services_own_message(make_user):
    job = jobs.submit("test.refused", {}, actor=make_user())
    jobs.run(job.id)
    db.session.refresh(job)
    assert (job.status, job.message) == (JobStatus.FAILED, "Check the statement period.")


def test_unknown_kind_is_refused_when_submitted(make_user):
    with pytest.raises(LookupError):
        jobs.submit("no.such.kind", {}, actor=make_user())


def test_only_the_owner_or_an_admin_may_see_a_job(make_user):
    owner = make_user(Role.COLLECTION_OFFICER)
    job = jobs.submit("test.echo", {"text": "x"}, actor=owner)
    assert jobs.get_owned(job.id, actor=owner) is job
    assert jobs.get_owned(job.id, actor=make_user(Role.ADMIN)) is job
    for stranger in (make_user(Role.COLLECTION_OFFICER), make_user(Role.MANAGER)):
        with pytest.raises(NotFound):
            jobs.get_owned(job.id, actor=stranger)
    with pytest.raises(NotFound):
        jobs.get_owned("x" * 500, actor=owner)


def test_a_job_whose_runner_died_is_reported_failed(make_user):
    owner = make_user()
    job = jobs.submit("test.echo", {"text": "x"}, actor=owner)
    job.updated_at = utcnow() - jobs.STALE_AFTER - timedelta(seconds=1)
    db.session.flush()
    assert jobs.get_owned(job.id, actor=owner).status == JobStatus.FAILED
    assert "interrupted" in job.message


def test_statement_job_rechecks_access_when_it_runs(loan, staff, other_collector):
    job = statements.queue_loan_statement(loan.id, actor=staff.collector)
    loan.customer.assigned_officer_id = other_collector.id  # reassigned before the job ran
    db.session.flush()
    jobs.run(job.id)
    db.session.refresh(job)
    assert (job.status, job.message) == (JobStatus.FAILED, "This customer is not assigned to you.")


def test_statement_job_reports_layout_progress(loan, staff, monkeypatch):
    reports = []
    original = jobs._Reporter.__call__
    monkeypatch.setattr(jobs._Reporter, "__call__", lambda self, p, m="": reports.append((p, m)) or
                        original(self, p, m))
    job = statements.queue_loan_statement(loan.id, actor=staff.loan_officer)
    jobs.run(job.id)
    db.session.refresh(job)
    assert job.status == JobStatus.DONE and job.filename.startswith(f"loan-statement-{loan.loan_number}")
    percents = [p for p, _ in reports]
    assert percents == sorted(percents) and percents[0] == 5 and percents[-1] == 92
    assert any(message.startswith("Laying out page 1") for _, message in reports)
    assert "4,407.43" in pdf_text(jobs.result_of(job))


def test_rq_backend_enqueues_the_job_for_the_worker(make_user, app, monkeypatch):
    enqueued = []

    class FakeQueue:
        def enqueue(self, fn, *args, **kwargs):
            enqueued.append((fn, args, kwargs))

    monkeypatch.setitem(app.config, "JOB_BACKEND", "rq")
    monkeypatch.setattr(jobs, "_queue", FakeQueue)
    job = jobs.submit("test.echo", {"text": "queued"}, actor=make_user())
    jobs.start(job)
    assert [(fn, args) for fn, args, _ in enqueued] == [(jobs.run_from_queue, (job.id,))]
    assert job.status == JobStatus.QUEUED  # the worker runs it, not the web process

    jobs.run_from_queue(job.id)  # what `flask jobs worker` does with it
    db.session.expire_all()
    assert db.session.get(Job, job.id).status == JobStatus.DONE


def test_unreachable_queue_fails_the_job_with_a_message(make_user, app, monkeypatch):
    from redis.exceptions import ConnectionError as RedisConnectionError

    class DownQueue:
        def enqueue(self, *args, **kwargs):
            raise RedisConnectionError("Connection refused")

    monkeypatch.setitem(app.config, "JOB_BACKEND", "rq")
    monkeypatch.setattr(jobs, "_queue", DownQueue)
    job = jobs.submit("test.echo", {"text": "x"}, actor=make_user())
    jobs.start(job)
    db.session.refresh(job)
    assert job.status == JobStatus.FAILED and "queue cannot be reached" in job.message


def test_rq_backend_needs_redis_url(make_user, app, monkeypatch):
    monkeypatch.setitem(app.config, "JOB_BACKEND", "rq")
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    with pytest.raises(RuntimeError, match="REDIS_URL"):
        jobs.start(jobs.submit("test.echo", {"text": "x"}, actor=make_user()))


def test_worker_command_refuses_without_the_rq_backend(app):
    result = app.test_cli_runner().invoke(args=["jobs", "worker", "--burst"])
    assert result.exit_code == 1 and "JOB_BACKEND is not rq" in result.output


def test_threaded_runner_renders_a_statement_in_the_background(tmp_path):
    """The default runner for real: its own thread, app context and session, on a database of its own."""
    app = create_app({"TESTING": True, "JOB_BACKEND": "thread", "SECRET_KEY": "t" * 40,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'threaded.db'}",
                      "UPLOAD_FOLDER": str(tmp_path / "files")})
    with app.app_context():
        upgrade()
        admin = factories.UserFactory(role=Role.ADMIN)
        customer = factories.CustomerFactory(name="Njeri Mwangi")
        job = statements.queue_customer_statement(customer.id, "2025-01-01", "2025-01-31", actor=admin)
        db.session.commit()
        job_id, owner_id = job.id, admin.id
        jobs.start(job)

        statuses, deadline = [], time.monotonic() + 60
        while time.monotonic() < deadline:
            job = db.session.get(Job, job_id, populate_existing=True)
            status, progress, message = job.status, job.progress, job.message
            statuses.append(status)
            # End the transaction before waiting (and touch no expired attribute after it), as each
            # poll request does: outside a request SQLite's write lock is taken at BEGIN.
            db.session.commit()
            if status.finished:
                break
            time.sleep(0.05)
        app.extensions["mkopo.jobs"].shutdown(wait=True)

        assert (status, progress) == (JobStatus.DONE, 100), message
        assert JobStatus.FAILED not in statuses
        job = db.session.get(Job, job_id)
        assert job.started_at <= job.finished_at
        text = pdf_text(jobs.result_of(jobs.get_owned(job_id, actor=db.session.get(User, owner_id))))
        assert "Njeri Mwangi" in text and "Opening balance 0.00" in text
        db.session.remove()
        db.engine.dispose()
