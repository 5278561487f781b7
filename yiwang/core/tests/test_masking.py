"""Masking of personal identifiers for display and in free text."""

from __future__ import annotations

import pytest

from yiwang.core.masking import mask_id_number, mask_name, mask_phone, redact_text


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("33010619900101123X", "3301**********123X"),
        ("110101198003074560", "1101**********4560"),
        ("123456789", "1234*6789"),
        ("12345678", "********"),
        ("123", "***"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_id_number_keeps_the_first_and_last_four(value, masked):
    assert mask_id_number(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("13800138000", "138****8000"),
        ("02161234567", "021****4567"),
        ("61234567", "612*4567"),
        ("6123456", "*******"),
        ("138001", "******"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_phone_keeps_the_first_three_and_last_four(value, masked):
    assert mask_phone(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [("张三", "张*"), ("欧阳娜娜", "欧***"), ("李", "李"), ("", ""), (None, "")],
)
def test_mask_name_keeps_the_first_character(value, masked):
    assert mask_name(value) == masked


def test_redact_text_masks_an_id_number_and_a_phone_inside_text():
    text = "申请人33010619900101123X，手机13800138000，已提交。"

    assert redact_text(text) == "申请人3301**********123X，手机138****8000，已提交。"


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("id=33010619900101123x&x=1", "id=3301**********123x&x=1"),
        ("/people/110101198003074560/", "/people/1101**********4560/"),
        ("phone:13912345678.", "phone:139****5678."),
        ("call +8613912345678 now", "call +86139****5678 now"),
        ("to 008613912345678", "to 0086139****5678"),
        ("to 8613912345678", "to 86139****5678"),
        ("(139) 13912345678, 15000000000", "(139) 139****5678, 150****0000"),
    ],
)
def test_redact_text_masks_identifiers_wherever_they_stand(text, redacted):
    assert redact_text(text) == redacted


@pytest.mark.parametrize(
    "text",
    [
        "order 1330106199001011234567",  # an ID-shaped run inside a longer digit run
        "trace 913800138000123",  # a phone-shaped run inside a longer digit run
        "n=138001380001",  # 12 digits
        "sha a33010619900101123Xb",  # inside a longer alphanumeric token
        "12800138000 is not a mobile number",
        "no identifiers here",
        "",
    ],
)
def test_redact_text_leaves_longer_digit_runs_and_other_numbers(text):
    assert redact_text(text) == text


def test_redact_text_masks_every_occurrence():
    text = "13800138000 13800138001 33010619900101123X 110101198003074560"

    assert redact_text(text) == "138****8000 138****8001 3301**********123X 1101**********4560"
