from __future__ import annotations

import pytest

from channels.segments import GSM7_BASIC, GSM7_EXTENSION, fits, segments

BENGALI = "ক"  # U+0995, one UTF-16 code unit
EMOJI = "😀"  # U+1F600, a surrogate pair


def test_tables_are_complete() -> None:
    # 128 codes in the basic table minus the escape to the extension table.
    assert len(GSM7_BASIC) == 127
    assert len(GSM7_EXTENSION) == 10
    assert not GSM7_BASIC & GSM7_EXTENSION
    assert "`" not in GSM7_BASIC and "ç" not in GSM7_BASIC


def test_empty_is_one_segment() -> None:
    assert segments("") == ("GSM-7", 1)


@pytest.mark.parametrize(
    ("length", "count"), [(1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)]
)
def test_gsm7_lengths(length: int, count: int) -> None:
    assert segments("a" * length) == ("GSM-7", count)


def test_whole_basic_table_stays_gsm7() -> None:
    assert segments("".join(sorted(GSM7_BASIC)))[0] == "GSM-7"
    assert segments("Ünïcode")[0] == "UCS-2"  # ï is not in GSM 03.38


@pytest.mark.parametrize("char", sorted(GSM7_EXTENSION))
def test_extension_characters_count_double(char: str) -> None:
    assert segments(char * 80) == ("GSM-7", 1)
    assert segments(char * 81) == ("GSM-7", 2)
    assert segments("a" * 158 + char) == ("GSM-7", 1)
    assert segments("a" * 159 + char) == ("GSM-7", 2)


def test_extension_character_is_not_split_across_parts() -> None:
    # 152 septets then a 2-septet "€": it cannot straddle the 153-septet boundary.
    text = "a" * 152 + "€" + "a" * 152
    assert sum(2 if c == "€" else 1 for c in text) == 306
    assert segments(text) == ("GSM-7", 3)
    assert segments("a" * 151 + "€" + "a" * 153) == ("GSM-7", 2)


@pytest.mark.parametrize(("length", "count"), [(70, 1), (71, 2), (134, 2), (135, 3)])
def test_bengali(length: int, count: int) -> None:
    assert segments(BENGALI * length) == ("UCS-2", count)


def test_one_non_gsm_character_switches_the_whole_message() -> None:
    assert segments("a" * 69 + BENGALI) == ("UCS-2", 1)
    assert segments("a" * 70 + BENGALI) == ("UCS-2", 2)


def test_emoji_is_two_code_units() -> None:
    assert segments(EMOJI * 35) == ("UCS-2", 1)
    assert segments(EMOJI * 36) == ("UCS-2", 2)
    assert segments("a" * 69 + EMOJI) == ("UCS-2", 2)


def test_surrogate_pair_is_not_split_across_parts() -> None:
    # 66 units then a pair: the pair moves to the next part instead of straddling 67.
    assert segments("a" * 66 + EMOJI + "a" * 66) == ("UCS-2", 3)
    assert segments("a" * 65 + EMOJI + "a" * 67) == ("UCS-2", 2)


def test_1600_character_messages() -> None:
    assert segments("a" * 1600) == ("GSM-7", 11)  # ceil(1600 / 153)
    assert segments(BENGALI * 1600) == ("UCS-2", 24)  # ceil(1600 / 67)
    assert segments(EMOJI * 800) == ("UCS-2", 25)  # 33 pairs fit in 67 units


def test_fits() -> None:
    assert fits("a" * 160, 1) and not fits("a" * 161, 1)
    assert fits(BENGALI * 134, 2) and not fits(BENGALI * 135, 2)
    assert fits("", 1)
