"""Resident ID numbers (GB 11643), credit codes (GB 32100), e-certificate identifiers."""

from __future__ import annotations

import datetime

import pytest
from django.utils import translation
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from stdnum.cn import uscc
from stdnum.iso7064 import mod_37_36

from yiwang.core.errors import ValidationFailed
from yiwang.core.identifiers import (
    ResidentId,
    certificate_id_build,
    certificate_id_parse,
    resident_id_parse,
    resident_id_with_check_digit,
    uscc_parse,
    uscc_with_check_digit,
)

VALID_ID = "33010619900101123X"  # 西湖区, born 1990-01-01, sequence 123 (male)
VALID_USCC = "91330106MA2B3C4D5D"


@pytest.fixture(autouse=True)
def _english():
    # Messages are lazy: they are compared in English, the language of the source.
    with translation.override("en"):
        yield


def _id(body17: str) -> str:
    return resident_id_with_check_digit(body17)


def _parse_error(value: str, **kwargs: str) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as excinfo:
        resident_id_parse(value, **kwargs)
    return excinfo.value


def _uscc_error(value: str) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as excinfo:
        uscc_parse(value)
    return excinfo.value


# Resident ID numbers


def test_check_digit_completes_a_body_into_a_valid_number():
    assert resident_id_with_check_digit("33010619900101123") == VALID_ID
    assert resident_id_with_check_digit("11010119800307456") == "110101198003074560"


@pytest.mark.django_db
def test_parse_returns_the_parts_of_a_valid_number():
    assert resident_id_parse(VALID_ID) == ResidentId(
        number=VALID_ID,
        birth_date=datetime.date(1990, 1, 1),
        region_code="330106",
        is_male=True,
    )


@pytest.mark.django_db
def test_parse_reads_an_even_sequence_digit_as_female():
    assert resident_id_parse("110101198003074560").is_male is False


@pytest.mark.django_db
@pytest.mark.parametrize(
    "value",
    [
        "33010619900101123x",
        "  33010619900101123X  ",
        "３３０１０６１９９００１０１１２３Ｘ",  # full-width, as Chinese input modes type it
        "３３０１０６１９９００１０１１２３ｘ",
    ],
)
def test_parse_normalises_case_space_and_full_width_characters(value):
    assert resident_id_parse(value).number == VALID_ID


@pytest.mark.parametrize("value", ["", "   ", None])
def test_parse_of_nothing_asks_for_the_number(value):
    error = _parse_error(value)

    assert error.as_body() == {
        "code": "required",
        "message": "Please enter the ID number.",
        "fields": {"id_number": ["Please enter the ID number."]},
    }


@pytest.mark.parametrize("value", ["3301061990010112", VALID_ID[:17], VALID_ID + "1"])
def test_parse_rejects_a_wrong_length(value):
    error = _parse_error(value)

    assert error.code == "id_length"
    assert error.fields == {"id_number": ["A resident ID number has 18 characters."]}


@pytest.mark.parametrize(
    "value",
    [
        "3301061990010112XX",  # X only as the last character
        "33010619900101A23X",
        "330106-199001-0112",
        "٣٣٠١٠٦١٩٩٠٠١٠١١٢٣X",  # Arabic-Indic digits are digits to str.isdigit(), not here
    ],
)
def test_parse_rejects_characters_that_are_not_digits(value):
    error = _parse_error(value)

    assert error.code == "id_format"
    assert error.fields == {
        "id_number": ["A resident ID number is 17 digits followed by a digit or X."]
    }


def test_parse_rejects_a_wrong_check_character():
    error = _parse_error("330106199001011230")

    assert error.code == "id_checksum"
    assert error.fields == {
        "id_number": ["The check character of this ID number is wrong; please check it."]
    }


@pytest.mark.parametrize("birth", ["19900230", "19901301", "19900100"])
def test_parse_rejects_a_birth_date_that_is_not_a_date(birth):
    error = _parse_error(_id(f"330106{birth}123"))

    assert error.code == "id_birth_date"
    assert error.fields == {"id_number": ["The birth date in this ID number is not a real date."]}


@pytest.mark.parametrize("birth", ["18891231", "29990101"])
def test_parse_rejects_a_birth_date_that_is_not_possible(birth):
    error = _parse_error(_id(f"330106{birth}123"))

    assert error.code == "id_birth_date"
    assert error.fields == {"id_number": ["The birth date in this ID number is not possible."]}


