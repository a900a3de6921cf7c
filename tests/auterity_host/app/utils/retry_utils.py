"""As app/utils/retry_utils.py at dbfb398: class-based retry decisions."""

from typing import List, Type

from app.exceptions import AIServiceError, BaseAppException


def should_retry_exception(
    exception: Exception,
    retry_exceptions: List[Type[Exception]],
    stop_exceptions: List[Type[Exception]],
) -> bool:
    for stop_exc in stop_exceptions:
        if isinstance(exception, stop_exc):
            return False
    if retry_exceptions:
        return any(isinstance(exception, retry_exc) for retry_exc in retry_exceptions)
    if isinstance(exception, BaseAppException):
        return exception.retryable
    return False


AI_SERVICE_RETRY = [AIServiceError, ConnectionError, TimeoutError]
