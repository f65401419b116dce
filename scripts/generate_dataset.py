"""Generate ``test_data.jsonl``: arithmetic word problems that the calculator tools can solve exactly.

Why a generator instead of a hand-written file: every ground truth must be *provably* right, the
file must be reproducible byte for byte (the test suite regenerates it and compares), and each row
carries the exact tool-call plan (``steps``) that the scripted test policy replays. All arithmetic
here uses ``fractions.Fraction`` and ``decimal.Decimal`` with the tools' semantics (exact results,
round half up); floats never touch a computed value, so no ``0.30000000000000004`` can leak into a
ground truth.

Constraints enforced on every plan (a template draw that breaks one is redrawn, deterministically):

* every step result is non-zero; non-integers have at most 15 significant digits (so a float's
  shortest repr is the exact decimal); integers passed on to a later step, and literal arguments,
  stay below 2**53. Only a final answer may be a huge integer (the 15-25 digit products);
* division quotients terminate; ``modulo`` only sees positive operands (no sign-convention ambiguity);
* ``square_root`` of a non-perfect square is only ever fed straight into ``round_number``, and only
  when the exact root is far from a rounding boundary, so any correct implementation agrees.

Usage: ``python scripts/generate_dataset.py [--seed N] [--rows N] [--output PATH]``.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction
from pathlib import Path
from typing import Any

DEFAULT_SEED = 20260214
DEFAULT_ROWS = 240
DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "test_data.jsonl"

SYSTEM_PROMPT = (
    "You are a careful math assistant with access to calculator tools (add, subtract, multiply, "
    "divide, power, square_root, modulo, round_number). Solve the user's problem step by step and "
    "use the tools for every calculation instead of doing arithmetic in your head. Write numbers "
    "as plain digits without thousands separators. When you are done, respond with #### followed "
    "by the numeric result, for example: #### 42.5"
)

MAX_SAFE_INT = 2**53  # integers at or above this lose precision if a tool parses them as float
MAX_SIG_DIGITS = 15  # a decimal with <= 15 significant digits survives a float round trip
SQRT_PRECISION = 60  # digits used to approximate irrational square roots
ROUNDING_MARGIN = Decimal("1e-9")  # how far an irrational root must stay from a .5 boundary


class Reject(Exception):
    """A template draw broke a constraint; the caller redraws with the next random numbers."""


# --------------------------------------------------------------------------- exact numbers


def to_decimal(value: Fraction) -> Decimal:
    """Exact decimal of a fraction whose denominator has only the factors 2 and 5."""
    den = value.denominator
    twos = fives = 0
    while den % 2 == 0:
        den //= 2
        twos += 1
    while den % 5 == 0:
        den //= 5
        fives += 1
    if den != 1:
        raise Reject(f"{value} has no terminating decimal expansion")
    places = max(twos, fives)
    scaled = value * 10**places
    assert scaled.denominator == 1
    return Decimal(scaled.numerator).scaleb(-places)


def fmt(value: Fraction | int) -> str:
    """Shortest exact decimal text: '12', '-6.75', '0.3' (no exponent, no trailing zeros)."""
    dec = to_decimal(Fraction(value)).normalize()
    text = format(dec, "f")
    return "0" if text == "-0" else text


def significant_digits(value: Fraction) -> int:
    """Count of significant digits of a terminating decimal (trailing zeros excluded)."""
    return len(to_decimal(value).normalize().as_tuple().digits)


def json_number(value: Fraction) -> int | float:
    """The JSON number a tool argument carries: an int, or a float whose repr is the exact decimal."""
    if value.denominator == 1:
        if abs(value.numerator) >= MAX_SAFE_INT:
            raise Reject(f"integer argument {value} is too large to pass between tools safely")
        return int(value.numerator)
    text = fmt(value)
    as_float = float(text)
    if significant_digits(value) > MAX_SIG_DIGITS or Decimal(repr(as_float)) != Decimal(text):
        raise Reject(f"{text} does not survive a float round trip")
    return as_float


def exact_sqrt(value: Fraction) -> Fraction | None:
    """Exact square root when numerator and denominator are perfect squares, else None."""
    if value <= 0:
        raise Reject("square_root needs a positive argument here")
    num, den = math.isqrt(value.numerator), math.isqrt(value.denominator)
    if num * num == value.numerator and den * den == value.denominator:
        return Fraction(num, den)
    return None


def round_half_up(value: Decimal, decimals: int) -> Fraction:
    """School rounding on the exact decimal, the same rule the round_number tool applies."""
    quantum = Decimal(1).scaleb(-decimals)
    rounded = value.quantize(quantum, rounding=ROUND_HALF_UP)
    return Fraction(rounded)


# --------------------------------------------------------------------------- plans


@dataclass(frozen=True)
class Ref:
    """The result of an earlier step; serialised as {"$ref": index}."""

    index: int
    value: Fraction | None  # None for an irrational square root
    approx: Decimal | None = None  # high-precision value when `value` is None


Operand = Ref | Fraction | int


@dataclass
class Plan:
    """Records tool calls and evaluates them exactly, mirroring the tools' semantics."""

    steps: list[dict[str, Any]] = field(default_factory=list)
    results: list[Ref] = field(default_factory=list)

    def __call__(self, tool: str, **arguments: Operand) -> Ref:
        encoded: dict[str, Any] = {}
        values: dict[str, Fraction] = {}
        irrational: dict[str, Decimal] = {}
        for name, operand in arguments.items():
            if isinstance(operand, Ref):
                encoded[name] = {"$ref": operand.index}
                if operand.value is None:
                    assert operand.approx is not None
                    irrational[name] = operand.approx
                    continue
                json_number(operand.value)  # the value travels as a JSON number: must be safe
                values[name] = operand.value
            else:
                value = Fraction(operand)
                encoded[name] = json_number(value)
                values[name] = value
        if irrational and tool != "round_number":
            raise AssertionError("an irrational square root may only be passed to round_number")
        result = self._evaluate(tool, values, irrational)
        if isinstance(result, Decimal):
            ref = Ref(len(self.steps), None, result)
        else:
            ref = Ref(len(self.steps), result)
        if ref.value is not None:
            if ref.value == 0:
                raise Reject("zero results are avoided (no -0, no division by zero later)")
            if ref.value.denominator != 1:
                json_number(ref.value)  # non-integer results must be exact JSON numbers
        self.steps.append({"tool": tool, "arguments": encoded})
        self.results.append(ref)
        return ref

    def _evaluate(
        self, tool: str, v: dict[str, Fraction], irrational: dict[str, Decimal]
    ) -> Fraction | Decimal:
        """Exact result, or a high-precision Decimal for an irrational square root."""
        if tool == "add":
            return v["a"] + v["b"]
        if tool == "subtract":
            return v["a"] - v["b"]
        if tool == "multiply":
            return v["a"] * v["b"]
        if tool == "divide":
            quotient = v["a"] / v["b"]
            to_decimal(quotient)  # must terminate
            return quotient
        if tool == "power":
            exponent = v["exponent"]
            assert exponent.denominator == 1 and 2 <= exponent <= 6, "small whole exponents only"
            return v["base"] ** int(exponent)
        if tool == "square_root":
            root = exact_sqrt(v["x"])
            if root is not None:
                return root
            with localcontext() as ctx:
                ctx.prec = SQRT_PRECISION
                return to_decimal(v["x"]).sqrt()
        if tool == "modulo":
            a, b = v["a"], v["b"]
            assert a > 0 and b > 0, "modulo only with positive operands"
            return a - b * math.floor(a / b)
        if tool == "round_number":
            decimals = int(v["decimals"])
            if "x" in irrational:
                approx = irrational["x"]
                shifted = (approx.scaleb(decimals)) % 1
                if abs(shifted - Decimal("0.5")) < ROUNDING_MARGIN:
                    raise Reject("irrational root too close to a rounding boundary")
                return round_half_up(approx, decimals)
            return round_half_up(to_decimal(v["x"]), decimals)
        raise AssertionError(f"unknown tool {tool!r}")

    @property
    def answer(self) -> Fraction:
        final = self.results[-1].value
        if final is None:
            raise AssertionError("a plan may not end on an irrational square root")
        return final


