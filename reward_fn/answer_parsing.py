"""Read a numeric final answer exactly, for deterministic rewards.

RL trains against these rules: a false 0 wastes a good rollout and a false 1 teaches the policy to cheat, so
every rule below errs toward rejecting anything ambiguous. Values are exact `fractions.Fraction`s (never float
equality), and all work is bounded so no input can hang or crash a reward.

Final answer (`final_answer_value`):
- It is the text after the LAST `####` marker (a run of 4+ `#`), on the same line, or on the next non-blank
  line if the marker stands alone. Text on later lines is ignored. No marker → no answer (the format is part
  of the task; a bare `\\boxed{42}` does not count).
- Markers inside fenced code blocks are ignored unless every marker is inside one (so a `#### 42` printed by
  example code does not count as an answer).
- Hedging gives no answer: an earlier marker whose text is a different number ("#### 5 ... #### 6"), or
  starts with a number but is not a single clean one ("#### 5 or 6"). Numbered headings such as
  "#### 1. Read the problem" and word headings ("#### Step 2") are not answers and are skipped.

One number (`parse_number`) accepts, around exactly one number:
- decoration: markdown emphasis (`**42**`, `_42_`), backticks, `$...$`, `\\(...\\)`, `\\boxed{}`,
  `\\text{}`, quotes, currency signs ($ € £ ¥ ₹), a leading "Answer:" / "The final answer is", and
  trailing `. ! , ; :`;
- a sign: `+`, `-`, unicode minus `−`; "-0" equals 0;
- forms: 1234, 1,234,567, 1 234 567 (strict groups of 3, also thin/no-break spaces), 3.14, .5,
  1.5e3, 1.5×10^3 (also x, *, ·, \\times, \\cdot, `**`), 10^3, fractions 3/4 and \\frac{3}{4}, mixed
  numbers 1 3/4 (proper fraction only); exponents are capped at |1000|;
- after the number, at most 4 unit words without digits ("42 apples", "12 cm", "9.8 m/s^2", "30 °C"),
  or `%`. A percent sign is a unit: "50%" equals "50", not "0.5". Hedge and negation words ("or",
  "not", "approximately", ...) make it no answer.
- rejected: anything else with a second number ("5 or 6", "2+2=4", "5-6"), comma decimals ("3,14"),
  dot thousands ("1.234.567"), words before the number ("about 42"), unicode vulgar fractions.

Comparison is exact: ground truth "3.14" matches "3.14", "3.140" and "157/50", not "3.1" or "3.141";
"0.5" matches "1/2". The ground truth goes through the same parser (and, if it holds a `####`, its last
marker); an unparseable ground truth matches nothing.
"""

import bisect
import re
from dataclasses import dataclass
from fractions import Fraction

__all__ = [
    "MAX_TEXT_CHARS",
    "MAX_ANSWER_CHARS",
    "MAX_EXPONENT",
    "answers_match",
    "final_answer_value",
    "ground_truth_value",
    "parse_number",
]

#: Longer solutions are degenerate rollouts: scored as having no answer, and never scanned.
MAX_TEXT_CHARS = 1_000_000
#: Longest answer segment (after a marker) that is parsed; a real answer is far shorter.
MAX_ANSWER_CHARS = 300
#: Largest |exponent| in 1e… / ×10^… forms, so "1e999999999" cannot hang exact arithmetic.
MAX_EXPONENT = 1000
#: More markers than this is spam, not an answer.
MAX_MARKERS = 256
#: Most words allowed after the number ("square meters per second" is 4).
MAX_UNIT_WORDS = 4

_MARKER = re.compile(r"#{4,}")
_FENCE = re.compile(r"^[ \t]*(?:```|~~~)", re.MULTILINE)

