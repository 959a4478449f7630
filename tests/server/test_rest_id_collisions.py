"""Issue 11, defect 4 over REST, as reproduced: caller-supplied ids colliding with
kv ids of the same namespace (was: overwritten in place) and of another namespace
(was: 500 with the db path). Now 409 ``id_conflict`` or success, never 5xx."""

from __future__ import annotations

import uuid

from starlette.testclient import TestClient

from memoryd import Settings
from memoryd.ids import deterministic_id


def test_put_kv_never_overwrites_a_memory_holding_its_id(
    http: TestClient, server_settings: Settings
) -> None:
    kv_id = str(deterministic_id("default", "kv", "samens"))
    created = http.post("/v1/memories", json={"content": "precious memory", "id": kv_id})
    assert created.status_code == 201
    answer = http.put("/v1/kv/samens", json={"value": 1})
    assert answer.status_code == 409
    error = answer.json()["error"]
    assert error["code"] == "id_conflict"
    assert error["details"] == {"id": kv_id, "namespace": "default"}
    assert str(server_settings.data_dir) not in answer.text
    kept = http.get(f"/v1/memories/{kv_id}").json()
    assert (kept["kind"], kept["content"]) == ("memory", "precious memory")
    assert http.get("/v1/kv/samens").status_code == 404
    assert http.delete("/v1/kv/samens").json() == {"deleted": False}
    assert http.get(f"/v1/memories/{kv_id}").status_code == 200


def test_an_attackers_id_never_blocks_the_victims_key(
    http: TestClient, server_settings: Settings
) -> None:
    victim_id = str(deterministic_id("victim", "kv", "theme"))
    planted = http.post(
        "/v1/memories", json={"content": "x", "id": victim_id, "namespace": "attacker"}
    )
    assert planted.status_code == 201
    saved = http.put("/v1/kv/theme?namespace=victim", json={"value": "dark"})
    assert saved.status_code == 200, saved.text
    assert saved.json()["id"] == victim_id and saved.json()["namespace"] == "victim"
    assert http.get("/v1/kv/theme?namespace=victim").json() == {"value": "dark"}
    # the attacker learns nothing: its own entry is unchanged, the victim's is not visible
    mine = http.get(f"/v1/memories/{victim_id}?namespace=attacker").json()
    assert (mine["content"], mine["kind"]) == ("x", "memory")
    listed = http.get("/v1/memories?namespace=attacker").json()["items"]
    assert [e["id"] for e in listed] == [victim_id] and listed[0]["content"] == "x"
    assert str(server_settings.data_dir) not in saved.text


def test_post_with_a_taken_id_is_409_and_the_same_id_elsewhere_is_free(
    http: TestClient, server_settings: Settings
) -> None:
    taken = str(uuid.uuid4())
    assert http.post("/v1/memories", json={"content": "one", "id": taken}).status_code == 201
    again = http.post("/v1/memories", json={"content": "two", "id": taken})
    assert again.status_code == 409 and again.json()["error"]["code"] == "id_conflict"
    assert str(server_settings.data_dir) not in again.text
    elsewhere = http.post("/v1/memories", json={"content": "two", "id": taken, "namespace": "b"})
    assert elsewhere.status_code == 201
    superseded = http.post(
        f"/v1/memories/{taken}/supersede", json={"content": "one, v2", "id": taken}
    )
    assert superseded.status_code == 409
    assert superseded.json()["error"]["code"] == "id_conflict"
