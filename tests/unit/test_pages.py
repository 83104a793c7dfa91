"""Lists that scale: keyset pages, newest first, filters in SQL, a cursor that survives rows being
added meanwhile, bounds named when broken — and the HTTP answer's Link to the next page."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from litestar.testing import TestClient

from service.app import create_app
from service.domain.descriptor import parse_descriptor
from service.errors import RequestInvalid
from service.settings import Settings
from service.store.database import open_database
from service.store.models import WorkloadRow
from service.store.registry import Registry
from service.wiring import build
from tests.support.descriptors import WorkloadSpec, descriptor

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def _fill(registry: Registry, count: int) -> list[str]:
    """``count`` workloads in two data products, touched a minute apart in pairs (the last pair newest)."""
    ids = []
    for n in range(count):
        dp = "sales" if n % 3 == 0 else "invoices"
        workload = parse_descriptor(descriptor(WorkloadSpec(name=f"w{n:04d}", dag_name=f"w{n}.py"), dp=dp))
        registry.record(workload, f"s/{n}", "provision", "COMPLETED", None, None)
        ids.append(workload.component_id)
    with registry.engine.begin() as conn:
        for n, component_id in enumerate(ids):
            conn.execute(
                sa.update(WorkloadRow)
                .where(WorkloadRow.component_id == component_id)
                .values(last_at=T0 + timedelta(minutes=n // 2))  # pairs share a moment: the id breaks the tie
            )
    return ids


def test_pages_walk_every_row_once_newest_first(tmp_path: Path) -> None:
    registry = Registry(open_database(f"sqlite:///{tmp_path / 'db.sqlite'}", upgrade=True))
    ids = _fill(registry, 250)
    seen, cursor, pages = [], None, 0
    while True:
        page = registry.page(cursor=cursor, limit=100)
        seen += [e.component_id for e in page.items]
        pages += 1
        if page.next is None:
            break
        cursor = page.next
    assert pages == 3
    assert len(seen) == len(set(seen)) == 250
    newest_first = sorted(ids, key=lambda c: (ids.index(c) // 2, c), reverse=True)
    assert seen == newest_first

    sales = registry.page("urn:dmb:dp:finance:sales:1", limit=1000)
    assert [e.data_product_id for e in sales.items] == ["urn:dmb:dp:finance:sales:1"] * 84
    assert sales.next is None
    assert len(registry.page(drift="unchecked", limit=1000).items) == 250
    assert registry.page(drift="drifted").items == []


def test_a_cursor_holds_while_rows_are_added(tmp_path: Path) -> None:
    registry = Registry(open_database(f"sqlite:///{tmp_path / 'db.sqlite'}", upgrade=True))
    _fill(registry, 10)
    first = registry.page(limit=4)
    _fill_one = parse_descriptor(descriptor(WorkloadSpec(name="late", dag_name="late.py")))
    registry.record(_fill_one, "s/late", "provision", "COMPLETED", None, None)  # newest of all now
    rest = registry.page(cursor=first.next, limit=100)
    assert len(first.items) + len(rest.items) == 10  # the newcomer is on a newer page, not this walk


def test_bounds_are_named(tmp_path: Path) -> None:
    registry = Registry(open_database(f"sqlite:///{tmp_path / 'db.sqlite'}", upgrade=True))
    for cursor in ("garbage", "eyJ4IjoxfQ", "%%%"):
        with pytest.raises(RequestInvalid) as refused:
            registry.page(cursor=cursor)
        assert refused.value.problems[0].field == "cursor"
    for limit in (0, 1001, -3):
        with pytest.raises(RequestInvalid) as refused:
            registry.page(limit=limit)
        assert refused.value.problems[0].field == "limit"


def test_the_next_page_is_a_link(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "environ", {**os.environ, "AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t"})
    parts = build(Settings(data_dir=tmp_path, s3_endpoint="http://127.0.0.1:9"))
    _fill(parts.registry, 5)
    with TestClient(app=create_app(parts.settings, parts)) as client:
        first = client.get("/workloads", params={"limit": 2, "dataProduct": "urn:dmb:dp:finance:invoices:1"})
        assert first.status_code == 200
        link = first.headers["link"]
        assert link.startswith("</workloads?limit=2&dataProduct=urn%3Admb%3Adp%3Afinance%3Ainvoices%3A1&cursor=")
        assert link.endswith('>; rel="next"')
        following = client.get(link[1 : link.index(">")])
        assert [w["componentId"] for w in following.json()] != [w["componentId"] for w in first.json()]
        assert len(first.json()) + len(following.json()) == 3
        assert "link" not in following.headers  # the last page
        refused = client.get("/workloads", params={"cursor": "nope"})
        assert refused.status_code == 400
        assert refused.json()["inputErrorField"] == "cursor"
