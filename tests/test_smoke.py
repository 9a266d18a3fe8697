from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine
from sqlalchemy.pool import NullPool

from app.main import create_app
from app.runtime import Runtime


def test_health_and_ready(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json() == {"status": "ready"}


def test_not_ready_on_a_read_only_database(runtime: Runtime, engine: Engine) -> None:
    url = engine.url
    if url.get_backend_name() == "sqlite":
        read_only = create_engine(
            f"sqlite:///file:{url.database}?mode=ro&uri=true", poolclass=NullPool
        )
    else:
        read_only = create_engine(
            url,
            poolclass=NullPool,
            connect_args={"options": "-c default_transaction_read_only=on"},
        )
    frozen = Runtime(settings=runtime.settings, engine=read_only, vault=runtime.vault)
    with TestClient(create_app(runtime=frozen)) as client:
        ready = client.get("/readyz")
    read_only.dispose()
    assert ready.status_code == 503
    assert ready.json() == {"status": "unavailable", "reason": "database is read-only"}