# --------------------------------------------------------------------------- random helpers

NAMES = ["Ava", "Ben", "Chloe", "Diego", "Emma", "Farid", "Grace", "Hiro", "Isla", "Jonas",
         "Keira", "Liam", "Maya", "Noah", "Olga", "Priya", "Quinn", "Rosa", "Sam", "Tariq"]
CITIES = ["Oslo", "Calgary", "Denver", "Helsinki", "Anchorage", "Ulaanbaatar", "Reykjavik",
          "Winnipeg", "Moscow", "Harbin"]
ITEMS = [("notebook", "notebooks"), ("pen", "pens"), ("mug", "mugs"), ("towel", "towels"),
         ("lamp", "lamps"), ("book", "books"), ("cable", "cables"), ("candle", "candles"),
         ("shirt", "shirts"), ("plant", "plants"), ("puzzle", "puzzles"), ("battery pack", "battery packs")]
GOODS = ["widgets", "bolts", "jars of jam", "light bulbs", "tennis balls", "soap bars", "spark plugs"]
INGREDIENTS = ["flour", "sugar", "butter", "oats", "rice", "cocoa powder", "grated cheese"]


def money(rng: random.Random, low: int, high: int, quarter: bool = False) -> Fraction:
    """A price in dollars with cents; `quarter` keeps it to multiples of 25 cents."""
    if quarter:
        return Fraction(rng.randint(low * 4, high * 4), 4)
    return Fraction(rng.randint(low * 100, high * 100), 100)


def decimal_number(rng: random.Random, low: float, high: float, places: int) -> Fraction:
    """A random decimal in [low, high] with at most `places` decimal places."""
    scale = 10**places
    return Fraction(rng.randint(int(low * scale), int(high * scale)), scale)


def nonzero(rng: random.Random, low: int, high: int) -> int:
    """A random integer in [low, high] other than zero."""
    while True:
        value = rng.randint(low, high)
        if value:
            return value