@pytest.mark.django_db
def test_parse_rejects_a_region_code_never_assigned():
    error = _parse_error(_id("99999919900101123"))

    assert error.code == "id_region"
    assert error.fields == {
        "id_number": ["The region code 999999 in this ID number does not exist."]
    }


@pytest.mark.django_db
@pytest.mark.parametrize("region_code", ["330199", "110199", "339999"])
def test_parse_rejects_an_unassigned_code_under_a_real_province(region_code):
    assert _parse_error(_id(f"{region_code}19900101123")).code == "id_region"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "region_code",
    [
        "330185",  # 临安市, 1996-2017, now 临安区 330112
        "330104",  # 江干区, abolished 2021
        "500105",  # 重庆 江北区, abolished 2025
        "110103",  # 北京 崇文区, abolished 2010
    ],
)
def test_parse_accepts_a_region_code_since_abolished(region_code):
    assert resident_id_parse(_id(f"{region_code}19600101123")).region_code == region_code


@pytest.mark.django_db
@pytest.mark.parametrize("region_code", ["330113", "330114", "659013"])
def test_parse_accepts_a_code_newer_than_python_stdnum_from_the_regions(region_code):
    assert resident_id_parse(_id(f"{region_code}20220101123")).region_code == region_code


def test_parse_names_the_field_it_was_given():
    error = _parse_error("123", field="agent_id_number")

    assert list(error.fields) == ["agent_id_number"]


def test_parse_checks_the_check_character_before_the_date():
    assert _parse_error("330106199002301230").code == "id_checksum"


COUNTY_CODES = ["110101", "310115", "330106", "330113", "420106", "429004", "500101", "654004"]
CHECK_CHARACTERS = "0123456789X"


@pytest.mark.django_db
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    region_code=st.sampled_from(COUNTY_CODES),
    birth_date=st.dates(min_value=datetime.date(1890, 1, 1), max_value=datetime.date(2025, 12, 31)),
    sequence=st.integers(min_value=0, max_value=999),
    replacement=st.sampled_from(CHECK_CHARACTERS),
)
@example(region_code="330106", birth_date=datetime.date(1990, 1, 1), sequence=123, replacement="0")
def test_any_body_completed_with_its_check_character_parses_and_no_other_does(
    region_code, birth_date, sequence, replacement
):
    body = f"{region_code}{birth_date:%Y%m%d}{sequence:03d}"
    number = resident_id_with_check_digit(body)

    assert resident_id_parse(number) == ResidentId(
        number=number,
        birth_date=birth_date,
        region_code=region_code,
        is_male=sequence % 2 == 1,
    )
    if replacement != number[-1]:
        assert _parse_error(body + replacement).code == "id_checksum"


# Unified social credit codes


def test_uscc_check_digit_completes_a_body_into_a_valid_code():
    assert uscc_with_check_digit("91330106MA2B3C4D5") == VALID_USCC


@pytest.mark.parametrize(
    "value",
    [
        VALID_USCC,
        "91330106ma2b3c4d5d",
        " 9133 0106 MA2B 3C4D 5D ",
        "91-330106-MA2B3C4D5D",
        "９１３３０１０６ＭＡ２Ｂ３Ｃ４Ｄ５Ｄ",
    ],
)
def test_uscc_parse_returns_the_compact_code(value):
    assert uscc_parse(value) == VALID_USCC


@pytest.mark.parametrize("value", ["", " ", None])
def test_uscc_parse_of_nothing_asks_for_the_code(value):
    error = _uscc_error(value)

    assert error.code == "required"
    assert error.fields == {"uscc": ["Please enter the unified social credit code."]}


@pytest.mark.parametrize("value", [VALID_USCC[:17], VALID_USCC + "0", "9133"])
def test_uscc_parse_rejects_a_wrong_length(value):
    error = _uscc_error(value)

    assert error.code == "uscc_length"
    assert error.fields == {"uscc": ["A unified social credit code has 18 characters."]}


def test_uscc_parse_rejects_a_wrong_check_character():
    error = _uscc_error(VALID_USCC[:17] + "E")

    assert error.code == "uscc_checksum"
    assert error.fields == {
        "uscc": ["The check character of this credit code is wrong; please check it."]
    }


