"""The Python side of every benchmark: the same workload for python-ts and the peer."""
import time


def noop():
    return None


def add(a, b):
    return a + b


def echo(x):
    return x


def sum_list(xs):
    return sum(xs)


def ints(n):
    return list(range(n))


def floats(n):
    return [i * 0.5 for i in range(n)]


def float_array(n):
    import array
    return array.array('d', (i * 0.5 for i in range(n)))


def sleep(s):
    time.sleep(s)
    return s


def spin(seconds):
    """CPU-bound for about `seconds`, with intervals recorded inside Python."""
    t0 = time.monotonic()
    n = 0
    while time.monotonic() - t0 < seconds:
        for _ in range(1000):
            n += 1
    return [t0, time.monotonic(), n]


def count(n):
    """A fixed amount of CPU work (the same for every bridge)."""
    x = 0
    for i in range(n):
        x += i % 7
    return x


def count_records(recs):
    """The JS → Python direction only: the records arrive, their count goes back."""
    return len(recs)


def make_records(n):
    """The Python → JS direction only: records built here, sent back."""
    return [{'id': i, 'name': 'n%d' % i, 'score': i * 0.5, 'tags': ['a', 'b']} for i in range(n)]


def time_make_records(n):
    """Python's own time to build the records (the floor of the Python → JS row), in ms."""
    t0 = time.perf_counter()
    make_records(n)
    return (time.perf_counter() - t0) * 1e3


def time_json_loads(s):
    """Python's own time to parse JSON (with JSON.stringify, the floor of the JS → Python row), in ms."""
    import json
    t0 = time.perf_counter()
    json.loads(s)
    return (time.perf_counter() - t0) * 1e3