def usd(value: Fraction) -> str:
    """Money as written in a prompt: '$12.50', '$7', '$1234.05'."""
    if value.denominator == 1:
        return f"${value.numerator}"
    return f"${to_decimal(value).quantize(Decimal('0.01'))}"


def paren(value: Fraction | int) -> str:
    """A number for a 'Compute' expression, negative values wrapped in parentheses."""
    text = fmt(value)
    return f"({text})" if text.startswith("-") else text


def places_word(decimals: int) -> str:
    return {0: "the nearest whole number", 1: "1 decimal place"}.get(decimals, f"{decimals} decimal places")


Template = Callable[[random.Random], tuple[str, Plan]]
TEMPLATES: list[Template] = []


def template(func: Template) -> Template:
    """Register a row template; order matters for determinism, so templates are listed in code order."""
    TEMPLATES.append(func)
    return func


# --------------------------------------------------------------------------- one-step templates


@template
def shop_total(rng: random.Random) -> tuple[str, Plan]:
    name, (one, many) = rng.choice(NAMES), rng.choice(ITEMS)
    price, qty = money(rng, 1, 60), rng.randint(2, 48)
    p = Plan()
    p("multiply", a=price, b=qty)
    return f"{name} buys {qty} {many} at {usd(price)} per {one}. How many dollars does {name} spend in total?", p


@template
def hike_distance(rng: random.Random) -> tuple[str, Plan]:
    a, b = decimal_number(rng, 2, 25, 2), decimal_number(rng, 1, 20, 2)
    p = Plan()
    p("add", a=a, b=b)
    return (f"A hiker walks {fmt(a)} km before lunch and {fmt(b)} km after lunch. "
            "How many kilometres does the hiker walk that day?"), p


@template
def temperature_drop(rng: random.Random) -> tuple[str, Plan]:
    city = rng.choice(CITIES)
    start, drop = decimal_number(rng, -8, 12, 1), decimal_number(rng, 3, 25, 2)
    p = Plan()
    p("subtract", a=start, b=drop)
    return (f"At noon the temperature in {city} was {fmt(start)} degrees Celsius. By midnight it had "
            f"fallen by {fmt(drop)} degrees. What was the temperature at midnight, in degrees Celsius?"), p


@template
def split_bill(rng: random.Random) -> tuple[str, Plan]:
    friends = rng.randint(2, 12)
    share = money(rng, 8, 95, quarter=rng.random() < 0.5)
    total = share * friends
    p = Plan()
    p("divide", a=total, b=friends)
    return (f"A restaurant bill of {usd(total)} is split equally among {friends} friends. "
            "How many dollars does each friend pay?"), p


@template
def square_plot_side(rng: random.Random) -> tuple[str, Plan]:
    side = Fraction(rng.randint(11, 320)) if rng.random() < 0.6 else decimal_number(rng, 1, 40, 1)
    area = side * side
    p = Plan()
    p("square_root", x=area)
    return (f"A square plot of land has an area of {fmt(area)} square metres. "
            "How long is one side of the plot, in metres?"), p


@template
def compute_power(rng: random.Random) -> tuple[str, Plan]:
    exponent = rng.randint(2, 5)
    base = (Fraction(nonzero(rng, -19, 19)) if rng.random() < 0.5
            else decimal_number(rng, -4, 4, 1))
    if abs(base) <= 1:
        raise Reject("trivial base")
    p = Plan()
    p("power", base=base, exponent=exponent)
    return f"Compute {paren(base)} raised to the power {exponent}.", p


@template
def egg_cartons(rng: random.Random) -> tuple[str, Plan]:
    carton = rng.choice([6, 10, 12, 18, 30])
    eggs = rng.randint(carton + 1, 5000)
    p = Plan()
    p("modulo", a=eggs, b=carton)
    return (f"A farm collects {eggs} eggs and packs them into cartons of {carton}. After filling as many "
            "full cartons as possible, how many eggs are left over?"), p


@template
def scale_reading(rng: random.Random) -> tuple[str, Plan]:
    decimals = rng.choice([0, 1, 2, 2, 3])
    extra = rng.randint(1, 2)
    scale = 10 ** (decimals + extra)
    units = rng.randint(scale, 900 * scale)
    if rng.random() < 0.5:  # land exactly on a half to exercise round-half-up
        units = units - units % 10**extra + 5 * 10 ** (extra - 1)
    mass = Fraction(units, scale)
    p = Plan()
    p("round_number", x=mass, decimals=decimals)
    return (f"A lab scale shows a mass of {fmt(mass)} grams. Round this mass to {places_word(decimals)} "
            "(round halves up)."), p


@template
def galaxy_stars(rng: random.Random) -> tuple[str, Plan]:
    stars = rng.randint(10**10, 9 * 10**12)
    galaxies = rng.randint(10**6, 9 * 10**11)
    p = Plan()
    p("multiply", a=stars, b=galaxies)
    return (f"An astronomy model assumes every galaxy holds {stars} stars. How many stars are there in "
            f"{galaxies} such galaxies?"), p


