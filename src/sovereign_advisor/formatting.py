"""Money and volumes as people read them: one place for the engine's sentences and the views.

Amounts are exact Decimals in the Advice; rounding happens only here, when presenting, half to
even. An amount in a currency without minor units (the yen) prints whole everywhere; other
currencies print whole in summaries and totals and with their minor units (cents) where a
line is itemised.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

ZERO_DECIMAL_CURRENCIES = frozenset(
    {
        # ISO 4217 currencies whose minor unit is 0 (the "E" column of the list SIX Financial
        # Information maintains for ISO): an amount in them has no cents to show. Only JPY is a
        # report currency today; the rest are here so that adding one needs no code change.
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "ISK",
        "JPY",
        "KMF",
        "KRW",
        "PYG",
        "RWF",
        "UGX",
        "UYI",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    }
)
"""ISO 4217 currencies without minor units."""


def minor_units(currency: str | None) -> int:
    """Decimals of the currency's minor unit: 0 for the yen, 2 for the euro (and when unknown)."""
    if currency is not None and not (len(currency) == 3 and currency.isalpha()):
        raise ValueError(f"not an ISO 4217 currency code: {currency!r}")
    return 0 if currency in ZERO_DECIMAL_CURRENCIES else 2


def money(value: Decimal, currency: str | None = None, *, cents: bool = False) -> str:
    """An amount with thousands grouped, rounded half to even: whole units, or with the
    currency's minor units when `cents` (never for the yen). `money(Decimal('10071.5'))` is
    '10,072'; `money(Decimal('1749.825'), 'EUR', cents=True)` is '1,749.82'."""
    places = minor_units(currency) if cents else 0
    rounded = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    return f"{rounded:,.{places}f}"


def money_in(value: Decimal, currency: str, *, cents: bool = False) -> str:
    """An amount followed by its currency code, as the summaries print it: '1,750 EUR'."""
    return f"{money(value, currency, cents=cents)} {currency}"


def unit_price(value: Decimal, currency: str | None = None) -> str:
    """A unit price, thousands grouped, with at most six decimals and at least the currency's
    minor units: 5167 EUR -> '5,167.00', 5167 JPY -> '5,167', 0.443695 -> '0.443695'.

    A unit price is a rate, not an amount paid: a fraction of a yen per token is kept."""
    text = f"{value.normalize():,f}"
    whole, _, decimals = text.partition(".")
    decimals = decimals[:6].ljust(minor_units(currency), "0")
    return f"{whole}.{decimals}" if decimals else whole


def plain_decimal(value: Decimal) -> str:
    """A number a spreadsheet reads: no grouping, '.' as the decimal mark, no exponent, no
    trailing zeros: Decimal('1633.548740000000') -> '1633.54874'."""
    text = f"{value.normalize():f}"
    return "0" if text in ("-0", "") else text


def volume_words(queries: Decimal | float) -> str:
    """A monthly volume in words: 3,200,000 -> '3.2 million', 45,000 -> '45,000'."""
    value = float(queries)
    for size, word in ((10**9, "billion"), (10**6, "million")):
        if abs(value) >= size:
            scaled = value / size
            shown = f"{scaled:,.0f}" if abs(scaled) >= 100 else f"{scaled:.3g}"
            return f"{shown} {word}"
    return f"{value:,.0f}"
