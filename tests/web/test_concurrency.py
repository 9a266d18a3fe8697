"""Concurrent repeats of one submission create one case (run on PostgreSQL too, where the
race is real: GRIEVANCE_TEST_DATABASE_URL=postgresql+psycopg://...)."""

from __future__ import annotations

import threading
import uuid

from fastapi.testclient import TestClient

from app.audit.service import Actor
from app.runtime import Runtime
from app.submissions.service import Filed, file_submission, validate
from tests.web.helpers import body, cases


def test_concurrent_repeats_create_one_case(runtime: Runtime) -> None:
    submission = validate(body(receipt_code="7KQ2-M9XD-3HTR-P4WB", contact="+8801711000000"))
    threads = 8
    start = threading.Barrier(threads)
    results: list[Filed] = []
    errors: list[BaseException] = []

    def file_once() -> None:
        try:
            with runtime.session() as session:
                start.wait()
                filed = file_submission(
                    session,
                    runtime.vault,
                    submission=submission,
                    channel="web",
                    actor=Actor("reporter"),
                )
                session.commit()
                results.append(filed)
        except BaseException as exc:  # reported below, with the thread's own error
            errors.append(exc)

    workers = [threading.Thread(target=file_once) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert not errors, errors
    assert len(results) == threads
    assert sum(1 for r in results if r.created) == 1
    assert len({r.case.id for r in results}) == 1
    assert len(cases(runtime)) == 1


def test_concurrent_repeats_through_the_api(client: TestClient, runtime: Runtime) -> None:
    sent = body(submission_id=str(uuid.uuid4()))
    answers: list[int] = []

    def post() -> None:
        answers.append(client.post("/api/v1/submissions", json=sent).status_code)

    workers = [threading.Thread(target=post) for _ in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert sorted(answers) == [200] * 5 + [201]
    assert len(cases(runtime)) == 1