@template
def compute_add_subtract(rng: random.Random) -> tuple[str, Plan]:
    a = decimal_number(rng, -500, 500, rng.choice([0, 1, 2, 3]))
    b = decimal_number(rng, -500, 500, rng.choice([0, 1, 2]))
    tool, sign = rng.choice([("add", "+"), ("subtract", "-")])
    p = Plan()
    p(tool, a=a, b=b)
    return f"Compute {paren(a)} {sign} {paren(b)}.", p


@template
def submarine_dive(rng: random.Random) -> tuple[str, Plan]:
    depth, dive = -decimal_number(rng, 5, 300, 1), decimal_number(rng, 10, 450, 2)
    p = Plan()
    p("subtract", a=depth, b=dive)
    return (f"A submarine is at an elevation of {fmt(depth)} metres relative to sea level (negative means "
            f"below the surface). It dives a further {fmt(dive)} metres. What is its new elevation relative "
            "to sea level, in metres?"), p


@template
def compute_divide(rng: random.Random) -> tuple[str, Plan]:
    divisor = rng.choice([2, 4, 5, 8, 16, 20, 25, 32, 40, -4, -8, Fraction(5, 2), Fraction(1, 4)])
    quotient = decimal_number(rng, -900, 900, rng.choice([0, 1, 2]))
    dividend = quotient * divisor
    p = Plan()
    p("divide", a=dividend, b=divisor)
    return f"Compute {paren(dividend)} divided by {paren(divisor)}.", p


# --------------------------------------------------------------------------- two-step templates


@template
def shop_with_coupon(rng: random.Random) -> tuple[str, Plan]:
    name, (_, many) = rng.choice(NAMES), rng.choice(ITEMS)
    price, qty = money(rng, 2, 45), rng.randint(2, 15)
    coupon = money(rng, 1, 20, quarter=True)
    p = Plan()
    subtotal = p("multiply", a=price, b=qty)
    p("subtract", a=subtotal, b=coupon)
    return (f"{name} buys {qty} {many} that cost {usd(price)} each and uses a coupon worth {usd(coupon)} off "
            "the whole order. How many dollars does the order cost after the coupon?"), p


@template
def savings_plan(rng: random.Random) -> tuple[str, Plan]:
    name = rng.choice(NAMES)
    start, monthly, months = money(rng, 0, 900), money(rng, 15, 400, quarter=True), rng.randint(3, 36)
    p = Plan()
    saved = p("multiply", a=monthly, b=months)
    p("add", a=start, b=saved)
    return (f"{name} has {usd(start)} in a savings jar and adds {usd(monthly)} every month. How many dollars "
            f"are in the jar after {months} months?"), p


@template
def recipe_scaling(rng: random.Random) -> tuple[str, Plan]:
    ingredient = rng.choice(INGREDIENTS)
    base = rng.choice([2, 4, 5, 8])
    target = rng.randint(1, 30)
    if target == base:
        raise Reject("no scaling needed")
    amount = decimal_number(rng, 20, 900, rng.choice([0, 1]))
    p = Plan()
    scaled = p("multiply", a=amount, b=target)
    p("divide", a=scaled, b=base)
    return (f"A recipe that serves {base} people needs {fmt(amount)} grams of {ingredient}. How many grams of "
            f"{ingredient} are needed to serve {target} people?"), p


@template
def average_speed(rng: random.Random) -> tuple[str, Plan]:
    hours = rng.choice([2, 4, 5, Fraction(5, 2), Fraction(3, 2), Fraction(5, 4), 8])
    d1 = decimal_number(rng, 20, 300, 1)
    d2 = decimal_number(rng, 20, 300, 1)
    p = Plan()
    total = p("add", a=d1, b=d2)
    p("divide", a=total, b=hours)
    return (f"A train travels {fmt(d1)} km and then another {fmt(d2)} km, taking {fmt(hours)} hours in total. "
            "What is its average speed in km per hour?"), p


@template
def inventory_boxes(rng: random.Random) -> tuple[str, Plan]:
    goods = rng.choice(GOODS)
    box = rng.choice([6, 8, 12, 20, 24, 36, 48])
    stock = rng.randint(500, 20000)
    shipped = rng.randint(50, stock - box - 1)
    p = Plan()
    left = p("subtract", a=stock, b=shipped)
    p("modulo", a=left, b=box)
    return (f"A warehouse holds {stock} {goods} and ships {shipped} of them. The rest are packed into boxes "
            f"of {box}. How many {goods} are left over that do not fill a complete box?"), p


@template
def tile_side_rounded(rng: random.Random) -> tuple[str, Plan]:
    area = rng.randint(2, 2000)
    if exact_sqrt(Fraction(area)) is not None:
        raise Reject("want an irrational side")
    decimals = rng.choice([1, 2, 2, 3])
    p = Plan()
    side = p("square_root", x=area)
    p("round_number", x=side, decimals=decimals)
    return (f"A square tile has an area of {area} square centimetres. How long is one side in centimetres, "
            f"rounded to {places_word(decimals)}?"), p


