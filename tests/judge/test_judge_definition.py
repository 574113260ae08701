"""Judges as data: shipped definitions, rendering, validation, fingerprints."""

from __future__ import annotations

from pathlib import Path

import pytest

from cogumi_eval.judge import JudgeDefinitionError, judges_dir, load_judge, parse_judge


@pytest.mark.parametrize("judge_id", ["pairwise", "pairwise-math", "pairwise-code"])
def test_shipped_judges_load_with_their_file_name_as_id(judge_id: str) -> None:
    definition = load_judge(judge_id)
    assert (definition.id, definition.version) == (judge_id, "1")


def test_braces_inside_answers_are_not_expanded() -> None:
    prompt = load_judge("pairwise").render("Q", "uses {answer_b} literally", "B-text", None)
    assert "uses {answer_b} literally" in prompt
    assert prompt.count("B-text") == 1


def test_a_reference_appears_only_when_given() -> None:
    definition = load_judge("pairwise")
    assert "Reference answer" in definition.render("Q", "a", "b", "42")
    assert "Reference answer" not in definition.render("Q", "a", "b", None)


def test_a_judge_that_needs_a_reference_refuses_to_render_without_one() -> None:
    with pytest.raises(JudgeDefinitionError, match="needs a reference"):
        load_judge("pairwise-math").render("Q", "a", "b", None)


def test_a_prompt_without_both_answers_is_rejected_naming_the_placeholder() -> None:
    text = (judges_dir() / "pairwise.toml").read_text().replace("{answer_b}", "")
    with pytest.raises(JudgeDefinitionError, match=r"lacks \{answer_b\}"):
        parse_judge(text, "broken.toml")


def test_a_grammar_that_cannot_say_tie_is_rejected() -> None:
    text = (judges_dir() / "pairwise.toml").read_text().replace('C = "tie"', 'C = "A"')
    with pytest.raises(JudgeDefinitionError, match="verdict.tokens"):
        parse_judge(text, "broken.toml")


def test_bumping_the_version_changes_the_fingerprint(tmp_path: Path) -> None:
    text = (judges_dir() / "pairwise.toml").read_text()
    bumped = tmp_path / "bumped.toml"
    bumped.write_text(text.replace("version = 1", "version = 2"))
    assert load_judge(bumped).fingerprint != load_judge("pairwise").fingerprint


def test_an_unknown_judge_lists_the_known_ones() -> None:
    with pytest.raises(JudgeDefinitionError, match="known judges: pairwise, pairwise-code"):
        load_judge("nonesuch")


def test_a_users_judges_folder_adds_to_the_shipped_judges(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (judges_dir() / "pairwise.toml").read_text().replace('id = "pairwise"', 'id = "strict"')
    (tmp_path / "strict.toml").write_text(text)
    monkeypatch.setenv("COGUMI_JUDGES_DIR", str(tmp_path))
    assert load_judge("strict").id == "strict"
    assert load_judge("pairwise-math").source.endswith(
        "cogumi_eval/judge/definitions/pairwise-math.toml"
    )


def test_a_users_judge_replaces_the_shipped_one_of_the_same_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (judges_dir() / "pairwise.toml").read_text().replace("version = 1", "version = 7")
    (tmp_path / "pairwise.toml").write_text(text)
    monkeypatch.setenv("COGUMI_JUDGES_DIR", str(tmp_path))
    assert load_judge("pairwise").version == "7"


def test_an_unknown_judge_lists_the_known_ones_and_the_fix() -> None:
    with pytest.raises(
        JudgeDefinitionError, match=r"known judges: pairwise, pairwise-code, pairwise-math\. Add"
    ):
        load_judge("nope")
