import pytest

from resight.ratelimit import RateLimiter, TooManyRequests


def test_sliding_window() -> None:
    now = [0.0]
    limiter = RateLimiter(3, window_seconds=60, clock=lambda: now[0])
    for _ in range(3):
        limiter.hit("a", "requests")
    with pytest.raises(TooManyRequests) as refused:
        limiter.hit("a", "requests")
    assert refused.value.headers == {"Retry-After": "61"}
    limiter.hit("b", "requests")
    now[0] = 60.5
    limiter.hit("a", "requests")
