"""Access codes: the check symbol, the format, the entropy and the keyed digest."""

from __future__ import annotations

import hmac
import re
from collections import Counter

import pytest
from django.test import override_settings
from hypothesis import assume, given
from hypothesis import strategies as st

from mandat.core import codes

ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
LOOK_ALIKES = "ILOU01"


def _check_value(values: list[int]) -> int:
    """An independent oracle: the value making sum((i + 1) * v_i) divisible by 31."""
    partial = sum((i + 1) * v for i, v in enumerate(values)) % 31
    return (-partial * pow(16, -1, 31)) % 31


secrets_ = st.lists(st.integers(0, 29), min_size=15, max_size=15)


@st.composite
def valid_codes(draw: st.DrawFn) -> str:
    """Codes completed by the module's own check symbol, so any check scheme is put to test."""
    values = draw(secrets_)
    check = codes.check_value(values)
    assume(check < 30)  # a check value of 30 has no symbol: such draws are discarded
    code = "".join(ALPHABET[v] for v in [*values, check])
    assert codes.is_well_formed(code)
    return code


def _is_rejected(text: str) -> bool:
    try:
        codes.normalize(text)
    except codes.CodeTypo as error:
        assert error.code == "code_typo"
        return True
    return False


def test_the_alphabet_has_thirty_symbols_and_no_look_alikes() -> None:
    assert codes.ALPHABET == ALPHABET
    assert not set(LOOK_ALIKES) & set(codes.ALPHABET)
    assert codes.LENGTH == 16


@given(secrets_)
def test_the_check_symbol_makes_the_weighted_sum_divisible_by_31(values: list[int]) -> None:
    assert codes.check_value(values) == _check_value(values)
    code = "".join(ALPHABET[v] for v in [*values, _check_value(values) % 30])
    assert codes.is_well_formed(code) == (_check_value(values) < 30)


@given(valid_codes())
def test_a_well_formed_code_is_accepted_as_it_is(code: str) -> None:
    assert codes.normalize(code) == code


@given(valid_codes())
def test_every_single_substitution_is_caught(code: str) -> None:
    missed = [
        (position, symbol)
        for position in range(len(code))
        for symbol in ALPHABET
        if symbol != code[position]
        and not _is_rejected(code[:position] + symbol + code[position + 1 :])
    ]
    assert missed == []


@given(valid_codes())
def test_every_swap_of_neighbours_is_caught(code: str) -> None:
    swaps = [i for i in range(len(code) - 1) if code[i] != code[i + 1]]
    missed = [
        i for i in swaps if not _is_rejected(code[:i] + code[i + 1] + code[i] + code[i + 2 :])
    ]
    assert missed == []


@given(valid_codes())
def test_every_swap_of_two_different_symbols_anywhere_is_caught(code: str) -> None:
    missed = []
    for i in range(len(code)):
        for j in range(i + 1, len(code)):
            if code[i] != code[j]:
                swapped = list(code)
                swapped[i], swapped[j] = swapped[j], swapped[i]
                if not _is_rejected("".join(swapped)):
                    missed.append((i, j))
    assert missed == []


@given(valid_codes(), st.integers(0, 15), st.sampled_from(LOOK_ALIKES))
def test_a_look_alike_character_is_a_typo(code: str, position: int, symbol: str) -> None:
    assert _is_rejected(code[:position] + symbol + code[position + 1 :])


@given(valid_codes(), st.sampled_from(ALPHABET))
def test_a_symbol_too_many_or_too_few_is_a_typo(code: str, extra: str) -> None:
    assert _is_rejected(code[:-1])
    assert _is_rejected(code[1:])
    assert _is_rejected(code + extra)
    assert _is_rejected(extra + code)


@given(valid_codes())
def test_display_shows_four_groups_of_four(code: str) -> None:
    shown = codes.display(code)
    assert re.fullmatch(r"[2-9A-HJKMNP-TV-Z]{4}(-[2-9A-HJKMNP-TV-Z]{4}){3}", shown)
    assert shown.replace("-", "") == code


@given(valid_codes(), st.sampled_from(["-", " ", "  ", " - ", "\t", ""]))
def test_normalize_accepts_lower_case_spaces_and_dashes(code: str, separator: str) -> None:
    groups = [code[i : i + 4] for i in range(0, 16, 4)]
    assert codes.normalize(codes.display(code).lower()) == code
    assert codes.normalize(separator.join(groups)) == code
    assert codes.normalize(f" {separator.join(groups).lower()} ") == code


def test_generated_codes_have_the_format() -> None:
    for _ in range(1_000):
        code = codes.generate()
        assert len(code) == 16
        assert set(code) <= set(ALPHABET)
        assert codes.normalize(code) == code
        assert codes.normalize(codes.display(code).lower()) == code


def test_the_secret_carries_at_least_sixty_bits() -> None:
    assert codes.SECRET_BITS >= 60
    assert codes.SECRET_BITS == pytest.approx(15 * 4.906890595608519)


def test_generated_symbols_are_uniform_and_codes_never_repeat() -> None:
    drawn = [codes.generate() for _ in range(100_000)]
    assert len(set(drawn)) == len(drawn)
    # Chi-square with 29 degrees of freedom: P(X > 80) is about 1e-6, so an honest
    # generator fails this about once in a million runs; a biased one (a symbol
    # missing, a position fixed, modulo bias of a byte) fails it every time.
    for position in range(16):
        counts = Counter(code[position] for code in drawn)
        assert set(counts) == set(ALPHABET), position
        expected = len(drawn) / 30
        chi_square = sum((counts[s] - expected) ** 2 / expected for s in ALPHABET)
        assert chi_square < 80, (position, chi_square)


def test_the_digest_is_keyed_and_not_the_code() -> None:
    code = codes.generate()
    with override_settings(CODE_PEPPER="a" * 40):
        first = codes.digest(code)
        assert codes.digest(code) == first
    with override_settings(CODE_PEPPER="b" * 40):
        second = codes.digest(code)
    assert first != second
    assert re.fullmatch(r"[0-9a-f]{64}", first)
    assert code.lower() not in first
    assert codes.digest(codes.generate()) != codes.digest(code)


def test_matches_the_right_code_only_under_the_same_pepper() -> None:
    code, other = codes.generate(), codes.generate()
    with override_settings(CODE_PEPPER="a" * 40):
        stored = codes.digest(code)
        assert codes.matches(code, stored)
        assert not codes.matches(other, stored)
    with override_settings(CODE_PEPPER="b" * 40):
        assert not codes.matches(code, stored)


def test_matches_compares_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[str, str]] = []
    original = hmac.compare_digest

    def spy(a: str, b: str) -> bool:
        compared.append((a, b))
        return original(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    code = codes.generate()
    assert codes.matches(code, codes.digest(code))
    assert compared == [(codes.digest(code), codes.digest(code))]
