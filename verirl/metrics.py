"""Prometheus metrics of the reward server (served on ``metrics_port``).

Queue time, scoring time and batch size are separate stages with their own metrics, as
in Triton: a slow server shows whether it waits or works.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

SAMPLES = Counter("verirl_samples_total", "Samples scored, by kind and status", ["kind", "status"])
REQUESTS = Counter(
    "verirl_requests_total",
    "Calls by how they ended (a gRPC code: OK, INVALID_ARGUMENT, RESOURCE_EXHAUSTED, CANCELLED, "
    "DEADLINE_EXCEEDED, UNAUTHENTICATED, INTERNAL; HTTP calls count under the same codes)",
    ["code"],
)
BATCH_SIZE = Histogram(
    "verirl_batch_samples", "Samples per Score call", buckets=(1, 8, 64, 256, 1024, 4096, 16384, 65536)
)
QUEUE_SECONDS = Histogram("verirl_queue_seconds", "Time a batch waited for a scoring thread")
SCORE_SECONDS = Histogram(
    "verirl_score_seconds", "Time to score a batch", buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300)
)
IN_FLIGHT = Gauge("verirl_samples_in_flight", "Samples admitted and not yet answered")
IN_FLIGHT_BYTES = Gauge("verirl_bytes_in_flight", "Request bytes admitted and not yet answered")
POOL_SIZE = Gauge("verirl_pool_size", "Execution slots by pool", ["pool"])
RECYCLED = Gauge("verirl_pool_replaced", "Workers or containers replaced since start", ["pool"])
MODEL_FORWARDS = Gauge(
    "verirl_model_forward_passes", "Reward-model forward passes since start, by device", ["device"]
)
MODEL_ITEMS = Gauge(
    "verirl_model_sequences", "Sequences scored by the reward model since start, by device", ["device"]
)
