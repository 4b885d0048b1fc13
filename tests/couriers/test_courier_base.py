"""The shared frame: time conversion, phone tails, Retry-After, the provider registry."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from couriers import PROVIDERS, UnknownProvider, make_provider
from couriers.base import (
    BadResponse,
    ParcelStatus,
    ProviderError,
    TemporaryError,
    query_phone,
    retry_after_seconds,
)
from couriers.kdniao import Kdniao
from couriers.kuaidi100 import Kuaidi100
from couriers.timeparse import china_now_text, china_to_utc


def test_china_time_to_utc() -> None:
    assert china_to_utc("2024-11-12 07:30:00") == datetime(2024, 11, 11, 23, 30, tzinfo=UTC)
    assert china_to_utc("2024-11-12T07:30:00+08:00") == datetime(2024, 11, 11, 23, 30, tzinfo=UTC)
    assert china_now_text(datetime(2024, 11, 11, 23, 30, tzinfo=UTC)) == "2024-11-12 07:30:00"
    with pytest.raises(ValueError):
        china_to_utc("12/11/2024")


@pytest.mark.parametrize(("phone", "tail"), [
    ("13812345678", "13812345678"), (" 13812345678 ", "13812345678"),
    ("18400001234-5678", "5678"), ("18400001234转5678", "5678"), (None, ""), ("", ""),
])
def test_query_phone(phone: str | None, tail: str) -> None:
    assert query_phone(phone) == tail


def test_retry_after() -> None:
    now = datetime(2024, 11, 12, 8, 0, tzinfo=UTC)
    assert retry_after_seconds("30") == 30.0
    assert retry_after_seconds("Tue, 12 Nov 2024 08:01:30 GMT", now) == 90.0
    assert retry_after_seconds("Tue, 12 Nov 2024 07:00:00 GMT", now) == 0.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_error_text_and_flags() -> None:
    err = TemporaryError("服务器繁忙", provider="kuaidi100", raw_code="502", raw_message="服务器繁忙")
    assert str(err) == "kuaidi100 [502]: 服务器繁忙"
    assert err.retryable and not err.parcel and isinstance(err, ProviderError)
    assert BadResponse.retryable and not ProviderError.retryable


def test_registry_builds_providers_by_name() -> None:
    assert set(PROVIDERS) == {"kuaidi100", "kdniao"}
    k100 = make_provider("kuaidi100", customer="C", key="K", base_url="http://127.0.0.1:1")
    assert isinstance(k100, Kuaidi100) and k100.base_url == "http://127.0.0.1:1"
    assert isinstance(make_provider("kdniao", ebusiness_id="1", app_key="k"), Kdniao)
    k100.close()


def test_registry_names_the_known_providers() -> None:
    with pytest.raises(UnknownProvider, match="known: kdniao, kuaidi100"):
        make_provider("kuaidi1000")


def test_statuses_are_plain_strings() -> None:
    assert ParcelStatus.AVAILABLE_FOR_PICKUP == "available_for_pickup"
