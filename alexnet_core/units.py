"""Amounts in words, to three significant figures: sizes in binary units (5.02 MiB, 1.94 GiB),
and values too large for any unit as a power of ten (3.43 × 10¹⁸). Plain text."""

SUPERSCRIPTS = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def three_figures(value: float) -> str:
    """A value from 1 to 999 to three significant figures: 1.94, 12.3, 715."""
    return f"{value:.{2 if value < 9.995 else 1 if value < 99.95 else 0}f}"


def power_of_ten(value: float) -> str:
    """A value too large for any unit prefix, to three figures: 3.43 × 10¹⁸."""
    mantissa, exponent = f"{value:.2e}".split("e")
    return f"{mantissa} × 10{str(int(exponent)).translate(SUPERSCRIPTS)}"


def bytes_text(size: float) -> str:
    """A size in bytes to three figures in binary units: 5.02 MiB, 1.94 GiB, 1.41 TiB; past
    999 PiB, in bytes as a power of ten."""
    if size >= 999.5 * 2**50:
        return f"{power_of_ten(size)} B"
    for unit, power in (("PiB", 50), ("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if size >= 0.995 * 2**power:  # what would read 1024 MiB reads 1.00 GiB
            return f"{three_figures(size / 2**power)} {unit}"
    return f"{size:,.0f} B"
