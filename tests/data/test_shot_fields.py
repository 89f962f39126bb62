"""The shot field specification (``data.schema.SHOT_FIELDS``) and what derives from it:
the lists every stage uses must agree with it, and the API must accept exactly its values."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

import pytest

from nba_mlops.api.schemas.shots import ONE_HOT_FIELDS, RawShot
from nba_mlops.data import schema
from nba_mlops.data.schema import (
    ALLOWED_VALUES,
    FIELDS_BY_NAME,
    INPUT_DEFAULTS,
    OPTIONAL_INPUT_COLUMNS,
    SHOT_FIELDS,
    ShotField,
)
from nba_mlops.features.columns import CONTEXT_COLUMNS, MODEL_INPUT_COLUMNS, RAW_INPUT_COLUMNS
from nba_mlops.features.serving import DEFAULTS, to_model_frame

CATEGORICAL = ("shot_type", "shot_zone_basic", "shot_zone_area", "shot_zone_range", "season_type")


def _accepted(annotation: Any) -> set[Any]:
    """The literal values a field annotation (``X``, ``X | None``) accepts."""
    parts = (annotation,) if typing.get_origin(annotation) is typing.Literal else None
    values: set[Any] = set()
    for part in parts or typing.get_args(annotation):
        if typing.get_origin(part) is typing.Literal:
            values.update(typing.get_args(part))
    return values


@pytest.mark.parametrize("name", CATEGORICAL)
def test_the_api_accepts_exactly_the_values_of_the_schema(name: str) -> None:
    assert ALLOWED_VALUES[name] == FIELDS_BY_NAME[name].allowed
    assert _accepted(RawShot.model_fields[name].annotation) == set(ALLOWED_VALUES[name])
    # ... and its OpenAPI schema lists them, in the schema's order.
    field = RawShot.model_json_schema()["properties"][name]
    enums = [option["enum"] for option in field.get("anyOf", [field]) if "enum" in option]
    assert enums == [list(ALLOWED_VALUES[name])]


def test_every_categorical_field_of_the_schema_is_one_the_api_checks() -> None:
    assert set(ALLOWED_VALUES) == set(CATEGORICAL)


def test_the_original_payload_one_hots_cover_the_allowed_values() -> None:
    covered: dict[str, set[str]] = {}
    for field, value in ONE_HOT_FIELDS.values():
        covered.setdefault(field, set()).add(value)
    for field, values in covered.items():
        assert values == set(ALLOWED_VALUES[field]), field


def test_the_api_defaults_are_the_schema_defaults() -> None:
    for name, default in INPUT_DEFAULTS.items():
        assert RawShot.model_fields[name].default == default, name
    assert DEFAULTS == INPUT_DEFAULTS


def test_every_request_field_is_a_shot_field() -> None:
    assert set(RawShot.model_fields) <= set(FIELDS_BY_NAME)


def test_a_record_that_leaves_the_inputs_out_gets_the_defaults() -> None:
    frame = to_model_frame([{"loc_x": 0, "loc_y": 10}])
    for name, default in INPUT_DEFAULTS.items():
        expected = float(default) if FIELDS_BY_NAME[name].numeric else default
        assert frame[name].iloc[0] == expected, name


def test_the_derived_lists() -> None:
    names = [f.name for f in SHOT_FIELDS]
    assert list(schema.STORE_COLUMNS) == names
    assert list(schema.CANONICAL_DTYPES) == names
    assert tuple(n for n in names if n != schema.IS_HOME) == schema.CANONICAL_COLUMNS
    assert set(schema.REQUIRED_COLUMNS) <= set(names)
    assert set(schema.TRAINING_COLUMNS) == set(names) - {"shot_distance", "season"}
    # Every field but the derived ones comes from the Kaggle layout.
    assert set(schema.KAGGLE_TO_CANONICAL.values()) == set(names) - {
        "season",
        "season_start_year",
        "is_home",
    }
    assert MODEL_INPUT_COLUMNS == RAW_INPUT_COLUMNS + CONTEXT_COLUMNS
    assert {f.name for f in SHOT_FIELDS if f.role == "input"} == set(RAW_INPUT_COLUMNS)
    assert [FIELDS_BY_NAME[n].input_position for n in RAW_INPUT_COLUMNS] == list(
        range(len(RAW_INPUT_COLUMNS))
    )


def test_the_model_goes_without_the_fields_it_can_derive_or_not_know() -> None:
    assert {
        "player_id",
        "is_home",
        "shot_type",
        "shot_zone_basic",
        "shot_zone_area",
        "shot_zone_range",
    } == OPTIONAL_INPUT_COLUMNS


def _with(*fields: ShotField) -> tuple[ShotField, ...]:
    return (*SHOT_FIELDS, *fields)


@pytest.mark.parametrize(
    "spec",
    [
        pytest.param(_with(SHOT_FIELDS[0]), id="a name twice"),
        pytest.param(_with(ShotField("wind", "int64", "input")), id="an input without a place"),
        pytest.param(
            _with(ShotField("wind", "int64", "input", input_position=3)), id="a place taken"
        ),
        pytest.param(
            _with(ShotField("wind", "int64", "info", default=0)), id="a default on a non-input"
        ),
        pytest.param(
            _with(ShotField("arena", "int64", "info", allowed=("A", "B"))),
            id="allowed values on a number",
        ),
        pytest.param(
            _with(
                ShotField(
                    "clutch",
                    "str",
                    "input",
                    default="no",
                    allowed=("yes", "maybe"),
                    input_position=len(RAW_INPUT_COLUMNS),
                )
            ),
            id="a default not allowed",
        ),
    ],
)
def test_an_inconsistent_specification_is_refused(spec: tuple[ShotField, ...]) -> None:
    with pytest.raises(ValueError):
        schema._check(spec)


def test_a_new_input_takes_the_next_place() -> None:
    wind = ShotField("wind_speed", "int64", "input", input_position=len(RAW_INPUT_COLUMNS))
    schema._check(_with(wind))
    assert dataclasses.replace(wind, role="info", input_position=None).numeric
