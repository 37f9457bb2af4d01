"""Which rows `make bench --only` measures (bench/rows.py)."""

from bench.rows import rows_for, rows_selected

ROWS = rows_for(product_slug="air-max-1")


def labels(only: str) -> list[str]:
    return [row.label for row in rows_selected(ROWS, only)]


def test_no_term_selects_every_row():
    assert labels("") == [row.label for row in ROWS]
    assert labels(" , ") == [row.label for row in ROWS]


def test_one_term_selects_the_rows_containing_it():
    assert labels("signed-in") == [
        "signed-in /products",
        "signed-in product page",
        "signed-in /cart",
        "signed-in /account/orders",
    ]


def test_comma_separated_terms_select_the_rows_of_any_in_table_order():
    assert labels("naive, /healthz") == ["/healthz", "naive Django catalog page"]
    assert labels("force-dynamic,naive") == [
        "force-dynamic /products",
        "naive Django catalog page",
    ]


def test_a_row_measured_against_the_naive_page_brings_it_along():
    # Its ratio is taken to the naive page of the same round.
    assert labels("dynamic") == ["force-dynamic /products", "naive Django catalog page"]


def test_a_term_matching_nothing_selects_nothing():
    assert labels("no such row") == []
