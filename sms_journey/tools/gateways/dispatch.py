"""Concurrent, rate-limited sending of a batch of SMS through one gateway client."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed

from ..rate_limit import TokenBucket
from .base import GatewayClient, OutgoingSms, SendResult, shorten, unknown_retry

_logger = logging.getLogger(__name__)


def _safe_send(client, sms, bucket):
    bucket.acquire()
    try:
        result = client.send(sms)
    except Exception as exc:  # a bug in a client must not lose the message
        _logger.exception("Sending SMS %s crashed", sms.reference)
        return unknown_retry(sms.reference, shorten(f"{type(exc).__name__}: {exc}"))
    if not isinstance(result, SendResult):
        return unknown_retry(
            sms.reference, f"Gateway client returned {type(result).__name__}, not a SendResult"
        )
    return result


def send_batch(
    client: GatewayClient,
    messages: Sequence[OutgoingSms],
    *,
    rate_limit: float,
    max_concurrency: int,
    bucket: TokenBucket | None = None,
) -> list[SendResult]:
    """Send ``messages`` with at most ``max_concurrency`` requests in flight and at most
    ``rate_limit`` requests started per second.

    :param bucket: a shared :class:`TokenBucket` to use instead of a fresh one (to keep the
        provider's rate across consecutive batches).
    :return: one :class:`SendResult` per message, in input order. A message whose sending
        raised comes back as ``'retry'`` with error code ``'unknown'``.
    """
    messages = list(messages)
    if not messages:
        return []
    workers = max(1, min(int(max_concurrency or 1), len(messages)))
    if bucket is None:
        bucket = TokenBucket(rate_limit)
    client.ensure_pool(workers)
    results: list[SendResult | None] = [None] * len(messages)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sms-send") as pool:
        futures = {
            pool.submit(_safe_send, client, sms, bucket): index
            for index, sms in enumerate(messages)
        }
        for future in as_completed(futures):
            index = futures[future]
            try:
                result = future.result()
            except Exception as exc:  # _safe_send catches everything already; belt and braces
                result = unknown_retry(
                    messages[index].reference, shorten(f"{type(exc).__name__}: {exc}")
                )
            results[index] = result
    return results