# Characters normalized before parsing: invisible ones vanish, exotic spaces become spaces, minus signs
# become "-", typographic quotes become spaces.
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_AS_SPACE = '\u00a0\u2007\u2009\u200a\u202f\u3000\t\r\n"\u201c\u201d\u201e`$\u20ac\u00a3\u00a5\u20b9{}'
_CHAR_MAP = {
    **{ord(c): None for c in _INVISIBLE},
    **{ord(c): " " for c in _AS_SPACE},
    **{ord(c): "-" for c in "\u2212\ufe63\uff0d"},
}
_LATEX_FRAC = re.compile(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
_LATEX_TIMES = re.compile(r"\\(?:times|cdot)(?![A-Za-z])")
_LATEX_NOISE = re.compile(
    r"\\(?:boxed|fbox|mbox|textbf|textrm|text|mathrm|mathbf|operatorname|displaystyle|left|right)(?![A-Za-z])"
    r"|\\[,;:! ]|\\[()\[\]]"
)
_LATEX_EXP_BRACES = re.compile(r"\^\s*\{([^{}]*)\}")
_EMPHASIS = re.compile(r"(?<![0-9A-Za-z*_])[*_]+|[*_]+(?![0-9A-Za-z*_])")
_TRAILING_PUNCT = re.compile(r"[\s.!,;:\u3002]+$")
_LABEL = re.compile(r"^(?:the\s+)?(?:final\s+)?answer\s*(?:is\b|:|=)?\s*|^[:=]\s*", re.IGNORECASE)

# Number forms, ASCII digits only. Each is tried separately; see `parse_number`.
_GROUPED_INT = r"\d{1,3}(?:,\d{3})+|\d{1,3}(?: \d{3})+|\d+"
_DECIMAL = rf"(?:{_GROUPED_INT})(?:\.\d+)?|\.\d+"
_PLAIN_DECIMAL = r"\d+(?:\.\d+)?|\.\d+"
_EXPONENT = r"[+-]?\d{1,5}"
_POWER = r"\s*(?:\^|\*\*)\s*"
_TIMES = r"\s*[×xX*·⋅]\s*"
_SIGN = r"(?P<sign>[+-])?\s*"
_FORMS = tuple(
    (kind, re.compile(_SIGN + body, re.ASCII))
    for kind, body in (
        ("scientific", rf"(?P<m>{_DECIMAL})[eE](?P<e>{_EXPONENT})"),
        ("scientific", rf"(?P<m>{_DECIMAL}){_TIMES}10{_POWER}(?P<e>{_EXPONENT})"),
        ("power_of_ten", rf"10{_POWER}(?P<e>{_EXPONENT})"),
        ("mixed", r"(?P<w>\d+) (?P<n>\d+)\s*/\s*(?P<d>\d+)"),
        ("fraction", rf"(?P<n>{_PLAIN_DECIMAL})\s*/\s*(?P<d>{_PLAIN_DECIMAL})"),
        ("decimal", rf"(?P<m>{_DECIMAL})"),
    )
)

_UNIT_TOKEN = re.compile(r"%|°[CFK]?|[^\W\d_]+(?:['’./-][^\W\d_]+)*\.?(?:\^[23]|[²³])?")
_HEDGE_WORDS = frozenset(
    """or and nor not no never maybe perhaps probably possibly likely approximately approx about around
    roughly nearly almost close between plus minus times than less more over under least most either if
    unless except wrong incorrect false instead actually but guess unsure uncertain estimated estimate
    ish range vs versus""".split()
)
_NUMBERED_HEADING = re.compile(r"^\s*\d{1,3}[.)]\s+[^\W\d_]")
_STARTS_WITH_NUMBER = re.compile(r"^[+-]?\s*\.?\d", re.ASCII)


def _clean(segment: str) -> str | None:
    """Strip markup, currency and labels around a number; None if the segment is too long to be an answer."""
    if len(segment) > MAX_ANSWER_CHARS:
        return None
    text = segment.replace("\\$", " ").replace("\\%", "%").replace("{,}", ",")
    text = _LATEX_FRAC.sub(r" \1/\2 ", text)
    text = _LATEX_TIMES.sub(" × ", text)
    text = _LATEX_NOISE.sub(" ", text)
    text = _LATEX_EXP_BRACES.sub(r"^\1", text)
    text = text.translate(_CHAR_MAP)
    text = _EMPHASIS.sub(" ", text)
    text = " ".join(text.split())
    text = _TRAILING_PUNCT.sub("", text)
    text = _LABEL.sub("", text, count=1)
    return text.strip()


def _unit_ok(rest: str) -> bool:
    """Whatever follows the number: nothing, `%`, or a few unit words with no digits and no hedges."""
    tokens = rest.split()
    if len(tokens) > MAX_UNIT_WORDS:
        return False
    for token in tokens:
        if not _UNIT_TOKEN.fullmatch(token) or token.lower().strip(".") in _HEDGE_WORDS:
            return False
    return True


def _exponent(text: str) -> int | None:
    value = int(text)
    return value if abs(value) <= MAX_EXPONENT else None


def _form_value(kind: str, match: re.Match[str]) -> Fraction | None:
    """The exact value of one matched form, or None (zero denominator, exponent out of range)."""
    groups = match.groupdict()
    if kind == "decimal":
        value = Fraction(groups["m"].replace(",", "").replace(" ", ""))
    elif kind == "scientific":
        exponent = _exponent(groups["e"])
        if exponent is None:
            return None
        value = Fraction(groups["m"].replace(",", "").replace(" ", "")) * Fraction(10) ** exponent
    elif kind == "power_of_ten":
        exponent = _exponent(groups["e"])
        if exponent is None:
            return None
        value = Fraction(10) ** exponent
    else:
        numerator, denominator = Fraction(groups["n"]), Fraction(groups["d"])
        if denominator == 0:
            return None
        if kind == "mixed":
            if not 0 < numerator < denominator:
                return None
            value = int(groups["w"]) + numerator / denominator
        else:
            value = numerator / denominator
    return -value if groups["sign"] == "-" else value


def parse_number(text: object) -> Fraction | None:
    """The exact value of text holding exactly one number (with allowed decoration), else None.

    Every number form is tried on its own; if forms disagree (never seen, but cheap to guard) the text is
    ambiguous and gives None.
    """
    if not isinstance(text, str):
        return None
    cleaned = _clean(text)
    if not cleaned:
        return None
    values: set[Fraction] = set()
    for kind, pattern in _FORMS:
        match = pattern.match(cleaned)
        if match is None or not _unit_ok(cleaned[match.end() :]):
            continue
        value = _form_value(kind, match)
        if value is not None:
            values.add(value)
    return values.pop() if len(values) == 1 else None


@dataclass(frozen=True)
class _Segment:
    text: str
    in_code_block: bool


def _marker_segments(text: str) -> list[_Segment] | None:
    """The answer text after each `####` marker, in order; None if there are too many markers."""
    fences = [match.start() for match in _FENCE.finditer(text)]
    markers = list(_MARKER.finditer(text))
    if len(markers) > MAX_MARKERS:
        return None
    segments = []
    for index, marker in enumerate(markers):
        limit = markers[index + 1].start() if index + 1 < len(markers) else len(text)
        rest = text[marker.end() : limit]
        line, _, after = rest.partition("\n")
        if not line.strip():  # "####" alone on its line: the answer is on the next non-blank line
            line = after.lstrip().partition("\n")[0]
        inside = bisect.bisect_left(fences, marker.start()) % 2 == 1
        segments.append(_Segment(line[: MAX_ANSWER_CHARS + 1].strip(), inside))
    return segments


def _is_hedge(segment: str, final: Fraction) -> bool:
    """Does an earlier marker's text contradict the final answer? Headings do not."""
    if _NUMBERED_HEADING.match(segment):
        return False
    value = parse_number(segment)
    if value is not None:
        return value != final
    cleaned = _clean(segment)
    return bool(cleaned) and _STARTS_WITH_NUMBER.match(cleaned) is not None


def final_answer_value(solution: object) -> Fraction | None:
    """The exact final answer of a solution text (rules in the module docstring), or None."""
    if not isinstance(solution, str) or len(solution) > MAX_TEXT_CHARS:
        return None
    segments = _marker_segments(solution)
    if not segments:
        return None
    candidates = [segment for segment in segments if not segment.in_code_block] or segments
    final = parse_number(candidates[-1].text)
    if final is None:
        return None
    if any(_is_hedge(segment.text, final) for segment in candidates[:-1]):
        return None
    return final


def ground_truth_value(ground_truth: object) -> Fraction | None:
    """The exact value of a ground truth ("42", "3.5", or a GSM8K-style "...#### 42"), or None if unusable."""
    if not isinstance(ground_truth, str) or len(ground_truth) > MAX_TEXT_CHARS:
        return None
    if _MARKER.search(ground_truth):
        segments = _marker_segments(ground_truth)
        return parse_number(segments[-1].text) if segments else None
    return parse_number(ground_truth.strip())


def answers_match(solution: object, ground_truth: object) -> bool:
    """True iff the solution's final answer exactly equals a usable ground truth."""
    expected = ground_truth_value(ground_truth)
    if expected is None:
        return False
    answer = final_answer_value(solution)
    return answer is not None and answer == expected
