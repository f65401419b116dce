"""The fixture rewards' answer reader: the number after the single ####, normalised, or None."""


def final_number(text: str) -> str | None:
    if text.count("####") != 1 or len(text) > 100_000:
        return None
    answer = text.split("####")[-1].strip().rstrip(".").replace("**", "").replace("$", "").replace(",", "")
    try:
        return str(float(answer))
    except ValueError:
        return None


def same_number(final: str | None, ground_truth: str | None) -> bool:
    try:
        return final is not None and final == str(float((ground_truth or "").replace(",", "")))
    except ValueError:
        return False
