import pytest

from ivr.worker.serve import ARI_HTTP_SESSIONS, ARI_SESSIONS_KEPT_FREE, ari_connections


@pytest.mark.parametrize("workers", [1, 2, 3, 4, 8])
def test_the_workers_never_take_more_of_asterisks_http_sessions_than_their_share(workers):
    share = ari_connections(workers)
    assert share >= 10
    # each worker: its REST connections and its event websocket
    assert workers * (share + 1) <= ARI_HTTP_SESSIONS - ARI_SESSIONS_KEPT_FREE
