"""A simulation of the retry strategies on synthetic subscribers; it prints figures and
asserts nothing. It is a simulation with synthetic data: it shows how the schedules behave
under the stated funding model, and claims nothing about real customers.

    .venv/bin/python tests/perf/bench_billing.py [SUBSCRIBERS]

The model (seeded, so every run prints the same table):

- 10,000 subscribers (or SUBSCRIBERS): 30 % paid on the 1st, 30 % on the 15th, 25 % every
  other Friday, 15 % irregular. Paydays move back over weekends and US bank holidays.
- Each renews monthly for a year (12 invoices) on its own day of month at 15:00 UTC.
- An invoice is *short* with probability 20 %: the card is declined (insufficient_funds)
  until funds arrive, on the next payday (irregular: each day with probability 15 %),
  and stays funded for 3 to 10 days (drawn per subscriber); otherwise the first charge succeeds.
- MI_OPTIMIZED learns from 6 earlier payments per subscriber, made 0 to 2 days after a
  payday (irregular: on random days), through the engine's own ``detect_payday`` and
  ``best_hour``/``best_weekday``; time of day plays no part in this funding model.
- Every strategy runs the engine's own ``schedule.next_retry`` with the default plan
  settings (4 retries in 14 days, FIXED days 1, 3, 5, 7; presets for AGGRESSIVE and
  CONSERVATIVE, capped by the same limits).
"""
from __future__ import annotations

import random
import sys
import time
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from storefront.billing.customer_time import BankHolidays  # noqa: E402
from storefront.billing.payday import best_hour, best_weekday, detect_payday, occurrences  # noqa: E402
from storefront.billing.schedule import Learned, RetrySettings, next_retry  # noqa: E402

SEED = 20261203
YEAR = 2026
HOLIDAYS = BankHolidays("US")
PATTERNS = (("DAY_1", 0.30), ("DAY_15", 0.30), ("BIWEEKLY_FRIDAY", 0.25), ("IRREGULAR", 0.15))
SHORT_SHARE = 0.20
STRATEGIES = ("FIXED", "AGGRESSIVE", "CONSERVATIVE", "MI_OPTIMIZED")


@dataclass
class Subscriber:
    pattern: str
    anchor: date | None
    renew_day: int
    funded_days: int
    paydays: list[date]
    irregular_funding: dict[int, set[date]]  # invoice index -> days funds arrive


def _pattern(rng: random.Random) -> str:
    roll, total = rng.random(), 0.0
    for name, share in PATTERNS:
        total += share
        if roll < total:
            return name
    return PATTERNS[-1][0]


def make_subscriber(rng: random.Random) -> Subscriber:
    pattern = _pattern(rng)
    anchor = date(YEAR - 1, 1, 2) + timedelta(days=7 * rng.randrange(2)) if pattern == "BIWEEKLY_FRIDAY" else None
    start, end = date(YEAR - 1, 6, 1), date(YEAR + 1, 3, 1)
    paydays = [] if pattern == "IRREGULAR" else occurrences(pattern, start, end, HOLIDAYS, anchor)
    return Subscriber(pattern, anchor, rng.randint(1, 28), rng.randint(3, 10), paydays, {})


def history(sub: Subscriber, rng: random.Random) -> list[datetime]:
    """Six earlier successful payments (UTC), before the simulated year."""
    hour = rng.choice((9, 10, 12, 17, 19))
    if sub.pattern == "IRREGULAR":
        days = [date(YEAR - 1, 6, 1) + timedelta(days=rng.randrange(200)) for _ in range(6)]
    else:
        before = [d for d in sub.paydays if d < date(YEAR - 1, 12, 20)][-6:]
        days = [d + timedelta(days=rng.randint(0, 2)) for d in before]
    return [datetime(d.year, d.month, d.day, hour, tzinfo=UTC) for d in days]


def learned(times: list[datetime]) -> Learned:
    return Learned(payday=detect_payday([t.date() for t in times], HOLIDAYS), payday_source="customer",
                   hour=best_hour(times, "customer"), weekday=best_weekday(times, "customer"))


def funded(sub: Subscriber, invoice: int, due: date, day: date, rng_day) -> bool:
    """Whether a short invoice's charge on ``day`` finds funds."""
    if sub.pattern == "IRREGULAR":
        arrivals = sub.irregular_funding[invoice]
    else:
        arrivals = [p for p in sub.paydays if p > due]
    return any(arrival <= day < arrival + timedelta(days=sub.funded_days) for arrival in arrivals)


def simulate(strategy: str, subs: list[Subscriber], facts: list[Learned], shorts: list[list[bool]]) -> dict:
    settings = replace(RetrySettings(), retry_strategy=strategy)
    failed = recovered = retries_for_recovered = 0
    days_to_recover: list[float] = []
    all_retries = 0
    for sub, learned_facts, short in zip(subs, facts, shorts, strict=True):
        for invoice in range(12):
            if not short[invoice]:
                continue
            due_at = datetime(YEAR, invoice + 1, sub.renew_day, 15, tzinfo=UTC)
            failed += 1
            first = last = due_at
            retries = 0
            while True:
                slot = next_retry(settings, retries_done=retries, network_retries_done=0, decline_class="SOFT",
                                  decline_code="insufficient_funds", first_failed_at=first, last_attempt_at=last,
                                  now=last, zone_name="UTC", holidays=HOLIDAYS,
                                  customer=learned_facts if strategy == "MI_OPTIMIZED" else None)
                if slot is None:
                    break
                retries += 1
                last = slot.at
                if funded(sub, invoice, due_at.date(), slot.at.date(), None):
                    recovered += 1
                    retries_for_recovered += retries
                    days_to_recover.append((slot.at - first).total_seconds() / 86400)
                    break
            all_retries += retries
    return {"failed": failed, "recovered": recovered, "retries": all_retries,
            "per_recovery": retries_for_recovered / recovered if recovered else float("nan"),
            "days": sum(days_to_recover) / len(days_to_recover) if days_to_recover else float("nan")}


def main(count: int = 10_000) -> None:
    rng = random.Random(SEED)
    started = time.perf_counter()
    subs = [make_subscriber(rng) for _ in range(count)]
    facts = [learned(history(sub, rng)) for sub in subs]
    shorts = []
    for sub in subs:
        short = [rng.random() < SHORT_SHARE for _ in range(12)]
        for invoice in range(12):
            if sub.pattern == "IRREGULAR":
                due = date(YEAR, invoice + 1, sub.renew_day)
                sub.irregular_funding[invoice] = {due + timedelta(days=d) for d in range(1, 40) if rng.random() < 0.15}
        shorts.append(short)
    detected = sum(1 for f in facts if f.payday is not None)
    print(f"Simulation with synthetic data: {count:,} subscribers, 12 monthly renewals each, "
          f"{sum(map(sum, shorts)):,} short invoices; paydays detected for {detected:,} subscribers "
          f"(seed {SEED}).")
    print(f"{'strategy':<14}{'failed':>8}{'recovered':>11}{'rate':>8}{'retries':>9}{'retries/recovery':>18}{'days to recover':>17}")
    for strategy in STRATEGIES:
        row = simulate(strategy, subs, facts, shorts)
        print(f"{strategy:<14}{row['failed']:>8,}{row['recovered']:>11,}{row['recovered'] / row['failed']:>8.1%}"
              f"{row['retries']:>9,}{row['per_recovery']:>18.2f}{row['days']:>17.2f}")
    print(f"({time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