@template
def unit_price_rounded(rng: random.Random) -> tuple[str, Plan]:
    qty = rng.choice([8, 16, 40, 80, 125, 200, 32])
    total = money(rng, 3, 250)
    p = Plan()
    each = p("divide", a=total, b=qty)
    if each.value is not None and each.value.denominator <= 100:
        raise Reject("want a price that actually needs rounding")
    p("round_number", x=each, decimals=2)
    return (f"A pack of {qty} pencils costs {usd(total)}. What is the price of one pencil in dollars, rounded "
            "to the nearest cent (halves round up)?"), p


@template
def fence_square_field(rng: random.Random) -> tuple[str, Plan]:
    side = Fraction(rng.randint(8, 250)) if rng.random() < 0.7 else decimal_number(rng, 5, 60, 1)
    area = side * side
    p = Plan()
    root = p("square_root", x=area)
    p("multiply", a=root, b=4)
    return (f"A square field has an area of {fmt(area)} square metres. How many metres of fence are needed "
            "to go once around the whole field?"), p


@template
def average_two_temperatures(rng: random.Random) -> tuple[str, Plan]:
    city = rng.choice(CITIES)
    low, high = decimal_number(rng, -30, 2, 1), decimal_number(rng, -12, 15, 1)
    p = Plan()
    total = p("add", a=low, b=high)
    p("divide", a=total, b=2)
    return (f"In {city} the overnight low was {fmt(low)} degrees Celsius and the daytime high was {fmt(high)} "
            "degrees Celsius. What is the average of these two temperatures?"), p


