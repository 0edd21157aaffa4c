"""Each clean-up rule of ingest.clean, plus properties that must hold on any text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.clean import clean_page_text, drop_repeated_lines

# --- clean_page_text -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ﬁnd the ﬂow", "find the flow"),  # ligatures
        ("Ｔｏｋｙｏ　２０２４", "Tokyo 2024"),  # full-width letters, digits and space
        ("x\u00a0=\u2003y", "x = y"),  # no-break and em spaces become plain spaces
    ],
)
def test_nfkc_unfolds_compatibility_forms(raw: str, expected: str) -> None:
    assert clean_page_text(raw) == expected


@pytest.mark.parametrize("separator", ["\r\n", "\r", "\f", "\v", "\u2028", "\u2029", "\x85"])
def test_every_line_separator_becomes_newline(separator: str) -> None:
    assert clean_page_text(f"first{separator}second") == "first\nsecond"


def test_control_characters_are_removed_but_newlines_kept() -> None:
    assert clean_page_text("a\x00b\x07c\x1bd\x7fe\x9ff\ng") == "abcdef\ng"


@pytest.mark.parametrize("invisible", ["\u00ad", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"])
def test_soft_hyphen_and_zero_width_characters_are_removed(invisible: str) -> None:
    assert clean_page_text(f"hyphen{invisible}ation") == "hyphenation"


def test_pdfium_line_break_hyphen_marker_is_removed() -> None:
    # PDFium returns U+FFFE where it joined "ele-" and "ment" across a line break.
    assert clean_page_text("a separate ele\ufffement") == "a separate element"


def test_lone_surrogates_are_removed_so_text_encodes_as_utf8() -> None:
    cleaned = clean_page_text("bro\udc80ken")
    assert cleaned == "broken"
    cleaned.encode("utf-8")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("exam-\nple", "example"),
        ("exam-  \n  ple", "example"),  # spaces around the break do not matter
        ("co-\nop-\neration", "cooperation"),  # consecutive breaks both join
        ("über-\nmäßig", "übermäßig"),  # non-ASCII lowercase
        ("exam\u2010\nple", "example"),  # U+2010 HYPHEN
    ],
)
def test_hyphenated_line_break_joins_when_a_lowercase_letter_follows(
    raw: str, expected: str
) -> None:
    assert clean_page_text(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "Jean-\nPaul",  # capital: a real compound or a name
        "COVID-\n19",  # digit
        "items:\n- first\n- second",  # list dashes are not hyphenation
        "a -\nb",  # free-standing dash
    ],
)
def test_other_hyphens_at_line_ends_are_kept(raw: str) -> None:
    assert clean_page_text(raw) == raw


def test_runs_of_spaces_and_tabs_collapse_to_one_space() -> None:
    assert clean_page_text("a  \t  b\t\tc") == "a b c"


def test_line_ends_are_stripped_and_line_breaks_kept() -> None:
    raw = "  def f():  \n      return 1  \n- item one\n- item two  "
    assert clean_page_text(raw) == "def f():\nreturn 1\n- item one\n- item two"


def test_three_or_more_newlines_collapse_to_one_blank_line() -> None:
    assert clean_page_text("a\n\n\n\n\nb\n\nc") == "a\n\nb\n\nc"
    assert clean_page_text("a\n \n\t\n \nb") == "a\n\nb"


def test_leading_and_trailing_blank_lines_are_removed() -> None:
    assert clean_page_text("\n\n  \n text \n\n") == "text"


def test_empty_and_blank_input_give_empty_string() -> None:
    assert clean_page_text("") == ""
    assert clean_page_text(" \t\r\n\f\u200b ") == ""


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(exclude_categories=()), max_size=300))
def test_clean_page_text_is_idempotent_and_never_raises(raw: str) -> None:
    once = clean_page_text(raw)
    assert clean_page_text(once) == once


# Text shaped like extractor output, so that the interesting rules actually fire.
_PIECES = ["exam-", "\n", "\r\n", "ple", "  ", "\t", "ﬁ", "\u00ad", "Word", "x", "\n\n\n", "-", "é"]
_LEADER_PIECES = [".", " ", "_", "…", "·", "="]  # of runs like "Install . . . . 12"
_pdf_like_text = st.lists(
    st.sampled_from([*_PIECES, *_LEADER_PIECES]),
    max_size=60,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(_pdf_like_text)
def test_cleaned_text_has_normal_whitespace(raw: str) -> None:
    cleaned = clean_page_text(raw)
    assert clean_page_text(cleaned) == cleaned
    for unwanted in ("\r", "\t", "\u00ad", "  ", "\n\n\n"):
        assert unwanted not in cleaned
    assert all(line == line.strip() for line in cleaned.split("\n"))


# --- drop_repeated_lines ---------------------------------------------------------------------

_BODIES = [
    "Install the package with the installer.\nIt takes a minute.",
    "Configure the server by editing the file.\nRestart it afterwards.",
    "Back up the database every night.\nKeep three copies.",
    "Monitor the disk space on all hosts.\nAlert when it is low.",
    "Upgrade during the maintenance window.\nTell the users first.",
]


def _pages_with_header_and_footer(n: int = 5) -> list[str]:
    return [
        f"ACME Admin Guide  v2\n{body}\nPage {number} of {n}"
        for number, body in enumerate(_BODIES[:n], start=1)
    ]


def test_running_header_and_page_footer_are_dropped() -> None:
    result = drop_repeated_lines(_pages_with_header_and_footer())
    assert result == _BODIES


def test_headers_match_ignoring_case_spacing_and_digits() -> None:
    pages = [
        f"{header}\n{body}"
        for header, body in zip(
            ["Chapter 1 - Setup", "CHAPTER 2 - SETUP", "chapter 3  -  setup", "Chapter 4 - Setup"],
            _BODIES,
            strict=False,
        )
    ]
    assert drop_repeated_lines(pages) == _BODIES[:4]


def test_window_shorter_than_min_pages_is_unchanged() -> None:
    pages = _pages_with_header_and_footer(3)
    assert drop_repeated_lines(pages, min_pages=4) == pages


def test_pages_sharing_only_a_word_keep_their_lines() -> None:
    pages = [
        f"Chapter {n}: {title}\n{body}"
        for n, (title, body) in enumerate(
            zip(["Installing", "Configuring", "Backing up", "Monitoring"], _BODIES, strict=False),
            start=1,
        )
    ]
    assert drop_repeated_lines(pages) == pages


def test_line_on_too_few_pages_is_kept() -> None:
    pages = list(_BODIES)
    pages[0] = "Note\n" + pages[0]
    pages[1] = "Note\n" + pages[1]
    # 2 of 5 pages = 40% < 60%
    assert drop_repeated_lines(pages) == pages


def test_repeated_line_in_the_middle_of_a_page_is_kept() -> None:
    pages = [f"Title {n}\nIntro {n}\nWARNING: read first\nMore {n}\nEnd {n}" for n in "abcde"]
    assert drop_repeated_lines(pages) == pages


def test_blank_pages_do_not_dilute_the_share() -> None:
    pages = [*_pages_with_header_and_footer(4), "", "", ""]
    assert drop_repeated_lines(pages) == [*_BODIES[:4], "", "", ""]


def test_context_pages_are_counted_but_not_returned() -> None:
    pages = _pages_with_header_and_footer(5)
    result = drop_repeated_lines(pages[3:], context=pages[:3])
    assert result == _BODIES[3:5]


def test_a_page_is_never_emptied_entirely() -> None:
    pages = [f"Label {n}" for n in range(6)]
    assert drop_repeated_lines(pages) == pages
