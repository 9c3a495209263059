"""What every call passes before a servicer sees it: the bearer token (when the server has one)
and a request that parses.

- Health checks stay reachable without a token, so orchestrators can probe a locked server.
- A request whose bytes are not a valid message (wrong wire types, garbage) is answered
  INVALID_ARGUMENT instead of grpcio's INTERNAL "Exception deserializing request!".
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterator
from typing import Any

import grpc

from bridge.server.metrics import Metrics

OPEN_PREFIXES = ("/grpc.health.v1.Health/",)
AUTH_HEADER = "authorization"


class _Malformed:
    def __init__(self, error: Exception) -> None:
        self.error = error


class GuardInterceptor(grpc.ServerInterceptor):
    def __init__(self, token: str | None, metrics: Metrics) -> None:
        self._expected = f"Bearer {token}".encode() if token else None
        self._metrics = metrics

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = continuation(details)
        if handler is None:
            return None
        needs_token = self._expected and not details.method.startswith(OPEN_PREFIXES)
        if needs_token and not self._authorized(details.invocation_metadata):
            self._metrics.auth_failures.inc()
            return _refusing(
                handler,
                grpc.StatusCode.UNAUTHENTICATED,
                "missing or wrong bearer token (metadata 'authorization: Bearer <token>')",
            )
        return _tolerant(handler, details.method)

    def _authorized(self, metadata: Any) -> bool:
        assert self._expected is not None
        for key, value in metadata or ():
            if key == AUTH_HEADER:
                got = value.encode() if isinstance(value, str) else value
                return hmac.compare_digest(got, self._expected)  # constant time
        return False


def _refusing(
    handler: grpc.RpcMethodHandler, code: grpc.StatusCode, message: str
) -> grpc.RpcMethodHandler:
    """A handler of the same shape that answers `code` without reading the request."""

    def refuse(_request: Any, context: grpc.ServicerContext) -> Any:
        context.abort(code, message)

    kind = _kind(handler)
    return handler._replace(**{kind: refuse})


def _tolerant(handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
    """Parses requests without raising; a request that does not parse is INVALID_ARGUMENT."""
    parse = handler.request_deserializer
    if parse is None:
        return handler

    def safe_parse(data: bytes) -> Any:
        try:
            return parse(data)
        except Exception as e:  # any parse failure is the caller's malformed message
            return _Malformed(e)

    def reject(context: grpc.ServicerContext, bad: _Malformed) -> None:
        context.abort(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"request: not a valid message for {method}: {bad.error}",
        )

    kind = _kind(handler)
    behaviour = getattr(handler, kind)
    if handler.request_streaming:

        def checked_stream(requests: Iterator[Any], context: grpc.ServicerContext) -> Any:
            def checked() -> Iterator[Any]:
                for request in requests:
                    if isinstance(request, _Malformed):
                        reject(context, request)
                    yield request

            return behaviour(checked(), context)

        wrapped = checked_stream
    else:

        def checked_unary(request: Any, context: grpc.ServicerContext) -> Any:
            if isinstance(request, _Malformed):
                reject(context, request)
            return behaviour(request, context)

        wrapped = checked_unary
    return handler._replace(request_deserializer=safe_parse, **{kind: wrapped})


def _kind(handler: grpc.RpcMethodHandler) -> str:
    return {
        (False, False): "unary_unary",
        (False, True): "unary_stream",
        (True, False): "stream_unary",
        (True, True): "stream_stream",
    }[(handler.request_streaming, handler.response_streaming)]
