"""Task functions for the worker-pool tests; imported by name inside worker processes."""

import os
import time


def echo(value):
    return value


def sleep_then(seconds, value):
    time.sleep(seconds)
    return value


def die(code):
    os._exit(code)


def raise_value_error(message):
    raise ValueError(message)


def allocate(megabytes):
    return len(bytearray(megabytes * 1024 * 1024))


def pid():
    return os.getpid()