@pytest.mark.parametrize(
    "value",
    [
        "9A330106MA2B3C4D5D",  # the first eight characters are digits
        "91330106MA2B3C4DOD",  # O is not in the GB 32100 alphabet
        "91330106MA2B3C4D5I",
    ],
)
def test_uscc_parse_rejects_characters_outside_the_alphabet(value):
    error = _uscc_error(value)

    assert error.code == "uscc_format"
    assert error.fields == {"uscc": ["This is not a valid unified social credit code."]}


@pytest.mark.django_db
@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    value=st.text(max_size=24) | st.text(alphabet="0123456789Xx²³٣３ -", min_size=16, max_size=20)
)
@example(value="³³⁰¹⁰⁶¹⁹⁹⁰⁰¹⁰¹¹²³X")  # superscript digits once raised ValueError from int()
def test_parse_of_any_text_returns_a_resident_id_or_raises_validation_failed(value):
    try:
        number = resident_id_parse(value).number
    except ValidationFailed as exc:
        error, number = exc.code, None
    else:
        error = None

    assert error in {
        None,
        "required",
        "id_length",
        "id_format",
        "id_checksum",
        "id_birth_date",
        "id_region",
    }
    assert error is not None or (len(number) == 18 and number.isascii())


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    value=st.text(max_size=24) | st.text(alphabet="0123456789ABDEIOQ -ａ", min_size=16, max_size=20)
)
def test_uscc_parse_of_any_text_returns_a_code_or_raises_validation_failed(value):
    try:
        code = uscc_parse(value)
    except ValidationFailed as exc:
        error, code = exc.code, None
    else:
        error = None

    assert error in {None, "required", "uscc_length", "uscc_checksum", "uscc_format"}
    assert error is not None or (len(code) == 18 and code.isascii())


# --- e-certificate identifiers (GB/T 36904 layout) -----------------------------------------


def _issuer() -> str:
    body = "11330100MB1A2B3C4"
    return body + uscc.calc_check_digit(body)


def test_a_certificate_identifier_has_the_layout_and_a_mod_37_36_check_character():
    identifier = certificate_id_build(
        type_code="CT-JHZ", issuer_uscc=_issuer(), serial="J3301062025002718", version=1
    )

    text = str(identifier)
    parts = text.split(".")
    assert text.startswith("1.2.156.3005.2.CTJHZ.")
    assert parts[5:9] == ["CTJHZ", _issuer(), "J3301062025002718", "001"]
    assert mod_37_36.is_valid("".join(parts[5:10]))


def test_a_parsed_identifier_round_trips_and_lower_case_is_accepted():
    identifier = certificate_id_build(type_code="CT-YYZZ", issuer_uscc=_issuer(), serial="a1")

    assert certificate_id_parse(str(identifier).lower()) == identifier


def test_every_single_character_change_of_an_identifier_is_caught():
    text = str(certificate_id_build(type_code="CT-JMHKB", issuer_uscc=_issuer(), serial="77"))
    start = len("1.2.156.3005.2.")
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    caught = 0
    for index in range(start, len(text)):
        if text[index] == ".":
            continue
        for replacement in alphabet:
            if replacement == text[index]:
                continue
            changed = text[:index] + replacement + text[index + 1 :]
            with pytest.raises(ValidationFailed):
                certificate_id_parse(changed)
            caught += 1
    assert caught > 1000


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("", "certificate_id_format"),
        ("1.2.156.3005.2.CTJHZ.X", "certificate_id_format"),
        ("2.2.156.3005.2.A.B.C.D.E", "certificate_id_format"),
        ("1.2.156.3005.2.CT-JHZ.B.C.001.E", "certificate_id_format"),
        ("1.2.156.3005.2.CTJHZ.91330106MA2B3C4D5X.1.001.A", "certificate_id_issuer"),
    ],
)
def test_malformed_identifiers_get_distinct_errors(value, code):
    with pytest.raises(ValidationFailed) as caught:
        certificate_id_parse(value)

    assert caught.value.code == code
    assert "identifier" in caught.value.fields


def test_building_refuses_bad_parts():
    with pytest.raises(ValueError, match="serial"):
        certificate_id_build(type_code="CT-JHZ", issuer_uscc=_issuer(), serial="a-1")
    with pytest.raises(ValueError, match="version"):
        certificate_id_build(type_code="CT-JHZ", issuer_uscc=_issuer(), serial="1", version=0)
    with pytest.raises(ValueError, match="type code"):
        certificate_id_build(type_code="--", issuer_uscc=_issuer(), serial="1")
