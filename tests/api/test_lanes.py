"""The map's reads take a lane of threads of their own (api/lanes.py): a map read is answered while every thread
of the other routes is taken, the other routes are answered while the map's lane is full, and a map read waits
for the map's lane, not for the other routes' threads."""

from __future__ import annotations

import threading

import anyio.to_thread

from api import lanes
from api.access import api_routes

NEAR = "/risks/near?lon=118.18&lat=39.63&radius_m=2000"
# every request the main map makes as it moves (bench/load's mix)
MAP_READS = {
    ("GET", "/risks/near"), ("GET", "/features"), ("GET", "/features/{kind}/{id}"), ("GET", "/pipeline-segments"),
    ("GET", "/areas"), ("GET", "/areas/{id}"), ("GET", "/exposure"), ("GET", "/exposure/scale"), ("GET", "/"),
    ("GET", "/tiles/{layer}/{z}/{x}/{y}.mvt"), ("GET", "/tiles/{layer}.json"),  # a tiled map's requests
}
LIVENESS_S = 60  # far beyond any answer here: only a request stuck behind taken threads takes this long
SETTLE_S = 5  # a near query takes milliseconds


def in_background(client, url: str) -> tuple[threading.Thread, dict]:
    answer: dict = {}

    def get():
        answer["status"] = client.get(url).status_code

    thread = threading.Thread(target=get, daemon=True)
    thread.start()
    return thread, answer


class Held:
    """Every thread of a limiter taken, in the app's event loop, until released."""

    def __init__(self, client, limiter_of):
        self.client, self.limiter_of = client, limiter_of
        self.borrowers: list[object] = []

    async def _take(self):
        limiter = self.limiter_of()
        while limiter.available_tokens:
            borrower = object()
            await limiter.acquire_on_behalf_of(borrower)
            self.borrowers.append(borrower)
        return limiter.total_tokens

    async def _give_back(self):
        limiter = self.limiter_of()
        for borrower in self.borrowers:
            limiter.release_on_behalf_of(borrower)

    def __enter__(self):
        self.total = self.client.portal.call(self._take)
        return self

    def __exit__(self, *exc):
        self.client.portal.call(self._give_back)


def test_the_routes_the_map_calls_as_it_moves_are_in_its_lane_and_no_other(client):
    in_lane = {(method, route.path) for route in api_routes(client.app.routes) for method in route.methods
               if route.endpoint.__code__.co_name == "in_map_read_lane"}
    assert in_lane == MAP_READS


def test_a_map_read_is_answered_while_every_thread_of_the_other_routes_is_taken(client):
    with Held(client, anyio.to_thread.current_default_thread_limiter) as held:
        assert held.total == 16 - lanes.MAP_READ_THREADS  # the pool's connections less the map's lane
        thread, answer = in_background(client, NEAR)
        thread.join(LIVENESS_S)
        assert answer.get("status") == 200


def test_the_other_routes_are_answered_while_the_maps_lane_is_full_and_a_map_read_waits_for_it(client):
    with Held(client, lanes._map_read_limiter) as held:
        assert held.total == lanes.MAP_READ_THREADS
        waiting, waiting_answer = in_background(client, NEAR)
        other, other_answer = in_background(client, "/risk-list?level=red&format=json")
        other.join(LIVENESS_S)
        assert other_answer.get("status") == 200
        waiting.join(SETTLE_S)  # (a map read outside the lane would be answered long before)
        assert waiting.is_alive() and not waiting_answer  # the map's lane is full: it waits its turn
    waiting.join(LIVENESS_S)
    assert waiting_answer.get("status") == 200


def test_a_map_read_refuses_a_bad_parameter_and_a_missing_feature_as_before(client):
    # a parameter is checked before the lane (422), a feature looked for in it (404)
    assert client.get("/risks/near?lon=118.18&lat=91&radius_m=100").status_code == 422
    assert client.get("/features/enterprise/999999999").status_code == 404
