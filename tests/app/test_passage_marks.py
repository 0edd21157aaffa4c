"""Finding a cleaned-up passage on its PDF page(s): the character boxes to highlight.

Real PDFs from `tests/pdf_factory` (read back by pdfium) for hyphenation, a
removed header and a page break; pdfium's own characters for a ligature.
"""

from __future__ import annotations

import pypdfium2 as pdfium

from app.page_render import page_chars
from app.passage_marks import PageLetters, Rect, fold, mark_passage, match_letters, page_letters
from ingest.clean import clean_page_text
from tests.pdf_factory import text_pdf


def marks_in(path, passage: str, pages: tuple[int, ...]):
    pdf = pdfium.PdfDocument(str(path))
    textpages = {n: pdf[n - 1].get_textpage() for n in pages}
    letters = [page_letters(n, page_chars(tp)) for n, tp in textpages.items()]

    def box(n, char):
        return Rect(*textpages[n].get_charbox(char, loose=True))

    marks = mark_passage(passage, letters, box)
    first_line_tops = {n: tp.get_charbox(0, loose=True)[3] for n, tp in textpages.items()}
    return marks, first_line_tops


def line_tops(marks, page):
    return sorted({round(r.top) for r in marks.rects.get(page, ())}, reverse=True)


def test_hyphenated_word_joined_by_clean_up_is_marked_on_both_lines(tmp_path):
    pdf = text_pdf(tmp_path / "h.pdf", ["The warranty covers exam-\nples of hidden defects."])
    passage = clean_page_text("The warranty covers exam-\nples of hidden defects.")
    assert "examples" in passage
    marks, _ = marks_in(pdf, passage, (1,))
    assert marks.coverage == 1.0
    assert len(line_tops(marks, 1)) == 2  # one rectangle per line


def test_a_removed_header_is_stepped_over_and_not_highlighted(tmp_path):
    body = "The warranty lasts two years from the date of delivery to the customer."
    pdf = text_pdf(tmp_path / "h.pdf", ["ACME HANDBOOK CONFIDENTIAL DRAFT\n" + body])
    marks, header_tops = marks_in(pdf, body, (1,))
    assert marks.coverage == 1.0
    tops = line_tops(marks, 1)
    assert len(tops) == 1  # the body line only
    assert tops[0] < header_tops[1] - 5


def test_a_passage_crossing_a_page_break_is_marked_on_both_pages(tmp_path):
    pages = [
        "Unrelated opening words.\nThe warranty lasts two",
        "ACME HANDBOOK page 2\nyears from the date of delivery. Returns are free.",
    ]
    pdf = text_pdf(tmp_path / "b.pdf", pages)
    passage = "The warranty lasts two years from the date of delivery."
    marks, header_tops = marks_in(pdf, passage, (1, 2))
    assert marks.coverage == 1.0
    assert marks.rects[1] and marks.rects[2]
    assert line_tops(marks, 2)[0] < header_tops[2] - 5  # not the page-2 header


def test_a_ligature_character_matches_the_letters_clean_up_wrote():
    # pdfium reports the ligature glyph as one character, U+FB01; clean-up writes "fi".
    chars = list("The \ufb01rst of\ufb01ce")
    page = page_letters(1, chars)
    assert page.letters == "thefirstoffice"
    boxes = {i: Rect(10 * i, 0, 10 * i + 9, 10) for i in range(len(chars))}
    marks = mark_passage("The first office", [page], lambda _p, i: boxes[i])
    assert marks.coverage == 1.0
    assert marks.rects[1] == (Rect(0, 0, 10 * (len(chars) - 1) + 9, 10),)


def test_text_the_page_no_longer_has_gets_low_coverage():
    page = PageLetters(1, "".join(c for c, _ in fold("Completely different text now.")), ())
    marks = mark_passage("The warranty lasts two years.", [page], lambda *_: Rect(0, 0, 1, 1))
    assert marks.coverage == 0.0 and marks.rects == {}


def test_runs_resume_after_a_gap_and_short_coincidences_are_not_marked():
    passage = "".join(c for c, _ in fold("alpha beta gamma delta epsilon zeta"))
    pages = "".join(c for c, _ in fold("x alpha beta gamma HEADER 12 delta epsilon zeta"))
    runs = match_letters(passage, pages)
    assert "".join(pages[a:b] for a, b in runs) == passage
    assert match_letters("abc", "xxabcxx") == []  # under the seed length: not placed


def test_a_seed_that_occurs_twice_is_placed_where_the_passage_agrees_longest():
    # "Synopsis<?dbhtml ..." starts several entries of a reference page (bench/highlight.py).
    earlier = "Synopsis dbhtml linenumbering width Specifies width for line numbers. "
    wanted = "Synopsis dbhtml stop chunking When generating chunked HTML output, stop here."
    page = "".join(c for c, _ in fold(earlier + "filler " * 400 + wanted))
    passage = "".join(c for c, _ in fold(wanted))
    runs = match_letters(passage, page)
    assert "".join(page[a:b] for a, b in runs) == passage
    assert runs[0][0] > len(earlier)