@template
def server_unique_events(rng: random.Random) -> tuple[str, Plan]:
    per_server = rng.randint(10**9, 9 * 10**11)
    duplicates = rng.randint(10**6, per_server // 10)
    servers = rng.randint(10**5, 9 * 10**8)
    p = Plan()
    unique = p("subtract", a=per_server, b=duplicates)
    p("multiply", a=unique, b=servers)
    return (f"Each of {servers} servers logs {per_server} events per year, of which {duplicates} are "
            "duplicates. How many unique events are logged across all servers in a year?"), p


@template
def compute_power_mod(rng: random.Random) -> tuple[str, Plan]:
    base, exponent = rng.randint(3, 60), rng.randint(2, 6)
    modulus = rng.randint(7, 97)
    p = Plan()
    big = p("power", base=base, exponent=exponent)
    p("modulo", a=big, b=modulus)
    return f"Compute the remainder when {base} raised to the power {exponent} is divided by {modulus}.", p


@template
def compute_sum_times(rng: random.Random) -> tuple[str, Plan]:
    a, b = decimal_number(rng, -80, 80, 1), decimal_number(rng, -80, 80, 2)
    c = nonzero(rng, -25, 25) if rng.random() < 0.6 else decimal_number(rng, -9, 9, 1)
    p = Plan()
    s = p("add", a=a, b=b)
    p("multiply", a=s, b=c)
    return f"Compute ({fmt(a)} + {paren(b)}) multiplied by {paren(c)}.", p


# --------------------------------------------------------------------------- three-step templates


@template
def two_item_order(rng: random.Random) -> tuple[str, Plan]:
    name = rng.choice(NAMES)
    (one1, many1), (one2, many2) = rng.sample(ITEMS, 2)
    p1, q1 = money(rng, 1, 80), rng.randint(2, 20)
    p2, q2 = money(rng, 1, 80), rng.randint(2, 20)
    p = Plan()
    first = p("multiply", a=p1, b=q1)
    second = p("multiply", a=p2, b=q2)
    p("add", a=first, b=second)
    return (f"{name} orders {q1} {many1} at {usd(p1)} each and {q2} {many2} at {usd(p2)} each. What is the "
            "total cost of the order in dollars?"), p


@template
def compound_interest(rng: random.Random) -> tuple[str, Plan]:
    principal = Fraction(rng.randint(4, 400) * 25)
    rate = rng.choice([Fraction(2), Fraction(3), Fraction(4), Fraction(5), Fraction(5, 2), Fraction(15, 2),
                       Fraction(6)])
    years = rng.randint(2, 5)
    factor = 1 + rate / 100
    p = Plan()
    growth = p("power", base=factor, exponent=years)
    balance = p("multiply", a=principal, b=growth)
    p("round_number", x=balance, decimals=2)
    return (f"A deposit of {usd(principal)} earns {fmt(rate)}% interest per year, compounded once a year. What "
            f"is the balance after {years} years, rounded to the nearest cent (halves round up)?"), p


@template
def fuel_cost(rng: random.Random) -> tuple[str, Plan]:
    km_per_litre = rng.choice([Fraction(8), Fraction(10), Fraction(25, 2), Fraction(16), Fraction(20), Fraction(25)])
    distance = decimal_number(rng, 40, 1500, 0)
    price = money(rng, 1, 3)
    p = Plan()
    litres = p("divide", a=distance, b=km_per_litre)
    cost = p("multiply", a=litres, b=price)
    p("round_number", x=cost, decimals=2)
    return (f"A car travels {fmt(distance)} km and uses one litre of fuel every {fmt(km_per_litre)} km. Fuel costs "
            f"{usd(price)} per litre. What does the trip's fuel cost in dollars, rounded to the nearest cent "
            "(halves round up)?"), p


@template
def savings_gap(rng: random.Random) -> tuple[str, Plan]:
    name = rng.choice(NAMES)
    goal, saved = money(rng, 300, 3000), money(rng, 0, 800)
    weekly, weeks = money(rng, 10, 120, quarter=True), rng.randint(4, 30)
    p = Plan()
    extra = p("multiply", a=weekly, b=weeks)
    total = p("add", a=saved, b=extra)
    p("subtract", a=goal, b=total)
    return (f"{name} wants to buy a bike that costs {usd(goal)}. {name} already has {usd(saved)} and saves "
            f"{usd(weekly)} per week for {weeks} weeks. What is the price minus the total savings, in dollars? "
            "(A negative answer means the savings exceed the price.)"), p


@template
def inventory_crates(rng: random.Random) -> tuple[str, Plan]:
    goods = rng.choice(GOODS)
    start, received = rng.randint(100, 9000), rng.randint(100, 9000)
    crate = rng.choice([12, 24, 25, 40, 64, 144])
    sold = rng.randint(50, start + received - crate - 1)
    p = Plan()
    stock = p("add", a=start, b=received)
    left = p("subtract", a=stock, b=sold)
    p("modulo", a=left, b=crate)
    return (f"A shop starts the week with {start} {goods}, receives a delivery of {received} more and sells "
            f"{sold}. The remaining {goods} are stored in crates of {crate}. How many {goods} are left outside "
            "full crates?"), p


@template
def bank_balance(rng: random.Random) -> tuple[str, Plan]:
    name = rng.choice(NAMES)
    balance, rent = money(rng, 100, 2500), money(rng, 400, 2200)
    fee, count = money(rng, 3, 40), rng.randint(2, 9)
    p = Plan()
    after_rent = p("subtract", a=balance, b=rent)
    fees = p("multiply", a=fee, b=count)
    p("subtract", a=after_rent, b=fees)
    return (f"{name}'s bank account holds {usd(balance)}. {name} pays rent of {usd(rent)} and then {count} "
            f"subscription charges of {usd(fee)} each. What is the new balance in dollars? (It may be "
            "negative.)"), p


@template
def recipe_with_extra(rng: random.Random) -> tuple[str, Plan]:
    ingredient = rng.choice(INGREDIENTS)
    base, target = rng.choice([4, 5, 8, 10]), rng.randint(2, 40)
    amount, extra = decimal_number(rng, 30, 600, 1), decimal_number(rng, 5, 100, 1)
    p = Plan()
    scaled = p("multiply", a=amount, b=target)
    per_batch = p("divide", a=scaled, b=base)
    p("add", a=per_batch, b=extra)
    return (f"A bakery recipe for {base} loaves uses {fmt(amount)} g of {ingredient}. The baker makes {target} "
            f"loaves and adds {fmt(extra)} g of {ingredient} for dusting the counter. How many grams of "
            f"{ingredient} are used in total?"), p


@template
def compute_three_ops(rng: random.Random) -> tuple[str, Plan]:
    a, b = decimal_number(rng, -300, 300, 2), decimal_number(rng, -300, 300, 1)
    c = nonzero(rng, -12, 12)
    d = rng.choice([2, 4, 5, 8, 10, 16, 20, 25, -5, -2])
    p = Plan()
    diff = p("subtract", a=a, b=b)
    prod = p("multiply", a=diff, b=c)
    p("divide", a=prod, b=d)
    return f"Compute ({fmt(a)} - {paren(b)}) multiplied by {paren(c)}, then divided by {paren(d)}.", p


@template
def equal_area_square(rng: random.Random) -> tuple[str, Plan]:
    width, height = decimal_number(rng, 2, 60, 1), decimal_number(rng, 2, 60, 1)
    decimals = rng.choice([1, 2])
    p = Plan()
    area = p("multiply", a=width, b=height)
    if area.value is not None and exact_sqrt(area.value) is not None:
        raise Reject("want an irrational side")
    side = p("square_root", x=area)
    p("round_number", x=side, decimals=decimals)
    return (f"A rectangular rug measures {fmt(width)} m by {fmt(height)} m. A square rug has exactly the same "
            f"area. How long is a side of the square rug in metres, rounded to {places_word(decimals)}?"), p


@template
def rice_grains(rng: random.Random) -> tuple[str, Plan]:
    monday, tuesday = rng.randint(10**5, 9 * 10**6), rng.randint(10**5, 9 * 10**6)
    boxes, grains = rng.randint(100, 9000), rng.randint(10**5, 9 * 10**6)
    p = Plan()
    crates = p("add", a=monday, b=tuesday)
    per_crate = p("multiply", a=boxes, b=grains)
    p("multiply", a=crates, b=per_crate)
    return (f"A mill ships {monday} crates of rice on Monday and {tuesday} crates on Tuesday. Every crate holds "
            f"{boxes} bags and every bag holds {grains} grains of rice. How many grains of rice were shipped "
            "in total?"), p


# --------------------------------------------------------------------------- four-step templates


@template
def ladder_length(rng: random.Random) -> tuple[str, Plan]:
    a, b, _ = rng.choice([(3, 4, 5), (5, 12, 13), (8, 15, 17), (7, 24, 25), (20, 21, 29), (9, 40, 41)])
    k = rng.choice([Fraction(1, 2), Fraction(1), Fraction(3, 2), Fraction(2), Fraction(5, 2), Fraction(3),
                    Fraction(1, 10), Fraction(1, 5)])
    foot, height = a * k, b * k
    if rng.random() < 0.5:
        foot, height = height, foot
    p = Plan()
    sq1 = p("power", base=foot, exponent=2)
    sq2 = p("power", base=height, exponent=2)
    total = p("add", a=sq1, b=sq2)
    p("square_root", x=total)
    return (f"The foot of a ladder stands {fmt(foot)} m from a wall and its top touches the wall {fmt(height)} m "
            "above the ground. How long is the ladder, in metres?"), p


@template
def two_items_with_coupon(rng: random.Random) -> tuple[str, Plan]:
    name = rng.choice(NAMES)
    (one1, many1), (one2, many2) = rng.sample(ITEMS, 2)
    p1, q1, p2, q2 = money(rng, 1, 50), rng.randint(2, 12), money(rng, 1, 50), rng.randint(2, 12)
    coupon = money(rng, 5, 40, quarter=True)
    p = Plan()
    first = p("multiply", a=p1, b=q1)
    second = p("multiply", a=p2, b=q2)
    total = p("add", a=first, b=second)
    p("subtract", a=total, b=coupon)
    return (f"{name} buys {q1} {many1} at {usd(p1)} each and {q2} {many2} at {usd(p2)} each, then applies a "
            f"{usd(coupon)} gift card. How many dollars are still to pay? (A negative answer means credit is "
            "left on the card.)"), p


@template
def taxed_order_with_shipping(rng: random.Random) -> tuple[str, Plan]:
    (one, many) = rng.choice(ITEMS)
    price, qty = money(rng, 2, 90), rng.randint(1, 12)
    tax = rng.choice([Fraction(5), Fraction(6), Fraction(33, 4), Fraction(7), Fraction(19, 2), Fraction(13)])
    shipping = money(rng, 3, 25)
    p = Plan()
    subtotal = p("multiply", a=price, b=qty)
    taxed = p("multiply", a=subtotal, b=1 + tax / 100)
    cents = p("round_number", x=taxed, decimals=2)
    p("add", a=cents, b=shipping)
    return (f"An online store sells {many} for {usd(price)} each. A customer buys {qty}. Sales tax of "
            f"{fmt(tax)}% is added (multiply by {fmt(1 + tax / 100)}) and the taxed amount is rounded to the "
            f"nearest cent (halves round up). Then {usd(shipping)} shipping is added. What is the final "
            "total in dollars?"), p


@template
def average_four_lows(rng: random.Random) -> tuple[str, Plan]:
    city = rng.choice(CITIES)
    temps = [decimal_number(rng, -35, 8, 1) for _ in range(4)]
    p = Plan()
    s1 = p("add", a=temps[0], b=temps[1])
    s2 = p("add", a=s1, b=temps[2])
    s3 = p("add", a=s2, b=temps[3])
    p("divide", a=s3, b=4)
    listed = ", ".join(fmt(t) for t in temps[:3]) + f" and {fmt(temps[3])}"
    return (f"The overnight lows in {city} over four nights were {listed} degrees Celsius. What was the average "
            "overnight low?"), p


@template
def interest_earned(rng: random.Random) -> tuple[str, Plan]:
    principal = Fraction(rng.randint(10, 800) * 10)
    rate = rng.choice([Fraction(2), Fraction(3), Fraction(4), Fraction(5), Fraction(6), Fraction(8), Fraction(5, 2)])
    years = rng.randint(2, 4)
    p = Plan()
    growth = p("power", base=1 + rate / 100, exponent=years)
    balance = p("multiply", a=growth, b=principal)
    gain = p("subtract", a=balance, b=principal)
    p("round_number", x=gain, decimals=2)
    return (f"An investment of {usd(principal)} grows by {fmt(rate)}% per year, compounded yearly. How much "
            f"interest does it earn in {years} years, in dollars rounded to the nearest cent (halves round up)?"), p


@template
def data_center_bytes(rng: random.Random) -> tuple[str, Plan]:
    racks, per_rack, spare = rng.randint(20, 900), rng.randint(10, 48), rng.randint(1, 200)
    drive = rng.choice([4000787030016, 8001563222016, 12000138625024, 16000900661248, 2000398934016])
    reserved = rng.randint(10**9, 9 * 10**10)
    p = Plan()
    in_racks = p("multiply", a=racks, b=per_rack)
    servers = p("add", a=in_racks, b=spare)
    usable = p("subtract", a=drive, b=reserved)
    p("multiply", a=servers, b=usable)
    return (f"A data center has {racks} racks with {per_rack} servers each, plus {spare} spare servers. Every "
            f"server has a drive of {drive} bytes, of which {reserved} bytes are reserved for the system. How "
            "many usable bytes are there across all servers?"), p


@template
def compute_four_ops(rng: random.Random) -> tuple[str, Plan]:
    base = rng.choice([nonzero(rng, -30, 30), decimal_number(rng, -12, 12, 1)])
    if base == 0:
        raise Reject("zero base")
    sub = decimal_number(rng, -200, 200, 2)
    div = rng.choice([2, 4, 5, 8, -4, 10, 20])
    add = decimal_number(rng, -100, 100, 1)
    p = Plan()
    sq = p("power", base=base, exponent=2)
    diff = p("subtract", a=sq, b=sub)
    quot = p("divide", a=diff, b=div)
    p("add", a=quot, b=add)
    return (f"Compute {paren(base)} squared, minus {paren(sub)}, divided by {paren(div)}, plus {paren(add)}. "
            "Apply the operations in that order."), p


@template
def road_trip_fuel(rng: random.Random) -> tuple[str, Plan]:
    d1, d2 = decimal_number(rng, 50, 700, 1), decimal_number(rng, 50, 700, 1)
    km_per_litre = rng.choice([Fraction(8), Fraction(10), Fraction(25, 2), Fraction(16), Fraction(20)])
    price = money(rng, 1, 3)
    p = Plan()
    distance = p("add", a=d1, b=d2)
    litres = p("divide", a=distance, b=km_per_litre)
    cost = p("multiply", a=litres, b=price)
    p("round_number", x=cost, decimals=2)
    return (f"On a road trip a family drives {fmt(d1)} km on day one and {fmt(d2)} km on day two. Their car "
            f"goes {fmt(km_per_litre)} km per litre of fuel and fuel costs {usd(price)} per litre. What is the "
            "total fuel cost in dollars, rounded to the nearest cent (halves round up)?"), p


@template
def fenced_garden_cost(rng: random.Random) -> tuple[str, Plan]:
    side = Fraction(rng.randint(4, 90)) if rng.random() < 0.7 else decimal_number(rng, 3, 30, 1)
    per_metre, gate = money(rng, 4, 40), money(rng, 40, 300)
    p = Plan()
    root = p("square_root", x=side * side)
    perimeter = p("multiply", a=root, b=4)
    fence = p("multiply", a=perimeter, b=per_metre)
    p("add", a=fence, b=gate)
    return (f"A square garden has an area of {fmt(side * side)} square metres. Fencing costs {usd(per_metre)} per "
            f"metre and a gate costs {usd(gate)}. What is the total cost in dollars to fence all four sides "
            "and add the gate?"), p


# --------------------------------------------------------------------------- assembly


def _steps_of(make: Template) -> int:
    """How many tool calls a template's plan has (fixed per template; probed with a throwaway stream)."""
    rng = random.Random(f"probe:{make.__name__}")
    while True:
        try:
            return len(make(rng)[1].steps)
        except Reject:
            continue


@functools.cache
def interleaved_templates() -> tuple[Template, ...]:
    """Templates ordered 1-, 2-, 3-, 4-step, 1-, 2-, ... so every prefix of the file mixes difficulties
    (a `--limit 12` smoke run sees all four), keeping declaration order within each group."""
    groups: dict[int, list[Template]] = {}
    for make in TEMPLATES:
        groups.setdefault(_steps_of(make), []).append(make)
    order: list[Template] = []
    for i in range(max(len(g) for g in groups.values())):
        order.extend(group[i] for _, group in sorted(groups.items()) if i < len(group))
    return tuple(order)


def build_row(index: int, seed: int) -> dict[str, Any]:
    """Row `index` (0-based): template chosen round-robin (interleaved by difficulty), numbers from a
    per-row random stream."""
    order = interleaved_templates()
    make = order[index % len(order)]
    rng = random.Random(f"{seed}:{index}")  # str seeds hash with SHA-512: stable across runs
    for _ in range(1000):
        try:
            prompt, plan = make(rng)
            answer = fmt(plan.answer)
        except Reject:
            continue
        return {
            "id": f"row-{index + 1:04d}",
            "system_prompt": SYSTEM_PROMPT,
            "user_prompt": prompt,
            "ground_truth": answer,
            "num_steps": len(plan.steps),
            "steps": plan.steps,
        }
    raise RuntimeError(f"template {make.__name__} kept breaking its constraints for row {index}")


def generate_rows(seed: int = DEFAULT_SEED, rows: int = DEFAULT_ROWS) -> list[dict[str, Any]]:
    """All rows for one seed; the same arguments always give the same rows."""
    if rows < 1:
        raise ValueError(f"--rows must be at least 1, got {rows}")
    return [build_row(index, seed) for index in range(rows)]


def render_jsonl(rows: list[dict[str, Any]]) -> str:
    """One compact JSON object per line, ASCII only, trailing newline."""
    return "".join(json.dumps(row, ensure_ascii=True) + "\n" for row in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help=f"number of rows (default {DEFAULT_ROWS})")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where to write (default test_data.jsonl)")
    args = parser.parse_args(argv)
    if args.rows < 1:
        parser.error(f"--rows must be at least 1, got {args.rows}")
    rows = generate_rows(args.seed, args.rows)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(render_jsonl(rows).encode("ascii"))
    print(f"wrote {len(rows)} rows to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
