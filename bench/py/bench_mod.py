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
