"""The random stream and the background it draws: suppliers, contracts, payments.

Writes nothing by itself. `Builder` owns the one seeded random stream of the sample and draws,
from it, the pool of fictional suppliers (names, company and charity numbers, postcodes), each
council's share of that pool, the ordinary background contracts of a register, their monthly
payments and the ad hoc (sundry) payments of a spend file. Every publisher module takes the same
`Builder`, so the order in which they are called is the order in which random numbers are drawn.
"""

from __future__ import annotations

import math
import random
from datetime import date, timedelta

from oversight.sample.common import (
    AS_OF,
    CATEGORIES,
    DEPARTMENTS,
    FORMS,
    NAME_A,
    NAME_B,
    OWNERS,
    SEED,
    Contract,
    Payment,
    Supplier,
    month_end,
    month_starts,
)
from oversight.sample.planted import PLANTED_NAMES


class Builder:
    """The sample's random stream, its supplier pool and the background drawn from them."""

    def __init__(self, scale: float) -> None:
        self.rng = random.Random(SEED)
        self.scale = scale
        self.months = month_starts()
        self.suppliers = self.supplier_pool(max(1200, int(120000 * scale)))
        # Kelder's planted contracts by reference: its notices publish two of them.
        self.kelder: dict[str, Contract] = {}

    def supplier_pool(self, n: int) -> list[Supplier]:
        """n suppliers with distinct names (the printings vary later, per publisher)."""
        qualifiers = ["", "(North)", "Group", "(Midlands)", "Partners", "(Yorkshire)"]
        combos = [
            (a, b, q)
            for q in qualifiers
            for a in NAME_A
            for b in NAME_B
            if f"{a} {b}" not in PLANTED_NAMES
        ]
        self.rng.shuffle(combos)
        pool = []
        numbers: set[str] = set()  # a company number is one company's: never drawn twice
        for i in range(n):
            a, b, q = combos[i % len(combos)]
            extra = f" No. {i // len(combos) + 1}" if i >= len(combos) else ""
            name = " ".join(x for x in (a, b, q) if x) + extra + " " + self.rng.choice(FORMS)
            roll = self.rng.random()
            number = None
            if roll < 0.8:
                prefix = self.rng.choice(["", "", "", "", "SC", "OC"])
                digits = 6 if prefix else 8
                while number is None or number in numbers:
                    number = prefix + str(self.rng.randrange(10 ** (digits - 2), 10**digits)).zfill(
                        digits
                    )
                numbers.add(number)
            charity = None
            while 0.8 <= roll < 0.88 and (charity is None or charity in numbers):
                charity = str(self.rng.randrange(200000, 1199999))
            numbers.add(charity or "")
            pool.append(
                Supplier(
                    name,
                    number,
                    charity,
                    self.rng.random() < 0.5,
                    f"{self.rng.choice(['M', 'HX', 'BD', 'LS'])}"
                    f"{self.rng.randrange(1, 30)} {self.rng.randrange(1, 9)}"
                    f"{self.rng.choice('ABDEFGHJ')}{self.rng.choice('LNPQRSTU')}",
                )
            )
        return pool

    def council_pools(self, k: int) -> tuple[list[Supplier], list[Supplier]]:
        """Council k's suppliers: those it contracts with, and those it only pays ad hoc
        (so that a contract's payments come from its own supplier, as they mostly do)."""
        mine = self.suppliers[k::3]
        cut = int(len(mine) * 0.6)
        return mine[:cut], mine[cut:]

    def background_contracts(
        self, prefix: str, n: int, suppliers: list[Supplier]
    ) -> list[Contract]:
        """n ordinary contracts (references `prefix`1000 on) with the given suppliers in turn,
        paid evenly."""
        out = []
        for i in range(n):
            start = date(2021, 1, 1) + timedelta(days=self.rng.randrange(0, 365 * 5 + 200))
            months = self.rng.choice([12, 12, 24, 24, 36, 36, 48, 60])
            end = start + timedelta(days=int(months * 30.44) - 1)
            value = round(
                self.rng.choice([8, 15, 25, 40, 60, 90, 150, 300, 800])
                * 1000
                * self.rng.uniform(0.7, 1.3),
                2,
            )
            cat = self.rng.choice(CATEGORIES)
            c = Contract(
                f"{prefix}{1000 + i}",
                f"{cat[1]} services {self.rng.randrange(1, 99)}",
                suppliers[i % len(suppliers)],
                start,
                end,
                value,
                cat,
                self.rng.choice(DEPARTMENTS),
                expiry=end,
                review=start + timedelta(days=365) if end > AS_OF else None,
                owner=self.rng.choice(OWNERS),
            )
            self.pay_evenly(c, 0.85)
            out.append(c)
        return out

    def pay_evenly(self, c: Contract, share: float, until: date | None = None) -> None:
        """Monthly payments over the contract's life inside the sample period; less often when
        a month's share would fall under the £500 publication threshold (small contracts are
        invoiced quarterly or yearly)."""
        last = until or (c.expiry or c.end)
        base = c.total_value * share / c.months
        step = max(1, math.ceil(600 / max(base, 1)))
        monthly = base * step
        for k, m in enumerate(self.months):
            if k % step == 0 and c.start <= month_end(m) and m <= last:
                day = min(month_end(m), max(m, c.start) + timedelta(days=self.rng.randrange(0, 20)))
                if day <= last:
                    c.payments.append((day, round(monthly * self.rng.uniform(0.97, 1.03), 2)))

    def sundry(self, n: int, buyer_suppliers: list[Supplier]) -> list[Payment]:
        """n ad hoc payments (£500 to £4,800) to the buyer's suppliers, on random days."""
        out = []
        for _ in range(n):
            m = self.rng.choice(self.months)
            day = m + timedelta(days=self.rng.randrange(0, 28))
            out.append(
                (day, round(self.rng.uniform(500, 4800), 2), self.rng.choice(buyer_suppliers))
            )
        return out
